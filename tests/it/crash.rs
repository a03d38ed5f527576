//! Crash test: under a stream of signed webhooks the server is killed with SIGKILL and
//! restarted. Every acknowledged message must be answered exactly once (counted at the
//! fake provider), and unacknowledged ones (redelivered, as Meta does) at most once.

use crate::fake::FakeProviders;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "crash-app-secret";
const PHONE_ID: &str = "777000";

fn raabta(dir: &Path, port: u16, database_url: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_raabta"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RAABTA_DATA_DIR", dir)
        .env("RAABTA_LISTEN", format!("127.0.0.1:{port}"))
        .env("RAABTA_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RAABTA_SEED_DEMO", "false")
        .env("RAABTA_SEND_LEASE_SECONDS", "2")
        .env("RAABTA_META_RATE", "10000")
        .env("RAABTA_LOG", "warn");
    if let Some(url) = database_url {
        c.env("RAABTA_DATABASE_URL", url);
    }
    c
}

/// A school with a Meta channel whose API is the fake, made with the CLI.
fn set_up(dir: &Path, port: u16, db: Option<&str>, fake: &FakeProviders) {
    for args in [
        vec!["tenant", "create", "crash-school", "--name", "Crash School"],
        vec![
            "channel",
            "add",
            "meta",
            "--tenant",
            "crash-school",
            "--phone-number-id",
            PHONE_ID,
            "--access-token",
            "t",
            "--app-secret",
            SECRET,
            "--verify-token",
            "v",
            "--api-base",
            &fake.base,
        ],
    ] {
        let out = raabta(dir, port, db).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &Path, port: u16, db: Option<&str>, client: &reqwest::Client) -> Child {
    let child = raabta(dir, port, db)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(client, port).await;
    child
}

fn webhook(i: usize) -> (String, String) {
    let from = format!("92311{i:07}");
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"{PHONE_ID}"}},"messages":[{{"from":"{from}","id":"wamid.CRASH{i}","timestamp":"1763971200","type":"text","text":{{"body":"salam"}}}}]}}}}]}}]}}"#
    );
    (from, body)
}

async fn post(client: &reqwest::Client, port: u16, body: &str) -> bool {
    let sig = raabta::channel::meta::signature(SECRET, body.as_bytes());
    matches!(
        client
            .post(format!("http://127.0.0.1:{port}/webhooks/meta"))
            .header("x-hub-signature-256", sig)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(Duration::from_secs(5))
            .send()
            .await,
        Ok(r) if r.status().is_success()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_nothing_and_answers_once_sqlite() {
    crash_story(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn kill_dash_nine_loses_nothing_and_answers_once_postgres() {
    let pg = crate::support::PgFixture::create().await;
    crash_story(Some(&pg.app_url())).await;
}

async fn crash_story(db: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeProviders::start().await;
    let port = free_port();
    set_up(dir.path(), port, db, &fake);
    let client = reqwest::Client::new();
    let total = 240;
    let mut server = start(dir.path(), port, db, &client).await;
    let mut acked: HashSet<String> = HashSet::new();
    let mut unacked: Vec<usize> = Vec::new();
    let mut killer: Option<std::thread::JoinHandle<()>> = None;
    for i in 0..total {
        if i == total / 3 {
            // SIGKILL mid-stream: no shutdown hooks, no flushing.
            server.kill().unwrap();
            server.wait().unwrap();
        }
        if i == total / 3 + 20 {
            server = start(dir.path(), port, db, &client).await;
        }
        let (from, body) = webhook(i);
        if post(&client, port, &body).await {
            acked.insert(from);
        } else {
            unacked.push(i);
        }
        if i == total / 2 {
            // Second kill lands while requests are in flight and the worker is busy.
            let mut victim = std::mem::replace(&mut server, start_placeholder());
            killer = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(15));
                victim.kill().unwrap();
                victim.wait().unwrap();
            }));
        }
        if i == total / 2 + 15 {
            if let Some(k) = killer.take() {
                k.join().unwrap();
            }
            server = start(dir.path(), port, db, &client).await;
        }
    }
    assert!(
        !unacked.is_empty(),
        "the kill should have refused some deliveries"
    );
    // The provider redelivers what was not acknowledged.
    for i in unacked {
        let (from, body) = webhook(i);
        assert!(post(&client, port, &body).await);
        acked.insert(from);
    }
    assert_eq!(acked.len(), total);
    // Wait for every reply, then a little longer to catch any duplicate.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.sends().len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for s in fake.sends() {
        let v: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        *per_recipient
            .entry(v["to"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let missing: Vec<_> = acked
        .iter()
        .filter(|f| !per_recipient.contains_key(*f))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages never answered",
        missing.len()
    );

    // Processed exactly once: one stored event and one reply row per message.
    let mut config = crate::support::test_config(dir.path());
    if let Some(url) = db {
        config.database_url = raabta::domain::Secret::new(url.to_string());
    }
    let app = raabta::app::App::build(config).await.unwrap();
    let school = app.tenancy.school("crash-school").await.unwrap();
    assert_eq!(school.store.inbound_count().await.unwrap(), total as i64);
    let outbox = school.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), total, "one reply per message, never two");
    assert!(
        outbox.iter().all(|o| o.state == "sent"),
        "every reply was sent"
    );

    // Answered once, except inside the one window no provider lets us close: a kill after
    // the provider accepted a send but before our commit recorded it. Such a row is sent
    // again when its lease expires. Each kill can catch at most the sends then in flight.
    let twice: Vec<_> = per_recipient.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= 2 * raabta::worker::SEND_CONCURRENCY && twice.iter().all(|(_, n)| **n == 2),
        "answered more than once beyond the crash window: {twice:?}"
    );
    if !twice.is_empty() {
        eprintln!(
            "crash window: {} replies were sent twice (at-least-once sends, see ARCHITECTURE)",
            twice.len()
        );
    }
}

/// A stand-in child (an already-finished `true`) while the real server is being killed.
fn start_placeholder() -> Child {
    let mut c = Command::new("true").spawn().unwrap();
    let _ = c.wait();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_run_runs_again_after_restart_sqlite() {
    killed_job_story(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn a_job_killed_mid_run_runs_again_after_restart_postgres() {
    let pg = crate::support::PgFixture::create().await;
    killed_job_story(Some(&pg.app_url())).await;
}

/// A media download (a durable job) is under way when the process is killed; after a
/// restart its lease runs out, it runs again, the media is stored once and the message
/// that waited for it is answered once.
async fn killed_job_story(db: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeProviders::start().await;
    let port = free_port();
    set_up(dir.path(), port, db, &fake);
    let client = reqwest::Client::new();
    // The download hangs until the process is gone.
    fake.delay_media(Duration::from_secs(60));
    let start_with_lease = |lease: &str| {
        let mut c = raabta(dir.path(), port, db);
        c.env("RAABTA_JOB_LEASE_SECONDS", lease)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let mut server = start_with_lease("4").spawn().unwrap();
    wait_ready(&client, port).await;
    let sha = crate::fake::sha256_hex(&crate::fake::jpeg_with_exif());
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"{PHONE_ID}"}},"messages":[{{"from":"923119990001","id":"wamid.JOBKILL","timestamp":"1763971200","type":"image","image":{{"id":"1003383421387256","mime_type":"image/jpeg","sha256":"{sha}"}}}}]}}}}]}}]}}"#
    );
    assert!(post(&client, port, &body).await);
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.media_downloads() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.media_downloads(), 1, "the download started");
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(fake.sends().is_empty());
    fake.delay_media(Duration::ZERO);
    let mut server = start_with_lease("4").spawn().unwrap();
    wait_ready(&client, port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.sends().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        fake.sends().len(),
        1,
        "the waiting message was answered once"
    );
    assert_eq!(
        fake.media_downloads(),
        2,
        "one killed download, one after the restart"
    );

    let mut config = crate::support::test_config(dir.path());
    if let Some(url) = db {
        config.database_url = raabta::domain::Secret::new(url.to_string());
    }
    let app = raabta::app::App::build(config).await.unwrap();
    let school = app.tenancy.school("crash-school").await.unwrap();
    let media = school
        .store
        .media_of("meta:wamid.JOBKILL")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(media.state, "stored", "{:?}", media.last_error);
    let (done, _) = school.store.jobs_in_state("done", 10).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].attempts, 2);
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}
