//! Data-subject requests and the erasure (issue 19), mapped from DPA §11.2 to our
//! tables and extended so that nothing identifies the person afterwards. The erasure
//! is one transaction:
//!
//! * **Deleted:** access codes; contact fields (phone, CNIC, address) and the blind
//!   index of the phone; channel identities (chat bindings); their conversations with
//!   the session, inbound payloads, media (attachments included), delivery reports,
//!   outbox rows (pending and sent), timers, login failures and jobs; leads taken in
//!   their conversations or carrying their number; with the biometric scope, face
//!   consent and samples of their children.
//! * **Anonymised:** the guardian becomes "Deleted contact", inactive, reason
//!   `erasure_request`; complaint texts and thread messages, leave reasons and
//!   decisions, consent notes and satisfaction comments keep their content with the
//!   person's identifiers replaced by the redactor's placeholders (`redact::erase`),
//!   and the author of their own thread messages removed; activity entries about them
//!   or mentioning them likewise.
//! * **Detached but kept:** complaints, leave requests and consent answers stay the
//!   school's, pointing at the anonymised record; the links to their children are
//!   removed (a later roster import links the student to a guardian again).
//! * **Housekeeping:** their open complaints closed (reason `contact_erased`), each
//!   logged as done by the approving administrator.
//! * One `privacy_erasure` entry (the original name, the approver, the counts), and the
//!   request completed with who and when; the person's other open requests closed.
//!
//! A staff member's erasure is the same, with their sign-in (sessions, recovery codes,
//! failed sign-ins, password links, class assignments) deleted, the account anonymised
//! (no email, phone, password or second factor), their replies' author removed, and
//! their email or name where it was written as who did something replaced. A
//! conversation a photo-attendance session points at is emptied instead of deleted.

use crate::domain::activity::ActivityEntry;
use crate::domain::roster::ContactRef;
use crate::domain::Pii;
use crate::redact::erase::{Eraser, Person};
use crate::store::crypto::KeyRing;
use crate::store::db::{self, Tx};
use crate::store::{
    DataSection, ErasureDone, ErasureScope, NewPrivacyRequest, PrivacyRequest, PrivacyStore,
    Result, RetentionPolicy, StoreError,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::{corrupt, field, insert_job, log, SchoolStore};

/// The name an erased person's record keeps.
pub const DELETED_CONTACT: &str = "Deleted contact";

const COLS: &str = "id, kind, contact_kind, contact_id, name_enc, source, identity_check_enc, \
     requested_by, requested_at, due_at, status, scope, decided_by, decided_at, \
     completed_at, error, result FROM privacy_requests";

/// A request row as selected by [`COLS`] (name still encrypted).
struct Row(PrivacyRequest, Vec<u8>, Vec<u8>);

impl db::FromRow for Row {
    fn from_row(r: &db::Row) -> sqlx::Result<Self> {
        let kind: String = r.get(2)?;
        let contact: Uuid = r.get(3)?;
        let scope: Option<String> = r.get(11)?;
        let result: Option<String> = r.get(16)?;
        Ok(Row(
            PrivacyRequest {
                id: r.get(0)?,
                kind: r.get(1)?,
                contact: ContactRef::from_parts(&kind, contact)
                    .ok_or_else(|| sqlx::Error::Decode("contact kind".into()))?,
                name: Pii::new(String::new()),
                source: r.get(5)?,
                identity_check: Pii::new(String::new()),
                requested_by: r.get(7)?,
                requested_at: r.get(8)?,
                due_at: r.get(9)?,
                status: r.get(10)?,
                scope: scope.as_deref().and_then(ErasureScope::parse),
                decided_by: r.get(12)?,
                decided_at: r.get(13)?,
                completed_at: r.get(14)?,
                error: r.get(15)?,
                result: result.and_then(|s| serde_json::from_str(&s).ok()),
            },
            r.get(4)?,
            r.get(6)?,
        ))
    }
}

fn from_row(keys: &KeyRing, Row(mut request, name, check): Row) -> Result<PrivacyRequest> {
    request.name =
        Pii::new(keys.decrypt_str(field("privacy_requests", "name_enc", request.id), &name)?);
    request.identity_check = Pii::new(keys.decrypt_str(
        field("privacy_requests", "identity_check_enc", request.id),
        &check,
    )?);
    Ok(request)
}

async fn one(tx: &mut Tx, keys: &KeyRing, id: Uuid) -> Result<Option<PrivacyRequest>> {
    let row: Option<Row> =
        db::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|r| from_row(keys, r)).transpose()
}

/// The contact's name as it stands (a request keeps it).
async fn contact_name(tx: &mut Tx, contact: ContactRef) -> Result<Option<String>> {
    let sql = match contact {
        ContactRef::Guardian(_) => "SELECT full_name FROM guardians WHERE id = $1",
        ContactRef::Staff(_) => "SELECT full_name FROM staff_users WHERE id = $1",
    };
    let row: Option<(String,)> = db::query_as(sql)
        .bind(contact.uuid())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| r.0))
}

/// Records a request in `tx` (the conversation step's, or the admin's own), unless
/// the same person has one of the same kind open: then that one.
pub(super) async fn insert(
    tx: &mut Tx,
    keys: &KeyRing,
    r: &NewPrivacyRequest,
    activity: &ActivityEntry,
) -> Result<PrivacyRequest> {
    let open: Option<(Uuid,)> = db::query_as(
        "SELECT id FROM privacy_requests WHERE contact_kind = $1 AND contact_id = $2 \
         AND kind = $3 AND status IN ('pending', 'failed') ORDER BY requested_at LIMIT 1",
    )
    .bind(r.contact.kind())
    .bind(r.contact.uuid())
    .bind(r.kind.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id,)) = open {
        return one(tx, keys, id)
            .await?
            .ok_or_else(|| corrupt("request vanished"));
    }
    let name = contact_name(tx, r.contact)
        .await?
        .ok_or_else(|| StoreError::Conflict("no such person".into()))?;
    db::query(
        "INSERT INTO privacy_requests (id, kind, contact_kind, contact_id, name_enc, source, \
         identity_check_enc, requested_by, requested_at, due_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending')",
    )
    .bind(r.id)
    .bind(r.kind.as_str())
    .bind(r.contact.kind())
    .bind(r.contact.uuid())
    .bind(keys.encrypt_str(field("privacy_requests", "name_enc", r.id), &name)?)
    .bind(r.source)
    .bind(keys.encrypt_str(
        field("privacy_requests", "identity_check_enc", r.id),
        r.identity_check.expose(),
    )?)
    .bind(&r.requested_by)
    .bind(r.at)
    .bind(r.due_at)
    .execute(&mut **tx)
    .await?;
    insert_job(tx, &crate::domain::job::privacy_notice(r.id, r.at), r.at).await?;
    log(tx, activity).await?;
    one(tx, keys, r.id)
        .await?
        .ok_or_else(|| corrupt("request not stored"))
}

/// Adds to a count.
fn add(counts: &mut BTreeMap<&'static str, u64>, what: &'static str, n: u64) {
    *counts.entry(what).or_insert(0) += n;
}

/// Runs one statement with one id bound; rows affected.
async fn run(tx: &mut Tx, sql: &'static str, id: Uuid) -> Result<u64> {
    Ok(db::query(sql)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Rewrites encrypted text columns of rows through the eraser.
async fn scrub_column(
    tx: &mut Tx,
    keys: &KeyRing,
    eraser: &Eraser,
    table: &'static str,
    column: &'static str,
    ids: &[Uuid],
    authored: bool,
) -> Result<u64> {
    let mut changed = 0;
    for id in ids {
        let row: Option<(Option<Vec<u8>>,)> = db::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {column} FROM {table} WHERE id = $1"
        )))
        .bind(*id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((Some(ct),)) = row else { continue };
        let f = field(table, column, *id);
        let text = keys.decrypt_str(f, &ct)?;
        let scrubbed = eraser.scrub(&text, authored);
        if scrubbed != text {
            db::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {column} = $1 WHERE id = $2"
            )))
            .bind(keys.encrypt_str(f, &scrubbed)?)
            .bind(*id)
            .execute(&mut **tx)
            .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

async fn ids(tx: &mut Tx, sql: &'static str, id: Uuid) -> Result<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = db::query_as(sql).bind(id).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Who the guardian is, as known before the erasure.
async fn guardian_person(tx: &mut Tx, keys: &KeyRing, g: Uuid) -> Result<Person> {
    type G = (
        String,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        bool,
    );
    let row: Option<G> = db::query_as(
        "SELECT full_name, phone_enc, cnic_enc, address_enc, active FROM guardians WHERE id = $1",
    )
    .bind(g)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((name, phone, cnic, address, _active)) = row else {
        return Err(StoreError::Conflict(
            "the person is not on the roster".into(),
        ));
    };
    let dec = |column: &'static str, ct: Option<Vec<u8>>| -> Result<Option<String>> {
        ct.map(|ct| keys.decrypt_str(field("guardians", column, g), &ct))
            .transpose()
            .map_err(Into::into)
    };
    Ok(Person {
        name,
        phones: dec("phone_enc", phone)?.into_iter().collect(),
        national_id: dec("cnic_enc", cnic)?,
        email: None,
        address: dec("address_enc", address)?,
        chat_ids: Vec::new(),
    })
}

/// Who the staff member is, as known before the erasure.
async fn staff_person(tx: &mut Tx, keys: &KeyRing, id: Uuid) -> Result<Person> {
    let row: Option<(String, String, Option<Vec<u8>>)> =
        db::query_as("SELECT full_name, email, phone_enc FROM staff_users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((name, email, phone)) = row else {
        return Err(StoreError::Conflict("no such staff member".into()));
    };
    let phone = phone
        .map(|ct| keys.decrypt_str(field("staff_users", "phone_enc", id), &ct))
        .transpose()?;
    Ok(Person {
        name,
        phones: phone.into_iter().collect(),
        national_id: None,
        email: Some(email),
        address: None,
        chat_ids: Vec::new(),
    })
}

/// The person's conversations: bound to them; or unbound and where their requests
/// were made, where they acted (a chat unlinked since keeps their messages), or opened
/// to their number by the school (notices, staff-started flows), found by the blind
/// index of the number on each channel. A conversation bound to someone else (a shared
/// family phone, a parent who is also staff) is that person's, not erased. Their
/// records are unlinked from every chat. (id, sender ciphertext).
async fn their_conversations(
    tx: &mut Tx,
    keys: &KeyRing,
    contact: ContactRef,
    phones: &[String],
) -> Result<Vec<(Uuid, Vec<u8>)>> {
    let (kind, who) = (contact.kind(), contact.uuid());
    let subject = format!("{kind}:{who}");
    let bound: Vec<(Uuid,)> = db::query_as(
        "SELECT id FROM conversations WHERE (contact_kind = $2 AND contact_id = $1) \
         OR id IN (SELECT conversation_id FROM complaints WHERE contact_kind = $2 AND contact_id = $1) \
         OR ($2 = 'guardian' AND id IN (SELECT conversation_id FROM leave_requests WHERE guardian_id = $1))",
    )
    .bind(who)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    let mut candidates: Vec<Uuid> = bound.into_iter().map(|r| r.0).collect();
    let acted: Vec<(Option<String>,)> = db::query_as(
        "SELECT subject FROM activity_log WHERE actor = $1 AND subject LIKE 'conversation:%'",
    )
    .bind(&subject)
    .fetch_all(&mut **tx)
    .await?;
    candidates.extend(
        acted
            .into_iter()
            .filter_map(|(s,)| s?.strip_prefix("conversation:")?.parse::<Uuid>().ok()),
    );
    let channels: Vec<(Uuid,)> = db::query_as("SELECT DISTINCT channel_id FROM conversations")
        .fetch_all(&mut **tx)
        .await?;
    for phone in phones {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        // The forms a number is a sender in: WhatsApp's digits, or E.164 with its plus
        // (the terminal chat), as channels write them.
        for form in [digits.clone(), format!("+{digits}")] {
            for (channel,) in &channels {
                let bidx = super::conversation::sender_index(keys, *channel, &form);
                let found: Vec<(Uuid,)> = db::query_as(
                    "SELECT id FROM conversations WHERE channel_id = $1 AND sender_bidx = $2",
                )
                .bind(*channel)
                .bind(bidx)
                .fetch_all(&mut **tx)
                .await?;
                candidates.extend(found.into_iter().map(|r| r.0));
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    let mut conversations = Vec::new();
    for c in candidates {
        let row: Option<(Vec<u8>, Option<String>, Option<Uuid>)> = db::query_as(
            "SELECT sender_enc, contact_kind, contact_id FROM conversations WHERE id = $1",
        )
        .bind(c)
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            Some((sender, None, _)) => conversations.push((c, sender)),
            Some((sender, Some(k), Some(w))) if k == kind && w == who => {
                conversations.push((c, sender))
            }
            _ => {}
        }
    }
    // Their records keep no link to a chat (theirs go; another's stays theirs).
    if let ContactRef::Guardian(_) = contact {
        run(
            tx,
            "UPDATE leave_requests SET conversation_id = NULL WHERE guardian_id = $1",
            who,
        )
        .await?;
    }
    db::query(
        "UPDATE complaints SET conversation_id = NULL WHERE contact_kind = $2 AND contact_id = $1",
    )
    .bind(who)
    .bind(kind)
    .execute(&mut **tx)
    .await?;
    Ok(conversations)
}

/// The rows that hang on one conversation, deleted before it (and anyone's records
/// made in it unlinked).
const PER_CONVERSATION: &[(&str, &str)] = &[
    (
        "delivery_reports",
        "DELETE FROM delivery_reports WHERE provider_message_id IN \
          (SELECT provider_message_id FROM outbox WHERE conversation_id = $1)",
    ),
    (
        "media",
        "DELETE FROM media WHERE inbound_event_id IN \
          (SELECT id FROM inbound_events WHERE conversation_id = $1)",
    ),
    (
        "inbound_events",
        "DELETE FROM inbound_events WHERE conversation_id = $1",
    ),
    ("outbox", "DELETE FROM outbox WHERE conversation_id = $1"),
    (
        "timers",
        "DELETE FROM flow_timers WHERE conversation_id = $1",
    ),
    (
        "login_failures",
        "DELETE FROM login_failures WHERE conversation_id = $1",
    ),
    ("jobs", "DELETE FROM jobs WHERE conversation_id = $1"),
    ("leads", "DELETE FROM leads WHERE conversation_id = $1"),
    (
        "records_unlinked",
        "UPDATE leave_requests SET conversation_id = NULL WHERE conversation_id = $1",
    ),
    (
        "records_unlinked",
        "UPDATE complaints SET conversation_id = NULL WHERE conversation_id = $1",
    ),
];

/// Deletes a conversation and all it holds; one a photo-attendance session points at
/// (a teacher's) keeps its row, emptied: no session, no contact, no sender.
async fn delete_conversation(
    tx: &mut Tx,
    keys: &KeyRing,
    c: Uuid,
    counts: &mut BTreeMap<&'static str, u64>,
) -> Result<()> {
    for (what, sql) in PER_CONVERSATION {
        add(counts, what, run(tx, sql, c).await?);
    }
    let (sessions,): (i64,) =
        db::query_as("SELECT COUNT(*) FROM face_sessions WHERE conversation_id = $1")
            .bind(c)
            .fetch_one(&mut **tx)
            .await?;
    if sessions == 0 {
        add(
            counts,
            "conversations",
            run(tx, "DELETE FROM conversations WHERE id = $1", c).await?,
        );
        return Ok(());
    }
    let blank = keys.encrypt_str(field("conversations", "sender_enc", c), "")?;
    let nobody: [u8; 16] = rand::random();
    db::query(
        "UPDATE conversations SET session_enc = NULL, contact_kind = NULL, contact_id = NULL, \
         sender_enc = $2, sender_bidx = $3, handoff_at = NULL WHERE id = $1",
    )
    .bind(c)
    .bind(blank)
    .bind(nobody.to_vec())
    .execute(&mut **tx)
    .await?;
    add(counts, "conversations_emptied", 1);
    Ok(())
}

/// Activity entries about the person or mentioning them, scrubbed; how many.
async fn scrub_activity(tx: &mut Tx, eraser: &Eraser, subject: &str) -> Result<u64> {
    let mut entries: Vec<(Uuid, String, Option<String>, String)> = db::query_as(
        "SELECT id, actor, subject, CAST(details AS TEXT) FROM activity_log \
         WHERE subject = $1 OR actor = $1",
    )
    .bind(subject)
    .fetch_all(&mut **tx)
    .await?;
    for literal in eraser.literals() {
        let pattern = format!("%{}%", like_escape(literal));
        let more: Vec<(Uuid, String, Option<String>, String)> = db::query_as(
            "SELECT id, actor, subject, CAST(details AS TEXT) FROM activity_log \
             WHERE lower(CAST(details AS TEXT)) LIKE $1 ESCAPE '\\' OR lower(actor) LIKE $1 ESCAPE '\\'",
        )
        .bind(pattern.to_lowercase())
        .fetch_all(&mut **tx)
        .await?;
        entries.extend(more);
    }
    entries.sort_by_key(|e| e.0);
    entries.dedup_by_key(|e| e.0);
    let mut scrubbed = 0;
    for (id, actor, about, details) in entries {
        let value: serde_json::Value = serde_json::from_str(&details)
            .map_err(|e| corrupt(format!("activity details: {e}")))?;
        let about = about.as_deref() == Some(subject) || actor == subject;
        let clean = eraser.scrub_json(&value, about);
        let clean_actor = eraser.scrub(&actor, false);
        if clean != value || clean_actor != actor {
            db::query("UPDATE activity_log SET details = $1, actor = $2 WHERE id = $3")
                .bind(sqlx::types::Json(&clean))
                .bind(clean_actor)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            scrubbed += 1;
        }
    }
    Ok(scrubbed)
}

/// The complaints the person filed: their texts (and the thread's) scrubbed, the
/// author of their own messages removed, the open ones closed as `contact_erased` by
/// the approver (each logged). (complaints, texts scrubbed, closed).
#[allow(clippy::too_many_arguments)]
async fn their_complaints(
    tx: &mut Tx,
    keys: &KeyRing,
    eraser: &Eraser,
    contact: ContactRef,
    request: Uuid,
    approver: &str,
    source: &str,
    now: DateTime<Utc>,
    counts: &mut BTreeMap<&'static str, u64>,
) -> Result<u64> {
    let complaints: Vec<(Uuid,)> =
        db::query_as("SELECT id FROM complaints WHERE contact_kind = $1 AND contact_id = $2")
            .bind(contact.kind())
            .bind(contact.uuid())
            .fetch_all(&mut **tx)
            .await?;
    let complaints: Vec<Uuid> = complaints.into_iter().map(|r| r.0).collect();
    let mut scrubbed = 0;
    for (column, authored) in [
        ("text_enc", true),
        ("summary_enc", false),
        ("reply_enc", false),
        ("close_reason_enc", false),
    ] {
        scrubbed += scrub_column(
            tx,
            keys,
            eraser,
            "complaints",
            column,
            &complaints,
            authored,
        )
        .await?;
    }
    for k in &complaints {
        let own = ids(
            tx,
            "SELECT id FROM complaint_messages WHERE complaint_id = $1 AND kind = 'person'",
            *k,
        )
        .await?;
        let others = ids(
            tx,
            "SELECT id FROM complaint_messages WHERE complaint_id = $1 AND kind <> 'person'",
            *k,
        )
        .await?;
        scrubbed += scrub_column(
            tx,
            keys,
            eraser,
            "complaint_messages",
            "body_enc",
            &own,
            true,
        )
        .await?;
        scrubbed += scrub_column(
            tx,
            keys,
            eraser,
            "complaint_messages",
            "body_enc",
            &others,
            false,
        )
        .await?;
        add(counts, "messages_author_removed", run(tx,
            "UPDATE complaint_messages SET author = NULL WHERE complaint_id = $1 AND kind = 'person'", *k).await?);
        let csat = ids(
            tx,
            "SELECT id FROM complaint_csat WHERE complaint_id = $1",
            *k,
        )
        .await?;
        scrubbed += scrub_column(
            tx,
            keys,
            eraser,
            "complaint_csat",
            "comment_enc",
            &csat,
            true,
        )
        .await?;
    }
    add(counts, "complaints_detached", complaints.len() as u64);
    let open: Vec<(Uuid,)> = db::query_as(
        "SELECT id FROM complaints WHERE contact_kind = $1 AND contact_id = $2 AND status <> 'closed'",
    )
    .bind(contact.kind())
    .bind(contact.uuid())
    .fetch_all(&mut **tx)
    .await?;
    for (k,) in &open {
        db::query(
            "UPDATE complaints SET status = 'closed', closed_at = $2, closed_by = $3, \
             close_reason_enc = $4, closings = closings + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(*k)
        .bind(now)
        .bind(approver)
        .bind(keys.encrypt_str(
            field("complaints", "close_reason_enc", *k),
            "contact_erased",
        )?)
        .execute(&mut **tx)
        .await?;
        let mut e = ActivityEntry::now(
            approver,
            "complaint.closed",
            Some(format!("complaint:{k}")),
            source,
            serde_json::json!({ "reason": "contact_erased", "privacy_request": request }),
        );
        e.at = now;
        log(tx, &e).await?;
    }
    add(counts, "complaints_closed", open.len() as u64);
    Ok(scrubbed)
}

/// The erasure (see the module's documentation), in `tx`, of a guardian or a staff
/// member.
async fn erase_in(
    tx: &mut Tx,
    keys: &KeyRing,
    request: &PrivacyRequest,
    scope: ErasureScope,
    approver: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<ErasureDone> {
    let contact = request.contact;
    let who = contact.uuid();
    let subject = format!("{}:{who}", contact.kind());
    let mut person = match contact {
        ContactRef::Guardian(_) => guardian_person(tx, keys, who).await?,
        ContactRef::Staff(_) => staff_person(tx, keys, who).await?,
    };
    let original_name = person.name.clone();
    let mut counts = BTreeMap::new();
    let conversations = their_conversations(tx, keys, contact, &person.phones).await?;
    for (c, sender) in &conversations {
        person
            .chat_ids
            .push(keys.decrypt_str(field("conversations", "sender_enc", *c), sender)?);
    }
    let identities: Vec<(Uuid, Vec<u8>)> = db::query_as(
        "SELECT id, external_id_enc FROM channel_identities WHERE contact_kind = $1 AND contact_id = $2",
    )
    .bind(contact.kind())
    .bind(who)
    .fetch_all(&mut **tx)
    .await?;
    for (i, ext) in &identities {
        person
            .chat_ids
            .push(keys.decrypt_str(field("channel_identities", "external_id_enc", *i), ext)?);
    }
    person.chat_ids.sort();
    person.chat_ids.dedup();
    person.chat_ids.retain(|c| !c.is_empty());
    let eraser = Eraser::new(person);

    // Deleted: their logins, their conversations with all they hold.
    for (what, sql) in [
        (
            "access_codes",
            "DELETE FROM access_codes WHERE contact_kind = $2 AND contact_id = $1",
        ),
        (
            "channel_identities",
            "DELETE FROM channel_identities WHERE contact_kind = $2 AND contact_id = $1",
        ),
    ] {
        let n = db::query(sql)
            .bind(who)
            .bind(contact.kind())
            .execute(&mut **tx)
            .await?
            .rows_affected();
        add(&mut counts, what, n);
    }
    for (c, _) in &conversations {
        delete_conversation(tx, keys, *c, &mut counts).await?;
    }
    // A lead elsewhere (the web chat) that carries their number.
    let leads: Vec<(Uuid, Vec<u8>)> =
        db::query_as("SELECT id, phone_enc FROM leads WHERE phone_enc IS NOT NULL")
            .fetch_all(&mut **tx)
            .await?;
    for (id, ct) in leads {
        let phone = keys.decrypt_str(field("leads", "phone_enc", id), &ct)?;
        if eraser.mentions(&phone) {
            add(
                &mut counts,
                "leads",
                run(tx, "DELETE FROM leads WHERE id = $1", id).await?,
            );
        }
    }

    let mut scrubbed = their_complaints(
        tx,
        keys,
        &eraser,
        contact,
        request.id,
        approver,
        source,
        now,
        &mut counts,
    )
    .await?;
    match contact {
        ContactRef::Guardian(_) => {
            let children = ids(
                tx,
                "SELECT student_id FROM guardian_students WHERE guardian_id = $1",
                who,
            )
            .await?;
            if scope == ErasureScope::GuardianBiometric {
                for s in &children {
                    add(
                        &mut counts,
                        "face_samples",
                        run(tx, "DELETE FROM face_samples WHERE student_id = $1", *s).await?,
                    );
                    add(
                        &mut counts,
                        "face_consents",
                        run(tx, "DELETE FROM face_consents WHERE student_id = $1", *s).await?,
                    );
                }
            }
            // Detached: the student records stay, without the link.
            add(
                &mut counts,
                "children_detached",
                run(
                    tx,
                    "DELETE FROM guardian_students WHERE guardian_id = $1",
                    who,
                )
                .await?,
            );
            // Anonymised.
            db::query(
                "UPDATE guardians SET full_name = $2, phone_enc = NULL, phone_bidx = NULL, \
                 cnic_enc = NULL, address_enc = NULL, active = FALSE, \
                 deactivated_reason = 'erasure_request', updated_at = $3 WHERE id = $1",
            )
            .bind(who)
            .bind(DELETED_CONTACT)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let leave = ids(
                tx,
                "SELECT id FROM leave_requests WHERE guardian_id = $1",
                who,
            )
            .await?;
            scrubbed += scrub_column(
                tx,
                keys,
                &eraser,
                "leave_requests",
                "reason_enc",
                &leave,
                true,
            )
            .await?;
            scrubbed += scrub_column(
                tx,
                keys,
                &eraser,
                "leave_requests",
                "decision_note_enc",
                &leave,
                false,
            )
            .await?;
            let consents = ids(
                tx,
                "SELECT id FROM consent_requests WHERE guardian_id = $1",
                who,
            )
            .await?;
            scrubbed += scrub_column(
                tx,
                keys,
                &eraser,
                "consent_requests",
                "note_enc",
                &consents,
                true,
            )
            .await?;
            add(&mut counts, "leave_requests_detached", leave.len() as u64);
            add(
                &mut counts,
                "consent_answers_detached",
                consents.len() as u64,
            );
        }
        ContactRef::Staff(_) => {
            // Their sign-in: sessions, recovery codes, failures, password links, classes.
            for (what, sql) in [
                (
                    "admin_sessions",
                    "DELETE FROM admin_sessions WHERE staff_id = $1",
                ),
                (
                    "recovery_codes",
                    "DELETE FROM staff_recovery_codes WHERE staff_id = $1",
                ),
                (
                    "staff_login_failures",
                    "DELETE FROM staff_login_failures WHERE staff_id = $1",
                ),
                (
                    "password_resets",
                    "DELETE FROM password_resets WHERE staff_id = $1",
                ),
                (
                    "classes_unassigned",
                    "DELETE FROM staff_classes WHERE staff_id = $1",
                ),
            ] {
                add(&mut counts, what, run(tx, sql, who).await?);
            }
            // Their replies in complaint threads keep their content, without the author.
            let author = format!("staff:{who}");
            let replies: Vec<(Uuid,)> =
                db::query_as("SELECT id FROM complaint_messages WHERE author = $1")
                    .bind(&author)
                    .fetch_all(&mut **tx)
                    .await?;
            let replies: Vec<Uuid> = replies.into_iter().map(|r| r.0).collect();
            scrubbed += scrub_column(
                tx,
                keys,
                &eraser,
                "complaint_messages",
                "body_enc",
                &replies,
                true,
            )
            .await?;
            add(
                &mut counts,
                "messages_author_removed",
                db::query("UPDATE complaint_messages SET author = NULL WHERE author = $1")
                    .bind(&author)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            );
            // Where their email or name was written as who did something.
            let email = eraser.person().email.clone().unwrap_or_default();
            for (table, column) in [
                ("face_consents", "confirmed_by"),
                ("face_samples", "created_by"),
                ("consent_forms", "created_by"),
                ("leave_requests", "decided_by"),
                ("complaints", "closed_by"),
                ("privacy_requests", "requested_by"),
                ("privacy_requests", "decided_by"),
            ] {
                let n = db::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {column} = $1 WHERE lower({column}) = lower($2) OR {column} = $3"
                )))
                .bind(DELETED_CONTACT)
                .bind(&email)
                .bind(&original_name)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                add(&mut counts, "names_replaced", n);
            }
            // Anonymised: no email, phone, password or second factor left.
            db::query(
                "UPDATE staff_users SET full_name = $2, email = $3, phone_enc = NULL, phone_bidx = NULL, \
                 password_hash = NULL, totp_secret_enc = NULL, totp_enabled_at = NULL, \
                 totp_last_step = NULL, active = FALSE, deactivated_reason = 'erasure_request' \
                 WHERE id = $1",
            )
            .bind(who)
            .bind(DELETED_CONTACT)
            .bind(format!("deleted-{}@deleted.invalid", who.simple()))
            .execute(&mut **tx)
            .await?;
        }
    }
    add(&mut counts, "texts_scrubbed", scrubbed);
    add(
        &mut counts,
        "activity_entries_scrubbed",
        scrub_activity(tx, &eraser, &subject).await?,
    );

    // The audit entry and the request.
    let counts_json: serde_json::Value = counts
        .iter()
        .map(|(k, v)| ((*k).to_string(), serde_json::json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let mut e = ActivityEntry::now(
        approver,
        "privacy_erasure",
        Some(format!("privacy_request:{}", request.id)),
        source,
        serde_json::json!({
            "name": original_name,
            "contact": subject,
            "scope": scope.as_str(),
            "approved_by": approver,
            "counts": counts_json,
        }),
    );
    e.at = now;
    log(tx, &e).await?;
    // Their other open requests (a copy) cannot be answered any more.
    let closed = db::query(
        "UPDATE privacy_requests SET status = 'rejected', decided_by = $3, decided_at = $4, \
         error = 'the person was erased' WHERE contact_kind = $5 AND contact_id = $1 \
         AND id <> $2 AND status IN ('pending', 'failed')",
    )
    .bind(who)
    .bind(request.id)
    .bind(approver)
    .bind(now)
    .bind(contact.kind())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    add(&mut counts, "other_requests_closed", closed);
    let done = db::query(
        "UPDATE privacy_requests SET status = 'completed', scope = $2, decided_by = $3, \
         decided_at = $4, completed_at = $4, error = NULL, result = $5 \
         WHERE id = $1 AND status IN ('pending', 'failed')",
    )
    .bind(request.id)
    .bind(scope.as_str())
    .bind(approver)
    .bind(now)
    .bind(counts_json.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done != 1 {
        return Err(StoreError::Conflict(
            "the request was decided meanwhile".into(),
        ));
    }
    let chat_ids = eraser
        .person()
        .chat_ids
        .iter()
        .chain(eraser.person().phones.iter())
        .map(|s| Pii::new(s.clone()))
        .collect();
    Ok(ErasureDone { counts, chat_ids })
}

/// `%`, `_` and `\` taken literally in a LIKE pattern (with `ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[async_trait::async_trait]
impl PrivacyStore for SchoolStore {
    async fn record_privacy_request(
        &self,
        request: &NewPrivacyRequest,
        activity: &ActivityEntry,
    ) -> Result<PrivacyRequest> {
        self.write(async |tx| insert(tx, &self.keys, request, activity).await)
            .await
    }

    async fn privacy_requests(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PrivacyRequest>> {
        let rows: Vec<Row> = match status {
            Some(s) => {
                self.read_all(
                    db::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} WHERE status = $1 ORDER BY requested_at DESC LIMIT $2"
                    )))
                    .bind(s.to_string())
                    .bind(limit),
                )
                .await?
            }
            None => {
                self.read_all(
                    db::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} ORDER BY requested_at DESC LIMIT $1"
                    )))
                    .bind(limit),
                )
                .await?
            }
        };
        rows.into_iter().map(|r| from_row(&self.keys, r)).collect()
    }

    async fn privacy_request(&self, id: Uuid) -> Result<Option<PrivacyRequest>> {
        self.read(async |tx| one(tx, &self.keys, id).await).await
    }

    async fn open_privacy_requests(&self) -> Result<i64> {
        let row: Option<(i64,)> = self
            .read_optional(db::query_as(
                "SELECT COUNT(*) FROM privacy_requests WHERE status IN ('pending', 'failed')",
            ))
            .await?;
        Ok(row.map(|r| r.0).unwrap_or(0))
    }

    async fn reject_privacy_request(
        &self,
        id: Uuid,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.decide(id, "rejected", activity, now).await
    }

    async fn complete_privacy_request(
        &self,
        id: Uuid,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.decide(id, "completed", activity, now).await
    }

    async fn erase_contact(
        &self,
        request: Uuid,
        scope: ErasureScope,
        approver: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ErasureDone> {
        self.write(async |tx| {
            let r = one(tx, &self.keys, request)
                .await?
                .ok_or_else(|| StoreError::Conflict("no such request".into()))?;
            if r.kind != "erasure" {
                return Err(StoreError::Conflict("not an erasure request".into()));
            }
            if !matches!(r.status.as_str(), "pending" | "failed") {
                return Err(StoreError::Conflict(format!("the request is {}", r.status)));
            }
            erase_in(tx, &self.keys, &r, scope, approver, source, now).await
        })
        .await
    }

    async fn privacy_request_failed(
        &self,
        id: Uuid,
        error: &str,
        approver: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(async |tx| {
            let changed = db::query(
                "UPDATE privacy_requests SET status = 'failed', error = $2, decided_by = $3, \
                 decided_at = $4 WHERE id = $1 AND status IN ('pending', 'failed')",
            )
            .bind(id)
            .bind(error)
            .bind(approver)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if changed == 0 {
                // Decided meanwhile (a second approval): nothing failed.
                return Ok(());
            }
            let mut e = ActivityEntry::now(
                approver,
                "privacy_request.failed",
                Some(format!("privacy_request:{id}")),
                "privacy",
                serde_json::json!({ "error": error }),
            );
            e.at = now;
            log(tx, &e).await
        })
        .await
    }

    async fn checkpoint(&self) -> Result<()> {
        self.db.checkpoint().await
    }

    async fn purge_expired(
        &self,
        policy: &RetentionPolicy,
        activity: &ActivityEntry,
    ) -> Result<BTreeMap<&'static str, u64>> {
        self.write(async |tx| {
            let mut counts = BTreeMap::new();
            let p = policy;
            // (what, statement, the cutoff it takes)
            let steps: [(&'static str, &'static str, DateTime<Utc>); 12] = [
                ("activity_entries",
                 "DELETE FROM activity_log WHERE at < $1 \
                  AND action NOT IN ('privacy_erasure', 'privacy_erasure.files')",
                 p.activity_before),
                ("chat_login_failures", "DELETE FROM login_failures WHERE at < $1", p.security_before),
                ("staff_login_failures", "DELETE FROM staff_login_failures WHERE at < $1", p.security_before),
                ("admin_sessions", "DELETE FROM admin_sessions WHERE expires_at < $1", p.now),
                ("password_resets",
                 "DELETE FROM password_resets WHERE COALESCE(used_at, expires_at) < $1",
                 p.resets_before),
                // Attachments of complaints closed long enough ago.
                ("complaint_attachments",
                 "DELETE FROM media WHERE id IN (SELECT m.id FROM media m \
                  JOIN inbound_events e ON e.id = m.inbound_event_id \
                  JOIN complaint_messages k ON k.media_key = e.provider_key \
                  JOIN complaints c ON c.id = k.complaint_id \
                  WHERE c.status = 'closed' AND c.closed_at < $1)",
                 p.complaint_files_before),
                // Other media, unless a pending leave request or a complaint holds it,
                // or a person's open request for a copy of their data.
                ("media",
                 "DELETE FROM media WHERE id IN (SELECT m.id FROM media m \
                  JOIN inbound_events e ON e.id = m.inbound_event_id \
                  WHERE m.created_at < $1 AND m.state <> 'pending' \
                  AND NOT EXISTS (SELECT 1 FROM leave_requests r \
                      WHERE r.attachment_key = e.provider_key AND r.status = 'pending') \
                  AND NOT EXISTS (SELECT 1 FROM complaint_messages k WHERE k.media_key = e.provider_key) \
                  AND e.conversation_id NOT IN (SELECT c.id FROM conversations c \
                      JOIN privacy_requests q ON q.contact_kind = c.contact_kind AND q.contact_id = c.contact_id \
                      WHERE q.kind = 'access' AND q.status IN ('pending', 'failed')))",
                 p.messages_before),
                // Inbound payloads handled long ago whose media (if any) is gone.
                ("inbound_payloads",
                 "DELETE FROM inbound_events WHERE received_at < $1 AND state <> 'pending' \
                  AND NOT EXISTS (SELECT 1 FROM media m WHERE m.inbound_event_id = inbound_events.id) \
                  AND conversation_id NOT IN (SELECT c.id FROM conversations c \
                      JOIN privacy_requests q ON q.contact_kind = c.contact_kind AND q.contact_id = c.contact_id \
                      WHERE q.kind = 'access' AND q.status IN ('pending', 'failed'))",
                 p.messages_before),
                ("replies",
                 "DELETE FROM outbox WHERE created_at < $1 AND state IN ('sent', 'dead', 'manual') \
                  AND conversation_id NOT IN (SELECT c.id FROM conversations c \
                      JOIN privacy_requests q ON q.contact_kind = c.contact_kind AND q.contact_id = c.contact_id \
                      WHERE q.kind = 'access' AND q.status IN ('pending', 'failed'))",
                 p.messages_before),
                ("delivery_reports", "DELETE FROM delivery_reports WHERE updated_at < $1", p.messages_before),
                ("timers", "DELETE FROM flow_timers WHERE fired_at IS NOT NULL AND fired_at < $1", p.messages_before),
                ("jobs", "DELETE FROM jobs WHERE state IN ('done', 'dead') AND updated_at < $1", p.messages_before),
            ];
            for (what, sql, cutoff) in steps {
                let n = db::query(sql).bind(cutoff).execute(&mut **tx).await?.rows_affected();
                if n > 0 {
                    counts.insert(what, n);
                }
            }
            if !counts.is_empty() {
                let mut e = activity.clone();
                e.details = serde_json::json!({
                    "deleted": counts,
                    "activity_before": p.activity_before.to_rfc3339(),
                    "messages_before": p.messages_before.to_rfc3339(),
                    "complaint_files_before": p.complaint_files_before.to_rfc3339(),
                });
                log(tx, &e).await?;
            }
            Ok(counts)
        })
        .await
    }

    async fn personal_data(&self, contact: ContactRef) -> Result<Vec<DataSection>> {
        self.read(async |tx| personal_data(tx, &self.keys, contact).await)
            .await
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn dec(
    keys: &KeyRing,
    table: &'static str,
    column: &'static str,
    id: Uuid,
    ct: Option<Vec<u8>>,
) -> Result<String> {
    Ok(match ct {
        Some(ct) => keys.decrypt_str(field(table, column, id), &ct)?,
        None => String::new(),
    })
}

/// The access request's copy (see `PrivacyStore::personal_data`).
async fn personal_data(
    tx: &mut Tx,
    keys: &KeyRing,
    contact: ContactRef,
) -> Result<Vec<DataSection>> {
    let (kind, g) = (contact.kind(), contact.uuid());
    let mut out = Vec::new();
    if let ContactRef::Staff(_) = contact {
        type S = (String, String, Option<Vec<u8>>, String, DateTime<Utc>);
        let p: Option<S> = db::query_as(
            "SELECT full_name, email, phone_enc, role, created_at FROM staff_users WHERE id = $1",
        )
        .bind(g)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((name, email, phone, role, created)) = p else {
            return Err(StoreError::Conflict("no such staff member".into()));
        };
        out.push(DataSection {
            name: "profile",
            columns: vec!["name", "email", "phone", "role", "account_since"],
            rows: vec![vec![
                name,
                email,
                dec(keys, "staff_users", "phone_enc", g, phone)?,
                role,
                time(created),
            ]],
        });
        let classes: Vec<(String, String)> = db::query_as(
            "SELECT c.name, c.section FROM staff_classes sc JOIN classes c ON c.id = sc.class_id \
             WHERE sc.staff_id = $1 ORDER BY c.name, c.section",
        )
        .bind(g)
        .fetch_all(&mut **tx)
        .await?;
        out.push(DataSection {
            name: "classes",
            columns: vec!["class", "section"],
            rows: classes.into_iter().map(|r| vec![r.0, r.1]).collect(),
        });
    } else {
        guardian_sections(tx, keys, g, &mut out).await?;
    }
    let logins: Vec<(Uuid, String, Vec<u8>, DateTime<Utc>)> = db::query_as(
        "SELECT id, channel, external_id_enc, created_at FROM channel_identities \
         WHERE contact_kind = $2 AND contact_id = $1 ORDER BY created_at",
    )
    .bind(g)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for (id, channel, ext, at) in logins {
        rows.push(vec![
            channel,
            dec(keys, "channel_identities", "external_id_enc", id, Some(ext))?,
            time(at),
        ]);
    }
    out.push(DataSection {
        name: "chat_logins",
        columns: vec!["channel", "chat_id", "since"],
        rows,
    });

    let conversations: Vec<(Uuid, String)> = db::query_as(
        "SELECT id, provider FROM conversations WHERE contact_kind = $2 AND contact_id = $1",
    )
    .bind(g)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for (c, provider) in &conversations {
        let inbound: Vec<(Uuid, Vec<u8>, DateTime<Utc>)> = db::query_as(
            "SELECT id, payload_enc, received_at FROM inbound_events WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(*c)
        .fetch_all(&mut **tx)
        .await?;
        for (id, ct, at) in inbound {
            let plain = keys.decrypt(field("inbound_events", "payload_enc", id), &ct)?;
            let e: crate::domain::message::InboundEvent =
                serde_json::from_slice(&plain).map_err(corrupt)?;
            if e.body.is_status() {
                continue;
            }
            let body = serde_json::to_string(&e.body).map_err(corrupt)?;
            rows.push(vec![time(at), provider.clone(), "from you".into(), body]);
        }
        let outbound: Vec<(Uuid, Vec<u8>, DateTime<Utc>)> = db::query_as(
            "SELECT id, payload_enc, created_at FROM outbox WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(*c)
        .fetch_all(&mut **tx)
        .await?;
        for (id, ct, at) in outbound {
            let plain = keys.decrypt(field("outbox", "payload_enc", id), &ct)?;
            let m: crate::domain::message::OutboundMessage =
                serde_json::from_slice(&plain).map_err(corrupt)?;
            if let crate::domain::message::OutboundMessage::CallbackAnswer { .. } = m {
                continue;
            }
            rows.push(vec![
                time(at),
                provider.clone(),
                "from the school".into(),
                m.as_numbered_text(),
            ]);
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    out.push(DataSection {
        name: "messages",
        columns: vec!["at", "channel", "direction", "content"],
        rows,
    });

    type L = (
        Uuid,
        String,
        String,
        chrono::NaiveDate,
        chrono::NaiveDate,
        Vec<u8>,
        String,
        Option<Vec<u8>>,
        DateTime<Utc>,
    );
    let leave: Vec<L> = db::query_as(
        "SELECT r.id, s.full_name, r.kind, r.from_date, r.to_date, r.reason_enc, r.status, \
         r.decision_note_enc, r.created_at FROM leave_requests r JOIN students s ON s.id = r.student_id \
         WHERE r.guardian_id = $1 ORDER BY r.created_at",
    )
    .bind(g)
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for (id, child, kind, from, to, reason, status, note, at) in leave {
        rows.push(vec![
            time(at),
            child,
            kind,
            from.to_string(),
            to.to_string(),
            dec(keys, "leave_requests", "reason_enc", id, Some(reason))?,
            status,
            dec(keys, "leave_requests", "decision_note_enc", id, note)?,
        ]);
    }
    out.push(DataSection {
        name: "leave_requests",
        columns: vec![
            "requested_at",
            "child",
            "kind",
            "from",
            "to",
            "reason",
            "status",
            "school_note",
        ],
        rows,
    });

    type C = (
        Uuid,
        String,
        String,
        String,
        Option<Vec<u8>>,
        Option<DateTime<Utc>>,
    );
    let consents: Vec<C> = db::query_as(
        "SELECT r.id, f.title, s.full_name, r.status, r.note_enc, r.answered_at FROM consent_requests r \
         JOIN consent_forms f ON f.id = r.form_id JOIN students s ON s.id = r.student_id \
         WHERE r.guardian_id = $1 ORDER BY r.created_at",
    )
    .bind(g)
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for (id, title, child, status, note, at) in consents {
        rows.push(vec![
            title,
            child,
            status,
            dec(keys, "consent_requests", "note_enc", id, note)?,
            at.map(time).unwrap_or_default(),
        ]);
    }
    out.push(DataSection {
        name: "consent_answers",
        columns: vec!["form", "child", "answer", "note", "answered_at"],
        rows,
    });

    type K = (
        Uuid,
        Option<String>,
        String,
        Option<String>,
        Vec<u8>,
        DateTime<Utc>,
    );
    let complaints: Vec<K> = db::query_as(
        "SELECT id, reference, status, category, text_enc, created_at FROM complaints \
         WHERE contact_kind = $2 AND contact_id = $1 ORDER BY created_at",
    )
    .bind(g)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    let (mut rows, mut thread) = (Vec::new(), Vec::new());
    for (id, reference, status, category, text, at) in complaints {
        let reference = reference.unwrap_or_else(|| super::complaints::legacy_reference(id));
        rows.push(vec![
            reference.clone(),
            time(at),
            status,
            category.unwrap_or_default(),
            dec(keys, "complaints", "text_enc", id, Some(text))?,
        ]);
        type M = (Uuid, String, Option<Vec<u8>>, Option<String>, DateTime<Utc>);
        let messages: Vec<M> = db::query_as(
            "SELECT id, kind, body_enc, media_key, created_at FROM complaint_messages \
             WHERE complaint_id = $1 AND kind <> 'note' ORDER BY created_at",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        for (m, kind, body, media, at) in messages {
            thread.push(vec![
                reference.clone(),
                time(at),
                if kind == "person" {
                    "you".to_string()
                } else {
                    "school".to_string()
                },
                dec(keys, "complaint_messages", "body_enc", m, body)?,
                if media.is_some() {
                    "yes".into()
                } else {
                    String::new()
                },
            ]);
        }
    }
    out.push(DataSection {
        name: "complaints",
        columns: vec!["reference", "filed_at", "status", "category", "text"],
        rows,
    });
    out.push(DataSection {
        name: "complaint_messages",
        columns: vec!["reference", "at", "from", "text", "file"],
        rows: thread,
    });

    let attendance: Vec<(String, chrono::NaiveDate, String, String)> = db::query_as(
        "SELECT s.full_name, a.day, a.status, a.source FROM attendance a \
         JOIN students s ON s.id = a.student_id \
         WHERE a.student_id IN (SELECT student_id FROM guardian_students WHERE guardian_id = $1) \
         ORDER BY a.day, s.full_name",
    )
    .bind(g)
    .fetch_all(&mut **tx)
    .await?;
    out.push(DataSection {
        name: "attendance",
        columns: vec!["child", "day", "status", "source"],
        rows: attendance
            .into_iter()
            .map(|r| vec![r.0, r.1.to_string(), r.2, r.3])
            .collect(),
    });

    let subject = format!("guardian:{g}");
    let entries: Vec<(DateTime<Utc>, String, String, String)> = db::query_as(
        "SELECT at, actor, action, CAST(details AS TEXT) FROM activity_log \
         WHERE subject = $1 OR actor = $1 ORDER BY at",
    )
    .bind(&subject)
    .fetch_all(&mut **tx)
    .await?;
    out.push(DataSection {
        name: "activity",
        columns: vec!["at", "by", "action", "details"],
        rows: entries
            .into_iter()
            .map(|r| vec![time(r.0), r.1, r.2, r.3])
            .collect(),
    });
    let requests: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = db::query_as(
        "SELECT kind, status, requested_at, due_at FROM privacy_requests \
         WHERE contact_kind = $2 AND contact_id = $1 ORDER BY requested_at",
    )
    .bind(g)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    out.push(DataSection {
        name: "privacy_requests",
        columns: vec!["kind", "status", "requested_at", "due_at"],
        rows: requests
            .into_iter()
            .map(|r| vec![r.0, r.1, time(r.2), time(r.3)])
            .collect(),
    });
    if kind == "staff" {
        out.retain(|s| !matches!(s.name, "leave_requests" | "consent_answers" | "attendance"));
    }
    Ok(out)
}

/// A guardian's profile and children.
async fn guardian_sections(
    tx: &mut Tx,
    keys: &KeyRing,
    g: Uuid,
    out: &mut Vec<DataSection>,
) -> Result<()> {
    type P = (
        String,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        String,
        DateTime<Utc>,
    );
    let p: Option<P> = db::query_as(
        "SELECT full_name, phone_enc, cnic_enc, address_enc, preferred_language, created_at \
         FROM guardians WHERE id = $1",
    )
    .bind(g)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((name, phone, cnic, address, language, created)) = p else {
        return Err(StoreError::Conflict(
            "the person is not on the roster".into(),
        ));
    };
    out.push(DataSection {
        name: "profile",
        columns: vec![
            "name",
            "phone",
            "cnic",
            "address",
            "language",
            "on_roster_since",
        ],
        rows: vec![vec![
            name,
            dec(keys, "guardians", "phone_enc", g, phone)?,
            dec(keys, "guardians", "cnic_enc", g, cnic)?,
            dec(keys, "guardians", "address_enc", g, address)?,
            language,
            time(created),
        ]],
    });
    let children: Vec<(String, String, String, String, String)> = db::query_as(
        "SELECT s.admission_no, s.full_name, c.name, c.section, gs.relation FROM guardian_students gs \
         JOIN students s ON s.id = gs.student_id JOIN classes c ON c.id = s.class_id \
         WHERE gs.guardian_id = $1 ORDER BY s.admission_no",
    )
    .bind(g)
    .fetch_all(&mut **tx)
    .await?;
    out.push(DataSection {
        name: "children",
        columns: vec!["admission_no", "name", "class", "section", "relation"],
        rows: children
            .into_iter()
            .map(|r| vec![r.0, r.1, r.2, r.3, r.4])
            .collect(),
    });
    Ok(())
}

impl SchoolStore {
    async fn decide(
        &self,
        id: Uuid,
        to: &'static str,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.write(async |tx| {
            let changed = db::query(
                "UPDATE privacy_requests SET status = $2, decided_by = $3, decided_at = $4, \
                 completed_at = CASE WHEN $2 = 'completed' THEN $4 ELSE NULL END \
                 WHERE id = $1 AND status IN ('pending', 'failed')",
            )
            .bind(id)
            .bind(to)
            .bind(&activity.actor)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if changed == 1 {
                log(tx, activity).await?;
            }
            Ok(changed == 1)
        })
        .await
    }
}
