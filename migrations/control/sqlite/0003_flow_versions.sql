-- Every version of every flow file this deployment has run: a conversation that
-- started on a version finishes on it, even after the file changed.
CREATE TABLE flow_versions (
    flow_id    TEXT NOT NULL,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (flow_id, hash)
);
