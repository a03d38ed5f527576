//! Telegram Bot API: the `X-Telegram-Bot-Api-Secret-Token` check and parsing an
//! `Update` (teloxide's types) into events. De-duplication key: bot id + update_id.

use crate::domain::message::{InboundBody, InboundEvent, MediaKind, SenderId};
use subtle::ConstantTimeEq;
use teloxide_core::types::{Update, UpdateKind};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub fn verify(expected: &str, header: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(header.as_bytes()).into()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not a Telegram update: {0}")]
    Json(String),
}

/// The bot id is the number before the colon in the bot token.
pub fn bot_id(bot_token: &str) -> Option<&str> {
    let (id, rest) = bot_token.split_once(':')?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && !rest.is_empty()).then_some(id)
}

/// Parses one update; updates we do not handle (channel posts, polls, …) give no event.
/// Telegram's shared account for anonymous group administrators.
pub const GROUP_ANONYMOUS_BOT: u64 = 1_087_968_824;
/// Telegram's service account (channel posts forwarded to linked groups).
pub const TELEGRAM_SERVICE: u64 = 777_000;

/// Only a person writing in a private chat with the bot speaks for themselves: bots,
/// Telegram's shared anonymous-admin and service accounts, messages sent on behalf of a
/// chat (`sender_chat`) and anything said in a group or channel are ignored. Otherwise
/// an anonymous group admin could log in with a parent's code, and a parent's "yes"
/// typed in a group could answer their consent form.
fn from_a_person(user: &teloxide_core::types::User) -> bool {
    !user.is_bot && user.id.0 != GROUP_ANONYMOUS_BOT && user.id.0 != TELEGRAM_SERVICE
}

fn in_private(m: &teloxide_core::types::Message) -> bool {
    m.chat.is_private() && m.sender_chat.is_none() && m.from.as_ref().is_some_and(from_a_person)
}

pub fn events(bot_id: &str, body: &[u8]) -> Result<Vec<InboundEvent>, ParseError> {
    let update: Update =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let key = format!("telegram:{bot_id}:{}", update.id.0);
    let event =
        |sender: u64, name: Option<String>, sent_at: Option<i64>, body: InboundBody| InboundEvent {
            provider_key: key.clone(),
            sender: SenderId::new(sender.to_string()),
            sender_name: name,
            sent_at,
            body,
        };
    let out = match update.kind {
        UpdateKind::Message(m) => {
            let Some(from) = m.from.clone().filter(|_| in_private(&m)) else {
                return Ok(Vec::new());
            };
            let body = if let Some(text) = m.text() {
                InboundBody::Text {
                    text: text.to_string(),
                }
            } else if let Some(sizes) = m.photo() {
                // Telegram lists sizes smallest first: the last is the largest.
                match sizes.last() {
                    Some(p) => InboundBody::Media {
                        kind: MediaKind::Image,
                        media_ref: p.file.id.0.clone(),
                        mime: Some("image/jpeg".into()),
                        caption: m.caption().map(str::to_string),
                        filename: None,
                        sha256: None,
                    },
                    None => InboundBody::Unsupported {
                        kind: "photo".into(),
                    },
                }
            } else if let Some(d) = m.document() {
                InboundBody::Media {
                    kind: MediaKind::Document,
                    media_ref: d.file.id.0.clone(),
                    mime: d.mime_type.as_ref().map(|m| m.to_string()),
                    caption: m.caption().map(str::to_string),
                    filename: d.file_name.clone(),
                    sha256: None,
                }
            } else if let Some(l) = m.location() {
                InboundBody::Location {
                    latitude: l.latitude,
                    longitude: l.longitude,
                }
            } else if m.contact().is_some() {
                InboundBody::Contacts { count: 1 }
            } else {
                InboundBody::Unsupported {
                    kind: "message".into(),
                }
            };
            vec![event(
                from.id.0,
                Some(from.first_name),
                Some(m.date.timestamp()),
                body,
            )]
        }
        UpdateKind::EditedMessage(m) => match m.from.clone().filter(|_| in_private(&m)) {
            Some(from) => vec![event(
                from.id.0,
                Some(from.first_name),
                None,
                InboundBody::Edit,
            )],
            None => Vec::new(),
        },
        // A button under a message in the person's private chat only (inline-mode
        // callbacks carry no message and are not ours).
        UpdateKind::CallbackQuery(q)
            if !from_a_person(&q.from)
                || !q.message.as_ref().is_some_and(|m| m.chat().is_private()) =>
        {
            Vec::new()
        }
        UpdateKind::CallbackQuery(q) => {
            let data = q.data.clone().unwrap_or_default();
            vec![event(
                q.from.id.0,
                Some(q.from.first_name.clone()),
                None,
                InboundBody::Choice {
                    id: data.clone(),
                    title: data,
                    callback_id: Some(q.id.0.clone()),
                },
            )]
        }
        _ => Vec::new(),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_ids() {
        assert_eq!(bot_id("123456:ABC-def"), Some("123456"));
        assert_eq!(bot_id("abc:def"), None);
        assert_eq!(bot_id("123456"), None);
    }

    #[test]
    fn secret_compare() {
        assert!(verify("s3cret", "s3cret"));
        assert!(!verify("s3cret", "s3cre"));
        assert!(!verify("", ""));
    }

    #[test]
    fn parses_text_and_callback() {
        let text = br#"{"update_id":10,"message":{"message_id":5,"date":1732400000,"chat":{"id":42,"type":"private","first_name":"Imran"},"from":{"id":42,"is_bot":false,"first_name":"Imran"},"text":"fees"}}"#;
        let ev = events("777", text).unwrap();
        assert_eq!(ev[0].provider_key, "telegram:777:10");
        assert_eq!(ev[0].sender.expose(), "42");
        assert_eq!(
            ev[0].body,
            InboundBody::Text {
                text: "fees".into()
            }
        );
        let cb = br#"{"update_id":11,"callback_query":{"id":"cbq1","from":{"id":42,"is_bot":false,"first_name":"Imran"},"chat_instance":"x","data":"menu.fees","message":{"message_id":4,"date":1732400000,"chat":{"id":42,"type":"private","first_name":"Imran"},"text":"Menu"}}}"#;
        let ev = events("777", cb).unwrap();
        assert!(
            matches!(&ev[0].body, InboundBody::Choice { id, callback_id: Some(c), .. } if id == "menu.fees" && c == "cbq1")
        );
        assert!(events("777", b"{}").is_err());
        // An inline-mode callback (no message) is not ours.
        let inline = br#"{"update_id":12,"callback_query":{"id":"cbq3","from":{"id":42,"is_bot":false,"first_name":"Imran"},"chat_instance":"x","inline_message_id":"abc","data":"menu.fees"}}"#;
        assert!(events("777", inline).unwrap().is_empty());
    }

    #[test]
    fn only_people_in_private_chats_are_heard() {
        let msg = |from: &str, chat: &str, extra: &str| {
            format!(
                r#"{{"update_id":20,"message":{{"message_id":5,"date":1732400000,"chat":{chat},"from":{from}{extra},"text":"AB12CD34"}}}}"#
            )
        };
        let person = r#"{"id":42,"is_bot":false,"first_name":"Imran"}"#;
        let private = r#"{"id":42,"type":"private","first_name":"Imran"}"#;
        let group = r#"{"id":-100123,"type":"supergroup","title":"Parents"}"#;
        assert_eq!(
            events("777", msg(person, private, "").as_bytes())
                .unwrap()
                .len(),
            1
        );
        // A parent typing in a group.
        assert!(events("777", msg(person, group, "").as_bytes())
            .unwrap()
            .is_empty());
        // An anonymous group admin (Telegram's shared account), with sender_chat.
        let anon = r#"{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"}"#;
        let sender_chat = r#","sender_chat":{"id":-100123,"type":"supergroup","title":"Parents"}"#;
        assert!(events("777", msg(anon, group, sender_chat).as_bytes())
            .unwrap()
            .is_empty());
        assert!(events("777", msg(anon, private, "").as_bytes())
            .unwrap()
            .is_empty());
        // Telegram's service account and other bots.
        let service = r#"{"id":777000,"is_bot":false,"first_name":"Telegram"}"#;
        assert!(events("777", msg(service, private, "").as_bytes())
            .unwrap()
            .is_empty());
        let bot = r#"{"id":99,"is_bot":true,"first_name":"Other bot"}"#;
        assert!(events("777", msg(bot, private, "").as_bytes())
            .unwrap()
            .is_empty());
        // A button pressed under a message in a group.
        let cb = r#"{"update_id":21,"callback_query":{"id":"cbq2","from":{"id":42,"is_bot":false,"first_name":"Imran"},"chat_instance":"x","data":"q1-ask.1","message":{"message_id":9,"date":1732400000,"chat":{"id":-100123,"type":"supergroup","title":"Parents"},"text":"Approve?"}}}"#;
        assert!(events("777", cb.as_bytes()).unwrap().is_empty());
    }
}
