#!/usr/bin/env python3
"""Peer for the MiniLM throughput benchmark (benches/minilm_throughput.sh):
sentence-transformers all-MiniLM-L6-v2 on PyTorch CPU, encoding the texts of
a JSONL prompt file exactly as the shared embeddings were made (batch 32,
normalised). Prints one JSON line: {"rows", "seconds", "texts_per_second"}.

  python benches/peers/minilm_st.py MODEL_DIR PROMPTS.jsonl [--threads 2] [--out E.npy]
"""
import argparse
import json
import time

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("prompts")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--out")
a = ap.parse_args()
torch.set_num_threads(a.threads)
texts = [json.loads(l)["text"] for l in open(a.prompts, encoding="utf-8") if l.strip()]
model = SentenceTransformer(a.model, device="cpu")
model.max_seq_length = 256
t0 = time.perf_counter()
emb = model.encode(texts, batch_size=a.batch, normalize_embeddings=True, convert_to_numpy=True)
secs = time.perf_counter() - t0
if a.out:
    np.save(a.out, emb.astype(np.float16))
print(json.dumps({"rows": len(texts), "seconds": secs, "texts_per_second": len(texts) / secs}))
