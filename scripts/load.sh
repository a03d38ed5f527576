#!/usr/bin/env bash
# Webhook load test on this machine (loopback only). Usage:
#   scripts/load.sh sqlite              # or: scripts/load.sh postgres
# Env: REQUESTS (default 10000), CONCURRENCY (64), SENDERS (1000), CARGO_TARGET_DIR;
# TEXT (the message, default "help"), REPLIES (replies per message, default 1), FAQ (a
# CSV imported as the school's FAQ: strangers' questions then go to the enquiry bot and
# the language model, from RAABTA_MODELS_DIR or ./models);
# BIN_DIR: run these already-built `raabta` and `raabta-load` (another commit's, to
# compare two commits back to back) instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
target_dir=${CARGO_TARGET_DIR:-target}
if [ -n "${BIN_DIR:-}" ]; then
  bin=$BIN_DIR
else
  cargo build --release --bins >/dev/null
  bin=$target_dir/release
fi
dir=$(mktemp -d)
export RAABTA_DATA_DIR=$dir RAABTA_SEED_DEMO=false RAABTA_LISTEN=127.0.0.1:18181 \
       RAABTA_PUBLIC_URL=http://127.0.0.1:18181 RAABTA_META_RATE=100000 RAABTA_LOG=${RAABTA_LOG:-warn,raabta::nlu=info}
if [ "$backend" = postgres ]; then
  db=raabta_load_$$
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  export RAABTA_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
fi
"$bin/raabta" tenant create loadtest --name "Load Test School" >/dev/null
if [ -n "${FAQ:-}" ]; then
  "$bin/raabta" faq import --tenant loadtest "$FAQ" >/dev/null
fi
"$bin/raabta" channel add meta --tenant loadtest --phone-number-id 555000 --access-token t \
  --app-secret load-secret --verify-token v --api-base http://127.0.0.1:18182 >/dev/null
"$bin/raabta" serve >"$dir/serve.log" 2>&1 &
server=$!
until curl -sf http://127.0.0.1:18181/readyz >/dev/null; do sleep 0.1; done
if [ -n "${FAQ:-}" ]; then
  # Strangers' questions use the language model: wait until it is loaded (or failed).
  for _ in $(seq 600); do
    grep -qE "language model (loaded|not available)" "$dir/serve.log" && break
    sleep 0.1
  done
  grep -E "language model" "$dir/serve.log" | tail -1 >&2
fi
status=0
"$bin/raabta-load" --target http://127.0.0.1:18181 --fake-listen 127.0.0.1:18182 --app-secret load-secret \
  --phone-number-id 555000 --requests "${REQUESTS:-10000}" --concurrency "${CONCURRENCY:-64}" \
  --senders "${SENDERS:-1000}" --text "${TEXT:-help}" --replies "${REPLIES:-1}" || status=$?
kill "$server"; wait "$server" 2>/dev/null || true
if [ "$backend" = postgres ]; then
  # The school roles of this run are the names of its school schemas.
  roles=$(psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'school\_%'")
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)"
  for r in $roles; do psql -h 127.0.0.1 -U postgres -qc "DROP ROLE IF EXISTS $r" || true; done
fi
[ -n "${KEEP_DIR:-}" ] && cp "$dir/serve.log" "$KEEP_DIR" ; rm -rf "$dir"
exit $status
