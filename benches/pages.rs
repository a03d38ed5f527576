//! Admin page render times with a realistic school: 2,000 students in 30 classes,
//! 3,500 guardians, ten months of fees with payments, and a year of attendance
//! (every weekday of the last 365 days, ≈520,000 marks). Each page is requested
//! through the real router (in-process, the same handlers, session checks, queries and
//! templates as over HTTP) after warm-up; the median, p95 and max are printed.
//!
//! `cargo bench --bench pages` uses SQLite in a temporary folder; with
//! `RAABTA_DATABASE_URL=postgres://…` (an empty database) it uses PostgreSQL
//! (`scripts/pages.sh postgres` makes and drops one). `PAGES_ITERATIONS` (default 200).

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use raabta::app::App;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::roster::{StaffRole, StaffUser};
use raabta::domain::StaffId;
use std::time::Instant;
use tower::ServiceExt;

#[path = "common/school.rs"]
mod school;
use school::seed;

struct Page {
    status: u16,
    cookies: Vec<String>,
    location: String,
    body: String,
}

async fn call(app: &App, method: &str, path: &str, cookie: &str, form: &[(&str, &str)]) -> Page {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = Request::builder().method(method).uri(path);
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    if method == "POST" {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let res = raabta::application::router(app, &raabta::admin::AdminState::new(app.clone()))
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("response");
    let status = res.status().as_u16();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .collect();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes())
        .into_owned();
    Page {
        status,
        cookies,
        location,
        body,
    }
}

fn csrf(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    body[at..at + 64].to_string()
}

fn cookie(p: &Page, name: &str) -> String {
    p.cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .cloned()
        .expect("cookie")
}

/// Signs a staff member in through the real pages (enrolling two-factor for admins).
async fn sign_in(
    app: &App,
    school: &raabta::store::tenancy::School,
    email: &str,
    pw: &str,
) -> String {
    let login = call(app, "GET", "/admin/login", "", &[]).await;
    let pre = cookie(&login, "raabta_pre");
    let r = call(
        app,
        "POST",
        "/admin/login",
        &pre,
        &[
            ("csrf", &csrf(&login.body)),
            ("school", "bench"),
            ("email", email),
            ("password", pw),
        ],
    )
    .await;
    let session = cookie(&r, "raabta_admin");
    if r.location != "/admin/2fa/setup" {
        return session;
    }
    let setup = call(app, "GET", "/admin/2fa/setup", &session, &[]).await;
    let token = csrf(&setup.body);
    call(
        app,
        "POST",
        "/admin/2fa/setup",
        &session,
        &[("csrf", &token)],
    )
    .await;
    let staff = school
        .store
        .staff_by_email(email)
        .await
        .expect("staff")
        .expect("exists");
    let code = raabta::admin::auth::Auth::current_code(
        staff.totp_secret.expect("secret").expose(),
        app.clock.now(),
    )
    .expect("code");
    let r = call(
        app,
        "POST",
        "/admin/2fa",
        &session,
        &[("csrf", &token), ("code", &code)],
    )
    .await;
    cookie(&r, "raabta_admin")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = raabta::config::Config::in_dir(dir.path());
        config.seed_demo = false;
        let backend = match std::env::var("RAABTA_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                config.database_url = raabta::domain::Secret::new(url);
                "PostgreSQL"
            }
            _ => "SQLite",
        };
        let iterations: usize = std::env::var("PAGES_ITERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        let app = App::build(config).await.expect("app");
        let school = seed(&app).await;
        let act = ActivityEntry::now(
            "bench",
            "staff.create",
            None,
            "bench",
            serde_json::json!({}),
        );
        let hash = raabta::password::hash("bench password 1".into())
            .await
            .expect("hash");
        let admin = StaffUser {
            id: StaffId::new(),
            full_name: "Bench Admin".into(),
            email: "admin@bench.test".into(),
            phone: None,
            role: StaffRole::Admin,
            branch: None,
            password_hash: Some(hash.clone()),
        };
        school
            .store
            .create_staff(&admin, &act)
            .await
            .expect("admin");
        let teacher = StaffUser {
            id: StaffId::new(),
            full_name: "Bench Teacher".into(),
            email: "teacher@bench.test".into(),
            role: StaffRole::Teacher,
            password_hash: Some(hash),
            ..admin.clone()
        };
        school
            .store
            .create_staff(&teacher, &act)
            .await
            .expect("teacher");
        let classes = school.store.classes().await.expect("classes");
        let class = classes
            .iter()
            .find(|c| c.label() == "Grade 5 A")
            .expect("class");
        let act = ActivityEntry::now(
            "bench",
            "staff.assign_class",
            None,
            "bench",
            serde_json::json!({}),
        );
        school
            .store
            .assign_class(teacher.id, class.id, &act)
            .await
            .expect("assign");
        let admin_cookie = sign_in(&app, &school, "admin@bench.test", "bench password 1").await;
        let teacher_cookie = sign_in(&app, &school, "teacher@bench.test", "bench password 1").await;
        let student = school.store.student_ids_by_admission().await.expect("ids")["S-00004"].0;
        let today = school.tenant.timezone.today(app.clock.now());
        let c = class.id.0;
        let pages: Vec<(&str, String, &str)> = vec![
            ("dashboard (admin)", "/admin".into(), &admin_cookie),
            ("dashboard (teacher)", "/admin".into(), &teacher_cookie),
            (
                "roster, whole school",
                "/admin/roster".into(),
                &admin_cookie,
            ),
            (
                "roster, search",
                "/admin/roster?q=student+1999".into(),
                &admin_cookie,
            ),
            (
                "student",
                format!("/admin/roster/students/{student}"),
                &admin_cookie,
            ),
            (
                "fees, class balances",
                format!("/admin/fees?class={c}"),
                &admin_cookie,
            ),
            (
                "fees, student statement",
                format!("/admin/fees/students/{student}"),
                &admin_cookie,
            ),
            (
                "attendance register",
                format!("/admin/attendance?class={c}&day={today}"),
                &teacher_cookie,
            ),
            ("leave requests", "/admin/leave".into(), &admin_cookie),
            ("activity log", "/admin/activity".into(), &admin_cookie),
            ("outbox", "/admin/outbox".into(), &admin_cookie),
            ("staff", "/admin/staff".into(), &admin_cookie),
            ("access codes", "/admin/codes".into(), &admin_cookie),
        ];
        println!("\n{backend}: {iterations} requests per page after 10 warm-up requests\n");
        println!("| page | median ms | p95 ms | max ms | KiB |");
        println!("|---|---:|---:|---:|---:|");
        for (name, path, cookie) in pages {
            let mut size = 0;
            for _ in 0..10 {
                let p = call(&app, "GET", &path, cookie, &[]).await;
                assert_eq!(p.status, 200, "{name}: {}", p.body);
                size = p.body.len();
            }
            let mut times = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                let t = Instant::now();
                let p = call(&app, "GET", &path, cookie, &[]).await;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(p.status, 200);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            println!(
                "| {name} | {:.2} | {:.2} | {:.2} | {} |",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                times[times.len() - 1],
                size / 1024
            );
        }
    });
}
