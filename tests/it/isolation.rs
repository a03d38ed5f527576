//! Tenancy is enforced by the database, not only by application code.

use crate::support::{load_roster_and_fees, Kind, TestEnv};
use raabta::store::postgres::{school_ident, serving_pool_options, SERVING_ROLE};
use sqlx::{ConnectOptions, Connection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn postgres_roles_cannot_cross_schools() {
    let env = TestEnv::new(Kind::Postgres).await;
    let pg = env.pg.as_ref().unwrap();
    let a = env.school("school-a").await;
    let b = env.school("school-b").await;
    load_roster_and_fees(&a).await;
    load_roster_and_fees(&b).await;
    let (sa, sb) = (school_ident(a.tenant.id), school_ident(b.tenant.id));

    // The store for A runs as A's role in A's schema.
    assert_eq!(
        a.store.partition_identity().await.unwrap(),
        vec![sa.clone(), sa.clone()]
    );

    // A's role can read its own schema, and nothing of B's.
    let mut admin = pg.admin().await;
    let mut tx = admin.begin().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {sa}")))
        .execute(&mut *tx)
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {sa}.students"
    )))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(n, 3);
    let err = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {sb}.students")))
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    tx.rollback().await.unwrap();
    // ... nor the control schema with everyone's wrapped keys.
    let mut tx = admin.begin().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {sa}")))
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query("SELECT * FROM raabta_control.tenant_keys")
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    tx.rollback().await.unwrap();

    // The login role alone reads no school schema (NOINHERIT membership).
    let mut login = pg.app_options().connect().await.unwrap();
    for schema in [&sa, &sb] {
        let err = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM {schema}.guardians"
        )))
        .fetch_all(&mut login)
        .await
        .unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{err}");
    }
    let _ = login.close().await;

    // A serving connection that forgets to bind its school reads nothing.
    let pool = serving_pool_options()
        .max_connections(1)
        .connect_with(pg.app_options())
        .await
        .unwrap();
    let (who,): (String,) = sqlx::query_as("SELECT current_user::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(who, SERVING_ROLE);
    // Unqualified names resolve nowhere (search_path is pg_catalog only).
    let err = sqlx::query("SELECT * FROM students")
        .fetch_all(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {sa}.students")))
        .fetch_all(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    // SET LOCAL ends with its transaction: the next one is unscoped again.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('role', $1, true), set_config('search_path', $1, true)")
        .bind(&sa)
        .execute(&mut *tx)
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM students")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 3);
    tx.commit().await.unwrap();
    let (who,): (String,) = sqlx::query_as("SELECT current_user::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        who, SERVING_ROLE,
        "SET LOCAL ROLE must end with its transaction"
    );
    let err = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {sa}.students"
    )))
    .fetch_all(&pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    pool.close().await;

    // Purge drops the schema and the role.
    env.app.tenancy.purge("school-a", "test").await.unwrap();
    let (schemas, roles): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1), (SELECT COUNT(*) FROM pg_roles WHERE rolname = $1)",
    )
    .bind(&sa)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!((schemas, roles), (0, 0));
    assert_eq!(b.store.counts().await.unwrap().students, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn postgres_refuses_an_inheriting_login_role() {
    let env = TestEnv::new(Kind::Postgres).await;
    let pg = env.pg.as_ref().unwrap();
    let mut admin = pg.admin().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER ROLE {} INHERIT",
        pg.login_role
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let mut config = crate::support::test_config(env.dir.path());
    config.database_url = raabta::domain::Secret::new(pg.app_url());
    let err = raabta::app::App::build(config)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("NOINHERIT"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_school_queries_open_only_their_own_file() {
    let env = TestEnv::new(Kind::Sqlite).await;
    let a = env.school("file-a").await;
    let b = env.school("file-b").await;
    load_roster_and_fees(&a).await;
    let only_b = "admission_no,student_name,class\nB-1,Only In B,Grade 1\n";
    let rows = raabta::import::parse_roster(only_b.as_bytes(), Some("PK")).unwrap();
    let act = raabta::domain::activity::ActivityEntry::now(
        "t",
        "roster.import",
        None,
        "t",
        serde_json::json!({}),
    );
    b.store.import_roster(&rows, &act, &()).await.unwrap();
    let a_file = env
        .dir
        .path()
        .join("schools")
        .join(format!("{}.db", a.tenant.id.0.simple()));
    let b_file = env
        .dir
        .path()
        .join("schools")
        .join(format!("{}.db", b.tenant.id.0.simple()));
    let files = a.store.partition_identity().await.unwrap();
    assert!(!files.is_empty());
    for f in &files {
        assert_eq!(
            std::path::Path::new(f).canonicalize().unwrap(),
            a_file.canonicalize().unwrap()
        );
    }
    assert_eq!(b.store.counts().await.unwrap().students, 1);
    assert_eq!(a.store.counts().await.unwrap().students, 3);
    assert!(a
        .store
        .students()
        .await
        .unwrap()
        .iter()
        .all(|s| s.full_name != "Only In B"));
    assert_eq!(b.store.students().await.unwrap()[0].full_name, "Only In B");
    // B's file holds none of A's rows, read directly.
    let mut raw = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&b_file)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM students")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Purge removes the file.
    env.app.tenancy.purge("file-a", "test").await.unwrap();
    assert!(!a_file.exists());
    assert!(b_file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bounds_open_school_pools() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.max_open_schools = 2;
    let env = TestEnv::with_config(config, dir, None).await;
    let mut schools = Vec::new();
    for slug in ["one", "two", "three", "four"] {
        schools.push(env.school(slug).await);
    }
    // Every school still answers (evicted pools reopen on demand)...
    for slug in ["one", "two", "three", "four", "one"] {
        let s = env.app.tenancy.school(slug).await.unwrap();
        assert_eq!(s.store.counts().await.unwrap().students, 0);
    }
    // ...at most two are held open...
    assert!(env.app.tenancy.backend().partitions.open_pools() <= 2);
    // ...and handles taken before their pool was evicted keep working.
    for s in &schools {
        assert_eq!(s.store.counts().await.unwrap().students, 0);
    }
}
