//! Background work of a serving process:
//! * the **conversation worker** takes each conversation's pending inbound events in
//!   order, one transaction per event (decision, outbox rows, activity entry);
//! * the **outbox sender** sends due outbox rows, the oldest unsent one per
//!   conversation at a time (per-recipient FIFO), within per-channel rate limits,
//!   retrying with exponential backoff and jitter, and handling opt-outs, closed
//!   24-hour windows (manual wa.me links) and dead letters.

pub mod actions;
pub mod driver;
pub mod face;
pub mod jobs;
pub mod media;
pub mod notice;
pub mod retention;
pub mod step;
pub mod triage;

use crate::app::{App, Clock};
use crate::channel::send::{send, send_template, SendOutcome};
use crate::domain::message::{wa_me_link, OutboundMessage, OutboundMode, Provider};
use crate::store::{OutboxItem, ProcessOutcome, StoreError};
use chrono::{Duration as ChronoDuration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Attempts before a message is dead-lettered.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed row is ours before another sender may take it (crash recovery).
pub const SEND_LEASE: Duration = Duration::from_secs(60);
/// The WhatsApp customer-service window.
pub const SERVICE_WINDOW: ChronoDuration = ChronoDuration::hours(24);

/// Per-sender rate limits (messages per second), from the providers' documentation.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub meta_per_second: u32,
    pub twilio_per_second: u32,
    pub telegram_per_second: u32,
}

impl RateLimits {
    pub fn from_config(c: &crate::config::Config) -> Self {
        Self {
            meta_per_second: c.meta_rate,
            twilio_per_second: c.twilio_rate,
            telegram_per_second: c.telegram_rate,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            meta_per_second: 80,
            twilio_per_second: 10,
            telegram_per_second: 30,
        }
    }
}

pub struct Sender {
    client: reqwest::Client,
    /// First retry delay; doubles per attempt (tests shorten it).
    pub retry_base: Duration,
    /// How long a claimed row stays ours (see [`SEND_LEASE`]).
    pub lease: Duration,
    meta: DefaultKeyedRateLimiter<Uuid>,
    twilio: DefaultKeyedRateLimiter<Uuid>,
    telegram: DefaultKeyedRateLimiter<Uuid>,
}

fn quota(per_second: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Sender {
    pub fn new(limits: RateLimits) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            // Provider APIs answer directly; a redirect could carry a token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            retry_base: Duration::from_secs(1),
            lease: SEND_LEASE,
            meta: RateLimiter::keyed(quota(limits.meta_per_second)),
            twilio: RateLimiter::keyed(quota(limits.twilio_per_second)),
            telegram: RateLimiter::keyed(quota(limits.telegram_per_second)),
        })
    }

    fn limiter(&self, p: Provider) -> &DefaultKeyedRateLimiter<Uuid> {
        match p {
            Provider::Meta => &self.meta,
            Provider::Twilio => &self.twilio,
            // Console rows never reach a provider (see `send_due`); they share a bucket.
            Provider::Telegram | Provider::Console | Provider::Web => &self.telegram,
        }
    }
}

/// Exponential backoff with jitter: `base` × 2^(attempt-1) × (0.5..1.5), at most ten minutes.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.clamp(1, 12) as u32 - 1);
    let jitter: f64 = 0.5 + rand::random::<f64>();
    base.saturating_mul(factor)
        .mul_f64(jitter)
        .min(Duration::from_secs(600))
}

/// Runs `pass` on every active school and adds up what each returns. One school's
/// trouble (its database down, say) is logged as `what` and the others still get
/// their turn.
async fn each_school<F, Fut, N>(app: &App, what: &str, mut pass: F) -> Result<N, StoreError>
where
    F: FnMut(crate::domain::school::Tenant) -> Fut,
    Fut: std::future::Future<Output = Result<N, StoreError>>,
    N: std::ops::AddAssign + Default,
{
    let mut total = N::default();
    for tenant in app.tenancy.list().await? {
        if tenant.status != crate::domain::school::TenantStatus::Active {
            continue;
        }
        let slug = tenant.slug.clone();
        match pass(tenant).await {
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(school = %slug, error = %e, pass = what, "pass failed for a school")
            }
        }
    }
    Ok(total)
}

/// Processes every pending inbound event of every school; returns how many.
pub async fn process_inbound(app: &App) -> Result<usize, StoreError> {
    each_school(app, "conversation worker", |tenant| {
        process_school(app, tenant)
    })
    .await
}

async fn process_school(
    app: &App,
    tenant: crate::domain::school::Tenant,
) -> Result<usize, StoreError> {
    let mut done = 0;
    let driver = Arc::new(driver::FlowDriver::for_tenant(app, &tenant));
    let school = app.tenancy.open(tenant).await?;
    loop {
        // A conversation waiting for its media answers `WaitingForMedia` at once; taking
        // up to 500 per round keeps those from starving the others.
        let conversations = school.store.conversations_with_pending(500).await?;
        if conversations.is_empty() {
            return Ok(done);
        }
        // Conversations are independent: work on several at once (each one stays
        // strictly ordered, and its lock keeps other workers out).
        let mut tasks = tokio::task::JoinSet::new();
        for c in conversations {
            if tasks.len() >= WORKER_CONCURRENCY {
                if let Some(n) = tasks.join_next().await {
                    done += joined(n)?;
                }
            }
            let (store, driver, clock, metrics) = (
                school.store.clone(),
                driver.clone(),
                app.clock.clone(),
                app.metrics.clone(),
            );
            tasks.spawn(async move {
                run_conversation(store.as_ref(), &driver, c, &clock, &metrics).await
            });
        }
        let before = done;
        let mut first_error = None;
        while let Some(n) = tasks.join_next().await {
            match joined(n) {
                Ok(n) => done += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if done == before {
            return Ok(done);
        }
    }
}

/// Works through one conversation's pending events in order until it is idle, held by
/// another worker, or waiting for its media: the bounded work before each step
/// (pattern 1, an access-code check), then the step itself. The server's worker and
/// the simulator both run conversations through this.
pub async fn run_conversation(
    store: &dyn crate::store::TenantStore,
    driver: &driver::FlowDriver,
    conversation: Uuid,
    clock: &Clock,
    metrics: &crate::metrics::Metrics,
) -> Result<usize, StoreError> {
    let mut n = 0usize;
    loop {
        let started = std::time::Instant::now();
        let prepared = driver.prepare(store, conversation, clock.now()).await?;
        if prepared.prechecked.is_some() {
            metrics.prepared(started.elapsed());
        }
        let started = std::time::Instant::now();
        let ProcessOutcome::Done { .. } =
            step::process_next(store, conversation, &prepared, clock.now()).await?
        else {
            return Ok(n);
        };
        metrics.step(started.elapsed());
        n += 1;
    }
}

/// Conversations processed at once per school.
pub const WORKER_CONCURRENCY: usize = 8;

/// Sends in flight at once per school (each to a different conversation).
pub const SEND_CONCURRENCY: usize = 16;
/// Rows claimed per round: two rounds of sends, so even with 15-second provider
/// timeouts every claimed row is tried well within the 60-second lease.
pub const CLAIM_BATCH: i64 = 2 * SEND_CONCURRENCY as i64;

/// Waits for every task, and only then reports the first error: a failure in one send
/// never abandons others mid-flight (that would send them again after the lease).
async fn join_all(
    mut tasks: tokio::task::JoinSet<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let mut first = None;
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = joined(done) {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// A finished background task's own result; a task that panicked or was cancelled
/// counts as an error.
fn joined<T>(done: Result<Result<T, StoreError>, tokio::task::JoinError>) -> Result<T, StoreError> {
    done.map_err(|e| StoreError::Corrupt(format!("background task: {e}")))?
}

/// Sends every due outbox row of every school once; returns how many were attempted.
/// A failing school is logged and the others still get their turn.
pub async fn send_due(app: &App, sender: &Arc<Sender>) -> Result<usize, StoreError> {
    each_school(app, "outbox", |tenant| async move {
        let school = app.tenancy.open(tenant).await?;
        send_school(app, sender, &school.store, None, &app.clock).await
    })
    .await
}

/// Sends the due outbox rows of one school (of one conversation only, if `only`) until
/// none is due, on `clock` (the simulator's conversation has its own); returns how many
/// were attempted.
pub async fn send_school(
    app: &App,
    sender: &Arc<Sender>,
    store: &Arc<dyn crate::store::TenantStore>,
    only: Option<Uuid>,
    clock: &Arc<Clock>,
) -> Result<usize, StoreError> {
    let mut attempted = 0;
    let routes = app.registry.current();
    loop {
        let items = store
            .claim_due(clock.now(), sender.lease, CLAIM_BATCH, only)
            .await?;
        if items.is_empty() {
            return Ok(attempted);
        }
        // Claimed rows belong to distinct conversations: they may go out in parallel.
        let mut tasks = tokio::task::JoinSet::new();
        let mut first_error = None;
        for item in items {
            attempted += 1;
            // Rolling window of SEND_CONCURRENCY sends; errors are collected, never
            // returned early (that would abandon sends in flight).
            if tasks.len() >= SEND_CONCURRENCY {
                if let Some(Err(e)) = tasks.join_next().await.map(joined) {
                    first_error.get_or_insert(e);
                }
            }
            if matches!(
                item.conversation.provider,
                Provider::Console | Provider::Web
            ) {
                // The terminal simulator's channel and the web chat: nothing goes
                // anywhere, the simulator or the page reads its replies from the outbox.
                let id = format!("{}:{}", item.conversation.provider, item.id);
                settle(store.mark_sent(item.id, item.attempts, &id).await, &item)?;
                continue;
            }
            let account = routes.by_id(item.conversation.channel_id);
            let (app, sender, store, clock) =
                (app.clone(), sender.clone(), store.clone(), clock.clone());
            tasks.spawn(async move {
                match account {
                    Some(account) => {
                        let delivery = Delivery {
                            app: &app,
                            sender: &sender,
                            store: store.as_ref(),
                            account: &account,
                            clock: &clock,
                        };
                        delivery.deliver(item).await
                    }
                    None => {
                        let later = clock.now() + ChronoDuration::minutes(5);
                        settle(
                            store
                                .mark_retry(item.id, item.attempts, later, "channel not loaded")
                                .await,
                            &item,
                        )
                    }
                }
            });
        }
        let rest = join_all(tasks).await;
        if let Some(e) = first_error {
            return Err(e);
        }
        rest?;
    }
}

/// Whether a free-form message may go to this conversation now: WhatsApp allows one
/// only within 24 hours of the person's last message; other channels always.
pub fn window_open(
    provider: Provider,
    last_inbound_at: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> bool {
    !provider.has_service_window()
        || last_inbound_at
            .map(|t| now - t < SERVICE_WINDOW)
            .unwrap_or(false)
}

/// A `mark_*` that found its claim gone: another sender took the row after our lease
/// ran out, and its outcome stands.
fn settle(r: Result<bool, StoreError>, item: &OutboxItem) -> Result<(), StoreError> {
    if !r? {
        tracing::warn!(outbox = %item.id, "outbox claim lost (lease expired); leaving the row to its new owner");
    }
    Ok(())
}

/// One send of one claimed row on its channel: what every step of a delivery uses.
struct Delivery<'a> {
    app: &'a App,
    sender: &'a Sender,
    store: &'a dyn crate::store::OutboxStore,
    account: &'a crate::routing::Account,
    clock: &'a Clock,
}

impl Delivery<'_> {
    #[tracing::instrument(name = "deliver", skip_all, fields(outbox = %item.id, provider = %self.account.provider, attempt = item.attempts))]
    async fn deliver(&self, item: OutboxItem) -> Result<(), StoreError> {
        let (store, account) = (self.store, self.account);
        let conv = &item.conversation;
        if conv.opted_out_at.is_some() {
            return settle(
                store
                    .mark_dead(item.id, item.attempts, "recipient opted out")
                    .await,
                &item,
            );
        }
        if item.mode == OutboundMode::ManualLink {
            return self
                .to_manual(&item, "manual-link mode: handed to staff")
                .await;
        }
        let open = window_open(account.provider, conv.last_inbound_at, self.clock.now());
        if !open && !matches!(item.message, OutboundMessage::CallbackAnswer { .. }) {
            return self
                .closed_window(&item, "24-hour window closed before sending")
                .await;
        }
        let callback = self.ready_to_send().await;
        let outcome = send(
            &self.sender.client,
            &account.api_base,
            &account.credentials,
            conv.sender.expose(),
            &item.message,
            &callback,
        )
        .await;
        match self.settle_delivered(&item, outcome).await? {
            None => Ok(()),
            Some(SendOutcome::Retry { reason, after }) => {
                self.retry_or_dead(&item, &reason, after).await
            }
            Some(SendOutcome::WindowClosed { reason }) => self.closed_window(&item, &reason).await,
            Some(SendOutcome::Failed { reason }) => {
                tracing::warn!(outbox = %item.id, provider = %account.provider, "send failed permanently");
                settle(
                    store.mark_dead(item.id, item.attempts, &reason).await,
                    &item,
                )
            }
            // Settled by settle_delivered.
            Some(SendOutcome::Accepted { .. } | SendOutcome::OptedOut { .. }) => Ok(()),
        }
    }

    /// Waits for the provider's rate limit of this account; returns the status callback
    /// URL.
    async fn ready_to_send(&self) -> String {
        self.sender
            .limiter(self.account.provider)
            .until_key_ready(&self.account.id)
            .await;
        format!("{}/webhooks/twilio", self.app.config.public_url)
    }

    /// Settles the outcomes a message and a template settle alike (accepted: sent; the
    /// recipient opted out); any other outcome is returned for the caller's own rule.
    async fn settle_delivered(
        &self,
        item: &OutboxItem,
        outcome: SendOutcome,
    ) -> Result<Option<SendOutcome>, StoreError> {
        let store = self.store;
        match outcome {
            SendOutcome::Accepted {
                provider_message_id,
            } => settle(
                store
                    .mark_sent(item.id, item.attempts, &provider_message_id)
                    .await,
                item,
            )
            .map(|()| None),
            SendOutcome::OptedOut { reason } => settle(
                store
                    .mark_opted_out(item.id, item.attempts, item.conversation.id, &reason)
                    .await,
                item,
            )
            .map(|()| None),
            other => Ok(Some(other)),
        }
    }

    /// Schedules another attempt after the backoff (or the provider's `after`), or
    /// dead-letters the row after the last attempt.
    async fn retry_or_dead(
        &self,
        item: &OutboxItem,
        reason: &str,
        after: Option<Duration>,
    ) -> Result<(), StoreError> {
        let store = self.store;
        if item.attempts >= MAX_ATTEMPTS {
            tracing::warn!(outbox = %item.id, attempts = item.attempts, "dead-lettered after the last attempt");
            return settle(store.mark_dead(item.id, item.attempts, reason).await, item);
        }
        let wait = after.unwrap_or_else(|| backoff(self.sender.retry_base, item.attempts));
        let next = self.clock.now()
            + ChronoDuration::from_std(wait).unwrap_or(ChronoDuration::seconds(60));
        settle(
            store.mark_retry(item.id, item.attempts, next, reason).await,
            item,
        )
    }

    /// The window is closed: send the message's approved template if it names one for
    /// this provider, else hand it to staff as a manual wa.me link.
    async fn closed_window(&self, item: &OutboxItem, reason: &str) -> Result<(), StoreError> {
        let OutboundMessage::Text {
            template: Some(key),
            template_vars,
            ..
        } = &item.message
        else {
            return self.to_manual(item, reason).await;
        };
        let Some(template) = self
            .app
            .flows
            .templates
            .for_provider(key, self.account.provider)
        else {
            return self.to_manual(item, reason).await;
        };
        let callback = self.ready_to_send().await;
        let outcome = send_template(
            &self.sender.client,
            &self.account.api_base,
            &self.account.credentials,
            item.conversation.sender.expose(),
            template,
            template_vars,
            &callback,
        )
        .await;
        match self.settle_delivered(item, outcome).await? {
            None => Ok(()),
            Some(SendOutcome::Retry { reason, after }) if item.attempts < MAX_ATTEMPTS => {
                self.retry_or_dead(item, &reason, after).await
            }
            Some(other) => {
                let why = format!("template failed ({other:?}); handed to staff");
                self.to_manual(item, &why).await
            }
        }
    }

    /// Turns the message into a manual wa.me link for staff: nothing goes to a provider.
    async fn to_manual(&self, item: &OutboxItem, reason: &str) -> Result<(), StoreError> {
        let link = wa_me_link(
            item.conversation.sender.expose(),
            &item.message.as_numbered_text(),
        );
        settle(
            self.store
                .mark_manual(item.id, item.attempts, &link, reason)
                .await,
            item,
        )
    }
}

/// How often due timers and reminders are looked for.
pub const TIMER_INTERVAL: Duration = Duration::from_secs(5);

/// Moves due flow timers into their conversations' inboxes (as timeout events, in
/// order with real messages) and queues consent reminders. Returns how many events.
pub async fn fire_timers(app: &App) -> Result<u64, StoreError> {
    let now = app.clock.now();
    each_school(app, "timers", |tenant| async move {
        let school = app.tenancy.open(tenant).await?;
        let timers = school.store.fire_due_timers(now, None).await?;
        let reminders = school
            .store
            .queue_consent_reminders(now, crate::outbound::CONSENT_REMINDER_BEFORE, None)
            .await?;
        Ok(timers + reminders)
    })
    .await
}

/// Runs the worker and the sender until the process ends. Woken by new events, and
/// every second for retries that come due.
pub fn spawn(app: App, sender: Arc<Sender>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_timer_pass: Option<std::time::Instant> = None;
        loop {
            // Timers and reminders every few seconds, not on every wake-up: each pass
            // visits every school.
            if last_timer_pass.is_none_or(|t| t.elapsed() >= TIMER_INTERVAL) {
                last_timer_pass = Some(std::time::Instant::now());
                if let Err(e) = fire_timers(&app).await {
                    tracing::warn!(error = %e, "timer pass failed");
                }
            }
            if let Err(e) = process_inbound(&app).await {
                tracing::warn!(error = %e, "conversation worker pass failed");
            }
            if let Err(e) = send_due(&app, &sender).await {
                tracing::warn!(error = %e, "outbox pass failed");
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), app.wake.notified()).await;
        }
    })
}
