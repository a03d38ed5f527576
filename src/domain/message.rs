//! Channel-neutral messages: what arrives from Twilio, Meta or Telegram, once verified
//! and parsed, and what we send back. Pure data; the `channel` module maps the
//! providers' formats to and from these.

use super::Pii;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The three providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Twilio,
    Meta,
    Telegram,
    /// The terminal simulator (`raabta chat`): replies are read from the outbox.
    Console,
    /// The web chat on the school's website (`/chat/<school>`): replies are read from
    /// the outbox by the page's next request.
    Web,
}

str_enum!(Provider {
    Twilio => "twilio",
    Meta => "meta",
    Telegram => "telegram",
    Console => "console",
    Web => "web",
} from_str(exact) -> Result<Self, String> else |other: String| format!(
    "unknown channel provider {other:?}: use twilio, meta or telegram"
));

impl Provider {
    /// WhatsApp (Twilio or Meta) has the 24-hour customer-service window; Telegram has none.
    pub fn has_service_window(self) -> bool {
        matches!(self, Provider::Twilio | Provider::Meta)
    }
}

/// Who sent a message, as the provider names them: a WhatsApp id (phone digits), a
/// Meta business-scoped user id, a Twilio `From`, or a Telegram user id. Redacted in Debug.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SenderId(pub Pii<String>);

impl SenderId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(Pii::new(s.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SenderId(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Document,
    Audio,
    Video,
    Sticker,
}

/// Delivery state of a message we sent. Ordered: a later state never goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    /// Terminal: nothing moves a failed message on.
    Failed,
}

str_enum!(DeliveryStatus {
    Queued => "queued" | "accepted" | "sending",
    Sent => "sent",
    Delivered => "delivered",
    Read => "read",
    Failed => "failed" | "undelivered",
});

impl DeliveryStatus {
    /// The state after a callback reports `next`: sent < delivered < read; failed is
    /// terminal; downgrades (a late "sent" after "read") are ignored.
    pub fn advance(self, next: DeliveryStatus) -> DeliveryStatus {
        if self == Self::Failed {
            return self;
        }
        if next == Self::Failed {
            return next;
        }
        self.max(next)
    }
}

/// What a message or callback carries, independent of the provider. Debug shows the
/// kind only (never the text).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundBody {
    Text {
        text: String,
    },
    Media {
        kind: MediaKind,
        /// The provider's handle: Meta media id, Twilio media URL, Telegram file id.
        media_ref: String,
        mime: Option<String>,
        caption: Option<String>,
        filename: Option<String>,
        /// Meta sends the file's SHA-256 so the download can be checked.
        sha256: Option<String>,
    },
    /// A tapped reply button, list row, template quick reply or Telegram callback.
    Choice {
        id: String,
        title: String,
        /// Telegram callback query id, to be answered.
        callback_id: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
    },
    Contacts {
        count: usize,
    },
    /// Reactions and edits are stored but not acted on.
    Reaction,
    Edit,
    Unsupported {
        kind: String,
    },
    /// Internal: a flow timer came due (written by the timer sweeper, never by a
    /// provider), so timeouts take their turn in the conversation's ordered inbox.
    Timeout {
        token: String,
    },
    /// Internal: staff started a flow in this conversation (a consent form, a leave
    /// decision, a reminder).
    Trigger {
        flow: String,
        key: String,
        #[serde(default)]
        vars: serde_json::Map<String, serde_json::Value>,
    },
    /// Internal: staff handed the conversation back to the bot.
    Resume,
    /// Internal: a durable job of this conversation finished; its result takes its turn
    /// in the ordered inbox like any message.
    JobResult {
        kind: String,
        job: uuid::Uuid,
        #[serde(default)]
        data: serde_json::Value,
    },
    /// A delivery report for a message we sent.
    Status {
        provider_message_id: String,
        status: DeliveryStatus,
        error_code: Option<String>,
    },
}

impl InboundBody {
    pub fn kind(&self) -> &'static str {
        match self {
            InboundBody::Text { .. } => "text",
            InboundBody::Media { .. } => "media",
            InboundBody::Choice { .. } => "choice",
            InboundBody::Location { .. } => "location",
            InboundBody::Contacts { .. } => "contacts",
            InboundBody::Reaction => "reaction",
            InboundBody::Edit => "edit",
            InboundBody::Unsupported { .. } => "unsupported",
            InboundBody::Timeout { .. } => "timeout",
            InboundBody::Trigger { .. } => "trigger",
            InboundBody::Resume => "resume",
            InboundBody::JobResult { .. } => "job_result",
            InboundBody::Status { .. } => "status",
        }
    }

    pub fn is_status(&self) -> bool {
        matches!(self, InboundBody::Status { .. })
    }
}

/// One verified event from a provider, ready to be stored.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// Permanent de-duplication key: Twilio MessageSid (+status), Meta wamid
    /// (+status), Telegram bot id + update_id.
    pub provider_key: String,
    /// Who sent it (for statuses: the recipient of our message).
    pub sender: SenderId,
    /// A display name the provider gave (WhatsApp profile name, Telegram first name).
    pub sender_name: Option<String>,
    /// Provider timestamp (seconds since the epoch), when given.
    pub sent_at: Option<i64>,
    pub body: InboundBody,
}

impl std::fmt::Debug for InboundBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InboundBody::Status {
                status, error_code, ..
            } => f
                .debug_struct("Status")
                .field("status", status)
                .field("error_code", error_code)
                .finish_non_exhaustive(),
            other => write!(f, "InboundBody::{}(..)", other.kind()),
        }
    }
}

crate::debug_only!(InboundEvent, "InboundEvent", provider_key, body);

impl std::fmt::Debug for OutboundMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundMessage::Text {
                choices, template, ..
            } => f
                .debug_struct("Text")
                .field("choices", &choices.len())
                .field("template", template)
                .finish_non_exhaustive(),
            OutboundMessage::CallbackAnswer { .. } => f.write_str("CallbackAnswer(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_status_never_goes_back() {
        use DeliveryStatus::*;
        assert_eq!(Sent.advance(Delivered), Delivered);
        assert_eq!(Read.advance(Delivered), Read);
        assert_eq!(Read.advance(Sent), Read);
        assert_eq!(Delivered.advance(Failed), Failed);
        assert_eq!(Failed.advance(Read), Failed);
        assert_eq!(Queued.advance(Read), Read);
    }

    #[test]
    fn debug_shows_no_text_names_or_numbers() {
        let e = InboundEvent {
            provider_key: "meta:wamid.1".into(),
            sender: SenderId::new("923001234567"),
            sender_name: Some("Imran Khan".into()),
            sent_at: None,
            body: InboundBody::Text {
                text: "my child Ayesha is sick".into(),
            },
        };
        let shown = format!("{e:?} {:?}", OutboundMessage::text("Dear Imran, fee due"));
        for secret in ["923001234567", "Imran", "Ayesha", "fee due"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("meta:wamid.1") && shown.contains("text"));
    }

    #[test]
    fn sender_is_redacted() {
        let s = SenderId::new("923001234567");
        assert!(!format!("{s:?}").contains("923"));
    }
}

/// A choice offered with a message; rendered as buttons, a list or numbered text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
}

/// Something to send to a conversation, independent of the provider. Debug shows the
/// kind only (never the text).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundMessage {
    Text {
        text: String,
        #[serde(default)]
        choices: Vec<Choice>,
        /// Approved template to use when the 24-hour window has closed (registry key).
        #[serde(default)]
        template: Option<String>,
        /// Values for the template's variables, in order.
        #[serde(default)]
        template_vars: Vec<String>,
    },
    /// Stops the spinner on a tapped Telegram inline button.
    CallbackAnswer { callback_id: String },
}

impl OutboundMessage {
    pub fn text(text: impl Into<String>) -> Self {
        OutboundMessage::Text {
            text: text.into(),
            choices: Vec::new(),
            template: None,
            template_vars: Vec::new(),
        }
    }

    /// Plain text with choices as numbered lines (SMS-like channels and manual links).
    pub fn as_numbered_text(&self) -> String {
        match self {
            OutboundMessage::Text { text, choices, .. } if !choices.is_empty() => {
                // One digit system per message: a text written with Arabic-Indic digits
                // numbers its options with them too.
                let arabic = text.chars().any(|c| ('\u{0660}'..='\u{0669}').contains(&c));
                let number = |n: usize| -> String {
                    let n = n.to_string();
                    if !arabic {
                        return n;
                    }
                    n.chars()
                        .map(|d| {
                            d.to_digit(10)
                                .and_then(|v| char::from_u32(0x0660 + v))
                                .unwrap_or(d)
                        })
                        .collect()
                };
                let mut out = text.clone();
                for (i, c) in choices.iter().enumerate() {
                    out.push_str(&format!("\n{}. {}", number(i + 1), c.title));
                }
                out
            }
            OutboundMessage::Text { text, .. } => text.clone(),
            OutboundMessage::CallbackAnswer { .. } => String::new(),
        }
    }
}

/// A `https://wa.me/<digits>?text=<urlencoded>` link for staff to open on their own
/// phone (manual-link mode): nothing goes through a provider.
pub fn wa_me_link(recipient_digits: &str, text: &str) -> String {
    let digits: String = recipient_digits
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    format!(
        "https://wa.me/{digits}?text={}",
        encoded.replace('+', "%20")
    )
}

#[cfg(test)]
mod numbering_tests {
    use super::*;

    #[test]
    fn one_digit_system_per_message() {
        let choices = vec![
            Choice {
                id: "q1.1".into(),
                title: "نعم".into(),
            },
            Choice {
                id: "q1.2".into(),
                title: "لا".into(),
            },
        ];
        let m = OutboundMessage::Text {
            text: "يوم ٧ ديسمبر ٢٠٢٦".into(),
            choices: choices.clone(),
            template: None,
            template_vars: Vec::new(),
        };
        assert!(m.as_numbered_text().ends_with("\n١. نعم\n٢. لا"));
        let m = OutboundMessage::Text {
            text: "Send it?".into(),
            choices,
            template: None,
            template_vars: Vec::new(),
        };
        assert!(m.as_numbered_text().ends_with("\n1. نعم\n2. لا"));
    }
}

#[cfg(test)]
mod outbound_tests {
    use super::*;

    #[test]
    fn numbered_text_and_links() {
        let m = OutboundMessage::Text {
            text: "Choose:".into(),
            choices: vec![
                Choice {
                    id: "a".into(),
                    title: "Fees".into(),
                },
                Choice {
                    id: "b".into(),
                    title: "چھٹی".into(),
                },
            ],
            template: None,
            template_vars: Vec::new(),
        };
        assert_eq!(m.as_numbered_text(), "Choose:\n1. Fees\n2. چھٹی");
        let link = wa_me_link("+92 300 1110001", "Fee due: Rs 8,500 & more");
        assert_eq!(
            link,
            "https://wa.me/923001110001?text=Fee%20due%3A%20Rs%208%2C500%20%26%20more"
        );
    }
}

/// How an outbox message leaves: through the provider's API, or as a manual wa.me link
/// handed to staff (the default for staff-initiated messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundMode {
    Provider,
    ManualLink,
}

str_enum!(OutboundMode {
    Provider => "provider",
    ManualLink => "manual_link",
});
