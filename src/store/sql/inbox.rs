//! The ordered inbox: inbound events recorded once, and queue figures.

use crate::store::sql::{corrupt, field};
use crate::store::Result;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::conversation::{self, sender_index};
use super::{insert_job, SchoolStore};
use crate::store::db::{self};

#[async_trait::async_trait]
impl crate::store::InboxStore for SchoolStore {
    async fn record_inbound(
        &self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        events: &[crate::domain::message::InboundEvent],
        received_at: DateTime<Utc>,
    ) -> Result<crate::store::InboxOutcome> {
        let mut out = crate::store::InboxOutcome::default();
        let mut tx = self.begin().await?;
        for (seq, e) in events.iter().enumerate() {
            let sender = e.sender.expose();
            let bidx = sender_index(&self.keys, channel, sender);
            // Time-ordered by arrival, so events ingested late from the spool
            // keep their place in the conversation.
            // (+1 ms per event keeps a batch in the provider's order.)
            let id = crate::store::sql::uuid_at(
                received_at + chrono::Duration::milliseconds(seq as i64),
            );
            let payload = serde_json::to_vec(e).map_err(corrupt)?;
            let enc = self
                .keys
                .encrypt(field("inbound_events", "payload_enc", id), &payload)?;
            // Common case in one round trip: the conversation exists, and the event
            // is stored against it unless its provider key was seen before.
            const INSERT_EVENT: &str =
                "INSERT INTO inbound_events (id, conversation_id, provider_key, kind, \
                 payload_enc, received_at) SELECT $1, id, $4, $5, $6, $7 FROM conversations \
                 WHERE channel_id = $2 AND sender_bidx = $3 ON CONFLICT (provider_key) DO NOTHING \
                 RETURNING conversation_id";
            let insert = || {
                db::query_as::<(Uuid,)>(INSERT_EVENT)
                    .bind(id)
                    .bind(channel)
                    .bind(&bidx)
                    .bind(&e.provider_key)
                    .bind(e.body.kind())
                    .bind(enc.clone())
                    .bind(received_at)
            };
            let mut stored = insert().fetch_optional(&mut *tx).await?;
            if stored.is_none() {
                if conversation::find(&mut tx, channel, &bidx).await?.is_some() {
                    // The conversation exists, so the event was a redelivery.
                    out.duplicates += 1;
                    continue;
                }
                // A new sender. Two first messages may race (PostgreSQL): the
                // loser's insert does nothing and the event goes to the winner's row.
                let (from, bidx) = ((channel, provider), (sender, bidx.as_slice()));
                conversation::insert(&mut tx, &self.keys, from, bidx, received_at).await?;
                stored = insert().fetch_optional(&mut *tx).await?;
            }
            let Some((conversation,)) = stored else {
                out.duplicates += 1;
                continue;
            };
            out.stored += 1;
            if let crate::domain::message::InboundBody::Media { .. } = &e.body {
                // The download is a durable job, enqueued with the message.
                let media = Uuid::now_v7();
                db::query(
                    "INSERT INTO media (id, inbound_event_id, state, next_attempt_at, created_at, updated_at) \
                     VALUES ($1, $2, 'pending', $3, $3, $3)",
                )
                .bind(media)
                .bind(id)
                .bind(received_at)
                .execute(&mut *tx)
                .await?;
                insert_job(
                    &mut tx,
                    &crate::domain::job::media_fetch(media, conversation, received_at),
                    received_at,
                )
                .await?;
            }
            if !e.body.is_status() {
                // Writing to us again (Telegram: after unblocking; WhatsApp: START)
                // opts them back in.
                db::query(
                    "UPDATE conversations SET opted_out_at = NULL, last_inbound_at = CASE \
                     WHEN last_inbound_at IS NULL OR last_inbound_at < $2 THEN $2 ELSE last_inbound_at END \
                     WHERE id = $1",
                )
                .bind(conversation)
                .bind(received_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn inbound_count(&self) -> Result<i64> {
        let q = db::query_as("SELECT COUNT(*) FROM inbound_events");
        let (n,): (i64,) = self.read_one(q).await?;
        Ok(n)
    }

    async fn queue_figures(&self) -> Result<crate::store::QueueFigures> {
        let (pending, oldest, outbox) = self
            .read(async |tx| {
                let (pending, oldest): (i64, Option<DateTime<Utc>>) = db::query_as(
                    "SELECT COUNT(*), MIN(received_at) FROM inbound_events WHERE state = 'pending'",
                )
                .fetch_one(&mut *tx)
                .await?;
                let outbox: Vec<(Uuid, String, i64)> = db::query_as(
                    "SELECT c.channel_id, o.state, COUNT(*) FROM outbox o \
                     JOIN conversations c ON c.id = o.conversation_id \
                     WHERE o.state IN ('pending', 'sending', 'dead', 'manual') \
                     GROUP BY c.channel_id, o.state",
                )
                .fetch_all(tx)
                .await?;
                Ok((pending, oldest, outbox))
            })
            .await?;
        Ok(crate::store::QueueFigures {
            pending_events: pending,
            oldest_pending_at: oldest,
            outbox,
        })
    }
}
