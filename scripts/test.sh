#!/usr/bin/env bash
# Runs Vigie's test suite: the domain (unit and property tests) and the server (integration
# tests against the real server over HTTP and WebSockets, on a temporary SQLite log).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo test --locked -p vigie-domain -p server
