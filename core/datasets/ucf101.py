"""UCF101 as it ships: ``UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` with the official split lists.

The lists come in ``UCF101TrainTestSplits-RecognitionTask.zip`` as ``ucfTrainTestlist/`` (torchvision's
``UCF101(root, annotation_path, fold)``, ``torchvision/datasets/ucf101.py``, reads the same files):

* ``classInd.txt``: one class a line, ``"1 ApplyEyeMakeup"`` (1-based index, space, class name);
* ``trainlist0N.txt``: ``"ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"`` (the clip's path below the video
  folder with ``/``, space, its class index);
* ``testlist0N.txt``: ``"ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"`` (no index: the class is the folder).

N is the fold, 1-3 (the three official splits; torchvision's ``fold``). Samples of fold N carry the split
``train`` or ``test``; ``params`` holds the clip's group and clip numbers (``gXX``, ``cYY``: clips of one group
come from one long video, which is why the official splits keep groups together). The class list may be cut
down to a subset (``classes``), e.g. the 51 classes with sound some audio-visual work calls UCF51.
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import Dataset, DatasetError, Sample, listed_problem, relative

LISTS = "ucfTrainTestlist"
CLASS_INDEX = "classInd.txt"
FOLDS = (1, 2, 3)
_GROUP = re.compile(r"_g(\d+)_c(\d+)", re.IGNORECASE)


def lists_folder(root: Path) -> Path | None:
    """The folder holding ``classInd.txt``: the data set's root, ``ucfTrainTestlist/`` or another folder up to
    two levels below the root."""
    candidates = [root, root / LISTS]
    children = sorted(p for p in root.iterdir() if p.is_dir())
    candidates += children + [g for c in children for g in sorted(c.iterdir()) if g.is_dir()]
    return next((d for d in candidates if (d / CLASS_INDEX).is_file()), None)


def recognise(root: Path) -> bool:
    return lists_folder(root) is not None


def load(root: Path, *, fold: int | None = None, **_) -> Dataset:
    """Fold ``fold`` (default 1) of UCF101 at ``root``. A list line naming a clip that is not on disk, or a class
    that ``classInd.txt`` lacks, is left out with a sentence naming the file and line (:attr:`Dataset.skipped`).

    Raises DatasetError without ``classInd.txt`` or a fold's lists, for a malformed ``classInd.txt`` line, or
    when no listed clip is on disk.
    """
    fold = 1 if fold is None else fold
    if fold not in FOLDS:
        raise DatasetError(f"UCF101 has the official folds 1, 2 and 3; there is no fold {fold}.")
    lists = lists_folder(root)
    if lists is None:
        raise DatasetError(f"'{root}' has no {LISTS}/{CLASS_INDEX}, so it is not UCF101 as it ships.")
    names = _class_index(lists / CLASS_INDEX, root)
    files = {split: lists / f"{split}list{fold:02d}.txt" for split in ("train", "test")}
    absent = [relative(f, root) for f in files.values() if not f.is_file()]
    if absent:
        raise DatasetError(f"UCF101 fold {fold} needs {' and '.join(absent)}, which {'is' if len(absent) == 1 else 'are'} "
                           "not on disk.")
    entries = {split: _entries(path) for split, path in files.items()}
    first = next((e[1] for rows in entries.values() for e in rows), "")
    videos = _video_folder(root, first.split("/")[0])
    samples, skipped = [], []
    for split, rows in entries.items():
        for line, clip, index in rows:
            folder = clip.split("/")[0]
            path = videos / clip
            if folder not in names.values():
                skipped.append(listed_problem(root, files[split], line, f"names {clip}, whose class {folder} is not "
                                              f"in {CLASS_INDEX}", path=path, label=folder, split=split))
            elif index is not None and names.get(index) != folder:
                given = f"{index} ({names[index]})" if index in names else f"{index}, which {CLASS_INDEX} lacks"
                skipped.append(listed_problem(root, files[split], line, f"gives {clip} the class {given}",
                                              path=path, label=folder, split=split))
            elif not path.is_file():
                skipped.append(listed_problem(root, files[split], line, f"names {clip}, which is not on disk",
                                              path=path, label=folder, split=split))
            else:
                group = _GROUP.search(clip)
                params = {"group": int(group[1]), "clip": int(group[2])} if group else {}
                samples.append(Sample(path=path, label=folder, split=split, params=params))
    if not samples:
        raise DatasetError(f"None of the clips the UCF101 fold {fold} lists is on disk below '{videos}'"
                           + (f"; e.g. {skipped[0].reason}" if skipped else "."))
    return Dataset(root, tuple(samples), tuple(sorted(names.values())), layout="ucf101", fold=fold,
                   skipped=tuple(skipped))


def _class_index(path: Path, root: Path) -> dict[int, str]:
    names = {}
    for line, text in _lines(path):
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{relative(path, root)} line {line} should read '<index> <class>' (e.g. "
                               f"'1 ApplyEyeMakeup'), not '{text}'.")
        names[int(parts[0])] = parts[1]
    if not names:
        raise DatasetError(f"{relative(path, root)} lists no classes.")
    return names


def _entries(path: Path) -> list[tuple[int, str, int | None]]:
    """``(line, clip path, class index or None)`` of a train or test list."""
    out = []
    for line, text in _lines(path):
        parts = text.split()
        index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        out.append((line, parts[0].replace("\\", "/"), index))
    return out


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"'{path.name}' could not be read: {exc}.") from exc
    return [(i + 1, t.strip()) for i, t in enumerate(text.splitlines()) if t.strip()]


def _video_folder(root: Path, first_class: str) -> Path:
    """Where the class folders are: the root, or the folder below it (``UCF-101/``) holding the first listed class."""
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if first_class and (base / first_class).is_dir():
            return base
    return root / "UCF-101" if (root / "UCF-101").is_dir() else root
