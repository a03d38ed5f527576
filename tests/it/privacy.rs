//! The privacy lifecycle (issue 19): a guardian's erasure on both backends, item by
//! item, then a scan of everything the school keeps (the partition's raw bytes, every
//! encrypted field decrypted, the spool) for their phone, CNIC, email and name; and the
//! rollback when the transaction fails mid-way.

use crate::support::{load_roster_and_fees, Kind, TestEnv};
use raabta::console::Simulator;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use raabta::domain::message::{InboundBody, InboundEvent, Provider, SenderId};
use raabta::domain::phone::Phone;
use raabta::domain::roster::ContactRef;
use raabta::spool::SpoolRecord;
use raabta::store::tenancy::School;
use raabta::store::{ErasureScope, PrivacyKind, ENCRYPTED_COLUMNS};
use serde_json::json;

const NAME: &str = "عمران خان";
const PHONE: &str = "+923001110001";
const EMAIL: &str = "imran.k@example.pk";
const TELEGRAM_ID: &str = "771100221";

/// Every form the guardian's identifiers could be written in.
fn needles() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for v in [
        "+923001110001",
        "923001110001",
        "03001110001",
        "0300 1110001",
        "3001110001",
        "35202-7654321-1",
        "3520276543211",
        EMAIL,
        "House 12 Street 4",
        TELEGRAM_ID,
    ] {
        out.push((v, v.as_bytes().to_vec()));
        out.push((v, hex::encode(v.as_bytes()).into_bytes()));
    }
    out
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn act(what: &str) -> ActivityEntry {
    ActivityEntry::now("staff:test", what, None, "test", json!({}))
}

async fn guardian(school: &School) -> ContactRef {
    let phone = Phone::parse(PHONE, None).unwrap();
    school
        .store
        .contacts_by_phone(&phone)
        .await
        .unwrap()
        .into_iter()
        .find(|c| matches!(c, ContactRef::Guardian(_)))
        .expect("the guardian")
}

async fn code(school: &School, contact: ContactRef) -> String {
    let (code, _) = raabta::codes::issue(
        None,
        school.store.as_ref(),
        contact,
        chrono::Duration::days(1),
        "t",
        "t",
    )
    .await
    .unwrap();
    code.expose().to_string()
}

/// The guardian of the test roster (two children), logged in on WhatsApp and Telegram,
/// with a complaint and its photo, a leave request, consent answers, attendance, face
/// samples of a child, a spooled message and activity that mentions them.
async fn a_full_life(env: &TestEnv) -> (School, ContactRef, Simulator) {
    let school = env.school("privacy").await;
    load_roster_and_fees(&school).await;
    let fake = crate::fake::FakeProviders::start().await;
    let channels = crate::webhooks::add_test_channels(env, &school, Some(fake.base.clone())).await;
    let meta = crate::webhooks::meta_channel(env);
    let telegram = env
        .app
        .registry
        .current()
        .telegram(&channels.telegram_route)
        .expect("telegram channel")
        .id;
    let g = guardian(&school).await;

    let mut wa = Simulator::new(
        &env.app,
        "privacy",
        Provider::Meta,
        Some(meta),
        "923001110001",
    )
    .await
    .unwrap();
    let c = code(&school, g).await;
    wa.say("hi").await.unwrap();
    wa.say(&c).await.unwrap();
    let mut tg = Simulator::new(
        &env.app,
        "privacy",
        Provider::Telegram,
        Some(telegram),
        TELEGRAM_ID,
    )
    .await
    .unwrap();
    let c = code(&school, g).await;
    tg.say("hi").await.unwrap();
    tg.say(&c).await.unwrap();
    // An unused code stays behind until the erasure.
    code(&school, g).await;

    // A complaint with a photo, written with their own details.
    for text in [
        "shikayat",
        "Main عمران خان, van late aati hai. Call me 0300 1110001 or imran.k@example.pk, CNIC 35202-7654321-1",
        "1",
    ] {
        wa.say(text).await.unwrap();
    }
    wa.attach(false).await.unwrap();
    wa.say("bas").await.unwrap();
    wa.say("haan").await.unwrap();
    assert_eq!(
        school.store.complaints().await.unwrap().len(),
        1,
        "complaint filed"
    );

    // A leave request on Telegram.
    for text in [
        "leave",
        "1",
        "1",
        "monday",
        "Bukhar hai, phone 03001110001",
        "skip",
        "haan",
    ] {
        tg.say(text).await.unwrap();
    }
    assert_eq!(
        school.store.leave_requests(None).await.unwrap().len(),
        1,
        "leave request filed"
    );

    // Consent answers for both children.
    let classes: Vec<_> = school
        .store
        .classes()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    let now = env.app.clock.now();
    school
        .store
        .send_consent_form(
            &raabta::store::NewConsentForm {
                title: "Museum trip".into(),
                description: "A visit to the museum.".into(),
                deadline_at: now + chrono::Duration::days(3),
                classes,
                remind_before: raabta::outbound::CONSENT_REMINDER_BEFORE,
            },
            &act("consent.send"),
            now,
        )
        .await
        .unwrap();
    wa.settle().await.unwrap();
    for text in ["haan", "Imran here, 0300 1110001", "haan", "skip"] {
        wa.say(text).await.unwrap();
    }

    // Attendance and face samples of the children.
    let students = school.store.student_ids_by_admission().await.unwrap();
    let kids = [students["A-1"], students["A-2"]];
    for (i, kid) in kids.iter().enumerate() {
        school
            .store
            .record_attendance(
                &AttendanceRecord {
                    day: chrono::NaiveDate::from_ymd_opt(2026, 11, 2 + i as u32).unwrap(),
                    student: *kid,
                    status: AttendanceStatus::Present,
                    source: AttendanceSource::Manual,
                    recorded_by: None,
                },
                &act("attendance.mark"),
            )
            .await
            .unwrap();
    }
    school
        .store
        .record_face_consent(
            kids[0],
            "admin@test",
            Some("paper form"),
            &act("face.consent"),
        )
        .await
        .unwrap();
    let q = raabta::face::quality::Quality {
        face_px: 180.0,
        sharpness: 90.0,
        brightness: 120.0,
        yaw: 0.05,
        roll: 2.0,
        pitch: 0.5,
        score: 0.99,
    };
    let mut emb = vec![0.0f32; 512];
    emb[3] = 1.0;
    school
        .store
        .add_face_sample(kids[0], &emb, &q, &act("face.enrol"))
        .await
        .unwrap();

    // Activity that names them, and a message in the spool (the database was down).
    school
        .store
        .log_activity(&ActivityEntry::now(
            "staff:test",
            "note",
            Some(format!("guardian:{}", g.uuid())),
            "test",
            json!({"said": format!("{NAME} called from {PHONE} about {EMAIL}")}),
        ))
        .await
        .unwrap();
    let spooled = |sender: &str, key: &str, text: &str| SpoolRecord {
        tenant_id: school.tenant.id,
        channel_id: meta,
        provider: Provider::Meta,
        received_at: chrono::Utc::now(),
        events: vec![InboundEvent {
            provider_key: key.into(),
            sender: SenderId::new(sender),
            sender_name: Some("Imran".into()),
            sent_at: None,
            body: InboundBody::Text { text: text.into() },
        }],
    };
    env.app
        .spool
        .append(&spooled(
            "923001110001",
            "meta:wamid.SPOOL1",
            "my CNIC 35202-7654321-1",
        ))
        .await
        .unwrap();
    env.app
        .spool
        .append(&spooled(
            "923011110002",
            "meta:wamid.SPOOL2",
            "someone else",
        ))
        .await
        .unwrap();
    (school, g, wa)
}

/// A SQLite school's database file.
fn school_file(env: &TestEnv, school: &School) -> std::path::PathBuf {
    env.dir
        .path()
        .join("schools")
        .join(format!("{}.db", school.tenant.id.0.simple()))
}

/// One COUNT(*) on the school's partition, outside the store (as an auditor would).
async fn scalar(school: &School, env: &TestEnv, sql: &str) -> i64 {
    match env.kind {
        Kind::Sqlite => {
            let file = school_file(env, school);
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
        Kind::Postgres => {
            let pg = env.pg.as_ref().unwrap();
            let mut admin = pg.admin().await;
            let schema = raabta::store::postgres::school_ident(school.tenant.id);
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut admin)
                .await
                .unwrap();
            n
        }
    }
}

/// Runs one statement on the partition outside the store (to inject a failure).
async fn raw_exec(school: &School, env: &TestEnv, sql: &str) {
    match env.kind {
        Kind::Sqlite => {
            let file = school_file(env, school);
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        Kind::Postgres => {
            let pg = env.pg.as_ref().unwrap();
            let mut admin = pg.admin().await;
            let schema = raabta::store::postgres::school_ident(school.tenant.id);
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SET search_path TO {schema}; {sql}"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
        }
    }
}

/// The raw bytes of the partition: SQLite, every file of the data directory but the
/// spool (checked decrypted below); PostgreSQL, a plain pg_dump of the database.
fn raw_bytes(env: &TestEnv) -> Vec<u8> {
    match env.kind {
        Kind::Sqlite => {
            let mut dump = Vec::new();
            for dir in ["schools", ""] {
                let d = env.dir.path().join(dir);
                for e in std::fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_file() {
                        dump.extend(std::fs::read(&p).unwrap());
                    }
                }
            }
            dump
        }
        Kind::Postgres => env.pg.as_ref().unwrap().dump(),
    }
}

async fn the_erasure_leaves_nothing_that_identifies_them(env: &TestEnv) {
    let (school, g, _wa) = a_full_life(env).await;
    let gid = g.uuid();
    let store = &school.store;
    let guardian_q = |what: &str| what.replace("$G", &hex_or_uuid(env, gid));
    // Before: the life is there.
    assert!(
        scalar(
            &school,
            env,
            &guardian_q("SELECT COUNT(*) FROM access_codes WHERE contact_id = $G")
        )
        .await
            >= 3
    );
    assert_eq!(
        scalar(
            &school,
            env,
            &guardian_q("SELECT COUNT(*) FROM channel_identities WHERE contact_id = $G")
        )
        .await,
        2
    );
    assert!(scalar(&school, env, "SELECT COUNT(*) FROM media").await >= 1);
    assert!(
        scalar(
            &school,
            env,
            "SELECT COUNT(*) FROM consent_requests WHERE status <> 'pending'"
        )
        .await
            >= 1
    );

    // Their number in the terminal chat (E.164 with its plus), never logged in.
    let mut console = Simulator::new(
        &env.app,
        "privacy",
        Provider::Console,
        None,
        "+923001110001",
    )
    .await
    .unwrap();
    console.say("hi").await.unwrap();

    // The request from the admin, approved with the biometric scope.
    let now = env.app.clock.now();
    let request = raabta::privacy::record(
        &school,
        PrivacyKind::Erasure,
        g,
        "admin",
        "called back on the number on the roster",
        "staff:head",
        now,
    )
    .await
    .unwrap();
    assert_eq!(request.status, "pending");
    // Due in 9 days: at most 7 working days whatever the weekend (seed 000).
    let due = now + chrono::Duration::days(9);
    assert!(
        (request.due_at - due).num_milliseconds().abs() < 1,
        "due in 9 days"
    );
    assert_eq!(store.open_privacy_requests().await.unwrap(), 1);
    // Nothing removed until approved.
    assert_eq!(
        scalar(
            &school,
            env,
            &guardian_q("SELECT COUNT(*) FROM channel_identities WHERE contact_id = $G")
        )
        .await,
        2
    );
    let done = raabta::privacy::erase(
        &env.app,
        &school,
        request.id,
        ErasureScope::GuardianBiometric,
        "staff:head",
        "admin",
    )
    .await
    .unwrap();
    // WhatsApp and Telegram, the school's own WhatsApp line opened to their number,
    // and the terminal chat from their number.
    assert_eq!(done.counts["conversations"], 4, "{:?}", done.counts);

    // Deleted.
    for (what, sql) in [
        ("access codes", "SELECT COUNT(*) FROM access_codes WHERE contact_id = $G"),
        ("chat bindings", "SELECT COUNT(*) FROM channel_identities WHERE contact_id = $G"),
        ("conversations", "SELECT COUNT(*) FROM conversations"),
        ("inbound payloads", "SELECT COUNT(*) FROM inbound_events"),
        ("outbox rows", "SELECT COUNT(*) FROM outbox"),
        ("delivery reports", "SELECT COUNT(*) FROM delivery_reports"),
        ("media", "SELECT COUNT(*) FROM media"),
        ("timers", "SELECT COUNT(*) FROM flow_timers"),
        ("face consent", "SELECT COUNT(*) FROM face_consents"),
        ("face samples", "SELECT COUNT(*) FROM face_samples"),
        ("links to children", "SELECT COUNT(*) FROM guardian_students WHERE guardian_id = $G"),
        ("contact fields", "SELECT COUNT(*) FROM guardians WHERE id = $G AND (phone_enc IS NOT NULL OR phone_bidx IS NOT NULL OR cnic_enc IS NOT NULL OR address_enc IS NOT NULL)"),
    ] {
        assert_eq!(scalar(&school, env, &guardian_q(sql)).await, 0, "{what} left");
    }
    // Anonymised.
    assert_eq!(
        scalar(&school, env, &guardian_q("SELECT COUNT(*) FROM guardians WHERE id = $G AND full_name = 'Deleted contact' AND active = FALSE AND deactivated_reason = 'erasure_request'")).await,
        1
    );
    assert_eq!(
        scalar(
            &school,
            env,
            "SELECT COUNT(*) FROM complaint_messages WHERE kind = 'person' AND author IS NOT NULL"
        )
        .await,
        0,
        "authors removed"
    );
    // Detached but kept: the school's records.
    assert_eq!(store.complaints().await.unwrap().len(), 1);
    assert_eq!(store.leave_requests(None).await.unwrap().len(), 1);
    assert!(
        scalar(
            &school,
            env,
            "SELECT COUNT(*) FROM consent_requests WHERE status <> 'pending'"
        )
        .await
            >= 1
    );
    assert_eq!(
        scalar(&school, env, "SELECT COUNT(*) FROM students").await,
        3
    );
    assert_eq!(
        scalar(&school, env, "SELECT COUNT(*) FROM attendance").await,
        2
    );
    // Housekeeping: the open complaint closed as contact_erased, by the approver.
    let complaint = &store.complaints().await.unwrap()[0];
    assert_eq!(complaint.status, "closed");
    let entries = store.recent_activity(500).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "complaint.closed"
        && e.actor == "staff:head"
        && e.details["reason"] == "contact_erased"));
    // The audit entry and the request.
    let audit: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "privacy_erasure")
        .collect();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].details["name"], NAME);
    assert_eq!(audit[0].actor, "staff:head");
    let r = store.privacy_request(request.id).await.unwrap().unwrap();
    assert_eq!(r.status, "completed");
    assert_eq!(r.decided_by.as_deref(), Some("staff:head"));
    assert!(r.completed_at.is_some());
    assert_eq!(r.name.expose(), NAME);
    assert!(entries
        .iter()
        .any(|e| e.action == "privacy_erasure.files" && e.details["spool_events"] == 1));

    // The spool: their message gone, the other sender's kept.
    let records = env.app.spool.records().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].events[0].sender.expose(), "923011110002");

    // Every encrypted field decrypted, every activity entry and the raw bytes: none of
    // their identifiers; the name only in the request and the erasure entry.
    let needles_now = needles();
    let raw = scan_partition(&school, env, &needles_now, "عمران", NAME).await;
    assert!(
        count(&raw, "Zainab Ali".as_bytes()) >= 1,
        "other data is still there"
    );

    // A backup taken afterwards: the school's part, decrypted (a SQLite file, or the
    // schema's rows as COPY text), holds no identifier and the name once, in the
    // erasure entry.
    {
        let out = env.dir.path().join("backups-after");
        let report = raabta::backup::take(&env.app, &out, &|_| {}).await.unwrap();
        let part = report
            .manifest
            .schools
            .iter()
            .find(|s| s.id == school.tenant.id)
            .unwrap();
        let (_, key) = env.app.tenancy.backup_key(school.tenant.id).await.unwrap();
        let plain = env.dir.path().join("backup-part.db");
        raabta::backup::decrypt_file(
            &key,
            &format!("school:{}", school.tenant.id.0),
            &report.dir.join(&part.part.file),
            &plain,
        )
        .unwrap();
        let bytes = std::fs::read(&plain).unwrap();
        std::fs::remove_file(&plain).unwrap();
        for (what, n) in needles() {
            assert_eq!(count(&bytes, &n), 0, "{what} in the backup");
        }
        assert_eq!(count(&bytes, NAME.as_bytes()), 1, "the name in the backup");
    }

    // A fresh export of the school: no identifier; the name only in the request's
    // audit entry.
    let zip = export_entries(env, &school).await;
    for (name, bytes) in &zip {
        for (what, n) in needles() {
            assert_eq!(count(bytes, &n), 0, "{what} in the export's {name}");
        }
        let names = count(bytes, NAME.as_bytes());
        match name.as_str() {
            // The privacy_erasure entry, in JSON and CSV; the request's name.
            "activity_log.json"
            | "activity_log.csv"
            | "privacy_requests.json"
            | "privacy_requests.csv" => {
                assert!(names <= 1, "{name}: {names}")
            }
            _ => assert_eq!(names, 0, "the name in the export's {name}"),
        }
    }

    // A second approval is refused (the request is done).
    assert!(raabta::privacy::erase(
        &env.app,
        &school,
        request.id,
        ErasureScope::Guardian,
        "staff:head",
        "admin"
    )
    .await
    .is_err());
}

/// How a uuid is written in SQL on this backend.
fn hex_or_uuid(env: &TestEnv, id: uuid::Uuid) -> String {
    match env.kind {
        Kind::Sqlite => format!("X'{}'", id.simple()),
        Kind::Postgres => format!("'{id}'"),
    }
}

async fn a_failure_mid_way_changes_nothing(env: &TestEnv) {
    let (school, g, _wa) = a_full_life(env).await;
    let gid = hex_or_uuid(env, g.uuid());
    let snapshot = async || {
        let mut v = Vec::new();
        for sql in [
            format!("SELECT COUNT(*) FROM access_codes WHERE contact_id = {gid}"),
            format!("SELECT COUNT(*) FROM channel_identities WHERE contact_id = {gid}"),
            format!("SELECT COUNT(*) FROM guardians WHERE id = {gid} AND full_name = '{NAME}' AND phone_enc IS NOT NULL"),
            format!("SELECT COUNT(*) FROM guardian_students WHERE guardian_id = {gid}"),
            "SELECT COUNT(*) FROM conversations".to_string(),
            "SELECT COUNT(*) FROM inbound_events".to_string(),
            "SELECT COUNT(*) FROM outbox".to_string(),
            "SELECT COUNT(*) FROM media".to_string(),
            "SELECT COUNT(*) FROM face_samples".to_string(),
            "SELECT COUNT(*) FROM complaints WHERE status = 'closed'".to_string(),
            "SELECT COUNT(*) FROM activity_log".to_string(),
        ] {
            v.push(scalar(&school, env, &sql).await);
        }
        v
    };
    let before = snapshot().await;
    // A failure injected after the deletions, at the anonymising of the thread.
    let trigger = match env.kind {
        Kind::Sqlite => {
            "CREATE TRIGGER fail_erasure BEFORE UPDATE ON complaint_messages \
                         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        }
        Kind::Postgres => {
            "CREATE FUNCTION fail_erasure() RETURNS trigger LANGUAGE plpgsql AS \
                           $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
                           CREATE TRIGGER fail_erasure BEFORE UPDATE ON complaint_messages \
                           FOR EACH ROW EXECUTE FUNCTION fail_erasure();"
        }
    };
    raw_exec(&school, env, trigger).await;
    let now = env.app.clock.now();
    let request = raabta::privacy::record(
        &school,
        PrivacyKind::Erasure,
        g,
        "admin",
        "in person",
        "staff:head",
        now,
    )
    .await
    .unwrap();
    let err = raabta::privacy::erase(
        &env.app,
        &school,
        request.id,
        ErasureScope::GuardianBiometric,
        "staff:head",
        "admin",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("rolled back"), "{err}");
    let r = school
        .store
        .privacy_request(request.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "failed");
    assert!(r.error.unwrap_or_default().contains("injected failure"));
    let mut after = snapshot().await;
    // The only new thing: the entry saying the request failed (and its creation).
    let log_after = after.pop().unwrap();
    let log_before = before.last().copied().unwrap();
    assert_eq!(
        log_after,
        log_before + 2,
        "request created + failed entries only"
    );
    assert_eq!(
        after,
        before[..before.len() - 1].to_vec(),
        "nothing changed"
    );
    assert_eq!(
        env.app.spool.records().unwrap().len(),
        2,
        "the spool untouched"
    );

    // Retryable: without the failure it completes.
    let drop = match env.kind {
        Kind::Sqlite => "DROP TRIGGER fail_erasure;",
        Kind::Postgres => {
            "DROP TRIGGER fail_erasure ON complaint_messages; DROP FUNCTION fail_erasure();"
        }
    };
    raw_exec(&school, env, drop).await;
    raabta::privacy::erase(
        &env.app,
        &school,
        request.id,
        ErasureScope::Guardian,
        "staff:head",
        "admin",
    )
    .await
    .unwrap();
    let r = school
        .store
        .privacy_request(request.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "completed");
    assert_eq!(r.scope, Some(ErasureScope::Guardian));
    // The guardian scope keeps the children's face data.
    assert_eq!(
        scalar(&school, env, "SELECT COUNT(*) FROM face_samples").await,
        1
    );
}

crate::on_both_backends!(the_erasure_leaves_nothing_that_identifies_them);
crate::on_both_backends!(a_failure_mid_way_changes_nothing);

/// The admin's privacy page: a request recorded from a phone call, a copy downloaded
/// and answered, an erasure refused without its confirmation, then approved with the
/// biometric scope; teachers see none of it; a post without the form token changes
/// nothing.
async fn requests_in_the_admin(env: &TestEnv) {
    use crate::admin_web::call;
    use axum::http::StatusCode;
    let (school, admin, teacher) = school_with_staff(env, "privacy-admin", "p.test").await;
    assert_eq!(
        call(env, "GET", "/admin/privacy", &teacher, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let page = call(env, "GET", "/admin/privacy", &admin, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No requests are waiting"));
    let csrf = page.csrf();
    // Refused: an unknown number, no identity check, a forged token.
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &csrf),
            ("phone", "0333 9999999"),
            ("kind", "access"),
            ("identity_check", "called back"),
        ],
    )
    .await;
    assert!(
        r.body
            .contains("No guardian on the roster has that phone number"),
        "{}",
        r.body
    );
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &csrf),
            ("phone", "0300 1110001"),
            ("kind", "access"),
            ("identity_check", " "),
        ],
    )
    .await;
    assert!(r.body.contains("Say how the person"));
    let wrong = "0".repeat(64);
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &wrong),
            ("phone", "0300 1110001"),
            ("kind", "access"),
            ("identity_check", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(school
        .store
        .privacy_requests(None, 10)
        .await
        .unwrap()
        .is_empty());

    // A copy, asked for on the phone.
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &csrf),
            ("phone", "0300 1110001"),
            ("kind", "access"),
            ("identity_check", "called back on the roster's number"),
        ],
    )
    .await;
    assert!(r.body.contains("Recorded."), "{}", r.body);
    let access = school.store.privacy_requests(None, 10).await.unwrap()[0].clone();
    assert_eq!(access.source, "admin");
    let dash = call(env, "GET", "/admin", &admin, &[]).await;
    assert!(
        dash.body.contains("1 privacy requests waiting"),
        "{}",
        dash.body
    );
    let zip = call(
        env,
        "GET",
        &format!("/admin/privacy/{}/copy.zip", access.id),
        &admin,
        &[],
    )
    .await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.headers["content-type"], "application/zip");
    assert_eq!(zip.headers["cache-control"], "no-store");
    assert!(zip.body.starts_with("PK"));
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/privacy/{}/copy.zip", access.id),
            &teacher,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // What it holds: their profile and both children.
    let sections = school.store.personal_data(access.contact).await.unwrap();
    let profile = sections.iter().find(|s| s.name == "profile").unwrap();
    assert_eq!(profile.rows[0][0], NAME);
    assert!(profile.rows[0][1].contains("3001110001"));
    assert_eq!(
        sections
            .iter()
            .find(|s| s.name == "children")
            .unwrap()
            .rows
            .len(),
        2
    );
    let r = call(
        env,
        "POST",
        &format!("/admin/privacy/{}/answered", access.id),
        &admin,
        &[("csrf", &csrf)],
    )
    .await;
    assert!(r.body.contains("Marked as answered"), "{}", r.body);
    let entries = school.store.recent_activity(100).await.unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == "privacy_request.copy_downloaded"));

    // A staff member's request, by their email: their copy holds their profile.
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &csrf),
            ("phone", "teacher@p.test"),
            ("kind", "access"),
            ("identity_check", "in the office"),
        ],
    )
    .await;
    assert!(r.body.contains("Recorded."), "{}", r.body);
    let staff_request = school
        .store
        .privacy_requests(Some("pending"), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|r| matches!(r.contact, ContactRef::Staff(_)))
        .expect("the staff member's request");
    let sections = school
        .store
        .personal_data(staff_request.contact)
        .await
        .unwrap();
    assert_eq!(sections[0].rows[0][1], "teacher@p.test");
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &csrf),
            ("phone", "nobody@p.test"),
            ("kind", "access"),
            ("identity_check", "x"),
        ],
    )
    .await;
    assert!(
        r.body.contains("No staff member has that email"),
        "{}",
        r.body
    );

    // An erasure: refused without the box ticked, then done.
    let r = call(
        env,
        "POST",
        "/admin/privacy",
        &admin,
        &[
            ("csrf", &csrf),
            ("phone", "+923001110001"),
            ("kind", "erasure"),
            ("identity_check", "in person with CNIC"),
        ],
    )
    .await;
    assert!(r.body.contains("Recorded."));
    let erasure = school
        .store
        .privacy_requests(Some("pending"), 10)
        .await
        .unwrap()[0]
        .clone();
    let path = format!("/admin/privacy/{}/erase", erasure.id);
    let r = call(
        env,
        "POST",
        &path,
        &admin,
        &[("csrf", &csrf), ("scope", "guardian_biometric")],
    )
    .await;
    assert!(r.body.contains("Tick the box"), "{}", r.body);
    assert_eq!(
        call(
            env,
            "POST",
            &path,
            &teacher,
            &[("csrf", &csrf), ("scope", "guardian"), ("confirm", "yes")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = call(
        env,
        "POST",
        &path,
        &admin,
        &[
            ("csrf", &csrf),
            ("scope", "guardian_biometric"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert!(r.body.contains("Erased."), "{}", r.body);
    let done = school
        .store
        .privacy_request(erasure.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, "completed");
    assert_eq!(done.scope, Some(ErasureScope::GuardianBiometric));
    assert!(done.decided_by.unwrap().starts_with("staff:"));
    let phone = Phone::parse(PHONE, None).unwrap();
    assert!(school
        .store
        .contacts_by_phone(&phone)
        .await
        .unwrap()
        .is_empty());
    // Approving again is refused.
    let r = call(
        env,
        "POST",
        &path,
        &admin,
        &[("csrf", &csrf), ("scope", "guardian"), ("confirm", "yes")],
    )
    .await;
    assert!(r.body.contains("not waiting for an erasure"));
}

crate::on_both_backends!(requests_in_the_admin);

/// Retention by moving the clock: after 100 days the activity, security records,
/// password links, chat messages and media go, except the erasure entry, what a
/// pending request or an open complaint needs, and replies still waiting to be sent;
/// a closed complaint's photo goes 90 days after closing.
async fn retention_by_the_clock(env: &TestEnv) {
    let (school, imran, _wa) = a_full_life(env).await;
    let store = &school.store;
    // An erasure entry (of another guardian), kept whatever its age.
    let sana = {
        let phone = Phone::parse("+923011110002", None).unwrap();
        store.contacts_by_phone(&phone).await.unwrap()[0]
    };
    let r = raabta::privacy::record(
        &school,
        PrivacyKind::Erasure,
        sana,
        "admin",
        "in person",
        "staff:head",
        env.app.clock.now(),
    )
    .await
    .unwrap();
    raabta::privacy::erase(
        &env.app,
        &school,
        r.id,
        ErasureScope::Guardian,
        "staff:head",
        "admin",
    )
    .await
    .unwrap();
    // A staff member's failed sign-in and a password link.
    let staff = crate::admin_web::add_staff(
        &school,
        "head@r.test",
        raabta::domain::roster::StaffRole::Admin,
        "head password 1",
    )
    .await;
    let now = env.app.clock.now();
    assert!(store
        .claim_staff_login_attempt(staff, now, now - chrono::Duration::hours(1), 10)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .create_password_reset(
            staff,
            &[7u8; 32],
            now + chrono::Duration::hours(1),
            None,
            &act("password.reset_link")
        )
        .await
        .unwrap());
    let count = |sql: &'static str| scalar(&school, env, sql);
    let inbound_before = count("SELECT COUNT(*) FROM inbound_events").await;
    assert!(inbound_before > 5);
    assert_eq!(
        count("SELECT COUNT(*) FROM media").await,
        1,
        "the complaint's photo"
    );

    // Imran asked for a copy of his data: his messages wait for it.
    let access = raabta::privacy::record(
        &school,
        PrivacyKind::Access,
        imran,
        "admin",
        "called back",
        "staff:head",
        env.app.clock.now(),
    )
    .await
    .unwrap();

    // Nothing is old enough yet.
    let gone = raabta::worker::retention::school_data(&env.app)
        .await
        .unwrap();
    assert!(
        !gone.contains_key("activity_entries") && !gone.contains_key("inbound_payloads"),
        "{gone:?}"
    );

    env.app.clock.advance(chrono::Duration::days(100));
    let gone = raabta::worker::retention::school_data(&env.app)
        .await
        .unwrap();
    assert!(gone["activity_entries"] > 5, "{gone:?}");
    assert_eq!(gone["staff_login_failures"], 1, "{gone:?}");
    assert_eq!(gone["password_resets"], 1, "{gone:?}");
    assert!(
        !gone.contains_key("inbound_payloads"),
        "held for the copy: {gone:?}"
    );
    let entries = store.recent_activity(1000).await.unwrap();
    assert!(
        entries.iter().any(|e| e.action == "privacy_erasure"),
        "the erasure entry is kept"
    );
    assert!(entries.iter().any(|e| e.action == "retention.school_data"));
    assert!(
        entries
            .iter()
            .all(|e| e.at >= env.app.clock.now() - chrono::Duration::days(90)
                || e.action.starts_with("privacy_erasure")),
        "only recent entries and the erasure's"
    );
    assert_eq!(count("SELECT COUNT(*) FROM staff_login_failures").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM password_resets").await, 0);
    // The open complaint's photo and its message stay; replies not sent yet stay.
    assert_eq!(count("SELECT COUNT(*) FROM media").await, 1);
    // (Events still waiting to be handled stay too; and his, for his copy, until it
    // is answered.)
    assert!(
        count("SELECT COUNT(*) FROM inbound_events WHERE state <> 'pending'").await > 1,
        "kept for the open request for a copy"
    );
    assert!(store
        .complete_privacy_request(
            access.id,
            &act("privacy_request.answered"),
            env.app.clock.now()
        )
        .await
        .unwrap());
    let gone = raabta::worker::retention::school_data(&env.app)
        .await
        .unwrap();
    assert!(gone["inbound_payloads"] > 5, "{gone:?}");
    assert_eq!(
        count("SELECT COUNT(*) FROM inbound_events WHERE state <> 'pending'").await,
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM outbox WHERE state IN ('sent', 'dead', 'manual')").await,
        0
    );
    // The school's records stay.
    assert_eq!(store.complaints().await.unwrap().len(), 1);
    assert_eq!(store.leave_requests(None).await.unwrap().len(), 1);

    // Closed: its photo goes 90 days later (the school's setting), not before.
    let complaint = store.complaints().await.unwrap()[0].id;
    assert!(store
        .change_complaint(
            complaint,
            &raabta::store::ComplaintChange::Close {
                reason: "resolved".into()
            },
            &act("complaint.closed"),
            env.app.clock.now(),
        )
        .await
        .unwrap());
    env.app.clock.advance(chrono::Duration::days(30));
    raabta::worker::retention::school_data(&env.app)
        .await
        .unwrap();
    assert_eq!(
        count("SELECT COUNT(*) FROM media").await,
        1,
        "kept 30 days after closing"
    );
    env.app.clock.advance(chrono::Duration::days(61));
    let gone = raabta::worker::retention::school_data(&env.app)
        .await
        .unwrap();
    assert_eq!(gone.get("complaint_attachments"), Some(&1), "{gone:?}");
    assert_eq!(count("SELECT COUNT(*) FROM media").await, 0);
}

crate::on_both_backends!(retention_by_the_clock);

/// The school exported to a zip; its entries by name.
async fn export_entries(env: &TestEnv, school: &School) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let out = env
        .dir
        .path()
        .join(format!("export-{}.zip", uuid::Uuid::now_v7().simple()));
    raabta::export::export_school(
        school.store.as_ref(),
        &school.tenant.name,
        env.dir.path(),
        &out,
        env.app.clock.now(),
        &|_| {},
    )
    .await
    .unwrap();
    let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        entries.push((f.name().unwrap().to_string(), bytes));
    }
    std::fs::remove_file(&out).unwrap();
    entries
}

/// The school's export: every table as JSON and CSV with encrypted fields readable,
/// the attachments as files, security material left out.
async fn the_school_export_holds_everything_but_secrets(env: &TestEnv) {
    let (school, _g, _wa) = a_full_life(env).await;
    crate::admin_web::add_staff(
        &school,
        "head@x.test",
        raabta::domain::roster::StaffRole::Admin,
        "head password 1",
    )
    .await;
    let entries = export_entries(env, &school).await;
    let get = |n: &str| {
        entries
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, b)| String::from_utf8_lossy(b).to_string())
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    for t in [
        "students",
        "guardians",
        "complaints",
        "leave_requests",
        "consent_requests",
        "attendance",
        "inbound_events",
        "activity_log",
    ] {
        get(&format!("{t}.json"));
        get(&format!("{t}.csv"));
    }
    let guardians: serde_json::Value = serde_json::from_str(&get("guardians.json")).unwrap();
    let imran = guardians
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["full_name"] == NAME)
        .expect("the guardian");
    assert_eq!(imran["phone"], PHONE, "decrypted");
    assert_eq!(
        imran["cnic"].as_str().map(|c| c.contains("7654321")),
        Some(true)
    );
    assert!(imran.get("phone_bidx").is_none() && imran.get("phone_enc").is_none());
    assert!(get("guardians.csv").contains("House 12 Street 4"));
    assert!(get("complaints.json").contains("van late aati hai"));
    // The complaint's photo as a file, named by its media row.
    let media: serde_json::Value = serde_json::from_str(&get("media.json")).unwrap();
    let file = media[0]["content_file"].as_str().unwrap().to_string();
    let photo = entries
        .iter()
        .find(|(n, _)| *n == file)
        .expect("the attachment");
    assert!(photo.1.starts_with(&[0xFF, 0xD8]), "a JPEG");
    // Security material is not exported.
    assert!(entries.iter().all(|(n, _)| !n.starts_with("access_codes")
        && !n.starts_with("admin_sessions")
        && !n.starts_with("password_resets")));
    let staff = get("staff_users.json");
    assert!(
        staff.contains("head@x.test")
            && !staff.contains("password_hash")
            && !staff.contains("$argon2")
    );
    assert!(!get("face_samples.json").contains("embedding"));
    let readme = get("README.txt");
    assert!(readme.contains("guardians: 3 rows"), "{readme}");
}

crate::on_both_backends!(the_school_export_holds_everything_but_secrets);

/// The school's export from the admin: a job whose zip is kept encrypted, offered
/// through a short-lived signed link to administrators only, deleted after 7 days.
async fn the_admin_exports_the_school(env: &TestEnv) {
    use crate::admin_web::call;
    use axum::http::StatusCode;
    use std::sync::Arc;
    let (school, admin, teacher) = school_with_staff(env, "export-admin", "e.test").await;
    assert_eq!(
        call(env, "GET", "/admin/export", &teacher, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page = call(env, "GET", "/admin/export", &admin, &[]).await;
    assert!(page.body.contains("No exports yet"));
    let csrf = page.csrf();
    let r = call(env, "POST", "/admin/export", &admin, &[("csrf", &csrf)]).await;
    assert!(r.body.contains("The export has started"), "{}", r.body);

    let mut runner = raabta::worker::jobs::JobRunner::new();
    runner.register_io(
        raabta::domain::job::SCHOOL_EXPORT,
        Arc::new(raabta::export::SchoolExport),
        1,
        1,
    );
    for h in Arc::new(runner).pass(&env.app).await.unwrap() {
        h.await.unwrap();
    }
    let job = school
        .store
        .jobs_of_kind(raabta::domain::job::SCHOOL_EXPORT, 5)
        .await
        .unwrap()[0]
        .clone();
    assert_eq!(job.state, "done", "{:?}", job.last_error);
    // At rest: encrypted, nothing readable.
    let stored = raabta::export::stored_path(&env.app.config.data_dir, school.tenant.id, job.id);
    let bytes = std::fs::read(&stored).unwrap();
    assert!(!bytes.starts_with(b"PK"));
    assert_eq!(count(&bytes, b"Zainab Ali"), 0);

    let page = call(env, "GET", "/admin/export", &admin, &[]).await;
    let body = page.body.replace("&amp;", "&").replace("&#x2f;", "/");
    let at = body.find("/admin/export/").expect("a download link");
    let link = &body[at..at + body[at..].find('"').unwrap()];
    let zip = call(env, "GET", link, &admin, &[]).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.headers["content-type"], "application/zip");
    assert!(zip.body.starts_with("PK"));
    // A changed signature, a teacher: refused.
    // (The last hex digit changed, whatever it was.)
    let last = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &link[..link.len() - 1]);
    assert_eq!(
        call(env, "GET", &forged, &admin, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(env, "GET", link, &teacher, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(school
        .store
        .recent_activity(50)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "school.export_downloaded"));
    // After 7 days the file is deleted by the retention pass.
    env.app.clock.advance(chrono::Duration::days(8));
    let gone = raabta::worker::retention::school_data(&env.app)
        .await
        .unwrap();
    assert_eq!(gone.get("export_files"), Some(&1), "{gone:?}");
    assert!(!stored.exists());
}

crate::on_both_backends!(the_admin_exports_the_school);

/// A school with the test roster, an administrator signed in with two-factor and a
/// teacher signed in: (school, administrator's cookie, teacher's cookie).
async fn school_with_staff(env: &TestEnv, slug: &str, domain: &str) -> (School, String, String) {
    use crate::admin_web::{add_staff, admin_cookie, cookie_of};
    use raabta::domain::roster::StaffRole;
    let school = env.school(slug).await;
    load_roster_and_fees(&school).await;
    let (head, teacher) = (format!("head@{domain}"), format!("teacher@{domain}"));
    add_staff(&school, &head, StaffRole::Admin, "head password 1").await;
    add_staff(&school, &teacher, StaffRole::Teacher, "teacher password 1").await;
    let admin = admin_cookie(env, &school, &head, "head password 1").await;
    let teacher = cookie_of(env, slug, &teacher, "teacher password 1").await;
    (school, admin, teacher)
}

/// A staff member's erasure: their sign-in, sessions, chat login and conversation go,
/// their account becomes "Deleted contact" with no email, phone, password or second
/// factor; their replies keep their content without the author; where their email was
/// written as who did something it is replaced; nothing of them is left but the
/// request and the audit entry.
async fn a_staff_member_is_erased(env: &TestEnv) {
    use raabta::domain::roster::{StaffRole, StaffUser};
    use raabta::domain::StaffId;
    let (school, _g, _wa) = a_full_life(env).await;
    let teacher = StaffUser {
        id: StaffId::new(),
        full_name: "Rukhsana Perveen".into(),
        email: "rukhsana.p@school.test".into(),
        phone: Some(Phone::parse("+923331234567", None).unwrap()),
        role: StaffRole::Teacher,
        branch: None,
        password_hash: Some(
            raabta::password::hash("teacher password 1".into())
                .await
                .unwrap(),
        ),
    };
    school
        .store
        .create_staff(&teacher, &act("staff.create"))
        .await
        .unwrap();
    let staff = ContactRef::Staff(teacher.id);
    // Signed in to the admin once, logged in on WhatsApp.
    let _session = crate::admin_web::cookie_of(
        env,
        "privacy",
        "rukhsana.p@school.test",
        "teacher password 1",
    )
    .await;
    let meta = crate::webhooks::meta_channel(env);
    let mut wa = Simulator::new(
        &env.app,
        "privacy",
        Provider::Meta,
        Some(meta),
        "923331234567",
    )
    .await
    .unwrap();
    let c = code(&school, staff).await;
    wa.say("hi").await.unwrap();
    wa.say(&c).await.unwrap();
    // Their reply in the guardian's complaint thread, and a face consent they saw.
    let complaint = school.store.complaints().await.unwrap()[0].id;
    let mut entry = act("complaint.replied");
    entry.actor = format!("staff:{}", teacher.id.0);
    assert!(school
        .store
        .change_complaint(
            complaint,
            &raabta::store::ComplaintChange::Reply(
                "We spoke to the driver. Rukhsana Perveen, 0333 1234567".into()
            ),
            &entry,
            env.app.clock.now(),
        )
        .await
        .unwrap());
    let students = school.store.student_ids_by_admission().await.unwrap();
    school
        .store
        .record_face_consent(
            students["A-3"],
            "rukhsana.p@school.test",
            None,
            &act("face.consent"),
        )
        .await
        .unwrap();

    let request = raabta::privacy::record(
        &school,
        PrivacyKind::Erasure,
        staff,
        "admin",
        "in person",
        "staff:head",
        env.app.clock.now(),
    )
    .await
    .unwrap();
    // A copy of their data first: their profile.
    let copy = school.store.personal_data(staff).await.unwrap();
    assert_eq!(copy[0].rows[0][1], "rukhsana.p@school.test");
    let done = raabta::privacy::erase(
        &env.app,
        &school,
        request.id,
        ErasureScope::Guardian,
        "staff:head",
        "admin",
    )
    .await
    .unwrap();
    assert!(done.counts["admin_sessions"] >= 1, "{:?}", done.counts);
    assert_eq!(done.counts["channel_identities"], 1, "{:?}", done.counts);
    let id = hex_or_uuid(env, teacher.id.0);
    for (what, sql) in [
        ("sessions", format!("SELECT COUNT(*) FROM admin_sessions WHERE staff_id = {id}")),
        ("chat login", format!("SELECT COUNT(*) FROM channel_identities WHERE contact_id = {id}")),
        ("their conversation", format!("SELECT COUNT(*) FROM conversations WHERE contact_id = {id}")),
        ("contact fields", format!("SELECT COUNT(*) FROM staff_users WHERE id = {id} AND (phone_enc IS NOT NULL OR password_hash IS NOT NULL OR email NOT LIKE 'deleted-%')")),
        ("their email as author", "SELECT COUNT(*) FROM face_consents WHERE confirmed_by = 'rukhsana.p@school.test'".to_string()),
    ] {
        assert_eq!(scalar(&school, env, &sql).await, 0, "{what} left");
    }
    assert_eq!(
        scalar(&school, env, &format!("SELECT COUNT(*) FROM staff_users WHERE id = {id} AND full_name = 'Deleted contact' AND active = FALSE")).await,
        1
    );
    assert_eq!(
        scalar(
            &school,
            env,
            "SELECT COUNT(*) FROM face_consents WHERE confirmed_by = 'Deleted contact'"
        )
        .await,
        1
    );
    // The school's records stay; the reply keeps its content without the author.
    assert_eq!(school.store.complaints().await.unwrap().len(), 1);
    // Nothing of them but the request and the audit entry, decrypted or raw.
    let needles: Vec<(&str, Vec<u8>)> = ["rukhsana.p@school.test", "3331234567", "923331234567"]
        .into_iter()
        .map(|n| (n, n.as_bytes().to_vec()))
        .collect();
    scan_partition(&school, env, &needles, "Rukhsana", "Rukhsana Perveen").await;
    // They can no longer sign in.
    let r = crate::admin_web::sign_in(
        env,
        "privacy",
        "rukhsana.p@school.test",
        "teacher password 1",
    )
    .await;
    assert!(r.cookie("raabta_admin").is_none());
}

crate::on_both_backends!(a_staff_member_is_erased);

/// Scans what the school keeps after an erasure — every encrypted column decrypted,
/// every activity entry, the partition's raw bytes — for the person's identifiers (none
/// anywhere) and their name (`part`: only in the request's name and the
/// `privacy_erasure` entry; `full`: exactly once in the raw bytes). The raw bytes.
async fn scan_partition(
    school: &School,
    env: &TestEnv,
    needles: &[(&str, Vec<u8>)],
    part: &str,
    full: &str,
) -> Vec<u8> {
    for col in ENCRYPTED_COLUMNS {
        for (id, plain) in school.store.decrypted_column(*col).await.unwrap() {
            let text = String::from_utf8_lossy(plain.expose()).to_string();
            for (what, n) in needles {
                assert_eq!(
                    count(text.as_bytes(), n),
                    0,
                    "{what} in {}.{} {id}: {text}",
                    col.table,
                    col.column
                );
            }
            if !(col.table == "privacy_requests" && col.column == "name_enc") {
                assert!(
                    !text.contains(part),
                    "the name in {}.{}: {text}",
                    col.table,
                    col.column
                );
            }
        }
    }
    for e in school.store.recent_activity(5000).await.unwrap() {
        let s = format!(
            "{} {} {}",
            e.actor,
            e.subject.clone().unwrap_or_default(),
            e.details
        );
        for (what, n) in needles {
            assert_eq!(
                count(s.as_bytes(), n),
                0,
                "{what} in activity {}: {s}",
                e.action
            );
        }
        if e.action != "privacy_erasure" {
            assert!(!s.contains(part), "the name in activity {}: {s}", e.action);
        }
    }
    let raw = raw_bytes(env);
    assert!(raw.len() > 10_000, "a real dump");
    for (what, n) in needles {
        assert_eq!(count(&raw, n), 0, "{what} in the raw partition");
    }
    assert_eq!(
        count(&raw, full.as_bytes()),
        1,
        "the name only in the erasure entry"
    );
    raw
}
