//! SQL of staff sign-in (sessions, two-factor, recovery codes, failed attempts),
//! shared by both backends like `sql.rs`.

use super::{log, SchoolStore};
use crate::domain::activity::ActivityEntry;
use crate::domain::roster::StaffRole;
use crate::domain::{BranchId, Secret, StaffId};
use crate::store::db::{self, Tx};
use crate::store::sql::{corrupt, field};
use crate::store::{AdminSessionRow, Result, StaffAuth, StaffAuthStore};
use chrono::{DateTime, Utc};
use uuid::Uuid;

type StaffRow = (
    Uuid,
    String,
    String,
    String,
    Option<Uuid>,
    bool,
    Option<String>,
    Option<Vec<u8>>,
    Option<DateTime<Utc>>,
    Option<i64>,
);
const STAFF_COLS: &str =
    "id, full_name, email, role, branch_id, active, password_hash, totp_secret_enc, \
    totp_enabled_at, totp_last_step FROM staff_users";

fn staff_from_row(keys: &crate::store::crypto::KeyRing, r: StaffRow) -> Result<StaffAuth> {
    let (id, full_name, email, role, branch, active, password_hash, totp, enabled, last) = r;
    Ok(StaffAuth {
        id: StaffId(id),
        full_name,
        email,
        role: role.parse::<StaffRole>().map_err(corrupt)?,
        branch: branch.map(BranchId),
        active,
        password_hash,
        totp_secret: totp
            .map(|t| {
                keys.decrypt(field("staff_users", "totp_secret_enc", id), &t)
                    .map(Secret::new)
            })
            .transpose()?,
        totp_enabled_at: enabled,
        totp_last_step: last,
    })
}

type SessionRow = (
    Uuid,
    String,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// A staff member's failed sign-ins since a time.
const FAILURES_SINCE: &str =
    "SELECT COUNT(*) FROM staff_login_failures WHERE staff_id = $1 AND at >= $2";

/// Stores a reset link's token hash for a staff member.
pub(super) async fn insert_password_reset(
    tx: &mut Tx,
    staff: Uuid,
    token_hash: &[u8],
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    db::query(
        "INSERT INTO password_resets (id, staff_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(staff)
    .bind(token_hash)
    .bind(at)
    .bind(expires_at)
    .execute(tx)
    .await?;
    Ok(())
}

/// Every staff member, by name (the admin's staff list).
pub(super) async fn all_staff(store: &SchoolStore) -> Result<Vec<StaffAuth>> {
    // STAFF_COLS is a constant: nothing of a request is in this text.
    let sql = format!("SELECT {STAFF_COLS} ORDER BY full_name");
    let rows: Vec<StaffRow> = store
        .read_all(db::query_as(sqlx::AssertSqlSafe(sql)))
        .await?;
    rows.into_iter()
        .map(|r| staff_from_row(&store.keys, r))
        .collect()
}

impl SchoolStore {
    /// The staff member a query over [`STAFF_COLS`] finds, decrypted.
    async fn staff_where(&self, q: db::QueryAs<'_, StaffRow>) -> Result<Option<StaffAuth>> {
        let row = self.read_optional(q).await?;
        row.map(|r| staff_from_row(&self.keys, r)).transpose()
    }
}

#[async_trait::async_trait]
impl StaffAuthStore for SchoolStore {
    async fn staff_by_email(&self, email: &str) -> Result<Option<StaffAuth>> {
        let sql = format!("SELECT {STAFF_COLS} WHERE lower(email) = lower($1)");
        self.staff_where(db::query_as(sqlx::AssertSqlSafe(sql)).bind(email.trim()))
            .await
    }

    async fn staff_auth(&self, id: StaffId) -> Result<Option<StaffAuth>> {
        let sql = format!("SELECT {STAFF_COLS} WHERE id = $1");
        self.staff_where(db::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0))
            .await
    }

    async fn claim_staff_login_attempt(
        &self,
        staff: StaffId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        max: i64,
    ) -> Result<Option<Uuid>> {
        let mut tx = self.begin().await?;
        // Locks the account's row (PostgreSQL; SQLite's writer is already
        // alone), so simultaneous attempts count one after another.
        db::query("UPDATE staff_users SET active = active WHERE id = $1")
            .bind(staff.0)
            .execute(&mut *tx)
            .await?;
        let (n,): (i64,) = db::query_as(FAILURES_SINCE)
            .bind(staff.0)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
        if n >= max {
            tx.rollback().await?;
            return Ok(None);
        }
        let id = Uuid::now_v7();
        db::query("INSERT INTO staff_login_failures (id, staff_id, at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(staff.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        db::query("DELETE FROM staff_login_failures WHERE at < $1")
            .bind(at - chrono::Duration::days(1))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn release_staff_login_attempt(&self, id: Uuid) -> Result<()> {
        self.execute(db::query("DELETE FROM staff_login_failures WHERE id = $1").bind(id))
            .await?;
        Ok(())
    }

    async fn staff_login_failures_since(
        &self,
        staff: StaffId,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        let q = db::query_as(FAILURES_SINCE).bind(staff.0).bind(since);
        let (n,): (i64,) = self.read_one(q).await?;
        Ok(n)
    }

    async fn create_admin_session(
        &self,
        id_hash: &[u8],
        row: &AdminSessionRow,
        activity: &ActivityEntry,
    ) -> Result<()> {
        self.write(async |tx| {
            db::query(
                "INSERT INTO admin_sessions (id_hash, staff_id, csrf_token, mfa_done, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id_hash)
            .bind(row.staff_id.0)
            .bind(row.csrf_token.expose())
            .bind(row.mfa_done)
            .bind(row.created_at)
            .bind(row.last_seen_at)
            .bind(row.expires_at)
            .execute(&mut *tx)
            .await?;
            // Expired sessions are removed as new ones start.
            db::query("DELETE FROM admin_sessions WHERE expires_at < $1")
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
            log(tx, activity).await
        })
        .await
    }

    async fn admin_session(&self, id_hash: &[u8]) -> Result<Option<AdminSessionRow>> {
        let row: Option<SessionRow> = self
            .read_optional(
                db::query_as(
                    "SELECT staff_id, csrf_token, mfa_done, created_at, last_seen_at, expires_at \
                     FROM admin_sessions WHERE id_hash = $1",
                )
                .bind(id_hash),
            )
            .await?;
        Ok(row.map(
            |(staff, csrf, mfa_done, created_at, last_seen_at, expires_at)| AdminSessionRow {
                staff_id: StaffId(staff),
                csrf_token: Secret::new(csrf),
                mfa_done,
                created_at,
                last_seen_at,
                expires_at,
            },
        ))
    }

    async fn touch_admin_session(&self, id_hash: &[u8], at: DateTime<Utc>) -> Result<()> {
        let q = db::query("UPDATE admin_sessions SET last_seen_at = $2 WHERE id_hash = $1");
        self.execute(q.bind(id_hash).bind(at)).await?;
        Ok(())
    }

    async fn mark_admin_session_mfa(&self, id_hash: &[u8]) -> Result<()> {
        let q = db::query("UPDATE admin_sessions SET mfa_done = TRUE WHERE id_hash = $1");
        self.execute(q.bind(id_hash)).await?;
        Ok(())
    }

    async fn delete_admin_session(&self, id_hash: &[u8]) -> Result<()> {
        let q = db::query("DELETE FROM admin_sessions WHERE id_hash = $1");
        self.execute(q.bind(id_hash)).await?;
        Ok(())
    }

    async fn delete_staff_sessions(&self, staff: StaffId, activity: &ActivityEntry) -> Result<u64> {
        let q = db::query("DELETE FROM admin_sessions WHERE staff_id = $1");
        self.execute_logged(q.bind(staff.0), activity).await
    }

    async fn set_totp_secret(&self, staff: StaffId, secret: &[u8]) -> Result<bool> {
        let enc = self
            .keys
            .encrypt(field("staff_users", "totp_secret_enc", staff.0), secret)?;
        let q = db::query(
            // Only before two-factor is on: an active second factor is never swapped
            // (a lost phone uses a recovery code; a reset is an admin action).
            "UPDATE staff_users SET totp_secret_enc = $2, totp_last_step = NULL WHERE id = $1 AND totp_enabled_at IS NULL",
        );
        Ok(self.execute(q.bind(staff.0).bind(enc)).await? == 1)
    }

    async fn accept_totp_step(
        &self,
        staff: StaffId,
        step: i64,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let q = db::query(
            "UPDATE staff_users SET totp_last_step = $2, totp_enabled_at = COALESCE(totp_enabled_at, $3) \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        );
        self.change_one(q.bind(staff.0).bind(step).bind(activity.at), activity)
            .await
    }

    async fn replace_recovery_codes(
        &self,
        staff: StaffId,
        hashes: &[String],
        activity: &ActivityEntry,
    ) -> Result<()> {
        let clear = db::query("DELETE FROM staff_recovery_codes WHERE staff_id = $1");
        let insert = hashes.iter().map(|h| {
            db::query(
                "INSERT INTO staff_recovery_codes (id, staff_id, code_hash) VALUES ($1, $2, $3)",
            )
            .bind(Uuid::now_v7())
            .bind(staff.0)
            .bind(h)
        });
        let statements = std::iter::once(clear.bind(staff.0)).chain(insert).collect();
        self.execute_all_logged(statements, activity).await
    }

    async fn recovery_codes(&self, staff: StaffId) -> Result<Vec<(Uuid, String)>> {
        let q = db::query_as(
            "SELECT id, code_hash FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL ORDER BY id",
        );
        self.read_all(q.bind(staff.0)).await
    }

    async fn reset_two_factor(&self, staff: StaffId, activity: &ActivityEntry) -> Result<bool> {
        let reset = db::query(
            "UPDATE staff_users SET totp_secret_enc = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
             WHERE id = $1",
        );
        self.change_one_then(reset.bind(staff.0), async |tx| {
            for sql in [
                "DELETE FROM staff_recovery_codes WHERE staff_id = $1",
                "DELETE FROM admin_sessions WHERE staff_id = $1",
            ] {
                db::query(sql).bind(staff.0).execute(&mut *tx).await?;
            }
            log(tx, activity).await
        })
        .await
    }

    async fn use_recovery_code(&self, id: Uuid, activity: &ActivityEntry) -> Result<bool> {
        let q = db::query(
            "UPDATE staff_recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
        );
        self.change_one(q.bind(id).bind(activity.at), activity)
            .await
    }
    async fn create_password_reset(
        &self,
        staff: StaffId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
        max_per_hour: Option<i64>,
        activity: &ActivityEntry,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        if let Some(max) = max_per_hour {
            // The account's row locked: simultaneous requests count in turn.
            db::query("UPDATE staff_users SET active = active WHERE id = $1")
                .bind(staff.0)
                .execute(&mut *tx)
                .await?;
            let (n,): (i64,) = db::query_as(
                "SELECT COUNT(*) FROM password_resets WHERE staff_id = $1 AND created_at >= $2",
            )
            .bind(staff.0)
            .bind(activity.at - chrono::Duration::hours(1))
            .fetch_one(&mut *tx)
            .await?;
            if n >= max {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        // Requests are kept 30 days (the retention table), then removed.
        db::query("DELETE FROM password_resets WHERE created_at < $1")
            .bind(activity.at - chrono::Duration::days(30))
            .execute(&mut *tx)
            .await?;
        // A new link replaces the staff member's unused ones.
        db::query(
            "UPDATE password_resets SET used_at = $2 WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(staff.0)
        .bind(activity.at)
        .execute(&mut *tx)
        .await?;
        insert_password_reset(&mut tx, staff.0, token_hash, activity.at, expires_at).await?;
        log(&mut tx, activity).await?;
        tx.commit().await?;
        Ok(true)
    }
    async fn password_reset_valid(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<StaffId>> {
        let q = db::query_as(
            "SELECT r.staff_id FROM password_resets r JOIN staff_users s ON s.id = r.staff_id \
             WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND s.active",
        );
        let row: Option<(Uuid,)> = self.read_optional(q.bind(token_hash).bind(now)).await?;
        Ok(row.map(|(s,)| StaffId(s)))
    }
    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        activity: &ActivityEntry,
    ) -> Result<Option<StaffId>> {
        let mut tx = self.begin().await?;
        let row: Option<(Uuid,)> = db::query_as(
            "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 AND staff_id IN (SELECT id FROM staff_users WHERE active) RETURNING staff_id",
        )
        .bind(token_hash)
        .bind(activity.at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((staff,)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        db::query("UPDATE staff_users SET password_hash = $2 WHERE id = $1")
            .bind(staff)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        // Every session ends and the failed attempts are forgotten.
        db::query("DELETE FROM admin_sessions WHERE staff_id = $1")
            .bind(staff)
            .execute(&mut *tx)
            .await?;
        db::query("DELETE FROM staff_login_failures WHERE staff_id = $1")
            .bind(staff)
            .execute(&mut *tx)
            .await?;
        let mut entry = activity.clone();
        entry.subject = Some(format!("staff:{staff}"));
        log(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(StaffId(staff)))
    }
}
