//! SQL of the admin's office pages (roster, fees, attendance registers, dashboard
//! figures, password resets), shared by both backends like `sql.rs`.

use super::roster::{student_from_row, STUDENT_COLS};
use super::{log, SchoolStore};
use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{AttendanceRecord, AttendanceStatus};
use crate::domain::roster::{StaffRole, Student};
use crate::domain::{BranchId, ClassId, StaffId, StudentId};
use crate::store::db::{self, Tx};
use crate::store::sql::{corrupt, field};
use crate::store::{
    BalanceRow, ClassDaySummary, OfficeStore, RegisterRow, Result, StaffListRow, StudentListRow,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Stores a reset link's token hash for a staff member.
pub(super) async fn insert_password_reset(
    tx: &mut Tx,
    staff: Uuid,
    token_hash: &[u8],
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    db::query(
        "INSERT INTO password_resets (id, staff_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(staff)
    .bind(token_hash)
    .bind(at)
    .bind(expires_at)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl OfficeStore for SchoolStore {
    async fn branches(&self) -> Result<Vec<(BranchId, String)>> {
        let rows: Vec<(Uuid, String)> = self
            .read_all(db::query_as("SELECT id, name FROM branches ORDER BY name"))
            .await?;
        Ok(rows.into_iter().map(|(id, n)| (BranchId(id), n)).collect())
    }

    async fn student_list(&self) -> Result<Vec<StudentListRow>> {
        let rows: Vec<(Uuid, String, String, Uuid, bool)> = self
            .read_all(db::query_as(
                "SELECT id, admission_no, full_name, class_id, active FROM students ORDER BY full_name, admission_no",
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, admission_no, full_name, class, active)| StudentListRow {
                    id: StudentId(id),
                    admission_no,
                    full_name,
                    class_id: ClassId(class),
                    active,
                },
            )
            .collect())
    }

    async fn student_detail(&self, id: StudentId) -> Result<Option<(Student, bool)>> {
        let sql = format!("SELECT {STUDENT_COLS} WHERE id = $1");
        let row = self
            .read_optional(db::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0))
            .await?;
        row.map(|r| student_from_row(&self.keys, r)).transpose()
    }

    async fn relations_of(&self, student: StudentId) -> Result<Vec<(Uuid, String)>> {
        self.read_all(
            db::query_as(
                "SELECT guardian_id, relation FROM guardian_students WHERE student_id = $1",
            )
            .bind(student.0),
        )
        .await
    }

    async fn set_student_active(
        &self,
        id: StudentId,
        active: bool,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        self.change_one(
            db::query("UPDATE students SET active = $2, updated_at = $3 WHERE id = $1")
                .bind(id.0)
                .bind(active)
                .bind(activity.at),
            activity,
        )
        .await
    }

    async fn unlink_guardian(
        &self,
        guardian: Uuid,
        student: StudentId,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let q =
            db::query("DELETE FROM guardian_students WHERE guardian_id = $1 AND student_id = $2");
        self.change_one(q.bind(guardian).bind(student.0), activity)
            .await
    }

    async fn staff_list(&self) -> Result<Vec<StaffListRow>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(Uuid, String, String, String, Option<Uuid>, bool, Option<DateTime<Utc>>, bool)> = self
            .read_all(db::query_as(
                "SELECT id, full_name, email, role, branch_id, active, totp_enabled_at, password_hash IS NOT NULL \
                 FROM staff_users ORDER BY full_name",
            ))
            .await?;
        rows.into_iter()
            .map(
                |(id, full_name, email, role, branch, active, totp, has_password)| {
                    Ok(StaffListRow {
                        has_password,
                        id: StaffId(id),
                        full_name,
                        email,
                        role: role.parse::<StaffRole>().map_err(corrupt)?,
                        branch: branch.map(BranchId),
                        active,
                        two_factor: totp.is_some(),
                    })
                },
            )
            .collect()
    }

    async fn set_staff_active(
        &self,
        id: StaffId,
        active: bool,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let q = db::query("UPDATE staff_users SET active = $2 WHERE id = $1");
        self.change_one_then(q.bind(id.0).bind(active), async |tx| {
            if !active {
                // A deactivated account is signed out everywhere at once.
                db::query("DELETE FROM admin_sessions WHERE staff_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            log(tx, activity).await
        })
        .await
    }

    async fn set_staff_classes(
        &self,
        staff: StaffId,
        classes: &[ClassId],
        activity: &ActivityEntry,
    ) -> Result<()> {
        let clear = db::query("DELETE FROM staff_classes WHERE staff_id = $1").bind(staff.0);
        let insert = classes.iter().map(|c| {
            db::query("INSERT INTO staff_classes (staff_id, class_id) VALUES ($1, $2)")
                .bind(staff.0)
                .bind(c.0)
        });
        let statements = std::iter::once(clear).chain(insert).collect();
        self.execute_all_logged(statements, activity).await
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

    async fn class_register(&self, class: ClassId, day: NaiveDate) -> Result<Vec<RegisterRow>> {
        let q = db::query_as(
            "SELECT s.id, s.admission_no, s.full_name, a.status FROM students s \
             LEFT JOIN attendance a ON a.student_id = s.id AND a.day = $2 \
             WHERE s.class_id = $1 AND s.active ORDER BY s.full_name, s.admission_no",
        );
        let rows: Vec<(Uuid, String, String, Option<String>)> =
            self.read_all(q.bind(class.0).bind(day)).await?;
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

    async fn revoke_access_codes(
        &self,
        contact: crate::domain::roster::ContactRef,
        activity: &ActivityEntry,
    ) -> Result<u64> {
        self.write(async |tx| {
            let revoked = super::codes::revoke_unused(tx, contact, activity.at).await?;
            let mut entry = activity.clone();
            entry.details = serde_json::json!({ "revoked": revoked });
            log(tx, &entry).await?;
            Ok(revoked)
        })
        .await
    }

    async fn guardian_classes(&self, guardian: Uuid) -> Result<Vec<ClassId>> {
        let q = db::query_as(
            "SELECT DISTINCT s.class_id FROM guardian_students gs JOIN students s ON s.id = gs.student_id \
             WHERE gs.guardian_id = $1 AND s.active",
        );
        let rows: Vec<(Uuid,)> = self.read_all(q.bind(guardian)).await?;
        Ok(rows.into_iter().map(|(c,)| ClassId(c)).collect())
    }

    async fn staff_phone(&self, id: StaffId) -> Result<Option<crate::domain::phone::Phone>> {
        let q = db::query_as("SELECT phone_enc FROM staff_users WHERE id = $1");
        let row: Option<(Option<Vec<u8>>,)> = self.read_optional(q.bind(id.0)).await?;
        match row {
            Some((enc,)) => crate::store::sql::decrypt_as(
                &self.keys,
                field("staff_users", "phone_enc", id.0),
                enc,
                crate::store::sql::stored_phone,
            ),
            None => Ok(None),
        }
    }

    async fn set_staff_phone(
        &self,
        id: StaffId,
        phone: Option<&crate::domain::phone::Phone>,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let enc = phone
            .map(|p| {
                self.keys
                    .encrypt_str(field("staff_users", "phone_enc", id.0), p.e164())
            })
            .transpose()?;
        // The same blind index as the roster's ("phone"), so the number is
        // recognised as this staff member's.
        let bidx = phone.map(|p| self.keys.blind_index(super::PHONE_INDEX, p.e164()));
        let q = db::query("UPDATE staff_users SET phone_enc = $2, phone_bidx = $3 WHERE id = $1");
        match self
            .change_one(q.bind(id.0).bind(enc).bind(bidx), activity)
            .await
        {
            Err(e) if e.is_unique_violation() => Err(crate::store::StoreError::Conflict(
                "another staff member has this number".into(),
            )),
            changed => changed,
        }
    }

    async fn ensure_conversation(
        &self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        sender: &str,
        at: DateTime<Utc>,
    ) -> Result<Uuid> {
        self.write(async |tx| {
            super::conversation::open(tx, &self.keys, channel, provider, sender, at).await
        })
        .await
    }

    async fn create_password_reset(
        &self,
        staff: StaffId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
        max_per_hour: Option<i64>,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        if let Some(max) = max_per_hour {
            // The account's row locked: simultaneous requests count in turn.
            db::query("UPDATE staff_users SET active = active WHERE id = $1")
                .bind(staff.0)
                .execute(&mut *tx)
                .await?;
            let (n,): (i64,) = db::query_as(
                "SELECT COUNT(*) FROM password_resets WHERE staff_id = $1 AND created_at >= $2",
            )
            .bind(staff.0)
            .bind(activity.at - chrono::Duration::hours(1))
            .fetch_one(&mut *tx)
            .await?;
            if n >= max {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        // Requests are kept 30 days (the retention table), then removed.
        db::query("DELETE FROM password_resets WHERE created_at < $1")
            .bind(activity.at - chrono::Duration::days(30))
            .execute(&mut *tx)
            .await?;
        // A new link replaces the staff member's unused ones.
        db::query(
            "UPDATE password_resets SET used_at = $2 WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(staff.0)
        .bind(activity.at)
        .execute(&mut *tx)
        .await?;
        insert_password_reset(&mut tx, staff.0, token_hash, activity.at, expires_at).await?;
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn password_reset_valid(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<StaffId>> {
        let q = db::query_as(
            "SELECT r.staff_id FROM password_resets r JOIN staff_users s ON s.id = r.staff_id \
             WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND s.active",
        );
        let row: Option<(Uuid,)> = self.read_optional(q.bind(token_hash).bind(now)).await?;
        Ok(row.map(|(s,)| StaffId(s)))
    }

    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        activity: &ActivityEntry,
    ) -> Result<Option<StaffId>> {
        let mut tx = self.begin().await?;
        let row: Option<(Uuid,)> = db::query_as(
            "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 AND staff_id IN (SELECT id FROM staff_users WHERE active) RETURNING staff_id",
        )
        .bind(token_hash)
        .bind(activity.at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((staff,)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        db::query("UPDATE staff_users SET password_hash = $2 WHERE id = $1")
            .bind(staff)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        // Every session ends and the failed attempts are forgotten.
        db::query("DELETE FROM admin_sessions WHERE staff_id = $1")
            .bind(staff)
            .execute(&mut *tx)
            .await?;
        db::query("DELETE FROM staff_login_failures WHERE staff_id = $1")
            .bind(staff)
            .execute(&mut *tx)
            .await?;
        let mut entry = activity.clone();
        entry.subject = Some(format!("staff:{staff}"));
        log(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(StaffId(staff)))
    }
}
