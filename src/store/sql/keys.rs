//! Key rotation: re-encrypting columns in batches, and what each key still covers.

use crate::store::{BatchResult, EncryptedColumn, KeyRotationStore, Result};
use uuid::Uuid;

use super::SchoolStore;
use crate::store::db::{self};

#[async_trait::async_trait]
impl KeyRotationStore for SchoolStore {
    async fn reencrypt_batch(
        &self,
        col: EncryptedColumn,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<BatchResult> {
        let (table, column) = (col.table, col.column);
        let mut tx = self.begin().await?;
        let rows: Vec<(Uuid, Vec<u8>)> = match after {
            Some(after) => db::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
            )))
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?,
            None => db::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?,
        };
        let active = self.keys.active_key_id();
        let mut result = BatchResult {
            seen: rows.len() as u64,
            ..BatchResult::default()
        };
        for (id, old) in &rows {
            if crate::store::crypto::key_id_of(old)? == active {
                continue;
            }
            let f = crate::store::crypto::FieldRef {
                table,
                column,
                row: *id,
            };
            let plain = self.keys.decrypt(f, old)?;
            let new = self.keys.encrypt(f, &plain)?;
            let done = db::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"
            )))
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(&mut *tx)
            .await?;
            result.rewritten += done.rows_affected();
        }
        tx.commit().await?;
        result.next_after = if rows.len() as i64 == limit {
            rows.last().map(|r| r.0)
        } else {
            None
        };
        Ok(result)
    }

    async fn decrypted_column(
        &self,
        col: EncryptedColumn,
    ) -> Result<Vec<(Uuid, crate::domain::Pii<Vec<u8>>)>> {
        let rows: Vec<(Uuid, Vec<u8>)> = self
            .read_all(db::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, {} FROM {} WHERE {} IS NOT NULL ORDER BY id",
                col.column, col.table, col.column
            ))))
            .await?;
        rows.into_iter()
            .map(|(id, ct)| {
                let f = crate::store::crypto::FieldRef {
                    table: col.table,
                    column: col.column,
                    row: id,
                };
                Ok((id, crate::domain::Pii::new(self.keys.decrypt(f, &ct)?)))
            })
            .collect()
    }

    async fn key_usage(&self, col: EncryptedColumn) -> Result<crate::store::KeyUsage> {
        let rows: Vec<(Vec<u8>,)> = self
            .read_all(db::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM {} WHERE {} IS NOT NULL",
                col.column, col.table, col.column
            ))))
            .await?;
        let active = self.keys.active_key_id();
        let mut usage = crate::store::KeyUsage {
            total: rows.len() as u64,
            stale: 0,
        };
        for (ct,) in rows {
            if crate::store::crypto::key_id_of(&ct)? != active {
                usage.stale += 1;
            }
        }
        Ok(usage)
    }
}
