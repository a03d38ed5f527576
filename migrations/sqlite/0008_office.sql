-- Web admin office pages: attendance by day (dashboard, class registers) and
-- password reset links (only a hash of the link's token is kept; rows live 30 days).
CREATE INDEX attendance_day ON attendance (day);

CREATE TABLE password_resets (
    id         BLOB PRIMARY KEY,
    staff_id   BLOB NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX password_resets_created ON password_resets (created_at);
