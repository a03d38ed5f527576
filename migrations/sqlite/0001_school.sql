-- One school's partition (SQLite). One database file per school;
-- nothing else is ever attached to its connections.
-- Columns ending in _enc hold AES-256-GCM ciphertext (see src/store/crypto.rs);
-- columns ending in _bidx hold keyed HMAC blind indexes.

CREATE TABLE branches (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE classes (
    id         BLOB PRIMARY KEY,
    branch_id  BLOB NOT NULL REFERENCES branches (id),
    name       TEXT NOT NULL,
    section    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (branch_id, name, section)
);

CREATE TABLE students (
    id               BLOB PRIMARY KEY,
    admission_no     TEXT NOT NULL UNIQUE,
    full_name        TEXT NOT NULL,
    date_of_birth    DATE,
    gender           TEXT NOT NULL CHECK (gender IN ('male', 'female', 'other', 'unspecified')),
    class_id         BLOB NOT NULL REFERENCES classes (id),
    bform_enc        BLOB,
    health_notes_enc BLOB,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX students_class ON students (class_id);

CREATE TABLE guardians (
    id                 BLOB PRIMARY KEY,
    full_name          TEXT NOT NULL,
    phone_enc          BLOB,
    phone_bidx         BLOB UNIQUE,
    cnic_enc           BLOB,
    address_enc        BLOB,
    preferred_language TEXT NOT NULL CHECK (preferred_language IN ('en', 'ur', 'ar')),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE TABLE guardian_students (
    guardian_id BLOB NOT NULL REFERENCES guardians (id) ON DELETE CASCADE,
    student_id  BLOB NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    relation    TEXT NOT NULL CHECK (relation IN ('father', 'mother', 'guardian', 'other')),
    PRIMARY KEY (guardian_id, student_id)
);
CREATE INDEX guardian_students_student ON guardian_students (student_id);

CREATE TABLE staff_users (
    id              BLOB PRIMARY KEY,
    full_name       TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    phone_enc       BLOB,
    phone_bidx      BLOB UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'branch_manager', 'teacher')),
    branch_id       BLOB REFERENCES branches (id),
    password_hash   TEXT,
    totp_secret_enc BLOB,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TEXT NOT NULL
);

CREATE TABLE staff_classes (
    staff_id BLOB NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    class_id BLOB NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, class_id)
);

-- A sender on a channel (WhatsApp wa_id or business-scoped id, Telegram user id)
-- bound to a guardian or staff member after access-code login.
CREATE TABLE channel_identities (
    id               BLOB PRIMARY KEY,
    contact_kind     TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id       BLOB NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('whatsapp', 'telegram')),
    external_id_enc  BLOB NOT NULL,
    external_id_bidx BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (channel, external_id_bidx)
);

CREATE TABLE fee_lines (
    id           BLOB PRIMARY KEY,
    student_id   BLOB NOT NULL REFERENCES students (id),
    period       TEXT NOT NULL,
    description  TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL CHECK (currency IN ('PKR', 'SAR')),
    due_date     DATE NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (student_id, period, description)
);

CREATE TABLE payments (
    id           BLOB PRIMARY KEY,
    fee_line_id  BLOB NOT NULL REFERENCES fee_lines (id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    paid_on      DATE NOT NULL,
    reference    TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    UNIQUE (fee_line_id, paid_on, amount_minor, reference)
);

CREATE TABLE attendance (
    id          BLOB PRIMARY KEY,
    day         DATE NOT NULL,
    student_id  BLOB NOT NULL REFERENCES students (id),
    status      TEXT NOT NULL CHECK (status IN ('present', 'absent', 'late', 'excused')),
    source      TEXT NOT NULL CHECK (source IN ('manual', 'face')),
    recorded_by BLOB REFERENCES staff_users (id),
    recorded_at TEXT NOT NULL,
    UNIQUE (student_id, day)
);

CREATE TABLE access_codes (
    id           BLOB PRIMARY KEY,
    contact_kind TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id   BLOB NOT NULL,
    -- 16 bits of a keyed HMAC of the code: narrows a typed code to a few candidates
    -- without being a fast verifier (only the Argon2id hash decides).
    code_bucket  BLOB NOT NULL,
    code_hash    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX access_codes_contact ON access_codes (contact_kind, contact_id);
CREATE INDEX access_codes_bucket ON access_codes (code_bucket);

CREATE TABLE activity_log (
    id       BLOB PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT,
    source   TEXT NOT NULL,
    details  TEXT NOT NULL
);
CREATE INDEX activity_log_at ON activity_log (at);
