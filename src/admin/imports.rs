//! The roster and fee CSV imports in the admin, as one: the form page, the upload
//! (administrators only, with the form token: `error::AdminUpload`) checked and
//! previewed, and the commit (checked again, then all rows or none), with the per-row
//! errors and the result page. What differs, parsing, the preview's columns and
//! storing, is each import's [`CsvImport`] (`roster.rs`, `fees.rs`).

use super::auth::ActiveSession;
use super::error::{AdminError, AdminForm, AdminUpload, Administrator, Staff};
use super::web::{page_ctx, render_with_status, staff_activity};
use super::AdminState;
use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::import::ImportError;
use crate::store::tenancy::School;
use crate::store::StoreError;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::future::Future;

/// Rows shown in an import preview (all are checked).
const PREVIEW_ROWS: usize = 50;

/// One kind of CSV import.
pub(super) trait CsvImport {
    /// Its path segment (`/admin/<name>/import`).
    const NAME: &'static str;
    /// The file's columns, as the page lists them.
    const COLUMNS: &'static [&'static str];
    /// The action of the commit's activity entry.
    const ACTION: &'static str;
    /// One row of a checked file.
    type Record;
    /// A checked file, ready to store.
    type Checked: Send + Sync;

    /// Checks a whole file (nothing is written).
    fn check(
        school: &School,
        text: &str,
    ) -> impl Future<Output = Result<Result<Self::Checked, ImportError>, StoreError>> + Send;

    /// The file's rows.
    fn records(checked: &Self::Checked) -> &[Self::Record];

    /// A row as the preview shows it: `line`, `admission_no`, `name`, `class` and
    /// `guardian`.
    fn preview_row(record: &Self::Record) -> minijinja::Value;

    /// Stores the whole file (all rows or none) and says what was done.
    fn store(
        school: &School,
        checked: &Self::Checked,
        entry: &ActivityEntry,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// The import page with this kind's name and columns, merged with `extra` (a preview,
/// the errors or the result), and its status.
fn page<I: CsvImport>(
    school: &School,
    s: &ActiveSession,
    extra: minijinja::Value,
    status: StatusCode,
) -> Response {
    render_with_status(
        "import.html",
        page_ctx(
            school,
            s,
            context! { kind => I::NAME, columns => I::COLUMNS.join(","), ..extra },
        ),
        status,
    )
}

/// The result of an import or of a check: what was done (200), or every problem and
/// nothing written (422).
fn outcome<I: CsvImport>(
    school: &School,
    s: &ActiveSession,
    r: Result<String, Vec<String>>,
) -> Response {
    let (status, done, errors) = match r {
        Ok(done) => (StatusCode::OK, Some(done), Vec::new()),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, None, errors),
    };
    page::<I>(
        school,
        s,
        context! { done => done, row_errors => errors },
        status,
    )
}

/// Every problem of a file, a line each.
pub(super) fn import_errors(e: ImportError) -> Vec<String> {
    match e {
        ImportError::Rows(rows) => rows.into_iter().map(|r| r.to_string()).collect(),
        other => vec![other.to_string()],
    }
}

/// A file of one row under the import's header, for a form that goes through the
/// import's own validation.
pub(super) fn one_row<I: CsvImport>(row: &[&str]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(I::COLUMNS)
        .and_then(|_| w.write_record(row))
        .map_err(|e| e.to_string())?;
    w.into_inner().map_err(|e| e.to_string())
}

/// The import's pages: `/admin/<name>/import` (the form, and the upload checked) and
/// `/admin/<name>/import/commit`, both with the service-wide body limit (a file is
/// larger than the admin's forms).
pub(super) fn routes<I: CsvImport + 'static>() -> Router<AdminState> {
    let files = DefaultBodyLimit::max(crate::app::MAX_BODY_BYTES);
    Router::new()
        .route(
            &format!("/admin/{}/import", I::NAME),
            get(form_page::<I>).post(preview::<I>).layer(files),
        )
        .route(
            &format!("/admin/{}/import/commit", I::NAME),
            post(commit::<I>).layer(files),
        )
}

/// The import's form.
async fn form_page<I: CsvImport>(
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    Ok(page::<I>(&school, &s, context! {}, StatusCode::OK))
}

/// Checks an uploaded file: every bad row by line, or a preview and a commit button.
async fn preview<I: CsvImport>(
    AdminUpload { staff, file }: AdminUpload,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let Ok(text) = String::from_utf8(file) else {
        return Ok(outcome::<I>(
            &school,
            &s,
            Err(vec!["The file is not UTF-8 text.".into()]),
        ));
    };
    let checked = match I::check(&school, &text).await? {
        Ok(c) => c,
        Err(e) => return Ok(outcome::<I>(&school, &s, Err(import_errors(e)))),
    };
    let records = I::records(&checked);
    let preview: Vec<_> = records
        .iter()
        .take(PREVIEW_ROWS)
        .map(I::preview_row)
        .collect();
    Ok(page::<I>(
        &school,
        &s,
        context! { preview => preview, rows => records.len(), csv => text },
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
pub struct CommitForm {
    csv: String,
}

/// Imports the previewed file: checked again, then all rows or none.
async fn commit<I: CsvImport>(
    State(app): State<App>,
    AdminForm { staff, form: f }: AdminForm<CommitForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let checked = match I::check(&school, &f.csv).await? {
        Ok(c) => c,
        Err(e) => return Ok(outcome::<I>(&school, &s, Err(import_errors(e)))),
    };
    let entry = staff_activity(
        &s,
        I::ACTION,
        None,
        json!({ "rows": I::records(&checked).len() }),
        app.clock.now(),
    );
    let done = I::store(&school, &checked, &entry).await?;
    Ok(outcome::<I>(&school, &s, Ok(done)))
}
