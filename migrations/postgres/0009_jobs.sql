-- Durable background jobs (ARCHITECTURE.md, "Slow work"): anything longer than a
-- step or with side effects outside the database (media downloads today; AI calls,
-- face matching and exports next). Enqueued in the transaction of the change that
-- needs it; claimed with FOR UPDATE SKIP LOCKED and a lease (a process killed mid-run
-- leaves a lease that expires, and the job runs again); retried with backoff; dead
-- after the last attempt and shown on the admin's outbox page. `payload` holds ids
-- and settings only, never personal data: that stays in the encrypted rows it points to.
CREATE TABLE jobs (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    conversation_id UUID REFERENCES conversations (id),
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_after       TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_due ON jobs (kind, state, run_after);

-- Media still waiting for its download becomes a job (the media row keeps the
-- content and its state; the job drives the fetching).
INSERT INTO jobs (id, kind, idempotency_key, conversation_id, payload, state, attempts,
                  max_attempts, run_after, created_at, updated_at)
SELECT m.id, 'media.fetch', 'media:' || m.id::text, e.conversation_id,
       json_build_object('media', m.id::text)::text, 'pending', m.attempts, 8,
       m.next_attempt_at, m.created_at, m.updated_at
FROM media m JOIN inbound_events e ON e.id = m.inbound_event_id
WHERE m.state = 'pending';
