"""avlab's own layouts: a ``manifest.csv``, or a folder per class.

* a folder with ``manifest.csv`` (columns ``path,label`` and optionally ``split``, ``seed``, ``params``,
  ``segments``, ``duration``; paths relative to the manifest). A clip kept as two files names them in the
  optional ``video_path`` and ``audio_path`` columns (``path`` may then be empty): the picture comes from the
  one, the sound from the other (:class:`core.media.Pair`);
* a folder per class (``ROOT/<label>/<clip>``), optionally one level below split folders
  (``ROOT/<split>/<label>/<clip>``).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from .base import MEDIA_SUFFIXES, SPLIT_NAMES, Dataset, DatasetError, Sample, classes_of

MANIFEST = "manifest.csv"


def recognise_manifest(root: Path) -> bool:
    return (root / MANIFEST).is_file()


def load_manifest(path: Path, check_files: bool = True) -> Dataset:
    """The data set a manifest file lists (``path``: the file, or a folder holding ``manifest.csv``).

    Raises DatasetError for an unreadable manifest, a row without a file or label, a malformed value, or
    (``check_files``) files that do not exist.
    """
    path = path / MANIFEST if path.is_dir() else path
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
    columns = set(rows[0])
    missing = {"label"} - columns
    if not columns & {"path", "video_path", "audio_path"}:
        missing.add("path")
    if missing:
        raise DatasetError(f"The manifest '{path.name}' needs the columns path and label; it lacks {', '.join(sorted(missing))}.")
    samples = tuple(_sample_from_row(row, path.parent, i + 2) for i, row in enumerate(rows))
    if check_files:
        absent = [f for s in samples for f in s.files if not f.is_file()]
        if absent:
            raise DatasetError(f"The manifest names {len(absent)} missing file(s), e.g. '{absent[0]}'.")
    return Dataset(path.parent, samples, classes_of(samples), layout="manifest")


def _sample_from_row(row: dict, root: Path, line: int) -> Sample:
    video = (row.get("path") or "").strip() or (row.get("video_path") or "").strip()
    audio = (row.get("audio_path") or "").strip()
    if not video and audio:  # only a sound file: one audio-only clip
        video, audio = audio, ""
    if not video or not row.get("label"):
        raise DatasetError(f"Line {line} of the manifest has no path or no label.")
    try:
        params = json.loads(row["params"]) if row.get("params") else {}
        segments = tuple((float(a), float(b), str(c)) for a, b, c in json.loads(row["segments"])) if row.get("segments") else ()
        seed = int(row["seed"]) if row.get("seed") not in (None, "") else None
        duration = float(row["duration"]) if row.get("duration") not in (None, "") else None
    except (ValueError, TypeError) as exc:
        raise DatasetError(f"Line {line} of the manifest has a malformed value: {exc}.") from exc
    return Sample(path=_under(root, video), label=row["label"], split=row.get("split") or "", seed=seed,
                  params=params, segments=segments, duration=duration,
                  audio_path=_under(root, audio) if audio else None)


def _under(root: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else root / path


def recognise_folders(root: Path) -> bool:
    return any(p.is_dir() and not p.name.startswith(".") for p in root.iterdir())


def load_folders(root: Path) -> Dataset:
    """A folder per class, optionally below ``train``/``val``/``test`` folders. Raises DatasetError when there
    are no class folders with media files."""
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
    return Dataset(root, tuple(samples), classes_of(samples), layout="folders")
