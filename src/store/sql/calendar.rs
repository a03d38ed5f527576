//! The school's settings as the admin edits them, and its holidays.

use crate::domain::activity::ActivityEntry;
use crate::domain::calendar::Holiday;
use crate::domain::StudentId;
use crate::store::{Result, SettingsStore};
use chrono::NaiveDate;

use super::{log, SchoolStore};
use crate::store::db::{self, Tx};

/// Holidays from `from` to `to` (both included), by day.
pub(super) async fn holidays_between(
    tx: &mut Tx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Holiday>> {
    let rows: Vec<(NaiveDate, String)> = db::query_as(
        "SELECT day, name FROM school_holidays WHERE day >= $1 AND day <= $2 ORDER BY day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, name)| Holiday { day, name })
        .collect())
}

/// Whether a pending or approved leave request of `student` covers any day of the range.
pub(super) async fn leave_overlaps(
    tx: &mut Tx,
    student: StudentId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<bool> {
    let (n,): (i64,) = db::query_as(
        "SELECT COUNT(*) FROM leave_requests WHERE student_id = $1 \
         AND status IN ('pending', 'approved') AND from_date <= $3 AND to_date >= $2",
    )
    .bind(student.0)
    .bind(from)
    .bind(to)
    .fetch_one(tx)
    .await?;
    Ok(n > 0)
}

#[async_trait::async_trait]
impl SettingsStore for SchoolStore {
    async fn settings(&self) -> Result<Vec<(String, String)>> {
        let q = db::query_as("SELECT name, value FROM school_settings ORDER BY name");
        self.read_all(q).await
    }

    async fn save_settings(
        &self,
        values: &[(&str, String)],
        activity: &ActivityEntry,
    ) -> Result<()> {
        self.write(async |tx| {
            for (name, value) in values {
                if value.trim().is_empty() {
                    db::query("DELETE FROM school_settings WHERE name = $1")
                        .bind(*name)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    db::query(
                        "INSERT INTO school_settings (name, value) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(*name)
                    .bind(value.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            log(tx, activity).await
        })
        .await
    }

    async fn holidays(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Holiday>> {
        self.read(async |tx| holidays_between(tx, from, to).await)
            .await
    }

    async fn put_holidays(&self, holidays: &[Holiday], activity: &ActivityEntry) -> Result<u64> {
        self.write(async |tx| {
            for h in holidays {
                db::query(
                    "INSERT INTO school_holidays (day, name) VALUES ($1, $2) \
                     ON CONFLICT (day) DO UPDATE SET name = excluded.name",
                )
                .bind(h.day)
                .bind(h.name.as_str())
                .execute(&mut *tx)
                .await?;
            }
            log(tx, activity).await?;
            Ok(holidays.len() as u64)
        })
        .await
    }

    async fn remove_holiday(&self, day: NaiveDate, activity: &ActivityEntry) -> Result<bool> {
        let q = db::query("DELETE FROM school_holidays WHERE day = $1").bind(day);
        self.change_one(q, activity).await
    }
}
