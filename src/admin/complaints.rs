//! Complaints in the web admin: the inbox (filters, sort, CSAT per category and
//! month) and the thread (the person's messages and files behind signed links, the
//! AI's summary and suggested reply marked as such, staff replies sent through the
//! outbox, internal notes, assignment, category and priority, status, closing with a
//! reason, reopening). Every change is one store transaction with its activity entry.
//!
//! Scope: administrators see every complaint; branch managers the complaints of their
//! branch's families; teachers only those assigned to them; complaints filed by staff
//! are seen by administrators only. Anything outside the scope answers 404.

use super::auth::ActiveSession;
use super::error::{AdminError, On, Staff, StaffForm};
use super::web::{path_id, redirect, render, staff_activity};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::StaffId;
use crate::store::{
    ComplaintChange, ComplaintSummary, CsatAnswer, COMPLAINT_PRIORITIES, COMPLAINT_STATUSES,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

store_port!(
    ComplaintStore,
    MediaStore,
    SchoolKeys,
    SettingsStore,
    OfficeStore
);

/// Longest staff reply, note or closing reason.
pub const MAX_TEXT: usize = 2000;

/// Whether this staff member may see the complaint.
pub fn visible(s: &ActiveSession, c: &ComplaintSummary) -> bool {
    match s.staff.role {
        StaffRole::Admin => true,
        _ if c.filed_by_staff => false,
        StaffRole::BranchManager => s.staff.branch.is_some_and(|b| c.branches.contains(&b)),
        StaffRole::Teacher => c.assigned_to == Some(s.staff.id),
    }
}

/// Whether `staff` could see the complaint once it is assigned to them (who may be
/// chosen in the assign list).
pub fn assignable(staff: &crate::store::StaffAuth, c: &ComplaintSummary) -> bool {
    staff.active
        && match staff.role {
            StaffRole::Admin => true,
            _ if c.filed_by_staff => false,
            StaffRole::BranchManager => staff.branch.is_some_and(|b| c.branches.contains(&b)),
            StaffRole::Teacher => true,
        }
}

/// What the dashboard shows of the inbox (in the person's scope): open (not closed),
/// new and unassigned, assigned to them and still open.
pub async fn dashboard_counts(
    store: &(impl crate::store::ComplaintStore + ?Sized),
    s: &ActiveSession,
) -> Result<(usize, usize, usize), crate::store::StoreError> {
    let all = store.complaints().await?;
    let open: Vec<_> = all
        .iter()
        .filter(|c| visible(s, c) && c.status != "closed")
        .collect();
    let unassigned = open.iter().filter(|c| c.assigned_to.is_none()).count();
    let mine = open
        .iter()
        .filter(|c| c.assigned_to == Some(s.staff.id))
        .count();
    Ok((open.len(), unassigned, mine))
}

/// "3 d", "5 h", "12 min": how long ago.
fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let d = now - at;
    if d.num_days() >= 1 {
        format!("{} d", d.num_days())
    } else if d.num_hours() >= 1 {
        format!("{} h", d.num_hours())
    } else {
        format!("{} min", d.num_minutes().max(0))
    }
}

fn priority_rank(p: Option<&str>) -> usize {
    p.and_then(|p| COMPLAINT_PRIORITIES.iter().position(|x| *x == p))
        .map(|i| COMPLAINT_PRIORITIES.len() - i)
        .unwrap_or(COMPLAINT_PRIORITIES.len() + 1)
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    /// "me", "none" or empty.
    #[serde(default)]
    assignee: Option<String>,
    /// newest (default), oldest, priority, updated.
    #[serde(default)]
    sort: Option<String>,
}

/// The CSAT table: average and count per category and month (of the visible
/// complaints), newest month first.
fn csat_rows(
    answers: &[CsatAnswer],
    tz: &crate::domain::school::Timezone,
) -> Vec<minijinja::Value> {
    let mut by: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for a in answers {
        let month =
            a.at.with_timezone(&tz.utc_offset())
                .format("%Y-%m")
                .to_string();
        let category = a.category.clone().unwrap_or_else(|| "—".into());
        let e = by.entry((month, category)).or_default();
        e.0 += a.score;
        e.1 += 1;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by(|a, b| b.0 .0.cmp(&a.0 .0).then(a.0 .1.cmp(&b.0 .1)));
    rows.into_iter()
        .map(|((month, category), (sum, n))| {
            context! { month => month, category => category, n => n,
            average => format!("{:.1}", sum as f64 / n as f64) }
        })
        .collect()
}

pub async fn list(
    State(app): State<App>,
    Query(q): Query<ListQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let status = q.status.clone().unwrap_or_else(|| "active".into());
    if status != "active" && status != "all" && !COMPLAINT_STATUSES.contains(&status.as_str()) {
        return Err(AdminError::BadRequest("Unknown status.".into()));
    }
    let sort = q.sort.clone().unwrap_or_else(|| "newest".into());
    if !["newest", "oldest", "priority", "updated"].contains(&sort.as_str()) {
        return Err(AdminError::BadRequest("Unknown sort order.".into()));
    }
    let filter = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let (category, priority, assignee) = (
        filter(&q.category),
        filter(&q.priority),
        filter(&q.assignee),
    );
    let store = port(&school);
    let all: Vec<_> = store
        .complaints()
        .await?
        .into_iter()
        .filter(|c| visible(&s, c))
        .collect();
    let visible_ids: std::collections::HashSet<Uuid> = all.iter().map(|c| c.id).collect();
    let mut rows: Vec<_> = all
        .into_iter()
        .filter(|c| match status.as_str() {
            "all" => true,
            "active" => c.status != "closed",
            other => c.status == other,
        })
        .filter(|c| {
            category
                .as_ref()
                .is_none_or(|x| c.category.as_ref() == Some(x))
        })
        .filter(|c| {
            priority
                .as_ref()
                .is_none_or(|x| c.priority.as_ref() == Some(x))
        })
        .filter(|c| match assignee.as_deref() {
            Some("me") => c.assigned_to == Some(s.staff.id),
            Some("none") => c.assigned_to.is_none(),
            _ => true,
        })
        .collect();
    match sort.as_str() {
        "oldest" => rows.sort_by_key(|c| c.created_at),
        "priority" => rows.sort_by_key(|c| {
            (
                priority_rank(c.priority.as_deref()),
                std::cmp::Reverse(c.created_at),
            )
        }),
        "updated" => rows.sort_by_key(|c| std::cmp::Reverse(c.updated_at)),
        _ => rows.sort_by_key(|c| std::cmp::Reverse(c.created_at)),
    }
    let now = app.clock.now();
    let rows: Vec<_> = rows
        .iter()
        .map(|c| {
            context! {
                id => c.id.to_string(), reference => c.reference.clone(),
                category => c.category.clone(), priority => c.priority.clone(),
                sentiment => c.sentiment.clone(), status => c.status.clone(),
                assignee => c.assignee.clone(), age => age(now, c.created_at),
                summary => c.summary.as_ref().map(|x| x.expose().clone()),
                source => c.triage_source.clone(), note => c.triage_note.clone(),
                by_staff => c.filed_by_staff,
            }
        })
        .collect();
    let categories = categories(store).await?;
    let answers: Vec<CsatAnswer> = store
        .csat_answers()
        .await?
        .into_iter()
        .filter(|a| visible_ids.contains(&a.complaint))
        .collect();
    Ok(render(
        "complaints.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                rows => rows, status => status, sort => sort,
                category => category, priority => priority, assignee => assignee,
                categories => categories, priorities => COMPLAINT_PRIORITIES.to_vec(),
                status_options => ["active"]
                    .into_iter()
                    .chain(COMPLAINT_STATUSES.iter().copied())
                    .chain(["all"])
                    .collect::<Vec<_>>(),
                csat => csat_rows(&answers, &school.tenant.timezone),
            },
        ),
    ))
}

async fn categories(store: &(impl Port + ?Sized)) -> Result<Vec<String>, AdminError> {
    let settings = store.settings().await?;
    Ok(crate::triage::categories(
        settings
            .iter()
            .find(|(n, _)| n == crate::triage::SETTING_CATEGORIES)
            .map(|(_, v)| v.as_str()),
    ))
}

/// What a thread file link signs for (`leave::link_signature`).
const FILE_LINK: &str = "admin-complaint-file";

/// The complaint's thread, if this person may see it (else 404).
async fn in_scope(
    store: &(impl Port + ?Sized),
    s: &ActiveSession,
    id: Uuid,
) -> Result<crate::store::ComplaintThread, AdminError> {
    let t = store
        .complaint_thread(id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if !visible(s, &t.summary) {
        return Err(AdminError::NotFound);
    }
    Ok(t)
}

pub async fn view(
    State(app): State<App>,
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let id = path_id(&id)?;
    let store = port(&school);
    let t = in_scope(store, &s, id).await?;
    let now = app.clock.now();
    let expires = now.timestamp() + super::leave::ATTACHMENT_LINK_SECONDS;
    let tz = school.tenant.timezone.utc_offset();
    let when = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let messages: Vec<_> = t
        .messages
        .iter()
        .map(|m| {
            let file_url = m.media_key.as_ref().map(|_| {
                format!(
                    "/admin/complaints/{id}/files/{}?exp={expires}&sig={}",
                    m.id,
                    super::leave::link_signature(store, FILE_LINK, m.id, expires)
                )
            });
            context! {
                kind => m.kind.clone(), author => m.author_name.clone(),
                body => m.body.as_ref().map(|b| b.expose().clone()),
                file_url => file_url, at => when(m.at),
            }
        })
        .collect();
    let triage = t.triage.as_ref().map(|r| {
        context! {
            source => r.source.clone(), summary => r.summary.expose().clone(),
            reply => r.suggested_reply.expose().clone(), language => r.language.clone(),
            note => r.note.clone(),
        }
    });
    let may_assign = s.staff.role != StaffRole::Teacher;
    let staff: Vec<_> = if may_assign {
        store
            .staff_list()
            .await?
            .into_iter()
            .filter(|x| assignable(x, &t.summary))
            .map(|x| context! { id => x.id.0.to_string(), name => x.full_name, role => x.role.as_str() })
            .collect()
    } else {
        Vec::new()
    };
    let c = &t.summary;
    let csat: Vec<_> = t
        .csat
        .iter()
        .map(|a| {
            context! { closing => a.closing, score => a.score,
            comment => a.comment.as_ref().map(|c| c.expose().clone()), at => when(a.at) }
        })
        .collect();
    Ok(render(
        "complaint.html",
        super::web::page_ctx(
            &school,
            &s,
            context! {
                id => id.to_string(), reference => c.reference.clone(),
                person => c.contact_name.clone(), by_staff => c.filed_by_staff,
                category => c.category.clone(), priority => c.priority.clone(),
                sentiment => c.sentiment.clone(), status => c.status.clone(),
                assigned => c.assigned_to.map(|a| a.0.to_string()),
                assignee => c.assignee.clone(), created => when(c.created_at),
                age => age(now, c.created_at),
                text => t.text.expose().clone(), triage => triage,
                triage_note => c.triage_note.clone(),
                reason => t.close_reason.as_ref().map(|r| r.expose().clone()),
                closed_at => c.closed_at.map(when),
                messages => messages, csat => csat,
                staff => staff, may_assign => may_assign,
                categories => categories(store).await?, priorities => COMPLAINT_PRIORITIES.to_vec(),
                max_text => MAX_TEXT,
            },
        ),
    ))
}

#[derive(Deserialize)]
pub struct ActForm {
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    status: String,
}

/// A text field of the form: trimmed, required, at most [`MAX_TEXT`] characters.
fn required_text(text: &str, what: &str) -> Result<String, AdminError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(AdminError::BadRequest(format!("Write the {what} first.")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(AdminError::BadRequest(format!(
            "The {what} is too long ({MAX_TEXT} characters at most)."
        )));
    }
    Ok(t.to_string())
}

pub async fn act(
    State(app): State<App>,
    On(id, StaffForm { staff, form }): On<StaffForm<ActForm>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let store = port(&school);
    let t = in_scope(store, &s, id).await?;
    let change = match form.action.as_str() {
        "reply" => ComplaintChange::Reply(required_text(&form.text, "reply")?),
        "note" => ComplaintChange::Note(required_text(&form.text, "note")?),
        "close" => ComplaintChange::Close {
            reason: required_text(&form.text, "reason for closing")?,
        },
        "reopen" => ComplaintChange::Reopen,
        "status" => {
            if !["open", "in_progress"].contains(&form.status.as_str()) {
                return Err(AdminError::BadRequest("Choose open or in progress.".into()));
            }
            ComplaintChange::Status(form.status.clone())
        }
        "category" => {
            if !categories(store).await?.contains(&form.category) {
                return Err(AdminError::BadRequest(
                    "Choose one of the school's categories.".into(),
                ));
            }
            ComplaintChange::Category(form.category.clone())
        }
        "priority" => {
            if !COMPLAINT_PRIORITIES.contains(&form.priority.as_str()) {
                return Err(AdminError::BadRequest("Choose a priority.".into()));
            }
            ComplaintChange::Priority(form.priority.clone())
        }
        "assign" => {
            if s.staff.role == StaffRole::Teacher {
                return Err(AdminError::NotFound);
            }
            let to = if form.staff.is_empty() {
                None
            } else {
                let to = form
                    .staff
                    .parse::<Uuid>()
                    .map(StaffId)
                    .map_err(|_| AdminError::BadRequest("Choose a staff member.".into()))?;
                let known = store
                    .staff_list()
                    .await?
                    .into_iter()
                    .any(|x| x.id == to && assignable(&x, &t.summary));
                if !known {
                    return Err(AdminError::BadRequest(
                        "Choose an active staff member who may see this complaint.".into(),
                    ));
                }
                Some(to)
            };
            ComplaintChange::Assign(to)
        }
        _ => return Err(AdminError::BadRequest("Unknown action.".into())),
    };
    let now = app.clock.now();
    // The entry says what changed, never a text.
    let details = match &change {
        ComplaintChange::Assign(to) => json!({ "to": to.map(|t| t.0) }),
        ComplaintChange::Category(c) => json!({ "from": t.summary.category, "to": c }),
        ComplaintChange::Priority(p) => json!({ "from": t.summary.priority, "to": p }),
        ComplaintChange::Status(x) => json!({ "from": t.summary.status, "to": x }),
        _ => json!({}),
    };
    let entry = staff_activity(
        &s,
        change.action(),
        Some(format!("complaint:{id}")),
        details,
        now,
    );
    if !store.change_complaint(id, &change, &entry, now).await? {
        let why = match change {
            ComplaintChange::Reply(_) => "The complaint is closed: reopen it to reply.",
            ComplaintChange::Close { .. } => "The complaint is closed already.",
            ComplaintChange::Reopen => "The complaint is not closed.",
            _ => "Nothing changed: it was so already.",
        };
        return Err(AdminError::refused(StatusCode::CONFLICT, why));
    }
    app.wake_worker();
    Ok(redirect(&format!("/admin/complaints/{id}")))
}

#[derive(Deserialize)]
pub struct LinkQuery {
    exp: i64,
    sig: String,
}

pub async fn file(
    State(app): State<App>,
    Path((id, message)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let (id, message) = (path_id(&id)?, path_id(&message)?);
    let store = port(&school);
    let now = app.clock.now().timestamp();
    let expected = super::leave::link_signature(store, FILE_LINK, message, q.exp);
    if !super::leave::link_ok(&expected, &q.sig, q.exp, now) {
        return Err(AdminError::refused(
            StatusCode::FORBIDDEN,
            "This link has expired; open the complaint again.",
        ));
    }
    let t = in_scope(store, &s, id).await?;
    let key = t
        .messages
        .iter()
        .find(|m| m.id == message)
        .and_then(|m| m.media_key.clone())
        .ok_or(AdminError::NotFound)?;
    let media = store.media_of(&key).await?.ok_or(AdminError::NotFound)?;
    super::leave::file_response(media)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BranchId, Secret};
    use crate::store::StaffAuth;

    fn session(role: StaffRole, branch: Option<BranchId>) -> ActiveSession {
        ActiveSession {
            staff: StaffAuth {
                id: StaffId::new(),
                full_name: "x".into(),
                email: "x@x.test".into(),
                role,
                branch,
                active: true,
                password_hash: None,
                totp_secret: None,
                totp_enabled_at: None,
                totp_last_step: None,
            },
            mfa_done: true,
            csrf_token: Secret::new("t".into()),
        }
    }

    fn complaint(
        by_staff: bool,
        branches: Vec<BranchId>,
        assigned: Option<StaffId>,
    ) -> ComplaintSummary {
        let now = Utc::now();
        ComplaintSummary {
            id: Uuid::now_v7(),
            reference: "C-2612-0001".into(),
            filed_by_staff: by_staff,
            contact: None,
            contact_name: String::new(),
            branches,
            category: None,
            priority: None,
            sentiment: None,
            status: "open".into(),
            assigned_to: assigned,
            assignee: None,
            triage_source: None,
            triage_note: None,
            summary: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            closings: 0,
        }
    }

    #[test]
    fn scope_by_role_branch_and_assignment() {
        let (main, north) = (BranchId(Uuid::now_v7()), BranchId(Uuid::now_v7()));
        let admin = session(StaffRole::Admin, None);
        let manager = session(StaffRole::BranchManager, Some(main));
        let teacher = session(StaffRole::Teacher, Some(main));
        let family = complaint(false, vec![main], None);
        let other_branch = complaint(false, vec![north], None);
        let by_staff = complaint(true, vec![main], Some(teacher.staff.id));
        let assigned = complaint(false, vec![north], Some(teacher.staff.id));
        assert!([&family, &other_branch, &by_staff, &assigned]
            .iter()
            .all(|c| visible(&admin, c)));
        assert!(visible(&manager, &family));
        assert!(!visible(&manager, &other_branch));
        // Filed by staff: administrators only, even when assigned.
        assert!(!visible(&manager, &by_staff));
        assert!(!visible(&teacher, &by_staff));
        assert!(!visible(&teacher, &family));
        assert!(visible(&teacher, &assigned));
    }

    #[test]
    fn ages_and_priorities_read_as_staff_expect() {
        let now = Utc::now();
        assert_eq!(age(now, now - chrono::Duration::minutes(5)), "5 min");
        assert_eq!(age(now, now - chrono::Duration::hours(3)), "3 h");
        assert_eq!(age(now, now - chrono::Duration::days(2)), "2 d");
        assert!(priority_rank(Some("urgent")) < priority_rank(Some("high")));
        assert!(priority_rank(Some("low")) < priority_rank(None));
    }
}
