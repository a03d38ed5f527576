//! The outbox page: dead-lettered messages (try again) and manual wa.me links waiting
//! for staff. Administrators only.

use super::error::{AdminError, AdminForm, Administrator, Empty, On, Staff};
use super::web::{redirect, render, staff_action};
use crate::app::App;
use crate::domain::message::{wa_me_link, Provider};
use axum::extract::State;
use axum::response::Response;
use minijinja::context;

store_port!(ConversationStore, JobStore, OutboxStore);

const ROWS: usize = 200;

pub async fn page(
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    let (rows, total) = port(&school).outbox_where(true, ROWS as i64).await?;
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
    let (jobs, jobs_total) = port(&school).jobs_in_state("dead", ROWS as i64).await?;
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
    Ok(render(
        "outbox.html",
        super::web::page_ctx(
            &school,
            &s,
            context! { rows => rows, total => total, jobs => jobs, jobs_total => jobs_total },
        ),
    ))
}

/// The message id of a job kind's name on the admin pages.
fn job_label(kind: &str) -> String {
    format!("job-kind-{}", kind.replace('.', "-"))
}

pub async fn retry(
    State(app): State<App>,
    On(id, AdminForm { staff, .. }): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let now = app.clock.now();
    let entry = staff_action(&s, "outbox.retry", format!("outbox:{id}"), now);
    if !port(&school).retry_outbox(id, &entry, now).await? {
        return Err(AdminError::NotFound);
    }
    app.wake_worker();
    Ok(redirect("/admin/outbox"))
}

/// Turns a dead-lettered WhatsApp message into a manual wa.me link: staff send it from
/// their own phone. Only rows listed on the page (the newest 200 problems).
pub async fn to_manual(
    State(app): State<App>,
    On(id, AdminForm { staff, .. }): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let store = port(&school);
    let (rows, _) = store.outbox_where(true, ROWS as i64).await?;
    let row = rows
        .into_iter()
        .find(|r| r.id == id && r.state == "dead")
        .ok_or(AdminError::NotFound)?;
    let conversation = store
        .conversation(row.conversation_id)
        .await?
        .filter(|c| matches!(c.provider, Provider::Twilio | Provider::Meta))
        .ok_or(AdminError::NotFound)?;
    let link = wa_me_link(
        conversation.sender.expose(),
        &row.message.as_numbered_text(),
    );
    let entry = staff_action(&s, "outbox.manual", format!("outbox:{id}"), app.clock.now());
    if !store.dead_to_manual(id, &link, &entry).await? {
        return Err(AdminError::NotFound);
    }
    Ok(redirect("/admin/outbox"))
}
