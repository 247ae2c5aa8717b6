#!/usr/bin/env python3
"""Reference HDBSCAN runs with the Python `hdbscan` library (McInnes et al.).

This is the peer that `aurora_router::cluster::hdbscan` is checked against.
It loads the shared MiniLM embeddings, casts them to float64, L2-normalises
them and runs

    hdbscan.HDBSCAN(metric="cosine", algorithm="generic",
                    min_cluster_size=m, min_samples=s)

for every grid point, timing each fit on its own (the library recomputes the
pairwise distances for every fit, as a user of it would). Labels, cluster
counts, noise fractions and seconds go to one JSON file.

Usage (from the repository root):

    # 1. reference labels for the default grid -> target/peers/hdbscan_reference.json
    python3 benches/peers/hdbscan_reference.py [--stable-ties]
    # 2. our labels and timings -> target/peers/hdbscan_rust.json (the test
    #    also checks ARI >= 0.99 against step 1's file)
    cargo test --release --test hdbscan_reference -- --ignored --nocapture
    # 3. the ARI / clusters / noise / seconds table (ARI via scikit-learn)
    python3 benches/peers/hdbscan_reference.py --compare target/peers/hdbscan_rust.json

Options for diagnostics and fixtures:

    --rows I0,I1,...|@file   cluster only these rows of the embeddings
    --distance-matrix F      use a raw little-endian float32 n*n matrix
                             (e.g. the one the Rust side computed) with
                             metric="precomputed" instead of metric="cosine",
                             to compare both implementations on bit-identical
                             input distances.
    --stable-ties            also store, per grid point, "labels_stable_ties":
                             the library's own pipeline (mutual_reachability,
                             mst_linkage_core, label, _tree_to_labels) with
                             the MST edges sorted by a *stable* argsort. The
                             library sorts them with NumPy's default
                             (unstable, SIMD, CPU-dependent) argsort, so the
                             order of exactly tied mutual reachability
                             distances - and with it a point or two at a
                             cluster's edge - varies by machine; the Rust
                             side keeps ties in Prim's order, which is what
                             a stable sort gives.

Requires numpy, scikit-learn and hdbscan (pip install hdbscan scikit-learn).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mmlu_pro" / "embeddings_minilm.f16.npy"
DEFAULT_OUT = REPO_ROOT / "target" / "peers" / "hdbscan_reference.json"


def parse_ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def load_embeddings(path, rows):
    import numpy as np

    if not path.is_file():
        sys.exit(
            f"error: embeddings not found at {path}\n"
            "       (expected the shared data set next to the repository: "
            "../shared/data/mmlu_pro/embeddings_minilm.f16.npy; pass --data PATH)"
        )
    x = np.load(path).astype(np.float64)
    if x.ndim != 2:
        sys.exit(f"error: {path} has shape {x.shape}, expected a 2-D matrix")
    if rows is not None:
        x = x[rows]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        sys.exit("error: some embedding rows are all zeros and cannot be normalised")
    return x / norms


def summarise(labels):
    import numpy as np

    labels = np.asarray(labels)
    n_clusters = int(len(set(labels.tolist()) - {-1}))
    noise = float((labels == -1).mean()) if labels.size else 0.0
    return n_clusters, noise


def run(args):
    import numpy as np
    import hdbscan

    rows = None
    if args.rows:
        if args.rows.startswith("@"):
            rows = parse_ints(Path(args.rows[1:]).read_text().replace("\n", ","))
        else:
            rows = parse_ints(args.rows)
    x = load_embeddings(Path(args.data), rows)
    n = x.shape[0]

    dmat = None
    if args.distance_matrix:
        raw = np.fromfile(args.distance_matrix, dtype="<f4")
        if raw.size != n * n:
            sys.exit(f"error: {args.distance_matrix} has {raw.size} floats, expected {n}*{n}")
        dmat = raw.reshape(n, n).astype(np.float64)

    results = []
    dist_cache = None
    for m in parse_ints(args.mcs):
        for s in parse_ints(args.ms):
            t0 = time.perf_counter()
            if dmat is None:
                clusterer = hdbscan.HDBSCAN(
                    metric="cosine", algorithm="generic", min_cluster_size=m, min_samples=s
                )
                labels = clusterer.fit_predict(x)
            else:
                clusterer = hdbscan.HDBSCAN(
                    metric="precomputed", algorithm="generic", min_cluster_size=m, min_samples=s
                )
                labels = clusterer.fit_predict(dmat.copy())
            secs = time.perf_counter() - t0
            extra = {}
            if args.stable_ties:
                if dist_cache is None:
                    dist_cache = dmat if dmat is not None else cosine_distances(x)
                extra["labels_stable_ties"] = [
                    int(v) for v in stable_tie_labels(dist_cache, m, s)
                ]
            n_clusters, noise = summarise(labels)
            print(
                f"min_cluster_size={m:3d} min_samples={s:3d}: {n_clusters:3d} clusters, "
                f"noise {noise:.4f}, {secs:.2f} s",
                flush=True,
            )
            results.append(
                {
                    "min_cluster_size": m,
                    "min_samples": s,
                    "seconds": secs,
                    "n_clusters": n_clusters,
                    "noise_fraction": noise,
                    "labels": [int(v) for v in labels],
                    **extra,
                }
            )

    out = {
        "library": "hdbscan",
        "library_version": getattr(hdbscan, "__version__", None) or _dist_version("hdbscan"),
        "numpy_version": np.__version__,
        "params": {
            "metric": "precomputed (float32 matrix)" if dmat is not None else "cosine",
            "algorithm": "generic",
            "cluster_selection_method": "eom",
            "allow_single_cluster": False,
            "cluster_selection_epsilon": 0.0,
            "alpha": 1.0,
        },
        "data": os.path.relpath(Path(args.data).resolve(), REPO_ROOT),
        "rows": rows,
        "n": n,
        "dim": int(x.shape[1]),
        "grid": results,
    }
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out))
    print(f"wrote {out_path}")


def cosine_distances(x):
    from sklearn.metrics import pairwise_distances

    # What HDBSCAN(metric="cosine", algorithm="generic") computes internally.
    return pairwise_distances(x, metric="cosine")


def stable_tie_labels(dist, min_cluster_size, min_samples):
    """The library's generic path, step by step, with a stable edge sort."""
    import numpy as np
    from hdbscan._hdbscan_linkage import label, mst_linkage_core
    from hdbscan._hdbscan_reachability import mutual_reachability
    from hdbscan.hdbscan_ import _tree_to_labels

    n = dist.shape[0]
    min_samples = max(1, min(n - 1, min_samples))  # as hdbscan.hdbscan() does
    mst = mst_linkage_core(mutual_reachability(dist.copy(), min_samples, 1.0))
    mst = mst[np.argsort(mst[:, 2], kind="stable"), :]
    return _tree_to_labels(None, label(mst), min_cluster_size)[0]


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # pragma: no cover - best effort only
        return None


def compare(args):
    """Prints an ARI / n_clusters / noise / time table: reference vs Rust."""
    from sklearn.metrics import adjusted_rand_score

    ref = json.loads(Path(args.out).read_text())
    ours = json.loads(Path(args.compare).read_text())
    ours_by_key = {(g["min_cluster_size"], g["min_samples"]): g for g in ours["grid"]}
    stable = all("labels_stable_ties" in g for g in ref["grid"])
    print(
        "| min_cluster_size | min_samples | ARI |"
        + (" ARI (stable ties) |" if stable else "")
        + " clusters (py / rs) | noise (py / rs) | seconds (py / rs) |"
    )
    print("|---:|---:|---:|" + ("---:|" if stable else "") + "---:|---:|---:|")
    for g in ref["grid"]:
        key = (g["min_cluster_size"], g["min_samples"])
        o = ours_by_key.get(key)
        if o is None:
            print(f"| {key[0]} | {key[1]} | (missing in {args.compare}) | | | |")
            continue
        ari = adjusted_rand_score(g["labels"], o["labels"])
        ari_stable = (
            f" {adjusted_rand_score(g['labels_stable_ties'], o['labels']):.6f} |" if stable else ""
        )
        print(
            f"| {key[0]} | {key[1]} | {ari:.6f} |{ari_stable} {g['n_clusters']} / {o['n_clusters']} "
            f"| {g['noise_fraction']:.4f} / {o['noise_fraction']:.4f} "
            f"| {g['seconds']:.2f} / {o['seconds']:.3f} |"
        )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="embeddings .npy (any float dtype)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="reference JSON to write (or read with --compare)")
    p.add_argument("--mcs", default="20,30,50", help="comma-separated min_cluster_size values")
    p.add_argument("--ms", default="5,10,15", help="comma-separated min_samples values")
    p.add_argument("--rows", default=None, help="comma-separated row indices or @file to cluster a subset")
    p.add_argument("--distance-matrix", default=None, help="raw float32 n*n distances (metric=precomputed)")
    p.add_argument("--stable-ties", action="store_true", help="also store labels_stable_ties (see above)")
    p.add_argument("--compare", default=None, help="Rust labels JSON to compare with the reference in --out")
    args = p.parse_args()
    if args.compare:
        compare(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
