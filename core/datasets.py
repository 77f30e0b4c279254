"""Data sets of clips: a ``manifest.csv`` or a folder per class.

Two layouts are understood, so a user can point the project at their own clips:

* a folder with ``manifest.csv`` (columns ``path,label`` and optionally ``split``,
  ``seed``, ``params``, ``segments``, ``duration``; paths relative to the manifest);
* a folder per class (the UCF101 layout ``ROOT/<label>/<clip>``), optionally one
  level below split folders (the Kinetics layout ``ROOT/<split>/<label>/<clip>``).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

MEDIA_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".wav", ".mp3", ".flac", ".ogg"})
SPLIT_NAMES = ("train", "val", "test")
MANIFEST = "manifest.csv"


class DatasetError(ValueError):
    """A data set could not be read; the message is one plain sentence."""


@dataclass(frozen=True)
class Sample:
    """One clip of a data set. ``segments`` lists ``(start_s, end_s, label)`` for long clips."""

    path: Path
    label: str
    split: str = ""
    seed: int | None = None
    params: dict = field(default_factory=dict, compare=False)
    segments: tuple[tuple[float, float, str], ...] = ()
    duration: float | None = None

    @property
    def is_long(self) -> bool:
        return len(self.segments) > 1


@dataclass(frozen=True)
class Dataset:
    """Samples with the sorted list of their class labels."""

    root: Path
    samples: tuple[Sample, ...]
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.samples)

    def split(self, name: str) -> "Dataset":
        """The samples of one split (``train``, ``val``, ``test``), same classes."""
        return Dataset(self.root, tuple(s for s in self.samples if s.split == name), self.classes)

    def standard(self) -> "Dataset":
        """Only the clips with a single label (no state change)."""
        return Dataset(self.root, tuple(s for s in self.samples if not s.is_long), self.classes)

    def long(self) -> "Dataset":
        """Only the clips whose state changes (timeline clips)."""
        return Dataset(self.root, tuple(s for s in self.samples if s.is_long), self.classes)


def load_dataset(source: str | Path, *, split: str | None = None, check_files: bool = True) -> Dataset:
    """Read a data set from a manifest file, a folder holding one, or a folder per class.

    Parameters
    ----------
    source : path
        ``manifest.csv``, a folder containing it, or a folder per class.
    split : str, optional
        Keep only this split.
    check_files : bool
        Refuse a manifest that names files which do not exist.
    """
    source = Path(source)
    if source.is_file():
        dataset = _from_manifest(source, check_files)
    elif not source.is_dir():
        raise DatasetError(f"No data set was found at '{source}'.")
    elif (source / MANIFEST).is_file():
        dataset = _from_manifest(source / MANIFEST, check_files)
    else:
        dataset = _from_folders(source)
    if split is not None:
        dataset = dataset.split(split)
        if not dataset.samples:
            raise DatasetError(f"The data set at '{source}' has no clips in the '{split}' split.")
    return dataset


def _from_manifest(path: Path, check_files: bool) -> Dataset:
    try:
        # utf-8-sig: spreadsheet programs save a byte-order mark, which would otherwise become part of
        # the first column's name ("\ufeffpath"); csv handles CRLF line ends given newline="".
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            # Header cells as a spreadsheet may pad them (" label"); rows it leaves empty (",,") are no clips.
            reader.fieldnames = [(name or "").strip() for name in reader.fieldnames or ()]
            rows = [row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"The manifest '{path.name}' could not be read: {exc}.") from exc
    if not rows:
        raise DatasetError(f"The manifest '{path}' lists no clips.")
    missing = {"path", "label"} - set(rows[0])
    if missing:
        raise DatasetError(f"The manifest '{path.name}' needs the columns path and label; it lacks {', '.join(sorted(missing))}.")
    samples = tuple(_sample_from_row(row, path.parent, i + 2) for i, row in enumerate(rows))
    if check_files:
        absent = [s.path for s in samples if not s.path.is_file()]
        if absent:
            raise DatasetError(f"The manifest names {len(absent)} missing file(s), e.g. '{absent[0]}'.")
    return Dataset(path.parent, samples, _classes(samples))


def _sample_from_row(row: dict, root: Path, line: int) -> Sample:
    if not row.get("path") or not row.get("label"):
        raise DatasetError(f"Line {line} of the manifest has no path or no label.")
    try:
        params = json.loads(row["params"]) if row.get("params") else {}
        segments = tuple((float(a), float(b), str(c)) for a, b, c in json.loads(row["segments"])) if row.get("segments") else ()
        seed = int(row["seed"]) if row.get("seed") not in (None, "") else None
        duration = float(row["duration"]) if row.get("duration") not in (None, "") else None
    except (ValueError, TypeError) as exc:
        raise DatasetError(f"Line {line} of the manifest has a malformed value: {exc}.") from exc
    path = Path(row["path"])
    return Sample(path=path if path.is_absolute() else root / path, label=row["label"],
                  split=row.get("split") or "", seed=seed, params=params, segments=segments,
                  duration=duration)


def _from_folders(root: Path) -> Dataset:
    split_dirs = [root / s for s in SPLIT_NAMES if (root / s).is_dir()]
    layout = [(d, d.name) for d in split_dirs] or [(root, "")]
    samples = []
    for base, split in layout:
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for clip in sorted(class_dir.iterdir()):
                if clip.suffix.lower() in MEDIA_SUFFIXES:
                    samples.append(Sample(path=clip, label=class_dir.name, split=split))
    if not samples:
        raise DatasetError(f"'{root}' has no manifest.csv and no class folders with audio or video files.")
    return Dataset(root, tuple(samples), _classes(samples))


@dataclass(frozen=True)
class Unreadable:
    """A clip of a data set that could not be decoded: its file and the one-sentence reason (the
    :class:`core.media.MediaError` message). Runs over a data set skip it, name it and count it."""

    path: Path
    reason: str

    def to_dict(self) -> dict:
        return {"path": str(self.path), "reason": self.reason}


def unreadable_sentence(skipped) -> str:
    """``"2 clips could not be decoded and were left out: a.mp4 (reason); b.mp4 (reason)."``; "" for none.

    ``skipped``: :class:`Unreadable` items, or dicts with ``path`` and ``reason`` (as stored and in JSON).
    """
    items = [s if isinstance(s, dict) else s.to_dict() for s in skipped]
    if not items:
        return ""
    many = len(items) != 1
    return (f"{len(items)} clip{'s' if many else ''} could not be decoded and {'were' if many else 'was'} left out: "
            + "; ".join(f"{Path(s['path']).name} ({s['reason'].rstrip('.')})" for s in items) + ".")


def split_by_classes(samples, classes) -> tuple[list[Sample], dict[str, int]]:
    """The samples whose label is one of ``classes``, and per other label how many samples carry it
    (a model cannot be right about a class it lacks: such clips are left out and counted, not scored)."""
    known = set(classes)
    kept = [s for s in samples if s.label in known]
    other = sorted({s.label for s in samples} - known)
    return kept, {label: sum(s.label == label for s in samples) for label in other}


def _classes(samples) -> tuple[str, ...]:
    # A timeline clip's own label names its change ("a->b"); its segments carry the classes.
    labels = {s.label for s in samples if not s.is_long} | {seg[2] for s in samples for seg in s.segments}
    return tuple(sorted(labels))
