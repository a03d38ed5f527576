#!/usr/bin/env bash
# The reference figure for load runs: PostgreSQL's own single-row insert with commit,
# 16 clients, 20 seconds, on this machine (loopback). Prints pgbench's tps line.
# Usage: scripts/pgbench-ref.sh   (needs pgbench and the local PostgreSQL, user postgres)
set -euo pipefail
db=raabta_pgbench_$$
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)"' EXIT
psql -h 127.0.0.1 -U postgres -d "$db" -qc \
  "CREATE TABLE events (id bigserial PRIMARY KEY, payload bytea NOT NULL, at timestamptz NOT NULL DEFAULT now())"
script=$(mktemp)
echo "INSERT INTO events (payload) VALUES ('\\x00112233445566778899');" >"$script"
pgbench -h 127.0.0.1 -U postgres -n -c 16 -j 2 -T "${SECONDS_RUN:-20}" -f "$script" "$db" | grep -E "^tps"
rm -f "$script"
