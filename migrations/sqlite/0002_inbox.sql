-- Conversations (one per channel account and sender) and the inbox of verified
-- provider events. provider_key is the provider's permanent id: a redelivery is a
-- no-op (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE conversations (
    id              BLOB PRIMARY KEY,
    channel_id      BLOB NOT NULL,
    provider        TEXT NOT NULL CHECK (provider IN ('twilio', 'meta', 'telegram')),
    sender_bidx     BLOB NOT NULL,
    sender_enc      BLOB NOT NULL,
    -- Start of the 24-hour customer-service window: the sender's last inbound message.
    last_inbound_at TEXT,
    opted_out_at    TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (channel_id, sender_bidx)
);

CREATE TABLE inbound_events (
    id              BLOB PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    provider_key    TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload_enc     BLOB NOT NULL,
    received_at     TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    processed_at    TEXT
);
CREATE INDEX inbound_events_pending ON inbound_events (state, conversation_id, id);
