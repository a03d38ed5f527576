-- The privacy lifecycle (issue 19).
-- Each school's backup key, wrapped by the master key. Backups are encrypted with it;
-- this table is never copied into a backup, so a backup alone cannot be read, and
-- deleting a school's row makes every backup of that school unreadable.
CREATE TABLE backup_keys (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id     INTEGER NOT NULL CHECK (key_id > 0),
    wrapped    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
);

-- A school being closed: its export window ends at purge_after.
CREATE TABLE tenant_closures (
    tenant_id    BLOB PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    purge_after  TEXT NOT NULL
);

-- Proof that a school's data was deleted (kept after the school is gone).
CREATE TABLE deletion_certificates (
    tenant_id   BLOB PRIMARY KEY,
    slug        TEXT NOT NULL,
    certificate TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
