//! The web admin over HTTP, through the real router: sign-in with two-factor, CSRF,
//! cookies and security headers, lockouts, another school's cookie, signing out.

use crate::support::TestEnv;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use raabta::admin::auth::Auth;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::roster::{StaffRole, StaffUser};
use raabta::domain::StaffId;
use tower::ServiceExt;

struct Res {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Res {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.to_string())
    }
    /// The value of a hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("csrf field")
            + 19;
        self.body[at..at + 64].to_string()
    }
}

async fn call(
    env: &TestEnv,
    method: &str,
    path: &str,
    cookies: &str,
    form: &[(&str, &str)],
) -> Res {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = Request::builder().method(method).uri(path);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies);
    }
    if method == "POST" {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let res = env
        .app
        .router()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Res {
        status,
        headers,
        body,
    }
}

fn value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn add_staff(
    school: &raabta::store::tenancy::School,
    email: &str,
    role: StaffRole,
    pw: &str,
) -> StaffId {
    let s = StaffUser {
        id: StaffId::new(),
        full_name: format!("Name of {email}"),
        email: email.into(),
        phone: None,
        role,
        branch: None,
        password_hash: Some(raabta::password::hash(pw.into()).await.unwrap()),
    };
    let act = ActivityEntry::now("test", "staff.create", None, "test", serde_json::json!({}));
    school.store.create_staff(&s, &act).await.unwrap();
    s.id
}

/// Opens the sign-in page and posts the form; returns the response.
async fn sign_in(env: &TestEnv, school: &str, email: &str, pw: &str) -> Res {
    let page = call(env, "GET", "/admin/login", "", &[]).await;
    let pre = value(&page.cookie("raabta_pre").unwrap());
    let csrf = page.csrf();
    call(
        env,
        "POST",
        "/admin/login",
        &pre,
        &[
            ("csrf", &csrf),
            ("school", school),
            ("email", email),
            ("password", pw),
        ],
    )
    .await
}

async fn admin_signs_in_with_two_factor(env: &TestEnv) {
    let school = env.school("web-a").await;
    let other = env.school("web-b").await;
    let admin = add_staff(&school, "head@a.test", StaffRole::Admin, "head password 1").await;
    add_staff(
        &school,
        "teacher@a.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;

    // Not signed in: sent to the sign-in page, which is locked down.
    let r = call(env, "GET", "/admin", "", &[]).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/admin/login")
    );
    let page = call(env, "GET", "/admin/login", "", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"));
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    let pre = page.cookie("raabta_pre").unwrap();
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );

    // A post without the form's token is refused.
    let r = call(
        env,
        "POST",
        "/admin/login",
        "",
        &[
            ("csrf", "x"),
            ("school", "web-a"),
            ("email", "head@a.test"),
            ("password", "head password 1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The admin must set up two-factor before seeing anything.
    let r = sign_in(env, "web-a", "head@a.test", "head password 1").await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/admin/2fa/setup")
    );
    let session = value(&r.cookie("raabta_admin").unwrap());
    assert!(r.cookie("raabta_admin").unwrap().contains("HttpOnly"));
    let r = call(env, "GET", "/admin", &session, &[]).await;
    assert_eq!(r.location(), "/admin/2fa/setup");
    let setup = call(env, "GET", "/admin/2fa/setup", &session, &[]).await;
    let csrf = setup.csrf();
    assert_eq!(
        call(
            env,
            "POST",
            "/admin/2fa/setup",
            &session,
            &[("csrf", "nope")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let enrol = call(
        env,
        "POST",
        "/admin/2fa/setup",
        &session,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(enrol.status, StatusCode::OK);
    assert!(enrol.body.contains("<svg") && enrol.body.contains("Recovery codes"));
    let secret = school
        .store
        .staff_auth(admin)
        .await
        .unwrap()
        .unwrap()
        .totp_secret
        .unwrap();
    let now = env.app.clock.now();
    let code = Auth::current_code(secret.expose(), now).unwrap();
    let r = call(
        env,
        "POST",
        "/admin/2fa",
        &session,
        &[("csrf", &csrf), ("code", "123")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        env,
        "POST",
        "/admin/2fa",
        &session,
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin"));
    let dash = call(env, "GET", "/admin", &session, &[]).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(
        dash.body.contains("Name of head@a.test") && dash.body.contains("leave request(s) waiting")
    );

    // The same cookie does nothing for another school.
    let token = session.split_once('.').unwrap().1;
    let foreign = format!("raabta_admin={}.{token}", other.tenant.slug.as_str());
    assert_eq!(
        call(env, "GET", "/admin", &foreign, &[]).await.location(),
        "/admin/login"
    );

    // A teacher has no school-wide figures.
    let t = sign_in(env, "web-a", "teacher@a.test", "teacher password 1").await;
    assert_eq!(t.location(), "/admin");
    let tc = value(&t.cookie("raabta_admin").unwrap());
    let tdash = call(env, "GET", "/admin", &tc, &[]).await;
    assert!(tdash.body.contains("teacher") && !tdash.body.contains("leave request(s) waiting"));

    // Signing out needs the token too, and ends the session.
    let dcsrf = dash.csrf();
    assert_eq!(
        call(env, "POST", "/admin/logout", &session, &[("csrf", "bad")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = call(env, "POST", "/admin/logout", &session, &[("csrf", &dcsrf)]).await;
    assert_eq!(r.location(), "/admin/login");
    assert!(r.cookie("raabta_admin").unwrap().contains("Max-Age=0"));
    assert_eq!(
        call(env, "GET", "/admin", &session, &[]).await.location(),
        "/admin/login"
    );
}
crate::on_both_backends!(admin_signs_in_with_two_factor);

async fn locked_out_sign_ins_stay_locked(env: &TestEnv) {
    let school = env.school("web-lock").await;
    add_staff(
        &school,
        "office@l.test",
        StaffRole::Teacher,
        "office password 1",
    )
    .await;
    for _ in 0..4 {
        assert_eq!(
            sign_in(env, "web-lock", "office@l.test", "wrong")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = sign_in(env, "web-lock", "office@l.test", "wrong").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("locked"));
    let r = sign_in(env, "web-lock", "office@l.test", "office password 1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // An unknown school says the same as a wrong password.
    let r = sign_in(env, "no-such-school", "office@l.test", "office password 1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("not right"));
}
crate::on_both_backends!(locked_out_sign_ins_stay_locked);
