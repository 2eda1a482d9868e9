#!/usr/bin/env bash
# Vigie's benchmark suite: criterion benches of the reducer, then ingest and fan-out against the
# real server, the same fan-out against a plain Node `ws` broadcast peer, and the map frame rate.
# Writes bench/results/results.jsonl and prints a table. Loopback only; every loop is bounded.
#
#   scripts/bench.sh            full sizes (5 000 units, 500 clients; a few minutes)
#   scripts/bench.sh --smoke    tiny sizes, debug build: keeps the suite from rotting (CI)
#
# Parts can run alone: target/release/loadgen --help, node bench/map_fps.mjs N...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true

if $smoke; then
  profile=debug; cargo_profile=()
  units=100; clients=5; seconds=2; ingest_units=1000; ingest_batch=500; soak_s=12; soak_window=4
  cot_clients=20; cot_devices=200
  replay_log=(--hours 0.1 --units 50 --incidents 20); seeks=5; play_s=2; search_rounds=1
else
  profile=release; cargo_profile=(--release)
  units=${BENCH_UNITS:-5000}; clients=${BENCH_CLIENTS:-500}; seconds=${BENCH_SECONDS:-10}
  ingest_units=${BENCH_INGEST_UNITS:-10000}; ingest_batch=${BENCH_INGEST_BATCH:-5000}
  # The replay issue's day: 2 000 units every 10 s for 24 h, 5 000 incidents.
  replay_log=(--hours 24 --units 2000 --incidents 5000); seeks=30; play_s=20; search_rounds=20
  soak_s=${BENCH_SOAK_SECONDS:-600}; soak_window=60
  # The CoT issue's loads: 2 000 TAK clients at 1 Hz; 10 000 fixes/s from one upstream server.
  cot_clients=${BENCH_COT_CLIENTS:-2000}; cot_devices=${BENCH_COT_DEVICES:-10000}
fi
# Thousands of CoT clients are as many sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bash scripts/setup.sh
if $smoke; then
  cargo build --locked -p vigie -p vigie-bench
else
  # The site and the server together, so the map bench's page hydrates against its own server.
  cargo leptos build --release
  cargo build --locked --release -p vigie-bench
fi
bin="$CARGO_TARGET_DIR/$profile"
out=bench/results
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Server on core 0, load generator on core 1 (where taskset exists and there are 2 cores).
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
# In the background, exec'd so that $! is the server itself (for its /proc figures and for kill).
pin_bg() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }
wait_up() { for _ in $(seq 100); do curl -sf "$1/healthz" >/dev/null && return 0; sleep 0.1; done; echo "no server at $1" >&2; return 1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The tools sign in like any client: an account with the roles they need (of agency $2) and an API
# token for it, plus one reading account per audience (five agencies), made with `vigie user` on
# the log before the server starts (`vigie serve` does not run without accounts).
accounts() { # name agency → sets token, read_tokens
  local db="sqlite://$work/$1.db" scopes=(--scope room:read --scope positions:write --scope units:write
    --scope incidents:write --scope messages:write --scope replay --scope admin)
  export VIGIE_DATABASE_URL="$db" VIGIE_PASSWORD="bench passphrase 2026" RUST_LOG=warn
  "$bin/vigie" user add bench --agency "$2" --role admin --role dispatcher --role trainer > /dev/null
  token=$("$bin/vigie" user token bench --name bench "${scopes[@]}")
  read_tokens=""
  for agency in "$2" PP BSPP BKA FBI; do
    "$bin/vigie" user add "reader.${agency,,}" --agency "$agency" --role liaison > /dev/null
    read_tokens+="${read_tokens:+,}$("$bin/vigie" user token "reader.${agency,,}" --name bench --scope room:read)"
  done
  # CoT gateways: one that only reports (devices in, nothing out), one that also receives the picture.
  cot_token=$("$bin/vigie" user token bench --name cot --scope positions:write --scope units:write)
  cot_read_token=$("$bin/vigie" user token bench --name cot-read --scope positions:write --scope units:write --scope room:read)
  unset VIGIE_DATABASE_URL VIGIE_PASSWORD RUST_LOG
}

start_vigie() { # name [mode] [agency] → sets url, pid, token, read_tokens
  accounts "$1" "${3:-BENCH}"
  local port; port=$(free_port)
  url="http://127.0.0.1:$port"
  # The CoT runs' settings, when one is on (`cot_with` names the token variable to act as).
  local cot_env=()
  [ -n "${cot_with:-}" ] && cot_env=("VIGIE_COT_TOKEN=${!cot_with}" "${cot_settings[@]}")
  # In a subshell that becomes the server (pin_bg execs), so `$!` is the server itself. The load
  # generator is one host: its share per address must hold all its clients.
  (
    for setting in "${cot_env[@]}"; do export "${setting?}"; done
    VIGIE_ADDR="127.0.0.1:$port" VIGIE_DATABASE_URL="sqlite://$work/$1.db" RUST_LOG=warn \
      VIGIE_MAX_STREAM_CLIENTS=$((clients + 10)) VIGIE_MAX_STREAMS_PER_ADDRESS=$((clients + 10)) \
      VIGIE_MAX_CONNECTIONS_PER_ADDRESS=$((clients + 100)) pin_bg 0 "$bin/vigie" "${2:-serve}" > "$work/$1.log" 2>&1
  ) &
  pid=$!; pids+=("$pid"); wait_up "$url"
}

echo "== criterion: the reducer (decide, apply, JSON) for 5 000 fixes"
if $smoke; then cargo test --locked -p vigie-domain --bench reducer -q; else cargo bench --locked -p vigie-domain --bench reducer -- --noplot | tee "$out/criterion.txt"; fi

echo "== ingest: position batches over HTTP"
start_vigie ingest
pin 1 "$bin/loadgen" --url "$url" --pid "$pid" --token "$token" --register ingest --units "$ingest_units" --batch "$ingest_batch" --seconds "$seconds" | tee -a "$results"
kill "$pid"; wait "$pid" 2>/dev/null || true

# Two shapes: one batch per second (byte copies dominate), and batches of 50 spread over the
# second (many small messages: per-message costs dominate).
for batch in "$units" 50; do
  echo "== fan-out: $units units at 1 Hz in batches of $batch to $clients clients of five audiences (Vigie)"
  start_vigie "fanout-$batch"
  pin 1 "$bin/loadgen" --url "$url" --pid "$pid" --token "$token" --read-tokens "$read_tokens" --register fanout --units "$units" --clients "$clients" --seconds "$seconds" --batch "$batch" | tee -a "$results"
  kill "$pid"; wait "$pid" 2>/dev/null || true

  echo "== fan-out: the same against the Node ws peer"
  port=$(free_port)
  pin_bg 0 node bench/peer/ws_peer.mjs "$port" > "$work/peer.log" 2>&1 & pid=$!; pids+=("$pid"); wait_up "http://127.0.0.1:$port"
  pin 1 "$bin/loadgen" --url "http://127.0.0.1:$port" --pid "$pid" --target node-ws fanout --units "$units" --clients "$clients" --seconds "$seconds" --batch "$batch" | tee -a "$results"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

# Cursor-on-Target: TAK clients on the plain listener, then one partner server on the upstream link.
# Each twice: a gateway that only reports, and one whose clients also receive the room's picture.
for cot_with in cot_token cot_read_token; do
  echo "== CoT: $cot_clients TAK clients at 1 Hz on the plain listener ($cot_with)"
  cot_port=$(free_port); cot_settings=("VIGIE_COT_ADDR=127.0.0.1:$cot_port")
  start_vigie "cot-clients-$cot_with"
  pin 1 "$bin/cotgen" --url "$url" --pid "$pid" --token "$token" --target "vigie-$cot_with" clients --addr "127.0.0.1:$cot_port" --clients "$cot_clients" --seconds "$seconds" | tee -a "$results"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "== CoT: $cot_devices devices at 1 Hz from one upstream TAK server ($cot_with)"
  cot_port=$(free_port); cot_settings=("VIGIE_COT_UPSTREAM=127.0.0.1:$cot_port")
  # Vigie dials the partner's server until it answers (after 1 s, 2 s, 4 s…).
  start_vigie "cot-upstream-$cot_with"
  pin 1 "$bin/cotgen" --url "$url" --pid "$pid" --token "$token" --target "vigie-$cot_with" upstream --listen "127.0.0.1:$cot_port" --devices "$cot_devices" --seconds "$seconds" | tee -a "$results"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
unset cot_with

echo "== replay: seek and 60× playback on a generated log"
"$bin/replaygen" --db "sqlite://$work/replay.db" "${replay_log[@]}" | tee -a "$results" > "$work/replay_log.json"
echo "== the record: vigie audit verify on that log (recompute the tree, check every checkpoint)"
verify_started=$(date +%s%N)
"$bin/vigie" audit verify --database-url "sqlite://$work/replay.db" > "$work/verify.txt"
verify_ms=$(( ($(date +%s%N) - verify_started) / 1000000 ))
head -1 "$work/verify.txt"
node -e 'const [ms, line] = process.argv.slice(1); const m = /OK: (\d+) events and (\d+) checkpoints/.exec(line); console.log(JSON.stringify({bench: "audit_verify", events: +m[1], checkpoints: +m[2], wall_ms: +ms}))' "$verify_ms" "$(head -1 "$work/verify.txt")" | tee -a "$results"
window=$(node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(l.from_ms+" "+l.to_ms)' "$work/replay_log.json")
start_vigie replay
# shellcheck disable=SC2086
VIGIE_TOKEN="$token" pin 1 node bench/replay_seek.mjs "$url" $window "$seeks" "$play_s" | tee -a "$results"
echo "== search: one query over that log's room, as the room and as another agency's liaison; then in a replay of it"
# shellcheck disable=SC2086
VIGIE_TOKEN="$token" VIGIE_READ_TOKEN="${read_tokens##*,}" pin 1 node bench/search.mjs "$url" "$search_rounds" $window | tee -a "$results"
kill "$pid"; wait "$pid" 2>/dev/null || true

echo "== soak: the demo under normal load beside a hostile mix for ${soak_s} s"
start_vigie soak demo SOAK
pin 1 "$bin/soak" --url "$url" --pid "$pid" --token "$token" --seconds "$soak_s" --window "$soak_window" | tee -a "$results"
kill "$pid"; wait "$pid" 2>/dev/null || true

if ! $smoke && [ -f target/site/pkg/vigie.wasm ]; then
  echo "== map frame rate (headless Chromium, software WebGL)"
  VIGIE_BIN="$bin/vigie" node bench/map_fps.mjs 2000 10000 | tee -a "$results"
fi
node bench/table.mjs "$results"
