//! Field crypto, access codes and roster import throughput.
//! Run: `cargo bench --bench store` (figures in BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::school::NewTenant;
use raabta::domain::{Secret, TenantId};
use raabta::store::crypto::{FieldRef, KeyRing};
use std::hint::black_box;
use uuid::Uuid;

fn ring() -> KeyRing {
    let t = TenantId(Uuid::now_v7());
    KeyRing::new(
        t,
        [(1, Secret::new([7u8; 32]))].into_iter().collect(),
        1,
        Secret::new([9u8; 32]),
    )
    .unwrap()
}

fn crypto(c: &mut Criterion) {
    let r = ring();
    let f = FieldRef {
        table: "guardians",
        column: "phone_enc",
        row: Uuid::now_v7(),
    };
    let ct = r.encrypt_str(f, "+923001234567").unwrap();
    c.bench_function("field_encrypt_phone", |b| {
        b.iter(|| r.encrypt_str(black_box(f), black_box("+923001234567")))
    });
    c.bench_function("field_decrypt_phone", |b| {
        b.iter(|| r.decrypt_str(black_box(f), black_box(&ct)))
    });
    c.bench_function("blind_index_phone", |b| {
        b.iter(|| r.blind_index("phone", black_box("+923001234567")))
    });
}

fn argon(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hash = rt
        .block_on(raabta::password::hash("AB10XYZ9".into()))
        .unwrap();
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(10);
    g.bench_function("verify_access_code", |b| {
        b.iter(|| {
            rt.block_on(raabta::password::verify("AB10XYZ9".into(), hash.clone()))
                .unwrap()
        })
    });
    g.finish();
}

/// A roster of `n` students, each with one guardian (phone numbers all distinct).
fn roster_csv(n: usize) -> String {
    let mut s = String::from("admission_no,student_name,class,section,gender,bform,guardian_name,guardian_phone,guardian_language\n");
    for i in 0..n {
        s.push_str(&format!(
            "B-{i},طالب علم {i},Grade {},{},male,35202-{:07}-1,Guardian {i},+92300{:07},ur\n",
            1 + i % 10,
            ["A", "B", "C"][i % 3],
            1_000_000 + i,
            1_000_000 + i
        ));
    }
    s
}

fn import(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = 2000;
    let rows = raabta::import::parse_roster(roster_csv(n).as_bytes(), Some("PK")).unwrap();
    let mut g = c.benchmark_group("roster_import_sqlite");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("2000_students_fresh_school", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let mut config = Config::in_dir(dir.path());
                config.key_cache_seconds = 0;
                let school = rt.block_on(async {
                    let app = App::build(config).await.unwrap();
                    let t = app
                        .tenancy
                        .create(NewTenant::new("bench", "Bench", "Asia/Karachi", "en").unwrap())
                        .await
                        .unwrap();
                    app.tenancy.open(t).await.unwrap()
                });
                (dir, school)
            },
            |(dir, school)| {
                let act = ActivityEntry::now(
                    "bench",
                    "roster.import",
                    None,
                    "bench",
                    serde_json::json!({}),
                );
                rt.block_on(school.store.import_roster(&rows, &act, &()))
                    .unwrap();
                drop(dir);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, crypto, argon, import);
criterion_main!(benches);
