//! What the roster and fee CSV imports share in the admin: the form page, reading the
//! upload (administrators only, with the form token: `error::AdminUpload`), the per-row
//! errors, the preview size and the result page. Parsing and storing stay with each
//! import (`roster.rs`, `fees.rs`).

use super::auth::ActiveSession;
use super::web::{page_ctx, render};
use crate::store::tenancy::School;
use axum::http::StatusCode;
use axum::response::Response;
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

/// The uploaded file as text, if it is UTF-8.
pub(super) fn text(file: Vec<u8>) -> Option<String> {
    String::from_utf8(file).ok()
}

/// The answer to an upload that is not text (422, nothing written).
pub(super) fn not_text(school: &School, s: &ActiveSession, kind: &ImportKind) -> Response {
    outcome(
        school,
        s,
        kind,
        Err(vec!["The file is not UTF-8 text.".into()]),
    )
}

/// Every problem of a file, a line each.
pub(super) fn import_errors(e: crate::import::ImportError) -> Vec<String> {
    match e {
        crate::import::ImportError::Rows(rows) => rows.into_iter().map(|r| r.to_string()).collect(),
        other => vec![other.to_string()],
    }
}
