#!/usr/bin/env bash
# Runs Vigie's whole test suite:
#   0. the mechanical gates: rustfmt, clippy with warnings as errors (native crates and the wasm
#      frontend), no import cycle in the server and the domain;
#   1. the domain (unit and property tests) and the server (integration tests against the real
#      server over HTTP and WebSockets, on temporary SQLite logs);
#   2. the browser tests: Playwright drives Debian's Chromium against the real `vigie` binary;
#   3. a smoke run of the benchmark suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -p vigie-domain -p vigie-adapters -p vigie -p vigie-bench -- -D warnings
cargo clippy --locked --all-targets -p app --features ssr -- -D warnings
cargo clippy --locked --target wasm32-unknown-unknown -p frontend -- -D warnings
cargo test --locked -p vigie-domain -p vigie-adapters -p app -p vigie
cargo leptos build
(cd end2end && npx playwright test)
# The benchmark suite at tiny sizes, so it keeps working (no timing is asserted).
bash scripts/bench.sh --smoke
