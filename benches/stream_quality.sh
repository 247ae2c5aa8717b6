#!/usr/bin/env bash
# Quality of `aurora stream` on CLINC150 in-scope train lines (issue #14):
# group = domain, label = route, seeded orders 0,1,2; and the peers in the same run.
# Needs /work/scratch/emb/clinc150_train.f16.npy (MiniLM, see HELPERS notes) and /work/venv.
set -euo pipefail
W=${W:-/tmp/stream_quality}; mkdir -p "$W"; cd "$W"
PY=${PY:-/work/venv/bin/python}; A=${AURORA:-$(dirname "$0")/../target/debug/aurora}
EMB=${EMB:-/work/scratch/emb/clinc150_train.f16.npy}; DATA=${DATA:-$(dirname "$0")/../../shared/data/clinc150}
"$PY" - "$EMB" "$DATA/train.jsonl" <<'PY'
import json, sys, numpy as np
E = np.load(sys.argv[1]); rows = []; out = open("clinc_train.jsonl", "w")
for i, l in enumerate(open(sys.argv[2])):
    d = json.loads(l)
    if d["route"] is None: continue
    rows.append(i); out.write(json.dumps({"id": d["id"], "group": d["domain"], "route": d["route"]}) + "\n")
np.save("clinc_train.f16.npy", E[rows])
PY
for s in 0 1 2; do
  rm -rf st; "$A" -q stream ingest --store st --items clinc_train.jsonl --embeddings clinc_train.f16.npy \
    --embedding-model all-MiniLM-L6-v2 --order-seed $s --no-fsync > /dev/null
  echo "aurora stream seed $s: $("$A" stream eval --store st --items clinc_train.jsonl --label-field route --json)"
  "$PY" "$(dirname "$0")/peers/stream_peers.py" clinc_train.jsonl clinc_train.f16.npy route $s
done
