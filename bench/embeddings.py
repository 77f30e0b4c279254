"""Embedding maps: UMAP's one-off compile (warm-up), then PCA / t-SNE / UMAP of N clips x 3 heads,
and the separation scores, as the Embeddings page computes them.

    python bench/embeddings.py [--clips 1000] [--dim 128] [--checkpoint DIR --data DIR]

Without --checkpoint, the embeddings are synthetic (7 Gaussian classes in --dim dimensions, the
size of the models' 128-d embeddings); with it, the clips of --data are embedded first (timed).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from core import embeddings as emb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--checkpoint")
    parser.add_argument("--data", default="sample_data")
    args = parser.parse_args()
    heads = ("audio", "video", "fused")
    if args.checkpoint:
        from core.datasets import load_dataset
        from core.inference import Predictor

        samples = emb.select(load_dataset(args.data).samples, limit=args.clips)
        started = time.perf_counter()
        clean = emb.extract(Predictor.load(args.checkpoint), samples)
        print(f"extract {len(samples)} clips: {time.perf_counter() - started:.1f} s")
        xs, labels = clean.embeddings, np.asarray(clean.labels)
    else:
        rng = np.random.default_rng(0)
        labels = np.arange(args.clips) % 7
        xs = {h: (rng.normal(size=(7, args.dim)) * 2)[labels] + rng.normal(size=(args.clips, args.dim)) for h in heads}
        labels = labels.astype(str)
    started = time.perf_counter()
    emb.project(np.random.default_rng(1).normal(size=(30, 8)), "umap")
    print(f"UMAP warm-up (numba compile, once per process): {time.perf_counter() - started:.1f} s")
    for method in ("pca", "tsne", "umap"):
        started = time.perf_counter()
        for h in heads:
            emb.project(xs[h], method)
        print(f"{method}: {len(labels)} clips x 3 heads: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    for h in heads:
        emb.separation(xs[h], labels)
    print(f"separation (silhouette + leave-one-out k-NN) x 3 heads: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
