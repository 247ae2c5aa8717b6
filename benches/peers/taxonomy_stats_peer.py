"""scipy.stats peer of `aurora taxonomy stats` (src/taxonomy/stats.rs).

Two modes:

* `python taxonomy_stats_peer.py tables` prints the scipy values of the fixed
  tables that `tests/taxonomy_stats.rs` checks the Rust code against.
* `python taxonomy_stats_peer.py check T.json A.jsonl R.csv S.json`
  recomputes every test of a `aurora taxonomy stats --json` report S from the
  tree T, annotations A and results R with scipy, and prints the largest
  absolute differences of p-values, q-values, χ² statistics and Cramér's V.
"""
import json
import sys

import numpy as np
from scipy import stats
from scipy.stats.contingency import association

TABLES = {
    "chi2_3x2": [[30, 10], [20, 20], [5, 25]],
    "chi2_2x2_yates": [[40, 20], [25, 35]],
    "chi2_4x2": [[12, 5], [7, 9], [30, 2], [3, 3]],
}
FISHER = {"f1": [[8, 2], [1, 5]], "f2": [[3, 40], [10, 12]], "f3": [[0, 7], [12, 3]], "f4": [[1, 120], [9, 330]]}
BH = [0.01, 0.04, 0.03, 0.2, 0.001, 0.5, 0.04]


def tables():
    for name, t in TABLES.items():
        r = stats.chi2_contingency(np.array(t, dtype=float))
        v = association(np.array(t), method="cramer")
        print(f"{name}: chi2={r.statistic!r} dof={r.dof} p={r.pvalue!r} cramer={v!r}")
    for name, t in FISHER.items():
        print(f"{name}: fisher p={stats.fisher_exact(t).pvalue!r}")
    print("bh:", [float(q) for q in stats.false_discovery_control(BH, method="bh")])


def check(tree_path, ann_path, res_path, report_path):
    tree = json.load(open(tree_path))["taxonomy"]
    anns = [json.loads(l) for l in open(ann_path) if l.strip()]
    lines = open(res_path).read().splitlines()
    header = lines[0].split(",")
    rows = {l.split(",")[0]: [float(x) >= 0.5 for x in l.split(",")[1:]] for l in lines[1:]}
    report = json.load(open(report_path))
    worst = {"p": 0.0, "q": 0.0, "chi2": 0.0, "v": 0.0}
    for m, ms in enumerate(report["models"]):
        assert ms["model"] == header[m + 1]
        ok = np.array([rows[a["id"]][m] for a in anns])
        for dt in ms["depths"]:
            d = dt["depth"]
            groups = [a["path"][min(d, len(a["path"]) - 1)] for a in anns]
            keys = sorted(set(groups))
            t = np.array([[np.sum((np.array(groups) == k) & ok), np.sum((np.array(groups) == k) & ~ok)] for k in keys], float)
            if dt["p_value"] is None:
                continue
            r = stats.chi2_contingency(t)
            worst["p"] = max(worst["p"], abs(r.pvalue - dt["p_value"]))
            worst["chi2"] = max(worst["chi2"], abs(r.statistic - dt["chi2"]) / max(1.0, r.statistic))
            worst["v"] = max(worst["v"], abs(association(t.astype(int), method="cramer") - dt["cramers_v"]))
        ps = []
        for nt in ms["nodes"]:
            node = tree["nodes"][nt["node"]]
            dep, par = node["depth"], node["parent"]
            inn = np.array([len(a["path"]) > dep and a["path"][dep] == node["id"] for a in anns])
            inpar = np.array([len(a["path"]) > dep - 1 and a["path"][dep - 1] == par for a in anns]) & ~inn
            t = np.array([[np.sum(inn & ok), np.sum(inn & ~ok)], [np.sum(inpar & ok), np.sum(inpar & ~ok)]], float)
            exp = t.sum(1, keepdims=True) * t.sum(0, keepdims=True) / t.sum()
            if (exp < 5).any():
                p = stats.fisher_exact(t.astype(int)).pvalue
            else:
                p = stats.chi2_contingency(t).pvalue
            ps.append(p)
            worst["p"] = max(worst["p"], abs(p - nt["p_value"]))
        if ps:
            q = stats.false_discovery_control(ps, method="bh")
            for qq, nt in zip(q, ms["nodes"]):
                worst["q"] = max(worst["q"], abs(qq - nt["q_value"]))
    print(json.dumps(worst))


if __name__ == "__main__":
    if sys.argv[1] == "tables":
        tables()
    else:
        check(*sys.argv[2:6])
