//! Test harness: a fresh database per test, on SQLite or PostgreSQL.
//!
//! PostgreSQL: every test gets its own database and its own login role, created with
//! exactly the privileges production uses (LOGIN NOINHERIT CREATEROLE, CREATE on the
//! database; not a superuser). The admin connection comes from
//! `RAABTA_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When the server cannot be reached: outside CI the test is skipped with a loud
//! message; with `CI=true` it fails.

#![allow(dead_code)]

use raabta::app::App;
use raabta::application::Application;
use raabta::config::Config;
use raabta::domain::school::NewTenant;
use raabta::store::tenancy::School;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::str::FromStr;
use tempfile::TempDir;

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_pg_url() -> String {
    std::env::var("RAABTA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

pub struct PgFixture {
    pub admin_url: String,
    pub database: String,
    pub login_role: String,
    pub password: String,
}

impl PgFixture {
    pub fn admin_options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.admin_url)
            .expect("admin url")
            .database(&self.database)
    }

    pub fn app_options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.admin_url)
            .expect("admin url")
            .database(&self.database)
            .username(&self.login_role)
            .password(&self.password)
    }

    pub fn app_url(&self) -> String {
        let o = self.app_options();
        format!(
            "postgres://{}:{}@{}:{}/{}",
            self.login_role,
            self.password,
            o.get_host(),
            o.get_port(),
            self.database
        )
    }

    /// A plain `pg_dump` of the whole test database (what an attacker with the
    /// database's files would read).
    pub fn dump(&self) -> Vec<u8> {
        let o = self.admin_options();
        let out = std::process::Command::new("pg_dump")
            .arg("--host")
            .arg(o.get_host())
            .arg("--port")
            .arg(o.get_port().to_string())
            .arg("--username")
            .arg(o.get_username())
            .arg("--dbname")
            .arg(&self.database)
            .output()
            .expect("pg_dump runs (postgresql-client is installed with PostgreSQL)");
        assert!(
            out.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// An admin (superuser) connection to the test database.
    pub async fn admin(&self) -> PgConnection {
        self.admin_options()
            .connect()
            .await
            .expect("admin connection")
    }

    pub async fn create() -> Self {
        let admin_url = admin_pg_url();
        let mut admin = match PgConnectOptions::from_str(&admin_url) {
            Ok(o) => match o.connect().await {
                Ok(c) => c,
                Err(e) => unreachable_pg(&e.to_string()),
            },
            Err(e) => unreachable_pg(&e.to_string()),
        };
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("raabta_t_{}", &tag[..16]);
        let password = uuid::Uuid::new_v4().simple().to_string();
        for stmt in [
            format!("CREATE ROLE {name} LOGIN NOINHERIT CREATEROLE PASSWORD '{password}'"),
            format!("CREATE DATABASE {name}"),
            format!("GRANT CONNECT, CREATE ON DATABASE {name} TO {name}"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(stmt))
                .execute(&mut admin)
                .await
                .expect("pg setup");
        }
        let _ = admin.close().await;
        Self {
            admin_url,
            database: name.clone(),
            login_role: name,
            password,
        }
    }

    /// Drops the database, the school roles this login role created, and the login role
    /// (again when dropped: it is idempotent).
    pub fn destroy(&self) {
        let admin_url = self.admin_url.clone();
        let db = self.database.clone();
        let role = self.login_role.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let Ok(mut admin) = PgConnectOptions::from_str(&admin_url).expect("url").connect().await else {
                    return;
                };
                let schools: Vec<(String,)> = sqlx::query_as(
                    "SELECT r.rolname::text FROM pg_roles r JOIN pg_auth_members m ON m.roleid = r.oid \
                     JOIN pg_roles l ON l.oid = m.member WHERE l.rolname = $1 AND r.rolname LIKE 'school\\_%'",
                )
                .bind(&role)
                .fetch_all(&mut admin)
                .await
                .unwrap_or_default();
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await;
                for (school,) in schools {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {school}")))
                        .execute(&mut admin)
                        .await;
                }
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
                    .execute(&mut admin)
                    .await;
            });
        })
        .join();
    }
}

impl Drop for PgFixture {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// A PostgreSQL test that cannot reach its server fails: it is never reported as passed.
/// Without a server, `RAABTA_TEST_POSTGRES=off` marks these tests ignored (not in CI).
fn unreachable_pg(reason: &str) -> ! {
    panic!(
        "PostgreSQL is unreachable at {} ({reason}). Start it, set RAABTA_TEST_POSTGRES_URL, \
         or build the tests with RAABTA_TEST_POSTGRES=off to report these tests as ignored \
         (CI=true ignores that switch).",
        admin_pg_url()
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The service built as `raabta serve` builds it ([`Application::build`]) on a fresh
/// database, not listening (tests call its router in-process) and not started (tests run
/// the worker's passes themselves, unless they call `application.start()`).
pub struct TestEnv {
    pub application: Application,
    pub app: App,
    pub dir: TempDir,
    pub pg: Option<PgFixture>,
    pub kind: Kind,
}

pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::in_dir(dir);
    config.key_cache_seconds = 0;
    // The URL the webhook fixtures were signed for.
    config.public_url = "https://raabta.test".into();
    // Tests that want the demo school seed it themselves.
    config.seed_demo = false;
    config
}

impl TestEnv {
    /// The service on `config` (a SQLite one unless its database URL says otherwise).
    pub async fn with_config(config: Config, dir: TempDir, pg: Option<PgFixture>) -> Self {
        let application = Application::build(config).await.expect("application");
        let kind = if pg.is_some() {
            Kind::Postgres
        } else {
            Kind::Sqlite
        };
        Self {
            app: application.app.clone(),
            application,
            dir,
            pg,
            kind,
        }
    }

    /// The service's router (the same admin state each time, so limits hold across
    /// calls).
    pub fn router(&self) -> axum::Router {
        self.application.router()
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = test_config(dir.path());
        Self::with_config(config, dir, None).await
    }

    pub async fn postgres() -> Self {
        let pg = PgFixture::create().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        config.database_url = raabta::domain::Secret::new(pg.app_url());
        Self::with_config(config, dir, Some(pg)).await
    }

    pub async fn new(kind: Kind) -> Self {
        match kind {
            Kind::Sqlite => Self::sqlite().await,
            Kind::Postgres => Self::postgres().await,
        }
    }

    pub async fn school(&self, slug: &str) -> School {
        let new = NewTenant::new(slug, &format!("School {slug}"), "Asia/Karachi", "en")
            .expect("new tenant");
        let tenant = self.app.tenancy.create(new).await.expect("create school");
        self.app.tenancy.open(tenant).await.expect("open school")
    }
}

/// Runs an async story on both backends, as two tests named `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($story:ident) => {
        mod $story {
            use $crate::support::{Kind, TestEnv};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let env = TestEnv::new(Kind::Sqlite).await;
                super::$story(&env).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
            async fn postgres() {
                let env = TestEnv::new(Kind::Postgres).await;
                super::$story(&env).await;
            }
        }
    };
}

pub const ROSTER: &str = "admission_no,student_name,class,section,branch,gender,date_of_birth,bform,health_notes,guardian_name,guardian_phone,guardian_relation,guardian_language,guardian_cnic,guardian_address\n\
A-1,عائشہ خان,Grade 5,A,Main,female,2015-04-12,35202-1234567-2,Asthma inhaler,عمران خان,0300 1110001,father,ur,35202-7654321-1,House 12 Street 4 Islamabad\n\
A-2,Bilal Khan,Grade 3,A,Main,male,2017-09-03,,,عمران خان,0300 1110001,father,ur,,\n\
A-2,Bilal Khan,Grade 3,A,Main,male,2017-09-03,,,Sana Imran,0301 1110002,mother,en,,\n\
A-3,Zainab Ali,Grade 5,B,North,female,,,,Ali Raza,0302 1110003,father,en,,\n";

pub const FEES: &str = "admission_no,period,description,amount,currency,due_date,paid_amount,paid_on,payment_reference\n\
A-1,2026-09,Tuition,8500,PKR,2026-09-10,8500,2026-09-08,HBL-1\n\
A-1,2026-10,Tuition,8500,PKR,2026-10-10,4000,2026-10-09,HBL-2\n\
A-2,2026-10,Tuition,7500.50,PKR,2026-10-10,,,\n";

/// Imports the standard test roster and fees into a school.
pub async fn load_roster_and_fees(school: &School) {
    use raabta::domain::activity::ActivityEntry;
    let rows = raabta::import::parse_roster(ROSTER.as_bytes(), Some("PK")).expect("roster parses");
    let act = ActivityEntry::now(
        "test",
        "roster.import",
        None,
        "test",
        serde_json::json!({ "rows": rows.len() }),
    );
    school
        .store
        .import_roster(&rows, &act, &())
        .await
        .expect("roster import");
    let students = school.store.student_ids_by_admission().await.expect("ids");
    let fees = raabta::import::parse_fees(FEES.as_bytes(), &students).expect("fees parse");
    let act = ActivityEntry::now(
        "test",
        "fees.import",
        None,
        "test",
        serde_json::json!({ "rows": fees.len() }),
    );
    school
        .store
        .import_fees(&fees, &students, &act, &())
        .await
        .expect("fees import");
}

/// The local language model for tests, loaded once per test process from
/// `RAABTA_MODELS_DIR` (else `./models`, where `scripts/fetch-models.sh` writes it).
/// Without it: with `CI=true` this fails (CI fetches the models); otherwise the caller
/// skips, and this says so loudly.
pub fn language_model(what: &str) -> Option<std::sync::Arc<raabta::nlu::Nlu>> {
    use std::sync::{Arc, OnceLock};
    static NLU: OnceLock<Result<Arc<raabta::nlu::Nlu>, String>> = OnceLock::new();
    let loaded = NLU.get_or_init(|| {
        let dir = std::env::var_os("RAABTA_MODELS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
        let lib = raabta::flow::Library::embedded().map_err(|e| e.to_string())?;
        let nlu = raabta::nlu::Nlu::new(
            lib.intents.clone(),
            Some(dir),
            Some(std::env::temp_dir().join("raabta-test-nlu-cache")),
        );
        match nlu.load_blocking() {
            raabta::nlu::service::Status::Ready => Ok(Arc::new(nlu)),
            other => Err(format!("{other:?}")),
        }
    });
    match loaded {
        Ok(n) => Some(n.clone()),
        Err(e) if matches!(std::env::var("CI").as_deref(), Ok("true" | "1")) => {
            panic!("{what}: the language model is required in CI and did not load: {e}")
        }
        Err(e) => {
            eprintln!(
                "\n*** SKIPPED (not passed): {what}: no language model ({e}); run scripts/fetch-models.sh ***\n"
            );
            None
        }
    }
}

/// The models directory tests use: `RAABTA_MODELS_DIR`, else `./models`.
pub fn models_dir() -> std::path::PathBuf {
    std::env::var_os("RAABTA_MODELS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

/// Runs the `raabta` binary on the data directory `data` with only `PATH` and the models
/// directory from this environment, `input` on its standard input.
pub fn raabta_with_input(
    data: &std::path::Path,
    args: &[&str],
    input: &str,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_raabta"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RAABTA_DATA_DIR", data)
        .env("RAABTA_MODELS_DIR", models_dir())
        .env("RAABTA_KEY_CACHE_SECONDS", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run raabta");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("raabta output")
}

/// The face models for tests, loaded once per test process from the models directory
/// (see [`models_dir`]). Without them: with `CI=true` this fails; otherwise the caller
/// skips, and this says so loudly.
pub fn face_service(what: &str) -> Option<std::sync::Arc<raabta::face::service::FaceService>> {
    use std::sync::{Arc, OnceLock};
    static FACE: OnceLock<Result<Arc<raabta::face::service::FaceService>, String>> =
        OnceLock::new();
    let loaded = FACE.get_or_init(|| {
        let service = raabta::face::service::FaceService::new(Some(models_dir()));
        service.models().map(|_| Arc::new(service))
    });
    match loaded {
        Ok(s) => Some(s.clone()),
        Err(e) if matches!(std::env::var("CI").as_deref(), Ok("true" | "1")) => {
            panic!("{what}: the face models are required in CI and did not load: {e}")
        }
        Err(e) => {
            eprintln!(
                "\n*** SKIPPED (not passed): {what}: no face models ({e}); run scripts/fetch-models.sh ***\n"
            );
            None
        }
    }
}

/// The labelled face photos beside the project (`../shared/face-data/deepface`):
/// required in CI, skipped loudly elsewhere.
pub fn face_photos(what: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/face-data/deepface");
    if dir.is_dir() {
        return Some(dir);
    }
    if matches!(std::env::var("CI").as_deref(), Ok("true" | "1")) {
        panic!("{what}: ../shared/face-data is required in CI");
    }
    eprintln!("\n*** SKIPPED (not passed): {what}: no ../shared/face-data ***\n");
    None
}
