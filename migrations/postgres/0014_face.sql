-- Face attendance (issue 17). A consent record must exist before any sample of a
-- student is kept: the staff member who confirmed the parent's written consent, when,
-- and a note. Withdrawal deletes the record and every sample (the activity log keeps
-- that it happened). Samples are embeddings only (512 floats, encrypted); no photo is
-- ever stored.
CREATE TABLE face_consents (
    id            UUID PRIMARY KEY,
    student_id    UUID NOT NULL UNIQUE REFERENCES students (id),
    confirmed_by  TEXT NOT NULL,
    confirmed_at  TIMESTAMPTZ NOT NULL,
    note_enc      BYTEA
);

CREATE TABLE face_samples (
    id             UUID PRIMARY KEY,
    student_id     UUID NOT NULL REFERENCES face_consents (student_id),
    embedding_enc  BYTEA NOT NULL,
    -- The quality figures the sample passed with (face size, sharpness, brightness,
    -- pose, detector score): numbers about the photo, not the face.
    quality        TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX face_samples_student ON face_samples (student_id);

-- One row per attempt (the session log): a teacher's burst of photos of one class,
-- what was found, what was proposed, and whether the teacher confirmed it. Faces
-- matched to nobody are a count only.
CREATE TABLE face_sessions (
    id               UUID PRIMARY KEY,
    conversation_id  UUID NOT NULL REFERENCES conversations (id),
    staff_id         UUID NOT NULL REFERENCES staff_users (id),
    channel          TEXT NOT NULL,
    class_id         UUID NOT NULL REFERENCES classes (id),
    status           TEXT NOT NULL CHECK (status IN ('matching', 'proposed', 'confirmed', 'cancelled', 'failed')),
    photos           BIGINT NOT NULL DEFAULT 0,
    pending          BIGINT NOT NULL DEFAULT 0,
    faces            BIGINT NOT NULL DEFAULT 0,
    matched          BIGINT NOT NULL DEFAULT 0,
    unmatched        BIGINT NOT NULL DEFAULT 0,
    duration_ms      BIGINT NOT NULL DEFAULT 0,
    -- JSON array of the proposed students' ids.
    proposal         TEXT NOT NULL DEFAULT '[]',
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    confirmed_at     TIMESTAMPTZ
);
CREATE INDEX face_sessions_staff ON face_sessions (staff_id, created_at);

ALTER TABLE attendance ADD COLUMN face_session_id UUID REFERENCES face_sessions (id);
