//! The enquiry bot's admin pages through the real router, on both backends: leads
//! (dashboard count, list by status, status/notes/assignment with CSRF, the office only,
//! CSV export) and the FAQ (an entry added, edited, refused, deleted; CSV import all or
//! nothing; export), with the web chat answering from what the admin wrote.

use crate::admin_web::{add_staff, admin_cookie, call, cookie_of};
use crate::support::TestEnv;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::roster::StaffRole;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn chat(env: &TestEnv, slug: &str, body: Value) -> Value {
    let res = env
        .router()
        .oneshot(
            Request::post(format!("/chat/{slug}/messages"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

async fn leads_and_faq_in_the_admin(env: &TestEnv) {
    let school = env.school("enq").await;
    let rows = raabta::faq::parse_csv(include_bytes!("../../demo/faq.csv")).unwrap();
    let act = ActivityEntry::now("test", "faq.import", None, "test", json!({}));
    school.store.replace_faq(&rows, &act).await.unwrap();
    add_staff(
        &school,
        "head@enq.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    add_staff(
        &school,
        "teacher@enq.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let admin = admin_cookie(env, &school, "head@enq.test", "head password 1").await;
    let teacher = cookie_of(env, "enq", "teacher@enq.test", "teacher password 1").await;

    // A lead through the web chat; a formula-looking name is exported as text.
    let v = chat(env, "enq", json!({ "text": "apply" })).await;
    let token = v["token"].as_str().unwrap().to_string();
    for t in [
        "=HYPERLINK(\"x\") Rukhsana",
        "Nursery, 4 years",
        "urdu",
        "yes",
    ] {
        chat(env, "enq", json!({ "token": token, "text": t })).await;
    }
    let leads = school.store.leads(None, 10).await.unwrap();
    assert_eq!(leads.len(), 1, "the lead is stored");
    let id = leads[0].id.to_string();
    assert_eq!(leads[0].language, "ur");

    let dash = call(env, "GET", "/admin", &admin, &[]).await;
    assert!(dash.body.contains("New enquiries: 1"), "{}", dash.body);
    let list = call(env, "GET", "/admin/leads", &admin, &[]).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Nursery, 4 years"));
    assert!(list.body.contains(&format!("/admin/leads/{id}")));
    // Teachers do not see leads; another id is not found.
    assert_eq!(
        call(env, "GET", "/admin/leads", &teacher, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "GET", &format!("/admin/leads/{id}"), &teacher, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/leads/{}", uuid::Uuid::now_v7()),
            &admin,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // Status, notes and who follows up; a post without the form token changes nothing.
    let page = call(env, "GET", &format!("/admin/leads/{id}"), &admin, &[]).await;
    assert!(page.body.contains("web chat"), "{}", page.body);
    let csrf = page.csrf();
    let me = school
        .store
        .staff_by_email("head@enq.test")
        .await
        .unwrap()
        .unwrap()
        .id
        .0
        .to_string();
    let form = [
        ("status", "contacted"),
        ("notes", "Called back, visiting on Monday"),
        ("assigned", me.as_str()),
    ];
    let wrong = "0".repeat(64);
    let mut forged = form.to_vec();
    forged.push(("csrf", &wrong));
    let refused = call(env, "POST", &format!("/admin/leads/{id}"), &admin, &forged).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut with_token = form.to_vec();
    with_token.push(("csrf", &csrf));
    let bad_status = call(
        env,
        "POST",
        &format!("/admin/leads/{id}"),
        &admin,
        &[
            ("csrf", &csrf),
            ("status", "won"),
            ("notes", ""),
            ("assigned", ""),
        ],
    )
    .await;
    assert_eq!(bad_status.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = call(
        env,
        "POST",
        &format!("/admin/leads/{id}"),
        &admin,
        &with_token,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let lead = school.store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!(lead.status, "contacted");
    assert_eq!(
        lead.notes.unwrap().expose(),
        "Called back, visiting on Monday"
    );
    assert_eq!(lead.assigned_to.map(|a| a.0.to_string()), Some(me.clone()));
    assert_eq!(school.store.lead_counts().await.unwrap().get("new"), None);

    let csv = call(env, "GET", "/admin/leads.csv", &admin, &[]).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("contacted") && csv.body.contains("Called back"));
    assert!(
        csv.body.contains("'=HYPERLINK"),
        "formula neutralised: {}",
        csv.body
    );
    assert_eq!(
        call(env, "GET", "/admin/leads.csv", &teacher, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The FAQ: a new entry with an Urdu answer; the chat answers from it.
    let faq = call(env, "GET", "/admin/faq", &admin, &[]).await;
    assert_eq!(faq.status, StatusCode::OK);
    let csrf = faq.csrf();
    let entry = [
        ("csrf", csrf.as_str()),
        ("original", ""),
        ("id", "library"),
        ("q_en", "Is there a library?\nCan children borrow books?"),
        (
            "a_en",
            "The library is open 8:00 to 1:00; each child may borrow 2 books a week.",
        ),
        ("q_ur", "کیا لائبریری ہے؟"),
        ("a_ur", "لائبریری 8 سے 1 بجے تک کھلی ہے۔"),
    ];
    let saved = call(env, "POST", "/admin/faq/entries", &admin, &entry).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Entry saved."), "{}", saved.body);
    let rows = school.store.faq_rows().await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.entry == "library").count(), 3);
    let v = chat(
        env,
        "enq",
        json!({ "text": "can children borrow books from the library?" }),
    )
    .await;
    assert!(
        crate::webchat::bot_texts(&v)
            .iter()
            .any(|t| t.contains("borrow 2 books")),
        "{v}"
    );

    // Refused: a taken id, a bad id, an answer with no question in its language.
    for (form, why) in [
        (
            vec![("id", "library"), ("q_en", "Library?"), ("a_en", "Yes")],
            "exists already",
        ),
        (
            vec![("id", "bad id!"), ("q_en", "Q?"), ("a_en", "A")],
            "id:",
        ),
        (
            vec![("id", "x"), ("a_ar", "نعم")],
            "needs at least one ar question",
        ),
    ] {
        let mut f = vec![("csrf", csrf.as_str()), ("original", "")];
        f.extend(form);
        let r = call(env, "POST", "/admin/faq/entries", &admin, &f).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        assert!(r.body.contains(why), "{why}: {}", r.body);
    }
    assert_eq!(
        school.store.faq_rows().await.unwrap(),
        rows,
        "nothing changed"
    );
    // A save from a page opened before someone else's change is refused.
    let stale = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("original", "library"),
        ("id", "library"),
        ("q_en", "Is there a library?"),
        ("a_en", "Closed."),
    ];
    let r = call(env, "POST", "/admin/faq/entries", &admin, &stale).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("changed by someone else"), "{}", r.body);
    assert_eq!(
        school.store.faq_rows().await.unwrap(),
        rows,
        "nothing changed"
    );
    // Teachers cannot change it.
    let r = call(env, "POST", "/admin/faq/entries", &teacher, &entry).await;
    assert!(matches!(
        r.status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));

    // Import: a bad row refuses the whole file; a good one replaces the FAQ.
    let bad = "id,language,question,answer\nfees,en,How much?,Rs 100\nfees,xx,Kitni?,\n";
    let r = crate::admin_office::upload(env, "/admin/faq/import", &admin, &csrf, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("line 3"), "{}", r.body);
    assert_eq!(school.store.faq_rows().await.unwrap(), rows);
    let good = "id,language,question,answer\nfees,en,How much is the fee?,Rs 100 a month\n";
    let r = crate::admin_office::upload(env, "/admin/faq/import", &admin, &csrf, good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Imported 1 rows"));
    let out = call(env, "GET", "/admin/faq.csv", &admin, &[]).await;
    assert_eq!(out.body, good);
    // The last entry cannot be deleted; another one can.
    let r = call(
        env,
        "POST",
        "/admin/faq/entries/delete",
        &admin,
        &[("csrf", &csrf), ("id", "fees")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    call(env, "POST", "/admin/faq/entries", &admin, &entry).await;
    let r = call(
        env,
        "POST",
        "/admin/faq/entries/delete",
        &admin,
        &[("csrf", &csrf), ("id", "fees")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let left = school.store.faq_rows().await.unwrap();
    assert!(left.iter().all(|r| r.entry == "library"));

    // Retention: leads and web-chat transcripts go 12 months after their last activity.
    let old_conversation = leads[0].conversation.expect("the lead's web chat");
    env.app.clock.advance(chrono::Duration::days(200));
    let recent = chat(env, "enq", json!({ "text": "apply" })).await;
    for t in ["Saima", "Grade 1", "english", "yes"] {
        chat(env, "enq", json!({ "token": recent["token"], "text": t })).await;
    }
    assert_eq!(
        raabta::worker::retention::enquiries(&env.app)
            .await
            .unwrap(),
        (0, 0)
    );
    env.app.clock.advance(chrono::Duration::days(200));
    let before = school.store.inbound_count().await.unwrap();
    let (gone_leads, gone_chats) = raabta::worker::retention::enquiries(&env.app)
        .await
        .unwrap();
    assert_eq!(gone_leads, 1, "the lead of 400 days ago");
    assert!(
        gone_chats >= 2,
        "the web chats of 400 days ago: {gone_chats}"
    );
    assert!(school
        .store
        .conversation(old_conversation)
        .await
        .unwrap()
        .is_none());
    assert!(school
        .store
        .conversation_thread(old_conversation, 50)
        .await
        .unwrap()
        .is_empty());
    let kept = school.store.leads(None, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].name.expose(), "Saima");
    assert!(
        kept[0].conversation.is_some(),
        "its chat is 200 days old: kept"
    );
    assert!(school.store.inbound_count().await.unwrap() < before);
    let log = school.store.recent_activity(20).await.unwrap();
    assert!(log.iter().any(|e| e.action == "retention.enquiries"
        && e.details["leads"] == 1
        && e.actor == "system"));
}
crate::on_both_backends!(leads_and_faq_in_the_admin);
