//! The message pipeline end to end: webhook in → stored → conversation worker →
//! outbox → fake provider, on both backends.

use crate::fake::FakeProviders;
use crate::support::TestEnv;
use crate::webhooks::{add_test_channels, fixture, send, Channels, Fixture, META_SECRET};
use axum::http::StatusCode;
use raabta::domain::message::DeliveryStatus;
use raabta::store::tenancy::School;
use raabta::worker::jobs::JobRunner;
use raabta::worker::{process_inbound, send_due, RateLimits, Sender};
use serde_json::json;
use std::time::Duration;

pub struct Rig {
    pub school: School,
    pub channels: Channels,
    pub fake: FakeProviders,
    pub sender: std::sync::Arc<Sender>,
    pub jobs: std::sync::Arc<JobRunner>,
}

pub async fn rig(env: &TestEnv, slug: &str) -> Rig {
    let school = env.school(slug).await;
    let fake = FakeProviders::start().await;
    let channels = add_test_channels(env, &school, Some(fake.base.clone())).await;
    let mut sender = Sender::new(RateLimits::default()).unwrap();
    sender.retry_base = Duration::from_millis(5);
    let sender = std::sync::Arc::new(sender);
    let mut jobs = JobRunner::standard(sender.clone());
    jobs.retry_base = Duration::from_millis(5);
    Rig {
        school,
        channels,
        fake,
        sender,
        jobs: std::sync::Arc::new(jobs),
    }
}

/// Runs the worker and the sender until nothing is left to do (retries included).
pub async fn drain(env: &TestEnv, r: &Rig) {
    for _ in 0..50 {
        let fetched = r.jobs.drain(&env.app).await.unwrap();
        let processed = process_inbound(&env.app).await.unwrap() + fetched;
        let sent = send_due(&env.app, &r.sender).await.unwrap();
        let waiting = r
            .school
            .store
            .outbox()
            .await
            .unwrap()
            .iter()
            .any(|o| o.state == "pending" || o.state == "sending");
        if processed == 0 && sent == 0 && !waiting {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("pipeline did not settle");
}

fn meta_status(wamid: &str, status: &str) -> Fixture {
    meta_status_with(wamid, status, json!([]))
}

/// A signed Meta status callback for one of our messages, with optional error objects.
fn meta_status_with(wamid: &str, status: &str, errors: serde_json::Value) -> Fixture {
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
        "statuses":[{"id":wamid,"status":status,"timestamp":"1763971300","recipient_id":"923001110001","errors":errors}]}}]}]})
    .to_string()
    .into_bytes();
    let sig = raabta::channel::meta::signature(META_SECRET, &body);
    Fixture {
        method: "POST".into(),
        path: "/webhooks/meta".into(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Hub-Signature-256".into(), sig),
        ],
        body,
    }
}

async fn replies_once_and_reconciles_statuses(env: &TestEnv) {
    let r = rig(env, "pipe").await;
    assert_eq!(
        send(env, &fixture("meta", "text"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    // Redelivered minutes later: no second reply.
    assert_eq!(
        send(env, &fixture("meta", "text"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let sends = r.fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(sends[0].path.ends_with("/106540352242922/messages"));
    assert!(
        sends[0].body.contains("\"to\":\"923001110001\""),
        "{}",
        sends[0].body
    );
    assert!(sends[0].body.contains("School pipe"), "{}", sends[0].body);

    let outbox = r.school.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].state, "sent");
    assert_eq!(outbox[0].status, Some(DeliveryStatus::Sent));
    let wamid = outbox[0].provider_message_id.clone().unwrap();
    // Out of order: read arrives before delivered; a late "sent" is ignored.
    for s in ["read", "delivered", "sent"] {
        assert_eq!(
            send(env, &meta_status(&wamid, s), &r.channels).await.0,
            StatusCode::OK
        );
    }
    drain(env, &r).await;
    assert_eq!(
        r.school.store.outbox().await.unwrap()[0].status,
        Some(DeliveryStatus::Read)
    );
    // A report for a message whose send response we never saw is kept, not lost.
    assert_eq!(
        send(env, &meta_status("wamid.unknown", "delivered"), &r.channels)
            .await
            .0,
        StatusCode::OK
    );
    drain(env, &r).await;
    assert_eq!(r.fake.sends().len(), 1);
}
crate::on_both_backends!(replies_once_and_reconciles_statuses);

async fn batch_is_answered_once_each_in_order(env: &TestEnv) {
    let r = rig(env, "batch").await;
    assert_eq!(
        send(env, &fixture("meta", "batch"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let sends = r.fake.sends();
    assert_eq!(sends.len(), 3, "{sends:?}");
    let to_parent = sends
        .iter()
        .filter(|s| s.body.contains("\"to\":\"923001110001\""))
        .count();
    assert_eq!(to_parent, 2);
    // Two conversations: one per sender.
    let outbox = r.school.store.outbox().await.unwrap();
    let mut convs: Vec<_> = outbox.iter().map(|o| o.conversation_id).collect();
    convs.sort();
    convs.dedup();
    assert_eq!(convs.len(), 2);
    let log = r.school.store.recent_activity(10).await.unwrap();
    // One conversation step (and its activity entry) per message.
    assert_eq!(
        log.iter()
            .filter(|e| e
                .subject
                .as_deref()
                .is_some_and(|s| s.starts_with("conversation:")))
            .count(),
        3
    );
}
crate::on_both_backends!(batch_is_answered_once_each_in_order);

async fn provider_errors_retry_then_send_once(env: &TestEnv) {
    let r = rig(env, "retry").await;
    r.fake.script(&[
        (500, json!({"code": 20500, "message": "internal"})),
        (429, json!({"code": 20429})),
    ]);
    assert_eq!(
        send(env, &fixture("twilio", "text"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let sends = r.fake.sends();
    assert_eq!(sends.len(), 1, "exactly one accepted send: {sends:?}");
    assert!(
        sends[0].body.contains("To=whatsapp%3A%2B923001110001"),
        "{}",
        sends[0].body
    );
    assert!(sends[0]
        .body
        .contains("StatusCallback=https%3A%2F%2Fraabta.test%2Fwebhooks%2Ftwilio"));
    let o = &r.school.store.outbox().await.unwrap()[0];
    assert_eq!((o.state.as_str(), o.attempts), ("sent", 3));
}
crate::on_both_backends!(provider_errors_retry_then_send_once);

async fn opt_out_and_closed_windows(env: &TestEnv) {
    let r = rig(env, "optout").await;
    // Twilio 21610: the parent replied STOP. The reply dies and nothing more is sent.
    r.fake.script(&[(
        400,
        json!({"code": 21610, "message": "unsubscribed recipient"}),
    )]);
    assert_eq!(
        send(env, &fixture("twilio", "text"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    assert!(r.fake.sends().is_empty());
    let outbox = r.school.store.outbox().await.unwrap();
    assert_eq!(outbox[0].state, "dead");
    let conv_id = outbox[0].conversation_id;
    assert!(r
        .school
        .store
        .conversation(conv_id)
        .await
        .unwrap()
        .unwrap()
        .opted_out_at
        .is_some());
    // While opted out, nothing else reaches them (here: a staff message in API mode).
    let act =
        raabta::domain::activity::ActivityEntry::now("t", "message.staff", None, "t", json!({}));
    let msg = raabta::domain::message::OutboundMessage::text("Fee reminder");
    let api = Some(raabta::domain::message::OutboundMode::Provider);
    raabta::outbound::queue_staff_message(r.school.store.as_ref(), conv_id, "s:1", &msg, api, &act)
        .await
        .unwrap();
    drain(env, &r).await;
    assert!(r.fake.sends().is_empty());
    assert!(r
        .school
        .store
        .outbox()
        .await
        .unwrap()
        .iter()
        .all(|o| o.state == "dead"));
    // Writing to the school again opts them back in.
    assert_eq!(
        send(env, &fixture("twilio", "text-urdu"), &r.channels)
            .await
            .0,
        StatusCode::OK
    );
    drain(env, &r).await;
    // The enquiry bot answers the stranger's question (the demo school's FAQ has no
    // answer to it: said so, with the offer to pass it on): one message.
    assert_eq!(r.fake.sends().len(), 1);
    assert!(r
        .school
        .store
        .conversation(conv_id)
        .await
        .unwrap()
        .unwrap()
        .opted_out_at
        .is_none());

    // Meta 131047: outside the window. The reply becomes a manual wa.me link for staff.
    r.fake.script(&[(
        400,
        json!({"error": {"code": 131047, "message": "Re-engagement message"}}),
    )]);
    assert_eq!(
        send(env, &fixture("meta", "text"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let manual: Vec<_> = r
        .school
        .store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.state == "manual")
        .collect();
    assert_eq!(manual.len(), 1);
    let link = manual[0].manual_link.as_deref().unwrap();
    assert!(
        link.starts_with("https://wa.me/923001110001?text=Assalam%20o%20alaikum"),
        "{link}"
    );
}
crate::on_both_backends!(opt_out_and_closed_windows);

async fn window_known_closed_in_advance(env: &TestEnv) {
    let r = rig(env, "window").await;
    // An inbound message from 25 hours ago (e.g. ingested late from the spool).
    let event = raabta::domain::message::InboundEvent {
        provider_key: "meta:wamid.OLD".into(),
        sender: raabta::domain::message::SenderId::new("923001110001"),
        sender_name: None,
        sent_at: None,
        body: raabta::domain::message::InboundBody::Text {
            text: "hello".into(),
        },
    };
    let channel = crate::webhooks::meta_channel(env);
    let old = chrono::Utc::now() - chrono::Duration::hours(25);
    r.school
        .store
        .record_inbound(
            channel,
            raabta::domain::message::Provider::Meta,
            &[event],
            old,
        )
        .await
        .unwrap();
    drain(env, &r).await;
    assert!(
        r.fake.sends().is_empty(),
        "nothing may be sent outside the window"
    );
    let o = &r.school.store.outbox().await.unwrap()[0];
    assert_eq!(o.state, "manual");
    assert!(o.last_error.as_deref().unwrap().contains("window"));
}
crate::on_both_backends!(window_known_closed_in_advance);

async fn telegram_buttons_are_acknowledged(env: &TestEnv) {
    let r = rig(env, "tgbot").await;
    assert_eq!(
        send(env, &fixture("telegram", "callback"), &r.channels)
            .await
            .0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let paths: Vec<String> = r.fake.requests().into_iter().map(|q| q.path).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].starts_with("POST ") && paths[0].ends_with("/answerCallbackQuery"));
    assert!(paths[1].starts_with("POST ") && paths[1].ends_with("/sendMessage"));
    // FIFO per recipient: the answer went first, then the reply.
    let outbox = r.school.store.outbox().await.unwrap();
    assert!(outbox.iter().all(|o| o.state == "sent"));
}
crate::on_both_backends!(telegram_buttons_are_acknowledged);

async fn staff_messages_manual_links_and_templates(env: &TestEnv) {
    use raabta::domain::activity::ActivityEntry;
    use raabta::domain::message::{
        InboundBody, InboundEvent, OutboundMessage, OutboundMode, Provider, SenderId,
    };
    let r = rig(env, "staff").await;
    let event = InboundEvent {
        provider_key: "meta:wamid.STAFF".into(),
        sender: SenderId::new("923001110001"),
        sender_name: None,
        sent_at: None,
        body: InboundBody::Text {
            text: "hello".into(),
        },
    };
    let channel = crate::webhooks::meta_channel(env);
    let old = chrono::Utc::now() - chrono::Duration::hours(30);
    r.school
        .store
        .record_inbound(channel, Provider::Meta, &[event], old)
        .await
        .unwrap();
    drain(env, &r).await;
    let conv = r.school.store.outbox().await.unwrap()[0].conversation_id;
    let act = ActivityEntry::now("staff:1", "message.staff", None, "127.0.0.1", json!({}));

    // Staff-initiated, manual-link mode (the default): a wa.me link, nothing sent.
    let text = |t: &str, template: Option<&str>| OutboundMessage::Text {
        text: t.into(),
        choices: vec![],
        template: template.map(str::to_string),
        template_vars: vec!["School staff".into()],
    };
    // The default for staff-initiated messages is manual-link mode.
    let store = r.school.store.as_ref();
    let fee = text("Fee reminder", None);
    assert!(
        raabta::outbound::queue_staff_message(store, conv, "staff:1", &fee, None, &act)
            .await
            .unwrap()
    );
    assert!(
        !raabta::outbound::queue_staff_message(store, conv, "staff:1", &fee, None, &act)
            .await
            .unwrap()
    );
    drain(env, &r).await;
    assert!(r.fake.sends().is_empty());
    let o = r.school.store.outbox().await.unwrap();
    let manual = o.iter().find(|x| {
        x.manual_link
            .as_deref()
            .map(|l| l.contains("Fee%20reminder"))
            .unwrap_or(false)
    });
    assert_eq!(manual.unwrap().state, "manual");

    // Through the provider after the window closed: the approved template goes out.
    assert!(r
        .school
        .store
        .enqueue(
            conv,
            "staff:2",
            &text("Please read", Some("school_update")),
            OutboundMode::Provider,
            &act
        )
        .await
        .unwrap());
    drain(env, &r).await;
    let sends = r.fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(
        sends[0].body.contains("\"type\":\"template\""),
        "{}",
        sends[0].body
    );
    assert!(sends[0].body.contains("\"name\":\"school_update\""));
    assert!(sends[0].body.contains("School staff"));
    let o = r.school.store.outbox().await.unwrap();
    assert_eq!(o.iter().filter(|x| x.state == "sent").count(), 1);
}
crate::on_both_backends!(staff_messages_manual_links_and_templates);

async fn media_is_fetched_checked_stripped_and_stored(env: &TestEnv) {
    let r = rig(env, "media").await;
    for (p, n) in [
        ("twilio", "image"),
        ("twilio", "document"),
        ("telegram", "photo"),
    ] {
        assert_eq!(
            send(env, &fixture(p, n), &r.channels).await.0,
            StatusCode::OK
        );
    }
    drain(env, &r).await;
    let image = r
        .school
        .store
        .media_of("twilio:SMimg0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (image.state.as_str(), image.mime.as_deref()),
        ("stored", Some("image/jpeg"))
    );
    let content = image.content.unwrap();
    assert!(content.starts_with(&[0xFF, 0xD8]));
    assert!(
        !content.windows(3).any(|w| w == b"GPS"),
        "EXIF must be stripped"
    );
    // An executable labelled as a document is refused by its content.
    let doc = r
        .school
        .store
        .media_of("twilio:SMdoc0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.state, "rejected");
    assert!(doc.content.is_none());
    // Telegram: the largest photo size was fetched.
    let photo = r
        .school
        .store
        .media_of("telegram:123456789:900002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(photo.state, "stored");
    let reqs: Vec<String> = r.fake.requests().into_iter().map(|q| q.path).collect();
    assert!(
        reqs.iter()
            .any(|p| p.starts_with("GET ") && p.contains("getFile?file_id=AgAC-large")),
        "{reqs:?}"
    );
    // Twilio's copy was deleted after download.
    assert!(
        reqs.iter()
            .any(|p| p.starts_with("DELETE ") && p.ends_with("/Media/ME0001")),
        "{reqs:?}"
    );
    // Every message was answered once its media was settled.
    let outbox = r.school.store.outbox().await.unwrap();
    assert!(outbox.len() >= 3, "{}", outbox.len());
    assert!(outbox.iter().all(|o| o.state == "sent"));
    assert_eq!(r.fake.sends().len(), outbox.len());
}
crate::on_both_backends!(media_is_fetched_checked_stripped_and_stored);

async fn failed_reports_hand_over_and_leases_protect(env: &TestEnv) {
    let r = rig(env, "reports").await;
    assert_eq!(
        send(env, &fixture("meta", "text"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let wamid = r.school.store.outbox().await.unwrap()[0]
        .provider_message_id
        .clone()
        .unwrap();
    // Meta reports 131047 asynchronously, in a status callback: hand it to staff.
    let f = meta_status_with(
        &wamid,
        "failed",
        json!([{"code": 131047, "title": "Re-engagement message"}]),
    );
    assert_eq!(send(env, &f, &r.channels).await.0, StatusCode::OK);
    drain(env, &r).await;
    let o = &r.school.store.outbox().await.unwrap()[0];
    assert_eq!(o.state, "manual");
    assert_eq!(o.status, Some(DeliveryStatus::Failed));
    assert!(o
        .manual_link
        .as_deref()
        .unwrap()
        .starts_with("https://wa.me/923001110001?text="));

    // Leases: a sender whose claim expired cannot overwrite the new owner's outcome.
    let conv = o.conversation_id;
    let act =
        raabta::domain::activity::ActivityEntry::now("t", "message.staff", None, "t", json!({}));
    let msg = raabta::domain::message::OutboundMessage::text("x");
    let provider = Some(raabta::domain::message::OutboundMode::Provider);
    raabta::outbound::queue_staff_message(
        r.school.store.as_ref(),
        conv,
        "lease:1",
        &msg,
        provider,
        &act,
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    let first = r
        .school
        .store
        .claim_due(now, Duration::ZERO, 10, None)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let later = now + chrono::Duration::seconds(1);
    let second = r
        .school
        .store
        .claim_due(later, Duration::from_secs(60), 10, None)
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "an expired lease is claimed again");
    assert_eq!(second[0].attempts, first[0].attempts + 1);
    assert!(!r
        .school
        .store
        .mark_sent(first[0].id, first[0].attempts, "late-1")
        .await
        .unwrap());
    assert!(r
        .school
        .store
        .mark_sent(second[0].id, second[0].attempts, "owner-2")
        .await
        .unwrap());
    let row = r
        .school
        .store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == second[0].id)
        .unwrap();
    assert_eq!(row.provider_message_id.as_deref(), Some("owner-2"));
}
crate::on_both_backends!(failed_reports_hand_over_and_leases_protect);

async fn messages_wait_for_their_media(env: &TestEnv) {
    let r = rig(env, "mediawait").await;
    assert_eq!(
        send(env, &fixture("twilio", "image"), &r.channels).await.0,
        StatusCode::OK
    );
    // The worker alone does nothing while the media is not fetched...
    assert_eq!(process_inbound(&env.app).await.unwrap(), 0);
    assert!(r.school.store.outbox().await.unwrap().is_empty());
    // ...and answers once it is.
    assert_eq!(r.jobs.drain(&env.app).await.unwrap(), 1);
    drain(env, &r).await;
    assert_eq!(r.fake.sends().len(), 1);
}
crate::on_both_backends!(messages_wait_for_their_media);

#[tokio::test]
async fn torn_spool_lines_are_quarantined_and_the_next_record_survives() {
    let env = TestEnv::new(crate::support::Kind::Sqlite).await;
    let school = env.school("torn").await;
    let channels = add_test_channels(&env, &school, None).await;
    let _ = channels;
    let spool_dir = env.dir.path().join("spool");
    std::fs::create_dir_all(&spool_dir).unwrap();
    // A crash mid-append left half a line, without its newline.
    std::fs::write(spool_dir.join("inbound.log"), b"AAAAhalf-written-record").unwrap();
    let channel = crate::webhooks::meta_channel(&env);
    let record = raabta::spool::SpoolRecord {
        tenant_id: school.tenant.id,
        channel_id: channel,
        provider: raabta::domain::message::Provider::Meta,
        received_at: chrono::Utc::now(),
        events: vec![raabta::domain::message::InboundEvent {
            provider_key: "meta:wamid.TORN".into(),
            sender: raabta::domain::message::SenderId::new("923001110001"),
            sender_name: None,
            sent_at: None,
            body: raabta::domain::message::InboundBody::Text {
                text: "after the tear".into(),
            },
        }],
    };
    env.app.spool.append(&record).await.unwrap();
    assert_eq!(env.app.spool.ingest(&env.app.tenancy).await.unwrap(), 1);
    assert_eq!(school.store.inbound_count().await.unwrap(), 1);
    let quarantined = std::fs::read_to_string(spool_dir.join("quarantine.log")).unwrap();
    assert_eq!(quarantined.trim(), "AAAAhalf-written-record");
}

async fn meta_media_is_fetched_by_id_and_checksummed(env: &TestEnv) {
    use raabta::domain::message::{InboundBody, InboundEvent, MediaKind, Provider, SenderId};
    let r = rig(env, "metamedia").await;
    let channel = crate::webhooks::meta_channel(env);
    let image = |key: &str, sha: &str| InboundEvent {
        provider_key: key.into(),
        sender: SenderId::new("923001110001"),
        sender_name: None,
        sent_at: None,
        body: InboundBody::Media {
            kind: MediaKind::Image,
            media_ref: "1003383421387256".into(),
            mime: Some("image/jpeg".into()),
            caption: None,
            filename: None,
            sha256: Some(sha.into()),
        },
    };
    let good = crate::fake::sha256_hex(&crate::fake::jpeg_with_exif());
    let events = [
        image("meta:wamid.MEDIA1", &good),
        image("meta:wamid.MEDIA2", &"0".repeat(64)),
    ];
    r.school
        .store
        .record_inbound(channel, Provider::Meta, &events, chrono::Utc::now())
        .await
        .unwrap();
    drain(env, &r).await;
    let ok = r
        .school
        .store
        .media_of("meta:wamid.MEDIA1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.state, "stored", "{:?}", ok.last_error);
    // A download that does not match Meta's checksum is retried, then given up on; it is
    // never stored.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let bad = loop {
        r.jobs.drain(&env.app).await.unwrap();
        let m = r
            .school
            .store
            .media_of("meta:wamid.MEDIA2")
            .await
            .unwrap()
            .unwrap();
        if m.state != "pending" || std::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(bad.state, "failed", "{bad:?}");
    assert!(bad.content.is_none());
    assert!(bad.last_error.unwrap().contains("checksum"));
}
crate::on_both_backends!(meta_media_is_fetched_by_id_and_checksummed);

// ---- End to end per channel: a code issued by the CLI, a login, the fee balance from
// imported fee lines, and a leave request stored as pending with its attachment. ----

pub fn issue_code_with_cli(env: &TestEnv, slug: &str, phone: &str) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_raabta"));
    cmd.args([
        "codes", "issue", "--tenant", slug, "--phone", phone, "--role", "guardian",
    ])
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("RAABTA_DATA_DIR", env.dir.path())
    .env("RAABTA_KEY_CACHE_SECONDS", "0");
    if let Some(pg) = &env.pg {
        cmd.env("RAABTA_DATABASE_URL", pg.app_url());
    }
    let out = cmd.output().expect("run raabta codes issue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A text message from the parent (+923001110001) as each provider would post it.
pub fn text_from_parent(provider: &str, n: u32, text: &str) -> Fixture {
    match provider {
        "twilio" => {
            let body: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("AccountSid", "ACtest0000000000000000000000000000")
                .append_pair("To", "whatsapp:+14155238886")
                .append_pair("From", "whatsapp:+923001110001")
                .append_pair("WaId", "923001110001")
                .append_pair("MessageSid", &format!("SMe2e{n:04}"))
                .append_pair("Body", text)
                .append_pair("NumMedia", "0")
                .append_pair("MessageType", "text")
                .finish();
            let params = raabta::channel::twilio::parse_form(body.as_bytes());
            let sig = raabta::channel::twilio::signature(
                crate::webhooks::TWILIO_TOKEN,
                "https://raabta.test/webhooks/twilio",
                &params,
            );
            Fixture {
                method: "POST".into(),
                path: "/webhooks/twilio".into(),
                headers: vec![
                    (
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ),
                    ("X-Twilio-Signature".into(), sig),
                ],
                body: body.into_bytes(),
            }
        }
        "meta" => {
            let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
                "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
                "contacts":[{"profile":{"name":"Imran Khan"},"wa_id":"923001110001"}],
                "messages":[{"from":"923001110001","id":format!("wamid.E2E{n}"),"timestamp":"1763971200","type":"text","text":{"body":text}}]}}]}]})
            .to_string()
            .into_bytes();
            let sig = raabta::channel::meta::signature(META_SECRET, &body);
            Fixture {
                method: "POST".into(),
                path: "/webhooks/meta".into(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("X-Hub-Signature-256".into(), sig),
                ],
                body,
            }
        }
        _ => {
            let body = json!({"update_id": 910_000 + n, "message": {"message_id": 500 + n,
                "from": {"id": 5550001, "is_bot": false, "first_name": "Imran"},
                "chat": {"id": 5550001, "first_name": "Imran", "type": "private"},
                "date": 1763971200, "text": text}})
            .to_string()
            .into_bytes();
            Fixture {
                method: "POST".into(),
                path: "/webhooks/telegram/{route}".into(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    (
                        "X-Telegram-Bot-Api-Secret-Token".into(),
                        crate::webhooks::TG_SECRET.into(),
                    ),
                ],
                body,
            }
        }
    }
}

/// A photo from the parent; Meta's media lookup (the fake) gives its URL and SHA-256.
fn meta_photo_from_parent() -> Fixture {
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
        "contacts":[{"profile":{"name":"Imran Khan"},"wa_id":"923001110001"}],
        "messages":[{"from":"923001110001","id":"wamid.E2EIMG","timestamp":"1763971200","type":"image",
            "image":{"mime_type":"image/jpeg","id":"1003383421387256"}}]}}]}]})
    .to_string()
    .into_bytes();
    let sig = raabta::channel::meta::signature(META_SECRET, &body);
    Fixture {
        method: "POST".into(),
        path: "/webhooks/meta".into(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Hub-Signature-256".into(), sig),
        ],
        body,
    }
}

/// Everything the fake provider received, decoded to plain text.
pub fn received_text(r: &Rig) -> String {
    r.fake
        .sends()
        .iter()
        .map(|s| {
            if s.path.ends_with("/Messages.json") {
                form_urlencoded::parse(s.body.as_bytes())
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            } else {
                s.body.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn parent_logs_in_checks_fees_and_asks_leave(env: &TestEnv, provider: &str) {
    let slug = format!("e2e-{provider}");
    let r = rig(env, &slug).await;
    crate::support::load_roster_and_fees(&r.school).await;
    let code = issue_code_with_cli(env, &slug, "+923001110001");
    let mut n = 0;
    let mut say = |text: &str| {
        n += 1;
        text_from_parent(provider, n, text)
    };
    for text in ["hi", code.as_str(), "fees"] {
        let (status, body) = send(env, &say(text), &r.channels).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        drain(env, &r).await;
    }
    let got = received_text(&r);
    // The parent's roster language is Urdu; amounts come from the imported fee lines.
    assert!(got.contains("4,500 روپے"), "{got}");
    assert!(got.contains("7,500.50 روپے"), "{got}");
    // Leave: child 1, sick, tomorrow, a reason, then a photo of the certificate.
    for text in ["chutti", "1", "1", "somwar", "bukhar"] {
        assert_eq!(send(env, &say(text), &r.channels).await.0, StatusCode::OK);
        drain(env, &r).await;
    }
    let (media_fixture, media_key) = match provider {
        "twilio" => (fixture("twilio", "image"), "twilio:SMimg0001"),
        "meta" => (meta_photo_from_parent(), "meta:wamid.E2EIMG"),
        _ => (fixture("telegram", "photo"), ""),
    };
    assert_eq!(
        send(env, &media_fixture, &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    assert_eq!(send(env, &say("haan"), &r.channels).await.0, StatusCode::OK);
    drain(env, &r).await;
    let pending = r
        .school
        .store
        .leave_requests(Some("pending"))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{}", received_text(&r));
    let leave = &pending[0];
    assert_eq!(leave.request.kind, "sick");
    assert_eq!(leave.request.reason.expose(), "bukhar");
    let key = leave.request.attachment_key.clone().expect("attachment");
    if !media_key.is_empty() {
        assert_eq!(key, media_key);
    }
    let media = r
        .school
        .store
        .media_of(&key)
        .await
        .unwrap()
        .expect("media row");
    assert_eq!(media.state, "stored");
    assert!(media.content.is_some_and(|c| !c.is_empty()));
    assert!(
        received_text(&r).contains("حوالہ"),
        "the reference was sent"
    );
}

async fn end_to_end_twilio(env: &TestEnv) {
    parent_logs_in_checks_fees_and_asks_leave(env, "twilio").await;
}
crate::on_both_backends!(end_to_end_twilio);

async fn end_to_end_meta(env: &TestEnv) {
    parent_logs_in_checks_fees_and_asks_leave(env, "meta").await;
}
crate::on_both_backends!(end_to_end_meta);

async fn end_to_end_telegram(env: &TestEnv) {
    parent_logs_in_checks_fees_and_asks_leave(env, "telegram").await;
}
crate::on_both_backends!(end_to_end_telegram);
