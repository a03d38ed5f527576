//! Access codes: issue one for a guardian or staff member, and redeem one (used by
//! the login flow). The plaintext exists only in the issuer's output; the database
//! holds an Argon2id hash plus a keyed lookup value (HMAC with the school's index
//! key) so that a typed code can be found without trying every hash.

use crate::domain::access_code::AccessCode;
use crate::domain::activity::ActivityEntry;
use crate::domain::roster::ContactRef;
use crate::domain::AccessCodeId;
use crate::password::{self, HashError};
use crate::store::{StoreError, StoredAccessCode, TenantStore};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

const LOOKUP_PURPOSE: &str = "access_code";

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("that code is not valid")]
    Invalid,
    #[error("that code has expired; ask the school for a new one")]
    Expired,
    #[error("that code has already been used")]
    AlreadyUsed,
    #[error("validity must be between 1 hour and 90 days")]
    BadValidity,
}

fn lookup(store: &dyn TenantStore, code: &AccessCode) -> Vec<u8> {
    store.keys().blind_index(LOOKUP_PURPOSE, code.expose())
}

/// Issues a fresh single-use code for the contact (revoking their unused ones).
pub async fn issue(
    store: &dyn TenantStore,
    contact: ContactRef,
    valid_for: Duration,
    actor: &str,
    source: &str,
) -> Result<(AccessCode, DateTime<Utc>), CodeError> {
    if valid_for < Duration::hours(1) || valid_for > Duration::days(90) {
        return Err(CodeError::BadValidity);
    }
    let expires_at = Utc::now() + valid_for;
    // 40 random bits: a collision with a stored code is rare but possible; retry.
    for _ in 0..5 {
        let code = AccessCode::generate();
        let hash = password::hash(code.expose().to_string()).await?;
        let row = StoredAccessCode {
            id: AccessCodeId::new(),
            contact,
            code_hash: hash,
            expires_at,
            used_at: None,
            revoked_at: None,
        };
        let activity = ActivityEntry::now(
            actor,
            "access_code.issue",
            Some(format!("{}:{}", contact.kind(), contact.uuid())),
            source,
            json!({ "code_id": row.id, "expires_at": expires_at }),
        );
        match store
            .insert_access_code(&row, &lookup(store, &code), &activity)
            .await
        {
            Ok(()) => return Ok((code, expires_at)),
            Err(e) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(CodeError::Store(StoreError::Conflict(
        "could not find an unused code".into(),
    )))
}

/// Checks a typed code and, if it is good, uses it up. Returns who it belongs to.
pub async fn redeem(
    store: &dyn TenantStore,
    typed: &str,
    source: &str,
) -> Result<ContactRef, CodeError> {
    let code = AccessCode::parse(typed).ok_or(CodeError::Invalid)?;
    let row = store
        .access_code_by_lookup(&lookup(store, &code))
        .await?
        .ok_or(CodeError::Invalid)?;
    if !password::verify(code.expose().to_string(), row.code_hash.clone()).await? {
        return Err(CodeError::Invalid);
    }
    if row.revoked_at.is_some() {
        return Err(CodeError::Invalid);
    }
    if row.used_at.is_some() {
        return Err(CodeError::AlreadyUsed);
    }
    if row.expires_at <= Utc::now() {
        return Err(CodeError::Expired);
    }
    let subject = format!("{}:{}", row.contact.kind(), row.contact.uuid());
    let activity = ActivityEntry::now(
        &subject,
        "access_code.redeem",
        Some(subject.clone()),
        source,
        json!({ "code_id": row.id }),
    );
    if store.consume_access_code(row.id, &activity).await? {
        Ok(row.contact)
    } else {
        Err(CodeError::AlreadyUsed)
    }
}
