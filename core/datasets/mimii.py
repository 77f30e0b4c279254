"""MIMII (Purohit et al., DCASE 2019 workshop; zenodo 3384388): machine sounds as the archives unpack.

Each archive ``<snr>_dB_<machine>.zip`` (``-6_dB_fan.zip``, ``0_dB_valve.zip``, ``6_dB_pump.zip``, ...) holds
``<machine>/id_XX/{normal,abnormal}/*.wav``: 10 s, 16 kHz, 8-channel recordings of one machine model
(``MIMII-hitachi/mimii_baseline``, ``dataset/7z.sh`` unpacks them into ``6dB/``, ``0dB/``, ``min6dB/``;
``baseline.py`` walks ``<base>/<db>/<machine_type>/<machine_id>``). Both arrangements load, as does a single
archive unpacked on its own (``<machine>/id_XX/...``). The clips are audio only; the eight channels are
downmixed by the decoder's rules (:mod:`core.media.sound`).

Labels: ``<machine>_normal`` and ``<machine>_abnormal``; ``params`` holds ``snr_db`` and ``machine_id``.
Splits follow the baseline's ``dataset_generator``: per machine model and SNR, the first (in file-name order)
as many normal clips as there are abnormal ones, plus every abnormal clip, are ``test``; the other normal clips
are ``train``.
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import Dataset, DatasetError, Sample

CONDITIONS = ("normal", "abnormal")
_SNR = re.compile(r"^(min|-)?(\d+)_?dB", re.IGNORECASE)


def model_folders(root: Path) -> list[Path]:
    """The ``id_XX`` folders (one machine model each) with ``normal/`` or ``abnormal/`` below them, up to
    three levels below ``root``."""
    found = set()
    for pattern in ("id_*", "*/id_*", "*/*/id_*"):
        found |= {p for p in root.glob(pattern) if p.is_dir() and any((p / c).is_dir() for c in CONDITIONS)}
    return sorted(found)


def recognise(root: Path) -> bool:
    return bool(model_folders(root))


def load(root: Path, **_) -> Dataset:
    """MIMII at ``root``; raises DatasetError when it holds no ``.wav`` below ``<machine>/id_XX/normal|abnormal``."""
    samples = []
    for model in model_folders(root):
        machine = model.parent.name
        snr = _snr_db(model.parent.parent.name) if model.parent != root else None
        files = {c: sorted((model / c).glob("*.wav")) for c in CONDITIONS}
        held_out = len(files["abnormal"])  # mimii_baseline: eval = normal[:len(abnormal)] + abnormal
        for condition in CONDITIONS:
            for i, path in enumerate(files[condition]):
                split = "test" if condition == "abnormal" or i < held_out else "train"
                params = {"machine_id": model.name, **({"snr_db": snr} if snr is not None else {})}
                samples.append(Sample(path=path, label=f"{machine}_{condition}", split=split, params=params))
    if not samples:
        raise DatasetError(f"'{root}' has no .wav files below <machine>/id_XX/normal or abnormal.")
    return Dataset(root, tuple(samples), tuple(sorted({s.label for s in samples})), layout="mimii")


def _snr_db(name: str) -> int | None:
    """``6_dB_fan`` -> 6, ``-6_dB_fan`` and ``min6dB`` -> -6, ``0dB`` -> 0; None for another name."""
    match = _SNR.match(name)
    if match is None:
        return None
    return -int(match[2]) if match[1] else int(match[2])
