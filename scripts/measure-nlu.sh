#!/usr/bin/env bash
# The language model's cost on the server: resident memory of `raabta serve` (SQLite,
# demo school) without the models, and with them once loaded (the log says when),
# and how long the load took. Usage: measure-nlu.sh <release binary> <models dir>
set -euo pipefail
bin=$1
models=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for run in without with; do
  if [ "$run" = with ]; then m="$models"; else m="$dir/none"; fi
  RAABTA_DATA_DIR=$dir/data RAABTA_MODELS_DIR=$m RAABTA_LISTEN=127.0.0.1:18081 "$bin" serve >"$dir/$run.out" 2>"$dir/$run.err" &
  pid=$!
  until curl -sf http://127.0.0.1:18081/readyz >/dev/null; do sleep 0.05; done
  if [ "$run" = with ]; then
    for _ in $(seq 1 600); do sed 's/\x1b\[[0-9;]*m//g' "$dir/$run.err" | grep -q "language model loaded" && break; sleep 0.1; done
  fi
  sleep 2
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18081/readyz >/dev/null; done
  rss=$(grep VmRSS /proc/$pid/status | awk '{print $2}')
  hwm=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
  loaded=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/$run.err" | grep 'language model loaded' | grep -o 'seconds=[0-9.]*' || echo "-")
  echo "$run models: RSS $((rss / 1024)) MiB, peak $((hwm / 1024)) MiB; load ${loaded}"
  kill -TERM $pid
  wait $pid || true
done
