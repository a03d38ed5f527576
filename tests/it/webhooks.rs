//! Webhooks through the real router: the recorded fixtures in `webhook-fixtures/`
//! replayed as the providers send them, and every way a request can be refused.

use crate::support::{Kind, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use raabta::channel::Credentials;
use raabta::store::tenancy::School;
use std::path::PathBuf;
use tower::ServiceExt;

pub const TWILIO_TOKEN: &str = "twilio-test-auth-token";
pub const META_SECRET: &str = "meta-test-app-secret";
pub const META_VERIFY: &str = "meta-test-verify-token";
pub const TG_TOKEN: &str = "123456789:AAtest-bot-token";
pub const TG_SECRET: &str = "telegram-test-secret";

#[derive(Clone)]
pub struct Fixture {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn fixture(provider: &str, name: &str) -> Fixture {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "webhook-fixtures",
        provider,
        &format!("{name}.http"),
    ]
    .iter()
    .collect();
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let split = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("blank line after headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let (method, path) = lines.next().unwrap().split_once(' ').unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    Fixture {
        method: method.into(),
        path: path.into(),
        headers,
        body: raw[split + 2..].to_vec(),
    }
}

pub fn fixture_names(provider: &str) -> Vec<String> {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "webhook-fixtures", provider]
        .iter()
        .collect();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".http"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

pub struct Channels {
    pub telegram_route: String,
}

/// Registers the three test channels (the fixtures' secrets) for a school.
pub async fn add_test_channels(
    env: &TestEnv,
    school: &School,
    api_base: Option<String>,
) -> Channels {
    let t = &env.app.tenancy;
    let slug = school.tenant.slug.as_str();
    raabta::routing::add_channel(
        t,
        slug,
        Credentials::Twilio {
            account_sid: "ACtest0000000000000000000000000000".into(),
            auth_token: TWILIO_TOKEN.into(),
            from: "whatsapp:+14155238886".into(),
        },
        api_base.clone(),
    )
    .await
    .unwrap();
    raabta::routing::add_channel(
        t,
        slug,
        Credentials::Meta {
            phone_number_id: "106540352242922".into(),
            access_token: "meta-test-access-token".into(),
            app_secret: META_SECRET.into(),
            verify_token: META_VERIFY.into(),
        },
        api_base.clone(),
    )
    .await
    .unwrap();
    let tg = raabta::routing::add_channel(
        t,
        slug,
        Credentials::Telegram {
            bot_token: TG_TOKEN.into(),
            secret_token: TG_SECRET.into(),
        },
        api_base,
    )
    .await
    .unwrap();
    env.app.registry.reload(t).await.unwrap();
    Channels {
        telegram_route: tg.route_key,
    }
}

/// The id of the test Meta channel (`add_test_channels`).
pub fn meta_channel(env: &TestEnv) -> uuid::Uuid {
    env.app
        .registry
        .current()
        .meta("106540352242922")
        .expect("the test Meta channel")
        .id
}

pub async fn send(env: &TestEnv, f: &Fixture, channels: &Channels) -> (StatusCode, String) {
    send_to(&env.app, f, channels).await
}

/// Sends a fixture through an app's router.
pub async fn send_to(
    app: &raabta::app::App,
    f: &Fixture,
    channels: &Channels,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(f.method.as_str())
        .uri(f.path.replace("{route}", &channels.telegram_route));
    for (k, v) in &f.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let res = raabta::application::router(app, &raabta::admin::AdminState::new(app.clone()))
        .oneshot(req.body(Body::from(f.body.clone())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn every_fixture_is_accepted_once(env: &TestEnv) {
    let school = env.school("hooks").await;
    let ch = add_test_channels(env, &school, None).await;
    let mut expected = 0;
    for provider in ["twilio", "meta", "telegram"] {
        for name in fixture_names(provider) {
            let (status, body) = send(env, &fixture(provider, &name), &ch).await;
            assert_eq!(status, StatusCode::OK, "{provider}/{name}: {body}");
            if provider == "twilio" {
                assert_eq!(body, "<Response/>");
            }
            expected += if name == "batch" { 3 } else { 1 };
        }
    }
    assert_eq!(school.store.inbound_count().await.unwrap(), expected);
    // Redelivered later (Meta retries for days): still 200, nothing stored twice.
    for provider in ["twilio", "meta", "telegram"] {
        for name in fixture_names(provider) {
            assert_eq!(
                send(env, &fixture(provider, &name), &ch).await.0,
                StatusCode::OK
            );
        }
    }
    assert_eq!(school.store.inbound_count().await.unwrap(), expected);
}
crate::on_both_backends!(every_fixture_is_accepted_once);

async fn bad_requests_store_nothing(env: &TestEnv) {
    let school = env.school("guarded").await;
    let ch = add_test_channels(env, &school, None).await;
    type Mutation = Box<dyn Fn(&mut Fixture)>;
    let cases: Vec<(&str, &str, Mutation, StatusCode)> = vec![
        (
            "twilio",
            "text",
            Box::new(|f| f.body.push(b'x')),
            StatusCode::FORBIDDEN,
        ),
        (
            "twilio",
            "text",
            Box::new(|f| f.headers.retain(|(k, _)| k != "X-Twilio-Signature")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "twilio",
            "text",
            Box::new(|f| {
                f.body = String::from_utf8_lossy(&f.body)
                    .replace("14155238886", "14155230000")
                    .into_bytes()
            }),
            StatusCode::NOT_FOUND,
        ),
        (
            "meta",
            "text",
            Box::new(|f| f.body[10] ^= 1),
            StatusCode::FORBIDDEN,
        ),
        (
            "meta",
            "text",
            Box::new(|f| f.headers.retain(|(k, _)| k != "X-Hub-Signature-256")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "meta",
            "text",
            Box::new(|f| f.headers[1].1 = "sha256=00".into()),
            StatusCode::FORBIDDEN,
        ),
        (
            "meta",
            "text",
            Box::new(|f| {
                f.body = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"999"},"messages":[{"from":"1","id":"wamid.X","type":"text","text":{"body":"x"}}]}}]}]}"#.to_vec();
                f.headers[1].1 = raabta::channel::meta::signature(META_SECRET, &f.body);
            }),
            StatusCode::NOT_FOUND,
        ),
        (
            "meta",
            "text",
            Box::new(|f| {
                f.body = b"{not json".to_vec();
                f.headers[1].1 = raabta::channel::meta::signature(META_SECRET, &f.body);
            }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "telegram",
            "text",
            Box::new(|f| f.headers[1].1 = "wrong".into()),
            StatusCode::FORBIDDEN,
        ),
        (
            "telegram",
            "text",
            Box::new(|f| f.headers.truncate(1)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "telegram",
            "text",
            Box::new(|f| f.path = "/webhooks/telegram/nope".into()),
            StatusCode::NOT_FOUND,
        ),
        (
            "telegram",
            "text",
            Box::new(|f| f.body = b"[]".to_vec()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "telegram",
            "text",
            Box::new(|f| f.body = vec![b' '; 2 * 1024 * 1024]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (i, (provider, name, mutate, want)) in cases.into_iter().enumerate() {
        let mut f = fixture(provider, name);
        mutate(&mut f);
        let (status, body) = send(env, &f, &ch).await;
        assert_eq!(status, want, "case {i} ({provider}/{name}): {body}");
    }
    // A Twilio request that is signed but lacks a MessageSid is malformed.
    let params = vec![
        ("To".to_string(), "whatsapp:+14155238886".to_string()),
        ("Body".to_string(), "x".to_string()),
    ];
    let sig = raabta::channel::twilio::signature(
        TWILIO_TOKEN,
        "https://raabta.test/webhooks/twilio",
        &params,
    );
    let f = Fixture {
        method: "POST".into(),
        path: "/webhooks/twilio".into(),
        headers: vec![("X-Twilio-Signature".into(), sig)],
        body: b"To=whatsapp%3A%2B14155238886&Body=x".to_vec(),
    };
    let (status, body) = send(env, &f, &ch).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("MessageSid"), "{body}");
    assert_eq!(school.store.inbound_count().await.unwrap(), 0);
}
crate::on_both_backends!(bad_requests_store_nothing);

#[tokio::test]
async fn meta_verification_challenge() {
    let env = TestEnv::new(Kind::Sqlite).await;
    let school = env.school("verify").await;
    let ch = add_test_channels(&env, &school, None).await;
    let get = |q: &str| Fixture {
        method: "GET".into(),
        path: format!("/webhooks/meta?{q}"),
        headers: vec![],
        body: vec![],
    };
    let ok = get(&format!(
        "hub.mode=subscribe&hub.verify_token={META_VERIFY}&hub.challenge=1158201444"
    ));
    assert_eq!(
        send(&env, &ok, &ch).await,
        (StatusCode::OK, "1158201444".to_string())
    );
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        &format!("hub.mode=unsubscribe&hub.verify_token={META_VERIFY}&hub.challenge=1"),
        "hub.mode=subscribe&hub.challenge=1",
        "",
    ] {
        assert_eq!(
            send(&env, &get(q), &ch).await.0,
            StatusCode::FORBIDDEN,
            "{q}"
        );
    }
}

#[tokio::test]
async fn channels_without_secrets_are_refused() {
    let env = TestEnv::new(Kind::Sqlite).await;
    let school = env.school("nosecret").await;
    let err = raabta::routing::add_channel(
        &env.app.tenancy,
        school.tenant.slug.as_str(),
        Credentials::Telegram {
            bot_token: TG_TOKEN.into(),
            secret_token: "".into(),
        },
        None,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("secret token must not be empty"),
        "{err}"
    );
    assert!(env
        .app
        .tenancy
        .backend()
        .control
        .channels()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn verified_webhooks_are_spooled_when_the_school_database_is_down() {
    let env = TestEnv::new(Kind::Sqlite).await;
    let school = env.school("spooled").await;
    let ch = add_test_channels(&env, &school, None).await;
    let file = env
        .dir
        .path()
        .join("schools")
        .join(format!("{}.db", school.tenant.id.0.simple()));
    let aside = file.with_extension("away");
    drop(school);
    // A fresh process view: the school's file is gone (disk unmounted, say).
    let mut config = crate::support::test_config(env.dir.path());
    config.max_open_schools = 64;
    let env2 = TestEnv::with_config(config, tempfile::tempdir().unwrap(), None).await;
    std::fs::rename(&file, &aside).unwrap();
    for name in ["text", "status-delivered"] {
        let (status, body) = send(&env2, &fixture("twilio", name), &ch).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert!(env2.app.spool.pending_files() > 0);
    // Ingestion waits while the database is still down...
    assert!(env2.app.spool.ingest(&env2.app.tenancy).await.is_err());
    // ...and stores everything once it is back, exactly once.
    std::fs::rename(&aside, &file).unwrap();
    assert_eq!(env2.app.spool.ingest(&env2.app.tenancy).await.unwrap(), 2);
    assert_eq!(env2.app.spool.pending_files(), 0);
    let school = env2.app.tenancy.school("spooled").await.unwrap();
    assert_eq!(school.store.inbound_count().await.unwrap(), 2);
    // The spool on disk never held plaintext.
    let _ = env.dir;
}

#[tokio::test]
async fn a_channel_added_a_moment_ago_is_found_and_unknown_meta_numbers_are_refused() {
    let env = TestEnv::new(Kind::Sqlite).await;
    let school = env.school("justadded").await;
    // Added "by the CLI in another process": this app's registry has not refreshed yet.
    let tg = raabta::routing::add_channel(
        &env.app.tenancy,
        school.tenant.slug.as_str(),
        Credentials::Telegram {
            bot_token: TG_TOKEN.into(),
            secret_token: TG_SECRET.into(),
        },
        None,
    )
    .await
    .unwrap();
    assert!(env.app.registry.current().is_empty());
    let ch = Channels {
        telegram_route: tg.route_key,
    };
    let (status, body) = send(&env, &fixture("telegram", "text"), &ch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(school.store.inbound_count().await.unwrap(), 1);

    // Meta: a batch for a known and an unknown number stores the known events and
    // answers 404, so Meta redelivers and nothing for the unknown number is lost.
    add_test_channels(&env, &school, None).await;
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
        {"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"923001110001","id":"wamid.KNOWN","type":"text","text":{"body":"a"}}]}},
        {"field":"messages","value":{"metadata":{"phone_number_id":"999999"},"messages":[{"from":"923001110001","id":"wamid.UNKNOWN","type":"text","text":{"body":"b"}}]}}]}]}"#
        .to_vec();
    let f = Fixture {
        method: "POST".into(),
        path: "/webhooks/meta".into(),
        headers: vec![(
            "X-Hub-Signature-256".into(),
            raabta::channel::meta::signature(META_SECRET, &body),
        )],
        body,
    };
    assert_eq!(send(&env, &f, &ch).await.0, StatusCode::NOT_FOUND);
    assert_eq!(school.store.inbound_count().await.unwrap(), 2);
    // The redelivery stores nothing twice.
    assert_eq!(send(&env, &f, &ch).await.0, StatusCode::NOT_FOUND);
    assert_eq!(school.store.inbound_count().await.unwrap(), 2);
}
