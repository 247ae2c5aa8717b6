#!/usr/bin/env bash
# Regenerates the committed seed corpora of fuzz/corpus/ from the repo's own
# small files (tests/broken_profiles, fixtures) and from files written by
# the `aurora` tool itself (a route set, a taxonomy, templates, a stream
# store), all tiny. Usage: fuzz/seed-corpora.sh path/to/aurora
set -euo pipefail
aurora=$(realpath "$1")
cd "$(dirname "$0")/.."
c=fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$c"
mkdir -p "$c"/{profile_container,section_router,section_routes,section_taxonomy,section_templates,stream_store,npy,data_readers,ffi}

# Files written by the tool (mock embeddings: small and fast).
head -n 60 tests/fixtures/routes/train.jsonl >"$tmp/ex.jsonl"
"$aurora" -q routes build --examples "$tmp/ex.jsonl" --mock --epochs 20 --folds 2 --out "$tmp/routes.json"
head -n 40 tests/fixtures/templates/pairs.jsonl >"$tmp/pairs.jsonl"
"$aurora" -q templates mine --pairs "$tmp/pairs.jsonl" --mock --min-support 2 --max-templates 5 --out "$tmp/templates.json"
head -n 60 tests/fixtures/mmlu_small/prompts.jsonl >"$tmp/prompts.jsonl"
"$aurora" -q taxonomy build --prompts "$tmp/prompts.jsonl" --mock --max-depth 2 --out "$tmp/taxonomy.json"
for i in $(seq 0 40); do
  printf '{"id":"i%d","group":"g%d","timestamp":%d,"text":"item %d about topic %d"}\n' "$i" $((i % 2)) "$i" "$i" $((i % 5))
done >"$tmp/items.jsonl"
"$aurora" -q stream ingest --store "$tmp/store" --items "$tmp/items.jsonl" --mock --no-fsync >/dev/null
"$aurora" -q profile seal profiles/mmlu_pro-minilm.json --out "$tmp/sealed.json"

# Profile containers: every broken profile, the real ones, the tool's files.
cp tests/broken_profiles/*.json "$c/profile_container/"
cp tests/fixtures/profile-v2/mmlu_pro-minilm.json "$c/profile_container/v2.json"
for f in sealed routes templates taxonomy; do cp "$tmp/$f.json" "$c/profile_container/$f.json"; done

# Sections: the raw JSON of each section.
python3 - "$tmp" "$c" <<'PY'
import json, sys, glob, os
tmp, c = sys.argv[1], sys.argv[2]
def raw_sections(path):
    text = open(path).read()
    try:
        top = json.loads(text)
    except Exception:
        return {}
    if not isinstance(top, dict):
        return {}
    if str(top.get("version", "")).startswith("2"):
        top = {"router": {k: v for k, v in top.items() if k != "version"}}
    return {k: v for k, v in top.items() if k not in ("version", "seal")}
n = 0
for path in sorted(glob.glob("tests/broken_profiles/*.json")) + [f"{tmp}/sealed.json", f"{tmp}/routes.json", f"{tmp}/templates.json", f"{tmp}/taxonomy.json"]:
    for name, value in raw_sections(path).items():
        if name in ("router", "routes", "taxonomy", "templates"):
            out = f"{c}/section_{name}/{os.path.basename(path)}"
            open(out, "w").write(json.dumps(value, separators=(",", ":")))
            n += 1
print(f"seed-corpora: {n} sections")
PY

# Stream store: u16 LE length of meta.json, meta.json, log.bin.
python3 - "$tmp/store" "$c/stream_store" <<'PY'
import struct, sys, os
store, out = sys.argv[1], sys.argv[2]
meta = open(os.path.join(store, "meta.json"), "rb").read()
log = open(os.path.join(store, "log.bin"), "rb").read()
def seed(name, m, l):
    open(os.path.join(out, name), "wb").write(struct.pack("<H", len(m)) + m + l)
seed("store", meta, log)
seed("store_torn", meta, log[: len(log) * 2 // 3])
seed("store_empty_log", meta, b"")
seed("meta_only_v99", meta.replace(b'"format_version": 1', b'"format_version": 99'), log[:64])
PY

# .npy: a few rows of the fixtures, float16 and float32, and broken headers.
/work/venv/bin/python - "$c/npy" <<'PY' || python3 - "$c/npy" <<'PY2'
import sys, numpy as np
out = sys.argv[1]
x = np.load("tests/fixtures/mmlu_small/embeddings_minilm.f16.npy")[:3, :16]
np.save(f"{out}/f16.npy", x)
np.save(f"{out}/f32.npy", x.astype(np.float32))
np.save(f"{out}/f32_fortran.npy", np.asfortranarray(x.astype(np.float32)))
np.save(f"{out}/f64.npy", x.astype(np.float64))
np.save(f"{out}/one_d.npy", x[0])
open(f"{out}/truncated.npy", "wb").write(open(f"{out}/f16.npy", "rb").read()[:-7])
PY
import sys
open(sys.argv[1] + "/header_only.npy", "wb").write(b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }" + b" " * 52 + b"\n")
PY2

# Readers: selector byte + file (see fuzz_targets/data_readers.rs).
# shellcheck disable=SC2059 # the byte is built as a printf escape
sel() { printf "\\x$(printf %02x "$1")"; }
{ sel 0; head -n 3 tests/fixtures/mmlu_small/prompts.jsonl; } >"$c/data_readers/prompts"
{ sel 1; printf 'id,m1,m2\n1,0,1\nb,1,0.5\n'; } >"$c/data_readers/results"
{ sel 2; cat tests/fixtures/mmlu_small/models.json; } >"$c/data_readers/models"
{ sel 3; head -n 4 tests/fixtures/routes/train.jsonl; } >"$c/data_readers/examples"
{ sel 4; head -c 1500 /work/shared/data/sgd/dialogues.jsonl 2>/dev/null | head -n 1 || true; } >"$c/data_readers/dialogues"
{ sel 5; printf '{"weather": "the forecast", "music": "songs"}'; } >"$c/data_readers/json_map"
{ sel 6; head -n 3 tests/fixtures/templates/pairs.jsonl; } >"$c/data_readers/pairs"
{ sel 7; head -n 2 tests/fixtures/templates/train.jsonl; } >"$c/data_readers/dialogue_pairs"

# C ABI: selector byte + bytes (see fuzz_targets/ffi.rs).
{ sel 0; cat "$tmp/sealed.json"; } >"$c/ffi/router_sealed"
{ sel 0; cat tests/broken_profiles/version_missing.json; } >"$c/ffi/router_broken"
{ sel 1; cat "$tmp/routes.json"; } >"$c/ffi/routes"
{ sel 2; cat "$tmp/templates.json"; } >"$c/ffi/templates"
{ sel 3; printf 'what time is it'; } >"$c/ffi/text"
{ sel 4; printf '../../etc/passwd'; } >"$c/ffi/path"
{ sel 5; printf 'cactus-mock/ngram-d4\xffgroup\xffitem-1'; } >"$c/ffi/stream"
{ sel 6; cat tests/broken_profiles/truncated_half.json; } >"$c/ffi/short_len"
du -sh "$c"
