//! Data-subject requests in the web admin (issue 19), for administrators only: the
//! requests (pending first, with their due dates), recording one made by phone or on
//! paper with how the person's identity was checked, and deciding one: a copy of the
//! person's data as a zip download (then marked answered), or the erasure with its
//! scope (the guardian; or also their children's biometric data), or a rejection.
//! Nothing is removed until an administrator approves.

use super::error::{AdminError, AdminForm, Administrator, Empty, On, Staff};
use super::web::{render_page, staff_activity, Said};
use crate::app::App;
use crate::domain::phone::Phone;
use crate::domain::roster::ContactRef;
use crate::store::tenancy::School;
use crate::store::{ErasureScope, PrivacyKind, PrivacyRequest};
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

store_port!(
    ActivityStore,
    PrivacyStore,
    RosterStore,
    JobStore,
    SchoolKeys,
    StaffAuthStore
);

/// Requests a page lists.
const LISTED: i64 = 500;
/// The longest note of how the identity was checked.
const MAX_CHECK: usize = 500;

fn row_ctx(r: &PrivacyRequest, now: chrono::DateTime<chrono::Utc>) -> minijinja::Value {
    let open = matches!(r.status.as_str(), "pending" | "failed");
    context! {
        id => r.id.to_string(),
        kind => r.kind.clone(),
        name => r.name.expose().clone(),
        source => r.source.clone(),
        identity_check => r.identity_check.expose().clone(),
        requested_by => r.requested_by.clone(),
        requested => r.requested_at.format("%Y-%m-%d %H:%M").to_string(),
        due => r.due_at.format("%Y-%m-%d").to_string(),
        overdue => open && r.due_at < now,
        open => open,
        status => r.status.clone(),
        scope => r.scope.map(|s| s.as_str()),
        decided_by => r.decided_by.clone(),
        decided => r.decided_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
        error => r.error.clone(),
        result => r.result.as_ref().map(|v| v.to_string()),
        contact => format!("{}:{}", r.contact.kind(), r.contact.uuid()),
    }
}

async fn list_page(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    said: Said,
) -> Result<Response, AdminError> {
    let requests = port(school).privacy_requests(None, LISTED).await?;
    let now = app.clock.now();
    let (open, done): (Vec<_>, Vec<_>) = requests
        .iter()
        .partition(|r| matches!(r.status.as_str(), "pending" | "failed"));
    Ok(render_page(
        "privacy.html",
        school,
        s,
        context! {
            open => open.iter().map(|r| row_ctx(r, now)).collect::<Vec<_>>(),
            done => done.iter().map(|r| row_ctx(r, now)).collect::<Vec<_>>(),
            max_check => MAX_CHECK,
        },
        said,
    ))
}

pub async fn list(
    State(app): State<App>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    list_page(&app, &school, &s, Said::nothing()).await
}

#[derive(Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    identity_check: String,
}

/// A request made by phone or on paper, recorded by an administrator.
pub async fn record(
    State(app): State<App>,
    AdminForm { staff, form }: AdminForm<RecordForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let Some(kind) = PrivacyKind::parse(form.kind.trim()) else {
        return list_page(
            &app,
            &school,
            &s,
            Said::refused("Choose what was asked for."),
        )
        .await;
    };
    let check = crate::domain::bidi::neutralise(form.identity_check.trim()).into_owned();
    if check.is_empty() || check.chars().count() > MAX_CHECK {
        return list_page(
            &app,
            &school,
            &s,
            Said::refused(format!(
                "Say how the person's identity was checked (at most {MAX_CHECK} characters)."
            )),
        )
        .await;
    }
    // A staff member by their email; a guardian by their phone.
    let who = match who_asked(&school, form.phone.trim()).await? {
        Ok(c) => c,
        Err(refusal) => return list_page(&app, &school, &s, Said::refused(refusal)).await,
    };
    let by = format!("staff:{}", s.staff.id.0);
    let request = crate::privacy::record(&school, kind, who, "admin", &check, &by, app.clock.now())
        .await
        .map_err(|e| AdminError::internal(&e))?;
    request_page(&app, &school, &s, request.id, Said::notice("Recorded.")).await
}

/// The person a recorded request is about: a staff member by their email, a guardian
/// by their phone; or why not.
async fn who_asked(
    school: &School,
    typed: &str,
) -> Result<Result<ContactRef, &'static str>, AdminError> {
    if typed.contains('@') {
        return Ok(match port(school).staff_by_email(typed).await? {
            Some(staff) => Ok(ContactRef::Staff(staff.id)),
            None => Err("No staff member has that email."),
        });
    }
    let Ok(phone) = Phone::parse(typed, school.tenant.timezone.phone_region()) else {
        return Ok(Err("That phone number is not valid."));
    };
    Ok(port(school)
        .contacts_by_phone(&phone)
        .await?
        .into_iter()
        .find(|c| matches!(c, ContactRef::Guardian(_)))
        .ok_or("No guardian on the roster has that phone number."))
}

async fn request_page(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    id: uuid::Uuid,
    said: Said,
) -> Result<Response, AdminError> {
    let r = port(school)
        .privacy_request(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    Ok(render_page(
        "privacy_request.html",
        school,
        s,
        context! { r => row_ctx(&r, app.clock.now()) },
        said,
    ))
}

pub async fn view(
    State(app): State<App>,
    Path(id): Path<String>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    request_page(
        &app,
        &school,
        &s,
        super::web::path_id(&id)?,
        Said::nothing(),
    )
    .await
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    scope: String,
    /// The "I understand this cannot be undone" box.
    #[serde(default)]
    confirm: String,
}

/// The erasure, approved with its scope (a failure rolls it back and the page says so;
/// the request stays, marked failed, to be approved again).
pub async fn erase(
    State(app): State<App>,
    On(id, AdminForm { staff, form }): On<AdminForm<EraseForm>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let r = port(&school)
        .privacy_request(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if r.kind != "erasure" || !matches!(r.status.as_str(), "pending" | "failed") {
        return request_page(
            &app,
            &school,
            &s,
            id,
            Said::refused("This request is not waiting for an erasure."),
        )
        .await;
    }
    let Some(scope) = ErasureScope::parse(form.scope.trim()) else {
        return request_page(
            &app,
            &school,
            &s,
            id,
            Said::refused("Choose what to erase."),
        )
        .await;
    };
    if form.confirm != "yes" {
        return request_page(
            &app,
            &school,
            &s,
            id,
            Said::refused("Tick the box to confirm: the erasure cannot be undone."),
        )
        .await;
    }
    let by = format!("staff:{}", s.staff.id.0);
    match crate::privacy::erase(&app, &school, id, scope, &by, "admin").await {
        Ok(_) => request_page(&app, &school, &s, id, Said::notice("Erased.")).await,
        Err(crate::privacy::PrivacyError::Rolledback(e)) => {
            tracing::warn!(request = %id, error = %e, "erasure rolled back");
            request_page(
                &app,
                &school,
                &s,
                id,
                Said::refused("The erasure failed and nothing was changed; the request is marked failed and can be approved again."),
            )
            .await
        }
        Err(e) => Err(AdminError::internal(&e)),
    }
}

/// A request rejected (not the person's, a duplicate…), logged.
pub async fn reject(
    State(app): State<App>,
    On(
        id,
        AdminForm {
            staff,
            form: Empty {},
        },
    ): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let now = app.clock.now();
    let entry = staff_activity(
        &s,
        "privacy_request.rejected",
        Some(format!("privacy_request:{id}")),
        json!({}),
        now,
    );
    let said = if port(&school)
        .reject_privacy_request(id, &entry, now)
        .await?
    {
        Said::notice("Rejected.")
    } else {
        Said::refused("This request is not waiting for a decision.")
    };
    request_page(&app, &school, &s, id, said).await
}

/// An access request answered (the copy was handed to the person), logged.
pub async fn answered(
    State(app): State<App>,
    On(
        id,
        AdminForm {
            staff,
            form: Empty {},
        },
    ): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let store = port(&school);
    let r = store
        .privacy_request(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if r.kind != "access" {
        return request_page(
            &app,
            &school,
            &s,
            id,
            Said::refused("Only a request for a copy is answered this way."),
        )
        .await;
    }
    let now = app.clock.now();
    let entry = staff_activity(
        &s,
        "privacy_request.answered",
        Some(format!("privacy_request:{id}")),
        json!({}),
        now,
    );
    let said = if store.complete_privacy_request(id, &entry, now).await? {
        Said::notice("Marked as answered.")
    } else {
        Said::refused("This request is not waiting for a decision.")
    };
    request_page(&app, &school, &s, id, said).await
}

/// The person's data as a zip (an access request's copy), made now; the download is
/// logged. Not cached by the browser.
pub async fn copy(
    State(app): State<App>,
    Path(id): Path<String>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    let id = super::web::path_id(&id)?;
    let store = port(&school);
    let r = store
        .privacy_request(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if r.kind != "access" || r.status == "rejected" {
        return Err(AdminError::NotFound);
    }
    let sections = store.personal_data(r.contact).await?;
    let now = app.clock.now();
    let zip = crate::privacy::access_zip(&school.tenant.name, &sections, now)
        .map_err(|e| AdminError::internal(&e))?;
    let entry = staff_activity(
        &s,
        "privacy_request.copy_downloaded",
        Some(format!("privacy_request:{id}")),
        json!({ "bytes": zip.len() }),
        now,
    );
    store.log_activity(&entry).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/zip".to_string()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"personal-data-{}.zip\"",
                    &id.simple().to_string()[24..]
                ),
            ),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        zip,
    )
        .into_response())
}

/// The dashboard's figure for administrators: requests waiting (pending or failed).
pub async fn dashboard_open(school: &School) -> Result<i64, crate::store::StoreError> {
    port(school).open_privacy_requests().await
}

/// What a signed export link is for (the HMAC's purpose).
const EXPORT_LINK: &str = "export-link";

async fn exports_page(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    said: Said,
) -> Result<Response, AdminError> {
    let store = port(school);
    let now = app.clock.now();
    let running = app
        .export_progress
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    let expires = now.timestamp() + super::leave::ATTACHMENT_LINK_SECONDS;
    let rows: Vec<_> = store
        .jobs_of_kind(crate::domain::job::SCHOOL_EXPORT, 20)
        .await?
        .into_iter()
        .map(|j| {
            let kept = j.created_at
                >= now - chrono::Duration::days(crate::domain::job::EXPORT_KEPT_DAYS);
            let file = crate::export::stored_path(&app.config.data_dir, school.tenant.id, j.id);
            let ready = j.state == "done" && kept && file.is_file();
            let link = ready.then(|| {
                format!(
                    "/admin/export/{}/download?exp={expires}&sig={}",
                    j.id,
                    super::leave::link_signature(store, EXPORT_LINK, j.id, expires)
                )
            });
            context! {
                id => j.id.to_string(),
                created => j.created_at.format("%Y-%m-%d %H:%M").to_string(),
                state => j.state.clone(),
                rows => running.get(&j.id).copied(),
                error => j.last_error,
                link => link,
                expired => j.state == "done" && !ready,
                until => (j.created_at + chrono::Duration::days(crate::domain::job::EXPORT_KEPT_DAYS)).format("%Y-%m-%d").to_string(),
            }
        })
        .collect();
    Ok(render_page(
        "export.html",
        school,
        s,
        context! { exports => rows },
        said,
    ))
}

pub async fn exports(
    State(app): State<App>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    exports_page(&app, &school, &s, Said::nothing()).await
}

/// Starts an export of the whole school (a job; the page shows its progress).
pub async fn start_export(
    State(app): State<App>,
    AdminForm {
        staff,
        form: Empty {},
    }: AdminForm<Empty>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let now = app.clock.now();
    let by = format!("staff:{}", s.staff.id.0);
    let store = port(&school);
    store
        .enqueue_job(&crate::domain::job::school_export(&by, now), now)
        .await?;
    let entry = staff_activity(&s, "school.export_requested", None, json!({}), now);
    store.log_activity(&entry).await?;
    app.wake_jobs();
    exports_page(
        &app,
        &school,
        &s,
        Said::notice("The export has started; this page shows when it is ready."),
    )
    .await
}

#[derive(Deserialize)]
pub struct LinkQuery {
    exp: i64,
    sig: String,
}

/// The export's zip, decrypted as it is sent (through a private work file unlinked
/// once open), behind a signed link and an administrator's session; logged.
pub async fn download_export(
    State(app): State<App>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<LinkQuery>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    let id = super::web::path_id(&id)?;
    let store = port(&school);
    let now = app.clock.now();
    if !super::leave::link_ok(
        &super::leave::link_signature(store, EXPORT_LINK, id, q.exp),
        &q.sig,
        q.exp,
        now.timestamp(),
    ) {
        return Err(AdminError::refused(
            axum::http::StatusCode::FORBIDDEN,
            "This link has expired; open the export page again.",
        ));
    }
    let job = store
        .jobs_of_kind(crate::domain::job::SCHOOL_EXPORT, 1000)
        .await?
        .into_iter()
        .find(|j| j.id == id && j.state == "done")
        .filter(|j| {
            j.created_at >= now - chrono::Duration::days(crate::domain::job::EXPORT_KEPT_DAYS)
        })
        .ok_or(AdminError::NotFound)?;
    let stored = crate::export::stored_path(&app.config.data_dir, school.tenant.id, job.id);
    if !stored.is_file() {
        return Err(AdminError::NotFound);
    }
    let (_, key) = app.tenancy.backup_key(school.tenant.id).await?;
    let work = app.config.data_dir.join("export-work");
    crate::fsutil::create_private_dir(&work).map_err(|e| AdminError::internal(&e))?;
    let plain = work.join(format!("download-{}.zip", uuid::Uuid::now_v7().simple()));
    let (from, to, part) = (
        stored.clone(),
        plain.clone(),
        crate::export::part_name(job.id),
    );
    tokio::task::spawn_blocking(move || crate::backup::decrypt_file(&key, &part, &from, &to))
        .await
        .map_err(|e| AdminError::internal(&e))?
        .map_err(|e| AdminError::internal(&e))?;
    let file = tokio::fs::File::open(&plain)
        .await
        .map_err(|e| AdminError::internal(&e))?;
    // The open handle keeps the bytes; the name goes at once.
    let _ = std::fs::remove_file(&plain);
    let entry = staff_activity(
        &s,
        "school.export_downloaded",
        Some(format!("job:{id}")),
        json!({}),
        now,
    );
    store.log_activity(&entry).await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (CONTENT_TYPE, "application/zip".to_string()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-export.zip\"",
                    school.tenant.slug.as_str()
                ),
            ),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}
