-- Flow engine: session state per conversation, the contact it is bound to, handoffs,
-- durable timers, login attempts, leave requests, consent forms, complaints.

ALTER TABLE conversations DROP CONSTRAINT conversations_provider_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_provider_check
    CHECK (provider IN ('twilio', 'meta', 'telegram', 'console'));
-- The engine's session (flow, step, variables), encrypted.
ALTER TABLE conversations ADD COLUMN session_enc BYTEA;
ALTER TABLE conversations ADD COLUMN contact_kind TEXT CHECK (contact_kind IN ('guardian', 'staff'));
ALTER TABLE conversations ADD COLUMN contact_id UUID;
-- Handed off to staff: the bot stays quiet until staff hand it back.
ALTER TABLE conversations ADD COLUMN handoff_at TIMESTAMPTZ;
CREATE INDEX conversations_contact ON conversations (contact_kind, contact_id);

CREATE TABLE flow_timers (
    id              UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations (id),
    token           TEXT NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    fired_at        TIMESTAMPTZ
);
CREATE INDEX flow_timers_due ON flow_timers (fired_at, due_at);

CREATE TABLE login_failures (
    id              UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations (id),
    at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_at ON login_failures (at);
CREATE INDEX login_failures_conversation ON login_failures (conversation_id, at);

CREATE TABLE school_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE leave_requests (
    id                UUID PRIMARY KEY,
    student_id        UUID NOT NULL REFERENCES students (id),
    guardian_id       UUID NOT NULL REFERENCES guardians (id),
    conversation_id   UUID REFERENCES conversations (id),
    kind              TEXT NOT NULL CHECK (kind IN ('sick', 'family', 'religious', 'other')),
    from_date         DATE NOT NULL,
    to_date           DATE NOT NULL CHECK (to_date >= from_date),
    reason_enc        BYTEA NOT NULL,
    -- The inbound event whose media is the attachment (see the media table).
    attachment_key    TEXT,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by        TEXT,
    decided_at        TIMESTAMPTZ,
    decision_note_enc BYTEA,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX leave_requests_status ON leave_requests (status, created_at);
CREATE INDEX leave_requests_student ON leave_requests (student_id);

CREATE TABLE consent_forms (
    id          UUID PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    deadline_at TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE consent_form_classes (
    form_id  UUID NOT NULL REFERENCES consent_forms (id) ON DELETE CASCADE,
    class_id UUID NOT NULL REFERENCES classes (id),
    PRIMARY KEY (form_id, class_id)
);

CREATE TABLE consent_requests (
    id          UUID PRIMARY KEY,
    form_id     UUID NOT NULL REFERENCES consent_forms (id) ON DELETE CASCADE,
    student_id  UUID NOT NULL REFERENCES students (id),
    guardian_id UUID NOT NULL REFERENCES guardians (id),
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    note_enc    BYTEA,
    answered_at TIMESTAMPTZ,
    reminded_at TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (form_id, student_id, guardian_id)
);
CREATE INDEX consent_requests_guardian ON consent_requests (guardian_id, status);

CREATE TABLE complaints (
    id              UUID PRIMARY KEY,
    contact_kind    TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id      UUID NOT NULL,
    conversation_id UUID REFERENCES conversations (id),
    text_enc        BYTEA NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      TIMESTAMPTZ NOT NULL
);
