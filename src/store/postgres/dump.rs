//! A logical copy of one PostgreSQL schema (a school's, or the control schema) for the
//! backups (issue 19), taken while serving and loaded into a new database.
//!
//! Taken in one `REPEATABLE READ READ ONLY` transaction (one snapshot for every
//! table, as `pg_dump` takes it), as the schema's own role, holding the migrations'
//! advisory lock shared (so no migration rewrites a table under the snapshot), with
//! `COPY … TO STDOUT` per table streamed to a file. The schema itself is not in the copy: the restore creates
//! it with this binary's migrations up to the version the copy was taken at, loads the
//! rows, and then applies any newer migrations.
//!
//! File layout: `RAABTAPG1\n`, one line of JSON ([`Header`]: the migrations applied and
//! each table's columns), then per table, in the header's order, frames of
//! `u32 length | COPY text data` ended by a zero length.

use super::super::{migrate, Result, StoreError};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::PgConnection;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};

const MAGIC: &[u8] = b"RAABTAPG1\n";
/// The longest header line accepted (a few KiB in practice).
const MAX_HEADER: usize = 1 << 20;
/// The largest frame written or read (frames are what COPY hands over: a row or a
/// batch of rows; today's largest row is a 16 MiB attachment as hex, ~33 MiB).
const MAX_FRAME: usize = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Migrations applied to the schema when it was copied: (version, checksum hex).
    pub migrations: Vec<(i64, String)>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
}

impl Header {
    /// The newest migration the copy was taken at.
    pub fn version(&self) -> i64 {
        self.migrations.iter().map(|(v, _)| *v).max().unwrap_or(0)
    }

    /// Refuses a copy whose migrations this binary does not have exactly (a newer
    /// version's, or one made from changed migration files).
    pub fn check(&self, migrator: &Migrator) -> Result<()> {
        for (version, sum) in &self.migrations {
            match migrator.iter().find(|m| m.version == *version) {
                None => return Err(StoreError::MigrationTooNew(*version)),
                Some(m) if hex::encode(&*m.checksum) != *sum => {
                    return Err(StoreError::MigrationChanged(*version))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// `"name"`, quoted for SQL (our names are plain, but quoting costs nothing).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `COPY "schema"."table" ("a", "b") <direction>` (`TO STDOUT` or `FROM STDIN`).
fn copy_statement(schema: &str, table: &Table, direction: &str) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
    format!(
        "COPY {}.{} ({}) {direction}",
        ident(schema),
        ident(&table.name),
        columns.join(", ")
    )
}

/// `ALTER TABLE "schema"."table" <change>`, run in `tx`.
async fn alter_table(tx: &mut PgConnection, schema: &str, table: &str, change: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE {}.{} {change}",
        ident(schema),
        ident(table)
    )))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn corrupt(why: &str) -> StoreError {
    StoreError::Corrupt(format!("database copy: {why}"))
}

/// The tables of `schema` to copy (all but the migration table and `skip`), with
/// their columns, refusing what the copy would carry wrongly or silently leave out:
/// a table the connection's role does not own (it might not see it, or all its rows),
/// row-level security, partitioned tables, sequences (their positions are not copied)
/// and triggers (they would fire on load). The migrations make none of these today.
async fn tables(tx: &mut PgConnection, schema: &str, skip: &[&str]) -> Result<Vec<Table>> {
    let (foreign, secured, partitioned, sequences, triggers): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "WITH c AS (SELECT c.* FROM pg_class c JOIN pg_namespace n \
               ON n.oid = c.relnamespace WHERE n.nspname = $1) \
             SELECT \
               (SELECT COUNT(*) FROM c WHERE relkind = 'r' AND relowner <> \
                  (SELECT oid FROM pg_roles WHERE rolname = current_user)), \
               (SELECT COUNT(*) FROM c WHERE relrowsecurity OR relforcerowsecurity), \
               (SELECT COUNT(*) FROM c WHERE relkind = 'p'), \
               (SELECT COUNT(*) FROM c WHERE relkind = 'S'), \
               (SELECT COUNT(*) FROM pg_trigger t JOIN c ON c.oid = t.tgrelid \
                  WHERE NOT t.tgisinternal)",
        )
        .bind(schema)
        .fetch_one(&mut *tx)
        .await?;
    let refuse = |what: &str| {
        Err(StoreError::Conflict(format!(
            "schema {schema} has {what}, which the backup copy does not carry"
        )))
    };
    if foreign != 0 {
        return refuse("tables owned by another role");
    }
    if secured != 0 {
        return refuse("row-level security");
    }
    if partitioned != 0 {
        return refuse("partitioned tables");
    }
    if sequences != 0 {
        return refuse("sequences");
    }
    if triggers != 0 {
        return refuse("triggers");
    }
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname",
    )
    .bind(schema)
    .fetch_all(&mut *tx)
    .await?;
    let mut tables = Vec::new();
    for (name,) in names {
        if name == "raabta_migrations" || skip.contains(&name.as_str()) {
            continue;
        }
        let columns: Vec<(String,)> = sqlx::query_as(
            "SELECT a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 \
             AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        )
        .bind(schema)
        .bind(&name)
        .fetch_all(&mut *tx)
        .await?;
        if columns.is_empty() {
            return refuse(&format!("a table without stored columns ({name})"));
        }
        tables.push(Table {
            name,
            columns: columns.into_iter().map(|c| c.0).collect(),
        });
    }
    Ok(tables)
}

/// Copies every table of `schema` except `skip` (and the migration table, recorded in
/// the header instead) into the new file `to`. `conn` must act as the schema's owner;
/// it holds the migrations' advisory lock shared while it copies (no migration can
/// rewrite a table under the snapshot), in one read-only transaction. The caller
/// closes `conn` after an error (a COPY cut short leaves it unusable).
pub async fn dump(conn: &mut PgConnection, schema: &str, skip: &[&str], to: &Path) -> Result<()> {
    sqlx::query("SELECT pg_advisory_lock_shared($1)")
        .bind(migrate::PG_MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    let mut tx = sqlx::Connection::begin_with(
        &mut *conn,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    )
    .await?;
    let migrations: Vec<(i64, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT version, checksum FROM {}.raabta_migrations ORDER BY version",
        ident(schema)
    )))
    .fetch_all(&mut *tx)
    .await?;
    let header = Header {
        migrations: migrations
            .into_iter()
            .map(|(v, sum)| (v, hex::encode(sum)))
            .collect(),
        tables: tables(&mut tx, schema, skip).await?,
    };
    let file = crate::fsutil::create_private_file(to)?;
    let mut out = BufWriter::new(tokio::fs::File::from_std(file));
    out.write_all(MAGIC).await?;
    let line = serde_json::to_vec(&header).map_err(|e| corrupt(&e.to_string()))?;
    out.write_all(&line).await?;
    out.write_all(b"\n").await?;
    for table in &header.tables {
        let mut stream = tx
            .copy_out_raw(&copy_statement(schema, table, "TO STDOUT"))
            .await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if chunk.is_empty() {
                continue;
            }
            if chunk.len() > MAX_FRAME {
                return Err(corrupt(&format!("a row of {} over 64 MiB", table.name)));
            }
            out.write_all(&(chunk.len() as u32).to_be_bytes()).await?;
            out.write_all(&chunk).await?;
        }
        drop(stream);
        out.write_all(&0u32.to_be_bytes()).await?;
    }
    tx.commit().await?;
    sqlx::query("SELECT pg_advisory_unlock_shared($1)")
        .bind(migrate::PG_MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    out.flush().await?;
    out.into_inner().sync_all().await?;
    Ok(())
}

/// Reads a copy's header (the restore checks it before creating anything).
pub async fn read_header(from: &Path) -> Result<Header> {
    let mut input = BufReader::new(tokio::fs::File::open(from).await?);
    header(&mut input).await
}

async fn header(input: &mut BufReader<tokio::fs::File>) -> Result<Header> {
    let mut magic = [0u8; MAGIC.len()];
    input
        .read_exact(&mut magic)
        .await
        .map_err(|_| corrupt("not a database copy"))?;
    if magic != MAGIC {
        return Err(corrupt("not a database copy"));
    }
    let mut line = Vec::new();
    (&mut *input)
        .take(MAX_HEADER as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if line.last() != Some(&b'\n') {
        return Err(corrupt("header cut short"));
    }
    serde_json::from_slice(&line[..line.len() - 1]).map_err(|e| corrupt(&e.to_string()))
}

/// Loads a copy into `schema`, whose tables this binary's migrations made at the
/// copy's version, inside a transaction the caller holds (and commits, so making the
/// schema, the rows and anything else are one transaction): the foreign keys are
/// dropped, every table is loaded, and the keys are added back (so they are checked
/// against every row, in whatever order the tables came). `tx` acts as the schema's
/// owner. Refuses a schema that already holds rows, and a copy that lacks one of the
/// schema's tables (but `skip`'s).
pub async fn load_within(
    tx: &mut PgConnection,
    schema: &str,
    skip: &[&str],
    from: &Path,
) -> Result<()> {
    let mut input = BufReader::new(tokio::fs::File::open(from).await?);
    let header = header(&mut input).await?;
    let present = tables(tx, schema, skip).await?;
    if let Some(missing) = present
        .iter()
        .find(|t| !header.tables.iter().any(|h| h.name == t.name))
    {
        return Err(corrupt(&format!(
            "table {} is not in the copy",
            missing.name
        )));
    }
    for table in &header.tables {
        let Some(here) = present.iter().find(|t| t.name == table.name) else {
            return Err(corrupt(&format!(
                "table {} is not in this version's schema",
                table.name
            )));
        };
        if let Some(missing) = table.columns.iter().find(|c| !here.columns.contains(c)) {
            return Err(corrupt(&format!(
                "column {}.{missing} is not in this version's schema",
                table.name
            )));
        }
        let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}.{}",
            ident(schema),
            ident(&table.name)
        )))
        .fetch_one(&mut *tx)
        .await?;
        if rows != 0 {
            return Err(StoreError::Conflict(format!(
                "table {} already holds rows: restore into an empty database",
                table.name
            )));
        }
    }
    let foreign_keys: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT t.relname::text, c.conname::text, pg_get_constraintdef(c.oid) \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND n.nspname = $1 ORDER BY t.relname, c.conname",
    )
    .bind(schema)
    .fetch_all(&mut *tx)
    .await?;
    for (table, name, _) in &foreign_keys {
        alter_table(
            tx,
            schema,
            table,
            &format!("DROP CONSTRAINT {}", ident(name)),
        )
        .await?;
    }
    for table in &header.tables {
        let mut copy = tx
            .copy_in_raw(&copy_statement(schema, table, "FROM STDIN"))
            .await?;
        let sent = async {
            let mut buf = Vec::new();
            loop {
                let len = input.read_u32().await.map_err(|_| corrupt("cut short"))? as usize;
                if len == 0 {
                    break;
                }
                if len > MAX_FRAME {
                    return Err(corrupt("malformed frame"));
                }
                buf.resize(len, 0);
                input
                    .read_exact(&mut buf)
                    .await
                    .map_err(|_| corrupt("cut short"))?;
                copy.send(buf.as_slice()).await?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        match sent {
            Ok(()) => copy.finish().await?,
            Err(e) => {
                let _ = copy.abort("the backup copy is unreadable").await;
                return Err(e);
            }
        };
    }
    let mut rest = [0u8; 1];
    if input.read(&mut rest).await? != 0 {
        return Err(corrupt("data after the last table"));
    }
    // Added back as they were (`pg_get_constraintdef` names the referenced table as
    // the search path sees it, hence the schema on it for these statements).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET LOCAL search_path TO {}",
        ident(schema)
    )))
    .execute(&mut *tx)
    .await?;
    for (table, name, definition) in &foreign_keys {
        let change = format!("ADD CONSTRAINT {} {definition}", ident(name));
        alter_table(tx, schema, table, &change).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrate::SCHOOL_POSTGRES;

    fn applied(upto: usize) -> Vec<(i64, String)> {
        SCHOOL_POSTGRES
            .iter()
            .take(upto)
            .map(|m| (m.version, hex::encode(&*m.checksum)))
            .collect()
    }

    #[test]
    fn a_copy_is_loaded_only_with_the_migrations_it_was_taken_at() {
        let older = Header {
            migrations: applied(5),
            tables: Vec::new(),
        };
        older.check(&SCHOOL_POSTGRES).unwrap();
        assert_eq!(
            older.version(),
            SCHOOL_POSTGRES.iter().nth(4).unwrap().version
        );

        let mut newer = older.clone();
        newer.migrations.push((9_999, String::new()));
        assert!(matches!(
            newer.check(&SCHOOL_POSTGRES),
            Err(StoreError::MigrationTooNew(9_999))
        ));

        let mut changed = older.clone();
        changed.migrations[2].1 = "00".into();
        assert!(matches!(
            changed.check(&SCHOOL_POSTGRES),
            Err(StoreError::MigrationChanged(_))
        ));
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(ident("inbound_events"), "\"inbound_events\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
