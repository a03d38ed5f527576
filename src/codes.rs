//! Access codes: issue one for a guardian or staff member, and redeem one (used by
//! the login flow). The plaintext exists only in the issuer's output; the database
//! holds its Argon2id hash and a 16-bit bucket (the first two bytes of an HMAC with the
//! school's index key). The bucket narrows a typed code to a handful of candidates
//! without being a fast way to test guesses: only the Argon2id hash says yes.

use crate::domain::access_code::AccessCode;
use crate::domain::activity::ActivityEntry;
use crate::domain::roster::ContactRef;
use crate::domain::AccessCodeId;
use crate::password::{self, HashError};
use crate::store::{AccessCodeStore, SchoolKeys, StoreError, StoredAccessCode};
use chrono::{DateTime, Duration, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::json;
use std::num::NonZeroU32;
use std::sync::Arc;

const LOOKUP_PURPOSE: &str = "access_code";

/// Code checks per second across the process (each costs an Argon2id verification).
pub fn global_login_limiter() -> Arc<DefaultDirectRateLimiter> {
    let per_second = NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(40).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::direct(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

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

/// 65,536 buckets: with thousands of live codes a bucket holds at most a few.
pub fn bucket(store: &(impl SchoolKeys + ?Sized), code: &AccessCode) -> Vec<u8> {
    bucket_with(store.keys(), code)
}

pub fn bucket_with(keys: &crate::store::crypto::KeyRing, code: &AccessCode) -> Vec<u8> {
    keys.blind_index(LOOKUP_PURPOSE, code.expose())[..2].to_vec()
}

/// Issues a fresh single-use code for the contact (revoking their unused ones),
/// hashing within the server's hashing bound when given one (the web admin; the
/// operator's CLI and the seed hash on their own).
pub async fn issue(
    gate: Option<&password::HashGate>,
    store: &(impl AccessCodeStore + SchoolKeys + ?Sized),
    contact: ContactRef,
    valid_for: Duration,
    actor: &str,
    source: &str,
) -> Result<(AccessCode, DateTime<Utc>), CodeError> {
    issue_at(gate, store, contact, Utc::now(), valid_for, actor, source).await
}

/// [`issue`] on a given clock: the code expires `valid_for` after `now`.
pub async fn issue_at(
    gate: Option<&password::HashGate>,
    store: &(impl AccessCodeStore + SchoolKeys + ?Sized),
    contact: ContactRef,
    now: DateTime<Utc>,
    valid_for: Duration,
    actor: &str,
    source: &str,
) -> Result<(AccessCode, DateTime<Utc>), CodeError> {
    if valid_for < Duration::hours(1) || valid_for > Duration::days(90) {
        return Err(CodeError::BadValidity);
    }
    let expires_at = now + valid_for;
    let code = AccessCode::generate();
    let hash = match gate {
        Some(g) => g.hash_waiting(code.expose().to_string()).await?,
        None => password::hash(code.expose().to_string()).await?,
    };
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
    store
        .insert_access_code(&row, &bucket(store, &code), &activity)
        .await?;
    Ok((code, expires_at))
}

/// The first of a bucket's `candidates` that the typed code matches, checked within the
/// hashing bound (waiting for a slot); a check that cannot run counts as no match.
pub async fn matching_in(
    gate: &password::HashGate,
    code: &AccessCode,
    candidates: Vec<StoredAccessCode>,
) -> Option<StoredAccessCode> {
    for candidate in candidates {
        let ok = gate
            .verify_waiting(code.expose().to_string(), candidate.code_hash.clone())
            .await
            .unwrap_or(false);
        if ok {
            return Some(candidate);
        }
    }
    None
}

/// Checks a typed code and, if it is good, uses it up. Returns who it belongs to.
pub async fn redeem(
    store: &(impl AccessCodeStore + SchoolKeys + ?Sized),
    typed: &str,
    source: &str,
) -> Result<ContactRef, CodeError> {
    let code = AccessCode::parse(typed).ok_or(CodeError::Invalid)?;
    let mut found = None;
    for candidate in store.access_codes_in_bucket(&bucket(store, &code)).await? {
        if password::verify(code.expose().to_string(), candidate.code_hash.clone()).await? {
            found = Some(candidate);
            break;
        }
    }
    let row = found.ok_or(CodeError::Invalid)?;
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
