//! The conversation simulator behind `raabta chat` and the transcript tests: a sender
//! on a channel whose messages go through the real pipeline: the inbox, the worker's
//! own conversation loop (`worker::run_conversation`), the flow engine, the outbox and
//! the real sender (`worker::send_school`). Each simulator has its own clock, so
//! `wait` moves only its conversation.
//!
//! Where replies go: on the console channel the sender marks them sent; on a simulated
//! line ([`Simulator::on_line`]) the sender delivers them to a local stand-in for the
//! provider's API, so the 24-hour window, templates and manual links are the real
//! sender's decisions; on a channel the caller registered itself they stay queued for
//! the caller's own sender and are read as the provider would get them.

use crate::app::{App, Clock};
use crate::channel::Credentials;
use crate::domain::message::{
    InboundBody, InboundEvent, MediaKind, OutboundMessage, Provider, SenderId,
};
use crate::domain::school::Tenant;
use crate::store::{StoreError, TenantStore};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// A tiny valid JPEG (1×1 pixel) used as a simulated photo.
pub const SAMPLE_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x08, 0x06, 0x06, 0x07, 0x06, 0x05, 0x08, 0x07, 0x07,
    0x07, 0x09, 0x09, 0x08, 0x0A, 0x0C, 0x14, 0x0D, 0x0C, 0x0B, 0x0B, 0x0C, 0x19, 0x12, 0x13, 0x0F,
    0x14, 0x1D, 0x1A, 0x1F, 0x1E, 0x1D, 0x1A, 0x1C, 0x1C, 0x20, 0x24, 0x2E, 0x27, 0x20, 0x22, 0x2C,
    0x23, 0x1C, 0x1C, 0x28, 0x37, 0x29, 0x2C, 0x30, 0x31, 0x34, 0x34, 0x34, 0x1F, 0x27, 0x39, 0x3D,
    0x38, 0x32, 0x3C, 0x2E, 0x33, 0x34, 0x32, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01,
    0x01, 0x01, 0x11, 0x00, 0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0xFF, 0xC4, 0x00, 0x14, 0x10,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x2A, 0x9F, 0xFF, 0xD9,
];

/// A minimal PDF used as a simulated document.
pub const SAMPLE_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the worker did not settle: {0}")]
    Stuck(String),
    #[error("the simulated line could not be set up: {0}")]
    Line(String),
}

/// One message the bot sent, with what the recipient's channel would show.
#[derive(Debug, Clone)]
pub struct BotMessage {
    pub message: OutboundMessage,
    /// The 24-hour window was closed when it was written (WhatsApp only): it goes out
    /// as its template, or as a manual link for staff.
    pub window_closed: bool,
}

impl BotMessage {
    /// The message as text with numbered options (how the console shows it).
    pub fn render(&self) -> String {
        let text = crate::flow::text::strip_isolation(&self.message.as_numbered_text());
        match (&self.message, self.window_closed) {
            (
                OutboundMessage::Text {
                    template: Some(t), ..
                },
                true,
            ) => {
                format!("[template {t}] {text}")
            }
            (OutboundMessage::Text { .. }, true) => format!("[manual link for staff] {text}"),
            _ => text,
        }
    }
}

/// A local stand-in for a provider's send API: accepts every message, remembers which
/// went as an approved template, and answers with a message id.
#[derive(Clone, Default)]
struct SimLine {
    /// Provider message id → whether it was sent as a template.
    sent: Arc<Mutex<HashMap<String, bool>>>,
}

impl SimLine {
    /// Serves on a loopback port; returns the line and its API base URL.
    async fn start() -> Result<(Self, String), SimError> {
        let line = SimLine::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| SimError::Line(e.to_string()))?;
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|e| SimError::Line(e.to_string()))?
        );
        let app = axum::Router::new()
            .fallback(sim_provider)
            .with_state(line.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((line, base))
    }

    fn was_template(&self, provider_message_id: &str) -> bool {
        self.sent
            .lock()
            .map(|m| m.get(provider_message_id).copied().unwrap_or(false))
            .unwrap_or(false)
    }
}

async fn sim_provider(
    axum::extract::State(line): axum::extract::State<SimLine>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    let text = String::from_utf8_lossy(&body);
    let id = format!("sim{}", Uuid::now_v7().simple());
    let (template, reply) = if path.ends_with("/messages") {
        let template = serde_json::from_slice::<serde_json::Value>(&body)
            .map(|v| v["type"] == "template")
            .unwrap_or(false);
        (
            template,
            serde_json::json!({ "messaging_product": "whatsapp", "messages": [{ "id": id }] }),
        )
    } else if path.ends_with("/Messages.json") {
        (
            text.contains("ContentSid="),
            serde_json::json!({ "sid": id, "status": "queued" }),
        )
    } else if path.ends_with("/sendMessage") {
        let n = line.sent.lock().map(|m| m.len()).unwrap_or(0) + 1;
        let reply = serde_json::json!({ "ok": true, "result": { "message_id": n } });
        if let Ok(mut sent) = line.sent.lock() {
            sent.insert(n.to_string(), false);
        }
        return (axum::http::StatusCode::OK, reply.to_string()).into_response();
    } else {
        return (
            axum::http::StatusCode::OK,
            serde_json::json!({ "ok": true, "result": true }).to_string(),
        )
            .into_response();
    };
    if let Ok(mut sent) = line.sent.lock() {
        sent.insert(id, template);
    }
    (axum::http::StatusCode::OK, reply.to_string()).into_response()
}

/// Who delivers the simulator's replies.
enum Delivery {
    /// The console channel: the real sender marks them sent.
    Console,
    /// A simulated line: the real sender delivers them to it.
    Line(SimLine),
    /// A channel the caller registered: rows stay queued for the caller's sender.
    Queued,
}

pub struct Simulator {
    app: App,
    pub tenant: Tenant,
    pub store: Arc<dyn TenantStore>,
    pub channel: Uuid,
    pub provider: Provider,
    /// This conversation's own clock: it starts at the service's time and only `wait`
    /// moves it.
    pub clock: Arc<Clock>,
    sender: String,
    outbound: Arc<crate::worker::Sender>,
    delivery: Delivery,
    seen: HashSet<Uuid>,
    seq: u64,
    /// Photos attached with their own bytes (by media reference), handed over
    /// instead of the sample image.
    images: HashMap<String, Vec<u8>>,
}

impl Simulator {
    /// A sender on a channel of the school. Without `channel`, the school's console
    /// channel (its id is the school's id; it never appears among provider channels);
    /// with one, a channel the caller registered, whose replies stay queued.
    pub async fn new(
        app: &App,
        slug: &str,
        provider: Provider,
        channel: Option<Uuid>,
        sender: &str,
    ) -> Result<Self, SimError> {
        let tenant = app.tenancy.tenant(slug).await?;
        let school = app.tenancy.open(tenant.clone()).await?;
        let delivery = if channel.is_none() && provider == Provider::Console {
            Delivery::Console
        } else {
            Delivery::Queued
        };
        Ok(Self {
            app: app.clone(),
            channel: channel.unwrap_or(tenant.id.0),
            tenant,
            store: school.store,
            provider,
            clock: Arc::new(app.clock.fork()),
            sender: sender.to_string(),
            outbound: Arc::new(
                crate::worker::Sender::new(crate::worker::RateLimits::default())
                    .map_err(|e| SimError::Line(e.without_url().to_string()))?,
            ),
            delivery,
            seen: HashSet::new(),
            seq: 0,
            images: HashMap::new(),
        })
    }

    /// A sender on a simulated WhatsApp (Meta or Twilio) or Telegram line of the school:
    /// a channel registered for it whose API is a local stand-in, so replies go through
    /// the real sender. For tests and trials on a throwaway data directory: the channel
    /// is stored like any other.
    pub async fn on_line(
        app: &App,
        slug: &str,
        provider: Provider,
        sender: &str,
    ) -> Result<Self, SimError> {
        let (line, base) = SimLine::start().await?;
        let tag = Uuid::now_v7().simple().to_string();
        let digits: String = tag
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .take(15)
            .collect();
        let credentials = match provider {
            Provider::Meta => Credentials::Meta {
                phone_number_id: digits,
                access_token: format!("sim-{tag}"),
                app_secret: format!("sim-{tag}"),
                verify_token: format!("sim-{tag}"),
            },
            Provider::Twilio => Credentials::Twilio {
                account_sid: format!("AC{tag}"),
                auth_token: format!("sim-{tag}"),
                from: format!("whatsapp:+1{}", &digits[..11]),
            },
            Provider::Telegram => Credentials::Telegram {
                bot_token: format!("{}:sim{tag}", &digits[..9]),
                secret_token: format!("sim{tag}"),
            },
            Provider::Console | Provider::Web => {
                return Self::new(app, slug, provider, None, sender).await
            }
        };
        let row = crate::routing::add_channel(&app.tenancy, slug, credentials, Some(base))
            .await
            .map_err(|e| SimError::Line(e.to_string()))?;
        app.registry
            .reload(&app.tenancy)
            .await
            .map_err(|e| SimError::Line(e.to_string()))?;
        let mut sim = Self::new(app, slug, provider, Some(row.id), sender).await?;
        sim.delivery = Delivery::Line(line);
        Ok(sim)
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// The conversation, once the sender has written.
    pub async fn conversation(&self) -> Result<Option<Uuid>, SimError> {
        Ok(self
            .store
            .conversation_of(self.channel, &self.sender)
            .await?)
    }

    async fn deliver(&mut self, body: InboundBody) -> Result<Vec<BotMessage>, SimError> {
        self.seq += 1;
        let now = self.clock.now();
        let event = InboundEvent {
            provider_key: format!("sim:{}:{}:{}", self.channel, Uuid::now_v7(), self.seq),
            sender: SenderId::new(self.sender.clone()),
            sender_name: None,
            sent_at: Some(now.timestamp()),
            body,
        };
        self.store
            .record_inbound(self.channel, self.provider, &[event], now)
            .await?;
        // The simulator is the provider: it hands this conversation's media over at once
        // (through the same job queue a real download uses).
        if let Some(conv) = self.conversation().await? {
            for job in self
                .store
                .claim_jobs(
                    crate::domain::job::MEDIA_FETCH,
                    now,
                    std::time::Duration::from_secs(60),
                    100,
                    Some(conv),
                )
                .await?
            {
                let Some(media) = crate::domain::job::media_of_payload(&job.payload) else {
                    continue;
                };
                if let Some(item) = self.store.media_to_fetch(media).await? {
                    let own = self.images.remove(&item.media_ref);
                    let (mime, content) = if item.media_ref.ends_with(".pdf") {
                        ("application/pdf", SAMPLE_PDF)
                    } else if let Some(bytes) = own.as_deref() {
                        ("image/jpeg", bytes)
                    } else {
                        ("image/jpeg", SAMPLE_JPEG)
                    };
                    self.store.media_stored(media, mime, content, now).await?;
                }
                self.store.finish_job(&job, None, now).await?;
            }
        }
        self.settle().await
    }

    pub async fn say(&mut self, text: &str) -> Result<Vec<BotMessage>, SimError> {
        self.deliver(InboundBody::Text {
            text: text.to_string(),
        })
        .await
    }

    /// Taps a button or list row (its id and title, as the provider reports them).
    pub async fn tap(&mut self, id: &str, title: &str) -> Result<Vec<BotMessage>, SimError> {
        let callback_id = (self.provider == Provider::Telegram).then(|| format!("cb{}", self.seq));
        self.deliver(InboundBody::Choice {
            id: id.to_string(),
            title: title.to_string(),
            callback_id,
        })
        .await
    }

    /// Sends a photo (JPEG) or a document (PDF).
    pub async fn attach(&mut self, pdf: bool) -> Result<Vec<BotMessage>, SimError> {
        self.deliver(InboundBody::Media {
            kind: if pdf {
                MediaKind::Document
            } else {
                MediaKind::Image
            },
            media_ref: format!(
                "sim-media-{}{}",
                self.seq,
                if pdf { ".pdf" } else { ".jpg" }
            ),
            mime: None,
            caption: None,
            filename: None,
            sha256: None,
        })
        .await
    }

    /// Sends a photo with these bytes (a class photo for photo attendance).
    pub async fn attach_image(&mut self, bytes: Vec<u8>) -> Result<Vec<BotMessage>, SimError> {
        let media_ref = format!("sim-media-{}.jpg", self.seq + 1);
        self.images.insert(media_ref.clone(), bytes);
        self.deliver(InboundBody::Media {
            kind: MediaKind::Image,
            media_ref,
            mime: None,
            caption: None,
            filename: None,
            sha256: None,
        })
        .await
    }

    /// Runs this conversation's face jobs now, with the real handler (the simulator
    /// does not retry: a job that does not finish is buried as its handler says).
    async fn run_face_jobs(
        &self,
        conv: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, SimError> {
        use crate::worker::jobs::{JobHandler, JobOutcome};
        let jobs = self
            .store
            .claim_jobs(
                crate::domain::job::FACE_MATCH,
                now,
                std::time::Duration::from_secs(300),
                20,
                Some(conv),
            )
            .await?;
        let n = jobs.len();
        let handler = crate::worker::face::FaceMatch;
        for job in jobs {
            match handler.run(&self.app, self.store.as_ref(), &job).await? {
                JobOutcome::Done { .. } => {
                    self.store.finish_job(&job, None, now).await?;
                }
                JobOutcome::Retry { error, .. } | JobOutcome::Failed { error } => {
                    handler
                        .buried(&self.app, self.store.as_ref(), &job, &error)
                        .await?;
                    self.store.bury_job(&job, &error, now).await?;
                }
            }
        }
        Ok(n)
    }

    /// Moves this conversation's clock forward; its due timers fire and their replies
    /// come back.
    pub async fn wait(&mut self, by: chrono::Duration) -> Result<Vec<BotMessage>, SimError> {
        self.clock.advance(by);
        self.settle().await
    }

    /// Runs this conversation's timers and its worker loop until nothing is left, sends
    /// its replies, then returns the new ones, oldest first.
    pub async fn settle(&mut self) -> Result<Vec<BotMessage>, SimError> {
        // Only this conversation, on its own clock: a simulator that moved its clock
        // forward must not fire other people's timers or reminders, or answer their
        // messages (a server may be serving the same school).
        let Some(conv) = self.conversation().await? else {
            return Ok(Vec::new());
        };
        let driver = crate::worker::driver::FlowDriver::for_tenant(&self.app, &self.tenant);
        for _ in 0..50 {
            let now = self.clock.now();
            let fired = self.store.fire_due_timers(now, Some(conv)).await?
                + self
                    .store
                    .queue_consent_reminders(
                        now,
                        crate::outbound::CONSENT_REMINDER_BEFORE,
                        Some(conv),
                    )
                    .await?;
            let faces = self.run_face_jobs(conv, now).await?;
            let processed = crate::worker::run_conversation(
                self.store.as_ref(),
                &driver,
                conv,
                &self.clock,
                &self.app.metrics,
            )
            .await?;
            if fired == 0 && processed == 0 && faces == 0 {
                return self.collect(conv).await;
            }
        }
        Err(SimError::Stuck("events kept coming after 50 rounds".into()))
    }

    async fn collect(&mut self, conv: Uuid) -> Result<Vec<BotMessage>, SimError> {
        if !matches!(self.delivery, Delivery::Queued) {
            crate::worker::send_school(
                &self.app,
                &self.outbound,
                &self.store,
                Some(conv),
                &self.clock,
            )
            .await?;
        }
        let view = self.store.conversation(conv).await?;
        let open_now = view.as_ref().is_none_or(|v| {
            crate::worker::window_open(v.provider, v.last_inbound_at, self.clock.now())
        });
        let mut out = Vec::new();
        for row in self.store.outbox().await? {
            if row.conversation_id != conv || !self.seen.insert(row.id) {
                continue;
            }
            if matches!(row.message, OutboundMessage::CallbackAnswer { .. }) {
                continue;
            }
            let window_closed = match (&self.delivery, row.state.as_str()) {
                (_, "manual") => true,
                (Delivery::Console, "sent") => false,
                (Delivery::Line(line), "sent") => row
                    .provider_message_id
                    .as_deref()
                    .is_some_and(|id| line.was_template(id)),
                (Delivery::Line(_) | Delivery::Console, state) => {
                    return Err(SimError::Stuck(format!(
                        "a reply was not delivered (state {state}: {})",
                        row.last_error.unwrap_or_default()
                    )))
                }
                (Delivery::Queued, _) => !open_now,
            };
            out.push(BotMessage {
                message: row.message,
                window_closed,
            });
        }
        Ok(out)
    }
}
