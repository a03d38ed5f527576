-- Media of inbound messages, fetched from the provider right away, checked by content,
-- stripped of metadata and stored encrypted. The message is processed only once its
-- media is stored (or rejected, or given up on after the last attempt).
CREATE TABLE media (
    id               BLOB PRIMARY KEY,
    inbound_event_id BLOB NOT NULL UNIQUE REFERENCES inbound_events (id),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'rejected', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    mime             TEXT,
    size_bytes       INTEGER,
    content_enc      BLOB,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX media_due ON media (state, next_attempt_at);
