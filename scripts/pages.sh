#!/usr/bin/env bash
# Admin page render times with a realistic school (benches/pages.rs). Usage:
#   scripts/pages.sh sqlite              # or: scripts/pages.sh postgres
# Env: PAGES_ITERATIONS (default 200), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
if [ "$backend" = postgres ]; then
  db=raabta_pages_$$
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  cleanup() {
    roles=$(psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'school\_%'" || true)
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)" || true
    for r in $roles; do psql -h 127.0.0.1 -U postgres -qc "DROP ROLE IF EXISTS $r" || true; done
  }
  trap cleanup EXIT
  export RAABTA_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
fi
cargo bench --bench pages
