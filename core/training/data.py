"""Training data: decoded examples (the frames the model samples), batches, jitter and corruption augmentation."""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from tqdm import tqdm

from core import corruptions
from core.datasets import Dataset, Sample, load_dataset, recognise
from core.media import Clip, load_clip, sliding_windows
from core.models import AVModel
from core.models.preprocessing import batch_inputs, sample_indices
from core.training.config import ROOT, TrainingConfig


@dataclass
class Example:
    """One training example: the frames the model samples, the audio, the label index."""

    frames: np.ndarray  # (num_frames, H, W, 3) uint8, already sampled TSN-style
    fps: float  # effective frame rate of the sampled frames
    audio: np.ndarray  # (N,) float32
    label: int


def ensure_data(config: TrainingConfig) -> Dataset:
    """The training data set, in any layout :func:`core.datasets.load_dataset` reads (``layout``, ``fold`` and
    ``data_classes`` of the config); factory-av is generated with core.synth when the folder holds no data set
    (no manifest and no published layout) and the config names none."""
    root = ROOT / config.data
    if config.layout in (None, "manifest") and not (root / "manifest.csv").is_file() and \
            recognise(root) in (None, "folders"):
        from core.synth import write_dataset

        for split in ("train", "val", "test"):
            write_dataset(root, split=split, per_class=config.generate[split],
                          long=config.generate.get(f"long_{split}", 0), workers=config.threads)
    dataset = load_dataset(root, config.layout, fold=config.fold, classes=config.data_classes)
    _check_generated_counts(dataset, config)
    return dataset


def split_for(dataset: Dataset, config: TrainingConfig, role: str) -> Dataset:
    """The split the config uses for ``role`` (``train``, ``val``, ``test``: ``config.splits``); ValueError with a
    sentence naming the data set's splits when it has no clips there."""
    name = config.splits[role]
    part = dataset.split(name)
    if not part.samples:
        raise ValueError(f"The data set at {config.data} ({dataset.description}) has no clips in the '{name}' split "
                         f"that the config uses for {role}; its splits are "
                         f"{', '.join(sorted({repr(s.split) for s in dataset.samples}))} (map another with "
                         f"splits: {{{role}: ...}}).")
    return part


def _check_generated_counts(dataset: Dataset, config: TrainingConfig) -> None:
    """Refuse a factory-av folder generated with other clip counts than the config asks for (a stale one).

    A folder not made by core.synth (rows without seeds) is taken as it is.
    """
    if not dataset.samples or any(s.seed is None for s in dataset.samples):
        return
    for split in ("train", "val", "test"):
        if split not in config.generate:
            continue
        samples = [s for s in dataset.samples if s.split == split]
        want = (config.generate[split] * len(dataset.classes), config.generate.get(f"long_{split}", 0))
        have = (sum(not s.is_long for s in samples), sum(s.is_long for s in samples))
        if have != want:
            raise ValueError(
                f"{config.data} holds {have[0]} standard and {have[1]} long {split} clips, but the config "
                f"generates {want[0]} and {want[1]}: delete the folder (or regenerate the split with "
                f"python -m core.synth) so that it matches.")


def _example(clip: Clip, label: int, num_frames: int) -> Example:
    picked = clip.frames[sample_indices(clip.frames.shape[0], num_frames)] if clip.has_video else clip.frames
    fps = clip.fps * num_frames / max(1, clip.frames.shape[0]) if clip.has_video else 0.0
    return Example(frames=np.ascontiguousarray(picked), fps=fps, audio=clip.audio, label=label)


@functools.lru_cache(maxsize=4)
def cached_examples(samples: tuple[Sample, ...], classes: tuple[str, ...], num_frames: int,
                     window_stride: float | None, desc: str) -> tuple[Example, ...]:
    """Several configs trained in one process decode the data set once."""
    return tuple(examples_for(list(samples), classes, num_frames=num_frames, window_stride=window_stride, desc=desc))


def examples_for(samples: list[Sample], classes: tuple[str, ...], *, num_frames: int,
                 window_stride: float | None, desc: str) -> list[Example]:
    """Decode each sample once; long clips become 5 s windows lying inside one segment."""
    index = {c: i for i, c in enumerate(classes)}
    out: list[Example] = []
    for sample in tqdm(samples, desc=f"decode {desc}", leave=False, file=sys.stderr):
        clip = load_clip(sample.source)
        if not sample.is_long:
            out.append(_example(clip, index[sample.label], num_frames))
            continue
        if window_stride is None:
            continue
        for window in sliding_windows(clip, window=5.0, stride=window_stride):
            for start, end, label in sample.segments:
                if start <= window.start and window.end <= end + 1e-6:
                    out.append(_example(window.clip, index[label], num_frames))
    return out


class Augmenter:
    """Random corruptions from the registry for the robust variants (seeded)."""

    def __init__(self, config: "TrainingConfig", rng: np.random.Generator):
        self.rng = rng
        self.names = list(config.corruption_names) or corruptions.names()

    def corrupt(self, ex: Example) -> tuple[np.ndarray, np.ndarray]:
        """(frames, audio) of ``ex`` under one random corruption at a random severity."""
        name = self.names[self.rng.integers(len(self.names))]
        clip = Clip(frames=ex.frames, fps=ex.fps, audio=ex.audio, duration=ex.audio.size / 16_000)
        clip = corruptions.apply(clip, name, int(self.rng.integers(1, 6)), rng=self.rng)
        return clip.frames, clip.audio


def make_batch(model: AVModel, items: list[tuple[np.ndarray, float, np.ndarray]]):
    """(frames, fps, audio) triples to (video, audio, video_mask, audio_mask) tensors, masks boolean."""
    clips = [Clip(frames=f, fps=fps, audio=a, duration=a.size / 16_000) for f, fps, a in items]
    video, audio, vmask, amask = batch_inputs(clips, model)
    return video, audio, vmask.bool(), amask.bool()


def batches(examples: list[Example], batch_size: int, rng: np.random.Generator | None) -> Iterator[list[Example]]:
    order = rng.permutation(len(examples)) if rng is not None else np.arange(len(examples))
    for i in range(0, len(order), batch_size):
        yield [examples[j] for j in order[i:i + batch_size]]


def jitter(ex: Example, rng, config) -> tuple[np.ndarray, float, np.ndarray]:
    """Label-preserving jitter of one example.

    Audio: a random gain. Video: the dihedral group of the square (mirror images and
    quarter turns keep the lever parallel or perpendicular to its pipe) and a random
    permutation of the colour channels (factory-av colours are random by design).
    """
    frames, audio = ex.frames, ex.audio
    if config.gain_jitter_db:
        gain = 10 ** (rng.uniform(-config.gain_jitter_db, config.gain_jitter_db) / 20)
        audio = np.clip(audio * gain, -1.0, 1.0).astype(np.float32)
    if config.flip and frames.shape[0]:
        if rng.random() < 0.5:
            frames = frames[:, :, ::-1]
        frames = np.rot90(frames, k=int(rng.integers(4)), axes=(1, 2))
        frames = np.ascontiguousarray(frames[..., rng.permutation(3)])
    return frames, ex.fps, audio
