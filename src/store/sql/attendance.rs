//! Attendance marks.

use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::{StaffId, StudentId};
use crate::store::sql::corrupt;
use crate::store::{AttendanceStore, Result};
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use super::{log, SchoolStore};
use crate::store::db::{self};

#[async_trait::async_trait]
impl AttendanceStore for SchoolStore {
    async fn record_attendance(
        &self,
        r: &AttendanceRecord,
        activity: &ActivityEntry,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        db::query(crate::store::sql::UPSERT_ATTENDANCE)
            .bind(Uuid::now_v7())
            .bind(r.day)
            .bind(r.student.0)
            .bind(r.status.as_str())
            .bind(r.source.as_str())
            .bind(r.recorded_by.map(|s| s.0))
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attendance_between(
        &self,
        student: StudentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AttendanceRecord>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(NaiveDate, String, String, Option<Uuid>)> = db::query_as(
            "SELECT day, status, source, recorded_by FROM attendance \
             WHERE student_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
        )
        .bind(student.0)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
}
