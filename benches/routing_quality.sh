#!/usr/bin/env bash
# Routing quality on held-out data, on the shared MMLU-Pro dev set.
#
# 1. The 70/30 split (by a hash of the id): profiles built on the 70 %
#    (silhouette selection, K = 50, routing-cv selection), each evaluated on
#    the 30 % with the kNN and UniRoute baselines trained on the same 70 %.
# 2. 5-fold cross-validation (folds by a hash of the id): per fold, a
#    routing-cv profile built on the other four folds, evaluated on the fold
#    with both baselines; per-fold QAB, means and paired differences.
#
# Usage: bash benches/routing_quality.sh [--folds-only]
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/mmlu_pro
[ -d "$data" ] || { echo "shared data missing at $data (../shared/data relative to the repo root)" >&2; exit 2; }
cargo build --release --features cli --bin aurora -q
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
a="$target_dir/release/aurora"

# build_and_eval OUT_DIR NAME [profile build flags…]: builds OUT_DIR/p_NAME.json
# on OUT_DIR/train and evaluates it on OUT_DIR/test with both baselines.
build_and_eval() {
  local out=$1 name=$2; shift 2
  local T=$out/train S=$out/test
  $a profile build --prompts "$T/prompts.jsonl" --results "$T/results.csv" --models "$data/models.json" \
    --embeddings "$T/emb.npy" --embedding-model all-MiniLM-L6-v2 --quiet "$@" --out "$out/p_$name.json" > /dev/null
  $a eval --profile "$out/p_$name.json" --prompts "$S/prompts.jsonl" --results "$S/results.csv" \
    --embeddings "$S/emb.npy" --embedding-model all-MiniLM-L6-v2 --baseline knn,uniroute \
    --train-prompts "$T/prompts.jsonl" --train-results "$T/results.csv" --train-embeddings "$T/emb.npy" \
    --quiet --json > "$out/p_$name.eval.json"
}

if [ "${1:-}" != "--folds-only" ]; then
  out=bench-out/split; mkdir -p "$out"
  python3 benches/split_shared.py "$data" "$out" > /dev/null
  build_and_eval "$out" silhouette
  build_and_eval "$out" k50 --k-min 50 --k-max 50 --no-hdbscan
  build_and_eval "$out" routing_cv --select routing-cv
  echo "70/30 split (QAB on the 30 %):"
  python3 benches/quality_table.py "$out" silhouette k50 routing_cv
fi

for f in 0 1 2 3 4; do
  out=bench-out/fold$f; mkdir -p "$out"
  python3 benches/split_shared.py "$data" "$out" "$f" 5 > /dev/null
  build_and_eval "$out" routing_cv --select routing-cv
done
echo "5-fold cross-validation (QAB on each held-out fold):"
python3 benches/quality_table.py --folds bench-out/fold{0,1,2,3,4}
