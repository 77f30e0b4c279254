"""Data sets that keep each clip's audio and video in separate files, paired into one clip by the loader.

* ``dcase2021-1b``: TAU Urban Audio-Visual Scenes 2021, the data of DCASE 2021 Task 1 Subtask B
  (``TAU-urban-audio-visual-scenes-2021-development``, zenodo 4477542). ``meta.csv`` is tab-separated with the
  header ``filename_audio  filename_video  scene_label  identifier`` (paths relative to the data set's folder,
  ``audio/<name>.wav`` and ``video/<name>.mp4``); ``evaluation_setup/fold1_train.csv`` and
  ``fold1_evaluate.csv`` hold ``filename_audio  filename_video  scene_label`` for the one official fold
  (``fold1_test.csv`` lists the same clips without labels and is not read). Sources: ``dcase_util``
  (``DCASE-REPO/dcase_util``, ``dcase_util/datasets/tut.py``, ``TAUUrbanAudioVisualScenes_2021_DevelopmentSet``:
  ``meta_filename 'meta.csv'``, ``crossvalidation_folds 1``, ``evaluation_setup_file_extension 'csv'``);
  PaddleSpeech's ``UrbanAudioVisualScenes`` loader (the column names, tab-separated, header skipped) and
  ``Machine-Listeners-Valencia/DCASE2021-Task1b`` (``src/extract_frames.py``, ``src/get_spectrograms.py``:
  ``pd.read_csv(... 'evaluation_setup/fold1_train.csv', sep='\\t')``, columns ``filename_video``,
  ``filename_audio``, ``scene_label``). ``fold1_train`` is the ``train`` split, ``fold1_evaluate`` the
  ``test`` split (``--fold 1``).
* ``crema-d``: CREMA-D (``CheyneyComputerScience/CREMA-D``): ``VideoFlash/<name>.flv`` (the videos shown to
  raters) and ``AudioWAV/<name>.wav`` (the sound converted from them), named
  ``<actor>_<sentence>_<emotion>_<level>`` (e.g. ``1001_DFA_ANG_XX``); the label is the third field, one of
  ``ANG DIS FEA HAP NEU SAD`` (the six emotions the repository's ``tabulatedVotes.csv`` counts as
  A, D, F, H, N, S). CREMA-D has no official split: every clip has the split "". A copy with only
  ``AudioWAV/`` loads as audio-only clips.

Both files of a pair must exist; decoding checks that their durations agree (:func:`core.media.load_clip`).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from .base import MEDIA_SUFFIXES, Dataset, DatasetError, Sample, listed_problem, relative

META = "meta.csv"
SETUP = "evaluation_setup"
DCASE_FOLDS = (1,)
DCASE_SPLITS = {"train": "train", "evaluate": "test"}
_PAIR_COLUMNS = {"filename_audio", "filename_video"}

CREMA_AUDIO, CREMA_VIDEO = "AudioWAV", "VideoFlash"
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
_CREMA_NAME = re.compile(r"^(\d+)_([A-Z]+)_([A-Z]+)_([A-Z]+)$")


# ----------------------------------------------------------------------------- DCASE 2021 Task 1B

def dcase_folder(root: Path) -> Path | None:
    """The folder holding ``meta.csv`` or ``evaluation_setup/`` with the audio-visual columns: the root or a
    folder directly below it."""
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for index in (folder / META, folder / SETUP / "fold1_train.csv"):
            if index.is_file() and _PAIR_COLUMNS <= set(_tsv_header(index)):
                return folder
    return None


def recognise_dcase(root: Path) -> bool:
    return dcase_folder(root) is not None


def load_dcase(root: Path, *, fold: int | None = None, **_) -> Dataset:
    """TAU Urban Audio-Visual Scenes 2021 at ``root``: fold 1's train and evaluate lists (splits ``train`` and
    ``test``), or every clip of ``meta.csv`` (split "") where there is no ``evaluation_setup``.

    A line naming a file that is not on disk, or a scene label ``meta.csv`` does not have (or gives the clip
    otherwise), is left out with a sentence naming the file and line. Raises DatasetError when nothing loads.
    """
    folder = dcase_folder(root)
    if folder is None:
        raise DatasetError(f"'{root}' has no {META} or {SETUP}/ with the columns filename_audio and filename_video.")
    if fold is not None and fold not in DCASE_FOLDS:
        raise DatasetError(f"DCASE 2021 Task 1B has one official fold (fold1); there is no fold {fold}.")
    meta_rows = _tsv(folder / META) if (folder / META).is_file() else []
    known = {(row.get("filename_audio") or "").strip(): (row.get("scene_label") or "").strip() for _, row in meta_rows}
    places = {(row.get("filename_audio") or "").strip(): (row.get("identifier") or "").strip() for _, row in meta_rows}
    lists = {split: folder / SETUP / f"fold1_{name}.csv" for name, split in DCASE_SPLITS.items()}
    lists = {split: path for split, path in lists.items() if path.is_file()}
    if fold is not None and not lists:
        raise DatasetError(f"'{folder}' has no {SETUP}/fold1_train.csv or fold1_evaluate.csv for fold 1.")
    sources = [(path, split, _tsv(path)) for split, path in lists.items()] or [(folder / META, "", meta_rows)]
    labels = set(known.values()) - {""}
    samples, skipped = [], []
    for index, split, rows in sources:
        for line, row in rows:
            audio_name, video_name = (row.get("filename_audio") or "").strip(), (row.get("filename_video") or "").strip()
            label = (row.get("scene_label") or "").strip()
            audio, video = _under(folder, root, audio_name), _under(folder, root, video_name)
            if not audio_name or not video_name or not label:
                skipped.append(listed_problem(root, index, line, "lacks filename_audio, filename_video or scene_label",
                                              path=video, label=label or None, split=split))
            elif labels and label not in labels:
                skipped.append(listed_problem(root, index, line, f"gives {video_name} the scene label '{label}', "
                                              f"which {META} does not have", path=video, label=label, split=split))
            elif known and known.get(audio_name, label) != label:
                skipped.append(listed_problem(root, index, line, f"gives {audio_name} the scene label '{label}', "
                                              f"{META} '{known[audio_name]}'", path=video, label=label, split=split))
            elif not video.is_file() or not audio.is_file():
                absent = " and ".join(n for n, p in ((video_name, video), (audio_name, audio)) if not p.is_file())
                skipped.append(listed_problem(root, index, line, f"names {absent}, which {'is' if ' and ' not in absent else 'are'} "
                                              "not on disk", path=video, label=label, split=split))
            else:
                identifier = places.get(audio_name) or (row.get("identifier") or "").strip()
                samples.append(Sample(path=video, audio_path=audio, label=label, split=split,
                                      params={"identifier": identifier} if identifier else {}))
    if not samples:
        raise DatasetError("None of the clips TAU Urban Audio-Visual Scenes lists has both files on disk"
                           + (f"; e.g. {skipped[0].reason}" if skipped else "."))
    return Dataset(root, tuple(samples), tuple(sorted(labels or {s.label for s in samples})), layout="dcase2021-1b",
                   fold=1 if lists else None, skipped=tuple(skipped))


def _under(folder: Path, root: Path, name: str) -> Path:
    path = folder / name
    return path if path.exists() or folder == root else root / name if (root / name).exists() else path


def _tsv_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [c.strip() for c in f.readline().split("\t")]
    except (OSError, UnicodeDecodeError):
        return []


def _tsv(path: Path) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, delimiter="\t")
            reader.fieldnames = [(n or "").strip() for n in reader.fieldnames or ()]
            return [(reader.line_num, row) for row in reader if any((v or "").strip() for v in row.values()
                                                                    if isinstance(v, str))]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"'{path.name}' could not be read: {exc}.") from exc


# ----------------------------------------------------------------------------- CREMA-D

def recognise_crema(root: Path) -> bool:
    for name in (CREMA_AUDIO, CREMA_VIDEO):
        folder = root / name
        if folder.is_dir() and any(_CREMA_NAME.match(p.stem) for p in folder.iterdir()
                                   if p.suffix.lower() in MEDIA_SUFFIXES):
            return True
    return False


def load_crema(root: Path, **_) -> Dataset:
    """CREMA-D at ``root``: each name in ``AudioWAV/`` paired with the same name in ``VideoFlash/``.

    A name whose other file is missing (when both folders exist), or whose third field is not one of
    :data:`EMOTIONS`, is left out with a sentence naming the file. Raises DatasetError when nothing loads.
    """
    folders = {kind: root / name for kind, name in (("audio", CREMA_AUDIO), ("video", CREMA_VIDEO))
               if (root / name).is_dir()}
    files = {kind: {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in MEDIA_SUFFIXES}
             for kind, folder in folders.items()}
    names = sorted(set().union(*(f.keys() for f in files.values()))) if files else []
    samples, skipped = [], []
    for name in names:
        audio, video = files.get("audio", {}).get(name), files.get("video", {}).get(name)
        shown = video or audio
        match = _CREMA_NAME.match(name)
        if match is None or match[3] not in EMOTIONS:
            found = f"its third field '{match[3]}'" if match else "its name"
            skipped.append(listed_problem(root, shown, None, f"does not follow <actor>_<sentence>_<emotion>_<level>: "
                                          f"{found} is not one of {', '.join(EMOTIONS)}", path=shown))
            continue
        if len(folders) == 2 and (audio is None or video is None):
            have, lack = ("audio", "video") if video is None else ("video", "audio")
            skipped.append(listed_problem(root, shown, None, f"has no {lack} file of the same name in "
                                          f"{relative(folders[lack], root)}/", path=shown, label=match[3]))
            continue
        params = {"actor": match[1], "sentence": match[2], "level": match[4]}
        if audio is not None and video is not None:
            samples.append(Sample(path=video, audio_path=audio, label=match[3], params=params))
        else:
            samples.append(Sample(path=shown, label=match[3], params=params))
    if not samples:
        raise DatasetError(f"'{root}' has no CREMA-D clips in {CREMA_AUDIO}/ and {CREMA_VIDEO}/"
                           + (f"; e.g. {skipped[0].reason}" if skipped else "."))
    return Dataset(root, tuple(samples), EMOTIONS, layout="crema-d", skipped=tuple(skipped))
