//! One conversation step, top to bottom: the store opens the step's transaction with
//! the conversation locked (`begin_step`); the oldest pending event is read; a delivery
//! report is recorded (and a failed one handled: closed window → manual link, opt-out
//! → conversation opted out); any other event goes to the flow driver, whose reads and
//! writes share the transaction; the replies go to the outbox; the event is marked
//! done; the activity entry is written; commit. All or nothing.
//!
//! Nothing slow runs here: bounded work a step needs (an access-code check) is done
//! before, by [`super::driver::FlowDriver::prepare`]; anything longer is a job.

use crate::domain::activity::ActivityEntry;
use crate::domain::message::{wa_me_link, DeliveryStatus, InboundBody, InboundEvent};
use crate::store::{
    ConversationView, FlowTx, NextEvent, ProcessOutcome, Result, StepTx, TenantStore,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a step decided for one inbound event.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub replies: Vec<crate::domain::message::OutboundMessage>,
    /// Activity-log action for this step (no PII in it).
    pub action: String,
}

/// Decides a conversation step inside its transaction: the flow driver
/// (`worker::driver`) reads and writes through [`FlowTx`], so the step, its data and
/// its replies commit together.
#[async_trait::async_trait]
pub trait Driver: Send + Sync {
    async fn step(
        &self,
        tx: &mut dyn FlowTx,
        conversation: &ConversationView,
        event: &InboundEvent,
        now: DateTime<Utc>,
    ) -> Result<Decision>;
}

/// Provider error codes of a failed delivery report: the 24-hour window had closed
/// (Meta 131047, Twilio 63016) or the person opted out (Twilio 21610, Meta 131050).
fn failure_kind(code: Option<&str>) -> Option<&'static str> {
    match code {
        Some("131047") | Some("63016") => Some("window_closed"),
        Some("21610") | Some("131050") => Some("opted_out"),
        _ => None,
    }
}

/// Processes the conversation's oldest pending event (see the module's text).
#[tracing::instrument(name = "step", skip_all, fields(conversation = %conversation))]
pub async fn process_next(
    store: &dyn TenantStore,
    conversation: Uuid,
    driver: &dyn Driver,
    now: DateTime<Utc>,
) -> Result<ProcessOutcome> {
    let Some(mut step) = store.begin_step(conversation).await? else {
        return Ok(ProcessOutcome::Busy);
    };
    let (event_id, event) = match step.next_event().await? {
        NextEvent::Idle => {
            step.commit().await?;
            return Ok(ProcessOutcome::Idle);
        }
        // Never process a message without its media: wait until it is fetched.
        NextEvent::WaitingForMedia => {
            step.commit().await?;
            return Ok(ProcessOutcome::WaitingForMedia);
        }
        // A poison event must not block its conversation forever: set it aside
        // (state 'failed') for staff, and go on with the next one.
        NextEvent::Unreadable(id) => {
            tracing::error!(event = %id, "unreadable inbound event set aside");
            step.set_aside(id).await?;
            step.commit().await?;
            return Ok(ProcessOutcome::Done { replies: 0 });
        }
        NextEvent::Event(id, event) => (id, event),
    };
    let view = step.conversation().await?;
    let mut replies = 0;
    if let InboundBody::Status {
        provider_message_id,
        status,
        error_code,
    } = &event.body
    {
        step.record_delivery(provider_message_id, *status, error_code.as_deref(), now)
            .await?;
        if *status == DeliveryStatus::Failed {
            delivery_failed(
                step.as_mut(),
                &view,
                provider_message_id,
                error_code.as_deref(),
                now,
            )
            .await?;
        }
    } else {
        let decision = {
            let mut flow = step.flow();
            driver.step(flow.as_mut(), &view, &event, now).await?
        };
        replies = step.queue_replies(event_id, &decision.replies, now).await?;
        let mut entry = ActivityEntry::now(
            &format!("{}:conversation:{conversation}", view.provider),
            &decision.action,
            Some(format!("conversation:{conversation}")),
            view.provider.as_str(),
            serde_json::json!({ "event": event_id, "kind": event.body.kind(), "replies": replies }),
        );
        entry.at = now;
        step.log(&entry).await?;
    }
    step.finish_event(event_id, now).await?;
    step.commit().await?;
    Ok(ProcessOutcome::Done { replies })
}

/// A delivery report says a sent message failed: outside the 24-hour window the
/// message goes to staff as a manual wa.me link; an opt-out marks the conversation.
async fn delivery_failed(
    step: &mut dyn StepTx,
    view: &ConversationView,
    provider_message_id: &str,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    match failure_kind(code) {
        Some("window_closed") => {
            if let Some((id, message)) = step.sent_message(provider_message_id).await? {
                let link = wa_me_link(view.sender.expose(), &message.as_numbered_text());
                step.make_manual(id, &link, "delivery failed: 24-hour window closed", now)
                    .await?;
            }
        }
        Some(_) => step.mark_opted_out(now).await?,
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::failure_kind;

    #[test]
    fn provider_failure_codes() {
        assert_eq!(failure_kind(Some("131047")), Some("window_closed"));
        assert_eq!(failure_kind(Some("63016")), Some("window_closed"));
        assert_eq!(failure_kind(Some("21610")), Some("opted_out"));
        assert_eq!(failure_kind(Some("131050")), Some("opted_out"));
        assert_eq!(failure_kind(Some("131026")), None);
        assert_eq!(failure_kind(None), None);
    }
}
