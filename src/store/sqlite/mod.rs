//! SQLite backend (the embedded default): `control.db` for the registry, and one
//! database file per school under `schools/<school id>.db`. A school's store holds
//! pools for its own file only; nothing is ever ATTACHed. Per school, writes go
//! through a one-connection pool (`BEGIN IMMEDIATE`, so one writer at a time and no
//! lock-upgrade failures) and reads through a small read-only pool (WAL lets them
//! run beside the writer). Open school pools are bounded: the least recently used
//! are closed when the bound is reached and reopened on demand.

use super::crypto::KeyRing;
use super::db::{Dialect, Pool, SchoolDb, Tx};
use super::sql::{ControlDb, SchoolStore};
use super::{
    migrate, Backend, BackendKind, ConnectOptions, Partitions, Result, StoreError, TenantStore,
};
use crate::domain::TenantId;
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn options(path: &Path, create: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a committed transaction survives power loss (nothing lost after a 200).
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // Deleted content (a class photo once matched, an erased person) is
        // overwritten with zeros, not left in free pages of the file.
        .pragma("secure_delete", "on")
}

/// A consistent copy of the database behind `pool` at `to` (a new file), taken while
/// others read and write (`VACUUM INTO`: one read transaction).
pub(crate) async fn vacuum_into(conn: &mut sqlx::SqliteConnection, to: &Path) -> Result<()> {
    if to.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists already",
            to.display()
        )));
    }
    let to = to
        .to_str()
        .ok_or_else(|| StoreError::Conflict("the backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1").bind(to).execute(conn).await?;
    Ok(())
}

/// A connection to one SQLite file (a backup's copy), with the service's pragmas.
pub(crate) async fn open_file(path: &Path) -> Result<sqlx::SqliteConnection> {
    Ok(options(path, false).connect().await?)
}

/// Marks a control database copy as a restore in progress (see
/// `tenancy::RESTORE_INCOMPLETE`) before it is put in place.
pub async fn mark_restoring(path: &Path) -> Result<()> {
    let mut conn = open_file(path).await?;
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(crate::store::tenancy::RESTORE_INCOMPLETE)
    .bind(b"1".as_slice())
    .execute(&mut conn)
    .await?;
    sqlx::Connection::close(conn).await?;
    Ok(())
}

/// Puts a restored copy (rollback-journal mode, as `VACUUM INTO` writes it) in WAL
/// mode, as the service's read-only connections expect.
pub async fn to_wal(path: &Path) -> Result<()> {
    let mut conn = open_file(path).await?;
    sqlx::query("SELECT 1").execute(&mut conn).await?;
    sqlx::Connection::close(conn).await?;
    Ok(())
}

/// Resolves `sqlite://` URLs: `sqlite://` alone means `<data dir>/control.db`;
/// `sqlite:///abs/dir/control.db` or `sqlite://rel/dir/control.db` name the control
/// file, and school files go in a `schools/` folder beside it.
pub(crate) fn control_path(rest: &str, data_dir: &Path) -> Result<PathBuf> {
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Ok(data_dir.join("control.db"));
    }
    if path == ":memory:" || path.starts_with("memory") {
        return Err(StoreError::BadUrl(
            "in-memory SQLite cannot hold one file per school; name a file or leave the path empty"
                .into(),
        ));
    }
    Ok(PathBuf::from(path))
}

pub async fn connect(rest: &str, opts: &ConnectOptions) -> Result<Backend> {
    let control_file = control_path(rest, &opts.data_dir)?;
    let dir = control_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    crate::fsutil::create_private_dir(&dir)?;
    let schools_dir = dir.join("schools");
    crate::fsutil::create_private_dir(&schools_dir)?;
    let control_opts = options(&control_file, true);
    {
        let mut conn = control_opts.connect().await?;
        migrate::run_sqlite(&mut conn, &migrate::CONTROL_SQLITE, None).await?;
    }
    let control = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(control_opts)
        .await?;
    let store = Arc::new(ControlDb::new(Pool::Sqlite(control)));
    let partitions = Arc::new(SqlitePartitions {
        schools_dir,
        open: Mutex::new(OpenPools {
            pools: HashMap::new(),
            tick: 0,
        }),
        max_open: opts.max_open_schools.max(1),
    });
    Ok(Backend {
        control: store,
        partitions,
        kind: BackendKind::Sqlite,
    })
}

#[derive(Clone)]
struct SchoolPools {
    writer: SqlitePool,
    reader: SqlitePool,
}

struct OpenPools {
    pools: HashMap<TenantId, (SchoolPools, u64)>,
    tick: u64,
}

pub struct SqlitePartitions {
    schools_dir: PathBuf,
    open: Mutex<OpenPools>,
    max_open: usize,
}

impl SqlitePartitions {
    pub fn file(&self, id: TenantId) -> PathBuf {
        self.schools_dir.join(format!("{}.db", id.0.simple()))
    }

    fn pools(&self, id: TenantId) -> Result<SchoolPools> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| StoreError::Corrupt("pool cache poisoned".into()))?;
        open.tick += 1;
        let tick = open.tick;
        if let Some((pools, used)) = open.pools.get_mut(&id) {
            *used = tick;
            return Ok(pools.clone());
        }
        let path = self.file(id);
        if !path.exists() {
            return Err(StoreError::Corrupt(format!(
                "school partition file for {id} is missing"
            )));
        }
        if open.pools.len() >= self.max_open {
            if let Some(oldest) = open
                .pools
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| *k)
            {
                // Handles still using these pools keep them alive; the pools close
                // when the last handle is dropped.
                open.pools.remove(&oldest);
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options(&path, false));
        let reader = SqlitePoolOptions::new()
            .max_connections(2)
            // Read-only by `query_only`, not by opening the file read-only: a read-only
            // open cannot create the WAL index (-shm) when no writer has yet (the first
            // request after a restart or a restore would fail).
            .connect_lazy_with(options(&path, false).pragma("query_only", "1"));
        let pools = SchoolPools { writer, reader };
        open.pools.insert(id, (pools.clone(), tick));
        Ok(pools)
    }

    fn forget(&self, id: TenantId) -> Option<SchoolPools> {
        self.open
            .lock()
            .ok()
            .and_then(|mut o| o.pools.remove(&id))
            .map(|(p, _)| p)
    }
}

#[async_trait]
impl Partitions for SqlitePartitions {
    async fn create(&self, id: TenantId) -> Result<()> {
        let mut conn = options(&self.file(id), true).connect().await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        Ok(())
    }

    async fn migrate(&self, id: TenantId) -> Result<usize> {
        let path = self.file(id);
        if !path.exists() {
            return Err(StoreError::Corrupt(format!(
                "school partition file for {id} is missing"
            )));
        }
        let mut conn = options(&path, false).connect().await?;
        migrate::run_sqlite(&mut conn, &migrate::SCHOOL_SQLITE, None).await
    }

    async fn drop_partition(&self, id: TenantId) -> Result<()> {
        if let Some(p) = self.forget(id) {
            p.writer.close().await;
            p.reader.close().await;
        }
        let file = self.file(id);
        for suffix in ["", "-wal", "-shm"] {
            let mut name = file.clone().into_os_string();
            name.push(suffix);
            match std::fs::remove_file(&name) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn open(&self, id: TenantId, keys: Arc<KeyRing>) -> Result<Arc<dyn TenantStore>> {
        if keys.tenant() != id {
            return Err(StoreError::Corrupt(
                "key ring belongs to another school".into(),
            ));
        }
        let pools = self.pools(id)?;
        Ok(Arc::new(SchoolStore::new(
            Box::new(SqliteSchool { pools }),
            keys,
        )))
    }

    fn describe(&self, id: TenantId) -> String {
        format!("file {}", self.file(id).display())
    }

    async fn restore(&self, id: TenantId, from: &Path) -> Result<()> {
        let path = self.file(id);
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "{} exists already: restore into an empty data directory",
                path.display()
            )));
        }
        // The copy sits beside the data (the backup's work folder).
        crate::fsutil::move_into_new(from, &path)?;
        // A copy is in rollback-journal mode; the service reads in WAL mode.
        to_wal(&path).await?;
        self.migrate(id).await?;
        Ok(())
    }

    async fn snapshot(&self, id: TenantId, to: &Path) -> Result<()> {
        // A connection of its own: VACUUM INTO reads in one transaction (WAL: the
        // writer goes on) and must not take the school's one writer.
        let path = self.file(id);
        if !path.exists() {
            return Err(StoreError::Corrupt(format!(
                "school partition file for {id} is missing"
            )));
        }
        let mut conn = open_file(&path).await?;
        vacuum_into(&mut conn, to).await
    }

    fn open_pools(&self) -> usize {
        self.open.lock().map(|o| o.pools.len()).unwrap_or(0)
    }

    async fn ping(&self) -> Result<()> {
        if self.schools_dir.is_dir() {
            Ok(())
        } else {
            Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "schools directory is missing",
            )))
        }
    }
}

/// One school's SQLite file.
pub struct SqliteSchool {
    pools: SchoolPools,
}

static DIALECT: Dialect = Dialect {
    // The writer transaction (BEGIN IMMEDIATE) already serialises every write.
    lock_conversation: "SELECT id FROM conversations WHERE id = $1",
    claim_lock: "",
};

#[async_trait]
impl SchoolDb for SqliteSchool {
    async fn begin(&self) -> Result<Tx> {
        Ok(Tx::sqlite(
            self.pools.writer.begin_with("BEGIN IMMEDIATE").await?,
        ))
    }

    async fn begin_read(&self) -> Result<Tx> {
        Ok(Tx::sqlite(self.pools.reader.begin().await?))
    }

    /// The files this school's connections have open (`PRAGMA database_list`).
    async fn identity(&self) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for pool in [&self.pools.writer, &self.pools.reader] {
            let rows: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
                .fetch_all(pool)
                .await?;
            files.extend(rows.into_iter().map(|r| r.2));
        }
        Ok(files)
    }

    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    async fn checkpoint(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pools.writer)
            .await?;
        Ok(())
    }
}

impl FromStr for BackendKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        if s.starts_with("sqlite:") {
            Ok(BackendKind::Sqlite)
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(BackendKind::Postgres)
        } else {
            Err(StoreError::BadUrl("unknown scheme".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_paths() {
        let d = Path::new("/data");
        assert_eq!(control_path("", d).unwrap(), d.join("control.db"));
        assert_eq!(control_path("//", d).unwrap(), d.join("control.db"));
        assert_eq!(
            control_path("///srv/r/c.db", d).unwrap(),
            PathBuf::from("/srv/r/c.db")
        );
        assert_eq!(
            control_path("//rel/c.db?mode=rwc", d).unwrap(),
            PathBuf::from("rel/c.db")
        );
        assert!(control_path("//:memory:", d).is_err());
    }
}
