//! The service as `raabta serve` wires it: `Application::build` then `start`, with the
//! real background worker, sender and job runner answering a webhook on their own.

use crate::fake::FakeProviders;
use crate::support::{Kind, TestEnv};
use crate::webhooks::{add_test_channels, fixture, send};
use axum::http::StatusCode;
use std::time::Duration;

async fn started_service_answers_on_its_own(kind: Kind) {
    let mut env = TestEnv::new(kind).await;
    let school = env.school("served").await;
    let fake = FakeProviders::start().await;
    let channels = add_test_channels(&env, &school, Some(fake.base.clone())).await;
    env.application.start();
    env.application.start(); // once only
    let (status, body) = send(&env, &fixture("meta", "text"), &channels).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut waited = Duration::ZERO;
    while fake.sends().is_empty() {
        assert!(
            waited < Duration::from_secs(20),
            "no reply from the started worker"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let outbox = school.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1);
    // Nothing more is sent: one message, one reply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.sends().len(), 1);
    // Dropped, the service stops: a second message stays unanswered.
    let TestEnv {
        application, app, ..
    } = env;
    drop(application);
    let (status, _) =
        crate::webhooks::send_to(&app, &fixture("meta", "button-reply"), &channels).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.sends().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_service_answers_on_its_own_sqlite() {
    started_service_answers_on_its_own(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn started_service_answers_on_its_own_postgres() {
    started_service_answers_on_its_own(Kind::Postgres).await;
}
