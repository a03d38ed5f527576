//! Attendance in the web admin: a class's register for a day, marked or corrected in
//! one transaction. Changing a mark that was already recorded needs a reason, which
//! goes into the activity log with the counts.
//!
//! Scope: administrators (whole school), branch managers (their branch), teachers
//! (their classes). Days after today (school time) are refused.

use super::error::{AdminError, Staff, StaffPairs};
use super::web::{
    class_choices, field, redirect, render_page, staff_activity, visible_classes, Said,
};
use crate::app::App;
use crate::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::ClassId;
use crate::store::tenancy::School;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

store_port!(AttendanceStore, FlowStore);

const STATUSES: [&str; 4] = ["present", "absent", "late", "excused"];
const MAX_REASON: usize = 300;

#[derive(Deserialize)]
pub struct RegisterQuery {
    #[serde(default)]
    class: String,
    #[serde(default)]
    day: String,
}

pub async fn page(
    State(app): State<App>,
    Query(q): Query<RegisterQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    register(&app, &school, &s, &q.class, &q.day, Said::nothing()).await
}

async fn register(
    app: &App,
    school: &School,
    s: &super::auth::ActiveSession,
    class: &str,
    day: &str,
    said: Said,
) -> Result<Response, AdminError> {
    let store = port(school);
    let mut classes = visible_classes(store, s).await?;
    classes.sort_by_key(|c| c.label());
    let today = school.tenant.timezone.today(app.clock.now());
    let day = match day.trim() {
        "" => today,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) if d <= today => d,
            _ => return Err(AdminError::BadRequest("Choose a day up to today.".into())),
        },
    };
    let chosen = match class.trim() {
        "" => classes.first().map(|c| c.id),
        c => match c.parse::<Uuid>().map(ClassId) {
            Ok(id) if classes.iter().any(|k| k.id == id) => Some(id),
            _ => return Err(AdminError::NotFound),
        },
    };
    let rows = match chosen {
        Some(c) => store.class_register(c, day).await?,
        None => Vec::new(),
    };
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            context! {
                id => r.student.0.to_string(), admission_no => r.admission_no.clone(),
                name => r.full_name.clone(), status => r.status.map(|x| x.as_str()),
            }
        })
        .collect();
    Ok(render_page(
        "attendance.html",
        school,
        s,
        context! {
            classes => class_choices(&classes),
            class => chosen.map(|c| c.0.to_string()),
            day => day.to_string(), today => today.to_string(),
            rows => rows, statuses => STATUSES,
        },
        said,
    ))
}

/// Saves the register: fields `s_<student id>` = status (blank leaves a student
/// unmarked), `reason` when correcting marks already recorded.
pub async fn save(
    State(app): State<App>,
    StaffPairs { staff, pairs, .. }: StaffPairs,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let get = |name: &str| field(&pairs, name);
    let store = port(&school);
    let classes = visible_classes(store, &s).await?;
    let class = get("class")
        .parse::<Uuid>()
        .ok()
        .map(ClassId)
        .filter(|c| classes.iter().any(|k| k.id == *c))
        .ok_or(AdminError::NotFound)?;
    let today = school.tenant.timezone.today(app.clock.now());
    let day = NaiveDate::parse_from_str(get("day"), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= today)
        .ok_or_else(|| AdminError::BadRequest("Choose a day up to today.".into()))?;
    let current: HashMap<Uuid, Option<AttendanceStatus>> = store
        .class_register(class, day)
        .await?
        .into_iter()
        .map(|r| (r.student.0, r.status))
        .collect();
    let mut records = Vec::new();
    let mut corrected = 0;
    for (k, v) in &pairs {
        let Some(id) = k.strip_prefix("s_") else {
            continue;
        };
        let id = id.parse::<Uuid>().map_err(|_| AdminError::NotFound)?;
        // Only students of this class's register.
        let before = current.get(&id).ok_or(AdminError::NotFound)?;
        if v.is_empty() {
            continue;
        }
        let status = v
            .parse::<AttendanceStatus>()
            .map_err(|_| AdminError::BadRequest("Unknown attendance status.".into()))?;
        if *before == Some(status) {
            continue;
        }
        if before.is_some() {
            corrected += 1;
        }
        records.push(AttendanceRecord {
            day,
            student: crate::domain::StudentId(id),
            status,
            source: AttendanceSource::Manual,
            recorded_by: Some(s.staff.id),
        });
    }
    let reason = get("reason").trim();
    let class_s = class.0.to_string();
    let day_s = day.to_string();
    let problem = if corrected > 0 && reason.is_empty() {
        Some(format!(
            "{corrected} mark(s) already recorded would change: give a reason for the correction."
        ))
    } else if reason.chars().count() > MAX_REASON {
        Some("The reason is too long (300 characters at most).".to_string())
    } else {
        None
    };
    if let Some(problem) = problem {
        return register(&app, &school, &s, &class_s, &day_s, Said::refused(problem)).await;
    }
    if !records.is_empty() {
        let entry = staff_activity(
            &s,
            if corrected > 0 {
                "attendance.correct"
            } else {
                "attendance.mark"
            },
            Some(format!("class:{class_s}")),
            json!({
                "day": day_s, "marked": records.len() - corrected, "corrected": corrected,
                "reason": (!reason.is_empty()).then_some(reason),
            }),
            app.clock.now(),
        );
        store.record_register(&records, &entry).await?;
    }
    Ok(redirect(&format!(
        "/admin/attendance?class={class_s}&day={day_s}&saved={}",
        records.len()
    )))
}
