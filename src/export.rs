//! A school's export as one zip (issue 19; DPA §11.1, seed 000 §12): per table a
//! `<table>.json` (an array of objects) and a `<table>.csv`, the attachments under
//! `attachments/`, and `README.txt` with the tables and their row counts. Rows come
//! from `ExportStore::export_school` (one consistent read of the school) and are
//! spooled per table to a private work file, so the school is never held in memory.

use crate::store::{ExportSink, StoreError};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Refused(String),
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

/// The zip being written.
pub struct ZipSink<'a> {
    zip: zip::ZipWriter<std::fs::File>,
    work: PathBuf,
    table: String,
    spool: Option<std::io::BufWriter<std::fs::File>>,
    columns: Vec<String>,
    rows: u64,
    counts: Vec<(String, u64)>,
    attachments: u64,
    progress: &'a (dyn Fn(u64) + Send + Sync),
}

impl<'a> ZipSink<'a> {
    /// A new zip at `out` (which must not exist), spooling through `work` (a private
    /// directory, removed by the caller).
    pub fn create(
        out: &Path,
        work: &Path,
        progress: &'a (dyn Fn(u64) + Send + Sync),
    ) -> Result<Self, ExportError> {
        if out.exists() {
            return Err(ExportError::Refused(format!(
                "{} exists already",
                out.display()
            )));
        }
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(ExportError::Refused(format!(
                    "the folder {} does not exist",
                    parent.display()
                )));
            }
        }
        crate::fsutil::create_private_dir(work)?;
        let file = crate::fsutil::create_private_file(out)?;
        Ok(Self {
            zip: zip::ZipWriter::new(file),
            work: work.to_path_buf(),
            table: String::new(),
            spool: None,
            columns: Vec::new(),
            rows: 0,
            counts: Vec::new(),
            attachments: 0,
            progress,
        })
    }

    fn opts() -> zip::write::SimpleFileOptions {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true)
    }

    /// Writes the README and closes the zip; (tables, rows, attachments).
    pub fn finish(
        mut self,
        school: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, u64, u64), ExportError> {
        let rows: u64 = self.counts.iter().map(|c| c.1).sum();
        let mut readme = format!(
            "The data of {school}, exported {}.\n\
             Each table is in <table>.json (every column) and <table>.csv; files sent in the\n\
             chat are under attachments/ (named by their media row). Left out as security\n\
             material: sign-in sessions, recovery codes, password links, access codes,\n\
             password hashes, two-factor secrets, blind indexes and face embeddings.\n\n",
            at.format("%Y-%m-%d %H:%M UTC")
        );
        for (t, n) in &self.counts {
            readme.push_str(&format!("{t}: {n} rows\n"));
        }
        readme.push_str(&format!("attachments: {}\n", self.attachments));
        self.zip
            .start_file("README.txt", Self::opts())
            .map_err(io)?;
        self.zip.write_all(readme.as_bytes())?;
        let file = self.zip.finish().map_err(io)?;
        file.sync_all()?;
        Ok((self.counts.len(), rows, self.attachments))
    }
}

impl ExportSink for ZipSink<'_> {
    fn table_start(&mut self, table: &str) -> Result<(), StoreError> {
        self.table = table.to_string();
        self.columns.clear();
        self.rows = 0;
        let path = self.work.join("table.jsonl");
        let _ = std::fs::remove_file(&path);
        self.spool = Some(std::io::BufWriter::new(crate::fsutil::create_private_file(
            &path,
        )?));
        Ok(())
    }

    fn row(&mut self, row: &serde_json::Map<String, serde_json::Value>) -> Result<(), StoreError> {
        for k in row.keys() {
            if !self.columns.contains(k) {
                self.columns.push(k.clone());
            }
        }
        let spool = self
            .spool
            .as_mut()
            .ok_or_else(|| io("a row outside a table"))?;
        serde_json::to_writer(&mut *spool, row).map_err(io)?;
        spool.write_all(b"\n")?;
        self.rows += 1;
        if self.rows.is_multiple_of(500) {
            (self.progress)(500);
        }
        Ok(())
    }

    fn table_end(&mut self) -> Result<(), StoreError> {
        let mut spool = self.spool.take().ok_or_else(|| io("no table open"))?;
        spool.flush()?;
        drop(spool);
        let path = self.work.join("table.jsonl");
        let lines = || -> std::io::Result<std::io::Lines<std::io::BufReader<std::fs::File>>> {
            Ok(std::io::BufReader::new(std::fs::File::open(&path)?).lines())
        };
        // <table>.json: the rows as written.
        self.zip
            .start_file(format!("{}.json", self.table), Self::opts())
            .map_err(io)?;
        self.zip.write_all(b"[")?;
        for (i, line) in lines()?.enumerate() {
            if i > 0 {
                self.zip.write_all(b",\n")?;
            }
            self.zip.write_all(line?.as_bytes())?;
        }
        self.zip.write_all(b"]\n")?;
        // <table>.csv: every column any row had.
        self.zip
            .start_file(format!("{}.csv", self.table), Self::opts())
            .map_err(io)?;
        {
            let mut w = csv::Writer::from_writer(&mut self.zip);
            w.write_record(&self.columns).map_err(io)?;
            for line in lines()? {
                let row: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&line?).map_err(io)?;
                let cells: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| match row.get(c) {
                        None | Some(serde_json::Value::Null) => String::new(),
                        Some(serde_json::Value::String(s)) => crate::privacy::spreadsheet_safe(s),
                        Some(v) => v.to_string(),
                    })
                    .collect();
                w.write_record(&cells).map_err(io)?;
            }
            w.flush()?;
        }
        std::fs::remove_file(&path)?;
        (self.progress)(self.rows % 500);
        self.counts.push((self.table.clone(), self.rows));
        Ok(())
    }

    fn attachment(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.zip.start_file(name, Self::opts()).map_err(io)?;
        self.zip.write_all(bytes)?;
        self.attachments += 1;
        Ok(())
    }
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportReport {
    pub tables: usize,
    pub rows: u64,
    pub attachments: u64,
}

/// Exports one school into a new zip at `out`; `progress` is told of rows as they go.
pub async fn export_school(
    store: &dyn crate::store::ExportStore,
    school_name: &str,
    work_root: &Path,
    out: &Path,
    now: chrono::DateTime<chrono::Utc>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ExportReport, ExportError> {
    let work = work_root.join(format!("export-{}", uuid::Uuid::now_v7().simple()));
    let result = async {
        let mut sink = ZipSink::create(out, &work, progress)?;
        store.export_school(&mut sink).await?;
        let (tables, rows, attachments) = sink.finish(school_name, now)?;
        Ok::<_, ExportError>(ExportReport {
            tables,
            rows,
            attachments,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

/// Where the admin's exports of a school are kept (encrypted), by job id.
pub fn stored_path(data_dir: &Path, school: crate::domain::TenantId, job: uuid::Uuid) -> PathBuf {
    data_dir
        .join("exports")
        .join(school.0.simple().to_string())
        .join(format!("{}.bin", job.simple()))
}

/// The part name an export file is encrypted under (binds the file to its job).
pub fn part_name(job: uuid::Uuid) -> String {
    format!("export:{job}")
}

/// The export job (`school.export`): the zip written beside the live data, encrypted
/// with the school's backup key into `stored_path`, the plain zip removed; rows so far
/// in `App::export_progress`. Offered for [`crate::domain::job::EXPORT_KEPT_DAYS`].
pub struct SchoolExport;

#[async_trait::async_trait]
impl crate::worker::jobs::JobHandler for SchoolExport {
    async fn run(
        &self,
        app: &crate::app::App,
        store: &dyn crate::store::TenantStore,
        job: &crate::store::JobLease,
    ) -> Result<crate::worker::jobs::JobOutcome, StoreError> {
        use crate::worker::jobs::JobOutcome;
        let school = store.tenant_id();
        let name = app
            .tenancy
            .list()
            .await?
            .into_iter()
            .find(|t| t.id == school)
            .map(|t| t.name)
            .unwrap_or_default();
        let target = stored_path(&app.config.data_dir, school, job.id);
        if let Some(dir) = target.parent() {
            crate::fsutil::create_private_dir(dir)?;
        }
        let work = app.config.data_dir.join("export-work");
        crate::fsutil::create_private_dir(&work)?;
        let plain = work.join(format!("{}.zip", job.id.simple()));
        let _ = std::fs::remove_file(&plain);
        let _ = std::fs::remove_file(&target);
        let progress = app.export_progress.clone();
        let id = job.id;
        let tick = move |n: u64| {
            if let Ok(mut p) = progress.lock() {
                *p.entry(id).or_insert(0) += n;
            }
        };
        let result = export_school(store, &name, &work, &plain, app.clock.now(), &tick).await;
        if let Ok(mut p) = app.export_progress.lock() {
            p.remove(&job.id);
        }
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&plain);
                return Ok(JobOutcome::Failed {
                    error: e.to_string(),
                });
            }
        };
        let (_, key) = app.tenancy.backup_key(school).await?;
        let part = part_name(job.id);
        let (from, to) = (plain.clone(), target.clone());
        let sealed = tokio::task::spawn_blocking(move || {
            let r = crate::backup::encrypt_file(&key, &part, &from, &to);
            let _ = std::fs::remove_file(&from);
            r
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        if let Err(e) = sealed {
            return Ok(JobOutcome::Failed {
                error: e.to_string(),
            });
        }
        let mut entry = crate::domain::activity::ActivityEntry::now(
            job.payload
                .get("by")
                .and_then(|b| b.as_str())
                .unwrap_or("system"),
            "school.exported",
            Some(format!("job:{}", job.id)),
            "admin",
            serde_json::json!({ "tables": report.tables, "rows": report.rows, "attachments": report.attachments }),
        );
        entry.at = app.clock.now();
        store.log_activity(&entry).await?;
        Ok(JobOutcome::Done { result: None })
    }
}

/// Deletes a school's export files older than [`crate::domain::job::EXPORT_KEPT_DAYS`]
/// (by their job's creation); how many.
pub async fn prune_exports(
    app: &crate::app::App,
    store: &dyn crate::store::TenantStore,
) -> Result<u64, StoreError> {
    let cutoff = app.clock.now() - chrono::Duration::days(crate::domain::job::EXPORT_KEPT_DAYS);
    let mut n = 0;
    for j in store
        .jobs_of_kind(crate::domain::job::SCHOOL_EXPORT, 1000)
        .await?
    {
        if j.created_at < cutoff {
            let path = stored_path(&app.config.data_dir, store.tenant_id(), j.id);
            match std::fs::remove_file(&path) {
                Ok(()) => n += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(n)
}

/// Deletes every stored export of a school (after an erasure they hold the person;
/// after a closure, the school); how many files.
pub fn remove_school_exports(
    data_dir: &Path,
    school: crate::domain::TenantId,
) -> Result<u64, StoreError> {
    let dir = data_dir.join("exports").join(school.0.simple().to_string());
    let mut n = 0;
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for e in entries {
                let p = e?.path();
                if p.is_file() {
                    std::fs::remove_file(&p)?;
                    n += 1;
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(n)
}
