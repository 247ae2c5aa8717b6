#!/usr/bin/env python3
"""Which 2-D map is more faithful for `aurora report`: PCA or UMAP?

Trustworthiness (scikit-learn, k = 10) and 10-NN preservation (the share of
each prompt's 10 nearest neighbours by cosine in the embedding space that
are also among its 10 nearest on the map) of PCA and UMAP projections of the
shipped example's MiniLM embeddings.

    PYTHONPATH=/path/to/umap-learn /work/venv/bin/python benches/peers/map_faithfulness.py
"""
import os
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
npy = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "examples/mmlu_pro/embeddings_minilm.f16.npy")
x = np.load(npy).astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
K = 10


def knn_preservation(hi, lo, k=K):
    a = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(hi).kneighbors(hi, return_distance=False)[:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(lo).kneighbors(lo, return_distance=False)[:, 1:]
    return float(np.mean([len(set(p) & set(q)) / k for p, q in zip(a, b)]))


maps = {}
t = time.time()
maps["PCA"] = (PCA(n_components=2, random_state=0).fit_transform(x), time.time() - t)
try:
    import umap

    t = time.time()
    maps["UMAP (cosine, 15 neighbours)"] = (
        umap.UMAP(n_components=2, metric="cosine", n_neighbors=15, random_state=42).fit_transform(x),
        time.time() - t,
    )
except ImportError:
    print("umap-learn not installed: PCA only", file=sys.stderr)

print(f"{x.shape[0]} prompts × {x.shape[1]}: {npy}")
print(f"{'map':<30} {'trustworthiness@10':>19} {'10-NN kept':>11} {'seconds':>8}")
for name, (lo, secs) in maps.items():
    tw = trustworthiness(x, lo, n_neighbors=K, metric="cosine")
    print(f"{name:<30} {tw:>19.4f} {knn_preservation(x, lo):>11.4f} {secs:>8.2f}")
