-- Complaint triage (issue 16): by an AI endpoint on text the PII redactor stripped, or
-- locally (keyword rules). The summary and suggested reply are encrypted like the text;
-- triage_note says why a complaint is not (yet) triaged by the AI (never a value).
ALTER TABLE complaints ADD COLUMN triage_source TEXT CHECK (triage_source IN ('ai', 'local'));
ALTER TABLE complaints ADD COLUMN category TEXT;
ALTER TABLE complaints ADD COLUMN priority TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE complaints ADD COLUMN sentiment TEXT CHECK (sentiment IN ('negative', 'neutral', 'positive'));
ALTER TABLE complaints ADD COLUMN language TEXT;
ALTER TABLE complaints ADD COLUMN summary_enc BLOB;
ALTER TABLE complaints ADD COLUMN reply_enc BLOB;
ALTER TABLE complaints ADD COLUMN triage_note TEXT;
ALTER TABLE complaints ADD COLUMN triaged_at TEXT;

-- Tokens spent on AI calls per calendar month (the school's budget).
CREATE TABLE ai_usage (
    month  TEXT PRIMARY KEY,
    tokens BIGINT NOT NULL DEFAULT 0
);
