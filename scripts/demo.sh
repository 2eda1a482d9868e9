#!/usr/bin/env bash
# Builds everything and starts Vigie on the embedded SQLite log with the live demo exercise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo leptos build --release
export VIGIE_SITE_ROOT="${VIGIE_SITE_ROOT:-$PWD/target/site}"
echo "Vigie: http://${VIGIE_ADDR:-127.0.0.1:3000}/"
exec "$CARGO_TARGET_DIR/release/vigie" demo "$@"
