//! The control database: settings, schools, their keys and channels.

use super::ControlDb;
use crate::store::db;

/// A school as selected by [`TENANT_COLS`].
type TenantRow = (
    uuid::Uuid,
    String,
    String,
    String,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
);
const TENANT_COLS: &str = "id, slug, name, timezone, locale, status, created_at FROM tenants";

fn tenant_from_row(
    (id, slug, name, timezone, locale, status, created_at): TenantRow,
) -> crate::store::Result<crate::domain::school::Tenant> {
    crate::store::sql::tenant_from_parts(id, slug, name, timezone, locale, status, created_at)
}

/// A school's registry rows (its wrapped keys, backup key and closure by cascade).
async fn delete_tenant_rows(
    tx: &mut db::Tx,
    id: crate::domain::TenantId,
) -> crate::store::Result<()> {
    for sql in [
        "DELETE FROM channel_accounts WHERE tenant_id = $1",
        "DELETE FROM tenant_keys WHERE tenant_id = $1",
        "DELETE FROM tenants WHERE id = $1",
    ] {
        db::query(sql).bind(id.0).execute(&mut *tx).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl crate::store::ControlStore for ControlDb {
    async fn rewrap_all(
        &self,
        tenant_keys: &[crate::store::TenantKeyRow],
        backup_keys: &[(crate::domain::TenantId, i64, Vec<u8>)],
        settings: &[(String, Vec<u8>)],
    ) -> crate::store::Result<()> {
        let postgres = matches!(&self.control, db::Pool::Postgres(_));
        self.write(async |tx| {
            if postgres {
                // Nothing adds a key while the rotation writes (SQLite: the write
                // transaction already holds the one writer).
                db::query("LOCK TABLE tenant_keys, backup_keys IN EXCLUSIVE MODE")
                    .execute(&mut **tx)
                    .await?;
            }
            let (n_keys,): (i64,) = db::query_as("SELECT COUNT(*) FROM tenant_keys")
                .fetch_one(&mut **tx)
                .await?;
            let (n_backup,): (i64,) = db::query_as("SELECT COUNT(*) FROM backup_keys")
                .fetch_one(&mut **tx)
                .await?;
            if n_keys != tenant_keys.len() as i64 || n_backup != backup_keys.len() as i64 {
                return Err(crate::store::StoreError::Conflict(
                    "a key was added during the rotation; run it again".into(),
                ));
            }
            for k in tenant_keys {
                let n = db::query(
                    "UPDATE tenant_keys SET wrapped = $4 WHERE tenant_id = $1 AND purpose = $2 AND key_id = $3",
                )
                .bind(k.tenant_id.0)
                .bind(k.purpose.as_str())
                .bind(i64::from(k.key_id))
                .bind(&k.wrapped)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(crate::store::StoreError::Conflict(
                        "a school key changed during the rotation; run it again".into(),
                    ));
                }
            }
            for (tenant, key_id, wrapped) in backup_keys {
                let n = db::query(
                    "UPDATE backup_keys SET wrapped = $3 WHERE tenant_id = $1 AND key_id = $2",
                )
                .bind(tenant.0)
                .bind(*key_id)
                .bind(wrapped)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(crate::store::StoreError::Conflict(
                        "a backup key changed during the rotation; run it again".into(),
                    ));
                }
            }
            for (name, value) in settings {
                db::query(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(value)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        })
        .await
    }

    async fn settings_with_prefix(
        &self,
        prefix: &str,
    ) -> crate::store::Result<Vec<(String, Vec<u8>)>> {
        let rows: Vec<(String, Vec<u8>)> = db::query_as(
            "SELECT name, value FROM settings WHERE substr(name, 1, length($1)) = $1 ORDER BY name",
        )
        .bind(prefix)
        .fetch_all(&self.control)
        .await?;
        Ok(rows)
    }

    async fn close_tenant(
        &self,
        id: crate::domain::TenantId,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
        purge_after: chrono::DateTime<chrono::Utc>,
    ) -> crate::store::Result<bool> {
        let q = db::query(
            "INSERT INTO tenant_closures (tenant_id, requested_by, requested_at, purge_after) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
        );
        Ok(self
            .run(q.bind(id.0).bind(by).bind(at).bind(purge_after))
            .await?
            == 1)
    }

    async fn closures(&self) -> crate::store::Result<Vec<crate::store::Closure>> {
        type R = (
            uuid::Uuid,
            String,
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
        );
        let rows: Vec<R> = db::query_as(
            "SELECT tenant_id, requested_by, requested_at, purge_after FROM tenant_closures \
             ORDER BY purge_after",
        )
        .fetch_all(&self.control)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(t, by, at, after)| crate::store::Closure {
                tenant_id: crate::domain::TenantId(t),
                requested_by: by,
                requested_at: at,
                purge_after: after,
            })
            .collect())
    }

    async fn delete_tenant_certified(
        &self,
        id: crate::domain::TenantId,
        slug: &str,
        certificate: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> crate::store::Result<()> {
        self.write(async |tx| {
            db::query(
                "INSERT INTO deletion_certificates (tenant_id, slug, certificate, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.0)
            .bind(slug)
            .bind(certificate)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|e| match crate::store::StoreError::from(e) {
                e if e.is_unique_violation() => crate::store::StoreError::Conflict(format!(
                    "{slug} was purged already (by another process)"
                )),
                e => e,
            })?;
            delete_tenant_rows(tx, id).await
        })
        .await
    }

    async fn certificate(&self, slug: &str) -> crate::store::Result<Option<String>> {
        let row: Option<(String,)> = db::query_as(
            "SELECT certificate FROM deletion_certificates WHERE slug = $1 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(slug)
        .fetch_optional(&self.control)
        .await?;
        Ok(row.map(|r| r.0))
    }

    async fn backup_key(
        &self,
        tenant: crate::domain::TenantId,
    ) -> crate::store::Result<Option<(i64, Vec<u8>)>> {
        Ok(db::query_as(
            "SELECT key_id, wrapped FROM backup_keys WHERE tenant_id = $1 ORDER BY key_id DESC LIMIT 1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.control)
        .await?)
    }

    async fn init_backup_key(
        &self,
        tenant: crate::domain::TenantId,
        key_id: i64,
        wrapped: &[u8],
    ) -> crate::store::Result<(i64, Vec<u8>)> {
        let q = db::query(
            "INSERT INTO backup_keys (tenant_id, key_id, wrapped, created_at) \
             SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM backup_keys WHERE tenant_id = $1)",
        );
        self.run(
            q.bind(tenant.0)
                .bind(key_id)
                .bind(wrapped)
                .bind(chrono::Utc::now()),
        )
        .await?;
        self.backup_key(tenant)
            .await?
            .ok_or_else(|| crate::store::sql::corrupt("backup key vanished after insert"))
    }

    async fn backup_keys(
        &self,
    ) -> crate::store::Result<Vec<(crate::domain::TenantId, i64, Vec<u8>)>> {
        let rows: Vec<(uuid::Uuid, i64, Vec<u8>)> = db::query_as(
            "SELECT tenant_id, key_id, wrapped FROM backup_keys ORDER BY tenant_id, key_id",
        )
        .fetch_all(&self.control)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(t, k, w)| (crate::domain::TenantId(t), k, w))
            .collect())
    }

    async fn snapshot(&self, to: &std::path::Path) -> crate::store::Result<()> {
        let pool = match &self.control {
            db::Pool::Sqlite(pool) => pool,
            db::Pool::Postgres(pool) => {
                // A control connection (the login role, which owns the control
                // schema) taken out of the pool and closed after: a copy cut short
                // leaves a connection no pool should get back.
                let mut conn = pool.acquire().await?.detach();
                let result = crate::store::postgres::dump::dump(
                    &mut conn,
                    crate::store::postgres::CONTROL_SCHEMA,
                    &["backup_keys"],
                    to,
                )
                .await;
                let _ = sqlx::Connection::close(conn).await;
                return result;
            }
        };
        {
            let mut conn = pool.acquire().await?;
            super::super::sqlite::vacuum_into(&mut conn, to).await?;
        }
        // The copy without the backup keys, vacuumed so their bytes are gone, and
        // closed in rollback-journal mode: everything is in the one file before it is
        // encrypted (no write-ahead log left beside it).
        let mut conn = super::super::sqlite::open_file(to).await?;
        sqlx::raw_sql(
            "DELETE FROM backup_keys; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; VACUUM;",
        )
        .execute(&mut conn)
        .await?;
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM backup_keys")
            .fetch_one(&mut conn)
            .await?;
        sqlx::Connection::close(conn).await?;
        if left != 0 {
            return Err(crate::store::StoreError::Corrupt(
                "the backup keys are still in the control copy".into(),
            ));
        }
        Ok(())
    }

    async fn setting(&self, name: &str) -> crate::store::Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = db::query_as("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.control)
            .await?;
        Ok(row.map(|r| r.0))
    }

    async fn delete_setting(&self, name: &str) -> crate::store::Result<()> {
        self.run(db::query("DELETE FROM settings WHERE name = $1").bind(name))
            .await?;
        Ok(())
    }

    async fn init_setting(&self, name: &str, value: &[u8]) -> crate::store::Result<Vec<u8>> {
        let q = db::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        );
        self.run(q.bind(name).bind(value)).await?;
        self.setting(name)
            .await?
            .ok_or_else(|| crate::store::sql::corrupt("setting vanished after insert"))
    }

    async fn insert_tenant(&self, t: &crate::domain::school::Tenant) -> crate::store::Result<()> {
        let res = db::query(
            "INSERT INTO tenants (id, slug, name, timezone, locale, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(t.id.0)
        .bind(t.slug.as_str())
        .bind(&t.name)
        .bind(t.timezone.as_str())
        .bind(t.locale.as_str())
        .bind(t.status.as_str())
        .bind(t.created_at)
        .execute(&self.control)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(crate::store::StoreError::TenantExists(t.slug.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn set_tenant_status(
        &self,
        id: crate::domain::TenantId,
        status: crate::domain::school::TenantStatus,
    ) -> crate::store::Result<()> {
        let q = db::query("UPDATE tenants SET status = $2 WHERE id = $1");
        self.run(q.bind(id.0).bind(status.as_str())).await?;
        Ok(())
    }

    async fn tenants(&self) -> crate::store::Result<Vec<crate::domain::school::Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} ORDER BY slug");
        let rows: Vec<TenantRow> = db::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.control)
            .await?;
        rows.into_iter().map(tenant_from_row).collect()
    }

    async fn tenant_by_slug(
        &self,
        slug: &str,
    ) -> crate::store::Result<Option<crate::domain::school::Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} WHERE slug = $1");
        let row: Option<TenantRow> = db::query_as(sqlx::AssertSqlSafe(sql))
            .bind(slug)
            .fetch_optional(&self.control)
            .await?;
        row.map(tenant_from_row).transpose()
    }

    async fn delete_tenant(&self, id: crate::domain::TenantId) -> crate::store::Result<()> {
        self.write(async |tx| delete_tenant_rows(tx, id).await)
            .await
    }

    async fn insert_tenant_key(&self, k: &crate::store::TenantKeyRow) -> crate::store::Result<()> {
        let q = db::query(
            "INSERT INTO tenant_keys (tenant_id, purpose, key_id, wrapped, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        );
        let q = q.bind(k.tenant_id.0).bind(k.purpose.as_str());
        let q = q.bind(i64::from(k.key_id)).bind(&k.wrapped);
        self.run(q.bind(k.state.as_str()).bind(k.created_at))
            .await?;
        Ok(())
    }

    async fn tenant_keys(
        &self,
        id: crate::domain::TenantId,
    ) -> crate::store::Result<Vec<crate::store::TenantKeyRow>> {
        let rows: Vec<(String, i64, Vec<u8>, String, chrono::DateTime<chrono::Utc>)> = db::query_as(
            "SELECT purpose, CAST(key_id AS BIGINT), wrapped, state, created_at FROM tenant_keys \
             WHERE tenant_id = $1 ORDER BY purpose, key_id",
        )
        .bind(id.0)
        .fetch_all(&self.control)
        .await?;
        rows.into_iter()
            .map(|(purpose, key_id, wrapped, state, created_at)| {
                Ok(crate::store::TenantKeyRow {
                    tenant_id: id,
                    purpose: crate::store::KeyPurpose::parse(&purpose)
                        .ok_or_else(|| crate::store::sql::corrupt("key purpose"))?,
                    key_id: u32::try_from(key_id).map_err(crate::store::sql::corrupt)?,
                    wrapped,
                    state: crate::store::KeyState::parse(&state)
                        .ok_or_else(|| crate::store::sql::corrupt("key state"))?,
                    created_at,
                })
            })
            .collect()
    }

    async fn activate_data_key(
        &self,
        id: crate::domain::TenantId,
        new_active: u32,
    ) -> crate::store::Result<()> {
        self.write(async |tx| {
            db::query(
                "UPDATE tenant_keys SET state = 'decrypt_only' \
                 WHERE tenant_id = $1 AND purpose = 'data' AND state = 'active' AND key_id <> $2",
            )
            .bind(id.0)
            .bind(i64::from(new_active))
            .execute(&mut *tx)
            .await?;
            let done = db::query(
                "UPDATE tenant_keys SET state = 'active' WHERE tenant_id = $1 AND purpose = 'data' AND key_id = $2",
            )
            .bind(id.0)
            .bind(i64::from(new_active))
            .execute(tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(crate::store::sql::corrupt(
                    "the key to activate does not exist",
                ));
            }
            Ok(())
        })
        .await
    }

    async fn set_key_state(
        &self,
        id: crate::domain::TenantId,
        purpose: crate::store::KeyPurpose,
        key_id: u32,
        state: crate::store::KeyState,
    ) -> crate::store::Result<()> {
        let q = db::query(
            "UPDATE tenant_keys SET state = $4 WHERE tenant_id = $1 AND purpose = $2 AND key_id = $3",
        );
        let q = q.bind(id.0).bind(purpose.as_str()).bind(i64::from(key_id));
        self.run(q.bind(state.as_str())).await?;
        Ok(())
    }

    async fn delete_tenant_key(
        &self,
        id: crate::domain::TenantId,
        purpose: crate::store::KeyPurpose,
        key_id: u32,
    ) -> crate::store::Result<()> {
        let q = db::query(
            "DELETE FROM tenant_keys WHERE tenant_id = $1 AND purpose = $2 AND key_id = $3 AND state <> 'active'",
        );
        self.run(q.bind(id.0).bind(purpose.as_str()).bind(i64::from(key_id)))
            .await?;
        Ok(())
    }

    async fn insert_channel(
        &self,
        c: &crate::store::ChannelRow,
        replace_pending: bool,
    ) -> crate::store::Result<()> {
        let mut tx = self.control.begin().await?;
        // A claim of a route that is active already is refused whoever makes it
        // (only active routes are unique in the schema).
        let (active,): (i64,) = db::query_as(
            "SELECT COUNT(*) FROM channel_accounts WHERE provider = $1 AND route_key = $2 AND status = 'active'",
        )
        .bind(c.provider.as_str())
        .bind(&c.route_key)
        .fetch_one(&mut *tx)
        .await?;
        if active > 0 {
            return Err(crate::store::StoreError::Conflict(format!(
                "a {} channel with that number or route already exists",
                c.provider
            )));
        }
        if replace_pending {
            db::query(
                "DELETE FROM channel_accounts WHERE provider = $1 AND route_key = $2 AND status = 'pending'",
            )
            .bind(c.provider.as_str())
            .bind(&c.route_key)
            .execute(&mut *tx)
            .await?;
        }
        let res = db::query(
            "INSERT INTO channel_accounts (id, tenant_id, provider, route_key, api_base, credentials_enc, \
             created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id)
        .bind(c.tenant_id.0)
        .bind(c.provider.as_str())
        .bind(&c.route_key)
        .bind(&c.api_base)
        .bind(&c.credentials_enc)
        .bind(c.created_at)
        .bind(c.status.as_str())
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(crate::store::StoreError::Conflict(format!(
                    "a {} channel with that number or route already exists",
                    c.provider
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn channels(&self) -> crate::store::Result<Vec<crate::store::ChannelRow>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(uuid::Uuid, uuid::Uuid, String, String, String, Vec<u8>, chrono::DateTime<chrono::Utc>, String)> =
            db::query_as(
                "SELECT id, tenant_id, provider, route_key, api_base, credentials_enc, created_at, status \
                 FROM channel_accounts ORDER BY created_at, id",
            )
            .fetch_all(&self.control)
            .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    tenant,
                    provider,
                    route_key,
                    api_base,
                    credentials_enc,
                    created_at,
                    status,
                )| {
                    Ok(crate::store::ChannelRow {
                        id,
                        tenant_id: crate::domain::TenantId(tenant),
                        provider: provider.parse().map_err(crate::store::sql::corrupt)?,
                        route_key,
                        api_base,
                        credentials_enc,
                        created_at,
                        status: crate::store::ChannelStatus::parse(&status)
                            .ok_or_else(|| crate::store::sql::corrupt("channel status"))?,
                    })
                },
            )
            .collect()
    }

    async fn approve_channel(&self, id: uuid::Uuid) -> crate::store::Result<bool> {
        let res = db::query(
            "UPDATE channel_accounts SET status = 'active' WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&self.control)
        .await;
        match res {
            Ok(done) => Ok(done.rows_affected() == 1),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(crate::store::StoreError::Conflict(
                    "another channel has that number or route".into(),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn put_setting(&self, name: &str, value: &[u8]) -> crate::store::Result<()> {
        let q = db::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        );
        self.run(q.bind(name).bind(value)).await?;
        Ok(())
    }

    async fn replace_channel_credentials(
        &self,
        id: uuid::Uuid,
        old: &[u8],
        new: &[u8],
    ) -> crate::store::Result<bool> {
        let q = db::query(
            "UPDATE channel_accounts SET credentials_enc = $3 WHERE id = $1 AND credentials_enc = $2",
        );
        Ok(self.run(q.bind(id).bind(old).bind(new)).await? == 1)
    }

    async fn ping(&self) -> crate::store::Result<()> {
        self.run(db::query("SELECT 1")).await?;
        Ok(())
    }

    async fn record_flow_versions(
        &self,
        versions: &[(String, String, String)],
    ) -> crate::store::Result<()> {
        self.write(async |tx| {
            for (id, hash, source) in versions {
                db::query(
                    "INSERT INTO flow_versions (flow_id, hash, source, first_seen) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (flow_id, hash) DO NOTHING",
                )
                .bind(id)
                .bind(hash)
                .bind(source)
                .bind(chrono::Utc::now())
                .execute(&mut *tx)
                .await?;
            }
            Ok(())
        })
        .await
    }

    async fn flow_versions(&self) -> crate::store::Result<Vec<(String, String, String)>> {
        Ok(
            db::query_as("SELECT flow_id, hash, source FROM flow_versions ORDER BY first_seen")
                .fetch_all(&self.control)
                .await?,
        )
    }
}
