//! Consent forms in the web admin: create and send to the guardians of chosen classes,
//! live tallies per class (approved / declined / no answer), CSV export. The sending,
//! reminders and answers go through the flow engine (`consent` flow). Branch managers
//! send forms to their branch's classes and see the answers of their branch's children;
//! reminding by hand is for administrators; teachers have no consent pages.

use super::error::{AdminError, AdminForm, Empty, On, Staff, StaffPairs};
use super::web::{csv_cell, office_only, path_id, redirect, render, staff_action, staff_activity};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::{ClassId, StudentId};
use crate::store::NewConsentForm;
use axum::extract::{Path, RawForm, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use minijinja::context;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

store_port!(FlowStore, OfficeStore);

pub async fn list(Staff { school, session: s }: Staff) -> Result<Response, AdminError> {
    office_only(&s)?;
    let store = port(&school);
    let forms = store.consent_forms().await?;
    let classes = super::web::visible_classes(store, &s).await?;
    let tz = school.tenant.timezone.clone();
    let mut shown = Vec::new();
    for (id, title, deadline, _) in forms {
        // A branch manager sees the forms that reached children of their branch.
        if s.staff.role != StaffRole::Admin && answers(&school, &s, id).await?.is_none() {
            continue;
        }
        shown.push(context! { id => id.to_string(), title => title,
        deadline => tz.last_day(deadline).to_string() });
    }
    let forms = shown;
    let classes = super::web::class_choices(&classes);
    Ok(render(
        "consent_list.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
            forms => forms, classes => classes },
        ),
    ))
}

fn bad(msg: &str) -> AdminError {
    AdminError::BadRequest(msg.to_string())
}

/// The form has repeated `class` fields, so it is read as pairs (a form content type
/// required, as `RawForm` reads it).
pub async fn create(
    State(app): State<App>,
    StaffPairs { staff, pairs, .. }: StaffPairs<RawForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    office_only(&s)?;
    // Single fields: the last value counts; `class` is repeated.
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut chosen = Vec::new();
    for (k, v) in pairs {
        if k == "class" {
            chosen.push(v);
        } else {
            fields.insert(k, v);
        }
    }
    let title = fields.get("title").map(|t| t.trim()).unwrap_or("");
    if title.is_empty() || title.chars().count() > 200 {
        return Err(bad("The title needs 1 to 200 characters."));
    }
    let description = fields.get("description").map(|t| t.trim()).unwrap_or("");
    if description.chars().count() > 2000 {
        return Err(bad(
            "The description is too long (2000 characters at most).",
        ));
    }
    let day = fields
        .get("deadline")
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
        .ok_or_else(|| bad("Choose the last day for answers."))?;
    let deadline_at = school
        .tenant
        .timezone
        .end_of_day(day)
        .ok_or_else(|| bad("Choose the last day for answers."))?;
    let now = app.clock.now();
    if deadline_at <= now {
        return Err(bad("That day has passed."));
    }
    let store = port(&school);
    // Only the person's classes (a branch manager: their branch's).
    let known = super::web::visible_classes(store, &s).await?;
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
            None => return Err(bad("Unknown class.")),
        }
    }
    if classes.is_empty() {
        return Err(bad("Choose at least one class."));
    }
    let entry = staff_activity(&s, "consent_form.send", None, json!({}), now);
    let new = NewConsentForm {
        title: title.to_string(),
        description: description.to_string(),
        deadline_at,
        classes,
        remind_before: crate::outbound::CONSENT_REMINDER_BEFORE,
    };
    let (id, _) = store.send_consent_form(&new, &entry, now).await?;
    app.wake_worker();
    Ok(redirect(&format!("/admin/consent/{id}")))
}

struct Answers {
    title: String,
    deadline: String,
    deadline_at: chrono::DateTime<chrono::Utc>,
    /// class label → (approved, declined, pending)
    tallies: BTreeMap<String, (u32, u32, u32)>,
    /// (class, child, answer, the guardians' notes)
    rows: Vec<(String, String, String, Vec<String>)>,
}

/// A form's answers per child, limited to the person's classes; None if the form is
/// unknown or reached none of them.
async fn answers(
    school: &crate::store::tenancy::School,
    s: &super::auth::ActiveSession,
    id: Uuid,
) -> Result<Option<Answers>, crate::store::StoreError> {
    let store = port(school);
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
    let mut notes: BTreeMap<StudentId, Vec<String>> = BTreeMap::new();
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
        if let Some(n) = r.note.as_ref().map(|n| n.expose().trim().to_string()) {
            if !n.is_empty() {
                notes.entry(r.student).or_default().push(n);
            }
        }
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
    for ((class, child, student), status) in per_child {
        let t = tallies.entry(class.clone()).or_default();
        match status.as_str() {
            "approved" => t.0 += 1,
            "declined" => t.1 += 1,
            _ => t.2 += 1,
        }
        rows.push((
            class,
            child,
            status,
            notes.remove(&student).unwrap_or_default(),
        ));
    }
    Ok(Some(Answers {
        title,
        deadline: school.tenant.timezone.last_day(deadline_at).to_string(),
        deadline_at,
        tallies,
        rows,
    }))
}

/// A form's answers, in scope, for administrators and branch managers.
async fn answers_of(
    school: &crate::store::tenancy::School,
    s: &super::auth::ActiveSession,
    id: &str,
) -> Result<(Uuid, Answers), AdminError> {
    office_only(s)?;
    let id = path_id(id)?;
    let a = answers(school, s, id).await?.ok_or(AdminError::NotFound)?;
    Ok((id, a))
}

pub async fn view(
    State(app): State<App>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let (id, a) = answers_of(&school, &s, &id).await?;
    let tallies: Vec<_> = a
        .tallies
        .iter()
        .map(|(c, (ap, de, pe))| context! { class => c, approved => ap, declined => de, pending => pe })
        .collect();
    // The parents' notes reach staff (issue 14 item 9).
    let notes: Vec<_> = a
        .rows
        .iter()
        .filter(|r| !r.3.is_empty())
        .map(|(class, child, status, notes)| {
            context! { class => class, child => child, answer => status, note => notes.join(" / ") }
        })
        .collect();
    Ok(render(
        "consent_view.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
            id => id.to_string(), title => a.title, deadline => a.deadline, tallies => tallies,
            notes => notes,
            open => a.deadline_at > app.clock.now() && s.staff.role == StaffRole::Admin,
            reminded => uri.query() == Some("reminded=1") },
        ),
    ))
}

pub async fn csv(
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let (_, a) = answers_of(&school, &s, &id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());

    w.write_record(["class", "child", "answer", "note"])
        .map_err(AdminError::internal)?;
    for (class, child, status, notes) in &a.rows {
        let answer = if status == "pending" {
            "no answer"
        } else {
            status.as_str()
        };
        w.write_record([
            csv_cell(class),
            csv_cell(child),
            answer.to_string(),
            csv_cell(&notes.join(" / ")),
        ])
        .map_err(AdminError::internal)?;
    }
    let body = w.into_inner().map_err(AdminError::internal)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"consent.csv\""),
        ],
        body,
    )
        .into_response())
}

/// Reminds the guardians who have not answered yet, now.
pub async fn remind(
    State(app): State<App>,
    On(id, AdminForm { staff, .. }): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let now = app.clock.now();
    let entry = staff_action(&s, "consent_form.remind", format!("consent_form:{id}"), now);
    if port(&school)
        .remind_consent_now(id, now, &entry)
        .await?
        .is_none()
    {
        return Err(AdminError::NotFound);
    }
    app.wake_worker();
    Ok(redirect(&format!("/admin/consent/{id}?reminded=1")))
}
