-- Face attendance (issue 17). A consent record must exist before any sample of a
-- student is kept: the staff member who confirmed the parent's written consent, when,
-- and a note. Withdrawal deletes the record and every sample (the activity log keeps
-- that it happened). Samples are embeddings only (512 floats, encrypted); no photo is
-- ever stored.
CREATE TABLE face_consents (
    id            BLOB PRIMARY KEY,
    student_id    BLOB NOT NULL UNIQUE REFERENCES students (id),
    confirmed_by  TEXT NOT NULL,
    confirmed_at  TEXT NOT NULL,
    note_enc      BLOB
);

CREATE TABLE face_samples (
    id             BLOB PRIMARY KEY,
    student_id     BLOB NOT NULL REFERENCES face_consents (student_id),
    embedding_enc  BLOB NOT NULL,
    -- The quality figures the sample passed with (face size, sharpness, brightness,
    -- pose, detector score): numbers about the photo, not the face.
    quality        TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX face_samples_student ON face_samples (student_id);

-- One row per attempt (the session log): a teacher's burst of photos of one class,
-- what was found, what was proposed, and whether the teacher confirmed it. Faces
-- matched to nobody are a count only.
CREATE TABLE face_sessions (
    id               BLOB PRIMARY KEY,
    conversation_id  BLOB NOT NULL REFERENCES conversations (id),
    staff_id         BLOB NOT NULL REFERENCES staff_users (id),
    channel          TEXT NOT NULL,
    class_id         BLOB NOT NULL REFERENCES classes (id),
    status           TEXT NOT NULL CHECK (status IN ('matching', 'proposed', 'confirmed', 'cancelled', 'failed')),
    photos           INTEGER NOT NULL DEFAULT 0,
    pending          INTEGER NOT NULL DEFAULT 0,
    faces            INTEGER NOT NULL DEFAULT 0,
    matched          INTEGER NOT NULL DEFAULT 0,
    unmatched        INTEGER NOT NULL DEFAULT 0,
    duration_ms      INTEGER NOT NULL DEFAULT 0,
    -- JSON array of the proposed students' ids.
    proposal         TEXT NOT NULL DEFAULT '[]',
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    confirmed_at     TEXT
);
CREATE INDEX face_sessions_staff ON face_sessions (staff_id, created_at);

ALTER TABLE attendance ADD COLUMN face_session_id BLOB REFERENCES face_sessions (id);
