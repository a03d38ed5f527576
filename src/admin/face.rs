//! Photo attendance in the web admin (issue 17): a student's consent record and
//! enrolled samples (administrators record consent, upload 1-5 portraits, delete one
//! or all, withdraw; others see the status), and the session log. A portrait is read
//! in memory by the face models (bounded: one at a time per process) and only its
//! embedding is kept; the photo is never written anywhere.

use super::error::{AdminError, AdminForm, AdminUpload, Empty, Staff};
use super::web::{path_id, redirect, render_page, staff_activity, visible_classes, Said};
use crate::app::App;
use crate::domain::StudentId;
use crate::face::quality::DEFAULT_RULE;
use crate::face::SampleError;
use crate::store::tenancy::School;
use crate::store::EnrolOutcome;
use axum::extract::{Path, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

store_port!(
    FaceStore,
    FlowStore,
    OfficeStore,
    RosterStore,
    SettingsStore
);

/// The largest portrait accepted (a phone's full-size photo).
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

/// Portraits are read one at a time in this process (an administrator's upload runs
/// the face models; the face jobs have their own limit).
static ENROL_GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// An activity entry of this person about the student.
fn about(
    app: &App,
    s: &super::auth::ActiveSession,
    action: &str,
    student: StudentId,
    details: serde_json::Value,
) -> crate::domain::activity::ActivityEntry {
    staff_activity(
        s,
        action,
        Some(format!("student:{}", student.0)),
        details,
        app.clock.now(),
    )
}

/// The student, if this person may see them.
async fn student_in_scope(
    school: &School,
    s: &super::auth::ActiveSession,
    id: &str,
) -> Result<crate::domain::roster::Student, AdminError> {
    let id = path_id(id).map(StudentId)?;
    let store = port(school);
    let classes = visible_classes(store, s).await?;
    store
        .student_detail(id)
        .await?
        .map(|(st, _)| st)
        .filter(|st| classes.iter().any(|c| c.id == st.class_id))
        .ok_or(AdminError::NotFound)
}

pub async fn view(
    State(app): State<App>,
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    page(&app, &school, &s, &id, Said::nothing()).await
}

async fn page(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    id: &str,
    said: Said,
) -> Result<Response, AdminError> {
    let student = student_in_scope(school, s, id).await?;
    let store = port(school);
    let consent = store.face_consent(student.id).await?;
    let samples: Vec<_> = store
        .face_samples(student.id)
        .await?
        .into_iter()
        .map(|x| {
            context! {
                id => x.id.to_string(),
                at => x.created_at.format("%Y-%m-%d %H:%M").to_string(),
                by => x.created_by,
                face_px => format!("{:.0}", x.quality.face_px),
                sharpness => format!("{:.0}", x.quality.sharpness),
                brightness => format!("{:.0}", x.quality.brightness),
                score => format!("{:.2}", x.quality.score),
            }
        })
        .collect();
    let settings = store.settings().await?;
    let on = settings
        .iter()
        .any(|(k, v)| k == crate::face::SETTING_FACE && v == "on");
    let admin = s.staff.role == crate::domain::roster::StaffRole::Admin;
    Ok(render_page(
        "face_student.html",
        school,
        s,
        context! {
            id => student.id.0.to_string(),
            name => student.full_name,
            admission_no => student.admission_no,
            consent => consent.as_ref().map(|c| context! {
                by => c.confirmed_by.clone(),
                at => c.confirmed_at.format("%Y-%m-%d %H:%M").to_string(),
                note => c.note.as_ref().map(|n| n.expose().clone()),
            }),
            samples => samples,
            max => crate::store::FACE_SAMPLES_MAX,
            school_on => on,
            models => app.face.present().err(),
            can_edit => admin,
        },
        said,
    ))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    seen: Option<String>,
    #[serde(default)]
    note: String,
}

pub async fn consent(
    State(app): State<App>,
    Path(id): Path<String>,
    AdminForm { staff, form }: AdminForm<ConsentForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = student_in_scope(&school, &s, &id).await?;
    if form.seen.is_none() {
        return page(
            &app,
            &school,
            &s,
            &id,
            Said::refused("Tick that you have seen the parent's written consent."),
        )
        .await;
    }
    let note = crate::domain::bidi::neutralise(form.note.trim()).into_owned();
    if note.chars().count() > 500 {
        return page(
            &app,
            &school,
            &s,
            &id,
            Said::refused("Note: at most 500 characters."),
        )
        .await;
    }
    let entry = about(&app, &s, "face.consent", student.id, json!({}));
    port(&school)
        .record_face_consent(student.id, &s.staff.email, Some(&note), &entry)
        .await?;
    page(&app, &school, &s, &id, Said::notice("Consent recorded.")).await
}

pub async fn upload(
    State(app): State<App>,
    Path(id): Path<String>,
    AdminUpload { staff, file }: AdminUpload,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = student_in_scope(&school, &s, &id).await?;
    // The consent gate first (checked again when the sample is stored).
    if port(&school).face_consent(student.id).await?.is_none() {
        return page(
            &app,
            &school,
            &s,
            &id,
            Said::refused(
                "No consent on record for this student: record the parent's written consent first.",
            ),
        )
        .await;
    }
    if file.is_empty() {
        return page(
            &app,
            &school,
            &s,
            &id,
            Said::refused("Choose a photo to upload."),
        )
        .await;
    }
    let _permit = ENROL_GATE
        .acquire()
        .await
        .map_err(|_| AdminError::BadRequest("The face models are shutting down.".into()))?;
    let face = app.face.clone();
    let sample = tokio::task::spawn_blocking(move || {
        let models = face.models().map_err(|reason| {
            tracing::warn!(%reason, "face models not available for enrolment");
            "The face models are not installed on this server.".to_string()
        })?;
        models.sample(&file, &DEFAULT_RULE).map_err(|e| match e {
            SampleError::Face(e) => {
                tracing::warn!(error = %e, "face model failed on an enrolment photo");
                "The photo could not be read by the face models.".to_string()
            }
            other => format!("Refused: {other}."),
        })
    })
    .await
    .map_err(|e| AdminError::BadRequest(format!("The photo could not be read ({e}).")))?;
    let sample = match sample {
        Ok(x) => x,
        Err(why) => return page(&app, &school, &s, &id, Said::refused(why)).await,
    };
    let entry = about(&app, &s, "face.enrol", student.id, json!({}));
    let said = match port(&school)
        .add_face_sample(student.id, &sample.embedding, &sample.quality, &entry)
        .await?
    {
        EnrolOutcome::Added(_) => {
            Said::notice("Sample added: only its face embedding is kept, not the photo.")
        }
        EnrolOutcome::NoConsent => Said::refused(
            "No consent on record for this student: record the parent's written consent first.",
        ),
        EnrolOutcome::Full => Said::refused(format!(
            "The student has {} samples already: delete one first.",
            crate::store::FACE_SAMPLES_MAX
        )),
    };
    page(&app, &school, &s, &id, said).await
}

pub async fn delete_sample(
    State(app): State<App>,
    Path((id, sample)): Path<(String, String)>,
    AdminForm { staff, .. }: AdminForm<Empty>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = student_in_scope(&school, &s, &id).await?;
    let sample = path_id(&sample)?;
    let entry = staff_activity(
        &s,
        "face.sample.delete",
        Some(format!("student:{}", student.id.0)),
        json!({ "sample": sample.to_string() }),
        app.clock.now(),
    );
    if !port(&school)
        .delete_face_sample(student.id, sample, &entry)
        .await?
    {
        return Err(AdminError::NotFound);
    }
    Ok(redirect(&format!("/admin/roster/students/{id}/face")))
}

pub async fn delete_all(
    State(app): State<App>,
    Path(id): Path<String>,
    AdminForm { staff, .. }: AdminForm<Empty>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = student_in_scope(&school, &s, &id).await?;
    let entry = about(&app, &s, "face.samples.delete", student.id, json!({}));
    let n = port(&school)
        .delete_face_samples(student.id, &entry)
        .await?;
    page(
        &app,
        &school,
        &s,
        &id,
        Said::notice(format!("{n} samples deleted.")),
    )
    .await
}

pub async fn withdraw(
    State(app): State<App>,
    Path(id): Path<String>,
    AdminForm { staff, .. }: AdminForm<Empty>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = student_in_scope(&school, &s, &id).await?;
    let entry = about(&app, &s, "face.withdraw", student.id, json!({}));
    let said = match port(&school)
        .withdraw_face_consent(student.id, &entry)
        .await?
    {
        Some(n) => Said::notice(format!(
            "Consent withdrawn: the record and all {n} samples were deleted."
        )),
        None => Said::refused("No consent on record for this student."),
    };
    page(&app, &school, &s, &id, said).await
}

/// The session log: every class-photo attempt (counts only).
pub async fn sessions(
    State(app): State<App>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let store = port(&school);
    let classes = visible_classes(store, &s).await?;
    let rows: Vec<_> = store
        .face_sessions(200)
        .await?
        .into_iter()
        .filter_map(|r| {
            let class = classes.iter().find(|c| c.id == r.class)?;
            Some(context! {
                at => r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                channel => r.channel,
                class => class.label(),
                photos => r.photos,
                faces => r.faces,
                matched => r.matched,
                unmatched => r.unmatched,
                ms => r.duration_ms,
                status => r.status,
            })
        })
        .collect();
    let _ = app;
    Ok(render_page(
        "face_sessions.html",
        &school,
        &s,
        context! { sessions => rows },
        Said::nothing(),
    ))
}
