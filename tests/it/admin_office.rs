//! The admin's office pages over HTTP, through the real router, on both backends:
//! roster (scoped lists, encrypted fields by role, add/edit/guardians, CSV import with
//! preview and all-or-nothing commit), staff accounts with password links, fees
//! (balances, payments), attendance registers (corrections need a reason), password
//! reset by email, and the dashboard. Every page refuses another school's ids, another
//! branch's for a branch manager, another class's for a teacher, and CSRF-less posts.

use crate::admin_web::{
    add_manager, add_staff, admin_cookie, call, cookie_of, sign_in, value, Res,
};
use crate::support::TestEnv;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::roster::StaffRole;
use raabta::store::tenancy::School;
use tower::ServiceExt;

async fn call_raw(
    env: &TestEnv,
    path: &str,
    cookies: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Res {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("cookie", cookies)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let res = env.router().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Res {
        status,
        headers,
        body,
    }
}

/// A multipart form with the token and one CSV file.
pub(crate) async fn upload(env: &TestEnv, path: &str, cookies: &str, csrf: &str, csv: &str) -> Res {
    let b = "----raabtaboundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
    );
    call_raw(
        env,
        path,
        cookies,
        &format!("multipart/form-data; boundary={b}"),
        body.into_bytes(),
    )
    .await
}

/// The text as a browser shows it (the few entities minijinja writes decoded).
fn shown(body: &str) -> String {
    body.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
}

/// An href or action that starts with `prefix`, as the browser reads it.
fn link(body: &str, prefix: &str) -> String {
    let body = shown(body);
    let at = body
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in page"));
    let end = at + body[at..].find(['"', '<']).unwrap();
    body[at..end].to_string()
}

struct School3 {
    school: School,
    admin: String,
    teacher: String,
    manager: String,
}

/// The standard roster and fees, an admin (two-factor done), a teacher of Grade 5 B
/// and a branch manager of North (Grade 5 B is in North; Grade 3 A and 5 A in Main).
async fn setup(env: &TestEnv, slug: &str) -> School3 {
    let school = env.school(slug).await;
    crate::support::load_roster_and_fees(&school).await;
    add_staff(&school, "head@o.test", StaffRole::Admin, "head password 1").await;
    let teacher = add_staff(
        &school,
        "t@o.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let grade5b = class_id(&school, "Grade 5 B").await;
    let act = ActivityEntry::now(
        "test",
        "staff.assign_class",
        None,
        "test",
        serde_json::json!({}),
    );
    school
        .store
        .assign_class(teacher, raabta::domain::ClassId(grade5b), &act)
        .await
        .unwrap();
    add_manager(&school, "m@o.test", "North").await;
    let admin = admin_cookie(env, &school, "head@o.test", "head password 1").await;
    School3 {
        teacher: cookie_of(env, slug, "t@o.test", "teacher password 1").await,
        manager: cookie_of(env, slug, "m@o.test", "manager password 1").await,
        school,
        admin,
    }
}

async fn class_id(school: &School, label: &str) -> uuid::Uuid {
    school
        .store
        .classes()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.label() == label)
        .unwrap()
        .id
        .0
}

async fn student_id(school: &School, admission: &str) -> String {
    school.store.student_ids_by_admission().await.unwrap()[admission]
        .0
        .to_string()
}

async fn roster_is_scoped_and_edited_with_validation(env: &TestEnv) {
    let s = setup(env, "office-roster").await;
    let other = env.school("office-other").await;
    crate::support::load_roster_and_fees(&other).await;
    let foreign = student_id(&other, "A-1").await;
    let aisha = student_id(&s.school, "A-1").await;
    let bilal = student_id(&s.school, "A-2").await;
    let zainab = student_id(&s.school, "A-3").await;

    // The admin sees everyone, and the encrypted fields.
    let list = call(env, "GET", "/admin/roster", &s.admin, &[]).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Bilal Khan") && list.body.contains("Zainab Ali"));
    let page = call(
        env,
        "GET",
        &format!("/admin/roster/students/{aisha}"),
        &s.admin,
        &[],
    )
    .await;
    assert!(
        page.body.contains("35202-1234567-2"),
        "B-form for the admin"
    );
    assert!(page.body.contains("+923001110001") && page.body.contains("Asthma inhaler"));
    assert!(page.body.contains("35202-7654321-1") && page.body.contains("House 12"));

    // A teacher sees their class only: phones masked, no B-form, CNIC or address, but
    // health notes; another class is a 404.
    let list = call(env, "GET", "/admin/roster", &s.teacher, &[]).await;
    assert!(list.body.contains("Zainab Ali") && !list.body.contains("Bilal Khan"));
    let page = call(
        env,
        "GET",
        &format!("/admin/roster/students/{zainab}"),
        &s.teacher,
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Ali Raza") && !page.body.contains("+923021110003"));
    assert!(page.body.contains("••• 003"));
    assert!(!page.body.contains("Add or update a guardian"), "read only");
    for (who, cookie) in [("teacher", &s.teacher), ("manager", &s.manager)] {
        for id in [&bilal, &foreign] {
            assert_eq!(
                call(
                    env,
                    "GET",
                    &format!("/admin/roster/students/{id}"),
                    cookie,
                    &[]
                )
                .await
                .status,
                StatusCode::NOT_FOUND,
                "{who} {id}"
            );
        }
    }
    // A branch manager edits their branch but not the other one.
    let csrf = call(env, "GET", "/admin/roster", &s.manager, &[])
        .await
        .csrf();
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{bilal}/guardians"),
        &s.manager,
        &[
            ("csrf", &csrf),
            ("guardian_name", "X"),
            ("guardian_phone", "0300 9990000"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let tcsrf = call(env, "GET", "/admin/roster", &s.teacher, &[])
        .await
        .csrf();
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{zainab}"),
        &s.teacher,
        &[
            ("csrf", &tcsrf),
            ("student_name", "Z"),
            ("class", &class_id(&s.school, "Grade 5 B").await.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "teachers do not edit");

    // The admin adds a student: bad input is refused with the reason, nothing saved.
    let csrf = list_csrf(env, &s.admin).await;
    let g3 = class_id(&s.school, "Grade 3 A").await.to_string();
    let before = s.school.store.student_list().await.unwrap().len();
    let r = call(
        env,
        "POST",
        "/admin/roster/students",
        &s.admin,
        &[
            ("csrf", "nope"),
            ("admission_no", "A-9"),
            ("student_name", "Hina"),
            ("class", &g3),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        env,
        "POST",
        "/admin/roster/students",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("admission_no", "A-9"),
            ("student_name", "Hina Tariq"),
            ("class", &g3),
            ("guardian_name", "Tariq"),
            ("guardian_phone", "12"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("guardian_phone"), "{}", r.body);
    assert_eq!(s.school.store.student_list().await.unwrap().len(), before);
    let r = call(
        env,
        "POST",
        "/admin/roster/students",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("admission_no", "A-9"),
            ("student_name", "Hina Tariq"),
            ("class", &g3),
            ("gender", "female"),
            ("guardian_name", "Tariq Mehmood"),
            ("guardian_phone", "0333 1234567"),
            ("guardian_relation", "father"),
            ("guardian_language", "ur"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let hina = student_id(&s.school, "A-9").await;
    assert_eq!(r.location(), format!("/admin/roster/students/{hina}"));
    // The same admission number again is a conflict, not a silent overwrite.
    let r = call(
        env,
        "POST",
        "/admin/roster/students",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("admission_no", "A-9"),
            ("student_name", "Other"),
            ("class", &g3),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Edit, a second guardian, unlink the first, deactivate.
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{hina}"),
        &s.admin,
        &[
            ("csrf", &csrf),
            ("student_name", "Hina Tariq Mehmood"),
            ("class", &g3),
            ("health_notes", "Peanut allergy"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{hina}/guardians"),
        &s.admin,
        &[
            ("csrf", &csrf),
            ("guardian_name", "Amna Tariq"),
            ("guardian_phone", "0333 7654321"),
            ("guardian_relation", "mother"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = call(
        env,
        "GET",
        &format!("/admin/roster/students/{hina}"),
        &s.admin,
        &[],
    )
    .await;
    assert!(page.body.contains("Hina Tariq Mehmood") && page.body.contains("Peanut allergy"));
    assert!(page.body.contains("Amna Tariq") && page.body.contains("Tariq Mehmood"));
    let unlink = link(
        &page.body,
        &format!("/admin/roster/students/{hina}/guardians/"),
    );
    assert_eq!(
        call(env, "POST", &unlink, &s.admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{hina}/active"),
        &s.admin,
        &[("csrf", &csrf), ("active", "false")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = call(
        env,
        "GET",
        &format!("/admin/roster/students/{hina}"),
        &s.admin,
        &[],
    )
    .await;
    assert!(page.body.contains("inactive"));
    assert_eq!(
        s.school
            .store
            .guardians_of(raabta::domain::StudentId(hina.parse().unwrap()))
            .await
            .unwrap()
            .len(),
        1
    );
    // Every write is in the activity log under the admin's name.
    let log = s.school.store.recent_activity(100).await.unwrap();
    for action in [
        "student.create",
        "student.update",
        "guardian.save",
        "guardian.unlink",
        "student.deactivate",
    ] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.actor.starts_with("staff:")),
            "{action}"
        );
    }
    // Another school's student id, posted by this school's admin, is not found.
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{foreign}/active"),
        &s.admin,
        &[("csrf", &csrf), ("active", "false")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Revoking a guardian's unused codes: the printed code stops working.
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    let imran = s.school.store.contacts_by_phone(&phone).await.unwrap()[0];
    let (code, _) = raabta::codes::issue(
        None,
        s.school.store.as_ref(),
        imran,
        chrono::Duration::days(1),
        "t",
        "t",
    )
    .await
    .unwrap();
    let revoke = format!(
        "/admin/roster/students/{aisha}/guardians/{}/revoke-codes",
        imran.uuid()
    );
    let mcsrf = list_csrf(env, &s.manager).await;
    assert_eq!(
        call(env, "POST", &revoke, &s.manager, &[("csrf", &mcsrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "POST", &revoke, &s.admin, &[("csrf", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // A guardian who is not this student's is not found.
    let other_guardian = format!(
        "/admin/roster/students/{zainab}/guardians/{}/revoke-codes",
        imran.uuid()
    );
    assert_eq!(
        call(env, "POST", &other_guardian, &s.admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = call(env, "POST", &revoke, &s.admin, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        raabta::codes::redeem(s.school.store.as_ref(), code.expose(), "t")
            .await
            .is_err()
    );
    let log = s.school.store.recent_activity(10).await.unwrap();
    assert_eq!(
        log.iter()
            .find(|e| e.action == "access_code.revoke")
            .unwrap()
            .details["revoked"],
        1
    );
    // A branch manager cannot take over (or read) a guardian of another branch's
    // children by typing their number on one of their own students.
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{zainab}/guardians"),
        &s.manager,
        &[
            ("csrf", &mcsrf),
            ("guardian_name", "Someone"),
            ("guardian_phone", "0300 1110001"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("ask an administrator"), "{}", r.body);
    assert_eq!(
        s.school
            .store
            .guardians_of(raabta::domain::StudentId(zainab.parse().unwrap()))
            .await
            .unwrap()
            .len(),
        1
    );
    // Editing a deactivated student leaves them deactivated.
    let r = call(
        env,
        "POST",
        &format!("/admin/roster/students/{hina}"),
        &s.admin,
        &[
            ("csrf", &csrf),
            ("student_name", "Hina T. Mehmood"),
            ("class", &g3),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (_, active) = s
        .school
        .store
        .student_detail(raabta::domain::StudentId(hina.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert!(!active);
}

crate::on_both_backends!(roster_is_scoped_and_edited_with_validation);

async fn list_csrf(env: &TestEnv, cookie: &str) -> String {
    call(env, "GET", "/admin/roster", cookie, &[]).await.csrf()
}

async fn roster_import_previews_and_commits_all_or_nothing(env: &TestEnv) {
    let s = setup(env, "office-import").await;
    let csrf = list_csrf(env, &s.admin).await;
    let before = s.school.store.student_list().await.unwrap().len();
    let header = "admission_no,student_name,class,section,branch,guardian_name,guardian_phone\n";
    let bad = format!("{header}B-1,Usman,Grade 1,A,Main,Asad,0300 5550001\nB-2,,Grade 1,A,Main,,\nB-3,Maryam,Grade 1,A,Main,Sadia,55\n");
    // Not for teachers or branch managers.
    for c in [&s.teacher, &s.manager] {
        let tc = list_csrf(env, c).await;
        assert_eq!(
            upload(env, "/admin/roster/import", c, &tc, &bad)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(env, "GET", "/admin/roster/import", c, &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        upload(env, "/admin/roster/import", &s.admin, "x", &bad)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = upload(env, "/admin/roster/import", &s.admin, &csrf, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("line 3") && r.body.contains("line 4"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("line 2:"));
    assert_eq!(s.school.store.student_list().await.unwrap().len(), before);

    let good = format!(
        "{header}B-1,Usman,Grade 1,A,Main,Asad,0300 5550001\nB-2,Fatima,Grade 1,A,Main,,\n"
    );
    let r = upload(env, "/admin/roster/import", &s.admin, &csrf, &good).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Usman") && r.body.contains("Import 2 row(s)"));
    // Nothing is written by the preview.
    assert_eq!(s.school.store.student_list().await.unwrap().len(), before);
    let csv = shown(&r.body);
    let at = csv.find("name=\"csv\" value=\"").unwrap() + 18;
    let end = at + csv[at..].find("\">").unwrap();
    let csv = csv[at..end].to_string();
    assert_eq!(
        call(
            env,
            "POST",
            "/admin/roster/import/commit",
            &s.admin,
            &[("csrf", "x"), ("csv", &csv)]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = call(
        env,
        "POST",
        "/admin/roster/import/commit",
        &s.admin,
        &[("csrf", &csrf), ("csv", &csv)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("2 student(s) added"), "{}", r.body);
    assert_eq!(
        s.school.store.student_list().await.unwrap().len(),
        before + 2
    );
    // A tampered commit is checked again: still all or nothing.
    let r = call(
        env,
        "POST",
        "/admin/roster/import/commit",
        &s.admin,
        &[
            ("csrf", &csrf),
            (
                "csv",
                &format!("{header}B-4,Ali,Grade 1,A,Main,,\nB-5,,Grade 1,A,Main,,\n"),
            ),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        s.school.store.student_list().await.unwrap().len(),
        before + 2
    );
    assert!(s
        .school
        .store
        .recent_activity(50)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "roster.import"));
}
crate::on_both_backends!(roster_import_previews_and_commits_all_or_nothing);

async fn fees_show_balances_and_take_payments(env: &TestEnv) {
    let s = setup(env, "office-fees").await;
    let aisha = student_id(&s.school, "A-1").await;
    let zainab = student_id(&s.school, "A-3").await;
    let g5a = class_id(&s.school, "Grade 5 A").await;
    let list = call(
        env,
        "GET",
        &format!("/admin/fees?class={g5a}"),
        &s.admin,
        &[],
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("PKR 17000.00") && list.body.contains("PKR 4500.00"),
        "{}",
        list.body
    );
    // Teachers have no fee pages; a branch manager only their branch.
    assert_eq!(
        call(env, "GET", "/admin/fees", &s.teacher, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/fees/students/{aisha}"),
            &s.manager,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/fees?class={g5a}"),
            &s.manager,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/fees/students/{zainab}"),
            &s.manager,
            &[]
        )
        .await
        .status,
        StatusCode::OK
    );
    let page = call(
        env,
        "GET",
        &format!("/admin/fees/students/{aisha}"),
        &s.admin,
        &[],
    )
    .await;
    let csrf = page.csrf();
    let pay = format!("/admin/fees/students/{aisha}/payments");
    // More than is due on the line, or no reference: refused.
    let r = call(
        env,
        "POST",
        &pay,
        &s.admin,
        &[
            ("csrf", &csrf),
            ("line", "2026-10|Tuition"),
            ("amount", "5000"),
            ("paid_on", "2026-11-01"),
            ("reference", "R-9"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("more than the PKR 4500.00"), "{}", r.body);
    let r = call(
        env,
        "POST",
        &pay,
        &s.admin,
        &[
            ("csrf", &csrf),
            ("line", "2026-10|Tuition"),
            ("amount", "4500"),
            ("paid_on", "2026-11-01"),
            ("reference", ""),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        call(
            env,
            "POST",
            &pay,
            &s.admin,
            &[("line", "2026-10|Tuition"), ("amount", "1")]
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no token at all: the form is refused"
    );
    let r = call(
        env,
        "POST",
        &pay,
        &s.admin,
        &[
            ("csrf", &csrf),
            ("line", "2026-10|Tuition"),
            ("amount", "4500"),
            ("paid_on", "2026-11-01"),
            ("reference", "HBL-3"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = call(
        env,
        "GET",
        &format!("/admin/fees/students/{aisha}"),
        &s.admin,
        &[],
    )
    .await;
    assert!(
        page.body.contains("Balance: <strong>PKR 0.00</strong>"),
        "{}",
        page.body
    );
    // A new fee line, then its amount changed; bad amounts and dates are refused.
    let lines = format!("/admin/fees/students/{aisha}/lines");
    let r = call(
        env,
        "POST",
        &lines,
        &s.admin,
        &[
            ("csrf", &csrf),
            ("period", "2026-11"),
            ("description", "Tuition"),
            ("amount", "-5"),
            ("due_date", "2026-11-10"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for amount in ["9000", "9200"] {
        let r = call(
            env,
            "POST",
            &lines,
            &s.admin,
            &[
                ("csrf", &csrf),
                ("period", "2026-11"),
                ("description", "Tuition"),
                ("amount", amount),
                ("due_date", "2026-11-10"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    let page = call(
        env,
        "GET",
        &format!("/admin/fees/students/{aisha}"),
        &s.admin,
        &[],
    )
    .await;
    assert!(
        page.body.contains("Balance: <strong>PKR 9200.00</strong>"),
        "{}",
        page.body
    );
    let log = s.school.store.recent_activity(50).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "fees.payment" && e.actor.starts_with("staff:")));
    // The manager cannot post to another branch's student.
    let mcsrf = list_csrf(env, &s.manager).await;
    let r = call(
        env,
        "POST",
        &pay,
        &s.manager,
        &[
            ("csrf", &mcsrf),
            ("line", "2026-11|Tuition"),
            ("amount", "1"),
            ("paid_on", "2026-11-01"),
            ("reference", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Fees by CSV (administrators): bad rows by line and nothing written; a preview;
    // then all rows at once.
    let header = "admission_no,period,description,amount,currency,due_date,paid_amount,paid_on,payment_reference\n";
    let mcsrf = list_csrf(env, &s.manager).await;
    assert_eq!(
        upload(env, "/admin/fees/import", &s.manager, &mcsrf, header)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let bad = format!("{header}A-3,2026-12,Tuition,9000,PKR,2026-12-10,,,\nZ-9,2026-12,Tuition,9000,PKR,2026-12-10,,,\nA-3,2026-12,Books,-1,PKR,2026-12-10,,,\n");
    let r = upload(env, "/admin/fees/import", &s.admin, &csrf, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("line 3") && r.body.contains("line 4") && !r.body.contains("line 2:"),
        "{}",
        r.body
    );
    let r = call_raw(
        env,
        "/admin/fees/import",
        &s.admin,
        "multipart/form-data; boundary=b",
        [
            format!("--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\n").into_bytes(),
            vec![0xff, 0xfe, 0x00],
            b"\r\n--b--\r\n".to_vec(),
        ]
        .concat(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("not UTF-8"));
    let zainab_due = |lines: Vec<raabta::domain::fees::FeeLineView>| {
        lines.iter().map(|l| l.amount.minor).sum::<i64>()
    };
    let zid = raabta::domain::StudentId(zainab.parse().unwrap());
    let before = zainab_due(s.school.store.fee_statement(zid).await.unwrap());
    let good = format!("{header}A-3,2026-12,Tuition,9000,PKR,2026-12-10,9000,2026-12-01,R-77\n");
    let r = upload(env, "/admin/fees/import", &s.admin, &csrf, &good).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Import 1 row(s)"), "{}", r.body);
    assert_eq!(
        zainab_due(s.school.store.fee_statement(zid).await.unwrap()),
        before,
        "a preview writes nothing"
    );
    let body = shown(&r.body);
    let at = body.find("name=\"csv\" value=\"").unwrap() + 18;
    let end = at + body[at..].find("\">").unwrap();
    let csv_field = body[at..end].to_string();
    let r = call(
        env,
        "POST",
        "/admin/fees/import/commit",
        &s.admin,
        &[("csrf", csrf.as_str()), ("csv", csv_field.as_str())],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("1 fee line(s) added") && r.body.contains("1 payment(s) recorded"),
        "{}",
        r.body
    );
    assert_eq!(
        zainab_due(s.school.store.fee_statement(zid).await.unwrap()),
        before + 900_000
    );
}

crate::on_both_backends!(fees_show_balances_and_take_payments);

async fn attendance_is_marked_and_corrected_with_a_reason(env: &TestEnv) {
    let s = setup(env, "office-att").await;
    let g5b = class_id(&s.school, "Grade 5 B").await.to_string();
    let g3 = class_id(&s.school, "Grade 3 A").await.to_string();
    let zainab = student_id(&s.school, "A-3").await;
    let bilal = student_id(&s.school, "A-2").await;
    let page = call(env, "GET", "/admin/attendance", &s.teacher, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Zainab Ali") && !page.body.contains("Bilal"));
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/attendance?class={g3}"),
            &s.teacher,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let csrf = page.csrf();
    let today = s
        .school
        .tenant
        .timezone
        .today(env.app.clock.now())
        .to_string();
    let mark = |status: &'static str, reason: &'static str| {
        let field = format!("s_{zainab}");
        let (csrf, g5b, today, teacher) =
            (csrf.clone(), g5b.clone(), today.clone(), s.teacher.clone());
        async move {
            call(
                env,
                "POST",
                "/admin/attendance",
                &teacher,
                &[
                    ("csrf", csrf.as_str()),
                    ("class", &g5b),
                    ("day", &today),
                    (&field, status),
                    ("reason", reason),
                ],
            )
            .await
        }
    };
    let r = mark("absent", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Changing a recorded mark needs a reason.
    let r = mark("present", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("give a reason"));
    let r = mark("present", "Arrived after assembly; marked by mistake").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = call(
        env,
        "GET",
        &format!("/admin/attendance?class={g5b}&day={today}"),
        &s.teacher,
        &[],
    )
    .await;
    assert!(
        page.body
            .contains("<option value=\"present\" selected>present</option>"),
        "{}",
        page.body
    );
    let log = s.school.store.recent_activity(50).await.unwrap();
    let corrected = log
        .iter()
        .find(|e| e.action == "attendance.correct")
        .expect("logged");
    assert_eq!(
        corrected.details["reason"],
        "Arrived after assembly; marked by mistake"
    );
    assert!(corrected.actor.starts_with("staff:"));
    // A student of another class, another class, a future day, no token: refused.
    let bilal_field = format!("s_{bilal}");
    let zainab_field = format!("s_{zainab}");
    for (token, class, day, field, expected) in [
        (
            csrf.as_str(),
            g5b.as_str(),
            today.as_str(),
            bilal_field.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            csrf.as_str(),
            g3.as_str(),
            today.as_str(),
            bilal_field.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            csrf.as_str(),
            g5b.as_str(),
            "2999-01-01",
            zainab_field.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "x",
            g5b.as_str(),
            today.as_str(),
            zainab_field.as_str(),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let r = call(
            env,
            "POST",
            "/admin/attendance",
            &s.teacher,
            &[
                ("csrf", token),
                ("class", class),
                ("day", day),
                (field, "absent"),
            ],
        )
        .await;
        assert_eq!(r.status, expected, "{class} {day} {field}");
    }
    // The dashboard charts today's attendance of the person's classes.
    let dash = call(env, "GET", "/admin", &s.admin, &[]).await;
    assert!(dash.body.contains("<svg class=\"chart\"") && dash.body.contains("Grade 5 B"));
    assert!(
        dash.body.contains("1&#x2f;1") || dash.body.contains("1/1"),
        "{}",
        dash.body
    );
    let tdash = call(env, "GET", "/admin", &s.teacher, &[]).await;
    assert!(tdash.body.contains("Grade 5 B") && !tdash.body.contains("Grade 3 A"));
}
crate::on_both_backends!(attendance_is_marked_and_corrected_with_a_reason);

async fn staff_accounts_and_password_links(env: &TestEnv) {
    let s = setup(env, "office-staff").await;
    assert_eq!(
        call(env, "GET", "/admin/staff", &s.teacher, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "GET", "/admin/staff", &s.manager, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page = call(env, "GET", "/admin/staff", &s.admin, &[]).await;
    let csrf = page.csrf();
    let g3 = class_id(&s.school, "Grade 3 A").await.to_string();
    let r = call(
        env,
        "POST",
        "/admin/staff",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("full_name", "Nadia Teacher"),
            ("email", "not-an-email"),
            ("role", "teacher"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        env,
        "POST",
        "/admin/staff",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("full_name", "Nadia Teacher"),
            ("email", "Nadia@O.test"),
            ("role", "teacher"),
            ("class", &g3),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // No SMTP here: the link is shown once, to pass on.
    let url = link(&r.body, "https://raabta.test/admin/reset/");
    let path = url[url.find("/admin/reset/").unwrap()..].to_string();
    // The account has no password until the link is used.
    assert_eq!(
        sign_in(env, "office-staff", "nadia@o.test", "")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let form = call(env, "GET", &path, "", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = value(&form.cookie("raabta_pre").unwrap());
    let fcsrf = form.csrf();
    let r = call(
        env,
        "POST",
        &path,
        &pre,
        &[
            ("csrf", &fcsrf),
            ("password", "short"),
            ("confirm", "short"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pre = value(&r.cookie("raabta_pre").unwrap());
    let fcsrf = r.csrf();
    assert_eq!(
        call(
            env,
            "POST",
            &path,
            "",
            &[
                ("csrf", &fcsrf),
                ("password", "a long new password"),
                ("confirm", "a long new password")
            ]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = call(
        env,
        "POST",
        &path,
        &pre,
        &[
            ("csrf", &fcsrf),
            ("password", "a long new password"),
            ("confirm", "a long new password"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/admin/login?reset=done")
    );
    // Single use.
    assert_eq!(
        call(env, "GET", &path, "", &[]).await.status,
        StatusCode::GONE
    );
    let r = sign_in(env, "office-staff", "nadia@o.test", "a long new password").await;
    assert_eq!(r.location(), "/admin");
    let nadia = value(&r.cookie("raabta_admin").unwrap());
    let page = call(env, "GET", "/admin/attendance", &nadia, &[]).await;
    assert!(page.body.contains("Bilal Khan"), "her class");
    // Her classes are changed (a repeated class counts once); teachers cannot do it.
    let g5b = class_id(&s.school, "Grade 5 B").await.to_string();
    let id = s
        .school
        .store
        .staff_by_email("nadia@o.test")
        .await
        .unwrap()
        .unwrap()
        .id
        .0;
    let classes = format!("/admin/staff/{id}/classes");
    let tcsrf = list_csrf(env, &s.teacher).await;
    assert_eq!(
        call(
            env,
            "POST",
            &classes,
            &s.teacher,
            &[("csrf", &tcsrf), ("class", &g5b)]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = call(
        env,
        "POST",
        &classes,
        &s.admin,
        &[("csrf", &csrf), ("class", &g5b), ("class", &g5b)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = call(env, "GET", "/admin/attendance", &nadia, &[]).await;
    assert!(page.body.contains("Zainab Ali") && !page.body.contains("Bilal Khan"));
    // Deactivated: signed out at once, and cannot sign in.
    let r = call(
        env,
        "POST",
        &format!("/admin/staff/{id}/active"),
        &s.admin,
        &[("csrf", &csrf), ("active", "false")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        call(env, "GET", "/admin", &nadia, &[]).await.location(),
        "/admin/login"
    );
    assert_eq!(
        sign_in(env, "office-staff", "nadia@o.test", "a long new password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let log = s.school.store.recent_activity(50).await.unwrap();
    for action in [
        "staff.create",
        "staff.set_classes",
        "staff.password_reset",
        "staff.deactivate",
    ] {
        assert!(log.iter().any(|e| e.action == action), "{action}");
    }
    // Without email, a link is shown only for an account that has no password yet: an
    // administrator cannot choose someone else's password.
    let teacher_id = s
        .school
        .store
        .staff_by_email("t@o.test")
        .await
        .unwrap()
        .unwrap()
        .id
        .0;
    let r = call(
        env,
        "POST",
        &format!("/admin/staff/{teacher_id}/password-link"),
        &s.admin,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("raabta users reset-link"));
    // A second administrator lost their phone: the first resets their two-factor.
    add_staff(
        &s.school,
        "deputy@o.test",
        StaffRole::Admin,
        "deputy password 1",
    )
    .await;
    let deputy = admin_cookie(env, &s.school, "deputy@o.test", "deputy password 1").await;
    let deputy_id = s
        .school
        .store
        .staff_by_email("deputy@o.test")
        .await
        .unwrap()
        .unwrap()
        .id
        .0;
    let head_id = s
        .school
        .store
        .staff_by_email("head@o.test")
        .await
        .unwrap()
        .unwrap()
        .id
        .0;
    let reset = format!("/admin/staff/{deputy_id}/reset-2fa");
    assert_eq!(
        call(env, "POST", &reset, &s.teacher, &[("csrf", &tcsrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "POST", &reset, &s.admin, &[("csrf", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            env,
            "POST",
            &format!("/admin/staff/{head_id}/reset-2fa"),
            &s.admin,
            &[("csrf", &csrf)]
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not one's own"
    );
    assert_eq!(
        call(env, "POST", &reset, &s.admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        call(env, "GET", "/admin", &deputy, &[]).await.location(),
        "/admin/login"
    );
    let r = sign_in(env, "office-staff", "deputy@o.test", "deputy password 1").await;
    assert_eq!(r.location(), "/admin/2fa/setup");
    let auth = s
        .school
        .store
        .staff_auth(raabta::domain::StaffId(deputy_id))
        .await
        .unwrap()
        .unwrap();
    assert!(auth.totp_enabled_at.is_none() && auth.totp_secret.is_none());
    assert!(s
        .school
        .store
        .recovery_codes(raabta::domain::StaffId(deputy_id))
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .school
        .store
        .recent_activity(5)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "staff.reset_two_factor"));
    // The account came with its class and link in one step.
    let created = log
        .iter()
        .find(|e| e.action == "staff.create" && e.actor.starts_with("staff:"))
        .unwrap();
    assert_eq!(created.details["classes"], 1);
}
crate::on_both_backends!(staff_accounts_and_password_links);

/// Forgotten passwords by email, through a local SMTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_by_email() {
    let smtp = crate::fake::FakeSmtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.smtp_url = Some(raabta::domain::Secret::new(smtp.url.clone()));
    let env = TestEnv::with_config(config, dir, None).await;
    let school = env.school("office-mail").await;
    add_staff(
        &school,
        "t@mail.test",
        StaffRole::Teacher,
        "old password 123",
    )
    .await;
    let ask = |email: &'static str| {
        let env = &env;
        async move {
            let page = call(env, "GET", "/admin/reset", "", &[]).await;
            let pre = value(&page.cookie("raabta_pre").unwrap());
            call(
                env,
                "POST",
                "/admin/reset",
                &pre,
                &[
                    ("csrf", &page.csrf()),
                    ("school", "office-mail"),
                    ("email", email),
                ],
            )
            .await
        }
    };
    // Unknown and known addresses get the same answer; only the known one gets mail.
    let unknown = ask("nobody@mail.test").await;
    let known = ask("T@mail.test").await;
    assert_eq!(
        (unknown.status, known.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(unknown.body, known.body);
    let mut mail = Vec::new();
    for _ in 0..100 {
        mail = smtp.messages();
        if !mail.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("t@mail.test"));
    // The link, with quoted-printable soft line breaks undone.
    let text = mail[0].replace("=\n", "").replace("=3D", "=");
    let at = text.find("/admin/reset/").unwrap();
    let end = at + text[at..].find(|c: char| c.is_whitespace()).unwrap();
    let path = text[at..end].to_string();
    let form = call(&env, "GET", &path, "", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = value(&form.cookie("raabta_pre").unwrap());
    let r = call(
        &env,
        "POST",
        &path,
        &pre,
        &[
            ("csrf", &form.csrf()),
            ("password", "new password 456"),
            ("confirm", "new password 456"),
        ],
    )
    .await;
    assert_eq!(r.location(), "/admin/login?reset=done");
    assert_eq!(
        sign_in(&env, "office-mail", "t@mail.test", "old password 123")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&env, "office-mail", "t@mail.test", "new password 456")
            .await
            .location(),
        "/admin"
    );
    // An expired link no longer works (30 minutes).
    ask("t@mail.test").await;
    for _ in 0..100 {
        if smtp.messages().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = smtp.messages()[1].replace("=\n", "").replace("=3D", "=");
    let at = text.find("/admin/reset/").unwrap();
    let end = at + text[at..].find(|c: char| c.is_whitespace()).unwrap();
    env.app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        call(&env, "GET", &text[at..end], "", &[]).await.status,
        StatusCode::GONE
    );
}

async fn channels_are_added_rotated_and_tested(env: &TestEnv) {
    let s = setup(env, "office-chan").await;
    let fake = crate::fake::FakeProviders::start().await;
    crate::webhooks::add_test_channels(env, &s.school, Some(fake.base.clone())).await;
    let other = env.school("office-chan-b").await;
    let other_meta = raabta::routing::add_channel(
        &env.app.tenancy,
        other.tenant.slug.as_str(),
        raabta::channel::Credentials::Meta {
            phone_number_id: "555000111".into(),
            access_token: "other-token".into(),
            app_secret: "other-secret".into(),
            verify_token: "other-verify".into(),
        },
        None,
    )
    .await
    .unwrap()
    .id;
    for c in [&s.teacher, &s.manager] {
        assert_eq!(
            call(env, "GET", "/admin/channels", c, &[]).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let page = call(env, "GET", "/admin/channels", &s.admin, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = shown(&page.body);
    assert!(
        body.contains("https://raabta.test/webhooks/meta")
            && body.contains("https://raabta.test/webhooks/telegram/"),
        "{body}"
    );
    // Secrets are never shown back.
    assert!(
        !body.contains("meta-test-access-token") && !body.contains(crate::webhooks::META_SECRET)
    );
    let csrf = page.csrf();
    let meta = crate::webhooks::meta_channel(env);

    // Rotating keeps the number; another school's channel is not found.
    let rotate = format!("/admin/channels/{meta}/rotate");
    // A school administrator cannot set a Meta app secret (it signs webhooks).
    let r = call(
        env,
        "POST",
        &rotate,
        &s.admin,
        &[
            ("csrf", &csrf),
            ("provider", "meta"),
            ("phone_number_id", "106540352242922"),
            ("access_token", "rotated-token"),
            ("app_secret", "new-app-secret"),
            ("verify_token", "v"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("platform"), "{}", r.body);
    let f: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("provider", "meta"),
        ("phone_number_id", "106540352242922"),
        ("access_token", "rotated-token"),
    ];
    let r = call(env, "POST", &rotate, &s.admin, &f).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("new credentials are in use"));
    let foreign = format!("/admin/channels/{other_meta}/rotate");
    assert_eq!(
        call(env, "POST", &foreign, &s.admin, &f).await.status,
        StatusCode::NOT_FOUND
    );
    let mut changed = f.clone();
    changed[2] = ("phone_number_id", "999");
    let r = call(env, "POST", &rotate, &s.admin, &changed).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut no_token = f.clone();
    no_token[0] = ("csrf", "x");
    assert_eq!(
        call(env, "POST", &rotate, &s.admin, &no_token).await.status,
        StatusCode::FORBIDDEN
    );
    let mut blank = f.clone();
    blank[3] = ("access_token", " ");
    assert_eq!(
        call(env, "POST", &rotate, &s.admin, &blank).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The test button needs the admin's number, then sends with the new token.
    let test = format!("/admin/channels/{meta}/test");
    let r = call(env, "POST", &test, &s.admin, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Set your own WhatsApp number first"));
    let r = call(
        env,
        "POST",
        "/admin/channels/my-phone",
        &s.admin,
        &[("csrf", &csrf), ("phone", "0345 1112223")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // WhatsApp allows free-form messages within 24 hours of the person's last message:
    // the admin says hello to the school's number first.
    let mut me = raabta::console::Simulator::new(
        &env.app,
        "office-chan",
        raabta::domain::message::Provider::Meta,
        Some(meta),
        "923451112223",
    )
    .await
    .unwrap();
    me.say("hi").await.unwrap();
    let r = call(env, "POST", &test, &s.admin, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sender = std::sync::Arc::new(
        raabta::worker::Sender::new(raabta::worker::RateLimits::default()).unwrap(),
    );
    raabta::worker::send_due(&env.app, &sender).await.unwrap();
    let sent = fake.requests();
    let test_send = sent
        .iter()
        .find(|r| r.body.contains("this channel works"))
        .expect("sent");
    assert!(test_send.body.contains("923451112223"), "{test_send:?}");
    // Adding a channel whose number is taken says so.
    let r = call(
        env,
        "POST",
        "/admin/channels",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("provider", "meta"),
            ("phone_number_id", "106540352242922"),
            ("access_token", "a"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("registered already"), "{}", r.body);
    let r = call(
        env,
        "POST",
        "/admin/channels",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("provider", "telegram"),
            ("bot_token", "123456:ABCdef"),
        ],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the secret is needed for setWebhook"
    );
    let r = call(
        env,
        "POST",
        "/admin/channels",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("provider", "telegram"),
            ("bot_token", "123456:ABCdef"),
            ("secret_token", "school-bot-secret_1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let log = s.school.store.recent_activity(50).await.unwrap();
    for action in [
        "channel.rotate",
        "channel.test",
        "channel.add",
        "staff.set_phone",
    ] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.actor.starts_with("staff:")),
            "{action}"
        );
    }
}
crate::on_both_backends!(channels_are_added_rotated_and_tested);

async fn the_admin_speaks_urdu_and_arabic(env: &TestEnv) {
    let s = setup(env, "office-lang").await;
    // Only admin paths on this site are ways back.
    for (back, to) in [
        ("/admin/leave", "/admin/leave"),
        ("https://evil.test/x", "/admin"),
        ("//evil.test", "/admin"),
    ] {
        let r = call(
            env,
            "GET",
            &format!(
                "/admin/lang?to=ar&back={}",
                form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
            ),
            "",
            &[],
        )
        .await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, to));
    }
    assert_eq!(
        call(env, "GET", "/admin/lang?to=fr", "", &[]).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = call(env, "GET", "/admin/lang?to=ar&back=/admin", "", &[]).await;
    let lang = value(&r.cookie("raabta_lang").unwrap());
    assert!(r.cookie("raabta_lang").unwrap().contains("SameSite=Strict"));
    let page = call(env, "GET", "/admin", &format!("{}; {lang}", s.admin), &[]).await;
    assert!(
        page.body.contains("<html lang=\"ar\" dir=\"rtl\">"),
        "{}",
        page.body
    );
    assert!(page.body.contains("لوحة التحكم") && page.body.contains("الإجازات"));
    let login = call(env, "GET", "/admin/login", "raabta_lang=ur", &[]).await;
    assert!(
        login.body.contains("<html lang=\"ur\" dir=\"rtl\">")
            && login.body.contains("عملے کا سائن اِن")
    );
    let leave = call(
        env,
        "GET",
        "/admin/leave",
        &format!("{}; raabta_lang=ur", s.teacher),
        &[],
    )
    .await;
    assert!(leave.body.contains("چھٹی کی درخواستیں"));
    // English stays the default.
    let page = call(env, "GET", "/admin", &s.admin, &[]).await;
    assert!(
        page.body.contains("<html lang=\"en\" dir=\"ltr\">") && page.body.contains("Dashboard")
    );
}
crate::on_both_backends!(the_admin_speaks_urdu_and_arabic);

/// School settings (issue 14 items 2, 6, 13): office hours, release time, payment
/// details, the weekend and holidays (one by one, or a CSV all or nothing); checked
/// on input, administrators only, each change in the activity log; the chat reads them.
async fn school_settings_and_holidays(env: &TestEnv) {
    let s = setup(env, "office-settings").await;
    for c in [&s.teacher, &s.manager] {
        assert_eq!(
            call(env, "GET", "/admin/settings", c, &[]).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let page = call(env, "GET", "/admin/settings", &s.admin, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    // The demo timezone is Karachi: Saturday and Sunday ticked by default.
    assert!(
        page.body.contains("name=\"wd_sat\" checked")
            && page.body.contains("name=\"wd_sun\" checked")
    );
    let csrf = page.csrf();
    let form = |release: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("office_hours", "Mon–Fri 8:00–14:00".to_string()),
            ("release_hours", release.to_string()),
            (
                "payment_details",
                "Meezan Bank, IBAN PK36MEZN0000000000000000".to_string(),
            ),
            ("teachers_decide", "on".to_string()),
            ("wd_sun", "on".to_string()),
        ]
    };
    let pairs = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let bad = pairs(&form("0"));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = call(env, "POST", "/admin/settings", &s.admin, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("whole number of hours"), "{}", r.body);
    assert!(
        s.school.store.settings().await.unwrap().is_empty(),
        "nothing saved"
    );
    // With a wrong token: refused.
    let mut no_token: Vec<(&str, &str)> = bad.iter().skip(1).copied().collect();
    no_token.push(("csrf", "not-the-token"));
    assert_eq!(
        call(env, "POST", "/admin/settings", &s.admin, &no_token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let good = form("6");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = call(env, "POST", "/admin/settings", &s.admin, &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let saved = s.school.store.settings().await.unwrap();
    let get = |n: &str| saved.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(get("office_hours").as_deref(), Some("Mon–Fri 8:00–14:00"));
    assert_eq!(get("handoff_release_hours").as_deref(), Some("6"));
    assert_eq!(get("weekend_days").as_deref(), Some("sun"));
    assert_eq!(get("teachers_decide_leave").as_deref(), Some("on"));
    assert!(
        r.body.contains("name=\"wd_sun\" checked") && !r.body.contains("name=\"wd_sat\" checked")
    );

    // Holidays: a bad CSV is refused whole (every bad row named), a good one added.
    let r = upload(
        env,
        "/admin/settings/holidays/import",
        &s.admin,
        &csrf,
        "date,name\n2026-12-25,Quaid Day\n25/12/2026,Christmas\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(shown(&r.body).contains("line 3"), "{}", r.body);
    let all = |s: &School| {
        let store = s.store.clone();
        async move {
            let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            store.holidays(d(2000, 1, 1), d(2100, 1, 1)).await.unwrap()
        }
    };
    assert!(all(&s.school).await.is_empty());
    let r = upload(
        env,
        "/admin/settings/holidays/import",
        &s.admin,
        &csrf,
        "date,name\n2026-12-25,Quaid Day\n2027-02-05,Kashmir Day\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(all(&s.school).await.len(), 2);
    let r = call(
        env,
        "POST",
        "/admin/settings/holidays",
        &s.admin,
        &[
            ("csrf", &csrf),
            ("day", "2027-03-23"),
            ("name", "Pakistan Day"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = call(
        env,
        "POST",
        "/admin/settings/holidays/remove",
        &s.admin,
        &[("csrf", &csrf), ("day", "2026-12-25")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let days: Vec<String> = all(&s.school)
        .await
        .iter()
        .map(|h| h.day.to_string())
        .collect();
    assert_eq!(days, ["2027-02-05", "2027-03-23"]);
    let log = s.school.store.recent_activity(50).await.unwrap();
    for action in [
        "school.settings",
        "school.holiday_import",
        "school.holiday_add",
        "school.holiday_remove",
    ] {
        assert!(log.iter().any(|e| e.action == action), "{action} logged");
    }
}
crate::on_both_backends!(school_settings_and_holidays);
