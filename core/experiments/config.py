"""What a sweep computes: :class:`ExperimentConfig`, the corruptions it selects, and :class:`ExperimentError`.

Also the frame modes: with ``frames="seen"``, the corruptions in :data:`FRAME_LOCAL` are applied
to just the frames the model samples.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from core import corruptions
from core.corruptions import FRAME_LOCAL, suites  # noqa: F401 - FRAME_LOCAL importable from here, as before

FRAME_MODES = ("seen", "all")


class ExperimentError(ValueError):
    """A sweep cannot be set up or run; the message is one plain sentence."""


@dataclass(frozen=True)
class ExperimentConfig:
    """What a sweep computes; stored with its results.

    Attributes
    ----------
    checkpoints : tuple of str
        Model SPECs (checkpoint folders, or model files / folders with an ``avlab.json`` sidecar; see
        :func:`core.models.load_model`); empty means the default checkpoint (``checkpoints/DEFAULT``).
    data : str
        A data set's folder in any layout :func:`core.datasets.load_dataset` reads (``manifest.csv``, a folder
        per class, UCF101, Kinetics, VGGSound, DCASE 2021 Task 1B, CREMA-D, MIMII), or a manifest.
    layout : str or None
        Read ``data`` as this layout (:data:`core.datasets.LAYOUTS`); None recognises it.
    fold : int or None
        The official fold whose splits to use, where the layout has folds (UCF101 1-3); None the first.
    split : str or None
        Keep only this split (``test``); None keeps every clip.
    suite : str
        The protocol (:mod:`core.corruptions.suites`): ``avlab`` (the default), ``imagenet-c``,
        ``kinetics-c``, ``read`` or ``avrobustbench``; stored with the results.
    corruptions : tuple of str
        Registry keys; empty means the suite's. With a published suite, a subset of its corruptions
        (any registered corruption with ``avlab``).
    severities : tuple of int
        Severities 1-5 run for each corruption; empty means the suite's (1-5; 5 for ``read``);
        ``clean`` is always included.
    seed : int
        Seed of the corruptions' randomness.
    batch_size : int
        Clips per encoder batch (also the unit a stopped sweep may lose).
    frames : {'seen', 'all'}
        Corrupt only the frames the model samples (frame-local corruptions), or every frame.
    limit : int or None
        Only the first ``limit`` clips (quick looks).
    name : str
        A label for lists; not part of the sweep's identity.
    """

    checkpoints: tuple[str, ...] = ()
    data: str = "sample_data"
    layout: str | None = None
    fold: int | None = None
    split: str | None = None
    suite: str = "avlab"
    corruptions: tuple[str, ...] = ()
    severities: tuple[int, ...] = ()
    seed: int = 0
    batch_size: int = 16
    frames: str = "seen"
    limit: int | None = None
    name: str = ""

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("checkpoints", tuple(str(c) for c in as_list(self.checkpoints)))
        set_("corruptions", tuple(as_list(self.corruptions)))
        set_("severities", tuple(int(s) for s in as_list(self.severities)))
        try:
            protocol = suites.suite(self.suite)
        except suites.SuiteError as exc:
            raise ExperimentError(str(exc)) from None
        if protocol.missing():
            raise ExperimentError(f"The {self.suite} suite needs corruptions this installation lacks: "
                                  f"{', '.join(protocol.missing())}.")
        set_("corruptions", self.corruptions or protocol.corruptions)
        set_("severities", self.severities or protocol.severities)
        if self.suite != "avlab":
            outside = [n for n in self.corruptions if n not in protocol.corruptions]
            outside += [str(s) for s in self.severities if s not in protocol.severities]
            if outside:
                raise ExperimentError(f"The {self.suite} suite runs {', '.join(protocol.corruptions[:3])}, ... at "
                                      f"severities {', '.join(map(str, protocol.severities))}; "
                                      f"{', '.join(outside)} is not part of it.")
        for name in self.corruptions:
            if name not in corruptions.REGISTRY:
                raise ExperimentError(f"There is no corruption called '{name}'; `python -m core.experiments suites` "
                                      f"lists the suites and docs/corruptions.md all {len(corruptions.REGISTRY)} "
                                      f"registered corruptions.")
        if len(set(self.corruptions)) != len(self.corruptions) or len(set(self.severities)) != len(self.severities):
            raise ExperimentError("Each corruption and each severity may be listed only once.")
        if not self.severities or any(not 1 <= s <= 5 for s in self.severities):
            raise ExperimentError(f"Severities must be integers from 1 to 5; got {list(self.severities)}.")
        if self.frames not in FRAME_MODES:
            raise ExperimentError(f"frames must be 'seen' or 'all', not '{self.frames}'.")
        if int(self.batch_size) < 1 or (self.limit is not None and int(self.limit) < 1):
            raise ExperimentError("batch_size and limit must be positive integers.")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ExperimentError(f"The experiment config has unknown field(s) {', '.join(sorted(unknown))}.")
        return cls(**d)

    @classmethod
    def from_file(cls, path: str | Path) -> "ExperimentConfig":
        """Read a JSON or YAML config file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ExperimentError(f"The experiment config '{path}' could not be read ({exc}).") from exc
        if not isinstance(data, dict):
            raise ExperimentError(f"The experiment config '{path}' must hold a mapping of fields.")
        return cls.from_dict(data)


def as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def select_corruptions(spec: str, suite: str = "avlab") -> tuple[str, ...]:
    """``"all"`` (the suite's corruptions), a modality (``audio``, ``video``, ``audiovisual``: the suite's of
    that modality), or comma-separated names."""
    try:
        chosen = suites.suite(suite).corruptions
    except suites.SuiteError as exc:
        raise ExperimentError(str(exc)) from None
    if spec == "all":
        return tuple(chosen)
    if spec in corruptions.MODALITIES:
        return tuple(n for n in chosen if n in corruptions.REGISTRY and corruptions.get(n).modality == spec)
    return tuple(as_list(spec))
