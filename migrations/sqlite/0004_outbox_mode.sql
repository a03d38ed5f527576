-- Staff-initiated messages default to manual-link mode: the message becomes a wa.me
-- link that staff open on their own phone, and nothing is sent to a provider.
ALTER TABLE outbox ADD COLUMN mode TEXT NOT NULL DEFAULT 'provider' CHECK (mode IN ('provider', 'manual_link'));
