"""What a sweep runs on, and one batch of its clips.

The models, clips and conditions of a sweep and its identity (config, model content hashes,
clips); then a batch of decoded clips, the frames each model samples, their clean encodings,
corrupted views and the model inputs made from them (through :func:`core.inference.inputs`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from core import corruptions
from core.datasets import Dataset, Sample, load_dataset, split_by_classes
from core.corruptions import FRAME_LOCAL
from core.experiments.config import ExperimentConfig, ExperimentError
from core.inference import inputs
from core.media import Clip
from core.models import AVClassifier, ModelError, default_checkpoint, load_model
from core.models.preprocessing import AudioPreprocessing, VideoPreprocessing, sample_indices
from core.results import CLEAN
from core.trust.ood import OODDetector
from core.trust.ood import for_model as ood_for_model


@dataclass(frozen=True)
class ModelSpec:
    """What preparing a model's inputs needs, without its weights (small, picklable: sent to CPU workers).

    ``video`` and ``audio`` are the model's preprocessing (:class:`core.models.preprocessing.VideoPreprocessing`,
    ``AudioPreprocessing``), so a spec stands in for the model in :func:`core.inference.inputs`.
    """

    name: str
    video: VideoPreprocessing
    audio: AudioPreprocessing

    @property
    def num_frames(self) -> int:
        return self.video.num_frames


@dataclass
class SweepModel:
    """One model of a sweep: its unique name in the sweep, where it came from, the loaded model and its
    out-of-distribution detector (:func:`core.trust.ood.for_model`; None when none was fitted)."""

    name: str
    path: Path
    model: AVClassifier
    detector: OODDetector | None = None

    @property
    def classes(self) -> list[str]:
        return list(self.model.classes)

    @property
    def fingerprint(self) -> str:
        return self.model.fingerprint

    @property
    def num_frames(self) -> int:
        return self.model.video.num_frames

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(self.name, self.model.video, self.model.audio)

    @property
    def ood(self) -> dict | None:
        """The detector the stored OOD scores come from: ``{"method", "threshold", "sources"}``, or None."""
        d = self.detector
        return None if d is None else {"method": d.method, "threshold": float(d.threshold), "sources": list(d.sources)}

    def describe(self) -> dict:
        """The model as :meth:`core.results.ResultsDB.start_experiment` stores it."""
        return {"name": self.name, "path": self.path, "fusion": getattr(self.model, "fusion", self.model.format),
                "classes": self.classes, "fingerprint": self.fingerprint, "format": self.model.format,
                "native_heads": sorted(self.model.native_heads), "ood": self.ood}


def load_models(specs: Sequence[str], *, device: str = "auto") -> list[SweepModel]:
    """The sweep's models (a checkpoint folder, or a model file or folder with its sidecar, each) with their
    out-of-distribution detectors; the shipped default when none is given. Raises ExperimentError or ModelError
    (a stale or unreadable detector file is left out, as :class:`core.inference.Predictor` does)."""
    out, seen = [], {}
    if not specs:
        try:
            specs = [str(default_checkpoint())]
        except (OSError, ModelError) as exc:
            raise ExperimentError("No model was given and checkpoints/DEFAULT cannot be read; "
                                  "pass --model SPEC.") from exc
    for p in specs:
        path = Path(p).resolve()
        model = load_model(path, device=device)
        base = model.name
        name = base if base not in seen else f"{base}#{seen[base] + 1}"
        seen[base] = seen.get(base, 0) + 1
        out.append(SweepModel(name, path, model, ood_for_model(model)[0]))
    return out


def sweep_dataset(config: ExperimentConfig) -> Dataset:
    """The sweep's data set (its layout, fold and split as the config says). Raises DatasetError."""
    return load_dataset(config.data, config.layout, config.split, fold=config.fold)


def sweep_samples(config: ExperimentConfig, checkpoints: list[SweepModel],
                  dataset: Dataset | None = None) -> tuple[list[Sample], dict[str, int]]:
    """The single-label clips of the sweep whose label every model knows, and per other label the number of
    clips left out (a model cannot be right about a class it lacks; they are not counted wrong)."""
    every = list((dataset or sweep_dataset(config)).standard().samples)
    if not every:
        raise ExperimentError(f"The data set at '{config.data}' has no single-label clips to sweep.")
    samples, skipped = split_by_classes(every, set.intersection(*(set(ck.classes) for ck in checkpoints)))
    samples = samples[: config.limit]
    if not samples:
        raise ExperimentError(f"None of the data set's labels ({', '.join(skipped)}) is a class of every model "
                              f"swept; point --data at a data set of their classes.")
    return samples, skipped


def sweep_conditions(config: ExperimentConfig) -> list[tuple[str, int, str]]:
    """``(corruption, severity, modality)`` of the sweep, clean first; a single-level corruption (``mute``,
    ``video_off``) once, at severity 1, whatever severities are chosen (:func:`core.corruptions.grid`)."""
    names = config.corruptions or tuple(corruptions.names())
    return [(CLEAN, 0, "none")] + [(n, s, corruptions.get(n).modality)
                                   for n, s in corruptions.grid(names, config.severities)]


def sweep_key(config: dict, checkpoints: list[SweepModel], samples: list[Sample]) -> str:
    """The sweep's identity: config (name aside), model content hashes, the clips (path, label, size), the
    corruption seeding rule and the revision of the corruptions' definitions and grid (a sweep stored under
    another rule or revision is not continued with this one's rows; it stays in the database as it was)."""
    # layout and fold enter the identity only when set, so sweeps stored before they existed continue
    ident = {k: v for k, v in config.items() if k not in ("name", "checkpoints", "data_layout")
             and not (k in ("layout", "fold") and v is None)}
    ident["checkpoints"] = [c.fingerprint for c in checkpoints]
    if any(c.model.temperatures for c in checkpoints):  # calibrated probabilities are other rows
        ident["temperatures"] = [dict(c.model.temperatures) for c in checkpoints]
    if any(c.detector is not None for c in checkpoints):  # a refitted detector gives other OOD scores
        ident["ood"] = [None if c.detector is None else c.detector.to_json() for c in checkpoints]
    ident["seeding"] = "corruptions.clip_seed"
    ident["corruptions_revision"] = corruptions.REVISION
    ident["clips"] = [(str(s.path), s.label, s.path.stat().st_size) if s.audio_path is None else
                      (str(s.source), s.label, s.path.stat().st_size, s.audio_path.stat().st_size) for s in samples]
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- one batch of clips


class Batch:
    """Decoded clips of one batch and the frames each checkpoint samples (its clean encodings are kept by
    whoever encodes it: :func:`core.experiments.work.condition_outputs`)."""

    def __init__(self, clips: list[Clip], indices: list[int], checkpoints: Sequence[SweepModel | ModelSpec],
                 paths: list[str]):
        self.clips = clips
        self.paths = paths  # the clips' names (a file's, or "a.flv + a.wav"): they seed the corruptions (clip_seed)
        self.indices_in_data = indices
        counts = sorted({ck.num_frames for ck in checkpoints})
        # per clip: indices into the full clip of each frame count, and their union (the "seen" frames)
        self.indices = [{n: sample_indices(c.frames.shape[0], n) for n in counts} if c.has_video else {}
                        for c in clips]
        self.seen_idx = [np.unique(np.concatenate(list(ix.values()))) if ix else None for ix in self.indices]
        self.seen = [c.replace(frames=c.frames[s]) if s is not None else c for c, s in zip(clips, self.seen_idx)]

    def frames_for(self, view: list[Clip], seen: bool, i: int, num_frames: int) -> np.ndarray:
        """The ``num_frames`` frames a checkpoint samples from clip ``i`` of a (possibly corrupted) view."""
        frames = view[i].frames
        if not self.indices[i] or frames.shape[0] == 0:
            return frames
        idx = self.indices[i][num_frames]
        return frames[np.searchsorted(self.seen_idx[i], idx)] if seen else frames[idx]


def view_inputs(batch: Batch, model: AVClassifier | ModelSpec, modality: str, view: list[Clip], seen: bool,
                presence: list[Clip]) -> tuple[torch.Tensor, torch.Tensor]:
    """One modality of a (possibly corrupted) view as the model's input tensor and mask; video presence is
    judged on all frames held, the frames fed are those the model samples."""
    if modality == "audio":
        return inputs(model, view, "audio")
    frames = [batch.frames_for(view, seen, i, model.video.num_frames) for i in range(len(view))]
    return inputs(model, view, "video", frames=frames, presence=presence)


def corrupt_view(batch: Batch, name: str, severity: int, config: ExperimentConfig):
    """The corrupted view of a batch and whether it holds only the sampled frames."""
    c = corruptions.get(name)
    seen = config.frames == "seen" and name in FRAME_LOCAL
    source = batch.seen if seen else batch.clips
    # the one seeding rule, as apply_many(clip, [(name, severity)], seed=clip_seed(seed, path)) draws it
    out = [c.apply(clip, severity, rng=corruptions.rng_for(name, seed=corruptions.clip_seed(config.seed, path)))
           for clip, path in zip(source, batch.paths)]
    return out, seen
