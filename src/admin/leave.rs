//! Leave requests in the web admin: list, view (with the attachment behind a signed URL
//! valid five minutes), approve or reject with a note. The guardian is told through the
//! outbox (the `leave_decision` flow, window-aware).
//!
//! Scope: an admin sees the whole school, a branch manager their branch, a teacher
//! their classes. Anything outside the scope answers 404, as if it did not exist.

use super::auth::ActiveSession;
use super::error::{AdminError, On, Staff, StaffForm};
use super::web::{path_id, redirect, render, staff_activity};
use crate::app::App;
use crate::domain::ClassId;
use crate::store::LeaveRequestView;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

store_port!(FlowStore, MediaStore, SchoolKeys);

/// How long a signed attachment link works.
pub const ATTACHMENT_LINK_SECONDS: i64 = 300;

fn visible(scope: &Option<HashSet<ClassId>>, r: &LeaveRequestView) -> bool {
    scope.as_ref().is_none_or(|set| set.contains(&r.class_id))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

pub async fn list(
    Query(q): Query<ListQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let status = q.status.unwrap_or_else(|| "pending".into());
    let filter = match status.as_str() {
        "all" => None,
        "pending" | "approved" | "rejected" => Some(status.as_str()),
        _ => return Err(AdminError::BadRequest("Unknown status.".into())),
    };
    let store = port(&school);
    let rows = store.leave_requests(filter).await?;
    let scope = super::web::visible_class_ids(store, &s).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| visible(&scope, r))
        .map(|r| {
            context! {
                id => r.request.id.to_string(), child => r.student_name, kind => r.request.kind,
                from => r.request.from.to_string(), to => r.request.to.to_string(), status => r.status,
            }
        })
        .collect();
    Ok(render(
        "leave_list.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                rows => rows, status => status,
            },
        ),
    ))
}

/// What a leave request's attachment link signs for (`link_signature`).
const ATTACHMENT_LINK: &str = "admin-attachment-link";

/// The HMAC of a signed file link for `purpose` (a leave attachment, a complaint's
/// file), the item's id and the expiry: the school's index key, valid in every process.
pub(super) fn link_signature(
    store: &(impl crate::store::SchoolKeys + ?Sized),
    purpose: &str,
    id: Uuid,
    expires: i64,
) -> String {
    hex::encode(
        store
            .keys()
            .blind_index(purpose, &format!("{id}|{expires}")),
    )
}

/// The request, if this person may see it (else 404).
async fn in_scope_request(
    store: &(impl Port + ?Sized),
    s: &ActiveSession,
    id: Uuid,
) -> Result<LeaveRequestView, AdminError> {
    let r = store
        .leave_request_by_id(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    let scope = super::web::visible_class_ids(store, s).await?;
    if !visible(&scope, &r) {
        return Err(AdminError::NotFound);
    }
    Ok(r)
}

pub async fn view(
    State(app): State<App>,
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let id = path_id(&id)?;
    let store = port(&school);
    let r = in_scope_request(store, &s, id).await?;
    let attachment_url = r.request.attachment_key.as_ref().map(|_| {
        let expires = app.clock.now().timestamp() + ATTACHMENT_LINK_SECONDS;
        format!(
            "/admin/leave/{}/attachment?exp={expires}&sig={}",
            r.request.id,
            link_signature(store, ATTACHMENT_LINK, r.request.id, expires)
        )
    });
    Ok(render(
        "leave_view.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                id => r.request.id.to_string(), child => r.student_name, kind => r.request.kind,
                from => r.request.from.to_string(), to => r.request.to.to_string(), status => r.status,
                reason => r.request.reason.expose(), note => r.decision_note.as_ref().map(|n| n.expose().clone()),
                attachment_url => attachment_url,
            },
        ),
    ))
}

#[derive(Deserialize)]
pub struct DecideForm {
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(app): State<App>,
    On(id, StaffForm { staff, form }): On<StaffForm<DecideForm>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AdminError::BadRequest("Choose approve or reject.".into())),
    };
    let note = form.note.trim();
    if note.chars().count() > 500 {
        return Err(AdminError::BadRequest(
            "The note is too long (500 characters at most).".into(),
        ));
    }
    let store = port(&school);
    in_scope_request(store, &s, id).await?;
    let now = app.clock.now();
    let entry = staff_activity(
        &s,
        if approve {
            "leave_request.approve"
        } else {
            "leave_request.reject"
        },
        Some(format!("leave_request:{id}")),
        json!({ "note": !note.is_empty() }),
        now,
    );
    let note = (!note.is_empty()).then_some(note);
    // Decided already (by someone else, or a second click): the page shows the outcome.
    store.decide_leave(id, approve, note, &entry, now).await?;
    app.wake_worker();
    Ok(redirect(&format!("/admin/leave/{id}")))
}

#[derive(Deserialize)]
pub struct LinkQuery {
    exp: i64,
    sig: String,
}

pub async fn attachment(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let id = path_id(&id)?;
    let store = port(&school);
    let now = app.clock.now().timestamp();
    if !link_ok(
        &link_signature(store, ATTACHMENT_LINK, id, q.exp),
        &q.sig,
        q.exp,
        now,
    ) {
        // Not the form token's 403: this message sends the person back to the request.
        return Err(AdminError::refused(
            StatusCode::FORBIDDEN,
            "This link has expired; open the request again.",
        ));
    }
    let r = in_scope_request(store, &s, id).await?;
    let key = r.request.attachment_key.ok_or(AdminError::NotFound)?;
    let media = store.media_of(&key).await?.ok_or(AdminError::NotFound)?;
    file_response(media)
}

/// A signed file link (of a leave request or a complaint) is genuine and unexpired:
/// the signature compared in constant time, the expiry within the links' lifetime.
pub(super) fn link_ok(expected: &str, given: &str, expires: i64, now: i64) -> bool {
    use subtle::ConstantTimeEq;
    let signed =
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
    signed && expires >= now && expires <= now + ATTACHMENT_LINK_SECONDS
}

/// A stored inbound file as the staff's browser gets it: its type, inline for images,
/// and sandboxed so a crafted file cannot run anything in our origin.
pub(super) fn file_response(media: crate::store::StoredMedia) -> Result<Response, AdminError> {
    let (Some(mime), Some(content)) = (media.mime, media.content) else {
        // A 404 that says why (the provider no longer has the file).
        return Err(AdminError::refused(
            StatusCode::NOT_FOUND,
            "The file could not be fetched from the provider.",
        ));
    };
    let mut res = content.into_response();
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let disposition = if mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    h.insert(CONTENT_DISPOSITION, HeaderValue::from_static(disposition));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(res)
}
