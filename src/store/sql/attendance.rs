//! Attendance marks: one per student and day, replaced by the school's rule
//! ([`crate::domain::attendance::replaces`]). The chat flow, the admin's register and
//! the store's own callers all record through [`record`].

use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{replaces, AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::{StaffId, StudentId};
use crate::store::db::{self, Conn};
use crate::store::sql::corrupt;
use crate::store::{AttendanceStore, Result};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{log, SchoolStore};

/// Records one mark at `at`, unless the day's mark stays by the replacement rule
/// (false then).
pub(super) async fn record(c: &mut Conn, r: &AttendanceRecord, at: DateTime<Utc>) -> Result<bool> {
    let existing: Option<(String,)> =
        db::query_as("SELECT status FROM attendance WHERE student_id = $1 AND day = $2")
            .bind(r.student.0)
            .bind(r.day)
            .fetch_optional(&mut *c)
            .await?;
    if let Some((status,)) = existing {
        let status = status.parse::<AttendanceStatus>().map_err(corrupt)?;
        if !replaces(status, r.status) {
            return Ok(false);
        }
    }
    db::query(
        "INSERT INTO attendance (id, day, student_id, status, source, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (student_id, day) DO UPDATE SET \
         status = excluded.status, source = excluded.source, recorded_by = excluded.recorded_by, \
         recorded_at = excluded.recorded_at",
    )
    .bind(Uuid::now_v7())
    .bind(r.day)
    .bind(r.student.0)
    .bind(r.status.as_str())
    .bind(r.source.as_str())
    .bind(r.recorded_by.map(|s| s.0))
    .bind(at)
    .execute(c)
    .await?;
    Ok(true)
}

/// A student's marks from `from` to `to` (inclusive), by day.
pub(super) async fn between(
    c: &mut Conn,
    student: StudentId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AttendanceRecord>> {
    let rows: Vec<(NaiveDate, String, String, Option<Uuid>)> = db::query_as(
        "SELECT day, status, source, recorded_by FROM attendance \
         WHERE student_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
    )
    .bind(student.0)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(|(day, status, source, by)| {
            Ok(AttendanceRecord {
                day,
                student,
                status: status.parse::<AttendanceStatus>().map_err(corrupt)?,
                source: match source.as_str() {
                    "manual" => AttendanceSource::Manual,
                    "face" => AttendanceSource::Face,
                    _ => return Err(corrupt("attendance source")),
                },
                recorded_by: by.map(StaffId),
            })
        })
        .collect()
}

#[async_trait::async_trait]
impl AttendanceStore for SchoolStore {
    async fn record_attendance(
        &self,
        r: &AttendanceRecord,
        activity: &ActivityEntry,
    ) -> Result<()> {
        self.write(async |tx| {
            record(tx, r, Utc::now()).await?;
            log(tx, activity).await
        })
        .await
    }

    async fn attendance_between(
        &self,
        student: StudentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AttendanceRecord>> {
        self.read(async |tx| between(tx, student, from, to).await)
            .await
    }
}
