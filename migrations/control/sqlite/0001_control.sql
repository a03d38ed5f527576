-- Control database (SQLite): the school registry and the keys wrapped by the master key.
-- No school data lives here.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE tenants (
    id         BLOB PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    locale     TEXT NOT NULL CHECK (locale IN ('en', 'ur', 'ar')),
    status     TEXT NOT NULL CHECK (status IN ('provisioning', 'active')),
    created_at TEXT NOT NULL
);

CREATE TABLE tenant_keys (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('data', 'index')),
    key_id     INTEGER NOT NULL CHECK (key_id > 0),
    wrapped    BLOB NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('active', 'decrypt_only', 'retired')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, purpose, key_id)
);
