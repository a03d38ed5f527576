//! Durable jobs (pattern 2 of ARCHITECTURE.md, "Slow work"): retried with backoff and
//! done once; dead jobs shown on the admin's outbox page; a slow job runs after the
//! step that enqueued it committed, while its conversation keeps getting answers. The
//! process-kill case is in `crash.rs`.

use crate::admin_web::{add_staff, admin_cookie, call};
use crate::pipeline::{drain, rig};
use crate::support::TestEnv;
use crate::webhooks::{fixture, send};
use async_trait::async_trait;
use axum::http::StatusCode;
use raabta::domain::message::{InboundBody, InboundEvent, Provider, SenderId};
use raabta::domain::roster::StaffRole;
use raabta::store::{JobLease, NewJob, StoreError, TenantStore};
use raabta::worker::jobs::{JobHandler, JobOutcome, JobRunner};
use std::sync::Arc;
use std::time::Duration;

fn count(counts: &[(String, String, i64)], kind: &str, state: &str) -> i64 {
    counts
        .iter()
        .find(|(k, s, _)| k == kind && s == state)
        .map(|c| c.2)
        .unwrap_or(0)
}

/// The media of the Twilio image fixture, as stored.
async fn twilio_image_media(r: &crate::pipeline::Rig) -> raabta::store::StoredMedia {
    r.school
        .store
        .media_of("twilio:SMimg0001")
        .await
        .unwrap()
        .expect("the fixture's media row")
}

async fn a_failing_download_is_retried_and_stored_once(env: &TestEnv) {
    let r = rig(env, "jobretry").await;
    // The provider fails the first two downloads, then serves the file.
    r.fake.fail_media(2);
    assert_eq!(
        send(env, &fixture("twilio", "image"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let counts = r.school.store.job_counts().await.unwrap();
    assert_eq!(count(&counts, "media.fetch", "done"), 1, "{counts:?}");
    assert_eq!(counts.iter().map(|c| c.2).sum::<i64>(), 1, "{counts:?}");
    let (done, _) = r.school.store.jobs_in_state("done", 10).await.unwrap();
    assert_eq!(done[0].attempts, 3, "two failures, then success");
    assert_eq!(r.fake.media_downloads(), 3);
    // The effect happened once: stored, the provider's copy deleted once, one reply.
    let media = twilio_image_media(&r).await;
    assert_eq!(media.state, "stored", "{:?}", media.last_error);
    let deletes = r
        .fake
        .requests()
        .iter()
        .filter(|q| q.path.starts_with("DELETE "))
        .count();
    assert_eq!(deletes, 1);
    assert_eq!(r.fake.sends().len(), 1);
    // Running the runner again finds nothing to do.
    assert_eq!(r.jobs.drain(&env.app).await.unwrap(), 0);
}
crate::on_both_backends!(a_failing_download_is_retried_and_stored_once);

async fn a_dead_job_is_shown_on_the_outbox_page(env: &TestEnv) {
    let r = rig(env, "jobdead").await;
    r.fake.media_gone();
    assert_eq!(
        send(env, &fixture("twilio", "image"), &r.channels).await.0,
        StatusCode::OK
    );
    drain(env, &r).await;
    let (dead, total) = r.school.store.jobs_in_state("dead", 10).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(dead[0].kind, "media.fetch");
    assert!(dead[0].last_error.as_deref().unwrap_or("").contains("404"));
    // The message was not left waiting for ever: its media is marked failed and it
    // was answered.
    let media = twilio_image_media(&r).await;
    assert_eq!(media.state, "failed");
    assert_eq!(r.fake.sends().len(), 1);
    add_staff(
        &r.school,
        "head@jobs.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let admin = admin_cookie(env, &r.school, "head@jobs.test", "head password 1").await;
    let page = call(env, "GET", "/admin/outbox", &admin, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Background work that failed")
            && page.body.contains("Downloading a photo or document")
            && page.body.contains("HTTP 404"),
        "{}",
        page.body
    );
}
crate::on_both_backends!(a_dead_job_is_shown_on_the_outbox_page);

/// A job kind that takes seconds (as an AI call or a face match will) and reports back
/// to its conversation.
struct Slow;

#[async_trait]
impl JobHandler for Slow {
    async fn run(
        &self,
        _app: &raabta::app::App,
        _store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(JobOutcome::Done {
            result: Some(InboundBody::JobResult {
                kind: job.kind.clone(),
                job: job.id,
                data: serde_json::json!({ "ok": true }),
            }),
        })
    }
}

fn text(key: &str, body: &str) -> InboundEvent {
    InboundEvent {
        provider_key: key.into(),
        sender: SenderId::new("923001110001"),
        sender_name: None,
        sent_at: None,
        body: InboundBody::Text { text: body.into() },
    }
}

async fn a_slow_job_runs_after_its_step_while_the_conversation_goes_on(env: &TestEnv) {
    let r = rig(env, "jobslow").await;
    let store = &r.school.store;
    let channel = crate::webhooks::meta_channel(env);
    let now = env.app.clock.now();
    store
        .record_inbound(
            channel,
            Provider::Meta,
            &[text("meta:wamid.SLOW1", "salam")],
            now,
        )
        .await
        .unwrap();
    drain(env, &r).await;
    let greeted = r.fake.sends().len();
    assert!(greeted >= 1);
    let conv = store
        .conversation_of(channel, "923001110001")
        .await
        .unwrap()
        .unwrap();
    // A step enqueues the job with its own changes; nothing runs until it commits.
    let mut step = store.begin_step(conv).await.unwrap().unwrap();
    let job = NewJob {
        kind: "test.slow".into(),
        idempotency_key: format!("slow:{conv}"),
        conversation: Some(conv),
        payload: serde_json::json!({}),
        max_attempts: 3,
        run_after: now,
    };
    assert!(step.enqueue_job(&job, now).await.unwrap());
    let mut runner = JobRunner::new();
    runner.register_io("test.slow", Arc::new(Slow), 1, 1);
    let runner = Arc::new(runner);
    step.commit().await.unwrap();
    // The same key again (the step retried) adds nothing.
    assert!(!store.enqueue_job(&job, now).await.unwrap());
    let started = std::time::Instant::now();
    let running = runner.pass(&env.app).await.unwrap();
    assert_eq!(running.len(), 1);
    // While the job runs, the conversation keeps getting answers.
    store
        .record_inbound(
            channel,
            Provider::Meta,
            &[text("meta:wamid.SLOW2", "help")],
            env.app.clock.now(),
        )
        .await
        .unwrap();
    drain(env, &r).await;
    let answered = r.fake.sends().len();
    assert!(answered > greeted, "answered while the job ran");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the answer did not wait for the job"
    );
    let counts = store.job_counts().await.unwrap();
    assert_eq!(count(&counts, "test.slow", "running"), 1, "{counts:?}");
    // The limit of one holds: a second job of the kind waits while the first runs.
    let second = NewJob {
        idempotency_key: format!("slow2:{conv}"),
        ..job.clone()
    };
    assert!(store
        .enqueue_job(&second, env.app.clock.now())
        .await
        .unwrap());
    assert!(runner.pass(&env.app).await.unwrap().is_empty());
    for h in running {
        h.await.unwrap();
    }
    let counts = store.job_counts().await.unwrap();
    assert_eq!(count(&counts, "test.slow", "done"), 1, "{counts:?}");
    assert_eq!(count(&counts, "test.slow", "pending"), 1, "{counts:?}");
    // Its result took its turn in the conversation's ordered inbox, after the messages
    // that came while it ran, and was processed.
    assert_eq!(store.inbound_count().await.unwrap(), 3);
    // Then the second one runs.
    assert_eq!(runner.drain(&env.app).await.unwrap(), 1);
    assert_eq!(store.inbound_count().await.unwrap(), 4);
    drain(env, &r).await;
    assert_eq!(store.queue_figures().await.unwrap().pending_events, 0);
    assert_eq!(
        r.fake.sends().len(),
        answered,
        "a job result alone sends nothing"
    );
}
crate::on_both_backends!(a_slow_job_runs_after_its_step_while_the_conversation_goes_on);

/// An attempt that would outlive its lease is cut off (and tried again later), so a live
/// runner never acts on a claim another may have taken; done jobs are pruned by age.
async fn attempts_end_inside_their_lease_and_done_jobs_are_pruned(env: &TestEnv) {
    let r = rig(env, "joblease").await;
    let store = &r.school.store;
    let now = env.app.clock.now();
    let job = NewJob {
        kind: "test.slow".into(),
        idempotency_key: "lease:1".into(),
        conversation: None,
        payload: serde_json::json!({}),
        max_attempts: 3,
        run_after: now,
    };
    assert!(store.enqueue_job(&job, now).await.unwrap());
    let mut runner = JobRunner::new();
    runner.register_io("test.slow", Arc::new(Slow), 1, 1);
    // The slow kind takes 2 s; a 1 s lease allows 0.75 s.
    runner.lease = Duration::from_secs(1);
    runner.retry_base = Duration::from_millis(1);
    let runner = Arc::new(runner);
    let started = std::time::Instant::now();
    for h in runner.pass(&env.app).await.unwrap() {
        h.await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "cut off in time"
    );
    let counts = store.job_counts().await.unwrap();
    assert_eq!(count(&counts, "test.slow", "pending"), 1, "{counts:?}");
    // With a lease long enough it finishes; done jobs go only once they are old.
    let mut patient = JobRunner::new();
    patient.register_io("test.slow", Arc::new(Slow), 1, 1);
    patient.retry_base = Duration::from_millis(1);
    let patient = Arc::new(patient);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(patient.drain(&env.app).await.unwrap(), 1);
    let later = env.app.clock.now();
    assert_eq!(
        store
            .prune_done_jobs(later - chrono::Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .prune_done_jobs(later + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert!(store.job_counts().await.unwrap().is_empty());
}
crate::on_both_backends!(attempts_end_inside_their_lease_and_done_jobs_are_pruned);
