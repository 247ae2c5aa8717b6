#!/usr/bin/env bash
# The main job on the shipped example, from a fresh clone: build a router
# profile from the 1,501-question MMLU-Pro subset in examples/mmlu_pro
# (precomputed MiniLM embeddings, 9 models; K and shrinkage chosen by routing
# cross-validation), measure its held-out quality by 5-fold cross-validation,
# route ten of its prompts at the two cost preferences where the picks
# differ from prompt to prompt, and write the HTML report of the profile.
# Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
E=examples/mmlu_pro
P=profiles/mmlu_pro-minilm.json
R=profiles/mmlu_pro-minilm.html

echo "==> cargo build --release --features cli --bin aurora  (a few minutes the first time)"
cargo build --release --features cli --bin aurora
# Wherever cargo puts its builds (CARGO_TARGET_DIR, a workspace config, …).
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
aurora="$target_dir/release/aurora"

# The embeddings' model comes from their sidecar (embeddings_minilm.f16.npy.json).
echo
echo "==> aurora profile build  ($E -> $P)"
$aurora profile build \
  --prompts $E/prompts.jsonl --results $E/results.csv --models $E/models.json \
  --embeddings $E/embeddings_minilm.f16.npy --select routing-cv --out $P

echo
echo "==> aurora eval --cv 5  (held-out quality: build on four folds, score the fifth)"
$aurora eval --cv 5 \
  --prompts $E/prompts.jsonl --results $E/results.csv --models $E/models.json \
  --embeddings $E/embeddings_minilm.f16.npy

rows=()
for r in 0 150 300 450 600 750 900 1050 1200 1350; do rows+=(--row "$r"); done
# At cost preference 0 every prompt goes to the most accurate model and near
# 1 to the cheapest; in between, the picks depend on each prompt's cluster.
for pref in 0.06 0.9; do
  echo
  echo "==> aurora route  (cost preference $pref: each prompt's model, its cluster's keywords, then the totals)"
  $aurora route --profile $P --embeddings $E/embeddings_minilm.f16.npy \
    --prompts $E/prompts.jsonl --results $E/results.csv --cost-preference $pref "${rows[@]}"
done

echo
echo "==> aurora report  (map, error heatmap, deferral curves, clustering candidates)"
$aurora report --profile $P \
  --prompts $E/prompts.jsonl --results $E/results.csv --embeddings $E/embeddings_minilm.f16.npy \
  --out $R
echo
echo "Open the report in a browser: $R"
