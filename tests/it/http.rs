//! The real router, in-process.

use crate::support::{Kind, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(env: &TestEnv, path: &str) -> (StatusCode, String) {
    let res = env
        .app
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
    assert_eq!(body, r#"{"status":"ready"}"#);
    assert_eq!(get(env, "/nope").await.0, StatusCode::NOT_FOUND);
}
crate::on_both_backends!(health_and_readiness);

#[tokio::test]
async fn readiness_fails_when_the_school_store_is_gone() {
    let env = TestEnv::new(Kind::Sqlite).await.unwrap();
    std::fs::remove_dir_all(env.dir.path().join("schools")).unwrap();
    let (status, body) = get(&env, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, r#"{"status":"unavailable"}"#);
    assert_eq!(get(&env, "/healthz").await.0, StatusCode::OK);
}
