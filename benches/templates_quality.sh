#!/usr/bin/env bash
# Template mining quality on the shared SGD dialogues (issue #16), and the
# mining ≠ serving matrix. Usage: benches/templates_quality.sh [OUT_DIR]
# Needs target/release/aurora, the venv (numpy) and /work/scratch/emb/sgd_turns.f16.npy.
# Split (file order): mine on dialogues 1-1000, score on 1001-1500.
set -euo pipefail
OUT=${1:-/tmp/templates_quality}
A=${AURORA:-target/release/aurora}
PY=${PY:-/work/venv/bin/python}
SGD=${SGD:-../shared/data/sgd/dialogues.jsonl}
EMB=${EMB:-/work/scratch/emb/sgd_turns.f16.npy}
M=all-MiniLM-L6-v2
mkdir -p "$OUT"
$PY benches/templates_split.py "$SGD" "$EMB" "$OUT"
cat "$SGD" > "$OUT/all.jsonl"
echo "== mining all 1,500 dialogues with embeddings given"
/usr/bin/time -f "%e s wall, %M KB" $A templates mine --dialogues "$OUT/all.jsonl" --embeddings "$EMB" --embedding-model $M --out "$OUT/t_all.json"
echo "== mining dialogues 1-1000 with MiniLM and with the mock"
$A templates mine --dialogues "$OUT/train.jsonl" --embeddings "$OUT/train.npy" --embedding-model $M --out "$OUT/t_minilm.json"
$A -q templates mine --dialogues "$OUT/train.jsonl" --mock --out "$OUT/t_mock.json"
MINI=(--serve-precomputed --embeddings "$OUT/test.npy" --embedding-model $M --text-vectors-dialogues "$OUT/train.jsonl" --text-vectors "$OUT/train.npy" --baseline-dialogues "$OUT/train.jsonl" --baseline-embeddings "$OUT/train.npy")
MOCK=(--mock --baseline-dialogues "$OUT/train.jsonl")
for mined in minilm mock; do
  for served in minilm mock; do
    if [ $served = minilm ]; then S=("${MINI[@]}"); else S=("${MOCK[@]}"); fi
    echo "== mined with $mined, served with $served (dialogues 1001-1500)"
    $A -q templates eval --templates "$OUT/t_$mined.json" --dialogues "$OUT/test.jsonl" "${S[@]}" --threshold=-10 --json > "$OUT/eval_${mined}_${served}.json"
    $A -q templates eval --templates "$OUT/t_$mined.json" --dialogues "$OUT/test.jsonl" "${S[@]}" --threshold=-10
  done
done
