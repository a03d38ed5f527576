//! Staff sign-in for the web admin: email + password (Argon2id, off the async
//! runtime), TOTP two-factor (mandatory for admins), hashed recovery codes, server-side
//! sessions with idle and absolute timeouts, CSRF tokens, and lockouts per account
//! (in the school's database) and per client address (in memory).
//!
//! The cookie carries a random token; the database keeps only its SHA-256, so a copy of
//! the database does not sign anyone in.

use crate::domain::activity::ActivityEntry;
use crate::domain::roster::StaffRole;
use crate::domain::{Secret, StaffId};
use crate::password::{HashError, HashGate};
use crate::store::{AdminSessionRow, StaffAuth, StoreError};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

store_port!(trait StaffAuthStore, ActivityStore);

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// And after this long whatever happens.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Wrong passwords per account before it is locked for `LOCKOUT_WINDOW`.
pub const ACCOUNT_FAILURES: i64 = 5;
pub const LOCKOUT_WINDOW: Duration = Duration::minutes(15);
/// Sign-in attempts per client address per minute (all accounts together).
pub const ATTEMPTS_PER_ADDRESS_PER_MINUTE: u32 = 20;
/// Recovery codes issued at TOTP enrolment.
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Wrong email or password (never says which).
    #[error("the email or password is not right")]
    Invalid,
    #[error("too many failed sign-ins: this account is locked for 15 minutes")]
    Locked,
    #[error("too many sign-in attempts from this address; wait a minute")]
    TooManyFromAddress,
    /// Every password-checking slot is taken (a flood): try again in a few seconds.
    #[error("the service is busy; try again in a few seconds")]
    Busy,
    #[error("two-factor set-up failed: {0}")]
    Totp(String),
}

/// The cookie's value. Debug is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(Secret<String>);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl SessionToken {
    fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(Secret::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }
    pub fn from_cookie(value: &str) -> Self {
        Self(Secret::new(value.to_string()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.expose().as_bytes()).to_vec()
    }
}

/// Equal strings, compared in constant time (tokens, signatures).
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What the person must do after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Type the current code from their authenticator app.
    Totp,
    /// Admins must set up two-factor before anything else.
    EnrolTotp,
    /// Signed in (a teacher without two-factor).
    Done,
}

#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub next: NextStep,
}

/// The outcome of a second-factor attempt.
#[derive(Debug)]
pub enum TwoFactor {
    /// The new session's token (the old one no longer works).
    Passed(SessionToken),
    Wrong,
    /// Too many failures: the account is locked and the session ended.
    Locked,
    NoSession,
}

/// A valid session, with who it belongs to.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub staff: StaffAuth,
    pub mfa_done: bool,
    pub csrf_token: Secret<String>,
}

impl ActiveSession {
    /// The form's CSRF token matches this session's (constant time).
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        ct_eq(self.csrf_token.expose(), submitted)
    }
}

/// What enrolment shows once: the secret as a QR code and text, and the recovery codes.
pub struct Enrolment {
    pub otpauth_url: Secret<String>,
    pub secret_base32: Secret<String>,
    pub qr_svg: String,
    pub recovery_codes: Vec<Secret<String>>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

pub struct Auth {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// The process-wide bound on Argon2 work (shared with password links and chat
    /// access-code checks).
    gate: Arc<HashGate>,
    /// The hash checked for unknown emails and schools (made once, inside the gate).
    dummy: tokio::sync::OnceCell<String>,
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

/// The key of a client address for the per-address limit: an IPv6 address counts by
/// its /64 (one subscriber's whole prefix; each of its 2^64 addresses is not a new
/// bucket), an IPv4-mapped IPv6 address as its IPv4 address.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(bits))
            }
        },
    }
}

fn activity(
    staff: StaffId,
    action: &str,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> ActivityEntry {
    let mut e = ActivityEntry::now(
        &format!("staff:{}", staff.0),
        action,
        Some(format!("staff:{}", staff.0)),
        "admin",
        details,
    );
    e.at = at;
    e
}

/// The six digits of a TOTP code (spaces, dashes and direction marks ignored, Urdu/Arabic
/// digits read); None for
/// anything else, such as a recovery code that happens to hold six digits.
fn totp_digits(code: &str) -> Option<String> {
    // Spaces, dashes and invisible direction marks (pasted from right-to-left text) are
    // not part of a code.
    let digits: String = crate::domain::phone::normalise_digits(code)
        .chars()
        .filter(|c| {
            !(c.is_whitespace()
                || *c == '-'
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{061c}' | '\u{2066}'..='\u{2069}' | '\u{feff}'))
        })
        .collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

fn totp(secret: &[u8]) -> Result<totp_rs::Totp, AuthError> {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .map_err(|e| AuthError::Totp(format!("{e:?}")))
}

impl Auth {
    /// Counts one attempt from this address against the per-address limit (sign-in,
    /// two-factor and password-reset requests share it); false when over it.
    pub fn address_allowed(&self, address: IpAddr) -> bool {
        // Forget addresses whose limit has fully recovered, so a stream of distinct
        // addresses cannot grow the table without end.
        if self.per_address.len() > 10_000 {
            self.per_address.retain_recent();
        }
        self.per_address.check_key(&address_key(address)).is_ok()
    }

    /// [`Auth::address_allowed`] as a result: over the limit is
    /// [`AuthError::TooManyFromAddress`].
    fn attempt_from(&self, address: IpAddr) -> Result<(), AuthError> {
        if !self.address_allowed(address) {
            return Err(AuthError::TooManyFromAddress);
        }
        Ok(())
    }

    /// With a gate of its own (tests); the server shares one gate: [`Auth::with_gate`].
    pub fn new() -> Self {
        Self::with_gate(Arc::new(HashGate::from_cores()))
    }

    pub fn with_gate(gate: Arc<HashGate>) -> Self {
        let per_minute =
            NonZeroU32::new(ATTEMPTS_PER_ADDRESS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Self {
            per_address: RateLimiter::keyed(Quota::per_minute(per_minute)),
            gate,
            dummy: tokio::sync::OnceCell::new(),
        }
    }

    /// The bound on Argon2 work this sign-in shares.
    pub fn gate(&self) -> &Arc<HashGate> {
        &self.gate
    }

    /// A wrong email or an unknown school: the same Argon2 check as a wrong password
    /// (same time, same bound), against a hash nobody's password matches.
    async fn dummy_check(
        &self,
        place: crate::password::Place,
        typed: &str,
    ) -> Result<(), AuthError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let random: [u8; 16] = rand::random();
                self.gate.hash_waiting(hex::encode(random)).await
            })
            .await?
            .clone();
        self.gate
            .verify_placed(place, typed.to_string(), dummy)
            .await?;
        Ok(())
    }

    /// A sign-in naming a school that does not exist: limited and timed like any other,
    /// and answered alike (so school names cannot be enumerated).
    pub async fn sign_in_unknown_school(
        &self,
        password_typed: &str,
        address: IpAddr,
    ) -> Result<SignedIn, AuthError> {
        self.attempt_from(address)?;
        let place = self.gate.try_place().map_err(|_| AuthError::Busy)?;
        self.dummy_check(place, password_typed).await?;
        Err(AuthError::Invalid)
    }

    /// Email and password. Success starts a new session (a fresh token: nothing from
    /// before the sign-in carries over) that still needs two-factor when enabled.
    pub async fn sign_in(
        &self,
        store: &(impl Port + ?Sized),
        email: &str,
        password_typed: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, AuthError> {
        self.attempt_from(address)?;
        // The place in the hashing bound comes first: "busy" costs nothing and answers
        // a known and an unknown email alike.
        let place = self.gate.try_place().map_err(|_| AuthError::Busy)?;
        let staff = store.staff_by_email(email).await?;
        let usable = staff
            .as_ref()
            .filter(|s| s.active)
            .and_then(|s| s.password_hash.clone().map(|h| (s.clone(), h)));
        let Some((staff, hash)) = usable else {
            self.dummy_check(place, password_typed).await?;
            return Err(AuthError::Invalid);
        };
        // The attempt is claimed (counted as a failure) before the password is checked,
        // so simultaneous attempts can check at most ACCOUNT_FAILURES passwords; a
        // locked account stays locked, even for the right password.
        let Some(claim) = store
            .claim_staff_login_attempt(staff.id, now, now - LOCKOUT_WINDOW, ACCOUNT_FAILURES)
            .await?
        else {
            return Err(AuthError::Locked);
        };
        let checked = self
            .gate
            .verify_placed(place, password_typed.to_string(), hash)
            .await;
        if matches!(checked, Ok(true)) {
            store.release_staff_login_attempt(claim).await?;
        } else {
            checked?;
            let failures = store
                .staff_login_failures_since(staff.id, now - LOCKOUT_WINDOW)
                .await?;
            store
                .log_activity(&activity(
                    staff.id,
                    "staff.sign_in_failed",
                    json!({ "recent_failures": failures }),
                    now,
                ))
                .await?;
            return Err(if failures >= ACCOUNT_FAILURES {
                AuthError::Locked
            } else {
                AuthError::Invalid
            });
        }
        let next = if staff.totp_enabled_at.is_some() {
            NextStep::Totp
        } else if staff.role == StaffRole::Admin {
            NextStep::EnrolTotp
        } else {
            NextStep::Done
        };
        let token = SessionToken::generate();
        let csrf: [u8; 32] = rand::random();
        let row = AdminSessionRow {
            staff_id: staff.id,
            csrf_token: Secret::new(hex::encode(csrf)),
            mfa_done: next == NextStep::Done,
            created_at: now,
            last_seen_at: now,
            expires_at: now + ABSOLUTE_TIMEOUT,
        };
        store
            .create_admin_session(
                &token.hash(),
                &row,
                &activity(
                    staff.id,
                    "staff.sign_in",
                    json!({ "next": format!("{next:?}") }),
                    now,
                ),
            )
            .await?;
        Ok(SignedIn { token, next })
    }

    /// The session behind a cookie, if it is still valid (idle and absolute timeouts,
    /// account still active). Expired sessions are deleted.
    pub async fn session(
        &self,
        store: &(impl Port + ?Sized),
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveSession>, AuthError> {
        let id = token.hash();
        let Some(row) = store.admin_session(&id).await? else {
            return Ok(None);
        };
        if now >= row.expires_at || now - row.last_seen_at >= IDLE_TIMEOUT {
            store.delete_admin_session(&id).await?;
            return Ok(None);
        }
        let Some(staff) = store.staff_auth(row.staff_id).await?.filter(|s| s.active) else {
            store.delete_admin_session(&id).await?;
            return Ok(None);
        };
        // A write per minute at most, not per request.
        if now - row.last_seen_at >= Duration::minutes(1) {
            store.touch_admin_session(&id, now).await?;
        }
        Ok(Some(ActiveSession {
            staff,
            mfa_done: row.mfa_done,
            csrf_token: row.csrf_token,
        }))
    }

    /// Starts (or restarts) TOTP enrolment: a new secret, shown once as a QR code, and
    /// new recovery codes. Two-factor is on once the first code is accepted.
    pub async fn begin_enrolment(
        &self,
        store: &(impl Port + ?Sized),
        staff: &StaffAuth,
        email: &str,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> Result<Enrolment, AuthError> {
        // The recovery codes are hashed first: when the service is busy nothing is
        // written and the person simply tries again.
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        let mut hashes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let code = crate::domain::access_code::AccessCode::generate()
                .display()
                .to_string();
            // A request path: within the bound, busy beyond it (a signed-in person
            // posting this form over and over cannot queue unbounded work).
            hashes.push(self.gate.try_hash(code.clone()).await?);
            codes.push(Secret::new(code));
        }
        let secret: [u8; 20] = rand::random();
        if !store.set_totp_secret(staff.id, &secret).await? {
            return Err(AuthError::Totp(
                "two-factor is already on for this account".into(),
            ));
        }
        let base32 = totp_rs::Secret::from(secret.to_vec()).to_base32();
        let label = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
        let url = format!(
            "otpauth://totp/{}:{}?secret={base32}&issuer={}&algorithm=SHA1&digits=6&period=30",
            label(issuer),
            label(email),
            label(issuer)
        );
        let qr = qrcode::QrCode::new(url.as_bytes()).map_err(|e| AuthError::Totp(e.to_string()))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        store
            .replace_recovery_codes(
                staff.id,
                &hashes,
                &activity(staff.id, "staff.totp_enrolment_started", json!({}), now),
            )
            .await?;
        Ok(Enrolment {
            otpauth_url: Secret::new(url),
            secret_base32: Secret::new(base32),
            qr_svg,
            recovery_codes: codes,
        })
    }

    /// The second factor: the six-digit code from the authenticator app (each time step
    /// accepted once) or a recovery code (each works once). Failures count against the
    /// account like wrong passwords (5 in 15 minutes lock it and end the half-signed-in
    /// session), and against the client address. On success the session is replaced by
    /// a new one (new token, new CSRF token) that has passed two-factor.
    pub async fn second_factor(
        &self,
        store: &(impl Port + ?Sized),
        token: &SessionToken,
        code: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<TwoFactor, AuthError> {
        let Some(session) = self.session(store, token, now).await? else {
            return Ok(TwoFactor::NoSession);
        };
        self.attempt_from(address)?;
        let staff = &session.staff;
        // Claimed before checking, like passwords: parallel guesses cannot pass the limit.
        let Some(claim) = store
            .claim_staff_login_attempt(staff.id, now, now - LOCKOUT_WINDOW, ACCOUNT_FAILURES)
            .await?
        else {
            store.delete_admin_session(&token.hash()).await?;
            return Ok(TwoFactor::Locked);
        };
        let Some(secret) = &staff.totp_secret else {
            return Ok(TwoFactor::Wrong);
        };
        let mut passed = false;
        if let Some(digits) = totp_digits(code) {
            if let Some(step) = totp(secret.expose())?.check(&digits, now.timestamp().max(0) as u64)
            {
                let entry = activity(staff.id, "staff.totp_verified", json!({}), now);
                // A replayed code (same time step) is refused.
                passed = store
                    .accept_totp_step(staff.id, step as i64, &entry)
                    .await?;
            }
        } else if staff.totp_enabled_at.is_some() {
            // Only something shaped like a recovery code costs Argon2id checks.
            if let Some(rc) = crate::domain::access_code::AccessCode::parse(code) {
                let typed = rc.display().to_string();
                let mut checked_any = false;
                for (id, hash) in store.recovery_codes(staff.id).await? {
                    let checked = self.gate.try_verify(typed.clone(), hash).await;
                    if let Err(HashError::Busy) = checked {
                        // Given back only if no code was compared yet: a busy answer
                        // never buys free comparisons.
                        if !checked_any {
                            store.release_staff_login_attempt(claim).await?;
                        }
                        return Err(AuthError::Busy);
                    }
                    checked_any = true;
                    if checked? {
                        let entry = activity(staff.id, "staff.recovery_code_used", json!({}), now);
                        passed = store.use_recovery_code(id, &entry).await?;
                        break;
                    }
                }
            }
        }
        if passed {
            store.release_staff_login_attempt(claim).await?;
        } else {
            let failures = store
                .staff_login_failures_since(staff.id, now - LOCKOUT_WINDOW)
                .await?;
            if failures >= ACCOUNT_FAILURES {
                store.delete_admin_session(&token.hash()).await?;
                return Ok(TwoFactor::Locked);
            }
            return Ok(TwoFactor::Wrong);
        }
        // A fresh session: nothing known before the second factor stays valid after it.
        let id = token.hash();
        let Some(old) = store.admin_session(&id).await? else {
            return Ok(TwoFactor::NoSession);
        };
        let fresh = SessionToken::generate();
        let csrf: [u8; 32] = rand::random();
        let row = AdminSessionRow {
            staff_id: staff.id,
            csrf_token: Secret::new(hex::encode(csrf)),
            mfa_done: true,
            created_at: old.created_at,
            last_seen_at: now,
            expires_at: old.expires_at,
        };
        store
            .create_admin_session(
                &fresh.hash(),
                &row,
                &activity(staff.id, "staff.two_factor_passed", json!({}), now),
            )
            .await?;
        store.delete_admin_session(&id).await?;
        Ok(TwoFactor::Passed(fresh))
    }

    pub async fn sign_out(
        &self,
        store: &(impl Port + ?Sized),
        token: &SessionToken,
    ) -> Result<(), AuthError> {
        store.delete_admin_session(&token.hash()).await?;
        Ok(())
    }

    /// Ends every session of this staff member (all browsers, all devices).
    pub async fn sign_out_everywhere(
        &self,
        store: &(impl Port + ?Sized),
        staff: StaffId,
        now: DateTime<Utc>,
    ) -> Result<u64, AuthError> {
        Ok(store
            .delete_staff_sessions(
                staff,
                &activity(staff, "staff.sign_out_everywhere", json!({}), now),
            )
            .await?)
    }

    /// The current TOTP code for a secret (tests and the set-up page's self-check).
    pub fn current_code(secret: &[u8], at: DateTime<Utc>) -> Result<String, AuthError> {
        Ok(totp(secret)?
            .generate(at.timestamp().max(0) as u64)
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::{address_key, totp_digits};
    use std::net::IpAddr;

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(address_key(v4), v4);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(address_key(mapped), v4);
    }

    #[test]
    fn six_digits_are_a_totp_code_and_recovery_codes_are_not() {
        assert_eq!(totp_digits("123 456").as_deref(), Some("123456"));
        assert_eq!(totp_digits("۱۲۳۴۵۶").as_deref(), Some("123456"));
        // A recovery code with six digits among its letters (≈1% of them).
        assert_eq!(totp_digits("3Z4K-5678"), None);
        assert_eq!(totp_digits("3Z45678K"), None);
        assert_eq!(totp_digits("12345"), None);
        assert_eq!(totp_digits("123-456").as_deref(), Some("123456"));
        assert_eq!(
            totp_digits("\u{2068}123456\u{2069}\u{200f}").as_deref(),
            Some("123456")
        );
    }
}
