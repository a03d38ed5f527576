//! Complaint threads in the web admin (issue 16), through the real router, pipeline,
//! worker and outbox: the inbox and its scope, the thread with its file behind a
//! signed link, assignment with its notice, staff replies reaching the parent (notes
//! never), closing with the satisfaction question answered in the chat, the CSAT
//! table, reopening, and every change in the activity log.

use crate::admin_web::{add_manager, add_staff, admin_cookie, call, sign_in, value};
use crate::support::TestEnv;
use axum::http::StatusCode;
use raabta::domain::roster::StaffRole;
use std::sync::Arc;

/// The link in `body` that contains `marker`, as a browser reads it.
fn link_with(body: &str, marker: &str) -> String {
    let body = body.replace("&#x2f;", "/").replace("&amp;", "&");
    let at = body.find(marker).expect("link");
    let start = body[..at].rfind('"').unwrap() + 1;
    let end = at + body[at..].find('"').unwrap();
    body[start..end].to_string()
}

async fn run_jobs(env: &TestEnv) {
    let mut runner = raabta::worker::jobs::JobRunner::new();
    runner.register_io(
        raabta::domain::job::COMPLAINT_TRIAGE,
        Arc::new(raabta::worker::triage::ComplaintTriage),
        4,
        2,
    );
    runner.register_io(
        raabta::domain::job::COMPLAINT_NOTICE,
        Arc::new(raabta::worker::notice::ComplaintNotice),
        2,
        1,
    );
    let runner = Arc::new(runner);
    for h in runner.pass(&env.app).await.unwrap() {
        h.await.unwrap();
    }
}

async fn complaint_threads_in_the_admin(env: &TestEnv) {
    use raabta::console::Simulator;
    use raabta::domain::message::Provider;
    let school = env.school("web-complaints").await;
    crate::support::load_roster_and_fees(&school).await;
    let fake = crate::fake::FakeProviders::start().await;
    crate::webhooks::add_test_channels(env, &school, Some(fake.base.clone())).await;
    let meta = crate::webhooks::meta_channel(env);

    // Imran (Urdu on the roster; children in the Main branch) complains with a photo.
    let mut parent = Simulator::new(
        &env.app,
        "web-complaints",
        Provider::Meta,
        Some(meta),
        "923001110001",
    )
    .await
    .unwrap();
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    let contact = school.store.contacts_by_phone(&phone).await.unwrap()[0];
    let (code, _) = raabta::codes::issue(
        None,
        school.store.as_ref(),
        contact,
        chrono::Duration::days(1),
        "t",
        "t",
    )
    .await
    .unwrap();
    for text in [
        "hi",
        code.expose(),
        "shikayat",
        "van wala bachon ko der se chhorta hai",
        "1",
    ] {
        parent.say(text).await.unwrap();
    }
    parent.attach(false).await.unwrap();
    parent.say("bas").await.unwrap();
    let filed = parent.say("haan").await.unwrap();
    let reference = {
        let all = school.store.complaints().await.unwrap();
        assert_eq!(all.len(), 1);
        all[0].reference.clone()
    };
    assert!(reference.starts_with("C-"), "{reference}");
    assert!(
        filed.iter().any(|m| m.render().contains(&reference)),
        "{:?}",
        filed.iter().map(|m| m.render()).collect::<Vec<_>>()
    );
    let id = school.store.complaints().await.unwrap()[0].id;

    add_staff(&school, "head@c.test", StaffRole::Admin, "head password 1").await;
    let teacher = add_staff(
        &school,
        "teacher@c.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    add_manager(&school, "north@c.test", "North").await;
    add_manager(&school, "main@c.test", "Main").await;

    // Scope: another branch's manager and an unassigned teacher see nothing of it.
    for (email, pw) in [
        ("north@c.test", "manager password 1"),
        ("teacher@c.test", "teacher password 1"),
    ] {
        let c = value(
            &sign_in(env, "web-complaints", email, pw)
                .await
                .cookie("raabta_admin")
                .unwrap(),
        );
        let list = call(env, "GET", "/admin/complaints", &c, &[]).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(!list.body.contains(&reference), "{email}");
        assert_eq!(
            call(env, "GET", &format!("/admin/complaints/{id}"), &c, &[])
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{email}"
        );
    }
    let main = value(
        &sign_in(env, "web-complaints", "main@c.test", "manager password 1")
            .await
            .cookie("raabta_admin")
            .unwrap(),
    );
    assert!(call(env, "GET", "/admin/complaints", &main, &[])
        .await
        .body
        .contains(&reference));

    // The admin's inbox: not triaged until the job runs; then the local triage.
    let admin = admin_cookie(env, &school, "head@c.test", "head password 1").await;
    let dash = call(env, "GET", "/admin", &admin, &[]).await;
    assert!(
        dash.body.contains("1 open complaint(s), 1 unassigned"),
        "{}",
        dash.body
    );
    let list = call(env, "GET", "/admin/complaints", &admin, &[]).await;
    assert!(list.body.contains(&reference) && list.body.contains("Not triaged yet"));
    run_jobs(env).await;
    let list = call(
        env,
        "GET",
        "/admin/complaints?status=open&category=transport&sort=priority",
        &admin,
        &[],
    )
    .await;
    assert!(list.body.contains(&reference), "{}", list.body);
    assert!(list.body.contains("(local rules)"));
    let list = call(env, "GET", "/admin/complaints?category=fees", &admin, &[]).await;
    assert!(!list.body.contains(&reference));
    assert_eq!(
        call(env, "GET", "/admin/complaints?sort=sideways", &admin, &[])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // The thread: the text, the photo behind a short-lived signed link.
    let view = call(env, "GET", &format!("/admin/complaints/{id}"), &admin, &[]).await;
    assert!(view.body.contains("van wala bachon ko der se chhorta hai"));
    assert!(view.body.contains("Triaged by local rules"));
    let link = link_with(&view.body, "/files/");
    let file = call(env, "GET", &link, &admin, &[]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers.get("content-type").unwrap(), "image/jpeg");
    let tampered = format!(
        "{}{}",
        &link[..link.len() - 1],
        if link.ends_with('0') { '1' } else { '0' }
    );
    assert_eq!(
        call(env, "GET", &tampered, &admin, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = view.csrf();
    let post = |form: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(
                env,
                "POST",
                &format!("/admin/complaints/{id}"),
                &admin,
                &pairs,
            )
            .await
        }
    };
    // Without the form token: refused, nothing changes.
    let r = post(vec![
        ("csrf", "x".into()),
        ("action", "reply".into()),
        ("text", "hello".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Assign the teacher: they now see it, and a notice job ran.
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "assign".into()),
        ("staff", teacher.0.to_string()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    run_jobs(env).await;
    let t = value(
        &sign_in(
            env,
            "web-complaints",
            "teacher@c.test",
            "teacher password 1",
        )
        .await
        .cookie("raabta_admin")
        .unwrap(),
    );
    assert!(call(env, "GET", "/admin/complaints?assignee=me", &t, &[])
        .await
        .body
        .contains(&reference));
    assert!(call(env, "GET", "/admin", &t, &[])
        .await
        .body
        .contains("1 complaint(s) assigned to you"));

    // A note stays inside; a reply reaches the parent through the outbox.
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "note".into()),
        ("text", "Called the van contractor.".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "reply".into()),
        ("text", "Van ab 2 baje tak rukegi.".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let told = parent.settle().await.unwrap();
    let told: Vec<String> = told.iter().map(|m| m.render()).collect();
    assert!(
        told.iter()
            .any(|m| m.contains("Van ab 2 baje tak rukegi") && m.contains(&reference)),
        "{told:?}"
    );
    assert!(!told.iter().any(|m| m.contains("contractor")), "{told:?}");
    let sender = raabta::worker::Sender::new(raabta::worker::RateLimits::default()).unwrap();
    raabta::worker::send_due(&env.app, &std::sync::Arc::new(sender))
        .await
        .unwrap();
    let sent: Vec<String> = fake.sends().iter().map(|s| s.body.clone()).collect();
    assert!(
        sent.iter().any(|b| b.contains("Van ab 2 baje tak rukegi")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|b| b.contains("contractor")), "{sent:?}");
    // The parent's answer joins the thread.
    let added = parent.say("shukriya, kal dekhte hain").await.unwrap();
    assert!(added.iter().any(|m| m.render().contains(&reference)));
    let view = call(env, "GET", &format!("/admin/complaints/{id}"), &admin, &[]).await;
    assert!(view.body.contains("shukriya, kal dekhte hain"));
    assert!(view.body.contains("Called the van contractor."));
    assert!(view.body.contains("In progress"));

    // Closing needs a reason; the parent is asked how satisfied they are.
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "close".into()),
        ("text", "  ".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "close".into()),
        ("text", "Van timing fixed.".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let asked = parent.settle().await.unwrap();
    assert!(
        asked
            .iter()
            .any(|m| m.render().contains("Van timing fixed.")),
        "{:?}",
        asked.iter().map(|m| m.render()).collect::<Vec<_>>()
    );
    parent.say("4").await.unwrap();
    parent.say("chhor dein").await.unwrap();
    // One answer per closing: the same closing cannot be answered twice.
    let list = call(env, "GET", "/admin/complaints?status=closed", &admin, &[]).await;
    assert!(list.body.contains(&reference));
    assert!(
        list.body
            .contains("<td>transport</td><td>4.0</td><td>1</td>"),
        "{}",
        list.body
    );
    // A reply to a closed complaint is refused; reopening works once.
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "reply".into()),
        ("text", "x".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = post(vec![("csrf", csrf.clone()), ("action", "reopen".into())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post(vec![("csrf", csrf.clone()), ("action", "reopen".into())]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "priority".into()),
        ("priority", "urgent".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("action", "priority".into()),
        ("priority", "extreme".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Every change in the activity log, by the staff member, without the texts.
    let log = school.store.recent_activity(200).await.unwrap();
    for action in [
        "complaint.create",
        "complaint.assign",
        "complaint.note",
        "complaint.reply",
        "complaint.add",
        "complaint.close",
        "complaint.csat",
        "complaint.reopen",
        "complaint.priority",
    ] {
        assert!(log.iter().any(|e| e.action == action), "{action}");
    }
    assert!(log
        .iter()
        .filter(|e| e.action.starts_with("complaint."))
        .all(|e| {
            let d = e.details.to_string();
            !d.contains("contractor") && !d.contains("rukegi") && !d.contains("van wala")
        }));
    let csat = school.store.csat_answers().await.unwrap();
    assert_eq!(csat.len(), 1);
    assert_eq!(csat[0].score, 4);
}
crate::on_both_backends!(complaint_threads_in_the_admin);
