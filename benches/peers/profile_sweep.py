#!/usr/bin/env python3
"""Python peer of the Aurora Router profile sweep (scikit-learn + hdbscan).

Runs the same candidate sweep as the Rust `aurora` profile builder on the
MMLU-Pro dev embeddings and writes timings, scores and labels to JSON:

  1. load embeddings (float16 .npy) -> float32 (default; --dtype float64 to
     change), L2-normalise rows;
  2. spherical KMeans for K = 5..15: sklearn KMeans(init='k-means++',
     n_init=3, random_state=seed) on the normalised rows, centroids
     re-normalised, labels from the fit;
  3. HDBSCAN grid min_cluster_size {20,30,50} x min_samples {5,10,15} with
     hdbscan.HDBSCAN(metric='cosine', algorithm='generic') on the normalised
     rows upcast to float64 (hdbscan's generic MST rejects float32); candidates with
     < 2 clusters or noise fraction > 0.5 are rejected (still timed); noise
     points are assigned to the nearest cluster centroid (re-normalised member
     mean, nearest by cosine) for scoring;
  4. exact mean cosine silhouette (sklearn.metrics.silhouette_score, all
     points, no sampling) of every non-rejected candidate;
  5. best silhouette wins (ties: first in sweep order, KMeans K ascending then
     the HDBSCAN grid); per-cluster, per-model error rates shrunk to the
     model's global error with pseudo-count a=10:
     (errors + a * global_err) / (n + a).

ARI against the MMLU-Pro `category` field is computed after the sweep timer
stops (it is not part of the Rust sweep) and timed separately.

Usage: python3 benches/peers/profile_sweep.py [--data DIR] [--out result.json]
                                              [--seed 42] [--threads 2]
"""

import time

_T_SCRIPT0 = time.perf_counter()

import argparse
import os
import sys
from pathlib import Path

KMEANS_KS = list(range(5, 16))
HDBSCAN_MIN_CLUSTER_SIZES = [20, 30, 50]
HDBSCAN_MIN_SAMPLES = [5, 10, 15]
MAX_NOISE_FRACTION = 0.5
PSEUDO_COUNT = 10.0
KMEANS_N_INIT = 3

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mmlu_pro"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help=f"MMLU-Pro data directory (default: {DEFAULT_DATA})")
    p.add_argument("--out", type=Path, default=Path("result.json"),
                   help="output JSON path (default: result.json)")
    p.add_argument("--seed", type=int, default=42, help="KMeans random_state (default: 42)")
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS/OpenMP threads (default: 2)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="working dtype of the embeddings (default: float32)")
    return p.parse_args()


ARGS = parse_args()

# Thread limits must be in the environment before numpy / BLAS load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import csv  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
import hdbscan  # noqa: E402
import threadpoolctl  # noqa: E402
from threadpoolctl import threadpool_limits, threadpool_info  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, silhouette_score  # noqa: E402

try:
    from importlib.metadata import version as _pkg_version
    HDBSCAN_VERSION = _pkg_version("hdbscan")
except Exception:  # pragma: no cover
    HDBSCAN_VERSION = getattr(hdbscan, "__version__", "unknown")

_T_IMPORTS_DONE = time.perf_counter()
LOADAVG_START = os.getloadavg()[0]


def fail(msg):
    print(f"profile_sweep.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load_data(data_dir: Path, dtype):
    if not data_dir.is_dir():
        fail(f"data directory not found: {data_dir} (pass --data DIR; expected the "
             "MMLU-Pro dev split with questions.jsonl, correctness.csv, models.json, "
             "embeddings_minilm.f16.npy)")
    files = {k: data_dir / k for k in
             ("questions.jsonl", "correctness.csv", "models.json", "embeddings_minilm.f16.npy")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        fail("missing data file(s): " + ", ".join(missing))

    emb = np.load(files["embeddings_minilm.f16.npy"])
    X = emb.astype(dtype)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0):
        fail("embedding row with zero norm")
    X /= norms

    ids, categories = [], []
    with open(files["questions.jsonl"], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                ids.append(int(q["id"]))
                categories.append(q["category"])

    with open(files["correctness.csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    model_names = header[1:]
    corr_ids = [int(r[0]) for r in body]
    correct = np.array([[int(c) for c in r[1:]] for r in body], dtype=np.float64)

    with open(files["models.json"], encoding="utf-8") as f:
        models = json.load(f)

    n = X.shape[0]
    if len(ids) != n or len(corr_ids) != n:
        fail(f"row count mismatch: embeddings {n}, questions {len(ids)}, correctness {len(corr_ids)}")
    if corr_ids != ids:
        fail("correctness.csv ids are not in questions.jsonl order")
    if [m["name"] for m in models] != model_names:
        fail("models.json names do not match correctness.csv columns")
    return X, categories, correct, models


def centroids_of(X, labels, k):
    """Re-normalised member mean of each cluster 0..k-1 (spherical centroids)."""
    C = np.zeros((k, X.shape[1]), dtype=np.float64)
    np.add.at(C, labels, X)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    return C.astype(X.dtype)


def assign_noise(X, raw):
    """Noise (-1) -> cluster with the most cosine-similar centroid of the members."""
    labels = raw.copy()
    k = int(raw.max()) + 1
    noise = raw < 0
    if noise.any() and k > 0:
        C = centroids_of(X[~noise], raw[~noise], k)
        labels[noise] = np.argmax(X[noise] @ C.T, axis=1)
    return labels


def shrunk_error_rates(labels, k, correct, a):
    err = 1.0 - correct                      # (n, models)
    global_err = err.mean(axis=0)            # (models,)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    cluster_errs = np.zeros((k, correct.shape[1]))
    np.add.at(cluster_errs, labels, err)
    shrunk = (cluster_errs + a * global_err[None, :]) / (sizes[:, None] + a)
    return sizes.astype(int), global_err, shrunk


def main():
    args = ARGS
    dtype = np.float32 if args.dtype == "float32" else np.float64
    seconds = {}
    with threadpool_limits(limits=args.threads):
        t_sweep0 = time.perf_counter()

        # 1. load
        t0 = time.perf_counter()
        X, categories, correct, models = load_data(args.data, dtype)
        seconds["load"] = time.perf_counter() - t0
        n, dim = X.shape
        print(f"loaded {n} x {dim} embeddings ({args.dtype}), {correct.shape[1]} models, "
              f"{seconds['load']:.3f} s", flush=True)

        candidates = []   # dicts written to JSON
        cand_labels = []  # noise-assigned labels, parallel to candidates
        hdbscan_raw = {}

        # 2. spherical KMeans
        t0 = time.perf_counter()
        per_k = {}
        for K in KMEANS_KS:
            t1 = time.perf_counter()
            km = KMeans(n_clusters=K, init="k-means++", n_init=KMEANS_N_INIT,
                        random_state=args.seed)
            km.fit(X)
            centers = km.cluster_centers_
            centers = centers / np.linalg.norm(centers, axis=1, keepdims=True)  # spherical
            labels = km.labels_.astype(np.int64)
            dt = time.perf_counter() - t1
            per_k[str(K)] = dt
            candidates.append({
                "algorithm": "kmeans", "params": {"k": K, "n_init": KMEANS_N_INIT, "seed": args.seed},
                "n_clusters": int(np.unique(labels).size), "noise_fraction": 0.0,
                "silhouette": None, "ari_category": None, "seconds": dt,
                "silhouette_seconds": None, "n_iter": int(km.n_iter_), "rejected": None,
            })
            cand_labels.append(labels)
            print(f"  kmeans K={K:2d}: {dt:.3f} s ({km.n_iter_} iter)", flush=True)
        seconds["kmeans_total"] = time.perf_counter() - t0
        seconds["kmeans_per_k"] = per_k

        # 3. HDBSCAN grid
        t0 = time.perf_counter()
        # hdbscan's generic (Cython) MST needs a float64 distance matrix, so the
        # (float32-normalised) rows are upcast once; counted in hdbscan_total.
        X64 = X if X.dtype == np.float64 else X.astype(np.float64)
        per_grid = {}
        for m in HDBSCAN_MIN_CLUSTER_SIZES:
            for s in HDBSCAN_MIN_SAMPLES:
                key = f"m{m}_s{s}"
                t1 = time.perf_counter()
                hd = hdbscan.HDBSCAN(metric="cosine", algorithm="generic",
                                     min_cluster_size=m, min_samples=s)
                raw = hd.fit_predict(X64).astype(np.int64)
                t_fit = time.perf_counter() - t1
                n_clusters = int(raw.max()) + 1 if raw.size else 0
                noise_fraction = float(np.mean(raw < 0))
                rejected = None
                if n_clusters < 2:
                    rejected = f"fewer than 2 clusters ({n_clusters})"
                elif noise_fraction > MAX_NOISE_FRACTION:
                    rejected = f"noise fraction {noise_fraction:.4f} > {MAX_NOISE_FRACTION}"
                labels = assign_noise(X, raw) if rejected is None else None
                dt = time.perf_counter() - t1
                per_grid[key] = dt
                hdbscan_raw[key] = raw
                candidates.append({
                    "algorithm": "hdbscan",
                    "params": {"min_cluster_size": m, "min_samples": s},
                    "n_clusters": n_clusters, "noise_fraction": noise_fraction,
                    "silhouette": None, "ari_category": None, "seconds": dt,
                    "fit_seconds": t_fit, "silhouette_seconds": None, "rejected": rejected,
                })
                cand_labels.append(labels)
                print(f"  hdbscan {key}: {dt:.2f} s, {n_clusters} clusters, "
                      f"noise {noise_fraction:.3f}" + (f" REJECTED: {rejected}" if rejected else ""),
                      flush=True)
        seconds["hdbscan_total"] = time.perf_counter() - t0
        seconds["hdbscan_per_grid_point"] = per_grid

        # 4. exact cosine silhouettes
        t0 = time.perf_counter()
        for c, labels in zip(candidates, cand_labels):
            if c["rejected"] is not None:
                continue
            t1 = time.perf_counter()
            c["silhouette"] = float(silhouette_score(X, labels, metric="cosine"))
            c["silhouette_seconds"] = time.perf_counter() - t1
        seconds["silhouettes_total"] = time.perf_counter() - t0
        print(f"silhouettes: {seconds['silhouettes_total']:.2f} s", flush=True)

        # 5. selection + shrunk error rates
        t0 = time.perf_counter()
        best = None
        for i, c in enumerate(candidates):
            if c["silhouette"] is not None and (best is None or c["silhouette"] > candidates[best]["silhouette"]):
                best = i
        if best is None:
            fail("no candidate survived")
        sel_labels = cand_labels[best]
        k_sel = int(sel_labels.max()) + 1
        sizes, global_err, shrunk = shrunk_error_rates(sel_labels, k_sel, correct, PSEUDO_COUNT)
        seconds["selection_and_error_rates"] = time.perf_counter() - t0
        seconds["sweep_total"] = time.perf_counter() - t_sweep0

        # ARI vs category (bookkeeping, outside the sweep timer)
        t0 = time.perf_counter()
        for c, labels in zip(candidates, cand_labels):
            if labels is not None:
                c["ari_category"] = float(adjusted_rand_score(categories, labels))
        seconds["ari_bookkeeping"] = time.perf_counter() - t0
        blas_info = [{k: d.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
                     for d in threadpool_info()]

    km_cands = [c for c in candidates if c["algorithm"] == "kmeans"]
    best_km = max(km_cands, key=lambda c: c["silhouette"])
    sel = candidates[best]
    model_names = [m["name"] for m in models]
    best_model = [model_names[j] for j in np.argmin(shrunk, axis=1)]
    selected = {
        "index": best,
        "algorithm": sel["algorithm"], "params": sel["params"],
        "n_clusters": sel["n_clusters"], "noise_fraction": sel["noise_fraction"],
        "silhouette": sel["silhouette"], "ari_category": sel["ari_category"],
        "pseudo_count": PSEUDO_COUNT,
        "cluster_sizes": sizes.tolist(),
        "models": model_names,
        "global_error": [round(float(v), 6) for v in global_err],
        "error_rates": [[round(float(v), 6) for v in row] for row in shrunk],
        "lowest_error_model_per_cluster": best_model,
    }

    ru = resource.getrusage(resource.RUSAGE_SELF)
    peak_rss_mb = ru.ru_maxrss / 1024.0
    # CPU time and load average make runs on a busy machine recognisable
    # (cpu_user_sys / script_wall well below --threads means CPU contention).
    seconds["cpu_user_sys"] = ru.ru_utime + ru.ru_stime
    seconds["imports"] = _T_IMPORTS_DONE - _T_SCRIPT0
    seconds["script_wall"] = time.perf_counter() - _T_SCRIPT0  # excludes interpreter start-up
    result = {
        "tool": "scikit-learn+hdbscan",
        "versions": {
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
            "hdbscan": HDBSCAN_VERSION, "threadpoolctl": threadpoolctl.__version__,
            "threadpools": blas_info,
        },
        "config": {
            "data": str(args.data.resolve()), "seed": args.seed, "threads": args.threads,
            "dtype": args.dtype, "kmeans_ks": KMEANS_KS, "kmeans_n_init": KMEANS_N_INIT,
            "kmeans_init": "k-means++",
            "hdbscan_min_cluster_size": HDBSCAN_MIN_CLUSTER_SIZES,
            "hdbscan_min_samples": HDBSCAN_MIN_SAMPLES,
            "hdbscan_metric": "cosine", "hdbscan_algorithm": "generic",
            "max_noise_fraction": MAX_NOISE_FRACTION,
            "silhouette": "exact, metric=cosine, all points",
        },
        "n": int(n), "dim": int(dim),
        "loadavg_1min": {"start": LOADAVG_START, "end": os.getloadavg()[0]},
        "cpu_count": os.cpu_count(),
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb,
        "candidates": candidates,
        "best_kmeans": {"k": best_km["params"]["k"], "silhouette": best_km["silhouette"],
                        "ari_category": best_km["ari_category"]},
        "selected": selected,
        "hdbscan_labels": {k: v.tolist() for k, v in hdbscan_raw.items()},
    }
    write_json(args.out, result)
    print_summary(result)


def write_json(path: Path, result):
    """Indented JSON, but each label list kept on one line."""
    labels = result.pop("hdbscan_labels")
    body = json.dumps(result, indent=2)
    lab = ",\n".join(f'    {json.dumps(k)}: {json.dumps(v, separators=(",", ":"))}'
                     for k, v in labels.items())
    text = body[:-2] + ',\n  "hdbscan_labels": {\n' + lab + "\n  }\n}\n"
    result["hdbscan_labels"] = labels
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    json.loads(text)  # sanity


def print_summary(r):
    s = r["seconds"]
    v = r["versions"]
    print()
    print(f"== {r['tool']} (sklearn {v['scikit-learn']}, hdbscan {v['hdbscan']}, numpy {v['numpy']}), "
          f"n={r['n']} dim={r['dim']} dtype={r['config']['dtype']} threads={r['config']['threads']}")
    print(f"load {s['load']:.3f} s | kmeans {s['kmeans_total']:.2f} s | hdbscan {s['hdbscan_total']:.2f} s | "
          f"silhouettes {s['silhouettes_total']:.2f} s | select+errors {s['selection_and_error_rates']:.4f} s")
    print(f"sweep total {s['sweep_total']:.2f} s | imports {s['imports']:.2f} s | "
          f"script wall {s['script_wall']:.2f} s | peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"cpu user+sys {s['cpu_user_sys']:.1f} s | 1-min load avg {r['loadavg_1min']['start']:.2f} at start, "
          f"{r['loadavg_1min']['end']:.2f} at end ({r['cpu_count']} CPUs)")
    print()
    print(f"{'candidate':<22}{'k':>4}{'noise':>8}{'silhouette':>12}{'ARI':>8}{'fit s':>9}{'sil s':>8}  rejected")
    for i, c in enumerate(r["candidates"]):
        p = c["params"]
        name = (f"kmeans K={p['k']}" if c["algorithm"] == "kmeans"
                else f"hdbscan m{p['min_cluster_size']}_s{p['min_samples']}")
        sil = f"{c['silhouette']:.4f}" if c["silhouette"] is not None else "-"
        ari = f"{c['ari_category']:.4f}" if c["ari_category"] is not None else "-"
        ss = f"{c['silhouette_seconds']:.2f}" if c["silhouette_seconds"] is not None else "-"
        mark = " *" if i == r["selected"]["index"] else ""
        print(f"{name + mark:<22}{c['n_clusters']:>4}{c['noise_fraction']:>8.3f}{sil:>12}{ari:>8}"
              f"{c['seconds']:>9.2f}{ss:>8}  {c['rejected'] or ''}")
    sel = r["selected"]
    print()
    print(f"selected: {sel['algorithm']} {sel['params']} clusters={sel['n_clusters']} "
          f"silhouette={sel['silhouette']:.4f} ARI(category)={sel['ari_category']:.4f}")
    print(f"  cluster sizes: {sel['cluster_sizes']}")
    print(f"  lowest shrunk error model per cluster: {sel['lowest_error_model_per_cluster']}")
    bk = r["best_kmeans"]
    print(f"best-silhouette KMeans: K={bk['k']} silhouette={bk['silhouette']:.4f} "
          f"ARI(category)={bk['ari_category']:.4f}")


if __name__ == "__main__":
    main()
