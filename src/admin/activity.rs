//! The activity log: who did what and when, filtered by actor, action and dates, with a
//! CSV export. Administrators only (it spans the whole school).

use super::error::{AdminError, Administrator, Staff};
use super::web::{csv_cell, render};
use crate::store::ActivityFilter;
use axum::extract::Query;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use minijinja::context;
use serde::Deserialize;

store_port!(ActivityStore);

/// Rows on the page; the CSV export takes up to `EXPORT_ROWS`.
const PAGE_ROWS: i64 = 200;
const EXPORT_ROWS: i64 = 100_000;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn parse(q: &Filter) -> Result<ActivityFilter, &'static str> {
    let day = |s: &str| -> Result<Option<chrono::DateTime<Utc>>, &'static str> {
        match s.trim() {
            "" => Ok(None),
            d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| Some(Utc.from_utc_datetime(&t)))
                .ok_or("Dates look like 2026-11-24."),
        }
    };
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    Ok(ActivityFilter {
        actor_prefix: nonempty(&q.actor),
        action_prefix: nonempty(&q.action),
        from: day(&q.from)?,
        // The "to" day is included: up to the next midnight.
        to: day(&q.to)?.map(|t| t + chrono::Duration::days(1)),
    })
}

pub async fn page(
    Administrator(Staff { school, session: s }): Administrator,
    Query(q): Query<Filter>,
) -> Result<Response, AdminError> {
    let filter = parse(&q).map_err(|m| AdminError::BadRequest(m.into()))?;
    let entries = port(&school).activity_filtered(&filter, PAGE_ROWS).await?;
    let entries: Vec<_> = entries
        .into_iter()
        .map(|e| {
            context! {
                at => e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                actor => e.actor, action => e.action,
                subject => e.subject.unwrap_or_default(), source => e.source,
            }
        })
        .collect();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("actor", &q.actor)
        .append_pair("action", &q.action)
        .append_pair("from", &q.from)
        .append_pair("to", &q.to)
        .finish();
    Ok(render(
        "activity.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                entries => entries, actor => q.actor, action => q.action, from => q.from, to => q.to,
                query => query,
            },
        ),
    ))
}

pub async fn csv(
    Administrator(Staff { school, .. }): Administrator,
    Query(q): Query<Filter>,
) -> Result<Response, AdminError> {
    let filter = parse(&q).map_err(|m| AdminError::BadRequest(m.into()))?;
    let entries = port(&school)
        .activity_filtered(&filter, EXPORT_ROWS)
        .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![vec![
        "at".to_string(),
        "actor".into(),
        "action".into(),
        "subject".into(),
        "source".into(),
        "details".into(),
    ]];
    for e in &entries {
        rows.push(vec![
            e.at.to_rfc3339(),
            e.actor.clone(),
            e.action.clone(),
            e.subject.clone().unwrap_or_default(),
            e.source.clone(),
            e.details.to_string(),
        ]);
    }
    for row in rows {
        // A cell starting with = + - @ would run as a formula in a spreadsheet.
        let safe: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        w.write_record(&safe).map_err(AdminError::internal)?;
    }
    let body = w.into_inner().map_err(AdminError::internal)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"activity.csv\""),
        ],
        body,
    )
        .into_response())
}
