//! What the roster and fee CSV imports share in the admin: the form page, reading the
//! upload (administrators only, with the form token), the per-row errors, the preview
//! size and the result page. Parsing and storing stay with each import
//! (`roster.rs`, `fees.rs`).

use super::auth::ActiveSession;
use super::web::{csrf_rejected, full_session, not_found, page_ctx, render};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::store::tenancy::School;
use axum::extract::Multipart;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

/// Rows shown in an import preview (all are checked).
pub(super) const PREVIEW_ROWS: usize = 50;

/// One kind of import: its path segment (`/admin/<name>/import`) and its columns.
pub(super) struct ImportKind {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// The import page with this kind's name and columns, merged with `extra` (a preview,
/// the errors or the result).
pub(super) fn page(
    school: &School,
    s: &ActiveSession,
    kind: &ImportKind,
    extra: minijinja::Value,
) -> Response {
    render(
        "import.html",
        page_ctx(
            school,
            s,
            context! { kind => kind.name, columns => kind.columns.join(","), ..extra },
        ),
    )
}

/// The upload form (administrators).
pub(super) async fn form(app: &App, headers: &HeaderMap, kind: &ImportKind) -> Response {
    let (school, s, _) = match full_session(app, headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.staff.role != StaffRole::Admin {
        return not_found();
    }
    page(&school, &s, kind, context! {})
}

/// The result of an import or of a check: what was done (200), or every problem and
/// nothing written (422).
pub(super) fn outcome(
    school: &School,
    s: &ActiveSession,
    kind: &ImportKind,
    r: Result<String, Vec<String>>,
) -> Response {
    let (status, done, errors) = match r {
        Ok(done) => (StatusCode::OK, Some(done), Vec::new()),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, None, errors),
    };
    let mut res = page(
        school,
        s,
        kind,
        context! { done => done, row_errors => errors },
    );
    if res.status().is_success() {
        *res.status_mut() = status;
    }
    res
}

/// An administrator's uploaded file as text: the session, the form token (from the
/// multipart form), the role, then UTF-8; otherwise the response to give.
pub(super) async fn upload(
    app: &App,
    headers: &HeaderMap,
    form: Multipart,
    kind: &ImportKind,
) -> Result<(School, ActiveSession, String), Response> {
    let (school, s, _) = full_session(app, headers).await?;
    let (csrf, file) = read_upload(form).await?;
    if !s.csrf_ok(&csrf) {
        return Err(csrf_rejected());
    }
    if s.staff.role != StaffRole::Admin {
        return Err(not_found());
    }
    match String::from_utf8(file) {
        Ok(text) => Ok((school, s, text)),
        Err(_) => Err(outcome(
            &school,
            &s,
            kind,
            Err(vec!["The file is not UTF-8 text.".into()]),
        )),
    }
}

/// The uploaded file and the form token from a multipart form.
async fn read_upload(mut form: Multipart) -> Result<(String, Vec<u8>), Response> {
    let (mut csrf, mut file) = (String::new(), Vec::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|_| {
                    (
                        StatusCode::BAD_REQUEST,
                        "The upload was cut off; try again.",
                    )
                        .into_response()
                })?;
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "file" => file = bytes.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "The upload could not be read (files up to 1 MB).",
                )
                    .into_response())
            }
        }
    }
    Ok((csrf, file))
}

/// Every problem of a file, a line each.
pub(super) fn import_errors(e: crate::import::ImportError) -> Vec<String> {
    match e {
        crate::import::ImportError::Rows(rows) => rows.into_iter().map(|r| r.to_string()).collect(),
        other => vec![other.to_string()],
    }
}
