//! The outbox: claiming due rows, settling attempts, enqueueing replies.

use crate::domain::activity::ActivityEntry;
use crate::store::sql::{corrupt, field};
use crate::store::Result;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{log, SchoolStore};
use crate::store::db::{self};
use sqlx::AssertSqlSafe;

impl SchoolStore {
    /// Moves a claimed outbox row on, only while the claim still holds.
    async fn outbox_transition(
        &self,
        id: Uuid,
        attempt: i32,
        state: &str,
        next_attempt_at: Option<DateTime<Utc>>,
        error: &str,
        manual_link: Option<Vec<u8>>,
    ) -> Result<bool> {
        let q = db::query(
            "UPDATE outbox SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             last_error = $4, manual_link_enc = COALESCE($5, manual_link_enc), updated_at = $6 \
             WHERE id = $1 AND state = 'sending' AND attempts = $7",
        );
        let q = q.bind(id).bind(state).bind(next_attempt_at).bind(error);
        let q = q.bind(manual_link).bind(Utc::now()).bind(attempt);
        Ok(self.execute(q).await? == 1)
    }
}

#[async_trait::async_trait]
impl crate::store::OutboxStore for SchoolStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: i64,
        only: Option<Uuid>,
    ) -> Result<Vec<crate::store::OutboxItem>> {
        let mut tx = self.begin().await?;
        // Two texts, not `$3 IS NULL OR …`: a generic plan for that form scans
        // the whole backlog on PostgreSQL (seconds at 10,000 rows).
        let rows: Vec<(Uuid, Uuid, Vec<u8>, String, DateTime<Utc>, i32, String)> = match only {
            None => {
                let due = AssertSqlSafe(super::due_outbox_sql(""));
                db::query_as(due)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?
            }
            Some(c) => {
                let due = AssertSqlSafe(super::due_outbox_sql("o.conversation_id = $3 AND "));
                db::query_as(due)
                    .bind(now)
                    .bind(limit)
                    .bind(c)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let lease_until = now
            + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(60));
        let mut out = Vec::new();
        for (id, conversation, payload, state, next_at, attempts, mode) in rows {
            // Compare-and-set: another sender that took the row first wins.
            let done = db::query(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = $2, \
                 updated_at = $3 WHERE id = $1 AND state = $4 AND next_attempt_at = $5",
            )
            .bind(id)
            .bind(lease_until)
            .bind(now)
            .bind(&state)
            .bind(next_at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                continue;
            }
            let plain = self
                .keys
                .decrypt(field("outbox", "payload_enc", id), &payload)?;
            let message = serde_json::from_slice(&plain).map_err(corrupt)?;
            let conversation =
                super::conversation::conversation_view(&mut tx, &self.keys, conversation)
                    .await?
                    .ok_or_else(|| corrupt("outbox row without conversation"))?;
            let mode = crate::domain::message::OutboundMode::parse(&mode)
                .ok_or_else(|| corrupt("outbox mode"))?;
            out.push(crate::store::OutboxItem {
                id,
                conversation,
                message,
                attempts: attempts + 1,
                mode,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn mark_sent(&self, id: Uuid, attempt: i32, provider_message_id: &str) -> Result<bool> {
        self.write(async |tx| {
            let done = db::query(
                "UPDATE outbox SET state = 'sent', provider_message_id = $2, last_error = NULL, updated_at = $3 \
                 WHERE id = $1 AND state = 'sending' AND attempts = $4",
            )
            .bind(id)
            .bind(provider_message_id)
            .bind(Utc::now())
            .bind(attempt)
            .execute(&mut *tx)
            .await?;
            // The provider accepted it: that is at least "sent", even if no report came yet.
            db::query(
                "INSERT INTO delivery_reports (provider_message_id, status_rank, updated_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (provider_message_id) DO NOTHING",
            )
            .bind(provider_message_id)
            .bind(Utc::now())
            .execute(tx)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn mark_retry(
        &self,
        id: Uuid,
        attempt: i32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        self.outbox_transition(id, attempt, "pending", Some(next_attempt_at), error, None)
            .await
    }

    async fn mark_dead(&self, id: Uuid, attempt: i32, error: &str) -> Result<bool> {
        self.outbox_transition(id, attempt, "dead", None, error, None)
            .await
    }

    async fn mark_manual(&self, id: Uuid, attempt: i32, link: &str, reason: &str) -> Result<bool> {
        let enc = self
            .keys
            .encrypt_str(field("outbox", "manual_link_enc", id), link)?;
        self.outbox_transition(id, attempt, "manual", None, reason, Some(enc))
            .await
    }

    async fn mark_opted_out(
        &self,
        id: Uuid,
        attempt: i32,
        conversation: Uuid,
        error: &str,
    ) -> Result<bool> {
        let done = self
            .outbox_transition(id, attempt, "dead", None, error, None)
            .await?;
        let q = db::query(
            "UPDATE conversations SET opted_out_at = $2 WHERE id = $1 AND opted_out_at IS NULL",
        );
        self.execute(q.bind(conversation).bind(Utc::now())).await?;
        Ok(done)
    }

    async fn enqueue(
        &self,
        conversation: Uuid,
        idempotency_key: &str,
        message: &crate::domain::message::OutboundMessage,
        mode: crate::domain::message::OutboundMode,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let id = Uuid::now_v7();
        let json = serde_json::to_vec(message).map_err(corrupt)?;
        let enc = self
            .keys
            .encrypt(field("outbox", "payload_enc", id), &json)?;
        let now = Utc::now();
        self.write(async |tx| {
            let done = db::query(
                "INSERT INTO outbox (id, conversation_id, idempotency_key, payload_enc, state, next_attempt_at, \
                 created_at, updated_at, mode) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5, $6) \
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(id)
            .bind(conversation)
            .bind(idempotency_key)
            .bind(enc)
            .bind(now)
            .bind(mode.as_str())
            .execute(&mut *tx)
            .await?;
            let new = done.rows_affected() == 1;
            if new {
                log(tx, activity).await?;
            }
            Ok(new)
        })
        .await
    }

    async fn outbox(&self) -> Result<Vec<crate::store::OutboxView>> {
        self.outbox_where(false, i64::MAX)
            .await
            .map(|(rows, _)| rows)
    }

    async fn outbox_where(
        &self,
        problems_only: bool,
        limit: i64,
    ) -> Result<(Vec<crate::store::OutboxView>, i64)> {
        let filter = if problems_only {
            "o.state IN ('dead', 'manual')"
        } else {
            "TRUE"
        };
        #[allow(clippy::type_complexity)]
        let (count, rows): (
            i64,
            Vec<(Uuid, Uuid, String, Option<String>, i32, Option<String>, Option<Vec<u8>>, Vec<u8>, Option<i64>)>,
        ) = self
            .read(async |tx| {
                let (count,): (i64,) = db::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox o WHERE {filter}"
                )))
                .fetch_one(&mut *tx)
                .await?;
                let rows = db::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT o.id, o.conversation_id, o.state, o.provider_message_id, o.attempts, o.last_error, \
                     o.manual_link_enc, o.payload_enc, CAST(d.status_rank AS BIGINT) FROM outbox o \
                     LEFT JOIN delivery_reports d ON d.provider_message_id = o.provider_message_id \
                     WHERE {filter} ORDER BY o.id DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(tx)
                .await?;
                Ok((count, rows))
            })
            .await?;
        let mut out = rows
            .into_iter()
            .map(
                |(
                    id,
                    conversation_id,
                    state,
                    provider_message_id,
                    attempts,
                    last_error,
                    link,
                    payload,
                    rank,
                )| {
                    let plain = self
                        .keys
                        .decrypt(field("outbox", "payload_enc", id), &payload)?;
                    Ok(crate::store::OutboxView {
                        id,
                        conversation_id,
                        state,
                        status: rank.and_then(crate::store::sql::status_from_rank),
                        provider_message_id,
                        attempts,
                        last_error,
                        manual_link: link
                            .map(|l| {
                                self.keys
                                    .decrypt_str(field("outbox", "manual_link_enc", id), &l)
                            })
                            .transpose()?,
                        message: serde_json::from_slice(&plain).map_err(corrupt)?,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        // Oldest first, like the unfiltered list always was.
        out.reverse();
        Ok((out, count))
    }
    async fn retry_outbox(
        &self,
        id: Uuid,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let q = db::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL, \
             updated_at = $2 WHERE id = $1 AND state = 'dead'",
        );
        self.change_one(q.bind(id).bind(now), activity).await
    }
    async fn dead_to_manual(&self, id: Uuid, link: &str, activity: &ActivityEntry) -> Result<bool> {
        let enc = self
            .keys
            .encrypt_str(field("outbox", "manual_link_enc", id), link)?;
        let q = db::query(
            "UPDATE outbox SET state = 'manual', manual_link_enc = $2, updated_at = $3 \
             WHERE id = $1 AND state = 'dead'",
        );
        self.change_one(q.bind(id).bind(enc).bind(activity.at), activity)
            .await
    }
}
