-- Complaints as threads (issue 16): a reference people can quote (C-2412-0042), a
-- status with a middle step, an assignee, closing with a reason, and the messages
-- of the thread (the person's additions and files, staff replies, internal notes).
-- SQLite cannot change a CHECK: the table is rebuilt under its own name (nothing
-- references it yet).
ALTER TABLE complaints RENAME TO complaints_before_threads;
CREATE TABLE complaints (
    id                BLOB PRIMARY KEY,
    contact_kind      TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id        BLOB NOT NULL,
    conversation_id   BLOB REFERENCES conversations (id),
    text_enc          BLOB NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'closed')),
    created_at        TEXT NOT NULL,
    triage_source     TEXT CHECK (triage_source IN ('ai', 'local')),
    category          TEXT,
    priority          TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    sentiment         TEXT CHECK (sentiment IN ('negative', 'neutral', 'positive')),
    language          TEXT,
    summary_enc       BLOB,
    reply_enc         BLOB,
    triage_note       TEXT,
    triaged_at        TEXT,
    reference         TEXT UNIQUE,
    assigned_to       BLOB,
    updated_at        TEXT,
    staff_reply_at    TEXT,
    closed_at         TEXT,
    closed_by         TEXT,
    close_reason_enc  BLOB,
    closings          INTEGER NOT NULL DEFAULT 0
);
INSERT INTO complaints (id, contact_kind, contact_id, conversation_id, text_enc, status, created_at,
    triage_source, category, priority, sentiment, language, summary_enc, reply_enc, triage_note,
    triaged_at, updated_at)
SELECT id, contact_kind, contact_id, conversation_id, text_enc, status, created_at,
    triage_source, category, priority, sentiment, language, summary_enc, reply_enc, triage_note,
    triaged_at, created_at
FROM complaints_before_threads;
DROP TABLE complaints_before_threads;
CREATE INDEX complaints_status ON complaints (status, created_at);
CREATE INDEX complaints_contact ON complaints (contact_kind, contact_id);

-- The thread: the person's messages and files ('person'), staff replies sent to them
-- ('staff'), notes staff keep among themselves ('note', never sent). The complaint's
-- first text stays in complaints.text_enc.
CREATE TABLE complaint_messages (
    id            BLOB PRIMARY KEY,
    complaint_id  BLOB NOT NULL REFERENCES complaints (id),
    kind          TEXT NOT NULL CHECK (kind IN ('person', 'staff', 'note')),
    author        TEXT,
    body_enc      BLOB,
    -- The inbound event whose media is attached (see the media table).
    media_key     TEXT,
    created_at    TEXT NOT NULL,
    CHECK (body_enc IS NOT NULL OR media_key IS NOT NULL)
);
CREATE INDEX complaint_messages_thread ON complaint_messages (complaint_id, created_at);

-- One satisfaction answer per closing (a reopened and closed again complaint asks again).
CREATE TABLE complaint_csat (
    id            BLOB PRIMARY KEY,
    complaint_id  BLOB NOT NULL REFERENCES complaints (id),
    closing       INTEGER NOT NULL,
    score         INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment_enc   BLOB,
    category      TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (complaint_id, closing)
);

-- The running number of each month's references (C-YYMM-NNNN).
CREATE TABLE complaint_refs (
    month  TEXT PRIMARY KEY,
    last   INTEGER NOT NULL
);
