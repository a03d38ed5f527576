//! The real router, in-process.

use crate::support::{Kind, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub async fn get(env: &TestEnv, path: &str) -> (StatusCode, String) {
    let res = env
        .router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn health_and_readiness(env: &TestEnv) {
    assert_eq!(
        get(env, "/healthz").await,
        (StatusCode::OK, "ok".to_string())
    );
    let (status, body) = get(env, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"spool_files":0,"status":"ready"}"#);
    assert_eq!(get(env, "/nope").await.0, StatusCode::NOT_FOUND);
}
crate::on_both_backends!(health_and_readiness);

#[tokio::test]
async fn readiness_fails_when_the_school_store_is_gone() {
    let env = TestEnv::new(Kind::Sqlite).await;
    std::fs::remove_dir_all(env.dir.path().join("schools")).unwrap();
    let (status, body) = get(&env, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, r#"{"spool_files":0,"status":"unavailable"}"#);
    assert_eq!(get(&env, "/healthz").await.0, StatusCode::OK);
}

async fn metrics_show_totals_to_anyone_and_schools_only_with_the_token(env: &TestEnv) {
    let school = env.school("metrics-a").await;
    let channels = crate::webhooks::add_test_channels(env, &school, None).await;
    let f = crate::webhooks::fixture("meta", "text");
    for _ in 0..2 {
        crate::webhooks::send(env, &f, &channels).await;
    }
    let mut forged = f.clone();
    forged.body.push(b' ');
    crate::webhooks::send(env, &forged, &channels).await;
    let (status, body) = get(env, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"raabta_webhooks_total{provider="meta",outcome="stored"} 1"#),
        "{body}"
    );
    assert!(body.contains(r#"raabta_webhooks_total{provider="meta",outcome="duplicate"} 1"#));
    assert!(
        body.contains(r#"raabta_webhooks_total{provider="meta",outcome="refused_signature"} 1"#)
    );
    assert!(body.contains("raabta_inbox_pending_events 1"), "{body}");
    assert!(body.contains("raabta_step_transaction_seconds_count"));
    assert!(body.contains("raabta_argon2_in_transactions 0"));
    assert!(
        !body.contains("metrics-a"),
        "no school is named without the token"
    );
    assert!(body.ends_with("# EOF\n"));

    // With a token configured: it is required, and schools are shown.
    let mut config = (*env.app.config).clone();
    config.metrics_token = Some(raabta::domain::Secret::new("scrape-secret".into()));
    let app = raabta::app::App {
        config: std::sync::Arc::new(config),
        ..env.app.clone()
    };
    let call = |auth: Option<&'static str>| {
        let app = app.clone();
        async move {
            let mut req = Request::get("/metrics");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res =
                raabta::application::router(&app, &raabta::admin::AdminState::new(app.clone()))
                    .oneshot(req.body(Body::empty()).unwrap())
                    .await
                    .unwrap();
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    assert_eq!(call(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(Some("Bearer wrong")).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = call(Some("Bearer scrape-secret")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"raabta_school_inbox_pending_events{school="metrics-a"} 1"#),
        "{body}"
    );
}
crate::on_both_backends!(metrics_show_totals_to_anyone_and_schools_only_with_the_token);
