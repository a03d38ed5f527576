//! The web admin's HTTP side so far: sign-in, two-factor (check and enrolment),
//! sign-out (here and everywhere) and the dashboard. Server-rendered HTML (minijinja,
//! autoescaped), no script at all; every response carries strict security headers and
//! `Cache-Control: no-store`; every state-changing form carries a CSRF token.
//!
//! The session cookie is `raabta_admin=<school slug>.<token>` (`HttpOnly`,
//! `SameSite=Strict`, `Path=/admin`, `Secure` when served over TLS); before sign-in a
//! `raabta_pre` cookie carries the sign-in form's CSRF token (double submit).

use super::auth::{ActiveSession, AuthError, NextStep, SessionToken, TwoFactor};
use super::error::{AdminError, Empty, PreSessionForm, Staff, StaffForm};
use super::{fees, imports, roster, AdminState};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::school::Slug;
use crate::store::tenancy::School;
use axum::extract::{DefaultBodyLimit, Form, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Environment};
use serde::Deserialize;
use std::sync::OnceLock;

store_port!(
    ActivityStore,
    AttendanceStore,
    ComplaintStore,
    FlowStore,
    OutboxStore,
    StaffAuthStore
);

const SESSION_COOKIE: &str = "raabta_admin";
const PRE_COOKIE: &str = "raabta_pre";

/// The admin's templates, each by its file name in `templates/` and compiled in.
macro_rules! admin_templates {
    ($($name:literal),+ $(,)?) => {
        [$(($name, include_str!(concat!("templates/", $name)))),+]
    };
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        super::i18n::register(&mut env);
        // Every shown value loses bidi overrides (see domain::bidi), then is escaped.
        env.set_formatter(|out, state, value| {
            if let Some(std::borrow::Cow::Owned(clean)) =
                value.as_str().map(crate::domain::bidi::neutralise)
            {
                let clean = if value.is_safe() {
                    minijinja::Value::from_safe_string(clean)
                } else {
                    minijinja::Value::from(clean)
                };
                return minijinja::escape_formatter(out, state, &clean);
            }
            minijinja::escape_formatter(out, state, value)
        });
        for (name, source) in admin_templates![
            "base.html",
            "macros.html",
            "login.html",
            "totp.html",
            "enrol.html",
            "dashboard.html",
            "leave_list.html",
            "consent_list.html",
            "consent_view.html",
            "outbox.html",
            "activity.html",
            "codes.html",
            "slips.html",
            "conversations.html",
            "conversation.html",
            "leave_view.html",
            "complaints.html",
            "complaint.html",
            "channels.html",
            "settings.html",
            "roster_list.html",
            "student.html",
            "import.html",
            "staff.html",
            "fees.html",
            "fee_student.html",
            "attendance.html",
            "reset_request.html",
            "reset_form.html",
            "reset_issued.html",
            "face_student.html",
            "face_sessions.html",
            "leads.html",
            "lead.html",
            "faq.html",
            "privacy.html",
            "privacy_request.html",
            "export.html",
        ] {
            if let Err(e) = env.add_template(name, source) {
                // Templates are compiled into the binary; a unit test renders each one.
                tracing::error!(template = name, error = %e, "admin template does not parse");
            }
        }
        env
    })
}

pub(super) fn render(name: &str, ctx: minijinja::Value) -> Response {
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "admin page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
        }
    }
}

/// A page with its own status (a refused form's 422, say); a page that could not be
/// rendered keeps its 500.
pub(super) fn render_with_status(
    name: &str,
    ctx: minijinja::Value,
    status: StatusCode,
) -> Response {
    let mut res = render(name, ctx);
    if res.status().is_success() {
        *res.status_mut() = status;
    }
    res
}

/// What a signed-in page says above its content, and its status: nothing (200), a
/// refusal shown as the page's error (422, or the status given), or a notice (200).
pub(super) struct Said {
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
}

impl Said {
    pub(super) fn nothing() -> Self {
        Said {
            error: None,
            notice: None,
            status: StatusCode::OK,
        }
    }

    /// A refused form (422), its message shown as the page's error.
    pub(super) fn refused(message: impl Into<String>) -> Self {
        Said::refused_with(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub(super) fn refused_with(status: StatusCode, message: impl Into<String>) -> Self {
        Said {
            error: Some(message.into()),
            notice: None,
            status,
        }
    }

    /// Something done, said on the page (200).
    pub(super) fn notice(message: impl Into<String>) -> Self {
        Said {
            error: None,
            notice: Some(message.into()),
            status: StatusCode::OK,
        }
    }
}

/// A signed-in page: the shared context and the page's own, with what it says (`error`,
/// `notice`) and its status.
pub(super) fn render_page(
    name: &str,
    school: &School,
    s: &ActiveSession,
    page: minijinja::Value,
    said: Said,
) -> Response {
    let Said {
        error,
        notice,
        status,
    } = said;
    render_with_status(
        name,
        page_ctx(
            school,
            s,
            context! { error => error, notice => notice, ..page },
        ),
        status,
    )
}

/// The id in a request's path: anything that is not one is not found (404), like an
/// id outside the person's scope.
pub(super) fn path_id(raw: &str) -> Result<uuid::Uuid, AdminError> {
    raw.parse::<uuid::Uuid>().map_err(|_| AdminError::NotFound)
}

/// An activity entry for something a signed-in staff member did in the admin.
pub(super) fn staff_activity(
    s: &ActiveSession,
    action: &str,
    subject: Option<String>,
    details: serde_json::Value,
    at: chrono::DateTime<chrono::Utc>,
) -> crate::domain::activity::ActivityEntry {
    let mut e = crate::domain::activity::ActivityEntry::now(
        &format!("staff:{}", s.staff.id.0),
        action,
        subject,
        "admin",
        details,
    );
    e.at = at;
    e
}

/// The same, for an action on one thing (`subject`, e.g. `outbox:<id>`) that has no
/// details to log.
pub(super) fn staff_action(
    s: &ActiveSession,
    action: &str,
    subject: String,
    at: chrono::DateTime<chrono::Utc>,
) -> crate::domain::activity::ActivityEntry {
    staff_activity(s, action, Some(subject), serde_json::json!({}), at)
}

/// The classes this person may see: the whole school (admin), their branch's classes
/// (branch manager) or their own classes (teacher).
pub(super) async fn visible_classes(
    store: &(impl crate::store::FlowStore + ?Sized),
    s: &ActiveSession,
) -> Result<Vec<crate::store::ClassRow>, crate::store::StoreError> {
    Ok(match s.staff.role {
        StaffRole::Admin => store.classes().await?,
        StaffRole::BranchManager => store
            .classes()
            .await?
            .into_iter()
            .filter(|c| Some(c.branch) == s.staff.branch)
            .collect(),
        StaffRole::Teacher => store.classes_of_staff(s.staff.id).await?,
    })
}

/// Pages of the office (administrators and branch managers): a teacher is answered
/// 404, as if the page were not there.
pub(super) fn office_only(s: &ActiveSession) -> Result<(), AdminError> {
    if s.staff.role == StaffRole::Teacher {
        return Err(AdminError::NotFound);
    }
    Ok(())
}

/// The student of a path, if this person may change their records: administrators
/// and branch managers, in the classes they see (teachers change none). Else 404.
pub(super) async fn editable_student(
    store: &(impl crate::store::FlowStore + crate::store::OfficeStore + ?Sized),
    s: &ActiveSession,
    id: &str,
) -> Result<crate::domain::roster::Student, AdminError> {
    let Ok(id) = id.parse::<uuid::Uuid>().map(crate::domain::StudentId) else {
        return Err(AdminError::NotFound);
    };
    office_only(s)?;
    let classes = visible_classes(store, s).await?;
    store
        .student_detail(id)
        .await?
        .map(|(st, _)| st)
        .filter(|st| classes.iter().any(|c| c.id == st.class_id))
        .ok_or(AdminError::NotFound)
}

/// Classes as a page's choices (`id`, `label`), in the order given.
pub(super) fn class_choices<'a>(
    classes: impl IntoIterator<Item = &'a crate::store::ClassRow>,
) -> Vec<minijinja::Value> {
    classes
        .into_iter()
        .map(|c| context! { id => c.id.0.to_string(), label => c.label() })
        .collect()
}

/// The context every signed-in page shares (header, navigation by role, the form
/// token), merged with the page's own.
pub(super) fn page_ctx(
    school: &School,
    s: &ActiveSession,
    page: minijinja::Value,
) -> minijinja::Value {
    let role = s.staff.role;
    context! {
        signed_in => true,
        nav => s.mfa_done,
        is_admin => role == StaffRole::Admin,
        sees_fees => role != StaffRole::Teacher,
        sees_conversations => role != StaffRole::Teacher,
        csrf => s.csrf_token.expose(),
        school => school.tenant.name.clone(),
        ..page
    }
}

/// The class ids this person may see; None means the whole school (admin).
pub(super) async fn visible_class_ids(
    store: &(impl crate::store::FlowStore + ?Sized),
    s: &ActiveSession,
) -> Result<Option<std::collections::HashSet<crate::domain::ClassId>>, crate::store::StoreError> {
    if s.staff.role == StaffRole::Admin {
        return Ok(None);
    }
    Ok(Some(
        visible_classes(store, s)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect(),
    ))
}

/// Form fields, with repeated names (checkbox lists) kept in order.
pub(super) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a field ("" if absent).
pub(super) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A CSV cell that a spreadsheet would run as a formula is prefixed with a quote.
pub(super) use crate::privacy::spreadsheet_safe as csv_cell;

pub(super) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn secure(app: &App) -> bool {
    app.config.public_url.starts_with("https://")
}

fn set_cookie(app: &App, name: &str, value: &str, clear: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict");
    if clear {
        c.push_str("; Max-Age=0");
    }
    if secure(app) {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The school and session behind the request's cookie, if any and still valid.
async fn current(
    admin: &AdminState,
    headers: &HeaderMap,
) -> Result<Option<(School, ActiveSession, SessionToken)>, AuthError> {
    let app = &admin.app;
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some((slug, token)) = value.split_once('.') else {
        return Ok(None);
    };
    let Ok(slug) = Slug::parse(slug) else {
        return Ok(None);
    };
    let Ok(school) = app.tenancy.school(slug.as_str()).await else {
        return Ok(None);
    };
    let token = SessionToken::from_cookie(token);
    let session = admin
        .auth
        .session(port(&school), &token, app.clock.now())
        .await?;
    Ok(session.map(|s| (school, s, token)))
}

/// The admin's routes on its own state, ready to merge into the service's router.
pub fn routes<S: Clone + Send + Sync + 'static>(admin: AdminState) -> Router<S> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/login", get(login_page).post(login))
        .route("/admin/2fa", get(totp_page).post(totp_submit))
        .route("/admin/2fa/setup", get(enrol_page).post(enrol_start))
        .route("/admin/logout", post(logout))
        .route("/admin/logout-everywhere", post(logout_everywhere))
        .route("/admin/admin.css", get(css))
        .route("/admin/lang", get(set_language))
        .route("/admin/conversations", get(super::conversations::list))
        .route("/admin/conversations/{id}", get(super::conversations::view))
        .route(
            "/admin/conversations/{id}/reply",
            post(super::conversations::reply),
        )
        .route(
            "/admin/conversations/{id}/hand-back",
            post(super::conversations::hand_back),
        )
        .route("/admin/codes", get(super::codes::page))
        .route("/admin/codes/issue", post(super::codes::issue))
        .route("/admin/codes/request", post(super::codes::request))
        .route("/admin/activity", get(super::activity::page))
        .route("/admin/activity.csv", get(super::activity::csv))
        .route("/admin/outbox", get(super::outbox::page))
        .route("/admin/outbox/{id}/retry", post(super::outbox::retry))
        .route(
            "/admin/consent",
            get(super::consent::list).post(super::consent::create),
        )
        .route("/admin/consent/{id}", get(super::consent::view))
        .route("/admin/consent/{id}/csv", get(super::consent::csv))
        .route("/admin/consent/{id}/remind", post(super::consent::remind))
        .route("/admin/outbox/{id}/manual", post(super::outbox::to_manual))
        .route("/admin/roster", get(super::roster::list))
        .route("/admin/roster/students", post(super::roster::create))
        .route(
            "/admin/roster/students/{id}",
            get(super::roster::view).post(super::roster::update),
        )
        .route(
            "/admin/roster/students/{id}/active",
            post(super::roster::set_active),
        )
        .route(
            "/admin/roster/students/{id}/guardians",
            post(super::roster::add_guardian),
        )
        .route(
            "/admin/roster/students/{id}/guardians/{guardian}/unlink",
            post(super::roster::unlink_guardian),
        )
        .route(
            "/admin/roster/students/{id}/guardians/{guardian}/revoke-codes",
            post(super::roster::revoke_codes),
        )
        .route("/admin/leads", get(super::leads::list))
        .route("/admin/leads.csv", get(super::leads::export))
        .route(
            "/admin/leads/{id}",
            get(super::leads::view).post(super::leads::update),
        )
        .route(
            "/admin/privacy",
            get(super::privacy::list).post(super::privacy::record),
        )
        .route("/admin/privacy/{id}", get(super::privacy::view))
        .route("/admin/privacy/{id}/erase", post(super::privacy::erase))
        .route("/admin/privacy/{id}/reject", post(super::privacy::reject))
        .route(
            "/admin/privacy/{id}/answered",
            post(super::privacy::answered),
        )
        .route("/admin/privacy/{id}/copy.zip", get(super::privacy::copy))
        .route(
            "/admin/export",
            get(super::privacy::exports).post(super::privacy::start_export),
        )
        .route(
            "/admin/export/{id}/download",
            get(super::privacy::download_export),
        )
        .route("/admin/faq", get(super::faq::view))
        .route("/admin/faq.csv", get(super::faq::export))
        .route("/admin/faq/entries", post(super::faq::save_entry))
        .route("/admin/faq/entries/delete", post(super::faq::delete_entry))
        .route("/admin/faq/import", post(super::faq::import))
        .route("/admin/roster/students/{id}/face", get(super::face::view))
        .route(
            "/admin/roster/students/{id}/face/consent",
            post(super::face::consent),
        )
        .route(
            "/admin/roster/students/{id}/face/samples",
            post(super::face::upload).layer(DefaultBodyLimit::max(super::face::MAX_PHOTO_BYTES)),
        )
        .route(
            "/admin/roster/students/{id}/face/samples/{sample}/delete",
            post(super::face::delete_sample),
        )
        .route(
            "/admin/roster/students/{id}/face/samples/delete-all",
            post(super::face::delete_all),
        )
        .route(
            "/admin/roster/students/{id}/face/withdraw",
            post(super::face::withdraw),
        )
        .route("/admin/face/sessions", get(super::face::sessions))
        .merge(imports::routes::<roster::RosterImport>())
        .route(
            "/admin/staff",
            get(super::roster::staff_page).post(super::roster::staff_create),
        )
        .route(
            "/admin/staff/{id}/active",
            post(super::roster::staff_set_active),
        )
        .route(
            "/admin/staff/{id}/classes",
            post(super::roster::staff_set_classes),
        )
        .route(
            "/admin/staff/{id}/reset-2fa",
            post(super::roster::staff_reset_two_factor),
        )
        .route(
            "/admin/staff/{id}/password-link",
            post(super::reset::admin_link),
        )
        .route(
            "/admin/reset",
            get(super::reset::request_page).post(super::reset::request),
        )
        .route(
            "/admin/reset/{link}",
            get(super::reset::form_page).post(super::reset::set_password),
        )
        .route("/admin/fees", get(super::fees::balances))
        .route("/admin/fees/students/{id}", get(super::fees::student))
        .route(
            "/admin/fees/students/{id}/lines",
            post(super::fees::save_line),
        )
        .route(
            "/admin/fees/students/{id}/payments",
            post(super::fees::payment),
        )
        .merge(imports::routes::<fees::FeeImport>())
        .route(
            "/admin/attendance",
            get(super::attendance::page).post(super::attendance::save),
        )
        .route(
            "/admin/channels",
            get(super::channels::page).post(super::channels::add),
        )
        .route("/admin/channels/my-phone", post(super::channels::my_phone))
        .route(
            "/admin/settings",
            get(super::settings::page).post(super::settings::save),
        )
        .route(
            "/admin/settings/holidays",
            post(super::settings::add_holiday),
        )
        .route(
            "/admin/settings/holidays/remove",
            post(super::settings::remove_holiday),
        )
        .route(
            "/admin/settings/holidays/import",
            post(super::settings::import_holidays),
        )
        .route("/admin/channels/{id}/rotate", post(super::channels::rotate))
        .route("/admin/channels/{id}/test", post(super::channels::test))
        .route("/admin/complaints", get(super::complaints::list))
        .route(
            "/admin/complaints/{id}",
            get(super::complaints::view).post(super::complaints::act),
        )
        .route(
            "/admin/complaints/{id}/files/{message}",
            get(super::complaints::file),
        )
        .route("/admin/leave", get(super::leave::list))
        .route("/admin/leave/{id}", get(super::leave::view))
        .route("/admin/leave/{id}/decide", post(super::leave::decide))
        .route(
            "/admin/leave/{id}/attachment",
            get(super::leave::attachment),
        )
        // Admin forms are small: a flood of large bodies must not buy memory (the CSV
        // imports above keep the service-wide limit).
        .layer(DefaultBodyLimit::max(ADMIN_FORM_BYTES))
        .layer(middleware::from_fn_with_state(
            admin.app.clone(),
            security_headers,
        ))
        .with_state(admin)
}

/// The largest admin form body (CSV imports excepted).
pub const ADMIN_FORM_BYTES: usize = 64 * 1024;
/// The longest password a sign-in form may carry (longer is refused before any work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Strict headers on every admin response: no script at all, no framing, no caching.
async fn security_headers(
    State(app): State<App>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    let locale = cookie(req.headers(), super::i18n::COOKIE)
        .and_then(|v| v.parse::<crate::domain::school::Locale>().ok())
        .filter(|l| l.is_school_language())
        .unwrap_or_default();
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut res = super::i18n::scope_request(locale, here, next.run(req)).await;
    let h = res.headers_mut();
    // A handler may set a stricter policy (attachments are sandboxed).
    if !h.contains_key("content-security-policy") {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if secure(&app) {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// Switches the admin's language (a preference cookie, no personal data) and returns
/// to the page, which must be an admin path on this site.
async fn set_language(
    State(app): State<App>,
    axum::extract::Query(q): axum::extract::Query<LangQuery>,
) -> Response {
    let Some(locale) =
        q.to.parse::<crate::domain::school::Locale>()
            .ok()
            .filter(|l| l.is_school_language())
    else {
        return (StatusCode::BAD_REQUEST, "Unknown language.").into_response();
    };
    let back = if q.back.starts_with("/admin")
        && !q.back.contains("//")
        && !q.back.contains('\\')
        && !q.back.chars().any(char::is_control)
    {
        q.back.as_str()
    } else {
        "/admin"
    };
    let mut res = redirect(back);
    let mut c = format!(
        "{}={}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=31536000",
        super::i18n::COOKIE,
        locale.as_str()
    );
    if secure(&app) {
        c.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res
}

async fn css() -> Response {
    (
        [(CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("templates/admin.css"),
    )
        .into_response()
}

async fn login_page(State(admin): State<AdminState>, headers: HeaderMap) -> Response {
    let app = &admin.app;
    if let Ok(Some(_)) = current(&admin, &headers).await {
        return redirect("/admin");
    }
    login_form(app, None, "", "")
}

/// A form token for pages without a session (sign-in, password reset): the same
/// random value in a cookie and in the form (double submit).
pub(super) fn pre_session_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub(super) fn with_pre_cookie(app: &App, mut res: Response, token: &str) -> Response {
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(app, PRE_COOKIE, token, false));
    res
}

/// The submitted form token matches the pre-session cookie (constant time).
pub(super) fn pre_session_ok(headers: &HeaderMap, submitted: &str) -> bool {
    let pre = cookie(headers, PRE_COOKIE).unwrap_or_default();
    !pre.is_empty() && super::auth::ct_eq(&pre, submitted)
}

fn login_form(app: &App, error: Option<&str>, school: &str, email: &str) -> Response {
    let pre = pre_session_token();
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut res = render_with_status(
        "login.html",
        context! { csrf => pre.clone(), error => error, school_value => school, email => email },
        status,
    );
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(app, PRE_COOKIE, &pre, false));
    res
}

#[derive(Deserialize)]
struct LoginForm {
    school: String,
    email: String,
    password: String,
}

async fn login(
    State(admin): State<AdminState>,
    PreSessionForm { address, form }: PreSessionForm<LoginForm>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    if form.password.len() > MAX_PASSWORD_BYTES || form.email.len() > 320 {
        return Err(AdminError::refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "That is too long.",
        ));
    }
    let school = match Slug::parse(form.school.trim()) {
        Ok(slug) => app.tenancy.school(slug.as_str()).await.ok(),
        Err(_) => None,
    };
    // An unknown school is limited, timed and answered like a wrong password, so
    // school names cannot be listed by trying them.
    let outcome = match &school {
        Some(school) => {
            admin
                .auth
                .sign_in(
                    port(school),
                    &form.email,
                    &form.password,
                    address,
                    app.clock.now(),
                )
                .await
        }
        None => {
            admin
                .auth
                .sign_in_unknown_school(&form.password, address)
                .await
        }
    };
    let school = match (outcome.is_ok(), school) {
        (true, Some(s)) => Some(s),
        _ => None,
    };
    let (signed, school) =
        match outcome.and_then(|o| school.map(|s| (o, s)).ok_or(AuthError::Invalid)) {
            Ok(x) => x,
            Err(AuthError::Invalid) => {
                return Ok(login_form(
                    app,
                    Some("The school, email or password is not right."),
                    &form.school,
                    &form.email,
                ))
            }
            Err(e @ (AuthError::Locked | AuthError::TooManyFromAddress | AuthError::Busy)) => {
                return Ok(too_many(
                    login_form(app, Some(&e.to_string()), &form.school, &form.email),
                    &e,
                ))
            }
            Err(AuthError::Hash(crate::password::HashError::Busy)) => {
                return Ok(too_many(
                    login_form(
                        app,
                        Some(&AuthError::Busy.to_string()),
                        &form.school,
                        &form.email,
                    ),
                    &AuthError::Busy,
                ))
            }
            Err(e) => return Err(e.into()),
        };
    let to = match signed.next {
        NextStep::Done => "/admin",
        NextStep::Totp => "/admin/2fa",
        NextStep::EnrolTotp => "/admin/2fa/setup",
    };
    let mut res = redirect(to);
    let value = format!("{}.{}", school.tenant.slug.as_str(), signed.token.expose());
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(app, SESSION_COOKIE, &value, false));
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(app, PRE_COOKIE, "", true));
    Ok(res)
}

/// 429 with Retry-After: a few seconds when the service is busy, a minute for the
/// per-address limit, the lockout window for a locked account.
pub(super) fn too_many(mut res: Response, why: &AuthError) -> Response {
    let seconds = match why {
        AuthError::Busy => 5,
        AuthError::Locked => super::auth::LOCKOUT_WINDOW.num_seconds(),
        _ => 60,
    };
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res
}

/// Signed in with two-factor done, or the [`AdminError`] that says where to go (the
/// extractors in `error.rs` stand on this).
pub(super) async fn signed_in(
    admin: &AdminState,
    headers: &HeaderMap,
) -> Result<(School, ActiveSession, SessionToken), AdminError> {
    match current(admin, headers).await? {
        Some((school, s, token)) if s.mfa_done => Ok((school, s, token)),
        Some((_, s, _)) if s.staff.totp_enabled_at.is_some() => {
            Err(AdminError::Redirect("/admin/2fa"))
        }
        Some(_) => Err(AdminError::Redirect("/admin/2fa/setup")),
        None => Err(AdminError::Redirect("/admin/login")),
    }
}

async fn dashboard(
    State(app): State<App>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let ctx = dashboard_ctx(&app, &school, &s).await?;
    Ok(render("dashboard.html", page_ctx(&school, &s, ctx)))
}

/// Width of the attendance chart's bar area (the SVG's viewBox is 640 wide).
const CHART_LABEL: i64 = 140;
const CHART_BARS: i64 = 420;

/// The dashboard's figures, scoped like every page: pending leave and today's
/// attendance for the person's classes; school-wide queues for administrators.
async fn dashboard_ctx(
    app: &App,
    school: &School,
    s: &ActiveSession,
) -> Result<minijinja::Value, crate::store::StoreError> {
    let store = port(school);
    // The person's classes, read once: the chart's rows and the leave scope.
    let mut classes = visible_classes(store, s).await?;
    classes.sort_by_key(|c| c.label());
    let ids: std::collections::HashSet<_> = classes.iter().map(|c| c.id).collect();
    let whole_school = s.staff.role == StaffRole::Admin;
    let pending = store
        .leave_requests(Some("pending"))
        .await?
        .into_iter()
        .filter(|r| whole_school || ids.contains(&r.class_id))
        .count();
    let now = app.clock.now();
    let today = school.tenant.timezone.today(now);
    let summary: std::collections::HashMap<_, _> = store
        .attendance_by_class(today)
        .await?
        .into_iter()
        .map(|c| (c.class, c))
        .collect();
    let mut chart = Vec::new();
    let (mut present_total, mut students_total) = (0, 0);
    for (i, c) in classes.iter().enumerate() {
        let Some(sum) = summary.get(&c.id) else {
            continue;
        };
        let unmarked = sum.students - sum.present - sum.late - sum.absent - sum.excused;
        present_total += sum.present + sum.late;
        students_total += sum.students;
        let mut x = CHART_LABEL;
        let mut segs = Vec::new();
        for (kind, n) in [
            ("present", sum.present),
            ("late", sum.late),
            ("absent", sum.absent),
            ("excused", sum.excused),
            ("unmarked", unmarked.max(0)),
        ] {
            if n == 0 {
                continue;
            }
            let w = (n * CHART_BARS) / sum.students.max(1);
            segs.push(context! { kind => kind, n => n, x => x, w => w.max(1) });
            x += w;
        }
        chart.push(context! {
            label => c.label(), y => 8 + (i as i64) * 26, segs => segs,
            present => sum.present + sum.late, students => sum.students,
        });
    }
    let chart_height = 16 + (chart.len() as i64) * 26;
    let admin = if s.staff.role == StaffRole::Admin {
        let handoffs = store.handoffs().await?.len();
        let (_, problems) = store.outbox_where(true, 0).await?;
        let consents: Vec<_> = store
            .consent_forms()
            .await?
            .into_iter()
            // (id, title, deadline, created): open until the deadline.
            .filter(|(_, _, deadline, _)| *deadline > now)
            .map(|(id, title, deadline, _)| {
                context! { id => id.to_string(), title => title,
                last_day => school.tenant.timezone.last_day(deadline).to_string() }
            })
            .collect();
        // Security alerts and teachers' requests of the last 14 days.
        let since = now - chrono::Duration::days(14);
        let recent = |prefix: &str| crate::store::ActivityFilter {
            actor_prefix: None,
            action_prefix: Some(prefix.to_string()),
            from: Some(since),
            to: None,
        };
        let not_me = store
            .activity_filtered(&recent("identity.not_me"), 200)
            .await?
            .len();
        let mut slip_requests: Vec<String> = store
            .activity_filtered(&recent("access_code.slips_requested"), 200)
            .await?
            .into_iter()
            .filter_map(|e| {
                e.details
                    .get("class")
                    .and_then(|c| c.as_str())
                    .map(String::from)
            })
            .collect();
        slip_requests.sort();
        slip_requests.dedup();
        let privacy_open = super::privacy::dashboard_open(school).await?;
        Some(context! {
            handoffs => handoffs, outbox_problems => problems, consents => consents,
            not_me => not_me, slip_requests => slip_requests.join(", "),
            privacy_open => privacy_open,
        })
    } else {
        None
    };
    let (complaints_open, complaints_unassigned, complaints_mine) =
        super::complaints::dashboard_counts(store, s).await?;
    let leads_new = super::leads::dashboard_new(school, s).await?;
    Ok(context! {
        name => s.staff.full_name.clone(),
        role => s.staff.role.as_str(),
        pending_leave => pending,
        complaints_open => complaints_open,
        complaints_unassigned => complaints_unassigned,
        complaints_mine => complaints_mine,
        leads_new => leads_new,
        today => today.to_string(),
        chart => chart,
        chart_height => chart_height,
        present_total => present_total,
        students_total => students_total,
        admin => admin,
    })
}

/// The two-factor page: only for a session that has not done it yet.
async fn totp_page(
    State(admin): State<AdminState>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    Ok(match current(&admin, &headers).await? {
        Some((school, s, _)) if !s.mfa_done => {
            render("totp.html", page_ctx(&school, &s, context! {}))
        }
        Some(_) => redirect("/admin"),
        None => redirect("/admin/login"),
    })
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: String,
    code: String,
}

async fn totp_submit(
    State(admin): State<AdminState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    // Any session, whether or not two-factor is done yet.
    let Some((school, s, token)) = current(&admin, &headers).await? else {
        return Ok(redirect("/admin/login"));
    };
    if !s.csrf_ok(&form.csrf) {
        return Err(AdminError::FormExpired);
    }
    let outcome = admin
        .auth
        .second_factor(
            port(&school),
            &token,
            &form.code,
            crate::app::client_address(app, &headers, &extensions),
            app.clock.now(),
        )
        .await;
    let (status, error) = match outcome {
        Ok(TwoFactor::Passed(fresh)) => {
            let mut res = redirect("/admin");
            let value = format!("{}.{}", school.tenant.slug.as_str(), fresh.expose());
            res.headers_mut()
                .append(SET_COOKIE, set_cookie(app, SESSION_COOKIE, &value, false));
            return Ok(res);
        }
        Ok(TwoFactor::NoSession) => return Ok(redirect("/admin/login")),
        Ok(TwoFactor::Locked) => {
            let mut res = login_form(
                app,
                Some("Too many wrong codes: this account is locked for 15 minutes."),
                school.tenant.slug.as_str(),
                "",
            );
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            res.headers_mut()
                .append(SET_COOKIE, set_cookie(app, SESSION_COOKIE, "", true));
            return Ok(res);
        }
        Ok(TwoFactor::Wrong) => (
            StatusCode::UNAUTHORIZED,
            "That code is not right (or was used already). Try the next one.",
        ),
        Err(AuthError::TooManyFromAddress) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from this address; wait a minute.",
        ),
        Err(AuthError::Busy | AuthError::Hash(crate::password::HashError::Busy)) => (
            StatusCode::TOO_MANY_REQUESTS,
            "The service is busy; try again in a few seconds.",
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(render_with_status(
        "totp.html",
        page_ctx(&school, &s, context! { error => error }),
        status,
    ))
}

/// The enrolment page: for any session, two-factor done or not.
async fn enrol_page(
    State(admin): State<AdminState>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let Some((school, s, _)) = current(&admin, &headers).await? else {
        return Ok(redirect("/admin/login"));
    };
    Ok(render(
        "enrol.html",
        page_ctx(
            &school,
            &s,
            context! {
                required => s.staff.role == StaffRole::Admin,
            },
        ),
    ))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn enrol_start(
    State(admin): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    let Some((school, s, _)) = current(&admin, &headers).await? else {
        return Ok(redirect("/admin/login"));
    };
    if !s.csrf_ok(&form.csrf) {
        return Err(AdminError::FormExpired);
    }
    // Someone already past two-factor must not be able to swap it from a half-signed-in
    // session; re-enrolment happens only from a full session or before the first one.
    // Once two-factor is on it is not set up again here (a lost phone uses a
    // recovery code).
    if s.staff.totp_enabled_at.is_some() {
        return Ok(redirect(if s.mfa_done { "/admin" } else { "/admin/2fa" }));
    }
    let email = s.staff.email.clone();
    let enrolment = match admin
        .auth
        .begin_enrolment(
            port(&school),
            &s.staff,
            &email,
            &school.tenant.name,
            app.clock.now(),
        )
        .await
    {
        Ok(e) => e,
        Err(AuthError::Hash(crate::password::HashError::Busy)) => {
            return Ok(too_many(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "The service is busy; try again in a few seconds.",
                )
                    .into_response(),
                &AuthError::Busy,
            ))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(render(
        "enrol.html",
        page_ctx(
            &school,
            &s,
            context! {
                qr_svg => enrolment.qr_svg,
                secret => enrolment.secret_base32.expose(),
                recovery_codes => enrolment.recovery_codes.iter().map(|c| c.expose().clone()).collect::<Vec<_>>(),
            },
        ),
    ))
}

async fn logout(
    State(admin): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    // Signing out works from any session, and without one (or when it cannot be read)
    // just clears the cookie.
    if let Ok(Some((school, s, token))) = current(&admin, &headers).await {
        if !s.csrf_ok(&form.csrf) {
            return Err(AdminError::FormExpired);
        }
        admin.auth.sign_out(port(&school), &token).await?;
    }
    let mut res = redirect("/admin/login");
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(app, SESSION_COOKIE, "", true));
    Ok(res)
}

async fn logout_everywhere(
    State(admin): State<AdminState>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    let Staff { school, session: s } = staff;
    admin
        .auth
        .sign_out_everywhere(port(&school), s.staff.id, app.clock.now())
        .await?;
    let mut res = redirect("/admin/login");
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(app, SESSION_COOKIE, "", true));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders() {
        // Every page (the macros are no page of their own).
        for name in templates().templates().map(|(n, _)| n).collect::<Vec<_>>() {
            if name == "macros.html" {
                continue;
            }
            let t = templates().get_template(name).unwrap();
            let html = t
                .render(context! { csrf => "x", signed_in => true, qr_svg => "<svg></svg>", recovery_codes => vec!["A"] })
                .unwrap();
            assert!(html.contains("<html"), "{name}");
        }
        // Every template file is registered.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/admin/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".html") {
                assert!(
                    templates().get_template(&name).is_ok(),
                    "{name} is not registered"
                );
            }
        }
        // Autoescaping is on: a name cannot inject markup.
        let html = templates()
            .get_template("dashboard.html")
            .unwrap()
            .render(context! { name => "<script>x</script>" })
            .unwrap();
        assert!(!html.contains("<script>"));
    }
}
