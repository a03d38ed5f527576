//! Access codes: issued, looked up by bucket, consumed once.

use crate::domain::activity::ActivityEntry;
use crate::domain::roster::ContactRef;
use crate::domain::AccessCodeId;
use crate::store::sql::corrupt;
use crate::store::{AccessCodeStore, Result, StoredAccessCode};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{log, SchoolStore};
use crate::store::db::{self, Conn, Tx};

#[async_trait::async_trait]
impl AccessCodeStore for SchoolStore {
    async fn insert_access_code(
        &self,
        code: &StoredAccessCode,
        bucket: &[u8],
        activity: &ActivityEntry,
    ) -> Result<()> {
        let now = Utc::now();
        self.write(async |tx| {
            revoke_unused(tx, code.contact, now).await?;
            db::query(
                "INSERT INTO access_codes (id, contact_kind, contact_id, code_bucket, code_hash, expires_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(code.id.0)
            .bind(code.contact.kind())
            .bind(code.contact.uuid())
            .bind(bucket)
            .bind(&code.code_hash)
            .bind(code.expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            log(tx, activity).await
        })
        .await
    }

    async fn access_codes_in_bucket(&self, bucket: &[u8]) -> Result<Vec<StoredAccessCode>> {
        self.read(async |tx| in_bucket(tx, bucket).await).await
    }

    async fn consume_access_code(
        &self,
        id: AccessCodeId,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let now = Utc::now();
        let used = self
            .write_some(async |tx| Ok(consume_logged(tx, id, now, activity).await?.then_some(())))
            .await?;
        Ok(used.is_some())
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
}

type CodeRow = (
    Uuid,
    String,
    Uuid,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// The unrevoked codes filed under a bucket (the newest 16).
pub(super) async fn in_bucket(c: &mut Conn, bucket: &[u8]) -> Result<Vec<StoredAccessCode>> {
    let rows: Vec<CodeRow> = db::query_as(
        "SELECT id, contact_kind, contact_id, code_hash, expires_at, used_at, revoked_at \
         FROM access_codes WHERE code_bucket = $1 AND revoked_at IS NULL \
         ORDER BY id DESC LIMIT 16",
    )
    .bind(bucket)
    .fetch_all(c)
    .await?;
    rows.into_iter()
        .map(
            |(id, kind, contact_id, code_hash, expires_at, used_at, revoked_at)| {
                Ok(StoredAccessCode {
                    id: AccessCodeId(id),
                    contact: ContactRef::from_parts(&kind, contact_id)
                        .ok_or_else(|| corrupt("contact kind"))?,
                    code_hash,
                    expires_at,
                    used_at,
                    revoked_at,
                })
            },
        )
        .collect()
}

/// Revokes a contact's unused codes at `at`; how many.
pub(super) async fn revoke_unused(
    c: &mut Conn,
    contact: ContactRef,
    at: DateTime<Utc>,
) -> Result<u64> {
    let done = db::query(
        "UPDATE access_codes SET revoked_at = $3 WHERE contact_kind = $1 AND contact_id = $2 \
         AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(contact.kind())
    .bind(contact.uuid())
    .bind(at)
    .execute(c)
    .await?;
    Ok(done.rows_affected())
}

/// Marks a code used at `at` and logs the activity, once: false (nothing logged) if
/// it was used or revoked already.
pub(super) async fn consume_logged(
    tx: &mut Tx,
    id: AccessCodeId,
    at: DateTime<Utc>,
    activity: &ActivityEntry,
) -> Result<bool> {
    if !consume(tx, id, at).await? {
        return Ok(false);
    }
    log(tx, activity).await?;
    Ok(true)
}

/// Marks a code used at `at`, once: false if it was used or revoked already.
pub(super) async fn consume(c: &mut Conn, id: AccessCodeId, at: DateTime<Utc>) -> Result<bool> {
    let done = db::query(
        "UPDATE access_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id.0)
    .bind(at)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}
