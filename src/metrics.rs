//! `GET /metrics` in Prometheus text: webhooks received, duplicate and refused per
//! provider; the hashing bound; inbox lag, outbox backlog and dead letters per channel;
//! durable jobs by kind and state, and job attempts by outcome;
//! histograms of step-transaction time and of the bounded work done before a step.
//!
//! Without `RAABTA_METRICS_TOKEN` the endpoint is open and shows totals only (no school
//! or channel is named). With it, a request must carry `Authorization: Bearer <token>`
//! and the queues are also shown per school and channel. Queue figures are read from
//! every school at most every few seconds, one scrape at a time, so anonymous scrapes
//! cannot load the databases.

use crate::app::App;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderOutcome {
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SchoolKindLabel {
    school: String,
    kind: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SchoolLabel {
    school: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelState {
    school: String,
    channel: String,
    state: String,
}

/// How long queue figures read from the schools are reused.
const FIGURES_FOR: Duration = Duration::from_secs(5);

pub struct Metrics {
    /// Totals: shown to anyone (no school or channel named).
    registry: Registry,
    /// Per school and channel: shown with the metrics token only.
    per_school: Registry,
    webhooks: Family<ProviderOutcome, Counter>,
    step_seconds: Histogram,
    prepare_seconds: Histogram,
    argon2_hashes: Gauge,
    argon2_busy: Gauge,
    argon2_in_transactions: Gauge,
    spool_files: Gauge,
    inbox_pending: Gauge,
    inbox_lag_seconds: Gauge<f64, AtomicU64>,
    outbox: Family<StateLabel, Gauge>,
    school_inbox_pending: Family<SchoolLabel, Gauge>,
    school_inbox_lag_seconds: Family<SchoolLabel, Gauge<f64, AtomicU64>>,
    channel_outbox: Family<ChannelState, Gauge>,
    jobs: Family<KindLabel, Gauge>,
    school_jobs: Family<SchoolKindLabel, Gauge>,
    job_attempts: Family<KindLabel, Counter>,
    /// One scrape at a time; when the queue figures were last read.
    scrape: tokio::sync::Mutex<Option<Instant>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Registers a metric under `name` and returns the handle the service updates.
fn register<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("raabta");
        let webhooks = register(
            &mut registry,
            "webhooks",
            "Webhook requests by provider and outcome (stored, duplicate, refused_signature, unknown_channel, malformed, unavailable, ignored)",
            Family::<ProviderOutcome, Counter>::default(),
        );
        // 1 ms .. ~4 s
        let step_seconds = register(
            &mut registry,
            "step_transaction_seconds",
            "Time a conversation step holds its database transaction",
            Histogram::new(exponential_buckets(0.001, 2.0, 13)),
        );
        let prepare_seconds = register(
            &mut registry,
            "step_prepare_seconds",
            "Bounded work done before a step's transaction (access-code checks), waiting included",
            Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        );
        let argon2_hashes = register(
            &mut registry,
            "argon2_hashes",
            "Argon2 hashes run since start",
            Gauge::default(),
        );
        let argon2_busy = register(
            &mut registry,
            "argon2_refused",
            "Requests refused as busy by the hashing bound since start",
            Gauge::default(),
        );
        let argon2_in_transactions = register(
            &mut registry,
            "argon2_in_transactions",
            "Argon2 hashes run while a database transaction was held (should stay 0)",
            Gauge::default(),
        );
        let spool_files = register(
            &mut registry,
            "spool_files",
            "Spool files waiting to be ingested (webhooks accepted while a database was down)",
            Gauge::default(),
        );
        let inbox_pending = register(
            &mut registry,
            "inbox_pending_events",
            "Inbound events waiting for the conversation worker, all schools",
            Gauge::default(),
        );
        let inbox_lag_seconds = register(
            &mut registry,
            "inbox_lag_seconds",
            "Age of the oldest waiting inbound event, all schools",
            Gauge::<f64, AtomicU64>::default(),
        );
        let outbox = register(
            &mut registry,
            "outbox_rows",
            "Unsent outbox rows by state (pending, sending, dead, manual), all schools",
            Family::<StateLabel, Gauge>::default(),
        );
        let mut per_school = Registry::with_prefix("raabta");
        let school_inbox_pending = register(
            &mut per_school,
            "school_inbox_pending_events",
            "Inbound events waiting, per school (with the metrics token only)",
            Family::<SchoolLabel, Gauge>::default(),
        );
        let school_inbox_lag_seconds = register(
            &mut per_school,
            "school_inbox_lag_seconds",
            "Age of the oldest waiting inbound event, per school (with the metrics token only)",
            Family::<SchoolLabel, Gauge<f64, AtomicU64>>::default(),
        );
        let channel_outbox = register(
            &mut per_school,
            "channel_outbox_rows",
            "Unsent outbox rows per school, channel and state (with the metrics token only)",
            Family::<ChannelState, Gauge>::default(),
        );
        let jobs = register(
            &mut registry,
            "jobs",
            "Durable jobs by kind and state (pending, running, done, dead)",
            Family::<KindLabel, Gauge>::default(),
        );
        let job_attempts = register(
            &mut registry,
            "job_attempts",
            "Job attempts since start by kind and outcome (done, retry, failed)",
            Family::<KindLabel, Counter>::default(),
        );
        let school_jobs = register(
            &mut per_school,
            "school_jobs",
            "Durable jobs per school, kind and state (with the metrics token only)",
            Family::<SchoolKindLabel, Gauge>::default(),
        );
        Self {
            registry,
            per_school,
            webhooks,
            step_seconds,
            prepare_seconds,
            argon2_hashes,
            argon2_busy,
            argon2_in_transactions,
            spool_files,
            inbox_pending,
            inbox_lag_seconds,
            outbox,
            school_inbox_pending,
            school_inbox_lag_seconds,
            channel_outbox,
            jobs,
            school_jobs,
            job_attempts,
            scrape: tokio::sync::Mutex::new(None),
        }
    }

    /// Counts webhook requests.
    pub fn webhook(&self, provider: &str, outcome: &str, n: u64) {
        if n > 0 {
            self.webhooks
                .get_or_create(&ProviderOutcome {
                    provider: provider.to_string(),
                    outcome: outcome.to_string(),
                })
                .inc_by(n);
        }
    }

    /// A webhook answered with this status, counted by what it means.
    pub fn webhook_refused(&self, provider: &str, status: StatusCode) {
        let outcome = match status.as_u16() {
            401 | 403 => "refused_signature",
            404 => "unknown_channel",
            400 | 413 => "malformed",
            _ => "unavailable",
        };
        self.webhook(provider, outcome, 1);
    }

    pub fn step(&self, took: Duration) {
        self.step_seconds.observe(took.as_secs_f64());
    }

    pub fn prepared(&self, took: Duration) {
        self.prepare_seconds.observe(took.as_secs_f64());
    }

    /// One job attempt ended: done, retry or failed.
    pub fn job_attempt(&self, kind: &str, outcome: &str) {
        self.job_attempts
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
                state: outcome.to_string(),
            })
            .inc();
    }

    /// The text of a scrape: figures refreshed (every school's queues read at most every
    /// few seconds, one scrape at a time), per school only when `per_school`.
    async fn scrape(&self, app: &App, per_school: bool) -> Result<String, std::fmt::Error> {
        let mut last = self.scrape.lock().await;
        self.argon2_hashes.set(app.hash_gate.hashes_run() as i64);
        self.argon2_busy.set(app.hash_gate.refused() as i64);
        self.argon2_in_transactions
            .set(app.hash_gate.hashes_in_transactions() as i64);
        self.spool_files.set(app.spool.pending_files() as i64);
        if !last.is_some_and(|t| t.elapsed() < FIGURES_FOR) {
            self.read_queues(app).await;
            *last = Some(Instant::now());
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)?;
        if per_school {
            prometheus_client::encoding::text::encode_registry(&mut out, &self.per_school)?;
        }
        prometheus_client::encoding::text::encode_eof(&mut out)?;
        Ok(out)
    }

    async fn read_queues(&self, app: &App) {
        let now = app.clock.now();
        let routes = app.registry.current();
        let (mut pending, mut oldest) = (0i64, None::<chrono::DateTime<chrono::Utc>>);
        let mut by_state = std::collections::BTreeMap::<String, i64>::new();
        self.school_inbox_pending.clear();
        self.school_inbox_lag_seconds.clear();
        self.channel_outbox.clear();
        self.jobs.clear();
        self.school_jobs.clear();
        let mut jobs = std::collections::BTreeMap::<(String, String), i64>::new();
        let tenants = app.tenancy.list().await.unwrap_or_default();
        for tenant in tenants {
            let slug = tenant.slug.to_string();
            let figures = match app.tenancy.open(tenant).await {
                Ok(school) => match school.store.queue_figures().await {
                    Ok(f) => school.store.job_counts().await.map(|j| (f, j)),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            let (figures, job_counts) = match figures {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(school = %slug, error = %e, "metrics: queue figures unavailable");
                    continue;
                }
            };
            pending += figures.pending_events;
            oldest = match (oldest, figures.oldest_pending_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let school = SchoolLabel {
                school: slug.clone(),
            };
            self.school_inbox_pending
                .get_or_create(&school)
                .set(figures.pending_events);
            self.school_inbox_lag_seconds
                .get_or_create(&school)
                .set(lag_seconds(now, figures.oldest_pending_at));
            for (channel, state, rows) in figures.outbox {
                *by_state.entry(state.clone()).or_default() += rows;
                let provider = routes
                    .by_id(channel)
                    .map(|a| a.provider.as_str())
                    .unwrap_or("unknown");
                self.channel_outbox
                    .get_or_create(&ChannelState {
                        school: slug.clone(),
                        channel: format!("{provider}:{channel}"),
                        state,
                    })
                    .set(rows);
            }
            for (kind, state, n) in job_counts {
                *jobs.entry((kind.clone(), state.clone())).or_default() += n;
                self.school_jobs
                    .get_or_create(&SchoolKindLabel {
                        school: slug.clone(),
                        kind,
                        state,
                    })
                    .set(n);
            }
        }
        for ((kind, state), n) in jobs {
            self.jobs.get_or_create(&KindLabel { kind, state }).set(n);
        }
        self.inbox_pending.set(pending);
        self.inbox_lag_seconds.set(lag_seconds(now, oldest));
        for state in ["pending", "sending", "dead", "manual"] {
            self.outbox
                .get_or_create(&StateLabel {
                    state: state.to_string(),
                })
                .set(by_state.get(state).copied().unwrap_or(0));
        }
    }
}

fn lag_seconds(
    now: chrono::DateTime<chrono::Utc>,
    oldest: Option<chrono::DateTime<chrono::Utc>>,
) -> f64 {
    oldest
        .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// `GET /metrics`.
pub async fn handler(State(app): State<App>, headers: HeaderMap) -> Response {
    let per_school = match &app.config.metrics_token {
        None => false,
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !crate::admin::auth::ct_eq(token.expose(), given.trim()) {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer")],
                    "metrics need the bearer token",
                )
                    .into_response();
            }
            true
        }
    };
    let body = match app.metrics.scrape(&app, per_school).await {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
