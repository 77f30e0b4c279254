"""The sidecar: the JSON beside a user's model that says its format, classes and inputs.

``model.pt`` + ``model.avlab.json``, or ``DIR/avlab.json``::

    {"format": "torchscript", "classes": ["a", "b"],
     "video": {"frames": 8, "size": 112, "mean": [0.43, 0.39, 0.37], "std": [0.23, 0.22, 0.22]},
     "audio": {"sample_rate": 16000, "seconds": 5.0},
     "outputs": ["fused"]}

Optional fields: ``name``; ``file`` (the model file, relative to the sidecar); ``entry`` (python);
``image_text_model``, ``audio_text_model``, ``prompts``, ``fusion_weights`` (zero-shot). Defaults:
8 frames at 112 px with the Kinetics mean and std, 16 kHz, 5 s, ``["fused"]``. Every problem is a
:class:`ModelError` naming the sidecar and the field.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.models.interface import ModelError
from core.models.preprocessing import KINETICS_MEAN, KINETICS_STD, AudioPreprocessing, VideoPreprocessing

SIDECAR = "avlab.json"
SIDECAR_SUFFIX = ".avlab.json"
FORMATS = ("torchscript", "torch-export", "onnx", "python", "zero-shot")
MODEL_SUFFIXES = {"torchscript": (".pt", ".pth", ".jit", ".torchscript"), "torch-export": (".pt2",),
                  "onnx": (".onnx",)}
OUTPUTS = (["fused"], ["audio", "video", "fused"])


@dataclass(frozen=True)
class Sidecar:
    """A parsed, checked sidecar: ``path`` of the JSON, ``model_path`` of the file or folder it describes."""

    path: Path
    model_path: Path
    format: str
    classes: tuple[str, ...]
    video: VideoPreprocessing
    audio: AudioPreprocessing
    outputs: tuple[str, ...]
    name: str
    raw: dict

    def fail(self, field: str, message: str) -> ModelError:
        return ModelError(f"The sidecar {self.path}: field '{field}' {message}.")


def _fail(path: Path, field: str, message: str) -> ModelError:
    return ModelError(f"The sidecar {path}: field '{field}' {message}.")


def _number(path: Path, field: str, value: Any, *, whole: bool = False, low: float = 0.0) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and whole:
        ok = float(value).is_integer()
    if not ok or value <= low:
        kind = "a whole number" if whole else "a number"
        raise _fail(path, field, f"must be {kind} above {low:g} (got {value!r})")
    return int(value) if whole else float(value)


def _triple(path: Path, field: str, value: Any, default) -> tuple[float, float, float]:
    if value is None:
        return tuple(default)
    if not isinstance(value, list) or len(value) != 3:
        raise _fail(path, field, f"must be a list of 3 numbers, one per RGB channel (got {value!r})")
    return tuple(_number(path, f"{field}[{i}]", v, low=-math.inf) for i, v in enumerate(value))


def parse_sidecar(path: str | os.PathLike, model_path: str | os.PathLike | None = None) -> Sidecar:
    """Read and check a sidecar; ``model_path`` is the file or folder it describes (found when None).

    Raises
    ------
    ModelError
        The JSON is unreadable, a field is missing or has the wrong type or value, or the model file is missing.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"The sidecar {path} cannot be read ({exc.strerror or exc}).") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"The sidecar {path} is not valid JSON ({exc}).") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"The sidecar {path} must hold a JSON object.")
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise _fail(path, "format", f"must be one of {', '.join(FORMATS)} (got {fmt!r})")
    classes = raw.get("classes")
    if (not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise _fail(path, "classes", f"must list at least 2 distinct class names (got {classes!r})")
    video, audio = raw.get("video") or {}, raw.get("audio") or {}
    for field, value in (("video", video), ("audio", audio)):
        if not isinstance(value, dict):
            raise _fail(path, field, f"must be an object (got {value!r})")
    vspec = VideoPreprocessing(
        num_frames=_number(path, "video.frames", video.get("frames", 8), whole=True),
        size=_number(path, "video.size", video.get("size", 112), whole=True, low=1),
        mean=_triple(path, "video.mean", video.get("mean"), KINETICS_MEAN),
        std=_triple(path, "video.std", video.get("std"), KINETICS_STD))
    if min(vspec.std) <= 0:
        raise _fail(path, "video.std", f"must be positive (got {list(vspec.std)})")
    aspec = AudioPreprocessing(sr=_number(path, "audio.sample_rate", audio.get("sample_rate", 16_000), whole=True),
                               seconds=_number(path, "audio.seconds", audio.get("seconds", 5.0)))
    outputs = raw.get("outputs", ["fused"])
    if outputs not in OUTPUTS:
        raise _fail(path, "outputs", f'must be ["fused"] or ["audio", "video", "fused"] (got {outputs!r})')
    target = Path(model_path) if model_path is not None else _model_file(path, raw, fmt)
    if not target.exists():
        raise _fail(path, "file", f"names {target}, which does not exist")
    name = raw.get("name") or (target.name if target.is_dir() else
                               path.parent.name if path.name == SIDECAR else target.stem)
    return Sidecar(path, target, fmt, tuple(classes), vspec, aspec, tuple(outputs), str(name), raw)


def _model_file(sidecar: Path, raw: dict, fmt: str) -> Path:
    """The file a sidecar describes: its ``file`` field, else the model file beside it."""
    folder = sidecar.parent
    if raw.get("file"):
        return folder / str(raw["file"])
    if fmt in ("python", "zero-shot"):
        return folder
    suffixes = MODEL_SUFFIXES[fmt]
    if sidecar.name.endswith(SIDECAR_SUFFIX):  # model.avlab.json -> model.pt (any suffix of the format)
        stem = sidecar.name[: -len(SIDECAR_SUFFIX)]
        for suffix in suffixes:
            if (folder / (stem + suffix)).exists():
                return folder / (stem + suffix)
        return folder / (stem + suffixes[0])
    found = sorted(p for p in folder.iterdir() if p.suffix in suffixes)
    if len(found) != 1:
        raise _fail(sidecar, "file", f"is needed: the folder holds {len(found)} {'/'.join(suffixes)} files")
    return found[0]


def find_sidecar(spec: Path) -> Path | None:
    """The sidecar of a model file or folder, or None."""
    if spec.name.endswith(SIDECAR_SUFFIX) or spec.name == SIDECAR:
        return spec
    if spec.is_dir():
        return spec / SIDECAR if (spec / SIDECAR).is_file() else None
    for candidate in (spec.with_name(spec.name + SIDECAR_SUFFIX), spec.with_name(spec.stem + SIDECAR_SUFFIX)):
        if candidate.is_file():
            return candidate
    return None


__all__ = ["SIDECAR", "SIDECAR_SUFFIX", "FORMATS", "MODEL_SUFFIXES", "OUTPUTS", "Sidecar", "parse_sidecar",
           "find_sidecar"]
