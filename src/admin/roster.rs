//! The roster in the web admin: students (list, view, add, edit, deactivate), their
//! guardians (add or update, unlink), CSV import with a preview and an all-or-nothing
//! commit, and staff accounts (administrators only).
//!
//! Every write goes through the same validation as the CSV import (`import::parse_roster`
//! on a one-line file) and the same all-or-nothing upsert, with its activity entry.
//!
//! Scope: administrators see the whole school, branch managers their branch, teachers
//! their classes (read only). Encrypted fields are shown to the roles that need them:
//! administrators and branch managers see B-form numbers, guardians' phones, CNICs and
//! addresses; teachers see health notes (a child's care) and guardians' names, with
//! phones masked to their last digits.

use super::auth::ActiveSession;
use super::error::{AdminError, AdminForm, Administrator, Empty, On, Staff, StaffForm, StaffPairs};
use super::web::{
    class_choices, editable_student, field, office_only, page_ctx, path_id, redirect, render,
    render_page, staff_action, staff_activity, visible_classes, Said,
};
use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::roster::{RosterRecord, StaffRole, StaffUser, Student};
use crate::domain::{ClassId, StaffId, StudentId};
use crate::import::ImportError;
use crate::store::tenancy::School;
use crate::store::{ClassRow, StoreError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

store_port!(
    AccessCodeStore,
    FeeStore,
    FlowStore,
    OfficeStore,
    RosterStore,
    StaffAuthStore
);

/// Rows shown at once in the student list; the page says when there are more.
const LIST_ROWS: usize = 200;

const ROSTER_HEADER: [&str; 15] = [
    "admission_no",
    "student_name",
    "class",
    "section",
    "branch",
    "gender",
    "date_of_birth",
    "bform",
    "health_notes",
    "guardian_name",
    "guardian_phone",
    "guardian_relation",
    "guardian_language",
    "guardian_cnic",
    "guardian_address",
];

fn can_edit(s: &ActiveSession) -> bool {
    s.staff.role != StaffRole::Teacher
}

/// The person's classes by id, and the school's branch names by id.
async fn scope(
    school: &School,
    s: &ActiveSession,
) -> Result<
    (
        HashMap<ClassId, ClassRow>,
        HashMap<crate::domain::BranchId, String>,
    ),
    StoreError,
> {
    let store = port(school);
    let classes = visible_classes(store, s)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let branches = store.branches().await?.into_iter().collect();
    Ok((classes, branches))
}

fn class_options(classes: &HashMap<ClassId, ClassRow>) -> Vec<minijinja::Value> {
    let mut v: Vec<_> = classes.values().collect();
    v.sort_by_key(|c| c.label());
    class_choices(v)
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    class: String,
    #[serde(default)]
    q: String,
}

pub async fn list(
    Query(q): Query<ListQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    let (classes, _) = scope(&school, &s).await?;
    let class_filter = match q.class.trim() {
        "" => None,
        c => match c.parse::<Uuid>().map(ClassId) {
            Ok(id) if classes.contains_key(&id) => Some(id),
            _ => return Err(AdminError::NotFound),
        },
    };
    let needle = q.q.trim().to_lowercase();
    let students = port(&school).student_list().await?;
    let matching: Vec<_> = students
        .into_iter()
        .filter(|st| classes.contains_key(&st.class_id))
        .filter(|st| class_filter.is_none_or(|c| c == st.class_id))
        .filter(|st| {
            needle.is_empty()
                || st.full_name.to_lowercase().contains(&needle)
                || st.admission_no.to_lowercase().contains(&needle)
        })
        .collect();
    let total = matching.len();
    let rows: Vec<_> = matching
        .iter()
        .take(LIST_ROWS)
        .map(|st| {
            context! {
                id => st.id.0.to_string(), admission_no => st.admission_no.clone(), name => st.full_name.clone(),
                class => classes.get(&st.class_id).map(|c| c.label()), active => st.active,
            }
        })
        .collect();
    Ok(render(
        "roster_list.html",
        page_ctx(
            &school,
            &s,
            context! {
                rows => rows, total => total, shown => total.min(LIST_ROWS),
                classes => class_options(&classes), class => q.class.trim(), q => q.q.trim(),
                can_edit => can_edit(&s), is_admin_page => s.staff.role == StaffRole::Admin,
            },
        ),
    ))
}

fn mask_phone(p: &str) -> String {
    let digits: Vec<char> = p.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits[digits.len().saturating_sub(3)..].iter().collect();
    format!("••• {tail}")
}

pub async fn view(
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    student_page(&school, &s, &id, Said::nothing()).await
}

async fn student_page(
    school: &School,
    s: &ActiveSession,
    id: &str,
    said: Said,
) -> Result<Response, AdminError> {
    let id = path_id(id).map(StudentId)?;
    let store = port(school);
    let (classes, _) = scope(school, s).await?;
    let (student, active) = store
        .student_detail(id)
        .await?
        .filter(|x| classes.contains_key(&x.0.class_id))
        .ok_or(AdminError::NotFound)?;
    let guardians = store.guardians_of(id).await?;
    let relations: HashMap<_, _> = store.relations_of(id).await?.into_iter().collect();
    let full = can_edit(s);
    let guardians: Vec<_> = guardians
        .iter()
        .map(|g| {
            let phone = g.phone.as_ref().map(|p| p.e164().to_string());
            context! {
                id => g.id.0.to_string(), name => g.full_name.clone(),
                relation => relations.get(&g.id.0),
                language => g.preferred_language.as_str(),
                phone => if full { phone } else { phone.map(|p| mask_phone(&p)) },
                cnic => if full { g.cnic.as_ref().map(|c| c.expose().to_string()) } else { None },
                address => if full { g.address.as_ref().map(|a| a.expose().clone()) } else { None },
            }
        })
        .collect();
    Ok(render_page(
        "student.html",
        school,
        s,
        context! {
            id => student.id.0.to_string(),
            admission_no => student.admission_no,
            name => student.full_name,
            class_id => student.class_id.0.to_string(),
            class => classes.get(&student.class_id).map(|c| c.label()),
            gender => student.gender.as_str(),
            date_of_birth => student.date_of_birth.map(|d| d.to_string()),
            bform => if full { student.bform.as_ref().map(|b| b.expose().to_string()) } else { None },
            health_notes => student.health_notes.as_ref().map(|h| h.expose().clone()),
            active => active,
            guardians => guardians,
            classes => class_options(&classes),
            can_edit => full,
        },
        said,
    ))
}

#[derive(Deserialize, Default)]
pub struct StudentForm {
    #[serde(default)]
    admission_no: String,
    #[serde(default)]
    student_name: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    bform: String,
    #[serde(default)]
    health_notes: String,
    #[serde(default)]
    guardian_name: String,
    #[serde(default)]
    guardian_phone: String,
    #[serde(default)]
    guardian_relation: String,
    #[serde(default)]
    guardian_language: String,
    #[serde(default)]
    guardian_cnic: String,
    #[serde(default)]
    guardian_address: String,
}

/// One roster line built from a form, validated exactly like an imported file.
fn one_line(
    school: &School,
    class: &ClassRow,
    branch: &str,
    f: &StudentForm,
) -> Result<Vec<RosterRecord>, String> {
    let row = [
        f.admission_no.as_str(),
        f.student_name.as_str(),
        class.name.as_str(),
        class.section.as_str(),
        branch,
        f.gender.as_str(),
        f.date_of_birth.as_str(),
        f.bform.as_str(),
        f.health_notes.as_str(),
        f.guardian_name.as_str(),
        f.guardian_phone.as_str(),
        f.guardian_relation.as_str(),
        f.guardian_language.as_str(),
        f.guardian_cnic.as_str(),
        f.guardian_address.as_str(),
    ];
    let bytes = super::imports::one_row::<RosterImport>(&row)?;
    crate::import::parse_roster(&bytes[..], school.tenant.timezone.phone_region()).map_err(|e| {
        match e {
            ImportError::Rows(rows) => rows
                .into_iter()
                .map(|r| r.message)
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    })
}

async fn save_student(
    app: &App,
    school: &School,
    s: &ActiveSession,
    f: &StudentForm,
    class: ClassId,
    action: &str,
) -> Result<Result<StudentId, String>, StoreError> {
    let (classes, branches) = scope(school, s).await?;
    let Some(class) = classes.get(&class) else {
        return Ok(Err("Choose one of your classes.".into()));
    };
    let branch = branches.get(&class.branch).cloned().unwrap_or_default();
    let mut records = match one_line(school, class, &branch, f) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    // A form edit leaves a deactivated student deactivated.
    for r in &mut records {
        r.keep_active = true;
    }
    let store = port(school);
    // Guardians are found by phone across the school: outside the whole school's scope,
    // a number that already belongs to a guardian of children elsewhere is not linked
    // (nor its details changed) from here.
    if s.staff.role != StaffRole::Admin {
        if let Some(g) = records.iter().find_map(|r| r.guardian.as_ref()) {
            for contact in store.contacts_by_phone(&g.phone).await? {
                if let crate::domain::roster::ContactRef::Guardian(gid) = contact {
                    let theirs = store.guardian_classes(gid.0).await?;
                    if theirs.iter().any(|c| !classes.contains_key(c)) {
                        return Ok(Err("This number belongs to a guardian of children outside your classes: ask an administrator to link them.".into()));
                    }
                }
            }
        }
    }
    let entry = staff_activity(
        s,
        action,
        None,
        json!({ "guardian": records.iter().any(|r| r.guardian.is_some()) }),
        app.clock.now(),
    );
    store.import_roster(&records, &entry, &()).await?;
    let ids = store.student_ids_by_admission().await?;
    ids.get(f.admission_no.trim())
        .copied()
        .map(Ok)
        .ok_or_else(|| StoreError::Corrupt("the saved student is missing".into()))
}

fn parse_class(raw: &str) -> Option<ClassId> {
    raw.trim().parse::<Uuid>().ok().map(ClassId)
}

/// Adds a student (administrators and branch managers, into their classes).
pub async fn create(
    State(app): State<App>,
    StaffForm { staff, form: f }: StaffForm<StudentForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    office_only(&s)?;
    let Some(class) = parse_class(&f.class) else {
        return Err(AdminError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a class.",
        ));
    };
    let existing = port(&school).student_ids_by_admission().await?;
    if existing.contains_key(f.admission_no.trim()) {
        return Err(AdminError::refused(
            StatusCode::CONFLICT,
            "A student with this admission number exists already; open them to edit.",
        ));
    }
    match save_student(&app, &school, &s, &f, class, "student.create").await? {
        Ok(id) => Ok(redirect(&format!("/admin/roster/students/{}", id.0))),
        Err(msg) => Err(AdminError::Refused(StatusCode::UNPROCESSABLE_ENTITY, msg)),
    }
}

/// Edits a student's details (the admission number stays).
pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffForm { staff, form: mut f }: StaffForm<StudentForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = editable_student(port(&school), &s, &id).await?;
    let Some(class) = parse_class(&f.class) else {
        return student_page(&school, &s, &id, Said::refused("Choose a class.")).await;
    };
    f.admission_no = student.admission_no.clone();
    // Only the student's own fields: guardians are added on their own form.
    f.guardian_name.clear();
    f.guardian_phone.clear();
    match save_student(&app, &school, &s, &f, class, "student.update").await? {
        Ok(_) => Ok(redirect(&format!("/admin/roster/students/{id}"))),
        Err(msg) => student_page(&school, &s, &id, Said::refused(msg)).await,
    }
}

/// Adds a guardian to a student, or updates the guardian with that phone number.
pub async fn add_guardian(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffForm { staff, form: mut f }: StaffForm<StudentForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = editable_student(port(&school), &s, &id).await?;
    if f.guardian_name.trim().is_empty() || f.guardian_phone.trim().is_empty() {
        return student_page(
            &school,
            &s,
            &id,
            Said::refused("A guardian needs a name and a phone number."),
        )
        .await;
    }
    // The student's fields as stored; blank optional ones keep what is stored.
    f.admission_no = student.admission_no.clone();
    f.student_name = student.full_name.clone();
    f.gender.clear();
    f.date_of_birth.clear();
    f.bform.clear();
    f.health_notes.clear();
    match save_student(&app, &school, &s, &f, student.class_id, "guardian.save").await? {
        Ok(_) => Ok(redirect(&format!("/admin/roster/students/{id}"))),
        Err(msg) => student_page(&school, &s, &id, Said::refused(msg)).await,
    }
}

/// The student (one this person may edit) and one of their guardians, from the path:
/// 404 when either is not there or the guardian is not linked to the student.
async fn student_and_guardian(
    school: &School,
    s: &ActiveSession,
    student: &str,
    guardian: &str,
) -> Result<(Student, Uuid), AdminError> {
    let student = editable_student(port(school), s, student).await?;
    let guardian = path_id(guardian)?;
    let relations = port(school).relations_of(student.id).await?;
    if !relations.iter().any(|(g, _)| *g == guardian) {
        return Err(AdminError::NotFound);
    }
    Ok((student, guardian))
}

pub async fn unlink_guardian(
    State(app): State<App>,
    Path((id, guardian)): Path<(String, String)>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let (student, guardian) = student_and_guardian(&school, &s, &id, &guardian).await?;
    let entry = staff_activity(
        &s,
        "guardian.unlink",
        Some(format!("guardian:{guardian}")),
        json!({ "student": student.id.0 }),
        app.clock.now(),
    );
    if !port(&school)
        .unlink_guardian(guardian, student.id, &entry)
        .await?
    {
        return Err(AdminError::NotFound);
    }
    Ok(redirect(&format!("/admin/roster/students/{id}")))
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

/// Deactivates a student (kept for the records, off registers and lists of the bot) or
/// brings them back.
pub async fn set_active(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffForm { staff, form: f }: StaffForm<ActiveForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = editable_student(port(&school), &s, &id).await?;
    let active = f.active == "true";
    let entry = staff_action(
        &s,
        if active {
            "student.activate"
        } else {
            "student.deactivate"
        },
        format!("student:{}", student.id.0),
        app.clock.now(),
    );
    port(&school)
        .set_student_active(student.id, active, &entry)
        .await?;
    Ok(redirect(&format!("/admin/roster/students/{id}")))
}

// ---- CSV import (administrators) ----

/// The roster import (`imports.rs` has its pages).
pub(super) struct RosterImport;

impl super::imports::CsvImport for RosterImport {
    const NAME: &'static str = "roster";
    const COLUMNS: &'static [&'static str] = &ROSTER_HEADER;
    const ACTION: &'static str = "roster.import";
    type Record = RosterRecord;
    type Checked = Vec<RosterRecord>;

    async fn check(
        school: &School,
        text: &str,
    ) -> Result<Result<Self::Checked, ImportError>, StoreError> {
        Ok(crate::import::parse_roster(
            text.as_bytes(),
            school.tenant.timezone.phone_region(),
        ))
    }

    fn records(checked: &Self::Checked) -> &[RosterRecord] {
        checked
    }

    fn preview_row(r: &RosterRecord) -> minijinja::Value {
        context! {
            line => r.line, admission_no => r.admission_no.clone(), name => r.student_name.clone(),
            class => format!("{} {} ({})", r.class_name, r.section, r.branch),
            guardian => r.guardian.as_ref().map(|g| g.full_name.clone()),
        }
    }

    async fn store(
        school: &School,
        records: &Self::Checked,
        entry: &ActivityEntry,
    ) -> Result<String, StoreError> {
        let sum = port(school).import_roster(records, entry, &()).await?;
        Ok(format!(
            "Imported {} row(s): {} student(s) added, {} updated; {} guardian(s) added, {} updated.",
            records.len(),
            sum.students_created,
            sum.students_updated,
            sum.guardians_created,
            sum.guardians_updated
        ))
    }
}

// ---- Staff accounts (administrators) ----

pub async fn staff_page(
    State(app): State<App>,
    Administrator(Staff { school, session: s }): Administrator,
) -> Result<Response, AdminError> {
    staff_view(
        app.config.smtp_url.is_some(),
        &school,
        &s,
        None,
        Said::nothing(),
    )
    .await
}

/// The staff page, for an administrator (every caller has checked the role).
async fn staff_view(
    app_email: bool,
    school: &School,
    s: &ActiveSession,
    created: Option<(String, Option<String>)>,
    said: Said,
) -> Result<Response, AdminError> {
    let store = port(school);
    let staff = store.staff_list().await?;
    let branches = store.branches().await?;
    let classes = store.classes().await?;
    let branch_names: HashMap<_, _> = branches.iter().cloned().collect();
    let mut rows = Vec::with_capacity(staff.len());
    for m in &staff {
        let mine: Vec<String> = if m.role == StaffRole::Teacher {
            store
                .classes_of_staff(m.id)
                .await?
                .into_iter()
                .map(|c| c.id.0.to_string())
                .collect()
        } else {
            Vec::new()
        };
        rows.push(context! {
                id => m.id.0.to_string(), name => m.full_name.clone(), email => m.email.clone(), role => m.role.as_str(),
                branch => m.branch.and_then(|b| branch_names.get(&b).cloned()), active => m.active,
                two_factor => m.totp_enabled_at.is_some(), me => m.id == s.staff.id,
                teacher => m.role == StaffRole::Teacher, classes => mine,
                // A link is shown only for an account without a password (else emailed).
                can_link => app_email || m.password_hash.is_none(),
        });
    }
    let class_map: HashMap<_, _> = classes.into_iter().map(|c| (c.id, c)).collect();
    Ok(render_page(
        "staff.html",
        school,
        s,
        context! {
            rows => rows,
            branches => branches.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
            classes => class_options(&class_map),
            created => created.map(|(email, link)| context! { email => email, link => link }),
        },
        said,
    ))
}

/// Adds a staff account without a password: the person sets one through a single-use
/// link (emailed when SMTP is configured, else shown once here to pass on).
pub async fn staff_create(
    State(app): State<App>,
    StaffPairs { staff, pairs, .. }: StaffPairs,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    if s.staff.role != StaffRole::Admin {
        return Err(AdminError::NotFound);
    }
    let bad = |msg: &str| {
        staff_view(
            app.config.smtp_url.is_some(),
            &school,
            &s,
            None,
            Said::refused(msg),
        )
    };
    let name = field(&pairs, "full_name").trim();
    let email = field(&pairs, "email").trim().to_lowercase();
    if name.is_empty() || name.chars().count() > 120 {
        return bad("A name is needed (120 characters at most).").await;
    }
    if !email.contains('@') || email.len() > 200 || email.contains(char::is_whitespace) {
        return bad("That email address does not look right.").await;
    }
    let Ok(role) = field(&pairs, "role").parse::<StaffRole>() else {
        return bad("Choose a role.").await;
    };
    let branch = field(&pairs, "branch").trim();
    if role == StaffRole::BranchManager && branch.is_empty() {
        return bad("A branch manager needs a branch.").await;
    }
    let store = port(&school);
    let existing = store.staff_by_email(&email).await?;
    let known = store.classes().await?;
    if existing.is_some() {
        return bad("Someone has this email already.").await;
    }
    if !branch.is_empty() && !store.branches().await?.iter().any(|(_, n)| n == branch) {
        return bad("Choose one of the school's branches.").await;
    }
    let known: std::collections::HashSet<ClassId> = known.into_iter().map(|c| c.id).collect();
    let mut classes = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "class") {
        match parse_class(v) {
            Some(c) if known.contains(&c) => {
                if !classes.contains(&c) {
                    classes.push(c)
                }
            }
            _ => return bad("Choose classes from the list.").await,
        }
    }
    let staff = StaffUser {
        id: StaffId::new(),
        full_name: name.to_string(),
        email: email.clone(),
        phone: None,
        role,
        branch: (!branch.is_empty()).then(|| branch.to_string()),
        password_hash: None,
    };
    let now = app.clock.now();
    // The account, its classes and its password link: all or nothing.
    let entry = staff_activity(
        &s,
        "staff.create",
        Some(format!("staff:{}", staff.id.0)),
        json!({ "role": role.as_str(), "classes": classes.len(), "emailed": app.config.smtp_url.is_some() }),
        now,
    );
    let (token, hash) = super::reset::new_token();
    let expires = now + chrono::Duration::minutes(super::reset::LINK_MINUTES);
    store
        .create_staff_account(&staff, &classes, Some((&hash, expires)), &entry)
        .await?;
    let link = super::reset::link_url(&app, &school, &token);
    let shown = if app.config.smtp_url.is_some() {
        super::reset::email_link(&app, &school, email.clone(), link);
        None
    } else {
        Some(link.expose().clone())
    };
    staff_view(
        app.config.smtp_url.is_some(),
        &school,
        &s,
        Some((email, shown)),
        Said::nothing(),
    )
    .await
}

pub async fn staff_set_active(
    State(app): State<App>,
    On(id, AdminForm { staff, form: f }): On<AdminForm<ActiveForm>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let id = StaffId(id);
    let active = f.active == "true";
    if id == s.staff.id && !active {
        return Err(AdminError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot deactivate your own account.",
        ));
    }
    let entry = staff_action(
        &s,
        if active {
            "staff.activate"
        } else {
            "staff.deactivate"
        },
        format!("staff:{}", id.0),
        app.clock.now(),
    );
    if !port(&school).set_staff_active(id, active, &entry).await? {
        return Err(AdminError::NotFound);
    }
    Ok(redirect("/admin/staff"))
}

/// Replaces a teacher's classes.
pub async fn staff_set_classes(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffPairs { staff, pairs, .. }: StaffPairs,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    if s.staff.role != StaffRole::Admin {
        return Err(AdminError::NotFound);
    }
    let chosen = pairs.iter().filter(|(k, _)| k == "class").map(|(_, v)| v);
    let id = path_id(&id).map(StaffId)?;
    let store = port(&school);
    let known: std::collections::HashSet<ClassId> =
        store.classes().await?.into_iter().map(|c| c.id).collect();
    let mut classes = Vec::new();
    for c in chosen {
        match parse_class(c) {
            Some(c) if known.contains(&c) => {
                if !classes.contains(&c) {
                    classes.push(c)
                }
            }
            _ => return Err(AdminError::NotFound),
        }
    }
    if store.staff_auth(id).await?.is_none() {
        return Err(AdminError::NotFound);
    }
    let entry = staff_activity(
        &s,
        "staff.set_classes",
        Some(format!("staff:{}", id.0)),
        json!({ "classes": classes.len() }),
        app.clock.now(),
    );
    store.set_staff_classes(id, &classes, &entry).await?;
    Ok(redirect("/admin/staff"))
}

/// Revokes a guardian's unused access codes (a slip went to the wrong person, or was
/// lost). Chats already signed in are not affected (`raabta codes unbind` does that).
pub async fn revoke_codes(
    State(app): State<App>,
    Path((id, guardian)): Path<(String, String)>,
    StaffForm { staff, .. }: StaffForm<Empty>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let (_, guardian) = student_and_guardian(&school, &s, &id, &guardian).await?;
    let entry = staff_action(
        &s,
        "access_code.revoke",
        format!("guardian:{guardian}"),
        app.clock.now(),
    );
    let n = port(&school)
        .revoke_access_codes(
            crate::domain::roster::ContactRef::Guardian(crate::domain::GuardianId(guardian)),
            &entry,
        )
        .await?;
    Ok(redirect(&format!(
        "/admin/roster/students/{id}?revoked={n}"
    )))
}

/// Resets another staff member's two-factor (a lost phone without recovery codes):
/// their secret and recovery codes go, their sessions end, and they set it up again at
/// the next sign-in. Not for one's own account (recovery codes are for that).
pub async fn staff_reset_two_factor(
    State(app): State<App>,
    On(id, AdminForm { staff, .. }): On<AdminForm<Empty>>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let id = StaffId(id);
    if id == s.staff.id {
        return Err(AdminError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Use one of your recovery codes to sign in; another administrator can reset your two-factor.",
        ));
    }
    let entry = staff_action(
        &s,
        "staff.reset_two_factor",
        format!("staff:{}", id.0),
        app.clock.now(),
    );
    if !port(&school).reset_two_factor(id, &entry).await? {
        return Err(AdminError::NotFound);
    }
    Ok(redirect("/admin/staff"))
}
