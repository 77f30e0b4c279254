"""Data sets of YouTube clips, as their annotation files list them and the common downloaders name them.

* ``kinetics``: the annotation CSVs of Kinetics-400/600/700 (``train.csv``, ``val.csv`` or ``validate.csv``,
  ``test.csv``, in the data set's folder or its ``annotations/``; header ``label,youtube_id,time_start,
  time_end,split`` and, in some releases, ``is_cc``; test files of some releases have no ``label``). The
  downloaders save a clip as ``{youtube_id}_{time_start:06d}_{time_end:06d}.mp4``: ActivityNet's crawler
  (``activitynet/ActivityNet``, ``Crawler/Kinetics/download.py``, ``construct_video_filename``, trim format
  ``%06d``) in a folder per label, the CVDF archives (``cvdfoundation/kinetics-dataset``) in ``train/``,
  ``val/``, ``test/``. Clips are found by that name anywhere below the folder, so either arrangement loads.
* ``vggsound``: ``vggsound.csv`` (``hche11/VGGSound``, ``data/vggsound.csv``): no header, one clip a line,
  ``youtube_id,start_seconds,label,split`` (e.g. ``---g-f_I2yQ,1,people marching,test``; labels with commas
  are quoted); clips named ``{youtube_id}_{start_seconds:06d}.mp4`` as in that repository's own lists
  (``data/test.csv``: ``glLQrEijrKg_000300.mp4``).

The clip-name pattern is configurable (``pattern``, a Python format string over the row's fields: Kinetics
``youtube_id``, ``time_start``, ``time_end`` (whole seconds), ``label``, ``split``; VGGSound ``youtube_id``,
``start_seconds``, ``label``, ``split``), and the classes can be cut down to a subset (``classes``), e.g.
Kinetics-Sounds, the Kinetics classes with sound (Arandjelović and Zisserman, ICCV 2017), from a list.
A row whose clip is not on disk (deleted videos are common) is left out with a sentence naming the file and
line; rows without a label (unlabelled test files) are not clips to score and are passed over.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .base import MEDIA_SUFFIXES, Dataset, DatasetError, Sample, listed_problem, relative

KINETICS_PATTERN = "{youtube_id}_{time_start:06d}_{time_end:06d}"
VGGSOUND_PATTERN = "{youtube_id}_{start_seconds:06d}"
VGGSOUND_CSV = "vggsound.csv"
_KINETICS_COLUMNS = {"youtube_id", "time_start", "time_end"}
_SPLITS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
           "validation": "val", "test": "test", "testing": "test"}


# ----------------------------------------------------------------------------- kinetics

def kinetics_annotations(root: Path) -> list[Path]:
    """The Kinetics annotation CSVs in ``root`` or ``root/annotations`` (recognised by their header)."""
    found = []
    for folder in (root, root / "annotations"):
        if folder.is_dir():
            found += [p for p in sorted(folder.glob("*.csv")) if _KINETICS_COLUMNS <= set(_header(p))]
    return found


def recognise_kinetics(root: Path) -> bool:
    return bool(kinetics_annotations(root))


def load_kinetics(root: Path, *, pattern: str | None = None, **_) -> Dataset:
    """Kinetics at ``root``: every labelled row of its annotation CSVs whose clip is on disk.

    Raises DatasetError without annotation CSVs, for a bad pattern, or when no listed clip is on disk.
    """
    pattern = pattern or KINETICS_PATTERN
    files = kinetics_annotations(root)
    if not files:
        raise DatasetError(f"'{root}' has no Kinetics annotation CSV (header label,youtube_id,time_start,time_end,split).")
    rows = []
    for path in files:
        for line, row in _dict_rows(path):
            split = _SPLITS.get((row.get("split") or path.stem).strip().lower(), "")
            rows.append((path, line, row, split))
    return _load_listed(root, "kinetics", rows, pattern, ("time_start", "time_end"))


# ----------------------------------------------------------------------------- vggsound

def vggsound_csv(root: Path) -> Path | None:
    """``vggsound.csv`` in ``root`` or a folder directly below it."""
    candidates = [root / VGGSOUND_CSV] + [p / VGGSOUND_CSV for p in sorted(root.iterdir()) if p.is_dir()]
    return next((p for p in candidates if p.is_file()), None)


def recognise_vggsound(root: Path) -> bool:
    return vggsound_csv(root) is not None


def load_vggsound(root: Path, *, pattern: str | None = None, **_) -> Dataset:
    """VGGSound at ``root``: every row of ``vggsound.csv`` whose clip is on disk.

    Raises DatasetError for a bad pattern or when no listed clip is on disk.
    """
    path = vggsound_csv(root)
    if path is None:
        raise DatasetError(f"'{root}' has no {VGGSOUND_CSV}.")
    rows = []
    for line, cells in _rows(path):
        if line == 1 and len(cells) > 1 and not cells[1].strip().lstrip("-").replace(".", "", 1).isdigit():
            continue  # a header some copies add
        if len(cells) < 3:
            rows.append((path, line, None, ""))
            continue
        row = {"youtube_id": cells[0], "start_seconds": cells[1], "label": cells[2],
               "split": cells[3] if len(cells) > 3 else ""}
        rows.append((path, line, row, _SPLITS.get(row["split"].strip().lower(), "")))
    return _load_listed(root, "vggsound", rows, pattern or VGGSOUND_PATTERN, ("start_seconds",))


# ----------------------------------------------------------------------------- shared

def _load_listed(root: Path, layout: str, rows, pattern: str, seconds: tuple[str, ...]) -> Dataset:
    on_disk = media_by_stem(root)
    samples, skipped, labels = [], [], set()
    for path, line, row, split in rows:
        if row is None:
            skipped.append(listed_problem(root, path, line, "is not a youtube_id,start_seconds,label,split row",
                                          path=path, split=split))
            continue
        label = (row.get("label") or "").strip()
        if not label:
            continue
        labels.add(label)
        try:
            fields = {**{k: (v or "").strip() for k, v in row.items() if isinstance(k, str)},
                      **{k: int(float(row[k])) for k in seconds}, "label": label, "split": split}
        except (TypeError, ValueError):
            skipped.append(listed_problem(root, path, line, f"has {', '.join(seconds)} "
                                          f"'{', '.join(str(row.get(k)) for k in seconds)}', not a number of seconds",
                                          path=path, label=label, split=split))
            continue
        try:
            name = pattern.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise DatasetError(f"The clip-name pattern '{pattern}' cannot be filled from {relative(path, root)} "
                               f"(it may use {', '.join(sorted(fields))}): {exc}.") from None
        stem = Path(name).stem if Path(name).suffix.lower() in MEDIA_SUFFIXES else name
        clip = on_disk.get(stem)
        if clip is None:
            skipped.append(listed_problem(root, path, line, f"names {fields['youtube_id']} ({stem}), which is not on "
                                          "disk", path=root / stem, label=label, split=split))
            continue
        samples.append(Sample(path=clip, label=label, split=split,
                              params={k: fields[k] for k in ("youtube_id", *seconds)}))
    if not samples:
        raise DatasetError(f"None of the clips the {layout} index lists is on disk below '{root}' under the names "
                           f"'{pattern}'" + (f"; e.g. {skipped[0].reason}" if skipped else "."))
    return Dataset(root, tuple(samples), tuple(sorted(labels)), layout=layout, skipped=tuple(skipped))


def media_by_stem(root: Path) -> dict[str, Path]:
    """Every media file below ``root`` by its name without suffix (the first in sorted order on a clash)."""
    found: dict[str, Path] = {}
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file():
            found.setdefault(p.stem, p)
    return found


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [c.strip().lower() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _dict_rows(path: Path) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            reader.fieldnames = [(n or "").strip().lower() for n in reader.fieldnames or ()]
            return [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"'{path.name}' could not be read: {exc}.") from exc


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"'{path.name}' could not be read: {exc}.") from exc
