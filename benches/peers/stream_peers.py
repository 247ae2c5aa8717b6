"""Peers for `aurora stream` on a labelled stream (issue #14).

Per group, items arrive in the seeded order `aurora stream ingest --order-seed S`
uses is NOT reproduced here (different RNG); each peer uses its own seeded
shuffle with numpy. Scores are over global labels (group, label).

usage: stream_peers.py ITEMS.jsonl EMB.npy LABEL_FIELD [SEED]
"""
import json, sys
import numpy as np
from sklearn.cluster import MiniBatchKMeans, KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

items = [json.loads(l) for l in open(sys.argv[1])]
X = np.load(sys.argv[2]).astype(np.float32)
field = sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
X /= np.linalg.norm(X, axis=1, keepdims=True)
groups = sorted({it["group"] for it in items})
truth = [f'{it["group"]}/{it[field]}' for it in items]

def purity(pred, truth):
    from collections import Counter, defaultdict
    d = defaultdict(Counter)
    for p, t in zip(pred, truth):
        d[p][t] += 1
    return sum(c.most_common(1)[0][1] for c in d.values()) / len(pred)

def score(name, pred):
    print(json.dumps({"method": name, "purity": round(purity(pred, truth), 4),
                      "ari": round(adjusted_rand_score(truth, pred), 4),
                      "nmi": round(normalized_mutual_info_score(truth, pred), 4),
                      "clusters": len(set(pred))}))

rng = np.random.default_rng(seed)
for mult in (1, 2):
    for online in (True, False):
        pred = [None] * len(items)
        for g in groups:
            idx = np.array([i for i, it in enumerate(items) if it["group"] == g])
            k = mult * len({items[i][field] for i in idx})
            if online:
                order = rng.permutation(idx)
                m = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=1)
                batch = max(k, 32)
                for s in range(0, len(order), batch):
                    chunk = order[s:s + batch]
                    if s == 0 and len(chunk) < k:
                        continue
                    m.partial_fit(X[chunk])
                lab = m.predict(X[idx])
            else:
                lab = KMeans(n_clusters=k, random_state=seed, n_init=3).fit_predict(X[idx])
            for i, l in zip(idx, lab):
                pred[i] = f"{g}/{l}"
        score(f'{"MiniBatchKMeans.partial_fit" if online else "offline KMeans"}, {mult}x true K', pred)
