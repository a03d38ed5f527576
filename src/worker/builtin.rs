//! The built-in reply used until the flow engine lands: a greeting with the school's
//! name, polite answers to locations and contacts, and acknowledgement of Telegram
//! button taps. Pure: it only decides; the worker writes the decision.

use crate::domain::message::{InboundBody, InboundEvent, OutboundMessage};
use crate::store::{ConversationView, Decision};

pub fn decide(
    school_name: &str,
    _conversation: &ConversationView,
    event: &InboundEvent,
) -> Decision {
    let greeting = || {
        OutboundMessage::text(format!(
            "Assalam o alaikum! This is {school_name}. We have received your message and the school office will help you soon."
        ))
    };
    let (replies, action) = match &event.body {
        InboundBody::Text { .. } | InboundBody::Media { .. } => {
            (vec![greeting()], "message.received")
        }
        InboundBody::Choice { callback_id, .. } => {
            let mut r = Vec::new();
            if let Some(id) = callback_id {
                r.push(OutboundMessage::CallbackAnswer {
                    callback_id: id.clone(),
                });
            }
            r.push(greeting());
            (r, "message.received")
        }
        InboundBody::Location { .. } => (
            vec![OutboundMessage::text(format!(
                "Thank you, {school_name} has received your location."
            ))],
            "message.location",
        ),
        InboundBody::Contacts { .. } => (
            vec![OutboundMessage::text(format!(
                "Thank you, {school_name} has received the contact you shared."
            ))],
            "message.contacts",
        ),
        InboundBody::Unsupported { .. } => (
            vec![OutboundMessage::text(
                "Sorry, we cannot read this kind of message. Please send text.",
            )],
            "message.unsupported",
        ),
        InboundBody::Reaction | InboundBody::Edit => {
            tracing::info!(kind = event.body.kind(), "reaction or edit ignored");
            (Vec::new(), "message.ignored")
        }
        InboundBody::Status { .. } => (Vec::new(), "status.received"),
    };
    Decision {
        replies,
        action: action.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::{Provider, SenderId};

    fn conv() -> ConversationView {
        ConversationView {
            id: uuid::Uuid::nil(),
            channel_id: uuid::Uuid::nil(),
            provider: Provider::Telegram,
            sender: SenderId::new("1"),
            last_inbound_at: None,
            opted_out_at: None,
        }
    }

    fn ev(body: InboundBody) -> InboundEvent {
        InboundEvent {
            provider_key: "k".into(),
            sender: SenderId::new("1"),
            sender_name: None,
            sent_at: None,
            body,
        }
    }

    #[test]
    fn replies_by_kind() {
        let d = decide(
            "City School",
            &conv(),
            &ev(InboundBody::Text { text: "hi".into() }),
        );
        assert_eq!(d.replies.len(), 1);
        assert!(d.replies[0].as_numbered_text().contains("City School"));
        let d = decide(
            "S",
            &conv(),
            &ev(InboundBody::Choice {
                id: "x".into(),
                title: "x".into(),
                callback_id: Some("cb".into()),
            }),
        );
        assert_eq!(
            d.replies[0],
            OutboundMessage::CallbackAnswer {
                callback_id: "cb".into()
            }
        );
        assert!(decide("S", &conv(), &ev(InboundBody::Reaction))
            .replies
            .is_empty());
        assert!(decide("S", &conv(), &ev(InboundBody::Edit))
            .replies
            .is_empty());
    }
}
