#!/usr/bin/env bash
# Cold start (first run: creates the demo school) and warm start of `raabta serve` on SQLite,
# with peak resident memory. Usage: measure.sh <path to release binary>
set -euo pipefail
bin=$1
dir=$(mktemp -d)
for run in cold warm; do
  start=$(date +%s%N)
  RAABTA_DATA_DIR=$dir/data RAABTA_LISTEN=127.0.0.1:18080 /usr/bin/time -v "$bin" serve >"$dir/$run.out" 2>"$dir/$run.err" &
  pid=$!
  until curl -sf http://127.0.0.1:18080/readyz >/dev/null; do sleep 0.005; done
  ready=$(( ($(date +%s%N) - start) / 1000000 ))
  for _ in $(seq 1 200); do curl -sf http://127.0.0.1:18080/readyz >/dev/null; done
  kill -TERM "$(pgrep -f "$bin serve" | grep -v "^$pid$" | head -1)"
  wait $pid || true
  rss=$(grep 'Maximum resident' "$dir/$run.err" | awk '{print $NF}')
  echo "$run: ready after ${ready} ms (wall, until /readyz answers); max RSS ${rss} KiB; server says: $(grep -o 'ready in [0-9]* ms' "$dir/$run.out")"
done
rm -rf "$dir"
