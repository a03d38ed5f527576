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
    env.app.tenancy.purge("leaves").await.unwrap();
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
