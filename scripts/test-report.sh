#!/usr/bin/env bash
# Renders `aurora report` of the shipped example in a real browser (Debian's
# headless Chromium driven by playwright-core, both installed by
# scripts/setup.sh) and fails on any console error, any network request, or
# a chart without marks. The screenshot goes to target/report-check/.
#
#   bash scripts/test-report.sh            # uses target/debug/aurora (builds it)
#   AURORA=path/to/aurora bash scripts/test-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

out=target/report-check
mkdir -p "$out"
if [ -z "${AURORA:-}" ]; then
  cargo build --quiet --features "${FEATURES:-cli}" --bin aurora
  target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  AURORA="$target_dir/debug/aurora"
fi
[ -x /usr/bin/chromium ] || { echo "test-report: /usr/bin/chromium missing: run scripts/setup.sh" >&2; exit 1; }
if [ ! -d scripts/browser/node_modules/playwright-core ]; then
  (cd scripts/browser && npm ci --no-fund --no-audit --omit=dev >/dev/null)
fi

E=examples/mmlu_pro
R=tests/fixtures/routes
# A small taxonomy of the example and a route set of the routes fixture,
# so that every section of the page is drawn.
"$AURORA" -q taxonomy build --prompts $E/prompts.jsonl --embeddings $E/embeddings_minilm.f16.npy \
  --max-depth 1 --out "$out/taxonomy.json" >/dev/null
"$AURORA" -q routes build --examples $R/train.jsonl --embeddings $R/train.npy \
  --embedding-model all-MiniLM-L6-v2 --out "$out/routes.json" >/dev/null
"$AURORA" -q report --profile profiles/mmlu_pro-minilm.json \
  --prompts $E/prompts.jsonl --results $E/results.csv --embeddings $E/embeddings_minilm.f16.npy \
  --taxonomy "$out/taxonomy.json" \
  --routes "$out/routes.json" --route-prompts $R/test.jsonl --route-embeddings $R/test.npy \
  --out "$out/report.html"
echo "report: $out/report.html ($(wc -c <"$out/report.html") bytes)"
node scripts/browser/check-report.mjs "$out/report.html" "$out/report.png" \
  map,heatmap,curves,selection,taxonomy,routes-confusion,routes-accuracy
echo "test-report: ok in $((SECONDS - start)) s"
