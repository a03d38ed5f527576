//! The flow engine's data: the
//! transaction view the driver uses during a step ([`crate::store::FlowTx`]) and the
//! flow data used outside a step ([`crate::store::FlowStore`]).

use super::{corrupt, decrypt_as, field, stored_text};
use super::{enqueue_internal, log, SchoolStore};
use crate::domain::activity::ActivityEntry;
use crate::domain::attendance::AttendanceRecord;
use crate::domain::fees::{Currency, FeeLineView, Money};
use crate::domain::message::{InboundBody, InboundEvent};
use crate::domain::phone::Phone;
use crate::domain::roster::ContactRef;
use crate::domain::{AccessCodeId, ClassId, GuardianId, Pii, StaffId, StudentId};
use crate::store::crypto::KeyRing;
use crate::store::db::{self, Tx};
use crate::store::{
    Addition, ChildRow, ClassRow, ComplaintNews, ConsentRequestView, ConsentSendSummary, FlowStore,
    FlowTx, LeaveRequest, LeaveRequestView, NewComplaint, NewLead, PaymentRow, PersonComplaint,
    Result, SessionRow, StoredAccessCode, ThreadOutcome,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

const IDENTITY_INDEX: &str = "identity";
/// Failed logins since $2: (conversation $1, the whole school).
const LOGIN_FAILURES: &str =
    "SELECT (SELECT COUNT(*) FROM login_failures WHERE conversation_id = $1 AND at >= $2), \
     (SELECT COUNT(*) FROM login_failures WHERE at >= $2)";

type LeaveRow = (
    Uuid,
    Uuid,
    String,
    Uuid,
    Uuid,
    Option<Uuid>,
    String,
    NaiveDate,
    NaiveDate,
    Vec<u8>,
    Option<String>,
    String,
    Option<DateTime<Utc>>,
    Option<Vec<u8>>,
    DateTime<Utc>,
);
const LEAVE_COLS: &str =
    "l.id, l.student_id, s.full_name, s.class_id, l.guardian_id, l.conversation_id, \
    l.kind, l.from_date, l.to_date, l.reason_enc, l.attachment_key, l.status, l.decided_at, \
    l.decision_note_enc, l.created_at FROM leave_requests l JOIN students s ON s.id = l.student_id";

fn leave_from_row(keys: &KeyRing, r: LeaveRow) -> Result<LeaveRequestView> {
    let (
        id,
        student,
        student_name,
        class_id,
        guardian,
        conversation,
        kind,
        from,
        to,
        reason,
        attachment_key,
        status,
        decided_at,
        note,
        created_at,
    ) = r;
    Ok(LeaveRequestView {
        request: LeaveRequest {
            id,
            student: StudentId(student),
            guardian: GuardianId(guardian),
            conversation,
            kind,
            from,
            to,
            reason: Pii::new(keys.decrypt_str(field("leave_requests", "reason_enc", id), &reason)?),
            attachment_key,
            created_at,
        },
        student_name,
        class_id: ClassId(class_id),
        status,
        decided_at,
        decision_note: decrypt_as(
            keys,
            field("leave_requests", "decision_note_enc", id),
            note,
            stored_text,
        )?,
    })
}

type ConsentRow = (
    Uuid,
    Uuid,
    String,
    String,
    DateTime<Utc>,
    Uuid,
    String,
    Uuid,
    String,
    Option<Vec<u8>>,
);
const CONSENT_COLS: &str = "r.id, r.form_id, f.title, f.description, f.deadline_at, r.student_id, \
    s.full_name, r.guardian_id, r.status, r.note_enc FROM consent_requests r \
    JOIN consent_forms f ON f.id = r.form_id JOIN students s ON s.id = r.student_id";

fn consent_from_row(keys: &KeyRing, r: ConsentRow) -> Result<ConsentRequestView> {
    let (
        id,
        form_id,
        title,
        description,
        deadline_at,
        student,
        student_name,
        guardian,
        status,
        note,
    ) = r;
    Ok(ConsentRequestView {
        id,
        form_id,
        title,
        description,
        deadline_at,
        student: StudentId(student),
        student_name,
        guardian: GuardianId(guardian),
        status,
        note: decrypt_as(
            keys,
            field("consent_requests", "note_enc", id),
            note,
            stored_text,
        )?,
    })
}

const STAFF_CLASSES: &str = "SELECT c.id, c.branch_id, c.name, c.section FROM staff_classes sc \
    JOIN classes c ON c.id = sc.class_id JOIN staff_users u ON u.id = sc.staff_id \
    WHERE sc.staff_id = $1 AND u.active ORDER BY c.name, c.section";

fn class_row((id, branch, name, section): (Uuid, Uuid, String, String)) -> ClassRow {
    ClassRow {
        id: ClassId(id),
        branch: crate::domain::BranchId(branch),
        name,
        section,
    }
}

fn class_label(name: String, section: String) -> String {
    if section.is_empty() {
        name
    } else {
        format!("{name} {section}")
    }
}

/// Children as the bot lists them, from (id, name, class name, section) rows.
fn child_rows(rows: Vec<(Uuid, String, String, String)>) -> Vec<ChildRow> {
    rows.into_iter()
        .map(|(id, name, class, section)| ChildRow {
            id: StudentId(id),
            name,
            class_name: class_label(class, section),
        })
        .collect()
}

/// The classes a staff member teaches (none for an inactive account).
async fn staff_classes(tx: &mut Tx, staff: StaffId) -> Result<Vec<ClassRow>> {
    let rows: Vec<(Uuid, Uuid, String, String)> = db::query_as(STAFF_CLASSES)
        .bind(staff.0)
        .fetch_all(tx)
        .await?;
    Ok(rows.into_iter().map(class_row).collect())
}

/// Failed logins since `since`: (this conversation, the whole school).
async fn login_failures(
    tx: &mut Tx,
    conversation: Uuid,
    since: DateTime<Utc>,
) -> Result<(i64, i64)> {
    Ok(db::query_as(LOGIN_FAILURES)
        .bind(conversation)
        .bind(since)
        .fetch_one(tx)
        .await?)
}

async fn leave_request(tx: &mut Tx, keys: &KeyRing, id: Uuid) -> Result<Option<LeaveRequestView>> {
    let sql = format!("SELECT {LEAVE_COLS} WHERE l.id = $1");
    let row: Option<LeaveRow> = db::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(tx)
        .await?;
    row.map(|r| leave_from_row(keys, r)).transpose()
}

/// Decides a pending leave request (false if it is not pending): the decision, the
/// guardian told (where they asked, else every conversation of theirs) and the activity
/// entry, in the caller's transaction (staff in the admin, a teacher in the chat).
async fn decide_leave(
    tx: &mut Tx,
    keys: &KeyRing,
    id: Uuid,
    approve: bool,
    note: Option<&str>,
    activity: &ActivityEntry,
    now: DateTime<Utc>,
) -> Result<bool> {
    let note_enc = note
        .map(|n| {
            keys.encrypt(
                field("leave_requests", "decision_note_enc", id),
                n.as_bytes(),
            )
        })
        .transpose()?;
    let done = db::query(
        "UPDATE leave_requests SET status = $2, decided_by = $3, decided_at = $4, decision_note_enc = $5 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(if approve { "approved" } else { "rejected" })
    .bind(&activity.actor)
    .bind(now)
    .bind(note_enc)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let (guardian, conversation): (Uuid, Option<Uuid>) =
        db::query_as("SELECT guardian_id, conversation_id FROM leave_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let targets = match conversation {
        Some(c) => vec![c],
        None => guardian_conversations(tx, guardian).await?,
    };
    for c in targets {
        let (tag, key) = (format!("leave-decision:{id}"), format!("leave:{id}"));
        let vars = request_vars(id);
        start_flow(tx, keys, c, &tag, ("leave_decision", key), vars, now).await?;
    }
    log(tx, activity).await?;
    Ok(true)
}

/// The `vars` of a flow started about a request (a leave request, a consent request).
fn request_vars(request: Uuid) -> serde_json::Map<String, serde_json::Value> {
    let mut vars = serde_json::Map::new();
    vars.insert(
        "request".into(),
        serde_json::Value::String(request.to_string()),
    );
    vars
}

/// Starts `flow` (with `key` and `vars`) in a conversation: an internal event in its
/// ordered inbox, once per `tag` and conversation.
pub(super) async fn start_flow(
    tx: &mut Tx,
    keys: &KeyRing,
    conversation: Uuid,
    tag: &str,
    (flow, key): (&str, String),
    vars: serde_json::Map<String, serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let body = InboundBody::Trigger {
        flow: flow.into(),
        key,
        vars,
    };
    let provider_key = format!("trigger:{tag}:{conversation}");
    enqueue_internal(tx, keys, conversation, &provider_key, body, now).await
}

/// The guardian's conversations (those bound to them after login).
/// Queues the consent reminder flow into every conversation of each pending
/// request's guardian and marks the requests reminded (unless `only`: a
/// simulator on its own clock, into that conversation, leaving them due).
async fn remind(
    tx: &mut Tx,
    keys: &KeyRing,
    due: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
    only: Option<Uuid>,
    kind: &str,
) -> Result<u64> {
    let mut queued = 0;
    for (request, guardian) in due {
        let mut targets = guardian_conversations(tx, *guardian).await?;
        if let Some(c) = only {
            targets.retain(|t| *t == c);
        }
        for c in targets {
            let mut vars = request_vars(*request);
            vars.insert("reminder".into(), serde_json::Value::Bool(true));
            let (tag, key) = (format!("{kind}:{request}"), format!("consent:{request}"));
            if start_flow(tx, keys, c, &tag, ("consent_reminder", key), vars, now).await? {
                queued += 1;
            }
        }
        if only.is_none() {
            db::query("UPDATE consent_requests SET reminded_at = $2 WHERE id = $1")
                .bind(*request)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(queued)
}

async fn guardian_conversations(tx: &mut Tx, guardian: Uuid) -> Result<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = db::query_as(
        "SELECT id FROM conversations WHERE contact_kind = 'guardian' AND contact_id = $1 ORDER BY id",
    )
    .bind(guardian)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A contact from its stored (kind, id) columns, when both are set.
fn contact_of(kind: Option<String>, id: Option<Uuid>) -> Result<Option<ContactRef>> {
    match (kind, id) {
        (Some(k), Some(i)) => Ok(Some(
            ContactRef::from_parts(&k, i).ok_or_else(|| corrupt("contact kind"))?,
        )),
        _ => Ok(None),
    }
}

/// The session of a conversation, with the contact bound to the sender's channel
/// identity `(channel, external id)` and the phone-recognition setting.
async fn session(
    tx: &mut Tx,
    keys: &KeyRing,
    conversation: Uuid,
    identity: Option<(&str, &str)>,
) -> Result<SessionRow> {
    let (channel, bidx) = match identity {
        Some((channel, external)) => (channel, keys.blind_index(IDENTITY_INDEX, external)),
        None => ("", Vec::new()),
    };
    #[allow(clippy::type_complexity)]
    let row: Option<(Option<Vec<u8>>, Option<String>, Option<Uuid>, Option<DateTime<Utc>>, Option<String>, Option<Uuid>, Option<String>, i64, Option<String>, Option<String>, Option<String>)> =
        db::query_as(
            "SELECT c.session_enc, c.contact_kind, c.contact_id, c.handoff_at, \
             (SELECT i.contact_kind FROM channel_identities i WHERE i.channel = $2 AND i.external_id_bidx = $3), \
             (SELECT i.contact_id FROM channel_identities i WHERE i.channel = $2 AND i.external_id_bidx = $3), \
             (SELECT s.value FROM school_settings s WHERE s.name = $4), \
             CASE c.contact_kind \
               WHEN 'guardian' THEN (SELECT COUNT(*) FROM guardians g WHERE g.id = c.contact_id) \
               WHEN 'staff' THEN (SELECT COUNT(*) FROM staff_users u WHERE u.id = c.contact_id AND u.active) \
               ELSE 0 END, \
             (SELECT s.value FROM school_settings s WHERE s.name = $5), \
             (SELECT s.value FROM school_settings s WHERE s.name = $6), \
             (SELECT s.value FROM school_settings s WHERE s.name = $7) \
             FROM conversations c WHERE c.id = $1",
        )
        .bind(conversation)
        .bind(channel)
        .bind(bidx)
        .bind(crate::domain::school::SETTING_RECOGNISE_PHONES)
        .bind(crate::domain::school::SETTING_OFFICE_HOURS)
        .bind(crate::domain::school::SETTING_HANDOFF_RELEASE_HOURS)
        .bind(crate::domain::school::SETTING_WEEKEND)
        .fetch_optional(tx)
        .await?;
    let Some((
        enc,
        kind,
        id,
        handoff_at,
        id_kind,
        id_contact,
        recognise,
        valid,
        hours,
        release,
        weekend,
    )) = row
    else {
        return Ok(SessionRow::default());
    };
    let session = enc
        .map(|e| keys.decrypt(field("conversations", "session_enc", conversation), &e))
        .transpose()?;
    Ok(SessionRow {
        session,
        contact: contact_of(kind, id)?,
        handoff_at,
        identity: contact_of(id_kind, id_contact)?,
        recognise_phones: recognise.as_deref() == Some("on"),
        contact_valid: valid > 0,
        office_hours: hours.filter(|h| !h.trim().is_empty()),
        handoff_release_hours: release.and_then(|r| r.trim().parse().ok()),
        weekend,
    })
}

struct Ops<'a> {
    tx: &'a mut Tx,
    keys: &'a KeyRing,
    conversation: Uuid,
}

impl SchoolStore {
    /// The flow driver's view of a worker transaction.
    pub(crate) fn flow_tx<'a>(
        &'a self,
        tx: &'a mut Tx,
        conversation: Uuid,
    ) -> Box<dyn FlowTx + 'a> {
        Box::new(Ops {
            tx,
            keys: &self.keys,
            conversation,
        })
    }
}

#[async_trait::async_trait]
impl<'a> FlowTx for Ops<'a> {
    fn keys(&self) -> &KeyRing {
        self.keys
    }

    async fn session(&mut self, identity: Option<(&str, &str)>) -> Result<SessionRow> {
        session(self.tx, self.keys, self.conversation, identity).await
    }

    async fn save_session(
        &mut self,
        session: &[u8],
        contact: Option<ContactRef>,
        handoff: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let enc = self.keys.encrypt(
            field("conversations", "session_enc", self.conversation),
            session,
        )?;
        db::query(
            "UPDATE conversations SET session_enc = $2, contact_kind = $3, contact_id = $4, \
             handoff_at = CASE WHEN $5 THEN COALESCE(handoff_at, $6) ELSE NULL END WHERE id = $1",
        )
        .bind(self.conversation)
        .bind(enc)
        .bind(contact.map(|c| c.kind()))
        .bind(contact.map(|c| c.uuid()))
        .bind(handoff)
        .bind(now)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn bind_identity(
        &mut self,
        channel: &str,
        external_id: &str,
        contact: ContactRef,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, bool)> {
        let id = Uuid::now_v7();
        let bidx = self.keys.blind_index(IDENTITY_INDEX, external_id);
        let before: Option<(String, Uuid)> = db::query_as(
            "SELECT contact_kind, contact_id FROM channel_identities WHERE channel = $1 AND external_id_bidx = $2",
        )
        .bind(channel)
        .bind(&bidx)
        .fetch_optional(&mut **self.tx)
        .await?;
        let same = before.is_some_and(|(k, c)| k == contact.kind() && c == contact.uuid());
        let enc = self.keys.encrypt(
            field("channel_identities", "external_id_enc", id),
            external_id.as_bytes(),
        )?;
        let (row,): (Uuid,) = db::query_as(
            "INSERT INTO channel_identities (id, contact_kind, contact_id, channel, external_id_enc, external_id_bidx, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel, external_id_bidx) DO UPDATE SET \
             contact_kind = excluded.contact_kind, contact_id = excluded.contact_id RETURNING id",
        )
        .bind(id)
        .bind(contact.kind())
        .bind(contact.uuid())
        .bind(channel)
        .bind(enc)
        .bind(bidx)
        .bind(now)
        .fetch_one(&mut **self.tx)
        .await?;
        Ok((row, !same))
    }

    async fn contact_conversations(&mut self, contact: ContactRef) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = db::query_as(
            "SELECT id FROM conversations WHERE contact_kind = $1 AND contact_id = $2 AND id <> $3 ORDER BY id",
        )
        .bind(contact.kind())
        .bind(contact.uuid())
        .bind(self.conversation)
        .fetch_all(&mut **self.tx)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn roster_phone(&mut self, contact: ContactRef) -> Result<Option<Phone>> {
        let (table, id) = match contact {
            ContactRef::Guardian(g) => ("guardians", g.0),
            ContactRef::Staff(s) => ("staff_users", s.0),
        };
        let sql = match contact {
            ContactRef::Guardian(_) => "SELECT phone_enc FROM guardians WHERE id = $1",
            ContactRef::Staff(_) => "SELECT phone_enc FROM staff_users WHERE id = $1",
        };
        let row: Option<(Option<Vec<u8>>,)> = db::query_as(sql)
            .bind(id)
            .fetch_optional(&mut **self.tx)
            .await?;
        let Some((Some(ct),)) = row else {
            return Ok(None);
        };
        let plain = self.keys.decrypt_str(field(table, "phone_enc", id), &ct)?;
        Ok(Phone::parse(&plain, None).ok())
    }

    async fn open_conversation(
        &mut self,
        channel: Uuid,
        provider: crate::domain::message::Provider,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid> {
        super::conversation::open(self.tx, self.keys, channel, provider, sender, now).await
    }

    async fn trigger(
        &mut self,
        conversation: Uuid,
        key: &str,
        flow: &str,
        vars: serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let tag = format!("{flow}:{key}");
        start_flow(
            self.tx,
            self.keys,
            conversation,
            &tag,
            (flow, key.into()),
            vars,
            now,
        )
        .await
    }

    async fn identity_contact(
        &mut self,
        identity: Uuid,
    ) -> Result<Option<crate::store::IdentityRow>> {
        let row: Option<(String, Uuid, String, Vec<u8>, DateTime<Utc>)> = db::query_as(
            "SELECT contact_kind, contact_id, channel, external_id_enc, created_at \
             FROM channel_identities WHERE id = $1",
        )
        .bind(identity)
        .fetch_optional(&mut **self.tx)
        .await?;
        let Some((kind, contact, channel, enc, created_at)) = row else {
            return Ok(None);
        };
        let contact =
            ContactRef::from_parts(&kind, contact).ok_or_else(|| corrupt("contact kind"))?;
        let external = self.keys.decrypt_str(
            field("channel_identities", "external_id_enc", identity),
            &enc,
        )?;
        Ok(Some(crate::store::IdentityRow {
            id: identity,
            contact,
            channel,
            external_id: crate::domain::Pii::new(external),
            created_at,
        }))
    }

    async fn identity_of(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<(Uuid, DateTime<Utc>)>> {
        let bidx = self.keys.blind_index(IDENTITY_INDEX, external_id);
        Ok(db::query_as(
            "SELECT id, created_at FROM channel_identities WHERE channel = $1 AND external_id_bidx = $2",
        )
        .bind(channel)
        .bind(bidx)
        .fetch_optional(&mut **self.tx)
        .await?)
    }

    async fn unlink_identity(
        &mut self,
        identity: Uuid,
        contact: ContactRef,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let Some(row) = self.identity_contact(identity).await? else {
            return Ok(false);
        };
        let (removed_channel, removed_external) =
            (row.channel.clone(), row.external_id.expose().clone());
        let done = db::query(
            "DELETE FROM channel_identities WHERE id = $1 AND contact_kind = $2 AND contact_id = $3",
        )
        .bind(identity)
        .bind(contact.kind())
        .bind(contact.uuid())
        .execute(&mut **self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // That chat is no longer theirs: it gets none of their messages meanwhile
        // (its session is reset at its next message).
        let convs: Vec<(Uuid, String, Vec<u8>)> = db::query_as(
            "SELECT id, provider, sender_enc FROM conversations WHERE contact_kind = $1 AND contact_id = $2",
        )
        .bind(contact.kind())
        .bind(contact.uuid())
        .fetch_all(&mut **self.tx)
        .await?;
        for (cid, provider, enc) in convs {
            let family = match provider.as_str() {
                "twilio" | "meta" => "whatsapp",
                "telegram" => "telegram",
                _ => continue,
            };
            let sender = self
                .keys
                .decrypt_str(field("conversations", "sender_enc", cid), &enc)?;
            if family == removed_channel && sender == removed_external {
                db::query(
                    "UPDATE conversations SET contact_kind = NULL, contact_id = NULL WHERE id = $1",
                )
                .bind(cid)
                .execute(&mut **self.tx)
                .await?;
            }
        }
        let revoked = super::codes::revoke_unused(self.tx, contact, activity.at).await?;
        let mut entry = activity.clone();
        if let serde_json::Value::Object(m) = &mut entry.details {
            m.insert("codes_revoked".into(), revoked.into());
        }
        log(self.tx, &entry).await?;
        Ok(true)
    }

    async fn contacts_by_phone(&mut self, phone: &Phone) -> Result<Vec<ContactRef>> {
        super::roster::contacts_by_phone(self.tx, self.keys, phone).await
    }

    async fn contact_language(
        &mut self,
        contact: ContactRef,
    ) -> Result<Option<crate::domain::school::Locale>> {
        let ContactRef::Guardian(g) = contact else {
            return Ok(None);
        };
        let row: Option<(String,)> =
            db::query_as("SELECT preferred_language FROM guardians WHERE id = $1")
                .bind(g.0)
                .fetch_optional(&mut **self.tx)
                .await?;
        Ok(row.and_then(|r| r.0.parse().ok()))
    }

    async fn access_codes_in_bucket(&mut self, bucket: &[u8]) -> Result<Vec<StoredAccessCode>> {
        super::codes::in_bucket(self.tx, bucket).await
    }

    async fn consume_access_code(
        &mut self,
        id: AccessCodeId,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        super::codes::consume_logged(self.tx, id, activity.at, activity).await
    }

    async fn login_failures(&mut self, since: DateTime<Utc>) -> Result<(i64, i64)> {
        login_failures(self.tx, self.conversation, since).await
    }

    async fn login_locked_until(
        &mut self,
        now: DateTime<Utc>,
        window: chrono::Duration,
        limit: i64,
    ) -> Result<Option<DateTime<Utc>>> {
        let nth: Option<(DateTime<Utc>,)> = db::query_as(
            "SELECT at FROM login_failures WHERE conversation_id = $1 AND at >= $2 \
             ORDER BY at DESC LIMIT 1 OFFSET $3",
        )
        .bind(self.conversation)
        .bind(now - window)
        .bind((limit - 1).max(0))
        .fetch_optional(&mut **self.tx)
        .await?;
        Ok(nth.map(|(at,)| at + window))
    }

    async fn record_login_failure(&mut self, at: DateTime<Utc>) -> Result<()> {
        db::query("INSERT INTO login_failures (id, conversation_id, at) VALUES ($1, $2, $3)")
            .bind(Uuid::now_v7())
            .bind(self.conversation)
            .bind(at)
            .execute(&mut **self.tx)
            .await?;
        // Keep the table small: a day of history is plenty for the limits.
        db::query("DELETE FROM login_failures WHERE at < $1")
            .bind(at - chrono::Duration::days(1))
            .execute(&mut **self.tx)
            .await?;
        Ok(())
    }

    async fn children_of(&mut self, guardian: GuardianId) -> Result<Vec<ChildRow>> {
        let rows: Vec<(Uuid, String, String, String)> = db::query_as(
            "SELECT s.id, s.full_name, c.name, c.section FROM guardian_students gs \
             JOIN students s ON s.id = gs.student_id JOIN classes c ON c.id = s.class_id \
             WHERE gs.guardian_id = $1 AND s.active ORDER BY s.full_name, s.id",
        )
        .bind(guardian.0)
        .fetch_all(&mut **self.tx)
        .await?;
        Ok(child_rows(rows))
    }

    async fn fee_statement(&mut self, student: StudentId) -> Result<Vec<FeeLineView>> {
        super::fees::statement(self.tx, student).await
    }

    async fn payments(&mut self, student: StudentId, limit: i64) -> Result<Vec<PaymentRow>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            NaiveDate,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
        )> = db::query_as(
            "SELECT p.paid_on, p.amount_minor, f.currency, f.description, f.description_ur, \
             f.description_ar FROM payments p \
             JOIN fee_lines f ON f.id = p.fee_line_id WHERE f.student_id = $1 \
             ORDER BY p.paid_on DESC, p.id LIMIT $2",
        )
        .bind(student.0)
        .bind(limit)
        .fetch_all(&mut **self.tx)
        .await?;
        rows.into_iter()
            .map(|(paid_on, minor, currency, description, ur, ar)| {
                Ok(PaymentRow {
                    paid_on,
                    amount: Money {
                        minor,
                        currency: currency.parse::<Currency>().map_err(corrupt)?,
                    },
                    description,
                    description_ur: ur,
                    description_ar: ar,
                })
            })
            .collect()
    }

    async fn attendance_between(
        &mut self,
        student: StudentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AttendanceRecord>> {
        super::attendance::between(self.tx, student, from, to).await
    }

    async fn insert_leave_request(
        &mut self,
        r: &LeaveRequest,
        activity: &ActivityEntry,
    ) -> Result<()> {
        let reason = self.keys.encrypt(
            field("leave_requests", "reason_enc", r.id),
            r.reason.expose().as_bytes(),
        )?;
        db::query(
            "INSERT INTO leave_requests (id, student_id, guardian_id, conversation_id, kind, from_date, to_date, \
             reason_enc, attachment_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(r.id)
        .bind(r.student.0)
        .bind(r.guardian.0)
        .bind(r.conversation)
        .bind(&r.kind)
        .bind(r.from)
        .bind(r.to)
        .bind(reason)
        .bind(&r.attachment_key)
        .bind(r.created_at)
        .execute(&mut **self.tx)
        .await?;
        log(self.tx, activity).await
    }

    async fn leave_request(&mut self, id: Uuid) -> Result<Option<LeaveRequestView>> {
        leave_request(self.tx, self.keys, id).await
    }

    async fn pending_leave_for_classes(
        &mut self,
        classes: &[ClassId],
    ) -> Result<Vec<LeaveRequestView>> {
        let mut out = Vec::new();
        for class in classes {
            let rows: Vec<LeaveRow> = db::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {LEAVE_COLS} WHERE l.status = 'pending' AND s.class_id = $1 ORDER BY l.created_at, l.id"
            )))
            .bind(class.0)
            .fetch_all(&mut **self.tx)
            .await?;
            for r in rows {
                out.push(leave_from_row(self.keys, r)?);
            }
        }
        out.sort_by_key(|r| r.request.created_at);
        Ok(out)
    }

    async fn pending_consents(&mut self, guardian: GuardianId) -> Result<Vec<ConsentRequestView>> {
        let rows: Vec<ConsentRow> = db::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLS} WHERE r.guardian_id = $1 AND r.status IN ('pending', 'approved', 'declined') \
             ORDER BY f.deadline_at, r.id"
        )))
        .bind(guardian.0)
        .fetch_all(&mut **self.tx)
        .await?;
        rows.into_iter()
            .map(|r| consent_from_row(self.keys, r))
            .collect()
    }

    async fn consent_request(&mut self, id: Uuid) -> Result<Option<ConsentRequestView>> {
        let row: Option<ConsentRow> = db::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLS} WHERE r.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut **self.tx)
        .await?;
        row.map(|r| consent_from_row(self.keys, r)).transpose()
    }

    async fn answer_consent(
        &mut self,
        id: Uuid,
        approved: bool,
        note: Option<&str>,
        expected: &str,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        if !matches!(expected, "pending" | "approved" | "declined") {
            return Ok(false);
        }
        let note = note
            .map(|n| {
                self.keys
                    .encrypt(field("consent_requests", "note_enc", id), n.as_bytes())
            })
            .transpose()?;
        let done = db::query(
            "UPDATE consent_requests SET status = $2, note_enc = $3, answered_at = $4 \
             WHERE id = $1 AND status = $5",
        )
        .bind(id)
        .bind(if approved { "approved" } else { "declined" })
        .bind(note)
        .bind(activity.at)
        .bind(expected)
        .execute(&mut **self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        log(self.tx, activity).await?;
        Ok(true)
    }

    async fn staff_classes(&mut self, staff: StaffId) -> Result<Vec<ClassRow>> {
        staff_classes(self.tx, staff).await
    }

    async fn class_students(&mut self, class: ClassId) -> Result<Vec<ChildRow>> {
        let rows: Vec<(Uuid, String, String, String)> = db::query_as(
            "SELECT s.id, s.full_name, c.name, c.section FROM students s JOIN classes c ON c.id = s.class_id \
             WHERE s.class_id = $1 AND s.active ORDER BY s.full_name, s.id",
        )
        .bind(class.0)
        .fetch_all(&mut **self.tx)
        .await?;
        Ok(child_rows(rows))
    }

    async fn record_attendance(
        &mut self,
        r: &AttendanceRecord,
        activity: &ActivityEntry,
    ) -> Result<()> {
        super::attendance::record(self.tx, r, activity.at).await?;
        log(self.tx, activity).await
    }

    async fn insert_complaint(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        complaint: &NewComplaint,
        activity: &ActivityEntry,
    ) -> Result<String> {
        super::complaints::insert_complaint(
            self.tx,
            self.keys,
            self.conversation,
            id,
            contact,
            complaint,
            activity,
        )
        .await
    }

    async fn insert_lead(&mut self, lead: &NewLead, activity: &ActivityEntry) -> Result<()> {
        super::leads::insert(self.tx, self.keys, lead, activity).await
    }

    async fn insert_privacy_request(
        &mut self,
        request: &crate::store::NewPrivacyRequest,
        activity: &ActivityEntry,
    ) -> Result<crate::store::PrivacyRequest> {
        super::privacy::insert(self.tx, self.keys, request, activity).await
    }

    async fn confirm_lead_phone(
        &mut self,
        lead: Uuid,
        sender_digits: &str,
        confirmed: bool,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        super::leads::confirm_phone(self.tx, self.keys, lead, sender_digits, confirmed, activity)
            .await
    }

    async fn person_complaints(
        &mut self,
        contact: ContactRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<PersonComplaint>> {
        super::complaints::person_complaints(self.tx, self.keys, contact, now).await
    }

    async fn add_to_complaint(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        addition: Addition<'_>,
        activity: &ActivityEntry,
    ) -> Result<ThreadOutcome> {
        super::complaints::add_to_complaint(self.tx, self.keys, id, contact, addition, activity)
            .await
    }

    async fn complaint_news(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        message: Option<Uuid>,
    ) -> Result<Option<ComplaintNews>> {
        super::complaints::complaint_news(self.tx, self.keys, id, contact, message).await
    }

    async fn save_csat(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        score: i64,
        comment: Option<&str>,
        activity: &ActivityEntry,
    ) -> Result<ThreadOutcome> {
        super::complaints::save_csat(self.tx, self.keys, id, contact, score, comment, activity)
            .await
    }

    async fn reopen_complaint(
        &mut self,
        id: Uuid,
        contact: ContactRef,
        activity: &ActivityEntry,
    ) -> Result<ThreadOutcome> {
        super::complaints::reopen_complaint(self.tx, id, contact, activity).await
    }

    async fn face_open_session(
        &mut self,
        staff: StaffId,
        since: DateTime<Utc>,
    ) -> Result<Option<crate::store::FaceSessionRow>> {
        super::face::open_session(self.tx, staff, since).await
    }

    async fn face_new_session(
        &mut self,
        staff: StaffId,
        class: ClassId,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid> {
        super::face::new_session(self.tx, self.conversation, staff, class, channel, now).await
    }

    async fn face_add_photo(
        &mut self,
        session: Uuid,
        media_key: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        super::face::add_photo(self.tx, self.conversation, session, media_key, now).await
    }

    async fn face_session_row(&mut self, id: Uuid) -> Result<Option<crate::store::FaceSessionRow>> {
        super::face::session(self.tx, id).await
    }

    async fn face_class(&mut self, class: ClassId) -> Result<Vec<crate::store::ClassFaceRow>> {
        super::face::class_faces(self.tx, class).await
    }

    async fn face_confirm(
        &mut self,
        session: Uuid,
        present: &[StudentId],
        day: NaiveDate,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        super::face::confirm(self.tx, session, present, day, activity).await
    }

    async fn face_discard_photo(&mut self, media_key: &str) -> Result<()> {
        super::face::discard_media(self.tx, media_key).await?;
        Ok(())
    }

    async fn face_cancel(&mut self, session: Uuid, now: DateTime<Utc>) -> Result<bool> {
        super::face::cancel(self.tx, session, now).await
    }

    async fn set_timer(&mut self, token: &str, due_at: DateTime<Utc>) -> Result<()> {
        db::query(
            "INSERT INTO flow_timers (id, conversation_id, token, due_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7())
        .bind(self.conversation)
        .bind(token)
        .bind(due_at)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn log(&mut self, activity: &ActivityEntry) -> Result<()> {
        log(self.tx, activity).await
    }

    async fn decide_leave(
        &mut self,
        id: Uuid,
        approve: bool,
        note: Option<&str>,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        decide_leave(self.tx, self.keys, id, approve, note, activity, now).await
    }

    async fn trigger_guardians_of(
        &mut self,
        student: StudentId,
        key: &str,
        flow: &str,
        vars: serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let guardians: Vec<(Uuid,)> =
            db::query_as("SELECT guardian_id FROM guardian_students WHERE student_id = $1")
                .bind(student.0)
                .fetch_all(&mut **self.tx)
                .await?;
        let mut started = 0;
        for (g,) in guardians {
            for c in guardian_conversations(self.tx, g).await? {
                let tag = format!("{flow}:{key}");
                if start_flow(
                    self.tx,
                    self.keys,
                    c,
                    &tag,
                    (flow, key.into()),
                    vars.clone(),
                    now,
                )
                .await?
                {
                    started += 1;
                }
            }
        }
        Ok(started)
    }

    async fn approved_leave(
        &mut self,
        student: StudentId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, chrono::NaiveDate)>> {
        Ok(db::query_as(
            "SELECT from_date, to_date FROM leave_requests WHERE student_id = $1 \
             AND status = 'approved' AND from_date <= $3 AND to_date >= $2 ORDER BY from_date",
        )
        .bind(student.0)
        .bind(from)
        .bind(to)
        .fetch_all(&mut **self.tx)
        .await?)
    }

    async fn on_leave(&mut self, class: ClassId, day: chrono::NaiveDate) -> Result<Vec<StudentId>> {
        let rows: Vec<(Uuid,)> = db::query_as(
            "SELECT DISTINCT l.student_id FROM leave_requests l JOIN students s ON s.id = l.student_id \
             WHERE s.class_id = $1 AND l.status = 'approved' AND l.from_date <= $2 AND l.to_date >= $2",
        )
        .bind(class.0)
        .bind(day)
        .fetch_all(&mut **self.tx)
        .await?;
        Ok(rows.into_iter().map(|(id,)| StudentId(id)).collect())
    }

    async fn class_register(
        &mut self,
        class: ClassId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<crate::store::RegisterRow>> {
        super::attendance::register(self.tx, class, day).await
    }

    async fn setting(&mut self, name: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            db::query_as("SELECT value FROM school_settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut **self.tx)
                .await?;
        Ok(row.map(|(v,)| v))
    }

    async fn holidays_between(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::domain::calendar::Holiday>> {
        super::calendar::holidays_between(self.tx, from, to).await
    }

    async fn leave_overlaps(
        &mut self,
        student: StudentId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<bool> {
        super::calendar::leave_overlaps(self.tx, student, from, to).await
    }
}

#[async_trait::async_trait]
impl FlowStore for SchoolStore {
    async fn peek_next_event(&self, conversation: Uuid) -> Result<Option<(InboundEvent, bool)>> {
        let q = db::query_as(
            "SELECT e.id, e.payload_enc, c.contact_id IS NOT NULL FROM inbound_events e \
             JOIN conversations c ON c.id = e.conversation_id \
             WHERE e.conversation_id = $1 AND e.state = 'pending' ORDER BY e.id LIMIT 1",
        );
        let next: Option<(Uuid, Vec<u8>, bool)> = self.read_optional(q.bind(conversation)).await?;
        let Some((id, payload, bound)) = next else {
            return Ok(None);
        };
        // An unreadable event is the step's to set aside: nothing to prepare.
        Ok(self
            .keys
            .decrypt(field("inbound_events", "payload_enc", id), &payload)
            .ok()
            .and_then(|plain| serde_json::from_slice::<InboundEvent>(&plain).ok())
            .map(|e| (e, bound)))
    }

    async fn login_failures_of(
        &self,
        conversation: Uuid,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64)> {
        self.read(async |tx| login_failures(tx, conversation, since).await)
            .await
    }

    async fn fire_due_timers(&self, now: DateTime<Utc>, only: Option<Uuid>) -> Result<u64> {
        const DUE: &str =
            "SELECT id, conversation_id, token FROM flow_timers WHERE fired_at IS NULL \
             AND due_at <= $1 AND ($2 IS NULL OR conversation_id = $2) ORDER BY due_at LIMIT 500";
        let due = || {
            db::query_as::<(Uuid, Uuid, String)>(DUE)
                .bind(now)
                .bind(only)
        };
        // A read first: most passes find nothing and take no write lock.
        if self.read_all(due()).await?.is_empty() {
            return Ok(0);
        }
        self.write(async |tx| {
            let mut fired = 0;
            for (id, conversation, token) in due().fetch_all(&mut *tx).await? {
                let (key, body) = (format!("timer:{id}"), InboundBody::Timeout { token });
                enqueue_internal(tx, &self.keys, conversation, &key, body, now).await?;
                db::query("UPDATE flow_timers SET fired_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                fired += 1;
            }
            // Fired timers are history: keep a week for diagnosis.
            db::query("DELETE FROM flow_timers WHERE fired_at < $1")
                .bind(now - chrono::Duration::days(7))
                .execute(tx)
                .await?;
            Ok(fired)
        })
        .await
    }

    async fn classes(&self) -> Result<Vec<ClassRow>> {
        let q =
            db::query_as("SELECT id, branch_id, name, section FROM classes ORDER BY name, section");
        Ok(self.read_all(q).await?.into_iter().map(class_row).collect())
    }

    async fn classes_of_staff(&self, staff: StaffId) -> Result<Vec<ClassRow>> {
        self.read(async |tx| staff_classes(tx, staff).await).await
    }

    async fn send_consent_form(
        &self,
        new: &crate::store::NewConsentForm,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, ConsentSendSummary)> {
        let (title, description, deadline_at, classes, remind_before) = (
            new.title.as_str(),
            new.description.as_str(),
            new.deadline_at,
            new.classes.as_slice(),
            new.remind_before,
        );
        let form = Uuid::now_v7();
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO consent_forms (id, title, description, deadline_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(form)
        .bind(title)
        .bind(description)
        .bind(deadline_at)
        .bind(&activity.actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut summary = ConsentSendSummary::default();
        for class in classes {
            db::query("INSERT INTO consent_form_classes (form_id, class_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(form)
                .bind(class.0)
                .execute(&mut *tx)
                .await?;
            let pairs: Vec<(Uuid, Uuid)> = db::query_as(
                "SELECT gs.student_id, gs.guardian_id FROM guardian_students gs JOIN students s ON s.id = gs.student_id \
                 WHERE s.class_id = $1 AND s.active ORDER BY gs.student_id, gs.guardian_id",
            )
            .bind(class.0)
            .fetch_all(&mut *tx)
            .await?;
            for (student, guardian) in pairs {
                let request = Uuid::now_v7();
                // A form already within the reminder period is not reminded at once
                // (that would re-ask the question the guardian just received).
                let reminded = (deadline_at - now <= remind_before).then_some(now);
                db::query(
                    "INSERT INTO consent_requests (id, form_id, student_id, guardian_id, created_at, reminded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(request)
                .bind(form)
                .bind(student)
                .bind(guardian)
                .bind(now)
                .bind(reminded)
                .execute(&mut *tx)
                .await?;
                summary.requests += 1;
                let conversations = guardian_conversations(&mut tx, guardian).await?;
                if conversations.is_empty() {
                    summary.unreachable += 1;
                } else {
                    summary.delivered += 1;
                }
                for c in conversations {
                    let (tag, key) = (format!("consent:{request}"), format!("consent:{request}"));
                    let vars = request_vars(request);
                    start_flow(&mut tx, &self.keys, c, &tag, ("consent", key), vars, now).await?;
                }
            }
        }
        let mut entry = activity.clone();
        entry.subject = Some(format!("consent_form:{form}"));
        entry.details = serde_json::json!({
            "classes": classes.len(), "requests": summary.requests,
            "delivered": summary.delivered, "unreachable": summary.unreachable,
        });
        log(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok((form, summary))
    }

    async fn queue_consent_reminders(
        &self,
        now: DateTime<Utc>,
        before: chrono::Duration,
        only: Option<Uuid>,
    ) -> Result<u64> {
        const DUE: &str = "SELECT r.id, r.guardian_id FROM consent_requests r JOIN consent_forms f ON f.id = r.form_id \
             WHERE r.status = 'pending' AND r.reminded_at IS NULL AND f.deadline_at > $1 AND f.deadline_at <= $2 \
             ORDER BY r.id LIMIT 1000";
        let due = || {
            db::query_as::<(Uuid, Uuid)>(DUE)
                .bind(now)
                .bind(now + before)
        };
        if self.read_all(due()).await?.is_empty() {
            return Ok(0);
        }
        self.write(async |tx| {
            let due = due().fetch_all(&mut *tx).await?;
            remind(tx, &self.keys, &due, now, only, "consent-reminder").await
        })
        .await
    }

    async fn remind_consent_now(
        &self,
        form: Uuid,
        now: DateTime<Utc>,
        activity: &ActivityEntry,
    ) -> Result<Option<u64>> {
        self.write_some(async |tx| {
            let open: Option<(Uuid,)> =
                db::query_as("SELECT id FROM consent_forms WHERE id = $1 AND deadline_at > $2")
                    .bind(form)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
            if open.is_none() {
                return Ok(None);
            }
            let due: Vec<(Uuid, Uuid)> = db::query_as(
                "SELECT id, guardian_id FROM consent_requests WHERE form_id = $1 AND status = 'pending' ORDER BY id",
            )
            .bind(form)
            .fetch_all(&mut *tx)
            .await?;
            // A reminder sent by hand counts as the reminder (the automatic one
            // the day before is not sent again).
            // One reminder per ten minutes at most (a double click sends one).
            let kind = format!("consent-remind-now:{}", now.timestamp() / 600);
            let queued = remind(tx, &self.keys, &due, now, None, &kind).await?;
            let mut entry = activity.clone();
            entry.details = serde_json::json!({ "queued": queued, "pending": due.len() });
            log(tx, &entry).await?;
            Ok(Some(queued))
        })
        .await
    }

    async fn consent_requests(&self, form: Uuid) -> Result<Vec<ConsentRequestView>> {
        let sql = format!("SELECT {CONSENT_COLS} WHERE r.form_id = $1 ORDER BY s.full_name, r.id");
        let rows = self
            .read_all(db::query_as(sqlx::AssertSqlSafe(sql)).bind(form))
            .await?;
        rows.into_iter()
            .map(|r| consent_from_row(&self.keys, r))
            .collect()
    }

    async fn consent_forms(&self) -> Result<Vec<(Uuid, String, DateTime<Utc>, DateTime<Utc>)>> {
        self.read_all(db::query_as(
            "SELECT id, title, deadline_at, created_at FROM consent_forms ORDER BY created_at DESC, id DESC",
        ))
        .await
    }

    async fn leave_requests(&self, status: Option<&str>) -> Result<Vec<LeaveRequestView>> {
        let sql = format!(
            "SELECT {LEAVE_COLS} WHERE ($1 IS NULL OR l.status = $1) ORDER BY l.created_at, l.id"
        );
        let rows = self
            .read_all(db::query_as(sqlx::AssertSqlSafe(sql)).bind(status))
            .await?;
        rows.into_iter()
            .map(|r| leave_from_row(&self.keys, r))
            .collect()
    }

    async fn leave_request_by_id(&self, id: Uuid) -> Result<Option<LeaveRequestView>> {
        self.read(async |tx| leave_request(tx, &self.keys, id).await)
            .await
    }

    async fn decide_leave(
        &self,
        id: Uuid,
        approve: bool,
        note: Option<&str>,
        activity: &ActivityEntry,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.write(async |tx| decide_leave(tx, &self.keys, id, approve, note, activity, now).await)
            .await
    }

    async fn handoffs(&self) -> Result<Vec<Uuid>> {
        let q = db::query_as(
            "SELECT id FROM conversations WHERE handoff_at IS NOT NULL ORDER BY handoff_at, id",
        );
        let rows: Vec<(Uuid,)> = self.read_all(q).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn revoke_identities(
        &self,
        contact: ContactRef,
        activity: &ActivityEntry,
    ) -> Result<u64> {
        self.write(async |tx| {
            db::query("DELETE FROM channel_identities WHERE contact_kind = $1 AND contact_id = $2")
                .bind(contact.kind())
                .bind(contact.uuid())
                .execute(&mut *tx)
                .await?;
            // The driver sees the cleared contact and forgets who the session was.
            let done = db::query(
                "UPDATE conversations SET contact_kind = NULL, contact_id = NULL WHERE contact_kind = $1 AND contact_id = $2",
            )
            .bind(contact.kind())
            .bind(contact.uuid())
            .execute(&mut *tx)
            .await?;
            let mut entry = activity.clone();
            entry.details = serde_json::json!({ "chats": done.rows_affected() });
            log(tx, &entry).await?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn hand_back(&self, conversation: Uuid, activity: &ActivityEntry) -> Result<bool> {
        // The driver sees the cleared column and resets the session's handoff.
        let hand_back = db::query(
            "UPDATE conversations SET handoff_at = NULL WHERE id = $1 AND handoff_at IS NOT NULL",
        )
        .bind(conversation);
        self.change_one_then(hand_back, async |tx| {
            // A resume event in the ordered inbox: forms that waited start now.
            let key = format!("resume:{}", Uuid::now_v7());
            let body = InboundBody::Resume;
            enqueue_internal(tx, &self.keys, conversation, &key, body, activity.at).await?;
            log(tx, activity).await
        })
        .await
    }

    async fn set_setting(&self, name: &str, value: &str, activity: &ActivityEntry) -> Result<()> {
        let q = db::query(
            "INSERT INTO school_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        );
        self.execute_logged(q.bind(name).bind(value), activity)
            .await?;
        Ok(())
    }

    async fn session_of(&self, conversation: Uuid) -> Result<SessionRow> {
        self.read(async |tx| session(tx, &self.keys, conversation, None).await)
            .await
    }

    async fn assign_class(
        &self,
        staff: StaffId,
        class: ClassId,
        activity: &ActivityEntry,
    ) -> Result<()> {
        let q = db::query(
            "INSERT INTO staff_classes (staff_id, class_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        );
        self.execute_logged(q.bind(staff.0).bind(class.0), activity)
            .await?;
        Ok(())
    }

    async fn conversation_of(&self, channel: Uuid, sender: &str) -> Result<Option<Uuid>> {
        let bidx = super::conversation::sender_index(&self.keys, channel, sender);
        self.read(async |tx| super::conversation::find(tx, channel, &bidx).await)
            .await
    }
}
