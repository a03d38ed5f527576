//! Conversations handed to the office: the list, a thread, a staff reply (through the
//! outbox and the channel; after the 24-hour window the sender turns it into a template
//! or a manual link), and handing the conversation back to the bot.
//!
//! Scope: administrators see every conversation; a branch manager those of guardians
//! with a child in their branch; teachers none (404).

use super::auth::ActiveSession;
use super::web::{
    full_session, not_found, redirect, render, server_error, staff_activity, staff_form,
};
use crate::app::App;
use crate::domain::message::{OutboundMessage, OutboundMode};
use crate::domain::roster::{ContactRef, StaffRole};
use crate::store::TenantStore;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// Whether this person may see the conversation: administrators all; branch managers
/// a guardian's with a child in their branch's classes; teachers none.
async fn in_scope(
    store: &dyn TenantStore,
    s: &ActiveSession,
    conversation: Uuid,
) -> Result<bool, crate::store::StoreError> {
    let mine = super::web::visible_class_ids(store, s).await?;
    in_classes(store, s, mine.as_ref(), conversation).await
}

/// `in_scope` with the person's classes already read (a list checks many).
async fn in_classes(
    store: &dyn TenantStore,
    s: &ActiveSession,
    mine: Option<&std::collections::HashSet<crate::domain::ClassId>>,
    conversation: Uuid,
) -> Result<bool, crate::store::StoreError> {
    match s.staff.role {
        StaffRole::Admin => Ok(true),
        StaffRole::Teacher => Ok(false),
        StaffRole::BranchManager => {
            let Some(ContactRef::Guardian(g)) = store.session_of(conversation).await?.contact
            else {
                return Ok(false);
            };
            let theirs = store.guardian_classes(g.0).await?;
            Ok(mine.is_none_or(|set| theirs.iter().any(|c| set.contains(c))))
        }
    }
}

/// Who is on the other end, for staff: the guardian's or staff member's name.
async fn who(
    store: &dyn TenantStore,
    conversation: Uuid,
) -> Result<String, crate::store::StoreError> {
    let row = store.session_of(conversation).await?;
    Ok(match row.contact {
        Some(ContactRef::Guardian(g)) => store
            .guardian(g)
            .await?
            .map(|g| g.full_name)
            .unwrap_or_else(|| "A guardian".into()),
        Some(ContactRef::Staff(_)) => "A staff member".into(),
        None => "Not logged in yet".into(),
    })
}

pub async fn list(State(app): State<App>, headers: HeaderMap) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.staff.role == StaffRole::Teacher {
        return not_found();
    }
    let store = school.store.as_ref();
    let ids = match store.handoffs().await {
        Ok(ids) => ids,
        Err(e) => return server_error(e),
    };
    let mine = match super::web::visible_class_ids(store, &s).await {
        Ok(m) => m,
        Err(e) => return server_error(e),
    };
    let mut rows = Vec::new();
    for id in ids {
        match in_classes(store, &s, mine.as_ref(), id).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => return server_error(e),
        }
        let (name, conv, session) = match (
            who(store, id).await,
            store.conversation(id).await,
            store.session_of(id).await,
        ) {
            (Ok(n), Ok(Some(c)), Ok(sr)) => (n, c, sr),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return server_error(e),
            (_, Ok(None), _) => continue,
        };
        rows.push(context! {
            id => id.to_string(),
            who => name,
            channel => conv.provider.as_str(),
            since => session.handoff_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        });
    }
    render(
        "conversations.html",
        super::web::page_ctx(&school, &s, context! { rows => rows }),
    )
}

pub async fn view(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    match in_scope(school.store.as_ref(), &s, id).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return server_error(e),
    }
    let store = school.store.as_ref();
    let conv = match store.conversation(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    };
    let (name, thread, session) = match (
        who(store, id).await,
        store.conversation_thread(id, 50).await,
        store.session_of(id).await,
    ) {
        (Ok(n), Ok(t), Ok(sr)) => (n, t, sr),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return server_error(e),
    };
    let thread: Vec<_> = thread
        .into_iter()
        .map(|m| {
            context! {
                at => m.at.format("%Y-%m-%d %H:%M").to_string(),
                inbound => m.inbound(),
                text => thread_text(&m.body),
                state => m.state,
            }
        })
        .collect();
    render(
        "conversation.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                id => id.to_string(), who => name, channel => conv.provider.as_str(),
                handed_off => session.handoff_at.is_some(), thread => thread,
            },
        ),
    )
}

#[derive(Deserialize)]
pub struct ReplyForm {
    csrf: String,
    #[serde(default)]
    text: String,
}

pub async fn reply(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let (school, s) = match staff_form(&app, &headers, &form.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    match in_scope(school.store.as_ref(), &s, id).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return server_error(e),
    }
    // What staff write reaches the parent without bidi overrides (see domain::bidi).
    let text = crate::domain::bidi::neutralise(form.text.trim()).into_owned();
    let text = text.as_str();
    if text.is_empty() || text.chars().count() > 2000 {
        return (
            StatusCode::BAD_REQUEST,
            "Write a reply (2000 characters at most).",
        )
            .into_response();
    }
    let store = school.store.as_ref();
    match store.conversation(id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    }
    let now = app.clock.now();
    let entry = staff_activity(
        &s,
        "conversation.reply",
        Some(format!("conversation:{id}")),
        json!({}),
        now,
    );
    // Through the provider: the sender checks the 24-hour window when it sends and turns
    // the reply into a template or a manual link for staff if it has closed.
    let key = format!("staff-reply:{}", Uuid::now_v7());
    match crate::worker::queue_staff_message(
        store,
        id,
        &key,
        &OutboundMessage::text(text),
        Some(OutboundMode::Provider),
        &entry,
    )
    .await
    {
        Ok(_) => {
            app.wake_worker();
            redirect(&format!("/admin/conversations/{id}"))
        }
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn hand_back(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (school, s) = match staff_form(&app, &headers, &form.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    match in_scope(school.store.as_ref(), &s, id).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return server_error(e),
    }
    let entry = staff_activity(
        &s,
        "conversation.hand_back",
        Some(format!("conversation:{id}")),
        json!({}),
        app.clock.now(),
    );
    match school.store.hand_back(id, &entry).await {
        Ok(_) => {
            app.wake_worker();
            redirect(&format!("/admin/conversations/{id}"))
        }
        Err(e) => server_error(e),
    }
}

/// A thread message as staff read it, in the page's language.
fn thread_text(body: &crate::store::ThreadBody) -> String {
    use crate::domain::message::InboundBody;
    use crate::store::ThreadBody;
    let label = |id: &str| super::i18n::text(id, None);
    match body {
        ThreadBody::Outbound(m) => crate::flow::text::strip_isolation(&m.as_numbered_text()),
        ThreadBody::Inbound(InboundBody::Text { text }) => text.clone(),
        ThreadBody::Inbound(InboundBody::Choice { title, .. }) => {
            format!("[{}] {title}", label("thread-tapped"))
        }
        ThreadBody::Inbound(InboundBody::Media { caption, .. }) => format!(
            "[{}] {}",
            label("thread-attachment"),
            caption.clone().unwrap_or_default()
        ),
        ThreadBody::Inbound(InboundBody::Location { .. }) => {
            format!("[{}]", label("thread-location"))
        }
        ThreadBody::Inbound(InboundBody::Contacts { .. }) => {
            format!("[{}]", label("thread-contact"))
        }
        ThreadBody::Inbound(other) => format!("[{}]", other.kind()),
    }
}
