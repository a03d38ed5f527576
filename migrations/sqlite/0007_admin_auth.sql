-- Web admin sign-in: server-side sessions (only a hash of the cookie's token is kept),
-- TOTP two-factor state, hashed recovery codes, and failed sign-ins per account.
ALTER TABLE staff_users ADD COLUMN totp_enabled_at TEXT;
-- The last TOTP time step accepted: a code is never accepted twice.
ALTER TABLE staff_users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE admin_sessions (
    id_hash      BLOB PRIMARY KEY,
    staff_id     BLOB NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    mfa_done     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX admin_sessions_staff ON admin_sessions (staff_id);

CREATE TABLE staff_recovery_codes (
    id        BLOB PRIMARY KEY,
    staff_id  BLOB NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   TEXT
);
CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes (staff_id);

CREATE TABLE staff_login_failures (
    id       BLOB PRIMARY KEY,
    staff_id BLOB NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    at       TEXT NOT NULL
);
CREATE INDEX staff_login_failures_staff ON staff_login_failures (staff_id, at);
