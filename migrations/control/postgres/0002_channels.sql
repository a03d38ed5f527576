-- Channel accounts: which provider number/bot belongs to which school. Credentials are
-- encrypted with the school's data key (AAD: school, table, column, row id).
CREATE TABLE channel_accounts (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider IN ('twilio', 'meta', 'telegram')),
    route_key       TEXT NOT NULL,
    api_base        TEXT NOT NULL,
    credentials_enc BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (provider, route_key)
);
