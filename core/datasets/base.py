"""The types every layout loader returns: :class:`Sample`, :class:`Dataset`, :class:`Unreadable`, :class:`DatasetError`.

Also the plain-sentence summary of clips left out (:func:`unreadable_sentence`) and the class filter a
model's classes apply (:func:`split_by_classes`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from core.media import Pair, source_name

MEDIA_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".flv", ".wav", ".mp3", ".flac", ".ogg"})
SPLIT_NAMES = ("train", "val", "test")


class DatasetError(ValueError):
    """A data set could not be read; the message is one plain sentence."""


@dataclass(frozen=True)
class Sample:
    """One clip of a data set. ``segments`` lists ``(start_s, end_s, label)`` for long clips.

    ``audio_path``: set when the clip's sound is kept in a file of its own (DCASE 2021 Task 1B, CREMA-D, a
    manifest's ``audio_path`` column); ``path`` is then the video file, and :attr:`source` the
    :class:`core.media.Pair` that :func:`core.media.load_clip` decodes into one clip.
    """

    path: Path
    label: str
    split: str = ""
    seed: int | None = None
    params: dict = field(default_factory=dict, compare=False)
    segments: tuple[tuple[float, float, str], ...] = ()
    duration: float | None = None
    audio_path: Path | None = None

    @property
    def is_long(self) -> bool:
        return len(self.segments) > 1

    @property
    def source(self) -> Path | Pair:
        """What :func:`core.media.load_clip` decodes: the file, or the pair of video and audio files."""
        return self.path if self.audio_path is None else Pair(self.path, self.audio_path)

    @property
    def name(self) -> str:
        """The clip's name on pages and in reports: ``clip.mp4``, or ``a.flv + a.wav`` for a pair; it also seeds
        the clip's corruptions (:func:`core.corruptions.clip_seed`)."""
        return self.source.name

    @property
    def files(self) -> tuple[Path, ...]:
        """The clip's file, or its video and audio files."""
        return (self.path,) if self.audio_path is None else (self.path, self.audio_path)


@dataclass(frozen=True)
class Unreadable:
    """A clip of a data set that could not be read: its file (or pair of files) and the one-sentence reason.

    Either its file could not be decoded (the :class:`core.media.MediaError` message), or (``from_index``)
    an index file of the data set names it but it cannot be loaded: the file is not on disk, or its label
    is not one of the data set's classes; ``reason`` then names the index file and line. Runs over a data set
    skip it, name it and count it.
    """

    path: Path | Pair
    reason: str
    label: str | None = None
    split: str = ""
    from_index: bool = False

    def to_dict(self) -> dict:
        out = {"path": str(self.path), "reason": self.reason}
        if self.label is not None:
            out["label"] = self.label
        if self.from_index:
            out["from_index"] = True
        return out


@dataclass(frozen=True)
class Dataset:
    """Samples with the sorted list of their class labels, and how they were found.

    ``layout``: the layout the loader used (:data:`core.datasets.LAYOUTS`: ``manifest``, ``folders``,
    ``ucf101``, ...); ``fold``: the official fold whose splits the samples carry, where the layout has folds;
    ``skipped``: clips its index files name that could not be loaded (:class:`Unreadable` with
    ``from_index``), counted and reported with the clips that cannot be decoded.
    """

    root: Path
    samples: tuple[Sample, ...]
    classes: tuple[str, ...]
    layout: str = "manifest"
    fold: int | None = None
    skipped: tuple[Unreadable, ...] = ()

    def __len__(self) -> int:
        return len(self.samples)

    def split(self, name: str) -> "Dataset":
        """The samples of one split (``train``, ``val``, ``test``), same classes; the skipped clips of that split."""
        return dataclasses.replace(self, samples=tuple(s for s in self.samples if s.split == name),
                                   skipped=tuple(u for u in self.skipped if u.split in (name, "")))

    def standard(self) -> "Dataset":
        """Only the clips with a single label (no state change)."""
        return dataclasses.replace(self, samples=tuple(s for s in self.samples if not s.is_long))

    def long(self) -> "Dataset":
        """Only the clips whose state changes (timeline clips)."""
        return dataclasses.replace(self, samples=tuple(s for s in self.samples if s.is_long))

    @property
    def description(self) -> str:
        """``"ucf101, fold 1"``: the layout and fold, for the lines commands print."""
        return self.layout + (f", fold {self.fold}" if self.fold is not None else "")


def unreadable_sentence(skipped) -> str:
    """``"2 clips could not be decoded and were left out: a.mp4 (reason); b.mp4 (reason)."``; "" for none.

    Clips an index file names but that could not be loaded (``from_index``) get a sentence of their own,
    their reasons naming the file and line (the first three, and how many more).

    ``skipped``: :class:`Unreadable` items, or dicts with ``path`` and ``reason`` (as stored and in JSON).
    """
    items = [s if isinstance(s, dict) else s.to_dict() for s in skipped]
    decoded = [s for s in items if not s.get("from_index")]
    listed = [s for s in items if s.get("from_index")]
    parts = []
    if decoded:
        many = len(decoded) != 1
        parts.append(f"{len(decoded)} clip{'s' if many else ''} could not be decoded and "
                     f"{'were' if many else 'was'} left out: "
                     + "; ".join(f"{source_name(s['path'])} ({s['reason'].rstrip('.')})" for s in decoded) + ".")
    if listed:
        many = len(listed) != 1
        more = f"; and {len(listed) - 3} more" if len(listed) > 3 else ""
        parts.append(f"{len(listed)} clip{'s' if many else ''} named in the data set's index files "
                     f"{'were' if many else 'was'} left out: "
                     + "; ".join(s["reason"].rstrip(".") for s in listed[:3]) + more + ".")
    return " ".join(parts)


def split_by_classes(samples, classes) -> tuple[list[Sample], dict[str, int]]:
    """The samples whose label is one of ``classes``, and per other label how many samples carry it
    (a model cannot be right about a class it lacks: such clips are left out and counted, not scored)."""
    known = set(classes)
    kept = [s for s in samples if s.label in known]
    other = sorted({s.label for s in samples} - known)
    return kept, {label: sum(s.label == label for s in samples) for label in other}


def classes_of(samples) -> tuple[str, ...]:
    """The sorted class labels of ``samples``: a timeline clip's own label names its change ("a->b"), its
    segments carry the classes."""
    labels = {s.label for s in samples if not s.is_long} | {seg[2] for s in samples for seg in s.segments}
    return tuple(sorted(labels))


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` where it lies inside it (for sentences naming index files), else as given."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def listed_problem(root: Path, index: Path, line: int | None, what: str, *, path, label: str | None = None,
                   split: str = "") -> Unreadable:
    """A clip an index file names that cannot be loaded: ``"<index> line <n> <what>."`` (``what``: e.g.
    ``"names ApplyEyeMakeup/v_x.avi, which is not on disk"``)."""
    where = relative(index, root) + (f" line {line}" if line is not None else "")
    return Unreadable(path, f"{where} {what}.", label=label, split=split, from_index=True)
