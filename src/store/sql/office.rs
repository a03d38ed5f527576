//! SQL of the admin's office pages (roster, fees, attendance registers, dashboard
//! figures, password resets), shared by both backends like `sql.rs`.

use super::roster::{student_from_row, STUDENT_COLS};
use super::{log, SchoolStore};
use crate::domain::activity::ActivityEntry;
use crate::domain::roster::Student;
use crate::domain::{BranchId, ClassId, StaffId, StudentId};
use crate::store::db::{self};
use crate::store::sql::field;
use crate::store::{OfficeStore, Result, StaffAuth, StudentListRow};
use uuid::Uuid;

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

    async fn staff_list(&self) -> Result<Vec<StaffAuth>> {
        super::staff::all_staff(self).await
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
}
