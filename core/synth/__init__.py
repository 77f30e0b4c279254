"""factory-av: the built-in synthetic audio-visual benchmark (spec: shared/specs/factory-av.md).

One camera, one microphone, one machine per clip: a fan, a valve or a piston pump,
in seven states some of which only the ear, some only the eye can tell apart.

>>> clip, params = generate_clip("valve_leak", split="test", seed=2_000_004)
>>> write_dataset("data", split="train", per_class=100, long=10, workers=2)

Seeds are absolute and disjoint per split (train 0.., val 1_000_000.., test
2_000_000..); levels are dBFS with full scale = RMS 1. See :mod:`core.synth.spec`.
"""
from .generator import (MANIFEST, dataset_jobs, generate_clip, generate_long_clip, merge_manifest, read_manifest,
                        write_dataset)
from .spec import (CLASSES, CLIP_SECONDS, FPS, MACHINES, SEED_BASES, SIZE, SPLITS, SR, TRANSITIONS, SynthError,
                   seed_range)

__all__ = [
    "CLASSES", "CLIP_SECONDS", "FPS", "MACHINES", "MANIFEST", "SEED_BASES", "SIZE", "SPLITS", "SR", "TRANSITIONS",
    "SynthError", "dataset_jobs", "generate_clip", "generate_long_clip", "merge_manifest", "read_manifest",
    "seed_range", "write_dataset",
]
