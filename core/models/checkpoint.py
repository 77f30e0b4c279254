"""Self-describing checkpoints: a folder with ``model.safetensors`` and ``config.json``.

The JSON carries what rebuilds and explains the model (model config, classes,
preprocessing, training config, metrics, data provenance); the weights are
plain tensors. Loading reads no pickle and runs no code from the files; a
broken or mismatched checkpoint is a :class:`CheckpointError` with one plain
sentence.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from core.models.fusion import AVModel, ModelConfig
from core.models.interface import ModelError

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
# Fields update_metadata may not change: they describe the weights themselves.
_FIXED_FIELDS = ("format_version", "model", "classes", "preprocessing", "parameter_count", "dtype")


# A checkpoint or weights file that is missing, broken or does not fit is a model error like any other.
CheckpointError = ModelError


@dataclass(frozen=True)
class LoadedCheckpoint:
    model: Any  # AVModel in eval mode, float32
    config: Any  # ModelConfig
    classes: list[str]
    metadata: dict  # the whole config.json


def save_checkpoint(path: str | os.PathLike, model, *, classes: Sequence[str], training_config: Mapping | None = None,
                    metrics: Mapping | None = None, provenance: Mapping | None = None,
                    dtype: str = "float16", extra: Mapping | None = None) -> Path:
    """Write ``model`` to the folder ``path`` (created; existing files replaced).

    Parameters
    ----------
    classes : class names in logit order; their number must equal the model's.
    training_config, metrics, provenance : JSON-serialisable dicts stored as they are.
    dtype : "float16" halves the file; floating tensors are stored in it, others untouched.
    extra : further JSON fields (e.g. a model card).

    Returns
    -------
    Path of the folder.
    """
    from safetensors.torch import save_file

    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', not {dtype!r}.")
    classes = [str(c) for c in classes]
    if len(classes) != model.config.num_classes:
        raise ValueError(f"{len(classes)} class names were given for a model with {model.config.num_classes} outputs.")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    store = getattr(torch, dtype)
    tensors = {k: (t.detach().to(store) if t.is_floating_point() else t.detach()).contiguous().cpu()
               for k, t in model.state_dict().items()}
    vspec, aspec = model.preprocessing
    meta = {
        "format_version": FORMAT_VERSION,
        "model": model.rebuild_config().to_dict(),
        "classes": classes,
        "preprocessing": {"video": vspec.to_dict(), "audio": aspec.to_dict()},
        "dtype": dtype,
        "parameter_count": model.num_parameters(),
        "training_config": dict(training_config or {}),
        "metrics": dict(metrics or {}),
        "provenance": dict(provenance or {}),
        **dict(extra or {}),
    }
    text = json.dumps(meta, indent=2, sort_keys=False, default=_json_default)
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt", "avlab_format": str(FORMAT_VERSION)})
    _atomic_write(folder / CONFIG_FILE, text)
    return folder


def read_metadata(path: str | os.PathLike) -> dict:
    """The checkpoint's config.json as a dict (no weights read)."""
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"There is no checkpoint folder at {folder}.")
    cfg = folder / CONFIG_FILE
    if not cfg.is_file():
        raise CheckpointError(f"The checkpoint {folder} has no {CONFIG_FILE}; it is incomplete.")
    try:
        meta = json.loads(cfg.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"The {CONFIG_FILE} of checkpoint {folder} is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"The {CONFIG_FILE} of checkpoint {folder} does not hold a JSON object.")
    return meta


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Rebuild the model from a checkpoint folder; float32, eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(path)
    meta = read_metadata(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"The checkpoint {folder} has no {WEIGHTS_FILE}; it is incomplete.")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"The checkpoint {folder} has format version {version!r}; "
                              f"this avlab reads version {FORMAT_VERSION}.")
    for key in ("model", "classes"):
        if key not in meta:
            raise CheckpointError(f"The {CONFIG_FILE} of checkpoint {folder} lacks the {key!r} field.")
    try:
        config = ModelConfig.from_dict(meta["model"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"The checkpoint {folder} describes a model this avlab cannot build: {exc}") from exc
    classes = list(meta["classes"])
    if len(classes) != config.num_classes:
        raise CheckpointError(f"The checkpoint {folder} lists {len(classes)} classes for a model with "
                              f"{config.num_classes} outputs.")
    try:
        model = AVModel(config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"The model of checkpoint {folder} could not be built: {exc}") from exc
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"The weights file of checkpoint {folder} is damaged ({exc}).") from exc
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"The weights of checkpoint {folder} do not match its model: {len(missing)} tensor(s) missing "
            f"(e.g. {missing[:3]}) and {len(unexpected)} unexpected (e.g. {unexpected[:3]}).")
    wrong = [k for k, t in expected.items() if tuple(state[k].shape) != tuple(t.shape)]
    if wrong:
        k = wrong[0]
        raise CheckpointError(
            f"The weights of checkpoint {folder} do not match its model: {len(wrong)} tensor(s) have the wrong "
            f"shape, e.g. {k} is {tuple(state[k].shape)} but the model needs {tuple(expected[k].shape)}.")
    model.load_state_dict({k: state[k].to(expected[k].dtype) for k in expected})
    model.float().eval()
    return LoadedCheckpoint(model=model, config=config, classes=classes, metadata=meta)


def update_metadata(path: str | os.PathLike, **fields) -> dict:
    """Add or update JSON fields (metrics, a model card...) in place, atomically.

    A dict value is merged into an existing dict field; anything else replaces
    it. The fields that describe the weights cannot be changed.
    """
    folder = Path(path)
    meta = read_metadata(folder)
    fixed = sorted(set(fields) & set(_FIXED_FIELDS))
    if fixed:
        raise CheckpointError(f"The field(s) {fixed} describe the weights and cannot be changed; "
                              f"save a new checkpoint instead.")
    for key, value in fields.items():
        if isinstance(value, Mapping) and isinstance(meta.get(key), dict):
            meta[key] = {**meta[key], **value}
        else:
            meta[key] = value
    _atomic_write(folder / CONFIG_FILE, json.dumps(meta, indent=2, default=_json_default))
    return meta


def _atomic_write(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_default(obj):
    # numpy scalars/arrays and tuples from metrics code; anything else is a caller bug.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


__all__ = ["CheckpointError", "LoadedCheckpoint", "save_checkpoint", "load_checkpoint", "read_metadata",
           "update_metadata", "FORMAT_VERSION", "WEIGHTS_FILE", "CONFIG_FILE"]
