//! SQL of the admin's office pages (roster, fees, attendance registers, dashboard
//! figures, password resets), shared by both backends like `sql.rs`.

use super::{log, log_if_one, SchoolStore};
use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{AttendanceRecord, AttendanceStatus};
use crate::domain::roster::{Gender, StaffRole, Student};
use crate::domain::{BranchId, ClassId, StaffId, StudentId};
use crate::store::db::{self};
use crate::store::sql::{corrupt, decrypt_national_id, decrypt_text, field};
use crate::store::{
    BalanceRow, ClassDaySummary, OfficeStore, RegisterRow, Result, StaffListRow, StudentListRow,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

#[async_trait::async_trait]
impl OfficeStore for SchoolStore {
    async fn branches(&self) -> Result<Vec<(BranchId, String)>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid, String)> = db::query_as("SELECT id, name FROM branches ORDER BY name")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(id, n)| (BranchId(id), n)).collect())
    }

    async fn student_list(&self) -> Result<Vec<StudentListRow>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid, String, String, Uuid, bool)> = db::query_as(
            "SELECT id, admission_no, full_name, class_id, active FROM students ORDER BY full_name, admission_no",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let mut tx = self.begin_read().await?;
        #[allow(clippy::type_complexity)]
        let row: Option<(
            Uuid,
            String,
            String,
            Option<NaiveDate>,
            String,
            Uuid,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            bool,
        )> = db::query_as(
            "SELECT id, admission_no, full_name, date_of_birth, gender, class_id, bform_enc, \
                 health_notes_enc, active FROM students WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some((
            id,
            admission_no,
            full_name,
            date_of_birth,
            gender,
            class_id,
            bform,
            health,
            active,
        )) = row
        else {
            return Ok(None);
        };
        let student = Student {
            id: StudentId(id),
            admission_no,
            full_name,
            date_of_birth,
            gender: gender.parse::<Gender>().map_err(corrupt)?,
            class_id: ClassId(class_id),
            bform: decrypt_national_id(&self.keys, field("students", "bform_enc", id), bform)?,
            health_notes: decrypt_text(
                &self.keys,
                field("students", "health_notes_enc", id),
                health,
            )?,
        };
        Ok(Some((student, active)))
    }

    async fn relations_of(&self, student: StudentId) -> Result<Vec<(Uuid, String)>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid, String)> = db::query_as(
            "SELECT guardian_id, relation FROM guardian_students WHERE student_id = $1",
        )
        .bind(student.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn set_student_active(
        &self,
        id: StudentId,
        active: bool,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = db::query("UPDATE students SET active = $2, updated_at = $3 WHERE id = $1")
            .bind(id.0)
            .bind(active)
            .bind(activity.at)
            .execute(&mut *tx)
            .await?;
        log_if_one(tx, done.rows_affected(), activity).await
    }

    async fn unlink_guardian(
        &self,
        guardian: Uuid,
        student: StudentId,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done =
            db::query("DELETE FROM guardian_students WHERE guardian_id = $1 AND student_id = $2")
                .bind(guardian)
                .bind(student.0)
                .execute(&mut *tx)
                .await?;
        log_if_one(tx, done.rows_affected(), activity).await
    }

    async fn staff_list(&self) -> Result<Vec<StaffListRow>> {
        let mut tx = self.begin_read().await?;
        #[allow(clippy::type_complexity)]
        let rows: Vec<(Uuid, String, String, String, Option<Uuid>, bool, Option<DateTime<Utc>>, bool)> = db::query_as(
            "SELECT id, full_name, email, role, branch_id, active, totp_enabled_at, password_hash IS NOT NULL \
             FROM staff_users ORDER BY full_name",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let mut tx = self.begin().await?;
        let done = db::query("UPDATE staff_users SET active = $2 WHERE id = $1")
            .bind(id.0)
            .bind(active)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if !active {
            // A deactivated account is signed out everywhere at once.
            db::query("DELETE FROM admin_sessions WHERE staff_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_staff_classes(
        &self,
        staff: StaffId,
        classes: &[ClassId],
        activity: &ActivityEntry,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        db::query("DELETE FROM staff_classes WHERE staff_id = $1")
            .bind(staff.0)
            .execute(&mut *tx)
            .await?;
        for c in classes {
            db::query("INSERT INTO staff_classes (staff_id, class_id) VALUES ($1, $2)")
                .bind(staff.0)
                .bind(c.0)
                .execute(&mut *tx)
                .await?;
        }
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn balances(&self, class: ClassId) -> Result<Vec<BalanceRow>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid, String, String, i64, i64, Option<String>)> = db::query_as(
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
        )
        .bind(class.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid, String, String, Option<String>)> = db::query_as(
            "SELECT s.id, s.admission_no, s.full_name, a.status FROM students s \
             LEFT JOIN attendance a ON a.student_id = s.id AND a.day = $2 \
             WHERE s.class_id = $1 AND s.active ORDER BY s.full_name, s.admission_no",
        )
        .bind(class.0)
        .bind(day)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let mut tx = self.begin().await?;
        for r in records {
            super::attendance::record(&mut tx, r, activity.at).await?;
        }
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attendance_by_class(&self, day: NaiveDate) -> Result<Vec<ClassDaySummary>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid, i64, i64, i64, i64, i64)> = db::query_as(
            "SELECT s.class_id, \
             CAST(SUM(CASE WHEN a.status = 'present' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN a.status = 'absent' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN a.status = 'late' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN a.status = 'excused' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM students s LEFT JOIN attendance a ON a.student_id = s.id AND a.day = $1 \
             WHERE s.active GROUP BY s.class_id",
        )
        .bind(day)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let mut tx = self.begin().await?;
        let done = db::query(
            "UPDATE access_codes SET revoked_at = $3 WHERE contact_kind = $1 AND contact_id = $2 \
             AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(contact.kind())
        .bind(contact.uuid())
        .bind(activity.at)
        .execute(&mut *tx)
        .await?;
        let mut entry = activity.clone();
        entry.details = serde_json::json!({ "revoked": done.rows_affected() });
        log(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn guardian_classes(&self, guardian: Uuid) -> Result<Vec<ClassId>> {
        let mut tx = self.begin_read().await?;
        let rows: Vec<(Uuid,)> = db::query_as(
            "SELECT DISTINCT s.class_id FROM guardian_students gs JOIN students s ON s.id = gs.student_id \
             WHERE gs.guardian_id = $1 AND s.active",
        )
        .bind(guardian)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(c,)| ClassId(c)).collect())
    }

    async fn staff_phone(&self, id: StaffId) -> Result<Option<crate::domain::phone::Phone>> {
        let mut tx = self.begin_read().await?;
        let row: Option<(Option<Vec<u8>>,)> =
            db::query_as("SELECT phone_enc FROM staff_users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        match row {
            Some((enc,)) => crate::store::sql::decrypt_phone(
                &self.keys,
                field("staff_users", "phone_enc", id.0),
                enc,
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
        let mut tx = self.begin().await?;
        let done =
            db::query("UPDATE staff_users SET phone_enc = $2, phone_bidx = $3 WHERE id = $1")
                .bind(id.0)
                .bind(enc)
                .bind(bidx)
                .execute(&mut *tx)
                .await;
        let done = match done {
            Ok(d) => d,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(crate::store::StoreError::Conflict(
                    "another staff member has this number".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        log_if_one(tx, done.rows_affected(), activity).await
    }

    async fn ensure_conversation(
        &self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        sender: &str,
        at: DateTime<Utc>,
    ) -> Result<Uuid> {
        let bidx = self
            .keys
            .blind_index("sender", &format!("{channel}:{sender}"));
        let cid = Uuid::now_v7();
        let sender_enc = self
            .keys
            .encrypt_str(field("conversations", "sender_enc", cid), sender)?;
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO conversations (id, channel_id, provider, sender_bidx, sender_enc, created_at)                          VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel_id, sender_bidx) DO NOTHING",
        )
        .bind(cid)
        .bind(channel)
        .bind(provider.as_str())
        .bind(&bidx)
        .bind(sender_enc)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let (id,): (Uuid,) =
            db::query_as("SELECT id FROM conversations WHERE channel_id = $1 AND sender_bidx = $2")
                .bind(channel)
                .bind(&bidx)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(id)
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
        db::query(
            "INSERT INTO password_resets (id, staff_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(staff.0)
        .bind(token_hash)
        .bind(activity.at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn password_reset_valid(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<StaffId>> {
        let mut tx = self.begin_read().await?;
        let row: Option<(Uuid,)> = db::query_as(
            "SELECT r.staff_id FROM password_resets r JOIN staff_users s ON s.id = r.staff_id \
             WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND s.active",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
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
