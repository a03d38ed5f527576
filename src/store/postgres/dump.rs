//! A logical copy of one PostgreSQL schema (a school's, or the control schema) for the
//! backups (issue 19), taken while serving and loaded into a new database.
//!
//! Taken in one `REPEATABLE READ READ ONLY` transaction (one snapshot for every
//! table, as `pg_dump` does), as the schema's own role, with `COPY … TO STDOUT` per
//! table streamed to a file. The schema itself is not in the copy: the restore creates
//! it with this binary's migrations up to the version the copy was taken at, loads the
//! rows, and then applies any newer migrations.
//!
//! File layout: `RAABTAPG1\n`, one line of JSON ([`Header`]: the migrations applied and
//! each table's columns), then per table, in the header's order, frames of
//! `u32 length | COPY text data` ended by a zero length.

use super::super::{Result, StoreError};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::PgConnection;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};

const MAGIC: &[u8] = b"RAABTAPG1\n";
/// The longest header line accepted (a few KiB in practice).
const MAX_HEADER: usize = 1 << 20;
/// The largest frame accepted on load (frames are written as COPY hands them over).
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

fn corrupt(why: &str) -> StoreError {
    StoreError::Corrupt(format!("database copy: {why}"))
}

/// Copies every table of `schema` except `skip` (and the migration table, recorded in
/// the header instead) into the new file `to`. `conn` must already act as the schema's
/// owner with `search_path` set to it; the copy runs in its own read-only transaction.
pub async fn dump(conn: &mut PgConnection, schema: &str, skip: &[&str], to: &Path) -> Result<()> {
    let mut tx = sqlx::Connection::begin_with(
        &mut *conn,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    )
    .await?;
    let sequences: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM pg_sequences WHERE schemaname = $1")
            .bind(schema)
            .fetch_one(&mut *tx)
            .await?;
    if sequences.0 != 0 {
        // Their positions would have to be carried too; no migration makes one today.
        return Err(StoreError::Conflict(format!(
            "schema {schema} has sequences, which the backup copy does not carry yet"
        )));
    }
    let migrations: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM raabta_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
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
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER' \
             ORDER BY ordinal_position",
        )
        .bind(schema)
        .bind(&name)
        .fetch_all(&mut *tx)
        .await?;
        tables.push(Table {
            name,
            columns: columns.into_iter().map(|c| c.0).collect(),
        });
    }
    let file = crate::fsutil::create_private_file(to)?;
    let mut out = BufWriter::new(tokio::fs::File::from_std(file));
    let header = Header {
        migrations: migrations
            .into_iter()
            .map(|(v, sum)| (v, hex::encode(sum)))
            .collect(),
        tables: tables.clone(),
    };
    out.write_all(MAGIC).await?;
    let line = serde_json::to_vec(&header).map_err(|e| corrupt(&e.to_string()))?;
    out.write_all(&line).await?;
    out.write_all(b"\n").await?;
    for table in &tables {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
        let statement = format!(
            "COPY {} ({}) TO STDOUT",
            ident(&table.name),
            columns.join(", ")
        );
        let mut stream = tx.copy_out_raw(&statement).await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if chunk.is_empty() {
                continue;
            }
            let len = u32::try_from(chunk.len()).map_err(|_| corrupt("a chunk over 4 GiB"))?;
            out.write_all(&len.to_be_bytes()).await?;
            out.write_all(&chunk).await?;
        }
        drop(stream);
        out.write_all(&0u32.to_be_bytes()).await?;
    }
    tx.commit().await?;
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
/// copy's version, in one transaction: the foreign keys are dropped, every table is
/// loaded, and the keys are added back (so they are checked against every row, in
/// whatever order the tables came). `conn` acts as the schema's owner. Refuses a
/// schema that already holds rows. Returns the rows loaded per table.
pub async fn load(
    conn: &mut PgConnection,
    schema: &str,
    from: &Path,
) -> Result<Vec<(String, u64)>> {
    let mut input = BufReader::new(tokio::fs::File::open(from).await?);
    let header = header(&mut input).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
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
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            ident(table),
            ident(name)
        )))
        .execute(&mut *tx)
        .await?;
    }
    let mut loaded = Vec::new();
    for table in &header.tables {
        let present: Vec<(String,)> = sqlx::query_as(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2",
        )
        .bind(schema)
        .bind(&table.name)
        .fetch_all(&mut *tx)
        .await?;
        if present.is_empty() {
            return Err(corrupt(&format!(
                "table {} is not in this version's schema",
                table.name
            )));
        }
        if let Some(missing) = table
            .columns
            .iter()
            .find(|c| !present.iter().any(|(p,)| p == *c))
        {
            return Err(corrupt(&format!(
                "column {}.{missing} is not in this version's schema",
                table.name
            )));
        }
        let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
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
        let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
        let statement = format!(
            "COPY {} ({}) FROM STDIN",
            ident(&table.name),
            columns.join(", ")
        );
        let mut copy = tx.copy_in_raw(&statement).await?;
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
        let rows = match sent {
            Ok(()) => copy.finish().await?,
            Err(e) => {
                let _ = copy.abort("the backup copy is unreadable").await;
                return Err(e);
            }
        };
        loaded.push((table.name.clone(), rows));
    }
    let mut rest = [0u8; 1];
    if input.read(&mut rest).await? != 0 {
        return Err(corrupt("data after the last table"));
    }
    for (table, name, definition) in &foreign_keys {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {definition}",
            ident(table),
            ident(name)
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(loaded)
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
