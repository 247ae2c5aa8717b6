#!/usr/bin/env python3
"""How the semantic-routes defaults were chosen: on CLINC150's train and
validation splits only (the test split is never read).

It re-implements the head of src/routes/train.rs in numpy (centroid init
scaled to 16, Adam, batch 128, seed-shuffled epochs), trains on train, and
scores on validation:
  - closed-set accuracy for each epoch count,
  - the AUROC of in-scope vs out-of-scope lines for each candidate "none"
    score (softmax maximum at several temperatures, energy, max logit,
    max cosine), with the out-of-scope lines of train and validation,
  - and, as a sanity check of the threshold rule, a 2-fold split of
    validation: threshold fitted on one half, scored on the other.

usage: benches/routes_select.py SHARED_DATA EMB_DIR [EPOCHS,...]
  EMB_DIR holds clinc150_{train,val}.f16.npy (all-MiniLM-L6-v2, row i = line i).
Needs numpy and scikit-learn.
"""
import json
import sys

try:
    import numpy as np
    from sklearn.metrics import roc_auc_score
except ImportError as e:
    sys.exit(f"routes_select.py needs numpy and scikit-learn ({e})")

if len(sys.argv) < 3:
    sys.exit(__doc__)
DATA, EMB = sys.argv[1], sys.argv[2]
EPOCHS = [int(a) for a in (sys.argv[3] if len(sys.argv) > 3 else "2,3,4,6,10").split(",")]


def load(split):
    lines = [json.loads(l) for l in open(f"{DATA}/clinc150/{split}.jsonl")]
    x = np.load(f"{EMB}/clinc150_{split}.f16.npy").astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return [l["route"] for l in lines], x


ytr, xtr = load("train")
yva, xva = load("val")
names = sorted({r for r in ytr if r})
idx = {n: i for i, n in enumerate(names)}


def split(y, x):
    ins = [i for i, r in enumerate(y) if r]
    oos = [i for i, r in enumerate(y) if not r]
    return x[ins], np.array([idx[y[i]] for i in ins]), x[oos]


Xtr, Ytr, Otr = split(ytr, xtr)
Xva, Yva, Ova = split(yva, xva)
K = len(names)


def train(X, Y, epochs, lr=0.02, wd=1e-5, scale=16, batch=128, seed=42):
    n, d = X.shape
    W = np.zeros((K, d), np.float32)
    np.add.at(W, Y, X)
    W *= scale / np.linalg.norm(W, axis=1, keepdims=True)
    b = np.zeros(K, np.float32)
    state = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)]
    rng, t = np.random.default_rng(seed), 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            c = order[s:s + batch]
            z = X[c] @ W.T + b
            z -= z.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(c)), Y[c]] -= 1
            p /= len(c)
            gW, gb = p.T @ X[c] + wd * W, p.sum(0)
            t += 1
            for P, G, M, V in ((W, gW, state[0], state[1]), (b, gb, state[2], state[3])):
                M *= 0.9
                M += 0.1 * G
                V *= 0.999
                V += 0.001 * G * G
                P -= lr * (M / (1 - 0.9**t)) / (np.sqrt(V / (1 - 0.999**t)) + 1e-8)
    return W, b


def score(W, b, X, kind, T):
    z = X @ W.T + b
    if kind == "max_probability":
        zz = z / T
        zz -= zz.max(1, keepdims=True)
        p = np.exp(zz)
        return z.argmax(1), (p / p.sum(1, keepdims=True)).max(1)
    if kind == "energy":
        m = z.max(1)
        return z.argmax(1), m + np.log(np.exp(z - m[:, None]).sum(1))
    if kind == "max_logit":
        return z.argmax(1), z.max(1)
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    return z.argmax(1), (X @ Wn.T).max(1)


def fit_threshold(s_in, right, s_oos):
    best = (-1.0, 0.0)
    for v in np.unique(np.concatenate([s_in, s_oos])):
        val = (right & (s_in >= v)).mean() + (s_oos < v).mean()
        if val > best[0]:
            best = (val, v)
    return best[1]


CANDIDATES = [("max_probability", t) for t in (1, 2, 4, 8, 16)] + [
    ("energy", 1), ("max_logit", 1), ("max_cosine", 1)]
print("epochs  rule             T   val closed-set  val AUROC  half-val in-scope / OOS recall")
for ep in EPOCHS:
    W, b = train(Xtr, Ytr, ep)
    closed = (score(W, b, Xva, "max_logit", 1)[0] == Yva).mean()
    for kind, T in CANDIDATES:
        pv, sv = score(W, b, Xva, kind, T)
        so_tr = score(W, b, Otr, kind, T)[1]
        so_va = score(W, b, Ova, kind, T)[1]
        right = pv == Yva
        auroc = roc_auc_score(np.r_[np.ones(len(sv)), np.zeros(len(so_tr) + len(so_va))],
                              np.r_[sv, so_tr, so_va])
        rng = np.random.default_rng(0)
        p, po = rng.permutation(len(Yva)), rng.permutation(len(Ova))
        h, ho = len(p) // 2, len(po) // 2
        halves = []
        for A, B, Ao, Bo in ((p[:h], p[h:], po[:ho], po[ho:]), (p[h:], p[:h], po[ho:], po[:ho])):
            thr = fit_threshold(sv[A], right[A], np.r_[so_tr, so_va[Ao]])
            halves.append(((right[B] & (sv[B] >= thr)).mean(), (so_va[Bo] < thr).mean()))
        i, r = np.mean(halves, 0)
        print(f"{ep:6d}  {kind:15s} {T:3d}  {closed:14.4f}  {auroc:9.4f}  {i:.3f} / {r:.3f}", flush=True)
