-- Web admin sign-in: server-side sessions (only a hash of the cookie's token is kept),
-- TOTP two-factor state, hashed recovery codes, and failed sign-ins per account.
ALTER TABLE staff_users ADD COLUMN totp_enabled_at TIMESTAMPTZ;
-- The last TOTP time step accepted: a code is never accepted twice.
ALTER TABLE staff_users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE admin_sessions (
    id_hash      BYTEA PRIMARY KEY,
    staff_id     UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    mfa_done     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX admin_sessions_staff ON admin_sessions (staff_id);

CREATE TABLE staff_recovery_codes (
    id        UUID PRIMARY KEY,
    staff_id  UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   TIMESTAMPTZ
);
CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes (staff_id);

CREATE TABLE staff_login_failures (
    id       UUID PRIMARY KEY,
    staff_id UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_login_failures_staff ON staff_login_failures (staff_id, at);
