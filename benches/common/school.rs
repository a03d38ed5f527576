//! The realistic school the page and backup benches seed: 2,000 students in 30
//! classes (two branches), 3,500 guardians, ten months of fees with payments, and a
//! year of attendance (every weekday of the last 365 days, ≈520,000 marks).

use chrono::{Datelike, Duration};
use raabta::app::App;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use raabta::domain::school::NewTenant;
use std::time::Instant;

pub const STUDENTS: usize = 2_000;
const GRADES: usize = 10;
const SECTIONS: [&str; 3] = ["A", "B", "C"];

/// Seeds the school `bench` and opens it.
pub async fn seed(app: &App) -> raabta::store::tenancy::School {
    let t0 = Instant::now();
    let tenant = app
        .tenancy
        .create(NewTenant::new("bench", "Bench School", "Asia/Karachi", "en").expect("tenant"))
        .await
        .expect("create");
    let school = app.tenancy.open(tenant).await.expect("open");
    // The roster: 2,000 students; every father, and three mothers in four (3,500).
    let mut csv = String::from(
        "admission_no,student_name,class,section,branch,gender,guardian_name,guardian_phone,guardian_relation,guardian_language\n",
    );
    for i in 0..STUDENTS {
        let grade = i % GRADES + 1;
        let section = SECTIONS[(i / GRADES) % SECTIONS.len()];
        let branch = if grade <= 5 { "Main" } else { "North" };
        let gender = if i % 2 == 0 { "female" } else { "male" };
        let row = format!("S-{i:05},Student {i},Grade {grade},{section},{branch},{gender}");
        csv.push_str(&format!(
            "{row},Father {i},0300{:07},father,ur\n",
            1_000_000 + i
        ));
        if i % 4 != 3 {
            csv.push_str(&format!(
                "{row},Mother {i},0301{:07},mother,en\n",
                1_000_000 + i
            ));
        }
    }
    let records = raabta::import::parse_roster(csv.as_bytes(), Some("PK")).expect("roster");
    let act = ActivityEntry::now(
        "bench",
        "roster.import",
        None,
        "bench",
        serde_json::json!({}),
    );
    school
        .store
        .import_roster(&records, &act, &())
        .await
        .expect("import roster");
    // Ten months of tuition, paid except for the last two months of one in five.
    let students = school.store.student_ids_by_admission().await.expect("ids");
    let mut fees = String::from(
        "admission_no,period,description,amount,currency,due_date,paid_amount,paid_on,payment_reference\n",
    );
    for i in 0..STUDENTS {
        for m in 1..=10 {
            let paid = !(i % 5 == 0 && m > 8);
            fees.push_str(&format!(
                "S-{i:05},2026-{m:02},Tuition,8500,PKR,2026-{m:02}-10,{},{},{}\n",
                if paid { "8500" } else { "" },
                if paid {
                    format!("2026-{m:02}-08")
                } else {
                    String::new()
                },
                if paid {
                    format!("R-{i}-{m}")
                } else {
                    String::new()
                },
            ));
        }
    }
    let records = raabta::import::parse_fees(fees.as_bytes(), &students).expect("fees");
    school
        .store
        .import_fees(&records, &students, &act, &())
        .await
        .expect("import fees");
    // A year of attendance, one register per class per weekday.
    let classes = school.store.classes().await.expect("classes");
    let today = school.tenant.timezone.today(app.clock.now());
    let mut day = today - Duration::days(365);
    let mut marks = 0usize;
    while day <= today {
        if day.weekday().number_from_monday() <= 5 {
            for c in &classes {
                let register = school
                    .store
                    .class_register(c.id, day)
                    .await
                    .expect("register");
                let records: Vec<_> = register
                    .iter()
                    .enumerate()
                    .map(|(n, r)| AttendanceRecord {
                        day,
                        student: r.student,
                        status: match (n + day.ordinal() as usize) % 20 {
                            0 => AttendanceStatus::Absent,
                            1 => AttendanceStatus::Late,
                            _ => AttendanceStatus::Present,
                        },
                        source: AttendanceSource::Manual,
                        recorded_by: None,
                    })
                    .collect();
                marks += records.len();
                let act = ActivityEntry::now(
                    "bench",
                    "attendance.mark",
                    Some(format!("class:{}", c.id.0)),
                    "bench",
                    serde_json::json!({ "marked": records.len() }),
                );
                school
                    .store
                    .record_register(&records, &act)
                    .await
                    .expect("attendance");
            }
        }
        day += Duration::days(1);
    }
    eprintln!(
        "seeded {} students, {} classes, {} fee lines, {marks} attendance marks in {:.0?}",
        students.len(),
        classes.len(),
        records.len(),
        t0.elapsed()
    );
    school
}
