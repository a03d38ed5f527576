//! SQL shared by both backends. The same query text (with `$n` placeholders) runs on
//! SQLite and PostgreSQL; each backend invokes these macros for its own store types,
//! providing `begin()` / `begin_read()` (which, on PostgreSQL, bind the transaction to
//! the school's role and schema) and, for the control store, a `control` pool.

use super::crypto::FieldRef;
use super::{Result, StoreError};
use crate::domain::activity::ActivityEntry;
use crate::domain::phone::Phone;
use crate::domain::roster::NationalId;
use crate::domain::school::{Locale, Slug, Tenant, TenantStatus, Timezone};
use crate::domain::{Pii, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub(crate) fn field(table: &'static str, column: &'static str, row: Uuid) -> FieldRef<'static> {
    FieldRef { table, column, row }
}

/// One attendance mark per student and day: a second one replaces the first.
pub(crate) const UPSERT_ATTENDANCE: &str =
    "INSERT INTO attendance (id, day, student_id, status, source, recorded_by, recorded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (student_id, day) DO UPDATE SET \
     status = excluded.status, source = excluded.source, recorded_by = excluded.recorded_by, \
     recorded_at = excluded.recorded_at";

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

pub(crate) fn decrypt_phone(
    keys: &super::crypto::KeyRing,
    f: FieldRef<'_>,
    ct: Option<Vec<u8>>,
) -> Result<Option<Phone>> {
    ct.map(|ct| {
        let s = keys.decrypt_str(f, &ct)?;
        Phone::parse(&s, None).map_err(|_| corrupt("stored phone is not E.164"))
    })
    .transpose()
}

pub(crate) fn decrypt_national_id(
    keys: &super::crypto::KeyRing,
    f: FieldRef<'_>,
    ct: Option<Vec<u8>>,
) -> Result<Option<NationalId>> {
    ct.map(|ct| {
        let s = keys.decrypt_str(f, &ct)?;
        NationalId::parse(&s).map_err(|_| corrupt("stored national id"))
    })
    .transpose()
}

pub(crate) fn decrypt_text(
    keys: &super::crypto::KeyRing,
    f: FieldRef<'_>,
    ct: Option<Vec<u8>>,
) -> Result<Option<Pii<String>>> {
    ct.map(|ct| Ok(Pii::new(keys.decrypt_str(f, &ct)?)))
        .transpose()
}

/// `ControlStore` over a `control` pool field.
macro_rules! control_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ControlStore for $store {
            async fn setting(&self, name: &str) -> $crate::store::Result<Option<Vec<u8>>> {
                let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT value FROM settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.control)
                    .await?;
                Ok(row.map(|r| r.0))
            }

            async fn init_setting(&self, name: &str, value: &[u8]) -> $crate::store::Result<Vec<u8>> {
                sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(value)
                    .execute(&self.control)
                    .await?;
                self.setting(name)
                    .await?
                    .ok_or_else(|| $crate::store::sql::corrupt("setting vanished after insert"))
            }

            async fn insert_tenant(&self, t: &$crate::domain::school::Tenant) -> $crate::store::Result<()> {
                let res = sqlx::query(
                    "INSERT INTO tenants (id, slug, name, timezone, locale, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(t.id.0)
                .bind(t.slug.as_str())
                .bind(&t.name)
                .bind(t.timezone.as_str())
                .bind(t.locale.as_str())
                .bind(t.status.as_str())
                .bind(t.created_at)
                .execute(&self.control)
                .await;
                match res {
                    Ok(_) => Ok(()),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err($crate::store::StoreError::TenantExists(t.slug.to_string()))
                    }
                    Err(e) => Err(e.into()),
                }
            }

            async fn set_tenant_status(
                &self,
                id: $crate::domain::TenantId,
                status: $crate::domain::school::TenantStatus,
            ) -> $crate::store::Result<()> {
                sqlx::query("UPDATE tenants SET status = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(status.as_str())
                    .execute(&self.control)
                    .await?;
                Ok(())
            }

            async fn tenants(&self) -> $crate::store::Result<Vec<$crate::domain::school::Tenant>> {
                let rows: Vec<(uuid::Uuid, String, String, String, String, String, chrono::DateTime<chrono::Utc>)> =
                    sqlx::query_as(
                        "SELECT id, slug, name, timezone, locale, status, created_at FROM tenants ORDER BY slug",
                    )
                    .fetch_all(&self.control)
                    .await?;
                rows.into_iter()
                    .map(|(a, b, c, d, e, f, g)| $crate::store::sql::tenant_from_parts(a, b, c, d, e, f, g))
                    .collect()
            }

            async fn tenant_by_slug(
                &self,
                slug: &str,
            ) -> $crate::store::Result<Option<$crate::domain::school::Tenant>> {
                let row: Option<(uuid::Uuid, String, String, String, String, String, chrono::DateTime<chrono::Utc>)> =
                    sqlx::query_as(
                        "SELECT id, slug, name, timezone, locale, status, created_at FROM tenants WHERE slug = $1",
                    )
                    .bind(slug)
                    .fetch_optional(&self.control)
                    .await?;
                row.map(|(a, b, c, d, e, f, g)| $crate::store::sql::tenant_from_parts(a, b, c, d, e, f, g))
                    .transpose()
            }

            async fn delete_tenant(&self, id: $crate::domain::TenantId) -> $crate::store::Result<()> {
                let mut tx = self.control.begin().await?;
                sqlx::query("DELETE FROM channel_accounts WHERE tenant_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM tenant_keys WHERE tenant_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM tenants WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_tenant_key(&self, k: &$crate::store::TenantKeyRow) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO tenant_keys (tenant_id, purpose, key_id, wrapped, state, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(k.tenant_id.0)
                .bind(k.purpose.as_str())
                .bind(i64::from(k.key_id))
                .bind(&k.wrapped)
                .bind(k.state.as_str())
                .bind(k.created_at)
                .execute(&self.control)
                .await?;
                Ok(())
            }

            async fn tenant_keys(
                &self,
                id: $crate::domain::TenantId,
            ) -> $crate::store::Result<Vec<$crate::store::TenantKeyRow>> {
                let rows: Vec<(String, i64, Vec<u8>, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "SELECT purpose, CAST(key_id AS BIGINT), wrapped, state, created_at FROM tenant_keys \
                     WHERE tenant_id = $1 ORDER BY purpose, key_id",
                )
                .bind(id.0)
                .fetch_all(&self.control)
                .await?;
                rows.into_iter()
                    .map(|(purpose, key_id, wrapped, state, created_at)| {
                        Ok($crate::store::TenantKeyRow {
                            tenant_id: id,
                            purpose: $crate::store::KeyPurpose::parse(&purpose)
                                .ok_or_else(|| $crate::store::sql::corrupt("key purpose"))?,
                            key_id: u32::try_from(key_id).map_err($crate::store::sql::corrupt)?,
                            wrapped,
                            state: $crate::store::KeyState::parse(&state)
                                .ok_or_else(|| $crate::store::sql::corrupt("key state"))?,
                            created_at,
                        })
                    })
                    .collect()
            }

            async fn activate_data_key(
                &self,
                id: $crate::domain::TenantId,
                new_active: u32,
            ) -> $crate::store::Result<()> {
                let mut tx = self.control.begin().await?;
                sqlx::query(
                    "UPDATE tenant_keys SET state = 'decrypt_only' \
                     WHERE tenant_id = $1 AND purpose = 'data' AND state = 'active' AND key_id <> $2",
                )
                .bind(id.0)
                .bind(i64::from(new_active))
                .execute(&mut *tx)
                .await?;
                let done = sqlx::query(
                    "UPDATE tenant_keys SET state = 'active' WHERE tenant_id = $1 AND purpose = 'data' AND key_id = $2",
                )
                .bind(id.0)
                .bind(i64::from(new_active))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err($crate::store::sql::corrupt("the key to activate does not exist"));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_key_state(
                &self,
                id: $crate::domain::TenantId,
                purpose: $crate::store::KeyPurpose,
                key_id: u32,
                state: $crate::store::KeyState,
            ) -> $crate::store::Result<()> {
                sqlx::query("UPDATE tenant_keys SET state = $4 WHERE tenant_id = $1 AND purpose = $2 AND key_id = $3")
                    .bind(id.0)
                    .bind(purpose.as_str())
                    .bind(i64::from(key_id))
                    .bind(state.as_str())
                    .execute(&self.control)
                    .await?;
                Ok(())
            }

            async fn delete_tenant_key(
                &self,
                id: $crate::domain::TenantId,
                purpose: $crate::store::KeyPurpose,
                key_id: u32,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "DELETE FROM tenant_keys WHERE tenant_id = $1 AND purpose = $2 AND key_id = $3 AND state <> 'active'",
                )
                .bind(id.0)
                .bind(purpose.as_str())
                .bind(i64::from(key_id))
                .execute(&self.control)
                .await?;
                Ok(())
            }

            async fn insert_channel(
                &self,
                c: &$crate::store::ChannelRow,
                replace_pending: bool,
            ) -> $crate::store::Result<()> {
                let mut tx = self.control.begin().await?;
                // A claim of a route that is active already is refused whoever makes it
                // (only active routes are unique in the schema).
                let (active,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM channel_accounts WHERE provider = $1 AND route_key = $2 AND status = 'active'",
                )
                .bind(c.provider.as_str())
                .bind(&c.route_key)
                .fetch_one(&mut *tx)
                .await?;
                if active > 0 {
                    return Err($crate::store::StoreError::Conflict(
                        format!("a {} channel with that number or route already exists", c.provider),
                    ));
                }
                if replace_pending {
                    sqlx::query(
                        "DELETE FROM channel_accounts WHERE provider = $1 AND route_key = $2 AND status = 'pending'",
                    )
                    .bind(c.provider.as_str())
                    .bind(&c.route_key)
                    .execute(&mut *tx)
                    .await?;
                }
                let res = sqlx::query(
                    "INSERT INTO channel_accounts (id, tenant_id, provider, route_key, api_base, credentials_enc, \
                     created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(c.id)
                .bind(c.tenant_id.0)
                .bind(c.provider.as_str())
                .bind(&c.route_key)
                .bind(&c.api_base)
                .bind(&c.credentials_enc)
                .bind(c.created_at)
                .bind(c.status.as_str())
                .execute(&mut *tx)
                .await;
                match res {
                    Ok(_) => {
                        tx.commit().await?;
                        Ok(())
                    }
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err($crate::store::StoreError::Conflict(
                        format!("a {} channel with that number or route already exists", c.provider),
                    )),
                    Err(e) => Err(e.into()),
                }
            }

            async fn channels(&self) -> $crate::store::Result<Vec<$crate::store::ChannelRow>> {
                #[allow(clippy::type_complexity)]
                let rows: Vec<(uuid::Uuid, uuid::Uuid, String, String, String, Vec<u8>, chrono::DateTime<chrono::Utc>, String)> =
                    sqlx::query_as(
                        "SELECT id, tenant_id, provider, route_key, api_base, credentials_enc, created_at, status \
                         FROM channel_accounts ORDER BY created_at, id",
                    )
                    .fetch_all(&self.control)
                    .await?;
                rows.into_iter()
                    .map(|(id, tenant, provider, route_key, api_base, credentials_enc, created_at, status)| {
                        Ok($crate::store::ChannelRow {
                            id,
                            tenant_id: $crate::domain::TenantId(tenant),
                            provider: provider.parse().map_err($crate::store::sql::corrupt)?,
                            route_key,
                            api_base,
                            credentials_enc,
                            created_at,
                            status: $crate::store::ChannelStatus::parse(&status)
                                .ok_or_else(|| $crate::store::sql::corrupt("channel status"))?,
                        })
                    })
                    .collect()
            }

            async fn approve_channel(&self, id: uuid::Uuid) -> $crate::store::Result<bool> {
                let res = sqlx::query(
                    "UPDATE channel_accounts SET status = 'active' WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .execute(&self.control)
                .await;
                match res {
                    Ok(done) => Ok(done.rows_affected() == 1),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err($crate::store::StoreError::Conflict(
                        "another channel has that number or route".into(),
                    )),
                    Err(e) => Err(e.into()),
                }
            }

            async fn put_setting(&self, name: &str, value: &[u8]) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(value)
                .execute(&self.control)
                .await?;
                Ok(())
            }

            async fn replace_channel_credentials(
                &self,
                id: uuid::Uuid,
                old: &[u8],
                new: &[u8],
            ) -> $crate::store::Result<bool> {
                let done = sqlx::query(
                    "UPDATE channel_accounts SET credentials_enc = $3 WHERE id = $1 AND credentials_enc = $2",
                )
                .bind(id)
                .bind(old)
                .bind(new)
                .execute(&self.control)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn ping(&self) -> $crate::store::Result<()> {
                sqlx::query("SELECT 1").execute(&self.control).await?;
                Ok(())
            }

            async fn record_flow_versions(&self, versions: &[(String, String, String)]) -> $crate::store::Result<()> {
                let mut tx = self.control.begin().await?;
                for (id, hash, source) in versions {
                    sqlx::query(
                        "INSERT INTO flow_versions (flow_id, hash, source, first_seen) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (flow_id, hash) DO NOTHING",
                    )
                    .bind(id)
                    .bind(hash)
                    .bind(source)
                    .bind(chrono::Utc::now())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn flow_versions(&self) -> $crate::store::Result<Vec<(String, String, String)>> {
                Ok(sqlx::query_as("SELECT flow_id, hash, source FROM flow_versions ORDER BY first_seen")
                    .fetch_all(&self.control)
                    .await?)
            }
        }
    };
}
pub(crate) use control_store_impl;

/// `log(tx, entry)`: the activity-log insert, defined once for every store macro
/// (`tenant_store_impl`, `flow_store_impl`, `admin_store_impl`).
macro_rules! activity_log_fn {
    ($store:ty) => {
        async fn log(
            tx: &mut sqlx::Transaction<'static, <$store as $crate::store::sql::StoreDb>::Db>,
            e: &$crate::domain::activity::ActivityEntry,
        ) -> $crate::store::Result<()> {
            sqlx::query(
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

        /// Ends a change meant to touch exactly one row: committed with its activity
        /// entry if it did (true), rolled back otherwise (false).
        #[allow(dead_code)]
        async fn log_if_one(
            mut tx: sqlx::Transaction<'static, <$store as $crate::store::sql::StoreDb>::Db>,
            changed: u64,
            e: &$crate::domain::activity::ActivityEntry,
        ) -> $crate::store::Result<bool> {
            if changed != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            log(&mut tx, e).await?;
            tx.commit().await?;
            Ok(true)
        }
    };
}
pub(crate) use activity_log_fn;

/// `insert_job` (a durable job, in the caller's transaction) and `enqueue_internal`
/// (an internal event into a conversation's ordered inbox) for a store type.
macro_rules! queue_fns {
    ($store:ty) => {
        /// Inserts a job unless its idempotency key was used before (false then).
        #[allow(dead_code)]
        async fn insert_job(
            tx: &mut sqlx::Transaction<'static, <$store as $crate::store::sql::StoreDb>::Db>,
            job: &$crate::store::NewJob,
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::Result<bool> {
            let done = sqlx::query(
                "INSERT INTO jobs (id, kind, idempotency_key, conversation_id, payload, state, attempts, \
                 max_attempts, run_after, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8, $8) ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind($crate::store::sql::uuid_at(now))
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
            tx: &mut sqlx::Transaction<'static, <$store as $crate::store::sql::StoreDb>::Db>,
            keys: &$crate::store::crypto::KeyRing,
            conversation: uuid::Uuid,
            provider_key: &str,
            body: $crate::domain::message::InboundBody,
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::Result<bool> {
            let id = $crate::store::sql::uuid_at(now);
            let kind = body.kind();
            let event = $crate::domain::message::InboundEvent {
                provider_key: provider_key.to_string(),
                sender: $crate::domain::message::SenderId::new("internal"),
                sender_name: None,
                sent_at: Some(now.timestamp()),
                body,
            };
            let json = serde_json::to_vec(&event).map_err($crate::store::sql::corrupt)?;
            let enc = keys.encrypt($crate::store::sql::field("inbound_events", "payload_enc", id), &json)?;
            let done = sqlx::query(
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
    };
}
pub(crate) use queue_fns;

/// All school-partition traits over a type with `begin()`, `begin_read()`, `keys`
/// and `tenant` fields/methods.
macro_rules! tenant_store_impl {
    ($store:ty) => {
        const _: () = {
            use $crate::domain::activity::ActivityEntry;
            use $crate::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
            use $crate::domain::fees::{Currency, FeeLineView, FeeRecord, Money};
            use $crate::domain::phone::Phone;
            use $crate::domain::roster::{ContactRef, Gender, Guardian, Relation, RosterRecord, StaffUser, Student};
            use $crate::domain::school::Locale;
            use $crate::domain::{AccessCodeId, ClassId, GuardianId, StaffId, StudentId};
            use $crate::store::sql::{corrupt, decrypt_national_id, decrypt_phone, decrypt_text, field};
            use $crate::store::{
                AccessCodeStore, ActivityStore, AttendanceStore, BatchResult, EncryptedColumn, FeeImportSummary,
                FeeStore, KeyRotationStore, Progress, Result, RosterImportSummary, RosterStore, SchoolCounts,
                StoreError, StoredAccessCode, TenantStore,
            };
            use chrono::{DateTime, NaiveDate, Utc};
            use sqlx::types::Json;
            use std::collections::{HashMap, HashSet};
            use uuid::Uuid;

            const PHONE_INDEX: &str = "phone";

            $crate::store::sql::activity_log_fn!($store);
            $crate::store::sql::queue_fns!($store);

            type GuardianRow = (Uuid, String, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>, String);
            const GUARDIAN_COLS: &str = "g.id, g.full_name, g.phone_enc, g.cnic_enc, g.address_enc, g.preferred_language";

            fn guardian_from_row(keys: &$crate::store::crypto::KeyRing, r: GuardianRow) -> Result<Guardian> {
                let (id, full_name, phone, cnic, address, lang) = r;
                Ok(Guardian {
                    id: GuardianId(id),
                    full_name,
                    phone: decrypt_phone(keys, field("guardians", "phone_enc", id), phone)?,
                    cnic: decrypt_national_id(keys, field("guardians", "cnic_enc", id), cnic)?,
                    address: decrypt_text(keys, field("guardians", "address_enc", id), address)?,
                    preferred_language: lang.parse::<Locale>().map_err(corrupt)?,
                })
            }

            #[async_trait::async_trait]
            impl RosterStore for $store {
                async fn import_roster(
                    &self,
                    records: &[RosterRecord],
                    activity: &ActivityEntry,
                    progress: &dyn Progress,
                ) -> Result<RosterImportSummary> {
                    let keys = self.keys.clone();
                    let mut tx = self.begin().await?;
                    let now = Utc::now();
                    let mut summary = RosterImportSummary::default();
                    let mut branches: HashMap<String, Uuid> = HashMap::new();
                    let mut classes: HashMap<(Uuid, String, String), Uuid> = HashMap::new();
                    let mut students: HashMap<String, Uuid> = HashMap::new();
                    let mut guardians_seen: HashSet<Uuid> = HashSet::new();
                    for r in records {
                        let branch_id = match branches.get(&r.branch) {
                            Some(id) => *id,
                            None => {
                                let (id,): (Uuid,) = sqlx::query_as(
                                    "INSERT INTO branches (id, name, created_at) VALUES ($1, $2, $3) \
                                     ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
                                )
                                .bind(Uuid::now_v7())
                                .bind(&r.branch)
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await?;
                                branches.insert(r.branch.clone(), id);
                                id
                            }
                        };
                        let class_key = (branch_id, r.class_name.clone(), r.section.clone());
                        let class_id = match classes.get(&class_key) {
                            Some(id) => *id,
                            None => {
                                let (id,): (Uuid,) = sqlx::query_as(
                                    "INSERT INTO classes (id, branch_id, name, section, created_at) \
                                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (branch_id, name, section) \
                                     DO UPDATE SET name = excluded.name RETURNING id",
                                )
                                .bind(Uuid::now_v7())
                                .bind(branch_id)
                                .bind(&r.class_name)
                                .bind(&r.section)
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await?;
                                classes.insert(class_key, id);
                                id
                            }
                        };
                        let student_id = match students.get(&r.admission_no) {
                            Some(id) => *id,
                            None => {
                                let existing: Option<(Uuid,)> =
                                    sqlx::query_as("SELECT id FROM students WHERE admission_no = $1")
                                        .bind(&r.admission_no)
                                        .fetch_optional(&mut *tx)
                                        .await?;
                                let id = existing.map(|e| e.0).unwrap_or_else(Uuid::now_v7);
                                let bform = r
                                    .bform
                                    .as_ref()
                                    .map(|b| keys.encrypt_str(field("students", "bform_enc", id), b.expose()))
                                    .transpose()?;
                                let health = r
                                    .health_notes
                                    .as_ref()
                                    .map(|h| keys.encrypt_str(field("students", "health_notes_enc", id), h.expose()))
                                    .transpose()?;
                                if existing.is_some() {
                                    sqlx::query(
                                        "UPDATE students SET full_name = $2, date_of_birth = COALESCE($3, date_of_birth), \
                                         gender = COALESCE($4, gender), class_id = $5, bform_enc = COALESCE($6, bform_enc), \
                                         health_notes_enc = COALESCE($7, health_notes_enc), \
                                         active = CASE WHEN $9 THEN active ELSE TRUE END, updated_at = $8 \
                                         WHERE id = $1",
                                    )
                                    .bind(id)
                                    .bind(&r.student_name)
                                    .bind(r.date_of_birth)
                                    .bind(r.gender.map(|g| g.as_str()))
                                    .bind(class_id)
                                    .bind(bform)
                                    .bind(health)
                                    .bind(now)
                                    .bind(r.keep_active)
                                    .execute(&mut *tx)
                                    .await?;
                                    summary.students_updated += 1;
                                } else {
                                    sqlx::query(
                                        "INSERT INTO students (id, admission_no, full_name, date_of_birth, gender, \
                                         class_id, bform_enc, health_notes_enc, active, created_at, updated_at) \
                                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9)",
                                    )
                                    .bind(id)
                                    .bind(&r.admission_no)
                                    .bind(&r.student_name)
                                    .bind(r.date_of_birth)
                                    .bind(r.gender.unwrap_or(Gender::Unspecified).as_str())
                                    .bind(class_id)
                                    .bind(bform)
                                    .bind(health)
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await?;
                                    summary.students_created += 1;
                                }
                                students.insert(r.admission_no.clone(), id);
                                id
                            }
                        };
                        if let Some(g) = &r.guardian {
                            let bidx = keys.blind_index(PHONE_INDEX, g.phone.e164());
                            let existing: Option<(Uuid,)> =
                                sqlx::query_as("SELECT id FROM guardians WHERE phone_bidx = $1")
                                    .bind(&bidx)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            let gid = existing.map(|e| e.0).unwrap_or_else(Uuid::now_v7);
                            if guardians_seen.insert(gid) {
                                let cnic = g
                                    .cnic
                                    .as_ref()
                                    .map(|c| keys.encrypt_str(field("guardians", "cnic_enc", gid), c.expose()))
                                    .transpose()?;
                                let address = g
                                    .address
                                    .as_ref()
                                    .map(|a| keys.encrypt_str(field("guardians", "address_enc", gid), a.expose()))
                                    .transpose()?;
                                if existing.is_some() {
                                    sqlx::query(
                                        "UPDATE guardians SET full_name = $2, preferred_language = COALESCE($3, preferred_language), \
                                         cnic_enc = COALESCE($4, cnic_enc), address_enc = COALESCE($5, address_enc), \
                                         updated_at = $6 WHERE id = $1",
                                    )
                                    .bind(gid)
                                    .bind(&g.full_name)
                                    .bind(g.language.map(|l| l.as_str()))
                                    .bind(cnic)
                                    .bind(address)
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await?;
                                    summary.guardians_updated += 1;
                                } else {
                                    let phone = keys.encrypt_str(field("guardians", "phone_enc", gid), g.phone.e164())?;
                                    sqlx::query(
                                        "INSERT INTO guardians (id, full_name, phone_enc, phone_bidx, cnic_enc, \
                                         address_enc, preferred_language, created_at, updated_at) \
                                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                                    )
                                    .bind(gid)
                                    .bind(&g.full_name)
                                    .bind(phone)
                                    .bind(&bidx)
                                    .bind(cnic)
                                    .bind(address)
                                    .bind(g.language.unwrap_or_default().as_str())
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await?;
                                    summary.guardians_created += 1;
                                }
                            }
                            // A blank relation keeps the stored one (new links default to guardian).
                            let link = if g.relation.is_some() {
                                "INSERT INTO guardian_students (guardian_id, student_id, relation) VALUES ($1, $2, $3) \
                                 ON CONFLICT (guardian_id, student_id) DO UPDATE SET relation = excluded.relation"
                            } else {
                                "INSERT INTO guardian_students (guardian_id, student_id, relation) VALUES ($1, $2, $3) \
                                 ON CONFLICT (guardian_id, student_id) DO NOTHING"
                            };
                            sqlx::query(link)
                                .bind(gid)
                                .bind(student_id)
                                .bind(g.relation.unwrap_or(Relation::Guardian).as_str())
                                .execute(&mut *tx)
                                .await?;
                            summary.links += 1;
                        }
                        progress.advance(1);
                    }
                    log(&mut tx, activity).await?;
                    tx.commit().await?;
                    Ok(summary)
                }

                async fn students(&self) -> Result<Vec<Student>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(Uuid, String, String, Option<NaiveDate>, String, Uuid, Option<Vec<u8>>, Option<Vec<u8>>)> =
                        sqlx::query_as(
                            "SELECT id, admission_no, full_name, date_of_birth, gender, class_id, bform_enc, \
                             health_notes_enc FROM students ORDER BY admission_no",
                        )
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows.into_iter()
                        .map(|(id, admission_no, full_name, date_of_birth, gender, class_id, bform, health)| {
                            Ok(Student {
                                id: StudentId(id),
                                admission_no,
                                full_name,
                                date_of_birth,
                                gender: gender.parse::<Gender>().map_err(corrupt)?,
                                class_id: ClassId(class_id),
                                bform: decrypt_national_id(&self.keys, field("students", "bform_enc", id), bform)?,
                                health_notes: decrypt_text(
                                    &self.keys,
                                    field("students", "health_notes_enc", id),
                                    health,
                                )?,
                            })
                        })
                        .collect()
                }

                async fn guardian(&self, id: GuardianId) -> Result<Option<Guardian>> {
                    let mut tx = self.begin_read().await?;
                    let row: Option<GuardianRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {GUARDIAN_COLS} FROM guardians g WHERE g.id = $1"
                    )))
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    row.map(|r| guardian_from_row(&self.keys, r)).transpose()
                }

                async fn guardians_of(&self, student: StudentId) -> Result<Vec<Guardian>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<GuardianRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {GUARDIAN_COLS} FROM guardians g JOIN guardian_students gs ON gs.guardian_id = g.id \
                         WHERE gs.student_id = $1 ORDER BY g.full_name"
                    )))
                    .bind(student.0)
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    rows.into_iter().map(|r| guardian_from_row(&self.keys, r)).collect()
                }

                async fn create_staff(&self, s: &StaffUser, activity: &ActivityEntry) -> Result<()> {
                    self.create_staff_account(s, &[], None, activity).await
                }

                async fn create_staff_account(
                    &self,
                    s: &StaffUser,
                    classes: &[$crate::domain::ClassId],
                    reset: Option<(&[u8], DateTime<Utc>)>,
                    activity: &ActivityEntry,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let branch_id: Option<Uuid> = match &s.branch {
                        None => None,
                        Some(name) => {
                            let row: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM branches WHERE name = $1")
                                .bind(name)
                                .fetch_optional(&mut *tx)
                                .await?;
                            Some(row.ok_or_else(|| StoreError::Conflict(format!("unknown branch {name:?}")))?.0)
                        }
                    };
                    let phone = s
                        .phone
                        .as_ref()
                        .map(|p| self.keys.encrypt_str(field("staff_users", "phone_enc", s.id.0), p.e164()))
                        .transpose()?;
                    let bidx = s.phone.as_ref().map(|p| self.keys.blind_index(PHONE_INDEX, p.e164()));
                    let res = sqlx::query(
                        "INSERT INTO staff_users (id, full_name, email, phone_enc, phone_bidx, role, branch_id, \
                         password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9)",
                    )
                    .bind(s.id.0)
                    .bind(&s.full_name)
                    .bind(s.email.to_lowercase())
                    .bind(phone)
                    .bind(bidx)
                    .bind(s.role.as_str())
                    .bind(branch_id)
                    .bind(&s.password_hash)
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await;
                    match res {
                        Ok(_) => {}
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                            return Err(StoreError::Conflict(
                                "a staff member with this email or phone already exists".into(),
                            ))
                        }
                        Err(e) => return Err(e.into()),
                    }
                    for c in classes {
                        sqlx::query("INSERT INTO staff_classes (staff_id, class_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                            .bind(s.id.0)
                            .bind(c.0)
                            .execute(&mut *tx)
                            .await?;
                    }
                    if let Some((token_hash, expires_at)) = reset {
                        sqlx::query(
                            "INSERT INTO password_resets (id, staff_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(Uuid::now_v7())
                        .bind(s.id.0)
                        .bind(token_hash)
                        .bind(activity.at)
                        .bind(expires_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    log(&mut tx, activity).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn contacts_by_phone(&self, phone: &Phone) -> Result<Vec<ContactRef>> {
                    let bidx = self.keys.blind_index(PHONE_INDEX, phone.e164());
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(String, Uuid)> = sqlx::query_as(
                        "SELECT 'guardian', id FROM guardians WHERE phone_bidx = $1 \
                         UNION ALL SELECT 'staff', id FROM staff_users WHERE phone_bidx = $1 AND active",
                    )
                    .bind(bidx)
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    rows.into_iter()
                        .map(|(kind, id)| ContactRef::from_parts(&kind, id).ok_or_else(|| corrupt("contact kind")))
                        .collect()
                }

                async fn counts(&self) -> Result<SchoolCounts> {
                    let mut tx = self.begin_read().await?;
                    let (branches, classes, students, guardians, staff, fee_lines, activity): (i64, i64, i64, i64, i64, i64, i64) =
                        sqlx::query_as(
                            "SELECT (SELECT COUNT(*) FROM branches), (SELECT COUNT(*) FROM classes), \
                             (SELECT COUNT(*) FROM students), (SELECT COUNT(*) FROM guardians), \
                             (SELECT COUNT(*) FROM staff_users), (SELECT COUNT(*) FROM fee_lines), \
                             (SELECT COUNT(*) FROM activity_log)",
                        )
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(SchoolCounts { branches, classes, students, guardians, staff, fee_lines, activity })
                }
            }

            #[async_trait::async_trait]
            impl FeeStore for $store {
                async fn student_ids_by_admission(&self) -> Result<HashMap<String, StudentId>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(String, Uuid)> = sqlx::query_as("SELECT admission_no, id FROM students")
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(rows.into_iter().map(|(a, id)| (a, StudentId(id))).collect())
                }

                async fn import_fees(
                    &self,
                    records: &[FeeRecord],
                    students: &HashMap<String, StudentId>,
                    activity: &ActivityEntry,
                    progress: &dyn Progress,
                ) -> Result<FeeImportSummary> {
                    let mut tx = self.begin().await?;
                    let now = Utc::now();
                    let mut summary = FeeImportSummary::default();
                    for r in records {
                        let student = students.get(&r.admission_no).ok_or_else(|| {
                            StoreError::Conflict(format!("line {}: unknown admission number", r.line))
                        })?;
                        let existing: Option<(Uuid,)> = sqlx::query_as(
                            "SELECT id FROM fee_lines WHERE student_id = $1 AND period = $2 AND description = $3",
                        )
                        .bind(student.0)
                        .bind(&r.period)
                        .bind(&r.description)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let line_id = match existing {
                            Some((id,)) => {
                                sqlx::query(
                                    "UPDATE fee_lines SET amount_minor = $2, currency = $3, due_date = $4 WHERE id = $1",
                                )
                                .bind(id)
                                .bind(r.amount.minor)
                                .bind(r.amount.currency.as_str())
                                .bind(r.due_date)
                                .execute(&mut *tx)
                                .await?;
                                summary.fee_lines_updated += 1;
                                id
                            }
                            None => {
                                let id = Uuid::now_v7();
                                sqlx::query(
                                    "INSERT INTO fee_lines (id, student_id, period, description, amount_minor, \
                                     currency, due_date, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                )
                                .bind(id)
                                .bind(student.0)
                                .bind(&r.period)
                                .bind(&r.description)
                                .bind(r.amount.minor)
                                .bind(r.amount.currency.as_str())
                                .bind(r.due_date)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                                summary.fee_lines_created += 1;
                                id
                            }
                        };
                        if let Some(p) = &r.payment {
                            let done = sqlx::query(
                                "INSERT INTO payments (id, fee_line_id, amount_minor, paid_on, reference, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6) \
                                 ON CONFLICT (fee_line_id, paid_on, amount_minor, reference) DO NOTHING",
                            )
                            .bind(Uuid::now_v7())
                            .bind(line_id)
                            .bind(p.amount_minor)
                            .bind(p.paid_on)
                            .bind(&p.reference)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            summary.payments += done.rows_affected();
                        }
                        progress.advance(1);
                    }
                    log(&mut tx, activity).await?;
                    tx.commit().await?;
                    Ok(summary)
                }

                async fn fee_statement(&self, student: StudentId) -> Result<Vec<FeeLineView>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(String, String, i64, String, NaiveDate, i64)> = sqlx::query_as(
                        "SELECT f.period, f.description, f.amount_minor, f.currency, f.due_date, \
                         COALESCE(CAST(SUM(p.amount_minor) AS BIGINT), 0) FROM fee_lines f \
                         LEFT JOIN payments p ON p.fee_line_id = f.id WHERE f.student_id = $1 \
                         GROUP BY f.id, f.period, f.description, f.amount_minor, f.currency, f.due_date \
                         ORDER BY f.due_date, f.period, f.description",
                    )
                    .bind(student.0)
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    rows.into_iter()
                        .map(|(period, description, minor, currency, due_date, paid_minor)| {
                            Ok(FeeLineView {
                                period,
                                description,
                                amount: Money { minor, currency: currency.parse::<Currency>().map_err(corrupt)? },
                                paid_minor,
                                due_date,
                            })
                        })
                        .collect()
                }
            }

            #[async_trait::async_trait]
            impl AccessCodeStore for $store {
                async fn insert_access_code(
                    &self,
                    code: &StoredAccessCode,
                    bucket: &[u8],
                    activity: &ActivityEntry,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let now = Utc::now();
                    sqlx::query(
                        "UPDATE access_codes SET revoked_at = $3 WHERE contact_kind = $1 AND contact_id = $2 \
                         AND used_at IS NULL AND revoked_at IS NULL",
                    )
                    .bind(code.contact.kind())
                    .bind(code.contact.uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO access_codes (id, contact_kind, contact_id, code_bucket, code_hash, expires_at, \
                         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(code.id.0)
                    .bind(code.contact.kind())
                    .bind(code.contact.uuid())
                    .bind(bucket)
                    .bind(&code.code_hash)
                    .bind(code.expires_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    log(&mut tx, activity).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn access_codes_in_bucket(&self, bucket: &[u8]) -> Result<Vec<StoredAccessCode>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(Uuid, String, Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> =
                        sqlx::query_as(
                            "SELECT id, contact_kind, contact_id, code_hash, expires_at, used_at, revoked_at \
                             FROM access_codes WHERE code_bucket = $1 AND revoked_at IS NULL \
                             ORDER BY id DESC LIMIT 16",
                        )
                        .bind(bucket)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows.into_iter()
                        .map(|(id, kind, contact_id, code_hash, expires_at, used_at, revoked_at)| {
                            Ok(StoredAccessCode {
                                id: AccessCodeId(id),
                                contact: ContactRef::from_parts(&kind, contact_id).ok_or_else(|| corrupt("contact kind"))?,
                                code_hash,
                                expires_at,
                                used_at,
                                revoked_at,
                            })
                        })
                        .collect()
                }

                async fn consume_access_code(&self, id: AccessCodeId, activity: &ActivityEntry) -> Result<bool> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE access_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                    )
                    .bind(id.0)
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?;
                    log_if_one(tx, done.rows_affected(), activity).await
                }
            }

            #[async_trait::async_trait]
            impl AttendanceStore for $store {
                async fn record_attendance(&self, r: &AttendanceRecord, activity: &ActivityEntry) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        $crate::store::sql::UPSERT_ATTENDANCE,
                    )
                    .bind(Uuid::now_v7())
                    .bind(r.day)
                    .bind(r.student.0)
                    .bind(r.status.as_str())
                    .bind(r.source.as_str())
                    .bind(r.recorded_by.map(|s| s.0))
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?;
                    log(&mut tx, activity).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn attendance_between(
                    &self,
                    student: StudentId,
                    from: NaiveDate,
                    to: NaiveDate,
                ) -> Result<Vec<AttendanceRecord>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(NaiveDate, String, String, Option<Uuid>)> = sqlx::query_as(
                        "SELECT day, status, source, recorded_by FROM attendance \
                         WHERE student_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
                    )
                    .bind(student.0)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    rows.into_iter()
                        .map(|(day, status, source, by)| {
                            Ok(AttendanceRecord {
                                day,
                                student,
                                status: status.parse::<AttendanceStatus>().map_err(corrupt)?,
                                source: match source.as_str() {
                                    "manual" => AttendanceSource::Manual,
                                    "face" => AttendanceSource::Face,
                                    _ => return Err(corrupt("attendance source")),
                                },
                                recorded_by: by.map(StaffId),
                            })
                        })
                        .collect()
                }
            }

            #[async_trait::async_trait]
            impl ActivityStore for $store {
                async fn log_activity(&self, entry: &ActivityEntry) -> Result<()> {
                    let mut tx = self.begin().await?;
                    log(&mut tx, entry).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn recent_activity(&self, limit: i64) -> Result<Vec<ActivityEntry>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(DateTime<Utc>, String, String, Option<String>, String, Json<serde_json::Value>)> =
                        sqlx::query_as(
                            "SELECT at, actor, action, subject, source, details FROM activity_log \
                             ORDER BY at DESC, id DESC LIMIT $1",
                        )
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(rows
                        .into_iter()
                        .map(|(at, actor, action, subject, source, details)| {
                            $crate::store::sql::activity_from_parts(at, actor, action, subject, source, details.0)
                        })
                        .collect())
                }
            }

            #[async_trait::async_trait]
            impl KeyRotationStore for $store {
                async fn reencrypt_batch(
                    &self,
                    col: EncryptedColumn,
                    after: Option<Uuid>,
                    limit: i64,
                ) -> Result<BatchResult> {
                    let (table, column) = (col.table, col.column);
                    let mut tx = self.begin().await?;
                    let rows: Vec<(Uuid, Vec<u8>)> = match after {
                        Some(after) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
                        )))
                        .bind(after)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?,
                        None => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id LIMIT $1"
                        )))
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?,
                    };
                    let active = self.keys.active_key_id();
                    let mut result = BatchResult { seen: rows.len() as u64, ..BatchResult::default() };
                    for (id, old) in &rows {
                        if $crate::store::crypto::key_id_of(old)? == active {
                            continue;
                        }
                        let f = $crate::store::crypto::FieldRef { table, column, row: *id };
                        let plain = self.keys.decrypt(f, old)?;
                        let new = self.keys.encrypt(f, &plain)?;
                        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"
                        )))
                        .bind(new)
                        .bind(id)
                        .bind(old)
                        .execute(&mut *tx)
                        .await?;
                        result.rewritten += done.rows_affected();
                    }
                    tx.commit().await?;
                    result.next_after = if rows.len() as i64 == limit { rows.last().map(|r| r.0) } else { None };
                    Ok(result)
                }

                async fn key_usage(&self, col: EncryptedColumn) -> Result<$crate::store::KeyUsage> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(Vec<u8>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM {} WHERE {} IS NOT NULL",
                        col.column, col.table, col.column
                    )))
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    let active = self.keys.active_key_id();
                    let mut usage = $crate::store::KeyUsage { total: rows.len() as u64, stale: 0 };
                    for (ct,) in rows {
                        if $crate::store::crypto::key_id_of(&ct)? != active {
                            usage.stale += 1;
                        }
                    }
                    Ok(usage)
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::InboxStore for $store {
                async fn record_inbound(
                    &self,
                    channel: Uuid,
                    provider: $crate::domain::message::Provider,
                    events: &[$crate::domain::message::InboundEvent],
                    received_at: DateTime<Utc>,
                ) -> Result<$crate::store::InboxOutcome> {
                    let mut out = $crate::store::InboxOutcome::default();
                    let mut tx = self.begin().await?;
                    for (seq, e) in events.iter().enumerate() {
                        let sender = e.sender.expose();
                        let bidx = self.keys.blind_index("sender", &format!("{channel}:{sender}"));
                        // Time-ordered by arrival, so events ingested late from the spool
                        // keep their place in the conversation.
                        // (+1 ms per event keeps a batch in the provider's order.)
                        let id = $crate::store::sql::uuid_at(received_at + chrono::Duration::milliseconds(seq as i64));
                        let payload = serde_json::to_vec(e).map_err(corrupt)?;
                        let enc = self.keys.encrypt(field("inbound_events", "payload_enc", id), &payload)?;
                        // Common case in one round trip: the conversation exists, and the event
                        // is stored against it unless its provider key was seen before.
                        const INSERT_EVENT: &str = "INSERT INTO inbound_events (id, conversation_id, provider_key, kind, \
                             payload_enc, received_at) SELECT $1, id, $4, $5, $6, $7 FROM conversations \
                             WHERE channel_id = $2 AND sender_bidx = $3 ON CONFLICT (provider_key) DO NOTHING \
                             RETURNING conversation_id";
                        let insert = || {
                            sqlx::query_as::<_, (Uuid,)>(INSERT_EVENT)
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
                            let known: Option<(Uuid,)> =
                                sqlx::query_as("SELECT id FROM conversations WHERE channel_id = $1 AND sender_bidx = $2")
                                    .bind(channel)
                                    .bind(&bidx)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            if known.is_some() {
                                // The conversation exists, so the event was a redelivery.
                                out.duplicates += 1;
                                continue;
                            }
                            // A new sender. Two first messages may race (PostgreSQL): the
                            // loser's insert does nothing and the event goes to the winner's row.
                            let cid = Uuid::now_v7();
                            let sender_enc = self.keys.encrypt_str(field("conversations", "sender_enc", cid), sender)?;
                            sqlx::query(
                                "INSERT INTO conversations (id, channel_id, provider, sender_bidx, sender_enc, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel_id, sender_bidx) DO NOTHING",
                            )
                            .bind(cid)
                            .bind(channel)
                            .bind(provider.as_str())
                            .bind(&bidx)
                            .bind(sender_enc)
                            .bind(received_at)
                            .execute(&mut *tx)
                            .await?;
                            stored = insert().fetch_optional(&mut *tx).await?;
                        }
                        let Some((conversation,)) = stored else {
                            out.duplicates += 1;
                            continue;
                        };
                        out.stored += 1;
                        if let $crate::domain::message::InboundBody::Media { .. } = &e.body {
                            // The download is a durable job, enqueued with the message.
                            let media = Uuid::now_v7();
                            sqlx::query(
                                "INSERT INTO media (id, inbound_event_id, state, next_attempt_at, created_at, updated_at) \
                                 VALUES ($1, $2, 'pending', $3, $3, $3)",
                            )
                            .bind(media)
                            .bind(id)
                            .bind(received_at)
                            .execute(&mut *tx)
                            .await?;
                            insert_job(&mut tx, &$crate::domain::job::media_fetch(media, conversation, received_at), received_at).await?;
                        }
                        if !e.body.is_status() {
                            // Writing to us again (Telegram: after unblocking; WhatsApp: START)
                            // opts them back in.
                            sqlx::query(
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
                    let mut tx = self.begin_read().await?;
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbound_events").fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(n)
                }

                async fn queue_figures(&self) -> Result<$crate::store::QueueFigures> {
                    let mut tx = self.begin_read().await?;
                    let (pending, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
                        "SELECT COUNT(*), MIN(received_at) FROM inbound_events WHERE state = 'pending'",
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    let outbox: Vec<(Uuid, String, i64)> = sqlx::query_as(
                        "SELECT c.channel_id, o.state, COUNT(*) FROM outbox o \
                         JOIN conversations c ON c.id = o.conversation_id \
                         WHERE o.state IN ('pending', 'sending', 'dead', 'manual') \
                         GROUP BY c.channel_id, o.state",
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok($crate::store::QueueFigures { pending_events: pending, oldest_pending_at: oldest, outbox })
                }
            }

            async fn conversation_view(
                tx: &mut sqlx::Transaction<'static, <$store as StoreDb>::Db>,
                keys: &$crate::store::crypto::KeyRing,
                id: Uuid,
            ) -> Result<Option<$crate::store::ConversationView>> {
                let row: Option<(Uuid, String, Vec<u8>, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = sqlx::query_as(
                    "SELECT channel_id, provider, sender_enc, last_inbound_at, opted_out_at FROM conversations WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
                row.map(|(channel_id, provider, sender_enc, last_inbound_at, opted_out_at)| {
                    Ok($crate::store::ConversationView {
                        id,
                        channel_id,
                        provider: provider.parse().map_err(corrupt)?,
                        sender: $crate::domain::message::SenderId::new(
                            keys.decrypt_str(field("conversations", "sender_enc", id), &sender_enc)?,
                        ),
                        last_inbound_at,
                        opted_out_at,
                    })
                })
                .transpose()
            }

            #[async_trait::async_trait]
            impl $crate::store::ConversationStore for $store {
                async fn conversations_with_pending(&self, limit: i64) -> Result<Vec<Uuid>> {
                    let mut tx = self.begin_read().await?;
                    let rows: Vec<(Uuid,)> = sqlx::query_as(
                                                                        "SELECT conversation_id FROM inbound_events WHERE state = 'pending' \
                         GROUP BY conversation_id ORDER BY MIN(received_at) LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(rows.into_iter().map(|r| r.0).collect())
                }

                async fn conversation(&self, id: Uuid) -> Result<Option<$crate::store::ConversationView>> {
                    let mut tx = self.begin_read().await?;
                    let view = conversation_view(&mut tx, &self.keys, id).await?;
                    tx.commit().await?;
                    Ok(view)
                }

                async fn begin_step(&self, conversation: Uuid) -> Result<Option<Box<dyn $crate::store::StepTx + '_>>> {
                    let mut tx = self.begin().await?;
                    let locked: Option<(Uuid,)> = sqlx::query_as(<$store as StoreDb>::LOCK_CONVERSATION)
                        .bind(conversation)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if locked.is_none() {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    Ok(Some(Box::new(StepOps { store: self, tx, conversation })))
                }
            }

            /// A conversation step's transaction (see `StepTx`).
            struct StepOps<'s> {
                store: &'s $store,
                tx: sqlx::Transaction<'static, <$store as StoreDb>::Db>,
                conversation: Uuid,
            }

            #[async_trait::async_trait]
            impl $crate::store::StepTx for StepOps<'_> {
                async fn next_event(&mut self) -> Result<$crate::store::NextEvent> {
                    use $crate::store::NextEvent;
                    // The oldest pending event, with the state of its media if it has any.
                    let next: Option<(Uuid, Vec<u8>, Option<String>)> = sqlx::query_as(
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
                            serde_json::from_slice::<$crate::domain::message::InboundEvent>(&plain).map_err(corrupt)
                        });
                    Ok(match readable {
                        Ok(event) => NextEvent::Event(event_id, Box::new(event)),
                        Err(_) => NextEvent::Unreadable(event_id),
                    })
                }

                async fn conversation(&mut self) -> Result<$crate::store::ConversationView> {
                    conversation_view(&mut self.tx, &self.store.keys, self.conversation)
                        .await?
                        .ok_or_else(|| corrupt("event without conversation"))
                }

                async fn set_aside(&mut self, event: Uuid) -> Result<()> {
                    sqlx::query("UPDATE inbound_events SET state = 'failed', attempts = attempts + 1 WHERE id = $1")
                        .bind(event)
                        .execute(&mut *self.tx)
                        .await?;
                    Ok(())
                }

                async fn record_delivery(
                    &mut self,
                    provider_message_id: &str,
                    status: $crate::domain::message::DeliveryStatus,
                    error_code: Option<&str>,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO delivery_reports (provider_message_id, status_rank, error_code, updated_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (provider_message_id) DO UPDATE SET \
                         status_rank = excluded.status_rank, error_code = excluded.error_code, \
                         updated_at = excluded.updated_at WHERE excluded.status_rank > delivery_reports.status_rank",
                    )
                    .bind(provider_message_id)
                    .bind($crate::store::sql::status_rank(status))
                    .bind(error_code)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                    Ok(())
                }

                async fn sent_message(
                    &mut self,
                    provider_message_id: &str,
                ) -> Result<Option<(Uuid, $crate::domain::message::OutboundMessage)>> {
                    let row: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
                        "SELECT id, payload_enc FROM outbox WHERE provider_message_id = $1 AND state = 'sent'",
                    )
                    .bind(provider_message_id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                    let Some((id, payload)) = row else { return Ok(None) };
                    let plain = self.store.keys.decrypt(field("outbox", "payload_enc", id), &payload)?;
                    let message = serde_json::from_slice(&plain).map_err(corrupt)?;
                    Ok(Some((id, message)))
                }

                async fn make_manual(&mut self, outbox: Uuid, link: &str, reason: &str, now: DateTime<Utc>) -> Result<()> {
                    let enc = self.store.keys.encrypt_str(field("outbox", "manual_link_enc", outbox), link)?;
                    sqlx::query(
                        "UPDATE outbox SET state = 'manual', manual_link_enc = $2, last_error = $3, updated_at = $4 WHERE id = $1",
                    )
                    .bind(outbox)
                    .bind(enc)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                    Ok(())
                }

                async fn mark_opted_out(&mut self, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query("UPDATE conversations SET opted_out_at = $2 WHERE id = $1 AND opted_out_at IS NULL")
                        .bind(self.conversation)
                        .bind(now)
                        .execute(&mut *self.tx)
                        .await?;
                    Ok(())
                }

                fn flow(&mut self) -> Box<dyn $crate::store::FlowTx + '_> {
                    self.store.flow_tx(&mut self.tx, self.conversation)
                }

                async fn queue_replies(
                    &mut self,
                    event: Uuid,
                    replies: &[$crate::domain::message::OutboundMessage],
                    now: DateTime<Utc>,
                ) -> Result<usize> {
                    let mut queued = 0;
                    for (seq, reply) in replies.iter().enumerate() {
                        let id = Uuid::now_v7();
                        let json = serde_json::to_vec(reply).map_err(corrupt)?;
                        let enc = self.store.keys.encrypt(field("outbox", "payload_enc", id), &json)?;
                        let done = sqlx::query(
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

                async fn enqueue_job(&mut self, job: &$crate::store::NewJob, now: DateTime<Utc>) -> Result<bool> {
                    insert_job(&mut self.tx, job, now).await
                }

                async fn finish_event(&mut self, event: Uuid, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query(
                        "UPDATE inbound_events SET state = 'done', processed_at = $2, attempts = attempts + 1 WHERE id = $1",
                    )
                    .bind(event)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                    Ok(())
                }

                async fn commit(self: Box<Self>) -> Result<()> {
                    self.tx.commit().await?;
                    Ok(())
                }
            }

            impl $store {
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
                    let now = Utc::now();
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE outbox SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
                         last_error = $4, manual_link_enc = COALESCE($5, manual_link_enc), updated_at = $6 \
                         WHERE id = $1 AND state = 'sending' AND attempts = $7",
                    )
                    .bind(id)
                    .bind(state)
                    .bind(next_attempt_at)
                    .bind(error)
                    .bind(manual_link)
                    .bind(now)
                    .bind(attempt)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::OutboxStore for $store {
                async fn claim_due(
                    &self,
                    now: DateTime<Utc>,
                    lease: std::time::Duration,
                    limit: i64,
                    only: Option<Uuid>,
                ) -> Result<Vec<$crate::store::OutboxItem>> {
                    let mut tx = self.begin().await?;
                    // Two texts, not `$3 IS NULL OR …`: a generic plan for that form scans
                    // the whole backlog on PostgreSQL (seconds at 10,000 rows).
                    const DUE: &str = $crate::store::sql::due_outbox_sql!("");
                    const DUE_OF_ONE: &str = $crate::store::sql::due_outbox_sql!("o.conversation_id = $3 AND ");
                    let rows: Vec<(Uuid, Uuid, Vec<u8>, String, DateTime<Utc>, i32, String)> = match only {
                        None => sqlx::query_as(DUE).bind(now).bind(limit).fetch_all(&mut *tx).await?,
                        Some(c) => sqlx::query_as(DUE_OF_ONE).bind(now).bind(limit).bind(c).fetch_all(&mut *tx).await?,
                    };
                    let lease_until = now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(60));
                    let mut out = Vec::new();
                                        for (id, conversation, payload, state, next_at, attempts, mode) in rows {
                        // Compare-and-set: another sender that took the row first wins.
                        let done = sqlx::query(
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
                        let plain = self.keys.decrypt(field("outbox", "payload_enc", id), &payload)?;
                        let message = serde_json::from_slice(&plain).map_err(corrupt)?;
                        let conversation = conversation_view(&mut tx, &self.keys, conversation)
                            .await?
                            .ok_or_else(|| corrupt("outbox row without conversation"))?;
                                                let mode = $crate::domain::message::OutboundMode::parse(&mode).ok_or_else(|| corrupt("outbox mode"))?;
                        out.push($crate::store::OutboxItem { id, conversation, message, attempts: attempts + 1, mode });
                    }
                    tx.commit().await?;
                    Ok(out)
                }

                async fn mark_sent(&self, id: Uuid, attempt: i32, provider_message_id: &str) -> Result<bool> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
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
                    sqlx::query(
                        "INSERT INTO delivery_reports (provider_message_id, status_rank, updated_at) VALUES ($1, 1, $2) \
                         ON CONFLICT (provider_message_id) DO NOTHING",
                    )
                    .bind(provider_message_id)
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn mark_retry(&self, id: Uuid, attempt: i32, next_attempt_at: DateTime<Utc>, error: &str) -> Result<bool> {
                    self.outbox_transition(id, attempt, "pending", Some(next_attempt_at), error, None).await
                }

                async fn mark_dead(&self, id: Uuid, attempt: i32, error: &str) -> Result<bool> {
                    self.outbox_transition(id, attempt, "dead", None, error, None).await
                }

                async fn mark_manual(&self, id: Uuid, attempt: i32, link: &str, reason: &str) -> Result<bool> {
                    let enc = self.keys.encrypt_str(field("outbox", "manual_link_enc", id), link)?;
                    self.outbox_transition(id, attempt, "manual", None, reason, Some(enc)).await
                }

                async fn mark_opted_out(&self, id: Uuid, attempt: i32, conversation: Uuid, error: &str) -> Result<bool> {
                    let done = self.outbox_transition(id, attempt, "dead", None, error, None).await?;
                    let mut tx = self.begin().await?;
                    sqlx::query("UPDATE conversations SET opted_out_at = $2 WHERE id = $1 AND opted_out_at IS NULL")
                        .bind(conversation)
                        .bind(Utc::now())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done)
                }

                async fn enqueue(
                    &self,
                    conversation: Uuid,
                                        idempotency_key: &str,
                    message: &$crate::domain::message::OutboundMessage,
                    mode: $crate::domain::message::OutboundMode,
                    activity: &ActivityEntry,
                ) -> Result<bool> {
                    let id = Uuid::now_v7();
                    let json = serde_json::to_vec(message).map_err(corrupt)?;
                    let enc = self.keys.encrypt(field("outbox", "payload_enc", id), &json)?;
                    let now = Utc::now();
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
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
                    if done.rows_affected() == 1 {
                        log(&mut tx, activity).await?;
                    }
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn outbox(&self) -> Result<Vec<$crate::store::OutboxView>> {
                    self.outbox_where(false, i64::MAX).await.map(|(rows, _)| rows)
                }

                async fn outbox_where(
                    &self,
                    problems_only: bool,
                    limit: i64,
                ) -> Result<(Vec<$crate::store::OutboxView>, i64)> {
                    let filter = if problems_only { "o.state IN ('dead', 'manual')" } else { "TRUE" };
                    let mut tx = self.begin_read().await?;
                    let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox o WHERE {filter}"
                    )))
                    .fetch_one(&mut *tx)
                    .await?;
                    #[allow(clippy::type_complexity)]
                    let rows: Vec<(Uuid, Uuid, String, Option<String>, i32, Option<String>, Option<Vec<u8>>, Vec<u8>, Option<i64>)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT o.id, o.conversation_id, o.state, o.provider_message_id, o.attempts, o.last_error, \
                             o.manual_link_enc, o.payload_enc, CAST(d.status_rank AS BIGINT) FROM outbox o \
                             LEFT JOIN delivery_reports d ON d.provider_message_id = o.provider_message_id \
                             WHERE {filter} ORDER BY o.id DESC LIMIT $1"
                        )))
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    let mut out = rows.into_iter()
                        .map(|(id, conversation_id, state, provider_message_id, attempts, last_error, link, payload, rank)| {
                            let plain = self.keys.decrypt(field("outbox", "payload_enc", id), &payload)?;
                            Ok($crate::store::OutboxView {
                                id,
                                conversation_id,
                                state,
                                status: rank.and_then($crate::store::sql::status_from_rank),
                                provider_message_id,
                                attempts,
                                last_error,
                                manual_link: link
                                    .map(|l| self.keys.decrypt_str(field("outbox", "manual_link_enc", id), &l))
                                    .transpose()?,
                                message: serde_json::from_slice(&plain).map_err(corrupt)?,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    // Oldest first, like the unfiltered list always was.
                    out.reverse();
                    Ok((out, count))
                }
            }

            #[async_trait::async_trait]
            impl TenantStore for $store {
                async fn partition_identity(&self) -> Result<Vec<String>> {
                    self.identity().await
                }
                fn tenant_id(&self) -> $crate::domain::TenantId {
                    self.keys.tenant()
                }
                fn keys(&self) -> &$crate::store::crypto::KeyRing {
                    &self.keys
                }
            }
        };
    };
}
pub(crate) use tenant_store_impl;

/// Ties a store type to its sqlx database, for the shared helpers above.
pub(crate) trait StoreDb {
    type Db: sqlx::Database;
    /// Locks one conversation for the rest of the transaction, returning its id, or
    /// no row if another worker holds it.
    const LOCK_CONVERSATION: &'static str;
    /// Leases due jobs of kind $1 at $2 until $3, at most $4; returns (id,
    /// conversation, payload, attempts, max_attempts).
    const CLAIM_JOBS: &'static str;
    /// The same for one conversation's jobs only ($5).
    const CLAIM_JOBS_OF_ONE: &'static str;
}

/// The outbox rows due for sending at $1, at most $2, each the oldest unsent row of its
/// conversation; `$only` narrows them (to one conversation).
macro_rules! due_outbox_sql {
    ($only:literal) => {
        concat!(
            "SELECT o.id, o.conversation_id, o.payload_enc, o.state, o.next_attempt_at, o.attempts, o.mode \
             FROM outbox o WHERE ",
            $only,
            "o.state IN ('pending', 'sending') AND o.next_attempt_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = o.conversation_id \
             AND p.id < o.id AND p.state IN ('pending', 'sending')) ORDER BY o.id LIMIT $2"
        )
    };
}
pub(crate) use due_outbox_sql;

/// The condition of a job of kind $1 that is due at $2 (pending and due, or running with
/// an expired lease), and `$only` (one conversation's, say).
macro_rules! due_jobs_sql {
    ($only:literal) => {
        concat!(
            "kind = $1 AND ((state = 'pending' AND run_after <= $2) \
             OR (state = 'running' AND lease_until <= $2)) ",
            $only
        )
    };
}
pub(crate) use due_jobs_sql;

/// `StoreDb::CLAIM_JOBS` (and `_OF_ONE`, with the extra condition) with the dialect's
/// lock clause for the inner select. Two texts rather than `$5 IS NULL OR …`, whose
/// generic plan cannot use an index.
macro_rules! claim_jobs_sql {
    ($lock:literal, $only:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $3, updated_at = $2 \
             WHERE id IN (SELECT id FROM jobs WHERE ",
            $crate::store::sql::due_jobs_sql!($only),
            " ORDER BY run_after, id LIMIT $4 ",
            $lock,
            ") RETURNING id, conversation_id, payload, attempts, max_attempts"
        )
    };
}
pub(crate) use claim_jobs_sql;

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
