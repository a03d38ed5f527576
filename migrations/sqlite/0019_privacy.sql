-- The privacy lifecycle (issue 19): requests from the person (a copy of their data, or
-- its erasure), recorded as pending with a due date until an administrator approves.
-- The row is kept after the erasure (for the audit) and is exempt from retention; the
-- name it was made under is encrypted with the school's key.
CREATE TABLE privacy_requests (
    id              BLOB PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('access', 'erasure')),
    contact_kind    TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id      BLOB NOT NULL,
    name_enc        BLOB NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('chat', 'admin', 'operator')),
    -- How the person's identity was checked (the chat: their logged-in number); staff
    -- may write a document number here, so it is encrypted.
    identity_check_enc BLOB NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at    TEXT NOT NULL,
    due_at          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'completed', 'failed', 'rejected')),
    -- Erasure: the guardian only, or also their children's biometric data.
    scope           TEXT CHECK (scope IN ('guardian', 'guardian_biometric')),
    decided_by      TEXT,
    decided_at      TEXT,
    completed_at    TEXT,
    error           TEXT,
    -- What was done (counts, JSON).
    result          TEXT
);
CREATE INDEX privacy_requests_status ON privacy_requests (status, due_at);
CREATE INDEX privacy_requests_contact ON privacy_requests (contact_kind, contact_id);

-- An erased person's record stays (the school's records point at it) as "Deleted
-- contact", inactive, with the reason.
ALTER TABLE guardians ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE guardians ADD COLUMN deactivated_reason TEXT;
ALTER TABLE staff_users ADD COLUMN deactivated_reason TEXT;
CREATE INDEX activity_log_subject ON activity_log (subject);
