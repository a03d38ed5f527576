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
use prometheus_client::registry::Registry;
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

/// Which registry a metric is shown in.
enum Shown {
    /// Totals: shown to anyone (no school or channel named).
    Totals,
    /// Per school and channel: shown with the metrics token only.
    PerSchool,
}

/// The metrics, each given once: its doc line (which is also its help text), its field,
/// name and registry, its type and how it is made. Makes `Metrics` and `Metrics::new`.
macro_rules! metrics {
    ($(#[doc = $help:literal] $field:ident($name:literal, $shown:ident): $ty:ty = $make:expr;)+) => {
        pub struct Metrics {
            /// Totals: shown to anyone (no school or channel named).
            registry: Registry,
            /// Per school and channel: shown with the metrics token only.
            per_school: Registry,
            $(#[doc = $help] $field: $ty,)+
            /// One scrape at a time; when the queue figures were last read.
            scrape: tokio::sync::Mutex<Option<Instant>>,
        }

        impl Metrics {
            pub fn new() -> Self {
                let mut registry = Registry::with_prefix("raabta");
                let mut per_school = Registry::with_prefix("raabta");
                $(
                    let $field: $ty = $make;
                    let shown = match Shown::$shown {
                        Shown::Totals => &mut registry,
                        Shown::PerSchool => &mut per_school,
                    };
                    shown.register($name, $help.trim(), $field.clone());
                )+
                Self {
                    registry,
                    per_school,
                    $($field,)+
                    scrape: tokio::sync::Mutex::new(None),
                }
            }
        }
    };
}

// Histogram buckets: step transactions 1 ms .. ~4 s, preparation 0.5 ms .. ~4 s.
metrics! {
    /// Webhook requests by provider and outcome (stored, duplicate, refused_signature, unknown_channel, malformed, unavailable, ignored)
    webhooks("webhooks", Totals): Family<ProviderOutcome, Counter> = Family::default();
    /// Time a conversation step holds its database transaction
    step_seconds("step_transaction_seconds", Totals): Histogram = Histogram::new(exponential_buckets(0.001, 2.0, 13));
    /// Bounded work done before a step's transaction (access-code checks), waiting included
    prepare_seconds("step_prepare_seconds", Totals): Histogram = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
    /// Argon2 hashes run since start
    argon2_hashes("argon2_hashes", Totals): Gauge = Gauge::default();
    /// Requests refused as busy by the hashing bound since start
    argon2_busy("argon2_refused", Totals): Gauge = Gauge::default();
    /// Argon2 hashes run while a database transaction was held (should stay 0)
    argon2_in_transactions("argon2_in_transactions", Totals): Gauge = Gauge::default();
    /// Spool files waiting to be ingested (webhooks accepted while a database was down)
    spool_files("spool_files", Totals): Gauge = Gauge::default();
    /// Inbound events waiting for the conversation worker, all schools
    inbox_pending("inbox_pending_events", Totals): Gauge = Gauge::default();
    /// Age of the oldest waiting inbound event, all schools
    inbox_lag_seconds("inbox_lag_seconds", Totals): Gauge<f64, AtomicU64> = Gauge::default();
    /// Unsent outbox rows by state (pending, sending, dead, manual), all schools
    outbox("outbox_rows", Totals): Family<StateLabel, Gauge> = Family::default();
    /// Inbound events waiting, per school (with the metrics token only)
    school_inbox_pending("school_inbox_pending_events", PerSchool): Family<SchoolLabel, Gauge> = Family::default();
    /// Age of the oldest waiting inbound event, per school (with the metrics token only)
    school_inbox_lag_seconds("school_inbox_lag_seconds", PerSchool): Family<SchoolLabel, Gauge<f64, AtomicU64>> = Family::default();
    /// Unsent outbox rows per school, channel and state (with the metrics token only)
    channel_outbox("channel_outbox_rows", PerSchool): Family<ChannelState, Gauge> = Family::default();
    /// Durable jobs by kind and state (pending, running, done, dead)
    jobs("jobs", Totals): Family<KindLabel, Gauge> = Family::default();
    /// Job attempts since start by kind and outcome (done, retry, failed)
    job_attempts("job_attempts", Totals): Family<KindLabel, Counter> = Family::default();
    /// Durable jobs per school, kind and state (with the metrics token only)
    school_jobs("school_jobs", PerSchool): Family<SchoolKindLabel, Gauge> = Family::default();
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

impl Metrics {
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
