//! The conversation engine: `step(library, session, input, context) -> (session, effects)`.
//!
//! Pure: it never touches a database, a clock or the network. It runs steps until the
//! conversation waits for the person (an `ask`), needs data (a `call`: the caller runs
//! the action and feeds the result back with [`Input::Result`]) or has nothing left to
//! do. Every error path ends in a re-prompt, a handoff or a clear message: the engine
//! never leaves a conversation stuck.

use super::def::{Ask, Flow, FromSentence, InputKind, Render, Role, Step, StepKind, WindowPolicy};
use super::input;
use super::Library;
use crate::domain::access_code::AccessCode;
use crate::domain::message::{Choice, OutboundMessage};
use crate::domain::school::Locale;
use crate::nlu::Intent;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The same step run more than this many times in one flow run hands off to staff.
pub const MAX_VISITS: u32 = 12;
/// Steps run for one input at most (a second, independent loop guard).
pub const MAX_STEPS_PER_INPUT: usize = 200;
/// While the office has a conversation, the person's messages are acknowledged at
/// most once in this many seconds.
pub const ACK_EVERY_SECS: i64 = 5 * 60;
/// A staff-started flow waiting behind a request is delivered when the question being
/// asked has had no answer for this long.
pub const IDLE_DELIVERY: Duration = Duration::from_secs(20 * 60);
/// A message sent at most this long before a staff-started question was asked may
/// have crossed it in flight (it cannot be the question's answer).
pub const CROSSED_SECS: i64 = 10 * 60;
/// The flow that asks what a photo or PDF sent at the menu is.
pub const MEDIA_FLOW: &str = "media_in";
/// The flow a teacher's photo starts (photo attendance; it says so where the school
/// does not use it).
pub const FACE_FLOW: &str = "face_attendance";
/// The flow a stranger's question starts (answers from the school's FAQ).
pub const ENQUIRY_FLOW: &str = "enquiry";
/// The access-code login.
pub const LOGIN_FLOW: &str = "login";
/// A stranger's details for a call-back or an application (a lead for the office).
pub const LEAD_FLOW: &str = "lead";

/// What a stranger writes to leave their details (to apply, or to be called back),
/// after `input::normalise`. Questions about applying ("how do I apply?") are not
/// here: the FAQ answers those.
const LEAD_WORDS: &[&str] = &[
    "apply",
    "i want to apply",
    "apply now",
    "call back",
    "callback",
    "call me back",
    "request a call back",
    "request a callback",
    "leave my details",
    "contact me",
    "register",
    "apply karna hai",
    "admission lena hai",
    "dakhla lena hai",
    "call back karein",
    "rabta karein",
    "اپلائی",
    "اپلائی کرنا ہے",
    "داخلہ لینا ہے",
    "کال بیک",
    "رابطہ کریں",
    "أريد التسجيل",
    "تسجيل",
    "التقديم",
    "أريد التقديم",
    "تواصلوا معي",
];

/// Whether a stranger asks to leave their details (a lead).
fn is_lead_request(text: &str) -> bool {
    let t = input::normalise(text);
    LEAD_WORDS.contains(&t.as_str())
}

/// Whether a stranger's text at the code question is a question for the school rather
/// than a mistyped code or a menu word: two words or more, and not a command.
fn is_enquiry(text: &str) -> bool {
    let t = text.trim();
    let words = t.split_whitespace().count();
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    command(t).is_none() && AccessCode::parse(t).is_none() && letters >= 3 && words >= 2
}
/// The flow that asks "cancel everything entered?" before a long draft is dropped.
pub const CANCEL_FLOW: &str = "cancel";

/// A conversation's state between messages (stored encrypted).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The person's language; None until chosen (the school's default applies).
    pub locale: Option<Locale>,
    pub who: Option<Who>,
    pub frames: Vec<Frame>,
    pub wait: Option<Wait>,
    /// Waiting for an action's result.
    pub calling: bool,
    /// Handed off to staff: the bot stays quiet until staff hand it back.
    pub handoff: bool,
    /// Said "stop": no reminders or other non-essential messages.
    pub quiet: bool,
    /// Staff-started flows waiting for the current one to finish.
    pub queue: Vec<Trigger>,
    /// Increments on every question: button ids carry it, so old buttons expire.
    pub seq: u64,
    /// The timer that hands a handed-off conversation back to the bot.
    #[serde(default)]
    pub handoff_timer: Option<String>,
    /// When the last "the office has your message" was sent (seconds since the epoch).
    #[serde(default)]
    pub acked_at: Option<i64>,
    /// A question ran out of time and its request was dropped: the next yes or number
    /// is explained rather than taken by the menu.
    #[serde(default)]
    pub lapsed: bool,
    /// Offered once to switch to the language the person writes in.
    #[serde(default)]
    pub switch_offered: bool,
}

/// Who the conversation is bound to (after login).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Who {
    pub role: Role,
    pub id: uuid::Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Frame {
    pub flow: String,
    pub hash: String,
    pub step: String,
    pub vars: Map<String, Value>,
    #[serde(default)]
    pub visits: BTreeMap<String, u32>,
    #[serde(default)]
    pub each: Option<Each>,
    /// The staff trigger that started this frame (de-duplicates reminders).
    #[serde(default)]
    pub key: Option<String>,
    /// Started by a `for_each` of the frame below (its end moves the loop on).
    #[serde(default)]
    pub from_each: bool,
    /// The questions answered in this frame since its last action, in order: "back"
    /// returns to the last of them (an action is never undone).
    #[serde(default)]
    pub answered: Vec<String>,
    /// The sentence that opened this request, for questions it already answers
    /// (`from_sentence`); carried to the flow a `flow` step switches to.
    #[serde(default)]
    pub opening: Option<Opening>,
}

/// The sentence a request was opened with, and the questions that already looked in
/// it (each looks once: "back" then asks).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Opening {
    pub text: String,
    #[serde(default)]
    pub tried: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Each {
    pub items: Vec<Value>,
    pub index: usize,
    pub item: String,
    pub flow: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Wait {
    pub token: String,
    pub retries_left: u32,
    /// (value, title) of the offered choices, in order.
    pub choices: Vec<(Value, String)>,
    /// Ways out offered after the answers ran out (numbered after the choices).
    #[serde(default)]
    pub escapes: Vec<Escape>,
    /// When a staff-started question was asked (seconds since the epoch): a text
    /// written before it cannot be its answer.
    #[serde(default)]
    pub asked_at: Option<i64>,
    /// Sent while the 24-hour window was closed (as a template that only says there is
    /// news): the person's first text is answered with the question in full.
    #[serde(default)]
    pub templated: bool,
}

/// A way out of a question the person cannot answer, offered as a button.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Escape {
    Skip,
    Menu,
    Office,
}

impl Escape {
    fn label(self) -> &'static str {
        match self {
            Escape::Skip => "escape-skip",
            Escape::Menu => "escape-menu",
            Escape::Office => "escape-office",
        }
    }
}

/// A flow started from outside the conversation (staff, a reminder).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trigger {
    pub flow: String,
    /// Identifies the thing (a consent request): a second trigger with the same key
    /// while it is running re-asks instead of starting again.
    pub key: String,
    #[serde(default)]
    pub vars: Map<String, Value>,
}

/// What happened, as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text(String),
    Choice {
        id: String,
        title: String,
    },
    /// A photo or a document; `key` finds the stored file (the inbound event's key).
    Media {
        image: bool,
        key: String,
    },
    /// Something the bot cannot read (a location, a sticker, a voice note).
    Unreadable,
    Timeout {
        token: String,
    },
    Trigger(Trigger),
    /// Staff handed the conversation back to the bot.
    Resume,
    /// An action's outputs, or an error code if it failed.
    Result(Result<Map<String, Value>, String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(OutboundMessage),
    /// Run a named action and feed back [`Input::Result`].
    Call {
        action: String,
        args: Map<String, Value>,
    },
    /// Send a [`Input::Timeout`] with this token after a while.
    Timer {
        token: String,
        after: Duration,
    },
    /// The conversation was handed to staff.
    Handoff,
    /// An activity-log action (no personal data).
    Log(String),
}

/// Facts from outside the engine, given by the caller.
#[derive(Debug, Clone)]
pub struct Context {
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    pub default_locale: Locale,
    pub school_name: String,
    /// When the person sent the message being handled (the provider's timestamp).
    pub sent_at: Option<i64>,
    /// The school's office hours as it wrote them (shown when the office is asked).
    pub office_hours: Option<String>,
    /// How long the office keeps a conversation before it returns to the bot.
    pub handoff_release: Duration,
    /// The school's weekend days ("next week" means the school days between two).
    pub weekend: Vec<chrono::Weekday>,
    /// What the language model made of the message (computed before the step, for a
    /// text that is no command; None without it).
    pub understood: Option<Understood>,
    /// The person wrote within the last 24 hours (free messages may go out; otherwise
    /// a message with a template policy goes as its template).
    pub window_open: bool,
    /// This message is an access code the school issued (checked before the step): a
    /// login wherever it is typed, even without a digit.
    pub code_known: bool,
}

/// The language model's reading of a free-text message.
#[derive(Debug, Clone, PartialEq)]
pub struct Understood {
    pub intent: Intent,
    /// When two or three intents are too close to pick one: them, best first.
    pub options: Vec<Intent>,
}

impl Context {
    /// A context at `now` with no office hours set and the default release time.
    pub fn new(
        now: DateTime<Utc>,
        today: NaiveDate,
        default_locale: Locale,
        school_name: impl Into<String>,
    ) -> Self {
        Context {
            today,
            now,
            default_locale,
            school_name: school_name.into(),
            sent_at: None,
            office_hours: None,
            handoff_release: DEFAULT_HANDOFF_RELEASE,
            weekend: vec![chrono::Weekday::Sat, chrono::Weekday::Sun],
            understood: None,
            window_open: true,
            code_known: false,
        }
    }
}

/// The question that offers two or three close readings of a sentence.
pub const CLARIFY_FLOW: &str = "clarify";

/// The flow "complaint" and "shikayat" start from anywhere.
pub const COMPLAINT_FLOW: &str = "complaint";
/// "My data": a copy or the deletion of a guardian's data (issue 19).
pub const PRIVACY_FLOW: &str = "privacy";

/// `flow: menu` goes to the person's own menu (the guardian's or the teacher's).
pub const MENU_TARGET: &str = "menu";

/// The answer of a choice question that took something else (its `other`).
pub const OTHER: &str = "other";

/// Runs of up to six words of a sentence, longest first (each length left to right),
/// never a bare number ("class 3" must not pick option 3).
pub fn sentence_spans(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, ',' | '.' | '!' | '?' | '؟' | '،' | '۔')))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    for len in (1..=words.len().min(6)).rev() {
        for w in words.windows(len) {
            let span = w.join(" ");
            if input::number(&span).is_none() {
                out.push(span);
            }
        }
    }
    out
}

/// A conversation the office has not released returns to the bot after this long.
pub const DEFAULT_HANDOFF_RELEASE: Duration = Duration::from_secs(24 * 3600);

/// Global commands, recognised at any point (whole message, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Menu,
    Help,
    /// One question back in the request being written.
    Back,
    /// Drop the request being written (asking first when much was entered).
    Cancel,
    Language,
    SetLanguage(Locale),
    Stop,
    Start,
    Human,
    /// Thanks: a short reply, and whatever was going on goes on.
    Thanks,
    /// A greeting: the menu, except in the middle of a request, which it does not drop.
    Greeting,
    /// "complaint", "shikayat": a new complaint, from wherever the person is.
    Complaint,
    /// "my data", "delete my data": the privacy requests (issue 19); what was asked
    /// for (`access`, `erasure`, or "" to ask).
    MyData(&'static str),
}

const COMMANDS: &[(&str, Command)] = &[
    ("menu", Command::Menu),
    ("main menu", Command::Menu),
    ("complaint", Command::Complaint),
    ("new complaint", Command::Complaint),
    ("my data", Command::MyData("")),
    ("my personal data", Command::MyData("")),
    ("privacy", Command::MyData("")),
    ("delete my data", Command::MyData("erasure")),
    ("erase my data", Command::MyData("erasure")),
    ("copy of my data", Command::MyData("access")),
    ("mera data", Command::MyData("")),
    ("meri maloomat", Command::MyData("")),
    ("mera data delete karo", Command::MyData("erasure")),
    ("mera data delete kar do", Command::MyData("erasure")),
    ("mera data khatam karo", Command::MyData("erasure")),
    ("mera data mita do", Command::MyData("erasure")),
    ("میرا ڈیٹا", Command::MyData("")),
    ("میری معلومات", Command::MyData("")),
    ("میرا ڈیٹا ڈیلیٹ کریں", Command::MyData("erasure")),
    ("میرا ڈیٹا حذف کریں", Command::MyData("erasure")),
    ("میرا ڈیٹا مٹا دیں", Command::MyData("erasure")),
    ("بياناتي", Command::MyData("")),
    ("بياناتي الشخصية", Command::MyData("")),
    ("احذف بياناتي", Command::MyData("erasure")),
    ("حذف بياناتي", Command::MyData("erasure")),
    ("نسخة من بياناتي", Command::MyData("access")),
    ("shikayat", Command::Complaint),
    ("shikayet", Command::Complaint),
    ("shikayat karni hai", Command::Complaint),
    ("شکایت", Command::Complaint),
    ("شکایت کرنی ہے", Command::Complaint),
    ("شكوى", Command::Complaint),
    ("تقديم شكوى", Command::Complaint),
    ("hi", Command::Greeting),
    ("hello", Command::Greeting),
    ("salam", Command::Greeting),
    ("assalam o alaikum", Command::Greeting),
    ("aoa", Command::Greeting),
    ("مینو", Command::Menu),
    ("سلام", Command::Greeting),
    ("السلام علیکم", Command::Greeting),
    ("assalamualaikum", Command::Greeting),
    ("asalam o alaikum", Command::Greeting),
    ("القائمة", Command::Menu),
    ("مرحبا", Command::Greeting),
    ("صباح الخير", Command::Greeting),
    ("مساء الخير", Command::Greeting),
    ("good morning", Command::Greeting),
    ("subah bakhair", Command::Greeting),
    ("صبح بخیر", Command::Greeting),
    ("السلام عليكم", Command::Greeting),
    ("help", Command::Help),
    ("madad", Command::Help),
    ("مدد", Command::Help),
    ("مساعدة", Command::Help),
    ("cancel", Command::Cancel),
    ("cancel karo", Command::Cancel),
    ("cancel kar do", Command::Cancel),
    ("khatam", Command::Cancel),
    ("khatam karo", Command::Cancel),
    ("mansookh", Command::Cancel),
    ("منسوخ", Command::Cancel),
    ("منسوخ کریں", Command::Cancel),
    ("ختم کریں", Command::Cancel),
    ("إلغاء", Command::Cancel),
    ("الغاء", Command::Cancel),
    ("back", Command::Back),
    ("go back", Command::Back),
    ("wapas", Command::Back),
    ("wapis", Command::Back),
    ("peeche", Command::Back),
    ("pichay", Command::Back),
    ("واپس", Command::Back),
    ("پیچھے", Command::Back),
    ("رجوع", Command::Back),
    ("السابق", Command::Back),
    ("عودة", Command::Back),
    ("language", Command::Language),
    ("zaban", Command::Language),
    ("zuban", Command::Language),
    ("زبان", Command::Language),
    ("اللغة", Command::Language),
    ("english", Command::SetLanguage(Locale::En)),
    ("urdu", Command::SetLanguage(Locale::Ur)),
    ("اردو", Command::SetLanguage(Locale::Ur)),
    ("roman urdu", Command::SetLanguage(Locale::UrLatn)),
    ("roman", Command::SetLanguage(Locale::UrLatn)),
    ("urdu roman", Command::SetLanguage(Locale::UrLatn)),
    ("رومن اردو", Command::SetLanguage(Locale::UrLatn)),
    ("arabic", Command::SetLanguage(Locale::Ar)),
    ("عربي", Command::SetLanguage(Locale::Ar)),
    ("العربية", Command::SetLanguage(Locale::Ar)),
    ("عربی", Command::SetLanguage(Locale::Ar)),
    ("stop", Command::Stop),
    ("unsubscribe", Command::Stop),
    ("band", Command::Stop),
    ("بند", Command::Stop),
    ("توقف", Command::Stop),
    ("ايقاف", Command::Stop),
    ("start", Command::Start),
    ("shuru", Command::Start),
    ("شروع", Command::Start),
    ("ابدأ", Command::Start),
    ("talk to a person", Command::Human),
    ("talk to office", Command::Human),
    ("agent", Command::Human),
    ("human", Command::Human),
    ("office", Command::Human),
    ("daftar", Command::Human),
    ("office se baat", Command::Human),
    ("staff", Command::Human),
    ("talk to someone", Command::Human),
    ("آفس", Command::Human),
    ("آفس سے بات", Command::Human),
    ("الإدارة", Command::Human),
    ("الادارة", Command::Human),
    ("مكتب", Command::Human),
    ("insaan", Command::Human),
    ("baat karni hai", Command::Human),
    ("دفتر", Command::Human),
    ("عملے سے بات", Command::Human),
    ("موظف", Command::Human),
    ("التحدث مع موظف", Command::Human),
    ("person", Command::Human),
    ("a person", Command::Human),
    ("real person", Command::Human),
    ("call me", Command::Human),
    ("please call me", Command::Human),
    ("mujhe call karein", Command::Human),
    ("mujhe call karo", Command::Human),
    ("call karein", Command::Human),
    ("مجھے کال کریں", Command::Human),
    ("کال کریں", Command::Human),
    ("اتصلوا بي", Command::Human),
    ("اتصل بي", Command::Human),
    ("شخص", Command::Human),
    ("thanks", Command::Thanks),
    ("thank you", Command::Thanks),
    ("thankyou", Command::Thanks),
    ("thank you so much", Command::Thanks),
    ("thanks a lot", Command::Thanks),
    ("thx", Command::Thanks),
    ("shukriya", Command::Thanks),
    ("shukria", Command::Thanks),
    ("shukriyaa", Command::Thanks),
    ("bohat shukriya", Command::Thanks),
    ("bahut shukriya", Command::Thanks),
    ("shukriya ji", Command::Thanks),
    ("jazakallah", Command::Thanks),
    ("jazak allah", Command::Thanks),
    ("jazakallah khair", Command::Thanks),
    ("jazakallahu khairan", Command::Thanks),
    ("شکریہ", Command::Thanks),
    ("بہت شکریہ", Command::Thanks),
    ("شکریہ جی", Command::Thanks),
    ("جزاک اللہ", Command::Thanks),
    ("جزاک اللہ خیر", Command::Thanks),
    ("شكرا", Command::Thanks),
    ("شكراً", Command::Thanks),
    ("شكرا جزيلا", Command::Thanks),
    ("جزاك الله خيرا", Command::Thanks),
    ("جزاك الله خير", Command::Thanks),
    ("🙏", Command::Thanks),
    ("🙏🏻", Command::Thanks),
    ("🙏🏽", Command::Thanks),
];

/// Every word or phrase recognised as a global command.
pub fn command_words() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|(w, _)| *w)
}

pub fn command(text: &str) -> Option<Command> {
    let t = input::normalise(text);
    let exact = |t: &str| COMMANDS.iter().find(|(w, _)| *w == t).map(|(_, c)| *c);
    if let Some(c) = exact(&t) {
        return Some(c);
    }
    // Polite words around a greeting or thanks ("salam ji", "thx a lot", "shukriya sir").
    let core: Vec<&str> = t.split(' ').filter(|w| !POLITE.contains(w)).collect();
    let core = core.join(" ");
    match exact(&core) {
        Some(c @ (Command::Greeting | Command::Thanks)) if core != t && !core.is_empty() => Some(c),
        _ => None,
    }
}

/// Words of courtesy around a greeting or thanks.
const POLITE: &[&str] = &[
    "ji",
    "jee",
    "sir",
    "madam",
    "sahab",
    "sahib",
    "please",
    "a",
    "lot",
    "so",
    "much",
    "very",
    "bohat",
    "bahut",
    "dear",
    "جی",
    "صاحب",
    "سر",
    "بہت",
    "جزيلا",
    "كثيرا",
    "يا",
    "أستاذ",
];

/// The engine's answer to one input.
#[derive(Debug, Clone)]
pub struct Output {
    pub session: Session,
    pub effects: Vec<Effect>,
}

struct Run<'a> {
    lib: &'a Library,
    ctx: &'a Context,
    s: Session,
    fx: Vec<Effect>,
    steps: usize,
}

/// One step of the conversation.
pub fn step(lib: &Library, session: Session, input: Input, ctx: &Context) -> Output {
    let mut run = Run {
        lib,
        ctx,
        s: session,
        fx: Vec::new(),
        steps: 0,
    };
    run.input(input);
    Output {
        session: run.s,
        effects: run.fx,
    }
}

/// Why a flow could not go on (internal: every one ends in a message and a handoff).
#[derive(Debug)]
struct Broken(String);

impl<'a> Run<'a> {
    fn locale(&self) -> Locale {
        self.s.locale.unwrap_or(self.ctx.default_locale)
    }

    fn role(&self) -> Role {
        self.s.who.as_ref().map(|w| w.role).unwrap_or(Role::Unknown)
    }

    fn text(&self, key: &str, vars: &Map<String, Value>) -> String {
        match self.lib.texts.render(self.locale(), key, vars) {
            Ok(t) => t,
            Err(e) => {
                // `flows check` makes this unreachable for shipped flows; never send a
                // raw key to a parent, fall back to English.
                tracing::error!(error = %e, "text could not be rendered");
                self.lib
                    .texts
                    .render(Locale::En, key, vars)
                    .unwrap_or_else(|_| String::from("…"))
            }
        }
    }

    fn say_key(&mut self, key: &str) {
        let vars = self.vars_for_text();
        let t = self.text(key, &vars);
        self.send(OutboundMessage::text(t), None);
    }

    fn send(&mut self, mut msg: OutboundMessage, policy: Option<&WindowPolicy>) {
        if let (
            Some(p),
            OutboundMessage::Text {
                template,
                template_vars,
                ..
            },
        ) = (policy, &mut msg)
        {
            if let Some(name) = &p.template {
                *template = Some(name.clone());
                *template_vars = p
                    .vars
                    .iter()
                    .map(|e| {
                        let v = self.resolve(e);
                        super::text::format_value(self.locale(), &v).unwrap_or_default()
                    })
                    .collect();
            }
        }
        self.fx.push(Effect::Send(msg));
    }

    fn frame(&self) -> Option<&Frame> {
        self.s.frames.last()
    }

    /// Waiting at the menu or at a resting question, with nothing under it.
    fn resting(&self) -> bool {
        self.s.wait.is_some()
            && match self.s.frames.as_slice() {
                [f] => f.flow == self.role_menu() || self.at_resting_ask(),
                _ => false,
            }
    }

    /// The question being asked is marked `resting`.
    fn at_resting_ask(&self) -> bool {
        matches!(self.current(), Ok((_, step)) if matches!(&step.kind, StepKind::Ask(a) if a.resting))
    }

    fn frame_mut(&mut self) -> Option<&mut Frame> {
        self.s.frames.last_mut()
    }

    fn flow_of(&self, frame: &Frame) -> Result<&'a Flow, Broken> {
        // The version the frame started on; if this process does not know it (a newer
        // process recorded it, or it no longer parses), the current version when it
        // still has the frame's step.
        self.lib
            .version(&frame.flow, &frame.hash)
            .or_else(|| {
                self.lib
                    .current(&frame.flow)
                    .filter(|f| f.step(&frame.step).is_some())
            })
            .ok_or_else(|| {
                Broken(format!(
                    "flow {} version {} is not loaded",
                    frame.flow, frame.hash
                ))
            })
    }

    fn current(&self) -> Result<(&'a Flow, &'a Step), Broken> {
        let frame = self
            .frame()
            .ok_or_else(|| Broken("no running flow".into()))?;
        let flow = self.flow_of(frame)?;
        let step = flow
            .step(&frame.step)
            .map(|(_, s)| s)
            .ok_or_else(|| Broken(format!("step {} missing in {}", frame.step, flow.id)))?;
        Ok((flow, step))
    }

    /// Variables visible to texts: the frame's, plus `today`.
    fn vars_for_text(&self) -> Map<String, Value> {
        let mut v = self.frame().map(|f| f.vars.clone()).unwrap_or_default();
        v.insert("today".into(), super::text::date_value(self.ctx.today));
        v.insert("school".into(), Value::String(self.ctx.school_name.clone()));
        v
    }

    /// A text followed by the school's office hours, when it gave them.
    fn say_with_hours(&mut self, key: &str) {
        let vars = self.vars_for_text();
        let t = self.text(key, &vars);
        self.send_with_hours(t);
    }

    /// [`Self::say_with_hours`] for a text already rendered.
    fn send_with_hours(&mut self, mut t: String) {
        if let Some(h) = self.ctx.office_hours.as_deref().filter(|h| !h.is_empty()) {
            let mut vars = self.vars_for_text();
            vars.insert("hours".into(), Value::String(h.to_string()));
            t.push('\n');
            t.push_str(&self.text("office-hours", &vars));
        }
        self.send(OutboundMessage::text(t), None);
    }

    /// `$name`, `$name.field`, `$who.id`, `$who.role`, `$today`; anything else is literal.
    fn resolve(&self, expr: &str) -> Value {
        let Some(path) = expr.strip_prefix('$') else {
            return Value::String(expr.to_string());
        };
        let mut parts = path.split('.');
        let head = parts.next().unwrap_or_default();
        let mut value = match head {
            "who" => match &self.s.who {
                Some(w) => serde_json::json!({
                    "id": w.id.to_string(),
                    "role": serde_json::to_value(w.role).unwrap_or(Value::Null),
                }),
                None => Value::Null,
            },
            "today" => Value::String(self.ctx.today.format("%Y-%m-%d").to_string()),
            "school" => Value::String(self.ctx.school_name.clone()),
            "locale" => Value::String(self.locale().as_str().to_string()),
            name => self
                .frame()
                .and_then(|f| f.vars.get(name))
                .cloned()
                .unwrap_or(Value::Null),
        };
        for p in parts {
            value = match (&value, p.parse::<usize>()) {
                (Value::Array(a), Ok(i)) => a.get(i).cloned().unwrap_or(Value::Null),
                (Value::Object(o), _) => o.get(p).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
        }
        value
    }

    // ---- inputs ----

    fn input(&mut self, input: Input) {
        match input {
            Input::Trigger(t) => self.trigger(t),
            Input::Result(r) => self.result(r),
            Input::Timeout { token } => self.timeout(&token),
            Input::Resume => self.resume(),
            other => self.message(other),
        }
    }

    fn trigger(&mut self, t: Trigger) {
        let Some(flow) = self.lib.current(&t.flow) else {
            tracing::error!(flow = %t.flow, "trigger for an unknown flow dropped");
            return;
        };
        if self.s.quiet && !flow.essential {
            self.fx
                .push(Effect::Log(format!("flow.{}.skipped_quiet", t.flow)));
            return;
        }
        // Someone sitting at the main menu (or at a resting question: a staff reply's
        // buttons) is not in the middle of anything.
        let at_menu = self.resting();
        if at_menu && !self.s.handoff && !self.s.calling {
            self.end_all();
        }
        // Already running (a reminder for a form being answered): ask again.
        if self
            .s
            .frames
            .iter()
            .any(|f| f.key.as_deref() == Some(t.key.as_str()))
        {
            if self.s.wait.is_some() && !self.s.handoff {
                self.reask();
            }
            return;
        }
        // Wait while staff have the conversation, an action is running, another
        // staff-started flow is being answered, or the person is in the middle of a
        // request: it starts when that ends, or (on top of it, the request's question
        // asked again afterwards) when the question has had no answer for a while, or
        // right after the next answer if it is urgent.
        let behind_trigger = self.frame().is_some_and(|f| f.key.is_some());
        let in_request = self.s.wait.is_some() && !at_menu;
        if self.s.handoff || self.s.calling || behind_trigger || in_request {
            if !self.s.queue.iter().any(|q| q.key == t.key) {
                self.s.queue.push(t);
            }
            if let Some(w) = self.s.wait.as_ref().filter(|_| !self.s.handoff) {
                self.fx.push(Effect::Timer {
                    token: format!("idle:{}", w.token),
                    after: IDLE_DELIVERY,
                });
            }
            return;
        }
        self.s.wait = None;
        self.start(&t.flow, t.vars, Some(t.key));
        self.go();
    }

    /// Starts the first waiting staff-started flow on top of the request being
    /// written, saying that the request continues afterwards.
    fn interrupt_with(&mut self, index: usize) {
        if index >= self.s.queue.len() {
            return;
        }
        let t = self.s.queue.remove(index);
        self.say_key("interrupt-note");
        self.s.wait = None;
        self.start(&t.flow, t.vars, Some(t.key));
    }

    /// Staff handed the conversation back: a request kept from before the handoff is
    /// taken up again; otherwise forms that waited meanwhile start now.
    fn resume(&mut self) {
        if self.s.handoff || self.s.calling || self.s.wait.is_some() {
            return;
        }
        if !self.s.frames.is_empty() {
            self.say_key("draft-continue");
            self.go();
            return;
        }
        if !self.s.queue.is_empty() {
            let t = self.s.queue.remove(0);
            self.start(&t.flow, t.vars, Some(t.key));
            self.go();
        }
    }

    fn result(&mut self, r: Result<Map<String, Value>, String>) {
        if !self.s.calling {
            return;
        }
        self.s.calling = false;
        let Ok((_, step)) = self.current() else {
            return self.broken(Broken("result without a running call".into()));
        };
        let StepKind::Call { out, on_error, .. } = &step.kind else {
            return self.broken(Broken("result for a step that is not a call".into()));
        };
        match r {
            Ok(values) => {
                if let Some(f) = self.frame_mut() {
                    for (from, to) in out {
                        f.vars
                            .insert(to.clone(), values.get(from).cloned().unwrap_or(Value::Null));
                    }
                }
                self.advance(step);
            }
            Err(code) => match on_error {
                Some(target) => {
                    if let Some(f) = self.frame_mut() {
                        f.vars.insert("error".into(), Value::String(code));
                    }
                    let target = target.clone();
                    self.jump(&target);
                }
                None => {
                    self.say_key("error-generic");
                    self.end_all();
                }
            },
        }
        self.go();
    }

    fn timeout(&mut self, token: &str) {
        if self.s.handoff && self.s.handoff_timer.as_deref() == Some(token) {
            // The person wrote nothing for the release time: back to the bot. A kept
            // draft waits for their next message (its question is not sent now, maybe
            // outside the 24-hour window); forms that waited meanwhile start.
            self.leave_handoff("handoff-released", "handoff.released");
            if self.s.frames.is_empty() {
                self.resume();
            }
            return;
        }
        if let Some(waited) = token.strip_prefix("idle:") {
            // A staff-started flow waited behind this question, which is still unanswered
            // (a staff-started form being answered is never interrupted by another).
            let still = self.s.wait.as_ref().is_some_and(|w| w.token == waited);
            let own = !self.s.frames.iter().any(|f| f.key.is_some());
            if still && own && !self.s.handoff && !self.s.calling && !self.s.queue.is_empty() {
                self.interrupt_with(0);
                self.go();
            }
            return;
        }
        if self.s.handoff || self.s.wait.as_ref().map(|w| w.token.as_str()) != Some(token) {
            return; // answered already, or a newer question was asked
        }
        let Ok((_, step)) = self.current() else {
            return;
        };
        let StepKind::Ask(ask) = &step.kind else {
            return;
        };
        let Some(t) = &ask.timeout else { return };
        self.s.wait = None;
        self.s.lapsed = true;
        self.fx.push(Effect::Log("flow.timeout".into()));
        let target = t.goto.clone();
        self.jump(&target);
        self.go();
    }

    fn message(&mut self, input: Input) {
        if self.s.handoff {
            return self.while_handed_off(input);
        }
        let lapsed = std::mem::take(&mut self.s.lapsed);
        if let Input::Text(t) = &input {
            if let Some(c) = command(t) {
                // A language's name answers a question that offers languages (the
                // language the office should use with a lead), not the chat's.
                let offered = matches!(c, Command::SetLanguage(_))
                    && self.frame().is_some_and(|f| f.flow != "language")
                    && self.s.wait.is_some()
                    && matches!(self.current(), Ok((_, step)) if matches!(&step.kind,
                        StepKind::Ask(a) if a.input == InputKind::Choice))
                    && self.answers_current(&input);
                if !offered {
                    return self.command(c);
                }
            }
            self.follow_language(t);
        }
        if self.s.calling {
            return;
        }
        if let Input::Text(t) = &input {
            // A menu word at a resting question ("fees" after a staff reply) is a new
            // request, not an answer to it.
            let menu = self.role_menu();
            let at_resting =
                self.resting() && self.s.frames.first().is_some_and(|f| f.flow != menu);
            if at_resting && self.is_menu_word(t) && !self.answers_current(&input) {
                self.end_all();
            }
        }
        if self.s.wait.is_none() && !self.s.frames.is_empty() {
            // A request kept through a handoff: take it up where it stopped.
            self.say_key("draft-continue");
            self.go();
            return;
        }
        if let Input::Media { key, .. } = &input {
            // A photo or PDF at the menu (often a fee receipt) is asked about, not
            // refused.
            let menu = self.role_menu();
            let idle = self.s.frames.is_empty()
                || matches!(self.s.frames.as_slice(), [f] if f.flow == menu);
            if self.role() == Role::Guardian && idle && self.lib.current(MEDIA_FLOW).is_some() {
                self.end_all();
                let mut vars = Map::new();
                vars.insert("file".into(), serde_json::json!({ "media": key }));
                self.start(MEDIA_FLOW, vars, None);
                return self.go();
            }
            // A teacher's photo at rest: a class photo for attendance.
            let is_image = matches!(&input, Input::Media { image: true, .. });
            if self.role() == Role::Teacher
                && idle
                && is_image
                && self.lib.current(FACE_FLOW).is_some()
            {
                self.end_all();
                let mut vars = Map::new();
                vars.insert("file".into(), serde_json::json!({ "media": key }));
                self.start(FACE_FLOW, vars, None);
                return self.go();
            }
        }
        if self.s.wait.is_none() && lapsed && is_reply(&input) {
            // A late "1" or "yes" for a question that timed out: say so, and show the
            // menu without taking the digit as a menu choice.
            self.say_key("confirmation-lapsed");
            self.start_menu();
            self.go();
            return;
        }
        if let Input::Text(t) = &input {
            // A sentence at rest or at the menu ("mera beta kal school nahi aayega"):
            // what the language model made of it, unless a menu word or number picks.
            let at_menu = self.s.wait.is_some()
                && matches!(self.s.frames.as_slice(), [f] if f.flow == self.role_menu());
            let free = (self.s.wait.is_none() && self.s.frames.is_empty()) || at_menu;
            if free
                && input::number(t).is_none()
                && !self.is_menu_word(t)
                && !(at_menu && self.answers_current(&input))
                && self.understood(t)
            {
                return;
            }
        }
        if let Input::Text(t) = &input {
            // A stranger whose first message is an access code (as the school's slip
            // says: "type your code"): the login, with it.
            if self.role() == Role::Unknown
                && self.s.wait.is_none()
                && self.s.frames.is_empty()
                && (AccessCode::typed(t).is_some() || self.ctx.code_known)
                && self.lib.current(LOGIN_FLOW).is_some()
            {
                let mut vars = Map::new();
                vars.insert("code".into(), Value::String(t.trim().to_string()));
                self.start(LOGIN_FLOW, vars, None);
                return self.go();
            }
            // A stranger's first words are a question for the school: answered from
            // its FAQ at once (the code question comes with the answer's follow-up).
            if self.role() == Role::Unknown
                && self.s.wait.is_none()
                && self.s.frames.is_empty()
                && is_lead_request(t)
                && self.lib.current(LEAD_FLOW).is_some()
            {
                self.start(LEAD_FLOW, Map::new(), None);
                return self.go();
            }
            if self.role() == Role::Unknown
                && self.s.wait.is_none()
                && self.s.frames.is_empty()
                && is_enquiry(t)
                && self.lib.current(ENQUIRY_FLOW).is_some()
            {
                let mut vars = Map::new();
                vars.insert("question".into(), Value::String(t.trim().to_string()));
                vars.insert("first".into(), Value::String("yes".into()));
                self.start(ENQUIRY_FLOW, vars, None);
                return self.go();
            }
        }
        if self.s.wait.is_none() {
            // Nothing asked: greet with the menu (or the login question). A word that
            // picks a menu entry ("fees", "chutti") goes straight to it.
            let fx_before = self.fx.len();
            self.start_menu();
            self.go();
            let picks = match (&input, self.current()) {
                // A bare number answers nothing on screen: the menu is shown instead.
                (Input::Text(t), _) if input::number(t).is_some() => false,
                (Input::Text(_), Ok((_, step))) => match &step.kind {
                    StepKind::Ask(ask) if ask.input == InputKind::Choice => {
                        self.validate(ask, &input).is_ok()
                    }
                    _ => false,
                },
                _ => false,
            };
            if picks {
                // Drop the menu question just sent: the answer is already here.
                self.fx.truncate(fx_before);
                self.fx
                    .push(Effect::Log(format!("flow.{}.start", self.role_menu())));
                self.answer(input);
            }
            return;
        }
        self.answer(input);
    }

    fn command(&mut self, c: Command) {
        self.fx
            .push(Effect::Log(format!("command.{c:?}").to_lowercase()));
        match c {
            Command::Menu => {
                self.end_all();
                self.start_menu();
                self.go();
            }
            Command::Back => self.back(),
            Command::Cancel => self.cancel(),
            Command::Help => {
                let key = match self.role() {
                    Role::Unknown => "help-unknown",
                    Role::Guardian => "help-guardian",
                    Role::Teacher => "help-teacher",
                };
                self.say_key(key);
                if self.s.wait.is_some() {
                    self.reask();
                }
            }
            Command::Language => {
                self.s.wait = None;
                self.start("language", Map::new(), None);
                self.go();
            }
            Command::SetLanguage(l) => {
                self.s.locale = Some(l);
                self.say_key("language-set");
                if self.frame().is_some_and(|f| f.flow == "language") {
                    // The language list answered by name: it is done.
                    self.finish_frame_quietly();
                    if self.s.frames.is_empty() {
                        self.start_menu();
                    }
                    self.go();
                } else if self.s.wait.is_some() {
                    self.reask();
                } else {
                    self.start_menu();
                    self.go();
                }
            }
            Command::Stop => {
                self.s.quiet = true;
                self.say_key("stopped");
            }
            Command::Start => {
                self.s.quiet = false;
                self.say_key("started");
            }
            Command::Human => self.handoff("handoff-requested"),
            Command::Complaint => {
                // A new complaint at any point (what was being written is dropped, as
                // with "menu"); before login, the login question, as for any menu word.
                self.end_all();
                if self.role() == Role::Unknown {
                    self.start_menu();
                } else {
                    self.start(COMPLAINT_FLOW, Map::new(), None);
                }
                self.go();
            }
            Command::MyData(want) => {
                // As "complaint": what was being written is dropped. A guardian's
                // requests are recorded for the administrators; others are told how.
                self.end_all();
                match self.role() {
                    Role::Guardian => {
                        let mut vars = Map::new();
                        vars.insert("want".into(), Value::String(want.into()));
                        self.start(PRIVACY_FLOW, vars, None);
                    }
                    Role::Unknown => {
                        self.say_key("privacy-stranger");
                        self.start_menu();
                    }
                    _ => {
                        self.say_key("privacy-staff");
                        self.start_menu();
                    }
                }
                self.go();
            }
            Command::Greeting if self.s.wait.is_none() && !self.s.frames.is_empty() => {
                // A request kept through a handoff: taken up again, not dropped.
                self.say_key("draft-continue");
                self.go();
            }
            Command::Greeting => {
                // In the middle of a request (a question of a flow other than the
                // menu): answered, and the question asked again; the draft stays.
                let menu = self.role_menu();
                let in_request = self.role() != Role::Unknown
                    && self.s.wait.is_some()
                    && self.s.frames.iter().any(|f| f.flow != menu);
                if in_request {
                    self.say_key("greeting-in-request");
                    self.reask();
                } else {
                    self.command(Command::Menu);
                }
            }
            Command::Thanks => {
                // Never an "invalid answer": a short reply, and a question being asked
                // stays open (said so, without repeating it).
                let menu = self.role_menu();
                let at_menu = matches!(self.s.frames.as_slice(), [f] if f.flow == menu);
                let key = if self.s.wait.is_some() && !at_menu {
                    "thanks-waiting"
                } else {
                    "thanks-reply"
                };
                self.say_key(key);
            }
        }
    }

    /// A stranger is answered in the language they write in; a person who set another
    /// language is offered (once) to switch to it, in that language.
    fn follow_language(&mut self, text: &str) {
        if self.role() == Role::Unknown && self.s.locale.is_none() {
            // «سلام» could be either: the school's language if it is Arabic, else Urdu.
            let written = input::written_in(text).or_else(|| {
                input::arabic_script(text).then_some(match self.ctx.default_locale {
                    Locale::Ar => Locale::Ar,
                    _ => Locale::Ur,
                })
            });
            self.s.locale = written;
            return;
        }
        let Some(written) = input::written_in(text) else {
            return;
        };
        if written == self.locale() || self.s.switch_offered {
            return;
        }
        self.s.switch_offered = true;
        let vars = self.vars_for_text();
        if let Ok(t) = self.lib.texts.render(written, "switch-offer", &vars) {
            self.fx.push(Effect::Log("language.switch_offered".into()));
            self.send(OutboundMessage::text(t), None);
        }
    }

    /// Commands while the office has the conversation: the person can always come
    /// back to the bot; anything else is for staff and acknowledged (not too often).
    fn while_handed_off(&mut self, input: Input) {
        let c = match &input {
            Input::Text(t) => command(t),
            _ => None,
        };
        if let Some(c) = c {
            self.fx
                .push(Effect::Log(format!("command.{c:?}").to_lowercase()));
        }
        match c {
            Some(Command::Menu) => {
                self.leave_handoff("handoff-left", "handoff.left");
                self.end_all();
                self.start_menu();
                self.go();
            }
            Some(Command::Cancel | Command::Back) => {
                self.leave_handoff("handoff-withdrawn", "handoff.withdrawn");
                if self.s.frames.is_empty() {
                    self.start_menu();
                } else {
                    self.say_key("draft-continue");
                }
                self.go();
            }
            Some(Command::Help) => self.say_with_hours("help-handoff"),
            Some(Command::Stop) => {
                self.s.quiet = true;
                self.say_key("stopped");
            }
            Some(Command::Start) => {
                self.s.quiet = false;
                self.say_key("started");
            }
            Some(Command::SetLanguage(l)) => {
                self.s.locale = Some(l);
                self.say_key("language-set");
            }
            Some(Command::Thanks) => self.say_key("thanks-reply"),
            Some(c @ (Command::Complaint | Command::MyData(_))) => {
                // As a menu word would: back to the bot, and the request opens.
                self.leave_handoff("handoff-left", "handoff.left");
                self.command(c);
            }
            Some(Command::Language | Command::Human | Command::Greeting) | None => {
                // The release counts from the person's last message.
                self.arm_release();
                // A menu word ("fees", «فیس») asks the bot: back with it (the office
                // keeps the messages), and the entry opens.
                if let Input::Text(t) = &input {
                    if self.is_menu_word(t) {
                        self.leave_handoff("handoff-left", "handoff.left");
                        self.end_all();
                        return self.message(input);
                    }
                }
                let now = self.ctx.now.timestamp();
                if self
                    .s
                    .acked_at
                    .is_some_and(|t| (0..ACK_EVERY_SECS).contains(&(now - t)))
                {
                    return;
                }
                self.s.acked_at = Some(now);
                self.say_with_hours("handoff-ack");
            }
        }
    }

    /// Whether the input is a valid answer to the question being asked.
    fn answers_current(&self, input: &Input) -> bool {
        match self.current() {
            Ok((_, step)) => match &step.kind {
                StepKind::Ask(ask) => self.validate(ask, input).is_ok(),
                _ => false,
            },
            Err(_) => false,
        }
    }

    /// Whether a text picks an entry of the person's menu by one of its words.
    fn is_menu_word(&self, text: &str) -> bool {
        let typed = input::normalise(text);
        let Some(menu) = self.lib.current(self.role_menu()) else {
            return false;
        };
        menu.steps.iter().any(|s| match &s.kind {
            StepKind::Ask(a) => a
                .choices
                .iter()
                .any(|c| c.words.iter().any(|w| input::normalise(w) == typed)),
            _ => false,
        })
    }

    /// The person (or the clock) takes the conversation back from the office.
    fn leave_handoff(&mut self, key: &str, log: &str) {
        self.s.hand_back();
        self.say_key(key);
        self.fx.push(Effect::Log(log.into()));
    }

    /// Questions answered in the running requests (not counting the menu).
    fn entered(&self) -> usize {
        self.s.frames.iter().map(|f| f.answered.len()).sum()
    }

    /// "back": the previous question of the request being written (its answer
    /// forgotten); at a request's first question, the flow it was opened from, or the
    /// menu. Nothing saved is undone: an action clears the way back.
    fn back(&mut self) {
        let menu = self.role_menu();
        let Some(frame) = self.frame().cloned() else {
            self.start_menu();
            return self.go();
        };
        if let Some(prev) = frame.answered.last().cloned() {
            let var = self
                .flow_of(&frame)
                .ok()
                .and_then(|f| f.step(&prev))
                .and_then(|(_, st)| match &st.kind {
                    StepKind::Ask(a) => Some(a.var.clone()),
                    _ => None,
                });
            if let Some(f) = self.frame_mut() {
                f.answered.pop();
                if let Some(v) = var {
                    f.vars.remove(&v);
                }
                // Going back is not a loop: the question's visits start again.
                f.visits.remove(&prev);
                f.step = prev;
            }
            self.s.wait = None;
            self.say_key("went-back");
            return self.go();
        }
        if frame.key.is_some() || frame.flow == menu {
            // A staff-started form's first question, or the menu: nothing before it.
            self.say_key("nothing-back");
            return self.reask();
        }
        if self.s.frames.len() > 1 && !frame.from_each {
            // Opened on top of another request (the language list): back to it.
            self.s.frames.pop();
            self.s.wait = None;
            return self.go();
        }
        self.end_all();
        self.start_menu();
        self.go();
    }

    /// "cancel": drops the request being written; when two or more answers would be
    /// lost, asks first.
    fn cancel(&mut self) {
        let asking = self.frame().is_some_and(|f| f.flow == CANCEL_FLOW);
        if !asking
            && self.entered() >= 2
            && self.s.wait.is_some()
            && self.lib.current(CANCEL_FLOW).is_some()
        {
            self.s.wait = None;
            self.start(CANCEL_FLOW, Map::new(), None);
            return self.go();
        }
        self.drop_request();
        self.go();
    }

    /// Ends everything running and shows the menu (the caller runs `go`).
    fn drop_request(&mut self) {
        let menu = self.role_menu();
        if self.s.frames.iter().any(|f| f.flow != menu) {
            self.say_key("cancelled");
        }
        self.end_all();
        self.start_menu();
    }

    fn role_menu(&self) -> &'static str {
        match self.role() {
            Role::Unknown => "login",
            Role::Guardian => "menu",
            Role::Teacher => "teacher_menu",
        }
    }

    /// The menu, unless staff-started flows are waiting: they come first.
    fn start_menu(&mut self) {
        if self.s.who.is_some() && !self.s.queue.is_empty() {
            let t = self.s.queue.remove(0);
            self.start(&t.flow, t.vars, Some(t.key));
            return;
        }
        let menu = self.role_menu();
        self.start(menu, Map::new(), None);
    }

    /// Pushes a new frame at the flow's first step (the caller runs `go`).
    fn start(&mut self, flow_id: &str, vars: Map<String, Value>, key: Option<String>) {
        let Some(flow) = self.lib.current(flow_id) else {
            return self.broken(Broken(format!("unknown flow {flow_id}")));
        };
        if !flow.roles.is_empty() && !flow.roles.contains(&self.role()) {
            self.say_key("not-allowed");
            if flow_id != "login" && self.role() == Role::Unknown {
                self.start("login", Map::new(), None);
            }
            return;
        }
        let Some(first) = flow.first() else {
            return self.broken(Broken(format!("flow {flow_id} has no steps")));
        };
        self.fx.push(Effect::Log(format!("flow.{flow_id}.start")));
        self.s.wait = None;
        self.s.frames.push(Frame {
            flow: flow.id.clone(),
            hash: flow.hash.clone(),
            step: first.id.clone(),
            vars,
            visits: BTreeMap::new(),
            each: None,
            key,
            from_each: false,
            answered: Vec::new(),
            opening: None,
        });
    }

    /// [`Self::start`], then marks the frame it pushed (if any) as started by a
    /// `for_each` or not.
    fn start_marked(
        &mut self,
        flow_id: &str,
        vars: Map<String, Value>,
        key: Option<String>,
        from_each: bool,
    ) {
        let depth = self.s.frames.len();
        self.start(flow_id, vars, key);
        if self.s.frames.len() > depth {
            if let Some(f) = self.frame_mut() {
                f.from_each = from_each;
            }
        }
    }

    /// Pops the top frame without starting anything queued.
    fn finish_frame_quietly(&mut self) {
        self.s.frames.pop();
        self.s.wait = None;
    }

    fn end_all(&mut self) {
        self.s.frames.clear();
        self.s.wait = None;
        self.s.calling = false;
    }

    /// Hands the conversation to the office. A request with answers in it is kept
    /// (staff see it; the person takes it up again when they come back to the bot);
    /// the office hours are given; the conversation returns to the bot by itself after
    /// the school's release time.
    fn handoff(&mut self, key: &str) {
        let vars = self.vars_for_text();
        let text = self.text(key, &vars);
        self.handoff_saying(text);
    }

    /// [`Self::handoff`] with its message already rendered.
    fn handoff_saying(&mut self, text: String) {
        // The enquiry's questions are no draft (nothing of them is being written).
        let menu = self.role_menu();
        let draft = self
            .s
            .frames
            .iter()
            .any(|f| f.flow != menu && f.flow != ENQUIRY_FLOW && !f.answered.is_empty());
        self.send_with_hours(text);
        if draft {
            self.say_key("handoff-draft-kept");
            self.s.wait = None;
            self.s.calling = false;
        } else {
            self.end_all();
        }
        self.s.handoff = true;
        self.s.acked_at = None;
        self.fx.push(Effect::Handoff);
        self.arm_release();
    }

    /// (Re)starts the timer that hands the conversation back to the bot.
    fn arm_release(&mut self) {
        self.s.seq += 1;
        let token = format!("h{}-handoff", self.s.seq);
        self.fx.push(Effect::Timer {
            token: token.clone(),
            after: self.ctx.handoff_release,
        });
        self.s.handoff_timer = Some(token);
    }

    fn broken(&mut self, b: Broken) {
        tracing::error!(problem = %b.0, "conversation flow broken; handing off to staff");
        // A broken flow is no draft to keep.
        self.end_all();
        self.handoff("error-handoff");
    }

    /// Sets the top frame's step.
    fn jump(&mut self, step: &str) {
        if let Some(f) = self.frame_mut() {
            f.step = step.to_string();
        }
    }

    /// Moves to the step after `step` (its `next`, or the one below; none ends the flow).
    fn advance(&mut self, step: &Step) {
        if let Some(n) = &step.next {
            let n = n.clone();
            return self.jump(&n);
        }
        let next = self
            .frame()
            .and_then(|f| self.flow_of(f).ok())
            .and_then(|flow| flow.after(&step.id))
            .map(|s| s.id.clone());
        match next {
            Some(n) => self.jump(&n),
            None => self.finish_frame(),
        }
    }

    /// The top frame ended: return to the one below, or start a queued trigger.
    fn finish_frame(&mut self) {
        let popped = self.s.frames.pop();
        self.s.wait = None;
        // A for_each continues with its next item when its child ends.
        if popped.is_some_and(|f| f.from_each) {
            if let Some(each) = self.s.frames.last_mut().and_then(|p| p.each.as_mut()) {
                each.index += 1;
            }
        }
        // Staff-started flows that waited go first; then an interrupted question is
        // asked again (the parent frame's current step runs once more).
        if !self.s.queue.is_empty() && !self.s.handoff {
            let t = self.s.queue.remove(0);
            self.start(&t.flow, t.vars, Some(t.key));
        }
    }

    /// Runs steps until the conversation waits, calls out, or ends.
    fn go(&mut self) {
        loop {
            if self.s.handoff || self.s.calling || self.s.wait.is_some() {
                return;
            }
            if self.frame().is_none() {
                return;
            }
            self.steps += 1;
            if self.steps > MAX_STEPS_PER_INPUT {
                return self.loop_guard();
            }
            let (flow, step) = match self.current() {
                Ok(x) => x,
                Err(b) => return self.broken(b),
            };
            let visits = {
                let Some(f) = self.frame_mut() else { return };
                let v = f.visits.entry(step.id.clone()).or_insert(0);
                *v += 1;
                *v
            };
            if visits > MAX_VISITS {
                return self.loop_guard();
            }
            if let Err(b) = self.exec(flow, step) {
                return self.broken(b);
            }
        }
    }

    fn loop_guard(&mut self) {
        self.fx.push(Effect::Log("flow.loop_guard".into()));
        self.end_all();
        self.handoff("loop-handoff");
    }

    fn exec(&mut self, flow: &'a Flow, step: &'a Step) -> Result<(), Broken> {
        let policy = step.window_policy.as_ref().or(flow.window_policy.as_ref());
        match &step.kind {
            StepKind::Say { text, lines } => {
                let vars = self.vars_for_text();
                let mut out = self.text(text, &vars);
                if let Some(l) = lines {
                    for item in self
                        .resolve(&format!("${}", l.each))
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let mut v = vars.clone();
                        if let Value::Object(o) = item {
                            v.extend(o.clone());
                        }
                        out.push('\n');
                        out.push_str(&self.text(&l.text, &v));
                    }
                }
                self.send(OutboundMessage::text(out), policy);
                self.advance(step);
            }
            StepKind::Ask(ask) => {
                if ask.resting
                    && self.s.frames.len() == 1
                    && !self.s.queue.is_empty()
                    && !self.s.handoff
                {
                    // More staff-started messages wait: this one is said without its
                    // buttons, and the next comes at once.
                    let vars = self.vars_for_text();
                    let text = self.text(&ask.text, &vars);
                    self.send(OutboundMessage::text(text), policy);
                    self.finish_frame();
                } else if !self.answered_by_opening(step, ask) {
                    self.ask(ask, policy)?;
                }
            }
            StepKind::Call { action, args, .. } => {
                let args: Map<String, Value> = args
                    .iter()
                    .map(|(k, e)| (k.clone(), self.resolve(e)))
                    .collect();
                if action == "cancel_request" {
                    // Handled here: "yes, cancel" in the cancel flow.
                    self.drop_request();
                    return Ok(());
                }
                // An action may save something: "back" never crosses it (actions that
                // only read are crossed).
                if !super::check::READ_ONLY_ACTIONS.contains(&action.as_str()) {
                    if let Some(f) = self.frame_mut() {
                        f.answered.clear();
                    }
                }
                if action == "set_language" {
                    // Handled here: it only changes the session.
                    if let Some(l) = args
                        .get("locale")
                        .and_then(Value::as_str)
                        .and_then(|l| l.parse::<Locale>().ok())
                    {
                        self.s.locale = Some(l);
                    }
                    self.advance(step);
                } else {
                    self.s.calling = true;
                    self.fx.push(Effect::Call {
                        action: action.clone(),
                        args,
                    });
                }
            }
            StepKind::Branch { on, cases, default } => {
                let v = self.resolve(on);
                let key = match &v {
                    Value::String(s) => s.clone(),
                    Value::Null => "null".into(),
                    other => other.to_string(),
                };
                let target = cases.get(&key).unwrap_or(default).clone();
                self.jump(&target);
            }
            StepKind::Goto(to) => self.jump(to),
            StepKind::Set(values) => {
                let resolved: Vec<(String, Value)> = values
                    .iter()
                    .map(|(k, e)| (k.clone(), self.resolve(e)))
                    .collect();
                if let Some(f) = self.frame_mut() {
                    f.vars.extend(resolved);
                }
                self.advance(step);
            }
            StepKind::ForEach {
                list,
                item,
                flow: each_flow,
            } => {
                let frame = self.frame().ok_or_else(|| Broken("no frame".into()))?;
                let each = match &frame.each {
                    Some(e) => e.clone(),
                    None => Each {
                        items: self
                            .resolve(&format!("${list}"))
                            .as_array()
                            .cloned()
                            .unwrap_or_default(),
                        index: 0,
                        item: item.clone(),
                        flow: each_flow.clone(),
                    },
                };
                if each.index >= each.items.len() {
                    if let Some(f) = self.frame_mut() {
                        f.each = None;
                        // The loop itself may run again later (a new list).
                        f.visits.remove(&step.id);
                    }
                    self.advance(step);
                } else {
                    let mut vars = frame.vars.clone();
                    vars.insert(each.item.clone(), each.items[each.index].clone());
                    let child = each.flow.clone();
                    if let Some(f) = self.frame_mut() {
                        f.each = Some(each);
                        // Each item revisits this step: it is bounded by the list.
                        f.visits.remove(&step.id);
                    }
                    self.start_marked(&child, vars, None, true);
                }
            }
            StepKind::Flow(target) => {
                let id = match self.resolve(target) {
                    Value::String(s) => s,
                    _ => return Err(Broken(format!("flow target {target} is not a flow id"))),
                };
                if id == MENU_TARGET {
                    // The person's own menu (guardian's or teacher's), as a fresh start.
                    self.end_all();
                    self.start_menu();
                    return Ok(());
                }
                if self.lib.current(&id).is_none() {
                    return Err(Broken(format!("no flow named {id}")));
                }
                // The new flow starts with this flow's variables (a consent request id).
                let (key, vars, from_each, opening) = self
                    .frame()
                    .map(|f| {
                        (
                            f.key.clone(),
                            f.vars.clone(),
                            f.from_each,
                            f.opening.clone(),
                        )
                    })
                    .unwrap_or_default();
                self.s.frames.pop();
                self.start_marked(&id, vars, key, from_each);
                if let Some(f) = self.frame_mut() {
                    f.opening = opening;
                }
            }
            StepKind::Handoff(text) => {
                // The handoff step ends its own flow (nothing of it is a draft); its
                // text is rendered with the flow's variables first.
                let vars = self.vars_for_text();
                let text = self.text(text, &vars);
                self.finish_frame_quietly();
                self.handoff_saying(text);
            }
            StepKind::End(text) => {
                if let Some(t) = text {
                    let vars = self.vars_for_text();
                    let t = self.text(t, &vars);
                    self.send(OutboundMessage::text(t), policy);
                }
                self.finish_frame();
                // A language chosen from the menu: the menu again, in the new language.
                if flow.id == "language" && self.s.frames.is_empty() && self.s.who.is_some() {
                    self.start_menu();
                }
            }
        }
        Ok(())
    }

    /// Asks the current step's question (a fresh token: older buttons expire).
    fn ask(&mut self, ask: &Ask, policy: Option<&WindowPolicy>) -> Result<(), Broken> {
        self.ask_offering(ask, policy, Vec::new())
    }

    /// A question the opening sentence already answers ("kal" for the dates, "Ayesha"
    /// for the child, "bimar" for the kind): taken as if typed, once per question.
    fn answered_by_opening(&mut self, step: &Step, ask: &Ask) -> bool {
        let Some(how) = ask.from_sentence else {
            return false;
        };
        let Some(opening) = self.frame().and_then(|f| f.opening.clone()) else {
            return false;
        };
        if opening.tried.contains(&step.id) {
            return false;
        }
        if let Some(o) = self.frame_mut().and_then(|f| f.opening.as_mut()) {
            o.tried.push(step.id.clone());
        }
        let candidates = match how {
            FromSentence::Whole => vec![opening.text.clone()],
            FromSentence::Span => sentence_spans(&opening.text),
        };
        // The choices as they would be offered, for the answer's check.
        let vars = self.vars_for_text();
        let choices = self.offered(ask, &vars);
        let saved = self.s.wait.replace(Wait {
            token: String::new(),
            retries_left: 0,
            choices,
            escapes: Vec::new(),
            asked_at: None,
            templated: false,
        });
        let found = candidates
            .into_iter()
            .find_map(|c| self.validate(ask, &Input::Text(c)).ok());
        self.s.wait = saved;
        let Some(value) = found.filter(|v| !v.is_null()) else {
            return false;
        };
        if let Some(f) = self.frame_mut() {
            f.vars.insert(ask.var.clone(), value);
            f.answered.push(step.id.clone());
        }
        self.fx.push(Effect::Log("flow.from_sentence".into()));
        self.advance(step);
        true
    }

    /// A sentence the language model read, at rest or at the menu: the request it
    /// asks for opens with the sentence (its questions take what it already says);
    /// two or three close readings are offered as buttons; nothing usable gets the
    /// menu with a hint. False: nothing done (the caller goes on as before).
    fn understood(&mut self, text: &str) -> bool {
        let Some(u) = self.ctx.understood.clone() else {
            return false;
        };
        let role = self.role();
        if role == Role::Unknown {
            return false;
        }
        if u.options.len() > 1 {
            let mut options: Vec<Value> = u
                .options
                .iter()
                .filter_map(|i| self.entry_of(*i).map(|(id, label)| (id, label, *i)))
                .map(|(id, label, _)| {
                    serde_json::json!({ "id": id, "label": self.text(label, &Map::new()) })
                })
                .collect();
            options.dedup();
            if options.len() < 2 {
                // Close readings that are not both requests here (a weak "my data"
                // beside "leave"): not understood, never a guess that hands off.
                self.fx.push(Effect::Log("nlu.unclear".into()));
                self.say_key("nlu-not-understood");
                self.end_all();
                self.start_menu();
                self.go();
                return true;
            }
            if self.lib.current(CLARIFY_FLOW).is_some() {
                options.push(serde_json::json!({
                    "id": self.role_menu(),
                    "label": self.text("escape-menu", &Map::new()),
                }));
                self.end_all();
                let mut vars = Map::new();
                vars.insert("options".into(), Value::Array(options));
                vars.insert("menu".into(), Value::String(self.role_menu().to_string()));
                self.fx.push(Effect::Log("nlu.near_tie".into()));
                self.start(CLARIFY_FLOW, vars, None);
                if let Some(f) = self.frame_mut() {
                    f.opening = Some(Opening {
                        text: text.to_string(),
                        tried: Vec::new(),
                    });
                }
                self.go();
                return true;
            }
        }
        self.fx
            .push(Effect::Log(format!("nlu.{}", u.intent.as_str())));
        match u.intent {
            Intent::Greeting => self.command(Command::Greeting),
            Intent::Thanks => self.command(Command::Thanks),
            Intent::MyData => self.command(Command::MyData("")),
            Intent::Office | Intent::Admission => {
                // A person is what these need today (the office answers them).
                self.command(Command::Human)
            }
            Intent::Stop => {
                // Never silenced on a guess: the word that does it is named.
                self.say_key("nlu-stop-hint");
                if self.s.wait.is_none() && self.s.frames.is_empty() {
                    self.start_menu();
                    self.go();
                }
            }
            intent => match self.entry_of(intent) {
                Some((flow, _)) => {
                    self.end_all();
                    self.start(&flow, Map::new(), None);
                    if let Some(f) = self.frame_mut() {
                        f.opening = Some(Opening {
                            text: text.to_string(),
                            tried: Vec::new(),
                        });
                    }
                    self.go();
                }
                None => {
                    self.say_key("nlu-not-understood");
                    self.end_all();
                    self.start_menu();
                    self.go();
                }
            },
        }
        true
    }

    /// The flow (and its menu label) that serves an intent for this person's role.
    fn entry_of(&self, intent: Intent) -> Option<(String, &'static str)> {
        let (flow, label) = match (self.role(), intent) {
            (Role::Guardian, Intent::Fees) => ("fees", "menu-fees"),
            (Role::Guardian, Intent::Leave) => ("leave", "menu-leave"),
            (Role::Guardian, Intent::Attendance) => ("attendance", "menu-attendance"),
            (Role::Guardian, Intent::Consent) => ("consents", "menu-consent"),
            (Role::Teacher, Intent::Attendance) => ("mark_attendance", "menu-mark-attendance"),
            (Role::Teacher, Intent::Leave) => ("class_leave", "menu-class-leave"),
            (Role::Guardian | Role::Teacher, Intent::Complaint) => ("complaint", "menu-complaint"),
            (Role::Guardian | Role::Teacher, Intent::MyComplaints) => {
                ("my_complaints", "menu-my-complaints")
            }
            (Role::Guardian | Role::Teacher, Intent::Language) => ("language", "menu-language"),
            (Role::Guardian | Role::Teacher, Intent::Office) => ("office", "menu-office"),
            _ => return None,
        };
        self.lib.current(flow).map(|_| (flow.to_string(), label))
    }

    /// [`Self::ask`], with ways out after the choices (when they fit in one list).
    fn ask_offering(
        &mut self,
        ask: &Ask,
        policy: Option<&WindowPolicy>,
        escapes: Vec<Escape>,
    ) -> Result<(), Broken> {
        self.s.seq += 1;
        // The token names the question's step and its visit ("q7-kind"): a button id is
        // "<token>.<n>", so a tap on an older question's button is recognised as such.
        let step: String = self
            .frame()
            .map(|f| f.step.chars().filter(|c| *c != '.').take(24).collect())
            .unwrap_or_default();
        let token = format!("q{}-{step}", self.s.seq);
        let vars = self.vars_for_text();
        let text = self.text(&ask.text, &vars);
        let choices = self.offered(ask, &vars);
        let escapes = if choices.len() + escapes.len() <= super::check::MAX_LIST_ROWS {
            escapes
        } else {
            Vec::new()
        };
        let titles: Vec<String> = choices
            .iter()
            .map(|(_, t)| t.clone())
            .chain(escapes.iter().map(|e| self.text(e.label(), &vars)))
            .collect();
        let msg = OutboundMessage::Text {
            text,
            choices: titles
                .into_iter()
                .enumerate()
                .map(|(i, title)| Choice {
                    id: format!("{token}.{}", i + 1),
                    title,
                })
                .collect(),
            template: None,
            template_vars: Vec::new(),
        };
        let numbered = ask.render == Render::Numbered;
        let msg = if numbered {
            OutboundMessage::text(msg.as_numbered_text())
        } else {
            msg
        };
        self.send(msg, policy);
        if let Some(t) = &ask.timeout {
            self.fx.push(Effect::Timer {
                token: token.clone(),
                after: t.after,
            });
        }
        if !self.s.queue.is_empty() && !self.s.frames.iter().any(|f| f.key.is_some()) {
            // Staff-started flows wait behind this question: if it goes unanswered,
            // they come anyway.
            self.fx.push(Effect::Timer {
                token: format!("idle:{token}"),
                after: IDLE_DELIVERY,
            });
        }
        let retries_left = self
            .s
            .wait
            .as_ref()
            .filter(|w| w.choices == choices)
            .map(|w| w.retries_left)
            .unwrap_or(ask.retries);
        // A staff-started question: remember when it was asked, so a text written
        // before it (meant for whatever was asked earlier) is not taken as its answer.
        // Asked again (a retry, after help): the time it was first asked stays.
        let same_step = |w: &Wait| w.token.split_once('-').map(|(_, s)| s) == Some(step.as_str());
        let asked_at = self.frame().is_some_and(|f| f.key.is_some()).then(|| {
            self.s
                .wait
                .as_ref()
                .filter(|w| same_step(w))
                .and_then(|w| w.asked_at)
                .unwrap_or(self.ctx.now.timestamp())
        });
        let templated = !self.ctx.window_open && policy.is_some_and(|p| p.template.is_some());
        self.s.wait = Some(Wait {
            token,
            retries_left,
            choices,
            escapes,
            asked_at,
            templated,
        });
        Ok(())
    }

    fn offered(&self, ask: &Ask, vars: &Map<String, Value>) -> Vec<(Value, String)> {
        if let Some(from) = &ask.choices_from {
            return self
                .resolve(&format!("${from}"))
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    // The whole item is the value: `$child.id`, `$child.label`.
                    let id = item.clone();
                    let label = item
                        .get("label")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    (id, label)
                })
                .collect();
        }
        match ask.input {
            InputKind::YesNo if ask.choices.is_empty() => vec![
                (Value::Bool(true), self.text("yes", vars)),
                (Value::Bool(false), self.text("no", vars)),
            ],
            _ => ask
                .choices
                .iter()
                .map(|c| (Value::String(c.id.clone()), self.text(&c.label, vars)))
                .collect(),
        }
    }

    /// Asks the waiting question again (after help, a language switch, a stale button).
    fn reask(&mut self) {
        let Ok((flow, step)) = self.current() else {
            return;
        };
        if let StepKind::Ask(ask) = &step.kind {
            let policy = step.window_policy.as_ref().or(flow.window_policy.as_ref());
            let _ = self.ask(ask, policy);
        }
    }

    fn answer(&mut self, input: Input) {
        let Ok((flow, step)) = self.current() else {
            self.s.wait = None;
            return;
        };
        let StepKind::Ask(ask) = &step.kind else {
            self.s.wait = None;
            return;
        };
        if self.role() == Role::Unknown {
            if let Input::Text(t) = &input {
                // A stranger: a code typed at any question of the enquiry is a login
                // (counted by the login's limits); a question at the code question is
                // an enquiry (no code check, no hashing). Not at the lead's questions:
                // "Class 5th" answers "which class?" (it reads like a code).
                if flow.id != LOGIN_FLOW
                    && flow.id != LEAD_FLOW
                    && (AccessCode::typed(t).is_some() || self.ctx.code_known)
                    && self.lib.current(LOGIN_FLOW).is_some()
                {
                    let mut vars = Map::new();
                    vars.insert("code".into(), Value::String(t.trim().to_string()));
                    self.end_all();
                    self.start(LOGIN_FLOW, vars, None);
                    return self.go();
                }
                // "apply", "call back" at the code question or any question of the
                // enquiry: the lead's questions.
                if (flow.id == ENQUIRY_FLOW
                    || (flow.id == LOGIN_FLOW && ask.input == InputKind::AccessCode))
                    && is_lead_request(t)
                    && self.lib.current(LEAD_FLOW).is_some()
                {
                    self.end_all();
                    self.start(LEAD_FLOW, Map::new(), None);
                    return self.go();
                }
                if flow.id == LOGIN_FLOW
                    && ask.input == InputKind::AccessCode
                    && AccessCode::parse(t).is_none()
                    && is_enquiry(t)
                    && self.lib.current(ENQUIRY_FLOW).is_some()
                {
                    let mut vars = Map::new();
                    vars.insert("question".into(), Value::String(t.trim().to_string()));
                    self.end_all();
                    self.start(ENQUIRY_FLOW, vars, None);
                    return self.go();
                }
            }
        }
        // A tapped button from an older question.
        if let Input::Choice { id, .. } = &input {
            let token = self
                .s
                .wait
                .as_ref()
                .map(|w| w.token.clone())
                .unwrap_or_default();
            if id.split('.').next() != Some(token.as_str()) {
                self.fx.push(Effect::Log("flow.stale_choice".into()));
                self.say_key("choice-expired");
                return self.reask();
            }
        }
        // A text written just before this (staff-started) question was asked crossed
        // it in flight: it answers something earlier, never this. (Only within
        // `CROSSED_SECS`: a timestamp from much earlier is no sign of a crossing.)
        let early = matches!(input, Input::Text(_))
            && self
                .s
                .wait
                .as_ref()
                .and_then(|w| w.asked_at)
                .is_some_and(|asked| {
                    self.ctx
                        .sent_at
                        .is_some_and(|sent| (asked - CROSSED_SECS..asked).contains(&sent))
                });
        if early {
            self.fx.push(Effect::Log("flow.early_answer".into()));
            return self.say_key("answer-before-question");
        }
        if let Some(e) = self.escape_chosen(ask, &input) {
            return match e {
                Escape::Skip => self.accept(step, ask, Value::Null),
                Escape::Menu => self.command(Command::Menu),
                Escape::Office => self.command(Command::Human),
            };
        }
        let templated = self.s.wait.as_ref().is_some_and(|w| w.templated);
        if templated && ask.other.is_some() && self.validate(ask, &input).is_err() {
            // Their answer to the template ("ok", "kya hua?"): now the window is open,
            // the question itself, in full.
            if let Some(w) = self.s.wait.as_mut() {
                w.templated = false;
            }
            return self.reask();
        }
        let checked = self.validate(ask, &input).or_else(|problem| {
            // Anything else, where the question takes it (a message for the thread).
            match (&ask.other, &input) {
                (Some(_), Input::Text(t)) => {
                    let t = t.trim();
                    if t.is_empty() || input::number(t).is_some() {
                        Err(problem)
                    } else if t.chars().count() as i64 > ask.max.unwrap_or(2000) {
                        Err("text-too-long".into())
                    } else {
                        Ok(Value::String(t.to_string()))
                    }
                }
                (Some(_), Input::Media { key, .. }) => Ok(serde_json::json!({ "media": key })),
                _ => Err(problem),
            }
            .map(|other| serde_json::json!({ OTHER: other }))
        });
        match checked {
            Ok(Value::Object(mut o)) if ask.other.is_some() && o.contains_key(OTHER) => {
                let other = o.remove(OTHER).unwrap_or(Value::Null);
                if let (Some(var), Some(f)) = (ask.other.clone(), self.frame_mut()) {
                    f.vars.insert(var, other);
                }
                self.accept(step, ask, Value::String(OTHER.into()))
            }
            Ok(value) => self.accept(step, ask, value),
            Err(problem) => {
                let left = self.s.wait.as_ref().map(|w| w.retries_left).unwrap_or(0);
                if left == 0 {
                    match &ask.fallback {
                        Some(target) => {
                            self.s.wait = None;
                            let target = target.clone();
                            self.jump(&target);
                            self.go();
                        }
                        None => self.stuck(flow, step, ask, &problem),
                    }
                    return;
                }
                if let Some(w) = self.s.wait.as_mut() {
                    w.retries_left -= 1;
                }
                let key = ask.reprompt.clone().unwrap_or(problem);
                self.say_key(&key);
                let policy = step.window_policy.as_ref().or(flow.window_policy.as_ref());
                let _ = self.ask(ask, policy);
            }
        }
    }

    /// Stores an answer and goes on; a staff-started flow that cannot wait longer
    /// (urgent) comes first, and the request continues after it.
    fn accept(&mut self, step: &Step, ask: &Ask, value: Value) {
        self.s.wait = None;
        if let Some(f) = self.frame_mut() {
            f.vars.insert(ask.var.clone(), value);
            // A question asked again (dates refused) is one step back, not two.
            if let Some(i) = f.answered.iter().position(|a| *a == step.id) {
                f.answered.truncate(i);
            }
            f.answered.push(step.id.clone());
        }
        self.advance(step);
        // Only the person's own request is interrupted: a staff-started form being
        // answered is not (flows behind it wait for it to end).
        let own = !self.s.frames.iter().any(|f| f.key.is_some());
        if own && !self.s.frames.is_empty() && !self.s.handoff {
            let urgent = self
                .s
                .queue
                .iter()
                .position(|t| self.lib.current(&t.flow).is_some_and(|f| f.urgent));
            if let Some(i) = urgent {
                self.interrupt_with(i);
            }
        }
        self.go();
    }

    /// The answers ran out: the draft is kept, the question asked again with an
    /// example of what it takes and ways out (skip when optional, menu, office).
    fn stuck(&mut self, flow: &Flow, step: &Step, ask: &Ask, problem: &str) {
        self.fx.push(Effect::Log("flow.stuck".into()));
        let mut vars = self.vars_for_text();
        let example = self.text(example_key(ask), &vars);
        vars.insert("example".into(), Value::String(example));
        let mut t = self.text(problem, &vars);
        t.push('\n');
        t.push_str(&self.text("retry-stuck", &vars));
        self.send(OutboundMessage::text(t), None);
        // Where numbers are answers, numbered ways out would collide with them: the
        // text names "menu" and "office" instead.
        let mut escapes = Vec::new();
        if !matches!(ask.input, InputKind::Number | InputKind::Numbers) {
            if ask.optional {
                escapes.push(Escape::Skip);
            }
            escapes.extend([Escape::Menu, Escape::Office]);
        }
        let policy = step.window_policy.as_ref().or(flow.window_policy.as_ref());
        let _ = self.ask_offering(ask, policy, escapes);
        if let Some(w) = self.s.wait.as_mut() {
            w.retries_left = 0;
        }
    }

    /// A way out picked by button, by its number after the choices, or by its title.
    fn escape_chosen(&self, ask: &Ask, input: &Input) -> Option<Escape> {
        let w = self.s.wait.as_ref()?;
        if w.escapes.is_empty() {
            return None;
        }
        let n = match input {
            Input::Choice { id, .. } => id.rsplit('.').next().and_then(|n| n.parse().ok()),
            Input::Text(t) if !matches!(ask.input, InputKind::Number | InputKind::Numbers) => {
                input::number(t).and_then(|n| usize::try_from(n).ok())
            }
            _ => None,
        };
        if let Some(n) = n.filter(|n| *n > w.choices.len()) {
            return w.escapes.get(n - w.choices.len() - 1).copied();
        }
        let Input::Text(t) = input else { return None };
        let typed = input::normalise(t);
        let vars = Map::new();
        w.escapes
            .iter()
            .copied()
            .find(|e| input::normalise(&self.text(e.label(), &vars)) == typed)
    }

    /// The answer's value, or the text key explaining what was wrong.
    fn validate(&self, ask: &Ask, input: &Input) -> Result<Value, String> {
        let text = match input {
            Input::Text(t) => Some(t.as_str()),
            _ => None,
        };
        if ask.optional && text.is_some_and(input::is_skip) {
            return Ok(Value::Null);
        }
        let choices = self
            .s
            .wait
            .as_ref()
            .map(|w| w.choices.clone())
            .unwrap_or_default();
        match ask.input {
            InputKind::Choice | InputKind::YesNo => {
                if let Input::Choice { id, .. } = input {
                    let n: usize = id
                        .rsplit('.')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    return choices
                        .get(n.wrapping_sub(1))
                        .map(|c| c.0.clone())
                        .ok_or_else(|| "invalid-choice".to_string());
                }
                let t = text.ok_or("invalid-choice")?;
                if ask.input == InputKind::YesNo {
                    if let Some(b) = input::yes_no(t) {
                        return Ok(Value::Bool(b));
                    }
                    if input::acknowledgement(t) {
                        // "ok" / 👍: yes to an everyday question; a consent must be said.
                        return if ask.strict {
                            Err("yes-no-meant".into())
                        } else {
                            Ok(Value::Bool(true))
                        };
                    }
                }
                if let Some(n) = input::number(t) {
                    if n >= 1 {
                        if let Some(c) = choices.get(n as usize - 1) {
                            return Ok(c.0.clone());
                        }
                    }
                }
                if input::number(t).is_some()
                    && ask.choices.iter().all(|c| c.id.parse::<i64>().is_err())
                {
                    // A number, but not one of the options.
                    return Err("number-out-of-range".into());
                }
                let typed = input::normalise(t);
                for (value, title) in &choices {
                    if input::normalise(title) == typed {
                        return Ok(value.clone());
                    }
                }
                // A first name alone ("Ayesha") when only one option has it.
                let first = |title: &str| {
                    input::normalise(title)
                        .split_whitespace()
                        .next()
                        .map(str::to_string)
                };
                let by_first: Vec<&Value> = choices
                    .iter()
                    .filter(|(_, title)| first(title).as_deref() == Some(typed.as_str()))
                    .map(|(v, _)| v)
                    .collect();
                if let [only] = by_first.as_slice() {
                    return Ok((*only).clone());
                }
                for c in &ask.choices {
                    if input::normalise(&c.id) == typed
                        || c.words.iter().any(|w| input::normalise(w) == typed)
                    {
                        return Ok(Value::String(c.id.clone()));
                    }
                }
                Err("invalid-choice".into())
            }
            InputKind::Text => {
                let t = text
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or("invalid-text")?;
                let len = t.chars().count() as i64;
                if len < ask.min.unwrap_or(1) {
                    return Err("text-too-short".into());
                }
                if len > ask.max.unwrap_or(1000) {
                    return Err("text-too-long".into());
                }
                Ok(Value::String(t.to_string()))
            }
            InputKind::Number => {
                let n = text.and_then(input::number).ok_or("invalid-number")?;
                if ask.min.is_some_and(|m| n < m) || ask.max.is_some_and(|m| n > m) {
                    return Err("number-out-of-range".into());
                }
                Ok(Value::from(n))
            }
            InputKind::Numbers => {
                let t = text.ok_or("invalid-numbers")?;
                if input::number(t) == Some(0) || input::all_present(t) {
                    return Ok(Value::Array(Vec::new()));
                }
                let labels = || -> Vec<String> {
                    ask.names_from
                        .as_ref()
                        .map(|from| self.resolve(&format!("${from}")))
                        .and_then(|v| v.as_array().cloned())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|i| {
                            i.get("label")
                                .or_else(|| i.get("name"))
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                        .collect()
                };
                // "3 7 late 5": absent and late (a late word only where the ask says so).
                if ask.max.is_none() && ask.names_from.is_some() {
                    if let Some((absent, late)) = input::absent_and_late(t) {
                        let max = self.resolve("$count").as_i64();
                        let bad = |n: &i64| *n < 1 || max.is_some_and(|m| *n > m);
                        if absent.iter().chain(&late).any(bad) {
                            return Err("number-out-of-range".into());
                        }
                        return Ok(serde_json::json!({ "absent": absent, "late": late }));
                    }
                }
                let ns = input::numbers(t)
                    .or_else(|| input::names(t, &labels()))
                    .ok_or("invalid-numbers")?;
                if ns
                    .iter()
                    .any(|n| ask.min.is_some_and(|m| *n < m) || ask.max.is_some_and(|m| *n > m))
                {
                    return Err("number-out-of-range".into());
                }
                let max = self.resolve("$count").as_i64();
                if ns.iter().any(|n| *n < 1 || max.is_some_and(|m| *n > m)) {
                    return Err("number-out-of-range".into());
                }
                Ok(Value::from(ns))
            }
            InputKind::Date => {
                let d = text
                    .and_then(|t| input::date(t, self.ctx.today))
                    .ok_or("invalid-date")?;
                if d < self.ctx.today {
                    return Err("date-in-past".into());
                }
                Ok(super::text::date_value(d))
            }
            InputKind::DateRange => {
                let (from, to) = text
                    .and_then(|t| input::date_range(t, self.ctx.today, &self.ctx.weekend))
                    .ok_or("invalid-date")?;
                if from < self.ctx.today {
                    return Err("date-in-past".into());
                }
                if to < from {
                    return Err("date-range-inverted".into());
                }
                if (to - from).num_days() > 60 {
                    return Err("date-range-too-long".into());
                }
                let days = (to - from).num_days() + 1;
                Ok(serde_json::json!({
                    "from": super::text::date_value(from),
                    "to": super::text::date_value(to),
                    "days": days,
                    "single": from == to,
                }))
            }
            InputKind::Photo | InputKind::Document => match input {
                Input::Media { image, key } => {
                    if ask.input == InputKind::Photo && !image {
                        return Err("need-photo".into());
                    }
                    Ok(serde_json::json!({ "media": key }))
                }
                _ if ask.input == InputKind::Photo => Err("need-photo".into()),
                _ => Err("need-document".into()),
            },
            InputKind::AccessCode => {
                let code = text
                    .and_then(AccessCode::parse)
                    .ok_or("invalid-code-format")?;
                Ok(Value::String(code.expose().to_string()))
            }
        }
    }
}

/// A yes, a no or a number: what a late answer to a lapsed question looks like.
fn is_reply(input: &Input) -> bool {
    match input {
        Input::Text(t) => input::yes_no(t).is_some() || input::number(t).is_some(),
        Input::Choice { .. } => true,
        _ => false,
    }
}

/// The text showing what a question takes, by its kind.
fn example_key(ask: &Ask) -> &'static str {
    match ask.input {
        InputKind::Choice => "example-choice",
        InputKind::YesNo => "example-yes-no",
        InputKind::Text => "example-text",
        InputKind::Number => "example-number",
        InputKind::Numbers => "example-numbers",
        InputKind::Date => "example-date",
        InputKind::DateRange => "example-date-range",
        InputKind::Photo => "example-photo",
        InputKind::Document => "example-document",
        InputKind::AccessCode => "example-code",
    }
}

impl Session {
    /// Staff handed the conversation back to the bot. A request kept through the
    /// handoff stays: the next step takes it up again.
    pub fn hand_back(&mut self) {
        self.handoff = false;
        self.handoff_timer = None;
        self.acked_at = None;
        self.wait = None;
        self.calling = false;
    }

    /// A short description for logs (no personal data).
    pub fn position(&self) -> String {
        match self.frames.last() {
            Some(f) => format!("{}/{}", f.flow, f.step),
            None if self.handoff => "handoff".into(),
            None => "idle".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::text::Texts;
    use crate::templates::Templates;

    const FTL: &str =
        "q = Question?\nyes = Yes\nno = No\ndone = Done\nbye = Bye\nlate = Too late\n";

    fn texts() -> Texts {
        let mut all = FTL.to_string();
        for k in crate::flow::check::ENGINE_TEXTS {
            if !FTL.contains(&format!("{k} =")) {
                all.push_str(&format!("{k} = [{k}]\n"));
            }
        }
        Texts::from_sources(vec![
            ("en".into(), all.clone()),
            ("ur".into(), all.clone()),
            ("ar".into(), all.clone()),
            ("ur-Latn".into(), all),
        ])
        .unwrap()
    }

    fn lib(flows: &[(&str, &str)]) -> Library {
        Library::from_sources(
            flows
                .iter()
                .map(|(f, s)| (format!("{f}.yaml"), s.to_string()))
                .collect(),
            texts(),
            Templates::embedded().unwrap(),
        )
        .unwrap()
    }

    fn ctx() -> Context {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        Context::new(
            today.and_hms_opt(9, 0, 0).unwrap().and_utc(),
            today,
            Locale::En,
            "S",
        )
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

    fn texts_of(o: &Output) -> Vec<String> {
        o.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(m) => Some(m.as_numbered_text()),
                _ => None,
            })
            .collect()
    }

    const MENU: &str = "id: menu\nroles: [guardian]\nsteps:\n  - id: ask\n    ask: q\n    input: yes_no\n    var: v\n    timeout: { after: 2h, goto: late }\n  - id: again\n    branch: $v\n    cases: { \"true\": ask }\n    default: bye\n  - id: bye\n    end: bye\n  - id: late\n    end: late\n";

    #[test]
    fn stale_buttons_timeouts_and_the_loop_guard() {
        let lib = lib(&[("menu", MENU)]);
        let o = step(&lib, guardian(), Input::Text("hello".into()), &ctx());
        assert_eq!(texts_of(&o), vec!["Question?\n1. Yes\n2. No"]);
        let first = o.session.wait.clone().unwrap().token;
        assert!(o
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Timer { token, .. } if *token == first)));
        // "yes" loops back to the question: a new token, so the old button expired.
        let o = step(&lib, o.session, Input::Text("yes".into()), &ctx());
        let stale = Input::Choice {
            id: format!("{first}.2"),
            title: "No".into(),
        };
        let o2 = step(&lib, o.session.clone(), stale, &ctx());
        assert_eq!(texts_of(&o2)[0], "[choice-expired]");
        assert!(o2.session.wait.is_some());
        // The first question's timer no longer applies; the current one's does.
        let o3 = step(
            &lib,
            o2.session.clone(),
            Input::Timeout { token: first },
            &ctx(),
        );
        assert!(o3.effects.is_empty());
        let current = o2.session.wait.clone().unwrap().token;
        let o4 = step(&lib, o2.session, Input::Timeout { token: current }, &ctx());
        assert!(texts_of(&o4).contains(&"Too late".to_string()));
        assert!(o4.session.frames.is_empty());
        // Saying yes forever visits the question more than MAX_VISITS times: handoff.
        let mut s = o.session;
        let mut handed = false;
        for _ in 0..(MAX_VISITS + 2) {
            let o = step(&lib, s, Input::Text("yes".into()), &ctx());
            handed |= o.effects.contains(&Effect::Handoff);
            s = o.session;
        }
        assert!(handed && s.handoff);
        // While handed off, the first message was acknowledged (in the loop above), the
        // next within minutes not (each restarts the release clock), and "menu" always
        // brings the person back to the bot.
        let o = step(&lib, s, Input::Text("any news?".into()), &ctx());
        assert!(texts_of(&o).is_empty(), "acknowledged again within minutes");
        assert!(o.effects.iter().any(|e| matches!(e, Effect::Timer { .. })));
        let later = Context {
            now: ctx().now + chrono::Duration::minutes(6),
            ..ctx()
        };
        let o = step(&lib, o.session, Input::Text("any news?".into()), &later);
        assert_eq!(texts_of(&o), vec!["[handoff-ack]"]);
        let o = step(&lib, o.session, Input::Text("menu".into()), &later);
        assert_eq!(texts_of(&o)[0], "[handoff-left]");
        assert!(!o.session.handoff && o.session.wait.is_some());
    }

    #[test]
    fn running_sessions_finish_on_their_version() {
        let v1 = lib(&[("menu", MENU)]);
        let o = step(&v1, guardian(), Input::Text("hi".into()), &ctx());
        let old_hash = o.session.frames[0].hash.clone();
        // The file changes: the question step is renamed and the end text differs.
        let v2_src = MENU
            .replace("id: ask", "id: question")
            .replace("cases: { \"true\": ask }", "cases: { \"true\": question }")
            .replace("end: bye", "end: done");
        let mut v2 = lib(&[("menu", &v2_src)]);
        assert_ne!(v2.current("menu").unwrap().hash, old_hash);
        v2.add_version("menu", &old_hash, MENU).unwrap();
        let o = step(&v2, o.session, Input::Text("no".into()), &ctx());
        assert_eq!(texts_of(&o), vec!["Bye"], "finished on version 1");
        // A new run uses version 2.
        let o = step(&v2, o.session, Input::Text("hi".into()), &ctx());
        assert_eq!(o.session.frames[0].step, "question");
    }

    /// Whatever arrives, in whatever order, no shipped flow panics or gets stuck: after
    /// every input the conversation waits for the person, waits for an action, is
    /// handed off, or is idle.
    /// Runs the shipped flows for a guardian through `inputs`, answering calls with
    /// two children; returns the last output.
    fn drive(lib: &Library, mut s: Session, inputs: &[Input], ctx: &Context) -> Output {
        let mut last = None;
        for i in inputs {
            let mut o = step(lib, s, i.clone(), ctx);
            while o.session.calling {
                let mut m = Map::new();
                m.insert("count".into(), Value::from(2));
                m.insert(
                    "children".into(),
                    serde_json::json!([{ "id": "a", "label": "A" }, { "id": "b", "label": "B" }]),
                );
                o = step(lib, o.session, Input::Result(Ok(m)), ctx);
            }
            s = o.session.clone();
            last = Some(o);
        }
        last.unwrap()
    }

    fn text(t: &str) -> Input {
        Input::Text(t.into())
    }

    #[test]
    fn back_cancel_and_the_way_out_of_a_question() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
        let lib = Library::load(&dir).unwrap();
        let c = ctx();
        let o = drive(
            &lib,
            guardian(),
            &[text("leave"), text("2"), text("sick"), text("tomorrow")],
            &c,
        );
        assert_eq!(o.session.position(), "leave/reason");
        assert_eq!(o.session.frames[0].answered, ["pick", "kind", "dates"]);
        // back: the dates question again, its answer forgotten.
        let o = drive(&lib, o.session, &[text("back")], &c);
        assert_eq!(o.session.position(), "leave/dates");
        assert!(!o.session.frames[0].vars.contains_key("dates"));
        // cancel with two answers entered: asked first; "no" goes on at the same question.
        let o = drive(&lib, o.session, &[text("cancel")], &c);
        assert_eq!(o.session.position(), "cancel/confirm");
        let o = drive(&lib, o.session, &[text("no")], &c);
        assert_eq!(o.session.position(), "leave/dates");
        let o = drive(&lib, o.session, &[text("cancel"), text("yes")], &c);
        assert_eq!(o.session.position(), "menu/choose");
        assert_eq!(texts_of(&o)[0], "Cancelled.");
        // Three unreadable dates: no handoff, the draft kept, ways out offered.
        let o = drive(
            &lib,
            guardian(),
            &[
                text("leave"),
                text("1"),
                text("sick"),
                text("x"),
                text("y"),
                text("z"),
            ],
            &c,
        );
        assert!(!o.session.handoff);
        assert_eq!(o.session.position(), "leave/dates");
        let w = o.session.wait.clone().unwrap();
        assert_eq!(w.escapes, [Escape::Menu, Escape::Office]);
        // The office button: handed off with the draft kept and a release timer.
        let office = Input::Choice {
            id: format!("{}.2", w.token),
            title: "Office".into(),
        };
        let o = drive(&lib, o.session, &[office], &c);
        assert!(o.session.handoff && o.session.frames.len() == 1);
        assert!(o.effects.iter().any(
            |e| matches!(e, Effect::Timer { after, .. } if *after == DEFAULT_HANDOFF_RELEASE)
        ));
        // The release timer hands it back; the draft waits for the next message, which
        // takes it up again.
        let token = o.session.handoff_timer.clone().unwrap();
        let o = drive(&lib, o.session, &[Input::Timeout { token }], &c);
        assert!(!o.session.handoff && o.session.wait.is_none());
        assert_eq!(o.session.position(), "leave/dates");
        let o = drive(&lib, o.session, &[text("hello?")], &c);
        assert_eq!(o.session.position(), "leave/dates");
        assert!(texts_of(&o)[0].contains("unfinished request"));
        assert!(o.session.wait.is_some());
    }

    #[test]
    fn a_text_sent_before_a_staff_question_is_not_its_answer() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
        let lib = Library::load(&dir).unwrap();
        let c = ctx();
        let t = Trigger {
            flow: "language".into(),
            key: "k".into(),
            vars: Map::new(),
        };
        // At the menu (not in a request) the staff-started flow starts at once.
        let o = drive(
            &lib,
            guardian(),
            &[text("menu"), Input::Trigger(t.clone())],
            &c,
        );
        assert_eq!(o.session.position(), "language/choose");
        // A "1" the person sent a minute before it was asked (meant for the menu).
        let early = Context {
            sent_at: Some(c.now.timestamp() - 60),
            ..ctx()
        };
        let o2 = drive(&lib, o.session.clone(), &[text("1")], &early);
        assert_eq!(o2.session.position(), "language/choose");
        assert!(texts_of(&o2)[0].contains("sent before the question"));
        // Sent after it was asked: an answer.
        let after = Context {
            sent_at: Some(c.now.timestamp() + 5),
            ..ctx()
        };
        let o3 = drive(&lib, o.session, &[text("1")], &after);
        assert_ne!(o3.session.position(), "language/choose");
        // In the middle of a request the flow waits, and comes after 20 idle minutes.
        let o = drive(
            &lib,
            guardian(),
            &[text("leave"), text("1"), Input::Trigger(t)],
            &c,
        );
        assert_eq!(o.session.position(), "leave/kind");
        assert_eq!(o.session.queue.len(), 1);
        let idle = format!("idle:{}", o.session.wait.clone().unwrap().token);
        assert!(o.effects.iter().any(|e| matches!(e, Effect::Timer { token, after } if *token == idle && *after == IDLE_DELIVERY)));
        let o = drive(&lib, o.session, &[Input::Timeout { token: idle }], &c);
        assert_eq!(o.session.position(), "language/choose");
        assert!(texts_of(&o)[0].contains("A message from the school first"));
    }

    #[test]
    fn shipped_flows_survive_arbitrary_input() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
        let lib = Library::load(&dir).unwrap();
        let inputs = [
            "hi",
            "menu",
            "1",
            "2",
            "3",
            "7",
            "9",
            "۲",
            "yes",
            "no",
            "haan",
            "skip",
            "back",
            "help",
            "language",
            "urdu",
            "stop",
            "start",
            "kal",
            "5/12 to 1/12",
            "1/1/2020",
            "fees",
            "chutti",
            "K7M2-Q9XD",
            "",
            "🙂",
            "office",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let mut s = if round % 3 == 0 {
                Session::default()
            } else {
                guardian()
            };
            if round % 5 == 0 {
                s.who = Some(Who {
                    role: Role::Teacher,
                    id: uuid::Uuid::nil(),
                });
            }
            let mut resume = false;
            for _ in 0..40 {
                let r = next();
                let input = match r % 7 {
                    // Staff handed it back: the Resume event follows (as in the store).
                    _ if std::mem::take(&mut resume) => Input::Resume,
                    0 => Input::Choice {
                        id: format!("q{}.{}", r % 5, r % 4),
                        title: "x".into(),
                    },
                    1 => Input::Timeout {
                        token: format!("q{}", r % 6),
                    },
                    2 => Input::Media {
                        image: r % 2 == 0,
                        key: "k".into(),
                    },
                    3 => Input::Unreadable,
                    _ => Input::Text(inputs[(r as usize / 7) % inputs.len()].into()),
                };
                let mut o = step(&lib, s, input, &ctx());
                // Feed every call a plausible result (or a failure) until it settles.
                for _ in 0..10 {
                    if !o.session.calling {
                        break;
                    }
                    let r = next();
                    let result = if r % 4 == 0 {
                        Err("failed".to_string())
                    } else {
                        let mut m = Map::new();
                        m.insert(
                            "result".into(),
                            Value::from(["ok", "wrong", "locked"][r as usize % 3]),
                        );
                        m.insert("count".into(), Value::from(r % 3));
                        m.insert("children".into(), serde_json::json!([{ "id": "a", "label": "A" }, { "id": "b", "label": "B" }]));
                        m.insert(
                            "classes".into(),
                            serde_json::json!([{ "id": "c", "label": "C" }]),
                        );
                        m.insert("role".into(), Value::from("guardian"));
                        m.insert("state".into(), Value::from("pending"));
                        Ok(m)
                    };
                    o = step(&lib, o.session, Input::Result(result), &ctx());
                }
                let s2 = &o.session;
                let settled = s2.handoff || s2.calling || s2.wait.is_some() || s2.frames.is_empty();
                assert!(settled, "stuck at {}", s2.position());
                s = o.session;
                if s.handoff && r % 3 == 0 {
                    s.hand_back();
                    resume = true;
                }
            }
        }
    }
}
