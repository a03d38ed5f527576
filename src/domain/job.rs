//! Durable jobs: what they are and the kinds there are (no IO here; the store keeps
//! them, `worker::jobs` runs them). See ARCHITECTURE.md, "Slow work".

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Downloading an inbound message's media from its provider.
pub const MEDIA_FETCH: &str = "media.fetch";
/// Attempts at a media download before it is given up on.
pub const MEDIA_FETCH_ATTEMPTS: i32 = 8;

/// Triage of a complaint (AI on redacted text, or local rules).
pub const COMPLAINT_TRIAGE: &str = "complaint.triage";
/// Attempts at an AI triage before the complaint is triaged locally.
pub const COMPLAINT_TRIAGE_ATTEMPTS: i32 = 4;

/// Telling staff of a new, reopened or assigned complaint (email where SMTP is set;
/// the dashboard shows it either way).
pub const COMPLAINT_NOTICE: &str = "complaint.notice";
/// Attempts at sending the notice.
pub const COMPLAINT_NOTICE_ATTEMPTS: i32 = 5;

/// Telling the office of a lead the enquiry bot took (email where SMTP is set; the
/// dashboard and the leads page show it either way).
pub const LEAD_NOTICE: &str = "lead.notice";
/// A school's export for its administrators (issue 19): the zip, encrypted at rest.
pub const SCHOOL_EXPORT: &str = "school.export";
/// How long an export's file is offered (then deleted by the retention pass).
pub const EXPORT_KEPT_DAYS: i64 = 7;

pub fn school_export(by: &str, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: SCHOOL_EXPORT.into(),
        idempotency_key: format!("export:{}", Uuid::now_v7()),
        conversation: None,
        payload: serde_json::json!({ "by": by }),
        max_attempts: 2,
        run_after: now,
    }
}

/// The school's administrators told of a data-subject request (issue 19).
pub const PRIVACY_NOTICE: &str = "privacy.notice";

/// Matching one photo of a face-attendance session (detection, embeddings, the
/// class decision); the photo is deleted once read.
pub const FACE_MATCH: &str = "face.match";
/// Attempts at a face match (a model error, a crash) before the teacher is told.
pub const FACE_MATCH_ATTEMPTS: i32 = 3;

/// A durable job to enqueue. The payload holds ids and settings only, never personal
/// data (that stays in the encrypted rows it points to).
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    /// A second job with the same key is not enqueued (the change that needs it may be
    /// retried).
    pub idempotency_key: String,
    /// The conversation whose ordered inbox receives the job's result, if any.
    pub conversation: Option<Uuid>,
    pub payload: serde_json::Value,
    pub max_attempts: i32,
    pub run_after: DateTime<Utc>,
}

/// The download of one media item, due at once.
pub fn media_fetch(media: Uuid, conversation: Uuid, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: MEDIA_FETCH.into(),
        idempotency_key: format!("media:{media}"),
        conversation: Some(conversation),
        payload: serde_json::json!({ "media": media }),
        max_attempts: MEDIA_FETCH_ATTEMPTS,
        run_after: now,
    }
}

/// The triage of one complaint, due at once.
pub fn complaint_triage(complaint: Uuid, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: COMPLAINT_TRIAGE.into(),
        idempotency_key: format!("triage:{complaint}"),
        conversation: None,
        payload: serde_json::json!({ "complaint": complaint }),
        max_attempts: COMPLAINT_TRIAGE_ATTEMPTS,
        run_after: now,
    }
}

/// The notice of a complaint event ("new", "reopened", "assigned" to `staff`), due at
/// once; once per event.
pub fn complaint_notice(
    complaint: Uuid,
    staff: Option<crate::domain::StaffId>,
    event: &str,
    now: DateTime<Utc>,
) -> NewJob {
    NewJob {
        kind: COMPLAINT_NOTICE.into(),
        idempotency_key: format!(
            "notice:{complaint}:{event}:{}:{}",
            staff.map(|s| s.0.to_string()).unwrap_or_default(),
            now.timestamp_millis()
        ),
        conversation: None,
        payload: serde_json::json!({
            "complaint": complaint,
            "event": event,
            "staff": staff.map(|s| s.0),
        }),
        max_attempts: COMPLAINT_NOTICE_ATTEMPTS,
        run_after: now,
    }
}

/// The office's notice of a new lead.
pub fn lead_notice(lead: Uuid, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: LEAD_NOTICE.into(),
        idempotency_key: format!("lead:{lead}"),
        conversation: None,
        payload: serde_json::json!({ "lead": lead }),
        max_attempts: COMPLAINT_NOTICE_ATTEMPTS,
        run_after: now,
    }
}

pub fn privacy_notice(request: Uuid, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: PRIVACY_NOTICE.into(),
        idempotency_key: format!("privacy:{request}"),
        conversation: None,
        payload: serde_json::json!({ "request": request }),
        max_attempts: COMPLAINT_NOTICE_ATTEMPTS,
        run_after: now,
    }
}

/// The request a `privacy.notice` payload names.
pub fn privacy_request_of_payload(payload: &serde_json::Value) -> Option<Uuid> {
    payload.get("request")?.as_str()?.parse().ok()
}

/// The lead a `lead.notice` payload names.
pub fn lead_of_payload(payload: &serde_json::Value) -> Option<Uuid> {
    payload.get("lead")?.as_str()?.parse().ok()
}

/// The complaint a `complaint.triage` payload names.
pub fn complaint_of_payload(payload: &serde_json::Value) -> Option<Uuid> {
    payload.get("complaint")?.as_str()?.parse().ok()
}

/// The media item a `media.fetch` payload names.
pub fn media_of_payload(payload: &serde_json::Value) -> Option<Uuid> {
    payload.get("media")?.as_str()?.parse().ok()
}

/// The face match of one photo of a session, due at once.
pub fn face_match(
    session: Uuid,
    conversation: Uuid,
    media_key: &str,
    now: DateTime<Utc>,
) -> NewJob {
    NewJob {
        kind: FACE_MATCH.into(),
        idempotency_key: format!("face:{session}:{media_key}"),
        conversation: Some(conversation),
        payload: serde_json::json!({ "session": session.to_string(), "media": media_key }),
        max_attempts: FACE_MATCH_ATTEMPTS,
        run_after: now,
    }
}

/// The session and media key of a face-match job's payload.
pub fn face_of_payload(payload: &serde_json::Value) -> Option<(Uuid, String)> {
    let session = payload.get("session")?.as_str()?.parse().ok()?;
    let media = payload.get("media")?.as_str()?.to_string();
    Some((session, media))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_payload_round_trips_and_accepts_the_migrated_form() {
        let id = Uuid::now_v7();
        let job = media_fetch(id, Uuid::now_v7(), Utc::now());
        assert_eq!(media_of_payload(&job.payload), Some(id));
        // Rows migrated from the old media queue carry the id as bare hex.
        let hex = serde_json::json!({ "media": id.simple().to_string() });
        assert_eq!(media_of_payload(&hex), Some(id));
        assert_eq!(media_of_payload(&serde_json::json!({})), None);
    }
}
