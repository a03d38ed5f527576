//! The web chat (issue 18): a school's enquiry bot on its own website, as a small page
//! (`GET /chat/<school>`, embeddable in an iframe) that works without JavaScript by
//! form posts and, with it, without page reloads through `POST /chat/<school>/messages`
//! (JSON). Both run the same engine and flows as WhatsApp: the person is a stranger on
//! the school's `web` channel until they type an access code.
//!
//! - The conversation is named by a random token the server returns in the response
//!   body and the page sends back (a hidden field, or the script's memory): no cookie,
//!   nothing personal in a URL. The database keeps only a hash of it, as the sender.
//! - Cross-site requests can do no harm: there is no cookie to ride on, a foreign page
//!   cannot read the token, and the JSON endpoint takes `application/json` only (a
//!   plain cross-site form cannot send it without the browser asking first).
//! - Limits: per address, per conversation and per school (429 with Retry-After), a
//!   body limit (413) and a message length limit (400), and a bound on steps run at
//!   once for web requests (503 past it; the message is kept and answered by the
//!   worker, shown on the next request).

use crate::app::App;
use crate::domain::message::{InboundBody, InboundEvent, OutboundMessage, Provider, SenderId};
use crate::domain::school::{Locale, Tenant};
use crate::store::{ThreadBody, ThreadItem};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// The longest message the chat takes (characters), as for WhatsApp's enquiry flow.
pub const MAX_TEXT: usize = 1000;
/// The largest request body (bytes): a message of MAX_TEXT characters in any script,
/// its token and JSON or form encoding fit well inside.
pub const MAX_BODY: usize = 16 * 1024;
/// Messages shown on the page (the latest).
const SHOWN: i64 = 50;
/// How long a request waits for a free step slot before answering 503.
const STEP_WAIT: Duration = Duration::from_secs(10);

/// The web chat's limits, one set per process.
pub struct Limits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_conversation: DefaultKeyedRateLimiter<[u8; 16]>,
    per_school: DefaultKeyedRateLimiter<Uuid>,
    /// Access-code-shaped messages per address (each is a login attempt).
    codes: DefaultKeyedRateLimiter<IpAddr>,
    /// Conversation steps run at once for web requests.
    steps: Semaphore,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

/// The key an address is counted under: an IPv6 client's /64 (one subscriber's
/// network), an IPv4 address as it is.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Entries a keyed limiter keeps before the stale ones are dropped.
const KEYS_KEPT: usize = 20_000;

type Wait = governor::NotUntil<governor::clock::QuantaInstant>;

fn wait(e: Wait) -> Duration {
    e.wait_time_from(governor::clock::Clock::now(
        &governor::clock::QuantaClock::default(),
    ))
}

impl Limits {
    /// Per address: `address` messages a minute (the burst as many), 10 access codes an
    /// hour; per conversation: 12 a minute, 6 at once; per school: `school` a minute.
    pub fn new(address: u32, school: u32) -> Limits {
        Limits {
            per_address: RateLimiter::keyed(
                Quota::per_minute(nz(address)).allow_burst(nz(address)),
            ),
            per_conversation: RateLimiter::keyed(Quota::per_minute(nz(12)).allow_burst(nz(6))),
            per_school: RateLimiter::keyed(
                Quota::per_minute(nz(school)).allow_burst(nz(school / 4)),
            ),
            codes: RateLimiter::keyed(Quota::per_hour(nz(10))),
            steps: Semaphore::new(4),
        }
    }

    fn prune(&self) {
        if self.per_address.len() > KEYS_KEPT {
            self.per_address.retain_recent();
        }
        if self.per_conversation.len() > KEYS_KEPT {
            self.per_conversation.retain_recent();
        }
        if self.codes.len() > KEYS_KEPT {
            self.codes.retain_recent();
        }
    }

    /// The address's and the school's limits (before anything is looked up).
    fn check_address(&self, ip: IpAddr, school: Uuid) -> Result<(), ChatError> {
        self.prune();
        if let Err(e) = self.per_address.check_key(&address_key(ip)) {
            return Err(ChatError::TooMany("this address", wait(e)));
        }
        if let Err(e) = self.per_school.check_key(&school) {
            return Err(ChatError::TooMany("this school's chat", wait(e)));
        }
        Ok(())
    }

    /// The conversation's limit.
    fn check_conversation(&self, conversation: [u8; 16]) -> Result<(), ChatError> {
        self.per_conversation
            .check_key(&conversation)
            .map_err(|e| ChatError::TooMany("this conversation", wait(e)))
    }

    /// A message shaped like an access code: at most 10 an hour from an address.
    fn check_code(&self, ip: IpAddr) -> Result<(), ChatError> {
        self.codes
            .check_key(&address_key(ip))
            .map_err(|e| ChatError::TooMany("this address (access codes)", wait(e)))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(30, 600)
    }
}

/// Why a chat request was refused. The reason is shown to the page; nothing in it
/// comes from the school's data or echoes the message.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("no such school")]
    NoSchool,
    #[error("{0}")]
    BadRequest(String),
    #[error("send JSON (Content-Type: application/json)")]
    NotJson,
    #[error("too many messages from {0}; try again in a moment")]
    TooMany(&'static str, Duration),
    #[error("the chat is not available right now")]
    Internal,
}

impl ChatError {
    fn status(&self) -> StatusCode {
        match self {
            ChatError::NoSchool => StatusCode::NOT_FOUND,
            ChatError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ChatError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ChatError::TooMany(..) => StatusCode::TOO_MANY_REQUESTS,
            ChatError::Internal => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<crate::store::StoreError> for ChatError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "web chat: store error");
        ChatError::Internal
    }
}

impl IntoResponse for ChatError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), Json(json!({ "error": self.to_string() }))).into_response();
        if let ChatError::TooMany(_, wait) = &self {
            let secs = wait.as_secs().max(1).to_string();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        secure_headers(res.headers_mut());
        res
    }
}

/// The web chat's routes (with their own body limit).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/chat/chat.js", get(script))
        .route("/chat/chat.css", get(style))
        .route("/chat/{school}", get(page).post(form_post))
        .route("/chat/{school}/messages", axum::routing::post(json_post))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The school's web channel: one per school, never a provider channel row.
pub fn channel_of(tenant: &Tenant) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"raabta:web-chat:");
    h.update(tenant.id.0.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// A fresh conversation token: 32 random bytes, URL-safe base64 (43 characters).
fn new_token() -> String {
    let b: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The sender a token stands for (its hash: the token itself is never stored) and the
/// key its limit is counted under.
fn sender_of(token: &str) -> Result<(String, [u8; 16]), ChatError> {
    let ok = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(ChatError::BadRequest(
            "the conversation token is not valid".into(),
        ));
    }
    let digest = Sha256::digest(token.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    Ok((format!("web:{}", hex::encode(key)), key))
}

/// What the person sent: text, or a tapped button.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    choice: Option<ChoiceIn>,
    /// Only the conversation as it stands (replies that came later: a staff answer).
    #[serde(default)]
    refresh: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceIn {
    id: String,
    title: String,
}

/// One message on the page.
#[derive(Debug, Serialize)]
pub struct Shown {
    from: &'static str,
    text: String,
    choices: Vec<ChoiceOut>,
}

#[derive(Debug, Serialize)]
pub struct ChoiceOut {
    id: String,
    title: String,
}

#[derive(Debug, Serialize)]
pub struct ChatResponse {
    token: String,
    messages: Vec<Shown>,
    /// The message is stored but not answered yet (the chat was busy): the page asks
    /// again shortly.
    pending: bool,
}

fn body_of(req: &ChatRequest) -> Result<InboundBody, ChatError> {
    match (&req.text, &req.choice) {
        (Some(_), Some(_)) => Err(ChatError::BadRequest(
            "send either text or a choice, not both".into(),
        )),
        (None, None) => Err(ChatError::BadRequest("the message is empty".into())),
        (Some(t), None) => {
            let t = t.trim();
            if t.is_empty() {
                return Err(ChatError::BadRequest("the message is empty".into()));
            }
            if t.chars().count() > MAX_TEXT {
                return Err(ChatError::BadRequest(format!(
                    "the message is too long (at most {MAX_TEXT} characters)"
                )));
            }
            Ok(InboundBody::Text {
                text: t.to_string(),
            })
        }
        (None, Some(c)) => {
            if c.id.len() > 200 || c.title.chars().count() > 200 || c.id.is_empty() {
                return Err(ChatError::BadRequest("the choice is not valid".into()));
            }
            Ok(InboundBody::Choice {
                id: c.id.clone(),
                title: c.title.clone(),
                callback_id: None,
            })
        }
    }
}

/// The school of a chat URL, if it is serving.
async fn active_tenant(app: &App, slug: &str) -> Result<Tenant, ChatError> {
    let tenant = app
        .tenancy
        .tenant(slug)
        .await
        .map_err(|_| ChatError::NoSchool)?;
    if tenant.status != crate::domain::school::TenantStatus::Active
        || app.registry.current().is_closing(tenant.id)
    {
        return Err(ChatError::NoSchool);
    }
    Ok(tenant)
}

async fn school(app: &App, slug: &str) -> Result<crate::store::tenancy::School, ChatError> {
    let tenant = active_tenant(app, slug).await?;
    Ok(app.tenancy.open(tenant).await?)
}

/// Stores the message, runs the conversation's step (bounded), and returns the
/// conversation as the page shows it. The address's and the school's limits come
/// first, before anything is looked up.
async fn handle(
    app: &App,
    slug: &str,
    ip: IpAddr,
    req: ChatRequest,
) -> Result<ChatResponse, ChatError> {
    let tenant = active_tenant(app, slug).await?;
    app.webchat.check_address(ip, tenant.id.0)?;
    let body = if req.refresh {
        if req.text.is_some() || req.choice.is_some() {
            return Err(ChatError::BadRequest("a refresh sends no message".into()));
        }
        None
    } else {
        Some(body_of(&req)?)
    };
    let school = app.tenancy.open(tenant).await?;
    let channel = channel_of(&school.tenant);
    let store = school.store.as_ref();
    let (token, sender) = match req.token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            let (sender, key) = sender_of(t)?;
            if body.is_some() {
                app.webchat.check_conversation(key)?;
            }
            if store.conversation_of(channel, &sender).await?.is_none() {
                return Err(ChatError::BadRequest(
                    "this conversation has ended; reload the page to start a new one".into(),
                ));
            }
            (t.to_string(), sender)
        }
        None if body.is_none() => {
            return Err(ChatError::BadRequest(
                "a refresh needs the conversation's token".into(),
            ))
        }
        None => {
            let t = new_token();
            let (sender, _) = sender_of(&t)?;
            (t, sender)
        }
    };
    let Some(body) = body else {
        let conv = store
            .conversation_of(channel, &sender)
            .await?
            .ok_or(ChatError::Internal)?;
        let thread = store.conversation_thread(conv, SHOWN).await?;
        return Ok(ChatResponse {
            token,
            messages: shown(&thread),
            pending: false,
        });
    };
    if let InboundBody::Text { text } = &body {
        if crate::domain::access_code::AccessCode::parse(text).is_some() {
            app.webchat.check_code(ip)?;
        }
    }
    let now = app.clock.now();
    let event = InboundEvent {
        provider_key: format!("web:{}", Uuid::now_v7()),
        sender: SenderId::new(sender.clone()),
        sender_name: None,
        sent_at: Some(now.timestamp()),
        body,
    };
    store
        .record_inbound(channel, Provider::Web, &[event], now)
        .await?;
    let conv = store
        .conversation_of(channel, &sender)
        .await?
        .ok_or(ChatError::Internal)?;
    tracing::info!(school = %school.tenant.slug, conversation = %conv, "web chat message");
    // The step runs here (the worker would find it too): bounded, so a burst of web
    // requests queues instead of crowding out the worker. Past the bound the message
    // waits for the worker and the page asks again.
    let pending = match tokio::time::timeout(STEP_WAIT, app.webchat.steps.acquire()).await {
        Ok(Ok(_permit)) => {
            let driver = crate::worker::driver::FlowDriver::for_tenant(app, &school.tenant);
            crate::worker::run_conversation(store, &driver, conv, &app.clock, &app.metrics).await?;
            app.wake_worker();
            false
        }
        _ => {
            app.wake_worker();
            true
        }
    };
    let thread = store.conversation_thread(conv, SHOWN).await?;
    Ok(ChatResponse {
        token,
        messages: shown(&thread),
        pending,
    })
}

/// The thread as the page shows it: buttons only on the latest message, when it is
/// the bot's.
fn shown(thread: &[ThreadItem]) -> Vec<Shown> {
    let last = thread.len().saturating_sub(1);
    thread
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match &item.body {
            ThreadBody::Outbound(OutboundMessage::Text { text, choices, .. }) => Some(Shown {
                from: "bot",
                text: unmarked(&crate::flow::text::strip_isolation(text)),
                choices: if i == last {
                    choices
                        .iter()
                        .map(|c| ChoiceOut {
                            id: c.id.clone(),
                            title: crate::flow::text::strip_isolation(&c.title),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            }),
            ThreadBody::Outbound(_) => None,
            ThreadBody::Inbound(InboundBody::Text { text }) => Some(Shown {
                from: "you",
                text: text.clone(),
                choices: Vec::new(),
            }),
            ThreadBody::Inbound(InboundBody::Choice { title, .. }) => Some(Shown {
                from: "you",
                text: title.clone(),
                choices: Vec::new(),
            }),
            ThreadBody::Inbound(_) => None,
        })
        .collect()
}

/// A chat text without WhatsApp's bold marks (`*apply*` reads "apply" on the page).
fn unmarked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('*') {
        let after = &rest[start + 1..];
        match after.find('*') {
            // A pair around a word or phrase on one line.
            Some(end)
                if end > 0
                    && !after[..end].contains('\n')
                    && !after.starts_with(' ')
                    && !after[..end].ends_with(' ') =>
            {
                out.push_str(&rest[..start]);
                out.push_str(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn secure_headers(h: &mut HeaderMap) {
    // Embeddable on the school's own website: any page may frame it (it holds nothing
    // of anyone until they type).
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors *",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn json_post(
    State(app): State<App>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return ChatError::NotJson.into_response();
    }
    let req: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            // serde's reason names the field and position, never the message.
            return ChatError::BadRequest(format!(
                "the request is not valid JSON for the chat: {}",
                json_reason(&e)
            ))
            .into_response();
        }
    };
    let ip = crate::app::client_address(&app, &headers, &extensions);
    match handle(&app, &slug, ip, req).await {
        Ok(r) => {
            let mut res = Json(r).into_response();
            secure_headers(res.headers_mut());
            res
        }
        Err(e) => e.into_response(),
    }
}

/// Why a body is not a chat request: where, and which field, never its values.
fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!("syntax error at line {} column {}", e.line(), e.column())
        }
        Category::Data => {
            let s = e.to_string();
            if s.starts_with("unknown field") || s.starts_with("missing field") {
                s
            } else {
                format!(
                    "a field has the wrong type at line {} column {}",
                    e.line(),
                    e.column()
                )
            }
        }
    }
}

/// The no-JavaScript form: the same fields, form-encoded.
#[derive(Debug, Deserialize)]
pub struct ChatForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    text: String,
    /// A tapped button: its id and title, as `id|title`.
    #[serde(default)]
    choice: String,
}

async fn form_post(
    State(app): State<App>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<ChatForm>(&body) else {
        return ChatError::BadRequest("the form is not valid".into()).into_response();
    };
    let choice = form.choice.split_once('|').map(|(id, title)| ChoiceIn {
        id: id.to_string(),
        title: title.to_string(),
    });
    let req = ChatRequest {
        token: Some(form.token.clone()).filter(|t| !t.is_empty()),
        text: Some(form.text).filter(|_| form.choice.is_empty()),
        choice,
        refresh: false,
    };
    let ip = crate::app::client_address(&app, &headers, &extensions);
    let Ok(school_row) = app.tenancy.tenant(&slug).await else {
        return ChatError::NoSchool.into_response();
    };
    match handle(&app, &slug, ip, req).await {
        Ok(r) => {
            let note = r.pending.then(|| {
                "Your message was kept; the answer comes shortly (send the page again to see it).".to_string()
            });
            render_page(&school_row, &r.token, &r.messages, note, StatusCode::OK)
        }
        Err(e @ ChatError::NoSchool) => e.into_response(),
        // Over a limit: the page with the reason and the token, not the thread (no
        // work for a flood).
        Err(e @ ChatError::TooMany(..)) => {
            let status = e.status();
            render_page(&school_row, &form.token, &[], Some(e.to_string()), status)
        }
        Err(e) => {
            // The page again with the reason; the conversation (if any) stays.
            let status = e.status();
            let token = form.token;
            let messages = match (sender_of(&token), school(&app, &slug).await) {
                (Ok((sender, _)), Ok(s)) => {
                    match s
                        .store
                        .conversation_of(channel_of(&s.tenant), &sender)
                        .await
                    {
                        Ok(Some(conv)) => s
                            .store
                            .conversation_thread(conv, SHOWN)
                            .await
                            .map(|t| shown(&t))
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    }
                }
                _ => Vec::new(),
            };
            render_page(&school_row, &token, &messages, Some(e.to_string()), status)
        }
    }
}

async fn page(State(app): State<App>, Path(slug): Path<String>) -> Response {
    match active_tenant(&app, &slug).await {
        Ok(t) => render_page(&t, "", &[], None, StatusCode::OK),
        Err(e) => e.into_response(),
    }
}

/// The page's words in the school's language.
fn words(locale: Locale) -> [(&'static str, &'static str); 6] {
    match locale {
        Locale::Ur => [
            ("title", "سے پوچھیں"),
            ("intro", "داخلے، فیس، اوقات وغیرہ کے بارے میں پوچھیں۔ اسکول کے والدین اپنا رسائی کوڈ لکھ سکتے ہیں۔"),
            ("placeholder", "اپنا پیغام لکھیں"),
            ("send", "بھیجیں"),
            ("notice", "اسکول یہ گفتگو زیادہ سے زیادہ 12 ماہ تک رکھتا ہے۔ پاس ورڈ یا کارڈ نمبر نہ لکھیں۔"),
            ("you", "آپ"),
        ],
        Locale::Ar => [
            ("title", "اسأل"),
            ("intro", "اسأل عن القبول والرسوم والمواعيد وغيرها. يمكن لأولياء أمور الطلاب كتابة رمز الدخول."),
            ("placeholder", "اكتب رسالتك"),
            ("send", "إرسال"),
            ("notice", "تحتفظ المدرسة بهذه المحادثة مدة أقصاها 12 شهراً. لا تكتب كلمات المرور أو أرقام البطاقات."),
            ("you", "أنت"),
        ],
        _ => [
            ("title", "Ask"),
            ("intro", "Ask about admissions, fees, timings and more. Parents at the school can type their access code."),
            ("placeholder", "Type your message"),
            ("send", "Send"),
            ("notice", "The school keeps this conversation for up to 12 months. Do not type passwords or card numbers."),
            ("you", "You"),
        ],
    }
}

fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        if let Err(e) = env.add_template("chat.html", include_str!("chat.html")) {
            tracing::error!(error = %e, "web chat template does not parse");
        }
        env
    })
}

fn render_page(
    tenant: &Tenant,
    token: &str,
    messages: &[Shown],
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let w: std::collections::BTreeMap<&str, &str> = words(tenant.locale).into_iter().collect();
    let ctx = minijinja::context! {
        school => tenant.name.clone(),
        slug => tenant.slug.to_string(),
        lang => tenant.locale.as_str(),
        dir => if tenant.locale.is_rtl() { "rtl" } else { "ltr" },
        w => w,
        token => token,
        messages => messages
            .iter()
            .map(|m| minijinja::context! {
                from => m.from,
                text => m.text.clone(),
                choices => m.choices.iter().map(|c| minijinja::context! {
                    id => c.id.clone(), title => c.title.clone(),
                }).collect::<Vec<_>>(),
            })
            .collect::<Vec<_>>(),
        error => error,
        max => MAX_TEXT,
    };
    let mut res = match templates()
        .get_template("chat.html")
        .and_then(|t| t.render(ctx))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "web chat page could not be rendered");
            ChatError::Internal.into_response()
        }
    };
    secure_headers(res.headers_mut());
    res
}

/// A static file of the page, with the chat's headers.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    secure_headers(res.headers_mut());
    res
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("chat.js"))
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("chat.css"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_the_sender() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let (sender, _) = sender_of(&a).unwrap();
        assert!(sender.starts_with("web:"));
        assert!(!sender.contains(&a));
        assert!(sender_of("short").is_err());
        assert!(sender_of(&format!("{}!", &a[..42])).is_err());
    }

    #[test]
    fn a_message_is_text_or_a_choice_within_the_limit() {
        let req = |text: Option<&str>, choice: bool| ChatRequest {
            token: None,
            refresh: false,
            text: text.map(str::to_string),
            choice: choice.then(|| ChoiceIn {
                id: "1.yes".into(),
                title: "Yes".into(),
            }),
        };
        assert!(body_of(&req(Some("fees?"), false)).is_ok());
        assert!(body_of(&req(Some("  "), false)).is_err());
        assert!(body_of(&req(None, false)).is_err());
        assert!(body_of(&req(Some("x"), true)).is_err());
        assert!(body_of(&req(None, true)).is_ok());
        let long = "ب".repeat(MAX_TEXT + 1);
        assert!(body_of(&req(Some(&long), false)).is_err());
        assert!(body_of(&req(Some(&"ب".repeat(MAX_TEXT)), false)).is_ok());
    }

    #[test]
    fn bold_marks_are_dropped_and_lone_stars_kept() {
        assert_eq!(
            unmarked("Type *apply* or *person*."),
            "Type apply or person."
        );
        assert_eq!(unmarked("5 * 3 = 15"), "5 * 3 = 15");
        assert_eq!(unmarked("a *b"), "a *b");
        assert_eq!(unmarked("*ok*"), "ok");
    }

    #[test]
    fn the_conversation_limit_holds_per_token() {
        let l = Limits::new(1000, 1000);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let school = Uuid::now_v7();
        let key = [7u8; 16];
        let ok = (0..20)
            .filter(|_| l.check_conversation(key).is_ok())
            .count();
        assert_eq!(ok, 6);
        assert!(l.check_conversation([8u8; 16]).is_ok());
        assert!(l.check_address(ip, school).is_ok());
        // Ten access codes an hour from an address (an IPv6 /64 counts as one).
        let v6 = |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0x2400, 1, 2, 3, 9, 9, 9, last));
        let codes = (0..15).filter(|i| l.check_code(v6(*i)).is_ok()).count();
        assert_eq!(codes, 10);
        assert!(l.check_code(ip).is_ok());
    }
}
