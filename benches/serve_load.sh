#!/usr/bin/env bash
# Load test of `aurora serve` on loopback with wrk: GET /groups/{id}/clusters
# and POST /route (an embedding query, body from benches/serve_route.lua),
# with GET /healthz as the floor (the HTTP stack alone, no work).
#
#   benches/serve_load.sh [ITEMS=2000] [SECONDS=15] [CONNECTIONS=32]
#   (AURORA_BIN=path/to/aurora to bench another build)
#
# Needs: `cargo build --release --features cli,serve`, wrk (apt-get install
# wrk), python3 with numpy (PYTHON, default /work/venv/bin/python), and the
# MiniLM embeddings of MMLU-Pro in ../shared/data (else the 300-row fixture
# tests/fixtures/mmlu_small). The store gets ITEMS real MiniLM vectors in one
# group (batches of 500), the router is profiles/mmlu_pro-minilm.json.
# The server and wrk share the machine's cores (no pinning); wrk runs 2
# threads. Prints requests/s and p50/p99 latency per endpoint.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
items="${1:-2000}"
secs="${2:-15}"
conns="${3:-32}"
py="${PYTHON:-/work/venv/bin/python}"
aurora="${AURORA_BIN:-$root/target/release/aurora}"
[ -x "$aurora" ] || { echo "build first: cargo build --release --features cli,serve" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
emb="$root/../shared/data/mmlu_pro/embeddings_minilm.f16.npy"
[ -f "$emb" ] || emb="$root/tests/fixtures/mmlu_small/embeddings_minilm.f16.npy"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"$py" - "$emb" "$items" "$tmp" <<'PY'
import json, sys
import numpy as np
e = np.load(sys.argv[1]).astype(np.float32)
n = min(int(sys.argv[2]), len(e))
out = sys.argv[3]
for b in range(0, n, 500):
    batch = [{"id": f"q{i}", "embedding": [float(x) for x in e[i]], "timestamp": float(i)}
             for i in range(b, min(b + 500, n))]
    with open(f"{out}/batch{b // 500:04d}.json", "w") as f:
        json.dump(batch, f)
with open(f"{out}/route.json", "w") as f:
    json.dump({"embedding": [float(x) for x in e[n % len(e)]], "cost_preference": 0.3}, f)
PY

RUST_LOG=warn "$aurora" serve --store "$tmp/store" --embedding-model all-MiniLM-L6-v2 --dim 384 \
  --no-fsync --profile "$root/profiles/mmlu_pro-minilm.json" --addr 127.0.0.1:0 >"$tmp/out" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/out" && break; sleep 0.1; done
base="$(sed -n 's/^listening on //p' "$tmp/out")"
[ -n "$base" ] || { echo "the server did not start" >&2; exit 1; }
for f in "$tmp"/batch*.json; do
  curl -sf -X POST -H 'Content-Type: application/json' --data-binary "@$f" "$base/groups/bench/items" >/dev/null
done
curl -sf "$base/groups/bench/clusters" | "$py" -c '
import json, sys
c = json.load(sys.stdin)
print("group: %d items, %d clusters, %d pending, response %d bytes"
      % (c["items"], len(c["clusters"]), c["pending"], len(json.dumps(c))))'

run() { # name, wrk args…
  local name="$1"
  shift
  local out
  out="$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@")"
  local rps p50 p99
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  printf '%-28s %10s req/s   p50 %8s   p99 %8s\n' "$name" "$rps" "$p50" "$p99"
}
echo "wrk -t2 -c$conns -d${secs}s --latency, $(nproc) cores shared by server and wrk"
run "GET /healthz (floor)" "$base/healthz"
run "GET /groups/bench/clusters" "$base/groups/bench/clusters"
AURORA_BODY="$tmp/route.json" run "POST /route" -s "$root/benches/serve_route.lua" "$base/route"
