//! PostgreSQL backend: one schema and one role per school.
//!
//! Names (derived from the school id, documented in ARCHITECTURE.md):
//! * school schema and role: `school_<32 hex digits of the school id>`
//! * control schema: `raabta_control` (owned by the login role)
//! * serving role: `raabta_serving` (NOLOGIN, no privileges at all)
//!
//! Two pools share the login role from the URL:
//! * the control pool (search_path `raabta_control`) for the registry and for
//!   creating and dropping schools;
//! * the serving pool, whose connections run `SET ROLE raabta_serving` as soon as
//!   they connect. A school transaction then starts with `BEGIN; SET LOCAL ROLE
//!   school_…; SET LOCAL search_path TO school_…`, which end with the transaction. A query that forgets its
//!   school runs as `raabta_serving` and is refused.
//!
//! The login role must not be able to read school data by itself: it is either a
//! superuser (development only; refused with `RAABTA_ENV=production`) or has
//! `NOINHERIT`, so membership in the school roles lets it switch to them but gives
//! it none of their privileges.

use super::crypto::KeyRing;
use super::db::{Dialect, Pool, SchoolDb, Tx};
use super::sql::{ControlDb, SchoolStore};
use super::{
    migrate, Backend, BackendKind, ConnectOptions, Partitions, Result, StoreError, TenantStore,
};
use crate::domain::TenantId;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub mod dump;

pub const CONTROL_SCHEMA: &str = "raabta_control";
pub const SERVING_ROLE: &str = "raabta_serving";

/// `school_<hex>`: the schema and role of one school. Only hex digits and `_`, so it
/// is safe to splice into DDL (identifiers cannot be bound as parameters).
pub fn school_ident(id: TenantId) -> String {
    format!("school_{}", id.0.simple())
}

/// The serving pool: every connection drops to `raabta_serving` (no privileges) as
/// soon as it connects, so only a school transaction (see [`PgSchool::begin`]) can
/// read school data. Public so the isolation tests check this exact configuration.
/// What a pool's new connection runs before it is used (its role, its search path).
async fn on_connect(conn: &mut sqlx::PgConnection, sql: String) -> sqlx::Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await?;
    Ok(())
}

pub fn serving_pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _| {
            Box::pin(on_connect(
                conn,
                format!("SET ROLE {SERVING_ROLE}; SET search_path TO pg_catalog"),
            ))
        })
}

pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Backend> {
    let base = options(url)?;

    // Bootstrap on one connection: check the login role, create the control schema
    // and the serving role, migrate the control schema.
    let mut conn = base.connect().await?;
    let (is_super, inherits, can_create_role): (bool, bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolinherit, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await?;
    if is_super {
        if opts.forbid_superuser {
            return Err(StoreError::UnsafeRole(
                "the database user is a superuser, which can read every school; use a NOINHERIT \
                 CREATEROLE login role in production (see ARCHITECTURE.md)"
                    .into(),
            ));
        }
        tracing::warn!(
            "connected to PostgreSQL as a superuser: school isolation is enforced by SET ROLE, \
             but a superuser can undo it; use a dedicated NOINHERIT login role in production"
        );
    } else {
        if inherits {
            return Err(StoreError::UnsafeRole(
                "the database user has INHERIT, so it would hold every school's privileges; \
                 run ALTER ROLE <user> NOINHERIT"
                    .into(),
            ));
        }
        if !can_create_role {
            return Err(StoreError::UnsafeRole(
                "the database user needs CREATEROLE to create one role per school".into(),
            ));
        }
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {CONTROL_SCHEMA}; \
         DO $$ BEGIN CREATE ROLE {SERVING_ROLE} NOLOGIN NOINHERIT; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;"
    )))
    .execute(&mut conn)
    .await?;
    if !is_super {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "GRANT {SERVING_ROLE} TO CURRENT_USER"
        )))
        .execute(&mut conn)
        .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET search_path TO {CONTROL_SCHEMA}"
    )))
    .execute(&mut conn)
    .await?;
    migrate::run_postgres(&mut conn, &migrate::CONTROL_POSTGRES, None).await?;
    conn.close().await?;

    let control = PgPoolOptions::new()
        .max_connections(4)
        .min_connections(0)
        .after_connect(|conn, _| {
            Box::pin(on_connect(
                conn,
                format!("SET search_path TO {CONTROL_SCHEMA}"),
            ))
        })
        .connect_with(base.clone())
        .await?;
    let serving = serving_pool_options().connect_lazy_with(base.clone());
    let store = Arc::new(ControlDb::new(Pool::Postgres(control.clone())));
    let partitions = Arc::new(PgPartitions {
        control,
        serving,
        base,
    });
    Ok(Backend {
        control: store,
        partitions,
        kind: BackendKind::Postgres,
    })
}

/// Whether the database at `url` holds no Raabta data yet (no control schema and no
/// school schema): the only kind of database a backup is restored into.
pub async fn is_empty(url: &str) -> Result<bool> {
    let mut conn = options(url)?.connect().await?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1 OR nspname LIKE 'school\\_%'",
    )
    .bind(CONTROL_SCHEMA)
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(n == 0)
}

/// The schools among `ids` whose role exists already on the server. Roles belong to
/// the whole server, not to one database: a restore beside the deployment it came
/// from (another database of the same server) would share them, and then neither
/// could drop a school (its role owning a schema in the other database).
pub async fn school_roles_taken(url: &str, ids: &[TenantId]) -> Result<Vec<String>> {
    let names: Vec<String> = ids.iter().map(|id| school_ident(*id)).collect();
    let mut conn = options(url)?.connect().await?;
    let taken: Vec<(String,)> = sqlx::query_as(
        "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname",
    )
    .bind(&names)
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok(taken.into_iter().map(|t| t.0).collect())
}

/// Loads a copy of the control schema (taken by the control store's `snapshot`) into
/// an empty database, before [`connect`] brings it to this binary's version.
pub async fn restore_control(url: &str, from: &std::path::Path) -> Result<()> {
    let header = dump::read_header(from).await?;
    header.check(&migrate::CONTROL_POSTGRES)?;
    if !is_empty(url).await? {
        return Err(StoreError::Conflict(
            "the database already holds Raabta data: restore into an empty database".into(),
        ));
    }
    let mut conn = options(url)?.connect().await?;
    // One transaction: the schema, its migrations up to the copy's version, the rows
    // and the mark that the restore is not finished (the deployment refuses to start
    // until every school is in) — a restore killed before it commits leaves nothing.
    let result = async {
        let mut tx = sqlx::Connection::begin(&mut conn).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA {CONTROL_SCHEMA}; SET LOCAL search_path TO {CONTROL_SCHEMA}"
        )))
        .execute(&mut *tx)
        .await?;
        migrate::run_postgres_within(&mut tx, &migrate::CONTROL_POSTGRES, Some(header.version()))
            .await?;
        dump::load_within(&mut tx, CONTROL_SCHEMA, &["backup_keys"], from).await?;
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2)")
            .bind(crate::store::tenancy::RESTORE_INCOMPLETE)
            .bind(b"1".as_slice())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<(), StoreError>(())
    }
    .await;
    let _ = conn.close().await;
    result.map(|_| ())
}

fn options(url: &str) -> Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|_| {
            StoreError::BadUrl("not a valid postgres:// URL (the value is not shown)".into())
        })?
        .application_name("raabta"))
}

pub struct PgPartitions {
    control: PgPool,
    serving: PgPool,
    base: PgConnectOptions,
}

impl PgPartitions {
    /// A fresh connection acting as the school's own role, for migrations.
    async fn school_connection(&self, id: TenantId) -> Result<PgConnection> {
        let ident = school_ident(id);
        let mut conn = self.base.connect().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET ROLE {ident}; SET search_path TO {ident}"
        )))
        .execute(&mut conn)
        .await?;
        Ok(conn)
    }
}

#[async_trait]
impl Partitions for PgPartitions {
    /// A new schema grants nothing to PUBLIC; only its owner (the school role) can
    /// use it, and the login role can only switch to that role, not act as it.
    async fn create(&self, id: TenantId) -> Result<()> {
        let ident = school_ident(id);
        let mut tx = self.control.begin().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DO $$ BEGIN CREATE ROLE {ident} NOLOGIN NOINHERIT; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
             GRANT {ident} TO CURRENT_USER; \
             CREATE SCHEMA IF NOT EXISTS {ident} AUTHORIZATION {ident};"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn migrate(&self, id: TenantId) -> Result<usize> {
        let mut conn = self.school_connection(id).await?;
        let applied = migrate::run_postgres(&mut conn, &migrate::SCHOOL_POSTGRES, None).await;
        // The connection carries the school's role: never return it to a pool.
        let _ = conn.close().await;
        applied
    }

    async fn drop_partition(&self, id: TenantId) -> Result<()> {
        let ident = school_ident(id);
        let mut tx = self.control.begin().await?;
        let role_exists: Option<(i32,)> =
            sqlx::query_as("SELECT 1 FROM pg_roles WHERE rolname = $1")
                .bind(&ident)
                .fetch_optional(&mut *tx)
                .await?;
        // Only the owner may drop the schema, and the login role does not inherit the
        // school role's rights: act as the school for the drop, then as ourselves.
        let drop_schema = if role_exists.is_some() {
            format!("SET LOCAL ROLE {ident}; DROP SCHEMA IF EXISTS {ident} CASCADE; RESET ROLE;")
        } else {
            format!("DROP SCHEMA IF EXISTS {ident} CASCADE;")
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "{drop_schema} DROP ROLE IF EXISTS {ident};"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn open(&self, id: TenantId, keys: Arc<KeyRing>) -> Result<Arc<dyn TenantStore>> {
        if keys.tenant() != id {
            return Err(StoreError::Corrupt(
                "key ring belongs to another school".into(),
            ));
        }
        Ok(Arc::new(SchoolStore::new(
            Box::new(PgSchool {
                pool: self.serving.clone(),
                ident: school_ident(id),
            }),
            keys,
        )))
    }

    fn describe(&self, id: TenantId) -> String {
        let ident = school_ident(id);
        format!("schema {ident}, role {ident}")
    }

    async fn snapshot(&self, id: TenantId, to: &std::path::Path) -> Result<()> {
        // A connection of its own, acting as the school: the copy's long read
        // transaction takes no serving connection.
        let mut conn = self.school_connection(id).await?;
        let result = dump::dump(&mut conn, &school_ident(id), &[], to).await;
        let _ = conn.close().await;
        result
    }

    async fn restore(&self, id: TenantId, from: &std::path::Path) -> Result<()> {
        let header = dump::read_header(from).await?;
        header.check(&migrate::SCHOOL_POSTGRES)?;
        let ident = school_ident(id);
        let (schema, role): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), \
             EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
        )
        .bind(&ident)
        .fetch_one(&self.control)
        .await?;
        if schema {
            return Err(StoreError::Conflict(format!(
                "schema {ident} exists already: restore into an empty database"
            )));
        }
        if role {
            return Err(StoreError::Conflict(format!(
                "role {ident} exists already on this server (roles are the server's): restore \
                 onto a server without the deployment the backup came from"
            )));
        }
        self.create(id).await?;
        let mut conn = self.school_connection(id).await?;
        // One transaction: the tables at the copy's version, the rows, the newer
        // migrations.
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut conn).await?;
            migrate::run_postgres_within(
                &mut tx,
                &migrate::SCHOOL_POSTGRES,
                Some(header.version()),
            )
            .await?;
            dump::load_within(&mut tx, &ident, &[], from).await?;
            migrate::run_postgres_within(&mut tx, &migrate::SCHOOL_POSTGRES, None).await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        let _ = conn.close().await;
        result.map(|_| ())
    }

    fn open_pools(&self) -> usize {
        0
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.serving).await?;
        Ok(())
    }
}

/// One school's schema, reached through the shared serving pool.
pub struct PgSchool {
    pool: PgPool,
    ident: String,
}

static DIALECT: Dialect = Dialect {
    // NO KEY UPDATE: the key-share locks taken by concurrent inbound inserts (their
    // foreign key to the conversation) do not make the worker skip it.
    lock_conversation: "SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED",
    claim_lock: "FOR UPDATE SKIP LOCKED",
};

#[async_trait]
impl SchoolDb for PgSchool {
    /// A transaction bound to this school: its role and schema, for this transaction only.
    async fn begin(&self) -> Result<Tx> {
        // One round trip: BEGIN and the two SET LOCALs travel as one simple query. The
        // identifier is `school_` + hex digits (see `school_ident`), safe to splice.
        Ok(Tx::postgres(
            self.pool
                .begin_with(sqlx::AssertSqlSafe(format!(
                    "BEGIN; SET LOCAL ROLE {0}; SET LOCAL search_path TO {0}",
                    self.ident
                )))
                .await?,
        ))
    }

    async fn begin_read(&self) -> Result<Tx> {
        self.begin().await
    }

    async fn identity(&self) -> Result<Vec<String>> {
        let mut tx = self.begin_read().await?;
        let (user, schema): (String, String) =
            super::db::query_as("SELECT current_user::text, current_schema()::text")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(vec![user, schema])
    }

    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    async fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
}
