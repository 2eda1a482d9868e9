#!/usr/bin/env bash
# Vigie against a real TAK server: FreeTAKServer 2.2.1 (PyPI, in the venv scripts/setup.sh makes),
# with Vigie as its client (VIGIE_COT_UPSTREAM) and pytak as another of its clients.
#
# FreeTAKServer binds every interface whatever its flags say, and its data folder /opt/fts is
# hard-coded; so everything here runs in new network, mount and PID namespaces where the only
# interface is loopback and /opt is a private tmpfs. Nothing listens beyond this machine's
# loopback, and nothing outlives the script (the PID namespace ends with it).
#
# Usage (as root): fts_interop.sh VIGIE_BIN DATABASE_URL TOKEN UNIT_ID OUT_DIR
#   The log at DATABASE_URL has an account whose API TOKEN reports positions for UNIT_ID.
#   Prints one JSON object: what pytak received through FreeTAKServer, and the room's state.
set -euo pipefail

if [[ "${1:-}" != "--inside" ]]; then
  exec unshare --net --mount --pid --fork --mount-proc "$0" --inside "$@"
fi
shift
vigie_bin=$1 database_url=$2 token=$3 unit_id=$4 out=$5
venv=${TAK_VENV:-$HOME/.cache/vigie/tools/tak-venv}
here=$(cd "$(dirname "$0")" && pwd)
ip link set lo up
mount -t tmpfs tmpfs /opt
mkdir -p "$out"

wait_port() { # port, seconds
  for _ in $(seq 1 $(($2 * 4))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "nothing listens on $1 after $2 s" >&2
  return 1
}

(cd "$out" && FTS_FIRST_START=false exec "$venv/bin/python" -m FreeTAKServer.controllers.services.FTS) >"$out/fts.log" 2>&1 &
wait_port 8087 90 || { tail -30 "$out/fts.log" >&2; exit 1; }

VIGIE_ADDR=127.0.0.1:3999 VIGIE_DATABASE_URL="$database_url" VIGIE_COT_UPSTREAM=127.0.0.1:8087 \
  VIGIE_COT_TOKEN="$token" RUST_LOG=${VIGIE_LOG:-info} "$vigie_bin" serve >"$out/vigie.log" 2>&1 &
wait_port 3999 30 || { tail -30 "$out/vigie.log" >&2; exit 1; }

api() { # method path [json]
  "$venv/bin/python" - "$@" <<'PY'
import json, sys, urllib.request
method, path = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request("http://127.0.0.1:3999" + path, data=data, method=method)
req.add_header("authorization", "Bearer " + __import__("os").environ["TOKEN"])
req.add_header("content-type", "application/json")
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
}
export TOKEN=$token
# pytak joins FreeTAKServer as another client and reports a moving device.
"$venv/bin/python" "$here/tak_peer.py" tcp://127.0.0.1:8087 --uid PYTAK-FTS-7 --callsign FTS-7 \
  --lat 48.8530 --lon 2.3499 --moves 6 --seconds 10 >"$out/peer.json" &
peer=$!
sleep 3
# The room's own unit reports now: Vigie shares it on its link, and FreeTAKServer relays it to pytak.
now_ms=$(($(date +%s%N) / 1000000))
api POST /api/v1/positions "{\"reports\":[{\"unit_id\":$unit_id,\"lon\":2.3333,\"lat\":48.8666,\"reported_at_ms\":$now_ms}]}" >/dev/null
wait $peer
sleep 1
api GET /api/v1/state >"$out/state.json"
"$venv/bin/python" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print(json.dumps({"peer": json.load(open(f"{out}/peer.json")), "state": json.load(open(f"{out}/state.json"))["state"]}))
PY
