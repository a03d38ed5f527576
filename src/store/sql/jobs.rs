//! SQL of durable jobs and of the media they fetch, shared by both backends like
//! `sql.rs`. Claiming differs by dialect only in its lock clause
//! (`Dialect::claim_lock`): PostgreSQL skips rows another runner holds; SQLite has one
//! writer at a time.

use super::{claim_jobs_sql, corrupt, due_jobs_sql, field};
use super::{enqueue_internal, insert_job, SchoolStore};
use crate::store::db::{self};
use crate::store::{JobLease, JobView, MediaJob, NewJob, Result, StoredMedia};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// Ends an attempt we hold (state running, same attempt number).
const SETTLE_JOB: &str = "UPDATE jobs SET state = $3, run_after = $4, last_error = $5, \
    lease_until = NULL, updated_at = $6 WHERE id = $1 AND attempts = $2 AND state = 'running'";

type JobRow = (Uuid, Option<Uuid>, String, i32, i32);

fn lease_of(
    kind: &str,
    (id, conversation, payload, attempts, max_attempts): JobRow,
) -> Result<JobLease> {
    Ok(JobLease {
        id,
        kind: kind.to_string(),
        conversation,
        payload: serde_json::from_str(&payload).map_err(corrupt)?,
        attempts,
        max_attempts,
    })
}

/// A job as the admin selects it (id, kind, state, attempts, max_attempts,
/// last_error, conversation_id, created_at, updated_at).
impl db::FromRow for JobView {
    fn from_row(row: &db::Row) -> db::DbResult<Self> {
        Ok(JobView {
            id: row.get(0)?,
            kind: row.get(1)?,
            state: row.get(2)?,
            attempts: row.get(3)?,
            max_attempts: row.get(4)?,
            last_error: row.get(5)?,
            conversation: row.get(6)?,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
        })
    }
}

impl SchoolStore {
    async fn settle_job(
        &self,
        job: &JobLease,
        state: &str,
        run_after: DateTime<Utc>,
        error: Option<&str>,
        result: Option<crate::domain::message::InboundBody>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let settle = db::query(SETTLE_JOB)
            .bind(job.id)
            .bind(job.attempts)
            .bind(state)
            .bind(run_after)
            .bind(error)
            .bind(now);
        self.change_one_then(settle, async |tx| {
            if let (Some(body), Some(conversation)) = (result, job.conversation) {
                let key = format!("job:{}", job.id);
                enqueue_internal(tx, &self.keys, conversation, &key, body, now).await?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait::async_trait]
impl crate::store::JobStore for SchoolStore {
    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> Result<bool> {
        self.write(async |tx| insert_job(tx, job, now).await).await
    }

    async fn claim_jobs(
        &self,
        kind: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: i64,
        conversation: Option<Uuid>,
    ) -> Result<Vec<JobLease>> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        // Most passes find nothing: look first without taking the writer.
        let mut read = self.begin_read().await?;
        let due: Option<(Uuid,)> = match conversation {
            None => {
                let due = format!("SELECT id FROM jobs WHERE {} LIMIT 1", due_jobs_sql(""));
                db::query_as(AssertSqlSafe(due))
                    .bind(kind)
                    .bind(now)
                    .fetch_optional(&mut *read)
                    .await?
            }
            Some(c) => {
                let due = format!(
                    "SELECT id FROM jobs WHERE {} LIMIT 1",
                    due_jobs_sql("AND conversation_id = $3")
                );
                db::query_as(AssertSqlSafe(due))
                    .bind(kind)
                    .bind(now)
                    .bind(c)
                    .fetch_optional(&mut *read)
                    .await?
            }
        };
        read.commit().await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let until = now
            + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(60));
        let mut tx = self.begin().await?;
        let lock = self.db.dialect().claim_lock;
        let claim = db::query_as(AssertSqlSafe(match conversation {
            Some(_) => claim_jobs_sql(lock, "AND conversation_id = $5"),
            None => claim_jobs_sql(lock, ""),
        }))
        .bind(kind)
        .bind(now)
        .bind(until)
        .bind(limit);
        let rows: Vec<JobRow> = match conversation {
            Some(c) => claim.bind(c).fetch_all(&mut *tx).await?,
            None => claim.fetch_all(&mut *tx).await?,
        };
        let mut leases = Vec::new();
        for row in rows {
            let (id, attempts) = (row.0, row.3);
            match lease_of(kind, row) {
                Ok(lease) => leases.push(lease),
                // A payload nobody can read would be claimed for ever: dead at once.
                Err(_) => {
                    db::query(SETTLE_JOB)
                        .bind(id)
                        .bind(attempts)
                        .bind("dead")
                        .bind(now)
                        .bind("the job's payload is unreadable")
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(leases)
    }

    async fn finish_job(
        &self,
        job: &JobLease,
        result: Option<crate::domain::message::InboundBody>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.settle_job(job, "done", now, None, result, now).await
    }

    async fn retry_job(
        &self,
        job: &JobLease,
        run_after: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.settle_job(job, "pending", run_after, Some(error), None, now)
            .await
    }

    async fn bury_job(&self, job: &JobLease, error: &str, now: DateTime<Utc>) -> Result<bool> {
        self.settle_job(job, "dead", now, Some(error), None, now)
            .await
    }

    async fn job_held(&self, job: &JobLease, now: DateTime<Utc>) -> Result<bool> {
        let q = db::query_as::<(Uuid,)>(
            "SELECT id FROM jobs WHERE id = $1 AND attempts = $2 AND state = 'running' AND lease_until > $3",
        );
        let held = self.read_optional(q.bind(job.id).bind(job.attempts).bind(now));
        Ok(held.await?.is_some())
    }

    async fn prune_done_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let q = db::query("DELETE FROM jobs WHERE state = 'done' AND updated_at < $1");
        self.execute(q.bind(before)).await
    }

    async fn job_counts(&self) -> Result<Vec<(String, String, i64)>> {
        self.read_all(db::query_as(
            "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
        ))
        .await
    }

    async fn jobs_of_kind(&self, kind: &str, limit: i64) -> Result<Vec<JobView>> {
        self.read_all(
            db::query_as(
                "SELECT id, kind, state, attempts, max_attempts, last_error, conversation_id, created_at, updated_at \
                 FROM jobs WHERE kind = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(kind.to_string())
            .bind(limit),
        )
        .await
    }

    async fn jobs_in_state(&self, state: &str, limit: i64) -> Result<(Vec<JobView>, i64)> {
        self.read(async |tx| {
            let (count,): (i64,) = db::query_as("SELECT COUNT(*) FROM jobs WHERE state = $1")
                .bind(state)
                .fetch_one(&mut *tx)
                .await?;
            let jobs: Vec<JobView> = db::query_as(
                "SELECT id, kind, state, attempts, max_attempts, last_error, conversation_id, created_at, updated_at \
                 FROM jobs WHERE state = $1 ORDER BY updated_at DESC, id DESC LIMIT $2",
            )
            .bind(state)
            .bind(limit)
            .fetch_all(tx)
            .await?;
            Ok((jobs, count))
        })
        .await
    }
}

#[async_trait::async_trait]
impl crate::store::MediaStore for SchoolStore {
    async fn media_to_fetch(&self, id: Uuid) -> Result<Option<MediaJob>> {
        let q = db::query_as(
            "SELECT e.id, e.payload_enc, c.channel_id FROM media m \
             JOIN inbound_events e ON e.id = m.inbound_event_id \
             JOIN conversations c ON c.id = e.conversation_id \
             WHERE m.id = $1 AND m.state = 'pending'",
        );
        let row: Option<(Uuid, Vec<u8>, Uuid)> = self.read_optional(q.bind(id)).await?;
        let Some((event_id, payload, channel_id)) = row else {
            return Ok(None);
        };
        let plain = self
            .keys
            .decrypt(field("inbound_events", "payload_enc", event_id), &payload)?;
        let event: crate::domain::message::InboundEvent =
            serde_json::from_slice(&plain).map_err(corrupt)?;
        match event.body {
            crate::domain::message::InboundBody::Media {
                media_ref, sha256, ..
            } => Ok(Some(MediaJob {
                id,
                channel_id,
                media_ref,
                sha256,
            })),
            _ => Err(corrupt("media row for an event without media")),
        }
    }

    async fn media_stored(
        &self,
        id: Uuid,
        mime: &str,
        content: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let enc = self
            .keys
            .encrypt(field("media", "content_enc", id), content)?;
        let q = db::query(
            "UPDATE media SET state = 'stored', mime = $2, size_bytes = $3, content_enc = $4, \
             last_error = NULL, updated_at = $5 WHERE id = $1 AND state = 'pending'",
        );
        let q = q.bind(id).bind(mime).bind(content.len() as i64);
        Ok(self.execute(q.bind(enc).bind(now)).await? == 1)
    }

    async fn media_given_up(
        &self,
        id: Uuid,
        state: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let q = db::query(
            "UPDATE media SET state = $2, last_error = $3, updated_at = $4 WHERE id = $1 AND state = 'pending'",
        );
        self.execute(q.bind(id).bind(state).bind(error).bind(now))
            .await?;
        Ok(())
    }

    async fn media_held(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .read_all(db::query_as(
                "SELECT e.provider_key FROM media m JOIN inbound_events e ON e.id = m.inbound_event_id \
                 ORDER BY m.created_at, m.id",
            ))
            .await?;
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    async fn media_of(&self, provider_key: &str) -> Result<Option<StoredMedia>> {
        let q = db::query_as(
            "SELECT m.id, m.state, m.mime, m.content_enc, m.last_error FROM media m \
             JOIN inbound_events e ON e.id = m.inbound_event_id WHERE e.provider_key = $1",
        );
        #[allow(clippy::type_complexity)]
        let row: Option<(
            Uuid,
            String,
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
        )> = self.read_optional(q.bind(provider_key)).await?;
        row.map(|(id, state, mime, content, last_error)| {
            Ok(StoredMedia {
                state,
                mime,
                content: content
                    .map(|c| self.keys.decrypt(field("media", "content_enc", id), &c))
                    .transpose()?,
                last_error,
            })
        })
        .transpose()
    }
}
