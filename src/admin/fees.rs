//! Fees in the web admin: balances by class, a student's statement, adding or editing
//! a fee line, recording a payment, and CSV import with a preview and an all-or-nothing
//! commit. Every write is one line through the same validation and upsert as the CSV
//! import (`import::parse_fees`), with its activity entry.
//!
//! Scope: administrators (whole school) and branch managers (their branch); teachers
//! have no fee pages. Import is for administrators.

use super::auth::ActiveSession;
use super::error::{AdminError, Staff, StaffForm};
use super::web::{
    class_choices, editable_student, office_only, page_ctx, render, render_page, staff_activity,
    visible_classes, Said,
};
use crate::app::App;
use crate::domain::activity::ActivityEntry;
use crate::domain::fees::{Currency, FeeRecord, Money};
use crate::domain::roster::StaffRole;
use crate::domain::{ClassId, StudentId};
use crate::import::ImportError;
use crate::store::tenancy::School;
use crate::store::{ClassRow, StoreError};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

store_port!(FeeStore, OfficeStore, FlowStore);

/// The school's currency: riyals in Saudi Arabia, rupees otherwise.
fn school_currency(school: &School) -> Currency {
    match school.tenant.timezone.phone_region() {
        Some("SA") => Currency::Sar,
        _ => Currency::Pkr,
    }
}

fn money(minor: i64, currency: &str) -> String {
    let currency = currency.parse::<Currency>().unwrap_or(Currency::Pkr);
    Money { minor, currency }.to_string()
}

/// A plain decimal ("8500.50") for a one-line CSV.
fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

async fn classes_in_scope(
    school: &School,
    s: &ActiveSession,
) -> Result<HashMap<ClassId, ClassRow>, StoreError> {
    Ok(visible_classes(port(school), s)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

#[derive(Deserialize)]
pub struct ClassQuery {
    #[serde(default)]
    class: String,
}

pub async fn balances(
    Query(q): Query<ClassQuery>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    office_only(&s)?;
    let classes = classes_in_scope(&school, &s).await?;
    let mut options: Vec<_> = classes.values().collect();
    options.sort_by_key(|c| c.label());
    let chosen = match q.class.trim() {
        "" => options.first().map(|c| c.id),
        c => match c.parse::<Uuid>().map(ClassId) {
            Ok(id) if classes.contains_key(&id) => Some(id),
            _ => return Err(AdminError::NotFound),
        },
    };
    let rows = match chosen {
        Some(c) => port(&school).balances(c).await?,
        None => Vec::new(),
    };
    let currency = school_currency(&school).as_str();
    let (mut due, mut paid) = (0, 0);
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            due += r.due_minor;
            paid += r.paid_minor;
            let c = r.currency.as_deref().unwrap_or(currency);
            context! {
                id => r.student.0.to_string(), admission_no => r.admission_no.clone(),
                name => r.full_name.clone(), due => money(r.due_minor, c), paid => money(r.paid_minor, c),
                balance => money((r.due_minor - r.paid_minor).max(0), c),
                owes => r.due_minor > r.paid_minor,
            }
        })
        .collect();
    Ok(render(
        "fees.html",
        page_ctx(
            &school,
            &s,
            context! {
                classes => class_choices(options.iter().copied()),
                class => chosen.map(|c| c.0.to_string()),
                rows => rows,
                total_due => money(due, currency),
                total_balance => money((due - paid).max(0), currency),
                can_import => s.staff.role == StaffRole::Admin,
            },
        ),
    ))
}

pub async fn student(
    Path(id): Path<String>,
    Staff { school, session: s }: Staff,
) -> Result<Response, AdminError> {
    statement_page(&school, &s, &id, Said::nothing()).await
}

async fn statement_page(
    school: &School,
    s: &ActiveSession,
    id: &str,
    said: Said,
) -> Result<Response, AdminError> {
    let student = editable_student(port(school), s, id).await?;
    let lines = port(school).fee_statement(student.id).await?;
    let currency = school_currency(school);
    let (mut due, mut paid) = (0, 0);
    let rows: Vec<_> = lines
        .iter()
        .map(|l| {
            due += l.amount.minor;
            paid += l.paid_minor;
            context! {
                key => format!("{}|{}", l.period, l.description),
                period => l.period.clone(), description => l.description.clone(),
                amount => l.amount.to_string(), amount_plain => decimal(l.amount.minor),
                paid => Money { minor: l.paid_minor, currency: l.amount.currency }.to_string(),
                outstanding => Money { minor: l.outstanding_minor(), currency: l.amount.currency }.to_string(),
                due_date => l.due_date.to_string(),
            }
        })
        .collect();
    Ok(render_page(
        "fee_student.html",
        school,
        s,
        context! {
            id => student.id.0.to_string(), name => student.full_name,
            admission_no => student.admission_no, rows => rows,
            balance => Money { minor: (due - paid).max(0), currency }.to_string(),
            currency => currency.as_str(),
        },
        said,
    ))
}

/// Fee rows checked, with the students by admission number they were checked against.
type FeeLines = (Vec<FeeRecord>, HashMap<String, StudentId>);

/// One fee CSV line of a student (the fields after the admission number) through the
/// import's validation.
fn one_fee_line(
    student: &crate::domain::roster::Student,
    fields: [&str; 10],
) -> Result<FeeLines, String> {
    let students = HashMap::from([(student.admission_no.clone(), student.id)]);
    let mut row = vec![student.admission_no.as_str()];
    row.extend(fields);
    let bytes = super::imports::one_row::<FeeImport>(&row)?;
    crate::import::parse_fees(&bytes[..], &students)
        .map(|records| (records, students))
        .map_err(|e| super::imports::import_errors(e).join("; "))
}

#[derive(Deserialize)]
pub struct LineForm {
    period: String,
    description: String,
    amount: String,
    due_date: String,
}

/// Adds a fee line, or changes the amount and due date of the line with the same
/// period and description.
pub async fn save_line(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffForm { staff, form: f }: StaffForm<LineForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = editable_student(port(&school), &s, &id).await?;
    let currency = school_currency(&school);
    let checked = match one_fee_line(
        &student,
        [
            &f.period,
            &f.description,
            &f.amount,
            currency.as_str(),
            &f.due_date,
            "",
            "",
            "",
            "",
            "",
        ],
    ) {
        Ok(checked) => checked,
        Err(msg) => return statement_page(&school, &s, &id, Said::refused(msg)).await,
    };
    write(&app, &school, &s, &id, &checked, "fees.line_save").await
}

async fn write(
    app: &App,
    school: &School,
    s: &ActiveSession,
    id: &str,
    (records, students): &FeeLines,
    action: &str,
) -> Result<Response, AdminError> {
    let entry = staff_activity(
        s,
        action,
        Some(format!("student:{id}")),
        json!({ "payment": records.iter().any(|r| r.payment.is_some()) }),
        app.clock.now(),
    );
    port(school)
        .import_fees(records, students, &entry, &())
        .await?;
    Ok(super::web::redirect(&format!("/admin/fees/students/{id}")))
}

#[derive(Deserialize)]
pub struct PaymentForm {
    line: String,
    amount: String,
    paid_on: String,
    reference: String,
}

/// Records a payment against one of the student's fee lines (a receipt or bank
/// reference is required: the same payment entered twice is recorded once).
pub async fn payment(
    State(app): State<App>,
    Path(id): Path<String>,
    StaffForm { staff, form: f }: StaffForm<PaymentForm>,
) -> Result<Response, AdminError> {
    let Staff { school, session: s } = staff;
    let student = editable_student(port(&school), &s, &id).await?;
    let lines = port(&school).fee_statement(student.id).await?;
    let bad = |msg: String| statement_page(&school, &s, &id, Said::refused(msg));
    let Some(line) = lines
        .iter()
        .find(|l| format!("{}|{}", l.period, l.description) == f.line)
    else {
        return bad("Choose one of the fee lines.".into()).await;
    };
    if f.reference.trim().is_empty() {
        return bad("Give the receipt or bank reference.".into()).await;
    }
    match Money::parse_positive(&f.amount, line.amount.currency) {
        Ok(m) if m.minor > line.outstanding_minor() => {
            return bad(format!(
                "That is more than the {} still due on this line.",
                Money {
                    minor: line.outstanding_minor(),
                    currency: line.amount.currency
                }
            ))
            .await
        }
        _ => {}
    }
    let amount = decimal(line.amount.minor);
    let due = line.due_date.to_string();
    let checked = match one_fee_line(
        &student,
        [
            &line.period,
            &line.description,
            &amount,
            line.amount.currency.as_str(),
            &due,
            &f.amount,
            &f.paid_on,
            &f.reference,
            "",
            "",
        ],
    ) {
        Ok(checked) => checked,
        Err(msg) => return bad(msg).await,
    };
    write(&app, &school, &s, &id, &checked, "fees.payment").await
}

// ---- CSV import (administrators) ----

/// The fee import (`imports.rs` has its pages).
pub(super) struct FeeImport;

impl super::imports::CsvImport for FeeImport {
    const NAME: &'static str = "fees";
    const COLUMNS: &'static [&'static str] = &crate::import::FEE_COLUMNS;
    const ACTION: &'static str = "fees.import";
    type Record = FeeRecord;
    type Checked = FeeLines;

    async fn check(
        school: &School,
        text: &str,
    ) -> Result<Result<Self::Checked, ImportError>, StoreError> {
        let students = port(school).student_ids_by_admission().await?;
        Ok(crate::import::parse_fees(text.as_bytes(), &students).map(|r| (r, students)))
    }

    fn records(checked: &Self::Checked) -> &[FeeRecord] {
        &checked.0
    }

    fn preview_row(r: &FeeRecord) -> minijinja::Value {
        context! {
            line => r.line, admission_no => r.admission_no.clone(),
            name => format!("{} · {}", r.period, r.description),
            class => r.amount.to_string(),
            guardian => r.payment.as_ref().map(|p| format!("paid {} on {}", decimal(p.amount_minor), p.paid_on)),
        }
    }

    async fn store(
        school: &School,
        (records, students): &Self::Checked,
        entry: &ActivityEntry,
    ) -> Result<String, StoreError> {
        let sum = port(school)
            .import_fees(records, students, entry, &())
            .await?;
        Ok(format!(
            "Imported {} row(s): {} fee line(s) added, {} updated, {} payment(s) recorded.",
            records.len(),
            sum.fee_lines_created,
            sum.fee_lines_updated,
            sum.payments
        ))
    }
}
