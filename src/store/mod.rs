//! Storage ports and their two implementations.
//!
//! * [`ControlStore`]: the school registry and wrapped keys (one per deployment).
//! * [`Partitions`]: creates, migrates, opens and drops one school's partition
//!   (a PostgreSQL schema + role, or a SQLite file).
//! * [`TenantStore`]: everything inside one school's partition, split into narrow
//!   traits. A `TenantStore` value is bound to exactly one school: there is no way to
//!   pass a school id to its methods, so a query cannot reach another school.
//!
//! The backend is chosen once, from the database URL scheme, by [`connect`].
//! SQL text is shared by both backends (`sql.rs`); only DDL and the way a
//! transaction is bound to a school differ.

pub mod crypto;
pub mod db;
mod migrate;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod tenancy;

use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::AttendanceRecord;
use crate::domain::fees::{FeeLineView, FeeRecord};
use crate::domain::phone::Phone;
use crate::domain::roster::{ContactRef, Guardian, RosterRecord, StaffUser, Student};
use crate::domain::school::{Tenant, TenantStatus};
use crate::domain::{AccessCodeId, ClassId, StaffId, StudentId, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use crypto::{CryptoError, KeyRing};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration {version} ({description}) failed: {reason}")]
    Migration {
        version: i64,
        description: String,
        reason: String,
    },
    #[error("migration {0} was changed after it was applied (checksum mismatch)")]
    MigrationChanged(i64),
    #[error("database is at migration {0}, newer than this binary knows")]
    MigrationTooNew(i64),
    #[error("unknown school {0:?}")]
    UnknownTenant(String),
    #[error("a school with slug {0:?} already exists")]
    TenantExists(String),
    #[error("school {0:?} is not ready (status: provisioning); run `raabta tenant purge` and create it again")]
    TenantNotActive(String),
    #[error("encryption: {0}")]
    Crypto(#[from] CryptoError),
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("the master key does not match this database: refusing to start rather than write data nobody can read (check RAABTA_MASTER_KEY)")]
    WrongMasterKey,
    #[error("unsafe database role: {0}")]
    UnsafeRole(String),
    #[error("{0}")]
    Conflict(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A school being closed (issue 19): its administrators may still sign in and export
/// until `purge_after`; its chat is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub tenant_id: TenantId,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub purge_after: DateTime<Utc>,
}

/// A school's export window after `raabta tenant close` (seed 000 §8, DPA §11: 30 days).
pub const CLOSURE_EXPORT_DAYS: i64 = 30;

/// A wrapped key as stored in the control database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantKeyRow {
    pub tenant_id: TenantId,
    pub purpose: KeyPurpose,
    pub key_id: u32,
    pub wrapped: Vec<u8>,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    Data,
    Index,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Data => "data",
            KeyPurpose::Index => "index",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "data" => Some(Self::Data),
            "index" => Some(Self::Index),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Encrypts new values (one data key per school).
    Active,
    /// A previous key: still decrypts rows not yet re-encrypted.
    DecryptOnly,
    /// No row uses it any more (verified by a full re-encryption pass).
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::DecryptOnly => "decrypt_only",
            KeyState::Retired => "retired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "decrypt_only" => Some(Self::DecryptOnly),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// The deployment-wide registry. Holds no school data.
#[async_trait]
pub trait ControlStore: Send + Sync {
    async fn setting(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Removes a setting (nothing if there is none).
    async fn delete_setting(&self, name: &str) -> Result<()>;
    /// Every master-wrapped value in one transaction (master key rotation): each
    /// school key and backup key replaced by its new wrapping, and settings set, all
    /// or none. The keys are named by (school, purpose, key id) / (school, key id).
    async fn rewrap_all(
        &self,
        tenant_keys: &[TenantKeyRow],
        backup_keys: &[(TenantId, i64, Vec<u8>)],
        settings: &[(String, Vec<u8>)],
    ) -> Result<()>;
    /// Control settings whose name starts with `prefix`.
    async fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// Starts a school's closure (its export window ends at `purge_after`); false if it
    /// is closing already.
    async fn close_tenant(
        &self,
        id: TenantId,
        by: &str,
        at: DateTime<Utc>,
        purge_after: DateTime<Utc>,
    ) -> Result<bool>;
    /// Schools being closed.
    async fn closures(&self) -> Result<Vec<Closure>>;
    /// Removes a purged school from the registry (its keys and backup key by cascade)
    /// and keeps its deletion certificate (JSON), in one transaction: a certificate
    /// exists exactly when the school is gone.
    async fn delete_tenant_certified(
        &self,
        id: TenantId,
        slug: &str,
        certificate: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The deletion certificate of a school by its slug (the newest).
    async fn certificate(&self, slug: &str) -> Result<Option<String>>;
    /// A school's backup key (id, wrapped by the master key), if it has one.
    async fn backup_key(&self, tenant: TenantId) -> Result<Option<(i64, Vec<u8>)>>;
    /// Stores a school's backup key unless it has one; the one now stored.
    async fn init_backup_key(
        &self,
        tenant: TenantId,
        key_id: i64,
        wrapped: &[u8],
    ) -> Result<(i64, Vec<u8>)>;
    /// Every school's backup key: (school, key id, wrapped).
    async fn backup_keys(&self) -> Result<Vec<(TenantId, i64, Vec<u8>)>>;
    /// A consistent copy of the control database at `to` without the backup keys
    /// (SQLite: `VACUUM INTO`, then the keys deleted from the copy and the copy
    /// vacuumed; PostgreSQL: the schema's rows but those of `backup_keys`).
    async fn snapshot(&self, to: &std::path::Path) -> Result<()>;
    /// Stores a setting unless one exists; returns the value now stored.
    async fn init_setting(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;
    /// Fails with [`StoreError::TenantExists`] on a duplicate slug.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()>;
    async fn set_tenant_status(&self, id: TenantId, status: TenantStatus) -> Result<()>;
    async fn tenants(&self) -> Result<Vec<Tenant>>;
    async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>>;
    /// Removes the school and (by cascade) its wrapped keys.
    async fn delete_tenant(&self, id: TenantId) -> Result<()>;
    async fn insert_tenant_key(&self, key: &TenantKeyRow) -> Result<()>;
    async fn tenant_keys(&self, id: TenantId) -> Result<Vec<TenantKeyRow>>;
    /// Makes `new_active` the only active data key; the previous one becomes decrypt-only.
    async fn activate_data_key(&self, id: TenantId, new_active: u32) -> Result<()>;
    async fn set_key_state(
        &self,
        id: TenantId,
        purpose: KeyPurpose,
        key_id: u32,
        state: KeyState,
    ) -> Result<()>;
    /// Destroys a wrapped key (after rotation proved nothing uses it).
    async fn delete_tenant_key(&self, id: TenantId, purpose: KeyPurpose, key_id: u32)
        -> Result<()>;
    /// Fails with [`StoreError::Conflict`] if the provider route is taken.
    /// Stores a channel account. `replace_pending`: the operator's registration, which
    /// removes pending claims of the same route by any school first.
    async fn insert_channel(&self, channel: &ChannelRow, replace_pending: bool) -> Result<()>;
    /// The operator approves a pending channel; false if it is not pending.
    async fn approve_channel(&self, id: Uuid) -> Result<bool>;
    /// Sets a control setting, replacing its value.
    async fn put_setting(&self, name: &str, value: &[u8]) -> Result<()>;
    async fn channels(&self) -> Result<Vec<ChannelRow>>;
    /// Compare-and-set of the encrypted credentials (key rotation).
    async fn replace_channel_credentials(&self, id: Uuid, old: &[u8], new: &[u8]) -> Result<bool>;
    async fn ping(&self) -> Result<()>;
    /// Remembers flow versions (flow id, hash, source) so running sessions can finish
    /// on the version they started with after the files change.
    async fn record_flow_versions(&self, versions: &[(String, String, String)]) -> Result<()>;
    async fn flow_versions(&self) -> Result<Vec<(String, String, String)>>;
}

/// A channel account as stored: credentials encrypted with the school's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub provider: crate::domain::message::Provider,
    /// Twilio: the sender number's digits; Meta: phone_number_id; Telegram: URL route.
    pub route_key: String,
    pub api_base: String,
    pub credentials_enc: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub status: ChannelStatus,
}

/// Whether a channel accepts traffic: a school administrator's Twilio number or Meta
/// phone-number id waits for the operator's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelStatus {
    Active,
    Pending,
}

impl ChannelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelStatus::Active => "active",
            ChannelStatus::Pending => "pending",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(ChannelStatus::Active),
            "pending" => Some(ChannelStatus::Pending),
            _ => None,
        }
    }
}

/// School partitions: a PostgreSQL schema and role, or a SQLite file.
#[async_trait]
pub trait Partitions: Send + Sync {
    /// Creates the empty partition (idempotent).
    async fn create(&self, id: TenantId) -> Result<()>;
    /// Applies pending migrations in one transaction; returns how many were applied.
    async fn migrate(&self, id: TenantId) -> Result<usize>;
    /// Drops the partition and everything in it (idempotent).
    async fn drop_partition(&self, id: TenantId) -> Result<()>;
    /// A store bound to this school only.
    async fn open(&self, id: TenantId, keys: Arc<KeyRing>) -> Result<Arc<dyn TenantStore>>;
    /// Where a school lives, for people: schema and role, or file path.
    fn describe(&self, id: TenantId) -> String;
    /// A consistent copy of the school's partition at `to`, taken while serving
    /// (SQLite: `VACUUM INTO`; PostgreSQL: the schema's rows in one snapshot, see
    /// `postgres::dump`).
    async fn snapshot(&self, id: TenantId, to: &std::path::Path) -> Result<()>;
    /// Makes the school's partition from a copy taken by [`Partitions::snapshot`]
    /// (consumed): it must not exist yet. Brought to this binary's migrations.
    async fn restore(&self, id: TenantId, from: &std::path::Path) -> Result<()>;
    /// School connection pools this process holds open (SQLite: bounded by
    /// `max_open_schools`; PostgreSQL: 0, all schools share one serving pool).
    fn open_pools(&self) -> usize;
    async fn ping(&self) -> Result<()>;
}

/// Progress callback for long imports and key rotation (called with rows done).
pub trait Progress: Send + Sync {
    fn advance(&self, rows: u64);
}

impl Progress for () {
    fn advance(&self, _rows: u64) {}
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RosterImportSummary {
    pub students_created: u64,
    pub students_updated: u64,
    pub guardians_created: u64,
    pub guardians_updated: u64,
    pub links: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeImportSummary {
    pub fee_lines_created: u64,
    pub fee_lines_updated: u64,
    pub payments: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchoolCounts {
    pub branches: i64,
    pub classes: i64,
    pub students: i64,
    pub guardians: i64,
    pub staff: i64,
    pub fee_lines: i64,
    pub activity: i64,
}

#[async_trait]
pub trait RosterStore: Send + Sync {
    /// Upserts every record in one transaction, with the activity entry; all or nothing.
    async fn import_roster(
        &self,
        records: &[RosterRecord],
        activity: &ActivityEntry,
        progress: &dyn Progress,
    ) -> Result<RosterImportSummary>;
    async fn students(&self) -> Result<Vec<Student>>;
    /// Every name the school knows — students, guardians and staff — and its class,
    /// section and branch names (the PII redactor's roster).
    async fn known_names(&self) -> Result<KnownNames>;
    async fn guardian(&self, id: crate::domain::GuardianId) -> Result<Option<Guardian>>;
    async fn guardians_of(&self, student: StudentId) -> Result<Vec<Guardian>>;
    async fn create_staff(&self, staff: &StaffUser, activity: &ActivityEntry) -> Result<()>;
    /// A staff account with its classes and, optionally, a password link's token hash
    /// and expiry, in one transaction with the activity entry.
    async fn create_staff_account(
        &self,
        staff: &StaffUser,
        classes: &[crate::domain::ClassId],
        reset: Option<(&[u8], DateTime<Utc>)>,
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// The guardians and staff members with this phone (via the blind index).
    async fn contacts_by_phone(&self, phone: &Phone) -> Result<Vec<ContactRef>>;
    async fn counts(&self) -> Result<SchoolCounts>;
}

#[async_trait]
pub trait FeeStore: Send + Sync {
    async fn student_ids_by_admission(&self) -> Result<HashMap<String, StudentId>>;
    /// Upserts fee lines and adds payments in one transaction; all or nothing.
    async fn import_fees(
        &self,
        records: &[FeeRecord],
        students: &HashMap<String, StudentId>,
        activity: &ActivityEntry,
        progress: &dyn Progress,
    ) -> Result<FeeImportSummary>;
    async fn fee_statement(&self, student: StudentId) -> Result<Vec<FeeLineView>>;
    async fn balances(&self, class: crate::domain::ClassId) -> Result<Vec<BalanceRow>>;
}

#[derive(Clone, PartialEq, Eq)]
pub struct StoredAccessCode {
    pub id: AccessCodeId,
    pub contact: ContactRef,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

crate::debug_only!(
    StoredAccessCode,
    "StoredAccessCode",
    id,
    contact,
    expires_at,
    used_at,
    revoked_at
);

#[async_trait]
pub trait AccessCodeStore: Send + Sync {
    /// Stores a new code (hash and bucket) for the contact and revokes the contact's
    /// unused ones.
    async fn insert_access_code(
        &self,
        code: &StoredAccessCode,
        bucket: &[u8],
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// The non-revoked codes in a bucket, newest first (a handful at most).
    async fn access_codes_in_bucket(&self, bucket: &[u8]) -> Result<Vec<StoredAccessCode>>;
    /// Marks the code used; false if it was already used or revoked (single use).
    async fn consume_access_code(&self, id: AccessCodeId, activity: &ActivityEntry)
        -> Result<bool>;
    /// Revokes a person's unused access codes; returns how many. Logged with the count.
    async fn revoke_access_codes(
        &self,
        contact: crate::domain::roster::ContactRef,
        activity: &ActivityEntry,
    ) -> Result<u64>;
}

#[async_trait]
pub trait AttendanceStore: Send + Sync {
    /// One record per student per day: a second one replaces the first. The activity
    /// entry is written in the same transaction.
    async fn record_attendance(
        &self,
        record: &AttendanceRecord,
        activity: &ActivityEntry,
    ) -> Result<()>;
    async fn attendance_between(
        &self,
        student: StudentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AttendanceRecord>>;
    /// The class's active students with their status on `day` (None: not marked).
    async fn class_register(
        &self,
        class: crate::domain::ClassId,
        day: NaiveDate,
    ) -> Result<Vec<RegisterRow>>;
    /// Records (or replaces) several students' attendance in one transaction.
    async fn record_register(
        &self,
        records: &[AttendanceRecord],
        activity: &ActivityEntry,
    ) -> Result<()>;
    async fn attendance_by_class(&self, day: NaiveDate) -> Result<Vec<ClassDaySummary>>;
}

/// The school's settings (office hours, weekend, payment details...) and holidays.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// Every setting, by name.
    async fn settings(&self) -> Result<Vec<(String, String)>>;
    /// Sets each setting (an empty value removes it), with one activity entry.
    async fn save_settings(
        &self,
        values: &[(&str, String)],
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// Holidays from `from` to `to`, both included.
    async fn holidays(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::domain::calendar::Holiday>>;
    /// Adds holidays (a day already there gets the new name), all or none.
    async fn put_holidays(
        &self,
        holidays: &[crate::domain::calendar::Holiday],
        activity: &ActivityEntry,
    ) -> Result<u64>;
    async fn remove_holiday(
        &self,
        day: chrono::NaiveDate,
        activity: &ActivityEntry,
    ) -> Result<bool>;
}

#[async_trait]
pub trait ActivityStore: Send + Sync {
    async fn log_activity(&self, entry: &ActivityEntry) -> Result<()>;
    /// Newest first.
    async fn recent_activity(&self, limit: i64) -> Result<Vec<ActivityEntry>>;
    /// Activity entries, newest first, filtered: actor and action by prefix (`staff:`,
    /// `leave_request.`), time range half-open `[from, to)`.
    async fn activity_filtered(
        &self,
        filter: &ActivityFilter,
        limit: i64,
    ) -> Result<Vec<ActivityEntry>>;
}

/// An encrypted column and the table it lives in (all tables key rows by `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedColumn {
    pub table: &'static str,
    pub column: &'static str,
}

/// Every encrypted column in a school partition. Key rotation walks this list, and
/// the plaintext-scan test checks it; a new `_enc` column must be added here.
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    EncryptedColumn {
        table: "privacy_requests",
        column: "name_enc",
    },
    EncryptedColumn {
        table: "privacy_requests",
        column: "identity_check_enc",
    },
    EncryptedColumn {
        table: "leads",
        column: "name_enc",
    },
    EncryptedColumn {
        table: "leads",
        column: "phone_enc",
    },
    EncryptedColumn {
        table: "leads",
        column: "detail_enc",
    },
    EncryptedColumn {
        table: "leads",
        column: "question_enc",
    },
    EncryptedColumn {
        table: "leads",
        column: "notes_enc",
    },
    EncryptedColumn {
        table: "face_consents",
        column: "note_enc",
    },
    EncryptedColumn {
        table: "face_samples",
        column: "embedding_enc",
    },
    EncryptedColumn {
        table: "students",
        column: "bform_enc",
    },
    EncryptedColumn {
        table: "students",
        column: "health_notes_enc",
    },
    EncryptedColumn {
        table: "guardians",
        column: "phone_enc",
    },
    EncryptedColumn {
        table: "guardians",
        column: "cnic_enc",
    },
    EncryptedColumn {
        table: "guardians",
        column: "address_enc",
    },
    EncryptedColumn {
        table: "staff_users",
        column: "phone_enc",
    },
    EncryptedColumn {
        table: "staff_users",
        column: "totp_secret_enc",
    },
    EncryptedColumn {
        table: "channel_identities",
        column: "external_id_enc",
    },
    EncryptedColumn {
        table: "conversations",
        column: "sender_enc",
    },
    EncryptedColumn {
        table: "inbound_events",
        column: "payload_enc",
    },
    EncryptedColumn {
        table: "outbox",
        column: "payload_enc",
    },
    EncryptedColumn {
        table: "outbox",
        column: "manual_link_enc",
    },
    EncryptedColumn {
        table: "media",
        column: "content_enc",
    },
    EncryptedColumn {
        table: "conversations",
        column: "session_enc",
    },
    EncryptedColumn {
        table: "leave_requests",
        column: "reason_enc",
    },
    EncryptedColumn {
        table: "leave_requests",
        column: "decision_note_enc",
    },
    EncryptedColumn {
        table: "consent_requests",
        column: "note_enc",
    },
    EncryptedColumn {
        table: "complaints",
        column: "text_enc",
    },
    EncryptedColumn {
        table: "complaints",
        column: "summary_enc",
    },
    EncryptedColumn {
        table: "complaints",
        column: "reply_enc",
    },
    EncryptedColumn {
        table: "complaints",
        column: "close_reason_enc",
    },
    EncryptedColumn {
        table: "complaint_messages",
        column: "body_enc",
    },
    EncryptedColumn {
        table: "complaint_csat",
        column: "comment_enc",
    },
];

#[cfg(test)]
mod tests {
    use super::ENCRYPTED_COLUMNS;

    /// Every `_enc` column created by a school migration is in ENCRYPTED_COLUMNS (so
    /// key rotation reaches it), and every listed column exists.
    #[test]
    fn encrypted_columns_match_the_migrations() {
        for dir in ["migrations/sqlite", "migrations/postgres"] {
            let mut found = Vec::new();
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut files: Vec<_> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for file in files {
                let sql = std::fs::read_to_string(&file).unwrap();
                let mut table = String::new();
                for line in sql.lines() {
                    let line = line.trim();
                    if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                        table = rest.split_whitespace().next().unwrap().to_string();
                    } else if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
                        let words: Vec<&str> = rest.split_whitespace().collect();
                        if let [t, "ADD", "COLUMN", col, ..] = words.as_slice() {
                            if col.ends_with("_enc") {
                                found.push((t.to_string(), col.to_string()));
                            }
                        }
                    } else if let Some(col) = line
                        .split_whitespace()
                        .next()
                        .filter(|c| c.ends_with("_enc"))
                    {
                        found.push((table.clone(), col.to_string()));
                    }
                }
            }
            let listed: Vec<(String, String)> = ENCRYPTED_COLUMNS
                .iter()
                .map(|c| (c.table.to_string(), c.column.to_string()))
                .collect();
            found.sort();
            // A table rebuilt by a later migration lists its columns again.
            found.dedup();
            let mut listed_sorted = listed.clone();
            listed_sorted.sort();
            assert_eq!(found, listed_sorted, "{dir}");
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchResult {
    /// Rows looked at in this batch.
    pub seen: u64,
    /// Rows whose value was re-encrypted with the active key.
    pub rewritten: u64,
    /// Last row id looked at; pass it back to continue. None when the table is done.
    pub next_after: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage {
    pub total: u64,
    pub stale: u64,
}

#[async_trait]
pub trait KeyRotationStore: Send + Sync {
    /// Re-encrypts, with the ring's active key, up to `limit` rows of one column after
    /// `after` (by id). A row changed concurrently is skipped (compare-and-set on the
    /// old ciphertext) and picked up by the next pass.
    async fn reencrypt_batch(
        &self,
        column: EncryptedColumn,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<BatchResult>;
    /// How many values this column holds, and how many use a key other than the active one.
    async fn key_usage(&self, column: EncryptedColumn) -> Result<KeyUsage>;
    /// Every value of one column, decrypted, by row id, in id order (the privacy scans
    /// and the school's export). Personal data: callers keep it out of logs.
    async fn decrypted_column(
        &self,
        column: EncryptedColumn,
    ) -> Result<Vec<(Uuid, crate::domain::Pii<Vec<u8>>)>>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxOutcome {
    /// Events stored for the first time.
    pub stored: u64,
    /// Events already stored (provider redeliveries): nothing was done for them.
    pub duplicates: u64,
}

#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Stores verified provider events in one transaction, de-duplicated on their
    /// permanent provider key, creating conversations as needed and moving the
    /// sender's 24-hour window for messages. Returns only after the commit.
    async fn record_inbound(
        &self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        events: &[crate::domain::message::InboundEvent],
        received_at: DateTime<Utc>,
    ) -> Result<InboxOutcome>;
    /// How many events are stored (all states), for tests and diagnostics.
    async fn inbound_count(&self) -> Result<i64>;
    /// The school's queues for `/metrics`: pending inbound events and the oldest one's
    /// arrival, and unsent outbox rows by channel and state.
    async fn queue_figures(&self) -> Result<QueueFigures>;
}

/// A chat identity bound to a contact (decrypted).
#[derive(Debug, Clone)]
pub struct IdentityRow {
    pub id: Uuid,
    pub contact: ContactRef,
    /// The channel family: `whatsapp` or `telegram`.
    pub channel: String,
    pub external_id: crate::domain::Pii<String>,
    pub created_at: DateTime<Utc>,
}

/// A school's queues (`InboxStore::queue_figures`).
#[derive(Debug, Clone, Default)]
pub struct QueueFigures {
    pub pending_events: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// (channel, state, rows) for the states pending, sending, dead and manual.
    pub outbox: Vec<(Uuid, String, i64)>,
}

/// A conversation as the worker and sender see it (sender decrypted).
#[derive(Debug, Clone)]
pub struct ConversationView {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub provider: crate::domain::message::Provider,
    pub sender: crate::domain::message::SenderId,
    /// The sender's last inbound message: the 24-hour window runs from here.
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub opted_out_at: Option<DateTime<Utc>>,
}

/// The oldest pending event of a conversation, as a step transaction finds it.
#[derive(Debug)]
pub enum NextEvent {
    /// Nothing pending.
    Idle,
    /// The event's media is still being fetched: the conversation waits.
    WaitingForMedia,
    /// The event cannot be decrypted or parsed (its id).
    Unreadable(Uuid),
    Event(Uuid, Box<crate::domain::message::InboundEvent>),
}

/// One conversation step's database transaction (`ConversationStore::begin_step`): the
/// conversation is locked until `commit` (or until it is dropped, which rolls back).
/// The worker (`worker::step`) decides what happens; this only reads and writes.
#[async_trait]
pub trait StepTx: Send {
    async fn next_event(&mut self) -> Result<NextEvent>;
    async fn conversation(&mut self) -> Result<ConversationView>;
    /// Sets an unreadable event aside (`state = 'failed'`) for staff.
    async fn set_aside(&mut self, event: Uuid) -> Result<()>;
    /// Records a delivery report; a lower rank never replaces a higher one.
    async fn record_delivery(
        &mut self,
        provider_message_id: &str,
        status: crate::domain::message::DeliveryStatus,
        error_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The sent outbox row with this provider message id, and its message.
    async fn sent_message(
        &mut self,
        provider_message_id: &str,
    ) -> Result<Option<(Uuid, crate::domain::message::OutboundMessage)>>;
    /// Turns an outbox row into a manual link for staff.
    async fn make_manual(
        &mut self,
        outbox: Uuid,
        link: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn mark_opted_out(&mut self, now: DateTime<Utc>) -> Result<()>;
    /// The flow's reads and writes, in this transaction.
    fn flow(&mut self) -> Box<dyn FlowTx + '_>;
    /// Queues replies to an event (idempotency key `conversation:event:seq`); how many
    /// were new.
    async fn queue_replies(
        &mut self,
        event: Uuid,
        replies: &[crate::domain::message::OutboundMessage],
        now: DateTime<Utc>,
    ) -> Result<usize>;
    async fn log(&mut self, activity: &ActivityEntry) -> Result<()>;
    /// Enqueues a durable job with this step's changes (false if its key was used).
    async fn enqueue_job(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<bool>;
    /// Marks the event done.
    async fn finish_event(&mut self, event: Uuid, now: DateTime<Utc>) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// The conversation's engine state as stored.
#[derive(Clone, Default)]
pub struct SessionRow {
    /// The serialised engine session (decrypted).
    pub session: Option<Vec<u8>>,
    pub contact: Option<ContactRef>,
    pub handoff_at: Option<DateTime<Utc>>,
    /// The contact the sender's channel identity is bound to (when asked for).
    pub identity: Option<ContactRef>,
    /// The school's `recognise_roster_phones` setting is on.
    pub recognise_phones: bool,
    /// The school's office hours (a setting, as written).
    pub office_hours: Option<String>,
    /// The school's handoff release time in hours (a setting), when it set one.
    pub handoff_release_hours: Option<u32>,
    /// The school's weekend (a setting, "fri,sat"), when it set one.
    pub weekend: Option<String>,
    /// The bound contact still exists (a staff member: still active).
    pub contact_valid: bool,
}

crate::debug_only!(
    SessionRow,
    "SessionRow",
    contact,
    handoff_at,
    identity,
    recognise_phones
);

/// A guardian's child as the bot lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRow {
    pub id: StudentId,
    pub name: String,
    pub class_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub paid_on: NaiveDate,
    pub amount: crate::domain::fees::Money,
    pub description: String,
    /// The fee line's Urdu and Arabic names, when the school gave them.
    pub description_ur: Option<String>,
    pub description_ar: Option<String>,
}

/// A leave request as the guardian filed it.
#[derive(Clone)]
pub struct LeaveRequest {
    pub id: Uuid,
    pub student: StudentId,
    pub guardian: crate::domain::GuardianId,
    pub conversation: Option<Uuid>,
    pub kind: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub reason: crate::domain::Pii<String>,
    pub attachment_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored leave request: as filed, with the child's name and class and the decision.
#[derive(Clone)]
pub struct LeaveRequestView {
    pub request: LeaveRequest,
    pub student_name: String,
    pub class_id: crate::domain::ClassId,
    pub status: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<crate::domain::Pii<String>>,
}

crate::debug_only!(LeaveRequest, "LeaveRequest", id, student, kind, from, to);
crate::debug_only!(LeaveRequestView, "LeaveRequestView", request, status);

#[derive(Clone)]
pub struct ConsentRequestView {
    pub id: Uuid,
    pub form_id: Uuid,
    pub title: String,
    pub description: String,
    pub deadline_at: DateTime<Utc>,
    pub student: StudentId,
    pub student_name: String,
    pub guardian: crate::domain::GuardianId,
    pub status: String,
    pub note: Option<crate::domain::Pii<String>>,
}

crate::debug_only!(
    ConsentRequestView,
    "ConsentRequestView",
    id,
    form_id,
    student,
    status
);

/// A consent form as staff send it.
#[derive(Debug, Clone)]
pub struct NewConsentForm {
    pub title: String,
    pub description: String,
    /// Answers are accepted until this instant.
    pub deadline_at: DateTime<Utc>,
    pub classes: Vec<crate::domain::ClassId>,
    /// Reminders go out this long before the deadline (not at all if the form is sent
    /// later than that).
    pub remind_before: chrono::Duration,
}

/// What a consent send reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsentSendSummary {
    /// One per (child, guardian).
    pub requests: u64,
    /// Requests queued to at least one of the guardian's conversations.
    pub delivered: u64,
    /// Guardians not yet logged in on any channel (issue them access codes).
    pub unreachable: u64,
}

/// A class as staff name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassRow {
    pub id: crate::domain::ClassId,
    pub branch: crate::domain::BranchId,
    pub name: String,
    pub section: String,
}

impl ClassRow {
    /// "Grade 5" or "Grade 5 B".
    pub fn label(&self) -> String {
        if self.section.is_empty() {
            self.name.clone()
        } else {
            format!("{} {}", self.name, self.section)
        }
    }
}

/// One transaction of the conversation worker, as the flow driver sees it. Every
/// method runs in the same transaction as the step that calls it.
#[async_trait]
pub trait FlowTx: Send {
    fn keys(&self) -> &KeyRing;
    /// The session, and in the same round trip the contact bound to the sender's
    /// channel identity `(channel, external id)` and the phone-recognition setting.
    async fn session(&mut self, identity: Option<(&str, &str)>) -> Result<SessionRow>;
    async fn save_session(
        &mut self,
        session: &[u8],
        contact: Option<ContactRef>,
        handoff: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Binds a channel identity to a contact: its id, and whether it is new (not
    /// already bound to this contact).
    async fn bind_identity(
        &mut self,
        channel: &str,
        external_id: &str,
        contact: ContactRef,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, bool)>;
    /// The contact's other conversations (not this step's).
    async fn contact_conversations(&mut self, contact: ContactRef) -> Result<Vec<Uuid>>;
    /// The contact's phone on the roster, if any.
    async fn roster_phone(&mut self, contact: ContactRef) -> Result<Option<Phone>>;
    /// The conversation with `sender` on a channel, created if there is none.
    async fn open_conversation(
        &mut self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid>;
    /// Starts `flow` in another conversation (an internal event in its ordered inbox;
    /// once per flow, key and conversation).
    async fn trigger(
        &mut self,
        conversation: Uuid,
        key: &str,
        flow: &str,
        vars: serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// A channel identity: whose, on which channel family, its sender id, since when.
    async fn identity_contact(&mut self, identity: Uuid) -> Result<Option<IdentityRow>>;
    /// The identity bound to this sender on a channel family: its id and since when.
    async fn identity_of(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<(Uuid, DateTime<Utc>)>>;
    /// Removes one of `contact`'s channel identities and cancels their unused access
    /// codes, with the activity entry; false if the identity is not theirs (any more).
    async fn unlink_identity(
        &mut self,
        identity: Uuid,
        contact: ContactRef,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    async fn contacts_by_phone(&mut self, phone: &Phone) -> Result<Vec<ContactRef>>;
    /// The preferred language of a guardian (None for staff).
    async fn contact_language(
        &mut self,
        contact: ContactRef,
    ) -> Result<Option<crate::domain::school::Locale>>;
    async fn access_codes_in_bucket(&mut self, bucket: &[u8]) -> Result<Vec<StoredAccessCode>>;
    async fn consume_access_code(
        &mut self,
        id: AccessCodeId,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Failed logins since `since`: (this conversation, the whole school).
    async fn login_failures(&mut self, since: DateTime<Utc>) -> Result<(i64, i64)>;
    /// When this conversation's login lock ends: it holds while `limit` or more failures
    /// are newer than `window`, so it ends `window` after the `limit`-th most recent one.
    /// None: not locked.
    async fn login_locked_until(
        &mut self,
        now: DateTime<Utc>,
        window: chrono::Duration,
        limit: i64,
    ) -> Result<Option<DateTime<Utc>>>;
    async fn record_login_failure(&mut self, at: DateTime<Utc>) -> Result<()>;
    async fn children_of(&mut self, guardian: crate::domain::GuardianId) -> Result<Vec<ChildRow>>;
    async fn fee_statement(&mut self, student: StudentId) -> Result<Vec<FeeLineView>>;
    /// Newest first.
    async fn payments(&mut self, student: StudentId, limit: i64) -> Result<Vec<PaymentRow>>;
    async fn attendance_between(
        &mut self,
        student: StudentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AttendanceRecord>>;
    async fn insert_leave_request(
        &mut self,
        r: &LeaveRequest,
        activity: &ActivityEntry,
    ) -> Result<()>;
    async fn leave_request(&mut self, id: Uuid) -> Result<Option<LeaveRequestView>>;
    /// Pending requests for students of these classes, oldest first.
    async fn pending_leave_for_classes(
        &mut self,
        classes: &[crate::domain::ClassId],
    ) -> Result<Vec<LeaveRequestView>>;
    /// The guardian's consent requests not withdrawn: pending and answered (the caller
    /// leaves out those past their deadline).
    async fn pending_consents(
        &mut self,
        guardian: crate::domain::GuardianId,
    ) -> Result<Vec<ConsentRequestView>>;
    async fn consent_request(&mut self, id: Uuid) -> Result<Option<ConsentRequestView>>;
    /// Records an answer (a first one, or a change) if the request is still in the state
    /// the person saw (`expected`: pending, approved or declined); false if it changed
    /// meanwhile (answered from another chat).
    async fn answer_consent(
        &mut self,
        id: Uuid,
        approved: bool,
        note: Option<&str>,
        expected: &str,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    async fn staff_classes(&mut self, staff: crate::domain::StaffId) -> Result<Vec<ClassRow>>;
    async fn class_students(&mut self, class: crate::domain::ClassId) -> Result<Vec<ChildRow>>;
    async fn record_attendance(
        &mut self,
        record: &AttendanceRecord,
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// Files a complaint (its attachments as the thread's first messages, its triage
    /// and the staff notice as jobs); its reference (C-2412-0042).
    async fn insert_complaint(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        complaint: &NewComplaint,
        activity: &ActivityEntry,
    ) -> Result<String>;
    /// Stores a lead (and queues the office's notice).
    async fn insert_lead(&mut self, lead: &NewLead, activity: &ActivityEntry) -> Result<()>;
    /// Records a data-subject request (or returns the person's open one of that kind)
    /// and queues the administrators' notice.
    async fn insert_privacy_request(
        &mut self,
        request: &NewPrivacyRequest,
        activity: &ActivityEntry,
    ) -> Result<PrivacyRequest>;
    /// The owner of a lead's WhatsApp number answers the message sent to it: confirmed
    /// (the office may use it) or not theirs (the number is removed). False when the
    /// lead is gone, has no number, or `sender_digits` is not that number.
    async fn confirm_lead_phone(
        &mut self,
        lead: Uuid,
        sender_digits: &str,
        confirmed: bool,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// The person's open complaints and those closed in the last [`REOPEN_DAYS`].
    async fn person_complaints(
        &mut self,
        contact: ContactRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<PersonComplaint>>;
    /// Adds a message or a file to one of the person's open complaints.
    async fn add_to_complaint(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        addition: Addition<'_>,
        activity: &ActivityEntry,
    ) -> Result<ThreadOutcome>;
    /// What the person is told about one of their complaints (`message`: the staff
    /// reply the news is about).
    async fn complaint_news(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        message: Option<Uuid>,
    ) -> Result<Option<ComplaintNews>>;
    /// The person's satisfaction answer for the complaint's latest closing (once).
    async fn save_csat(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        score: i64,
        comment: Option<&str>,
        activity: &ActivityEntry,
    ) -> Result<ThreadOutcome>;
    /// The person reopens a complaint closed less than [`REOPEN_DAYS`] ago.
    async fn reopen_complaint(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        activity: &ActivityEntry,
    ) -> Result<ThreadOutcome>;
    /// The teacher's face session still taking photos (the last one within
    /// `since`), if any.
    async fn face_open_session(
        &mut self,
        staff: StaffId,
        since: DateTime<Utc>,
    ) -> Result<Option<FaceSessionRow>>;
    /// A new face session (status `matching`, no photo yet).
    async fn face_new_session(
        &mut self,
        staff: StaffId,
        class: ClassId,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid>;
    /// Adds a photo to a session and queues its face job.
    async fn face_add_photo(
        &mut self,
        session: Uuid,
        media_key: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn face_session_row(&mut self, id: Uuid) -> Result<Option<FaceSessionRow>>;
    async fn face_class(&mut self, class: ClassId) -> Result<Vec<ClassFaceRow>>;
    /// The teacher confirmed: the students present (source face, this session) and
    /// the session marked confirmed, once (false if it was not waiting for that).
    async fn face_confirm(
        &mut self,
        session: Uuid,
        present: &[StudentId],
        day: NaiveDate,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Deletes a photo's media row (a photo that will not be used is not kept).
    async fn face_discard_photo(&mut self, media_key: &str) -> Result<()>;
    /// The teacher dropped the proposal (false if it was not open).
    async fn face_cancel(&mut self, session: Uuid, now: DateTime<Utc>) -> Result<bool>;
    /// A durable timer: at `due_at` a timeout event enters the conversation's inbox.
    async fn set_timer(&mut self, token: &str, due_at: DateTime<Utc>) -> Result<()>;
    async fn log(&mut self, activity: &ActivityEntry) -> Result<()>;
    /// One of the school's settings.
    async fn setting(&mut self, name: &str) -> Result<Option<String>>;
    /// Decides a pending leave request in this transaction (false if not pending).
    async fn decide_leave(
        &mut self,
        id: Uuid,
        approve: bool,
        note: Option<&str>,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Starts `flow` (once per `key`) in every conversation of every guardian of the
    /// student; returns how many were started.
    async fn trigger_guardians_of(
        &mut self,
        student: StudentId,
        key: &str,
        flow: &str,
        vars: serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<u64>;
    /// A student's approved leave overlapping `from`..=`to`, as (first, last) days.
    async fn approved_leave(
        &mut self,
        student: StudentId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, chrono::NaiveDate)>>;
    /// The students of a class on approved leave on `day`.
    async fn on_leave(
        &mut self,
        class: crate::domain::ClassId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<StudentId>>;
    /// A class's students with their mark of `day` (the register).
    async fn class_register(
        &mut self,
        class: crate::domain::ClassId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<RegisterRow>>;
    /// The school's holidays from `from` to `to`, both included.
    async fn holidays_between(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::domain::calendar::Holiday>>;
    /// A pending or approved leave request of the student covers a day of the range.
    async fn leave_overlaps(
        &mut self,
        student: StudentId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<bool>;
}

/// Flow data outside a conversation step: timers, consent forms, leave decisions,
/// handoffs, school settings.
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// The conversation's next pending event, read outside any step (the work a step
    /// needs done first, such as an access-code check, is done from it), and whether
    /// the conversation is logged in (bound to a contact).
    async fn peek_next_event(
        &self,
        conversation: Uuid,
    ) -> Result<Option<(crate::domain::message::InboundEvent, bool)>>;
    /// Failed logins since `since`: (this conversation, the whole school), outside a step.
    async fn login_failures_of(
        &self,
        conversation: Uuid,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64)>;
    /// Moves due timers into their conversations' inboxes as timeout events.
    /// `only`: one conversation's timers (the simulator, on its own clock).
    async fn fire_due_timers(&self, now: DateTime<Utc>, only: Option<Uuid>) -> Result<u64>;
    async fn classes(&self) -> Result<Vec<ClassRow>>;
    /// The classes a staff member teaches (empty for an inactive account).
    async fn classes_of_staff(&self, staff: crate::domain::StaffId) -> Result<Vec<ClassRow>>;
    /// Creates the form and one request per (child, guardian) of the classes, and
    /// queues the consent flow to every conversation of those guardians. All or nothing.
    async fn send_consent_form(
        &self,
        form: &NewConsentForm,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, ConsentSendSummary)>;
    /// Queues a reminder to guardians who have not answered, once, when the deadline
    /// is less than `before` away. Returns how many were queued. `only`: into one
    /// conversation, without marking the request reminded (the simulator on its own
    /// clock; the provider key keeps it to one reminder there).
    async fn queue_consent_reminders(
        &self,
        now: DateTime<Utc>,
        before: chrono::Duration,
        only: Option<Uuid>,
    ) -> Result<u64>;
    /// Reminds every guardian who has not answered a form yet, now (staff pressed the
    /// button); None if the form is unknown or closed. Logs `activity` with the counts.
    async fn remind_consent_now(
        &self,
        form: Uuid,
        now: DateTime<Utc>,
        activity: &ActivityEntry,
    ) -> Result<Option<u64>>;
    async fn consent_requests(&self, form: Uuid) -> Result<Vec<ConsentRequestView>>;
    /// Every consent form, newest first: (id, title, deadline, created at).
    async fn consent_forms(&self) -> Result<Vec<(Uuid, String, DateTime<Utc>, DateTime<Utc>)>>;
    async fn leave_requests(&self, status: Option<&str>) -> Result<Vec<LeaveRequestView>>;
    async fn leave_request_by_id(&self, id: Uuid) -> Result<Option<LeaveRequestView>>;
    /// Approves or rejects a pending request and queues the decision to the guardian's
    /// conversation. False if it was decided already.
    async fn decide_leave(
        &self,
        id: Uuid,
        approve: bool,
        note: Option<&str>,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Conversations handed to staff, oldest first.
    async fn handoffs(&self) -> Result<Vec<Uuid>>;
    /// Unbinds every chat of a guardian or staff member (a lost phone, a number that
    /// changed hands): they must log in again with a new code. Returns the chats unbound.
    async fn revoke_identities(&self, contact: ContactRef, activity: &ActivityEntry)
        -> Result<u64>;
    /// Staff give the conversation back to the bot.
    async fn hand_back(&self, conversation: Uuid, activity: &ActivityEntry) -> Result<bool>;
    async fn set_setting(&self, name: &str, value: &str, activity: &ActivityEntry) -> Result<()>;
    /// The engine session of a conversation (tests and diagnostics).
    async fn session_of(&self, conversation: Uuid) -> Result<SessionRow>;
    /// Assigns a class to a staff member (teachers see and mark their classes).
    async fn assign_class(
        &self,
        staff: crate::domain::StaffId,
        class: crate::domain::ClassId,
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// The conversation of a channel account and sender, if it exists.
    async fn conversation_of(&self, channel: Uuid, sender: &str) -> Result<Option<Uuid>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessOutcome {
    /// One event processed; this many replies queued.
    Done { replies: usize },
    /// Another worker holds the conversation.
    Busy,
    /// The oldest event's media is still being fetched: the conversation waits.
    WaitingForMedia,
    /// Nothing pending.
    Idle,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Conversations with pending inbound events, oldest event first.
    async fn conversations_with_pending(&self, limit: i64) -> Result<Vec<Uuid>>;
    /// Opens a conversation's step transaction with the conversation locked; None when
    /// another worker holds it.
    async fn begin_step(&self, conversation: Uuid) -> Result<Option<Box<dyn StepTx + '_>>>;
    async fn conversation(&self, id: Uuid) -> Result<Option<ConversationView>>;
    /// The latest messages of a conversation, both ways, oldest first.
    async fn conversation_thread(&self, conversation: Uuid, limit: i64) -> Result<Vec<ThreadItem>>;
    /// The conversation with `sender` on a channel, created if there is none yet (for
    /// messages staff start, such as a channel test).
    async fn ensure_conversation(
        &self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        sender: &str,
        at: DateTime<Utc>,
    ) -> Result<Uuid>;
}

/// An outbox row claimed for sending.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: Uuid,
    pub conversation: ConversationView,
    pub message: crate::domain::message::OutboundMessage,
    /// Attempts including this one.
    pub attempts: i32,
    pub mode: crate::domain::message::OutboundMode,
}

/// An outbox row as staff or tests see it.
#[derive(Debug, Clone)]
pub struct OutboxView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub state: String,
    pub status: Option<crate::domain::message::DeliveryStatus>,
    pub provider_message_id: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub manual_link: Option<String>,
    pub message: crate::domain::message::OutboundMessage,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Leases due rows for `lease`: only the oldest unsent row of each conversation
    /// (per-recipient FIFO), including rows whose earlier lease expired (a crash).
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: i64,
        conversation: Option<Uuid>,
    ) -> Result<Vec<OutboxItem>>;
    // The `mark_*` calls take the attempt number the row was claimed with: they change
    // the row only while that claim (state `sending`, same attempt) still holds, so a
    // sender whose lease ran out cannot overwrite the work of the one that took over.
    // They return false when the claim was lost.
    async fn mark_sent(&self, id: Uuid, attempt: i32, provider_message_id: &str) -> Result<bool>;
    async fn mark_retry(
        &self,
        id: Uuid,
        attempt: i32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool>;
    async fn mark_dead(&self, id: Uuid, attempt: i32, error: &str) -> Result<bool>;
    /// Turns the row into a manual wa.me link for staff (nothing goes to a provider).
    async fn mark_manual(&self, id: Uuid, attempt: i32, link: &str, reason: &str) -> Result<bool>;
    /// The recipient opted out (or blocked the bot): the row is dead and the
    /// conversation is marked so nothing else is sent to it until they write again.
    async fn mark_opted_out(
        &self,
        id: Uuid,
        attempt: i32,
        conversation: Uuid,
        error: &str,
    ) -> Result<bool>;
    /// Queues a message outside a conversation step (staff-initiated); false if the
    /// idempotency key was used already.
    async fn enqueue(
        &self,
        conversation: Uuid,
        idempotency_key: &str,
        message: &crate::domain::message::OutboundMessage,
        mode: crate::domain::message::OutboundMode,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    async fn outbox(&self) -> Result<Vec<OutboxView>>;
    /// The newest `limit` rows (only dead and manual-link ones if `problems_only`),
    /// oldest first, and how many such rows there are.
    async fn outbox_where(&self, problems_only: bool, limit: i64)
        -> Result<(Vec<OutboxView>, i64)>;
    /// Sends a dead-lettered message again (attempts start over). False if the row is
    /// not dead.
    async fn retry_outbox(
        &self,
        id: Uuid,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Turns a dead-lettered row into a manual link for staff (encrypted). False if the
    /// row is not dead.
    async fn dead_to_manual(&self, id: Uuid, link: &str, activity: &ActivityEntry) -> Result<bool>;
}

/// An inbound media item to fetch (what the `media.fetch` job needs).
#[derive(Debug, Clone)]
pub struct MediaJob {
    pub id: Uuid,
    pub channel_id: Uuid,
    /// The provider's handle (Meta media id, Twilio media URL, Telegram file id).
    pub media_ref: String,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    pub state: String,
    pub mime: Option<String>,
    pub content: Option<Vec<u8>>,
    pub last_error: Option<String>,
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// The media item if it still waits for its download (`None` once stored, rejected
    /// or given up on: a job that runs again then has nothing to do).
    async fn media_to_fetch(&self, id: Uuid) -> Result<Option<MediaJob>>;
    /// Stores the checked, stripped content encrypted (only while still pending:
    /// false if it was not, and nothing changed).
    async fn media_stored(
        &self,
        id: Uuid,
        mime: &str,
        content: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Terminal: rejected (type, size) or failed after the last attempt.
    async fn media_given_up(
        &self,
        id: Uuid,
        state: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The media of an inbound event (decrypted), for staff and tests.
    async fn media_of(&self, provider_key: &str) -> Result<Option<StoredMedia>>;
    /// Every media item still held (its inbound event's provider key), oldest first:
    /// for retention and the privacy checks.
    async fn media_held(&self) -> Result<Vec<String>>;
}

pub use crate::domain::job::NewJob;

/// A claimed job: ours until `lease_until`; every later write names the attempt, so a
/// runner whose lease ran out (and another took the job) changes nothing.
#[derive(Debug, Clone)]
pub struct JobLease {
    pub id: Uuid,
    pub kind: String,
    pub conversation: Option<Uuid>,
    pub payload: serde_json::Value,
    /// This attempt's number (1 for the first run).
    pub attempts: i32,
    pub max_attempts: i32,
}

/// A job as the admin's outbox page shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub conversation: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job in its own transaction (false if its key was used before).
    /// Changes that need a job enqueue it in their own transaction instead
    /// (`StepTx::enqueue_job`, inbound media in `record_inbound`).
    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> Result<bool>;
    /// Leases up to `limit` due jobs of one kind (pending and due, or running with an
    /// expired lease), optionally of one conversation only; each claim counts an attempt.
    async fn claim_jobs(
        &self,
        kind: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: i64,
        conversation: Option<Uuid>,
    ) -> Result<Vec<JobLease>>;
    /// The job succeeded; its result (if any) enters its conversation's ordered inbox
    /// in the same transaction. False if the lease was lost.
    async fn finish_job(
        &self,
        job: &JobLease,
        result: Option<crate::domain::message::InboundBody>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Another attempt at `run_after`. False if the lease was lost.
    async fn retry_job(
        &self,
        job: &JobLease,
        run_after: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Dead: no more attempts; shown to staff. False if the lease was lost.
    async fn bury_job(&self, job: &JobLease, error: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Whether this attempt's claim still holds (running, same attempt, lease not over).
    async fn job_held(&self, job: &JobLease, now: DateTime<Utc>) -> Result<bool>;
    /// Deletes done jobs last changed before `before`; how many.
    async fn prune_done_jobs(&self, before: DateTime<Utc>) -> Result<u64>;
    /// How many jobs there are by (kind, state).
    async fn job_counts(&self) -> Result<Vec<(String, String, i64)>>;
    /// The newest `limit` jobs of one kind, newest first.
    async fn jobs_of_kind(&self, kind: &str, limit: i64) -> Result<Vec<JobView>>;
    /// The newest `limit` jobs in `state`, newest first, and how many there are.
    async fn jobs_in_state(&self, state: &str, limit: i64) -> Result<(Vec<JobView>, i64)>;
}

/// A staff member as sign-in sees them (secrets decrypted, Debug redacted).
#[derive(Clone)]
pub struct StaffAuth {
    pub id: crate::domain::StaffId,
    pub full_name: String,
    pub email: String,
    pub role: crate::domain::roster::StaffRole,
    pub branch: Option<crate::domain::BranchId>,
    pub active: bool,
    /// Argon2id PHC string; None: the account cannot sign in with a password.
    pub password_hash: Option<String>,
    pub totp_secret: Option<crate::domain::Secret<Vec<u8>>>,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub totp_last_step: Option<i64>,
}

crate::debug_only!(StaffAuth, "StaffAuth", id, role, active, totp_enabled_at);

/// A web admin session as stored (the token itself is never stored, only its hash).
#[derive(Clone)]
pub struct AdminSessionRow {
    pub staff_id: crate::domain::StaffId,
    pub csrf_token: crate::domain::Secret<String>,
    pub mfa_done: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

crate::debug_only!(
    AdminSessionRow,
    "AdminSessionRow",
    staff_id,
    mfa_done,
    created_at,
    last_seen_at,
    expires_at
);

/// What the activity-log page asks for.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub actor_prefix: Option<String>,
    pub action_prefix: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One line of a conversation as staff read it (decrypted).
#[derive(Clone)]
pub struct ThreadItem {
    pub at: DateTime<Utc>,
    /// What the person sent, or what we sent; how it is shown is the admin's business.
    pub body: ThreadBody,
    /// Outbox state for what we sent (pending, sent, manual, dead…).
    pub state: Option<String>,
}

/// One message of a conversation thread (decrypted).
#[derive(Clone)]
pub enum ThreadBody {
    Inbound(crate::domain::message::InboundBody),
    Outbound(crate::domain::message::OutboundMessage),
}

impl ThreadItem {
    /// True for what the person wrote, false for what we sent.
    pub fn inbound(&self) -> bool {
        matches!(self.body, ThreadBody::Inbound(_))
    }
}

crate::debug_only!(ThreadItem, "ThreadItem", at, state);

/// Staff sign-in: accounts, sessions, two-factor state, failed attempts.
#[async_trait]
pub trait StaffAuthStore: Send + Sync {
    /// By email, case-insensitively.
    async fn staff_by_email(&self, email: &str) -> Result<Option<StaffAuth>>;
    async fn staff_auth(&self, id: crate::domain::StaffId) -> Result<Option<StaffAuth>>;
    /// Claims one sign-in attempt before the secret is checked: in one write
    /// transaction with the account's row locked, counts the failures since `since`
    /// and, when fewer than `max`, records this attempt as a failure and returns its
    /// id (release it when the secret was right). None: the account is locked. So
    /// simultaneous attempts can never check more than `max` secrets.
    async fn claim_staff_login_attempt(
        &self,
        staff: crate::domain::StaffId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        max: i64,
    ) -> Result<Option<Uuid>>;
    /// Forgets a claimed attempt whose secret was right.
    async fn release_staff_login_attempt(&self, id: Uuid) -> Result<()>;
    async fn staff_login_failures_since(
        &self,
        staff: crate::domain::StaffId,
        since: DateTime<Utc>,
    ) -> Result<i64>;
    async fn create_admin_session(
        &self,
        id_hash: &[u8],
        row: &AdminSessionRow,
        activity: &ActivityEntry,
    ) -> Result<()>;
    async fn admin_session(&self, id_hash: &[u8]) -> Result<Option<AdminSessionRow>>;
    async fn touch_admin_session(&self, id_hash: &[u8], at: DateTime<Utc>) -> Result<()>;
    async fn mark_admin_session_mfa(&self, id_hash: &[u8]) -> Result<()>;
    async fn delete_admin_session(&self, id_hash: &[u8]) -> Result<()>;
    /// Signs a staff member out everywhere; returns how many sessions ended.
    async fn delete_staff_sessions(
        &self,
        staff: crate::domain::StaffId,
        activity: &ActivityEntry,
    ) -> Result<u64>;
    /// Stores a new (not yet confirmed) TOTP secret, encrypted. False once two-factor is
    /// on: an active second factor is never replaced this way.
    async fn set_totp_secret(&self, staff: crate::domain::StaffId, secret: &[u8]) -> Result<bool>;
    /// Accepts a TOTP time step if it is newer than the last accepted one (no replay);
    /// confirms enrolment on first use. False if the step was used already.
    async fn accept_totp_step(
        &self,
        staff: crate::domain::StaffId,
        step: i64,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Replaces the recovery codes (their Argon2id hashes).
    async fn replace_recovery_codes(
        &self,
        staff: crate::domain::StaffId,
        hashes: &[String],
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// Unused recovery codes: (id, hash).
    async fn recovery_codes(&self, staff: crate::domain::StaffId) -> Result<Vec<(Uuid, String)>>;
    /// Uses a recovery code up; false if it was used already.
    async fn use_recovery_code(&self, id: Uuid, activity: &ActivityEntry) -> Result<bool>;
    /// Turns a staff member's two-factor off (secret, recovery codes) and ends their
    /// sessions: they set it up again at their next sign-in. False if unknown.
    async fn reset_two_factor(
        &self,
        staff: crate::domain::StaffId,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Stores a reset link's token hash; older unused links of the person stop working
    /// and requests older than 30 days are removed. With `max_per_hour`, nothing is
    /// stored (false) when the person already had that many links in the last hour, so
    /// their newest link keeps working (checked and written in one transaction).
    async fn create_password_reset(
        &self,
        staff: crate::domain::StaffId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
        max_per_hour: Option<i64>,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Whose unused, unexpired link this is (active accounts only).
    async fn password_reset_valid(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<crate::domain::StaffId>>;
    /// Uses the link once: sets the new password hash, ends every session and clears
    /// failed sign-ins, in one transaction. None if the link is used, expired or unknown.
    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        activity: &ActivityEntry,
    ) -> Result<Option<crate::domain::StaffId>>;
}

/// A student in a roster list (no encrypted fields).
/// A complaint's triage as stored: by the AI on redacted text or by local rules.
#[derive(Debug, Clone)]
pub struct TriageRecord {
    /// "ai" or "local".
    pub source: String,
    pub category: String,
    pub priority: String,
    pub sentiment: String,
    pub language: String,
    pub summary: crate::domain::Pii<String>,
    pub suggested_reply: crate::domain::Pii<String>,
    /// Why the AI did not triage it (off, no endpoint, budget spent, redactor, answers).
    pub note: Option<String>,
}

/// A student's face-attendance consent: who confirmed the parent's written consent,
/// when, and a note.
#[derive(Debug, Clone)]
pub struct FaceConsent {
    pub confirmed_by: String,
    pub confirmed_at: DateTime<Utc>,
    pub note: Option<crate::domain::Pii<String>>,
}

/// An enrolled sample as staff see it (the embedding itself never leaves the store
/// but for matching).
#[derive(Debug, Clone)]
pub struct FaceSampleInfo {
    pub id: Uuid,
    pub quality: crate::face::quality::Quality,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// At most this many samples per student.
pub const FACE_SAMPLES_MAX: usize = 5;

/// What became of a sample offered for enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolOutcome {
    Added(Uuid),
    /// No consent on record for this student: nothing kept.
    NoConsent,
    /// The student has [`FACE_SAMPLES_MAX`] samples already.
    Full,
}

/// A student of a class as the face matcher sees it.
#[derive(Debug, Clone)]
pub struct ClassFaceRow {
    pub student: StudentId,
    pub admission_no: String,
    pub name: String,
    pub consent: bool,
    pub samples: usize,
}

/// One photo's result in a face session (the faces matched to nobody are a count).
#[derive(Debug, Clone, Default)]
pub struct FacePhotoResult {
    pub faces: usize,
    pub present: Vec<StudentId>,
    pub unmatched: usize,
    pub ms: u64,
}

/// A face session (the session log's row).
#[derive(Debug, Clone)]
pub struct FaceSessionRow {
    pub id: Uuid,
    pub conversation: Uuid,
    pub staff: StaffId,
    pub channel: String,
    pub class: ClassId,
    pub status: String,
    pub photos: i64,
    pub pending: i64,
    pub faces: i64,
    pub matched: i64,
    pub unmatched: i64,
    pub duration_ms: i64,
    pub proposal: Vec<StudentId>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Face attendance outside the conversation step: consent and enrolment (admin, CLI),
/// the class gallery and the photo results (the face job), the session log.
#[async_trait]
pub trait FaceStore: Send + Sync {
    async fn face_consent(&self, student: StudentId) -> Result<Option<FaceConsent>>;
    /// Records (or replaces) the consent record, with its activity entry.
    async fn record_face_consent(
        &self,
        student: StudentId,
        confirmed_by: &str,
        note: Option<&str>,
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// Deletes the consent record and every sample at once (None: no consent on
    /// record), with its activity entry; the number of samples deleted.
    async fn withdraw_face_consent(
        &self,
        student: StudentId,
        activity: &ActivityEntry,
    ) -> Result<Option<usize>>;
    /// Keeps one sample's embedding (encrypted), only with a consent on record and
    /// room for it, checked in the same transaction.
    async fn add_face_sample(
        &self,
        student: StudentId,
        embedding: &[f32],
        quality: &crate::face::quality::Quality,
        activity: &ActivityEntry,
    ) -> Result<EnrolOutcome>;
    async fn face_samples(&self, student: StudentId) -> Result<Vec<FaceSampleInfo>>;
    async fn delete_face_sample(
        &self,
        student: StudentId,
        id: Uuid,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    async fn delete_face_samples(
        &self,
        student: StudentId,
        activity: &ActivityEntry,
    ) -> Result<usize>;
    /// The active students of a class, with their consent and sample count.
    async fn class_faces(&self, class: ClassId) -> Result<Vec<ClassFaceRow>>;
    /// The samples of the class's consented students (decrypted, for matching only).
    async fn class_gallery(
        &self,
        class: ClassId,
    ) -> Result<Vec<crate::face::matching::Enrolled<StudentId>>>;
    async fn face_session(&self, id: Uuid) -> Result<Option<FaceSessionRow>>;
    /// One photo of a session is done: its result merged into the session, its media
    /// row and bytes deleted, and, when no photo of the session is left, the proposal
    /// started in the teacher's conversation. False if the session was not waiting
    /// for photos (nothing changed but the media's deletion).
    async fn face_photo_done(
        &self,
        session: Uuid,
        media_key: &str,
        result: &FacePhotoResult,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// A photo could not be read: its media deleted; the session failed when nothing
    /// else of it matched, and the teacher told.
    async fn face_photo_failed(
        &self,
        session: Uuid,
        media_key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The latest sessions (the session log), newest first.
    async fn face_sessions(&self, limit: i64) -> Result<Vec<FaceSessionRow>>;
}

/// What the enquiry bot took from a person who wants a call-back or to apply.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub id: Uuid,
    pub conversation: Option<Uuid>,
    /// `parent` (a prospective parent) or `school` (a school asking the vendor).
    pub kind: String,
    pub name: crate::domain::Pii<String>,
    /// A parent: the child's class or age; a school: its name and city.
    pub detail: crate::domain::Pii<String>,
    pub language: crate::domain::school::Locale,
    /// The question the FAQ could not answer, when that is how the lead began.
    pub question: Option<crate::domain::Pii<String>>,
    /// A WhatsApp number typed in the web chat (E.164), unconfirmed until its owner
    /// answers the message sent to it.
    pub phone: Option<crate::domain::Pii<String>>,
    pub at: DateTime<Utc>,
}

/// The statuses a lead moves through.
pub const LEAD_STATUSES: &[&str] = &["new", "contacted", "applied", "closed"];

/// A lead as staff see it (decrypted).
#[derive(Debug, Clone)]
pub struct LeadRow {
    pub id: Uuid,
    pub conversation: Option<Uuid>,
    /// The conversation's channel and sender (a WhatsApp number, a Telegram id, or a
    /// web chat), when the conversation is still there.
    pub provider: Option<crate::domain::message::Provider>,
    pub sender: Option<crate::domain::Pii<String>>,
    pub kind: String,
    pub name: crate::domain::Pii<String>,
    pub detail: crate::domain::Pii<String>,
    pub language: String,
    pub question: Option<crate::domain::Pii<String>>,
    pub status: String,
    pub notes: Option<crate::domain::Pii<String>>,
    pub assigned_to: Option<StaffId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The WhatsApp number typed in the web chat, and when its owner confirmed it.
    pub phone: Option<crate::domain::Pii<String>>,
    pub phone_confirmed_at: Option<DateTime<Utc>>,
}

/// What staff change on a lead (each field: None keeps it).
#[derive(Debug, Clone, Default)]
pub struct LeadChange {
    pub status: Option<String>,
    pub notes: Option<crate::domain::Pii<String>>,
    /// `Some(None)` unassigns.
    pub assigned_to: Option<Option<StaffId>>,
}

/// The leads the enquiry bot took (issue 18).
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Leads, newest activity first (at most `limit`), optionally of one status.
    async fn leads(&self, status: Option<&str>, limit: i64) -> Result<Vec<LeadRow>>;
    async fn lead(&self, id: Uuid) -> Result<Option<LeadRow>>;
    /// Applies a change with its activity entry; false if there is no such lead.
    async fn update_lead(
        &self,
        id: Uuid,
        change: &LeadChange,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// How many leads are in each status.
    async fn lead_counts(&self) -> Result<HashMap<String, i64>>;
    /// Retention of enquiries: deletes the leads with no activity since `cutoff`, and
    /// the web-chat conversations (messages, replies, timers, media) whose last message
    /// either way is older (unless a school record such as a leave request or a
    /// complaint points at one: those wait for the school's own retention), in one
    /// transaction with its activity entry; (leads, conversations) deleted.
    async fn purge_enquiries(
        &self,
        cutoff: DateTime<Utc>,
        activity: &ActivityEntry,
    ) -> Result<(u64, u64)>;
}

/// A data-subject request (issue 19): a copy of the person's data, or its erasure.
#[derive(Debug, Clone)]
pub struct PrivacyRequest {
    pub id: Uuid,
    /// `access` or `erasure`.
    pub kind: String,
    pub contact: ContactRef,
    /// The name the request was made under (kept for the audit after an erasure).
    pub name: crate::domain::Pii<String>,
    /// `chat`, `admin` or `operator`.
    pub source: String,
    /// How the person's identity was checked.
    pub identity_check: crate::domain::Pii<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `pending`, `completed`, `failed` (retryable) or `rejected`.
    pub status: String,
    pub scope: Option<ErasureScope>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// What was done (counts).
    pub result: Option<serde_json::Value>,
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewPrivacyRequest {
    pub id: Uuid,
    pub kind: PrivacyKind,
    pub contact: ContactRef,
    pub source: &'static str,
    pub identity_check: crate::domain::Pii<String>,
    pub requested_by: String,
    pub at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyKind {
    Access,
    Erasure,
}

impl PrivacyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyKind::Access => "access",
            PrivacyKind::Erasure => "erasure",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(Self::Access),
            "erasure" => Some(Self::Erasure),
            _ => None,
        }
    }
}

/// What an erasure covers: the person, or also their children's biometric data (face
/// consent and samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureScope {
    Guardian,
    GuardianBiometric,
}

impl ErasureScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureScope::Guardian => "guardian",
            ErasureScope::GuardianBiometric => "guardian_biometric",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "guardian" => Some(Self::Guardian),
            "guardian_biometric" => Some(Self::GuardianBiometric),
            _ => None,
        }
    }
}

/// An erasure done: what it counted, and the person's chat ids (to purge the spool
/// of them afterwards; never logged).
#[derive(Debug)]
pub struct ErasureDone {
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    pub chat_ids: Vec<crate::domain::Pii<String>>,
}

/// One table of a person's data export: column names and rows of text.
#[derive(Clone, Default)]
pub struct DataSection {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl std::fmt::Debug for DataSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data: the shape only.
        f.debug_struct("DataSection")
            .field("name", &self.name)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// What the retention pass deletes in one school (seed 000 §8; issue 19), as cutoffs
/// computed from the school's settings by [`RetentionPolicy::from_settings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Activity entries older than this (the erasure entries are kept).
    pub activity_before: DateTime<Utc>,
    /// Security and rate-limit records (failed logins) older than this.
    pub security_before: DateTime<Utc>,
    /// Password-reset links resolved (used or expired) before this.
    pub resets_before: DateTime<Utc>,
    /// Chat messages (inbound payloads, replies, delivery reports) and their media
    /// older than this, unless a pending leave request or an open complaint needs them.
    pub messages_before: DateTime<Utc>,
    /// Attachments of complaints closed before this.
    pub complaint_files_before: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The retention settings, their defaults and bounds (days): activity and security
/// logs 90 (seed 000 §8: at most 90; a school may keep them shorter, not under 7);
/// chat messages and media 90 (7–365); closed complaints' attachments 90 after closing
/// (0–3650); password resets 30 after resolution (fixed).
pub const RETENTION_SETTINGS: &[(&str, i64, i64, i64)] = &[
    ("activity_retention_days", 90, 7, 90),
    ("message_retention_days", 90, 7, 365),
    ("complaint_attachment_days", 90, 0, 3650),
];

/// Password-reset records are deleted this long after they were used or expired.
pub const PASSWORD_RESET_RETENTION_DAYS: i64 = 30;

impl RetentionPolicy {
    /// The policy at `now` from a school's settings (a missing or out-of-bounds value:
    /// the default, or the nearest bound).
    pub fn from_settings(settings: &[(String, String)], now: DateTime<Utc>) -> Self {
        let days = |name: &str| -> i64 {
            let (_, default, low, high) = RETENTION_SETTINGS
                .iter()
                .find(|(n, ..)| *n == name)
                .copied()
                .unwrap_or((name, 90, 7, 90));
            settings
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.trim().parse::<i64>().ok())
                .map(|d| d.clamp(low, high))
                .unwrap_or(default)
        };
        let ago = |d: i64| now - chrono::Duration::days(d);
        let activity = days("activity_retention_days");
        RetentionPolicy {
            activity_before: ago(activity),
            security_before: ago(activity),
            resets_before: ago(PASSWORD_RESET_RETENTION_DAYS),
            messages_before: ago(days("message_retention_days")),
            complaint_files_before: ago(days("complaint_attachment_days")),
            now,
        }
    }
}

/// Where a school's export goes, table by table (`ExportStore::export_school`).
pub trait ExportSink {
    fn table_start(&mut self, table: &str) -> Result<()>;
    /// One row: column → value (encrypted columns decrypted).
    fn row(&mut self, row: &serde_json::Map<String, serde_json::Value>) -> Result<()>;
    fn table_end(&mut self) -> Result<()>;
    /// A file (media content) the current row names.
    fn attachment(&mut self, name: &str, bytes: &[u8]) -> Result<()>;
}

/// The school's export (issue 19; see `sql/export.rs` for what is left out).
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// Every table, in one read transaction, in batches; the rows handed over.
    async fn export_school(&self, sink: &mut (dyn ExportSink + Send)) -> Result<u64>;
}

/// Requests are due this many calendar days after they are made unless the school
/// sets fewer (setting `privacy_due_days`, 1–9): seed 000 §8/§12 promises an answer
/// within 7 working days (the stronger of the seeds; 003 §11 says without undue delay),
/// and any 9 consecutive days hold at least one weekend of two days.
pub const PRIVACY_DUE_DAYS: i64 = 9;

/// Data-subject requests and the erasure (issue 19).
#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// Records a pending request (the contact's current name kept encrypted with it),
    /// queues the administrators' notice, with its activity entry; the request as
    /// stored. An open request of the same kind for the same person is returned
    /// instead of a second one.
    async fn record_privacy_request(
        &self,
        request: &NewPrivacyRequest,
        activity: &ActivityEntry,
    ) -> Result<PrivacyRequest>;
    /// Requests, newest first (at most `limit`), optionally of one status.
    async fn privacy_requests(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PrivacyRequest>>;
    async fn privacy_request(&self, id: Uuid) -> Result<Option<PrivacyRequest>>;
    /// Pending and failed requests (the dashboard's count).
    async fn open_privacy_requests(&self) -> Result<i64>;
    /// Rejects a pending request with its entry; false if it is not pending.
    async fn reject_privacy_request(
        &self,
        id: Uuid,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Marks a request completed by someone (an access request answered), with its
    /// entry; false if it was not pending or failed.
    async fn complete_privacy_request(
        &self,
        id: Uuid,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// The erasure of an erasure request's person, in one transaction (see
    /// `sql/privacy.rs` for the list): deleted, anonymised, detached, their open
    /// complaints closed, the `privacy_erasure` entry, the request completed. Any
    /// error rolls all of it back (then call `privacy_request_failed`).
    async fn erase_contact(
        &self,
        request: Uuid,
        scope: ErasureScope,
        approver: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ErasureDone>;
    /// Marks a request failed (retryable) with the error, in its own transaction.
    async fn privacy_request_failed(
        &self,
        id: Uuid,
        error: &str,
        approver: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Everything the school keeps about one guardian (profile, children, chat logins,
    /// messages, leave, consent answers, complaints and their threads, the children's
    /// attendance, activity about them, their requests), decrypted, read in one
    /// transaction (the access request's copy).
    async fn personal_data(&self, contact: ContactRef) -> Result<Vec<DataSection>>;
    /// The retention pass of one school, in one transaction with its activity entry
    /// (counts per kind, written when anything went).
    async fn purge_expired(
        &self,
        policy: &RetentionPolicy,
        activity: &ActivityEntry,
    ) -> Result<std::collections::BTreeMap<&'static str, u64>>;
    /// SQLite: the write-ahead log emptied into the file (deleted pages overwritten
    /// there by `secure_delete`); PostgreSQL: nothing.
    async fn checkpoint(&self) -> Result<()>;
}

/// Leads and web-chat transcripts are kept this long after their last activity (seed
/// 000 §8: marketing enquiries, 12 months).
pub const ENQUIRY_RETENTION_DAYS: i64 = 365;

/// The school's FAQ (the enquiry bot's answers).
#[async_trait]
pub trait FaqStore: Send + Sync {
    /// The FAQ as written, in its order.
    async fn faq_rows(&self) -> Result<Vec<crate::faq::FaqRow>>;
    /// Replaces the whole FAQ (all rows or none), with its activity entry.
    async fn replace_faq(
        &self,
        rows: &[crate::faq::FaqRow],
        activity: &ActivityEntry,
    ) -> Result<()>;
}

/// Complaints as the triage job sees them, and the AI budget's monthly counter.
#[async_trait]
pub trait ComplaintStore: Send + Sync {
    /// The text of a complaint not triaged yet (None: unknown or already triaged).
    async fn complaint_to_triage(&self, id: Uuid) -> Result<Option<crate::domain::Pii<String>>>;
    /// Stores a triage with its activity entry, unless one is stored (false then).
    async fn save_triage(
        &self,
        id: Uuid,
        triage: &TriageRecord,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    async fn complaint_triage(&self, id: Uuid) -> Result<Option<TriageRecord>>;
    /// Tokens spent on AI calls in a month ("2026-12").
    async fn ai_tokens(&self, month: &str) -> Result<i64>;
    async fn add_ai_tokens(&self, month: &str, tokens: i64, at: DateTime<Utc>) -> Result<()>;
    /// Every complaint, newest first, as the inbox lists them (scope is the caller's).
    async fn complaints(&self) -> Result<Vec<ComplaintSummary>>;
    /// One complaint with its thread.
    async fn complaint_thread(&self, id: Uuid) -> Result<Option<ComplaintThread>>;
    /// A staff change (reply, note, assignment, category, priority, status, close,
    /// reopen) with its activity entry, the person told where the change concerns them
    /// and the assignee notified, in one transaction; false when it does not apply
    /// (a reply to a closed complaint, closing a closed one).
    async fn change_complaint(
        &self,
        id: Uuid,
        change: &ComplaintChange,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Every satisfaction answer (score, category, when), for the averages.
    async fn csat_answers(&self) -> Result<Vec<CsatAnswer>>;
}

/// Complaint statuses, in the order they are shown.
pub const COMPLAINT_STATUSES: &[&str] = &["open", "in_progress", "closed"];
/// Complaint priorities, lowest first.
pub const COMPLAINT_PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
/// How long after closing the person may reopen a complaint.
pub const REOPEN_DAYS: i64 = 7;

/// A complaint as the inbox lists it.
#[derive(Clone)]
pub struct ComplaintSummary {
    pub id: Uuid,
    pub reference: String,
    /// Filed by a staff member (seen by administrators only).
    pub filed_by_staff: bool,
    pub contact: Option<ContactRef>,
    pub contact_name: String,
    /// The branches of the family's children (a branch manager's scope).
    pub branches: Vec<crate::domain::BranchId>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub sentiment: Option<String>,
    pub status: String,
    pub assigned_to: Option<crate::domain::StaffId>,
    pub assignee: Option<String>,
    /// "ai" or "local"; None: not triaged (yet).
    pub triage_source: Option<String>,
    pub triage_note: Option<String>,
    pub summary: Option<crate::domain::Pii<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closings: i64,
}

crate::debug_only!(ComplaintSummary, "ComplaintSummary", id, status, priority);

/// One message of a complaint's thread.
#[derive(Clone)]
pub struct ThreadMessage {
    pub id: Uuid,
    /// "person", "staff" or "note".
    pub kind: String,
    /// Who wrote it (the activity log's actor: "staff:<id>"), for staff and notes.
    pub author: Option<String>,
    pub author_name: Option<String>,
    pub body: Option<crate::domain::Pii<String>>,
    /// The inbound event whose media is attached.
    pub media_key: Option<String>,
    pub at: DateTime<Utc>,
}

crate::debug_only!(ThreadMessage, "ThreadMessage", id, kind, at);

/// A complaint and everything in its thread.
#[derive(Clone, Debug)]
pub struct ComplaintThread {
    pub summary: ComplaintSummary,
    pub text: crate::domain::Pii<String>,
    pub triage: Option<TriageRecord>,
    pub close_reason: Option<crate::domain::Pii<String>>,
    pub messages: Vec<ThreadMessage>,
    /// The satisfaction answers, one per closing.
    pub csat: Vec<CsatAnswer>,
}

/// What staff change on a complaint.
#[derive(Clone)]
pub enum ComplaintChange {
    /// A reply sent to the person through the outbox.
    Reply(String),
    /// A note among staff, never sent.
    Note(String),
    Assign(Option<crate::domain::StaffId>),
    Category(String),
    Priority(String),
    /// "open" or "in_progress" (closing has its own change).
    Status(String),
    Close {
        reason: String,
    },
    Reopen,
}

crate::debug_only!(ComplaintChange, "ComplaintChange");

impl ComplaintChange {
    /// The activity-log action.
    pub fn action(&self) -> &'static str {
        match self {
            ComplaintChange::Reply(_) => "complaint.reply",
            ComplaintChange::Note(_) => "complaint.note",
            ComplaintChange::Assign(_) => "complaint.assign",
            ComplaintChange::Category(_) => "complaint.category",
            ComplaintChange::Priority(_) => "complaint.priority",
            ComplaintChange::Status(_) => "complaint.status",
            ComplaintChange::Close { .. } => "complaint.close",
            ComplaintChange::Reopen => "complaint.reopen",
        }
    }
}

/// One satisfaction answer.
#[derive(Clone)]
pub struct CsatAnswer {
    pub complaint: Uuid,
    pub closing: i64,
    pub score: i64,
    pub comment: Option<crate::domain::Pii<String>>,
    pub category: Option<String>,
    pub at: DateTime<Utc>,
}

crate::debug_only!(CsatAnswer, "CsatAnswer", complaint, closing, score);

/// A new complaint as the person confirmed it in the chat.
#[derive(Clone)]
pub struct NewComplaint {
    pub text: String,
    pub category: Option<String>,
    /// Inbound event keys of the photos and PDFs sent with it.
    pub attachments: Vec<String>,
}

crate::debug_only!(NewComplaint, "NewComplaint", category);

/// A complaint of the person's, as "my complaints" lists it.
#[derive(Clone, Debug)]
pub struct PersonComplaint {
    pub id: Uuid,
    pub reference: String,
    pub status: String,
    pub category: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The latest staff reply, if any.
    pub last_reply: Option<crate::domain::Pii<String>>,
}

/// What the person adds to a thread.
#[derive(Clone, Copy)]
pub enum Addition<'a> {
    Text(&'a str),
    /// The inbound event key of a photo or PDF.
    Media(&'a str),
}

/// What became of something the person did to a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadOutcome {
    /// Done; the complaint's reference.
    Done(String),
    /// Closed (for an addition), or closed too long ago (for a reopening).
    Closed(String),
    /// Not closed (a reopening) or already answered (a satisfaction answer).
    NotApplicable(String),
    /// Not one of the person's complaints.
    NotFound,
}

/// What the person is told about a complaint (a staff reply, a status, a closing).
#[derive(Clone, Debug)]
pub struct ComplaintNews {
    pub reference: String,
    pub status: String,
    pub closings: i64,
    /// The staff reply the news is about, if any.
    pub reply: Option<crate::domain::Pii<String>>,
    pub close_reason: Option<crate::domain::Pii<String>>,
}

/// The names a school knows, for the PII redactor.
#[derive(Clone, Default)]
pub struct KnownNames {
    /// Full names of students, guardians and staff.
    pub people: Vec<String>,
    /// Class, section and branch names (never redacted on their own).
    pub places: Vec<String>,
}

impl std::fmt::Debug for KnownNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // People's names are personal data: counts only.
        f.debug_struct("KnownNames")
            .field("people", &self.people.len())
            .field("places", &self.places.len())
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct StudentListRow {
    pub id: crate::domain::StudentId,
    pub admission_no: String,
    pub full_name: String,
    pub class_id: crate::domain::ClassId,
    pub active: bool,
}

/// A student's fee totals (minor units), for a class's balance list.
#[derive(Debug, Clone)]
pub struct BalanceRow {
    pub student: crate::domain::StudentId,
    pub admission_no: String,
    pub full_name: String,
    pub due_minor: i64,
    pub paid_minor: i64,
    pub currency: Option<String>,
}

/// A student in a class register for one day.
#[derive(Debug, Clone)]
pub struct RegisterRow {
    pub student: crate::domain::StudentId,
    pub admission_no: String,
    pub full_name: String,
    pub status: Option<crate::domain::attendance::AttendanceStatus>,
}

/// One class's attendance on a day; `students` counts active students, marked or not.
#[derive(Debug, Clone, Copy)]
pub struct ClassDaySummary {
    pub class: crate::domain::ClassId,
    pub present: i64,
    pub absent: i64,
    pub late: i64,
    pub excused: i64,
    pub students: i64,
}

/// The admin's office pages: roster lists and edits, fee balances, class registers,
/// dashboard figures and password resets. Writes log their activity in the same
/// transaction.
#[async_trait]
pub trait OfficeStore: Send + Sync {
    async fn branches(&self) -> Result<Vec<(crate::domain::BranchId, String)>>;
    /// Every student, active or not, by name.
    async fn student_list(&self) -> Result<Vec<StudentListRow>>;
    /// One student (decrypted) and whether they are active.
    async fn student_detail(
        &self,
        id: crate::domain::StudentId,
    ) -> Result<Option<(crate::domain::roster::Student, bool)>>;
    /// (guardian id, relation) of a student's guardians.
    async fn relations_of(&self, student: crate::domain::StudentId) -> Result<Vec<(Uuid, String)>>;
    async fn set_student_active(
        &self,
        id: crate::domain::StudentId,
        active: bool,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    async fn unlink_guardian(
        &self,
        guardian: Uuid,
        student: crate::domain::StudentId,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Every staff member, by name.
    async fn staff_list(&self) -> Result<Vec<StaffAuth>>;
    /// Deactivating also ends the person's admin sessions.
    async fn set_staff_active(
        &self,
        id: crate::domain::StaffId,
        active: bool,
        activity: &ActivityEntry,
    ) -> Result<bool>;
    /// Replaces a staff member's classes.
    async fn set_staff_classes(
        &self,
        staff: crate::domain::StaffId,
        classes: &[crate::domain::ClassId],
        activity: &ActivityEntry,
    ) -> Result<()>;
    /// The classes of a guardian's active children.
    async fn guardian_classes(&self, guardian: Uuid) -> Result<Vec<crate::domain::ClassId>>;
    async fn staff_phone(
        &self,
        id: crate::domain::StaffId,
    ) -> Result<Option<crate::domain::phone::Phone>>;
    /// Sets (or clears) a staff member's phone; a number another staff member has is a
    /// conflict. False if there is no such staff member.
    async fn set_staff_phone(
        &self,
        id: crate::domain::StaffId,
        phone: Option<&crate::domain::phone::Phone>,
        activity: &ActivityEntry,
    ) -> Result<bool>;
}

/// The school a store is bound to, and its key ring (for the lookups and signatures
/// computed outside SQL: access-code buckets, attachment links).
pub trait SchoolKeys: Send + Sync {
    fn tenant_id(&self) -> TenantId;
    fn keys(&self) -> &KeyRing;
}

/// Everything one school's partition offers. Bound to a single school. Callers that
/// need less take the traits they use (the admin's pages declare theirs with
/// `store_port!`).
#[async_trait]
pub trait TenantStore:
    RosterStore
    + ComplaintStore
    + FaceStore
    + FaqStore
    + LeadStore
    + PrivacyStore
    + ExportStore
    + FeeStore
    + AccessCodeStore
    + AttendanceStore
    + ActivityStore
    + KeyRotationStore
    + InboxStore
    + ConversationStore
    + OutboxStore
    + MediaStore
    + JobStore
    + FlowStore
    + StaffAuthStore
    + OfficeStore
    + SettingsStore
    + SchoolKeys
{
    /// Where this store's queries run, as the database itself reports it: SQLite,
    /// the files attached to its connections; PostgreSQL, the role and schema of a
    /// school transaction. Used by diagnostics and the isolation tests.
    async fn partition_identity(&self) -> Result<Vec<String>>;
}

/// A connected backend: control store plus school partitions.
#[derive(Clone)]
pub struct Backend {
    pub control: Arc<dyn ControlStore>,
    pub partitions: Arc<dyn Partitions>,
    pub kind: BackendKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// Options that do not come from the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Where SQLite keeps its files (control.db and schools/).
    pub data_dir: PathBuf,
    /// Most school SQLite pools kept open at once.
    pub max_open_schools: usize,
    /// Refuse a PostgreSQL superuser login (production).
    pub forbid_superuser: bool,
}

/// Connects the backend named by the URL scheme and migrates the control database.
pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Backend> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        sqlite::connect(rest, opts).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::connect(url, opts).await
    } else {
        Err(StoreError::BadUrl(
            "the database URL must start with sqlite:// or postgres:// (the value is not shown)"
                .into(),
        ))
    }
}
