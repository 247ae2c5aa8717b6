#!/usr/bin/env python3
"""Sharded profile building on Spark (PySpark, local mode).

Maps `aurora profile build --centroids-from P.json --shard I/N` over N Spark
tasks (one shard each: the prompts whose id hashes to shard I), collects the
shard files and merges them with `aurora profile merge`. On a cluster the
same job runs with `--master yarn` / `spark://…`, provided every executor
sees the `aurora` binary and the input files (shared storage).

    pip install pyspark            # Java 17 on PATH
    python benches/spark_shards.py --aurora target/release/aurora \
        --centroids P.json --prompts tests/fixtures/mmlu_small/prompts.jsonl \
        --results tests/fixtures/mmlu_small/results.csv \
        --models tests/fixtures/mmlu_small/models.json \
        --embeddings tests/fixtures/mmlu_small/embeddings_minilm.f16.npy \
        --shards 4 --out merged.json [--check]

`--check` also runs the single-machine build with the same centroids and
verifies the merged profile is byte-identical to it.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time


def shard_task(conf, workdir):
    """The Spark map function: one shard index -> (index, shard file path)."""

    def run(i):
        out = os.path.join(workdir, f"shard-{i}-of-{conf['n']}.json")
        cmd = [
            conf["aurora"], "profile", "build", "--quiet",
            "--centroids-from", conf["centroids"],
            "--shard", f"{i}/{conf['n']}",
            "--prompts", conf["prompts"], "--results", conf["results"],
            "--models", conf["models"], "--embeddings", conf["embeddings"],
            "--out", out,
        ]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"shard {i}: {r.stderr.strip()}")
        return (i, out)

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aurora", default="target/release/aurora")
    ap.add_argument("--centroids", required=True, help="profile P.json")
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--embeddings", required=True)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()

    from pyspark.sql import SparkSession

    absp = os.path.abspath
    conf = {
        "aurora": absp(a.aurora), "centroids": absp(a.centroids),
        "prompts": absp(a.prompts), "results": absp(a.results),
        "models": absp(a.models), "embeddings": absp(a.embeddings),
        "n": a.shards,
    }
    spark = (SparkSession.builder.master(a.master)
             .appName("aurora-shards").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as work:
        t0 = time.time()
        rdd = spark.sparkContext.parallelize(range(1, a.shards + 1), a.shards)
        files = sorted(rdd.map(shard_task(conf, work)).collect())
        t_map = time.time() - t0
        spark.stop()
        merge = [conf["aurora"], "profile", "merge", *[f for _, f in files],
                 "--centroids-from", conf["centroids"], "--out", a.out]
        subprocess.run(merge, check=True)
        print(f"map: {a.shards} shards in {t_map:.1f} s; merged -> {a.out}")
        if a.check:
            single = os.path.join(work, "single.json")
            subprocess.run([
                conf["aurora"], "profile", "build", "--quiet",
                "--centroids-from", conf["centroids"],
                "--prompts", conf["prompts"], "--results", conf["results"],
                "--models", conf["models"], "--embeddings", conf["embeddings"],
                "--out", single,
            ], check=True)
            same = open(single, "rb").read() == open(a.out, "rb").read()
            print("check: merged == single build:", same)
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
