//! A small migration runner: all pending migrations of one database (the control
//! database or one school) are applied in a single transaction, so a school is either
//! fully at the new version or untouched. Migration files are embedded at build time
//! by `sqlx::migrate!`; their checksums are recorded and re-checked on every run.

use super::{Result, StoreError};
use sqlx::migrate::Migrator;

pub static CONTROL_SQLITE: Migrator = sqlx::migrate!("migrations/control/sqlite");
pub static CONTROL_POSTGRES: Migrator = sqlx::migrate!("migrations/control/postgres");
pub static SCHOOL_SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
pub static SCHOOL_POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The PostgreSQL advisory lock a migration holds (exclusively, for its transaction);
/// a backup copy holds it shared, so no migration rewrites a table under its snapshot.
pub const PG_MIGRATION_LOCK: i64 = 7_261_616_274;

/// Checks what is applied against what the binary has; returns the versions to apply.
fn plan(migrator: &Migrator, applied: &[(i64, Vec<u8>)]) -> Result<Vec<usize>> {
    let known_max = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some((v, _)) = applied.iter().find(|(v, _)| *v > known_max) {
        return Err(StoreError::MigrationTooNew(*v));
    }
    let mut pending = Vec::new();
    for (i, m) in migrator.iter().enumerate() {
        match applied.iter().find(|(v, _)| *v == m.version) {
            Some((_, sum)) if sum.as_slice() != &*m.checksum => {
                return Err(StoreError::MigrationChanged(m.version))
            }
            Some(_) => {}
            None => pending.push(i),
        }
    }
    Ok(pending)
}

macro_rules! runner {
    ($name:ident, $within:ident, $conn:ty, $begin:literal, $ddl:literal, $lock:expr) => {
        /// Applies every pending migration (up to version `until`, when given) in one
        /// transaction.
        pub async fn $name(
            conn: &mut $conn,
            migrator: &Migrator,
            until: Option<i64>,
        ) -> Result<usize> {
            let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await?;
            let applied = $within(&mut tx, migrator, until).await?;
            tx.commit().await?;
            Ok(applied)
        }

        /// [`$name`]'s work inside a transaction the caller holds (and commits).
        #[allow(dead_code)]
        pub async fn $within(
            tx: &mut $conn,
            migrator: &Migrator,
            until: Option<i64>,
        ) -> Result<usize> {
            let lock: Option<&'static str> = $lock;
            if let Some(lock) = lock {
                sqlx::query(lock)
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::raw_sql($ddl).execute(&mut *tx).await?;
            let applied: Vec<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT version, checksum FROM raabta_migrations ORDER BY version")
                    .fetch_all(&mut *tx)
                    .await?;
            let migrations: Vec<_> = migrator.iter().collect();
            let pending: Vec<usize> = plan(migrator, &applied)?
                .into_iter()
                .filter(|&i| until.is_none_or(|u| migrations[i].version <= u))
                .collect();
            for &i in &pending {
                let m = migrations[i];
                sqlx::raw_sql(m.sql.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::Migration {
                        version: m.version,
                        description: m.description.to_string(),
                        reason: e.to_string(),
                    })?;
                sqlx::query(
                    "INSERT INTO raabta_migrations (version, description, checksum, applied_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(m.version)
                .bind(m.description.to_string())
                .bind(m.checksum.to_vec())
                .bind(chrono::Utc::now())
                .execute(&mut *tx)
                .await?;
            }
            Ok(pending.len())
        }
    };
}

runner!(
    run_sqlite,
    run_sqlite_within,
    sqlx::SqliteConnection,
    // Take the write lock up front: a concurrent `serve` and `migrate` wait for each
    // other instead of failing on a lock upgrade.
    "BEGIN IMMEDIATE",
    "CREATE TABLE IF NOT EXISTS raabta_migrations (version INTEGER PRIMARY KEY, \
     description TEXT NOT NULL, checksum BLOB NOT NULL, applied_at TEXT NOT NULL)",
    None
);

runner!(
    run_postgres,
    run_postgres_within,
    sqlx::PgConnection,
    "BEGIN",
    "CREATE TABLE IF NOT EXISTS raabta_migrations (version BIGINT PRIMARY KEY, \
     description TEXT NOT NULL, checksum BYTEA NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
    Some("SELECT pg_advisory_xact_lock($1)")
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_detects_changed_and_newer_migrations() {
        let m = &SCHOOL_SQLITE;
        let first = m.iter().next().unwrap();
        assert_eq!(plan(m, &[]).unwrap().len(), m.iter().count());
        assert!(
            plan(m, &[(first.version, first.checksum.to_vec())])
                .unwrap()
                .len()
                < m.iter().count()
        );
        assert!(matches!(
            plan(m, &[(first.version, vec![0; 4])]),
            Err(StoreError::MigrationChanged(_))
        ));
        assert!(matches!(
            plan(m, &[(9999, vec![])]),
            Err(StoreError::MigrationTooNew(9999))
        ));
    }
}
