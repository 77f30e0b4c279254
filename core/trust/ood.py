"""Unfamiliar clips: an out-of-distribution score from the model's own logits and embeddings.

A clip unlike anything the model was trained on (a test pattern with a tone, speech, music,
a factory clip with a voice over it) still gets a confident factory label; this score says
so. Sources, each a number per clip, higher = more unfamiliar:

- ``energy:<head>``: the free energy of a head's logits, ``-logsumexp(logits)`` (temperature
  1; Liu et al., "Energy-based Out-of-distribution Detection", NeurIPS 2020);
- ``mahalanobis:<embedding>``: the distance to the closest class mean under one covariance
  shared by the classes, both estimated on the training clips' embeddings (Lee et al., "A
  Simple Unified Framework for Detecting Out-of-Distribution Samples and Adversarial
  Attacks", NeurIPS 2018; Ledoit-Wolf shrinkage, since a few hundred clips barely
  outnumber the 128-256 dimensions);
- ``knn:<embedding>``: the distance to the k-th nearest training embedding after L2
  normalisation (Sun et al., "Out-of-Distribution Detection with Deep Nearest Neighbors",
  ICML 2022).

A method (:data:`METHODS`) is a set of sources. Each source is standardised on the
validation clips (minus their mean, over their standard deviation) and the clip's score is
the largest standardised source: a clip can be unfamiliar in its sound, its picture or their
combination, and any one suffices. The threshold is the 95th percentile of the validation
clips' scores (the smallest validation score with 95 % of them at or below it), so about 5 % of
familiar clips are flagged by construction. ``bench/ood.py``
measures the methods; ``docs/trust.md`` says why the default is what it is.

A source that needs a modality the clip lacks (absent, muted, black: ``Prediction.present``)
is left out for that clip, since a missing input is the abstaining heads' business, not an
unfamiliar one; ``fused`` sources need both. A clip with no usable source (no input at all,
or an energy-only detector on a one-modality clip) is scored on every source.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

FILE = "ood.npz"
PERCENTILE = 95.0
MODALITY_NEEDS = {"audio": ("audio",), "video": ("video",), "fused": ("audio", "video")}
METHODS: dict[str, tuple[str, ...]] = {
    "energy": ("energy:fused",),
    "mahalanobis_fused": ("mahalanobis:fused",),
    "mahalanobis": ("mahalanobis:audio", "mahalanobis:video", "mahalanobis:fused"),
    "mahalanobis+energy": ("mahalanobis:audio", "mahalanobis:video", "mahalanobis:fused", "energy:fused"),
    "knn": ("knn:audio", "knn:video", "knn:fused"),
}
"""Method name -> its sources (``kind:name``; name is a head for energy, an embedding otherwise)."""
DEFAULT_METHOD = "mahalanobis"
ENERGY_ONLY = "energy"
KNN_K = 5


class OODError(ValueError):
    """An out-of-distribution detector cannot be fitted, read or used; the message is one plain sentence."""


@dataclass(frozen=True)
class Features:
    """What the detector reads from N clips (one 5 s window each).

    ``logits``: head -> (N, K) float32 raw logits; ``embeddings``: name -> (N, E) float32 (empty for a
    model without embeddings); ``present``: modality -> (N,) bool; ``labels``: (N,) class names
    (ground truth, "" where unknown); ``paths``: the clips' files.
    """

    logits: Mapping[str, np.ndarray]
    embeddings: Mapping[str, np.ndarray]
    present: Mapping[str, np.ndarray]
    labels: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(next(iter(self.logits.values())))

    @classmethod
    def from_predictions(cls, preds, labels=(), paths=()) -> "Features":
        """Stack :class:`core.inference.Prediction` objects (logits, embeddings, present) into arrays."""
        first = preds[0]
        return cls(logits={h: np.stack([p.logits[h] for p in preds]).astype(np.float32) for h in first.logits},
                   embeddings={k: np.stack([p.embeddings[k] for p in preds]).astype(np.float32)
                               for k in first.embeddings},
                   present={m: np.array([p.present[m] for p in preds], dtype=bool) for m in first.present},
                   labels=tuple(labels), paths=tuple(str(p) for p in paths))


@dataclass(frozen=True, eq=False)
class OODDetector:
    """A fitted detector for one model (see the module docstring for the method).

    Attributes
    ----------
    method : str  a key of :data:`METHODS`
    threshold : float  score above which a clip is unfamiliar (95th percentile of the validation scores)
    sources : tuple of str  ``kind:name`` per source, e.g. ``mahalanobis:audio``, ``energy:fused``
    loc, scale : (S,) float64  validation mean and standard deviation of each source's raw value
    stats : name -> array, per embedding ``name``: ``whiten:name`` (E, E) with ``whiten @ whiten.T`` the
        shared precision matrix, ``means:name`` (K, E) whitened class means (Mahalanobis), ``bank:name``
        (N, E) L2-normalised training embeddings (kNN); float32
    classes : the model's classes, in logit order
    fingerprint : the model's ``fingerprint`` when fitted (a different model's file is stale)
    model : the model's name when fitted
    k : the neighbour kNN sources use
    fitted : JSON-ready provenance: data set, splits, clip counts
    """

    method: str
    threshold: float
    sources: tuple[str, ...]
    loc: np.ndarray
    scale: np.ndarray
    stats: Mapping[str, np.ndarray] = field(repr=False)
    classes: tuple[str, ...] = ()
    fingerprint: str = ""
    model: str = ""
    k: int = KNN_K
    fitted: Mapping = field(default_factory=dict)

    # -- scoring
    def raw(self, logits: Mapping[str, np.ndarray], embeddings: Mapping[str, np.ndarray]) -> np.ndarray:
        """Each source's raw value (before standardisation): (B, S) float64, columns in ``sources`` order."""
        return np.stack([_raw(self, s, logits, embeddings) for s in self.sources], axis=1)

    def parts(self, logits: Mapping[str, np.ndarray], embeddings: Mapping[str, np.ndarray],
              present: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Standardised sources, (B, S) float64, NaN where a source does not apply (see the module docstring)."""
        z = (self.raw(logits, embeddings) - self.loc) / self.scale  # (B, S)
        if present is not None:
            usable = np.stack([np.all([np.asarray(present[m], bool) for m in MODALITY_NEEDS[s.split(":")[1]]],
                                      axis=0) for s in self.sources], axis=1)  # (B, S)
            usable[~usable.any(axis=1)] = True  # nothing applies: every source speaks
            z = np.where(usable, z, np.nan)
        return z

    def score(self, logits: Mapping[str, np.ndarray], embeddings: Mapping[str, np.ndarray],
              present: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """How unfamiliar each clip is: (B,) float64, in validation standard deviations; higher = more unfamiliar.

        Parameters
        ----------
        logits : head -> (B, K) raw logits (``Prediction.logits`` stacked)
        embeddings : name -> (B, E) (``Prediction.embeddings`` stacked; may be empty for ``energy``)
        present : modality -> (B,) bool, optional (``Prediction.present``); None: both present

        Returns
        -------
        (B,) the largest standardised source; compare with ``threshold``.
        """
        return np.nanmax(self.parts(logits, embeddings, present), axis=1)

    # -- storage
    def to_json(self) -> dict:
        """Everything but the arrays of ``stats``, JSON-ready."""
        return {"method": self.method, "threshold": float(self.threshold), "sources": list(self.sources),
                "loc": [float(x) for x in self.loc], "scale": [float(x) for x in self.scale],
                "classes": list(self.classes), "fingerprint": self.fingerprint, "model": self.model, "k": self.k,
                "percentile": PERCENTILE, "fitted": dict(self.fitted)}

    def save(self, folder: str | Path, prefix: str = "") -> Path:
        """Write ``folder/<prefix>ood.npz`` (see :func:`location`); returns the path."""
        path = ood_path(folder, prefix)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, meta=np.array(json.dumps(self.to_json())),
                            **{k: np.asarray(v, np.float32) for k, v in self.stats.items()})
        tmp.replace(path)
        return path


def ood_path(folder: str | Path, prefix: str = "") -> Path:
    """``folder/<prefix>ood.npz``."""
    return Path(folder) / f"{prefix}{FILE}"


def location(model) -> tuple[Path, str] | None:
    """Where a model's trust files live, as ``(folder, prefix)``: ``AVClassifier.trust_folder`` /
    ``trust_prefix``, set by :func:`core.models.load_model` (``ood.npz`` in a checkpoint folder or a folder
    with ``avlab.json``, ``NAME.ood.npz`` beside ``NAME.avlab.json``); None for a model built in memory."""
    if getattr(model, "trust_folder", None) is None:
        return None
    return Path(model.trust_folder), model.trust_prefix


def load(folder: str | Path, *, fingerprint: str | None = None, prefix: str = "") -> OODDetector | None:
    """The detector stored in ``folder/<prefix>ood.npz``, or None when there is none.

    Raises OODError (one sentence) when the file cannot be read, or when ``fingerprint`` (the loaded
    model's ``AVClassifier.fingerprint``) differs from the one it was fitted for: a stale detector would
    score against another model's statistics, so it is refused rather than used.
    """
    path = ood_path(folder, prefix)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            stats = {k: data[k] for k in data.files if k != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise OODError(f"{path} is not an out-of-distribution file avlab can read; refit it with "
                       f"python -m core.trust fit.") from exc
    if fingerprint and meta.get("fingerprint") and meta["fingerprint"] != fingerprint:
        raise OODError(f"{path} was fitted for another version of this model; unfamiliar clips are not "
                       f"detected until it is fitted again (python -m core.trust fit --model MODEL --data DIR).")
    return OODDetector(method=meta["method"], threshold=float(meta["threshold"]), sources=tuple(meta["sources"]),
                       loc=np.asarray(meta["loc"], float), scale=np.asarray(meta["scale"], float), stats=stats,
                       classes=tuple(meta["classes"]), fingerprint=meta.get("fingerprint", ""),
                       model=meta.get("model", ""), k=int(meta.get("k", KNN_K)), fitted=meta.get("fitted", {}))


def for_model(model) -> tuple[OODDetector | None, str | None]:
    """``(detector, None)`` for a loaded model, ``(None, None)`` when none was fitted, or ``(None, reason)``
    when its file is stale or unreadable (the reason is one sentence, for ``trust_notes``)."""
    where = location(model)
    if where is None:
        return None, None
    folder, prefix = where
    try:
        return load(folder, fingerprint=model.fingerprint, prefix=prefix), None
    except OODError as exc:
        return None, str(exc)


def ood_result(detector: OODDetector, prediction) -> dict:
    """The clip's verdict for ``core.predict --json``: ``{"score", "threshold", "unfamiliar", "method"}``.

    ``prediction``: a :class:`core.inference.Prediction` (one clip or one window; the overall prediction of
    a long clip averages its windows' logits and embeddings).
    """
    score = float(detector.score({h: v[None] for h, v in prediction.logits.items()},
                                 {k: v[None] for k, v in prediction.embeddings.items()},
                                 {m: np.array([v]) for m, v in prediction.present.items()})[0])
    return {"score": round(score, 4), "threshold": round(float(detector.threshold), 4),
            "unfamiliar": bool(score > detector.threshold), "method": detector.method}


# ----------------------------------------------------------------------------- fitting

def fit(train: Features, val: Features, *, classes: tuple[str, ...], method: str = DEFAULT_METHOD,
        fingerprint: str = "", model: str = "", k: int = KNN_K, fitted: Mapping | None = None) -> OODDetector:
    """A detector from features: class statistics from ``train``, standardisation and threshold from ``val``.

    Parameters
    ----------
    train : Features with ``labels`` (ground-truth classes; clips of other labels are ignored)
    val : Features of familiar clips (labels not needed)
    classes : the model's classes, in logit order
    method : a key of :data:`METHODS`
    """
    if method not in METHODS:
        raise OODError(f"There is no out-of-distribution method '{method}'; choose one of {', '.join(METHODS)}.")
    sources = METHODS[method]
    missing = sorted({s.split(":")[1] for s in sources if not s.startswith("energy")} - set(train.embeddings))
    if missing:
        raise OODError(f"The method '{method}' needs the model's {', '.join(missing)} embeddings, which it does "
                       f"not give; use '{ENERGY_ONLY}'.")
    labels = np.array([classes.index(x) if x in classes else -1 for x in train.labels])
    stats: dict[str, np.ndarray] = {}
    for name in {s.split(":")[1] for s in sources if s.startswith("mahalanobis")}:
        stats[f"whiten:{name}"], stats[f"means:{name}"] = _gaussians(train.embeddings[name], labels, len(classes))
    for name in {s.split(":")[1] for s in sources if s.startswith("knn")}:
        stats[f"bank:{name}"] = _normalise(train.embeddings[name]).astype(np.float32)
    stats = {k_: np.asarray(v, np.float32) for k_, v in sorted(stats.items())}
    draft = OODDetector(method, 0.0, sources, np.zeros(len(sources)), np.ones(len(sources)), stats, tuple(classes),
                        fingerprint, model, k)
    raw = draft.raw(val.logits, val.embeddings)  # (N, S)
    loc, scale = raw.mean(axis=0), raw.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    detector = OODDetector(method, 0.0, sources, loc, scale, stats, tuple(classes), fingerprint, model, k)
    # "higher": an actual validation score with at least 95 % of them at or below it (at most 5 % flagged)
    val_scores = detector.score(val.logits, val.embeddings, val.present)
    threshold = float(np.percentile(val_scores, PERCENTILE, method="higher"))
    return OODDetector(method, threshold, sources, loc, scale, stats, tuple(classes), fingerprint, model, k,
                       dict(fitted or {}, n_train=int((labels >= 0).sum()), n_val=len(val)))


def _gaussians(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Whitening matrix (E, E) of the shared within-class covariance and the whitened class means (K, E)."""
    from sklearn.covariance import LedoitWolf

    x = np.asarray(x, np.float64)
    keep = labels >= 0
    means = np.zeros((k, x.shape[1]))
    for c in range(k):
        if not (labels == c).any():
            raise OODError(f"The training clips hold no clip of class {c}; every class needs some.")
        means[c] = x[labels == c].mean(axis=0)
    residuals = x[keep] - means[labels[keep]]
    cov = LedoitWolf(assume_centered=True).fit(residuals).covariance_
    precision = np.linalg.inv(cov)
    whiten = np.linalg.cholesky((precision + precision.T) / 2)  # precision = whiten @ whiten.T
    return whiten, means @ whiten


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _raw(detector: OODDetector, source: str, logits, embeddings) -> np.ndarray:
    kind, name = source.split(":")
    if kind == "energy":
        from scipy.special import logsumexp

        return -logsumexp(np.asarray(logits[name], np.float64), axis=1)  # free energy, T = 1
    if name not in embeddings:
        raise OODError(f"The detector ({detector.method}) needs the model's '{name}' embedding, which this "
                       f"prediction lacks.")
    x = np.asarray(embeddings[name], np.float64)  # (B, E)
    if kind == "mahalanobis":
        z = x @ detector.stats[f"whiten:{name}"].astype(np.float64)  # (B, E)
        means = detector.stats[f"means:{name}"].astype(np.float64)  # (K, E)
        d2 = (z ** 2).sum(1)[:, None] - 2 * z @ means.T + (means ** 2).sum(1)[None]  # (B, K)
        return np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    if kind == "knn":
        bank = detector.stats[f"bank:{name}"].astype(np.float64)  # (N, E)
        d2 = np.maximum(2.0 - 2.0 * _normalise(x) @ bank.T, 0.0)  # (B, N), unit vectors
        kth = min(detector.k, bank.shape[0]) - 1
        return np.sqrt(np.partition(d2, kth, axis=1)[:, kth])
    raise OODError(f"Unknown out-of-distribution source '{source}'.")


# ----------------------------------------------------------------------------- from a model and data

def features(predictors, paths, *, labels=(), steps=(), seed: int = 0, batch_size: int = 16,
             progress=None) -> list[Features]:
    """Features of the clips at ``paths`` for each predictor, decoding (and corrupting) each clip once.

    Parameters
    ----------
    predictors : list of core.inference.Predictor
    paths : clip files, or pairs of video and audio files (``Sample.source``; one 5 s window each; shorter clips
        are padded, longer ones cut by the model's input)
    labels : their class names, optional
    steps : corruption steps ``[(name, severity)]`` applied with the one seeding rule
    progress : callable ``(done, total)``, optional

    A file that cannot be decoded is left out (its label and path too).
    """
    from core.inference import Unreadable, clip_batches

    paths, labels = [str(p) for p in paths], list(labels) or [""] * len(paths)
    preds: list[list] = [[] for _ in predictors]
    kept: list[int] = []
    done = 0
    for batch in clip_batches(paths, steps=steps, seed=seed, batch_size=batch_size):
        idx = [done + i for i, c in enumerate(batch) if not isinstance(c, Unreadable)]
        clips = [c for c in batch if not isinstance(c, Unreadable)]
        done += len(batch)
        if clips:
            kept += idx
            for out, predictor in zip(preds, predictors):
                out += predictor.predict_batch(clips)
        if progress is not None:
            progress(done, len(paths))
    if not kept:
        raise OODError(f"None of the {len(paths)} clips could be decoded.")
    return [Features.from_predictions(p, [labels[i] for i in kept], [paths[i] for i in kept]) for p in preds]


def method_for(model) -> str:
    """The default method a model gets: :data:`DEFAULT_METHOD`, or energy alone without embeddings."""
    return DEFAULT_METHOD if getattr(model, "has_embeddings", False) else ENERGY_ONLY


def fit_ood(predictor, train_dataset, val_dataset, *, method: str | None = None, batch_size: int = 16,
            progress=None) -> OODDetector:
    """Fit a detector for ``predictor``'s model: class statistics on ``train_dataset`` (its single-label clips),
    standardisation and the threshold on ``val_dataset`` (core.datasets.Dataset each).

    ``method``: a key of :data:`METHODS`; None: :func:`method_for` the model (energy alone for a model
    without embeddings).
    """
    train_s, val_s = train_dataset.standard().samples, val_dataset.standard().samples
    if not train_s or not val_s:
        raise OODError("Fitting needs single-label clips in both the training and the validation data.")
    (train,) = features([predictor], [s.source for s in train_s], labels=[s.label for s in train_s],
                        batch_size=batch_size, progress=progress)
    (val,) = features([predictor], [s.source for s in val_s], labels=[s.label for s in val_s],
                      batch_size=batch_size, progress=progress)
    return fit_features(predictor.model, train, val, method=method,
                        fitted={"train": str(train_dataset.root), "val": str(val_dataset.root)})


def fit_features(model, train: Features, val: Features, *, method: str | None = None,
                 fitted: Mapping | None = None) -> OODDetector:
    """:func:`fit` with the model's classes, fingerprint and name (features already extracted)."""
    return fit(train, val, classes=tuple(model.classes), method=method or method_for(model),
               fingerprint=model.fingerprint, model=model.name, fitted=fitted)


__all__ = ["FILE", "PERCENTILE", "METHODS", "DEFAULT_METHOD", "ENERGY_ONLY", "OODError", "Features", "OODDetector",
           "ood_path", "location", "load", "for_model", "ood_result", "fit", "fit_ood", "fit_features", "features",
           "method_for"]
