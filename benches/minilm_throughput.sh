#!/usr/bin/env bash
# Throughput of the pure-Rust all-MiniLM-L6-v2 embedder (`aurora embed
# --model DIR --prompts P --out E.npy`) against sentence-transformers on
# PyTorch CPU (benches/peers/minilm_st.py), on the same texts and the same
# cores, alternating runs; then the peak RSS of `aurora embed` on 10,000 texts.
#
#   benches/minilm_throughput.sh [N=5000] [RUNS=3]
#
# Needs: models/all-MiniLM-L6-v2 (scripts/fetch-minilm.sh), ../shared/data,
# a Python with sentence-transformers (PYTHON, default /work/venv/bin/python),
# and `cargo build --release --features cli`. Both sides get 2 threads
# (taskset -c 0,1 when available; RAYON_NUM_THREADS=2; torch.set_num_threads(2)).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-5000}"
runs="${2:-3}"
py="${PYTHON:-/work/venv/bin/python}"
model="$root/models/all-MiniLM-L6-v2"
data="$root/../shared/data"
aurora="$root/target/release/aurora"
[ -x "$aurora" ] || { echo "build first: cargo build --release --features cli" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pin=()
command -v taskset >/dev/null && pin=(taskset -c "0,1")

head -n "$n" "$data/mmlu_pro/questions.jsonl" >"$tmp/p.jsonl"
ours=()
peer=()
for r in $(seq "$runs"); do
  o="$(RAYON_NUM_THREADS=2 "${pin[@]}" "$aurora" embed --model "$model" --prompts "$tmp/p.jsonl" --out "$tmp/e.npy" --json --quiet)"
  ours+=("$(echo "$o" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["texts_per_second"])')")
  o="$("${pin[@]}" "$py" "$root/benches/peers/minilm_st.py" "$model" "$tmp/p.jsonl" --threads 2)"
  peer+=("$(echo "$o" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["texts_per_second"])')")
  echo "run $r: aurora ${ours[-1]} texts/s, sentence-transformers ${peer[-1]} texts/s"
done
"$py" - "${ours[*]}" "${peer[*]}" "$n" <<'PY'
import statistics, sys
ours = [float(x) for x in sys.argv[1].split()]
peer = [float(x) for x in sys.argv[2].split()]
mo, mp = statistics.median(ours), statistics.median(peer)
print(f"{sys.argv[3]} texts, median of {len(ours)}: aurora {mo:.1f} texts/s, "
      f"sentence-transformers {mp:.1f} texts/s, ratio {mo / mp:.2f}x")
PY

# Peak RSS on 10,000 texts: the 8,315 MMLU-Pro questions + CLINC150 train lines.
"$py" - "$data" "$tmp/p10k.jsonl" <<'PY'
import json, sys
data, out = sys.argv[1], sys.argv[2]
texts = [json.loads(l)["text"] for l in open(f"{data}/mmlu_pro/questions.jsonl")]
texts += [json.loads(l)["text"] for l in open(f"{data}/clinc150/train.jsonl")]
with open(out, "w") as f:
    for i, t in enumerate(texts[:10000]):
        f.write(json.dumps({"id": i, "text": t}) + "\n")
PY
RAYON_NUM_THREADS=2 /usr/bin/time -v "${pin[@]}" "$aurora" embed --model "$model" --prompts "$tmp/p10k.jsonl" --out "$tmp/e10k.npy" --quiet 2>"$tmp/time.txt"
grep -E "Maximum resident|Elapsed" "$tmp/time.txt"
