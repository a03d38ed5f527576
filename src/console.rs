//! The conversation simulator behind `raabta chat` and the transcript tests: a sender
//! on a channel whose messages go through the real pipeline (inbox, ordered worker,
//! flow engine, outbox). Replies are read back from the outbox. On the console
//! channel the outbox marks them sent; on a simulated WhatsApp or Telegram channel they
//! stay queued (nothing reaches a provider) and are read as the provider would get them.

use crate::app::App;
use crate::domain::message::{
    InboundBody, InboundEvent, MediaKind, OutboundMessage, Provider, SenderId,
};
use crate::domain::school::Tenant;
use crate::store::{StoreError, TenantStore};
use std::collections::HashSet;
use std::sync::Arc;
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

pub struct Simulator {
    app: App,
    pub tenant: Tenant,
    pub store: Arc<dyn TenantStore>,
    pub channel: Uuid,
    pub provider: Provider,
    sender: String,
    seen: HashSet<Uuid>,
    seq: u64,
}

impl Simulator {
    /// A sender on a channel of the school. The console channel of a school has the
    /// school's id as its channel id (it never appears among provider channels).
    pub async fn new(
        app: &App,
        slug: &str,
        provider: Provider,
        channel: Option<Uuid>,
        sender: &str,
    ) -> Result<Self, SimError> {
        let tenant = app.tenancy.tenant(slug).await?;
        let school = app.tenancy.open(tenant.clone()).await?;
        Ok(Self {
            app: app.clone(),
            channel: channel.unwrap_or(tenant.id.0),
            tenant,
            store: school.store,
            provider,
            sender: sender.to_string(),
            seen: HashSet::new(),
            seq: 0,
        })
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
        let now = self.app.clock.now();
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
                    let (mime, content) = if item.media_ref.ends_with(".pdf") {
                        ("application/pdf", SAMPLE_PDF)
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

    /// Moves the service clock forward; due timers fire and their replies come back.
    pub async fn wait(&mut self, by: chrono::Duration) -> Result<Vec<BotMessage>, SimError> {
        self.app.clock.advance(by);
        self.settle().await
    }

    /// Runs timers and the conversation worker until nothing is left, then returns
    /// the new outbox messages of this conversation, oldest first.
    pub async fn settle(&mut self) -> Result<Vec<BotMessage>, SimError> {
        // Only this conversation, on this process's clock: a simulator that moved its
        // clock forward must not fire other people's timers or reminders, or answer
        // their messages (a server may be serving the same school).
        let Some(conv) = self.conversation().await? else {
            return Ok(Vec::new());
        };
        let driver = crate::worker::driver::FlowDriver::for_tenant(&self.app, &self.tenant);
        for _ in 0..50 {
            let now = self.app.clock.now();
            let fired = self.store.fire_due_timers(now, Some(conv)).await?
                + self
                    .store
                    .queue_consent_reminders(
                        now,
                        crate::worker::CONSENT_REMINDER_BEFORE,
                        Some(conv),
                    )
                    .await?;
            let mut processed = 0;
            loop {
                let prepared = driver
                    .prepare(self.store.as_ref(), conv, self.app.clock.now())
                    .await?;
                let crate::store::ProcessOutcome::Done { .. } = crate::worker::step::process_next(
                    self.store.as_ref(),
                    conv,
                    &prepared,
                    self.app.clock.now(),
                )
                .await?
                else {
                    break;
                };
                processed += 1;
            }
            if fired == 0 && processed == 0 {
                return self.collect().await;
            }
        }
        Err(SimError::Stuck("events kept coming after 50 rounds".into()))
    }

    async fn collect(&mut self) -> Result<Vec<BotMessage>, SimError> {
        let Some(conv) = self.conversation().await? else {
            return Ok(Vec::new());
        };
        let view = self.store.conversation(conv).await?;
        let now = self.app.clock.now();
        let closed = match &view {
            Some(v) if v.provider.has_service_window() => v
                .last_inbound_at
                .map(|t| now - t >= crate::worker::SERVICE_WINDOW)
                .unwrap_or(true),
            _ => false,
        };
        let mut out = Vec::new();
        for row in self.store.outbox().await? {
            if row.conversation_id != conv || !self.seen.insert(row.id) {
                continue;
            }
            if matches!(row.message, OutboundMessage::CallbackAnswer { .. }) {
                continue;
            }
            out.push(BotMessage {
                message: row.message,
                window_closed: closed,
            });
        }
        if self.provider == Provider::Console {
            // The console "sends" them: nothing stays queued.
            self.store.settle_console_outbox(now).await?;
        }
        Ok(out)
    }
}
