//! Password reset: single-use links valid 30 minutes, only their SHA-256 kept, requests
//! kept 30 days. A staff member asks by email (sent over SMTP when configured); an
//! administrator can make a link for someone from the Staff page, and
//! `raabta users reset-link` prints one. Using a link sets the new password, ends every
//! session of the account and clears its failed sign-ins, in one transaction.

use super::error::{AdminError, AdminForm, Empty, On, PreSessionForm, Staff};
use super::web::{
    page_ctx, pre_session_token, redirect, render, render_with_status, staff_activity,
    with_pre_cookie,
};
use super::AdminState;
use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::school::Slug;
use crate::domain::{Secret, StaffId};
use crate::store::tenancy::School;
use crate::store::StoreError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

store_port!(StaffAuthStore);

/// How long a reset link works.
pub const LINK_MINUTES: i64 = 30;
const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 200;

/// Makes a new single-use link for a staff member (their older unused links stop
/// working). The link is a secret: show it once or email it, never log it.
pub async fn create_link(
    app: &App,
    school: &School,
    staff: StaffId,
    activity: &ActivityEntry,
) -> Result<Secret<String>, StoreError> {
    let (token, hash) = new_token();
    port(school)
        .create_password_reset(
            staff,
            &hash,
            activity.at + chrono::Duration::minutes(LINK_MINUTES),
            None,
            activity,
        )
        .await?;
    Ok(link_url(app, school, &token))
}

/// Links a stranger can have sent to one account per hour by asking on the reset
/// page; past it, requests do nothing, so the newest link keeps working and the inbox
/// is not flooded.
pub const REQUESTED_LINKS_PER_HOUR: i64 = 3;

/// A new link token and the SHA-256 that is stored.
pub fn new_token() -> (Secret<String>, Vec<u8>) {
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    (Secret::new(token), hash)
}

/// The link a token opens.
pub fn link_url(app: &App, school: &School, token: &Secret<String>) -> Secret<String> {
    Secret::new(format!(
        "{}/admin/reset/{}.{}",
        app.config.public_url,
        school.tenant.slug.as_str(),
        token.expose()
    ))
}

fn email_body(school: &School, link: &str) -> String {
    format!(
        "Someone asked to set a new password for your Raabta account at {}.\n\n\
         Open this link within {LINK_MINUTES} minutes to choose one (it works once):\n{link}\n\n\
         If it was not you, ignore this email; your password stays as it is.\n",
        school.tenant.name
    )
}

/// Emails a link in the background (the answer to the request does not wait, so its
/// timing does not tell whether the account exists). Failures are logged without the
/// address or the link.
pub fn email_link(app: &App, school: &School, to: String, link: Secret<String>) {
    let config = app.config.clone();
    let body = email_body(school, link.expose());
    tokio::spawn(async move {
        if let Err(e) = crate::mail::send(&config, &to, "Your Raabta password link", body).await {
            tracing::warn!(error = %e, "password link email not sent");
        }
    });
}

/// The per-address limit shared with sign-in (429, without Retry-After), for a form
/// without a session (its token checked: [`PreSessionForm`]).
fn address_allowed(admin: &AdminState, address: std::net::IpAddr) -> Result<(), AdminError> {
    if !admin.auth.address_allowed(address) {
        return Err(AdminError::refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from this address; wait a minute.",
        ));
    }
    Ok(())
}

pub async fn request_page(State(app): State<App>) -> Response {
    let pre = pre_session_token();
    let page = render(
        "reset_request.html",
        context! { csrf => pre.clone(), email_on => app.config.smtp_url.is_some() },
    );
    with_pre_cookie(&app, page, &pre)
}

#[derive(Deserialize)]
pub struct RequestForm {
    school: String,
    email: String,
}

pub async fn request(
    State(admin): State<AdminState>,
    PreSessionForm { address, form: f }: PreSessionForm<RequestForm>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    address_allowed(&admin, address)?;
    if app.config.smtp_url.is_some() {
        // Looked up, stored and emailed in the background: the answer comes at once and
        // takes the same time whether or not the account exists.
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(e) = send_requested_link(&app, f.school.trim(), &f.email, address).await {
                tracing::warn!(error = %e, "password link request failed");
            }
        });
    }
    // The same answer whether or not the account exists.
    Ok(render(
        "reset_request.html",
        context! { sent => true, email_on => app.config.smtp_url.is_some() },
    ))
}

async fn send_requested_link(
    app: &App,
    school: &str,
    email: &str,
    address: std::net::IpAddr,
) -> Result<(), StoreError> {
    let Ok(slug) = Slug::parse(school) else {
        return Ok(());
    };
    let Ok(school) = app.tenancy.school(slug.as_str()).await else {
        return Ok(());
    };
    let Some(staff) = port(&school).staff_by_email(email).await? else {
        return Ok(());
    };
    if !staff.active {
        return Ok(());
    }
    let entry = ActivityEntry::now(
        &format!("staff:{}", staff.id.0),
        "staff.password_reset_requested",
        Some(format!("staff:{}", staff.id.0)),
        &address.to_string(),
        json!({}),
    );
    let (token, hash) = new_token();
    let created = port(&school)
        .create_password_reset(
            staff.id,
            &hash,
            entry.at + chrono::Duration::minutes(LINK_MINUTES),
            Some(REQUESTED_LINKS_PER_HOUR),
            &entry,
        )
        .await?;
    if created {
        email_link(
            app,
            &school,
            staff.email.clone(),
            link_url(app, &school, &token),
        );
    } else {
        tracing::info!(school = %school.tenant.slug, "password link request over the account's hourly limit: nothing sent");
    }
    Ok(())
}

/// `<school slug>.<token>` from the link, and the token's hash.
async fn link_parts(app: &App, link: &str) -> Option<(School, Vec<u8>)> {
    let (slug, token) = link.split_once('.')?;
    let slug = Slug::parse(slug).ok()?;
    let school = app.tenancy.school(slug.as_str()).await.ok()?;
    Some((school, Sha256::digest(token.as_bytes()).to_vec()))
}

fn link_gone() -> Response {
    let mut res = render("reset_form.html", context! { gone => true });
    *res.status_mut() = StatusCode::GONE;
    res
}

/// The school and token hash of a link that still works; None if it is gone.
async fn live_link(app: &App, link: &str) -> Result<Option<(School, Vec<u8>)>, StoreError> {
    let Some((school, hash)) = link_parts(app, link).await else {
        return Ok(None);
    };
    let live = port(&school)
        .password_reset_valid(&hash, app.clock.now())
        .await?
        .is_some();
    Ok(live.then_some((school, hash)))
}

/// The new-password form of a live link, with a new form token; with the problem of
/// a refused try, 422.
fn new_password_form(app: &App, school: &School, link: &str, problem: Option<&str>) -> Response {
    let pre = pre_session_token();
    let status = match problem {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = render_with_status(
        "reset_form.html",
        context! { csrf => pre.clone(), school => school.tenant.name.clone(), link => link, error => problem },
        status,
    );
    with_pre_cookie(app, page, &pre)
}

pub async fn form_page(
    State(app): State<App>,
    Path(link): Path<String>,
) -> Result<Response, AdminError> {
    Ok(match live_link(&app, &link).await? {
        Some((school, _)) => new_password_form(&app, &school, &link, None),
        None => link_gone(),
    })
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    password: String,
    confirm: String,
}

pub async fn set_password(
    State(admin): State<AdminState>,
    Path(link): Path<String>,
    PreSessionForm { address, form: f }: PreSessionForm<NewPasswordForm>,
) -> Result<Response, AdminError> {
    let app = &admin.app;
    address_allowed(&admin, address)?;
    // Only a live link is worth the (deliberately slow) password hashing.
    let Some((school, hash)) = live_link(app, &link).await? else {
        return Ok(link_gone());
    };
    let problem = if f.password != f.confirm {
        Some("The two passwords are not the same.")
    } else if f.password.chars().count() < MIN_PASSWORD {
        Some("Use at least 12 characters (a few words make a good password).")
    } else if f.password.chars().count() > MAX_PASSWORD {
        Some("That password is too long (200 characters at most).")
    } else {
        None
    };
    if problem.is_some() {
        return Ok(new_password_form(app, &school, &link, problem));
    }
    let password_hash = match admin.auth.gate().try_hash(f.password).await {
        Ok(h) => h,
        // 429 with Retry-After (a few seconds).
        Err(crate::password::HashError::Busy) => {
            return Ok(super::web::too_many(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "The service is busy; try again in a few seconds.",
                )
                    .into_response(),
                &super::auth::AuthError::Busy,
            ))
        }
        Err(e) => return Err(AdminError::internal(e)),
    };
    let mut entry = ActivityEntry::now(
        "system",
        "staff.password_reset",
        None,
        &address.to_string(),
        json!({}),
    );
    entry.at = app.clock.now();
    // Used up meanwhile (another tab): gone, as before the hashing.
    if port(&school)
        .reset_password(&hash, &password_hash, &entry)
        .await?
        .is_none()
    {
        return Ok(link_gone());
    }
    Ok(redirect("/admin/login?reset=done"))
}

/// An administrator makes a link for a staff member: emailed when SMTP is configured,
/// else shown once on the page to pass on in person.
pub async fn admin_link(
    State(app): State<App>,
    On(id, AdminForm { staff, .. }): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let id = StaffId(id);
    let staff = port(&school)
        .staff_auth(id)
        .await?
        .filter(|st| st.active)
        .ok_or(AdminError::NotFound)?;
    // A link shown on this page lets whoever sees it choose the password: only for an
    // account that has never had one. An existing password is reset by email, or by the
    // operator's `raabta users reset-link` (else an administrator could take over
    // another's account, two-factor reset included).
    if app.config.smtp_url.is_none() && staff.password_hash.is_some() {
        return Err(AdminError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Email is not set up, and this account has a password: ask the operator for a link (raabta users reset-link), or the person uses a recovery code.",
        ));
    }
    let entry = staff_activity(
        &s,
        "staff.password_link",
        Some(format!("staff:{}", id.0)),
        json!({ "emailed": app.config.smtp_url.is_some() }),
        app.clock.now(),
    );
    let link = create_link(&app, &school, id, &entry).await?;
    let shown = if app.config.smtp_url.is_some() {
        email_link(&app, &school, staff.email.clone(), link);
        None
    } else {
        Some(link.expose().clone())
    };
    Ok(render(
        "reset_issued.html",
        page_ctx(
            &school,
            &s,
            context! { who => staff.full_name, email => staff.email, link => shown, minutes => LINK_MINUTES },
        ),
    ))
}
