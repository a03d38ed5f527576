#!/usr/bin/env bash
# Refreshes docs/screenshots/ from the browser test (headless Chromium, real router).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAABTA_SCREENSHOTS="$PWD/docs/screenshots"
cargo test --test it browser:: -- --nocapture
ls -1 "$RAABTA_SCREENSHOTS"
