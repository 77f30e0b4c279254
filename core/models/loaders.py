"""Load any model into the lab: one registry of loaders, chosen by a ``format`` field.

A model SPEC is one of

- an avlab checkpoint folder (``config.json`` + ``model.safetensors``), format ``avlab``;
- a file with a sidecar beside it: ``model.pt`` + ``model.avlab.json`` (or the sidecar itself);
- a folder with ``avlab.json`` in it (its ``file`` field, or the one model file it holds).

The sidecar (JSON)::

    {"format": "torchscript", "classes": ["a", "b"],
     "video": {"frames": 8, "size": 112, "mean": [0.43, 0.39, 0.37], "std": [0.23, 0.22, 0.22]},
     "audio": {"sample_rate": 16000, "seconds": 5.0},
     "outputs": ["fused"]}

Formats: ``torch-export`` (a ``torch.export`` program, ``.pt2``), ``torchscript``
(``torch.jit.load``), ``onnx`` (onnxruntime; inputs named ``video`` and ``audio``), all
called as ``model(video, audio)`` with ``video`` float32 (B, 3, T, H, W) normalised and
``audio`` float32 (B, samples) mono at the stated rate, returning fused logits (B, K) or
a tuple (audio, video, fused) of them when ``outputs`` lists three; ``python``
(``"entry": "model.py:build"``: trusted code named by whoever runs the server, never
taken from an upload); ``zero-shot`` (CLIP + CLAP with the user's labels, see
:mod:`core.models.zero_shot`). Every failure is a :class:`ModelError` with one sentence
naming the file and the field.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable

import torch

from core.models.builtin import AvlabModel
from core.models.checkpoint import CONFIG_FILE, WEIGHTS_FILE, read_metadata
from core.models.interface import HEADS, AVClassifier, ModelError, content_hash, first_line
from core.models.sidecar import (
    FORMATS,
    SIDECAR,
    SIDECAR_SUFFIX,
    Sidecar,
    find_sidecar,
    parse_sidecar,
)
from core.models.zero_shot import load_zero_shot
from core.trust.calibration import Calibration

CHECKPOINTS = Path(__file__).resolve().parent.parent.parent / "checkpoints"


def default_checkpoint() -> Path:
    """The shipped default checkpoint, named in ``checkpoints/DEFAULT``; raises ModelError when unnamed."""
    marker = CHECKPOINTS / "DEFAULT"
    if not marker.is_file():
        raise ModelError("No default model is named in checkpoints/DEFAULT; pass --model.")
    return CHECKPOINTS / marker.read_text().strip()


# ----------------------------------------------------------------------------- models called as model(video, audio)

class CallableModel(AVClassifier):
    """A model called whole as ``fn(video, audio)`` (TorchScript, torch.export, ONNX, a python module).

    ``fn`` returns fused logits (B, K), or (audio, video, fused) logits when the
    sidecar's ``outputs`` lists three; heads it lacks are ablations.
    """

    def __init__(self, fn: Callable, sidecar: Sidecar, *, fingerprint: str, to_device: Callable | None = None):
        self.fn, self.sidecar, self.to_device = fn, sidecar, to_device
        self.format, self.name, self.source = sidecar.format, sidecar.name, sidecar.model_path
        self.classes, self.video, self.audio = sidecar.classes, sidecar.video, sidecar.audio
        self.native_heads = frozenset(sidecar.outputs)
        self.fingerprint = fingerprint

    def to(self, device) -> "CallableModel":
        if self.to_device is not None:
            self.to_device(torch.device(device))
        return super().to(device)

    def run(self, video, audio, video_mask, audio_mask) -> dict[str, torch.Tensor]:
        where = self.sidecar.model_path.name
        try:
            out = self.fn(video, audio)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of user code becomes one sentence
            raise ModelError(f"The model {where} raised {type(exc).__name__} when called as model(video, audio) "
                             f"with video {tuple(video.shape)} and audio {tuple(audio.shape)}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'}") from exc
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if len(outs) != len(self.sidecar.outputs):
            raise self.sidecar.fail("outputs", f"lists {len(self.sidecar.outputs)} output(s) but {where} returned "
                                               f"{len(outs)}")
        b, k = video.shape[0], len(self.classes)
        result = {}
        for head, t in zip(self.sidecar.outputs, outs):
            t = torch.as_tensor(t)
            if tuple(t.shape) != (b, k):
                raise self.sidecar.fail("classes", f"lists {k} classes but the {head} logits of {where} have shape "
                                                   f"{tuple(t.shape)} for a batch of {b} (expected ({b}, {k}))")
            result[head] = t.float()
        return result


def _torchscript(sidecar: Sidecar, device: torch.device) -> AVClassifier:
    try:
        module = torch.jit.load(str(sidecar.model_path), map_location=device).eval()
    except (RuntimeError, ValueError, OSError) as exc:
        raise sidecar.fail("file", f"names {sidecar.model_path}, which is not a TorchScript model ({first_line(exc)})")
    return CallableModel(module, sidecar, fingerprint=content_hash(sidecar.model_path),
                         to_device=lambda d: module.to(d))


def _torch_export(sidecar: Sidecar, device: torch.device) -> AVClassifier:
    try:
        program = torch.export.load(str(sidecar.model_path))
    except Exception as exc:  # noqa: BLE001 - torch.export.load raises many kinds
        raise sidecar.fail("file", f"names {sidecar.model_path}, which is not a torch.export program "
                                   f"({type(exc).__name__}: {first_line(exc)})") from exc
    module = program.module()
    if device.type != "cpu":
        module = module.to(device)
    return CallableModel(module, sidecar, fingerprint=content_hash(sidecar.model_path))


def _onnx(sidecar: Sidecar, device: torch.device) -> AVClassifier:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelError("ONNX models need onnxruntime: pip install -r requirements.txt.") from exc
    providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if device.type == "cuda"
                 else ["CPUExecutionProvider"])
    providers = [p for p in providers if p in ort.get_available_providers()] or ["CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(str(sidecar.model_path), providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise sidecar.fail("file", f"names {sidecar.model_path}, which onnxruntime cannot load ({first_line(exc)})") from exc
    names = [i.name for i in session.get_inputs()]
    if sorted(names) != ["audio", "video"]:
        raise sidecar.fail("file", f"names an ONNX model whose inputs are {names}; avlab feeds two inputs named "
                                   f"'video' and 'audio'")

    def call(video: torch.Tensor, audio: torch.Tensor):
        outs = session.run(None, {"video": video.detach().float().cpu().numpy(),
                                  "audio": audio.detach().float().cpu().numpy()})
        return tuple(torch.from_numpy(o) for o in outs[: len(sidecar.outputs)])

    return CallableModel(call, sidecar, fingerprint=content_hash(sidecar.model_path))


def _python(sidecar: Sidecar, device: torch.device) -> AVClassifier:
    entry = sidecar.raw.get("entry")
    if not isinstance(entry, str) or ":" not in entry:
        raise sidecar.fail("entry", f'must be "FILE.py:FUNCTION" (got {entry!r})')
    file, _, function = entry.partition(":")
    base = sidecar.path.parent
    source = (base / file).resolve()
    if not source.is_file():
        raise sidecar.fail("entry", f"names {source}, which does not exist")
    spec = importlib.util.spec_from_file_location(f"avlab_user_model_{content_hash(source)}", source)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        build = getattr(module, function)
    except AttributeError:
        raise sidecar.fail("entry", f"names {function}, which {source.name} does not define") from None
    except Exception as exc:  # noqa: BLE001 - user code
        raise sidecar.fail("entry", f"names {source.name}, which raised {type(exc).__name__} on import: "
                                    f"{first_line(exc)}") from exc
    try:
        built = build(dict(sidecar.raw))
    except Exception as exc:  # noqa: BLE001 - user code
        raise sidecar.fail("entry", f"names {entry}, which raised {type(exc).__name__}: {first_line(exc)}") from exc
    fingerprint = content_hash(source, *(p for p in [sidecar.model_path] if p.is_file()))
    if isinstance(built, AVClassifier):
        built.format, built.source = "python", sidecar.path
        if not built.classes:
            built.classes = sidecar.classes
        built.name = built.name if built.name != "model" else sidecar.name
        built.fingerprint = built.fingerprint or fingerprint
        return built
    if not callable(built):
        raise sidecar.fail("entry", f"names {entry}, which returned a {type(built).__name__}: it must return an "
                                    f"AVClassifier or a callable model(video, audio)")
    if isinstance(built, torch.nn.Module):
        built.eval().to(device)
    return CallableModel(built, sidecar, fingerprint=fingerprint,
                         to_device=(lambda d: built.to(d)) if isinstance(built, torch.nn.Module) else None)


LOADERS: dict[str, Callable[[Sidecar, torch.device], AVClassifier]] = {
    "torchscript": _torchscript,
    "torch-export": _torch_export,
    "onnx": _onnx,
    "python": _python,
    "zero-shot": load_zero_shot,
}  # an avlab checkpoint folder needs no sidecar: load_model reads it with AvlabModel.from_checkpoint
assert tuple(LOADERS) == FORMATS


# ----------------------------------------------------------------------------- entry points

def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` (the GPU when there is one, else the CPU), ``cpu``, ``cuda[:N]`` or ``mps``; raises ModelError."""
    name = str(device or "auto")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(name)
    except RuntimeError:
        raise ModelError(f"'{name}' is not a device; use auto, cpu, cuda or mps.") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for, but this machine has no CUDA GPU; use auto or cpu.")
    if chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelError("--device mps was asked for, but this machine has no Apple GPU; use auto or cpu.")
    if chosen.type not in ("cpu", "cuda", "mps"):
        raise ModelError(f"'{name}' is not a device avlab runs on; use auto, cpu, cuda or mps.")
    return chosen


def is_checkpoint(path: Path) -> bool:
    return path.is_dir() and (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def load_model(spec: str | os.PathLike | None = None, *, device: str | torch.device | None = "auto") -> AVClassifier:
    """Load a model SPEC (checkpoint folder, model file or folder with a sidecar; None: the shipped default).

    Raises
    ------
    ModelError
        One sentence naming the file and the field.
    """
    target = resolve_device(device)
    path = Path(spec) if spec is not None else default_checkpoint()
    if not path.exists():
        raise ModelError(f"There is no model at {path}: give a checkpoint folder, a model file with a "
                         f"{SIDECAR_SUFFIX} sidecar beside it, or a folder with {SIDECAR}.")
    if is_checkpoint(path):
        return with_calibration(AvlabModel.from_checkpoint(path), path).to(target)
    sidecar_path = find_sidecar(path)
    if sidecar_path is None:
        if path.is_dir() and (path / CONFIG_FILE).is_file():
            read_metadata(path)  # says what is wrong with the checkpoint
            raise ModelError(f"The checkpoint {path} has no {WEIGHTS_FILE}; it is incomplete.")
        raise ModelError(f"{path} has no sidecar: put a {path.stem}{SIDECAR_SUFFIX} beside it (or {SIDECAR} in the "
                         f"folder) saying its format, classes and inputs; see the README, 'Use your own model'.")
    model_path = None if sidecar_path == path or path.is_dir() else path
    sidecar = parse_sidecar(sidecar_path, model_path)
    # a model file with its own sidecar (model.avlab.json) keeps its trust files as model.calibration.json
    prefix = sidecar_path.name[:-len(SIDECAR_SUFFIX)] + "." if sidecar_path.name != SIDECAR else ""
    return with_calibration(LOADERS[sidecar.format](sidecar, target), sidecar_path.parent, prefix).to(target)


def with_calibration(model: AVClassifier, folder: Path, prefix: str = "") -> AVClassifier:
    """``model`` with the temperatures of ``folder/<prefix>calibration.json`` when it was fitted for this model
    (see :mod:`core.trust.calibration`); a stale or unreadable file is noted in ``model.trust_notes``."""
    model.trust_folder, model.trust_prefix = Path(folder), prefix
    calibration, note = Calibration.load(folder, model.fingerprint, prefix=prefix)
    if calibration is not None:
        model.temperatures = MappingProxyType(dict(calibration.temperatures))
    if note:
        model.trust_notes = (*model.trust_notes, note)
    return model


@dataclass(frozen=True)
class ModelInfo:
    """What a picker shows without loading weights."""

    path: str
    name: str
    format: str
    classes: tuple[str, ...]
    native_heads: tuple[str, ...]
    detail: str  # fusion or file name
    accuracy: float | None  # fused test accuracy, where the model has one stored

    @property
    def title(self) -> str:
        return self.title_as(self.name)

    def title_as(self, name: str) -> str:
        """The picker's line for this model shown under ``name``."""
        heads = ("all heads native" if len(self.native_heads) == 3 else
                 f"{'/'.join(self.native_heads)} native, {'/'.join(h for h in HEADS if h not in self.native_heads)} "
                 f"by ablation")
        acc = "" if self.accuracy is None else f" · fused test acc. {self.accuracy:.1%}"
        return f"{name} · {self.format} · {self.detail} · {len(self.classes)} classes · {heads}{acc}"


def model_info(spec: str | os.PathLike) -> ModelInfo:
    """A model's name, format, classes and native heads from its metadata (no weights read); raises ModelError."""
    path = Path(spec)
    if is_checkpoint(path):
        meta = read_metadata(path)
        acc = ((meta.get("metrics") or {}).get("test") or {}).get("fused", {}).get("accuracy")
        return ModelInfo(str(path), path.name, "avlab", tuple(meta.get("classes") or ()), HEADS,
                         str((meta.get("model") or {}).get("fusion", "?")), acc)
    sidecar_path = find_sidecar(path)
    if sidecar_path is None:
        raise ModelError(f"{path} is neither an avlab checkpoint nor a model with a sidecar.")
    car = parse_sidecar(sidecar_path, None if sidecar_path == path or path.is_dir() else path)
    native = HEADS if car.format == "zero-shot" else car.outputs
    return ModelInfo(str(path), car.name, car.format, car.classes, tuple(native), car.model_path.name, None)


def find_models(root: str | os.PathLike, *, depth: int = 3) -> tuple[list[ModelInfo], list[str]]:
    """Every model under ``root`` (checkpoint folders, sidecars), and one sentence per broken one."""
    root = Path(root)
    found, problems, seen = [], [], set()
    if not root.is_dir():
        return [], [f"{root} is not a folder."]
    candidates = [root] + [p for p in sorted(root.rglob("*")) if len(p.relative_to(root).parts) <= depth]
    for p in candidates:
        spec = None
        if p.is_dir() and (is_checkpoint(p) or (p / SIDECAR).is_file()):
            spec = p
        elif p.is_file() and p.name.endswith(SIDECAR_SUFFIX):
            spec = p
        if spec is None or any(parent in seen for parent in spec.parents):
            continue
        try:
            found.append(model_info(spec))
            if spec.is_dir():
                seen.add(spec)
        except ModelError as exc:
            problems.append(str(exc))
    return found, problems


__all__ = ["CHECKPOINTS", "LOADERS", "CallableModel", "ModelInfo", "default_checkpoint", "load_model", "model_info",
           "find_models", "resolve_device", "is_checkpoint"]
