//! The durable job runner (pattern 2 of ARCHITECTURE.md, "Slow work"): claims due jobs
//! of every school with a lease, runs each outside any transaction under its kind's
//! process-wide limit and a per-school limit, and records the outcome (done with an
//! optional result event for the conversation's ordered inbox, another attempt after
//! a backoff with jitter, or dead). A process killed mid-run leaves a lease that
//! expires; the job then runs again, so handlers make their effect idempotent.

use crate::app::App;
use crate::domain::message::InboundBody;
use crate::domain::TenantId;
use crate::store::{JobLease, StoreError, TenantStore};
use async_trait::async_trait;
use chrono::Duration as ChronoDuration;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a claimed job is ours before another runner may take it. Longer than any
/// handler's own timeouts.
pub const JOB_LEASE: Duration = Duration::from_secs(300);
/// How often due jobs are looked for when nothing wakes the runner.
pub const JOB_INTERVAL: Duration = Duration::from_secs(1);

/// What one attempt came to.
#[derive(Debug)]
pub enum JobOutcome {
    /// Finished; the result (if any) enters the job's conversation's inbox.
    Done { result: Option<InboundBody> },
    /// Try again after the backoff (or `after`), unless this was the last attempt.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Will never succeed: dead at once.
    Failed { error: String },
}

/// One kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// One attempt, outside any transaction. A store error counts as a retry.
    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError>;
    /// The job is dead (failed, or out of attempts): leave what it was for in a final
    /// state (a message waiting for its media must not wait for ever).
    async fn buried(
        &self,
        _app: &App,
        _store: &dyn TenantStore,
        _job: &JobLease,
        _error: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

struct Kind {
    name: String,
    handler: Arc<dyn JobHandler>,
    /// Process-wide: jobs of this kind running at once.
    permits: Arc<Semaphore>,
    /// Jobs of this kind running at once for one school.
    per_school: usize,
}

/// The runner: the registered kinds and their limits.
pub struct JobRunner {
    kinds: Vec<Kind>,
    /// How long a claim holds (see [`JOB_LEASE`]).
    pub lease: Duration,
    /// First retry delay; doubles per attempt (tests shorten it).
    pub retry_base: Duration,
    running: Arc<Mutex<HashMap<(TenantId, usize), usize>>>,
    /// Where the next pass starts among the schools (round robin, so schools late in
    /// the list get places as often as early ones).
    next_school: std::sync::atomic::AtomicUsize,
    /// When done jobs were last pruned.
    pruned: Mutex<Option<std::time::Instant>>,
}

/// Done jobs are kept this long (for staff and diagnostics), then deleted.
pub const KEEP_DONE_JOBS: ChronoDuration = ChronoDuration::days(7);

impl Default for JobRunner {
    fn default() -> Self {
        Self::new()
    }
}

impl JobRunner {
    pub fn new() -> Self {
        Self {
            kinds: Vec::new(),
            lease: JOB_LEASE,
            retry_base: Duration::from_secs(2),
            running: Arc::default(),
            next_school: std::sync::atomic::AtomicUsize::new(0),
            pruned: Mutex::new(None),
        }
    }

    /// The kinds a serving process runs: media downloads through `sender`'s client.
    pub fn standard(sender: Arc<super::Sender>) -> Self {
        let mut runner = Self::new();
        runner.register_io(
            crate::domain::job::MEDIA_FETCH,
            Arc::new(super::media::MediaFetch { sender }),
            8,
            4,
        );
        runner.register_io(
            crate::domain::job::COMPLAINT_TRIAGE,
            Arc::new(super::triage::ComplaintTriage),
            4,
            2,
        );
        // The process-wide face limit: each face job uses the cores it leaves it
        // for the faces of its photo (`face::service::job_limit`).
        let face_jobs = crate::face::service::job_limit();
        runner.register_io(
            crate::domain::job::FACE_MATCH,
            Arc::new(super::face::FaceMatch),
            face_jobs,
            face_jobs,
        );
        runner.register_io(
            crate::domain::job::COMPLAINT_NOTICE,
            Arc::new(super::notice::ComplaintNotice),
            2,
            1,
        );
        runner.register_io(
            crate::domain::job::LEAD_NOTICE,
            Arc::new(super::notice::LeadNotice),
            2,
            1,
        );
        runner.register_io(
            crate::domain::job::SCHOOL_EXPORT,
            Arc::new(crate::export::SchoolExport),
            1,
            1,
        );
        runner.register_io(
            crate::domain::job::PRIVACY_NOTICE,
            Arc::new(super::notice::PrivacyNotice),
            2,
            1,
        );
        runner
    }

    /// A kind that mostly waits on the network: `global` at once in the process,
    /// `per_school` for one school.
    pub fn register_io(
        &mut self,
        name: &str,
        handler: Arc<dyn JobHandler>,
        global: usize,
        per_school: usize,
    ) {
        self.kinds.push(Kind {
            name: name.to_string(),
            handler,
            permits: Arc::new(Semaphore::new(global.max(1))),
            per_school: per_school.clamp(1, global.max(1)),
        });
    }

    /// A CPU-heavy kind (a model): never more at once than the machine has cores.
    pub fn register_cpu(&mut self, name: &str, handler: Arc<dyn JobHandler>, per_school: usize) {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        self.register_io(name, handler, cores, per_school);
    }

    /// One pass over every active school: claims what the limits allow and starts it.
    /// Returns the started attempts; the serving loop lets them run on, tests wait.
    pub async fn pass(
        self: &Arc<Self>,
        app: &App,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
        let mut started = Vec::new();
        let mut tenants = app.tenancy.list().await?;
        if !tenants.is_empty() {
            let first = self
                .next_school
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                % tenants.len();
            tenants.rotate_left(first);
        }
        let prune = {
            let mut last = self.pruned.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600));
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        for tenant in tenants {
            if tenant.status != crate::domain::school::TenantStatus::Active {
                continue;
            }
            let slug = tenant.slug.clone();
            // One school's trouble (its database down, say) must not stop the others.
            if let Err(e) = self.school_pass(app, tenant, prune, &mut started).await {
                tracing::warn!(school = %slug, error = %e, "job pass failed for a school");
            }
        }
        Ok(started)
    }

    async fn school_pass(
        self: &Arc<Self>,
        app: &App,
        tenant: crate::domain::school::Tenant,
        prune: bool,
        started: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> Result<(), StoreError> {
        let tenant_id = tenant.id;
        let school = app.tenancy.open(tenant).await?;
        if prune {
            let before = app.clock.now() - KEEP_DONE_JOBS;
            if let Err(e) = school.store.prune_done_jobs(before).await {
                tracing::warn!(error = %e, "pruning done jobs failed");
            }
        }
        for (index, kind) in self.kinds.iter().enumerate() {
            let room = {
                let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
                kind.per_school
                    .saturating_sub(running.get(&(tenant_id, index)).copied().unwrap_or(0))
            };
            // Places are taken before claiming: a claimed job always has a place to run.
            let mut permits = Vec::new();
            while permits.len() < room {
                match kind.permits.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            if permits.is_empty() {
                continue;
            }
            let claimed = school
                .store
                .claim_jobs(
                    &kind.name,
                    app.clock.now(),
                    self.lease,
                    permits.len() as i64,
                    None,
                )
                .await?;
            for (job, permit) in claimed.into_iter().zip(permits) {
                let place = Place::take(&self.running, (tenant_id, index));
                let (runner, app, store) = (self.clone(), app.clone(), school.store.clone());
                started.push(tokio::spawn(async move {
                    let _held = (permit, place);
                    runner.attempt(&app, store.as_ref(), index, job).await;
                }));
            }
        }
        Ok(())
    }

    /// Runs one claimed attempt and records its outcome.
    #[tracing::instrument(name = "job", skip_all, fields(kind = %job.kind, job = %job.id, attempt = job.attempts))]
    async fn attempt(&self, app: &App, store: &dyn TenantStore, index: usize, job: JobLease) {
        let handler = &self.kinds[index].handler;
        let outcome = if job.attempts > job.max_attempts {
            // Claimed again after its last attempt's lease ran out (killed every time).
            JobOutcome::Failed {
                error: "the last attempt never finished".into(),
            }
        } else {
            // An attempt ends well inside its lease: a runner never acts on a claim that
            // another may have taken over.
            let budget = self.lease.mul_f64(0.75);
            match tokio::time::timeout(budget, handler.run(app, store, &job)).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) => JobOutcome::Retry {
                    error: format!("database: {e}"),
                    after: None,
                },
                Err(_) => JobOutcome::Retry {
                    error: "the attempt took longer than its lease allows".into(),
                    after: None,
                },
            }
        };
        let label = match &outcome {
            JobOutcome::Retry { .. } if job.attempts >= job.max_attempts => "failed",
            other => outcome_label(other),
        };
        app.metrics.job_attempt(&job.kind, label);
        if let Err(e) = self.settle(app, store, &job, outcome).await {
            // The lease runs out and the job is tried again.
            tracing::warn!(error = %e, "job outcome not recorded");
        }
    }

    async fn settle(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
        outcome: JobOutcome,
    ) -> Result<(), StoreError> {
        let now = app.clock.now();
        let kept = match outcome {
            JobOutcome::Done { result } => {
                let has_result = result.is_some();
                let kept = store.finish_job(job, result, now).await?;
                if kept && has_result {
                    app.wake_worker();
                }
                kept
            }
            JobOutcome::Retry { error, .. } if job.attempts >= job.max_attempts => {
                tracing::warn!(attempts = job.attempts, "job dead after its last attempt");
                self.bury(app, store, job, &error).await?
            }
            JobOutcome::Retry { error, after } => {
                let wait = after.unwrap_or_else(|| super::backoff(self.retry_base, job.attempts));
                let next =
                    now + ChronoDuration::from_std(wait).unwrap_or(ChronoDuration::minutes(1));
                store.retry_job(job, next, &error, now).await?
            }
            JobOutcome::Failed { error } => {
                tracing::warn!("job failed for good");
                self.bury(app, store, job, &error).await?
            }
        };
        if !kept {
            tracing::warn!("job lease lost; the job's new owner decides");
        }
        Ok(())
    }

    async fn bury(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
        error: &str,
    ) -> Result<bool, StoreError> {
        let Some(kind) = self.kinds.iter().find(|k| k.name == job.kind) else {
            return store.bury_job(job, error, app.clock.now()).await;
        };
        // What the job was for is settled first (if this process stops in between, the
        // job runs again and is buried again), and only while our claim still holds.
        if !store.job_held(job, app.clock.now()).await? {
            return Ok(false);
        }
        kind.handler.buried(app, store, job, error).await?;
        let kept = store.bury_job(job, error, app.clock.now()).await?;
        app.wake_worker();
        Ok(kept)
    }

    /// Runs passes until nothing is due (waiting for each pass's attempts): for tests
    /// and the simulator. Returns how many attempts ran.
    pub async fn drain(self: &Arc<Self>, app: &App) -> Result<usize, StoreError> {
        let mut ran = 0;
        loop {
            let started = self.pass(app).await?;
            if started.is_empty() {
                return Ok(ran);
            }
            ran += started.len();
            for handle in started {
                if let Err(e) = handle.await {
                    return Err(StoreError::Corrupt(format!("job task: {e}")));
                }
            }
        }
    }
}

fn outcome_label(o: &JobOutcome) -> &'static str {
    match o {
        JobOutcome::Done { .. } => "done",
        JobOutcome::Retry { .. } => "retry",
        JobOutcome::Failed { .. } => "failed",
    }
}

/// A running job's place in its school's count; given back when dropped.
struct Place {
    running: Arc<Mutex<HashMap<(TenantId, usize), usize>>>,
    key: (TenantId, usize),
}

impl Place {
    fn take(
        running: &Arc<Mutex<HashMap<(TenantId, usize), usize>>>,
        key: (TenantId, usize),
    ) -> Self {
        *running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
        Self {
            running: running.clone(),
            key,
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = running.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.key);
            }
        }
    }
}

/// Runs the job runner until the process ends: a pass every second, or sooner when
/// woken (new jobs come with new messages). Attempts run on while the next pass looks.
pub fn spawn(app: App, runner: Arc<JobRunner>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = runner.pass(&app).await {
                tracing::warn!(error = %e, "job pass failed");
            }
            let _ = tokio::time::timeout(JOB_INTERVAL, app.wake_jobs.notified()).await;
        }
    })
}
