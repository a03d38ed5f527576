//! Encrypted backups (issue 19): taken while messages are being written, restored into
//! an empty data directory with every message acknowledged before it present; a backup
//! holds no plaintext; without a school's backup key (its closure destroys it) that
//! school's part cannot be read.

use crate::support::{load_roster_and_fees, test_config, TestEnv};
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

/// Provider keys stored in a restored school's file.
async fn keys_in(file: &std::path::Path) -> Vec<String> {
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

fn master_of(env: &TestEnv) -> String {
    std::fs::read_to_string(env.dir.path().join("master.key")).unwrap()
}

fn restore_config(master: &str) -> (tempfile::TempDir, raabta::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.master_key = Some(Secret::new(master.trim().to_string()));
    (dir, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_acknowledged_message() {
    let env = TestEnv::sqlite().await;
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
    let master = raabta::store::crypto::MasterKey::from_base64(&master_of(&env)).unwrap();
    let control = env.dir.path().join("control-part.db");
    raabta::backup::decrypt_file(
        &master.derive("backup-control"),
        "control",
        &report.dir.join(&report.manifest.control.file),
        &control,
    )
    .unwrap();
    {
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
        assert!(
            !raw.windows(wrapped.len()).any(|w| w == wrapped.as_slice()),
            "the backup key of {id} is in the control part"
        );
    }

    // Restored into an empty data directory with the exported keys.
    let keys = raabta::backup::export_keys(&env.app).await.unwrap();
    assert_eq!(keys.keys.len(), 2);
    let (dir, config) = restore_config(&master_of(&env));
    let restored = raabta::backup::restore(&config, &report.dir, &keys)
        .await
        .unwrap();
    assert_eq!(restored.schools.len(), 2);
    let file = dir
        .path()
        .join("schools")
        .join(format!("{}.db", school.tenant.id.0.simple()));
    let present = keys_in(&file).await;
    for k in &before {
        assert!(
            present.contains(k),
            "{k} was acknowledged before the backup"
        );
    }
    // The restored service serves the school, its data readable.
    let app = raabta::app::App::build(config.clone()).await.unwrap();
    let s = app.tenancy.school("backup-a").await.unwrap();
    assert_eq!(s.store.students().await.unwrap().len(), 3);
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    assert_eq!(s.store.contacts_by_phone(&phone).await.unwrap().len(), 1);
    // A second restore into the same directory is refused.
    assert!(raabta::backup::restore(&config, &report.dir, &keys)
        .await
        .is_err());

    // An altered part is refused before anything is written.
    let (_d2, config2) = restore_config(&master_of(&env));
    let part = report.dir.join(&report.manifest.schools[0].part.file);
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&part, &bytes).unwrap();
    let err = raabta::backup::restore(&config2, &report.dir, &keys)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    bytes[40] ^= 1;
    std::fs::write(&part, &bytes).unwrap();

    // Without the master key of the deployment: refused.
    let d3 = tempfile::tempdir().unwrap();
    let config3 = test_config(d3.path());
    assert!(raabta::backup::restore(&config3, &report.dir, &keys)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_schools_backups_cannot_be_read_with_the_keys_that_remain() {
    let env = TestEnv::sqlite().await;
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
    let (dir, config) = restore_config(&master_of(&env));
    let r = raabta::backup::restore(&config, &old.dir, &keys)
        .await
        .unwrap();
    assert_eq!(r.schools, vec!["stays".to_string()]);
    assert_eq!(r.unreadable, vec!["leaves".to_string()]);
    assert!(!dir
        .path()
        .join("schools")
        .join(format!("{}.db", gone.tenant.id.0.simple()))
        .exists());
    // And no key that remains opens its part.
    use base64::Engine;
    let master = raabta::store::crypto::MasterKey::from_base64(&master_of(&env)).unwrap();
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
        let to = dir.path().join("attempt");
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
    let app = raabta::app::App::build(config).await.unwrap();
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

/// A school's closure: chat off at once, its administrators still sign in during the
/// 30-day export window, then the purge with its deletion certificate; backups taken
/// before cannot be read with the keys that remain (SQLite, whose backups are ours).
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
    let before = (env.kind == crate::support::Kind::Sqlite).then_some(());
    let out = env.dir.path().join("backups");
    let old = match before {
        Some(()) => Some(raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap()),
        None => None,
    };
    assert!(env.app.registry.current().meta("106540352242922").is_some());

    let c = env
        .app
        .tenancy
        .close(
            "closing-school",
            "the school's letter of 1 Dec",
            env.app.clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(c.purge_after - c.requested_at, chrono::Duration::days(30));
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
    if let Some(old) = old {
        assert_eq!(cert["destroyed"]["backup_key_ids"], serde_json::json!([1]));
        let keys = raabta::backup::export_keys(&env.app).await.unwrap();
        assert!(keys.keys.iter().all(|k| k.school != school.tenant.id));
        let (_dir, config) = restore_config(&master_of(env));
        let r = raabta::backup::restore(&config, &old.dir, &keys)
            .await
            .unwrap();
        assert_eq!(r.unreadable, vec!["closing-school".to_string()]);
    }
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
    let sqlite = env.kind == crate::support::Kind::Sqlite;
    let out = env.dir.path().join("backups");
    let before = if sqlite {
        Some(raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap())
    } else {
        None
    };
    let old_export = raabta::backup::export_keys(&env.app).await.unwrap();

    let new = MasterKey::generate();
    let n = env.app.tenancy.rotate_master(&new).await.unwrap();
    assert!(n >= 3, "data, index and backup keys: {n}");
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
    old_config.master_key = Some(Secret::new(master_of_env(env)));
    assert!(raabta::app::App::build(old_config).await.is_err());

    if let Some(before) = before {
        // An export made after the rotation restores the backup made before it.
        let export = raabta::backup::export_keys(&app).await.unwrap();
        assert_eq!(export.retired_masters.len(), 1);
        let (dir, config) = restore_config(&new.to_base64());
        let r = raabta::backup::restore(&config, &before.dir, &export)
            .await
            .unwrap();
        assert_eq!(r.schools, vec!["rotating".to_string()]);
        let restored = raabta::app::App::build(config).await.unwrap();
        let s = restored.tenancy.school("rotating").await.unwrap();
        assert_eq!(s.store.contacts_by_phone(&phone).await.unwrap().len(), 1);
        drop(dir);
        // The export made before the rotation does not hold the old key sealed.
        let (_d, config) = restore_config(&new.to_base64());
        let err = raabta::backup::restore(&config, &before.dir, &old_export)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("another master key"), "{err}");
    }
}

/// The master key the test environment started with (its data-dir file, or the
/// configured one).
fn master_of_env(env: &TestEnv) -> String {
    match &env.app.config.master_key {
        Some(k) => k.expose().clone(),
        None => master_of(env),
    }
}

crate::on_both_backends!(the_master_key_rotates_and_older_backups_still_restore);
