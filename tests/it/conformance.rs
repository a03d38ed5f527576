//! The store conformance suite: each story runs on SQLite and on PostgreSQL.

use crate::on_both_backends;
use crate::support::{load_roster_and_fees, TestEnv};
use chrono::{Duration, NaiveDate, Utc};
use raabta::codes::{self, CodeError};
use raabta::domain::activity::ActivityEntry;
use raabta::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use raabta::domain::phone::Phone;
use raabta::domain::roster::{ContactRef, StaffRole, StaffUser};
use raabta::domain::school::{NewTenant, TenantStatus};
use raabta::domain::{AccessCodeId, StaffId};
use raabta::store::{StoreError, StoredAccessCode, ENCRYPTED_COLUMNS};
use serde_json::json;

fn phone(s: &str) -> Phone {
    Phone::parse(s, Some("PK")).unwrap()
}

async fn tenant_lifecycle(env: &TestEnv) {
    let t = &env.app.tenancy;
    let a = env.school("alpha").await;
    assert_eq!(a.tenant.status, TenantStatus::Active);
    env.school("beta").await;
    let slugs: Vec<String> = t
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.slug.to_string())
        .collect();
    assert_eq!(slugs, vec!["alpha", "beta"]);

    let dup = NewTenant::new("alpha", "Again", "Asia/Riyadh", "ar").unwrap();
    assert!(matches!(t.create(dup).await, Err(StoreError::TenantExists(s)) if s == "alpha"));
    assert!(matches!(
        t.school("gamma").await,
        Err(StoreError::UnknownTenant(_))
    ));

    load_roster_and_fees(&a).await;
    t.purge("alpha", "test").await.unwrap();
    assert!(matches!(
        t.school("alpha").await,
        Err(StoreError::UnknownTenant(_))
    ));
    assert!(matches!(
        t.purge("alpha", "test").await,
        Err(StoreError::UnknownTenant(_))
    ));
    // The slug is free again and the new school starts empty.
    let again = env.school("alpha").await;
    assert_ne!(again.tenant.id, a.tenant.id);
    assert_eq!(again.store.counts().await.unwrap().students, 0);

    // Migrating again applies nothing, school by school.
    let outcomes = t.migrate_all().await.unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().all(|o| matches!(o.result, Ok(0))));
}
on_both_backends!(tenant_lifecycle);

async fn roster_round_trip(env: &TestEnv) {
    let s = env.school("roster").await;
    load_roster_and_fees(&s).await;
    let c = s.store.counts().await.unwrap();
    assert_eq!(
        (c.branches, c.classes, c.students, c.guardians),
        (2, 3, 3, 3)
    );

    let students = s.store.students().await.unwrap();
    let ayesha = &students[0];
    assert_eq!(ayesha.full_name, "عائشہ خان");
    assert_eq!(ayesha.bform.as_ref().unwrap().expose(), "35202-1234567-2");
    assert_eq!(
        ayesha.health_notes.as_ref().unwrap().expose(),
        "Asthma inhaler"
    );
    assert_eq!(ayesha.date_of_birth, NaiveDate::from_ymd_opt(2015, 4, 12));

    // The father of two is one guardian, linked to both children.
    let bilal = &students[1];
    let gs = s.store.guardians_of(bilal.id).await.unwrap();
    assert_eq!(gs.len(), 2);
    let father = gs.iter().find(|g| g.full_name == "عمران خان").unwrap();
    assert_eq!(father.phone.as_ref().unwrap().e164(), "+923001110001");
    assert_eq!(father.cnic.as_ref().unwrap().expose(), "35202-7654321-1");
    assert_eq!(
        father.address.as_ref().unwrap().expose(),
        "House 12 Street 4 Islamabad"
    );
    let found = s
        .store
        .contacts_by_phone(&phone("+92 300 1110001"))
        .await
        .unwrap();
    assert_eq!(found, vec![ContactRef::Guardian(father.id)]);
    assert!(s
        .store
        .contacts_by_phone(&phone("0300 9999999"))
        .await
        .unwrap()
        .is_empty());

    // Importing the same file again changes nothing but "updated" counts.
    let rows = raabta::import::parse_roster(crate::support::ROSTER.as_bytes(), Some("PK")).unwrap();
    let act = ActivityEntry::now("test", "roster.import", None, "test", json!({}));
    let summary = s.store.import_roster(&rows, &act, &()).await.unwrap();
    assert_eq!((summary.students_created, summary.students_updated), (0, 3));
    assert_eq!(
        (summary.guardians_created, summary.guardians_updated),
        (0, 3)
    );
    let c2 = s.store.counts().await.unwrap();
    assert_eq!((c2.students, c2.guardians), (3, 3));
    // A blank optional field on re-import keeps what was stored.
    let again = s.store.students().await.unwrap();
    assert_eq!(again[0].bform.as_ref().unwrap().expose(), "35202-1234567-2");

    // A file with only the required columns keeps gender, language and relation.
    let minimal = "admission_no,student_name,class,section,branch,guardian_name,guardian_phone\n\
                   A-1,عائشہ خان,Grade 5,A,Main,عمران خان,0300 1110001\n";
    let rows = raabta::import::parse_roster(minimal.as_bytes(), Some("PK")).unwrap();
    s.store.import_roster(&rows, &act, &()).await.unwrap();
    let kept = s.store.students().await.unwrap();
    assert_eq!(kept[0].gender, raabta::domain::roster::Gender::Female);
    assert_eq!(
        kept[0].health_notes.as_ref().unwrap().expose(),
        "Asthma inhaler"
    );
    let father = s.store.guardian(father.id).await.unwrap().unwrap();
    assert_eq!(
        father.preferred_language,
        raabta::domain::school::Locale::Ur
    );
    assert_eq!(father.cnic.as_ref().unwrap().expose(), "35202-7654321-1");

    // Staff: created once; a second with the same email is a clear conflict.
    let staff = StaffUser {
        id: StaffId::new(),
        full_name: "Ms. Rabia".into(),
        email: "Rabia@School.pk".into(),
        phone: Some(phone("0300 1110001")),
        role: StaffRole::Teacher,
        branch: Some("Main".into()),
        password_hash: None,
    };
    let act = ActivityEntry::now("test", "staff.create", None, "test", json!({}));
    s.store.create_staff(&staff, &act).await.unwrap();
    let dup = StaffUser {
        id: StaffId::new(),
        phone: None,
        email: "rabia@school.pk".into(),
        ..staff.clone()
    };
    assert!(matches!(
        s.store.create_staff(&dup, &act).await,
        Err(StoreError::Conflict(_))
    ));
    let bad_branch = StaffUser {
        id: StaffId::new(),
        email: "x@y.pk".into(),
        phone: None,
        branch: Some("Nowhere".into()),
        ..staff.clone()
    };
    assert!(
        matches!(s.store.create_staff(&bad_branch, &act).await, Err(StoreError::Conflict(m)) if m.contains("Nowhere"))
    );
    // Now that number belongs to a guardian and a staff member.
    assert_eq!(
        s.store
            .contacts_by_phone(&phone("03001110001"))
            .await
            .unwrap()
            .len(),
        2
    );
}
on_both_backends!(roster_round_trip);

async fn fees_and_all_or_nothing(env: &TestEnv) {
    let s = env.school("fees").await;
    load_roster_and_fees(&s).await;
    let ids = s.store.student_ids_by_admission().await.unwrap();
    let a1 = ids["A-1"];
    let lines = s.store.fee_statement(a1).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].amount.minor, 850_000);
    assert_eq!(lines[0].paid_minor, 850_000);
    assert_eq!(lines[1].outstanding_minor(), 450_000);
    let a2 = s.store.fee_statement(ids["A-2"]).await.unwrap();
    assert_eq!(a2[0].amount.minor, 750_050);
    assert_eq!(a2[0].paid_minor, 0);

    // Re-importing the same payments does not double them.
    let fees = raabta::import::parse_fees(crate::support::FEES.as_bytes(), &ids).unwrap();
    let act = ActivityEntry::now("test", "fees.import", None, "test", json!({}));
    let again = s.store.import_fees(&fees, &ids, &act, &()).await.unwrap();
    assert_eq!(
        (
            again.fee_lines_created,
            again.fee_lines_updated,
            again.payments
        ),
        (0, 3, 0)
    );
    assert_eq!(
        s.store.fee_statement(a1).await.unwrap()[1].paid_minor,
        400_000
    );

    // A failure part-way through leaves nothing behind.
    let before = s.store.counts().await.unwrap();
    let mut partial = fees.clone();
    partial[0].period = "2027-01".into();
    partial[1].admission_no = "GONE".into();
    let err = s
        .store
        .import_fees(&partial, &ids, &act, &())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let after = s.store.counts().await.unwrap();
    assert_eq!(before, after);
}
on_both_backends!(fees_and_all_or_nothing);

async fn access_codes(env: &TestEnv) {
    let s = env.school("codes").await;
    load_roster_and_fees(&s).await;
    let store = s.store.as_ref();
    let contact = store
        .contacts_by_phone(&phone("03011110002"))
        .await
        .unwrap()[0];

    let (code, expires) = codes::issue(None, store, contact, Duration::days(14), "test", "test")
        .await
        .unwrap();
    assert!(expires > Utc::now() + Duration::days(13));
    // Typed with a dash, lower case and spaces, it still works; once.
    let typed = format!(" {} ", code.display().to_lowercase());
    assert_eq!(codes::redeem(store, &typed, "test").await.unwrap(), contact);
    assert!(matches!(
        codes::redeem(store, code.expose(), "test").await,
        Err(CodeError::AlreadyUsed)
    ));
    assert!(matches!(
        codes::redeem(store, "ZZZZ-ZZZZ", "test").await,
        Err(CodeError::Invalid)
    ));
    assert!(matches!(
        codes::redeem(store, "short", "test").await,
        Err(CodeError::Invalid)
    ));

    // A new code revokes the unused previous one.
    let (old, _) = codes::issue(None, store, contact, Duration::days(1), "test", "test")
        .await
        .unwrap();
    let (new, _) = codes::issue(None, store, contact, Duration::days(1), "test", "test")
        .await
        .unwrap();
    assert!(matches!(
        codes::redeem(store, old.expose(), "test").await,
        Err(CodeError::Invalid)
    ));
    assert_eq!(
        codes::redeem(store, new.expose(), "test").await.unwrap(),
        contact
    );

    // Expired codes are refused.
    let expired = raabta::domain::access_code::AccessCode::generate();
    let row = StoredAccessCode {
        id: AccessCodeId::new(),
        contact,
        code_hash: raabta::password::hash(expired.expose().to_string())
            .await
            .unwrap(),
        expires_at: Utc::now() - Duration::minutes(1),
        used_at: None,
        revoked_at: None,
    };
    let lookup = codes::bucket(store, &expired);
    let act = ActivityEntry::now("test", "access_code.issue", None, "test", json!({}));
    store.insert_access_code(&row, &lookup, &act).await.unwrap();
    assert!(matches!(
        codes::redeem(store, expired.expose(), "test").await,
        Err(CodeError::Expired)
    ));
    assert!(matches!(
        codes::issue(None, store, contact, Duration::minutes(5), "test", "test").await,
        Err(CodeError::BadValidity)
    ));

    // Two parallel redemptions of one code: exactly one wins.
    let (code, _) = codes::issue(None, store, contact, Duration::days(1), "test", "test")
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        codes::redeem(store, code.expose(), "t1"),
        codes::redeem(store, code.expose(), "t2")
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|x| **x).count(), 1);
}
on_both_backends!(access_codes);

async fn attendance_and_activity(env: &TestEnv) {
    let s = env.school("attend").await;
    load_roster_and_fees(&s).await;
    let student = s.store.students().await.unwrap()[0].id;
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let mark = ActivityEntry::now(
        "staff:t",
        "attendance.mark",
        Some(format!("student:{student}")),
        "test",
        json!({}),
    );
    for (d, status) in [
        (2, AttendanceStatus::Present),
        (3, AttendanceStatus::Absent),
        (4, AttendanceStatus::Late),
    ] {
        let rec = AttendanceRecord {
            day: day(d),
            student,
            status,
            source: AttendanceSource::Manual,
            recorded_by: None,
        };
        s.store.record_attendance(&rec, &mark).await.unwrap();
    }
    // A correction replaces the day's record rather than adding one.
    let fix = AttendanceRecord {
        day: day(3),
        student,
        status: AttendanceStatus::Excused,
        source: AttendanceSource::Face,
        recorded_by: None,
    };
    let edit = ActivityEntry::now(
        "staff:t",
        "attendance.edit",
        None,
        "test",
        json!({ "reason": "late bus" }),
    );
    s.store.record_attendance(&fix, &edit).await.unwrap();
    let got = s
        .store
        .attendance_between(student, day(3), day(30))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], fix);

    // Every change wrote its activity entry, newest first.
    let log = s.store.recent_activity(10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "attendance.edit",
            "attendance.mark",
            "attendance.mark",
            "attendance.mark",
            "fees.import",
            "roster.import"
        ]
    );
    assert_eq!(log[5].details, json!({ "rows": 4 }));
    assert_eq!(log[0].details, json!({ "reason": "late bus" }));
    let export = ActivityEntry::now("staff:x", "report.export", None, "127.0.0.1", json!({}));
    s.store.log_activity(&export).await.unwrap();
    assert_eq!(
        s.store.recent_activity(1).await.unwrap()[0].action,
        "report.export"
    );
}
on_both_backends!(attendance_and_activity);

async fn key_rotation(env: &TestEnv) {
    let s = env.school("rotate").await;
    load_roster_and_fees(&s).await;
    let contact = s
        .store
        .contacts_by_phone(&phone("03001110001"))
        .await
        .unwrap()[0];
    let t = &env.app.tenancy;
    let total = t.encrypted_value_count("rotate").await.unwrap();
    assert_eq!(total, 1 + 1 + 3 + 1 + 1); // bform, health notes, 3 phones, cnic, address

    let report = t.rotate_keys("rotate", 2, &(), &|_| {}).await.unwrap();
    assert_eq!(report.new_key_id, 2);
    assert_eq!(report.rows_rewritten, total);
    let after = t.school("rotate").await.unwrap();
    assert_eq!(after.store.keys().active_key_id(), 2);
    for col in ENCRYPTED_COLUMNS {
        assert_eq!(
            after.store.key_usage(*col).await.unwrap().stale,
            0,
            "{col:?}"
        );
    }
    // Everything still reads back.
    let students = after.store.students().await.unwrap();
    assert_eq!(
        students[0].bform.as_ref().unwrap().expose(),
        "35202-1234567-2"
    );
    if let ContactRef::Guardian(g) = contact {
        let g = after.store.guardian(g).await.unwrap().unwrap();
        assert_eq!(g.phone.unwrap().e164(), "+923001110001");
    }
    // Phone lookups keep working (the index key is not rotated).
    assert_eq!(
        after
            .store
            .contacts_by_phone(&phone("03001110001"))
            .await
            .unwrap(),
        vec![contact]
    );
    let keys = t
        .backend()
        .control
        .tenant_keys(after.tenant.id)
        .await
        .unwrap();
    let states: Vec<(u32, &str)> = keys
        .iter()
        .filter(|k| k.purpose == raabta::store::KeyPurpose::Data)
        .map(|k| (k.key_id, k.state.as_str()))
        .collect();
    assert_eq!(states, vec![(2, "active")], "the old key is destroyed");
    // A second rotation works too.
    assert_eq!(
        t.rotate_keys("rotate", 100, &(), &|_| {})
            .await
            .unwrap()
            .new_key_id,
        3
    );
}
on_both_backends!(key_rotation);

/// Face attendance's store (issue 17): no sample without a consent record (checked in
/// the same transaction), at most five, embeddings encrypted and read back only for
/// the class gallery, deletion one by one, withdrawal deleting every sample at once,
/// and the embeddings rotated with the school's keys.
async fn face_consent_and_samples(env: &TestEnv) {
    use raabta::face::quality::Quality;
    use raabta::store::{EnrolOutcome, FACE_SAMPLES_MAX};
    let s = env.school("faces").await;
    load_roster_and_fees(&s).await;
    let student = s
        .store
        .students()
        .await
        .unwrap()
        .into_iter()
        .find(|st| st.admission_no == "A-1")
        .unwrap();
    let act = |what: &str| {
        ActivityEntry::now(
            "staff:t",
            what,
            Some(format!("student:{}", student.id)),
            "test",
            json!({}),
        )
    };
    let q = Quality {
        face_px: 180.0,
        sharpness: 90.0,
        brightness: 120.0,
        yaw: 0.05,
        roll: 2.0,
        pitch: 0.5,
        score: 0.99,
    };
    let emb = |k: usize| -> Vec<f32> {
        let mut v = vec![0.0f32; 512];
        v[k] = 1.0;
        v
    };
    // No consent: refused, nothing kept.
    let out = s
        .store
        .add_face_sample(student.id, &emb(0), &q, &act("face.enrol"))
        .await
        .unwrap();
    assert_eq!(out, EnrolOutcome::NoConsent);
    assert!(s.store.face_samples(student.id).await.unwrap().is_empty());
    assert!(s.store.face_consent(student.id).await.unwrap().is_none());

    s.store
        .record_face_consent(
            student.id,
            "head@school.test",
            Some("signed form 12"),
            &act("face.consent"),
        )
        .await
        .unwrap();
    let c = s.store.face_consent(student.id).await.unwrap().unwrap();
    assert_eq!(c.confirmed_by, "head@school.test");
    assert_eq!(c.note.unwrap().expose(), "signed form 12");
    let mut ids = Vec::new();
    for k in 0..FACE_SAMPLES_MAX {
        match s
            .store
            .add_face_sample(student.id, &emb(k), &q, &act("face.enrol"))
            .await
            .unwrap()
        {
            EnrolOutcome::Added(id) => ids.push(id),
            other => panic!("sample {k}: {other:?}"),
        }
    }
    assert_eq!(
        s.store
            .add_face_sample(student.id, &emb(9), &q, &act("face.enrol"))
            .await
            .unwrap(),
        EnrolOutcome::Full
    );
    let listed = s.store.face_samples(student.id).await.unwrap();
    assert_eq!(listed.len(), FACE_SAMPLES_MAX);
    assert_eq!(listed[0].quality, q);
    // The gallery of the class reads the embeddings back.
    let gallery = s.store.class_gallery(student.class_id).await.unwrap();
    assert_eq!(gallery.len(), 1);
    assert_eq!(gallery[0].key, student.id);
    assert_eq!(gallery[0].samples.len(), FACE_SAMPLES_MAX);
    assert_eq!(gallery[0].samples[0], emb(0));
    let class = s.store.class_faces(student.class_id).await.unwrap();
    let row = class.iter().find(|r| r.student == student.id).unwrap();
    assert!(row.consent && row.samples == FACE_SAMPLES_MAX);
    // Embeddings and the note are rotated with the school's keys.
    let report = env
        .app
        .tenancy
        .rotate_keys("faces", 2, &(), &|_| {})
        .await
        .unwrap();
    assert!(report.rows_rewritten > FACE_SAMPLES_MAX as u64);
    let after = env.app.tenancy.school("faces").await.unwrap();
    let gallery = after.store.class_gallery(student.class_id).await.unwrap();
    assert_eq!(gallery[0].samples[4], emb(4));
    // One deleted, then withdrawal deletes the rest and the record at once.
    assert!(after
        .store
        .delete_face_sample(student.id, ids[0], &act("face.sample.delete"))
        .await
        .unwrap());
    assert_eq!(
        after
            .store
            .withdraw_face_consent(student.id, &act("face.withdraw"))
            .await
            .unwrap(),
        Some(FACE_SAMPLES_MAX - 1)
    );
    assert!(after
        .store
        .face_samples(student.id)
        .await
        .unwrap()
        .is_empty());
    assert!(after
        .store
        .face_consent(student.id)
        .await
        .unwrap()
        .is_none());
    assert!(after
        .store
        .class_gallery(student.class_id)
        .await
        .unwrap()
        .is_empty());
    // A second withdrawal finds no consent.
    assert_eq!(
        after
            .store
            .withdraw_face_consent(student.id, &act("face.withdraw"))
            .await
            .unwrap(),
        None
    );
}
on_both_backends!(face_consent_and_samples);
