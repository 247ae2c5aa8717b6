#!/usr/bin/env bash
# Routing quality on held-out data: split the shared MMLU-Pro dev set 70/30
# by a hash of the id, build profiles on the 70 % (silhouette selection,
# K = 50, routing-cv selection), evaluate each on the 30 % with the kNN
# baseline, and print router / kNN / hull / oracle QAB.
# Usage: bash benches/routing_quality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/mmlu_pro
[ -d "$data" ] || { echo "shared data missing at $data (../shared/data relative to the repo root)" >&2; exit 2; }
out=bench-out/split; mkdir -p "$out"
python3 benches/split_shared.py "$data" "$out"
cargo build --release --bin aurora -q
a=./target/release/aurora
T=$out/train; S=$out/test
common=(--prompts "$T/prompts.jsonl" --results "$T/results.csv" --models "$data/models.json"
        --embeddings "$T/emb.npy" --embedding-model all-MiniLM-L6-v2 --quiet)
$a profile build "${common[@]}" --out "$out/p_silhouette.json"
$a profile build "${common[@]}" --k-min 50 --k-max 50 --no-hdbscan --out "$out/p_k50.json"
$a profile build "${common[@]}" --select routing-cv --out "$out/p_routing_cv.json"
for p in silhouette k50 routing_cv; do
  $a eval --profile "$out/p_$p.json" --prompts "$S/prompts.jsonl" --results "$S/results.csv" \
    --embeddings "$S/emb.npy" --embedding-model all-MiniLM-L6-v2 --baseline knn \
    --train-prompts "$T/prompts.jsonl" --train-results "$T/results.csv" --train-embeddings "$T/emb.npy" \
    --json > "$out/p_$p.eval.json"
  python3 - "$out/p_$p.eval.json" "$p" "$out/p_$p.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[3]))["metadata"]
print(f"{sys.argv[2]:<12} K={p['n_clusters']:<3} router QAB {r['qab']['mean']:.4f}  kNN {r['knn']['qab']['mean']:.4f}  "
      f"hull {r['hull_qab']:.4f}  oracle QAB {r['oracle']['qab']['mean']:.4f} (accuracy {r['oracle']['accuracy']:.3f})")
PY
done
