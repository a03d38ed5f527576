//! The service wired as `raabta serve` runs it, for the binary and the tests alike:
//! the app on its database with every school migrated (and the demo school seeded when
//! configured), then, once started, the background duties, the job runner and the
//! conversation worker with its sender. Dropping the `Application` stops them.

use crate::app::{App, AppError};
use crate::seed::{self, DemoLogin};
use crate::worker::jobs::{self, JobRunner};
use crate::worker::{self, RateLimits, Sender};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct Application {
    pub app: App,
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
            app,
            demo,
            sender,
            runner: Arc::new(runner),
            tasks: Vec::new(),
        })
    }

    /// Starts the background duties (channel registry refresh, spool ingestion), the
    /// job runner and the conversation worker with its sender. Once only.
    pub fn start(&mut self) {
        if !self.tasks.is_empty() {
            return;
        }
        self.tasks = self.app.spawn_background();
        self.tasks
            .push(jobs::spawn(self.app.clone(), self.runner.clone()));
        self.tasks
            .push(worker::spawn(self.app.clone(), self.sender.clone()));
    }

    /// The HTTP routes: webhooks, admin, health and metrics.
    pub fn router(&self) -> Router {
        self.app.router()
    }
}

impl Drop for Application {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
