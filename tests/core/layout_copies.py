"""Tiny copies of published data sets in the layouts they ship in, made from the sample clips.

Each builder writes the index files in the published format (see the docstrings of ``core.datasets.ucf101``,
``.youtube``, ``.paired`` and ``.mimii`` for the sources) and returns what a loader should find. The labels
are factory-av's classes, so the shipped models can be evaluated on the copies.
"""
from __future__ import annotations

import shutil
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
CLASSES = ("fan_fault", "fan_normal", "valve_open")


@lru_cache(maxsize=1)
def sample_clips() -> tuple:
    """The sample clips of :data:`CLASSES` (3 each, 5 s, single label), in manifest order."""
    from core.datasets import load_dataset

    return tuple(s for s in load_dataset(SAMPLES).standard().samples if s.label in CLASSES)


@lru_cache(maxsize=32)
def sound_of(path: Path) -> np.ndarray:
    """The clip's decoded sound, (N,) float32 at 16 kHz."""
    from core.media import load_clip

    return load_clip(path).audio


def write_wav(path: Path, y: np.ndarray, sr: int = 16_000) -> Path:
    """16-bit PCM WAV; ``y`` (N,) mono or (N, C) channels in [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y, np.float32)
    channels = 1 if y.ndim == 1 else y.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return dst


def make_ucf101(root: Path) -> dict:
    """``UCF-101/<Class>/v_<Class>_gXX_c01.avi`` (the sample MP4s renamed: FFmpeg reads by content) and
    ``ucfTrainTestlist/`` with CRLF line ends as the official zip has them. Clip i of a class is group i+1;
    fold f tests group f and trains on the others. Returns {fold: {"train"|"test": {relative path: label}}}."""
    classes = sorted(CLASSES)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)).encode())
    by_class: dict[str, list] = {}
    for s in sample_clips():
        by_class.setdefault(s.label, []).append(s)
    names = {}
    for label, samples in by_class.items():
        for i, s in enumerate(samples):
            rel = f"{label}/v_{label}_g{i + 1:02d}_c01.avi"
            _copy(s.path, root / "UCF-101" / rel)
            names[rel] = (label, i + 1)
    expected = {}
    for fold in (1, 2, 3):
        train = {rel: lab for rel, (lab, g) in names.items() if g != fold}
        test = {rel: lab for rel, (lab, g) in names.items() if g == fold}
        (lists / f"trainlist{fold:02d}.txt").write_bytes(
            "".join(f"{rel} {classes.index(lab) + 1}\r\n" for rel, lab in train.items()).encode())
        (lists / f"testlist{fold:02d}.txt").write_bytes("".join(f"{rel}\r\n" for rel in test).encode())
        expected[fold] = {"train": train, "test": test}
    return expected


def make_kinetics(root: Path) -> dict:
    """Kinetics-400-style ``annotations/train.csv`` and ``val.csv`` (``label,youtube_id,time_start,time_end,
    split,is_cc``); train clips as ActivityNet's crawler saves them (``<label>/<id>_<start:06d>_<end:06d>.mp4``),
    val clips as the CVDF archives (``val/<id>_...mp4``). The last train row's clip was never downloaded.
    Returns {youtube_id: (label, split)} of the clips on disk and the missing row's id."""
    (root / "annotations").mkdir(parents=True)
    rows = {"train": [], "val": []}
    expected = {}
    for i, s in enumerate(sample_clips()):
        split = "val" if i % 3 == 2 else "train"
        yid = f"yt{i:03d}-_abc"[:11].ljust(11, "x")
        start, end = 10 * i, 10 * i + 10
        folder = root / (s.label if split == "train" else "val")
        _copy(s.path, folder / f"{yid}_{start:06d}_{end:06d}.mp4")
        rows[split].append(f"{s.label},{yid},{start},{end},{split},0")
        expected[yid] = (s.label, split)
    rows["train"].append("fan_fault,gone0000000,900,910,train,0")  # a deleted video
    for split, lines in rows.items():
        (root / "annotations" / f"{split}.csv").write_text(
            "label,youtube_id,time_start,time_end,split,is_cc\n" + "\n".join(lines) + "\n")
    return {"clips": expected, "missing": "gone0000000", "missing_line": len(rows["train"]) + 1}


def make_vggsound(root: Path) -> dict:
    """``vggsound.csv`` without a header (``youtube_id,start_seconds,label,split``; one label quoted because it
    holds a comma, as in the published file) and clips ``<id>_<start:06d>.mp4`` in ``video/``.
    Returns {youtube_id: (label, split)}."""
    lines, expected = [], {}
    for i, s in enumerate(sample_clips()):
        yid, start, split = f"-v{i:02d}_ggsound"[:11], 30 + i, "test" if i % 3 == 0 else "train"
        label = "fan, faulty" if s.label == "fan_fault" else s.label
        _copy(s.path, root / "video" / f"{yid}_{start:06d}.mp4")
        lines.append(f'{yid},{start},"{label}",{split}' if "," in label else f"{yid},{start},{label},{split}")
        expected[yid] = (label, split)
    (root / "vggsound.csv").write_text("\n".join(lines) + "\n")
    return expected


def make_dcase(root: Path, clips=None) -> dict:
    """TAU Urban Audio-Visual Scenes 2021: ``video/<name>.mp4`` (the sample clip) and ``audio/<name>.wav`` (its
    sound, as a separate file), ``meta.csv`` and ``evaluation_setup/fold1_{train,evaluate}.csv``, tab-separated
    with headers. Returns {name: (label, split, original clip)}."""
    meta = ["filename_audio\tfilename_video\tscene_label\tidentifier"]
    setup = {"train": ["filename_audio\tfilename_video\tscene_label"],
             "evaluate": ["filename_audio\tfilename_video\tscene_label"]}
    expected = {}
    for i, s in enumerate(clips if clips is not None else sample_clips()):
        name = f"{s.label.replace('_', '')}-lisbon-{1000 + i}-{40 * i}-0"
        write_wav(root / "audio" / f"{name}.wav", sound_of(s.path))
        _copy(s.path, root / "video" / f"{name}.mp4")
        meta.append(f"audio/{name}.wav\tvideo/{name}.mp4\t{s.label}\tlisbon-{1000 + i}")
        part = "evaluate" if i % 3 == 2 else "train"
        setup[part].append(f"audio/{name}.wav\tvideo/{name}.mp4\t{s.label}")
        expected[name] = (s.label, "test" if part == "evaluate" else "train", s.path)
    (root / "meta.csv").write_text("\n".join(meta) + "\n")
    (root / "evaluation_setup").mkdir()
    for part, lines in setup.items():
        (root / "evaluation_setup" / f"fold1_{part}.csv").write_text("\n".join(lines) + "\n")
    return expected


def make_crema_d(root: Path) -> dict:
    """``VideoFlash/<actor>_<sentence>_<emotion>_<level>.flv`` (sample MP4s renamed) with ``AudioWAV/`` of the
    same names. Returns {name: emotion} of the complete pairs."""
    emotions = ("ANG", "HAP", "NEU")
    expected = {}
    for i, s in enumerate(sample_clips()[:6]):
        name = f"{1001 + i}_DFA_{emotions[i % 3]}_XX"
        _copy(s.path, root / "VideoFlash" / f"{name}.flv")
        write_wav(root / "AudioWAV" / f"{name}.wav", sound_of(s.path))
        expected[name] = emotions[i % 3]
    return expected


def make_mimii(root: Path) -> dict:
    """Two archives unpacked as ``6_dB_fan/fan/id_00/...`` and ``-6_dB_valve/valve/id_02/...``: 8-channel
    16 kHz WAVs of 1 s (3 normal, 1 abnormal each). Returns {relative path: (label, split)} by the baseline's
    rule (the first as many normal clips as abnormal ones are test)."""
    rng = np.random.default_rng(0)
    expected = {}
    for archive, machine, model in (("6_dB_fan", "fan", "id_00"), ("-6_dB_valve", "valve", "id_02")):
        for condition, count in (("normal", 3), ("abnormal", 1)):
            for i in range(count):
                rel = f"{archive}/{machine}/{model}/{condition}/{i:08d}.wav"
                write_wav(root / rel, 0.1 * rng.standard_normal((16_000, 8)))
                split = "test" if condition == "abnormal" or i == 0 else "train"
                expected[rel] = (f"{machine}_{condition}", split)
    return expected
