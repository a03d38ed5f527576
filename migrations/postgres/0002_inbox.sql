-- Conversations (one per channel account and sender) and the inbox of verified
-- provider events. provider_key is the provider's permanent id: a redelivery is a
-- no-op (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE conversations (
    id              UUID PRIMARY KEY,
    channel_id      UUID NOT NULL,
    provider        TEXT NOT NULL CHECK (provider IN ('twilio', 'meta', 'telegram')),
    sender_bidx     BYTEA NOT NULL,
    sender_enc      BYTEA NOT NULL,
    -- Start of the 24-hour customer-service window: the sender's last inbound message.
    last_inbound_at TIMESTAMPTZ,
    opted_out_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (channel_id, sender_bidx)
);

CREATE TABLE inbound_events (
    id              UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations (id),
    provider_key    TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload_enc     BYTEA NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    processed_at    TIMESTAMPTZ
);
CREATE INDEX inbound_events_pending ON inbound_events (state, conversation_id, id);
