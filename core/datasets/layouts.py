"""Which layout a data set folder has, and :func:`load_dataset`, the one way to read any of them.

Each layout is recognised by its index files (:data:`LAYOUTS`, tried in that order; the first that
recognises the folder is used, and ``--layout NAME`` forces one). Options a folder needs beyond its index
files (a clip-name pattern, a class subset, the layout itself) may sit beside them in ``avlab-data.json``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import manifest, mimii, paired, ucf101, youtube
from .base import Dataset, DatasetError

OPTIONS_FILE = "avlab-data.json"


@dataclass(frozen=True)
class Layout:
    """A data set layout: how it is recognised, loaded, and which official folds it has (empty: none)."""

    name: str
    title: str
    recognise: Callable[[Path], bool]
    load: Callable[..., Dataset]
    folds: tuple[int, ...] = ()
    options: tuple[str, ...] = ()  # keyword options of ``load`` beyond ``fold``


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("manifest", "manifest.csv (path,label[,split], optional audio_path, video_path)",
           manifest.recognise_manifest, lambda root, **_: manifest.load_manifest(root)),
    Layout("ucf101", "UCF101: Class/v_Class_gXX_cYY.avi with ucfTrainTestlist/", ucf101.recognise, ucf101.load,
           folds=ucf101.FOLDS),
    Layout("dcase2021-1b", "TAU Urban Audio-Visual Scenes 2021 (DCASE 2021 Task 1B): meta.csv, evaluation_setup/",
           paired.recognise_dcase, paired.load_dcase, folds=paired.DCASE_FOLDS),
    Layout("vggsound", "VGGSound: vggsound.csv, clips {youtube_id}_{start_seconds:06d}", youtube.recognise_vggsound,
           youtube.load_vggsound, options=("pattern",)),
    Layout("kinetics", "Kinetics annotation CSVs, clips {youtube_id}_{time_start:06d}_{time_end:06d}",
           youtube.recognise_kinetics, youtube.load_kinetics, options=("pattern",)),
    Layout("crema-d", "CREMA-D: VideoFlash/*.flv with AudioWAV/*.wav", paired.recognise_crema, paired.load_crema),
    Layout("mimii", "MIMII: <snr>_dB_<machine>/<machine>/id_XX/{normal,abnormal}/*.wav", mimii.recognise, mimii.load),
    Layout("folders", "a folder per class, optionally below train/ val/ test/", manifest.recognise_folders,
           lambda root, **_: manifest.load_folders(root)),
)}


def recognise(root: str | Path) -> str | None:
    """The name of the first layout of :data:`LAYOUTS` that recognises the folder ``root``, or None."""
    root = Path(root)
    if not root.is_dir():
        return None
    return next((name for name, layout in LAYOUTS.items() if layout.recognise(root)), None)


def load_dataset(source: str | Path, layout: str | None = None, split: str | None = None, *,
                 fold: int | None = None, classes=None, pattern: str | None = None,
                 check_files: bool = True) -> Dataset:
    """Read a data set in any layout of :data:`LAYOUTS`: a manifest, a folder per class, or a published data set
    as it ships (UCF101, Kinetics, VGGSound, DCASE 2021 Task 1B, CREMA-D, MIMII).

    Parameters
    ----------
    source : path
        ``manifest.csv``, or the data set's folder.
    layout : str, optional
        A name of :data:`LAYOUTS`; default: the first that recognises the folder (:func:`recognise`), or the
        ``layout`` of the folder's ``avlab-data.json``. The one used is ``Dataset.layout``.
    split : str, optional
        Keep only this split (``train``, ``val``, ``test``).
    fold : int, optional
        The official fold whose splits to use, where the layout has folds (UCF101 1-3, DCASE 2021 1B 1;
        default the first). ``Dataset.fold``.
    classes : list of str, or a path to a text file with one class a line, optional
        Keep only the clips of these classes (e.g. Kinetics-Sounds out of Kinetics-400, UCF51 out of UCF101).
    pattern : str, optional
        The clip-name pattern of the ``kinetics`` and ``vggsound`` layouts (:mod:`core.datasets.youtube`).
    check_files : bool
        Refuse a manifest that names files which do not exist.

    Options left unset are read from ``avlab-data.json`` in the folder when there is one (``{"layout": ...,
    "fold": ..., "classes": [...] or "file.txt", "pattern": ...}``, paths relative to the folder).

    Raises
    ------
    DatasetError
        No data set at ``source``, an unknown layout, a fold the layout lacks, an index that cannot be read, no
        clips at all or none in ``split`` (one sentence).
    """
    source = Path(source)
    if source.is_file():
        if layout not in (None, "manifest"):
            raise DatasetError(f"'{source.name}' is a file; the {layout} layout is read from its folder.")
        dataset = manifest.load_manifest(source, check_files)
        return _select(dataset, split, source, _class_list(classes, source.parent))
    if not source.is_dir():
        raise DatasetError(f"No data set was found at '{source}'.")
    options = _options(source)
    layout = layout or options.get("layout")
    fold = fold if fold is not None else options.get("fold")
    pattern = pattern or options.get("pattern")
    chosen = classes if classes is not None else options.get("classes")
    if layout is None:
        layout = recognise(source) or "folders"
    if layout not in LAYOUTS:
        raise DatasetError(f"There is no data set layout called '{layout}'; the layouts are {', '.join(LAYOUTS)}.")
    spec = LAYOUTS[layout]
    if fold is not None and not spec.folds:
        raise DatasetError(f"The {layout} layout has no official folds; leave out --fold.")
    if layout == "manifest":
        dataset = manifest.load_manifest(source, check_files)
    else:
        dataset = spec.load(source, fold=fold, **({"pattern": pattern} if "pattern" in spec.options else {}))
    return _select(dataset, split, source, _class_list(chosen, source))


def _select(dataset: Dataset, split: str | None, source: Path, classes: tuple[str, ...] | None) -> Dataset:
    if classes is not None:
        keep = set(classes)
        dataset = dataclasses.replace(
            dataset, samples=tuple(s for s in dataset.samples if s.label in keep or
                                   (s.segments and all(seg[2] in keep for seg in s.segments))),
            skipped=tuple(u for u in dataset.skipped if u.label is None or u.label in keep), classes=classes)
        if not dataset.samples:
            raise DatasetError(f"The data set at '{source}' has no clips of the classes {', '.join(classes[:5])}"
                               f"{', ...' if len(classes) > 5 else ''}.")
    if split is not None:
        dataset = dataset.split(split)
        if not dataset.samples:
            raise DatasetError(f"The data set at '{source}' has no clips in the '{split}' split.")
    return dataset


def _class_list(classes, root: Path) -> tuple[str, ...] | None:
    """Classes from a list, or from a text file (one class a line, ``#`` comments) relative to ``root``."""
    if classes is None:
        return None
    if isinstance(classes, (str, Path)):
        path = Path(classes) if Path(classes).is_absolute() else root / classes
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"The class list '{classes}' could not be read: {exc}.") from exc
        classes = [t.split("#")[0].strip() for t in lines]
    names = tuple(sorted({str(c).strip() for c in classes if str(c).strip()}))
    if not names:
        raise DatasetError("The class list names no classes.")
    return names


def _options(root: Path) -> dict:
    path = root / OPTIONS_FILE
    if not path.is_file():
        return {}
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"'{OPTIONS_FILE}' in '{root}' could not be read: {exc}.") from exc
    unknown = set(options) - {"layout", "fold", "classes", "pattern"} if isinstance(options, dict) else {"?"}
    if unknown:
        raise DatasetError(f"'{OPTIONS_FILE}' may hold layout, fold, classes and pattern; it has "
                           f"{', '.join(sorted(map(str, unknown)))}.")
    return options


def add_data_arguments(parser, *, data_required: bool = False, data_help: str | None = None) -> None:
    """``--data``, ``--layout`` and ``--fold`` on a command's parser (the same words on every command)."""
    parser.add_argument("--data", required=data_required, help=data_help or
                        "the data set's folder: manifest.csv, a folder per class, or a published data set as it "
                        "ships (see --layout)")
    parser.add_argument("--layout", choices=list(LAYOUTS), metavar="NAME",
                        help=f"read the folder as this layout ({', '.join(LAYOUTS)}; default: recognised from its "
                             "index files)")
    parser.add_argument("--fold", type=int, metavar="N",
                        help="the official fold whose train/test splits to use (ucf101: 1-3, dcase2021-1b: 1; "
                             "default 1)")


__all__ = ["LAYOUTS", "Layout", "OPTIONS_FILE", "add_data_arguments", "load_dataset", "recognise"]
