-- A route (Twilio number, Meta phone-number id) is unique among *active* channels
-- only: a school administrator's pending claim no longer blocks the rightful school
-- from asking too, and says nothing about another school's claim.
CREATE TABLE channel_accounts_next (
    id              BLOB PRIMARY KEY,
    tenant_id       BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider IN ('twilio', 'meta', 'telegram')),
    route_key       TEXT NOT NULL,
    api_base        TEXT NOT NULL,
    credentials_enc BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending'))
);
INSERT INTO channel_accounts_next (id, tenant_id, provider, route_key, api_base, credentials_enc, created_at, status)
    SELECT id, tenant_id, provider, route_key, api_base, credentials_enc, created_at, status FROM channel_accounts;
DROP TABLE channel_accounts;
ALTER TABLE channel_accounts_next RENAME TO channel_accounts;
CREATE UNIQUE INDEX channel_accounts_active_route ON channel_accounts (provider, route_key) WHERE status = 'active';
CREATE INDEX channel_accounts_route ON channel_accounts (provider, route_key);
