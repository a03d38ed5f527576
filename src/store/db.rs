//! The executor every query goes through: one query text (with `$n` placeholders) runs
//! on SQLite and PostgreSQL alike. `query` / `query_as` mirror sqlx's builders, but the
//! values bound are kept until the query meets a connection, and are then encoded for
//! that connection's backend; rows come back as [`Row`] and are decoded into tuples.
//!
//! This is the only place that knows there are two backends when running a query: a
//! port's function takes `&mut Conn` (a school transaction) or `&Pool` (the control
//! database) and does not care which it is. Which transaction a school gets (its role and
//! schema on PostgreSQL, the writer file on SQLite) and the few dialect differences are
//! the per-backend [`SchoolDb`] implementations (`sqlite/`, `postgres/`).

use super::Result;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::sqlite::{SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{Arguments as _, Decode, Encode, Postgres, Row as _, SqlSafeStr, SqlStr, Sqlite, Type};
use std::marker::PhantomData;

pub type DbResult<T> = std::result::Result<T, sqlx::Error>;

/// A school's database, as the ports see it: transactions bound to the school, and the
/// dialect's own statements. One implementation per backend.
#[async_trait::async_trait]
pub trait SchoolDb: Send + Sync {
    /// A transaction that may write (on SQLite the school's one writer).
    async fn begin(&self) -> Result<Tx>;
    /// A transaction that only reads (on SQLite the read-only pool, beside the writer).
    async fn begin_read(&self) -> Result<Tx>;
    /// What the connections are bound to (files, or role and schema), for tests.
    async fn identity(&self) -> Result<Vec<String>>;
    fn dialect(&self) -> &'static Dialect;
    /// Writes what the write-ahead log holds into the database and empties the log
    /// (SQLite; after an erasure, so no copy of a deleted page stays in the log).
    /// PostgreSQL: nothing (its WAL is the server's; see docs/PRIVACY.md).
    async fn checkpoint(&self) -> Result<()>;
}

/// The statements that differ between the backends.
pub struct Dialect {
    /// Locks one conversation for the rest of the transaction, returning its id, or no
    /// row if another worker holds it.
    pub lock_conversation: &'static str,
    /// The lock clause of the job claim's inner select ("" where one writer is enough).
    pub claim_lock: &'static str,
}

/// A connection inside a transaction, on either backend.
pub enum Conn {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A transaction. Ports take `&mut *tx` (a [`Conn`]); it is committed or rolled back
/// as a whole (dropped: rolled back).
pub struct Tx(Conn);

impl Tx {
    pub fn sqlite(tx: sqlx::Transaction<'static, Sqlite>) -> Self {
        Tx(Conn::Sqlite(tx))
    }
    pub fn postgres(tx: sqlx::Transaction<'static, Postgres>) -> Self {
        Tx(Conn::Postgres(tx))
    }
    pub async fn commit(self) -> DbResult<()> {
        match self.0 {
            Conn::Sqlite(tx) => tx.commit().await,
            Conn::Postgres(tx) => tx.commit().await,
        }
    }
    pub async fn rollback(self) -> DbResult<()> {
        match self.0 {
            Conn::Sqlite(tx) => tx.rollback().await,
            Conn::Postgres(tx) => tx.rollback().await,
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

/// A pool used outside school transactions (the control database).
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::postgres(p.begin().await?),
        })
    }
}

/// Where a query runs: a transaction or a pool.
pub enum Exec<'e> {
    Conn(&'e mut Conn),
    Pool(&'e Pool),
}

impl<'e> From<&'e mut Conn> for Exec<'e> {
    fn from(c: &'e mut Conn) -> Self {
        Exec::Conn(c)
    }
}

impl<'e> From<&'e mut Tx> for Exec<'e> {
    fn from(tx: &'e mut Tx) -> Self {
        Exec::Conn(&mut tx.0)
    }
}

impl<'e> From<&'e Pool> for Exec<'e> {
    fn from(p: &'e Pool) -> Self {
        Exec::Pool(p)
    }
}

/// A value that can be bound on both backends.
trait Param: Send {
    fn add_sqlite(&self, args: &mut SqliteArguments) -> std::result::Result<(), BoxDynError>;
    fn add_postgres(&self, args: &mut PgArguments) -> std::result::Result<(), BoxDynError>;
}

struct Value<'q, T>(T, PhantomData<&'q ()>);

impl<'q, T> Param for Value<'q, T>
where
    T: Send + Sync + 'q,
    T: Encode<'q, Sqlite> + Type<Sqlite>,
    T: Encode<'q, Postgres> + Type<Postgres>,
{
    fn add_sqlite(&self, args: &mut SqliteArguments) -> std::result::Result<(), BoxDynError> {
        args.add(&self.0)
    }
    fn add_postgres(&self, args: &mut PgArguments) -> std::result::Result<(), BoxDynError> {
        args.add(&self.0)
    }
}

/// A query and its bound values, not yet run.
#[must_use = "a query does nothing until it is executed"]
pub struct Query<'q> {
    sql: SqlStr,
    params: Vec<Box<dyn Param + 'q>>,
}

/// A statement (or a query whose rows are not read).
pub fn query<'q>(sql: impl SqlSafeStr) -> Query<'q> {
    Query {
        sql: sql.into_sql_str(),
        params: Vec::new(),
    }
}

/// A query whose rows are read as `O` (a tuple of column types).
pub fn query_as<'q, O: FromRow>(sql: impl SqlSafeStr) -> QueryAs<'q, O> {
    QueryAs {
        inner: query(sql),
        row: PhantomData,
    }
}

/// What a statement changed.
pub struct Done(u64);

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.0
    }
}

fn arguments<A: Default>(
    params: Vec<Box<dyn Param + '_>>,
    add: impl Fn(&dyn Param, &mut A) -> std::result::Result<(), BoxDynError>,
) -> DbResult<A> {
    let mut args = A::default();
    for p in params {
        add(p.as_ref(), &mut args).map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

impl<'q> Query<'q> {
    pub fn bind<T>(mut self, value: T) -> Self
    where
        T: Send + Sync + 'q,
        T: Encode<'q, Sqlite> + Type<Sqlite>,
        T: Encode<'q, Postgres> + Type<Postgres>,
    {
        self.params.push(Box::new(Value(value, PhantomData)));
        self
    }

    pub async fn execute<'e>(self, on: impl Into<Exec<'e>>) -> DbResult<Done> {
        let Query { sql, params } = self;
        let n = match on.into() {
            Exec::Conn(Conn::Sqlite(tx)) => encoded::<Sqlite>(sql, params)?
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Exec::Conn(Conn::Postgres(tx)) => encoded::<Postgres>(sql, params)?
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Exec::Pool(Pool::Sqlite(pool)) => encoded::<Sqlite>(sql, params)?
                .execute(pool)
                .await?
                .rows_affected(),
            Exec::Pool(Pool::Postgres(pool)) => encoded::<Postgres>(sql, params)?
                .execute(pool)
                .await?
                .rows_affected(),
        };
        Ok(Done(n))
    }

    /// The rows, or (with `first`) at most the first one, read without fetching the rest.
    async fn rows<'e>(self, on: impl Into<Exec<'e>>, first: bool) -> DbResult<Vec<Row>> {
        let Query { sql, params } = self;
        Ok(match on.into() {
            Exec::Conn(Conn::Sqlite(tx)) => {
                let rows = fetch(encoded::<Sqlite>(sql, params)?, &mut **tx, first).await?;
                rows.into_iter().map(Row::Sqlite).collect()
            }
            Exec::Conn(Conn::Postgres(tx)) => {
                let rows = fetch(encoded::<Postgres>(sql, params)?, &mut **tx, first).await?;
                rows.into_iter().map(Row::Postgres).collect()
            }
            Exec::Pool(Pool::Sqlite(pool)) => {
                let rows = fetch(encoded::<Sqlite>(sql, params)?, pool, first).await?;
                rows.into_iter().map(Row::Sqlite).collect()
            }
            Exec::Pool(Pool::Postgres(pool)) => {
                let rows = fetch(encoded::<Postgres>(sql, params)?, pool, first).await?;
                rows.into_iter().map(Row::Postgres).collect()
            }
        })
    }
}

/// A backend whose arguments a [`Param`] adds itself to.
trait Bind: sqlx::Database {
    fn add(p: &dyn Param, args: &mut Self::Arguments) -> std::result::Result<(), BoxDynError>;
}

impl Bind for Sqlite {
    fn add(p: &dyn Param, args: &mut SqliteArguments) -> std::result::Result<(), BoxDynError> {
        p.add_sqlite(args)
    }
}

impl Bind for Postgres {
    fn add(p: &dyn Param, args: &mut PgArguments) -> std::result::Result<(), BoxDynError> {
        p.add_postgres(args)
    }
}

/// The query with its values encoded for backend `DB`.
fn encoded<DB: Bind>(
    sql: SqlStr,
    params: Vec<Box<dyn Param + '_>>,
) -> DbResult<sqlx::query::Query<'_, DB, DB::Arguments>>
where
    DB::Arguments: Default + sqlx::IntoArguments<DB>,
{
    Ok(sqlx::query_with(sql, arguments(params, DB::add)?))
}

/// Runs a query on one backend: its rows, or (with `first`) at most the first one.
async fn fetch<'c, DB, E>(
    q: sqlx::query::Query<'_, DB, DB::Arguments>,
    on: E,
    first: bool,
) -> DbResult<Vec<DB::Row>>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    E: sqlx::Executor<'c, Database = DB>,
{
    Ok(if first {
        q.fetch_optional(on).await?.into_iter().collect()
    } else {
        q.fetch_all(on).await?
    })
}

/// A query read as rows of `O`.
#[must_use = "a query does nothing until it is executed"]
pub struct QueryAs<'q, O> {
    inner: Query<'q>,
    row: PhantomData<fn() -> O>,
}

impl<'q, O: FromRow> QueryAs<'q, O> {
    pub fn bind<T>(mut self, value: T) -> Self
    where
        T: Send + Sync + 'q,
        T: Encode<'q, Sqlite> + Type<Sqlite>,
        T: Encode<'q, Postgres> + Type<Postgres>,
    {
        self.inner = self.inner.bind(value);
        self
    }

    pub async fn fetch_all<'e>(self, on: impl Into<Exec<'e>>) -> DbResult<Vec<O>> {
        self.inner
            .rows(on, false)
            .await?
            .iter()
            .map(O::from_row)
            .collect()
    }

    pub async fn fetch_optional<'e>(self, on: impl Into<Exec<'e>>) -> DbResult<Option<O>> {
        match self.inner.rows(on, true).await?.first() {
            Some(r) => Ok(Some(O::from_row(r)?)),
            None => Ok(None),
        }
    }

    pub async fn fetch_one<'e>(self, on: impl Into<Exec<'e>>) -> DbResult<O> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

/// A row from either backend.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    pub fn get<T: Column>(&self, i: usize) -> DbResult<T> {
        T::get(self, i)
    }
}

/// A column type both backends decode.
pub trait Column: Sized {
    fn get(row: &Row, i: usize) -> DbResult<Self>;
}

impl<T> Column for T
where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite>,
    T: for<'r> Decode<'r, Postgres> + Type<Postgres>,
{
    fn get(row: &Row, i: usize) -> DbResult<Self> {
        match row {
            Row::Sqlite(r) => r.try_get(i),
            Row::Postgres(r) => r.try_get(i),
        }
    }
}

/// A row read as a tuple of columns, in select order.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> DbResult<Self>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> DbResult<Self> {
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
