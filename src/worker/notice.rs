//! The `complaint.notice` job: staff are told of a new or reopened complaint (the
//! administrators, and the branch managers of the family's branch unless a staff
//! member filed it) or of one assigned to them. The dashboard shows it either way;
//! where SMTP is set, an email goes out too. The email names the reference, category
//! and priority and links to the thread: never the text or the person.

use super::jobs::{JobHandler, JobOutcome};
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::domain::StaffId;
use crate::store::{ComplaintSummary, JobLease, StaffAuth, StoreError, TenantStore};
use async_trait::async_trait;

pub struct ComplaintNotice;

/// Who is told of `event` about complaint `c` (`assignee` for "assigned").
pub fn recipients<'a>(
    staff: &'a [StaffAuth],
    c: &ComplaintSummary,
    event: &str,
    assignee: Option<StaffId>,
) -> Vec<&'a StaffAuth> {
    staff
        .iter()
        .filter(|s| s.active)
        .filter(|s| match event {
            "assigned" => Some(s.id) == assignee,
            _ => match s.role {
                StaffRole::Admin => true,
                StaffRole::BranchManager => {
                    !c.filed_by_staff && s.branch.is_some_and(|b| c.branches.contains(&b))
                }
                StaffRole::Teacher => false,
            },
        })
        .collect()
}

fn subject_and_body(app: &App, c: &ComplaintSummary, event: &str) -> (String, String) {
    let what = match event {
        "assigned" => "was assigned to you",
        "reopened" => "was reopened by the person who filed it",
        _ => "is new",
    };
    let category = c.category.as_deref().unwrap_or("not categorised yet");
    let priority = c.priority.as_deref().unwrap_or("not triaged yet");
    (
        format!("Complaint {} {what}", c.reference),
        format!(
            "Complaint {} {what}.\nCategory: {category}\nPriority: {priority}\n\n\
             Open it in the Raabta admin (sign-in required):\n{}/admin/complaints/{}\n",
            c.reference, app.config.public_url, c.id
        ),
    )
}

#[async_trait]
impl JobHandler for ComplaintNotice {
    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        let Some(id) = crate::domain::job::complaint_of_payload(&job.payload) else {
            return Ok(JobOutcome::Failed {
                error: "the job names no complaint".into(),
            });
        };
        let event = job
            .payload
            .get("event")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("new")
            .to_string();
        let assignee = job
            .payload
            .get("staff")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok())
            .map(StaffId);
        if app.config.smtp_url.is_none() {
            // The dashboard is the notice.
            return Ok(JobOutcome::Done { result: None });
        }
        let Some(thread) = store.complaint_thread(id).await? else {
            return Ok(JobOutcome::Done { result: None });
        };
        let staff = store.staff_list().await?;
        let (subject, body) = subject_and_body(app, &thread.summary, &event);
        let to = recipients(&staff, &thread.summary, &event, assignee);
        Ok(email_all(app, &to, &subject, &body, "complaint", id).await)
    }
}

/// Emails a notice to each of `to`. Tried again only when nobody got it (the server
/// was down): a retry after a partial failure would email the others twice; the
/// dashboard shows it anyway. Logged without the address (the error says what kind
/// of failure it was).
async fn email_all(
    app: &App,
    to: &[&StaffAuth],
    subject: &str,
    body: &str,
    what: &'static str,
    id: uuid::Uuid,
) -> JobOutcome {
    let mut failed = 0;
    for s in to {
        if let Err(e) = crate::mail::send(&app.config, &s.email, subject, body.to_string()).await {
            tracing::warn!(error = %e, kind = what, id = %id, "notice email not sent");
            failed += 1;
        }
    }
    if failed > 0 && failed == to.len() {
        JobOutcome::Retry {
            error: format!("{failed} notice emails not sent"),
            after: None,
        }
    } else {
        JobOutcome::Done { result: None }
    }
}

/// The `lead.notice` job: the school's administrators are told of a lead the enquiry
/// bot took (by email where SMTP is set; the dashboard counts new leads either way).
/// The email names the kind and links to the lead: never the person's details.
pub struct LeadNotice;

#[async_trait]
impl JobHandler for LeadNotice {
    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        let Some(id) = crate::domain::job::lead_of_payload(&job.payload) else {
            return Ok(JobOutcome::Failed {
                error: "the job names no lead".into(),
            });
        };
        if app.config.smtp_url.is_none() {
            return Ok(JobOutcome::Done { result: None });
        }
        let Some(lead) = store.lead(id).await? else {
            return Ok(JobOutcome::Done { result: None });
        };
        let what = if lead.kind == "school" {
            "A school asked about the service"
        } else {
            "A prospective parent asked to be contacted"
        };
        let subject = format!("New enquiry: {}", what.to_lowercase());
        let body = format!(
            "{what}.\n\nOpen the lead in the Raabta admin (sign-in required):\n{}/admin/leads/{}\n",
            app.config.public_url, lead.id
        );
        email_admins(app, store, &subject, &body, "lead", id).await
    }
}

/// The `privacy.notice` job: the school's administrators are told of a data-subject
/// request (a copy of someone's data, or its erasure) and its due date. The email
/// names the kind and the date and links to the request: never the person.
pub struct PrivacyNotice;

#[async_trait]
impl JobHandler for PrivacyNotice {
    async fn run(
        &self,
        app: &App,
        store: &dyn TenantStore,
        job: &JobLease,
    ) -> Result<JobOutcome, StoreError> {
        let Some(id) = crate::domain::job::privacy_request_of_payload(&job.payload) else {
            return Ok(JobOutcome::Failed {
                error: "the job names no request".into(),
            });
        };
        if app.config.smtp_url.is_none() {
            return Ok(JobOutcome::Done { result: None });
        }
        let Some(request) = store.privacy_request(id).await? else {
            return Ok(JobOutcome::Done { result: None });
        };
        let what = if request.kind == "erasure" {
            "the deletion of their personal data"
        } else {
            "a copy of their personal data"
        };
        let subject = format!("Privacy request due {}", request.due_at.format("%Y-%m-%d"));
        let body = format!(
            "Someone asked for {what} (through the {}). It is due by {}.\n\n\
             Review it in the Raabta admin (sign-in required):\n{}/admin/privacy/{}\n",
            request.source,
            request.due_at.format("%Y-%m-%d"),
            app.config.public_url,
            request.id
        );
        email_admins(app, store, &subject, &body, "privacy_request", id).await
    }
}

/// Emails every active administrator of the school (`email_all`).
async fn email_admins(
    app: &App,
    store: &dyn TenantStore,
    subject: &str,
    body: &str,
    what: &'static str,
    id: uuid::Uuid,
) -> Result<JobOutcome, StoreError> {
    let staff = store.staff_list().await?;
    let to: Vec<&StaffAuth> = staff
        .iter()
        .filter(|s| s.active && s.role == StaffRole::Admin)
        .collect();
    Ok(email_all(app, &to, subject, body, what, id).await)
}
