//! Leave requests in the web admin: list, view (with the attachment behind a signed URL
//! valid five minutes), approve or reject with a note. The guardian is told through the
//! outbox (the `leave_decision` flow, window-aware).
//!
//! Scope: an admin sees the whole school, a branch manager their branch, a teacher
//! their classes. Anything outside the scope answers 404, as if it did not exist.

use super::auth::ActiveSession;
use super::web::{
    full_session, not_found, redirect, render, server_error, staff_activity, staff_form,
};
use crate::app::App;
use crate::domain::ClassId;
use crate::store::{LeaveRequestView, TenantStore};
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

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
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let status = q.status.unwrap_or_else(|| "pending".into());
    let filter = match status.as_str() {
        "all" => None,
        "pending" | "approved" | "rejected" => Some(status.as_str()),
        _ => return (StatusCode::BAD_REQUEST, "Unknown status.").into_response(),
    };
    let store = school.store.as_ref();
    let (rows, scope) = match (
        store.leave_requests(filter).await,
        super::web::visible_class_ids(store, &s).await,
    ) {
        (Ok(r), Ok(sc)) => (r, sc),
        (Err(e), _) | (_, Err(e)) => return server_error(e),
    };
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| visible(&scope, r))
        .map(|r| {
            context! {
                id => r.id.to_string(), child => r.student_name, kind => r.kind,
                from => r.from.to_string(), to => r.to.to_string(), status => r.status,
            }
        })
        .collect();
    render(
        "leave_list.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                rows => rows, status => status,
            },
        ),
    )
}

/// The HMAC for an attachment link (the school's index key; valid in every process).
fn link_signature(store: &dyn TenantStore, id: Uuid, expires: i64) -> String {
    hex::encode(
        store
            .keys()
            .blind_index("admin-attachment-link", &format!("{id}|{expires}")),
    )
}

async fn in_scope_request(
    store: &dyn TenantStore,
    s: &ActiveSession,
    id: Uuid,
) -> Result<Option<LeaveRequestView>, crate::store::StoreError> {
    let Some(r) = store.leave_request_by_id(id).await? else {
        return Ok(None);
    };
    let scope = super::web::visible_class_ids(store, s).await?;
    Ok(visible(&scope, &r).then_some(r))
}

pub async fn view(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let store = school.store.as_ref();
    let r = match in_scope_request(store, &s, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    };
    let attachment_url = r.attachment_key.as_ref().map(|_| {
        let expires = app.clock.now().timestamp() + ATTACHMENT_LINK_SECONDS;
        format!(
            "/admin/leave/{}/attachment?exp={expires}&sig={}",
            r.id,
            link_signature(store, r.id, expires)
        )
    });
    render(
        "leave_view.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                id => r.id.to_string(), child => r.student_name, kind => r.kind,
                from => r.from.to_string(), to => r.to.to_string(), status => r.status,
                reason => r.reason.expose(), note => r.decision_note.as_ref().map(|n| n.expose().clone()),
                attachment_url => attachment_url,
            },
        ),
    )
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let (school, s) = match staff_form(&app, &headers, &form.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return (StatusCode::BAD_REQUEST, "Choose approve or reject.").into_response(),
    };
    let note = form.note.trim();
    if note.chars().count() > 500 {
        return (
            StatusCode::BAD_REQUEST,
            "The note is too long (500 characters at most).",
        )
            .into_response();
    }
    let store = school.store.as_ref();
    match in_scope_request(store, &s, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    }
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
    match store.decide_leave(id, approve, note, &entry, now).await {
        // Decided already (by someone else, or a second click): the page shows the outcome.
        Ok(_) => {
            app.wake_worker();
            redirect(&format!("/admin/leave/{id}"))
        }
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    exp: i64,
    sig: String,
}

pub async fn attachment(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let store = school.store.as_ref();
    let now = app.clock.now().timestamp();
    let expected = link_signature(store, id, q.exp);
    let signed = {
        use subtle::ConstantTimeEq;
        expected.len() == q.sig.len() && bool::from(expected.as_bytes().ct_eq(q.sig.as_bytes()))
    };
    if !signed || q.exp < now || q.exp > now + ATTACHMENT_LINK_SECONDS {
        return (
            StatusCode::FORBIDDEN,
            "This link has expired; open the request again.",
        )
            .into_response();
    }
    let r = match in_scope_request(store, &s, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    };
    let Some(key) = r.attachment_key else {
        return not_found();
    };
    let media = match store.media_of(&key).await {
        Ok(Some(m)) => m,
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    };
    let (Some(mime), Some(content)) = (media.mime, media.content) else {
        return (
            StatusCode::NOT_FOUND,
            "The file could not be fetched from the provider.",
        )
            .into_response();
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
    // Even a crafted file cannot run anything in our origin.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    res
}
