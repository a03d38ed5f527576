-- Web admin office pages: attendance by day (dashboard, class registers) and
-- password reset links (only a hash of the link's token is kept; rows live 30 days).
CREATE INDEX attendance_day ON attendance (day);

CREATE TABLE password_resets (
    id         UUID PRIMARY KEY,
    staff_id   UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX password_resets_created ON password_resets (created_at);
