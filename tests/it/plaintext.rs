//! A dump of the database shows no CNIC, B-Form, phone number, address or health note.

use crate::support::{load_roster_and_fees, Kind, TestEnv};
use raabta::domain::activity::ActivityEntry;
use raabta::domain::message::{InboundBody, InboundEvent, Provider, SenderId};
use raabta::domain::phone::Phone;
use raabta::domain::roster::{StaffRole, StaffUser};
use raabta::domain::StaffId;
use raabta::store::tenancy::School;

/// Everything with an encrypted column: roster, fees, a staff phone, an inbound message.
async fn load_everything(s: &School) {
    load_roster_and_fees(s).await;
    let staff = StaffUser {
        id: StaffId::new(),
        full_name: "Teacher".into(),
        email: "t@school.pk".into(),
        phone: Some(Phone::parse("+923451234567", None).unwrap()),
        role: StaffRole::Teacher,
        branch: None,
        password_hash: None,
    };
    let act = ActivityEntry::now("t", "staff.create", None, "t", serde_json::json!({}));
    s.store.create_staff(&staff, &act).await.unwrap();
    let event = InboundEvent {
        provider_key: "meta:wamid.SCAN".into(),
        sender: SenderId::new("923001110001"),
        sender_name: None,
        sent_at: None,
        body: InboundBody::Text {
            text: "my CNIC is 35202-7654321-1".into(),
        },
    };
    let out = s
        .store
        .record_inbound(
            uuid::Uuid::now_v7(),
            Provider::Meta,
            &[event],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(out.stored, 1);
}

/// Every form a leaked value could take in a dump: as typed, normalised, digits only,
/// and hex (how PostgreSQL dumps bytea).
fn needles() -> Vec<Vec<u8>> {
    let values = [
        "35202-1234567-2",
        "3520212345672",
        "35202-7654321-1",
        "3520276543211",
        "+923001110001",
        "923001110001",
        "3001110001",
        "+923011110002",
        "3011110002",
        "House 12 Street 4",
        "Asthma inhaler",
        "3451234567",
        "my CNIC is",
    ];
    let mut out = Vec::new();
    for v in values {
        out.push(v.as_bytes().to_vec());
        out.push(hex::encode(v.as_bytes()).into_bytes());
    }
    out
}

fn assert_clean(dump: &[u8], what: &str) {
    assert!(
        dump.len() > 1000,
        "{what}: dump suspiciously small ({} bytes)",
        dump.len()
    );
    for n in needles() {
        assert!(
            !dump.windows(n.len()).any(|w| w == n.as_slice()),
            "{what} contains plaintext {:?}",
            String::from_utf8_lossy(&n)
        );
    }
    // The dump does hold the school's non-secret data (names), so it is a real dump.
    let name = "Zainab Ali".as_bytes();
    assert!(
        dump.windows(name.len()).any(|w| w == name),
        "{what}: expected roster names in the dump"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_hold_no_plaintext_pii() {
    let env = TestEnv::new(Kind::Sqlite).await;
    let s = env.school("scan").await;
    load_everything(&s).await;
    // Include the write-ahead log: recent pages live there before a checkpoint.
    let mut dump = Vec::new();
    for entry in walkdir(env.dir.path()) {
        dump.extend(std::fs::read(&entry).unwrap());
    }
    assert_clean(&dump, "SQLite files");
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else if p.extension().and_then(|e| e.to_str()) != Some("txt") {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_postgres, ignore = "RAABTA_TEST_POSTGRES=off")]
async fn postgres_dump_holds_no_plaintext_pii() {
    let env = TestEnv::new(Kind::Postgres).await;
    let s = env.school("scan").await;
    load_everything(&s).await;
    assert_clean(&env.pg.as_ref().unwrap().dump(), "pg_dump");
}
