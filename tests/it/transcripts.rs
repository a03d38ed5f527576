//! Transcript tests: `flows/tests/*.yaml` say who writes what on which channel and
//! what the bot must answer. Each transcript runs against a fresh demo school on
//! SQLite, through the real pipeline (inbox, ordered worker, flow engine, outbox),
//! with the service clock moved forward for timeouts and closed windows.
//!
//! `flow_transcripts` requires every transcript to pass. `heldout_variants` (ignored;
//! `cargo test --test it heldout_variants -- --ignored --nocapture`) runs the held-out
//! set in `flows/tests/heldout/` and only reports how many pass (issue 14).

use raabta::console::{BotMessage, Simulator};
use raabta::domain::activity::ActivityEntry;
use raabta::domain::message::{OutboundMessage, Provider};
use raabta::domain::phone::Phone;
use raabta::domain::roster::ContactRef;
use serde::Deserialize;
use serde_json::json;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transcript {
    name: String,
    /// console, meta, twilio or telegram.
    channel: String,
    /// guardian (Imran Khan, English), guardian_ur (Sana Imran, Urdu on the roster),
    /// teacher, or unknown (not logged in; `{code}` in a message is a fresh valid code).
    #[serde(rename = "as")]
    who: String,
    /// Switch language right after login (en, ur, ar).
    #[serde(default)]
    locale: Option<String>,
    /// Needs the local language model (free text): fails in CI without it, skipped
    /// (loudly) elsewhere.
    #[serde(default)]
    model: bool,
    /// Needs the face models and the labelled photos beside the project (photo
    /// attendance): fails in CI without them, skipped (loudly) elsewhere.
    #[serde(default)]
    face: bool,
    /// Run at the vendor's own school: the demo school marked as the vendor's, with the
    /// service's FAQ (schools asking about the service).
    #[serde(default)]
    vendor: bool,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    user: Option<String>,
    /// Tap option N of the latest question.
    tap: Option<usize>,
    /// Tap option N of the question before the latest (an expired button).
    tap_old: Option<usize>,
    #[serde(default)]
    photo: bool,
    #[serde(default)]
    pdf: bool,
    /// Send this photo of `../shared/face-data/deepface` (a face transcript).
    image: Option<String>,
    /// Move the clock: 30m, 3h, 2d.
    wait: Option<String>,
    /// Staff do something: consent, approve_leave, reject_leave, hand_back.
    staff: Option<String>,
    /// The bot's replies, in order (an empty list: no reply). Omitted: not checked.
    bot: Option<Vec<Expect>>,
    /// `bot` need not list every reply: each expectation is met by a later reply than
    /// the one before (others may come before, between and after), and every
    /// `not_contains` holds for all the step's replies. For behaviour whose number of
    /// messages is not decided yet (the held-out set).
    #[serde(default)]
    any_count: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    not_contains: Vec<String>,
    /// How many options the message offers.
    choices: Option<usize>,
    /// Sent as this approved template (the 24-hour window had closed).
    template: Option<String>,
    /// Handed to staff as a manual wa.me link (window closed, no template).
    #[serde(default)]
    manual: bool,
}

/// Why a transcript did not pass.
enum Failure {
    /// The bot did not answer as written (also: no button to tap, no leave request
    /// for staff to decide, no handoff to hand back).
    Mismatch(String),
    /// The transcript or the harness could not run (an unknown `as`, a bad `wait`,
    /// a simulator error): never a finding about the bot.
    Broken(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Mismatch(m) | Failure::Broken(m) => m,
        }
    }

    fn at(self, step: String) -> Failure {
        match self {
            Failure::Mismatch(m) => Failure::Mismatch(format!("{step}: {m}")),
            Failure::Broken(m) => Failure::Broken(format!("{step}: {m}")),
        }
    }
}

fn mismatch(m: impl Into<String>) -> Failure {
    Failure::Mismatch(m.into())
}

fn broken(m: impl ToString) -> Failure {
    Failure::Broken(m.to_string())
}

struct Run {
    sim: Simulator,
    phone: String,
    questions: Vec<OutboundMessage>,
    code: Option<String>,
}

fn sender_for(channel: Provider, phone: &str) -> String {
    match channel {
        Provider::Telegram => format!("tg{}", phone.trim_start_matches('+')),
        Provider::Console => phone.to_string(),
        _ => phone.trim_start_matches('+').to_string(),
    }
}

async fn issue_code(sim: &Simulator, phone: &str, kind: &str) -> String {
    let phone = Phone::parse(phone, None).unwrap();
    let contact = sim
        .store
        .contacts_by_phone(&phone)
        .await
        .unwrap()
        .into_iter()
        .find(|c: &ContactRef| c.kind() == kind)
        .expect("demo contact");
    let (code, _) = raabta::codes::issue_at(
        None,
        sim.store.as_ref(),
        contact,
        sim.clock.now(),
        chrono::Duration::days(1),
        "test",
        "test",
    )
    .await
    .unwrap();
    code.expose().to_string()
}

fn check(expect: &[Expect], got: &[BotMessage]) -> Result<(), String> {
    let shown: Vec<String> = got.iter().map(|m| m.render()).collect();
    if expect.len() != got.len() {
        return Err(format!(
            "expected {} replies, got {}:\n{}",
            expect.len(),
            got.len(),
            shown.join("\n---\n")
        ));
    }
    for (i, (e, m)) in expect.iter().zip(got).enumerate() {
        check_one(e, m, i + 1)?;
    }
    Ok(())
}

/// `check` for `any_count` steps: the expectations in order among the replies, and
/// no reply with any of their `not_contains`.
fn check_some(expect: &[Expect], got: &[BotMessage]) -> Result<(), String> {
    let shown = || {
        got.iter()
            .map(|m| m.render())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    for (i, m) in got.iter().enumerate() {
        let text = raabta::flow::text::strip_isolation(&m.message.as_numbered_text());
        for c in expect.iter().flat_map(|e| &e.not_contains) {
            if text.contains(c.as_str()) {
                return Err(format!("reply {} has {c:?}:\n{text}", i + 1));
            }
        }
    }
    let mut next = 0;
    for (k, e) in expect.iter().enumerate() {
        let mut first_miss = None;
        let found = (next..got.len()).find(|&i| match check_one(e, &got[i], i + 1) {
            Ok(()) => true,
            Err(why) => {
                first_miss.get_or_insert(why);
                false
            }
        });
        match found {
            Some(i) => next = i + 1,
            None => {
                return Err(format!(
                    "no reply meets expectation {} of {} ({} replies{}):\n{}",
                    k + 1,
                    expect.len(),
                    got.len(),
                    first_miss
                        .map(|w| format!("; first miss: {}", w.lines().next().unwrap_or("")))
                        .unwrap_or_default(),
                    shown()
                ))
            }
        }
    }
    Ok(())
}

/// One reply against one expectation (`i` counts from 1, for the message).
fn check_one(e: &Expect, m: &BotMessage, i: usize) -> Result<(), String> {
    let text = raabta::flow::text::strip_isolation(&m.message.as_numbered_text());
    for c in &e.contains {
        if !text.contains(c.as_str()) {
            return Err(format!("reply {i} lacks {c:?}:\n{text}"));
        }
    }
    for c in &e.not_contains {
        if text.contains(c.as_str()) {
            return Err(format!("reply {i} has {c:?}:\n{text}"));
        }
    }
    let OutboundMessage::Text {
        choices, template, ..
    } = &m.message
    else {
        return Ok(());
    };
    if let Some(n) = e.choices {
        if choices.len() != n {
            return Err(format!(
                "reply {i} offers {} choices, expected {n}:\n{text}",
                choices.len()
            ));
        }
    }
    match (&e.template, m.window_closed) {
        (Some(t), true) if template.as_deref() == Some(t.as_str()) => {}
        (Some(t), _) => {
            return Err(format!(
                "reply {i} should go as template {t} (window closed: {}, template: {template:?})",
                m.window_closed
            ))
        }
        (None, true) if e.manual && template.is_none() => {}
        (None, true) => {
            return Err(format!(
                "reply {i} was written after the window closed (template {template:?}); say `template:` or `manual: true`"
            ))
        }
        (None, false) if e.manual => return Err(format!("reply {i} is not a manual link")),
        (None, false) => {}
    }
    Ok(())
}

impl Run {
    async fn staff(&mut self, what: &str) -> Result<(), Failure> {
        let store = self.sim.store.clone();
        let now = self.sim.clock.now();
        let act = ActivityEntry::now("staff:test", what, None, "test", json!({}));
        match what {
            "consent" => {
                let classes: Vec<_> = store
                    .classes()
                    .await
                    .unwrap()
                    .iter()
                    .map(|c| c.id)
                    .collect();
                let deadline = now + chrono::Duration::days(3);
                store
                    .send_consent_form(
                        &raabta::store::NewConsentForm {
                            title: "Museum trip".into(),
                            description: "A visit to the Lahore Museum on Friday.".into(),
                            deadline_at: deadline,
                            classes,
                            remind_before: raabta::outbound::CONSENT_REMINDER_BEFORE,
                        },
                        &act,
                        now,
                    )
                    .await
                    .unwrap();
            }
            "approve_erasure" => {
                // An administrator approves the newest pending erasure request.
                let pending = store.privacy_requests(Some("pending"), 10).await.unwrap();
                let request = pending
                    .iter()
                    .find(|r| r.kind == "erasure")
                    .ok_or_else(|| mismatch("no pending erasure request"))?;
                let school = raabta::store::tenancy::School {
                    tenant: self.sim.tenant.clone(),
                    store: store.clone(),
                };
                raabta::privacy::erase(
                    self.sim.app(),
                    &school,
                    request.id,
                    raabta::store::ErasureScope::Guardian,
                    "staff:test",
                    "admin",
                )
                .await
                .unwrap();
            }
            "approve_leave" | "reject_leave" => {
                let pending = store.leave_requests(Some("pending")).await.unwrap();
                let last = pending
                    .last()
                    .ok_or_else(|| mismatch("no pending leave request"))?;
                let note = (what == "reject_leave").then_some("Exams that week");
                assert!(store
                    .decide_leave(last.request.id, what == "approve_leave", note, &act, now)
                    .await
                    .unwrap());
            }
            "reply_complaint"
            | "close_complaint"
            | "reopen_complaint"
            | "complaint_in_progress" => {
                // The newest complaint, as staff in the admin would change it.
                let newest = store
                    .complaints()
                    .await
                    .unwrap()
                    .into_iter()
                    .next()
                    .ok_or_else(|| mismatch("no complaint"))?;
                let change = match what {
                    "reply_complaint" => raabta::store::ComplaintChange::Reply(
                        "The bus company has been told; the driver will wait from Monday.".into(),
                    ),
                    "close_complaint" => raabta::store::ComplaintChange::Close {
                        reason: "The driver now waits at the stop.".into(),
                    },
                    "reopen_complaint" => raabta::store::ComplaintChange::Reopen,
                    _ => raabta::store::ComplaintChange::Status("in_progress".into()),
                };
                if !store
                    .change_complaint(newest.id, &change, &act, now)
                    .await
                    .unwrap()
                {
                    return Err(mismatch(format!("{what}: the change did not apply")));
                }
            }
            "unbind" => {
                let phone = Phone::parse(&self.phone, None).unwrap();
                for contact in store.contacts_by_phone(&phone).await.unwrap() {
                    store.revoke_identities(contact, &act).await.unwrap();
                }
            }
            "office_hours" => {
                store
                    .set_setting("office_hours", "Mon-Fri 8:00-14:00", &act)
                    .await
                    .unwrap();
            }
            "holidays" => {
                // Wednesday 2 and Thursday 3 December 2026 (the transcripts start on
                // Tuesday 1 December).
                let days = [
                    ("2026-12-02", "Founders' Day"),
                    ("2026-12-03", "Founders' Day"),
                ];
                let holidays: Vec<_> = days
                    .iter()
                    .map(|(d, n)| raabta::domain::calendar::Holiday::new(d, n).unwrap())
                    .collect();
                store.put_holidays(&holidays, &act).await.unwrap();
            }
            "payment_details" => {
                store
                    .set_setting(
                        "payment_details",
                        "Meezan Bank, IBAN PK36MEZN0001234567890123; JazzCash 0300-1234567",
                        &act,
                    )
                    .await
                    .unwrap();
            }
            "saudi_weekend" => {
                store
                    .set_setting("weekend_days", "fri,sat", &act)
                    .await
                    .unwrap();
            }
            "release_after_2h" => {
                store
                    .set_setting("handoff_release_hours", "2", &act)
                    .await
                    .unwrap();
            }
            "recognise_phones" => {
                store
                    .set_setting("recognise_roster_phones", "on", &act)
                    .await
                    .unwrap();
            }
            // Photo attendance on; Ayesha Khan (Grade 5 A) consented and enrolled from
            // img20.jpg; زینب علی without consent.
            "face_setup" => {
                store
                    .set_setting(raabta::face::SETTING_FACE, "on", &act)
                    .await
                    .unwrap();
                let class = store
                    .classes()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|c| c.label() == "Grade 5 A")
                    .ok_or_else(|| broken("no Grade 5 A"))?;
                let ayesha = store
                    .class_faces(class.id)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|r| r.name == "Ayesha Khan")
                    .ok_or_else(|| broken("no Ayesha Khan"))?;
                store
                    .record_face_consent(ayesha.student, "admin@demo.test", Some("form seen"), &act)
                    .await
                    .unwrap();
                let dir =
                    crate::support::face_photos("face_setup").ok_or_else(|| broken("no photos"))?;
                let bytes = std::fs::read(dir.join("img20.jpg")).map_err(broken)?;
                let face = self.sim.app().face.clone();
                let sample = tokio::task::spawn_blocking(move || {
                    face.models().map_err(|e| e.to_string()).and_then(|m| {
                        m.sample(&bytes, &raabta::face::quality::DEFAULT_RULE)
                            .map_err(|e| e.to_string())
                    })
                })
                .await
                .map_err(broken)?
                .map_err(broken)?;
                let added = store
                    .add_face_sample(ayesha.student, &sample.embedding, &sample.quality, &act)
                    .await
                    .unwrap();
                if !matches!(added, raabta::store::EnrolOutcome::Added(_)) {
                    return Err(broken(format!("enrolment: {added:?}")));
                }
            }
            "hand_back" => {
                let conv = self
                    .sim
                    .conversation()
                    .await
                    .unwrap()
                    .ok_or_else(|| mismatch("no conversation"))?;
                if !store.hand_back(conv, &act).await.unwrap() {
                    return Err(mismatch("the conversation was not handed off"));
                }
            }
            other => return Err(broken(format!("unknown staff action {other:?}"))),
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<Vec<BotMessage>, Failure> {
        if let Some(s) = &step.staff {
            self.staff(s).await?;
            return self.sim.settle().await.map_err(broken);
        }
        let result = if let Some(text) = &step.user {
            let text = match &self.code {
                Some(c) => {
                    let urdu: String = c
                        .chars()
                        .map(|ch| match ch.to_digit(10) {
                            Some(d) => char::from_u32(0x06F0 + d).unwrap_or(ch),
                            None => ch,
                        })
                        .collect();
                    text.replace("{code_urdu_digits}", &urdu)
                        .replace("{code}", c)
                }
                None => text.clone(),
            };
            self.sim.say(&text).await
        } else if let Some(n) = step.tap.or(step.tap_old) {
            let back = if step.tap.is_some() { 1 } else { 2 };
            let q = self
                .questions
                .len()
                .checked_sub(back)
                .and_then(|i| self.questions.get(i))
                .ok_or_else(|| mismatch("no question with buttons to tap"))?;
            let OutboundMessage::Text { choices, .. } = q else {
                return Err(mismatch("not a question"));
            };
            let c = choices
                .get(n - 1)
                .ok_or_else(|| mismatch("no such option"))?
                .clone();
            self.sim.tap(&c.id, &c.title).await
        } else if step.photo || step.pdf {
            self.sim.attach(step.pdf).await
        } else if let Some(name) = &step.image {
            let dir = crate::support::face_photos("transcript image")
                .ok_or_else(|| broken("no face photos"))?;
            let bytes = std::fs::read(dir.join(name)).map_err(broken)?;
            self.sim.attach_image(bytes).await
        } else if let Some(w) = &step.wait {
            let d = raabta::flow::def::parse_duration(w).ok_or_else(|| broken("bad wait"))?;
            self.sim
                .wait(chrono::Duration::from_std(d).map_err(broken)?)
                .await
        } else {
            return Err(broken(
                "a step needs user, tap, tap_old, photo, pdf, image, wait or staff",
            ));
        };
        result.map_err(broken)
    }
}

/// When every transcript starts (UTC): 09:00 in Karachi on a Tuesday.
const TRANSCRIPT_START: &str = "2026-12-01T04:00:00Z";

async fn run(t: &Transcript) -> Result<(), Failure> {
    let mut env = crate::support::TestEnv::sqlite().await;
    // The product reads free text with its language model: every transcript runs with
    // it where it is available (spelling only otherwise).
    match crate::support::language_model(&t.name) {
        Some(nlu) => {
            env.app = raabta::app::App {
                nlu,
                ..env.app.clone()
            }
        }
        None if t.model => return Ok(()),
        None => {}
    }
    if t.face {
        match (
            crate::support::face_service(&t.name),
            crate::support::face_photos(&t.name),
        ) {
            (Some(face), Some(_)) => {
                env.app = raabta::app::App {
                    face,
                    ..env.app.clone()
                }
            }
            _ => return Ok(()),
        }
    }
    raabta::seed::seed_if_empty(&env.app.tenancy)
        .await
        .map_err(broken)?;
    if t.vendor {
        let school = env
            .app
            .tenancy
            .school(raabta::seed::DEMO_SLUG)
            .await
            .map_err(broken)?;
        let act = ActivityEntry::now("test", "school.setting", None, "test", json!({}));
        school
            .store
            .set_setting(raabta::domain::school::SETTING_VENDOR, "on", &act)
            .await
            .map_err(broken)?;
        let rows = raabta::seed::platform_faq().map_err(broken)?;
        school
            .store
            .replace_faq(&rows, &act)
            .await
            .map_err(broken)?;
    }
    let provider: Provider = t.channel.parse().map_err(broken)?;
    let (phone, kind) = match t.who.as_str() {
        "guardian" | "unknown" => (raabta::seed::DEMO_PARENT_PHONE, "guardian"),
        "guardian_ur" => ("+923011110002", "guardian"),
        "teacher" => (raabta::seed::DEMO_TEACHER_PHONE, "staff"),
        other => return Err(broken(format!("unknown `as: {other}`"))),
    };
    // WhatsApp and Telegram replies go through the real sender to a simulated line.
    let sim = Simulator::on_line(
        &env.app,
        raabta::seed::DEMO_SLUG,
        provider,
        &sender_for(provider, phone),
    )
    .await
    .map_err(broken)?;
    // Every transcript starts on Tuesday 1 December 2026, 09:00 at the demo school
    // (Asia/Karachi, weekend Saturday-Sunday): "tomorrow" is a Wednesday, 5/12 a Saturday.
    sim.clock.set(TRANSCRIPT_START.parse().map_err(broken)?);
    let code = issue_code(&sim, phone, kind).await;
    let mut r = Run {
        sim,
        phone: phone.to_string(),
        questions: Vec::new(),
        code: Some(code.clone()),
    };
    if t.who != "unknown" {
        r.sim.say("hi").await.map_err(broken)?;
        let welcome = r.sim.say(&code).await.map_err(broken)?;
        if !welcome.iter().any(|m| m.render().contains('1')) {
            return Err(mismatch(format!(
                "login did not reach the menu: {:?}",
                welcome.iter().map(|m| m.render()).collect::<Vec<_>>()
            )));
        }
        r.code = None;
        if let Some(l) = &t.locale {
            let word = match l.as_str() {
                "en" => "english",
                "ur" => "urdu",
                "ar" => "arabic",
                other => return Err(broken(format!("unknown locale {other}"))),
            };
            r.sim.say(word).await.map_err(broken)?;
        }
    }
    for (i, step) in t.steps.iter().enumerate() {
        let got = r
            .step(step)
            .await
            .map_err(|e| e.at(format!("step {}", i + 1)))?;
        for m in &got {
            if let OutboundMessage::Text { choices, .. } = &m.message {
                if !choices.is_empty() {
                    r.questions.push(m.message.clone());
                }
            }
        }
        if let Some(expect) = &step.bot {
            let checked = if step.any_count {
                check_some(expect, &got)
            } else {
                check(expect, &got)
            };
            checked.map_err(|e| mismatch(format!("step {} ({}): {e}", i + 1, describe(step))))?;
        }
    }
    Ok(())
}

fn describe(s: &Step) -> String {
    if let Some(u) = &s.user {
        format!("user {u:?}")
    } else if let Some(n) = s.tap {
        format!("tap {n}")
    } else if let Some(n) = s.tap_old {
        format!("tap_old {n}")
    } else if let Some(w) = &s.wait {
        format!("wait {w}")
    } else if let Some(st) = &s.staff {
        format!("staff {st}")
    } else {
        "attachment".into()
    }
}

/// One transcript file's fate: it did not parse, or each of its transcripts ran.
enum Ran {
    Unparsed {
        file: String,
        error: String,
    },
    Transcript {
        file: String,
        name: String,
        result: Result<(), Failure>,
    },
}

/// Runs every transcript in `dir/*.yaml` (in file order), each on a fresh demo
/// school, without stopping at a failure.
async fn run_dir(dir: &Path) -> Vec<Ran> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        // RAABTA_TRANSCRIPTS=complaints runs only the files whose name contains it.
        .filter(|p| {
            std::env::var("RAABTA_TRANSCRIPTS").map_or(true, |only| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(&only))
            })
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    let mut ran = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let transcripts: Vec<Transcript> = match serde_norway::from_str(&source) {
            Ok(t) => t,
            Err(e) => {
                ran.push(Ran::Unparsed {
                    file: file.display().to_string(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for t in &transcripts {
            ran.push(Ran::Transcript {
                file: name.clone(),
                name: t.name.clone(),
                result: run(t).await,
            });
        }
    }
    ran
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/tests");
    let mut failures = Vec::new();
    let mut ran = 0;
    for r in run_dir(&dir).await {
        match r {
            Ran::Unparsed { file, error } => failures.push(format!("{file}: {error}")),
            Ran::Transcript { file, name, result } => {
                ran += 1;
                if let Err(e) = result {
                    failures.push(format!(
                        "{file} / {name}:\n  {}",
                        e.message().replace('\n', "\n  ")
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} transcripts failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!("{ran} transcripts passed");
}

/// The held-out variants of issue 14 (written before any fix): prints each with
/// pass or FAIL and its first mismatch, and how many pass. Fails only when a file
/// does not parse or the harness itself could not run a transcript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a report, not a gate: cargo test --test it heldout_variants -- --ignored --nocapture"]
async fn heldout_variants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/tests/heldout");
    let mut broken = Vec::new();
    let (mut passed, mut total) = (0, 0);
    for r in run_dir(&dir).await {
        match r {
            Ran::Unparsed { file, error } => broken.push(format!("{file}: {error}")),
            Ran::Transcript { file, name, result } => {
                total += 1;
                match result {
                    Ok(()) => {
                        passed += 1;
                        println!("pass  {name}");
                    }
                    Err(Failure::Mismatch(m)) => {
                        println!("FAIL  {name}\n      {}", m.replace('\n', "\n      "));
                    }
                    Err(Failure::Broken(m)) => {
                        println!("BROKEN {name}: {m}");
                        broken.push(format!("{file} / {name}: {m}"));
                    }
                }
            }
        }
    }
    println!("held-out variants: {passed} of {total} pass");
    assert!(
        broken.is_empty(),
        "the held-out set must stay runnable:\n{}",
        broken.join("\n")
    );
}

/// `wait` moves only its own conversation's clock: another person on the same school,
/// and the service itself, stay on the real time.
#[tokio::test]
async fn each_simulated_conversation_has_its_own_clock() {
    let env = crate::support::TestEnv::sqlite().await;
    raabta::seed::seed_if_empty(&env.app.tenancy).await.unwrap();
    let mut a = Simulator::new(
        &env.app,
        raabta::seed::DEMO_SLUG,
        Provider::Console,
        None,
        "a",
    )
    .await
    .unwrap();
    let b = Simulator::new(
        &env.app,
        raabta::seed::DEMO_SLUG,
        Provider::Console,
        None,
        "b",
    )
    .await
    .unwrap();
    a.say("hi").await.unwrap();
    a.wait(chrono::Duration::days(3)).await.unwrap();
    let real = chrono::Utc::now();
    assert!(a.clock.now() - real > chrono::Duration::days(2));
    assert!((b.clock.now() - real).num_seconds().abs() < 60);
    assert!((env.app.clock.now() - real).num_seconds().abs() < 60);
}

/// Issue 14 item 7: approved leave makes the register "excused" — the teacher's list
/// shows who is on leave and marking them absent keeps them excused.
#[tokio::test]
async fn approved_leave_shows_in_the_register_and_stays_excused() {
    let (env, monday) = demo_on_a_monday().await;
    let mut parent = logged_in_at(&env, raabta::seed::DEMO_PARENT_PHONE, "guardian", monday).await;
    for t in ["leave", "Ayesha", "sick", "today", "Fever", "skip", "yes"] {
        parent.say(t).await.unwrap();
    }
    let store = parent.store.clone();
    let pending = store.leave_requests(Some("pending")).await.unwrap();
    assert_eq!(pending.len(), 1, "the leave request was filed");
    let act = ActivityEntry::now(
        "staff:test",
        "leave_request.approve",
        None,
        "test",
        json!({}),
    );
    assert!(store
        .decide_leave(pending[0].request.id, true, None, &act, monday)
        .await
        .unwrap());

    let mut teacher = logged_in_at(&env, raabta::seed::DEMO_TEACHER_PHONE, "staff", monday).await;
    let list = text(teacher.say("attendance").await.unwrap());
    assert!(list.contains("1. Ayesha Khan (on leave)"), "{list}");
    let saved = text(teacher.say("1 2").await.unwrap());
    assert!(
        saved.contains("Attendance saved: 0 present, 1 absent, 1 on leave. Absent: زینب علی."),
        "{saved}"
    );
    let class = store
        .classes()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.label() == raabta::seed::DEMO_TEACHER_CLASS)
        .unwrap();
    let register = store
        .class_register(
            class.id,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        )
        .await
        .unwrap();
    let ayesha = register
        .iter()
        .find(|r| r.full_name == "Ayesha Khan")
        .unwrap();
    assert_eq!(
        ayesha.status,
        Some(raabta::domain::attendance::AttendanceStatus::Excused)
    );
    // Tomorrow, unmarked, is excused in the parent's summary too (approved leave counts
    // before the register is taken).
    let tomorrow = monday + chrono::Duration::days(1);
    parent.clock.set(tomorrow);
    for t in [
        "leave",
        "Ayesha",
        "sick",
        "today",
        "Still unwell",
        "skip",
        "yes",
    ] {
        parent.say(t).await.unwrap();
    }
    let pending = store.leave_requests(Some("pending")).await.unwrap();
    assert!(store
        .decide_leave(pending[0].request.id, true, None, &act, tomorrow)
        .await
        .unwrap());
    parent.settle().await.unwrap();
    parent.say("attendance").await.unwrap();
    let summary = text(parent.say("Ayesha").await.unwrap());
    assert!(summary.contains("2 excused"), "{summary}");
}

/// Issue 14 item 8: where the school lets teachers decide, a teacher approves or
/// rejects leave for their class from the chat (the reason shown, a rejection with a
/// reason), and the parent is told; where it does not, the list is only shown.
#[tokio::test]
async fn teachers_decide_leave_from_the_chat_where_the_school_allows() {
    let (env, monday) = demo_on_a_monday().await;
    let mut parent = logged_in_at(&env, raabta::seed::DEMO_PARENT_PHONE, "guardian", monday).await;
    for t in [
        "leave",
        "Ayesha",
        "family",
        "wednesday",
        "Wedding in Multan",
        "skip",
        "yes",
    ] {
        parent.say(t).await.unwrap();
    }
    let mut teacher = logged_in_at(&env, raabta::seed::DEMO_TEACHER_PHONE, "staff", monday).await;
    // Not allowed by the school: the list only, with the reason.
    let shown = text(teacher.say("leave").await.unwrap());
    assert!(
        shown.contains(
            "Ayesha Khan: family leave, 9 Dec 2026 to 9 Dec 2026. Reason: Wedding in Multan"
        ),
        "{shown}"
    );
    assert!(!shown.contains("reply with its number"), "{shown}");
    let store = teacher.store.clone();
    let act = ActivityEntry::now("staff:test", "school.settings", None, "test", json!({}));
    store
        .set_setting("teachers_decide_leave", "on", &act)
        .await
        .unwrap();
    let shown = text(teacher.say("leave").await.unwrap());
    assert!(
        shown.contains("To approve or reject one, reply with its number"),
        "{shown}"
    );
    teacher.say("1").await.unwrap();
    let asked = text(teacher.say("reject").await.unwrap());
    assert!(asked.contains("reason for the rejection"), "{asked}");
    let done = text(teacher.say("Exams that day").await.unwrap());
    assert!(done.contains("the parent will be told here"), "{done}");
    let rejected = store.leave_requests(Some("rejected")).await.unwrap();
    assert_eq!(rejected.len(), 1);
    let told = text(parent.settle().await.unwrap());
    assert!(
        told.contains("was not approved") || told.contains("rejected"),
        "{told}"
    );
    let log = store.recent_activity(20).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "leave_request.reject" && e.actor.starts_with("staff:")));
}

/// Issue 14 item 7: a child marked absent without leave — the guardian is told, once
/// a day (marking again does not tell twice); a guardian who said "stop" is not.
#[tokio::test]
async fn guardians_hear_of_an_absence_without_leave_once_a_day() {
    let (env, monday) = demo_on_a_monday().await;
    let mut parent = logged_in_at(&env, raabta::seed::DEMO_PARENT_PHONE, "guardian", monday).await;
    let mut teacher = logged_in_at(&env, raabta::seed::DEMO_TEACHER_PHONE, "staff", monday).await;
    teacher.say("attendance").await.unwrap();
    teacher.say("Ayesha absent").await.unwrap();
    let told = text(parent.settle().await.unwrap());
    assert!(
        told.contains("Ayesha Khan was marked absent today (7 Dec 2026)"),
        "{told}"
    );
    // Marked again the same day: not told twice.
    teacher.say("attendance").await.unwrap();
    teacher.say("yes").await.unwrap();
    teacher.say("1").await.unwrap();
    assert!(text(parent.settle().await.unwrap()).is_empty());
    // The next day, after "stop": no notice.
    parent.say("stop").await.unwrap();
    for sim in [&parent, &teacher] {
        sim.clock.set(monday + chrono::Duration::days(1));
    }
    teacher.say("attendance").await.unwrap();
    let saved = text(teacher.say("1").await.unwrap());
    assert!(saved.contains("Absent: Ayesha Khan"), "{saved}");
    assert!(text(parent.settle().await.unwrap()).is_empty());
}

/// The demo school, and Monday 7 December 2026, 09:00 in Karachi (a school day).
pub(crate) async fn demo_on_a_monday() -> (crate::support::TestEnv, chrono::DateTime<chrono::Utc>) {
    let env = crate::support::TestEnv::sqlite().await;
    raabta::seed::seed_if_empty(&env.app.tenancy).await.unwrap();
    (env, "2026-12-07T04:00:00Z".parse().unwrap())
}

/// A console conversation with the demo school on its own clock, set to `at`, logged in
/// with a fresh code as the demo contact of `phone` (`kind`: guardian or staff).
pub(crate) async fn logged_in_at(
    env: &crate::support::TestEnv,
    phone: &str,
    kind: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Simulator {
    let mut sim = Simulator::new(
        &env.app,
        raabta::seed::DEMO_SLUG,
        Provider::Console,
        None,
        phone,
    )
    .await
    .unwrap();
    sim.clock.set(at);
    let code = issue_code(&sim, phone, kind).await;
    sim.say("hi").await.unwrap();
    sim.say(&code).await.unwrap();
    sim
}

/// Replies as the person reads them, one after the other.
fn text(ms: Vec<BotMessage>) -> String {
    ms.iter()
        .map(|m| raabta::flow::text::strip_isolation(&m.render()))
        .collect::<Vec<_>>()
        .join("\n---\n")
}
