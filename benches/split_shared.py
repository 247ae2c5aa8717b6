#!/usr/bin/env python3
# Usage: python3 benches/split_shared.py SHARED_MMLU_PRO_DIR OUT_DIR [FOLD FOLDS]
# Without FOLD: the 70/30 split of the shared MMLU-Pro data by sha256 of the
# id (h mod 10 < 7 is train). With FOLD of FOLDS: fold FOLD (h mod FOLDS ==
# FOLD) is the test set, the rest the training set.
import hashlib, json, sys, os
import numpy as np
src = sys.argv[1]; out = sys.argv[2]
lines = open(os.path.join(src, "questions.jsonl")).read().splitlines()
ids = [str(json.loads(l)["id"]) for l in lines]
h = [int(hashlib.sha256(("aurora-eval-split:" + i).encode()).hexdigest(), 16) for i in ids]
if len(sys.argv) > 3:
    fold, folds = int(sys.argv[3]), int(sys.argv[4])
    train = [x % folds != fold for x in h]
else:
    train = [x % 10 < 7 for x in h]
emb = np.load(os.path.join(src, "embeddings_minilm.f16.npy"))
assert emb.shape[0] == len(lines)
csv = open(os.path.join(src, "correctness.csv")).read().splitlines()
header, rows = csv[0], {r.split(",")[0].strip(): r for r in csv[1:]}
for name, keep in (("train", True), ("test", False)):
    d = os.path.join(out, name); os.makedirs(d, exist_ok=True)
    idx = [k for k, t in enumerate(train) if t == keep]
    open(os.path.join(d, "prompts.jsonl"), "w").write("".join(lines[k] + "\n" for k in idx))
    open(os.path.join(d, "results.csv"), "w").write(header + "\n" + "".join(rows[ids[k]] + "\n" for k in idx))
    np.save(os.path.join(d, "emb.npy"), np.ascontiguousarray(emb[idx]))
    print(name, len(idx))
