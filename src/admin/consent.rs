//! Consent forms in the web admin: create and send to the guardians of chosen classes,
//! live tallies per class (approved / declined / no answer), CSV export. The sending,
//! reminders and answers go through the flow engine (`consent` flow). Branch managers
//! send forms to their branch's classes and see the answers of their branch's children;
//! reminding by hand is for administrators; teachers have no consent pages.

use super::web::{
    admin_form, csrf_rejected, csv_cell, full_session, not_found, redirect, render, server_error,
    staff_activity,
};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::{ClassId, StudentId};
use crate::store::NewConsentForm;
use axum::extract::{Form, Path, RawForm, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub async fn list(State(app): State<App>, headers: HeaderMap) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.staff.role == StaffRole::Teacher {
        return not_found();
    }
    let store = school.store.as_ref();
    let (forms, classes) = match (
        store.consent_forms().await,
        super::web::visible_classes(store, &s).await,
    ) {
        (Ok(f), Ok(c)) => (f, c),
        (Err(e), _) | (_, Err(e)) => return server_error(e),
    };
    let tz = school.tenant.timezone.clone();
    let mut shown = Vec::new();
    for (id, title, deadline, _) in forms {
        // A branch manager sees the forms that reached children of their branch.
        if s.staff.role != StaffRole::Admin {
            match answers(&school, &s, id).await {
                Ok(Some(_)) => {}
                Ok(None) => continue,
                Err(e) => return server_error(e),
            }
        }
        shown.push(context! { id => id.to_string(), title => title,
        deadline => tz.last_day(deadline).to_string() });
    }
    let forms = shown;
    let classes: Vec<_> = classes
        .iter()
        .map(|c| context! { id => c.id.0.to_string(), label => c.label() })
        .collect();
    render(
        "consent_list.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
            forms => forms, classes => classes },
        ),
    )
}

fn bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, msg.to_string()).into_response()
}

/// The form has repeated `class` fields, so it is read as pairs.
pub async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut chosen = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        if k == "class" {
            chosen.push(v.into_owned());
        } else {
            fields.insert(k.into_owned(), v.into_owned());
        }
    }
    if !s.csrf_ok(fields.get("csrf").map(String::as_str).unwrap_or("")) {
        return csrf_rejected();
    }
    if s.staff.role == StaffRole::Teacher {
        return not_found();
    }
    let title = fields.get("title").map(|t| t.trim()).unwrap_or("");
    if title.is_empty() || title.chars().count() > 200 {
        return bad("The title needs 1 to 200 characters.");
    }
    let description = fields.get("description").map(|t| t.trim()).unwrap_or("");
    if description.chars().count() > 2000 {
        return bad("The description is too long (2000 characters at most).");
    }
    let Some(day) = fields
        .get("deadline")
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
    else {
        return bad("Choose the last day for answers.");
    };
    let Some(deadline_at) = school.tenant.timezone.end_of_day(day) else {
        return bad("Choose the last day for answers.");
    };
    let now = app.clock.now();
    if deadline_at <= now {
        return bad("That day has passed.");
    }
    let store = school.store.as_ref();
    // Only the person's classes (a branch manager: their branch's).
    let known = match super::web::visible_classes(store, &s).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let mut classes = Vec::new();
    for c in chosen {
        match c
            .parse::<Uuid>()
            .ok()
            .map(ClassId)
            .filter(|id| known.iter().any(|k| k.id == *id))
        {
            Some(id) if !classes.contains(&id) => classes.push(id),
            Some(_) => {}
            None => return bad("Unknown class."),
        }
    }
    if classes.is_empty() {
        return bad("Choose at least one class.");
    }
    let entry = staff_activity(&s, "consent_form.send", None, json!({}), now);
    let new = NewConsentForm {
        title: title.to_string(),
        description: description.to_string(),
        deadline_at,
        classes,
        remind_before: crate::worker::CONSENT_REMINDER_BEFORE,
    };
    match store.send_consent_form(&new, &entry, now).await {
        Ok((id, _)) => {
            app.wake_worker();
            redirect(&format!("/admin/consent/{id}"))
        }
        Err(e) => server_error(e),
    }
}

struct Answers {
    title: String,
    deadline: String,
    deadline_at: chrono::DateTime<chrono::Utc>,
    /// class label → (approved, declined, pending)
    tallies: BTreeMap<String, (u32, u32, u32)>,
    rows: Vec<(String, String, String)>,
}

/// A form's answers per child, limited to the person's classes; None if the form is
/// unknown or reached none of them.
async fn answers(
    school: &crate::store::tenancy::School,
    s: &super::auth::ActiveSession,
    id: Uuid,
) -> Result<Option<Answers>, crate::store::StoreError> {
    let store = school.store.as_ref();
    let scope = super::web::visible_class_ids(store, s).await?;
    let Some((_, title, deadline_at, _)) =
        store.consent_forms().await?.into_iter().find(|f| f.0 == id)
    else {
        return Ok(None);
    };
    let requests = store.consent_requests(id).await?;
    let classes: HashMap<ClassId, String> = store
        .classes()
        .await?
        .into_iter()
        .map(|c| (c.id, c.label()))
        .collect();
    // Ids and classes only (no decryption of the students' encrypted fields).
    let class_of: HashMap<StudentId, ClassId> = store
        .student_list()
        .await?
        .into_iter()
        .map(|s| (s.id, s.class_id))
        .collect();
    // One answer per child (a child has a request per guardian): approved if any
    // guardian approved, else declined if any declined, else no answer.
    let mut per_child: BTreeMap<(String, String, StudentId), String> = BTreeMap::new();
    for r in &requests {
        let class_id = class_of.get(&r.student);
        if let Some(set) = &scope {
            if !class_id.is_some_and(|c| set.contains(c)) {
                continue;
            }
        }
        let class = class_id
            .and_then(|c| classes.get(c))
            .cloned()
            .unwrap_or_default();
        let e = per_child
            .entry((class, r.student_name.clone(), r.student))
            .or_insert_with(|| "pending".into());
        let rank = |s: &str| match s {
            "approved" => 2,
            "declined" => 1,
            _ => 0,
        };
        if rank(&r.status) > rank(e) {
            *e = r.status.clone();
        }
    }
    if per_child.is_empty() && scope.is_some() {
        return Ok(None);
    }
    let mut tallies: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut rows = Vec::new();
    for ((class, child, _), status) in per_child {
        let t = tallies.entry(class.clone()).or_default();
        match status.as_str() {
            "approved" => t.0 += 1,
            "declined" => t.1 += 1,
            _ => t.2 += 1,
        }
        rows.push((class, child, status));
    }
    Ok(Some(Answers {
        title,
        deadline: school.tenant.timezone.last_day(deadline_at).to_string(),
        deadline_at,
        tallies,
        rows,
    }))
}

pub async fn view(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.staff.role == StaffRole::Teacher {
        return not_found();
    }
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let a = match answers(&school, &s, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    };
    let tallies: Vec<_> = a
        .tallies
        .iter()
        .map(|(c, (ap, de, pe))| context! { class => c, approved => ap, declined => de, pending => pe })
        .collect();
    render(
        "consent_view.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
            id => id.to_string(), title => a.title, deadline => a.deadline, tallies => tallies,
            open => a.deadline_at > app.clock.now() && s.staff.role == StaffRole::Admin,
            reminded => uri.query() == Some("reminded=1") },
        ),
    )
}

pub async fn csv(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (school, s, _) = match full_session(&app, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.staff.role == StaffRole::Teacher {
        return not_found();
    }
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let a = match answers(&school, &s, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return not_found(),
        Err(e) => return server_error(e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());

    if let Err(e) = w.write_record(["class", "child", "answer"]) {
        return server_error(e);
    }
    for (class, child, status) in &a.rows {
        let answer = if status == "pending" {
            "no answer"
        } else {
            status.as_str()
        };
        if let Err(e) = w.write_record([csv_cell(class), csv_cell(child), answer.to_string()]) {
            return server_error(e);
        }
    }
    match w.into_inner() {
        Ok(body) => (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (CONTENT_DISPOSITION, "attachment; filename=\"consent.csv\""),
            ],
            body,
        )
            .into_response(),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
pub struct RemindForm {
    csrf: String,
}

/// Reminds the guardians who have not answered yet, now.
pub async fn remind(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RemindForm>,
) -> Response {
    let (school, s) = match admin_form(&app, &headers, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    let now = app.clock.now();
    let entry = staff_activity(
        &s,
        "consent_form.remind",
        Some(format!("consent_form:{id}")),
        json!({}),
        now,
    );
    match school.store.remind_consent_now(id, now, &entry).await {
        Ok(Some(_)) => {
            app.wake_worker();
            redirect(&format!("/admin/consent/{id}?reminded=1"))
        }
        Ok(None) => not_found(),
        Err(e) => server_error(e),
    }
}
