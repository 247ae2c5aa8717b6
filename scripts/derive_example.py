#!/usr/bin/env python3
"""Derive a small, stratified subset of the shared MMLU-Pro routing data.

Used to make the example shipped in `examples/mmlu_pro/` (about 1,500
questions) and the CI fixture in `tests/fixtures/mmlu_small/` (300). The
selection is deterministic: within each category, ids are ordered by
sha256("aurora-example-v1:<id>") and the first round(n * share) are taken.

    python3 scripts/derive_example.py --n 1500 --out examples/mmlu_pro
    python3 scripts/derive_example.py --n 300  --out tests/fixtures/mmlu_small
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("derive_example.py needs numpy: pip install numpy (or use the project's venv)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "mmlu_pro"))
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--salt", default="aurora-example-v1")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit(f"shared data not found at {a.data}: it is expected at ../shared/data/mmlu_pro relative to the repo root")
    qs = [json.loads(l) for l in open(os.path.join(a.data, "questions.jsonl"), encoding="utf-8")]
    lines = open(os.path.join(a.data, "correctness.csv"), encoding="utf-8").read().splitlines()
    header, rows = lines[0], lines[1:]
    emb = np.load(os.path.join(a.data, "embeddings_minilm.f16.npy"))
    assert len(qs) == len(rows) == emb.shape[0]
    by_cat = {}
    for i, q in enumerate(qs):
        by_cat.setdefault(q["category"], []).append(i)
    total = len(qs)
    key = lambda i: hashlib.sha256(f"{a.salt}:{qs[i]['id']}".encode()).hexdigest()
    chosen = []
    for cat in sorted(by_cat):
        idx = sorted(by_cat[cat], key=key)
        chosen += idx[: max(1, round(a.n * len(idx) / total))]
    chosen.sort()  # keep the source order (sorted by id)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "prompts.jsonl"), "w", encoding="utf-8") as f:
        for i in chosen:
            f.write(json.dumps(qs[i], ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "results.csv"), "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for i in chosen:
            f.write(rows[i] + "\n")
    models = json.load(open(os.path.join(a.data, "models.json"), encoding="utf-8"))
    with open(os.path.join(a.out, "models.json"), "w", encoding="utf-8") as f:
        json.dump(models, f, indent=2)
        f.write("\n")
    npy = os.path.join(a.out, "embeddings_minilm.f16.npy")
    np.save(npy, np.ascontiguousarray(emb[chosen].astype("<f2")))
    # The sidecar every `aurora` reader checks (as `aurora embed --out` writes it).
    with open(npy + ".json", "w", encoding="utf-8") as f:
        json.dump({"model": "all-MiniLM-L6-v2", "dim": int(emb.shape[1]), "normalized": True,
                   "count": len(chosen), "is_mock": False}, f, indent=2)
        f.write("\n")
    print(f"{len(chosen)} questions from {len(by_cat)} categories -> {a.out}")


if __name__ == "__main__":
    main()
