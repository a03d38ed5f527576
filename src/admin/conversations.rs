//! Conversations handed to the office: the list, a thread, a staff reply (through the
//! outbox and the channel; after the 24-hour window the sender turns it into a template
//! or a manual link), and handing the conversation back to the bot.
//!
//! Scope: administrators see every conversation; a branch manager those of guardians
//! with a child in their branch; teachers none (404).

use super::auth::ActiveSession;
use super::error::{AdminError, Empty, On, Staff, StaffForm};
use super::web::{office_only, path_id, redirect, render, staff_action};
use crate::app::App;
use crate::domain::message::{OutboundMessage, OutboundMode};
use crate::domain::roster::{ContactRef, StaffRole};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

store_port!(
    ActivityStore,
    ConversationStore,
    FlowStore,
    OfficeStore,
    RosterStore,
    OutboxStore
);

/// Whether this person may see the conversation: administrators all; branch managers
/// a guardian's with a child in their branch's classes; teachers none.
async fn in_scope(
    store: &(impl Port + ?Sized),
    s: &ActiveSession,
    conversation: Uuid,
) -> Result<bool, crate::store::StoreError> {
    let mine = super::web::visible_class_ids(store, s).await?;
    in_classes(store, s, mine.as_ref(), conversation).await
}

/// `in_scope` with the person's classes already read (a list checks many).
async fn in_classes(
    store: &(impl Port + ?Sized),
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

/// The conversation id of the path, if this person may see it (else 404).
async fn scoped_id(
    store: &(impl Port + ?Sized),
    s: &ActiveSession,
    id: Uuid,
) -> Result<Uuid, AdminError> {
    if !in_scope(store, s, id).await? {
        return Err(AdminError::NotFound);
    }
    Ok(id)
}

/// Who is on the other end, for staff: the guardian's or staff member's name.
async fn who(
    store: &(impl Port + ?Sized),
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

pub async fn list(
    State(app): State<App>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    office_only(&s)?;
    let store = port(&school);
    let ids = store.handoffs().await?;
    let mine = super::web::visible_class_ids(store, &s).await?;
    let mut rows = Vec::new();
    for id in ids {
        if !in_classes(store, &s, mine.as_ref(), id).await? {
            continue;
        }
        // All three read before the missing conversation is skipped (an error in any
        // is a 500).
        let name = who(store, id).await?;
        let conv = store.conversation(id).await?;
        let session = store.session_of(id).await?;
        let Some(conv) = conv else {
            continue;
        };
        rows.push(context! {
            id => id.to_string(),
            who => name,
            channel => conv.provider.as_str(),
            since => session.handoff_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        });
    }
    // Staff see who went back to the bot (or was handed back by the clock) lately: the
    // conversation left the list above, its messages are still theirs to answer.
    let filter = crate::store::ActivityFilter {
        actor_prefix: None,
        action_prefix: Some("handoff.".into()),
        from: Some(app.clock.now() - chrono::Duration::days(7)),
        to: None,
    };
    let mut left = Vec::new();
    for e in store.activity_filtered(&filter, 50).await? {
        let Some(id) = e
            .subject
            .as_deref()
            .and_then(|s| s.strip_prefix("conversation:"))
            .and_then(|s| s.parse::<Uuid>().ok())
        else {
            continue;
        };
        if !in_classes(store, &s, mine.as_ref(), id).await? {
            continue;
        }
        let how = match e.action.as_str() {
            "handoff.released" => "conv-released",
            "handoff.withdrawn" => "conv-withdrawn",
            _ => "conv-left",
        };
        left.push(context! {
            id => id.to_string(),
            who => who(store, id).await?,
            at => e.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            how => how,
        });
    }
    Ok(render(
        "conversations.html",
        super::web::page_ctx(&school, &s, context! { rows => rows, left => left }),
    ))
}

/// The request the person was writing when the conversation reached the office (kept
/// for them, shown to staff): each frame with answers, as (flow, [(question, answer)]).
fn draft(lib: &crate::flow::Library, session: Option<&[u8]>) -> Vec<minijinja::Value> {
    let Some(s) =
        session.and_then(|b| serde_json::from_slice::<crate::flow::engine::Session>(b).ok())
    else {
        return Vec::new();
    };
    s.frames
        .iter()
        .filter(|f| !f.answered.is_empty())
        .map(|f| {
            let flow = lib.current(&f.flow);
            let answers: Vec<_> = f
                .answered
                .iter()
                .filter_map(|step| {
                    let crate::flow::def::StepKind::Ask(a) = &flow?.step(step)?.1.kind else {
                        return None;
                    };
                    let value = f.vars.get(&a.var)?;
                    let shown =
                        crate::flow::text::format_value(crate::domain::school::Locale::En, value)
                            .or_else(|| {
                                // A date range, an attachment: their parts.
                                let o = value.as_object()?;
                                let part = |k: &str| {
                                    o.get(k).and_then(|v| {
                                        crate::flow::text::format_value(
                                            crate::domain::school::Locale::En,
                                            v,
                                        )
                                    })
                                };
                                match (part("from"), part("to"), o.get("media")) {
                                    (Some(a), Some(b), _) => Some(format!("{a} – {b}")),
                                    (_, _, Some(_)) => Some("a file".into()),
                                    _ => None,
                                }
                            })
                            .unwrap_or_else(|| "(none)".into());
                    Some(context! { question => a.var.clone(), answer => shown })
                })
                .collect();
            context! { flow => f.flow.clone(), answers => answers }
        })
        .collect()
}

pub async fn view(
    State(app): State<App>,
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let store = port(&school);
    let id = scoped_id(store, &s, path_id(&id)?).await?;
    let conv = store.conversation(id).await?.ok_or(AdminError::NotFound)?;
    let name = who(store, id).await?;
    let thread = store.conversation_thread(id, 50).await?;
    let session = store.session_of(id).await?;
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
    Ok(render(
        "conversation.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                id => id.to_string(), who => name, channel => conv.provider.as_str(),
                handed_off => session.handoff_at.is_some(), thread => thread,
                draft => draft(&app.flows, session.session.as_deref()),
            },
        ),
    ))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    text: String,
}

pub async fn reply(
    State(app): State<App>,
    On(id, StaffForm { staff, form }): On<StaffForm<ReplyForm>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let store = port(&school);
    let id = scoped_id(store, &s, id).await?;
    // What staff write reaches the parent without bidi overrides (see domain::bidi).
    let text = crate::domain::bidi::neutralise(form.text.trim()).into_owned();
    let text = text.as_str();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(AdminError::refused(
            StatusCode::BAD_REQUEST,
            "Write a reply (2000 characters at most).",
        ));
    }
    if store.conversation(id).await?.is_none() {
        return Err(AdminError::NotFound);
    }
    let now = app.clock.now();
    let entry = staff_action(&s, "conversation.reply", format!("conversation:{id}"), now);
    // Through the provider: the sender checks the 24-hour window when it sends and turns
    // the reply into a template or a manual link for staff if it has closed.
    let key = format!("staff-reply:{}", Uuid::now_v7());
    crate::outbound::queue_staff_message(
        store,
        id,
        &key,
        &OutboundMessage::text(text),
        Some(OutboundMode::Provider),
        &entry,
    )
    .await?;
    app.wake_worker();
    Ok(redirect(&format!("/admin/conversations/{id}")))
}

pub async fn hand_back(
    State(app): State<App>,
    On(id, StaffForm { staff, .. }): On<StaffForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let id = scoped_id(port(&school), &s, id).await?;
    let entry = staff_action(
        &s,
        "conversation.hand_back",
        format!("conversation:{id}"),
        app.clock.now(),
    );
    port(&school).hand_back(id, &entry).await?;
    app.wake_worker();
    Ok(redirect(&format!("/admin/conversations/{id}")))
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
