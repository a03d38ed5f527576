//! School lifecycle and key management on top of a [`Backend`]: create, migrate,
//! list, purge, open, and rotate keys. Used by `serve`, the CLI and the tests alike.

use super::crypto::{key_id_of, random_key, CryptoError, FieldRef, KeyBytes, KeyRing, MasterKey};
use super::{
    Backend, Closure, KeyPurpose, KeyState, Progress, Result, StoreError, TenantKeyRow,
    TenantStore, CLOSURE_EXPORT_DAYS, ENCRYPTED_COLUMNS,
};
use crate::domain::school::{NewTenant, Tenant, TenantStatus};
use crate::domain::TenantId;
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MASTER_CHECK: &str = "master_key_check";
/// Control settings holding retired master keys, sealed by the current one (named by
/// the retired key's check value, hex).
pub const RETIRED_MASTER_PREFIX: &str = "retired_master:";
/// Set by a restore while it loads the schools, removed when it has finished: a
/// deployment holding it was restored only in part and is not started.
pub const RESTORE_INCOMPLETE: &str = "restore_incomplete";
/// The platform's Meta app setting (sealed with the master key; see `routing.rs`).
pub const PLATFORM_META: &str = "platform_meta_app";

/// Re-wraps everything the master key protects in a control database from `old` to
/// `new`, in one transaction (see [`Tenancy::rotate_master`]; a restore of a backup
/// made under a retired master key uses it too). The number of keys re-wrapped.
pub async fn rewrap_control(
    control: &dyn super::ControlStore,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize> {
    if old.check_value() == new.check_value() {
        return Err(StoreError::Conflict(
            "the new master key is the current one".into(),
        ));
    }
    let mut keys = Vec::new();
    for t in control.tenants().await? {
        for mut k in control.tenant_keys(t.id).await? {
            let key = old.unwrap(t.id, k.purpose.as_str(), k.key_id, &k.wrapped)?;
            k.wrapped = new.wrap(t.id, k.purpose.as_str(), k.key_id, &key)?;
            keys.push(k);
        }
    }
    let mut backup = Vec::new();
    for (t, key_id, wrapped) in control.backup_keys().await? {
        let id = u32::try_from(key_id).map_err(|_| CryptoError::Malformed)?;
        let key = old.unwrap(t, "backup", id, &wrapped)?;
        backup.push((t, key_id, new.wrap(t, "backup", id, &key)?));
    }
    let mut settings = vec![(MASTER_CHECK.to_string(), new.check_value())];
    if let Some(sealed) = control.setting(PLATFORM_META).await? {
        let plain = zeroize::Zeroizing::new(old.open_blob(PLATFORM_META, &sealed)?);
        settings.push((
            PLATFORM_META.to_string(),
            new.seal_blob(PLATFORM_META, &plain)?,
        ));
    }
    for (name, sealed) in control.settings_with_prefix(RETIRED_MASTER_PREFIX).await? {
        let retired = old.open_master(&sealed)?;
        settings.push((name, new.seal_master(&retired)?));
    }
    settings.push((
        format!("{RETIRED_MASTER_PREFIX}{}", hex::encode(old.check_value())),
        new.seal_master(old)?,
    ));
    let n = keys.len() + backup.len();
    control.rewrap_all(&keys, &backup, &settings).await?;
    Ok(n)
}

/// Where a channel's encrypted credentials live (control store), for the AAD.
pub fn channel_credentials_field(id: uuid::Uuid) -> FieldRef<'static> {
    FieldRef {
        table: "channel_accounts",
        column: "credentials_enc",
        row: id,
    }
}

/// An open school: its registry entry and a store bound to its partition.
#[derive(Clone)]
pub struct School {
    pub tenant: Tenant,
    pub store: Arc<dyn TenantStore>,
}

impl std::fmt::Debug for School {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("School")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// What migrating one school did.
#[derive(Debug)]
pub struct MigrateOutcome {
    pub tenant: Tenant,
    pub result: Result<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub new_key_id: u32,
    pub rows_rewritten: u64,
    pub passes: u32,
}

pub struct Tenancy {
    backend: Backend,
    master: MasterKey,
    rings: Mutex<HashMap<TenantId, (Arc<KeyRing>, Instant)>>,
    ring_ttl: Duration,
    /// When this process first saw its master key rotated away.
    rotation_seen: Mutex<Option<Instant>>,
}

/// See [`Tenancy::master_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterStatus {
    Current,
    /// Rotated by another process; still serving from cached keys, restart due.
    RotatedRestartSoon,
    /// Rotated, and the key-cache period has passed: this process cannot serve.
    RotatedAway,
}

impl Tenancy {
    /// Checks the master key against the control database (recording it on first
    /// start); a different key is refused before anything is written.
    pub async fn new(backend: Backend, master: MasterKey, ring_ttl: Duration) -> Result<Self> {
        if backend.control.setting(RESTORE_INCOMPLETE).await?.is_some() {
            return Err(StoreError::Conflict(
                "a restore into this database did not finish, so schools may be missing: \
                 empty it (SQLite: control.db and schools/; PostgreSQL: drop the database and \
                 the school_… roles the restore made) and run `raabta restore` again"
                    .into(),
            ));
        }
        let stored = backend
            .control
            .init_setting(MASTER_CHECK, &master.check_value())
            .await?;
        if !master.matches_check_value(&stored) {
            let retired = format!(
                "{RETIRED_MASTER_PREFIX}{}",
                hex::encode(master.check_value())
            );
            if backend.control.setting(&retired).await?.is_some() {
                return Err(StoreError::Conflict(
                    "RAABTA_MASTER_KEY is a master key that `raabta keys rotate-master` retired: \
                     start with the new key"
                        .into(),
                ));
            }
            return Err(StoreError::WrongMasterKey);
        }
        Ok(Self {
            backend,
            master,
            rings: Mutex::new(HashMap::new()),
            ring_ttl,
            rotation_seen: Mutex::new(None),
        })
    }

    /// Whether this process's master key is still the deployment's. Another process
    /// may have rotated it (`raabta keys rotate-master`): this one then keeps serving
    /// from its cached keys for one key-cache period from when it first saw the
    /// rotation (the runbook's restart window), and must be restarted with the new key.
    pub async fn master_status(&self) -> Result<MasterStatus> {
        let current = self
            .backend
            .control
            .setting(MASTER_CHECK)
            .await?
            .is_some_and(|stored| self.master.matches_check_value(&stored));
        if current {
            return Ok(MasterStatus::Current);
        }
        let Ok(mut seen) = self.rotation_seen.lock() else {
            return Ok(MasterStatus::RotatedAway);
        };
        let since = *seen.get_or_insert_with(Instant::now);
        Ok(if since.elapsed() < self.ring_ttl {
            MasterStatus::RotatedRestartSoon
        } else {
            MasterStatus::RotatedAway
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    pub fn key_cache_ttl(&self) -> Duration {
        self.ring_ttl
    }

    /// Registers the school, creates and migrates its partition and makes its keys.
    /// On any failure the partial school is removed again.
    pub async fn create(&self, new: NewTenant) -> Result<Tenant> {
        let mut tenant = Tenant {
            id: TenantId::new(),
            slug: new.slug,
            name: new.name,
            timezone: new.timezone,
            locale: new.locale,
            status: TenantStatus::Provisioning,
            created_at: Utc::now(),
        };
        self.backend.control.insert_tenant(&tenant).await?;
        match self.provision(&tenant).await {
            Ok(()) => {
                tenant.status = TenantStatus::Active;
                Ok(tenant)
            }
            Err(e) => {
                tracing::error!(school = %tenant.slug, error = %e, "creating school failed; removing it");
                if let Err(cleanup) = self.remove(&tenant).await {
                    tracing::error!(school = %tenant.slug, error = %cleanup, "cleanup after failed create failed");
                }
                Err(e)
            }
        }
    }

    async fn provision(&self, tenant: &Tenant) -> Result<()> {
        let p = &self.backend.partitions;
        p.create(tenant.id).await?;
        p.migrate(tenant.id).await?;
        for purpose in [KeyPurpose::Data, KeyPurpose::Index] {
            let key = random_key();
            self.backend
                .control
                .insert_tenant_key(&TenantKeyRow {
                    tenant_id: tenant.id,
                    purpose,
                    key_id: 1,
                    wrapped: self.master.wrap(tenant.id, purpose.as_str(), 1, &key)?,
                    state: KeyState::Active,
                    created_at: Utc::now(),
                })
                .await?;
        }
        self.backend
            .control
            .set_tenant_status(tenant.id, TenantStatus::Active)
            .await
    }

    async fn remove(&self, tenant: &Tenant) -> Result<()> {
        self.forget_ring(tenant.id);
        self.backend.partitions.drop_partition(tenant.id).await?;
        self.backend.control.delete_tenant(tenant.id).await
    }

    /// Master key rotation (`raabta keys rotate-master`): every school key and backup
    /// key re-wrapped under `new`, the platform's sealed settings re-sealed, the check
    /// value replaced, and the old master key kept sealed under the new one (control
    /// setting `retired_master:<check>`, and in the backup-key export) so backups made
    /// before can still be restored — all in one control transaction. This process's
    /// key rings are forgotten; other processes must restart with the new key (a
    /// process started with the old one is refused by the check value).
    pub async fn rotate_master(&self, new: &MasterKey) -> Result<usize> {
        let n = rewrap_control(self.backend.control.as_ref(), &self.master, new).await?;
        if let Ok(mut rings) = self.rings.lock() {
            rings.clear();
        }
        Ok(n)
    }

    /// Starts a school's closure: its chat is off from the next registry refresh, its
    /// administrators can still sign in and export for [`CLOSURE_EXPORT_DAYS`], then
    /// [`Tenancy::purge_closed`] deletes it. The closure as stored, and whether it
    /// started now (false: the school was closing already; its window is kept).
    pub async fn close(
        &self,
        slug: &str,
        by: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<(Closure, bool)> {
        let tenant = self.tenant(slug).await?;
        let purge_after = now + chrono::Duration::days(CLOSURE_EXPORT_DAYS);
        let started = self
            .backend
            .control
            .close_tenant(tenant.id, by, now, purge_after)
            .await?;
        let closure = self
            .closure_of(tenant.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("closure vanished".into()))?;
        Ok((closure, started))
    }

    /// A school's closure, if it is closing.
    async fn closure_of(&self, id: TenantId) -> Result<Option<Closure>> {
        Ok(self
            .backend
            .control
            .closures()
            .await?
            .into_iter()
            .find(|c| c.tenant_id == id))
    }

    /// Purges every school whose export window has ended: the partition (and role) or
    /// file dropped, its data, index and backup keys destroyed (so every backup of it
    /// is unreadable), and a deletion certificate kept in the control database (what,
    /// when, by whom, the key ids destroyed). The certificates written.
    pub async fn purge_closed(
        &self,
        now: chrono::DateTime<Utc>,
        by: &str,
    ) -> Result<Vec<serde_json::Value>> {
        let mut out = Vec::new();
        let tenants = self.list().await?;
        for c in self.backend.control.closures().await? {
            if c.purge_after > now {
                continue;
            }
            let Some(tenant) = tenants.iter().find(|t| t.id == c.tenant_id) else {
                continue;
            };
            // One school failing does not hold the others up; it is tried again on
            // the next pass.
            match self.purge_one(tenant, Some(&c), now, by).await {
                Ok(certificate) => {
                    tracing::info!(school = %tenant.slug, "closed school purged; deletion certificate kept");
                    out.push(certificate);
                }
                Err(e) => {
                    tracing::error!(school = %tenant.slug, error = %e, "closed school's purge failed; tried again next pass")
                }
            }
        }
        Ok(out)
    }

    /// The school's backup key (made on first use, wrapped by the master key and kept
    /// in the control database only): (key id, key).
    pub async fn backup_key(&self, id: TenantId) -> Result<(i64, KeyBytes)> {
        let (key_id, wrapped) = match self.backend.control.backup_key(id).await? {
            Some(k) => k,
            None => {
                let key = random_key();
                let wrapped = self.master.wrap(id, "backup", 1, &key)?;
                self.backend
                    .control
                    .init_backup_key(id, 1, &wrapped)
                    .await?
            }
        };
        let key = self.master.unwrap(
            id,
            "backup",
            u32::try_from(key_id).map_err(|_| CryptoError::Malformed)?,
            &wrapped,
        )?;
        Ok((key_id, key))
    }

    /// Applies pending migrations to every school, each in its own transaction.
    /// A failure in one school is reported in its outcome and does not stop the others.
    pub async fn migrate_all(&self) -> Result<Vec<MigrateOutcome>> {
        let mut out = Vec::new();
        for tenant in self.backend.control.tenants().await? {
            let result = self.backend.partitions.migrate(tenant.id).await;
            if let Err(e) = &result {
                tracing::error!(school = %tenant.slug, error = %e, "migration failed");
            }
            out.push(MigrateOutcome { tenant, result });
        }
        Ok(out)
    }

    pub async fn list(&self) -> Result<Vec<Tenant>> {
        self.backend.control.tenants().await
    }

    pub async fn tenant(&self, slug: &str) -> Result<Tenant> {
        self.backend
            .control
            .tenant_by_slug(slug)
            .await?
            .ok_or_else(|| StoreError::UnknownTenant(slug.to_string()))
    }

    /// Drops the school's partition, role and keys, then its registry entry, at once
    /// (`raabta tenant purge`), keeping a deletion certificate as a closure's purge does.
    pub async fn purge(&self, slug: &str, by: &str) -> Result<Tenant> {
        let tenant = self.tenant(slug).await?;
        // Recorded as a closure due now first: a purge cut short (after the partition
        // went, before the registry) is finished by the hourly pass.
        let now = Utc::now();
        self.backend
            .control
            .close_tenant(tenant.id, by, now, now)
            .await?;
        let closure = self.closure_of(tenant.id).await?;
        self.purge_one(&tenant, closure.as_ref(), now, by).await?;
        Ok(tenant)
    }

    /// What a purge destroys is read first (for the certificate); then the partition
    /// is dropped; then, in one control transaction, the school's registry entry and
    /// keys are deleted and its certificate kept. A failure before the end leaves no
    /// certificate and the school listed, so the purge can be run again (dropping a
    /// partition that is gone already is not an error).
    async fn purge_one(
        &self,
        tenant: &Tenant,
        closure: Option<&Closure>,
        now: chrono::DateTime<Utc>,
        by: &str,
    ) -> Result<serde_json::Value> {
        let certificate = self.certificate_of(tenant, closure, now, by).await?;
        self.forget_ring(tenant.id);
        self.backend.partitions.drop_partition(tenant.id).await?;
        self.backend
            .control
            .delete_tenant_certified(
                tenant.id,
                tenant.slug.as_str(),
                &certificate.to_string(),
                now,
            )
            .await?;
        Ok(certificate)
    }

    /// A school's deletion certificate, made just before its purge.
    async fn certificate_of(
        &self,
        tenant: &Tenant,
        closure: Option<&Closure>,
        now: chrono::DateTime<Utc>,
        by: &str,
    ) -> Result<serde_json::Value> {
        let keys = self.backend.control.tenant_keys(tenant.id).await?;
        let ids = |p: KeyPurpose| -> Vec<u32> {
            keys.iter()
                .filter(|k| k.purpose == p)
                .map(|k| k.key_id)
                .collect()
        };
        let backup: Vec<i64> = self
            .backend
            .control
            .backup_key(tenant.id)
            .await?
            .map(|(k, _)| vec![k])
            .unwrap_or_default();
        let certificate = serde_json::json!({
            "certificate": "deletion of a school's data",
            "school": { "id": tenant.id.0, "slug": tenant.slug.as_str(), "name": tenant.name },
            "closure_requested_by": closure.map(|c| c.requested_by.clone()),
            "closure_requested_at": closure.map(|c| c.requested_at),
            "export_window_ended": closure.map(|c| c.purge_after),
            "purged_at": now,
            "purged_by": by,
            "destroyed": {
                "partition": self.backend.partitions.describe(tenant.id),
                "data_key_ids": ids(KeyPurpose::Data),
                "index_key_ids": ids(KeyPurpose::Index),
                "backup_key_ids": backup,
            },
            "backups": "Backups taken before the purge hold this school's part encrypted with \
                its backup key, now destroyed: they cannot be read with the keys that remain, \
                and age out within 90 days. Destroy every earlier file of \
                `raabta keys export-backup-keys`: it still holds the key.",
        });
        Ok(certificate)
    }

    /// Opens an active school by slug.
    pub async fn school(&self, slug: &str) -> Result<School> {
        let tenant = self.tenant(slug).await?;
        self.open(tenant).await
    }

    pub async fn open(&self, tenant: Tenant) -> Result<School> {
        if tenant.status != TenantStatus::Active {
            return Err(StoreError::TenantNotActive(tenant.slug.to_string()));
        }
        let keys = self.key_ring(tenant.id).await?;
        let store = self.backend.partitions.open(tenant.id, keys).await?;
        Ok(School { tenant, store })
    }

    fn forget_ring(&self, id: TenantId) {
        if let Ok(mut rings) = self.rings.lock() {
            rings.remove(&id);
        }
    }

    /// The school's unwrapped keys, cached for `ring_ttl` so that a key rotated by
    /// another process is picked up within that time.
    pub async fn key_ring(&self, id: TenantId) -> Result<Arc<KeyRing>> {
        if let Ok(rings) = self.rings.lock() {
            if let Some((ring, loaded)) = rings.get(&id) {
                if loaded.elapsed() < self.ring_ttl {
                    return Ok(ring.clone());
                }
            }
        }
        let ring = Arc::new(self.load_ring(id).await?);
        if let Ok(mut rings) = self.rings.lock() {
            rings.insert(id, (ring.clone(), Instant::now()));
        }
        Ok(ring)
    }

    async fn load_ring(&self, id: TenantId) -> Result<KeyRing> {
        let rows = self.backend.control.tenant_keys(id).await?;
        let mut data = BTreeMap::new();
        let mut active = None;
        let mut index = None;
        for row in rows {
            let key = self
                .master
                .unwrap(id, row.purpose.as_str(), row.key_id, &row.wrapped)?;
            match row.purpose {
                KeyPurpose::Data => {
                    if row.state == KeyState::Active {
                        active = Some(row.key_id);
                    }
                    data.insert(row.key_id, key);
                }
                KeyPurpose::Index => index = Some(key),
            }
        }
        let index = index.ok_or(CryptoError::NoActiveKey)?;
        let active = active.ok_or(CryptoError::NoActiveKey)?;
        Ok(KeyRing::new(id, data, active, index)?)
    }

    /// Adds a new data key and re-encrypts every encrypted field with it, in batches,
    /// while other processes keep serving:
    /// 1. the new key is stored as decrypt-only and we wait one key-cache period, so
    ///    every process can read values written with it;
    /// 2. it becomes the active key, and one pass re-encrypts all rows;
    /// 3. after another cache period (other processes now write with the new key) we
    ///    repeat passes until no row uses an old key, then destroy the old keys.
    pub async fn rotate_keys(
        &self,
        slug: &str,
        batch: i64,
        progress: &dyn Progress,
        on_wait: &(dyn Fn(Duration) + Send + Sync),
    ) -> Result<RotationReport> {
        let tenant = self.tenant(slug).await?;
        if tenant.status != TenantStatus::Active {
            return Err(StoreError::TenantNotActive(tenant.slug.to_string()));
        }
        let id = tenant.id;
        let rows = self.backend.control.tenant_keys(id).await?;
        let new_key_id = rows
            .iter()
            .filter(|r| r.purpose == KeyPurpose::Data)
            .map(|r| r.key_id)
            .max()
            .unwrap_or(0)
            + 1;
        let key = random_key();
        self.backend
            .control
            .insert_tenant_key(&TenantKeyRow {
                tenant_id: id,
                purpose: KeyPurpose::Data,
                key_id: new_key_id,
                wrapped: self
                    .master
                    .wrap(id, KeyPurpose::Data.as_str(), new_key_id, &key)?,
                state: KeyState::DecryptOnly,
                created_at: Utc::now(),
            })
            .await?;
        self.wait_for_caches(on_wait).await;
        self.backend
            .control
            .activate_data_key(id, new_key_id)
            .await?;
        self.forget_ring(id);

        let mut report = RotationReport {
            new_key_id,
            ..Default::default()
        };
        report.rows_rewritten += self.reencrypt_pass(tenant.clone(), batch, progress).await?;
        report.passes += 1;
        self.wait_for_caches(on_wait).await;
        loop {
            let school = self.open(tenant.clone()).await?;
            let mut stale = self.reencrypt_channels(&school).await?.1;
            for col in ENCRYPTED_COLUMNS {
                stale += school.store.key_usage(*col).await?.stale;
            }
            if stale == 0 {
                break;
            }
            if report.passes >= 10 {
                return Err(StoreError::Conflict(format!(
                    "{stale} values still use an old key after {} passes; run `keys rotate` again",
                    report.passes
                )));
            }
            report.rows_rewritten += self.reencrypt_pass(tenant.clone(), batch, &()).await?;
            report.passes += 1;
        }
        // No value uses an old key, and (after the wait above) no process still writes
        // with one: destroy the old keys, so a leaked old key opens nothing.
        for row in self.backend.control.tenant_keys(id).await? {
            if row.purpose == KeyPurpose::Data && row.state != KeyState::Active {
                self.backend
                    .control
                    .delete_tenant_key(id, KeyPurpose::Data, row.key_id)
                    .await?;
            }
        }
        self.forget_ring(id);
        Ok(report)
    }

    async fn reencrypt_pass(
        &self,
        tenant: Tenant,
        batch: i64,
        progress: &dyn Progress,
    ) -> Result<u64> {
        let school = self.open(tenant).await?;
        let mut rewritten = self.reencrypt_channels(&school).await?.0;
        for col in ENCRYPTED_COLUMNS {
            let mut after = None;
            loop {
                let r = school.store.reencrypt_batch(*col, after, batch).await?;
                rewritten += r.rewritten;
                progress.advance(r.seen);
                match r.next_after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(rewritten)
    }

    /// Re-encrypts the school's channel credentials (in the control store) under its
    /// active data key. Returns (rewritten, still stale after a concurrent change).
    async fn reencrypt_channels(&self, school: &School) -> Result<(u64, u64)> {
        let ring = school.store.keys();
        let (mut rewritten, mut stale) = (0, 0);
        for row in self.backend.control.channels().await? {
            if row.tenant_id != school.tenant.id
                || key_id_of(&row.credentials_enc)? == ring.active_key_id()
            {
                continue;
            }
            let f = channel_credentials_field(row.id);
            let plain = zeroize::Zeroizing::new(ring.decrypt(f, &row.credentials_enc)?);
            let new = ring.encrypt(f, &plain)?;
            if self
                .backend
                .control
                .replace_channel_credentials(row.id, &row.credentials_enc, &new)
                .await?
            {
                rewritten += 1;
            } else {
                stale += 1;
            }
        }
        Ok((rewritten, stale))
    }

    async fn wait_for_caches(&self, on_wait: &(dyn Fn(Duration) + Send + Sync)) {
        if !self.ring_ttl.is_zero() {
            on_wait(self.ring_ttl);
            tokio::time::sleep(self.ring_ttl + Duration::from_millis(100)).await;
        }
    }

    /// Total encrypted values of a school (the work a rotation does).
    pub async fn encrypted_value_count(&self, slug: &str) -> Result<u64> {
        let school = self.school(slug).await?;
        let mut total = 0;
        for col in ENCRYPTED_COLUMNS {
            total += school.store.key_usage(*col).await?.total;
        }
        Ok(total)
    }
}
