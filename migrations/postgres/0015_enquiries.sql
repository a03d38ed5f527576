-- The enquiry bot (issue 18): the school's FAQ, as its CSV is written (one row per
-- question variant and language; the answer of an entry in a language is the same on
-- each of its rows), and the leads it takes (people who want a call-back or to apply).
CREATE TABLE faq_rows (
    entry_id  TEXT NOT NULL,
    language  TEXT NOT NULL CHECK (language IN ('en', 'ur', 'ar', 'ur-Latn')),
    question  TEXT NOT NULL,
    answer    TEXT NOT NULL,
    position  BIGINT NOT NULL,
    PRIMARY KEY (entry_id, position)
);

CREATE TABLE leads (
    id               UUID PRIMARY KEY,
    conversation_id  UUID REFERENCES conversations (id),
    kind             TEXT NOT NULL CHECK (kind IN ('parent', 'school')),
    name_enc         BYTEA NOT NULL,
    -- A parent: the child's class or age; a school: its name and city.
    detail_enc       BYTEA,
    language         TEXT NOT NULL,
    -- The question the FAQ could not answer, when that is how the lead began.
    question_enc     BYTEA,
    status           TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'contacted', 'applied', 'closed')),
    notes_enc        BYTEA,
    assigned_to      UUID,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX leads_status ON leads (status, updated_at);
