//! Attendance marks: one per student and day, replaced by the school's rule
//! ([`crate::domain::attendance::replaces`]). The chat flow, the admin's register and
//! the store's own callers all record through [`record`].

use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{replaces, AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::{ClassId, StaffId, StudentId};
use crate::store::db::{self, Conn};
use crate::store::sql::corrupt;
use crate::store::{AttendanceStore, ClassDaySummary, RegisterRow, Result};
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
         recorded_at = excluded.recorded_at, face_session_id = NULL",
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
/// A class's active students with their mark of `day`, if any (the register).
pub(super) async fn register(
    c: &mut Conn,
    class: ClassId,
    day: NaiveDate,
) -> Result<Vec<RegisterRow>> {
    let rows: Vec<(Uuid, String, String, Option<String>)> = db::query_as(
        "SELECT s.id, s.admission_no, s.full_name, a.status FROM students s \
         LEFT JOIN attendance a ON a.student_id = s.id AND a.day = $2 \
         WHERE s.class_id = $1 AND s.active ORDER BY s.full_name, s.admission_no",
    )
    .bind(class.0)
    .bind(day)
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(|(id, admission_no, full_name, status)| {
            Ok(RegisterRow {
                student: StudentId(id),
                admission_no,
                full_name,
                status: status
                    .map(|s| s.parse::<AttendanceStatus>().map_err(corrupt))
                    .transpose()?,
            })
        })
        .collect()
}

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
    async fn class_register(&self, class: ClassId, day: NaiveDate) -> Result<Vec<RegisterRow>> {
        self.read(async |tx| register(tx, class, day).await).await
    }
    async fn record_register(
        &self,
        records: &[AttendanceRecord],
        activity: &ActivityEntry,
    ) -> Result<()> {
        self.write(async |tx| {
            for r in records {
                super::attendance::record(tx, r, activity.at).await?;
            }
            log(tx, activity).await
        })
        .await
    }
    async fn attendance_by_class(&self, day: NaiveDate) -> Result<Vec<ClassDaySummary>> {
        let q = db::query_as(
            "SELECT s.class_id, \
             CAST(SUM(CASE WHEN a.status = 'present' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN a.status = 'absent' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN a.status = 'late' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN a.status = 'excused' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM students s LEFT JOIN attendance a ON a.student_id = s.id AND a.day = $1 \
             WHERE s.active GROUP BY s.class_id",
        );
        let rows: Vec<(Uuid, i64, i64, i64, i64, i64)> = self.read_all(q.bind(day)).await?;
        Ok(rows
            .into_iter()
            .map(
                |(class, present, absent, late, excused, students)| ClassDaySummary {
                    class: ClassId(class),
                    present,
                    absent,
                    late,
                    excused,
                    students,
                },
            )
            .collect())
    }
}
