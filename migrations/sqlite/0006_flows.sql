-- Flow engine: session state per conversation, the contact it is bound to, handoffs,
-- durable timers, login attempts, leave requests, consent forms, complaints.

-- The provider check gains 'console' (the terminal simulator). SQLite cannot alter a
-- CHECK, so the table is rebuilt. Dropping it orphans the rows of inbound_events and
-- outbox for a moment: foreign keys are deferred to the commit, and re-inserting
-- every parent row satisfies them again (their REFERENCES name the table by name).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE conversations_copy AS SELECT * FROM conversations;
DROP TABLE conversations;
CREATE TABLE conversations (
    id              BLOB PRIMARY KEY,
    channel_id      BLOB NOT NULL,
    provider        TEXT NOT NULL CHECK (provider IN ('twilio', 'meta', 'telegram', 'console')),
    sender_bidx     BLOB NOT NULL,
    sender_enc      BLOB NOT NULL,
    last_inbound_at TEXT,
    opted_out_at    TEXT,
    created_at      TEXT NOT NULL,
    -- The engine's session (flow, step, variables), encrypted.
    session_enc     BLOB,
    contact_kind    TEXT CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id      BLOB,
    -- Handed off to staff: the bot stays quiet until staff hand it back.
    handoff_at      TEXT,
    UNIQUE (channel_id, sender_bidx)
);
INSERT INTO conversations (id, channel_id, provider, sender_bidx, sender_enc, last_inbound_at, opted_out_at, created_at)
    SELECT id, channel_id, provider, sender_bidx, sender_enc, last_inbound_at, opted_out_at, created_at FROM conversations_copy;
DROP TABLE conversations_copy;
CREATE INDEX conversations_contact ON conversations (contact_kind, contact_id);

CREATE TABLE flow_timers (
    id              BLOB PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    token           TEXT NOT NULL,
    due_at          TEXT NOT NULL,
    fired_at        TEXT
);
CREATE INDEX flow_timers_due ON flow_timers (fired_at, due_at);

CREATE TABLE login_failures (
    id              BLOB PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    at              TEXT NOT NULL
);
CREATE INDEX login_failures_at ON login_failures (at);
CREATE INDEX login_failures_conversation ON login_failures (conversation_id, at);

CREATE TABLE school_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE leave_requests (
    id                BLOB PRIMARY KEY,
    student_id        BLOB NOT NULL REFERENCES students (id),
    guardian_id       BLOB NOT NULL REFERENCES guardians (id),
    conversation_id   BLOB REFERENCES conversations (id),
    kind              TEXT NOT NULL CHECK (kind IN ('sick', 'family', 'religious', 'other')),
    from_date         DATE NOT NULL,
    to_date           DATE NOT NULL CHECK (to_date >= from_date),
    reason_enc        BLOB NOT NULL,
    -- The inbound event whose media is the attachment (see the media table).
    attachment_key    TEXT,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by        TEXT,
    decided_at        TEXT,
    decision_note_enc BLOB,
    created_at        TEXT NOT NULL
);
CREATE INDEX leave_requests_status ON leave_requests (status, created_at);
CREATE INDEX leave_requests_student ON leave_requests (student_id);

CREATE TABLE consent_forms (
    id          BLOB PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    deadline_at TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE consent_form_classes (
    form_id  BLOB NOT NULL REFERENCES consent_forms (id) ON DELETE CASCADE,
    class_id BLOB NOT NULL REFERENCES classes (id),
    PRIMARY KEY (form_id, class_id)
);

CREATE TABLE consent_requests (
    id          BLOB PRIMARY KEY,
    form_id     BLOB NOT NULL REFERENCES consent_forms (id) ON DELETE CASCADE,
    student_id  BLOB NOT NULL REFERENCES students (id),
    guardian_id BLOB NOT NULL REFERENCES guardians (id),
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    note_enc    BLOB,
    answered_at TEXT,
    reminded_at TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (form_id, student_id, guardian_id)
);
CREATE INDEX consent_requests_guardian ON consent_requests (guardian_id, status);

CREATE TABLE complaints (
    id              BLOB PRIMARY KEY,
    contact_kind    TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id      BLOB NOT NULL,
    conversation_id BLOB REFERENCES conversations (id),
    text_enc        BLOB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      TEXT NOT NULL
);
