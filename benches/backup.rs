//! Backup and restore of the realistic school (`common/school.rs`: 2,000 students,
//! 3,500 guardians, 20,000 fee lines, ≈520,000 attendance marks), each measured
//! beside a reference taken in the same run on the same data:
//! * SQLite: `raabta backup` (VACUUM INTO on a connection of its own, then chunked
//!   AES-256-GCM) against a plain file copy of the school's database;
//! * PostgreSQL: against `pg_dump --format=custom` of the school's schema, and the
//!   restore against `pg_restore` of that dump into another database.
//!
//! `scripts/backup-bench.sh sqlite|postgres` makes (and drops) the databases:
//! `RAABTA_DATABASE_URL` (the source, a superuser URL), `RAABTA_BENCH_RESTORE_URL`
//! and `RAABTA_BENCH_REFERENCE_URL` (empty databases). `BACKUP_ROUNDS` (default 5).

#[path = "common/school.rs"]
mod school;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// `pg_dump`/`pg_restore` arguments for a URL (host, port, user, database).
fn pg_args(url: &str) -> Vec<String> {
    use sqlx::postgres::PgConnectOptions;
    use std::str::FromStr;
    let o = PgConnectOptions::from_str(url).expect("postgres url");
    vec![
        "--host".into(),
        o.get_host().to_string(),
        "--port".into(),
        o.get_port().to_string(),
        "--username".into(),
        o.get_username().to_string(),
        "--dbname".into(),
        o.get_database().unwrap_or("postgres").to_string(),
    ]
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("the PostgreSQL client tools are installed");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = raabta::config::Config::in_dir(&dir.path().join("source"));
        config.seed_demo = false;
        let source_url = std::env::var("RAABTA_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"));
        if let Some(url) = &source_url {
            config.database_url = raabta::domain::Secret::new(url.clone());
        }
        let rounds: usize = std::env::var("BACKUP_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        let app = raabta::app::App::build(config.clone()).await.expect("app");
        let school = school::seed(&app).await;
        let id = school.tenant.id;
        let out = dir.path().join("backups");
        let reference = dir.path().join("reference");
        std::fs::create_dir_all(&reference).expect("reference dir");

        // Ours and the reference, alternated.
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut last = None;
        for round in 0..rounds {
            let t = Instant::now();
            let report = raabta::backup::take(&app, &out, &|_| {})
                .await
                .expect("backup");
            ours.push(t.elapsed());
            let target = reference.join(format!("{round}"));
            let t = Instant::now();
            match &source_url {
                None => {
                    let file = config
                        .data_dir
                        .join("schools")
                        .join(format!("{}.db", id.0.simple()));
                    std::fs::copy(&file, &target).expect("copy");
                }
                Some(url) => run(Command::new("pg_dump")
                    .args(pg_args(url))
                    .arg("--format=custom")
                    .arg(format!(
                        "--schema={}",
                        raabta::store::postgres::school_ident(id)
                    ))
                    .arg("--file")
                    .arg(&target)),
            }
            theirs.push(t.elapsed());
            last = Some((report, target));
        }
        let (report, target) = last.expect("one round");
        let part = report
            .manifest
            .schools
            .iter()
            .find(|s| s.id == id)
            .expect("the school's part");
        let reference_name = if source_url.is_some() {
            "pg_dump -Fc of the schema"
        } else {
            "copy of the school's file"
        };
        println!(
            "backup, median of {rounds}: {} ms (school part {} KiB encrypted); {reference_name}: {} ms ({} KiB); ratio {:.2}",
            ms(median(ours.clone())),
            part.part.bytes / 1024,
            ms(median(theirs.clone())),
            size(&target) / 1024,
            median(ours).as_secs_f64() / median(theirs).as_secs_f64()
        );

        // The restore, once (on PostgreSQL it needs a server without the source's
        // roles, so the source goes first), beside the reference's restore.
        let keys = raabta::backup::export_keys(&app).await.expect("keys");
        let mut restore_config = raabta::config::Config::in_dir(&dir.path().join("restored"));
        restore_config.master_key = Some(raabta::domain::Secret::new(
            config.master_key().expect("master").to_base64(),
        ));
        drop(school);
        drop(app);
        let reference_restore = match &source_url {
            None => {
                let t = Instant::now();
                std::fs::copy(&target, reference.join("restored.db")).expect("copy");
                t.elapsed()
            }
            Some(url) => {
                let restore = std::env::var("RAABTA_BENCH_RESTORE_URL").expect("restore URL");
                let other = std::env::var("RAABTA_BENCH_REFERENCE_URL").expect("reference URL");
                restore_config.database_url = raabta::domain::Secret::new(restore);
                drop_source(url).await;
                let t = Instant::now();
                run(Command::new("pg_restore")
                    .args(pg_args(&other))
                    .arg("--no-owner")
                    .arg("--no-privileges")
                    .arg(&target));
                t.elapsed()
            }
        };
        let t = Instant::now();
        let restored = raabta::backup::restore(&restore_config, &report.dir, &keys)
            .await
            .expect("restore");
        let took = t.elapsed();
        assert_eq!(restored.schools, vec!["bench".to_string()]);
        let reference_name = if source_url.is_some() {
            "pg_restore of the dump"
        } else {
            "copy of the file"
        };
        println!(
            "restore: {} ms; {reference_name}: {} ms; ratio {:.2}",
            ms(took),
            ms(reference_restore),
            took.as_secs_f64() / reference_restore.as_secs_f64()
        );
        // The restored school answers.
        let restored = raabta::app::App::build(restore_config)
            .await
            .expect("restored app");
        let s = restored.tenancy.school("bench").await.expect("school");
        assert_eq!(
            s.store.students().await.expect("students").len(),
            school::STUDENTS
        );
    });
}

/// Drops the source database and the school roles it made (roles are the server's:
/// the restore refuses while they exist).
async fn drop_source(url: &str) {
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;
    let source = PgConnectOptions::from_str(url).expect("url");
    let db = source.get_database().expect("database").to_string();
    let mut conn = source.connect().await.expect("connect");
    let roles: Vec<(String,)> =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'school\\_%'")
            .fetch_all(&mut conn)
            .await
            .expect("schools");
    conn.close().await.expect("close");
    let mut admin = source
        .database("postgres")
        .connect()
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop source");
    for (role,) in roles {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE {role}")))
            .execute(&mut admin)
            .await
            .expect("drop role");
    }
}
