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

pub struct Res {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Res {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.to_string())
    }
    /// The value of a hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("csrf field")
            + 19;
        self.body[at..at + 64].to_string()
    }
}

pub async fn call(
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

pub fn value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

pub async fn add_staff(
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

/// A branch manager of `branch`, password "manager password 1".
pub async fn add_manager(
    school: &raabta::store::tenancy::School,
    email: &str,
    branch: &str,
) -> StaffId {
    let m = StaffUser {
        id: StaffId::new(),
        full_name: format!("{branch} manager"),
        email: email.into(),
        phone: None,
        role: StaffRole::BranchManager,
        branch: Some(branch.into()),
        password_hash: Some(
            raabta::password::hash("manager password 1".into())
                .await
                .unwrap(),
        ),
    };
    let act = ActivityEntry::now("test", "staff.create", None, "test", serde_json::json!({}));
    school.store.create_staff(&m, &act).await.unwrap();
    m.id
}

/// Signs in (no two-factor: not for administrators) and returns the session cookie.
pub async fn cookie_of(env: &TestEnv, school: &str, email: &str, pw: &str) -> String {
    value(
        &sign_in(env, school, email, pw)
            .await
            .cookie("raabta_admin")
            .unwrap(),
    )
}

/// Opens the sign-in page and posts the form; returns the response.
pub async fn sign_in(env: &TestEnv, school: &str, email: &str, pw: &str) -> Res {
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
    // A new session replaces the half-signed-in one.
    assert_eq!(
        call(env, "GET", "/admin", &session, &[]).await.location(),
        "/admin/login"
    );
    let session = value(&r.cookie("raabta_admin").unwrap());
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
    assert!(tdash.body.contains("teacher") && !tdash.body.contains("handed to the office"));

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

/// Signs an admin in through two-factor enrolment; returns the session cookie.
pub async fn admin_cookie(
    env: &TestEnv,
    school: &raabta::store::tenancy::School,
    email: &str,
    pw: &str,
) -> String {
    let r = sign_in(env, school.tenant.slug.as_str(), email, pw).await;
    let session = value(&r.cookie("raabta_admin").unwrap());
    let setup = call(env, "GET", "/admin/2fa/setup", &session, &[]).await;
    let csrf = setup.csrf();
    call(
        env,
        "POST",
        "/admin/2fa/setup",
        &session,
        &[("csrf", &csrf)],
    )
    .await;
    let staff = school.store.staff_by_email(email).await.unwrap().unwrap();
    let code =
        Auth::current_code(staff.totp_secret.unwrap().expose(), env.app.clock.now()).unwrap();
    let r = call(
        env,
        "POST",
        "/admin/2fa",
        &session,
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(r.location(), "/admin");
    // Passing two-factor replaces the session.
    value(&r.cookie("raabta_admin").unwrap())
}

async fn leave_requests_are_scoped_and_decisions_reach_the_parent(env: &TestEnv) {
    use raabta::console::Simulator;
    use raabta::domain::message::Provider;
    let school = env.school("web-leave").await;
    crate::support::load_roster_and_fees(&school).await;
    let fake = crate::fake::FakeProviders::start().await;
    crate::webhooks::add_test_channels(env, &school, Some(fake.base.clone())).await;
    let meta = crate::webhooks::meta_channel(env);

    // The parent (Imran, Urdu on the roster) asks for a day off for Bilal (Grade 3 A,
    // Main branch), with a photo, through the real pipeline.
    let mut parent = Simulator::new(
        &env.app,
        "web-leave",
        Provider::Meta,
        Some(meta),
        "923001110001",
    )
    .await
    .unwrap();
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    let contact = school.store.contacts_by_phone(&phone).await.unwrap()[0];
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
    for text in ["hi", code.expose(), "chutti", "1", "1", "somwar", "bukhar"] {
        parent.say(text).await.unwrap();
    }
    parent.attach(false).await.unwrap();
    parent.say("haan").await.unwrap();
    let pending = school.store.leave_requests(Some("pending")).await.unwrap();
    assert_eq!(pending.len(), 1);
    let id = pending[0].request.id.to_string();

    add_staff(
        &school,
        "head@leave.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let north_teacher = add_staff(
        &school,
        "north@leave.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let grade5b = school
        .store
        .classes()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.label() == "Grade 5 B")
        .unwrap();
    let act = ActivityEntry::now(
        "test",
        "staff.assign_class",
        None,
        "test",
        serde_json::json!({}),
    );
    school
        .store
        .assign_class(north_teacher, grade5b.id, &act)
        .await
        .unwrap();
    add_manager(&school, "manager@leave.test", "North").await;

    // Staff of another branch or class see nothing of it: not listed, and 404 by id.
    for (email, pw) in [
        ("north@leave.test", "teacher password 1"),
        ("manager@leave.test", "manager password 1"),
    ] {
        let r = sign_in(env, "web-leave", email, pw).await;
        let c = value(&r.cookie("raabta_admin").unwrap());
        let list = call(env, "GET", "/admin/leave", &c, &[]).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(!list.body.contains("Bilal"), "{email}");
        assert_eq!(
            call(env, "GET", &format!("/admin/leave/{id}"), &c, &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let csrf = list.csrf();
        let r = call(
            env,
            "POST",
            &format!("/admin/leave/{id}/decide"),
            &c,
            &[("csrf", &csrf), ("decision", "approve")],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{email}");
    }

    // The admin sees it, with the attachment behind a short-lived signed link.
    let admin = admin_cookie(env, &school, "head@leave.test", "head password 1").await;
    let list = call(env, "GET", "/admin/leave", &admin, &[]).await;
    assert!(list.body.contains("Bilal Khan"));
    let view = call(env, "GET", &format!("/admin/leave/{id}"), &admin, &[]).await;
    assert!(view.body.contains("bukhar"));
    // The link as the browser reads it (attribute entities decoded).
    let body = view.body.replace("&#x2f;", "/").replace("&amp;", "&");
    let at = body.find("/attachment?exp=").unwrap();
    let link_start = body[..at].rfind('"').unwrap() + 1;
    let link_end = at + body[at..].find('"').unwrap();
    let link = body[link_start..link_end].to_string();
    let file = call(env, "GET", &link, &admin, &[]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers.get("content-type").unwrap(), "image/jpeg");
    assert!(file
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("sandbox"));
    // A changed signature, or no session, gets nothing.
    let flipped = if link.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &link[..link.len() - 1]);
    assert_eq!(
        call(env, "GET", &tampered, &admin, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(env, "GET", &link, "", &[]).await.location(),
        "/admin/login"
    );

    // Approving without the form token is refused; with it, the parent is told.
    let csrf = view.csrf();
    let r = call(
        env,
        "POST",
        &format!("/admin/leave/{id}/decide"),
        &admin,
        &[("decision", "approve"), ("csrf", "x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        env,
        "POST",
        &format!("/admin/leave/{id}/decide"),
        &admin,
        &[
            ("csrf", &csrf),
            ("decision", "approve"),
            ("note", "Get well soon"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        school
            .store
            .leave_requests(Some("approved"))
            .await
            .unwrap()
            .len(),
        1
    );
    let told = parent.settle().await.unwrap();
    assert!(
        told.iter().any(|m| m.render().contains("منظور ہو گئی ہے")),
        "{:?}",
        told.iter().map(|m| m.render()).collect::<Vec<_>>()
    );
    let sender = raabta::worker::Sender::new(raabta::worker::RateLimits::default()).unwrap();
    raabta::worker::send_due(&env.app, &std::sync::Arc::new(sender))
        .await
        .unwrap();
    let sent: Vec<String> = fake.sends().iter().map(|s| s.body.clone()).collect();
    assert!(sent.iter().any(|b| b.contains("Get well soon")), "{sent:?}");
    // The activity log names the staff member who decided.
    let log = school.store.recent_activity(50).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "leave_request.approve" && e.actor.starts_with("staff:")));
}
crate::on_both_backends!(leave_requests_are_scoped_and_decisions_reach_the_parent);

async fn office_replies_to_a_handed_off_conversation(env: &TestEnv) {
    use raabta::console::Simulator;
    use raabta::domain::message::Provider;
    let school = env.school("web-office").await;
    crate::support::load_roster_and_fees(&school).await;
    let fake = crate::fake::FakeProviders::start().await;
    crate::webhooks::add_test_channels(env, &school, Some(fake.base.clone())).await;
    let meta = crate::webhooks::meta_channel(env);
    let mut parent = Simulator::new(
        &env.app,
        "web-office",
        Provider::Meta,
        Some(meta),
        "923001110001",
    )
    .await
    .unwrap();
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    let contact = school.store.contacts_by_phone(&phone).await.unwrap()[0];
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
    parent.say("hi").await.unwrap();
    parent.say(code.expose()).await.unwrap();
    // Half-way through a leave request: the office gets the conversation and the draft
    // is kept (staff see it on the conversation's page).
    parent.say("leave").await.unwrap();
    parent.say("1").await.unwrap();
    parent.say("sick").await.unwrap();
    let handed = parent.say("office").await.unwrap();
    assert!(
        handed
            .iter()
            .any(|m| m.render().contains("جو لکھا وہ محفوظ ہے")),
        "{:?}",
        handed.iter().map(|m| m.render()).collect::<Vec<_>>()
    );
    // The first message to the office is acknowledged (issue 14 item 2); the next
    // within minutes is not.
    let ack = parent.say("Bilal's van was late again").await.unwrap();
    assert!(
        ack.iter()
            .any(|m| m.render().contains("آپ کا پیغام آفس تک پہنچ گیا ہے")),
        "{:?}",
        ack.iter().map(|m| m.render()).collect::<Vec<_>>()
    );
    assert!(parent
        .say("It was 40 minutes late")
        .await
        .unwrap()
        .is_empty());
    let conv = parent.conversation().await.unwrap().unwrap().to_string();

    add_staff(
        &school,
        "head@office.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    add_staff(
        &school,
        "t@office.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let t = sign_in(env, "web-office", "t@office.test", "teacher password 1").await;
    let tc = value(&t.cookie("raabta_admin").unwrap());
    assert_eq!(
        call(
            env,
            "GET",
            &format!("/admin/conversations/{conv}"),
            &tc,
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // Branch managers see the conversations of families in their branch only (Imran's
    // children are in Main).
    for (email, branch) in [("main@office.test", "Main"), ("north@office.test", "North")] {
        add_manager(&school, email, branch).await;
    }
    let north = cookie_of(env, "web-office", "north@office.test", "manager password 1").await;
    let main = cookie_of(env, "web-office", "main@office.test", "manager password 1").await;
    let thread_path = format!("/admin/conversations/{conv}");
    assert_eq!(
        call(env, "GET", &thread_path, &north, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!call(env, "GET", "/admin/conversations", &north, &[])
        .await
        .body
        .contains("عمران خان"));
    let ncsrf = call(env, "GET", "/admin/conversations", &north, &[])
        .await
        .csrf();
    assert_eq!(
        call(
            env,
            "POST",
            &format!("{thread_path}/reply"),
            &north,
            &[("csrf", &ncsrf), ("text", "x")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let page = call(env, "GET", &thread_path, &main, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("van was late again"));
    assert!(call(env, "GET", "/admin/conversations", &main, &[])
        .await
        .body
        .contains("عمران خان"));
    // A family whose children have all left is no longer in the branch's scope.
    let act = ActivityEntry::now(
        "test",
        "student.deactivate",
        None,
        "test",
        serde_json::json!({}),
    );
    let ids = school.store.student_ids_by_admission().await.unwrap();
    for adm in ["A-1", "A-2"] {
        school
            .store
            .set_student_active(ids[adm], false, &act)
            .await
            .unwrap();
    }
    assert_eq!(
        call(env, "GET", &thread_path, &main, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    for adm in ["A-1", "A-2"] {
        school
            .store
            .set_student_active(ids[adm], true, &act)
            .await
            .unwrap();
    }
    assert_eq!(
        call(env, "GET", &thread_path, &main, &[]).await.status,
        StatusCode::OK
    );

    let admin = admin_cookie(env, &school, "head@office.test", "head password 1").await;
    let list = call(env, "GET", "/admin/conversations", &admin, &[]).await;
    assert!(list.body.contains("عمران خان"), "{}", list.body);
    let thread = call(
        env,
        "GET",
        &format!("/admin/conversations/{conv}"),
        &admin,
        &[],
    )
    .await;
    assert!(thread.body.contains("van was late again"));
    assert!(
        thread.body.contains("Unfinished request: leave") && thread.body.contains("sick"),
        "{}",
        thread.body
    );
    let csrf = thread.csrf();
    let path = format!("/admin/conversations/{conv}/reply");
    assert_eq!(
        call(env, "POST", &path, &admin, &[("text", "hi")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        call(env, "POST", &path, &admin, &[("csrf", "x"), ("text", "hi")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = call(
        env,
        "POST",
        &path,
        &admin,
        &[("csrf", &csrf), ("text", "We spoke to the driver; sorry!")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let sender = std::sync::Arc::new(
        raabta::worker::Sender::new(raabta::worker::RateLimits::default()).unwrap(),
    );
    raabta::worker::send_due(&env.app, &sender).await.unwrap();
    assert!(fake
        .sends()
        .iter()
        .any(|s| s.body.contains("We spoke to the driver")));
    // Handed back, the bot answers again.
    let r = call(
        env,
        "POST",
        &format!("/admin/conversations/{conv}/hand-back"),
        &admin,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The kept request is taken up again, then "menu" works as ever.
    let replies = parent.say("menu").await.unwrap();
    let shown: Vec<String> = replies.iter().map(|m| m.render()).collect();
    assert!(
        shown.iter().any(|m| m.contains("ادھوری درخواست"))
            && shown.iter().any(|m| m.contains("ہم آپ کی کیا مدد")),
        "{shown:?}"
    );
    // The person asks the office again, then goes back to the bot: staff see it.
    parent.say("office").await.unwrap();
    parent.say("menu").await.unwrap();
    let list = call(env, "GET", "/admin/conversations", &admin, &[]).await;
    assert!(
        list.body.contains("Back with the bot (last 7 days)")
            && list.body.contains("went back to the bot"),
        "{}",
        list.body
    );
    // A branch manager of another branch does not see it.
    let north_list = call(env, "GET", "/admin/conversations", &north, &[]).await;
    assert!(!north_list.body.contains("went back to the bot"));
}
crate::on_both_backends!(office_replies_to_a_handed_off_conversation);

async fn access_codes_are_issued_and_printed_within_scope(env: &TestEnv) {
    let school = env.school("web-codes").await;
    crate::support::load_roster_and_fees(&school).await;
    crate::webhooks::add_test_channels(env, &school, None).await;
    add_staff(
        &school,
        "head@codes.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let teacher = add_staff(
        &school,
        "t@codes.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let classes = school.store.classes().await.unwrap();
    let grade3 = classes.iter().find(|c| c.label() == "Grade 3 A").unwrap();
    let grade5b = classes.iter().find(|c| c.label() == "Grade 5 B").unwrap();
    let act = ActivityEntry::now(
        "test",
        "staff.assign_class",
        None,
        "test",
        serde_json::json!({}),
    );
    school
        .store
        .assign_class(teacher, grade5b.id, &act)
        .await
        .unwrap();

    // A teacher issues no codes (a code would let them act as the parent): they see
    // only their own class, and may ask the office to print its slips.
    let t = sign_in(env, "web-codes", "t@codes.test", "teacher password 1").await;
    let tc = value(&t.cookie("raabta_admin").unwrap());
    let page = call(env, "GET", "/admin/codes", &tc, &[]).await;
    assert!(page.body.contains("Grade 5 B") && !page.body.contains("Grade 3 A"));
    assert!(
        page.body.contains("/admin/codes/request") && !page.body.contains("/admin/codes/issue")
    );
    let csrf = page.csrf();
    let g3 = grade3.id.0.to_string();
    let g5b = grade5b.id.0.to_string();
    for form in [
        vec![("csrf", csrf.as_str()), ("class", g5b.as_str())],
        vec![("csrf", csrf.as_str()), ("class", g3.as_str())],
        vec![("csrf", csrf.as_str()), ("phone", "0300 1110001")],
    ] {
        let r = call(env, "POST", "/admin/codes/issue", &tc, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(r.body.contains("handed out by the office"));
    }
    let r = call(
        env,
        "POST",
        "/admin/codes/request",
        &tc,
        &[("csrf", &csrf), ("class", &g3)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not their class");
    let r = call(
        env,
        "POST",
        "/admin/codes/request",
        &tc,
        &[("csrf", "x"), ("class", &g5b)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "without the form token");
    let r = call(
        env,
        "POST",
        "/admin/codes/request",
        &tc,
        &[("csrf", &csrf), ("class", &g5b)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("asked to print code slips for Grade 5 B"));

    // The admin prints slips for Grade 3 A: one per guardian, with the school's number
    // and a QR code; each code then logs its guardian in once.
    let admin = admin_cookie(env, &school, "head@codes.test", "head password 1").await;
    // The teacher's request is on the administrators' dashboard.
    let dash = call(env, "GET", "/admin", &admin, &[]).await;
    assert!(
        dash.body
            .contains("Code slips requested by teachers: Grade 5 B"),
        "{}",
        dash.body
    );
    let page = call(env, "GET", "/admin/codes", &admin, &[]).await;
    let csrf = page.csrf();
    assert_eq!(
        call(
            env,
            "POST",
            "/admin/codes/issue",
            &admin,
            &[("csrf", "x"), ("class", &g3)]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            env,
            "POST",
            "/admin/codes/issue",
            &admin,
            &[("csrf", &csrf), ("class", &g3), ("days", "400")]
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    let slips = call(
        env,
        "POST",
        "/admin/codes/issue",
        &admin,
        &[("csrf", &csrf), ("class", &g3)],
    )
    .await;
    assert_eq!(slips.status, StatusCode::OK);
    assert_eq!(
        slips.body.matches("class=\"slip\"").count(),
        2,
        "Bilal's two guardians"
    );
    assert!(slips.body.contains("+14155238886") && slips.body.contains("<svg"));
    // Each slip speaks its guardian's language: Imran's in Urdu, right to left.
    assert!(slips
        .body
        .contains("<section class=\"slip\" lang=\"ur\" dir=\"rtl\">"));
    assert!(slips.body.contains("برائے") && slips.body.contains("Send this code to the school"));
    let at = slips.body.find("class=\"code\">").unwrap() + 13;
    let code = slips.body[at..at + 9].to_string();
    let redeemed = raabta::codes::redeem(school.store.as_ref(), &code, "test").await;
    assert!(redeemed.is_ok(), "{code}");
    assert!(raabta::codes::redeem(school.store.as_ref(), &code, "test")
        .await
        .is_err());
    // Issuing is in the activity log under the staff member's name.
    let log = school.store.recent_activity(50).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "access_code.issue" && e.actor.starts_with("staff:")));
}
crate::on_both_backends!(access_codes_are_issued_and_printed_within_scope);

async fn activity_log_filters_and_exports(env: &TestEnv) {
    let school = env.school("web-log").await;
    add_staff(
        &school,
        "head@log.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    add_staff(
        &school,
        "t@log.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let evil = ActivityEntry::now(
        "=HYPERLINK(\"x\")",
        "import.roster",
        None,
        "cli",
        serde_json::json!({}),
    );
    school.store.log_activity(&evil).await.unwrap();
    let t = sign_in(env, "web-log", "t@log.test", "teacher password 1").await;
    let tc = value(&t.cookie("raabta_admin").unwrap());
    assert_eq!(
        call(env, "GET", "/admin/activity", &tc, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "GET", "/admin/activity.csv", &tc, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let admin = admin_cookie(env, &school, "head@log.test", "head password 1").await;
    let page = call(env, "GET", "/admin/activity", &admin, &[]).await;
    assert!(page.body.contains("staff.sign_in") && page.body.contains("staff.totp_verified"));
    let only = call(env, "GET", "/admin/activity?action=staff.totp", &admin, &[]).await;
    assert!(only.body.contains("staff.totp_verified") && !only.body.contains("staff.sign_in<"));
    let today = env.app.clock.now().format("%Y-%m-%d").to_string();
    let dated = call(
        env,
        "GET",
        &format!("/admin/activity?from={today}&to={today}"),
        &admin,
        &[],
    )
    .await;
    assert!(dated.body.contains("staff.sign_in"));
    assert_eq!(
        call(env, "GET", "/admin/activity?from=yesterday", &admin, &[])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let csv = call(env, "GET", "/admin/activity.csv", &admin, &[]).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert!(csv
        .body
        .starts_with("at,actor,action,subject,source,details"));
    assert!(csv.body.contains("'=HYPERLINK"), "formulas are neutralised");
}
crate::on_both_backends!(activity_log_filters_and_exports);

async fn outbox_page_lists_problems_and_retries(env: &TestEnv) {
    use raabta::console::Simulator;
    use raabta::domain::message::{OutboundMessage, OutboundMode, Provider};
    let school = env.school("web-outbox").await;
    crate::support::load_roster_and_fees(&school).await;
    let fake = crate::fake::FakeProviders::start().await;
    crate::webhooks::add_test_channels(env, &school, Some(fake.base.clone())).await;
    let meta = crate::webhooks::meta_channel(env);
    let mut parent = Simulator::new(
        &env.app,
        "web-outbox",
        Provider::Meta,
        Some(meta),
        "923001110001",
    )
    .await
    .unwrap();
    parent.say("hi").await.unwrap();
    let conv = parent.conversation().await.unwrap().unwrap();
    let sender = std::sync::Arc::new(
        raabta::worker::Sender::new(raabta::worker::RateLimits::default()).unwrap(),
    );
    raabta::worker::send_due(&env.app, &sender).await.unwrap();
    let act = ActivityEntry::now("t", "message.staff", None, "t", serde_json::json!({}));
    // One message staff must send themselves (the default for staff messages)…
    raabta::outbound::queue_staff_message(
        school.store.as_ref(),
        conv,
        "s:1",
        &OutboundMessage::text("Fee reminder"),
        None,
        &act,
    )
    .await
    .unwrap();
    // …and one the provider refuses for good.
    fake.script(&[(400, serde_json::json!({"error": {"code": 131050, "message": "user stopped marketing messages"}}))]);
    raabta::outbound::queue_staff_message(
        school.store.as_ref(),
        conv,
        "s:2",
        &OutboundMessage::text("Picnic on Friday"),
        Some(OutboundMode::Provider),
        &act,
    )
    .await
    .unwrap();
    for _ in 0..3 {
        raabta::worker::send_due(&env.app, &sender).await.unwrap();
    }
    add_staff(
        &school,
        "head@outbox.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let admin = admin_cookie(env, &school, "head@outbox.test", "head password 1").await;
    let page = call(env, "GET", "/admin/outbox", &admin, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace("&#x2f;", "/");
    assert!(
        body.contains("Fee reminder") && body.contains("https://wa.me/923001110001?text="),
        "{body}"
    );
    assert!(
        body.contains("Picnic on Friday") && body.contains("dead"),
        "{body}"
    );
    let dead = school
        .store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.state == "dead")
        .unwrap();
    let csrf = page.csrf();
    let path = format!("/admin/outbox/{}/retry", dead.id);
    assert_eq!(
        call(env, "POST", &path, &admin, &[("csrf", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(env, "POST", &path, &admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let row = school
        .store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.id == dead.id)
        .unwrap();
    assert_ne!(row.state, "dead".to_string(), "queued again");
    // Not dead any more: a second retry finds nothing to do.
    if row.state == "pending" {
        assert_eq!(
            call(env, "POST", &path, &admin, &[("csrf", &csrf)])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    // A dead message can instead become a wa.me link staff send themselves.
    fake.script(&[(
        400,
        serde_json::json!({"error": {"code": 131026, "message": "message undeliverable"}}),
    )]);
    raabta::outbound::queue_staff_message(
        school.store.as_ref(),
        conv,
        "s:3",
        &OutboundMessage::text("Sports day on Monday"),
        Some(OutboundMode::Provider),
        &act,
    )
    .await
    .unwrap();
    for _ in 0..3 {
        raabta::worker::send_due(&env.app, &sender).await.unwrap();
    }
    let dead = school
        .store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.state == "dead")
        .expect("a dead row");
    let manual = format!("/admin/outbox/{}/manual", dead.id);
    assert_eq!(
        call(env, "POST", &manual, &admin, &[("csrf", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(env, "POST", &manual, &admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let row = school
        .store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.id == dead.id)
        .unwrap();
    assert_eq!(row.state, "manual");
    assert!(row
        .manual_link
        .unwrap()
        .starts_with("https://wa.me/923001110001?text="));
    assert_eq!(
        call(env, "POST", &manual, &admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(school
        .store
        .recent_activity(20)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "outbox.manual"));
}

crate::on_both_backends!(outbox_page_lists_problems_and_retries);

async fn consent_forms_are_sent_and_tallied(env: &TestEnv) {
    use raabta::console::Simulator;
    use raabta::domain::message::Provider;
    let school = env.school("web-consent").await;
    crate::support::load_roster_and_fees(&school).await;
    // Imran logs in on the console so the form reaches him.
    let mut parent = Simulator::new(
        &env.app,
        "web-consent",
        Provider::Console,
        None,
        "+923001110001",
    )
    .await
    .unwrap();
    let phone = raabta::domain::phone::Phone::parse("+923001110001", None).unwrap();
    let contact = school.store.contacts_by_phone(&phone).await.unwrap()[0];
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
    parent.say("hi").await.unwrap();
    parent.say(code.expose()).await.unwrap();

    add_staff(
        &school,
        "head@consent.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let admin = admin_cookie(env, &school, "head@consent.test", "head password 1").await;
    let page = call(env, "GET", "/admin/consent", &admin, &[]).await;
    let csrf = page.csrf();
    let classes = school.store.classes().await.unwrap();
    let g3 = classes
        .iter()
        .find(|c| c.label() == "Grade 3 A")
        .unwrap()
        .id
        .0
        .to_string();
    let g5 = classes
        .iter()
        .find(|c| c.label() == "Grade 5 A")
        .unwrap()
        .id
        .0
        .to_string();
    let deadline = (env.app.clock.now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let form = |title: &str, day: &str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("title".to_string(), title.to_string()),
            (
                "description".to_string(),
                "Bring a packed lunch".to_string(),
            ),
            ("deadline".to_string(), day.to_string()),
            ("class".to_string(), g3.clone()),
            ("class".to_string(), g5.clone()),
        ]
    };
    let admin_ref = &admin;
    let post = |f: Vec<(String, String)>| async move {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        call(env, "POST", "/admin/consent", admin_ref, &pairs).await
    };
    assert_eq!(
        post(form("", &deadline)).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(form("Zoo trip", "2020-01-01")).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = post(form("Zoo trip", &deadline)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let view_path = r.location().to_string();
    // The dashboard counts the open form (it said 0: issue 14, item 9) and its last day.
    let dash = call(env, "GET", "/admin", &admin, &[]).await;
    assert!(
        dash.body.contains("1 consent form(s) in progress") && dash.body.contains("Zoo trip"),
        "{}",
        dash.body
    );
    // The parent is asked (Bilal first: Grade 3 A) and answers.
    let asked = parent.settle().await.unwrap();
    assert!(asked.iter().any(|m| m.render().contains("Zoo trip")));
    parent.say("haan").await.unwrap();
    parent
        .say("Please keep his inhaler with the teacher")
        .await
        .unwrap();
    let view = call(env, "GET", &view_path, &admin, &[]).await;
    assert!(
        view.body.contains("Grade 3 A") && view.body.contains("Grade 5 A"),
        "{}",
        view.body
    );
    // The parent's note reaches staff (issue 14 item 9), on the page and in the CSV.
    assert!(
        view.body.contains("Notes from parents")
            && view
                .body
                .contains("Please keep his inhaler with the teacher"),
        "{}",
        view.body
    );
    let csv = call(env, "GET", &format!("{view_path}/csv"), &admin, &[]).await;
    assert!(csv.body.starts_with("class,child,answer,note"));
    assert!(
        csv.body
            .contains("Bilal Khan,approved,Please keep his inhaler with the teacher"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains("no answer"));
    // Reminding those who have not answered (Aisha's form) reaches the parent now.
    let csrf = view.csrf();
    let remind = format!("{view_path}/remind");
    assert_eq!(
        call(env, "POST", &remind, &admin, &[("csrf", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = call(env, "POST", &remind, &admin, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let reminded = parent.settle().await.unwrap();
    assert!(!reminded.is_empty(), "a reminder");
    let log = school.store.recent_activity(20).await.unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "consent_form.remind")
        .expect("logged");
    assert_eq!(entry.details["queued"], 1, "{:?}", entry.details);
    // Branch managers: their branch's classes and children only; reminding is for
    // administrators. Zoo trip went to Main's Grade 3 A and 5 A.
    for (email, branch) in [
        ("main@consent.test", "Main"),
        ("north@consent.test", "North"),
    ] {
        add_manager(&school, email, branch).await;
    }
    let north = cookie_of(
        env,
        "web-consent",
        "north@consent.test",
        "manager password 1",
    )
    .await;
    let main = cookie_of(
        env,
        "web-consent",
        "main@consent.test",
        "manager password 1",
    )
    .await;
    let north_list = call(env, "GET", "/admin/consent", &north, &[]).await;
    assert_eq!(north_list.status, StatusCode::OK);
    assert!(!north_list.body.contains("Zoo trip") && !north_list.body.contains("Grade 3 A"));
    assert_eq!(
        call(env, "GET", &view_path, &north, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "GET", &format!("{view_path}/csv"), &north, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let ncsrf = north_list.csrf();
    let r = call(
        env,
        "POST",
        "/admin/consent",
        &north,
        &[
            ("csrf", ncsrf.as_str()),
            ("title", "Sports day"),
            ("deadline", deadline.as_str()),
            ("class", g3.as_str()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "another branch's class");
    let main_view = call(env, "GET", &view_path, &main, &[]).await;
    assert_eq!(main_view.status, StatusCode::OK);
    assert!(main_view.body.contains("Grade 3 A") && !main_view.body.contains("Remind those"));
    let mcsrf = main_view.csrf();
    let r = call(
        env,
        "POST",
        "/admin/consent",
        &main,
        &[
            ("csrf", mcsrf.as_str()),
            ("title", "Sports day"),
            ("deadline", deadline.as_str()),
            ("class", g3.as_str()),
        ],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a Main class, by Main's manager"
    );
    assert_eq!(
        call(env, "POST", &remind, &main, &[("csrf", &mcsrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let teacher_cookie = {
        add_staff(
            &school,
            "t@consent.test",
            StaffRole::Teacher,
            "teacher password 1",
        )
        .await;
        cookie_of(env, "web-consent", "t@consent.test", "teacher password 1").await
    };
    assert_eq!(
        call(env, "GET", "/admin/consent", &teacher_cookie, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(env, "GET", &view_path, &teacher_cookie, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

crate::on_both_backends!(consent_forms_are_sent_and_tallied);

/// Behind a trusted proxy the limit per address uses the proxy's client-address header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_limit_reads_the_trusted_proxy_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.client_ip_header = Some("x-client-ip".into());
    let app = raabta::app::App::build(config).await.unwrap();
    let router = raabta::application::router(&app, &raabta::admin::AdminState::new(app.clone()));
    let post = |ip: String| {
        let router = router.clone();
        async move {
            let req = Request::builder()
                .method("POST")
                .uri("/admin/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", "raabta_pre=abc")
                .header("x-client-ip", ip)
                .body(Body::from(
                    "csrf=abc&school=no-such&email=a%40b.c&password=x",
                ))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }
    };
    // The unknown school answers 401 without touching the limiter; use a real school.
    let new =
        raabta::domain::school::NewTenant::new("proxy-school", "P", "Asia/Karachi", "en").unwrap();
    app.tenancy.create(new).await.unwrap();
    let post_school = |ip: &'static str| {
        let router = router.clone();
        async move {
            let req = Request::builder()
                .method("POST")
                .uri("/admin/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", "raabta_pre=abc")
                .header("x-client-ip", ip)
                .body(Body::from(
                    "csrf=abc&school=proxy-school&email=a%40b.c&password=x",
                ))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }
    };
    assert_eq!(post("10.1.1.1".into()).await, StatusCode::UNAUTHORIZED);
    let mut limited = false;
    for _ in 0..25 {
        if post_school("10.9.9.9").await == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "one client address is limited");
    // Another client behind the same proxy is not.
    assert_eq!(post_school("10.8.8.8").await, StatusCode::UNAUTHORIZED);
}

/// The admin's extractors answer before any handler runs: no session → sign-in; a
/// teacher at an administrator's page → 404; a post without this session's form token
/// → 403 (for anyone), a teacher's post with the right token → 404.
async fn extractors_guard_pages_and_forms(env: &TestEnv) {
    let school = env.school("web-guards").await;
    add_staff(
        &school,
        "t@guards.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    add_staff(
        &school,
        "head@guards.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let r = call(env, "GET", "/admin/outbox", "", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/login");
    let teacher = cookie_of(env, "web-guards", "t@guards.test", "teacher password 1").await;
    for page in ["/admin/outbox", "/admin/activity", "/admin/activity.csv"] {
        let r = call(env, "GET", page, &teacher, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{page}");
    }
    let id = uuid::Uuid::now_v7();
    let retry = format!("/admin/outbox/{id}/retry");
    let r = call(env, "POST", &retry, &teacher, &[("csrf", "wrong")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = call(env, "GET", "/admin", &teacher, &[]).await.csrf();
    let r = call(env, "POST", &retry, &teacher, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let admin = admin_cookie(env, &school, "head@guards.test", "head password 1").await;
    let r = call(env, "POST", &retry, &admin, &[("csrf", "wrong")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = call(env, "GET", "/admin/outbox", &admin, &[]).await.csrf();
    // A well-formed post for a row that does not exist.
    let r = call(env, "POST", &retry, &admin, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(env, "GET", "/admin/activity?from=yesterday", &admin, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
crate::on_both_backends!(extractors_guard_pages_and_forms);

/// Posts `body` as it is, with `content_type` if given.
async fn post_raw(
    env: &TestEnv,
    path: &str,
    cookies: &str,
    content_type: Option<&str>,
    body: String,
) -> Res {
    let mut req = Request::builder().method("POST").uri(path);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies);
    }
    if let Some(t) = content_type {
        req = req.header("content-type", t);
    }
    let res = env
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

/// The form extractors answer in the order the pages always did: the body first (over
/// the admin forms' 64 KiB 413, not a form 415, a field missing 422), then the session
/// (303), the form token (403 for anyone), the role (404). Forms read as pairs take the
/// body as they did (raw bytes for the register and staff forms; the consent form wants
/// a form content type), and the CSV commit keeps the service-wide limit.
async fn form_extractors_answer_as_before(env: &TestEnv) {
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    let school = env.school("web-forms").await;
    add_staff(
        &school,
        "t@forms.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    add_staff(
        &school,
        "head@forms.test",
        StaffRole::Admin,
        "head password 1",
    )
    .await;
    let teacher = cookie_of(env, "web-forms", "t@forms.test", "teacher password 1").await;
    let csrf = call(env, "GET", "/admin", &teacher, &[]).await.csrf();
    let id = uuid::Uuid::now_v7();

    // A typed form of any staff member.
    let decide = format!("/admin/leave/{id}/decide");
    let big = format!("csrf=x&decision=approve&note={}", "a".repeat(70 * 1024));
    let r = post_raw(env, &decide, "", FORM, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let body = format!("csrf={csrf}&decision=approve");
    let r = post_raw(env, &decide, &teacher, Some("text/plain"), body.clone()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = post_raw(env, &decide, &teacher, None, body).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = post_raw(env, &decide, "", FORM, "decision=approve".into()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("missing field `csrf`"), "{}", r.body);
    let r = post_raw(env, &decide, &teacher, FORM, format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("missing field `decision`"), "{}", r.body);
    let fields = [("csrf", "wrong"), ("decision", "approve")];
    let r = call(env, "POST", &decide, "", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/login");
    let r = call(env, "POST", &decide, &teacher, &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        env,
        "POST",
        &decide,
        &teacher,
        &[("csrf", &csrf), ("decision", "approve")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no such request");

    // An administrators' form: the token before the role.
    let active = format!("/admin/staff/{id}/active");
    let r = call(
        env,
        "POST",
        &active,
        &teacher,
        &[("csrf", "wrong"), ("active", "false")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        env,
        "POST",
        &active,
        &teacher,
        &[("csrf", &csrf), ("active", "false")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Pairs read as raw bytes (any content type, as before), token before role.
    for path in ["/admin/staff", &format!("/admin/staff/{id}/classes")] {
        let r = call(env, "POST", path, &teacher, &[("csrf", "wrong")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        let r = post_raw(env, path, &teacher, None, format!("csrf={csrf}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let big = format!("csrf=x&day={}", "a".repeat(70 * 1024));
    let r = post_raw(env, "/admin/attendance", "", None, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = post_raw(env, "/admin/attendance", "", None, "csrf=x".into()).await;
    assert_eq!(r.location(), "/admin/login");
    // The consent form's pairs want a form content type.
    let r = post_raw(
        env,
        "/admin/consent",
        &teacher,
        Some("text/plain"),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = call(
        env,
        "POST",
        "/admin/consent",
        &teacher,
        &[("csrf", "wrong")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(env, "POST", "/admin/consent", &teacher, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The CSV commit posts the file back in a form: past 64 KiB it is still read and
    // checked (422: not a roster), past the service-wide limit it is not.
    let admin = admin_cookie(env, &school, "head@forms.test", "head password 1").await;
    let csrf = call(env, "GET", "/admin/roster/import", &admin, &[])
        .await
        .csrf();
    let csv = format!("not,a,roster\n{}\n", "a".repeat(100 * 1024));
    let commit = "/admin/roster/import/commit";
    let r = call(
        env,
        "POST",
        commit,
        &admin,
        &[("csrf", &csrf), ("csv", &csv)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let csv = "a".repeat(1100 * 1024);
    let r = call(
        env,
        "POST",
        commit,
        &admin,
        &[("csrf", &csrf), ("csv", &csv)],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}
crate::on_both_backends!(form_extractors_answer_as_before);
