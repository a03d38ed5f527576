//! The inbound spool: when a school's database cannot take a verified webhook, its
//! events are appended here (encrypted with the master key, fsynced) and the provider
//! gets its 200. Twilio does not retry, so this is the only way not to lose its traffic.
//! A background task ingests the spool once the database answers again; ingestion is
//! idempotent (events are de-duplicated on their provider key), so a record may safely
//! be ingested twice after a crash.

use crate::domain::message::{InboundEvent, Provider};
use crate::domain::TenantId;
use crate::store::crypto::MasterKey;
use crate::store::tenancy::Tenancy;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;
use uuid::Uuid;

const PURPOSE: &str = "inbound-spool";

#[derive(Debug, Serialize, Deserialize)]
pub struct SpoolRecord {
    pub tenant_id: TenantId,
    pub channel_id: Uuid,
    pub provider: Provider,
    pub received_at: DateTime<Utc>,
    pub events: Vec<InboundEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("spool record: {0}")]
    Record(String),
}

pub struct Spool {
    dir: PathBuf,
    master: MasterKey,
    lock: Mutex<()>,
    /// Held by an ingestion run and by a purge, so a purge never rewrites a file an
    /// ingestion is reading.
    ingesting: Mutex<()>,
}

impl Spool {
    pub fn new(data_dir: &Path, master: MasterKey) -> Self {
        Self {
            dir: data_dir.join("spool"),
            master,
            lock: Mutex::new(()),
            ingesting: Mutex::new(()),
        }
    }

    fn active(&self) -> PathBuf {
        self.dir.join("inbound.log")
    }

    /// An exclusive lock on the spool directory across processes (a server and the
    /// CLI's erasure): held while appending, moving aside, ingesting and purging, so a
    /// file is never rewritten while another process writes or reads it. Released when
    /// the returned file is dropped.
    fn dir_lock(dir: &Path) -> std::io::Result<std::fs::File> {
        crate::fsutil::create_private_dir(dir)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let f = opts.open(dir.join("lock"))?;
        f.lock()?;
        Ok(f)
    }

    async fn lock_async(&self) -> Result<std::fs::File, SpoolError> {
        let dir = self.dir.clone();
        Ok(tokio::task::spawn_blocking(move || Self::dir_lock(&dir))
            .await
            .map_err(|e| SpoolError::Record(e.to_string()))??)
    }

    /// Appends one record and syncs it to disk before returning.
    pub async fn append(&self, record: &SpoolRecord) -> Result<(), SpoolError> {
        let mut line = self.encode(record)?;
        line.push('\n');
        let _guard = self.lock.lock().await;
        let path = self.active();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || -> Result<(), SpoolError> {
            let _lock = Self::dir_lock(&dir)?;
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&path)?;
            // A crash mid-append can leave a torn last line without its newline: start on
            // a fresh line so this record is not glued to it.
            if ends_without_newline(&path)? {
                f.write_all(b"\n")?;
            }
            f.write_all(line.as_bytes())?;
            f.sync_all()?;
            Ok(())
        })
        .await
        .map_err(|e| SpoolError::Record(e.to_string()))?
    }

    /// Moves the active spool aside (atomically) and returns every file awaiting ingestion.
    async fn take(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let _guard = self.lock.lock().await;
        if !self.dir.is_dir() {
            return Ok(Vec::new());
        }
        let _lock = self.lock_async().await?;
        let active = self.active();
        if std::fs::metadata(&active)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
        {
            let moved = self.dir.join(format!(
                "inbound.{}.ingest",
                Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ));
            std::fs::rename(&active, moved)?;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("ingest"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Records waiting in the spool (for readiness and tests).
    pub fn pending_files(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| {
                        let p = e.path();
                        p.extension().and_then(|x| x.to_str()) == Some("ingest")
                            || (p == self.active()
                                && e.metadata().map(|m| m.len() > 0).unwrap_or(false))
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Stores every spooled record in its school. A file is deleted only when all of
    /// its records are stored or set aside; while the database is down the rest waits
    /// for the next run. Lines that cannot be read, and records for a school that is gone
    /// or not active, are moved to `quarantine.log` (still encrypted) for an operator,
    /// never dropped.
    pub async fn ingest(&self, tenancy: &Tenancy) -> Result<u64, SpoolError> {
        let _ingesting = self.ingesting.lock().await;
        let mut stored = 0;
        let files = self.take().await?;
        if files.is_empty() {
            return Ok(0);
        }
        // Another process's purge waits until these files are stored and gone.
        let _lock = self.lock_async().await?;
        // The registry once per run, not once per spooled record.
        let active: std::collections::HashMap<_, _> = tenancy
            .list()
            .await
            .map_err(|e| SpoolError::Record(e.to_string()))?
            .into_iter()
            .filter(|t| t.status == crate::domain::school::TenantStatus::Active)
            .map(|t| (t.id, t))
            .collect();
        for file in files {
            let reader = std::io::BufReader::new(std::fs::File::open(&file)?);
            for line in reader.lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let Some(record) = self.decode(&line) else {
                    tracing::warn!(file = %file.display(), "unreadable spool line quarantined");
                    self.quarantine(&line)?;
                    continue;
                };
                let Some(tenant) = active.get(&record.tenant_id).cloned() else {
                    tracing::warn!(school = %record.tenant_id, "spooled events for a school that is gone or inactive quarantined");
                    self.quarantine(&line)?;
                    continue;
                };
                let school = tenancy
                    .open(tenant)
                    .await
                    .map_err(|e| SpoolError::Record(e.to_string()))?;
                let out = school
                    .store
                    .record_inbound(
                        record.channel_id,
                        record.provider,
                        &record.events,
                        record.received_at,
                    )
                    .await
                    .map_err(|e| SpoolError::Record(e.to_string()))?;
                stored += out.stored;
            }
            std::fs::remove_file(&file)?;
        }
        Ok(stored)
    }

    /// Removes one school's events from `sender`s that `theirs` recognises from every
    /// spool file (waiting, being ingested, quarantined), rewriting each file
    /// atomically (a new file synced, then renamed over the old). An erased person's
    /// messages that never reached the database go too. Events removed.
    pub async fn purge(
        &self,
        tenant: TenantId,
        theirs: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<u64, SpoolError> {
        let _ingesting = self.ingesting.lock().await;
        let _guard = self.lock.lock().await;
        if !self.dir.is_dir() {
            return Ok(0);
        }
        let _lock = self.lock_async().await?;
        let mut removed = 0;
        let files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "log" | "ingest"))
            })
            .collect();
        for file in files {
            let text = std::fs::read_to_string(&file)?;
            let mut out = String::with_capacity(text.len());
            let mut changed = false;
            for line in text.lines() {
                if line.trim().is_empty() {
                    continue;
                }
                let Some(mut record) = self.decode(line) else {
                    out.push_str(line.trim());
                    out.push('\n');
                    continue;
                };
                if record.tenant_id != tenant {
                    out.push_str(line.trim());
                    out.push('\n');
                    continue;
                }
                let before = record.events.len();
                record.events.retain(|e| !theirs(e.sender.expose()));
                let gone = (before - record.events.len()) as u64;
                if gone == 0 {
                    out.push_str(line.trim());
                    out.push('\n');
                    continue;
                }
                removed += gone;
                changed = true;
                if !record.events.is_empty() {
                    out.push_str(&self.encode(&record)?);
                    out.push('\n');
                }
            }
            if changed {
                let tmp = file.with_extension("purge");
                {
                    let mut opts = std::fs::OpenOptions::new();
                    opts.create(true).write(true).truncate(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::OpenOptionsExt;
                        opts.mode(0o600);
                    }
                    let mut f = opts.open(&tmp)?;
                    f.write_all(out.as_bytes())?;
                    f.sync_all()?;
                }
                std::fs::rename(&tmp, &file)?;
            }
        }
        Ok(removed)
    }

    fn encode(&self, record: &SpoolRecord) -> Result<String, SpoolError> {
        let json = serde_json::to_vec(record).map_err(|e| SpoolError::Record(e.to_string()))?;
        let sealed = self
            .master
            .seal_blob(PURPOSE, &json)
            .map_err(|e| SpoolError::Record(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// Every record the spool holds, decrypted (tests and the erasure's scan).
    pub fn records(&self) -> Result<Vec<SpoolRecord>, SpoolError> {
        let mut out = Vec::new();
        if !self.dir.is_dir() {
            return Ok(out);
        }
        for e in std::fs::read_dir(&self.dir)? {
            let p = e?.path();
            if !p.is_file() {
                continue;
            }
            for line in std::fs::read_to_string(&p)?.lines() {
                if let Some(r) = self.decode(line) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    fn quarantine(&self, line: &str) -> Result<(), SpoolError> {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(self.dir.join("quarantine.log"))?;
        f.write_all(line.trim().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        Ok(())
    }

    fn decode(&self, line: &str) -> Option<SpoolRecord> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .ok()?;
        let json = self.master.open_blob(PURPOSE, &sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

fn ends_without_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}
