#!/usr/bin/env python3
"""Tables for benches/routing_quality.sh.

quality_table.py DIR NAME...        one row per profile DIR/p_NAME.json
quality_table.py --folds DIR...     one row per fold (DIR/p_routing_cv.json),
                                    then means and paired differences
"""
import json, sys


def load(d, name):
    r = json.load(open(f"{d}/p_{name}.eval.json"))
    md = json.load(open(f"{d}/p_{name}.json"))["metadata"]
    routing = md.get("routing") or {"assignment": "hard"}
    assign = "hard" if routing["assignment"] == "hard" else f"soft top-{routing['top_k']}"
    return {
        "K": md["n_clusters"], "assign": assign,
        "router": r["qab"]["mean"], "uniroute": r["uniroute"]["qab"]["mean"],
        "uniroute_K": r["uniroute"]["k"], "knn": r["knn"]["qab"]["mean"],
        "hull": r["hull_qab"], "oracle": r["oracle"]["qab"]["mean"],
    }


def row(label, x):
    print(f"| {label} | {x['K']} | {x['assign']} | {x['router']:.4f} | {x['uniroute']:.4f} (K={x['uniroute_K']}) "
          f"| {x['knn']:.4f} | {x['hull']:.4f} | {x['oracle']:.4f} |")


print("| profile | K | assignment | router QAB | UniRoute QAB | kNN QAB | hull QAB | oracle QAB |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
if sys.argv[1] == "--folds":
    rows = [load(d, "routing_cv") for d in sys.argv[2:]]
    for i, x in enumerate(rows):
        row(f"fold {i}", x)
    n = len(rows)
    mean = {k: sum(x[k] for x in rows) / n for k in ("router", "uniroute", "knn", "hull", "oracle")}
    print(f"| **mean** | | | **{mean['router']:.4f}** | {mean['uniroute']:.4f} | {mean['knn']:.4f} "
          f"| {mean['hull']:.4f} | {mean['oracle']:.4f} |")
    for b in ("uniroute", "knn", "hull"):
        d = [x["router"] - x[b] for x in rows]
        print(f"router − {b}: mean {sum(d) / n:+.4f}, per fold " + " ".join(f"{v:+.4f}" for v in d)
              + f" (router ahead on {sum(v > 0 for v in d)} of {n} folds)")
else:
    d = sys.argv[1]
    for name in sys.argv[2:]:
        row(name, load(d, name))
