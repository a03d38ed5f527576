-- Complaints as threads (issue 16): a reference people can quote (C-2412-0042), a
-- status with a middle step, an assignee, closing with a reason, and the messages
-- of the thread (the person's additions and files, staff replies, internal notes).
ALTER TABLE complaints DROP CONSTRAINT complaints_status_check;
ALTER TABLE complaints ADD CONSTRAINT complaints_status_check CHECK (status IN ('open', 'in_progress', 'closed'));
ALTER TABLE complaints ADD COLUMN reference TEXT UNIQUE;
ALTER TABLE complaints ADD COLUMN assigned_to UUID;
ALTER TABLE complaints ADD COLUMN updated_at TIMESTAMPTZ;
ALTER TABLE complaints ADD COLUMN staff_reply_at TIMESTAMPTZ;
ALTER TABLE complaints ADD COLUMN closed_at TIMESTAMPTZ;
ALTER TABLE complaints ADD COLUMN closed_by TEXT;
ALTER TABLE complaints ADD COLUMN close_reason_enc BYTEA;
ALTER TABLE complaints ADD COLUMN closings BIGINT NOT NULL DEFAULT 0;
UPDATE complaints SET updated_at = created_at;
CREATE INDEX complaints_status ON complaints (status, created_at);
CREATE INDEX complaints_contact ON complaints (contact_kind, contact_id);

-- The thread: the person's messages and files ('person'), staff replies sent to them
-- ('staff'), notes staff keep among themselves ('note', never sent). The complaint's
-- first text stays in complaints.text_enc.
CREATE TABLE complaint_messages (
    id            UUID PRIMARY KEY,
    complaint_id  UUID NOT NULL REFERENCES complaints (id),
    kind          TEXT NOT NULL CHECK (kind IN ('person', 'staff', 'note')),
    author        TEXT,
    body_enc      BYTEA,
    -- The inbound event whose media is attached (see the media table).
    media_key     TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    CHECK (body_enc IS NOT NULL OR media_key IS NOT NULL)
);
CREATE INDEX complaint_messages_thread ON complaint_messages (complaint_id, created_at);

-- One satisfaction answer per closing (a reopened and closed again complaint asks again).
CREATE TABLE complaint_csat (
    id            UUID PRIMARY KEY,
    complaint_id  UUID NOT NULL REFERENCES complaints (id),
    closing       BIGINT NOT NULL,
    score         BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment_enc   BYTEA,
    category      TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (complaint_id, closing)
);

-- The running number of each month's references (C-YYMM-NNNN).
CREATE TABLE complaint_refs (
    month  TEXT PRIMARY KEY,
    last   BIGINT NOT NULL
);
