//! Meta WhatsApp Cloud API: verification challenge, `X-Hub-Signature-256` check on the
//! raw body, and splitting a batch into one event per message and per status.

use crate::domain::message::{DeliveryStatus, InboundBody, InboundEvent, MediaKind, SenderId};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

pub fn signature(app_secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; should that ever fail, the empty signature below
    // matches nothing (fail closed).
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time check of `sha256=<hex>` over the raw request body.
pub fn verify(app_secret: &str, body: &[u8], header: &str) -> bool {
    let expected = signature(app_secret, body);
    if expected.is_empty() {
        return false;
    }
    let header = header.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(header.as_bytes()).into()
}

#[derive(Debug, Deserialize)]
pub struct Payload {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    pub field: String,
    pub value: Value,
}

#[derive(Debug, Deserialize)]
pub struct Value {
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    pub wa_id: Option<String>,
    /// Business-scoped user id (when the user hides their phone number).
    pub user_id: Option<String>,
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: String,
    pub from: Option<String>,
    pub from_user_id: Option<String>,
    pub timestamp: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<Text>,
    pub image: Option<Media>,
    pub document: Option<Media>,
    pub audio: Option<Media>,
    pub video: Option<Media>,
    pub sticker: Option<Media>,
    pub interactive: Option<Interactive>,
    pub button: Option<Button>,
    pub location: Option<Location>,
    pub contacts: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct Media {
    pub id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Interactive {
    pub button_reply: Option<Reply>,
    pub list_reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
pub struct Reply {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Deserialize)]
pub struct Button {
    pub payload: Option<String>,
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    pub recipient_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub timestamp: Option<String>,
    #[serde(default)]
    pub errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
pub struct StatusError {
    pub code: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not a WhatsApp webhook: {0}")]
    Json(String),
    #[error("object is {0:?}, expected whatsapp_business_account")]
    WrongObject(String),
    #[error("a change has no metadata.phone_number_id")]
    NoPhoneNumberId,
    #[error("message {0} has no sender")]
    NoSender(String),
    #[error("status {0:?} is unknown")]
    BadStatus(String),
}

/// Events grouped by the business phone number they were sent to.
pub type Batch = Vec<(String, Vec<InboundEvent>)>;

pub fn parse(body: &[u8]) -> Result<Batch, ParseError> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if payload.object != "whatsapp_business_account" {
        return Err(ParseError::WrongObject(payload.object));
    }
    let mut out: Batch = Vec::new();
    for change in payload.entry.into_iter().flat_map(|e| e.changes) {
        if change.field != "messages" {
            continue;
        }
        let v = change.value;
        let phone_id = v
            .metadata
            .ok_or(ParseError::NoPhoneNumberId)?
            .phone_number_id;
        let mut events = Vec::new();
        for m in v.messages {
            let contact = v.contacts.iter().find(|c| {
                c.wa_id.is_some() && c.wa_id == m.from
                    || c.user_id.is_some() && c.user_id == m.from_user_id
            });
            let sender = m
                .from
                .clone()
                .or_else(|| m.from_user_id.clone())
                .or_else(|| {
                    v.contacts
                        .first()
                        .and_then(|c| c.wa_id.clone().or_else(|| c.user_id.clone()))
                });
            let Some(sender) = sender else {
                // One odd item must not make Meta redeliver (and us refuse) the whole batch.
                tracing::warn!("meta message without a sender skipped");
                continue;
            };
            let name = contact
                .or(v.contacts.first())
                .and_then(|c| c.profile.as_ref())
                .and_then(|p| p.name.clone());
            let sent_at = m.timestamp.as_deref().and_then(|t| t.parse().ok());
            events.push(InboundEvent {
                provider_key: format!("meta:{}", m.id),
                sender: SenderId::new(sender),
                sender_name: name,
                sent_at,
                body: message_body(m),
            });
        }
        for s in v.statuses {
            let Some(status) = DeliveryStatus::parse(&s.status) else {
                tracing::warn!(status = %s.status, "meta status of an unknown kind skipped");
                continue;
            };
            let recipient = s
                .recipient_id
                .clone()
                .or_else(|| s.recipient_user_id.clone())
                .unwrap_or_default();
            events.push(InboundEvent {
                provider_key: format!("meta:{}:{}", s.id, status.as_str()),
                sender: SenderId::new(recipient),
                sender_name: None,
                sent_at: s.timestamp.as_deref().and_then(|t| t.parse().ok()),
                body: InboundBody::Status {
                    provider_message_id: s.id,
                    status,
                    error_code: s.errors.first().map(|e| e.code.to_string()),
                },
            });
        }
        if !events.is_empty() {
            match out.iter_mut().find(|(id, _)| *id == phone_id) {
                Some((_, list)) => list.extend(events),
                None => out.push((phone_id, events)),
            }
        }
    }
    Ok(out)
}

fn media(kind: MediaKind, m: Media) -> InboundBody {
    InboundBody::Media {
        kind,
        media_ref: m.id,
        mime: m.mime_type,
        caption: m.caption,
        filename: m.filename,
        sha256: m.sha256,
    }
}

fn message_body(m: Message) -> InboundBody {
    let body = match m.kind.as_str() {
        "text" => m.text.map(|t| InboundBody::Text { text: t.body }),
        "image" => m.image.map(|x| media(MediaKind::Image, x)),
        "document" => m.document.map(|x| media(MediaKind::Document, x)),
        "audio" => m.audio.map(|x| media(MediaKind::Audio, x)),
        "video" => m.video.map(|x| media(MediaKind::Video, x)),
        "sticker" => m.sticker.map(|x| media(MediaKind::Sticker, x)),
        "interactive" => m
            .interactive
            .and_then(|i| i.button_reply.or(i.list_reply))
            .map(|r| InboundBody::Choice {
                id: r.id,
                title: r.title,
                callback_id: None,
            }),
        "button" => m.button.map(|b| InboundBody::Choice {
            id: b.payload.unwrap_or_else(|| b.text.clone()),
            title: b.text,
            callback_id: None,
        }),
        "location" => m.location.map(|l| InboundBody::Location {
            latitude: l.latitude,
            longitude: l.longitude,
        }),
        "contacts" => Some(InboundBody::Contacts {
            count: m.contacts.map(|c| c.len()).unwrap_or(0),
        }),
        "reaction" => Some(InboundBody::Reaction),
        _ => None,
    };
    // An unknown type, or a known one without its part.
    body.unwrap_or(InboundBody::Unsupported { kind: m.kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tamper() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let sig = signature("app-secret", body);
        assert!(verify("app-secret", body, &sig));
        assert!(verify(
            "app-secret",
            body,
            &sig.to_uppercase().replace("SHA256", "sha256")
        ));
        assert!(!verify("other", body, &sig));
        assert!(!verify("app-secret", b"{}", &sig));
        assert!(!verify("app-secret", body, ""));
    }

    #[test]
    fn rejects_other_objects_and_garbage() {
        assert!(matches!(parse(b"not json"), Err(ParseError::Json(_))));
        assert!(matches!(
            parse(br#"{"object":"page","entry":[]}"#),
            Err(ParseError::WrongObject(_))
        ));
    }
}
