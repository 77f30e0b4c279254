"""Embeddings of a data set and their 2-D maps: extraction, PCA / t-SNE / UMAP, class separation.

    from core.embeddings import extract, project, separation
    clean = extract(predictor, samples)                               # EmbeddingSet
    broken = extract(predictor, samples, corruption=("gaussian_blur", 3))
    xy = project(clean.embeddings["fused"], "umap", seed=0)           # (N, 2)
    scores = separation(clean.embeddings["fused"], clean.labels)      # leave-one-out k-NN accuracy, silhouette

A corrupted set uses :func:`core.corruptions.apply_many` with the same seed as the Corruption
Lab, so a point opened there shows exactly the clip that was embedded. Separation is measured in
the embedding space itself, not on the 2-D map (a map can invent or hide clusters). Identical
embeddings (every muted clip's audio embedding) are one point on every map: only the distinct
ones are projected. A clip whose file cannot be decoded is left out and named in ``skipped``.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from core.datasets import Sample, Unreadable
from core.inference import HEADS, Predictor, clip_batches, default_workers

METHODS = ("umap", "tsne", "pca")
METHOD_LABELS = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
CLEAN = "clean"
KNN_K = 5  # the most neighbours the separation counts (fewer for small classes)
MIN_CLASS_SIZE = 5  # below this many clips in a class, the separation scores are rough (a warning says so)
DUPLICATE_TOL = 1e-5  # rows equal within this share of the data's scale are one point (float32 noise is ~1e-7)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EmbeddingSet:
    """The three heads' embeddings and predictions for a list of clips under one condition.

    Attributes
    ----------
    paths, labels : tuple of str, one per clip (a pair of files as ``"video + audio"``, :func:`core.media.as_source`)
    classes : tuple of str, the model's class order
    condition : ``"clean"`` or ``"gaussian_blur:3"``
    embeddings : head -> float32 (N, E) (the fused one may be wider, e.g. concat's 2E)
    probs : head -> float32 (N, K)
    present : bool (N, 2), whether the model saw (audio, video) of each clip
    seconds : wall time of the extraction
    space : "embeddings", or "log-probabilities" for a model that exposes no embeddings (each head's
        log class probabilities, (N, K), stand in for them)
    skipped : the clips whose files could not be decoded (:class:`core.datasets.Unreadable`), not in the set
    """

    paths: tuple[str, ...]
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    condition: str
    embeddings: dict[str, np.ndarray] = field(compare=False)
    probs: dict[str, np.ndarray] = field(compare=False)
    present: np.ndarray = field(compare=False)
    seconds: float = 0.0
    space: str = "embeddings"
    skipped: tuple[Unreadable, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return len(self.paths)

    def predicted(self, head: str) -> np.ndarray:
        """The class name each head predicts, (N,) str."""
        return np.asarray(self.classes)[self.probs[head].argmax(axis=1)]

    def correct(self, head: str) -> np.ndarray:
        return self.predicted(head) == np.asarray(self.labels)


@torch.inference_mode()
def extract(predictor: Predictor, samples: Sequence[Sample], *, corruption: tuple[str, int] | None = None,
            seed: int = 0, batch_size: int = 16, progress: Progress | None = None, backend: str = "local",
            address: str | None = None) -> EmbeddingSet:
    """Embed ``samples`` (one 5 s window each, shorter clips padded) with the model of ``predictor``.

    Parameters
    ----------
    predictor : core.inference.Predictor
    samples : sequence of core.datasets.Sample (single-label clips)
    corruption : (name, severity), optional
        Applied to every clip with ``apply_many(clip, [corruption], seed=clip_seed(seed, path))``, the one
        seeding rule, so a corrupted point is the clip the Lab shows for that seed.
    batch_size : int
        Clips per forward pass.
    progress : callable ``(done, total)``, optional
    backend : "local" (this process) or "ray" (clips decoded in Ray CPU tasks, predicted by model actors:
        :func:`core.experiments.ray_backend.predict_batches`; the same embeddings), for large data sets
    address : with ``backend="ray"``: the cluster (``auto``, ``ray://host:10001``); None: a local Ray

    A clip whose file cannot be decoded is left out of the set and listed in its ``skipped``.

    Raises
    ------
    ValueError
        No clips, or none that can be decoded.
    """
    started = time.perf_counter()
    steps = [tuple(corruption)] if corruption else []
    parts: list = []
    kept: list[Sample] = []
    skipped: list[Unreadable] = []
    if backend not in ("local", "ray"):
        raise ValueError(f"There is no backend '{backend}'; choose local or ray.")
    if backend == "ray":  # each batch comes back predicted: Predictions in the clips' places
        from core.experiments.ray_backend import predict_batches

        batches = predict_batches(predictor, [s.source for s in samples], steps=steps, seed=seed,
                                  batch_size=batch_size, address=address)
    else:
        batches = clip_batches([s.source for s in samples], steps=steps, seed=seed, batch_size=batch_size,
                               workers=default_workers(predictor.model))
    for batch in batches:
        clips = []
        for item, sample in zip(batch, samples[len(kept) + len(skipped):]):
            if isinstance(item, Unreadable):
                skipped.append(item)
            else:
                clips.append(item)
                kept.append(sample)
        parts += (clips if backend == "ray" else predictor.predict_batch(clips)) if clips else []
        if progress is not None:
            progress(len(kept) + len(skipped), len(samples))
    if not parts:
        raise ValueError(f"None of the {len(samples)} clips could be decoded; the first, '{skipped[0].path}': "
                         f"{skipped[0].reason}" if skipped else "There are no clips to embed.")
    native = all(k in parts[0].embeddings for k in HEADS)
    return EmbeddingSet(
        paths=tuple(str(s.source) for s in kept), labels=tuple(s.label for s in kept),
        classes=tuple(predictor.classes), condition=CLEAN if not steps else f"{steps[0][0]}:{int(steps[0][1])}",
        embeddings={k: (np.stack([p.embeddings[k] for p in parts]) if native else
                        np.log(np.clip(np.stack([p.probs[k] for p in parts]), 1e-12, None))).astype(np.float32)
                    for k in HEADS},
        probs={h: np.stack([p.probs[h] for p in parts]).astype(np.float32) for h in HEADS},
        present=np.array([(p.present["audio"], p.present["video"]) for p in parts], bool),
        seconds=time.perf_counter() - started, space="embeddings" if native else "log-probabilities",
        skipped=tuple(skipped))


def select(samples: Sequence[Sample], *, split: str | None = None, limit: int | None = None) -> list[Sample]:
    """Single-label clips (of one split), at most ``limit`` of them taken round-robin over classes so a
    cut-down set keeps every class."""
    chosen = [s for s in samples if not s.is_long and (not split or s.split == split)]
    if limit is None or len(chosen) <= limit:
        return chosen
    by_class: dict[str, list[int]] = {}
    for i, s in enumerate(chosen):
        by_class.setdefault(s.label, []).append(i)
    queues = [list(reversed(v)) for v in by_class.values()]
    out: list[int] = []
    while len(out) < limit:
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop())
    return [chosen[i] for i in sorted(out)]


def duplicates(x: np.ndarray, *, tol: float = DUPLICATE_TOL) -> np.ndarray:
    """For each row of ``x`` (N, E), the index of the first row it repeats (its own index if none): (N,) int.

    Rows are the same when every coordinate differs by at most ``tol * (1 + max |x|)``: exact copies, and
    the float noise of one input encoded in batches of another size. Distinct clips differ far more.
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    first = np.arange(n)
    if n < 2 or x.shape[1] == 0:
        return np.zeros(n, int) if n and x.shape[1] == 0 else first
    limit = tol * (1.0 + float(np.abs(x).max()))
    # Rows within ``limit`` per coordinate lie within limit * sqrt(E) along any unit direction: sort along a
    # fixed random one and compare each row only with the rows that close to it there.
    direction = np.random.default_rng(0).standard_normal(x.shape[1])
    along = x @ (direction / np.linalg.norm(direction))  # (N,)
    order = np.argsort(along, kind="stable")
    reach = limit * np.sqrt(x.shape[1])
    starts = np.searchsorted(along[order], along - reach, side="left")
    ends = np.searchsorted(along[order], along + reach, side="right")
    for i in range(n):  # in index order, so a group's first row is its lowest index
        if first[i] != i:
            continue
        near = order[starts[i]:ends[i]]
        near = near[(near > i) & (first[near] == near)]
        first[near[np.abs(x[near] - x[i]).max(axis=1) <= limit]] = i
    return first


def project(x: np.ndarray, method: str, *, seed: int = 0) -> np.ndarray:
    """A 2-D map of the rows of ``x`` (N, E) by ``method`` (``umap``, ``tsne`` or ``pca``): (N, 2) float32.

    Identical rows (:func:`duplicates`) are one point: only the distinct rows are projected, and each copy
    gets its first row's coordinates; when every row is the same, all sit at (0, 0). Neighbourhood sizes
    shrink for small sets (t-SNE's perplexity < M / 3, UMAP's neighbours < M, for M distinct rows); fewer
    than three distinct rows are placed on a line. Same seed, same map. Optimisation is cut to 500
    t-SNE and 200 UMAP epochs (UMAP's own choice for large sets): maps of 1,000 clips in ~2-3 s each
    (docs/PERFORMANCE.md, Embeddings).
    """
    x = np.asarray(x, np.float32)
    if method not in METHODS:
        raise ValueError(f"A projection is one of {', '.join(METHODS)}; got '{method}'.")
    first = duplicates(x)
    distinct = np.flatnonzero(first == np.arange(len(first)))  # (M,) increasing
    xy = _project_distinct(x[distinct], method, seed)  # (M, 2)
    return xy[np.searchsorted(distinct, first)]


def _project_distinct(x: np.ndarray, method: str, seed: int) -> np.ndarray:
    n = x.shape[0]
    if n == 1:
        return np.zeros((1, 2), np.float32)
    if n < 3:
        return np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=seed).fit_transform(x)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
        xy = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=500,
                  random_state=seed).fit_transform(x)
    else:
        import umap

        with warnings.catch_warnings():  # "n_jobs overridden by random_state": wanted, for a reproducible map
            warnings.simplefilter("ignore")
            xy = umap.UMAP(n_components=2, n_neighbors=int(min(15, n - 1)), min_dist=0.1, n_epochs=200,
                           random_state=seed,
                           init="spectral" if n > 16 else "random").fit_transform(x)
    return np.asarray(xy, np.float32)


def project_pair(clean: np.ndarray, corrupted: np.ndarray, method: str, *, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Map clean and corrupted embeddings of the same clips into one shared 2-D space (fitted on both)."""
    xy = project(np.concatenate([clean, corrupted]), method, seed=seed)
    return xy[: len(clean)], xy[len(clean):]


def separation(x: np.ndarray, labels: Sequence[str], *, k: int = KNN_K) -> dict:
    """How well classes separate in an embedding space: leave-one-out k-NN accuracy and silhouette.

    The k-NN vote of a clip counts its ``k`` nearest *other* clips (leave-one-out, Euclidean; a tie goes to
    the class of the nearest tied neighbour). ``k`` is capped below the smallest class: a clip of a class
    of ``m`` clips has only ``m - 1`` neighbours of its own class, so a vote over more than that counts other
    classes even when every class is a perfectly separate cluster (5-NN on 3 clips per class scores about
    half for seven such clusters). With the cap, perfectly separate clusters score 100 %.

    Parameters
    ----------
    x : (N, E) float
    labels : N class names
    k : int
        The most neighbours to count (default :data:`KNN_K`); the one used is ``min(k, smallest class - 1)``.

    Returns
    -------
    dict
        ``knn_accuracy`` (0..1), ``silhouette`` (-1..1, scikit-learn's ``silhouette_score``), ``k`` (the
        neighbours counted, 0 when none could be), ``smallest_class`` (clips in the smallest class),
        ``measure`` (e.g. "leave-one-out 2-NN accuracy"), and ``warning``: None, or a sentence when classes
        are too small to measure (a class of one clip: no k-NN accuracy) or to measure precisely (fewer than
        :data:`MIN_CLASS_SIZE` clips). NaN scores where undefined (fewer than two classes; the silhouette
        also needs fewer classes than clips).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(labels)
    n = len(y)
    names, sizes = np.unique(y, return_counts=True)
    smallest = int(sizes.min()) if n else 0
    k = max(0, min(int(k), smallest - 1))
    out = {"silhouette": float("nan"), "knn_accuracy": float("nan"), "k": k, "smallest_class": smallest,
           "measure": f"leave-one-out {k}-NN accuracy", "warning": None}
    if n < 3 or len(names) < 2:
        return out
    if len(names) < n:
        from sklearn.metrics import silhouette_score

        out["silhouette"] = float(silhouette_score(x, y))
    small = names[sizes == smallest]
    which = f"{', '.join(map(str, small[:3]))}{' …' if len(small) > 3 else ''}"
    if k == 0:
        out["warning"] = (f"A class with a single clip ({which}) has no other clip to be near, so the k-NN "
                          f"accuracy cannot be measured; add clips (the silhouette is shown alone).")
        return out
    if smallest < MIN_CLASS_SIZE:
        out["warning"] = (f"The smallest class has {smallest} clips ({which}), so the k-NN vote counts only {k} "
                          f"neighbour{'s' if k != 1 else ''} and one clip moves the accuracy by "
                          f"{100 / n:.1f} points: a rough measure; use more clips per class for a precise one.")
    from sklearn.neighbors import NearestNeighbors

    # kneighbors() without a query leaves each point out of its own neighbours: leave-one-out by construction
    neighbours = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(return_distance=False)  # (N, k) nearest first
    right = 0
    for i, row in enumerate(neighbours):
        votes = y[row]
        voted, counts = np.unique(votes, return_counts=True)
        tied = set(voted[counts == counts.max()].tolist())
        right += next(v for v in votes if v in tied) == y[i]  # the nearest among the tied classes
    out["knn_accuracy"] = right / n
    return out


__all__ = ["EmbeddingSet", "METHODS", "METHOD_LABELS", "KNN_K", "MIN_CLASS_SIZE", "DUPLICATE_TOL", "extract", "select", "duplicates",
           "project", "project_pair", "separation"]
