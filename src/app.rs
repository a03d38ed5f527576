//! The state every boundary shares: configuration, the schools, the channel registry,
//! the spool, the clock, the wake-ups, the flows and the process-wide bounds. The web
//! admin, the webhooks and the worker each build on [`App`] and never on each other;
//! `application.rs` composes them (sub-states through `FromRef`, one router).

use crate::config::{Config, ConfigError};
use crate::routing::Registry;
use crate::spool::Spool;
use crate::store::tenancy::Tenancy;
use crate::store::{self, BackendKind, ConnectOptions, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const REGISTRY_REFRESH: Duration = Duration::from_secs(10);
pub const SPOOL_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo school: {0}")]
    Seed(#[from] crate::seed::SeedError),
    #[error("HTTP client for the providers: {0}")]
    Http(#[from] reqwest::Error),
    /// A flows set that could not be read (a configured directory missing, a file that
    /// does not parse): one line naming the set.
    #[error("{set}: {problem}")]
    FlowsLoad { set: String, problem: String },
    #[error("invalid flows in {set} (fix them, then start again):\n{list}")]
    Flows { set: String, list: String },
}

/// The service's clock. Tests and the transcript runner move it forward to reach
/// timeouts and closed windows without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: std::sync::atomic::AtomicI64,
}

impl Clock {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
            + chrono::Duration::seconds(
                self.offset_seconds
                    .load(std::sync::atomic::Ordering::Relaxed),
            )
    }
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), std::sync::atomic::Ordering::Relaxed);
    }
    /// Shows `at` now, and moves on from there (the transcript tests run on a fixed
    /// school day, so their dates and weekdays mean the same on any day they run).
    pub fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        let offset = (at - chrono::Utc::now()).num_seconds();
        self.offset_seconds
            .store(offset, std::sync::atomic::Ordering::Relaxed);
    }
    /// A clock showing this one's time now that moves on its own afterwards (the
    /// simulator gives each conversation one, so `/wait` moves only that conversation).
    pub fn fork(&self) -> Clock {
        Clock {
            offset_seconds: std::sync::atomic::AtomicI64::new(
                self.offset_seconds
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
        }
    }
}

/// Loads and checks the flows, records their versions and loads earlier ones, so a
/// conversation started on an older version finishes on it.
/// Which flows set a process runs, in words: "the embedded flows" (built into the binary)
/// or "flows directory <path>" (a configured `RAABTA_FLOWS_DIR`, which replaces them).
pub fn flows_set(dir: Option<&std::path::Path>) -> String {
    match dir {
        None => "the embedded flows".into(),
        Some(dir) => format!("flows directory {}", dir.display()),
    }
}

/// Reads the flows set (the embedded one unless a directory is configured), unchecked.
pub fn read_flows(dir: Option<&std::path::Path>) -> Result<crate::flow::Library, AppError> {
    match dir {
        None => crate::flow::Library::embedded(),
        Some(dir) => crate::flow::Library::load(dir),
    }
    .map_err(|e| AppError::FlowsLoad {
        set: flows_set(dir),
        problem: e.to_string(),
    })
}

/// Reads and checks the flows set, records its versions and adds the earlier versions
/// that running sessions may still use.
pub async fn load_flows(
    dir: Option<&std::path::Path>,
    control: &dyn crate::store::ControlStore,
) -> Result<crate::flow::Library, AppError> {
    let mut lib = read_flows(dir)?;
    let problems = crate::flow::check::check(&lib);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(AppError::Flows {
            set: flows_set(dir),
            list: list.join("\n"),
        });
    }
    control.record_flow_versions(&lib.sources).await?;
    for (id, hash, source) in control.flow_versions().await? {
        if let Err(e) = lib.add_version(&id, &hash, &source) {
            tracing::warn!(flow = %id, version = %hash, error = %e, "an earlier flow version no longer parses; sessions on it continue on the current version where the step still exists");
        }
    }
    Ok(lib)
}

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub tenancy: Arc<Tenancy>,
    /// Channel accounts, decrypted, for routing and verifying webhooks.
    pub registry: Arc<Registry>,
    pub spool: Arc<Spool>,
    /// Wakes the conversation worker when new events are stored.
    pub wake: Arc<Notify>,
    /// Wakes the job runner (new messages may bring media to fetch).
    pub wake_jobs: Arc<Notify>,
    /// The conversations (the embedded flows or a configured directory), checked at start.
    pub flows: Arc<crate::flow::Library>,
    pub clock: Arc<Clock>,
    /// Access-code checks across all schools of this process.
    pub login_limiter: Arc<governor::DefaultDirectRateLimiter>,
    /// The one bound on Argon2 work in this process: admin sign-in, password links and
    /// chat access-code checks share it.
    pub hash_gate: Arc<crate::password::HashGate>,
    /// Counters and histograms behind `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The local language model (loaded by `serve` in the background; n-grams until
    /// then, or without it).
    pub nlu: Arc<crate::nlu::Nlu>,
    /// The AI endpoint for complaint triage (`RAABTA_AI_*`), if any.
    pub ai: Option<Arc<crate::triage::ai::AiClient>>,
    /// The face models (loaded on first use; photo attendance says so without them).
    pub face: Arc<crate::face::service::FaceService>,
    /// The web chat's limits (per address, conversation and school; steps at once).
    pub webchat: Arc<crate::webchat::Limits>,
    /// School exports running in this process: rows written so far, by job id.
    pub export_progress: Arc<std::sync::Mutex<std::collections::HashMap<uuid::Uuid, u64>>>,
}

impl App {
    /// Connects the database named by the config (migrating the control database),
    /// checks the master key, and is ready to serve.
    pub async fn build(config: Config) -> Result<Self, AppError> {
        // Plain copies a killed backup or restore left behind (before anything can
        // refuse to start: a killed restore leaves its database marked unfinished).
        crate::backup::sweep_work(&config.data_dir);
        let master = config.master_key()?;
        crate::fsutil::create_private_dir(&config.data_dir).map_err(StoreError::Io)?;
        let backend = store::connect(
            config.database_url.expose(),
            &ConnectOptions {
                data_dir: config.data_dir.clone(),
                max_open_schools: config.max_open_schools,
                forbid_superuser: config.is_production(),
            },
        )
        .await?;
        let spool = Spool::new(&config.data_dir, master.clone());
        let tenancy = Tenancy::new(
            backend,
            master,
            Duration::from_secs(config.key_cache_seconds),
        )
        .await?;
        let flows = load_flows(
            config.flows_dir.as_deref(),
            tenancy.backend().control.as_ref(),
        )
        .await?;
        let registry = Registry::with_platform_meta(config.meta_app.clone());
        registry.reload(&tenancy).await?;
        let hash_gate = Arc::new(crate::password::HashGate::from_cores());
        {
            // Meta channels that still hold an app secret of their own: before the
            // platform app, schools typed the shared secret into each channel.
            let routes = registry.current();
            let own = routes
                .meta_accounts()
                .filter(|a| a.credentials.has_own_meta_app())
                .count();
            if own > 0 {
                tracing::warn!(channels = own, platform_app = routes.platform_meta().is_some(), "Meta channels with an app secret of their own: if that is the old shared secret, rotate it at Meta, then `raabta platform meta-app set --adopt-meta-channels`");
            }
        }
        let nlu = Arc::new(crate::nlu::Nlu::new(
            flows.intents.clone(),
            Some(config.models_dir.clone()),
            Some(config.data_dir.join("cache")),
        ));
        let ai = config
            .ai
            .as_ref()
            .map(|c| Arc::new(crate::triage::ai::AiClient::new(c)));
        let face = Arc::new(crate::face::service::FaceService::new(Some(
            config.models_dir.clone(),
        )));
        let webchat = Arc::new(crate::webchat::Limits::new(
            config.webchat_per_address,
            config.webchat_per_school,
        ));
        Ok(Self {
            ai,
            face,
            config: Arc::new(config),
            tenancy: Arc::new(tenancy),
            registry: Arc::new(registry),
            spool: Arc::new(spool),
            wake: Arc::new(Notify::new()),
            wake_jobs: Arc::new(Notify::new()),
            nlu,
            flows: Arc::new(flows),
            clock: Arc::new(Clock::default()),
            login_limiter: crate::codes::global_login_limiter(),
            webchat,
            hash_gate,
            metrics: Arc::new(crate::metrics::Metrics::new()),
            export_progress: Arc::default(),
        })
    }

    pub fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// Wakes the job runner (a change enqueued a job; otherwise it looks every second).
    pub fn wake_jobs(&self) {
        self.wake_jobs.notify_one();
    }

    /// Background duties of a serving process: refresh the channel registry (channels
    /// added by the CLI appear within `REGISTRY_REFRESH`) and ingest the spool.
    pub fn spawn_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        let app = self.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(REGISTRY_REFRESH);
            loop {
                tick.tick().await;
                if let Err(e) = app.registry.reload(&app.tenancy).await {
                    tracing::warn!(error = %e, "channel registry refresh failed; keeping the previous one");
                }
            }
        }));
        let app = self.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(SPOOL_INTERVAL);
            loop {
                tick.tick().await;
                match app.spool.ingest(&app.tenancy).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(events = n, "spooled webhooks ingested");
                        app.wake_worker();
                        app.wake_jobs();
                    }
                    Err(e) => tracing::warn!(error = %e, "spool ingestion postponed"),
                }
            }
        }));
        tasks
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.tenancy.backend().kind
    }
}

/// The client's address: the trusted proxy's header when configured
/// (`RAABTA_CLIENT_IP_HEADER`), else the TCP peer (in-process tests have neither).
pub fn client_address(
    app: &App,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> std::net::IpAddr {
    if let Some(name) = &app.config.client_ip_header {
        if let Some(ip) = headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            // A proxy appends the address it saw: the right-most value is the one the
            // trusted proxy wrote (the left ones are the client's to choose).
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
        {
            return ip;
        }
    }
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}
