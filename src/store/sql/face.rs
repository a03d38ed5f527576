//! Face attendance: consent records, enrolled samples (embeddings only, encrypted),
//! the class gallery, the face sessions (the session log) and the photos' results.
//! The photo itself is never stored here: its media row (the encrypted download) is
//! deleted in the same transaction as its result.

use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::{AttendanceRecord, AttendanceSource, AttendanceStatus};
use crate::domain::{ClassId, StaffId, StudentId};
use crate::face::matching::Enrolled;
use crate::face::quality::Quality;
use crate::store::crypto::KeyRing;
use crate::store::db::{self, Conn, Tx};
use crate::store::{
    ClassFaceRow, EnrolOutcome, FaceConsent, FacePhotoResult, FaceSampleInfo, FaceSessionRow,
    FaceStore, Result, FACE_SAMPLES_MAX,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::{corrupt, field, insert_job, log, uuid_at, SchoolStore};

const SESSION_COLS: &str = "id, conversation_id, staff_id, channel, class_id, status, photos, \
     pending, faces, matched, unmatched, duration_ms, proposal, error, created_at, updated_at, \
     confirmed_at";

fn ids_of(json: &str) -> std::result::Result<Vec<StudentId>, serde_json::Error> {
    let ids: Vec<Uuid> = serde_json::from_str(json)?;
    Ok(ids.into_iter().map(StudentId).collect())
}

fn json_of(ids: &[StudentId]) -> String {
    serde_json::Value::from(ids.iter().map(|s| s.0.to_string()).collect::<Vec<String>>())
        .to_string()
}

impl db::FromRow for FaceSessionRow {
    fn from_row(r: &db::Row) -> db::DbResult<Self> {
        let proposal: String = r.get(12)?;
        Ok(FaceSessionRow {
            id: r.get(0)?,
            conversation: r.get(1)?,
            staff: StaffId(r.get(2)?),
            channel: r.get(3)?,
            class: ClassId(r.get(4)?),
            status: r.get(5)?,
            photos: r.get(6)?,
            pending: r.get(7)?,
            faces: r.get(8)?,
            matched: r.get(9)?,
            unmatched: r.get(10)?,
            duration_ms: r.get(11)?,
            proposal: ids_of(&proposal).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            error: r.get(13)?,
            created_at: r.get(14)?,
            updated_at: r.get(15)?,
            confirmed_at: r.get(16)?,
        })
    }
}

/// An embedding as stored: little-endian f32s.
fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_bytes(b: &[u8]) -> Result<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return Err(corrupt("face sample: length not a multiple of 4"));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

pub(super) async fn session(c: &mut Conn, id: Uuid) -> Result<Option<FaceSessionRow>> {
    Ok(db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SESSION_COLS} FROM face_sessions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await?)
}

pub(super) async fn class_faces(c: &mut Conn, class: ClassId) -> Result<Vec<ClassFaceRow>> {
    let rows: Vec<(Uuid, String, String, i64, i64)> = db::query_as(
        "SELECT s.id, s.admission_no, s.full_name, \
         CAST(CASE WHEN fc.student_id IS NULL THEN 0 ELSE 1 END AS BIGINT), \
         (SELECT COUNT(*) FROM face_samples fs WHERE fs.student_id = s.id) \
         FROM students s LEFT JOIN face_consents fc ON fc.student_id = s.id \
         WHERE s.class_id = $1 AND s.active ORDER BY s.full_name, s.id",
    )
    .bind(class.0)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, admission_no, name, consent, samples)| ClassFaceRow {
            student: StudentId(id),
            admission_no,
            name,
            consent: consent == 1,
            samples: samples.max(0) as usize,
        })
        .collect())
}

/// Deletes an inbound event's media row (and with it the encrypted bytes).
pub(super) async fn discard_media(c: &mut Conn, media_key: &str) -> Result<u64> {
    Ok(db::query(
        "DELETE FROM media WHERE inbound_event_id IN \
         (SELECT id FROM inbound_events WHERE provider_key = $1)",
    )
    .bind(media_key)
    .execute(c)
    .await?
    .rows_affected())
}

/// Starts the proposal (or the failure notice) in the teacher's conversation.
async fn propose(
    tx: &mut Tx,
    keys: &KeyRing,
    s: &FaceSessionRow,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut vars = serde_json::Map::new();
    vars.insert("session".into(), serde_json::json!(s.id.to_string()));
    let tag = format!("face:{}:{}", s.id, s.photos);
    let key = format!("face:{}:{}", s.id, s.photos);
    super::flow::start_flow(
        tx,
        keys,
        s.conversation,
        &tag,
        ("face_proposal", key),
        vars,
        now,
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl FaceStore for SchoolStore {
    async fn face_consent(&self, student: StudentId) -> Result<Option<FaceConsent>> {
        let row: Option<(Uuid, String, DateTime<Utc>, Option<Vec<u8>>)> = self
            .read_optional(
                db::query_as(
                    "SELECT id, confirmed_by, confirmed_at, note_enc FROM face_consents WHERE student_id = $1",
                )
                .bind(student.0),
            )
            .await?;
        row.map(|(id, confirmed_by, confirmed_at, note)| {
            Ok(FaceConsent {
                confirmed_by,
                confirmed_at,
                note: note
                    .map(|ct| {
                        self.keys
                            .decrypt_str(field("face_consents", "note_enc", id), &ct)
                    })
                    .transpose()?
                    .map(crate::domain::Pii::new),
            })
        })
        .transpose()
    }

    async fn record_face_consent(
        &self,
        student: StudentId,
        confirmed_by: &str,
        note: Option<&str>,
        activity: &ActivityEntry,
    ) -> Result<()> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let keys = &self.keys;
        self.write(async |tx| {
            // The record keeps its id when it is confirmed again (the note's key is
            // bound to it).
            let existing: Option<(Uuid,)> =
                db::query_as("SELECT id FROM face_consents WHERE student_id = $1")
                    .bind(student.0)
                    .fetch_optional(&mut **tx)
                    .await?;
            let id = existing
                .map(|(id,)| id)
                .unwrap_or_else(|| uuid_at(activity.at));
            let note = note
                .map(|n| keys.encrypt_str(field("face_consents", "note_enc", id), n))
                .transpose()?;
            db::query(
                "INSERT INTO face_consents (id, student_id, confirmed_by, confirmed_at, note_enc) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (student_id) DO UPDATE SET \
                 confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at, \
                 note_enc = excluded.note_enc",
            )
            .bind(id)
            .bind(student.0)
            .bind(confirmed_by)
            .bind(activity.at)
            .bind(note)
            .execute(&mut **tx)
            .await?;
            log(tx, activity).await
        })
        .await?;
        Ok(())
    }

    async fn withdraw_face_consent(
        &self,
        student: StudentId,
        activity: &ActivityEntry,
    ) -> Result<Option<usize>> {
        self.write_some(async |tx| {
            let samples = db::query("DELETE FROM face_samples WHERE student_id = $1")
                .bind(student.0)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
            let consent = db::query("DELETE FROM face_consents WHERE student_id = $1")
                .bind(student.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if consent == 0 {
                return Ok(None);
            }
            let mut entry = activity.clone();
            entry.details = serde_json::json!({ "samples_deleted": samples });
            log(tx, &entry).await?;
            Ok(Some(samples))
        })
        .await
    }

    async fn add_face_sample(
        &self,
        student: StudentId,
        embedding: &[f32],
        quality: &Quality,
        activity: &ActivityEntry,
    ) -> Result<EnrolOutcome> {
        let id = uuid_at(activity.at);
        let enc = self.keys.encrypt(
            field("face_samples", "embedding_enc", id),
            &to_bytes(embedding),
        )?;
        let quality = serde_json::to_string(quality).map_err(corrupt)?;
        let outcome = self
            .write_some(async |tx| {
                let consent: Option<(Uuid,)> =
                    db::query_as("SELECT student_id FROM face_consents WHERE student_id = $1")
                        .bind(student.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                if consent.is_none() {
                    return Ok(Some(EnrolOutcome::NoConsent));
                }
                let (count,): (i64,) =
                    db::query_as("SELECT COUNT(*) FROM face_samples WHERE student_id = $1")
                        .bind(student.0)
                        .fetch_one(&mut **tx)
                        .await?;
                if count as usize >= FACE_SAMPLES_MAX {
                    return Ok(Some(EnrolOutcome::Full));
                }
                db::query(
                    "INSERT INTO face_samples (id, student_id, embedding_enc, quality, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(student.0)
                .bind(enc)
                .bind(quality)
                .bind(&activity.actor)
                .bind(activity.at)
                .execute(&mut **tx)
                .await?;
                let mut entry = activity.clone();
                entry.details = serde_json::json!({ "sample": id.to_string() });
                log(tx, &entry).await?;
                Ok(Some(EnrolOutcome::Added(id)))
            })
            .await?;
        Ok(outcome.unwrap_or(EnrolOutcome::NoConsent))
    }

    async fn face_samples(&self, student: StudentId) -> Result<Vec<FaceSampleInfo>> {
        let rows: Vec<(Uuid, String, String, DateTime<Utc>)> = self
            .read_all(
                db::query_as(
                    "SELECT id, quality, created_by, created_at FROM face_samples \
                     WHERE student_id = $1 ORDER BY created_at, id",
                )
                .bind(student.0),
            )
            .await?;
        rows.into_iter()
            .map(|(id, quality, created_by, created_at)| {
                Ok(FaceSampleInfo {
                    id,
                    quality: serde_json::from_str(&quality).map_err(corrupt)?,
                    created_by,
                    created_at,
                })
            })
            .collect()
    }

    async fn delete_face_sample(
        &self,
        student: StudentId,
        id: Uuid,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        self.change_one(
            db::query("DELETE FROM face_samples WHERE id = $1 AND student_id = $2")
                .bind(id)
                .bind(student.0),
            activity,
        )
        .await
    }

    async fn delete_face_samples(
        &self,
        student: StudentId,
        activity: &ActivityEntry,
    ) -> Result<usize> {
        self.write(async |tx| {
            let n = db::query("DELETE FROM face_samples WHERE student_id = $1")
                .bind(student.0)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
            let mut entry = activity.clone();
            entry.details = serde_json::json!({ "samples_deleted": n });
            log(tx, &entry).await?;
            Ok(n)
        })
        .await
    }

    async fn class_faces(&self, class: ClassId) -> Result<Vec<ClassFaceRow>> {
        self.read(async |tx| class_faces(tx, class).await).await
    }

    async fn class_gallery(&self, class: ClassId) -> Result<Vec<Enrolled<StudentId>>> {
        let rows: Vec<(Uuid, Uuid, Vec<u8>)> = self
            .read_all(
                db::query_as(
                    "SELECT fs.id, fs.student_id, fs.embedding_enc FROM face_samples fs \
                     JOIN face_consents fc ON fc.student_id = fs.student_id \
                     JOIN students s ON s.id = fs.student_id \
                     WHERE s.class_id = $1 AND s.active ORDER BY fs.student_id, fs.created_at",
                )
                .bind(class.0),
            )
            .await?;
        let mut by_student: HashMap<Uuid, Vec<Vec<f32>>> = HashMap::new();
        let mut order = Vec::new();
        for (id, student, enc) in rows {
            let bytes = self
                .keys
                .decrypt(field("face_samples", "embedding_enc", id), &enc)?;
            let v = from_bytes(&bytes)?;
            if !by_student.contains_key(&student) {
                order.push(student);
            }
            by_student.entry(student).or_default().push(v);
        }
        Ok(order
            .into_iter()
            .map(|s| Enrolled {
                key: StudentId(s),
                samples: by_student.remove(&s).unwrap_or_default(),
            })
            .collect())
    }

    async fn face_session(&self, id: Uuid) -> Result<Option<FaceSessionRow>> {
        self.read(async |tx| session(tx, id).await).await
    }

    async fn face_photo_done(
        &self,
        id: Uuid,
        media_key: &str,
        result: &FacePhotoResult,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let keys = &self.keys;
        self.write(async |tx| {
            discard_media(tx, media_key).await?;
            let Some(s) = session(tx, id).await? else {
                return Ok(false);
            };
            if s.status != "matching" {
                return Ok(false);
            }
            let mut present = s.proposal.clone();
            for p in &result.present {
                if !present.contains(p) {
                    present.push(*p);
                }
            }
            let pending = (s.pending - 1).max(0);
            let status = if pending == 0 { "proposed" } else { "matching" };
            db::query(
                "UPDATE face_sessions SET pending = $2, faces = faces + $3, unmatched = unmatched + $4, \
                 duration_ms = duration_ms + $5, proposal = $6, matched = $7, status = $8, updated_at = $9 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(pending)
            .bind(result.faces as i64)
            .bind(result.unmatched as i64)
            .bind(result.ms as i64)
            .bind(json_of(&present))
            .bind(present.len() as i64)
            .bind(status)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            if pending == 0 {
                if let Some(s) = session(tx, id).await? {
                    propose(tx, keys, &s, now).await?;
                }
            }
            Ok(true)
        })
        .await
    }

    async fn face_photo_failed(
        &self,
        id: Uuid,
        media_key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let keys = &self.keys;
        self.write(async |tx| {
            // A photo already gone (an earlier attempt finished it) counts once only.
            if discard_media(tx, media_key).await? == 0 {
                return Ok(());
            }
            let Some(s) = session(tx, id).await? else {
                return Ok(());
            };
            if s.status != "matching" {
                return Ok(());
            }
            let pending = (s.pending - 1).max(0);
            let status = match (pending, s.faces) {
                (0, 0) => "failed",
                (0, _) => "proposed",
                _ => "matching",
            };
            db::query(
                "UPDATE face_sessions SET pending = $2, status = $3, error = $4, updated_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(pending)
            .bind(status)
            .bind(reason)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            if pending == 0 {
                if let Some(s) = session(tx, id).await? {
                    propose(tx, keys, &s, now).await?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn face_sessions(&self, limit: i64) -> Result<Vec<FaceSessionRow>> {
        self.read_all(
            db::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SESSION_COLS} FROM face_sessions ORDER BY created_at DESC, id DESC LIMIT $1"
            )))
            .bind(limit),
        )
        .await
    }
}

// ---- the conversation step's side ----

pub(super) async fn open_session(
    c: &mut Conn,
    staff: StaffId,
    since: DateTime<Utc>,
) -> Result<Option<FaceSessionRow>> {
    Ok(db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SESSION_COLS} FROM face_sessions WHERE staff_id = $1 AND updated_at >= $2 \
         AND status IN ('matching', 'proposed') ORDER BY updated_at DESC, id DESC LIMIT 1"
    )))
    .bind(staff.0)
    .bind(since)
    .fetch_optional(c)
    .await?)
}

pub(super) async fn new_session(
    c: &mut Conn,
    conversation: Uuid,
    staff: StaffId,
    class: ClassId,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = uuid_at(now);
    db::query(
        "INSERT INTO face_sessions (id, conversation_id, staff_id, channel, class_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'matching', $6, $6)",
    )
    .bind(id)
    .bind(conversation)
    .bind(staff.0)
    .bind(channel)
    .bind(class.0)
    .bind(now)
    .execute(c)
    .await?;
    Ok(id)
}

pub(super) async fn add_photo(
    tx: &mut Tx,
    conversation: Uuid,
    session: Uuid,
    media_key: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let changed = db::query(
        "UPDATE face_sessions SET photos = photos + 1, pending = pending + 1, status = 'matching', \
         updated_at = $2 WHERE id = $1 AND status IN ('matching', 'proposed')",
    )
    .bind(session)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 1 {
        insert_job(
            tx,
            &crate::domain::job::face_match(session, conversation, media_key, now),
            now,
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn confirm(
    tx: &mut Tx,
    session: Uuid,
    present: &[StudentId],
    day: NaiveDate,
    activity: &ActivityEntry,
) -> Result<bool> {
    let Some(s) = self::session(tx, session).await? else {
        return Ok(false);
    };
    let changed = db::query(
        "UPDATE face_sessions SET status = 'confirmed', confirmed_at = $2, updated_at = $2 \
         WHERE id = $1 AND status = 'proposed'",
    )
    .bind(session)
    .bind(activity.at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    // Only students of the session's class, active now.
    let class: Vec<StudentId> = class_faces(tx, s.class)
        .await?
        .into_iter()
        .map(|r| r.student)
        .collect();
    let mut written = 0i64;
    for student in present.iter().filter(|p| class.contains(p)) {
        let r = AttendanceRecord {
            day,
            student: *student,
            status: AttendanceStatus::Present,
            source: AttendanceSource::Face,
            recorded_by: Some(s.staff),
        };
        if super::attendance::record(tx, &r, activity.at).await? {
            db::query(
                "UPDATE attendance SET face_session_id = $1 WHERE student_id = $2 AND day = $3",
            )
            .bind(session)
            .bind(student.0)
            .bind(day)
            .execute(&mut **tx)
            .await?;
            written += 1;
        }
    }
    let mut entry = activity.clone();
    entry.details = serde_json::json!({
        "session": session.to_string(),
        "day": day,
        "present": written,
        "source": "face",
    });
    log(tx, &entry).await?;
    Ok(true)
}

pub(super) async fn cancel(c: &mut Conn, session: Uuid, now: DateTime<Utc>) -> Result<bool> {
    Ok(db::query(
        "UPDATE face_sessions SET status = 'cancelled', updated_at = $2 \
         WHERE id = $1 AND status IN ('matching', 'proposed')",
    )
    .bind(session)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_round_trip_through_their_bytes() {
        let v = vec![0.25f32, -1.5, 3.0e-7, 0.0];
        assert_eq!(from_bytes(&to_bytes(&v)).unwrap(), v);
        assert!(from_bytes(&[1, 2, 3]).is_err());
    }
}
