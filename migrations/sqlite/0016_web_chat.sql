-- The web chat (issue 18): the provider check gains 'web'. SQLite cannot alter a
-- CHECK, so the table is rebuilt as in 0006 (foreign keys deferred to the commit;
-- re-inserting every row satisfies them again).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE conversations_copy AS SELECT * FROM conversations;
DROP TABLE conversations;
CREATE TABLE conversations (
    id              BLOB PRIMARY KEY,
    channel_id      BLOB NOT NULL,
    provider        TEXT NOT NULL CHECK (provider IN ('twilio', 'meta', 'telegram', 'console', 'web')),
    sender_bidx     BLOB NOT NULL,
    sender_enc      BLOB NOT NULL,
    last_inbound_at TEXT,
    opted_out_at    TEXT,
    created_at      TEXT NOT NULL,
    session_enc     BLOB,
    contact_kind    TEXT CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id      BLOB,
    handoff_at      TEXT,
    UNIQUE (channel_id, sender_bidx)
);
INSERT INTO conversations (id, channel_id, provider, sender_bidx, sender_enc, last_inbound_at,
    opted_out_at, created_at, session_enc, contact_kind, contact_id, handoff_at)
    SELECT id, channel_id, provider, sender_bidx, sender_enc, last_inbound_at, opted_out_at,
    created_at, session_enc, contact_kind, contact_id, handoff_at FROM conversations_copy;
DROP TABLE conversations_copy;
CREATE INDEX conversations_contact ON conversations (contact_kind, contact_id);
