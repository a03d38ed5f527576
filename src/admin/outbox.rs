//! The outbox page: dead-lettered messages (try again) and manual wa.me links waiting
//! for staff. Administrators only.

use super::web::{
    admin_form, full_session, not_found, redirect, render, server_error, staff_activity,
};
use crate::app::App;
use crate::domain::message::{wa_me_link, Provider};
use crate::domain::roster::StaffRole;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

const ROWS: usize = 200;

pub async fn page(State(app): State<App>, headers: HeaderMap) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.staff.role != StaffRole::Admin {
        return not_found();
    }
    let (rows, total) = match school.store.outbox_where(true, ROWS as i64).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let rows: Vec<_> = rows
        .into_iter()
        .rev()
        .map(|r| {
            // UUIDv7: the id carries the time the message was queued.
            let at =
                r.id.get_timestamp()
                    .map(|t| {
                        let (secs, _) = t.to_unix();
                        chrono::DateTime::from_timestamp(secs as i64, 0)
                            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default()
                    })
                    .unwrap_or_default();
            context! {
                id => r.id.to_string(), at => at, state => r.state, error => r.last_error,
                text => crate::flow::text::strip_isolation(&r.message.as_numbered_text()),
                link => r.manual_link,
            }
        })
        .collect();
    let (jobs, jobs_total) = match school.store.jobs_in_state("dead", ROWS as i64).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let jobs: Vec<_> = jobs
        .into_iter()
        .map(|j| {
            context! {
                at => j.updated_at.format("%Y-%m-%d %H:%M").to_string(),
                label => job_label(&j.kind),
                attempts => j.attempts,
                error => j.last_error,
            }
        })
        .collect();
    render(
        "outbox.html",
        super::web::page_ctx(
            &school,
            &s,
            context! { rows => rows, total => total, jobs => jobs, jobs_total => jobs_total },
        ),
    )
}

/// The message id of a job kind's name on the admin pages.
fn job_label(kind: &str) -> String {
    format!("job-kind-{}", kind.replace('.', "-"))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn retry(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (school, s) = match admin_form(&app, &headers, &form.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let now = app.clock.now();
    let entry = staff_activity(
        &s,
        "outbox.retry",
        Some(format!("outbox:{id}")),
        json!({}),
        now,
    );
    match school.store.retry_outbox(id, &entry, now).await {
        Ok(true) => {
            app.wake_worker();
            redirect("/admin/outbox")
        }
        Ok(false) => not_found(),
        Err(e) => server_error(e),
    }
}

/// Turns a dead-lettered WhatsApp message into a manual wa.me link: staff send it from
/// their own phone. Only rows listed on the page (the newest 200 problems).
pub async fn to_manual(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (school, s) = match admin_form(&app, &headers, &form.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let store = school.store.as_ref();
    let row = match store.outbox_where(true, ROWS as i64).await {
        Ok((rows, _)) => rows.into_iter().find(|r| r.id == id && r.state == "dead"),
        Err(e) => return server_error(e),
    };
    let Some(row) = row else {
        return not_found();
    };
    let conversation = match store.conversation(row.conversation_id).await {
        Ok(Some(c)) if matches!(c.provider, Provider::Twilio | Provider::Meta) => c,
        Ok(_) => return not_found(),
        Err(e) => return server_error(e),
    };
    let link = wa_me_link(
        conversation.sender.expose(),
        &row.message.as_numbered_text(),
    );
    let entry = staff_activity(
        &s,
        "outbox.manual",
        Some(format!("outbox:{id}")),
        json!({}),
        app.clock.now(),
    );
    match store.dead_to_manual(id, &link, &entry).await {
        Ok(true) => redirect("/admin/outbox"),
        Ok(false) => not_found(),
        Err(e) => server_error(e),
    }
}
