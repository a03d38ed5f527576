//! Leads in the web admin (issue 18): what the enquiry bot took from people who want a
//! call-back or to apply. The office (administrators and branch managers) lists them by
//! status, opens one (name, detail, language, the question, the chat it came from),
//! changes its status, notes and who follows it up, and exports them as CSV.

use super::error::{AdminError, Staff, StaffForm};
use super::web::{csv_cell, office_only, path_id, render_page, staff_activity, Said};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::{Pii, StaffId};
use crate::store::tenancy::School;
use crate::store::{LeadChange, LeadRow, LEAD_STATUSES};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

store_port!(ActivityStore, LeadStore, OfficeStore);

/// Leads a page lists (the newest activity first).
const LISTED: i64 = 500;
/// The longest note.
const MAX_NOTES: usize = 2000;

/// The chat a lead came from, as staff read it; a number typed in the web chat only
/// once its owner confirmed it on WhatsApp.
fn reached_on(l: &LeadRow) -> String {
    let confirmed = l
        .phone
        .as_ref()
        .filter(|_| l.phone_confirmed_at.is_some())
        .map(|p| format!("; WhatsApp {} (confirmed)", p.expose()))
        .unwrap_or_default();
    match (l.provider, &l.sender) {
        (Some(crate::domain::message::Provider::Web), _) => format!("web chat{confirmed}"),
        (Some(p), Some(s)) => format!("{} {}", p.as_str(), s.expose()),
        (Some(p), None) => p.as_str().to_string(),
        (None, _) => confirmed.trim_start_matches("; ").to_string(),
    }
}

fn row_ctx(l: &LeadRow, staff: &[crate::store::StaffAuth]) -> minijinja::Value {
    let assignee = l
        .assigned_to
        .and_then(|a| staff.iter().find(|s| s.id == a))
        .map(|s| s.full_name.clone());
    context! {
        id => l.id.to_string(),
        kind => l.kind.clone(),
        name => l.name.expose().clone(),
        detail => l.detail.expose().clone(),
        language => l.language.clone(),
        question => l.question.as_ref().map(|q| q.expose().clone()),
        status => l.status.clone(),
        notes => l.notes.as_ref().map(|n| n.expose().clone()).unwrap_or_default(),
        assigned => l.assigned_to.map(|a| a.0.to_string()).unwrap_or_default(),
        assignee => assignee,
        reached => reached_on(l),
        phone_waiting => l.phone.is_some() && l.phone_confirmed_at.is_none(),
        created => l.created_at.format("%Y-%m-%d %H:%M").to_string(),
        updated => l.updated_at.format("%Y-%m-%d %H:%M").to_string(),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

fn status_filter(q: &str) -> Option<&str> {
    LEAD_STATUSES.iter().copied().find(|s| *s == q)
}

pub async fn list(
    Query(q): Query<ListQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    office_only(&s)?;
    let store = port(&school);
    let status = status_filter(&q.status);
    let leads = store.leads(status, LISTED).await?;
    let staff = store.staff_list().await?;
    let counts = store.lead_counts().await?;
    let tabs: Vec<_> = LEAD_STATUSES
        .iter()
        .map(|st| context! { status => *st, n => counts.get(*st).copied().unwrap_or(0) })
        .collect();
    Ok(render_page(
        "leads.html",
        &school,
        &s,
        context! {
            leads => leads.iter().map(|l| row_ctx(l, &staff)).collect::<Vec<_>>(),
            tabs => tabs,
            status => status.unwrap_or(""),
        },
        Said::nothing(),
    ))
}

async fn lead_page(
    school: &School,
    s: &super::auth::ActiveSession,
    id: uuid::Uuid,
    said: Said,
) -> Result<Response, AdminError> {
    let store = port(school);
    let lead = store.lead(id).await?.ok_or(AdminError::NotFound)?;
    let staff = store.staff_list().await?;
    let office: Vec<_> = staff
        .iter()
        .filter(|x| x.active && x.role != StaffRole::Teacher)
        .map(|x| context! { id => x.id.0.to_string(), name => x.full_name.clone() })
        .collect();
    Ok(render_page(
        "lead.html",
        school,
        s,
        context! {
            lead => row_ctx(&lead, &staff),
            statuses => LEAD_STATUSES.to_vec(),
            office => office,
            max_notes => MAX_NOTES,
        },
        said,
    ))
}

pub async fn view(
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    office_only(&s)?;
    lead_page(&school, &s, path_id(&id)?, Said::nothing()).await
}

#[derive(Deserialize)]
pub struct LeadForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    assigned: String,
}

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffForm { staff, form }: StaffForm<LeadForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    office_only(&s)?;
    let id = path_id(&id)?;
    let store = port(&school);
    let Some(lead) = store.lead(id).await? else {
        return Err(AdminError::NotFound);
    };
    let Some(status) = status_filter(&form.status) else {
        return lead_page(&school, &s, id, Said::refused("Choose a status.")).await;
    };
    let notes = crate::domain::bidi::neutralise(form.notes.trim()).into_owned();
    if notes.chars().count() > MAX_NOTES {
        return lead_page(
            &school,
            &s,
            id,
            Said::refused(format!("Notes: at most {MAX_NOTES} characters.")),
        )
        .await;
    }
    let assigned = match form.assigned.trim() {
        "" => None,
        a => {
            // Only someone of the office, checked here again.
            let staff = store.staff_list().await?;
            let Some(x) = a
                .parse::<uuid::Uuid>()
                .ok()
                .and_then(|u| staff.into_iter().find(|x| x.id == StaffId(u)))
                .filter(|x| x.active && x.role != StaffRole::Teacher)
            else {
                return lead_page(
                    &school,
                    &s,
                    id,
                    Said::refused("Choose someone of the office."),
                )
                .await;
            };
            Some(x.id)
        }
    };
    let old_notes = lead
        .notes
        .as_ref()
        .map(|n| n.expose().as_str())
        .unwrap_or("");
    let change = LeadChange {
        status: Some(status.to_string()).filter(|st| *st != lead.status),
        notes: (notes != old_notes).then(|| Pii::new(notes.clone())),
        assigned_to: (assigned != lead.assigned_to).then_some(assigned),
    };
    if change.status.is_none() && change.notes.is_none() && change.assigned_to.is_none() {
        return lead_page(&school, &s, id, Said::notice("Nothing changed.")).await;
    }
    let entry = staff_activity(
        &s,
        "lead.updated",
        Some(format!("lead:{id}")),
        json!({
            "status": change.status,
            "notes_changed": change.notes.is_some(),
            "assigned_to": change.assigned_to.map(|a| a.map(|x| x.0)),
        }),
        app.clock.now(),
    );
    store
        .update_lead(id, &change, &entry, app.clock.now())
        .await?;
    lead_page(&school, &s, id, Said::notice("Saved.")).await
}

/// Every lead as CSV (the export is logged: it holds people's details).
pub async fn export(
    State(app): State<App>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    office_only(&s)?;
    let store = port(&school);
    let leads = store.leads(None, i64::MAX).await?;
    let staff = store.staff_list().await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "created_at",
        "updated_at",
        "kind",
        "name",
        "detail",
        "language",
        "question",
        "status",
        "notes",
        "assigned_to",
        "reached_on",
    ])
    .map_err(AdminError::internal)?;
    for l in &leads {
        let assignee = l
            .assigned_to
            .and_then(|a| staff.iter().find(|x| x.id == a))
            .map(|x| x.email.clone())
            .unwrap_or_default();
        let row = [
            l.created_at.to_rfc3339(),
            l.updated_at.to_rfc3339(),
            l.kind.clone(),
            l.name.expose().clone(),
            l.detail.expose().clone(),
            l.language.clone(),
            l.question
                .as_ref()
                .map(|q| q.expose().clone())
                .unwrap_or_default(),
            l.status.clone(),
            l.notes
                .as_ref()
                .map(|n| n.expose().clone())
                .unwrap_or_default(),
            assignee,
            reached_on(l),
        ];
        // A cell starting with = + - @ would run as a formula in a spreadsheet.
        let safe: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        w.write_record(&safe).map_err(AdminError::internal)?;
    }
    let body = w.into_inner().map_err(AdminError::internal)?;
    let entry = staff_activity(
        &s,
        "lead.exported",
        None,
        json!({ "rows": leads.len() }),
        app.clock.now(),
    );
    store.log_activity(&entry).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"leads.csv\""),
        ],
        body,
    )
        .into_response())
}

/// The dashboard's figure: new leads (the office's).
pub async fn dashboard_new(
    school: &School,
    s: &super::auth::ActiveSession,
) -> Result<Option<i64>, crate::store::StoreError> {
    if s.staff.role == StaffRole::Teacher {
        return Ok(None);
    }
    Ok(Some(
        port(school)
            .lead_counts()
            .await?
            .get("new")
            .copied()
            .unwrap_or(0),
    ))
}
