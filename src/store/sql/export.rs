//! The school's export (issue 19; DPA §11.1, seed 000 §12): every table of the
//! partition, row by row in one read transaction (one consistent moment of the school),
//! handed to a sink as JSON objects with encrypted columns decrypted. Never the whole
//! school in memory: rows are read in batches inside the transaction.
//!
//! Left out, as security material rather than the school's records: sign-in sessions,
//! recovery codes, password links and access codes (hashes), staff password hashes and
//! two-factor secrets, blind indexes, and face embeddings (numbers meaningful only to
//! this matcher; the consent records are exported). Media content goes to the sink as
//! attachments; its row names the file.

use crate::store::db::{self, Tx};
use crate::store::{ExportSink, ExportStore, Result, StoreError};
use base64::Engine;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{field, SchoolStore};

/// Tables not exported (security material).
const SKIPPED_TABLES: &[&str] = &[
    "raabta_migrations",
    "admin_sessions",
    "staff_recovery_codes",
    "password_resets",
    "access_codes",
];
/// Columns not exported, by table (None: in every table).
const SKIPPED_COLUMNS: &[(Option<&str>, &str)] = &[
    (Some("staff_users"), "password_hash"),
    (Some("staff_users"), "totp_secret_enc"),
    (Some("staff_users"), "totp_last_step"),
    (Some("face_samples"), "embedding_enc"),
];
/// Rows read at a time.
const BATCH: i64 = 500;

fn skipped(table: &str, column: &str) -> bool {
    column.ends_with("_bidx")
        || SKIPPED_COLUMNS
            .iter()
            .any(|(t, c)| *c == column && t.is_none_or(|t| t == table))
}

fn safe_ident(s: &str) -> Result<&str> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(s)
    } else {
        Err(StoreError::Corrupt(format!("unexpected table name {s:?}")))
    }
}

/// The bytes of a binary value as the backend rendered it in JSON: SQLite `x:<hex>`
/// (see [`sqlite_select`]), PostgreSQL `\x<hex>`.
fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    let h = s.strip_prefix("x:").or_else(|| s.strip_prefix("\\x"))?;
    hex::decode(h).ok()
}

/// A row as exported: ids as UUIDs, binary as hex, encrypted columns decrypted (text,
/// or base64 under `<column>_base64`), media content handed to the sink.
fn clean_row(
    store: &SchoolStore,
    table: &str,
    raw: Map<String, Value>,
    sink: &mut (dyn ExportSink + Send),
) -> Result<Map<String, Value>> {
    let id = raw.get("id").and_then(|v| match bytes_of(v) {
        Some(b) => Uuid::from_slice(&b).ok(),
        None => v.as_str().and_then(|s| s.parse().ok()),
    });
    let mut out = Map::new();
    for (k, v) in raw {
        if skipped(table, &k) {
            continue;
        }
        if let Some(col) = k.strip_suffix("_enc") {
            if v.is_null() {
                out.insert(col.to_string(), Value::Null);
                continue;
            }
            let (Some(id), Some(ct)) = (id, bytes_of(&v)) else {
                return Err(StoreError::Corrupt(format!("{table}.{k}: no row id")));
            };
            // Every encrypted column is in the list (a unit test keeps it so).
            let ec = crate::store::ENCRYPTED_COLUMNS
                .iter()
                .find(|c| c.table == table && c.column == k)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("{table}.{k} is not a known encrypted column"))
                })?;
            let plain = store.keys.decrypt(field(ec.table, ec.column, id), &ct)?;
            if table == "media" && k == "content_enc" {
                let name = format!("attachments/{id}");
                sink.attachment(&name, &plain)?;
                out.insert("content_file".into(), Value::String(name));
                continue;
            }
            match String::from_utf8(plain) {
                Ok(s) => {
                    out.insert(col.to_string(), Value::String(s));
                }
                Err(e) => {
                    out.insert(
                        format!("{col}_base64"),
                        Value::String(
                            base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                        ),
                    );
                }
            }
            continue;
        }
        let v = match bytes_of(&v) {
            Some(b) if b.len() == 16 => Value::String(
                Uuid::from_slice(&b)
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
            ),
            Some(b) => Value::String(hex::encode(b)),
            None => v,
        };
        out.insert(k, v);
    }
    Ok(out)
}

/// SQLite: a table's rows as JSON text (blobs as `x:<hex>`, which JSON cannot hold).
async fn sqlite_select(tx: &mut Tx, table: &str) -> Result<String> {
    let cols: Vec<(i64, String, String, i64, Option<String>, i64)> =
        db::query_as(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
            .fetch_all(&mut **tx)
            .await?;
    let parts: Vec<String> = cols
        .iter()
        .map(|c| {
            let n = safe_ident(&c.1)?;
            Ok(format!(
                "'{n}', CASE WHEN typeof({n}) = 'blob' THEN 'x:' || hex({n}) ELSE {n} END"
            ))
        })
        .collect::<Result<_>>()?;
    Ok(format!(
        "SELECT json_object({}) FROM {table} ORDER BY rowid LIMIT $1 OFFSET $2",
        parts.join(", ")
    ))
}

async fn tables(tx: &mut Tx, sqlite: bool) -> Result<Vec<String>> {
    let sql = if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    } else {
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
    };
    let rows: Vec<(String,)> = db::query_as(sql).fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|r| r.0)
        .filter(|t| !SKIPPED_TABLES.contains(&t.as_str()))
        .collect())
}

#[async_trait::async_trait]
impl ExportStore for SchoolStore {
    async fn export_school(&self, sink: &mut (dyn ExportSink + Send)) -> Result<u64> {
        let mut tx = self.begin_read().await?;
        let sqlite = matches!(&*tx, db::Conn::Sqlite(_));
        if !sqlite {
            // One snapshot for every batch of every table (SQLite's read transaction is
            // one already); before the first query of the transaction.
            db::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let mut rows_done = 0;
        for table in tables(&mut tx, sqlite).await? {
            let table = safe_ident(&table)?.to_string();
            let select = if sqlite {
                sqlite_select(&mut tx, &table).await?
            } else {
                format!(
                    "SELECT row_to_json(t)::text FROM {table} t ORDER BY ctid LIMIT $1 OFFSET $2"
                )
            };
            sink.table_start(&table)?;
            let mut offset = 0;
            loop {
                let batch: Vec<(String,)> = db::query_as(sqlx::AssertSqlSafe(select.clone()))
                    .bind(BATCH)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await?;
                let n = batch.len() as i64;
                for (json,) in batch {
                    let raw: Map<String, Value> = serde_json::from_str(&json)
                        .map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))?;
                    let row = clean_row(self, &table, raw, sink)?;
                    sink.row(&row)?;
                    rows_done += 1;
                }
                if n < BATCH {
                    break;
                }
                offset += n;
            }
            sink.table_end()?;
        }
        tx.commit().await?;
        Ok(rows_done)
    }
}
