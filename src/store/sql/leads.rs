//! Leads the enquiry bot took (issue 18): name, detail and question encrypted with the
//! school's key; the notice to the office is a job queued in the same transaction.

use crate::domain::activity::ActivityEntry;
use crate::domain::{Pii, StaffId};
use crate::store::crypto::KeyRing;
use crate::store::db::{self, Tx};
use crate::store::{LeadChange, LeadRow, LeadStore, NewLead, Result};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::{corrupt, field, insert_job, log, SchoolStore};

const COLS: &str = "l.id, l.conversation_id, c.provider, c.sender_enc, l.kind, l.name_enc, \
     l.detail_enc, l.language, l.question_enc, l.status, l.notes_enc, l.assigned_to, \
     l.created_at, l.updated_at, l.phone_enc, l.phone_confirmed_at \
     FROM leads l LEFT JOIN conversations c ON c.id = l.conversation_id";

type Row = (
    Uuid,
    Option<Uuid>,
    Option<String>,
    Option<Vec<u8>>,
    String,
    Vec<u8>,
    Option<Vec<u8>>,
    String,
    Option<Vec<u8>>,
    String,
    Option<Vec<u8>>,
    Option<Uuid>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<Vec<u8>>,
    Option<DateTime<Utc>>,
);

fn decrypt(
    keys: &KeyRing,
    column: &'static str,
    id: Uuid,
    ct: Option<&[u8]>,
) -> Result<Option<Pii<String>>> {
    ct.map(|ct| Ok(Pii::new(keys.decrypt_str(field("leads", column, id), ct)?)))
        .transpose()
}

fn from_row(keys: &KeyRing, r: Row) -> Result<LeadRow> {
    let (id, conversation, provider, sender_enc, kind, name, detail, language, question) =
        (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
    let sender = match (conversation, &sender_enc) {
        (Some(c), Some(ct)) => Some(Pii::new(
            keys.decrypt_str(field("conversations", "sender_enc", c), ct)?,
        )),
        _ => None,
    };
    Ok(LeadRow {
        id,
        conversation,
        provider: provider.map(|p| p.parse()).transpose().map_err(corrupt)?,
        sender,
        kind,
        name: decrypt(keys, "name_enc", id, Some(&name))?
            .ok_or_else(|| corrupt("lead without a name"))?,
        detail: decrypt(keys, "detail_enc", id, detail.as_deref())?
            .unwrap_or_else(|| Pii::new(String::new())),
        language,
        question: decrypt(keys, "question_enc", id, question.as_deref())?,
        status: r.9,
        notes: decrypt(keys, "notes_enc", id, r.10.as_deref())?,
        assigned_to: r.11.map(StaffId),
        created_at: r.12,
        updated_at: r.13,
        phone: decrypt(keys, "phone_enc", id, r.14.as_deref())?,
        phone_confirmed_at: r.15,
    })
}

/// Stores a lead with its activity entry and queues the office's notice (the
/// conversation step's transaction).
pub(super) async fn insert(
    tx: &mut Tx,
    keys: &KeyRing,
    lead: &NewLead,
    activity: &ActivityEntry,
) -> Result<()> {
    let enc = |column: &'static str, text: &str| {
        keys.encrypt(field("leads", column, lead.id), text.as_bytes())
    };
    let question = lead
        .question
        .as_ref()
        .map(|q| enc("question_enc", q.expose()))
        .transpose()?;
    let phone = lead
        .phone
        .as_ref()
        .map(|p| enc("phone_enc", p.expose()))
        .transpose()?;
    db::query(
        "INSERT INTO leads (id, conversation_id, kind, name_enc, detail_enc, language, \
         question_enc, status, created_at, updated_at, phone_enc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $8, $9)",
    )
    .bind(lead.id)
    .bind(lead.conversation)
    .bind(&lead.kind)
    .bind(enc("name_enc", lead.name.expose())?)
    .bind(enc("detail_enc", lead.detail.expose())?)
    .bind(lead.language.as_str())
    .bind(question)
    .bind(lead.at)
    .bind(phone)
    .execute(&mut **tx)
    .await?;
    insert_job(
        tx,
        &crate::domain::job::lead_notice(lead.id, lead.at),
        lead.at,
    )
    .await?;
    log(tx, activity).await
}

/// The answer of the lead's number's owner (see `FlowTx::confirm_lead_phone`).
pub(super) async fn confirm_phone(
    tx: &mut Tx,
    keys: &KeyRing,
    lead: Uuid,
    sender_digits: &str,
    confirmed: bool,
    activity: &ActivityEntry,
) -> Result<bool> {
    let row: Option<(Option<Vec<u8>>,)> = db::query_as("SELECT phone_enc FROM leads WHERE id = $1")
        .bind(lead)
        .fetch_optional(&mut **tx)
        .await?;
    let Some((Some(ct),)) = row else {
        return Ok(false);
    };
    let phone = keys.decrypt_str(field("leads", "phone_enc", lead), &ct)?;
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let sender: String = sender_digits.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits != sender {
        return Ok(false);
    }
    let sql = if confirmed {
        "UPDATE leads SET phone_confirmed_at = $2, updated_at = $2 WHERE id = $1"
    } else {
        "UPDATE leads SET phone_enc = NULL, phone_confirmed_at = NULL, updated_at = $2 WHERE id = $1"
    };
    db::query(sql)
        .bind(lead)
        .bind(activity.at)
        .execute(&mut **tx)
        .await?;
    log(tx, activity).await?;
    Ok(true)
}

async fn one(tx: &mut Tx, keys: &KeyRing, id: Uuid) -> Result<Option<LeadRow>> {
    let row: Option<Row> = db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} WHERE l.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| from_row(keys, r)).transpose()
}

#[async_trait::async_trait]
impl LeadStore for SchoolStore {
    async fn leads(&self, status: Option<&str>, limit: i64) -> Result<Vec<LeadRow>> {
        let rows: Vec<Row> = self
            .read(async |tx| {
                Ok(db::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLS} WHERE ($1 IS NULL OR l.status = $1) \
                     ORDER BY l.updated_at DESC, l.id DESC LIMIT $2"
                )))
                .bind(status)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?)
            })
            .await?;
        rows.into_iter().map(|r| from_row(&self.keys, r)).collect()
    }

    async fn lead(&self, id: Uuid) -> Result<Option<LeadRow>> {
        self.read(async |tx| one(tx, &self.keys, id).await).await
    }

    async fn update_lead(
        &self,
        id: Uuid,
        change: &LeadChange,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let notes = change
            .notes
            .as_ref()
            .map(|n| {
                self.keys
                    .encrypt(field("leads", "notes_enc", id), n.expose().as_bytes())
            })
            .transpose()?;
        let assign = change.assigned_to.map(|a| a.map(|s| s.0));
        self.write(async |tx| {
            let done = db::query(
                "UPDATE leads SET status = COALESCE($2, status), \
                 notes_enc = CASE WHEN $3 THEN $4 ELSE notes_enc END, \
                 assigned_to = CASE WHEN $5 THEN $6 ELSE assigned_to END, updated_at = $7 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(change.status.as_deref())
            .bind(notes.is_some())
            .bind(notes.as_deref())
            .bind(assign.is_some())
            .bind(assign.flatten())
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected()
                > 0;
            if done {
                log(tx, activity).await?;
            }
            Ok(done)
        })
        .await
    }

    async fn purge_enquiries(
        &self,
        cutoff: DateTime<Utc>,
        activity: &ActivityEntry,
    ) -> Result<(u64, u64)> {
        self.write(async |tx| {
            let leads = db::query("DELETE FROM leads WHERE updated_at < $1")
                .bind(cutoff)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            let old: Vec<(Uuid,)> = db::query_as(
                "SELECT c.id FROM conversations c WHERE c.provider = 'web' \
                 AND COALESCE(c.last_inbound_at, c.created_at) < $1 \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.conversation_id = c.id AND o.created_at >= $1) \
                 AND NOT EXISTS (SELECT 1 FROM leave_requests r WHERE r.conversation_id = c.id) \
                 AND NOT EXISTS (SELECT 1 FROM complaints k WHERE k.conversation_id = c.id) \
                 AND NOT EXISTS (SELECT 1 FROM face_sessions f WHERE f.conversation_id = c.id)",
            )
            .bind(cutoff)
            .fetch_all(&mut **tx)
            .await?;
            for (c,) in &old {
                for sql in [
                    "UPDATE leads SET conversation_id = NULL WHERE conversation_id = $1",
                    "DELETE FROM media WHERE inbound_event_id IN \
                     (SELECT id FROM inbound_events WHERE conversation_id = $1)",
                    "DELETE FROM inbound_events WHERE conversation_id = $1",
                    "DELETE FROM outbox WHERE conversation_id = $1",
                    "DELETE FROM flow_timers WHERE conversation_id = $1",
                    "DELETE FROM login_failures WHERE conversation_id = $1",
                    "DELETE FROM jobs WHERE conversation_id = $1",
                    "DELETE FROM conversations WHERE id = $1",
                ] {
                    db::query(sql).bind(*c).execute(&mut **tx).await?;
                }
            }
            let conversations = old.len() as u64;
            if leads > 0 || conversations > 0 {
                let mut entry = activity.clone();
                entry.details = serde_json::json!({
                    "leads": leads,
                    "web_conversations": conversations,
                    "cutoff": cutoff.to_rfc3339(),
                });
                log(tx, &entry).await?;
            }
            Ok((leads, conversations))
        })
        .await
    }

    async fn lead_counts(&self) -> Result<HashMap<String, i64>> {
        let rows: Vec<(String, i64)> = self
            .read_all(db::query_as(
                "SELECT status, COUNT(*) FROM leads GROUP BY status",
            ))
            .await?;
        Ok(rows.into_iter().collect())
    }
}
