"""The models the sidebar offers (shipped checkpoints and the user's own), the device, and the cached model."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from core import access
from core.models import CHECKPOINTS, HEADS, ModelError, ModelInfo, find_models, model_info
from ui import access as ui_access

MODEL_KEY = "checkpoint"
DEVICE_KEY = "device"
MODELS_ENV = "AVLAB_MODELS"
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker; ``key`` (path + file times) keys every cache that depends on the model."""

    path: str
    key: str
    name: str  # unique among the choices
    info: ModelInfo
    shipped: bool

    @property
    def title(self) -> str:
        return self.info.title_as(self.name)

    @property
    def ablated(self) -> tuple[str, ...]:
        return tuple(h for h in HEADS if h not in self.info.native_heads)


def _stamp(path: Path) -> int:
    """Newest modification time (ns) of the model's files: a retrained or re-exported model gets a new key."""
    files = [path] if path.is_file() else [p for p in path.iterdir() if p.is_file()]
    if path.is_file() and path.name.endswith(".avlab.json"):
        files += [p for p in path.parent.iterdir() if p.name.startswith(path.name[: -len(".avlab.json")])]
    return max((p.stat().st_mtime_ns for p in files), default=0)


def user_roots() -> list[Path]:
    """The folders named in ``AVLAB_MODELS`` (``:``-separated)."""
    return [Path(p).expanduser() for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p.strip()]


def scan() -> tuple[list[ModelChoice], list[str]]:
    """Every model: the shipped checkpoints (default first), then those under ``AVLAB_MODELS``; and problems."""
    shipped, problems = [], []
    for p in sorted(CHECKPOINTS.glob("*/config.json")):
        try:
            shipped.append(model_info(p.parent))
        except ModelError:
            continue
    default = default_name()
    shipped.sort(key=lambda i: i.name != default)
    user = []
    for root in user_roots():
        found, bad = find_models(root)
        user += found
        problems += bad
    user, refused = allowed_models(user)
    problems += refused
    choices, seen = [], {}
    for info, is_shipped in [(i, True) for i in shipped] + [(i, False) for i in user]:
        seen[info.name] = seen.get(info.name, 0) + 1
        name = info.name if seen[info.name] == 1 else f"{info.name}#{seen[info.name]}"
        path = Path(info.path)
        choices.append(ModelChoice(info.path, f"{path.resolve()}@{_stamp(path)}", name, info, is_shipped))
    return choices, problems


def refusal(path: str) -> str | None:
    """Why the model at ``path`` may not be loaded here (:func:`core.access.model_refusal`: a ``python`` model's
    code, or on a restricted server any model's files, outside the shipped checkpoints and AVLAB_MODELS), or None.
    """
    try:
        return access.model_refusal(path, access.model_roots(shipped=CHECKPOINTS), restricted=ui_access.restricted())
    except ModelError as exc:
        return str(exc)


def allowed_models(infos: list[ModelInfo]) -> tuple[list[ModelInfo], list[str]]:
    """The models that may be loaded here, and one sentence for each that may not."""
    kept, refused = [], []
    for info in infos:
        if why := refusal(info.path):
            refused.append(why)
        else:
            kept.append(info)
    return kept, refused


def models() -> list[ModelChoice]:
    """Every model the picker offers (shipped default first)."""
    return scan()[0]


def default_name() -> str | None:
    marker = CHECKPOINTS / "DEFAULT"
    return marker.read_text().strip() if marker.is_file() else None


def model_picker() -> None:
    """The sidebar's model selectbox (the default preselected) and device setting."""
    found, problems = scan()
    for problem in problems:
        st.warning(problem)
    if not found:
        st.warning("No model was found: train one with `python -m core.training`, or name a folder of your "
                   f"own models in {MODELS_ENV}.")
        return
    names = [c.name for c in found]
    if st.session_state.get(MODEL_KEY) not in names:
        st.session_state[MODEL_KEY] = names[0]
    details = {c.name: c.title.partition(" · ")[2] for c in found}
    # the box shows the name alone (a whole title is cut off in the sidebar); the caption under it the rest
    chosen = st.selectbox("Model", names, key=MODEL_KEY,
                          help="The shipped checkpoints and the models in the folders named in AVLAB_MODELS: "
                               "format, classes, and which heads are the model's own (the others are ablations: the "
                               "whole model with the other modality zeroed and masked).")
    st.caption(details.get(chosen, ""))
    st.selectbox("Device", available_devices(), key=DEVICE_KEY,
                 help="Where the model runs: auto takes the GPU when there is one (with bfloat16 on CUDA).")


def available_devices() -> list[str]:
    """auto and cpu, and cuda / mps where this server has that GPU."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []) + \
        (["mps"] if mps is not None and mps.is_available() else [])


def current_model(*, quiet: bool = False) -> ModelChoice | None:
    """The model picked in the sidebar, its key ending in the device setting (None, with an error shown
    unless ``quiet``, when there is none)."""
    found = {c.name: c for c in models()}
    choice = found.get(st.session_state.get(MODEL_KEY)) or next(iter(found.values()), None)
    if choice is None:
        if not quiet:
            st.error("No model is available, so there is nothing to predict with; train one first.")
        return None
    return replace(choice, key=f"{choice.key}|{st.session_state.get(DEVICE_KEY) or 'auto'}")


@st.cache_resource(show_spinner=False, max_entries=4)
def predictor(key: str, path: str):
    """The model, loaded once per key (path, file times, ``|device``) and warmed up (JIT, mel filters)."""
    import numpy as np

    from core.inference import Predictor
    from core.media import Clip

    if why := refusal(path):  # never run code from elsewhere, whatever asked for it
        raise ModelError(why)
    device = key.rpartition("|")[2] if "|" in key else "auto"
    loaded = Predictor.load(path, device=device if device in DEVICES else "auto")
    blank = Clip(frames=np.zeros((8, 32, 32, 3), np.uint8), fps=8.0,
                 audio=np.full(16_000, 1e-3, np.float32), duration=1.0)
    loaded.predict(blank)
    return loaded


def load_predictor(choice: ModelChoice):
    """The cached model, or None with one plain sentence shown when it cannot be loaded or run."""
    try:
        with st.spinner(f"Loading {choice.name} (first time only)…"):
            return predictor(choice.key, choice.path)
    except ModelError as exc:
        st.error(str(exc))
        return None


def heads_note(choice: ModelChoice) -> str:
    """'' when every head is the model's own, else a sentence naming the ablated heads."""
    if not choice.ablated:
        return ""
    names = " and ".join(f"{h}-only" for h in choice.ablated)
    plural = len(choice.ablated) > 1
    return (f"{names[0].upper() + names[1:]} {'heads are ablations' if plural else 'head is an ablation'}: "
            f"{choice.name} has no such head{'s' if plural else ''}, so {'each' if plural else 'it'} is the whole "
            f"model fed the clip with the other modality zeroed and masked.")
