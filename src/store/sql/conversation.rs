//! Conversations and the step transaction the worker holds (`StepTx`).

use crate::domain::activity::ActivityEntry;
use crate::store::sql::{corrupt, field};
use crate::store::{Result, StoreError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{insert_job, log, SchoolStore};
use crate::store::crypto::KeyRing;
use crate::store::db::{self, Tx};

type ConversationRow = (
    Uuid,
    String,
    Vec<u8>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

pub(super) async fn conversation_view(
    tx: &mut Tx,
    keys: &crate::store::crypto::KeyRing,
    id: Uuid,
) -> Result<Option<crate::store::ConversationView>> {
    let row: Option<ConversationRow> = db::query_as(
        "SELECT channel_id, provider, sender_enc, last_inbound_at, opted_out_at FROM conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(
        |(channel_id, provider, sender_enc, last_inbound_at, opted_out_at)| {
            Ok(crate::store::ConversationView {
                id,
                channel_id,
                provider: provider.parse().map_err(corrupt)?,
                sender: crate::domain::message::SenderId::new(
                    keys.decrypt_str(field("conversations", "sender_enc", id), &sender_enc)?,
                ),
                last_inbound_at,
                opted_out_at,
            })
        },
    )
    .transpose()
}

/// The blind index of a conversation's sender on a channel.
pub(super) fn sender_index(keys: &KeyRing, channel: Uuid, sender: &str) -> Vec<u8> {
    keys.blind_index("sender", &format!("{channel}:{sender}"))
}

/// Creates the conversation with `sender` (blind index `bidx`) on a channel unless it
/// exists (two first messages may race on PostgreSQL: the loser's insert does nothing).
pub(super) async fn insert(
    tx: &mut Tx,
    keys: &KeyRing,
    (channel, provider): (Uuid, crate::domain::message::Provider),
    (sender, bidx): (&str, &[u8]),
    now: DateTime<Utc>,
) -> Result<()> {
    let cid = Uuid::now_v7();
    let sender_enc = keys.encrypt_str(field("conversations", "sender_enc", cid), sender)?;
    db::query(
        "INSERT INTO conversations (id, channel_id, provider, sender_bidx, sender_enc, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel_id, sender_bidx) DO NOTHING",
    )
    .bind(cid)
    .bind(channel)
    .bind(provider.as_str())
    .bind(bidx)
    .bind(sender_enc)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// The conversation of a channel and sender (blind index), if there is one.
pub(super) async fn find(tx: &mut Tx, channel: Uuid, bidx: &[u8]) -> Result<Option<Uuid>> {
    let row: Option<(Uuid,)> =
        db::query_as("SELECT id FROM conversations WHERE channel_id = $1 AND sender_bidx = $2")
            .bind(channel)
            .bind(bidx)
            .fetch_optional(tx)
            .await?;
    Ok(row.map(|r| r.0))
}

/// The conversation with `sender` on a channel, created if there is none.
pub(super) async fn open(
    tx: &mut Tx,
    keys: &KeyRing,
    channel: Uuid,
    provider: crate::domain::message::Provider,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let bidx = sender_index(keys, channel, sender);
    insert(tx, keys, (channel, provider), (sender, &bidx), now).await?;
    find(tx, channel, &bidx)
        .await?
        .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
}

#[async_trait::async_trait]
impl crate::store::ConversationStore for SchoolStore {
    async fn conversations_with_pending(&self, limit: i64) -> Result<Vec<Uuid>> {
        let q = db::query_as(
            "SELECT conversation_id FROM inbound_events WHERE state = 'pending' \
             GROUP BY conversation_id ORDER BY MIN(received_at) LIMIT $1",
        );
        let rows: Vec<(Uuid,)> = self.read_all(q.bind(limit)).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn conversation(&self, id: Uuid) -> Result<Option<crate::store::ConversationView>> {
        self.read(async |tx| conversation_view(tx, &self.keys, id).await)
            .await
    }

    async fn begin_step(
        &self,
        conversation: Uuid,
    ) -> Result<Option<Box<dyn crate::store::StepTx + '_>>> {
        let mut tx = self.begin().await?;
        let locked: Option<(Uuid,)> = db::query_as(self.db.dialect().lock_conversation)
            .bind(conversation)
            .fetch_optional(&mut *tx)
            .await?;
        if locked.is_none() {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(Box::new(StepOps {
            store: self,
            tx,
            conversation,
        })))
    }
    async fn conversation_thread(
        &self,
        conversation: Uuid,
        limit: i64,
    ) -> Result<Vec<crate::store::ThreadItem>> {
        use crate::domain::message::{InboundEvent, OutboundMessage};
        #[allow(clippy::type_complexity)]
        let (inbound, outbound): (
            Vec<(Uuid, Vec<u8>, DateTime<Utc>)>,
            Vec<(Uuid, Vec<u8>, DateTime<Utc>, String)>,
        ) = self
            .read(async |tx| {
                let inbound = db::query_as(
                    "SELECT id, payload_enc, received_at FROM inbound_events WHERE conversation_id = $1 \
                     AND kind IN ('text', 'choice', 'media', 'location', 'contacts', 'unsupported') \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(conversation)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                let outbound = db::query_as(
                    "SELECT id, payload_enc, created_at, state FROM outbox WHERE conversation_id = $1 \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(conversation)
                .bind(limit)
                .fetch_all(tx)
                .await?;
                Ok((inbound, outbound))
            })
            .await?;
        // Oldest first, so that messages of the same instant (one step's replies) keep
        // their order through the stable sort below.
        let mut items = Vec::new();
        for (id, enc, at) in inbound.into_iter().rev() {
            let plain = self
                .keys
                .decrypt(field("inbound_events", "payload_enc", id), &enc)?;
            let e: InboundEvent = serde_json::from_slice(&plain).map_err(corrupt)?;
            items.push(crate::store::ThreadItem {
                at,
                body: crate::store::ThreadBody::Inbound(e.body),
                state: None,
            });
        }
        for (id, enc, at, state) in outbound.into_iter().rev() {
            let plain = self
                .keys
                .decrypt(field("outbox", "payload_enc", id), &enc)?;
            let m: OutboundMessage = serde_json::from_slice(&plain).map_err(corrupt)?;
            if let OutboundMessage::CallbackAnswer { .. } = m {
                continue;
            }
            items.push(crate::store::ThreadItem {
                at,
                body: crate::store::ThreadBody::Outbound(m),
                state: Some(state),
            });
        }
        items.sort_by_key(|i| i.at);
        let skip = items.len().saturating_sub(limit.max(0) as usize);
        Ok(items.into_iter().skip(skip).collect())
    }
    async fn ensure_conversation(
        &self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        sender: &str,
        at: DateTime<Utc>,
    ) -> Result<Uuid> {
        self.write(async |tx| {
            super::conversation::open(tx, &self.keys, channel, provider, sender, at).await
        })
        .await
    }
}

/// A conversation step's transaction (see `StepTx`).
struct StepOps<'s> {
    store: &'s SchoolStore,
    tx: Tx,
    conversation: Uuid,
}

impl StepOps<'_> {
    /// Runs one statement in the step's transaction.
    async fn run(&mut self, q: db::Query<'_>) -> Result<()> {
        q.execute(&mut self.tx).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::store::StepTx for StepOps<'_> {
    async fn next_event(&mut self) -> Result<crate::store::NextEvent> {
        use crate::store::NextEvent;
        // The oldest pending event, with the state of its media if it has any.
        let next: Option<(Uuid, Vec<u8>, Option<String>)> = db::query_as(
            "SELECT e.id, e.payload_enc, m.state FROM inbound_events e \
             LEFT JOIN media m ON m.inbound_event_id = e.id \
             WHERE e.conversation_id = $1 AND e.state = 'pending' ORDER BY e.id LIMIT 1",
        )
        .bind(self.conversation)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some((event_id, payload, media)) = next else {
            return Ok(NextEvent::Idle);
        };
        if media.as_deref() == Some("pending") {
            return Ok(NextEvent::WaitingForMedia);
        }
        let readable = self
            .store
            .keys
            .decrypt(field("inbound_events", "payload_enc", event_id), &payload)
            .map_err(StoreError::from)
            .and_then(|plain| {
                serde_json::from_slice::<crate::domain::message::InboundEvent>(&plain)
                    .map_err(corrupt)
            });
        Ok(match readable {
            Ok(event) => NextEvent::Event(event_id, Box::new(event)),
            Err(_) => NextEvent::Unreadable(event_id),
        })
    }

    async fn conversation(&mut self) -> Result<crate::store::ConversationView> {
        conversation_view(&mut self.tx, &self.store.keys, self.conversation)
            .await?
            .ok_or_else(|| corrupt("event without conversation"))
    }

    async fn set_aside(&mut self, event: Uuid) -> Result<()> {
        let q = db::query(
            "UPDATE inbound_events SET state = 'failed', attempts = attempts + 1 WHERE id = $1",
        );
        self.run(q.bind(event)).await
    }

    async fn record_delivery(
        &mut self,
        provider_message_id: &str,
        status: crate::domain::message::DeliveryStatus,
        error_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let q = db::query(
            "INSERT INTO delivery_reports (provider_message_id, status_rank, error_code, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (provider_message_id) DO UPDATE SET \
             status_rank = excluded.status_rank, error_code = excluded.error_code, \
             updated_at = excluded.updated_at WHERE excluded.status_rank > delivery_reports.status_rank",
        );
        let rank = crate::store::sql::status_rank(status);
        self.run(
            q.bind(provider_message_id)
                .bind(rank)
                .bind(error_code)
                .bind(now),
        )
        .await
    }

    async fn sent_message(
        &mut self,
        provider_message_id: &str,
    ) -> Result<Option<(Uuid, crate::domain::message::OutboundMessage)>> {
        let row: Option<(Uuid, Vec<u8>)> = db::query_as(
            "SELECT id, payload_enc FROM outbox WHERE provider_message_id = $1 AND state = 'sent'",
        )
        .bind(provider_message_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some((id, payload)) = row else {
            return Ok(None);
        };
        let plain = self
            .store
            .keys
            .decrypt(field("outbox", "payload_enc", id), &payload)?;
        let message = serde_json::from_slice(&plain).map_err(corrupt)?;
        Ok(Some((id, message)))
    }

    async fn make_manual(
        &mut self,
        outbox: Uuid,
        link: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let enc = self
            .store
            .keys
            .encrypt_str(field("outbox", "manual_link_enc", outbox), link)?;
        let q = db::query(
            "UPDATE outbox SET state = 'manual', manual_link_enc = $2, last_error = $3, updated_at = $4 WHERE id = $1",
        );
        self.run(q.bind(outbox).bind(enc).bind(reason).bind(now))
            .await
    }

    async fn mark_opted_out(&mut self, now: DateTime<Utc>) -> Result<()> {
        let q = db::query(
            "UPDATE conversations SET opted_out_at = $2 WHERE id = $1 AND opted_out_at IS NULL",
        );
        self.run(q.bind(self.conversation).bind(now)).await
    }

    fn flow(&mut self) -> Box<dyn crate::store::FlowTx + '_> {
        self.store.flow_tx(&mut self.tx, self.conversation)
    }

    async fn queue_replies(
        &mut self,
        event: Uuid,
        replies: &[crate::domain::message::OutboundMessage],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut queued = 0;
        for (seq, reply) in replies.iter().enumerate() {
            let id = Uuid::now_v7();
            let json = serde_json::to_vec(reply).map_err(corrupt)?;
            let enc = self
                .store
                .keys
                .encrypt(field("outbox", "payload_enc", id), &json)?;
            let done = db::query(
                "INSERT INTO outbox (id, conversation_id, idempotency_key, payload_enc, state, \
                 next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5) \
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(id)
            .bind(self.conversation)
            .bind(format!("{}:{event}:{seq}", self.conversation))
            .bind(enc)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
            queued += done.rows_affected() as usize;
        }
        Ok(queued)
    }

    async fn log(&mut self, activity: &ActivityEntry) -> Result<()> {
        log(&mut self.tx, activity).await
    }

    async fn enqueue_job(
        &mut self,
        job: &crate::store::NewJob,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        insert_job(&mut self.tx, job, now).await
    }

    async fn finish_event(&mut self, event: Uuid, now: DateTime<Utc>) -> Result<()> {
        let q = db::query(
            "UPDATE inbound_events SET state = 'done', processed_at = $2, attempts = attempts + 1 WHERE id = $1",
        );
        self.run(q.bind(event).bind(now)).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
