//! Roster: students, guardians, staff and their links, the roster import.

use crate::domain::activity::ActivityEntry;
use crate::domain::phone::Phone;
use crate::domain::roster::{
    ContactRef, Gender, Guardian, Relation, RosterRecord, StaffUser, Student,
};
use crate::domain::school::Locale;
use crate::domain::{ClassId, GuardianId, StudentId};
use crate::store::sql::{corrupt, decrypt_as, field};
use crate::store::sql::{stored_national_id, stored_phone, stored_text};
use crate::store::{Progress, Result, RosterImportSummary, RosterStore, SchoolCounts, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use super::{log, SchoolStore, PHONE_INDEX};
use crate::store::crypto::KeyRing;
use crate::store::db::{self, Conn};

type GuardianRow = (
    Uuid,
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
);
const GUARDIAN_COLS: &str =
    "g.id, g.full_name, g.phone_enc, g.cnic_enc, g.address_enc, g.preferred_language";

fn guardian_from_row(keys: &crate::store::crypto::KeyRing, r: GuardianRow) -> Result<Guardian> {
    let (id, full_name, phone, cnic, address, lang) = r;
    Ok(Guardian {
        id: GuardianId(id),
        full_name,
        phone: decrypt_as(
            keys,
            field("guardians", "phone_enc", id),
            phone,
            stored_phone,
        )?,
        cnic: decrypt_as(
            keys,
            field("guardians", "cnic_enc", id),
            cnic,
            stored_national_id,
        )?,
        address: decrypt_as(
            keys,
            field("guardians", "address_enc", id),
            address,
            stored_text,
        )?,
        preferred_language: lang.parse::<Locale>().map_err(corrupt)?,
    })
}

/// A student as selected by [`STUDENT_COLS`].
pub(super) type StudentRow = (
    Uuid,
    String,
    String,
    Option<NaiveDate>,
    String,
    Uuid,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    bool,
);
pub(super) const STUDENT_COLS: &str =
    "id, admission_no, full_name, date_of_birth, gender, class_id, bform_enc, health_notes_enc, \
    active FROM students";

/// A student (decrypted) and whether they are active.
pub(super) fn student_from_row(keys: &KeyRing, r: StudentRow) -> Result<(Student, bool)> {
    let (id, admission_no, full_name, date_of_birth, gender, class_id, bform, health, active) = r;
    let student = Student {
        id: StudentId(id),
        admission_no,
        full_name,
        date_of_birth,
        gender: gender.parse::<Gender>().map_err(corrupt)?,
        class_id: ClassId(class_id),
        bform: decrypt_as(
            keys,
            field("students", "bform_enc", id),
            bform,
            stored_national_id,
        )?,
        health_notes: decrypt_as(
            keys,
            field("students", "health_notes_enc", id),
            health,
            stored_text,
        )?,
    };
    Ok((student, active))
}

/// Encrypts an optional roster field of a row.
fn encrypt_opt(
    keys: &KeyRing,
    table: &'static str,
    column: &'static str,
    id: Uuid,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>> {
    Ok(value
        .map(|v| keys.encrypt_str(field(table, column, id), v))
        .transpose()?)
}

#[async_trait::async_trait]
impl RosterStore for SchoolStore {
    async fn import_roster(
        &self,
        records: &[RosterRecord],
        activity: &ActivityEntry,
        progress: &dyn Progress,
    ) -> Result<RosterImportSummary> {
        let keys = self.keys.clone();
        let mut tx = self.begin().await?;
        let now = Utc::now();
        let mut summary = RosterImportSummary::default();
        let mut branches: HashMap<String, Uuid> = HashMap::new();
        let mut classes: HashMap<(Uuid, String, String), Uuid> = HashMap::new();
        let mut students: HashMap<String, Uuid> = HashMap::new();
        let mut guardians_seen: HashSet<Uuid> = HashSet::new();
        for r in records {
            let branch_id = match branches.get(&r.branch) {
                Some(id) => *id,
                None => {
                    let (id,): (Uuid,) = db::query_as(
                        "INSERT INTO branches (id, name, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
                    )
                    .bind(Uuid::now_v7())
                    .bind(&r.branch)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    branches.insert(r.branch.clone(), id);
                    id
                }
            };
            let class_key = (branch_id, r.class_name.clone(), r.section.clone());
            let class_id = match classes.get(&class_key) {
                Some(id) => *id,
                None => {
                    let (id,): (Uuid,) = db::query_as(
                        "INSERT INTO classes (id, branch_id, name, section, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (branch_id, name, section) \
                         DO UPDATE SET name = excluded.name RETURNING id",
                    )
                    .bind(Uuid::now_v7())
                    .bind(branch_id)
                    .bind(&r.class_name)
                    .bind(&r.section)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    classes.insert(class_key, id);
                    id
                }
            };
            let student_id = match students.get(&r.admission_no) {
                Some(id) => *id,
                None => {
                    let existing: Option<(Uuid,)> =
                        db::query_as("SELECT id FROM students WHERE admission_no = $1")
                            .bind(&r.admission_no)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let id = existing.map(|e| e.0).unwrap_or_else(Uuid::now_v7);
                    let bform = r.bform.as_ref().map(|b| b.expose());
                    let bform = encrypt_opt(&keys, "students", "bform_enc", id, bform)?;
                    let health = r.health_notes.as_ref().map(|h| h.expose().as_str());
                    let health = encrypt_opt(&keys, "students", "health_notes_enc", id, health)?;
                    if existing.is_some() {
                        db::query(
                            "UPDATE students SET full_name = $2, date_of_birth = COALESCE($3, date_of_birth), \
                             gender = COALESCE($4, gender), class_id = $5, bform_enc = COALESCE($6, bform_enc), \
                             health_notes_enc = COALESCE($7, health_notes_enc), \
                             active = CASE WHEN $9 THEN active ELSE TRUE END, updated_at = $8 \
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(&r.student_name)
                        .bind(r.date_of_birth)
                        .bind(r.gender.map(|g| g.as_str()))
                        .bind(class_id)
                        .bind(bform)
                        .bind(health)
                        .bind(now)
                        .bind(r.keep_active)
                        .execute(&mut *tx)
                        .await?;
                        summary.students_updated += 1;
                    } else {
                        db::query(
                            "INSERT INTO students (id, admission_no, full_name, date_of_birth, gender, \
                             class_id, bform_enc, health_notes_enc, active, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9)",
                        )
                        .bind(id)
                        .bind(&r.admission_no)
                        .bind(&r.student_name)
                        .bind(r.date_of_birth)
                        .bind(r.gender.unwrap_or(Gender::Unspecified).as_str())
                        .bind(class_id)
                        .bind(bform)
                        .bind(health)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        summary.students_created += 1;
                    }
                    students.insert(r.admission_no.clone(), id);
                    id
                }
            };
            if let Some(g) = &r.guardian {
                let bidx = keys.blind_index(PHONE_INDEX, g.phone.e164());
                let existing: Option<(Uuid,)> =
                    db::query_as("SELECT id FROM guardians WHERE phone_bidx = $1")
                        .bind(&bidx)
                        .fetch_optional(&mut *tx)
                        .await?;
                let gid = existing.map(|e| e.0).unwrap_or_else(Uuid::now_v7);
                if guardians_seen.insert(gid) {
                    let cnic = g.cnic.as_ref().map(|c| c.expose());
                    let cnic = encrypt_opt(&keys, "guardians", "cnic_enc", gid, cnic)?;
                    let address = g.address.as_ref().map(|a| a.expose().as_str());
                    let address = encrypt_opt(&keys, "guardians", "address_enc", gid, address)?;
                    if existing.is_some() {
                        db::query(
                            "UPDATE guardians SET full_name = $2, preferred_language = COALESCE($3, preferred_language), \
                             cnic_enc = COALESCE($4, cnic_enc), address_enc = COALESCE($5, address_enc), \
                             updated_at = $6 WHERE id = $1",
                        )
                        .bind(gid)
                        .bind(&g.full_name)
                        .bind(g.language.map(|l| l.as_str()))
                        .bind(cnic)
                        .bind(address)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        summary.guardians_updated += 1;
                    } else {
                        let phone =
                            keys.encrypt_str(field("guardians", "phone_enc", gid), g.phone.e164())?;
                        db::query(
                            "INSERT INTO guardians (id, full_name, phone_enc, phone_bidx, cnic_enc, \
                             address_enc, preferred_language, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                        )
                        .bind(gid)
                        .bind(&g.full_name)
                        .bind(phone)
                        .bind(&bidx)
                        .bind(cnic)
                        .bind(address)
                        .bind(g.language.unwrap_or_default().as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        summary.guardians_created += 1;
                    }
                }
                // A blank relation keeps the stored one (new links default to guardian).
                let link = if g.relation.is_some() {
                    "INSERT INTO guardian_students (guardian_id, student_id, relation) VALUES ($1, $2, $3) \
                     ON CONFLICT (guardian_id, student_id) DO UPDATE SET relation = excluded.relation"
                } else {
                    "INSERT INTO guardian_students (guardian_id, student_id, relation) VALUES ($1, $2, $3) \
                     ON CONFLICT (guardian_id, student_id) DO NOTHING"
                };
                db::query(link)
                    .bind(gid)
                    .bind(student_id)
                    .bind(g.relation.unwrap_or(Relation::Guardian).as_str())
                    .execute(&mut *tx)
                    .await?;
                summary.links += 1;
            }
            progress.advance(1);
        }
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn students(&self) -> Result<Vec<Student>> {
        let sql = format!("SELECT {STUDENT_COLS} ORDER BY admission_no");
        let rows = self
            .read_all(db::query_as(sqlx::AssertSqlSafe(sql)))
            .await?;
        rows.into_iter()
            .map(|r| Ok(student_from_row(&self.keys, r)?.0))
            .collect()
    }

    async fn known_names(&self) -> Result<crate::store::KnownNames> {
        self.read(async |tx| {
            let people: Vec<(String,)> = db::query_as(
                "SELECT full_name FROM students \
                 UNION SELECT full_name FROM guardians \
                 UNION SELECT full_name FROM staff_users",
            )
            .fetch_all(&mut *tx)
            .await?;
            let places: Vec<(String,)> = db::query_as(
                "SELECT name FROM classes UNION SELECT section FROM classes \
                 UNION SELECT name FROM branches",
            )
            .fetch_all(&mut *tx)
            .await?;
            Ok(crate::store::KnownNames {
                people: people.into_iter().map(|(n,)| n).collect(),
                places: places
                    .into_iter()
                    .map(|(n,)| n)
                    .filter(|n| !n.trim().is_empty())
                    .collect(),
            })
        })
        .await
    }

    async fn guardian(&self, id: GuardianId) -> Result<Option<Guardian>> {
        let sql = format!("SELECT {GUARDIAN_COLS} FROM guardians g WHERE g.id = $1");
        let row = self
            .read_optional(db::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0))
            .await?;
        row.map(|r| guardian_from_row(&self.keys, r)).transpose()
    }

    async fn guardians_of(&self, student: StudentId) -> Result<Vec<Guardian>> {
        let sql = format!(
            "SELECT {GUARDIAN_COLS} FROM guardians g JOIN guardian_students gs ON gs.guardian_id = g.id \
             WHERE gs.student_id = $1 ORDER BY g.full_name"
        );
        let rows = self
            .read_all(db::query_as(sqlx::AssertSqlSafe(sql)).bind(student.0))
            .await?;
        rows.into_iter()
            .map(|r| guardian_from_row(&self.keys, r))
            .collect()
    }

    async fn create_staff(&self, s: &StaffUser, activity: &ActivityEntry) -> Result<()> {
        self.create_staff_account(s, &[], None, activity).await
    }

    async fn create_staff_account(
        &self,
        s: &StaffUser,
        classes: &[crate::domain::ClassId],
        reset: Option<(&[u8], DateTime<Utc>)>,
        activity: &ActivityEntry,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let branch_id: Option<Uuid> = match &s.branch {
            None => None,
            Some(name) => {
                let row: Option<(Uuid,)> = db::query_as("SELECT id FROM branches WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
                Some(
                    row.ok_or_else(|| StoreError::Conflict(format!("unknown branch {name:?}")))?
                        .0,
                )
            }
        };
        let phone = s
            .phone
            .as_ref()
            .map(|p| {
                self.keys
                    .encrypt_str(field("staff_users", "phone_enc", s.id.0), p.e164())
            })
            .transpose()?;
        let bidx = s
            .phone
            .as_ref()
            .map(|p| self.keys.blind_index(PHONE_INDEX, p.e164()));
        let res = db::query(
            "INSERT INTO staff_users (id, full_name, email, phone_enc, phone_bidx, role, branch_id, \
             password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9)",
        )
        .bind(s.id.0)
        .bind(&s.full_name)
        .bind(s.email.to_lowercase())
        .bind(phone)
        .bind(bidx)
        .bind(s.role.as_str())
        .bind(branch_id)
        .bind(&s.password_hash)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(
                    "a staff member with this email or phone already exists".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        for c in classes {
            db::query("INSERT INTO staff_classes (staff_id, class_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(s.id.0)
                .bind(c.0)
                .execute(&mut *tx)
                .await?;
        }
        if let Some((token_hash, expires_at)) = reset {
            let at = activity.at;
            super::staff::insert_password_reset(&mut tx, s.id.0, token_hash, at, expires_at)
                .await?;
        }
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn contacts_by_phone(&self, phone: &Phone) -> Result<Vec<ContactRef>> {
        self.read(async |tx| contacts_by_phone(tx, &self.keys, phone).await)
            .await
    }

    async fn counts(&self) -> Result<SchoolCounts> {
        let q = db::query_as(
            "SELECT (SELECT COUNT(*) FROM branches), (SELECT COUNT(*) FROM classes), \
                 (SELECT COUNT(*) FROM students), (SELECT COUNT(*) FROM guardians), \
                 (SELECT COUNT(*) FROM staff_users), (SELECT COUNT(*) FROM fee_lines), \
                 (SELECT COUNT(*) FROM activity_log)",
        );
        let (branches, classes, students, guardians, staff, fee_lines, activity) =
            self.read_one(q).await?;
        Ok(SchoolCounts {
            branches,
            classes,
            students,
            guardians,
            staff,
            fee_lines,
            activity,
        })
    }
}

/// The guardians and active staff whose roster phone is `phone`.
pub(super) async fn contacts_by_phone(
    c: &mut Conn,
    keys: &KeyRing,
    phone: &Phone,
) -> Result<Vec<ContactRef>> {
    let bidx = keys.blind_index(PHONE_INDEX, phone.e164());
    let rows: Vec<(String, Uuid)> = db::query_as(
        "SELECT 'guardian', id FROM guardians WHERE phone_bidx = $1 \
         UNION ALL SELECT 'staff', id FROM staff_users WHERE phone_bidx = $1 AND active",
    )
    .bind(bidx)
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(|(kind, id)| ContactRef::from_parts(&kind, id).ok_or_else(|| corrupt("contact kind")))
        .collect()
}
