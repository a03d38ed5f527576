//! Complaints: the triage job's reads and writes, the AI budget's counter, the threads
//! as staff see and change them, and (as free functions for the conversation step) what
//! the person files, adds, answers and reopens.

use crate::domain::activity::ActivityEntry;
use crate::domain::roster::ContactRef;
use crate::domain::{BranchId, Pii, StaffId};
use crate::store::crypto::KeyRing;
use crate::store::{
    Addition, ComplaintChange, ComplaintNews, ComplaintStore, ComplaintSummary, ComplaintThread,
    CsatAnswer, NewComplaint, PersonComplaint, Result, ThreadMessage, ThreadOutcome, TriageRecord,
    REOPEN_DAYS,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::{corrupt, field, insert_job, log, uuid_at, SchoolStore};
use crate::store::db::{self, Tx};

#[async_trait::async_trait]
impl ComplaintStore for SchoolStore {
    async fn complaint_to_triage(&self, id: Uuid) -> Result<Option<Pii<String>>> {
        let row: Option<(Vec<u8>, Option<String>)> = self
            .read_optional(
                db::query_as("SELECT text_enc, triage_source FROM complaints WHERE id = $1")
                    .bind(id),
            )
            .await?;
        match row {
            None | Some((_, Some(_))) => Ok(None),
            Some((ct, None)) => Ok(Some(Pii::new(
                self.keys
                    .decrypt_str(field("complaints", "text_enc", id), &ct)?,
            ))),
        }
    }

    async fn save_triage(
        &self,
        id: Uuid,
        t: &TriageRecord,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let summary = self.keys.encrypt(
            field("complaints", "summary_enc", id),
            t.summary.expose().as_bytes(),
        )?;
        let reply = self.keys.encrypt(
            field("complaints", "reply_enc", id),
            t.suggested_reply.expose().as_bytes(),
        )?;
        self.write(async |tx| {
            let done = db::query(
                "UPDATE complaints SET triage_source = $2, category = COALESCE(category, $3), \
                 priority = COALESCE(priority, $4), \
                 sentiment = $5, language = $6, summary_enc = $7, reply_enc = $8, \
                 triage_note = $9, triaged_at = $10 \
                 WHERE id = $1 AND triage_source IS NULL",
            )
            .bind(id)
            .bind(t.source.as_str())
            .bind(t.category.as_str())
            .bind(t.priority.as_str())
            .bind(t.sentiment.as_str())
            .bind(t.language.as_str())
            .bind(summary)
            .bind(reply)
            .bind(t.note.as_deref())
            .bind(activity.at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                log(tx, activity).await?;
            }
            Ok(done)
        })
        .await
    }

    async fn complaint_triage(&self, id: Uuid) -> Result<Option<TriageRecord>> {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<String>,
        );
        let row: Option<Row> = self
            .read_optional(
                db::query_as(
                    "SELECT triage_source, category, priority, sentiment, language, \
                     summary_enc, reply_enc, triage_note FROM complaints WHERE id = $1",
                )
                .bind(id),
            )
            .await?;
        let Some((Some(source), category, priority, sentiment, language, summary, reply, note)) =
            row
        else {
            return Ok(None);
        };
        let text = |column: &'static str, ct: Option<Vec<u8>>| -> Result<String> {
            Ok(match ct {
                Some(ct) => self
                    .keys
                    .decrypt_str(field("complaints", column, id), &ct)?,
                None => String::new(),
            })
        };
        Ok(Some(TriageRecord {
            source,
            category: category.unwrap_or_default(),
            priority: priority.unwrap_or_default(),
            sentiment: sentiment.unwrap_or_default(),
            language: language.unwrap_or_default(),
            summary: Pii::new(text("summary_enc", summary)?),
            suggested_reply: Pii::new(text("reply_enc", reply)?),
            note,
        }))
    }

    async fn ai_tokens(&self, month: &str) -> Result<i64> {
        let row: Option<(i64,)> = self
            .read_optional(db::query_as("SELECT tokens FROM ai_usage WHERE month = $1").bind(month))
            .await?;
        Ok(row.map(|(n,)| n).unwrap_or(0))
    }

    async fn add_ai_tokens(&self, month: &str, tokens: i64, _at: DateTime<Utc>) -> Result<()> {
        self.write(async |tx| {
            db::query(
                "INSERT INTO ai_usage (month, tokens) VALUES ($1, $2) \
                 ON CONFLICT (month) DO UPDATE SET tokens = ai_usage.tokens + excluded.tokens",
            )
            .bind(month)
            .bind(tokens)
            .execute(&mut *tx)
            .await?;
            Ok(())
        })
        .await
    }

    async fn complaints(&self) -> Result<Vec<ComplaintSummary>> {
        self.read(async |tx| summaries(tx, &self.keys, None).await)
            .await
    }

    async fn complaint_thread(&self, id: Uuid) -> Result<Option<ComplaintThread>> {
        let found = self
            .read(async |tx| {
                let Some(summary) = summaries(tx, &self.keys, Some(id)).await?.pop() else {
                    return Ok(None);
                };
                let (text, reason): (Vec<u8>, Option<Vec<u8>>) = db::query_as(
                    "SELECT text_enc, close_reason_enc FROM complaints WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let rows: Vec<(Uuid, String, Option<String>, Option<Vec<u8>>, Option<String>, DateTime<Utc>)> =
                    db::query_as(
                        "SELECT id, kind, author, body_enc, media_key, created_at FROM complaint_messages \
                         WHERE complaint_id = $1 ORDER BY created_at, id",
                    )
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                let staff: Vec<(Uuid, String)> = db::query_as("SELECT id, full_name FROM staff_users")
                    .fetch_all(&mut *tx)
                    .await?;
                let names: HashMap<String, String> = staff
                    .into_iter()
                    .map(|(sid, name)| (format!("staff:{sid}"), name))
                    .collect();
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|(mid, kind, author, body, media, at)| {
                        let name = author.as_ref().and_then(|a| names.get(a).cloned());
                        (mid, kind, author, name, body, media, at)
                    })
                    .collect();
                let csat = csat_rows(tx, &self.keys, Some(id)).await?;
                Ok(Some((summary, text, reason, rows, csat)))
            })
            .await?;
        let Some((summary, text, reason, rows, csat)) = found else {
            return Ok(None);
        };
        let mut messages = Vec::with_capacity(rows.len());
        for (mid, kind, author, author_name, body, media_key, at) in rows {
            let body = body
                .map(|ct| {
                    self.keys
                        .decrypt_str(field("complaint_messages", "body_enc", mid), &ct)
                        .map(Pii::new)
                })
                .transpose()?;
            messages.push(ThreadMessage {
                id: mid,
                kind,
                author,
                author_name,
                body,
                media_key,
                at,
            });
        }
        Ok(Some(ComplaintThread {
            summary,
            text: Pii::new(
                self.keys
                    .decrypt_str(field("complaints", "text_enc", id), &text)?,
            ),
            triage: self.complaint_triage(id).await?,
            close_reason: reason
                .map(|ct| {
                    self.keys
                        .decrypt_str(field("complaints", "close_reason_enc", id), &ct)
                        .map(Pii::new)
                })
                .transpose()?,
            messages,
            csat,
        }))
    }

    async fn change_complaint(
        &self,
        id: Uuid,
        change: &ComplaintChange,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let keys = &self.keys;
        self.write(async |tx| {
            let row: Option<(String, String, Uuid, Option<Uuid>, Option<Uuid>)> = db::query_as(
                "SELECT status, contact_kind, contact_id, conversation_id, assigned_to \
                 FROM complaints WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((status, kind, contact, conversation, assigned)) = row else {
                return Ok(false);
            };
            let contact =
                ContactRef::from_parts(&kind, contact).ok_or_else(|| corrupt("contact kind"))?;
            let closed = status == "closed";
            let touch = async |tx: &mut Tx, sql: &'static str, value: &str| -> Result<()> {
                db::query(sql)
                    .bind(id)
                    .bind(value)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                Ok(())
            };
            match change {
                ComplaintChange::Reply(text) => {
                    // Conditional, so a close that committed meanwhile wins.
                    let open = db::query(
                        "UPDATE complaints SET status = CASE WHEN status = 'open' THEN 'in_progress' ELSE status END, \
                         staff_reply_at = $2, updated_at = $2 WHERE id = $1 AND status <> 'closed'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if !open {
                        return Ok(false);
                    }
                    let mid = uuid_at(now);
                    insert_message(tx, keys, id, mid, "staff", Some(&activity.actor), Some(text), None, now)
                        .await?;
                    tell(tx, keys, id, contact, conversation, "reply", Some(mid), now).await?;
                }
                ComplaintChange::Note(text) => {
                    insert_message(tx, keys, id, uuid_at(now), "note", Some(&activity.actor), Some(text), None, now)
                        .await?;
                    db::query("UPDATE complaints SET updated_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                ComplaintChange::Assign(to) => {
                    if *to == assigned.map(StaffId) {
                        return Ok(false);
                    }
                    db::query("UPDATE complaints SET assigned_to = $2, updated_at = $3 WHERE id = $1")
                        .bind(id)
                        .bind(to.map(|s| s.0))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(staff) = to {
                        let job = crate::domain::job::complaint_notice(id, Some(*staff), "assigned", now);
                        insert_job(tx, &job, now).await?;
                    }
                }
                ComplaintChange::Category(c) => {
                    touch(tx, "UPDATE complaints SET category = $2, updated_at = $3 WHERE id = $1", c).await?;
                }
                ComplaintChange::Priority(p) => {
                    touch(tx, "UPDATE complaints SET priority = $2, updated_at = $3 WHERE id = $1", p).await?;
                }
                ComplaintChange::Status(to) => {
                    if closed || *to == status || !["open", "in_progress"].contains(&to.as_str()) {
                        return Ok(false);
                    }
                    let changed = db::query(
                        "UPDATE complaints SET status = $2, updated_at = $3 \
                         WHERE id = $1 AND status <> 'closed' AND status <> $2",
                    )
                    .bind(id)
                    .bind(to)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed != 1 {
                        return Ok(false);
                    }
                    tell(tx, keys, id, contact, conversation, "status", None, now).await?;
                }
                ComplaintChange::Close { reason } => {
                    if closed {
                        return Ok(false);
                    }
                    let reason_enc = keys.encrypt(field("complaints", "close_reason_enc", id), reason.as_bytes())?;
                    let changed = db::query(
                        "UPDATE complaints SET status = 'closed', closed_at = $2, closed_by = $3, \
                         close_reason_enc = $4, closings = closings + 1, updated_at = $2 \
                         WHERE id = $1 AND status <> 'closed'",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(&activity.actor)
                    .bind(reason_enc)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    // Two clicks (or two staff) close it once.
                    if changed != 1 {
                        return Ok(false);
                    }
                    tell(tx, keys, id, contact, conversation, "closed", None, now).await?;
                }
                ComplaintChange::Reopen => {
                    if !closed {
                        return Ok(false);
                    }
                    if !reopen(tx, id, now).await? {
                        return Ok(false);
                    }
                    tell(tx, keys, id, contact, conversation, "reopened", None, now).await?;
                }
            }
            log(tx, activity).await?;
            Ok(true)
        })
        .await
    }

    async fn csat_answers(&self) -> Result<Vec<CsatAnswer>> {
        self.read(async |tx| csat_rows(tx, &self.keys, None).await)
            .await
    }
}

/// Reopens a closed complaint (false if it was not closed: the update is conditional,
/// so a close or reopen that committed meanwhile wins).
async fn reopen(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let changed = db::query(
        "UPDATE complaints SET status = 'open', closed_at = NULL, updated_at = $2 \
         WHERE id = $1 AND status = 'closed'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// The reference of a complaint filed before references existed.
pub(crate) fn legacy_reference(id: Uuid) -> String {
    id.simple().to_string()[24..].to_uppercase()
}

/// The inbox's columns, in order (`summaries` reads them by position).
const SUMMARY_SELECT: &str = "SELECT c.id, c.reference, c.contact_kind, c.contact_id, \
     COALESCE(g.full_name, s.full_name, ''), c.category, c.priority, c.sentiment, c.status, \
     c.assigned_to, a.full_name, c.triage_source, c.triage_note, c.summary_enc, c.created_at, \
     COALESCE(c.updated_at, c.created_at), c.closed_at, c.closings \
     FROM complaints c \
     LEFT JOIN guardians g ON c.contact_kind = 'guardian' AND g.id = c.contact_id \
     LEFT JOIN staff_users s ON c.contact_kind = 'staff' AND s.id = c.contact_id \
     LEFT JOIN staff_users a ON a.id = c.assigned_to";

struct SummaryRow(ComplaintSummary, Option<Vec<u8>>);

impl db::FromRow for SummaryRow {
    fn from_row(r: &db::Row) -> sqlx::Result<Self> {
        let id: Uuid = r.get(0)?;
        let kind: String = r.get(2)?;
        let contact: Uuid = r.get(3)?;
        let contact = ContactRef::from_parts(&kind, contact);
        Ok(SummaryRow(
            ComplaintSummary {
                id,
                reference: r
                    .get::<Option<String>>(1)?
                    .unwrap_or_else(|| legacy_reference(id)),
                filed_by_staff: kind == "staff",
                contact,
                contact_name: r.get(4)?,
                branches: Vec::new(),
                category: r.get(5)?,
                priority: r.get(6)?,
                sentiment: r.get(7)?,
                status: r.get(8)?,
                assigned_to: r.get::<Option<Uuid>>(9)?.map(StaffId),
                assignee: r.get(10)?,
                triage_source: r.get(11)?,
                triage_note: r.get(12)?,
                summary: None,
                created_at: r.get(14)?,
                updated_at: r.get(15)?,
                closed_at: r.get(16)?,
                closings: r.get(17)?,
            },
            r.get(13)?,
        ))
    }
}

/// Complaints as the inbox lists them (one, or all newest first), with the branches
/// of each family's children.
async fn summaries(
    tx: &mut Tx,
    keys: &KeyRing,
    one: Option<Uuid>,
) -> Result<Vec<ComplaintSummary>> {
    let rows: Vec<SummaryRow> = match one {
        Some(id) => {
            db::query_as(sqlx::AssertSqlSafe(format!(
                "{SUMMARY_SELECT} WHERE c.id = $1"
            )))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
        }
        None => {
            db::query_as(sqlx::AssertSqlSafe(format!(
                "{SUMMARY_SELECT} ORDER BY c.created_at DESC, c.id DESC"
            )))
            .fetch_all(&mut *tx)
            .await?
        }
    };
    let families: Vec<(Uuid, Uuid)> = db::query_as(
        "SELECT DISTINCT gs.guardian_id, cl.branch_id FROM complaints c \
         JOIN guardian_students gs ON c.contact_kind = 'guardian' AND gs.guardian_id = c.contact_id \
         JOIN students st ON st.id = gs.student_id JOIN classes cl ON cl.id = st.class_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut branches: HashMap<Uuid, Vec<BranchId>> = HashMap::new();
    for (guardian, branch) in families {
        branches.entry(guardian).or_default().push(BranchId(branch));
    }
    rows.into_iter()
        .map(|SummaryRow(mut c, summary)| {
            if let Some(ContactRef::Guardian(g)) = c.contact {
                c.branches = branches.get(&g.0).cloned().unwrap_or_default();
            }
            c.summary = summary
                .map(|ct| {
                    keys.decrypt_str(field("complaints", "summary_enc", c.id), &ct)
                        .map(Pii::new)
                })
                .transpose()?;
            Ok(c)
        })
        .collect()
}

async fn csat_rows(tx: &mut Tx, keys: &KeyRing, one: Option<Uuid>) -> Result<Vec<CsatAnswer>> {
    let sql = "SELECT id, complaint_id, closing, score, comment_enc, category, created_at FROM complaint_csat";
    type Row = (
        Uuid,
        Uuid,
        i64,
        i64,
        Option<Vec<u8>>,
        Option<String>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = match one {
        Some(id) => {
            db::query_as(sqlx::AssertSqlSafe(format!(
                "{sql} WHERE complaint_id = $1 ORDER BY closing"
            )))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
        }
        None => {
            db::query_as(sqlx::AssertSqlSafe(format!("{sql} ORDER BY created_at")))
                .fetch_all(&mut *tx)
                .await?
        }
    };
    rows.into_iter()
        .map(|(rid, complaint, closing, score, comment, category, at)| {
            Ok(CsatAnswer {
                complaint,
                closing,
                score,
                comment: comment
                    .map(|ct| {
                        keys.decrypt_str(field("complaint_csat", "comment_enc", rid), &ct)
                            .map(Pii::new)
                    })
                    .transpose()?,
                category,
                at,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn insert_message(
    tx: &mut Tx,
    keys: &KeyRing,
    complaint: Uuid,
    id: Uuid,
    kind: &str,
    author: Option<&str>,
    body: Option<&str>,
    media_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let body = body
        .map(|b| keys.encrypt(field("complaint_messages", "body_enc", id), b.as_bytes()))
        .transpose()?;
    db::query(
        "INSERT INTO complaint_messages (id, complaint_id, kind, author, body_enc, media_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(complaint)
    .bind(kind)
    .bind(author)
    .bind(body)
    .bind(media_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Tells the person of a change (a flow started in the conversation the complaint was
/// filed in, else in each of theirs): `complaint_closed` for a closing, else
/// `complaint_update` with the event.
#[allow(clippy::too_many_arguments)]
async fn tell(
    tx: &mut Tx,
    keys: &KeyRing,
    id: Uuid,
    contact: ContactRef,
    conversation: Option<Uuid>,
    event: &str,
    message: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    let targets = match conversation {
        Some(c) => vec![c],
        None => {
            let rows: Vec<(Uuid,)> = db::query_as(
                "SELECT id FROM conversations WHERE contact_kind = $1 AND contact_id = $2 ORDER BY id",
            )
            .bind(contact.kind())
            .bind(contact.uuid())
            .fetch_all(&mut *tx)
            .await?;
            rows.into_iter().map(|r| r.0).collect()
        }
    };
    let mut vars = serde_json::Map::new();
    vars.insert("complaint".into(), serde_json::json!(id.to_string()));
    vars.insert("event".into(), serde_json::json!(event));
    if let Some(m) = message {
        vars.insert("message".into(), serde_json::json!(m.to_string()));
    }
    let flow = if event == "closed" {
        "complaint_closed"
    } else {
        "complaint_update"
    };
    let stamp = message
        .map(|m| m.to_string())
        .unwrap_or_else(|| now.timestamp_millis().to_string());
    for c in targets {
        let tag = format!("complaint-{event}:{id}:{stamp}");
        let key = format!("complaint:{id}:{event}:{stamp}");
        super::flow::start_flow(tx, keys, c, &tag, (flow, key), vars.clone(), now).await?;
    }
    Ok(())
}

// ---- the person's side (the conversation step's transaction) ----

/// Files a complaint: the reference, the row, its attachments, its triage and the staff
/// notice (jobs), and the activity entry.
pub(super) async fn insert_complaint(
    tx: &mut Tx,
    keys: &KeyRing,
    conversation: Uuid,
    id: Uuid,
    contact: ContactRef,
    c: &NewComplaint,
    activity: &ActivityEntry,
) -> Result<String> {
    let now = activity.at;
    let month = now.format("%y%m").to_string();
    let (n,): (i64,) = db::query_as(
        "INSERT INTO complaint_refs (month, last) VALUES ($1, 1) \
         ON CONFLICT (month) DO UPDATE SET last = complaint_refs.last + 1 RETURNING last",
    )
    .bind(&month)
    .fetch_one(&mut *tx)
    .await?;
    let reference = format!("C-{month}-{n:04}");
    let enc = keys.encrypt(field("complaints", "text_enc", id), c.text.as_bytes())?;
    db::query(
        "INSERT INTO complaints (id, contact_kind, contact_id, conversation_id, text_enc, created_at, \
         updated_at, reference, category) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)",
    )
    .bind(id)
    .bind(contact.kind())
    .bind(contact.uuid())
    .bind(conversation)
    .bind(enc)
    .bind(now)
    .bind(&reference)
    .bind(c.category.as_deref())
    .execute(&mut *tx)
    .await?;
    for key in &c.attachments {
        insert_message(
            tx,
            keys,
            id,
            uuid_at(now),
            "person",
            None,
            None,
            Some(key),
            now,
        )
        .await?;
    }
    // Its triage (AI or local) and the staff notice are jobs that exist exactly when
    // the complaint does.
    insert_job(tx, &crate::domain::job::complaint_triage(id, now), now).await?;
    insert_job(
        tx,
        &crate::domain::job::complaint_notice(id, None, "new", now),
        now,
    )
    .await?;
    log(tx, activity).await?;
    Ok(reference)
}

/// A complaint's (status, reference, closed_at, closings, category) as stored.
type OwnRow = (
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    i64,
    Option<String>,
);

/// The complaint, if it is the person's: (status, reference, closed_at, closings, category).
async fn own(
    tx: &mut Tx,
    id: Uuid,
    contact: ContactRef,
) -> Result<Option<(String, String, Option<DateTime<Utc>>, i64, Option<String>)>> {
    let row: Option<OwnRow> = db::query_as(
        "SELECT status, reference, closed_at, closings, category FROM complaints \
         WHERE id = $1 AND contact_kind = $2 AND contact_id = $3",
    )
    .bind(id)
    .bind(contact.kind())
    .bind(contact.uuid())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(
        row.map(|(status, reference, closed_at, closings, category)| {
            (
                status,
                reference.unwrap_or_else(|| legacy_reference(id)),
                closed_at,
                closings,
                category,
            )
        }),
    )
}

pub(super) async fn person_complaints(
    tx: &mut Tx,
    keys: &KeyRing,
    contact: ContactRef,
    now: DateTime<Utc>,
) -> Result<Vec<PersonComplaint>> {
    let since = now - chrono::Duration::days(REOPEN_DAYS);
    type Row = (
        Uuid,
        Option<String>,
        String,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> =
        db::query_as(
            "SELECT id, reference, status, category, created_at, closed_at FROM complaints \
             WHERE contact_kind = $1 AND contact_id = $2 AND (status <> 'closed' OR closed_at >= $3) \
             ORDER BY created_at DESC, id DESC LIMIT 9",
        )
        .bind(contact.kind())
        .bind(contact.uuid())
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, reference, status, category, created_at, closed_at) in rows {
        let last: Option<(Uuid, Vec<u8>)> = db::query_as(
            "SELECT id, body_enc FROM complaint_messages WHERE complaint_id = $1 AND kind = 'staff' \
             AND body_enc IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let last_reply = last
            .map(|(mid, ct)| {
                keys.decrypt_str(field("complaint_messages", "body_enc", mid), &ct)
                    .map(Pii::new)
            })
            .transpose()?;
        out.push(PersonComplaint {
            id,
            reference: reference.unwrap_or_else(|| legacy_reference(id)),
            status,
            category,
            created_at,
            closed_at,
            last_reply,
        });
    }
    Ok(out)
}

pub(super) async fn add_to_complaint(
    tx: &mut Tx,
    keys: &KeyRing,
    id: Uuid,
    contact: ContactRef,
    addition: Addition<'_>,
    activity: &ActivityEntry,
) -> Result<ThreadOutcome> {
    let Some((status, reference, ..)) = own(tx, id, contact).await? else {
        return Ok(ThreadOutcome::NotFound);
    };
    if status == "closed" {
        return Ok(ThreadOutcome::Closed(reference));
    }
    let (body, media) = match addition {
        Addition::Text(t) => (Some(t), None),
        Addition::Media(k) => (None, Some(k)),
    };
    let now = activity.at;
    insert_message(tx, keys, id, uuid_at(now), "person", None, body, media, now).await?;
    db::query("UPDATE complaints SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    log(tx, activity).await?;
    Ok(ThreadOutcome::Done(reference))
}

pub(super) async fn complaint_news(
    tx: &mut Tx,
    keys: &KeyRing,
    id: Uuid,
    contact: ContactRef,
    message: Option<Uuid>,
) -> Result<Option<ComplaintNews>> {
    let Some((status, reference, _, closings, _)) = own(tx, id, contact).await? else {
        return Ok(None);
    };
    let reply = match message {
        Some(m) => {
            let row: Option<(Option<Vec<u8>>,)> = db::query_as(
                "SELECT body_enc FROM complaint_messages WHERE id = $1 AND complaint_id = $2 AND kind = 'staff'",
            )
            .bind(m)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            row.and_then(|r| r.0)
                .map(|ct| {
                    keys.decrypt_str(field("complaint_messages", "body_enc", m), &ct)
                        .map(Pii::new)
                })
                .transpose()?
        }
        None => None,
    };
    let (reason,): (Option<Vec<u8>>,) =
        db::query_as("SELECT close_reason_enc FROM complaints WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let close_reason = reason
        .map(|ct| {
            keys.decrypt_str(field("complaints", "close_reason_enc", id), &ct)
                .map(Pii::new)
        })
        .transpose()?;
    Ok(Some(ComplaintNews {
        reference,
        status,
        closings,
        reply,
        close_reason,
    }))
}

pub(super) async fn save_csat(
    tx: &mut Tx,
    keys: &KeyRing,
    id: Uuid,
    contact: ContactRef,
    score: i64,
    comment: Option<&str>,
    activity: &ActivityEntry,
) -> Result<ThreadOutcome> {
    let Some((_, reference, _, closings, category)) = own(tx, id, contact).await? else {
        return Ok(ThreadOutcome::NotFound);
    };
    if closings == 0 || !(1..=5).contains(&score) {
        return Ok(ThreadOutcome::NotApplicable(reference));
    }
    let rid = uuid_at(activity.at);
    let comment = comment
        .map(|c| keys.encrypt(field("complaint_csat", "comment_enc", rid), c.as_bytes()))
        .transpose()?;
    let done = db::query(
        "INSERT INTO complaint_csat (id, complaint_id, closing, score, comment_enc, category, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (complaint_id, closing) DO NOTHING",
    )
    .bind(rid)
    .bind(id)
    .bind(closings)
    .bind(score)
    .bind(comment)
    .bind(category)
    .bind(activity.at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(ThreadOutcome::NotApplicable(reference));
    }
    log(tx, activity).await?;
    Ok(ThreadOutcome::Done(reference))
}

pub(super) async fn reopen_complaint(
    tx: &mut Tx,
    id: Uuid,
    contact: ContactRef,
    activity: &ActivityEntry,
) -> Result<ThreadOutcome> {
    let Some((status, reference, closed_at, ..)) = own(tx, id, contact).await? else {
        return Ok(ThreadOutcome::NotFound);
    };
    if status != "closed" {
        return Ok(ThreadOutcome::NotApplicable(reference));
    }
    let now = activity.at;
    if closed_at.is_none_or(|at| now - at > chrono::Duration::days(REOPEN_DAYS)) {
        return Ok(ThreadOutcome::Closed(reference));
    }
    if !reopen(tx, id, now).await? {
        return Ok(ThreadOutcome::NotApplicable(reference));
    }
    insert_job(
        tx,
        &crate::domain::job::complaint_notice(id, None, "reopened", now),
        now,
    )
    .await?;
    log(tx, activity).await?;
    Ok(ThreadOutcome::Done(reference))
}
