-- One school's partition (PostgreSQL). Runs as the school's own role with
-- search_path set to the school's schema, so every object lands there.
-- Columns ending in _enc hold AES-256-GCM ciphertext (see src/store/crypto.rs);
-- columns ending in _bidx hold keyed HMAC blind indexes.

CREATE TABLE branches (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE classes (
    id         UUID PRIMARY KEY,
    branch_id  UUID NOT NULL REFERENCES branches (id),
    name       TEXT NOT NULL,
    section    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (branch_id, name, section)
);

CREATE TABLE students (
    id               UUID PRIMARY KEY,
    admission_no     TEXT NOT NULL UNIQUE,
    full_name        TEXT NOT NULL,
    date_of_birth    DATE,
    gender           TEXT NOT NULL CHECK (gender IN ('male', 'female', 'other', 'unspecified')),
    class_id         UUID NOT NULL REFERENCES classes (id),
    bform_enc        BYTEA,
    health_notes_enc BYTEA,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX students_class ON students (class_id);

CREATE TABLE guardians (
    id                 UUID PRIMARY KEY,
    full_name          TEXT NOT NULL,
    phone_enc          BYTEA,
    phone_bidx         BYTEA UNIQUE,
    cnic_enc           BYTEA,
    address_enc        BYTEA,
    preferred_language TEXT NOT NULL CHECK (preferred_language IN ('en', 'ur', 'ar')),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE guardian_students (
    guardian_id UUID NOT NULL REFERENCES guardians (id) ON DELETE CASCADE,
    student_id  UUID NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    relation    TEXT NOT NULL CHECK (relation IN ('father', 'mother', 'guardian', 'other')),
    PRIMARY KEY (guardian_id, student_id)
);
CREATE INDEX guardian_students_student ON guardian_students (student_id);

CREATE TABLE staff_users (
    id              UUID PRIMARY KEY,
    full_name       TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    phone_enc       BYTEA,
    phone_bidx      BYTEA UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'branch_manager', 'teacher')),
    branch_id       UUID REFERENCES branches (id),
    password_hash   TEXT,
    totp_secret_enc BYTEA,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff_classes (
    staff_id UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    class_id UUID NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, class_id)
);

-- A sender on a channel (WhatsApp wa_id or business-scoped id, Telegram user id)
-- bound to a guardian or staff member after access-code login.
CREATE TABLE channel_identities (
    id               UUID PRIMARY KEY,
    contact_kind     TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id       UUID NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('whatsapp', 'telegram')),
    external_id_enc  BYTEA NOT NULL,
    external_id_bidx BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (channel, external_id_bidx)
);

CREATE TABLE fee_lines (
    id           UUID PRIMARY KEY,
    student_id   UUID NOT NULL REFERENCES students (id),
    period       TEXT NOT NULL,
    description  TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL CHECK (currency IN ('PKR', 'SAR')),
    due_date     DATE NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (student_id, period, description)
);

CREATE TABLE payments (
    id           UUID PRIMARY KEY,
    fee_line_id  UUID NOT NULL REFERENCES fee_lines (id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    paid_on      DATE NOT NULL,
    reference    TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (fee_line_id, paid_on, amount_minor, reference)
);

CREATE TABLE attendance (
    id          UUID PRIMARY KEY,
    day         DATE NOT NULL,
    student_id  UUID NOT NULL REFERENCES students (id),
    status      TEXT NOT NULL CHECK (status IN ('present', 'absent', 'late', 'excused')),
    source      TEXT NOT NULL CHECK (source IN ('manual', 'face')),
    recorded_by UUID REFERENCES staff_users (id),
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (student_id, day)
);

CREATE TABLE access_codes (
    id           UUID PRIMARY KEY,
    contact_kind TEXT NOT NULL CHECK (contact_kind IN ('guardian', 'staff')),
    contact_id   UUID NOT NULL,
    -- 16 bits of a keyed HMAC of the code: narrows a typed code to a few candidates
    -- without being a fast verifier (only the Argon2id hash decides).
    code_bucket  BYTEA NOT NULL,
    code_hash    TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_codes_contact ON access_codes (contact_kind, contact_id);
CREATE INDEX access_codes_bucket ON access_codes (code_bucket);

CREATE TABLE activity_log (
    id       UUID PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT,
    source   TEXT NOT NULL,
    details  JSONB NOT NULL
);
CREATE INDEX activity_log_at ON activity_log (at);
