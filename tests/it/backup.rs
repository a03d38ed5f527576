//! Encrypted backups (issue 19): taken while messages are being written, restored into
//! an empty data directory with every message acknowledged before it present; a backup
//! holds no plaintext; without a school's backup key (its closure destroys it) that
//! school's part cannot be read.

use crate::support::{load_roster_and_fees, test_config, Kind, PgFixture, TestEnv};
use raabta::domain::message::{InboundBody, InboundEvent, Provider, SenderId};
use raabta::domain::Secret;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn event(key: &str) -> InboundEvent {
    InboundEvent {
        provider_key: key.into(),
        sender: SenderId::new("923001110001"),
        sender_name: None,
        sent_at: None,
        body: InboundBody::Text {
            text: format!("message {key}"),
        },
    }
}

/// Provider keys stored in a restored school (its file, or its schema).
async fn keys_in(target: &Target, school: raabta::domain::TenantId) -> Vec<String> {
    match &target.pg {
        None => {
            let file = school_file(target, school);
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT provider_key FROM inbound_events")
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows.into_iter().map(|r| r.0).collect()
        }
        Some(pg) => {
            let mut admin = pg.admin().await;
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT provider_key FROM {}.inbound_events",
                raabta::store::postgres::school_ident(school)
            )))
            .fetch_all(&mut admin)
            .await
            .unwrap();
            rows.into_iter().map(|r| r.0).collect()
        }
    }
}

/// A school's tables, each as a digest of its rows, and its constraints (PostgreSQL;
/// nothing on SQLite, whose copy is the database file itself).
async fn fingerprint(
    pg: Option<&PgFixture>,
    school: raabta::domain::TenantId,
    sqlite_dir: &std::path::Path,
) -> Vec<(String, String)> {
    let Some(pg) = pg else {
        return sqlite_fingerprint(
            &sqlite_dir
                .join("schools")
                .join(format!("{}.db", school.0.simple())),
        )
        .await;
    };
    let mut admin = pg.admin().await;
    let schema = raabta::store::postgres::school_ident(school);
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 \
         AND tablename <> 'raabta_migrations' ORDER BY 1",
    )
    .bind(&schema)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let mut out = Vec::new();
    for (table,) in tables {
        let (rows, digest): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), md5(COALESCE(string_agg(t::text, ',' ORDER BY t::text), '')) \
             FROM {schema}.{table} t"
        )))
        .fetch_one(&mut admin)
        .await
        .unwrap();
        out.push((table, format!("{rows} {digest}")));
    }
    let constraints: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE n.nspname = $1 ORDER BY 1, 2",
    )
    .bind(&schema)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        constraints.iter().any(|c| c.2.starts_with("FOREIGN KEY")),
        "{constraints:?}"
    );
    out.extend(
        constraints
            .into_iter()
            .map(|(t, n, d)| (format!("{t}.{n}"), d)),
    );
    out
}

/// A SQLite school's tables, each as its rows (every column quoted, in rowid order)
/// digested, and its schema.
async fn sqlite_fingerprint(file: &std::path::Path) -> Vec<(String, String)> {
    use sha2::Digest;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let mut out = Vec::new();
    for (table, sql) in tables {
        let columns: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}')"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        let row = columns
            .iter()
            .map(|(c,)| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {row} FROM \"{table}\" ORDER BY rowid"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut h = sha2::Sha256::new();
        for (r,) in &rows {
            h.update(r.as_bytes());
            h.update(b"\n");
        }
        out.push((
            table,
            format!("{} {} {sql}", rows.len(), hex::encode(h.finalize())),
        ));
    }
    pool.close().await;
    out
}

/// Whether a deployment to restore into holds nothing yet.
async fn is_empty(target: &Target) -> bool {
    match &target.pg {
        None => !target.dir.path().join("control.db").exists(),
        Some(pg) => raabta::store::postgres::is_empty(&pg.app_url())
            .await
            .unwrap(),
    }
}

/// Whether a restored deployment holds a school's partition.
async fn has_partition(target: &Target, school: raabta::domain::TenantId) -> bool {
    match &target.pg {
        None => school_file(target, school).exists(),
        Some(pg) => {
            let mut admin = pg.admin().await;
            let (n,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
                    .bind(raabta::store::postgres::school_ident(school))
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            n == 1
        }
    }
}

fn school_file(target: &Target, school: raabta::domain::TenantId) -> std::path::PathBuf {
    target
        .dir
        .path()
        .join("schools")
        .join(format!("{}.db", school.0.simple()))
}

fn master_of(env: &TestEnv) -> String {
    match &env.app.config.master_key {
        Some(k) => k.expose().clone(),
        None => std::fs::read_to_string(env.dir.path().join("master.key")).unwrap(),
    }
}

/// An empty deployment of the same kind as `env` to restore into: a data directory,
/// and on PostgreSQL a database of its own (with its own login role).
struct Target {
    dir: tempfile::TempDir,
    config: raabta::config::Config,
    pg: Option<PgFixture>,
}

async fn restore_target(env: &TestEnv, master: &str) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.master_key = Some(Secret::new(master.trim().to_string()));
    let pg = match env.kind {
        Kind::Sqlite => None,
        Kind::Postgres => {
            let pg = PgFixture::create().await;
            config.database_url = Secret::new(pg.app_url());
            Some(pg)
        }
    };
    Target { dir, config, pg }
}

async fn a_backup_under_write_load_restores_every_acknowledged_message(env: &TestEnv) {
    let school = env.school("backup-a").await;
    load_roster_and_fees(&school).await;
    let other = env.school("backup-b").await;
    load_roster_and_fees(&other).await;

    // A writer acknowledging messages as fast as it can while the backup runs.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, acked, stop) = (school.store.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let channel = uuid::Uuid::now_v7();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let key = format!("meta:wamid.LOAD{n}");
                store
                    .record_inbound(channel, Provider::Meta, &[event(&key)], chrono::Utc::now())
                    .await
                    .unwrap();
                acked.lock().unwrap().push(key);
            }
        })
    };
    while acked.lock().unwrap().len() < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let out = env.dir.path().join("backups");
    let report = raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert_eq!(report.manifest.schools.len(), 2);
    assert!(
        acked.lock().unwrap().len() > before.len(),
        "messages were written while the backup ran"
    );

    // Nothing in the backup is readable as it stands.
    for e in std::fs::read_dir(&report.dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) == Some("bin") {
            let bytes = std::fs::read(&p).unwrap();
            for needle in [
                "Zainab Ali",
                "SQLite format",
                "message meta:wamid",
                "Asthma",
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle} in {}",
                    p.display()
                );
            }
        }
    }

    // The control part holds the schools and their wrapped keys, not the backup keys.
    let master = raabta::store::crypto::MasterKey::from_base64(master_of(env).trim()).unwrap();
    let control = env.dir.path().join("control-part.db");
    raabta::backup::decrypt_file(
        &master.derive("backup-control"),
        "control",
        &report.dir.join(&report.manifest.control.file),
        &control,
    )
    .unwrap();
    if env.kind == Kind::Sqlite {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", control.display()))
            .await
            .unwrap();
        let (keys,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM backup_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        let (schools,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tenants")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!((keys, schools), (0, 2));
        pool.close().await;
    } else {
        let header = raabta::store::postgres::dump::read_header(&control)
            .await
            .unwrap();
        let tables: Vec<&str> = header.tables.iter().map(|t| t.name.as_str()).collect();
        assert!(tables.contains(&"tenants") && tables.contains(&"tenant_keys"));
        assert!(!tables.contains(&"backup_keys"), "{tables:?}");
    }
    let raw = std::fs::read(&control).unwrap();
    for (id, _, wrapped) in env
        .app
        .tenancy
        .backend()
        .control
        .backup_keys()
        .await
        .unwrap()
    {
        // As bytes (SQLite) or as COPY's hex text (PostgreSQL).
        let hex = hex::encode(&wrapped);
        assert!(
            !raw.windows(wrapped.len()).any(|w| w == wrapped.as_slice())
                && !raw.windows(hex.len()).any(|w| w == hex.as_bytes()),
            "the backup key of {id} is in the control part"
        );
    }

    let keys = raabta::backup::export_keys(&env.app).await.unwrap();
    assert_eq!(keys.keys.len(), 2);
    // The school nobody wrote to during the backup, table by table, and its keys and
    // constraints (PostgreSQL: the restore makes the schema and re-adds the keys).
    let fingerprint_before = fingerprint(env.pg.as_ref(), other.tenant.id, env.dir.path()).await;
    let target = restore_target(env, &master_of(env)).await;
    if let Some(source) = &env.pg {
        // PostgreSQL: roles belong to the server; beside the deployment it came from,
        // refused before anything is written. After the old database is gone: restored.
        let err = raabta::backup::restore(&target.config, &report.dir, &keys)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("roles"), "{err}");
        assert!(is_empty(&target).await);
        source.destroy();
    }

    // Keys that do not open (each other's), or none of this backup's: refused before
    // anything is written.
    let partial = restore_target(env, &master_of(env)).await;
    let mut swapped = keys.clone();
    let first = swapped.keys[0].wrapped.clone();
    swapped.keys[0].wrapped = swapped.keys[1].wrapped.clone();
    swapped.keys[1].wrapped = first;
    let err = raabta::backup::restore(&partial.config, &report.dir, &swapped)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not open"), "{err}");
    let mut none = keys.clone();
    none.keys.clear();
    let err = raabta::backup::restore(&partial.config, &report.dir, &none)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("none of this backup's"), "{err}");
    assert!(is_empty(&partial).await);

    // A restore that fails part-way (the second school's part damaged, its checksum
    // made to match) leaves a deployment that refuses to start.
    let damaged = env.dir.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for e in std::fs::read_dir(&report.dir).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, damaged.join(p.file_name().unwrap())).unwrap();
    }
    let mut manifest = report.manifest.clone();
    let part = damaged.join(&manifest.schools[1].part.file);
    let mut bytes = std::fs::read(&part).unwrap();
    let at = bytes.len() - 20;
    bytes[at] ^= 1;
    std::fs::write(&part, &bytes).unwrap();
    manifest.schools[1].part.sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    std::fs::write(
        damaged.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let err = raabta::backup::restore(&partial.config, &damaged, &keys)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("part-way"), "{err}");
    assert!(!is_empty(&partial).await);
    // As a killed restore would: its plain copies are left, unlocked. The next start
    // removes them, then refuses.
    let killed = partial.dir.path().join("backup-work").join("restore-dead");
    std::fs::create_dir_all(&killed).unwrap();
    std::fs::write(killed.join(".lock"), b"").unwrap();
    std::fs::write(killed.join("school.db"), b"plain").unwrap();
    let err = raabta::app::App::build(partial.config.clone())
        .await
        .err()
        .expect("a part-restored deployment does not start");
    assert!(err.to_string().contains("did not finish"), "{err}");
    assert!(
        !killed.exists(),
        "a killed run's plain copies are swept at start"
    );
    drop(partial);

    // Restored into an empty deployment with the exported keys.
    let restored = raabta::backup::restore(&target.config, &report.dir, &keys)
        .await
        .unwrap();
    assert_eq!(restored.schools.len(), 2);
    assert_eq!(
        fingerprint(target.pg.as_ref(), other.tenant.id, target.dir.path()).await,
        fingerprint_before
    );
    let present = keys_in(&target, school.tenant.id).await;
    for k in &before {
        assert!(
            present.contains(k),
            "{k} was acknowledged before the backup"
        );
    }
    // The restored service serves the school, its data readable.
    let app = raabta::app::App::build(target.config.clone())
        .await
        .unwrap();
    let s = app.tenancy.school("backup-a").await.unwrap();
    assert_eq!(s.store.students().await.unwrap().len(), 3);
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    assert_eq!(s.store.contacts_by_phone(&phone).await.unwrap().len(), 1);
    let b = app.tenancy.school("backup-b").await.unwrap();
    assert_eq!(b.store.students().await.unwrap().len(), 3);
    // A second restore into the same deployment is refused.
    let err = raabta::backup::restore(&target.config, &report.dir, &keys)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already holds"), "{err}");

    // An altered part is refused before anything is written.
    let target2 = restore_target(env, &master_of(env)).await;
    let part = report.dir.join(&report.manifest.schools[0].part.file);
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&part, &bytes).unwrap();
    let err = raabta::backup::restore(&target2.config, &report.dir, &keys)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(is_empty(&target2).await);
    bytes[40] ^= 1;
    std::fs::write(&part, &bytes).unwrap();

    // Without the master key of the deployment: refused.
    let d3 = tempfile::tempdir().unwrap();
    let mut config3 = test_config(d3.path());
    assert!(raabta::backup::restore(&config3, &report.dir, &keys)
        .await
        .is_err());
    // Into the other kind of database: refused.
    if env.kind == Kind::Postgres {
        config3.master_key = Some(Secret::new(master_of(env).trim().to_string()));
        let err = raabta::backup::restore(&config3, &report.dir, &keys)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("same kind"), "{err}");
    }
}

crate::on_both_backends!(a_backup_under_write_load_restores_every_acknowledged_message);

async fn a_purged_schools_backups_cannot_be_read_with_the_keys_that_remain(env: &TestEnv) {
    let kept = env.school("stays").await;
    load_roster_and_fees(&kept).await;
    let gone = env.school("leaves").await;
    load_roster_and_fees(&gone).await;
    let out = env.dir.path().join("backups");
    let old = raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap();

    // The school is purged: its backup key goes with it.
    env.app.tenancy.purge("leaves", "test").await.unwrap();
    let keys = raabta::backup::export_keys(&env.app).await.unwrap();
    assert_eq!(keys.keys.len(), 1);
    assert!(keys.keys.iter().all(|k| k.school != gone.tenant.id));
    let target = restore_target(env, &master_of(env)).await;
    if let Some(source) = &env.pg {
        // Onto a server without the old deployment (its roles are the server's).
        source.destroy();
    }
    let r = raabta::backup::restore(&target.config, &old.dir, &keys)
        .await
        .unwrap();
    assert_eq!(r.schools, vec!["stays".to_string()]);
    assert_eq!(r.unreadable, vec!["leaves".to_string()]);
    assert!(!has_partition(&target, gone.tenant.id).await);
    assert!(has_partition(&target, kept.tenant.id).await);
    // And no key that remains opens its part.
    use base64::Engine;
    let master = raabta::store::crypto::MasterKey::from_base64(master_of(env).trim()).unwrap();
    let part = old
        .manifest
        .schools
        .iter()
        .find(|s| s.id == gone.tenant.id)
        .unwrap();
    for k in &keys.keys {
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(&k.wrapped)
            .unwrap();
        let key = master.unwrap(k.school, "backup", 1, &wrapped).unwrap();
        let to = target.dir.path().join("attempt");
        assert!(raabta::backup::decrypt_file(
            &key,
            &format!("school:{}", gone.tenant.id.0),
            &old.dir.join(&part.part.file),
            &to
        )
        .is_err());
        let _ = std::fs::remove_file(&to);
    }
    // The restored deployment keeps serving the school that stayed.
    let app = raabta::app::App::build(target.config.clone())
        .await
        .unwrap();
    assert!(app.tenancy.school("leaves").await.is_err());
    assert_eq!(
        app.tenancy
            .school("stays")
            .await
            .unwrap()
            .store
            .students()
            .await
            .unwrap()
            .len(),
        3
    );
}

crate::on_both_backends!(a_purged_schools_backups_cannot_be_read_with_the_keys_that_remain);

/// A school's closure: chat off at once, its administrators still sign in during the
/// 30-day export window, then the purge with its deletion certificate; backups taken
/// before cannot be read with the keys that remain.
async fn a_closed_school_is_purged_after_its_export_window(env: &TestEnv) {
    use crate::admin_web::{add_staff, admin_cookie, call};
    let school = env.school("closing-school").await;
    load_roster_and_fees(&school).await;
    crate::webhooks::add_test_channels(env, &school, None).await;
    add_staff(
        &school,
        "head@close.test",
        raabta::domain::roster::StaffRole::Admin,
        "head password 1",
    )
    .await;
    let out = env.dir.path().join("backups");
    let old = raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap();
    assert!(env.app.registry.current().meta("106540352242922").is_some());

    let (c, started) = env
        .app
        .tenancy
        .close(
            "closing-school",
            "the school's letter of 1 Dec",
            env.app.clock.now(),
        )
        .await
        .unwrap();
    assert!(started);
    assert_eq!(c.purge_after - c.requested_at, chrono::Duration::days(30));
    // Asked again later: the window is kept.
    let (again, started) = env
        .app
        .tenancy
        .close(
            "closing-school",
            "operator",
            env.app.clock.now() + chrono::Duration::days(3),
        )
        .await
        .unwrap();
    assert!(!started);
    assert_eq!(again.purge_after, c.purge_after);
    env.app.registry.reload(&env.app.tenancy).await.unwrap();
    assert!(env.app.registry.current().is_closing(school.tenant.id));
    assert!(
        env.app.registry.current().meta("106540352242922").is_none(),
        "the chat is off"
    );
    // The administrators can still sign in (and export) during the window.
    let admin = admin_cookie(env, &school, "head@close.test", "head password 1").await;
    assert_eq!(
        call(env, "GET", "/admin", &admin, &[]).await.status,
        axum::http::StatusCode::OK
    );
    // Not purged before the window ends.
    env.app.clock.advance(chrono::Duration::days(29));
    assert!(
        raabta::worker::retention::closed_schools(&env.app)
            .await
            .unwrap()
            == 0
    );
    assert!(env.app.tenancy.school("closing-school").await.is_ok());
    env.app.clock.advance(chrono::Duration::days(2));
    assert_eq!(
        raabta::worker::retention::closed_schools(&env.app)
            .await
            .unwrap(),
        1
    );
    assert!(env.app.tenancy.school("closing-school").await.is_err());
    let cert: serde_json::Value = serde_json::from_str(
        &env.app
            .tenancy
            .backend()
            .control
            .certificate("closing-school")
            .await
            .unwrap()
            .expect("a deletion certificate"),
    )
    .unwrap();
    assert_eq!(cert["closure_requested_by"], "the school's letter of 1 Dec");
    assert_eq!(cert["purged_by"], "system");
    assert_eq!(cert["destroyed"]["data_key_ids"], serde_json::json!([1]));
    assert_eq!(cert["destroyed"]["index_key_ids"], serde_json::json!([1]));
    assert_eq!(cert["destroyed"]["backup_key_ids"], serde_json::json!([1]));
    let keys = raabta::backup::export_keys(&env.app).await.unwrap();
    assert!(keys.keys.iter().all(|k| k.school != school.tenant.id));
    // The backup held only this school: nothing of it can be restored.
    let target = restore_target(env, &master_of(env)).await;
    let err = raabta::backup::restore(&target.config, &old.dir, &keys)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("none of this backup's"), "{err}");
    assert!(is_empty(&target).await);
    // No key of the school is left in the control database.
    assert!(env
        .app
        .tenancy
        .backend()
        .control
        .tenant_keys(school.tenant.id)
        .await
        .unwrap()
        .is_empty());
}

crate::on_both_backends!(a_closed_school_is_purged_after_its_export_window);

/// Master key rotation: every key re-wrapped under the new key in one transaction; the
/// old key no longer starts the service, the new one reads every school; a backup made
/// before restores with the new key and a key export made after (the old key is kept
/// sealed under the new one).
async fn the_master_key_rotates_and_older_backups_still_restore(env: &TestEnv) {
    use raabta::store::crypto::MasterKey;
    let school = env.school("rotating").await;
    load_roster_and_fees(&school).await;
    let out = env.dir.path().join("backups");
    let before = raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap();
    let old_export = raabta::backup::export_keys(&env.app).await.unwrap();

    let new = MasterKey::generate();
    assert_eq!(
        crate::http::get(env, "/readyz").await.0,
        axum::http::StatusCode::OK
    );
    let n = env.app.tenancy.rotate_master(&new).await.unwrap();
    assert!(n >= 3, "data, index and backup keys: {n}");
    // A process still on the old key is no longer ready (it must restart).
    assert_eq!(
        crate::http::get(env, "/readyz").await.0,
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
    // The same key again is refused (nothing to do).
    let mut config = env.app.config.as_ref().clone();
    config.master_key = Some(Secret::new(new.to_base64()));
    let app = raabta::app::App::build(config.clone()).await.unwrap();
    assert!(app.tenancy.rotate_master(&new).await.is_err());
    let s = app.tenancy.school("rotating").await.unwrap();
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    assert_eq!(s.store.contacts_by_phone(&phone).await.unwrap().len(), 1);
    // The old key is refused at start.
    let mut old_config = env.app.config.as_ref().clone();
    old_config.master_key = Some(Secret::new(master_of(env)));
    let err = raabta::app::App::build(old_config).await.err().unwrap();
    assert!(err.to_string().contains("retired"), "{err}");

    // An export made after the rotation restores the backup made before it.
    let export = raabta::backup::export_keys(&app).await.unwrap();
    assert_eq!(export.retired_masters.len(), 1);
    if let Some(source) = &env.pg {
        // Onto a server without the old deployment (its roles are the server's).
        source.destroy();
    }
    let target = restore_target(env, &new.to_base64()).await;
    let r = raabta::backup::restore(&target.config, &before.dir, &export)
        .await
        .unwrap();
    assert_eq!(r.schools, vec!["rotating".to_string()]);
    let restored = raabta::app::App::build(target.config.clone())
        .await
        .unwrap();
    let s = restored.tenancy.school("rotating").await.unwrap();
    assert_eq!(s.store.contacts_by_phone(&phone).await.unwrap().len(), 1);
    // The export made before the rotation does not hold the old key sealed.
    let target = restore_target(env, &new.to_base64()).await;
    let err = raabta::backup::restore(&target.config, &before.dir, &old_export)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another master key"), "{err}");
}

crate::on_both_backends!(the_master_key_rotates_and_older_backups_still_restore);

/// A PostgreSQL copy taken by an older version (before migration 19 made
/// `privacy_requests`) is loaded into a schema made by the migrations up to that
/// version, then migrated forward. (The copy is today's with migration 19 and its
/// then-empty table taken out of it, as version 18 would have written it; a later
/// migration that changes an existing table needs this test moved to it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn a_postgres_copy_from_an_older_version_is_migrated_forward() {
    use raabta::store::postgres::dump::Header;
    let env = TestEnv::postgres().await;
    let school = env.school("older").await;
    load_roster_and_fees(&school).await;
    let id = school.tenant.id;
    let copy = env.dir.path().join("copy");
    env.app
        .tenancy
        .backend()
        .partitions
        .snapshot(id, &copy)
        .await
        .unwrap();

    // Rewrite the copy as version 18 would have: walk its frames, leave out the table.
    let bytes = std::fs::read(&copy).unwrap();
    let magic = b"RAABTAPG1\n".len();
    let eol = magic + bytes[magic..].iter().position(|b| *b == b'\n').unwrap();
    let mut header: Header = serde_json::from_slice(&bytes[magic..eol]).unwrap();
    let mut sections = Vec::new();
    let mut at = eol + 1;
    for table in &header.tables {
        let start = at;
        loop {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            at += 4 + len;
            if len == 0 {
                break;
            }
        }
        sections.push((table.name.clone(), bytes[start..at].to_vec()));
    }
    assert_eq!(at, bytes.len());
    let dropped = "privacy_requests";
    let (_, empty) = sections.iter().find(|(n, _)| n == dropped).unwrap();
    assert_eq!(empty, &vec![0u8; 4], "the table is empty in the copy");
    assert_eq!(header.version(), 19);
    header.migrations.retain(|(v, _)| *v < 19);
    header.tables.retain(|t| t.name != dropped);
    // Migration 19's new columns out of their tables' rows (COPY text: a row per line,
    // tab between values).
    let new_columns = [
        ("guardians", "active"),
        ("guardians", "deactivated_reason"),
        ("staff_users", "deactivated_reason"),
    ];
    for table in header.tables.iter_mut() {
        let gone: Vec<usize> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| new_columns.contains(&(table.name.as_str(), c.as_str())))
            .map(|(i, _)| i)
            .collect();
        if gone.is_empty() {
            continue;
        }
        let section = &mut sections
            .iter_mut()
            .find(|(n, _)| *n == table.name)
            .unwrap()
            .1;
        let mut data = Vec::new();
        let mut at = 0;
        loop {
            let len = u32::from_be_bytes(section[at..at + 4].try_into().unwrap()) as usize;
            data.extend_from_slice(&section[at + 4..at + 4 + len]);
            at += 4 + len;
            if len == 0 {
                break;
            }
        }
        let text = String::from_utf8(data).unwrap();
        let mut rows = String::new();
        for line in text.lines() {
            let values: Vec<&str> = line
                .split('\t')
                .enumerate()
                .filter(|(i, _)| !gone.contains(i))
                .map(|(_, v)| v)
                .collect();
            rows.push_str(&values.join("\t"));
            rows.push('\n');
        }
        // A frame of data (none for an empty table: a zero length ends the table).
        let mut rewritten = Vec::new();
        if !rows.is_empty() {
            rewritten.extend((rows.len() as u32).to_be_bytes());
            rewritten.extend(rows.as_bytes());
        }
        rewritten.extend(0u32.to_be_bytes());
        *section = rewritten;
        let mut i = 0;
        table.columns.retain(|_| {
            i += 1;
            !gone.contains(&(i - 1))
        });
    }
    let mut older = b"RAABTAPG1\n".to_vec();
    older.extend(serde_json::to_vec(&header).unwrap());
    older.push(b'\n');
    for (name, section) in &sections {
        if name != dropped {
            older.extend(section);
        }
    }
    let older_path = env.dir.path().join("copy-v18");
    std::fs::write(&older_path, &older).unwrap();

    // Into another database: made at version 18, loaded, migrated to 19 (as another
    // school id: roles belong to the server, and this one's role exists here).
    let target = TestEnv::postgres().await;
    let partitions = &target.app.tenancy.backend().partitions;
    let err = partitions.restore(id, &older_path).await.unwrap_err();
    assert!(
        err.to_string().contains("exists already on this server"),
        "{err}"
    );
    let moved = raabta::domain::TenantId(uuid::Uuid::now_v7());
    partitions.restore(moved, &older_path).await.unwrap();
    let pg = target.pg.as_ref().unwrap();
    let mut admin = pg.admin().await;
    let schema = raabta::store::postgres::school_ident(moved);
    let (students, version, requests, active): (i64, i64, i64, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT COUNT(*) FROM {schema}.students), \
             (SELECT MAX(version) FROM {schema}.raabta_migrations), \
             (SELECT COUNT(*) FROM {schema}.privacy_requests), \
             (SELECT COUNT(*) FROM {schema}.guardians WHERE active)"
        )))
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!((students, version, requests, active), (3, 19, 0, 3));
    // A second restore of the same school is refused: its schema exists.
    let err = partitions.restore(moved, &copy).await.unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");

    // While another database holds something of the school's role (roles are the
    // server's), its purge fails: no certificate, the school still there; once that
    // is gone, the purge goes through with its certificate.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE public.pinned (x int); ALTER TABLE public.pinned OWNER TO {}",
        raabta::store::postgres::school_ident(id)
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    assert!(env.app.tenancy.purge("older", "test").await.is_err());
    let control = &env.app.tenancy.backend().control;
    assert!(control.certificate("older").await.unwrap().is_none());
    assert!(env.app.tenancy.school("older").await.is_ok());
    sqlx::raw_sql("DROP TABLE public.pinned")
        .execute(&mut admin)
        .await
        .unwrap();
    env.app.tenancy.purge("older", "test").await.unwrap();
    assert!(control.certificate("older").await.unwrap().is_some());
    assert!(env.app.tenancy.school("older").await.is_err());
}

/// A process whose master key another process rotated keeps serving (and saying so in
/// its log) for one key-cache period, the runbook's restart window, instead of
/// leaving the load balancer with no ready process at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_away_process_stays_ready_for_its_key_cache_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.key_cache_seconds = 3600;
    let env = TestEnv::with_config(config, dir, None).await;
    assert_eq!(
        crate::http::get(&env, "/readyz").await.0,
        axum::http::StatusCode::OK
    );
    env.app
        .tenancy
        .rotate_master(&raabta::store::crypto::MasterKey::generate())
        .await
        .unwrap();
    assert_eq!(
        env.app.tenancy.master_status().await.unwrap(),
        raabta::store::tenancy::MasterStatus::RotatedRestartSoon
    );
    assert_eq!(
        crate::http::get(&env, "/readyz").await.0,
        axum::http::StatusCode::OK
    );
}
