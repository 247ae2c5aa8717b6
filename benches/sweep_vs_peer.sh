#!/usr/bin/env bash
# The profile-generation benchmark: `aurora profile build` on the full shared
# MMLU-Pro dev set (8,315 x 384) against the Python peer (scikit-learn +
# hdbscan) doing the same sweep, in the same run, on the same machine.
# Prints wall time, peak memory, the ratio, and each selection's ARI against
# the `category` field. Usage: bash benches/sweep_vs_peer.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
data=../shared/data/mmlu_pro
[ -d "$data" ] || { echo "shared data missing at $data (../shared/data relative to the repo root)" >&2; exit 2; }
out=bench-out; mkdir -p "$out"
python3 -c 'import sklearn, hdbscan' 2>/dev/null || pip install -q -r benches/peers/requirements.txt
cargo build --release --features cli --bin aurora -q
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

echo "== aurora profile build (threads=$threads)"
/usr/bin/time -f '%e s wall, %M KB peak RSS' -o "$out/aurora.time" \
  "$target_dir/release/aurora" --threads "$threads" --quiet profile build \
  --prompts "$data/questions.jsonl" --results "$data/correctness.csv" --models "$data/models.json" \
  --embeddings "$data/embeddings_minilm.f16.npy" --embedding-model all-MiniLM-L6-v2 \
  --out "$out/full.json" --labels-out "$out/full_labels.csv" --verbose 2> "$out/aurora.log"
cat "$out/aurora.log" "$out/aurora.time"

echo "== python peer: scikit-learn + hdbscan (threads=$threads)"
/usr/bin/time -f '%e s wall, %M KB peak RSS' -o "$out/peer.time" \
  python3 benches/peers/profile_sweep.py --threads "$threads" --out "$out/peer.json" > "$out/peer.log"
tail -n 5 "$out/peer.log"; cat "$out/peer.time"

python3 - "$out" "$data" <<'PY'
import json, sys, csv
from sklearn.metrics import adjusted_rand_score as ari
out, data = sys.argv[1], sys.argv[2]
cat = {str(json.loads(l)["id"]): json.loads(l)["category"] for l in open(f"{data}/questions.jsonl")}
rows = list(csv.DictReader(open(f"{out}/full_labels.csv")))
ours = ari([cat[r["id"]] for r in rows], [int(r["cluster"]) for r in rows])
peer = json.load(open(f"{out}/peer.json"))
p = json.load(open(f"{out}/full.json"))["metadata"]
a = float(open(f"{out}/aurora.time").read().split()[0]); b = float(open(f"{out}/peer.time").read().split()[0])
print(f"aurora: {a:.1f} s, selected {p['clustering_algorithm']} {p['params']} silhouette {p['silhouette_score']:.4f}, ARI vs category {ours:.3f}")
sel = peer["selected"]
print(f"peer:   {b:.1f} s, selected {sel.get('algorithm')} {sel.get('params')} silhouette {sel.get('silhouette'):.4f}, ARI vs category {sel.get('ari_category'):.3f}")
print(f"speed-up (peer wall / aurora wall): {b / a:.1f}x")
PY
