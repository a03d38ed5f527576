#!/usr/bin/env bash
# Backup and restore of a realistic school beside a reference in the same run
# (benches/backup.rs). Usage:
#   scripts/backup-bench.sh sqlite        # or: scripts/backup-bench.sh postgres
# Env: BACKUP_ROUNDS (default 5), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
if [ "$backend" = postgres ]; then
  base=raabta_backup_bench_$$
  for db in "${base}_src" "${base}_dst" "${base}_ref"; do
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  done
  cleanup() {
    for db in "${base}_src" "${base}_dst" "${base}_ref"; do
      roles=$(psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'school\_%'" 2>/dev/null || true)
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
      for r in $roles; do psql -h 127.0.0.1 -U postgres -qc "DROP ROLE IF EXISTS $r" || true; done
    done
  }
  trap cleanup EXIT
  export RAABTA_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${base}_src
  export RAABTA_BENCH_RESTORE_URL=postgres://postgres@127.0.0.1:5432/${base}_dst
  export RAABTA_BENCH_REFERENCE_URL=postgres://postgres@127.0.0.1:5432/${base}_ref
else
  unset RAABTA_DATABASE_URL
fi
cargo bench --bench backup
