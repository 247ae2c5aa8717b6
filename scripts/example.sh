#!/usr/bin/env bash
# The main job on the shipped example: build a router profile from the
# 1,501-question MMLU-Pro subset in examples/mmlu_pro (precomputed MiniLM
# embeddings, 9 models; K and shrinkage chosen by routing cross-validation),
# then route a few of its prompts at three cost
# preferences. Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
E=examples/mmlu_pro
P=profiles/mmlu_pro-minilm.json

echo "==> cargo build --release --features cli --bin aurora  (a few minutes the first time)"
cargo build --release --features cli --bin aurora
# Wherever cargo puts its builds (CARGO_TARGET_DIR, a workspace config, …).
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
aurora="$target_dir/release/aurora"

echo "==> aurora profile build  ($E -> $P)"
$aurora profile build \
  --prompts $E/prompts.jsonl --results $E/results.csv --models $E/models.json \
  --embeddings $E/embeddings_minilm.f16.npy --embedding-model all-MiniLM-L6-v2 \
  --select routing-cv --out $P

for pref in 0 0.3 0.98; do
  echo
  echo "==> aurora route  (cost preference $pref)"
  $aurora route --profile $P --embeddings $E/embeddings_minilm.f16.npy \
    --embedding-model all-MiniLM-L6-v2 --cost-preference $pref --row 0 --row 400 --row 800 --row 1200
done
