//! The flow engine: steps per second, and loading + checking every flow.
//! Run: `cargo bench --bench flow` (figures in BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raabta::domain::school::Locale;
use raabta::flow::def::Role;
use raabta::flow::engine::{step, Context, Input, Session, Who};
use raabta::flow::Library;
use serde_json::{json, Map, Value};
use std::hint::black_box;
use std::path::Path;

fn flows_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("flows")
}

fn ctx() -> Context {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let now = today.and_hms_opt(9, 0, 0).unwrap().and_utc();
    Context::new(now, today, Locale::En, "Raabta Demo School")
}

fn guardian() -> Session {
    Session {
        who: Some(Who {
            role: Role::Guardian,
            id: uuid::Uuid::nil(),
        }),
        ..Session::default()
    }
}

fn result(v: Value) -> Input {
    let Value::Object(m) = v else {
        return Input::Result(Ok(Map::new()));
    };
    Input::Result(Ok(m))
}

/// A whole leave request as the engine sees it: 11 inputs (messages and action
/// results), ending in the confirmation.
fn leave_conversation(lib: &Library) -> Session {
    let c = ctx();
    let inputs = vec![
        Input::Text("menu".into()),
        Input::Text("2".into()),
        result(
            json!({ "children": [{ "id": "a", "label": "Ayesha Khan" }, { "id": "b", "label": "Bilal Khan" }], "count": 2 }),
        ),
        Input::Text("1".into()),
        Input::Text("sick".into()),
        Input::Text("5/12 to 7/12".into()),
        Input::Text("Fever and cough".into()),
        Input::Text("skip".into()),
        Input::Text("yes".into()),
        result(json!({ "reference": "ABC123" })),
    ];
    let mut s = guardian();
    for i in inputs {
        s = step(lib, s, i, &c).session;
    }
    s
}

fn engine(c: &mut Criterion) {
    let lib = Library::load(&flows_dir()).unwrap();
    let cx = ctx();
    // One step: a menu choice that starts a flow and calls its first action.
    let at_menu = step(&lib, guardian(), Input::Text("hi".into()), &cx).session;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("menu_choice_step", |b| {
        b.iter(|| {
            step(
                &lib,
                black_box(at_menu.clone()),
                Input::Text("2".into()),
                &cx,
            )
        })
    });
    // One step: a typed date range validated and the next question rendered.
    let mut s = at_menu.clone();
    for i in [
        Input::Text("2".into()),
        result(json!({ "children": [{ "id": "a", "label": "Ayesha Khan" }], "count": 1 })),
        Input::Text("1".into()),
    ] {
        s = step(&lib, s, i, &cx).session;
    }
    let at_dates = s;
    g.bench_function("date_range_step", |b| {
        b.iter(|| {
            step(
                &lib,
                black_box(at_dates.clone()),
                Input::Text("5/12 to 7/12".into()),
                &cx,
            )
        })
    });
    // Urdu rendering (isolation marks, lakh grouping).
    let mut ur = at_menu.clone();
    ur.locale = Some(Locale::Ur);
    g.bench_function("menu_choice_step_urdu", |b| {
        b.iter(|| step(&lib, black_box(ur.clone()), Input::Text("2".into()), &cx))
    });
    g.throughput(Throughput::Elements(10));
    g.bench_function("leave_conversation_10_steps", |b| {
        b.iter(|| leave_conversation(black_box(&lib)))
    });
    // The session as stored: serialise + parse (done once per message).
    let s = leave_conversation(&lib);
    g.throughput(Throughput::Elements(1));
    g.bench_function("session_json_roundtrip", |b| {
        b.iter(|| {
            let bytes = serde_json::to_vec(black_box(&s)).unwrap();
            serde_json::from_slice::<Session>(&bytes).unwrap()
        })
    });
    g.finish();
}

fn loading(c: &mut Criterion) {
    let dir = flows_dir();
    c.bench_function("flows_load_and_check", |b| {
        b.iter(|| {
            let lib = Library::load(black_box(&dir)).unwrap();
            assert!(raabta::flow::check::check(&lib).is_empty());
        })
    });
}

criterion_group!(benches, engine, loading);
criterion_main!(benches);
