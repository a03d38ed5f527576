//! What staff and the school's duties queue for people: a staff message into the
//! outbox (delivered by the worker's sender) and the consent-reminder rule. Shared by
//! the web admin, the CLI and the worker, which do not import each other.

use crate::domain::activity::ActivityEntry;
use crate::domain::message::{OutboundMessage, OutboundMode};
use crate::store::{OutboxStore, StoreError};
use chrono::Duration;
use uuid::Uuid;

/// Reminders go to guardians who have not answered a consent form this long before
/// its deadline.
pub const CONSENT_REMINDER_BEFORE: Duration = Duration::hours(24);

/// Queues a staff-initiated message for a conversation. Manual-link mode is the default
/// (the school's staff send it from their own phone; nothing goes to a provider); pass
/// `Some(OutboundMode::Provider)` only for a school that has chosen API mode. Returns
/// false if `idempotency_key` was used before (a double-clicked button sends once).
pub async fn queue_staff_message(
    store: &(impl OutboxStore + ?Sized),
    conversation: Uuid,
    idempotency_key: &str,
    message: &OutboundMessage,
    mode: Option<OutboundMode>,
    activity: &ActivityEntry,
) -> Result<bool, StoreError> {
    let mode = mode.unwrap_or(OutboundMode::ManualLink);
    store
        .enqueue(conversation, idempotency_key, message, mode, activity)
        .await
}
