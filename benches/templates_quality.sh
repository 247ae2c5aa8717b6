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
# Template budget: 5 % of the training pairs (8,764 → 438).
K=${K:-438}
# MiniLM serving: "model" = the SDK's MiniLM embedder (models/all-MiniLM-L6-v2) embeds the templates and
# the test queries; "precomputed" = sentence-transformers vectors looked up by text.
SERVE=${SERVE:-precomputed}
mkdir -p "$OUT"
$PY benches/templates_split.py "$SGD" "$EMB" "$OUT"
cat "$SGD" > "$OUT/all.jsonl"
echo "== mining all 1,500 dialogues with embeddings given"
/usr/bin/time -f "%e s wall, %M KB" $A templates mine --dialogues "$OUT/all.jsonl" --embeddings "$EMB" --embedding-model $M --out "$OUT/t_all.json"
echo "== mining dialogues 1-1000 with MiniLM and with the mock"
$A templates mine --dialogues "$OUT/train.jsonl" --embeddings "$OUT/train.npy" --embedding-model $M --max-templates $K --response-clusters 96 --out "$OUT/t_minilm.json"
$A -q templates mine --dialogues "$OUT/train.jsonl" --mock --max-templates $K --response-clusters 96 --out "$OUT/t_mock.json"
if [ "$SERVE" = model ]; then
  MINI=(--model models/all-MiniLM-L6-v2 --baseline-dialogues "$OUT/train.jsonl" --baseline-embeddings "$OUT/train.npy")
else
MINI=(--serve-precomputed --embeddings "$OUT/test.npy" --embedding-model $M --text-vectors-dialogues "$OUT/train.jsonl" --text-vectors "$OUT/train.npy" --baseline-dialogues "$OUT/train.jsonl" --baseline-embeddings "$OUT/train.npy")
fi
MOCK=(--mock --baseline-dialogues "$OUT/train.jsonl")
for mined in minilm mock; do
  for served in minilm mock; do
    if [ $served = minilm ]; then S=("${MINI[@]}"); else S=("${MOCK[@]}"); fi
    echo "== mined with $mined, served with $served (dialogues 1001-1500)"
    /usr/bin/time -f "%e s wall" $A -q templates eval --templates "$OUT/t_$mined.json" --dialogues "$OUT/test.jsonl" "${S[@]}" --threshold=-10 --json > "$OUT/eval_${mined}_${served}.json"
    $PY -c "import json,sys; r=json.load(open(sys.argv[1])); b=r.get('baseline',{}).get('curve',[])
for i,c in enumerate(r['curve']): print('%.2f  %.3f  %.3f' % (c['coverage'], c['act_precision'], b[i]['act_precision'] if i < len(b) else float('nan')))" "$OUT/eval_${mined}_${served}.json"
  done
done
