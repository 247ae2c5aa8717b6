#!/usr/bin/env python3
# Usage: benches/templates_split.py SGD_DIALOGUES.jsonl SGD_TURNS.npy OUT_DIR
# Splits the shared SGD dialogues by file order, with the matching rows of the
# per-turn embeddings (every turn of every dialogue, in file order):
#   train = dialogues 1-1000, test = 1001-1500 (the split);
#   fit = 1-800, val = 801-1000 (for tuning; the test split is never used to tune).
import json, os, sys
import numpy as np
src, npy, out = sys.argv[1:4]
lines = [l for l in open(src).read().splitlines() if l.strip()]
emb = np.load(npy)
starts = [0]
for l in lines:
    starts.append(starts[-1] + len(json.loads(l)["turns"]))
assert starts[-1] == emb.shape[0], (starts[-1], emb.shape)
os.makedirs(out, exist_ok=True)
for name, a, b in (("train", 0, 1000), ("test", 1000, 1500), ("fit", 0, 800), ("val", 800, 1000)):
    open(os.path.join(out, name + ".jsonl"), "w").write("".join(l + "\n" for l in lines[a:b]))
    np.save(os.path.join(out, name + ".npy"), np.ascontiguousarray(emb[starts[a]:starts[b]]))
    print(name, b - a, "dialogues", starts[b] - starts[a], "turns")
