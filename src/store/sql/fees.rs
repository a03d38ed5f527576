//! Fees: the fee import and a student's statement.

use crate::domain::activity::ActivityEntry;
use crate::domain::fees::{Currency, FeeLineView, FeeRecord, Money};
use crate::domain::{ClassId, StudentId};
use crate::store::sql::corrupt;
use crate::store::{BalanceRow, FeeImportSummary, FeeStore, Progress, Result, StoreError};
use chrono::{NaiveDate, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::{log, SchoolStore};
use crate::store::db::{self, Conn};

#[async_trait::async_trait]
impl FeeStore for SchoolStore {
    async fn student_ids_by_admission(&self) -> Result<HashMap<String, StudentId>> {
        let q = db::query_as("SELECT admission_no, id FROM students");
        let rows: Vec<(String, Uuid)> = self.read_all(q).await?;
        Ok(rows.into_iter().map(|(a, id)| (a, StudentId(id))).collect())
    }

    async fn import_fees(
        &self,
        records: &[FeeRecord],
        students: &HashMap<String, StudentId>,
        activity: &ActivityEntry,
        progress: &dyn Progress,
    ) -> Result<FeeImportSummary> {
        let mut tx = self.begin().await?;
        let now = Utc::now();
        let mut summary = FeeImportSummary::default();
        for r in records {
            let student = students.get(&r.admission_no).ok_or_else(|| {
                StoreError::Conflict(format!("line {}: unknown admission number", r.line))
            })?;
            let existing: Option<(Uuid,)> = db::query_as(
                "SELECT id FROM fee_lines WHERE student_id = $1 AND period = $2 AND description = $3",
            )
            .bind(student.0)
            .bind(&r.period)
            .bind(&r.description)
            .fetch_optional(&mut *tx)
            .await?;
            let line_id = match existing {
                Some((id,)) => {
                    // A file without the Urdu/Arabic names keeps those already given.
                    db::query(
                        "UPDATE fee_lines SET amount_minor = $2, currency = $3, due_date = $4, \
                         description_ur = COALESCE($5, description_ur), \
                         description_ar = COALESCE($6, description_ar) WHERE id = $1",
                    )
                    .bind(id)
                    .bind(r.amount.minor)
                    .bind(r.amount.currency.as_str())
                    .bind(r.due_date)
                    .bind(non_empty(&r.description_ur))
                    .bind(non_empty(&r.description_ar))
                    .execute(&mut *tx)
                    .await?;
                    summary.fee_lines_updated += 1;
                    id
                }
                None => {
                    let id = Uuid::now_v7();
                    db::query(
                        "INSERT INTO fee_lines (id, student_id, period, description, amount_minor, \
                         currency, due_date, created_at, description_ur, description_ar) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(id)
                    .bind(student.0)
                    .bind(&r.period)
                    .bind(&r.description)
                    .bind(r.amount.minor)
                    .bind(r.amount.currency.as_str())
                    .bind(r.due_date)
                    .bind(now)
                    .bind(non_empty(&r.description_ur))
                    .bind(non_empty(&r.description_ar))
                    .execute(&mut *tx)
                    .await?;
                    summary.fee_lines_created += 1;
                    id
                }
            };
            if let Some(p) = &r.payment {
                let done = db::query(
                    "INSERT INTO payments (id, fee_line_id, amount_minor, paid_on, reference, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (fee_line_id, paid_on, amount_minor, reference) DO NOTHING",
                )
                .bind(Uuid::now_v7())
                .bind(line_id)
                .bind(p.amount_minor)
                .bind(p.paid_on)
                .bind(&p.reference)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                summary.payments += done.rows_affected();
            }
            progress.advance(1);
        }
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn fee_statement(&self, student: StudentId) -> Result<Vec<FeeLineView>> {
        self.read(async |tx| statement(tx, student).await).await
    }
    async fn balances(&self, class: ClassId) -> Result<Vec<BalanceRow>> {
        let q = db::query_as(
            // Per fee line its payments (index on payments by line), then per
            // student; only this class's lines are read.
            "SELECT s.id, s.admission_no, s.full_name, \
             CAST(COALESCE(SUM(l.amount_minor), 0) AS BIGINT), CAST(COALESCE(SUM(l.paid), 0) AS BIGINT), \
             MIN(l.currency) FROM students s LEFT JOIN ( \
               SELECT f.student_id, f.amount_minor, f.currency, \
               COALESCE((SELECT SUM(p.amount_minor) FROM payments p WHERE p.fee_line_id = f.id), 0) AS paid \
               FROM fee_lines f JOIN students s2 ON s2.id = f.student_id WHERE s2.class_id = $1 \
             ) l ON l.student_id = s.id WHERE s.class_id = $1 \
             GROUP BY s.id, s.admission_no, s.full_name ORDER BY s.full_name, s.admission_no",
        );
        let rows: Vec<(Uuid, String, String, i64, i64, Option<String>)> =
            self.read_all(q.bind(class.0)).await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, admission_no, full_name, due_minor, paid_minor, currency)| BalanceRow {
                    student: StudentId(id),
                    admission_no,
                    full_name,
                    due_minor,
                    paid_minor,
                    currency,
                },
            )
            .collect())
    }
}

/// An optional text column: empty is none.
fn non_empty(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// A fee line as [`statement`] reads it.
type StatementRow = (
    String,
    String,
    i64,
    String,
    NaiveDate,
    i64,
    Option<String>,
    Option<String>,
);

/// A student's fee lines with what was paid against each, by due date.
pub(super) async fn statement(c: &mut Conn, student: StudentId) -> Result<Vec<FeeLineView>> {
    let rows: Vec<StatementRow> = db::query_as(
        "SELECT f.period, f.description, f.amount_minor, f.currency, f.due_date, \
         COALESCE(CAST(SUM(p.amount_minor) AS BIGINT), 0), f.description_ur, f.description_ar \
         FROM fee_lines f LEFT JOIN payments p ON p.fee_line_id = f.id WHERE f.student_id = $1 \
         GROUP BY f.id, f.period, f.description, f.amount_minor, f.currency, f.due_date, \
         f.description_ur, f.description_ar \
         ORDER BY f.due_date, f.period, f.description",
    )
    .bind(student.0)
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(
            |(period, description, minor, currency, due_date, paid_minor, ur, ar)| {
                Ok(FeeLineView {
                    period,
                    description,
                    description_ur: ur,
                    description_ar: ar,
                    amount: Money {
                        minor,
                        currency: currency.parse::<Currency>().map_err(corrupt)?,
                    },
                    paid_minor,
                    due_date,
                })
            },
        )
        .collect()
}
