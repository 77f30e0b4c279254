"""avlab's ``python`` entry for the example model: ``build(config)`` returns the model with its weights.

export.py copies this file into a folder beside ``model.py`` and ``model_state.pt`` and
writes the folder's ``avlab.json``::

    {"format": "python", "entry": "wrapper.py:build", "weights": "model_state.pt", "classes": [...], ...}

avlab imports this file and calls ``build(config)`` with that JSON as a dict; what it returns
is called as ``model(video, audio) -> (audio_logits, video_logits, fused_logits)``. This
is trusted code: avlab runs python entries only from folders whoever runs it points at,
never from an upload.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def _model_module():
    """model.py from this folder, imported under a name that cannot clash with other models'."""
    spec = importlib.util.spec_from_file_location("custom_model_example_model", HERE / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(config: dict) -> torch.nn.Module:
    """The eval-mode model with the weights named by ``config["weights"]`` (default ``model_state.pt``)."""
    state = torch.load(HERE / config.get("weights", "model_state.pt"), map_location="cpu", weights_only=True)
    model = _model_module().build_model(**state["config"])
    model.load_state_dict(state["state_dict"])
    return model.eval()
