//! The web admin in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver + fantoccini) against the real router served on a loopback port.
//!
//! Covers signing in with two-factor (enrolment, then a fresh sign-in with a TOTP
//! code), approving a leave request end to end (the parent's decision reaches the fake
//! provider), replying to a handed-off conversation, and issuing and printing access
//! codes. Screenshots of the pages are written to `RAABTA_SCREENSHOTS` when it is set
//! (`scripts/screenshots.sh` sets it to `docs/screenshots`), else to a temporary folder.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`.ci/run` installs them; other
//! paths via `RAABTA_CHROMIUM` / `RAABTA_CHROMEDRIVER`). Without them the test is
//! skipped loudly outside CI and fails in CI.

use crate::support::TestEnv;
use fantoccini::{Client, ClientBuilder, Locator};
use raabta::admin::auth::Auth;
use raabta::console::Simulator;
use raabta::domain::activity::ActivityEntry;
use raabta::domain::message::Provider;
use raabta::domain::roster::{StaffRole, StaffUser};
use raabta::domain::StaffId;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()));
    p.exists().then_some(p)
}

/// Chromium and chromedriver. Never reported as passed without a browser: missing
/// tools fail the test; without them, RAABTA_TEST_BROWSER=off marks it ignored (not in
/// CI).
fn browser_tools() -> (PathBuf, PathBuf) {
    let (Some(chromium), Some(chromedriver)) = (
        tool("RAABTA_CHROMIUM", "/usr/bin/chromium"),
        tool("RAABTA_CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        panic!(
            "Chromium and chromedriver are missing (apt-get install chromium chromium-driver), \
             or build the tests with RAABTA_TEST_BROWSER=off to report this test as ignored \
             (CI=true ignores that switch)"
        );
    };
    (chromium, chromedriver)
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(path: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on {port}");
}

async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    browser_with(driver, chromium, profile, true).await
}

/// A Chromium session; `javascript: false` turns the page's scripts off.
async fn browser_with(
    driver: &Driver,
    chromium: &Path,
    profile: &Path,
    javascript: bool,
) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
                "--window-size=1200,900",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
            },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

struct Shots {
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Shots {
    fn new() -> Self {
        match std::env::var("RAABTA_SCREENSHOTS") {
            Ok(d) => {
                std::fs::create_dir_all(&d).unwrap();
                Self {
                    dir: PathBuf::from(d),
                    _tmp: None,
                }
            }
            Err(_) => {
                let t = tempfile::tempdir().unwrap();
                Self {
                    dir: t.path().to_path_buf(),
                    _tmp: Some(t),
                }
            }
        }
    }

    async fn take(&self, c: &Client, name: &str) {
        let png = c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        std::fs::write(self.dir.join(format!("{name}.png")), png).unwrap();
    }
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn fill(c: &Client, name: &str, value: &str) {
    let field = c
        .find(Locator::Css(&format!("[name=\"{name}\"]")))
        .await
        .unwrap_or_else(|_| panic!("field {name}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Clicks and waits until the next page has replaced this one.
async fn click_and_wait(c: &Client, target: fantoccini::elements::Element) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    target.click().await.unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            // The old document is gone; wait for the new one to finish loading.
            for _ in 0..100 {
                let state = c
                    .execute("return document.readyState", vec![])
                    .await
                    .unwrap();
                if state == "complete" {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no new page after the click");
}

async fn press(c: &Client, label: &str) {
    let button = c
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{label}']"
        )))
        .await
        .unwrap_or_else(|_| panic!("button {label}"));
    click_and_wait(c, button).await;
}

async fn follow(c: &Client, link: &str) {
    let a = c
        .find(Locator::LinkText(link))
        .await
        .unwrap_or_else(|_| panic!("link {link}"));
    click_and_wait(c, a).await;
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// The service's router on a loopback port, like in production behind a proxy; its
/// base URL.
async fn serve(env: &TestEnv) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = env.router();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    base
}

async fn deliver(env: &TestEnv) {
    let sender =
        Arc::new(raabta::worker::Sender::new(raabta::worker::RateLimits::default()).unwrap());
    raabta::worker::send_due(&env.app, &sender).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_browser, ignore = "RAABTA_TEST_BROWSER=off")]
async fn staff_work_in_a_real_browser() {
    let (chromium, chromedriver) = browser_tools();

    // A school with its roster, channels pointing at the fake providers, an admin.
    let env = TestEnv::sqlite().await;
    let school = env.school("browser").await;
    crate::support::load_roster_and_fees(&school).await;
    let fake = crate::fake::FakeProviders::start().await;
    crate::webhooks::add_test_channels(&env, &school, Some(fake.base.clone())).await;
    let admin = StaffUser {
        id: StaffId::new(),
        full_name: "Farah Head".into(),
        email: "head@browser.test".into(),
        phone: None,
        role: StaffRole::Admin,
        branch: None,
        password_hash: Some(
            raabta::password::hash("head password 1".into())
                .await
                .unwrap(),
        ),
    };
    let act = ActivityEntry::now("test", "staff.create", None, "test", serde_json::json!({}));
    school.store.create_staff(&admin, &act).await.unwrap();

    // A parent asks for a day off for Bilal, with a photo, and later asks for the office.
    let meta = crate::webhooks::meta_channel(&env);
    let mut parent = Simulator::new(
        &env.app,
        "browser",
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
    assert_eq!(
        school
            .store
            .leave_requests(Some("pending"))
            .await
            .unwrap()
            .len(),
        1
    );

    let base = serve(&env).await;

    let driver = start_driver(&chromedriver).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &chromium, profile.path()).await;
    let shots = Shots::new();
    let result = async {
        // Sign in; an admin must enrol two-factor first.
        c.goto(&format!("{base}/admin")).await.unwrap();
        assert_eq!(path(&c).await, "/admin/login");
        fill(&c, "school", "browser").await;
        fill(&c, "email", "head@browser.test").await;
        fill(&c, "password", "head password 1").await;
        shots.take(&c, "01-sign-in").await;
        press(&c, "Sign in").await;
        assert_eq!(path(&c).await, "/admin/2fa/setup");
        press(&c, "Start").await;
        let page = text(&c).await;
        assert!(page.contains("Recovery codes"), "{page}");
        c.find(Locator::Css(".qr svg")).await.expect("a QR code");
        // The key shown on the page is the one an authenticator app would use.
        let key = c
            .find(Locator::XPath(
                "//p[starts-with(normalize-space(), 'Key:')]/code",
            ))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let key = totp_rs::Secret::try_from_base32(key.trim())
            .expect("a base32 key")
            .as_bytes()
            .to_vec();
        shots.take(&c, "02-two-factor-setup").await;
        let now = env.app.clock.now();
        fill(&c, "code", &Auth::current_code(&key, now).unwrap()).await;
        press(&c, "Turn on two-factor").await;
        assert_eq!(path(&c).await, "/admin");
        assert!(text(&c).await.contains("Farah Head"));

        // Sign out, and in again: now with a code from the app.
        press(&c, "Sign out").await;
        assert_eq!(path(&c).await, "/admin/login");
        fill(&c, "school", "browser").await;
        fill(&c, "email", "head@browser.test").await;
        fill(&c, "password", "head password 1").await;
        press(&c, "Sign in").await;
        assert_eq!(path(&c).await, "/admin/2fa");
        // The code just used is refused (replay); the next one works.
        fill(&c, "code", &Auth::current_code(&key, now).unwrap()).await;
        press(&c, "Continue").await;
        assert!(text(&c).await.contains("not right"));
        env.app.clock.advance(chrono::Duration::seconds(30));
        let next = Auth::current_code(&key, env.app.clock.now()).unwrap();
        fill(&c, "code", &next).await;
        shots.take(&c, "03-two-factor-check").await;
        press(&c, "Continue").await;
        assert_eq!(path(&c).await, "/admin");
        // Back to real time: the outbox sends what is due by the wall clock.
        env.app.clock.advance(chrono::Duration::seconds(-30));
        let page = text(&c).await;
        assert!(page.contains("1 leave request(s) waiting"), "{page}");
        shots.take(&c, "04-dashboard").await;

        // Approve the leave request; the parent is told through the channel.
        follow(&c, "Leave").await;
        assert!(text(&c).await.contains("Bilal Khan"));
        shots.take(&c, "05-leave-requests").await;
        follow(&c, "Open").await;
        assert!(text(&c).await.contains("bukhar"));
        c.find(Locator::LinkText("Open the attachment"))
            .await
            .expect("a signed attachment link");
        fill(&c, "note", "Get well soon, Bilal").await;
        shots.take(&c, "06-leave-request").await;
        press(&c, "Approve").await;
        let page = text(&c).await;
        assert!(page.contains("approved"), "{page}");
        parent.settle().await.unwrap();
        deliver(&env).await;
        assert!(
            fake.sends()
                .iter()
                .any(|s| s.body.contains("Get well soon, Bilal")),
            "the decision reaches the parent's WhatsApp: {:?}",
            fake.requests()
        );
        assert_eq!(
            school
                .store
                .leave_requests(Some("approved"))
                .await
                .unwrap()
                .len(),
            1
        );

        // The parent asks for the office; staff answer in the thread and hand back.
        parent.say("office").await.unwrap();
        parent.say("Bilal's van was late again").await.unwrap();
        c.goto(&format!("{base}/admin")).await.unwrap();
        follow(&c, "Conversations").await;
        follow(&c, "عمران خان").await;
        assert!(text(&c).await.contains("van was late again"));
        fill(&c, "text", "We spoke to the driver; sorry!").await;
        shots.take(&c, "07-conversation").await;
        press(&c, "Send").await;
        deliver(&env).await;
        assert!(fake
            .sends()
            .iter()
            .any(|s| s.body.contains("We spoke to the driver")));
        press(&c, "Hand back to the bot").await;
        assert!(!parent.say("menu").await.unwrap().is_empty());

        // The parent complains; the office reads the inbox and the thread and replies.
        for text in [
            "shikayat",
            "Van driver bachon ko stop se pehle utaar deta hai",
            "1",
            "bas",
            "haan",
        ] {
            parent.say(text).await.unwrap();
        }
        // Its triage job (local rules here: no AI endpoint in this test).
        let mut runner = raabta::worker::jobs::JobRunner::new();
        runner.register_io(
            raabta::domain::job::COMPLAINT_TRIAGE,
            Arc::new(raabta::worker::triage::ComplaintTriage),
            1,
            1,
        );
        for h in Arc::new(runner).pass(&env.app).await.unwrap() {
            h.await.unwrap();
        }
        c.goto(&format!("{base}/admin")).await.unwrap();
        assert!(text(&c).await.contains("1 open complaint(s), 1 unassigned"));
        follow(&c, "Complaints").await;
        let reference = school.store.complaints().await.unwrap()[0]
            .reference
            .clone();
        let page = text(&c).await;
        assert!(
            page.contains(&reference) && page.contains("transport"),
            "{page}"
        );
        shots.take(&c, "19-complaints-inbox").await;
        follow(&c, &reference).await;
        assert!(text(&c).await.contains("stop se pehle"));
        fill(&c, "text", "Driver ko hidayat de di gayi hai.").await;
        shots.take(&c, "20-complaint-thread").await;
        press(&c, "Send reply").await;
        assert!(text(&c).await.contains("Driver ko hidayat de di gayi hai."));
        parent.settle().await.unwrap();
        deliver(&env).await;
        assert!(fake
            .sends()
            .iter()
            .any(|s| s.body.contains("Driver ko hidayat de di gayi hai.")));

        // Access codes for a class, printed as slips with a QR code each.
        c.goto(&format!("{base}/admin")).await.unwrap();
        follow(&c, "Access codes").await;
        c.find(Locator::XPath(
            "//select[@name='class']/option[normalize-space()='Grade 3 A']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        shots.take(&c, "08-access-codes").await;
        press(&c, "Issue and print slips").await;
        let slips = c.find_all(Locator::Css(".slip")).await.unwrap();
        assert_eq!(slips.len(), 2, "Bilal's two guardians");
        c.find(Locator::Css(".slip svg")).await.expect("QR codes");
        let printed = c
            .find(Locator::Css(".slip .code"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        shots.take(&c, "09-code-slips").await;
        assert!(
            raabta::codes::redeem(school.store.as_ref(), printed.trim(), "test")
                .await
                .is_ok(),
            "the printed code logs its guardian in"
        );

        // The other office pages, for the record.
        c.goto(&format!("{base}/admin")).await.unwrap();
        for (link, shot) in [
            ("Roster", "11-roster"),
            ("Fees", "12-fees"),
            ("Attendance", "13-attendance"),
            ("Staff", "14-staff"),
            ("Activity log", "15-activity-log"),
        ] {
            follow(&c, link).await;
            shots.take(&c, shot).await;
        }
        follow(&c, "Roster").await;
        follow(&c, "Bilal Khan").await;
        assert!(text(&c).await.contains("Sana Imran"));
        shots.take(&c, "16-student").await;

        // In Urdu, right to left, and back to English.
        c.goto(&format!("{base}/admin/attendance")).await.unwrap();
        follow(&c, "اردو").await;
        assert_eq!(path(&c).await, "/admin/attendance");
        let dir = c
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("dir")
            .await
            .unwrap();
        assert_eq!(dir.as_deref(), Some("rtl"));
        assert!(text(&c).await.contains("حاضری محفوظ کریں"));
        shots.take(&c, "17-attendance-urdu").await;
        follow(&c, "ڈیش بورڈ").await;
        shots.take(&c, "18-dashboard-urdu").await;
        follow(&c, "English").await;
        assert!(text(&c).await.contains("Dashboard"));

        // The dashboard on a phone-sized screen.
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&format!("{base}/admin")).await.unwrap();
        shots.take(&c, "10-dashboard-phone").await;
    }
    .await;
    let _ = c.close().await;
    result
}

/// Waits until the page's text holds `needle` (a reply the script put in).
async fn wait_for_text(c: &Client, needle: &str) -> String {
    for _ in 0..200 {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {needle:?}:\n{}", text(c).await);
}

/// Clicks a button of the web chat (the script answers in place).
async fn click_button(c: &Client, label: &str) {
    c.find(Locator::XPath(&format!(
        "//button[normalize-space()='{label}']"
    )))
    .await
    .unwrap_or_else(|_| panic!("button {label}"))
    .click()
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(raabta_skip_browser, ignore = "RAABTA_TEST_BROWSER=off")]
async fn the_web_chat_in_a_real_browser() {
    let (chromium, chromedriver) = browser_tools();
    let env = TestEnv::sqlite().await;
    let school = env.school("chat").await;
    let rows = raabta::faq::parse_csv(include_bytes!("../../demo/faq.csv")).unwrap();
    let act = ActivityEntry::now("test", "faq.import", None, "test", serde_json::json!({}));
    school.store.replace_faq(&rows, &act).await.unwrap();

    let base = serve(&env).await;
    let driver = start_driver(&chromedriver).await;
    let shots = Shots::new();

    // With JavaScript: every answer comes into the same page (no reload).
    let profile = tempfile::tempdir().unwrap();
    let c = browser_with(&driver, &chromium, profile.path(), true).await;
    async {
        c.set_window_size(420, 820).await.unwrap();
        c.goto(&format!("{base}/chat/chat")).await.unwrap();
        c.execute("window.sameDocument = 42", vec![]).await.unwrap();
        fill(&c, "text", "what are the school timings?").await;
        click_button(&c, "Send").await;
        wait_for_text(&c, "7:45 am").await;
        for (say, expect) in [
            ("apply", "Your name, please?"),
            ("Nadia Rehman", "Which class is your child"),
            ("Grade 2", "Which language"),
        ] {
            fill(&c, "text", say).await;
            click_button(&c, "Send").await;
            wait_for_text(&c, expect).await;
        }
        click_button(&c, "English").await;
        wait_for_text(&c, "Name: Nadia Rehman").await;
        click_button(&c, "Yes").await;
        wait_for_text(&c, "Thank you, Nadia Rehman").await;
        let same = c
            .execute("return window.sameDocument || null", vec![])
            .await
            .unwrap();
        assert_eq!(same, serde_json::json!(42), "the page was never reloaded");
        assert_eq!(path(&c).await, "/chat/chat");
        shots.take(&c, "21-web-chat").await;
    }
    .await;
    let _ = c.close().await;
    let leads = school.store.leads(None, 10).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].name.expose(), "Nadia Rehman");

    // Without JavaScript: the form posts and the page comes back with the thread.
    let profile = tempfile::tempdir().unwrap();
    let c = browser_with(&driver, &chromium, profile.path(), false).await;
    async {
        c.set_window_size(420, 820).await.unwrap();
        c.goto(&format!("{base}/chat/chat")).await.unwrap();
        fill(&c, "text", "how much is the fee?").await;
        press(&c, "Send").await;
        let page = text(&c).await;
        assert!(page.contains("Monthly tuition is Rs 9,500"), "{page}");
        fill(&c, "text", "do you have a swimming pool?").await;
        press(&c, "Send").await;
        let page = text(&c).await;
        assert!(
            page.contains("Monthly tuition"),
            "the same conversation: {page}"
        );
        assert!(page.contains("I don't have an answer"), "{page}");
        // The yes/no buttons are the form's own.
        press(&c, "Yes").await;
        assert!(text(&c).await.contains("Your name, please?"));
        shots.take(&c, "22-web-chat-no-javascript").await;
    }
    .await;
    let _ = c.close().await;
}
