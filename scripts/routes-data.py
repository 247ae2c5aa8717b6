#!/usr/bin/env python3
"""Derives the semantic-routes benchmark inputs (see BENCHMARKS.md, "Semantic routes").

usage: routes-data.py SHARED_DATA EMB_DIR OUT_DIR
Writes to OUT_DIR:
  sgd_train.jsonl / .npy  single-domain user turns of dialogues 1-1000 (file order), route = domain
  sgd_test.jsonl / .npy   dialogues 1001-1500 (the dialogue format) and every one of their turns' rows
  clinc_train10.jsonl / .npy  10 training lines of each CLINC150 intent, drawn at random (numpy seed 0) (no OOS lines)
"""
import json, sys
import numpy as np

data, emb, out = sys.argv[1:4]
dialogues = [json.loads(l) for l in open(f"{data}/sgd/dialogues.jsonl")]
rows = np.load(f"{emb}/sgd_turns.f16.npy")
r = 0
tr_lines, tr_rows, te_rows = [], [], []
for i, d in enumerate(dialogues):
    for t in d["turns"]:
        if i < 1000 and t["speaker"] == "user" and len(t["domains"]) == 1:
            tr_lines.append({"text": t["text"], "route": t["domains"][0]})
            tr_rows.append(r)
        if i >= 1000:
            te_rows.append(r)
        r += 1
assert r == len(rows)
with open(f"{out}/sgd_train.jsonl", "w") as f:
    f.writelines(json.dumps(l) + "\n" for l in tr_lines)
np.save(f"{out}/sgd_train.npy", rows[tr_rows])
with open(f"{out}/sgd_test.jsonl", "w") as f:
    f.writelines(json.dumps(d) + "\n" for d in dialogues[1000:])
np.save(f"{out}/sgd_test.npy", rows[te_rows])
clinc = [json.loads(l) for l in open(f"{data}/clinc150/train.jsonl")]
crow = np.load(f"{emb}/clinc150_train.f16.npy")
by_route = {}
for i, l in enumerate(clinc):
    if l["route"] is not None:
        by_route.setdefault(l["route"], []).append(i)
rng = np.random.default_rng(0)
keep = sorted(int(i) for r in by_route for i in rng.choice(by_route[r], 10, replace=False))
with open(f"{out}/clinc_train10.jsonl", "w") as f:
    f.writelines(json.dumps(clinc[i]) + "\n" for i in keep)
np.save(f"{out}/clinc_train10.npy", crow[keep])
print(len(tr_lines), "sgd train lines,", len(te_rows), "sgd test turns,", len(keep), "clinc 10-shot lines")
