//! The service wired as `raabta serve` runs it, for the binary and the tests alike:
//! the app on its database with every school migrated (and the demo school seeded when
//! configured), then, once started, the background duties, the job runner and the
//! conversation worker with its sender. Dropping the `Application` stops them.
//!
//! This is where the boundaries meet: the router composes the webhooks (on the shared
//! [`App`]) and the admin (on its [`AdminState`], which gives handlers the `App` through
//! `FromRef`); the worker and the job runner are started on the `App`. The admin, the
//! webhooks and the worker do not import each other (`tests/it/tidy.rs`).

use crate::admin::AdminState;
use crate::app::{App, AppError, MAX_BODY_BYTES};
use crate::seed::{self, DemoLogin};
use crate::worker::jobs::{self, JobRunner};
use crate::worker::{self, RateLimits, Sender};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct Application {
    pub app: App,
    /// The admin's part of the state (staff sign-in), made once per process so its
    /// limits hold across every router built from it.
    pub admin: AdminState,
    /// The demo logins, when this start created the demo school.
    pub demo: Option<DemoLogin>,
    sender: Arc<Sender>,
    runner: Arc<JobRunner>,
    tasks: Vec<JoinHandle<()>>,
}

impl Application {
    /// Builds the app and brings every school up to date. A school whose migration fails
    /// is logged and left as it is; the others serve.
    pub async fn build(config: crate::config::Config) -> Result<Self, AppError> {
        let app = App::build(config).await?;
        let cfg = app.config.clone();
        // Schools are migrated at start too (idempotent), so a SQLite deployment whose
        // volume is not mounted during a release command is still up to date.
        for o in app.tenancy.migrate_all().await? {
            match o.result {
                Ok(0) => {}
                Ok(n) => tracing::info!(school = %o.tenant.slug, applied = n, "school migrated"),
                Err(e) => {
                    tracing::error!(school = %o.tenant.slug, error = %e, "school migration failed at start")
                }
            }
        }
        let demo = if cfg.seed_demo {
            seed::seed_if_empty(&app.tenancy).await?
        } else {
            None
        };
        let mut sender = Sender::new(RateLimits::from_config(&cfg))?;
        sender.lease = Duration::from_secs(cfg.send_lease_seconds);
        let sender = Arc::new(sender);
        let mut runner = JobRunner::standard(sender.clone());
        runner.lease = Duration::from_secs(cfg.job_lease_seconds);
        Ok(Application {
            admin: AdminState::new(app.clone()),
            app,
            demo,
            sender,
            runner: Arc::new(runner),
            tasks: Vec::new(),
        })
    }

    /// Starts the background duties (channel registry refresh, spool ingestion), the
    /// job runner, the conversation worker with its sender, and the hourly retention
    /// pass of enquiries. Once only.
    pub fn start(&mut self) {
        if !self.tasks.is_empty() {
            return;
        }
        self.tasks = self.app.spawn_background();
        self.tasks
            .push(jobs::spawn(self.app.clone(), self.runner.clone()));
        self.tasks
            .push(worker::spawn(self.app.clone(), self.sender.clone()));
        let app = self.app.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(worker::retention::RETENTION_INTERVAL);
            loop {
                tick.tick().await;
                if let Err(e) = worker::retention::enquiries(&app).await {
                    tracing::warn!(error = %e, "enquiry retention postponed");
                }
                if let Err(e) = worker::retention::school_data(&app).await {
                    tracing::warn!(error = %e, "school data retention postponed");
                }
                if let Err(e) = worker::retention::closed_schools(&app).await {
                    tracing::warn!(error = %e, "closed schools' purge postponed");
                }
            }
        }));
        if let Some(dir) = self.app.config.backup_dir.clone() {
            let app = self.app.clone();
            self.tasks.push(tokio::spawn(async move {
                if let Err(e) = crate::backup::check_writable(&dir) {
                    tracing::error!(dir = %dir.display(), error = %e, "RAABTA_BACKUP_DIR cannot be written: no daily backup until it can");
                }
                // A day after the newest backup there (a restart neither adds a copy
                // nor puts the next one off), and at least a minute after start.
                let mut next = crate::backup::next_daily(&dir, chrono::Utc::now());
                loop {
                    tokio::time::sleep(next).await;
                    next = crate::backup::DAILY;
                    match crate::backup::take(&app, &dir, &|_| {}).await {
                        Ok(r) if !r.manifest.skipped.is_empty() => tracing::error!(
                            schools = r.manifest.schools.len(),
                            skipped = r.manifest.skipped.len(),
                            "daily backup taken without some schools (see the errors above)"
                        ),
                        Ok(r) => tracing::info!(
                            schools = r.manifest.schools.len(),
                            pruned = r.pruned,
                            "daily backup taken"
                        ),
                        Err(e) => tracing::error!(dir = %dir.display(), error = %e, "daily backup failed"),
                    }
                }
            }));
        }
    }

    /// The HTTP routes: webhooks, admin, health and metrics.
    pub fn router(&self) -> Router {
        router(&self.app, &self.admin)
    }
}

impl Drop for Application {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The service's routes: health, readiness and metrics, the webhooks, the admin.
pub fn router(app: &App, admin: &AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::handler))
        .merge(crate::webhooks::routes())
        .merge(crate::webchat::routes())
        .merge(crate::admin::web::routes(admin.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app.clone())
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// The databases answer, and this process's master key is still the deployment's.
/// Reasons are logged, never returned.
async fn readyz(State(app): State<App>) -> impl IntoResponse {
    let backend = app.tenancy.backend();
    use crate::store::tenancy::MasterStatus;
    let control = match app.tenancy.master_status().await {
        Ok(MasterStatus::Current) => Ok(()),
        Ok(MasterStatus::RotatedRestartSoon) => {
            tracing::error!(
                "the master key was rotated (raabta keys rotate-master): restart this process \
                 with the new RAABTA_MASTER_KEY within the key cache period"
            );
            Ok(())
        }
        Ok(MasterStatus::RotatedAway) => Err(crate::store::StoreError::WrongMasterKey),
        Err(e) => Err(e),
    };
    let schools = backend.partitions.ping().await;
    // Webhooks accepted while a database was down and not yet ingested.
    let spooled = app.spool.pending_files();
    match (control, schools) {
        (Ok(()), Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "spool_files": spooled })),
        ),
        (c, s) => {
            match c {
                Err(crate::store::StoreError::WrongMasterKey) => tracing::error!(
                    "readiness: the master key was rotated (raabta keys rotate-master): restart \
                     this process with the new RAABTA_MASTER_KEY"
                ),
                Err(e) => tracing::warn!(error = %e, "readiness: control database unavailable"),
                Ok(()) => {}
            }
            if let Err(e) = s {
                tracing::warn!(error = %e, "readiness: school partitions unavailable");
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "spool_files": spooled })),
            )
        }
    }
}
