-- The transactional outbox: replies are written in the same transaction as the step
-- that decided them, and sent afterwards by the outbox sender.
CREATE TABLE outbox (
    id                  BLOB PRIMARY KEY,
    conversation_id     BLOB NOT NULL REFERENCES conversations (id),
    -- (conversation, step, sequence): a step that runs twice cannot send twice.
    idempotency_key     TEXT NOT NULL UNIQUE,
    payload_enc         BLOB NOT NULL,
    -- pending -> sending -> sent | dead; manual (handed to staff as a wa.me link)
    state               TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dead', 'manual')),
    provider_message_id TEXT UNIQUE,
    attempts            INTEGER NOT NULL DEFAULT 0,
    -- When a pending row may be tried, or when a 'sending' lease expires.
    next_attempt_at     TEXT NOT NULL,
    last_error          TEXT,
    manual_link_enc     BLOB,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_conversation ON outbox (conversation_id, id);

-- Delivery reports by provider message id. Kept apart from the outbox so that a report
-- arriving before the send response is not lost. Rank: queued 0, sent 1, delivered 2,
-- read 3, failed 9; only a higher rank replaces a lower one, so downgrades are ignored
-- and failed is terminal.
CREATE TABLE delivery_reports (
    provider_message_id TEXT PRIMARY KEY,
    status_rank         INTEGER NOT NULL,
    error_code          TEXT,
    updated_at          TEXT NOT NULL
);
