//! Encrypted backups and their restore (issue 19; DPA Annex II "Backups").
//!
//! A backup is a directory `<out>/<UTC time>/` with:
//! * `control.bin`: a consistent copy of the control database (the school registry,
//!   the school keys wrapped by the master key, channels) **without the backup keys**,
//!   encrypted with a key derived from the master key;
//! * `school-<id>.bin` per school: a consistent copy of its partition taken while
//!   serving (SQLite `VACUUM INTO`; PostgreSQL: the school schema's rows in one
//!   snapshot, `store::postgres::dump`), encrypted with **that school's backup key**;
//! * `manifest.json` (written last: a directory without it is not a backup): the
//!   parts, their sizes and SHA-256 checksums of the encrypted files.
//!
//! The backup keys live only in the live control database (`backup_keys`, wrapped by
//! the master key) and in the operator's own export (`raabta keys export-backup-keys`,
//! still wrapped). So a backup alone cannot be read, and destroying a school's backup
//! key (the school's closure) makes every backup of it unreadable.
//!
//! Encryption: AES-256-GCM over 1 MiB chunks (`flag | length | ciphertext+tag`); the
//! nonce is a random 8-byte salt and the chunk's counter; the AAD binds the part's
//! name, the counter and whether it is the last chunk, so a part cannot be truncated,
//! reordered or passed off as another school's.

use crate::app::App;
use crate::config::Config;
use crate::domain::school::TenantStatus;
use crate::domain::TenantId;
use crate::store::crypto::KeyBytes;
use crate::store::BackendKind;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"RAABTAB1";
const CHUNK: usize = 1 << 20;
/// How often `serve` takes a backup when `RAABTA_BACKUP_DIR` is set.
pub const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// Backups kept in a backup directory (DPA Annex II: 90 days of daily backups).
pub const KEEP: usize = 90;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("encryption: {0}")]
    Crypto(#[from] crate::store::crypto::CryptoError),
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Refused(String),
    #[error("{part} cannot be read: {why}")]
    Unreadable { part: String, why: String },
}

/// One encrypted part of a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchoolPart {
    pub id: TenantId,
    pub slug: String,
    pub backup_key_id: i64,
    #[serde(flatten)]
    pub part: Part,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub backend: String,
    /// The check value (an HMAC, not the key) of the master key the backup was made
    /// under: a restore after a master key rotation finds that retired key by it.
    #[serde(default)]
    pub master_check: String,
    pub control: Part,
    pub schools: Vec<SchoolPart>,
    /// Schools that could not be copied this time (logged with the reason).
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// The operator's copy of the backup keys (`raabta keys export-backup-keys`): each
/// still wrapped by the master key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyExport {
    pub format: u32,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub keys: Vec<ExportedKey>,
    /// Retired master keys (check value hex, base64 of the key sealed by the current
    /// master key), for backups made before a rotation.
    #[serde(default)]
    pub retired_masters: Vec<(String, String)>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct ExportedKey {
    pub school: TenantId,
    pub slug: String,
    pub key_id: i64,
    /// base64 of the wrapped key.
    pub wrapped: String,
}

impl std::fmt::Debug for ExportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedKey")
            .field("school", &self.school)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn aad(part: &str, counter: u32, last: bool) -> Vec<u8> {
    format!("raabta.backup.v1|{part}|{counter}|{}", u8::from(last)).into_bytes()
}

/// Encrypts `from` into `to` (a new file) under `key`, bound to `part`; the SHA-256
/// and size of what was written.
pub fn encrypt_file(
    key: &KeyBytes,
    part: &str,
    from: &Path,
    to: &Path,
) -> Result<Part, BackupError> {
    let cipher = Aes256Gcm::new(&(*key.expose()).into());
    let salt: [u8; 8] = rand::random();
    let mut input = std::fs::File::open(from)?;
    let mut out = crate::fsutil::create_private_file(to)?;
    let mut hash = Sha256::new();
    let mut written = 0u64;
    let mut put = |bytes: &[u8], out: &mut std::fs::File| -> std::io::Result<()> {
        hash.update(bytes);
        written += bytes.len() as u64;
        out.write_all(bytes)
    };
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&salt);
    put(&header, &mut out)?;
    let mut buf = vec![0u8; CHUNK];
    let mut next = read_full(&mut input, &mut buf)?;
    let mut counter: u32 = 0;
    loop {
        let chunk = buf[..next].to_vec();
        let following = if next == CHUNK {
            read_full(&mut input, &mut buf)?
        } else {
            0
        };
        let last = next < CHUNK || following == 0;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&salt);
        nonce[8..].copy_from_slice(&counter.to_be_bytes());
        let ct = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &chunk,
                    aad: &aad(part, counter, last),
                },
            )
            .map_err(|_| crate::store::crypto::CryptoError::Malformed)?;
        let mut frame = vec![u8::from(last)];
        frame.extend_from_slice(&(ct.len() as u32).to_be_bytes());
        put(&frame, &mut out)?;
        put(&ct, &mut out)?;
        if last {
            break;
        }
        next = following;
        counter = counter
            .checked_add(1)
            .ok_or_else(|| BackupError::Refused("part too large".into()))?;
    }
    out.sync_all()?;
    Ok(Part {
        file: to
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
        bytes: written,
        sha256: hex::encode(hash.finalize()),
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Decrypts a part written by [`encrypt_file`] into `to` (a new file); fails on a
/// wrong key, a part of another name, or a truncated or altered file.
pub fn decrypt_file(key: &KeyBytes, part: &str, from: &Path, to: &Path) -> Result<(), BackupError> {
    let bad = |why: &str| BackupError::Unreadable {
        part: part.to_string(),
        why: why.to_string(),
    };
    let cipher = Aes256Gcm::new(&(*key.expose()).into());
    let mut input = std::io::BufReader::new(std::fs::File::open(from)?);
    let mut header = [0u8; 16];
    input
        .read_exact(&mut header)
        .map_err(|_| bad("not a backup part"))?;
    if &header[..8] != MAGIC {
        return Err(bad("not a backup part"));
    }
    let mut out = crate::fsutil::create_private_file(to)?;
    let mut counter: u32 = 0;
    loop {
        let mut frame = [0u8; 5];
        input.read_exact(&mut frame).map_err(|_| bad("truncated"))?;
        let last = match frame[0] {
            0 => false,
            1 => true,
            _ => return Err(bad("malformed")),
        };
        let len = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize;
        if len > CHUNK + 16 {
            return Err(bad("malformed"));
        }
        let mut ct = vec![0u8; len];
        input.read_exact(&mut ct).map_err(|_| bad("truncated"))?;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&header[8..]);
        nonce[8..].copy_from_slice(&counter.to_be_bytes());
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ct,
                    aad: &aad(part, counter, last),
                },
            )
            .map_err(|_| bad("wrong key, or the file was altered"))?;
        out.write_all(&plain)?;
        if last {
            let mut rest = [0u8; 1];
            if input.read(&mut rest)? != 0 {
                return Err(bad("data after the end"));
            }
            break;
        }
        counter = counter.checked_add(1).ok_or_else(|| bad("malformed"))?;
    }
    out.sync_all()?;
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String, BackupError> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Older backups deleted to keep [`KEEP`].
    pub pruned: usize,
}

/// Takes a backup into a new directory under `out` while the service runs, then keeps
/// the newest [`KEEP`] backups there. `progress` is told each part as it is done.
pub async fn take(
    app: &App,
    out: &Path,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<BackupReport, BackupError> {
    let master = app.config.master_key()?;
    let now = app.clock.now();
    crate::fsutil::create_private_dir(out).map_err(|e| {
        BackupError::Refused(format!(
            "cannot make the backup folder {}: {e}",
            out.display()
        ))
    })?;
    let name = format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    );
    // Plain copies are made beside the live data (never in the backup directory) and
    // removed as soon as they are encrypted.
    let work = Work::new(&app.config.data_dir, &name)?;
    let dir = out.join(&name);
    crate::fsutil::create_private_dir(&dir)?;
    let result = take_into(app, &master, &dir, &work.dir, now, progress).await;
    drop(work);
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    // The backup is taken; a failure to tidy older ones is reported, not fatal.
    let pruned = prune(out, KEEP).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "older backups could not be pruned");
        0
    });
    Ok(BackupReport {
        dir,
        manifest,
        pruned,
    })
}

async fn take_into(
    app: &App,
    master: &crate::store::crypto::MasterKey,
    dir: &Path,
    work: &Path,
    now: chrono::DateTime<chrono::Utc>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Manifest, BackupError> {
    let backend = app.tenancy.backend();
    // The schools first, then the registry's copy: every school in the manifest is in
    // the copied registry (one created in between is in neither; a restore drops
    // registry entries it has no part for).
    let tenants = app.tenancy.list().await?;
    let plain = work.join("control.db");
    backend.control.snapshot(&plain).await?;
    private(&plain)?;
    let control_key = master.derive("backup-control");
    let control = encrypt_blocking(control_key, "control", plain, dir.join("control.bin")).await?;
    progress("control");
    let mut schools = Vec::new();
    let mut skipped = Vec::new();
    for tenant in tenants {
        if tenant.status != TenantStatus::Active {
            continue;
        }
        let plain = work.join(format!("{}.db", tenant.id.0.simple()));
        let copied = async {
            let (key_id, key) = app.tenancy.backup_key(tenant.id).await?;
            backend.partitions.snapshot(tenant.id, &plain).await?;
            private(&plain)?;
            let file = dir.join(format!("school-{}.bin", tenant.id.0.simple()));
            let part =
                encrypt_blocking(key, &format!("school:{}", tenant.id.0), plain.clone(), file)
                    .await?;
            Ok::<_, BackupError>((key_id, part))
        }
        .await;
        match copied {
            Ok((backup_key_id, part)) => schools.push(SchoolPart {
                id: tenant.id,
                slug: tenant.slug.to_string(),
                backup_key_id,
                part,
            }),
            // One school that cannot be copied (being purged, say) does not cost the
            // others their backup; the run reports it.
            Err(e) => {
                let _ = std::fs::remove_file(&plain);
                tracing::error!(school = %tenant.slug, error = %e, "a school could not be backed up");
                skipped.push(tenant.slug.to_string());
            }
        }
        progress(tenant.slug.as_str());
    }
    let manifest = Manifest {
        format: 1,
        created_at: now,
        backend: backend_name(backend.kind),
        master_check: hex::encode(master.check_value()),
        control,
        schools,
        skipped,
    };
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Refused(e.to_string()))?;
    let tmp = dir.join("manifest.json.tmp");
    {
        let mut f = crate::fsutil::create_private_file(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join("manifest.json"))?;
    Ok(manifest)
}

/// A plain copy readable by the service's user only (SQLite writes `VACUUM INTO`'s
/// file with the process's umask; the folder is private already).
fn private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

async fn encrypt_blocking(
    key: KeyBytes,
    part: &str,
    plain: PathBuf,
    to: PathBuf,
) -> Result<Part, BackupError> {
    let part = part.to_string();
    let result = tokio::task::spawn_blocking(move || {
        let r = encrypt_file(&key, &part, &plain, &to);
        let _ = std::fs::remove_file(&plain);
        r
    })
    .await
    .map_err(|e| BackupError::Refused(e.to_string()))?;
    result
}

/// A private folder under `<data dir>/backup-work` for one run's plain copies, with a
/// lock file held for as long as the run lasts; removed when dropped. A run that was
/// killed leaves its folder unlocked, and [`sweep_work`] removes it.
struct Work {
    dir: PathBuf,
    _lock: std::fs::File,
}

const WORK: &str = "backup-work";

impl Work {
    /// Made as `<name>.new`, locked, then renamed: a folder under its own name always
    /// has its lock held (until its process ends), so a sweep never takes a starting
    /// run's folder.
    fn new(data_dir: &Path, name: &str) -> Result<Self, BackupError> {
        sweep_work(data_dir);
        let staging = data_dir.join(WORK).join(format!("{name}.new"));
        crate::fsutil::create_private_dir(&staging)?;
        let lock = crate::fsutil::create_private_file(&staging.join(".lock"))?;
        lock.lock()?;
        let dir = data_dir.join(WORK).join(name);
        std::fs::rename(&staging, &dir)?;
        Ok(Self { dir, _lock: lock })
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        // The parent too, when nothing else is in it.
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// Removes the plain copies a killed backup or restore left in `<data dir>/backup-work`
/// (folders whose lock no process holds; one still being made, or a stray file, only
/// once an hour old). Run at every start (`App::build`), backup and restore.
pub fn sweep_work(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir.join(WORK)) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let staging = path.extension().is_some_and(|x| x == "new");
        let abandoned = if staging || !path.is_dir() {
            // A run starting (or one killed while it started), or a stray file.
            older_than(&e, std::time::Duration::from_secs(3600))
        } else {
            match std::fs::File::open(path.join(".lock")) {
                Ok(f) => f.try_lock().is_ok(),
                Err(_) => true,
            }
        };
        if abandoned {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => tracing::warn!(
                    "removed the plain copies of a backup or restore that was killed"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "cannot remove a killed backup's plain copies")
                }
            }
        }
    }
    let _ = std::fs::remove_dir(data_dir.join(WORK));
}

/// The backend as a manifest names it.
fn backend_name(kind: BackendKind) -> String {
    format!("{kind:?}").to_lowercase()
}

/// Whether a folder entry was last changed more than `age` ago.
fn older_than(e: &std::fs::DirEntry, age: std::time::Duration) -> bool {
    e.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

/// Makes `dir` if needed and proves a file can be written in it (`serve` checks its
/// daily backup folder at start).
pub fn check_writable(dir: &Path) -> std::io::Result<()> {
    crate::fsutil::create_private_dir(dir)?;
    let probe = dir.join(format!(".raabta-probe-{:08x}", rand::random::<u32>()));
    crate::fsutil::write_private(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// How long `serve` waits before its next daily backup into `out`: until a day after
/// the newest backup there, at least a minute (and at once, after that minute, when
/// there is none or it is older than a day).
pub fn next_daily(out: &Path, now: chrono::DateTime<chrono::Utc>) -> std::time::Duration {
    let newest = list(out)
        .ok()
        .and_then(|l| l.last().cloned())
        .and_then(|d| {
            let name = d.file_name()?.to_str()?.get(..16)?.to_string();
            chrono::NaiveDateTime::parse_from_str(&name, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|t| t.and_utc())
        });
    let minute = std::time::Duration::from_secs(60);
    match newest {
        Some(t) => (t + chrono::Duration::from_std(DAILY).unwrap_or_default() - now)
            .to_std()
            .unwrap_or(minute)
            .clamp(minute, DAILY),
        None => minute,
    }
}

/// Whether a directory name is one of ours (`20261205T063000Z-1a2b`).
fn is_backup_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 21
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..].iter().all(|c| c.is_ascii_hexdigit())
}

/// The backups in `out` (our directories with a manifest), oldest first; anything else
/// there is left alone.
pub fn list(out: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(out) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_backup_name)
                    && p.join("manifest.json").is_file()
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    dirs.sort();
    Ok(dirs)
}

fn prune(out: &Path, keep: usize) -> Result<usize, BackupError> {
    // Backups a killed run left unfinished (no manifest; their parts encrypted), once
    // a day old.
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let p = e.path();
            let ours = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_backup_name);
            if ours && older_than(&e, DAILY) && !p.join("manifest.json").exists() {
                std::fs::remove_dir_all(&p)?;
            }
        }
    }
    let dirs = list(out)?;
    let excess = dirs.len().saturating_sub(keep);
    for d in &dirs[..excess] {
        std::fs::remove_dir_all(d)?;
    }
    Ok(excess)
}

/// Every school's backup key (made where missing), wrapped by the master key, for the
/// operator's safekeeping away from the backups.
pub async fn export_keys(app: &App) -> Result<KeyExport, BackupError> {
    use base64::Engine;
    let tenants = app.tenancy.list().await?;
    for t in &tenants {
        app.tenancy.backup_key(t.id).await?;
    }
    let keys = app
        .tenancy
        .backend()
        .control
        .backup_keys()
        .await?
        .into_iter()
        .map(|(school, key_id, wrapped)| ExportedKey {
            school,
            slug: tenants
                .iter()
                .find(|t| t.id == school)
                .map(|t| t.slug.to_string())
                .unwrap_or_default(),
            key_id,
            wrapped: base64::engine::general_purpose::STANDARD.encode(wrapped),
        })
        .collect();
    let retired_masters = app
        .tenancy
        .backend()
        .control
        .settings_with_prefix(crate::store::tenancy::RETIRED_MASTER_PREFIX)
        .await?
        .into_iter()
        .map(|(name, sealed)| {
            (
                name.trim_start_matches(crate::store::tenancy::RETIRED_MASTER_PREFIX)
                    .to_string(),
                base64::engine::general_purpose::STANDARD.encode(sealed),
            )
        })
        .collect();
    Ok(KeyExport {
        format: 1,
        exported_at: app.clock.now(),
        keys,
        retired_masters,
    })
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    pub schools: Vec<String>,
    /// Schools in the backup whose backup key is not among the keys given (a closed
    /// school's, destroyed): not restored.
    pub unreadable: Vec<String>,
    /// Schools in the copied registry without a part in the backup (being created
    /// when it was taken, or skipped by it): not restored.
    pub dropped: Vec<String>,
}

/// Restores a backup into an empty deployment: the configured data directory with no
/// database yet (SQLite), or a PostgreSQL database holding no Raabta schema. Needs the
/// master key of the deployment the backup came from (RAABTA_MASTER_KEY, or
/// `master.key` in the data directory) and the exported backup keys. Checksums are
/// verified before anything is written; plain copies are made in a private work folder
/// beside the data and removed as each is loaded.
pub async fn restore(
    config: &Config,
    from: &Path,
    keys: &KeyExport,
) -> Result<RestoreReport, BackupError> {
    let url = config.database_url.expose();
    let kind: BackendKind = url.parse().map_err(|_| {
        BackupError::Refused("the database URL must start with sqlite:// or postgres://".into())
    })?;
    let postgres = kind == BackendKind::Postgres;
    if config.master_key.is_none() && !config.data_dir.join("master.key").is_file() {
        return Err(BackupError::Refused(
            "set RAABTA_MASTER_KEY to the master key of the deployment the backup came from \
             (a new key cannot read it)"
                .into(),
        ));
    }
    let master = config.master_key()?;
    // A killed restore's plain copies go first, whatever this one finds.
    sweep_work(&config.data_dir);
    let control_file = match url.strip_prefix("sqlite:") {
        Some(rest) => crate::store::sqlite::control_path(rest, &config.data_dir)?,
        None => config.data_dir.join("control.db"),
    };
    let schools_dir = control_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("schools");
    if postgres {
        if !crate::store::postgres::is_empty(url).await? {
            return Err(BackupError::Refused(
                "the database already holds Raabta data: restore into an empty database".into(),
            ));
        }
    } else {
        let has_schools = std::fs::read_dir(&schools_dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if control_file.exists() || has_schools {
            return Err(BackupError::Refused(format!(
                "{} already holds a database: restore into an empty data directory",
                config.data_dir.display()
            )));
        }
    }
    if !from.is_dir() {
        return Err(BackupError::Refused(format!(
            "{} does not exist or is not a folder",
            from.display()
        )));
    }
    if !from.join("manifest.json").is_file() {
        let hint = list(from)
            .ok()
            .and_then(|l| l.last().cloned())
            .map(|d| format!(" (the newest there: {})", d.display()))
            .unwrap_or_default();
        return Err(BackupError::Refused(format!(
            "{} holds no manifest.json: give one backup's folder{hint}",
            from.display()
        )));
    }
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(from.join("manifest.json"))?)
        .map_err(|e| BackupError::Refused(format!("manifest.json: {e}")))?;
    if manifest.format != 1 {
        return Err(BackupError::Refused(format!(
            "backup format {} is not known to this version",
            manifest.format
        )));
    }
    let want = backend_name(kind);
    if manifest.backend != want {
        return Err(BackupError::Refused(format!(
            "the backup is of a {} deployment and the database URL names {want}: restore it \
             into the same kind of database",
            manifest.backend
        )));
    }
    for part in std::iter::once(&manifest.control).chain(manifest.schools.iter().map(|s| &s.part)) {
        if sha256_file(&from.join(&part.file))? != part.sha256 {
            return Err(BackupError::Unreadable {
                part: part.file.clone(),
                why: "checksum does not match the manifest".into(),
            });
        }
    }
    use base64::Engine;
    let backup_master = backup_master(&master, &manifest, keys)?;
    // Every school's backup key opened before anything is written.
    let mut plan = Vec::new();
    let mut unreadable = Vec::new();
    for s in &manifest.schools {
        let Some(k) = keys
            .keys
            .iter()
            .find(|k| k.school == s.id && k.key_id == s.backup_key_id)
        else {
            unreadable.push(s.slug.clone());
            continue;
        };
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(&k.wrapped)
            .map_err(|_| BackupError::Refused("the key file is malformed".into()))?;
        let id =
            u32::try_from(k.key_id).map_err(|_| crate::store::crypto::CryptoError::Malformed)?;
        // Wrapped by the current master key (an export made after a rotation), or by
        // the backup's (an export made before).
        let key = master
            .unwrap(s.id, "backup", id, &wrapped)
            .or_else(|_| backup_master.unwrap(s.id, "backup", id, &wrapped))
            .map_err(|_| {
                BackupError::Refused(format!(
                    "the keys file's key for {} does not open with this master key: the file \
                     was exported under another master key (a rotation since?). Use the \
                     master key it was exported under, or export the keys again",
                    s.slug
                ))
            })?;
        let rewrapped = master.wrap(s.id, "backup", id, &key)?;
        plan.push(Restorable {
            school: s.clone(),
            key,
            rewrapped,
        });
    }
    if plan.is_empty() && !manifest.schools.is_empty() {
        return Err(BackupError::Refused(
            "the keys file holds the backup key of none of this backup's schools: is it this \
             deployment's `raabta keys export-backup-keys`?"
                .into(),
        ));
    }
    if postgres {
        let ids: Vec<TenantId> = plan.iter().map(|p| p.school.id).collect();
        let taken = crate::store::postgres::school_roles_taken(url, &ids).await?;
        if !taken.is_empty() {
            return Err(BackupError::Refused(format!(
                "the server already has the roles of {} school(s) in this backup ({}): roles \
                 belong to the whole PostgreSQL server, so a restore beside the deployment it \
                 came from would share them. Restore onto another server, or drop the old \
                 database and those roles first",
                taken.len(),
                taken.join(", ")
            )));
        }
    }
    let work = Work::new(
        &config.data_dir,
        &format!("restore-{:04x}", rand::random::<u16>()),
    )?;
    let result = restore_parts(
        config,
        from,
        &manifest,
        &plan,
        (&master, &backup_master),
        &work.dir,
        &control_file,
    )
    .await
    .map(|mut report| {
        report.unreadable = unreadable;
        report
    });
    drop(work);
    // Something may have been written by then (the deployment refuses to start until
    // a restore finishes): say how to start again.
    result.map_err(|e| {
        BackupError::Refused(format!(
            "the restore stopped part-way ({e}); {} and run it again",
            if postgres {
                "drop the database (and the school_… roles it made) and create it empty"
            } else {
                "empty the data directory (control.db and schools/)"
            }
        ))
    })
}

/// The master key the backup was made under: the current one, or one it retired
/// (sealed under the current one in the key export).
fn backup_master(
    master: &crate::store::crypto::MasterKey,
    manifest: &Manifest,
    keys: &KeyExport,
) -> Result<crate::store::crypto::MasterKey, BackupError> {
    use base64::Engine;
    if manifest.master_check.is_empty()
        || manifest.master_check == hex::encode(master.check_value())
    {
        return Ok(master.clone());
    }
    let Some((_, sealed)) = keys
        .retired_masters
        .iter()
        .find(|(check, _)| *check == manifest.master_check)
    else {
        return Err(BackupError::Refused(
            "the backup was made under another master key than RAABTA_MASTER_KEY: set the \
             master key of the deployment it came from (if that key was rotated since, the \
             new key with a keys file exported after the rotation)"
                .into(),
        ));
    };
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| BackupError::Refused("the key file is malformed".into()))?;
    Ok(master.open_master(&sealed)?)
}

/// A school of the backup whose backup key the keys file holds.
struct Restorable {
    school: SchoolPart,
    key: KeyBytes,
    /// The backup key wrapped by the current master key, for the restored registry.
    rewrapped: Vec<u8>,
}

async fn restore_parts(
    config: &Config,
    from: &Path,
    manifest: &Manifest,
    plan: &[Restorable],
    (master, backup_master): (
        &crate::store::crypto::MasterKey,
        &crate::store::crypto::MasterKey,
    ),
    work: &Path,
    control_file: &Path,
) -> Result<RestoreReport, BackupError> {
    let url = config.database_url.expose();
    let plain = work.join("control.db");
    decrypt_file(
        &backup_master.derive("backup-control"),
        "control",
        &from.join(&manifest.control.file),
        &plain,
    )?;
    // The deployment is marked unfinished until every school is in (it refuses to
    // start meanwhile): in the copy before it goes live (SQLite), or in the control
    // schema's one restore transaction (PostgreSQL).
    if url.starts_with("sqlite:") {
        crate::store::sqlite::mark_restoring(&plain).await?;
        if let Some(dir) = control_file.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsutil::create_private_dir(dir)?;
        }
        // Never over a database that appeared since the emptiness check (a `serve`
        // started meanwhile).
        crate::fsutil::move_into_new(&plain, control_file)?;
    } else {
        crate::store::postgres::restore_control(url, &plain).await?;
        std::fs::remove_file(&plain)?;
    }
    let opts = crate::store::ConnectOptions {
        data_dir: config.data_dir.clone(),
        max_open_schools: 4,
        forbid_superuser: false,
    };
    let backend = crate::store::connect(url, &opts).await?;
    let mut report = RestoreReport {
        schools: Vec::new(),
        unreadable: Vec::new(),
        dropped: Vec::new(),
    };
    for p in plan {
        let s = &p.school;
        let plain = work.join(format!("{}.db", s.id.0.simple()));
        decrypt_file(
            &p.key,
            &format!("school:{}", s.id.0),
            &from.join(&s.part.file),
            &plain,
        )
        .map_err(|e| match e {
            BackupError::Unreadable { why, .. } => BackupError::Unreadable {
                part: format!("the part of {}", s.slug),
                why,
            },
            e => e,
        })?;
        let loaded = backend.partitions.restore(s.id, &plain).await;
        let _ = std::fs::remove_file(&plain);
        loaded?;
        report.schools.push(s.slug.clone());
    }
    // The restored deployment keeps the same backup keys (its later backups are read
    // with the same export); a school not restored (no key, or no part: one made while
    // the backup ran, or never finished) is removed from the registry.
    if backup_master.check_value() != master.check_value() {
        crate::store::tenancy::rewrap_control(backend.control.as_ref(), backup_master, master)
            .await?;
    }
    for p in plan {
        backend
            .control
            .init_backup_key(p.school.id, p.school.backup_key_id, &p.rewrapped)
            .await?;
    }
    for t in backend.control.tenants().await? {
        if !plan.iter().any(|p| p.school.id == t.id) {
            backend.control.delete_tenant(t.id).await?;
            if !manifest.schools.iter().any(|s| s.id == t.id) {
                report.dropped.push(t.slug.to_string());
            }
        }
    }
    backend
        .control
        .delete_setting(crate::store::tenancy::RESTORE_INCOMPLETE)
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_runs_plain_copies_are_swept_and_a_running_ones_kept() {
        let data = tempfile::tempdir().unwrap();
        // A killed run: its folder and lock file are there, nobody holds the lock.
        let killed = data.path().join(WORK).join("20261205T060000Z-00aa");
        std::fs::create_dir_all(&killed).unwrap();
        std::fs::write(killed.join(".lock"), b"").unwrap();
        std::fs::write(killed.join("school.db"), b"plain").unwrap();
        // One starting elsewhere (not yet renamed to its name): kept.
        let starting = data.path().join(WORK).join("restore-00cc.new");
        std::fs::create_dir_all(&starting).unwrap();
        let running = Work::new(data.path(), "restore-00bb").unwrap();
        assert!(!killed.exists(), "swept when the next run starts");
        assert!(starting.exists());
        std::fs::remove_dir(&starting).unwrap();
        std::fs::write(running.dir.join("school.db"), b"plain").unwrap();
        sweep_work(data.path());
        assert!(
            running.dir.join("school.db").exists(),
            "a running one is kept"
        );
        let dir = running.dir.clone();
        drop(running);
        assert!(!dir.exists());
        assert!(!data.path().join(WORK).exists());
    }

    #[test]
    fn the_next_daily_backup_is_a_day_after_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S")
                .unwrap()
                .and_utc()
        };
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(next_daily(dir.path(), at("20261205T100000")), minute);
        let d = dir.path().join("20261205T060000Z-00aa");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("manifest.json"), b"{}").unwrap();
        // Restarted four hours after it: the next twenty hours later, not a day.
        assert_eq!(
            next_daily(dir.path(), at("20261205T100000")),
            std::time::Duration::from_secs(20 * 3600)
        );
        // Two days later: at once (after the minute).
        assert_eq!(next_daily(dir.path(), at("20261207T100000")), minute);
    }

    #[test]
    fn only_the_newest_backups_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(KEEP + 3) {
            let d = dir.path().join(format!("20261201T0000{i:02}Z-0000"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("manifest.json"), b"{}").unwrap();
        }
        // An unfinished backup (no manifest) and another tool's directory are left alone.
        std::fs::create_dir(dir.path().join("20261201T000000Z-0001")).unwrap();
        let other = dir.path().join("nightly-db");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("manifest.json"), b"{}").unwrap();
        assert_eq!(prune(dir.path(), KEEP).unwrap(), 3);
        let left = list(dir.path()).unwrap();
        assert_eq!(left.len(), KEEP);
        assert!(
            left[0].ends_with("20261201T000003Z-0000"),
            "the oldest went"
        );
    }

    #[test]
    fn a_part_round_trips_and_refuses_tampering_truncation_and_another_name() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("p");
        // Over two chunks, so the counter and the last flag matter.
        let data: Vec<u8> = (0..(CHUNK * 2 + 123)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&plain, &data).unwrap();
        let key = crate::store::crypto::random_key();
        let enc = dir.path().join("e");
        let part = encrypt_file(&key, "school:x", &plain, &enc).unwrap();
        assert_eq!(part.sha256, sha256_file(&enc).unwrap());
        let bytes = std::fs::read(&enc).unwrap();
        assert!(
            !bytes.windows(64).any(|w| w == &data[1000..1064]),
            "no plaintext"
        );
        let out = dir.path().join("o");
        decrypt_file(&key, "school:x", &enc, &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data);
        // Another school's name, another key, a flipped byte, a cut file: refused.
        for (k, name, bytes) in [
            (&key, "school:y", bytes.clone()),
            (
                &crate::store::crypto::random_key(),
                "school:x",
                bytes.clone(),
            ),
            (&key, "school:x", {
                let mut b = bytes.clone();
                b[100] ^= 1;
                b
            }),
            (&key, "school:x", bytes[..CHUNK + 30].to_vec()),
        ] {
            let f = dir.path().join("t");
            std::fs::write(&f, &bytes).unwrap();
            let o = dir.path().join("to");
            let _ = std::fs::remove_file(&o);
            assert!(decrypt_file(k, name, &f, &o).is_err());
        }
        // An empty file is a part too.
        std::fs::write(&plain, b"").unwrap();
        let enc2 = dir.path().join("e2");
        encrypt_file(&key, "control", &plain, &enc2).unwrap();
        let out2 = dir.path().join("o2");
        decrypt_file(&key, "control", &enc2, &out2).unwrap();
        assert!(std::fs::read(&out2).unwrap().is_empty());
    }
}
