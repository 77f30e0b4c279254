"""The fixed numbers of the factory-av spec (``shared/specs/factory-av.md``) and the seed plan.

Seeds are absolute and each split owns one disjoint range of a million seeds:
train ``0..999_999``, val ``1_000_000..1_999_999``, test ``2_000_000..2_999_999``.
A clip is a pure function of ``(split, seed)`` (and its label), so the same pair
always gives bit-identical arrays, and no clip can appear in two splits.

Levels: every level in this package is in dBFS with full scale meaning an RMS of 1,
``dBFS = 20 * log10(rms)`` (a full-scale sine is -3.01 dBFS). Steady sounds
(ambience, hum, whine, hiss) are measured over the whole clip; intermittent
ones (bearing clicks, cavitation clicks, pump thumps) over the samples where
they are active: each click's own length, each thump's first decay time constant.

Luminance is Rec. 601 luma in [0, 1]; "25 % contrast" means a luma difference
of at least 0.25 between every machine part and every background colour.
"""
from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "fan_normal",
    "fan_fault",
    "valve_closed",
    "valve_open",
    "valve_leak",
    "pump_normal",
    "pump_cavitation",
)
MACHINES: tuple[str, ...] = ("fan", "valve", "pump")
SPLITS: tuple[str, ...] = ("train", "val", "test")

SEEDS_PER_SPLIT = 1_000_000
SEED_BASES: dict[str, int] = {"train": 0, "val": 1_000_000, "test": 2_000_000}

FPS = 16
SIZE = 160  # frames are SIZE x SIZE RGB
SR = 16_000
CLIP_SECONDS = 5.0
LONG_SECONDS = (12.0, 30.0)
CHANGE_FRACTION = (0.3, 0.7)

# Long clips change state once. The first three are the spec's examples and come first,
# so `--long 3` writes one of each.
TRANSITIONS: tuple[tuple[str, str], ...] = (
    ("fan_normal", "fan_fault"),
    ("valve_closed", "valve_leak"),
    ("pump_normal", "pump_cavitation"),
    ("valve_closed", "valve_open"),
    ("valve_open", "valve_closed"),
)

MIN_CONTRAST = 0.25


class SynthError(ValueError):
    """A synthetic clip or data set could not be made; the message is one plain sentence."""


def machine_of(label: str) -> str:
    """The machine a label shows (``'valve_leak'`` -> ``'valve'``), validating the label."""
    if label not in CLASSES:
        raise SynthError(f"Unknown label '{label}'; choose one of {', '.join(CLASSES)}.")
    return label.split("_", 1)[0]


def seed_range(split: str) -> range:
    """The seeds that belong to ``split``."""
    if split not in SEED_BASES:
        raise SynthError(f"Unknown split '{split}'; choose one of {', '.join(SPLITS)}.")
    base = SEED_BASES[split]
    return range(base, base + SEEDS_PER_SPLIT)


def check_seed(split: str, seed: int) -> int:
    """``seed`` as an int, refusing one outside the split's range."""
    seeds = seed_range(split)
    if int(seed) != seed or int(seed) not in seeds:
        raise SynthError(
            f"Seed {seed} is not a {split} seed; {split} seeds run from {seeds.start} to {seeds.stop - 1}."
        )
    return int(seed)
