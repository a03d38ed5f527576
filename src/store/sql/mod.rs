//! The SQL of both backends, as plain functions and trait implementations, one module
//! per port. The same query text (with `$n` placeholders) runs on SQLite and PostgreSQL
//! through [`crate::store::db`]; a school's transactions come from its backend's
//! [`SchoolDb`] (on PostgreSQL bound to the school's role and schema).

mod activity;
mod attendance;
mod calendar;
mod codes;
mod complaints;
mod control;
mod conversation;
mod export;
mod face;
mod faq;
mod fees;
mod flow;
mod inbox;
mod jobs;
mod keys;
mod leads;
mod office;
mod outbox;
mod privacy;
mod roster;
mod staff;

use super::crypto::KeyRing;
use super::db::{self, FromRow, Pool, Query, QueryAs, SchoolDb, Tx};
use std::sync::Arc;

/// The control database (settings, schools, keys, channels) on either backend.
pub struct ControlDb {
    pub(in crate::store) control: Pool,
}

impl ControlDb {
    pub fn new(control: Pool) -> Self {
        ControlDb { control }
    }

    /// One statement on the control database; how many rows it changed.
    async fn run(&self, q: Query<'_>) -> Result<u64> {
        Ok(q.execute(&self.control).await?.rows_affected())
    }

    /// Runs `f` in a control-database transaction, committed when it succeeds.
    async fn write<T>(&self, f: impl AsyncFnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let mut tx = self.control.begin().await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// One school's data: its backend's transactions and its key ring. Every port of a
/// school is implemented once, here, for both backends.
pub struct SchoolStore {
    db: Box<dyn SchoolDb>,
    keys: Arc<KeyRing>,
}

impl SchoolStore {
    pub fn new(db: Box<dyn SchoolDb>, keys: Arc<KeyRing>) -> Self {
        SchoolStore { db, keys }
    }
    async fn begin(&self) -> Result<Tx> {
        self.db.begin().await
    }
    async fn begin_read(&self) -> Result<Tx> {
        self.db.begin_read().await
    }
    async fn identity(&self) -> Result<Vec<String>> {
        self.db.identity().await
    }

    /// Runs `f` in a read transaction, committed when it succeeds.
    async fn read<T>(&self, f: impl AsyncFnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let mut tx = self.begin_read().await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs `f` in a write transaction, committed when it succeeds (rolled back,
    /// by being dropped, when it fails).
    async fn write<T>(&self, f: impl AsyncFnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let mut tx = self.begin().await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Every row of one query, read in its own read transaction.
    async fn read_all<O: FromRow + Send>(&self, q: QueryAs<'_, O>) -> Result<Vec<O>> {
        self.read(async |tx| Ok(q.fetch_all(tx).await?)).await
    }

    /// The first row of one query, if any, read in its own read transaction.
    async fn read_optional<O: FromRow + Send>(&self, q: QueryAs<'_, O>) -> Result<Option<O>> {
        self.read(async |tx| Ok(q.fetch_optional(tx).await?)).await
    }

    /// The one row of one query, read in its own read transaction.
    async fn read_one<O: FromRow + Send>(&self, q: QueryAs<'_, O>) -> Result<O> {
        self.read(async |tx| Ok(q.fetch_one(tx).await?)).await
    }

    /// One statement in its own write transaction; how many rows it changed.
    async fn execute(&self, q: Query<'_>) -> Result<u64> {
        self.write(async |tx| Ok(q.execute(tx).await?.rows_affected()))
            .await
    }

    /// One statement and its activity entry in one write transaction; how many rows
    /// it changed.
    async fn execute_logged(&self, q: Query<'_>, activity: &ActivityEntry) -> Result<u64> {
        self.write(async |tx| {
            let done = q.execute(&mut *tx).await?;
            log(tx, activity).await?;
            Ok(done.rows_affected())
        })
        .await
    }

    /// Statements run in order, and their activity entry, in one write transaction.
    async fn execute_all_logged(
        &self,
        statements: Vec<Query<'_>>,
        activity: &ActivityEntry,
    ) -> Result<()> {
        self.write(async |tx| {
            for q in statements {
                q.execute(&mut *tx).await?;
            }
            log(tx, activity).await
        })
        .await
    }

    /// Runs `f` in a write transaction: committed when it returns something, rolled
    /// back when it returns None.
    async fn write_some<T>(
        &self,
        f: impl AsyncFnOnce(&mut Tx) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let mut tx = self.begin().await?;
        let out = f(&mut tx).await?;
        match out {
            Some(_) => tx.commit().await?,
            None => tx.rollback().await?,
        }
        Ok(out)
    }

    /// `first`, a statement meant to change exactly one row, and then (if it did)
    /// `then`, in one write transaction: committed (true), or rolled back when `first`
    /// changed no row (false).
    async fn change_one_then(
        &self,
        first: Query<'_>,
        then: impl AsyncFnOnce(&mut Tx) -> Result<()>,
    ) -> Result<bool> {
        let changed = self
            .write_some(async |tx| {
                if first.execute(&mut *tx).await?.rows_affected() != 1 {
                    return Ok(None);
                }
                then(tx).await?;
                Ok(Some(()))
            })
            .await?;
        Ok(changed.is_some())
    }

    /// One statement meant to change exactly one row: committed with its activity
    /// entry if it did (true), rolled back otherwise (false).
    async fn change_one(&self, q: Query<'_>, activity: &ActivityEntry) -> Result<bool> {
        self.change_one_then(q, async |tx| log(tx, activity).await)
            .await
    }
}

use super::crypto::FieldRef;
use super::{Result, StoreError};
use crate::domain::activity::ActivityEntry;
use crate::domain::phone::Phone;
use crate::domain::roster::NationalId;
use crate::domain::school::{Locale, Slug, Tenant, TenantStatus, Timezone};
use crate::domain::{Pii, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The blind index of roster phone numbers (guardians and staff).
const PHONE_INDEX: &str = "phone";

pub(crate) fn field(table: &'static str, column: &'static str, row: Uuid) -> FieldRef<'static> {
    FieldRef { table, column, row }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn tenant_from_parts(
    id: Uuid,
    slug: String,
    name: String,
    timezone: String,
    locale: String,
    status: String,
    created_at: DateTime<Utc>,
) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(id),
        slug: Slug::parse(&slug).map_err(corrupt)?,
        name,
        timezone: Timezone::parse(&timezone).map_err(corrupt)?,
        locale: locale.parse::<Locale>().map_err(corrupt)?,
        status: TenantStatus::parse(&status).ok_or_else(|| corrupt("tenant status"))?,
        created_at,
    })
}

pub(crate) fn activity_from_parts(
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject: Option<String>,
    source: String,
    details: serde_json::Value,
) -> ActivityEntry {
    ActivityEntry {
        actor,
        action,
        subject,
        source,
        details,
        at,
    }
}

/// An optional encrypted column, decrypted and read by `parse` ([`stored_phone`],
/// [`stored_national_id`], [`stored_text`]).
pub(crate) fn decrypt_as<T>(
    keys: &KeyRing,
    f: FieldRef<'_>,
    ct: Option<Vec<u8>>,
    parse: impl FnOnce(String) -> Result<T>,
) -> Result<Option<T>> {
    ct.map(|ct| parse(keys.decrypt_str(f, &ct)?)).transpose()
}

pub(crate) fn stored_phone(s: String) -> Result<Phone> {
    Phone::parse(&s, None).map_err(|_| corrupt("stored phone is not E.164"))
}

pub(crate) fn stored_national_id(s: String) -> Result<NationalId> {
    NationalId::parse(&s).map_err(|_| corrupt("stored national id"))
}

pub(crate) fn stored_text(s: String) -> Result<Pii<String>> {
    Ok(Pii::new(s))
}

/// The outbox rows due for sending at $1, at most $2, each the oldest unsent row of its
/// conversation; `only` narrows them (to one conversation: "o.conversation_id = $3 AND ").
pub(crate) fn due_outbox_sql(only: &str) -> String {
    format!(
        "SELECT o.id, o.conversation_id, o.payload_enc, o.state, o.next_attempt_at, o.attempts, o.mode \
         FROM outbox o WHERE {only}o.state IN ('pending', 'sending') AND o.next_attempt_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = o.conversation_id \
         AND p.id < o.id AND p.state IN ('pending', 'sending')) ORDER BY o.id LIMIT $2"
    )
}

/// The condition of a job of kind $1 that is due at $2 (pending and due, or running with
/// an expired lease), and `only` (one conversation's, say).
pub(crate) fn due_jobs_sql(only: &str) -> String {
    format!(
        "kind = $1 AND ((state = 'pending' AND run_after <= $2) \
         OR (state = 'running' AND lease_until <= $2)) {only}"
    )
}

/// Leases due jobs of kind $1 at $2 until $3, at most $4 (and `only`); returns (id,
/// conversation, payload, attempts, max_attempts). `lock` is the dialect's lock clause
/// for the inner select. Two texts rather than `$5 IS NULL OR …`, whose generic plan
/// cannot use an index.
pub(crate) fn claim_jobs_sql(lock: &str, only: &str) -> String {
    format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $3, updated_at = $2 \
         WHERE id IN (SELECT id FROM jobs WHERE {} ORDER BY run_after, id LIMIT $4 {lock}) \
         RETURNING id, conversation_id, payload, attempts, max_attempts",
        due_jobs_sql(only)
    )
}

/// A UUIDv7 for the given time (random low bits), so ids sort by that time.
/// Ids made in the same millisecond still sort in the order they were made (a
/// counter in the low bits), so events queued together keep their order.
pub(crate) fn uuid_at(t: chrono::DateTime<chrono::Utc>) -> Uuid {
    static CONTEXT: std::sync::Mutex<Option<uuid::ContextV7>> = std::sync::Mutex::new(None);
    let mut guard = CONTEXT.lock().unwrap_or_else(|p| p.into_inner());
    let context = guard.get_or_insert_with(uuid::ContextV7::new);
    let ts = uuid::Timestamp::from_unix(
        &*context,
        t.timestamp().max(0) as u64,
        t.timestamp_subsec_nanos(),
    );
    Uuid::new_v7(ts)
}

/// Delivery status ranks: only a higher rank replaces a lower one.
pub(crate) fn status_rank(s: crate::domain::message::DeliveryStatus) -> i64 {
    use crate::domain::message::DeliveryStatus::*;
    match s {
        Queued => 0,
        Sent => 1,
        Delivered => 2,
        Read => 3,
        Failed => 9,
    }
}

pub(crate) fn status_from_rank(r: i64) -> Option<crate::domain::message::DeliveryStatus> {
    use crate::domain::message::DeliveryStatus::*;
    match r {
        0 => Some(Queued),
        1 => Some(Sent),
        2 => Some(Delivered),
        3 => Some(Read),
        9 => Some(Failed),
        _ => None,
    }
}

async fn log(tx: &mut Tx, e: &crate::domain::activity::ActivityEntry) -> crate::store::Result<()> {
    db::query(
        "INSERT INTO activity_log (id, at, actor, action, subject, source, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.source)
    .bind(sqlx::types::Json(&e.details))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a job unless its idempotency key was used before (false then).
#[allow(dead_code)]
async fn insert_job(
    tx: &mut Tx,
    job: &crate::store::NewJob,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::store::Result<bool> {
    let done = db::query(
        "INSERT INTO jobs (id, kind, idempotency_key, conversation_id, payload, state, attempts, \
         max_attempts, run_after, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8, $8) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(crate::store::sql::uuid_at(now))
    .bind(&job.kind)
    .bind(&job.idempotency_key)
    .bind(job.conversation)
    .bind(job.payload.to_string())
    .bind(job.max_attempts)
    .bind(job.run_after)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts an internal event (timeout, trigger, job result) into a conversation's
/// ordered inbox; false if its key was used before.
#[allow(dead_code)]
async fn enqueue_internal(
    tx: &mut Tx,
    keys: &crate::store::crypto::KeyRing,
    conversation: uuid::Uuid,
    provider_key: &str,
    body: crate::domain::message::InboundBody,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::store::Result<bool> {
    let id = crate::store::sql::uuid_at(now);
    let kind = body.kind();
    let event = crate::domain::message::InboundEvent {
        provider_key: provider_key.to_string(),
        sender: crate::domain::message::SenderId::new("internal"),
        sender_name: None,
        sent_at: Some(now.timestamp()),
        body,
    };
    let json = serde_json::to_vec(&event).map_err(crate::store::sql::corrupt)?;
    let enc = keys.encrypt(
        crate::store::sql::field("inbound_events", "payload_enc", id),
        &json,
    )?;
    let done = db::query(
        "INSERT INTO inbound_events (id, conversation_id, provider_key, kind, payload_enc, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider_key) DO NOTHING",
    )
    .bind(id)
    .bind(conversation)
    .bind(provider_key)
    .bind(kind)
    .bind(enc)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait::async_trait]
impl crate::store::TenantStore for SchoolStore {
    async fn partition_identity(&self) -> Result<Vec<String>> {
        self.identity().await
    }
}

impl crate::store::SchoolKeys for SchoolStore {
    fn tenant_id(&self) -> crate::domain::TenantId {
        self.keys.tenant()
    }
    fn keys(&self) -> &crate::store::crypto::KeyRing {
        &self.keys
    }
}
