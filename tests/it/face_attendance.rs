//! Photo attendance end to end (issue 17) with the real models and the labelled
//! photos beside the project: the consent gate, the quality refusals, a teacher's
//! class photo through the chat and the face job (nothing saved before the teacher
//! confirms, no trace of the photo afterwards), withdrawal.

use crate::support::{face_photos, face_service, TestEnv};
use crate::transcripts::logged_in_at;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::attendance::AttendanceStatus;
use raabta::face::quality::{Refusal, DEFAULT_RULE};
use raabta::face::SampleError;
use raabta::store::{EnrolOutcome, TenantStore};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

async fn setup(what: &str) -> Option<(TestEnv, PathBuf)> {
    let face = face_service(what)?;
    let photos = face_photos(what)?;
    let mut env = TestEnv::sqlite().await;
    env.app = raabta::app::App {
        face,
        ..env.app.clone()
    };
    raabta::seed::seed_if_empty(&env.app.tenancy).await.unwrap();
    Some((env, photos))
}

async fn demo(env: &TestEnv) -> raabta::store::tenancy::School {
    env.app
        .tenancy
        .school(raabta::seed::DEMO_SLUG)
        .await
        .unwrap()
}

fn act(what: &str) -> ActivityEntry {
    ActivityEntry::now("staff:test", what, None, "test", json!({}))
}

async fn sample(env: &TestEnv, bytes: Vec<u8>) -> Result<raabta::face::Sample, SampleError> {
    let face = env.app.face.clone();
    tokio::task::spawn_blocking(move || {
        let models = face.models().expect("models");
        models.sample(&bytes, &DEFAULT_RULE)
    })
    .await
    .unwrap()
}

/// Ayesha Khan of Grade 5 A (the demo school).
async fn ayesha(
    store: &Arc<dyn TenantStore>,
) -> (raabta::domain::ClassId, raabta::domain::StudentId) {
    let class = store
        .classes()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.label() == "Grade 5 A")
        .unwrap();
    let row = store
        .class_faces(class.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Ayesha Khan")
        .unwrap();
    (class.id, row.student)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sample_without_consent_and_each_refusal_says_why() {
    let Some((env, photos)) = setup("face enrolment").await else {
        return;
    };
    let school = demo(&env).await;
    let (_, student) = ayesha(&school.store).await;
    let good = sample(&env, std::fs::read(photos.join("img20.jpg")).unwrap())
        .await
        .expect("a clear portrait passes");
    assert_eq!(good.embedding.len(), 512);
    assert_eq!(
        school
            .store
            .add_face_sample(student, &good.embedding, &good.quality, &act("face.enrol"))
            .await
            .unwrap(),
        EnrolOutcome::NoConsent
    );
    // The photo is refused with its reason.
    let two = sample(&env, std::fs::read(photos.join("couple.jpg")).unwrap()).await;
    assert!(
        matches!(two, Err(SampleError::Refused(Refusal::SeveralFaces(n))) if n >= 2),
        "{two:?}"
    );
    let img = image::load_from_memory(&std::fs::read(photos.join("img20.jpg")).unwrap())
        .unwrap()
        .to_rgb8();
    let jpeg = |img: &image::RgbImage| {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
            .encode_image(img)
            .unwrap();
        out
    };
    let small = image::imageops::resize(
        &img,
        img.width() / 6,
        img.height() / 6,
        image::imageops::FilterType::Triangle,
    );
    let r = sample(&env, jpeg(&small)).await;
    assert!(
        matches!(
            r,
            Err(SampleError::Refused(
                Refusal::TooSmall(..) | Refusal::NoFace
            ))
        ),
        "{r:?}"
    );
    let dark = image::imageops::colorops::brighten(&img, -170);
    let r = sample(&env, jpeg(&dark)).await;
    assert!(
        matches!(
            r,
            Err(SampleError::Refused(
                Refusal::TooDark(..) | Refusal::NoFace | Refusal::LowScore(..)
            ))
        ),
        "{r:?}"
    );
    let blurred = image::imageops::blur(&img, 9.0);
    let r = sample(&env, jpeg(&blurred)).await;
    assert!(
        matches!(
            r,
            Err(SampleError::Refused(
                Refusal::Blurred(..) | Refusal::LowScore(..) | Refusal::NoFace
            ))
        ),
        "{r:?}"
    );
    let turned = image::imageops::rotate90(&img);
    let r = sample(&env, jpeg(&turned)).await;
    assert!(r.is_err(), "a face lying on its side is refused: {r:?}");
    let r = sample(&env, b"not an image at all".to_vec()).await;
    assert!(matches!(r, Err(SampleError::Image)), "{r:?}");
    // With consent, the good one is kept; withdrawal deletes it.
    school
        .store
        .record_face_consent(student, "admin@demo.test", None, &act("face.consent"))
        .await
        .unwrap();
    assert!(matches!(
        school
            .store
            .add_face_sample(student, &good.embedding, &good.quality, &act("face.enrol"))
            .await
            .unwrap(),
        EnrolOutcome::Added(_)
    ));
    assert_eq!(
        school
            .store
            .withdraw_face_consent(student, &act("face.withdraw"))
            .await
            .unwrap(),
        Some(1)
    );
    assert!(school.store.face_samples(student).await.unwrap().is_empty());
}

/// Every file under `dir` (not following links), skipping very large ones.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            files_under(&e.path(), out);
        } else if t.is_file() && e.metadata().is_ok_and(|m| m.len() < 64 << 20) {
            out.push(e.path());
        }
    }
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// No file of the data directory or the temp directory holds 64 bytes from the middle
/// of `bytes` (a photo read in memory only).
fn assert_no_file_holds(env: &TestEnv, bytes: &[u8]) {
    let needle = &bytes[bytes.len() / 2..bytes.len() / 2 + 64];
    let mut files = Vec::new();
    files_under(env.dir.path(), &mut files);
    files_under(&std::env::temp_dir(), &mut files);
    for f in &files {
        if let Ok(content) = std::fs::read(f) {
            assert!(
                !holds(&content, needle),
                "{} holds the photo's bytes",
                f.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_photo_is_proposed_saved_only_when_confirmed_and_leaves_no_trace() {
    let Some((env, photos)) = setup("face class photo").await else {
        return;
    };
    let school = demo(&env).await;
    let store = school.store.clone();
    let (class, student) = ayesha(&store).await;
    store
        .set_setting(raabta::face::SETTING_FACE, "on", &act("school.settings"))
        .await
        .unwrap();
    store
        .record_face_consent(student, "admin@demo.test", None, &act("face.consent"))
        .await
        .unwrap();
    let s = sample(&env, std::fs::read(photos.join("img20.jpg")).unwrap())
        .await
        .unwrap();
    store
        .add_face_sample(student, &s.embedding, &s.quality, &act("face.enrol"))
        .await
        .unwrap();

    let now = chrono::Utc::now();
    let mut teacher = logged_in_at(&env, raabta::seed::DEMO_TEACHER_PHONE, "staff", now).await;
    let photo = std::fs::read(photos.join("img21.jpg")).unwrap();
    let replies = teacher.attach_image(photo.clone()).await.unwrap();
    let shown: Vec<String> = replies
        .iter()
        .map(|m| raabta::flow::text::strip_isolation(&m.render()))
        .collect();
    let all = shown.join("\n---\n");
    assert!(all.contains("✅ 1. Ayesha Khan"), "{all}");
    assert!(all.contains("1 face found, 1 proposed present"), "{all}");

    // Proposed, not saved: the register is empty.
    let today = school.tenant.timezone.today(teacher.clock.now());
    let register = store.class_register(class, today).await.unwrap();
    assert!(register.iter().all(|r| r.status.is_none()), "{register:?}");
    let sessions = store.face_sessions(10).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status, "proposed");
    assert_eq!(
        (
            sessions[0].faces,
            sessions[0].matched,
            sessions[0].unmatched
        ),
        (1, 1, 0)
    );
    assert!(sessions[0].confirmed_at.is_none());

    // No trace of the photo: no media row holds it (decrypted), and no file of the
    // data directory or the temp directory holds its bytes.
    for key in store.media_held().await.unwrap() {
        let m = store.media_of(&key).await.unwrap().unwrap();
        assert_ne!(
            m.content.as_deref(),
            Some(photo.as_slice()),
            "media {key} kept the photo"
        );
    }
    assert_no_file_holds(&env, &photo);

    // Confirmed: Ayesha present (source face), the other student not marked by the
    // matcher; then the rest as the teacher says.
    let saved = teacher.say("save").await.unwrap();
    let text: String = saved.iter().map(|m| m.render()).collect();
    assert!(text.contains("Saved: 1 present"), "{text}");
    let register = store.class_register(class, today).await.unwrap();
    for r in &register {
        if r.student == student {
            assert_eq!(r.status, Some(AttendanceStatus::Present));
        } else {
            assert_eq!(r.status, None, "the matcher marked someone it did not see");
        }
    }
    assert_eq!(
        store.face_sessions(10).await.unwrap()[0].status,
        "confirmed"
    );
    teacher.say("leave").await.unwrap();
    let register = store.class_register(class, today).await.unwrap();
    assert_eq!(register.iter().filter(|r| r.status.is_some()).count(), 1);
}

async fn post_photo(
    router: &axum::Router,
    path: &str,
    cookies: &str,
    csrf: &str,
    photo: &[u8],
) -> (axum::http::StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let b = "----raabtafaceboundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("cookie", cookies)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let text =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_records_consent_enrols_and_withdraws() {
    use crate::admin_web::{add_staff, admin_cookie, call};
    use axum::http::StatusCode;
    use raabta::domain::roster::StaffRole;
    let Some((env, photos)) = setup("face admin").await else {
        return;
    };
    let router =
        raabta::application::router(&env.app, &raabta::admin::AdminState::new(env.app.clone()));
    let school = demo(&env).await;
    add_staff(
        &school,
        "face-admin@demo.test",
        StaffRole::Admin,
        "face admin password 1",
    )
    .await;
    let cookie = admin_cookie(
        &env,
        &school,
        "face-admin@demo.test",
        "face admin password 1",
    )
    .await;
    let (_, student) = ayesha(&school.store).await;
    let path = format!("/admin/roster/students/{}/face", student.0);
    let page = call(&env, "GET", &path, &cookie, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("No consent on record"), "{}", page.body);
    let csrf = page.csrf();
    let portrait = std::fs::read(photos.join("img20.jpg")).unwrap();

    // No consent: the upload is refused with the reason, nothing kept.
    let (status, body) = post_photo(
        &router,
        &format!("{path}/samples"),
        &cookie,
        &csrf,
        &portrait,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("No consent on record for this student"),
        "{body}"
    );
    assert!(school.store.face_samples(student).await.unwrap().is_empty());
    // A form without the token is refused.
    let (status, _) =
        post_photo(&router, &format!("{path}/samples"), &cookie, "x", &portrait).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Consent needs the tick.
    let r = call(
        &env,
        "POST",
        &format!("{path}/consent"),
        &cookie,
        &[("csrf", &csrf), ("note", "form 12")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        &env,
        "POST",
        &format!("{path}/consent"),
        &cookie,
        &[("csrf", &csrf), ("seen", "on"), ("note", "form 12")],
    )
    .await;
    assert!(r.body.contains("Consent recorded."), "{}", r.body);
    assert!(r.body.contains("face-admin@demo.test") && r.body.contains("form 12"));

    let (status, body) = post_photo(
        &router,
        &format!("{path}/samples"),
        &cookie,
        &csrf,
        &portrait,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Sample added"), "{body}");
    let couple = std::fs::read(photos.join("couple.jpg")).unwrap();
    let (status, body) =
        post_photo(&router, &format!("{path}/samples"), &cookie, &csrf, &couple).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("faces in the photo: a sample must show exactly one"),
        "{body}"
    );
    assert_eq!(school.store.face_samples(student).await.unwrap().len(), 1);
    // The portrait was read in memory only: no file of the data or temp directory
    // holds its bytes, and no media row holds it.
    assert_no_file_holds(&env, &portrait);
    assert!(school.store.media_held().await.unwrap().is_empty());

    // A teacher sees the status, may not change it.
    add_staff(
        &school,
        "face-teacher@demo.test",
        StaffRole::Teacher,
        "face teacher password 1",
    )
    .await;
    let teacher = admin_cookie(
        &env,
        &school,
        "face-teacher@demo.test",
        "face teacher password 1",
    )
    .await;
    let tcsrf = call(&env, "GET", "/admin", &teacher, &[]).await;
    let w = call(
        &env,
        "POST",
        &format!("{path}/withdraw"),
        &teacher,
        &[("csrf", &tcsrf.csrf())],
    )
    .await;
    assert_ne!(w.status, StatusCode::OK);
    assert_eq!(school.store.face_samples(student).await.unwrap().len(), 1);

    // Withdrawal deletes every sample and the record.
    let r = call(
        &env,
        "POST",
        &format!("{path}/withdraw"),
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert!(
        r.body
            .contains("Consent withdrawn: the record and all 1 samples were deleted."),
        "{}",
        r.body
    );
    assert!(school.store.face_samples(student).await.unwrap().is_empty());
    assert!(school.store.face_consent(student).await.unwrap().is_none());
    // The session log page opens.
    let log = call(&env, "GET", "/admin/face/sessions", &cookie, &[]).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.body.contains("No class photos yet."), "{}", log.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_gates_enrolment_on_consent_and_matches_a_class_photo() {
    use crate::support::raabta_with_input;
    let (Some(_), Some(photos)) = (face_service("face cli"), face_photos("face cli")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = raabta::app::App::build(crate::support::test_config(dir.path()))
        .await
        .unwrap();
    raabta::seed::seed_if_empty(&app.tenancy).await.unwrap();
    let school = app.tenancy.school(raabta::seed::DEMO_SLUG).await.unwrap();
    let (_, student) = ayesha(&school.store).await;
    let admission = school
        .store
        .student_ids_by_admission()
        .await
        .unwrap()
        .into_iter()
        .find(|(_, id)| *id == student)
        .unwrap()
        .0;
    drop(school);
    drop(app);
    let run = |args: &[&str]| {
        let o = raabta_with_input(dir.path(), args, "");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let slug = raabta::seed::DEMO_SLUG;
    let img = |n: &str| photos.join(n).display().to_string();
    // No consent: refused, non-zero.
    let (ok, _, err) = run(&[
        "face",
        "enrol",
        "--tenant",
        slug,
        "--student",
        &admission,
        &img("img20.jpg"),
    ]);
    assert!(!ok);
    assert!(
        err.contains("no consent on record for this student"),
        "{err}"
    );
    // Consent by a staff member who exists.
    let (ok, _, err) = run(&[
        "face",
        "consent",
        "--tenant",
        slug,
        "--student",
        &admission,
        "--by",
        "nobody@x.test",
    ]);
    assert!(!ok && err.contains("no staff member"), "{err}");
    let (ok, out, err) = run(&[
        "face",
        "consent",
        "--tenant",
        slug,
        "--student",
        &admission,
        "--by",
        raabta::seed::DEMO_ADMIN_EMAIL,
        "--note",
        "form 7",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("consent recorded"), "{out}");
    // One good portrait, one refused: non-zero with the reason, the good one kept.
    let (ok, out, err) = run(&[
        "face",
        "enrol",
        "--tenant",
        slug,
        "--student",
        &admission,
        &img("img20.jpg"),
        &img("couple.jpg"),
    ]);
    assert!(!ok);
    assert!(out.contains("img20.jpg: enrolled"), "{out}");
    assert!(
        err.contains("couple.jpg: refused:") && err.contains("1 of 2 images refused"),
        "{err}"
    );
    // The class photo's proposal as one JSON line, nothing written.
    let (ok, out, err) = run(&[
        "face",
        "match",
        "--tenant",
        slug,
        "--class",
        "Grade 5 A",
        &img("img21.jpg"),
    ]);
    assert!(ok, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(line["faces"], 1);
    assert_eq!(line["present"], json!([admission]));
    assert_eq!(line["unmatched"], 0);
    assert!(line["ms"].is_number());
    let (ok, _, err) = run(&[
        "face",
        "match",
        "--tenant",
        slug,
        "--class",
        "Grade 9 Z",
        &img("img21.jpg"),
    ]);
    assert!(!ok && err.contains("no class named"), "{err}");
    // Withdrawal deletes the sample.
    let (ok, out, _) = run(&[
        "face",
        "withdraw",
        "--tenant",
        slug,
        "--student",
        &admission,
    ]);
    assert!(ok && out.contains("1 samples deleted"), "{out}");
    let (ok, _, err) = run(&[
        "face",
        "withdraw",
        "--tenant",
        slug,
        "--student",
        &admission,
    ]);
    assert!(!ok && err.contains("no consent on record"), "{err}");
}
