"""The shipped checkpoints, the sidebar's choice among them, and the cached model."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.models import CheckpointError, read_metadata

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
CHECKPOINT_KEY = "checkpoint"


@dataclass(frozen=True)
class CheckpointInfo:
    path: str
    key: str  # path + weights mtime: keys every cache that depends on the model
    name: str
    fusion: str
    accuracy: float | None  # fused test accuracy

    @property
    def title(self) -> str:
        acc = "no test accuracy" if self.accuracy is None else f"fused test acc. {self.accuracy:.1%}"
        return f"{self.name} · {self.fusion} · {acc}"


def _info(folder: Path) -> CheckpointInfo | None:
    try:
        meta = read_metadata(folder)
    except CheckpointError:
        return None
    weights = folder / "model.safetensors"
    mtime = weights.stat().st_mtime_ns if weights.exists() else 0
    acc = ((meta.get("metrics") or {}).get("test") or {}).get("fused", {}).get("accuracy")
    return CheckpointInfo(str(folder), f"{folder.resolve()}@{mtime}", folder.name,
                          str((meta.get("model") or {}).get("fusion", "?")), acc)


def checkpoints() -> list[CheckpointInfo]:
    """Every checkpoint folder under ``checkpoints/`` (those with a readable config.json), default first."""
    found = [i for i in (_info(p.parent) for p in sorted(CHECKPOINTS.glob("*/config.json"))) if i]
    default = default_name()
    return sorted(found, key=lambda i: i.name != default)


def default_name() -> str | None:
    marker = CHECKPOINTS / "DEFAULT"
    return marker.read_text().strip() if marker.is_file() else None


def checkpoint_picker() -> None:
    """The sidebar selectbox of checkpoints (the default preselected)."""
    found = checkpoints()
    if not found:
        st.warning("No checkpoint was found in checkpoints/; train one with `python -m core.training`.")
        return
    names = [i.name for i in found]
    if st.session_state.get(CHECKPOINT_KEY) not in names:
        st.session_state[CHECKPOINT_KEY] = names[0]
    titles = {i.name: i.title for i in found}
    st.selectbox("Checkpoint", names, key=CHECKPOINT_KEY, format_func=titles.get,
                 help="Every shipped checkpoint: its fusion method and fused test accuracy.")


def current_checkpoint(*, quiet: bool = False) -> CheckpointInfo | None:
    """The checkpoint picked in the sidebar (None, with an error shown unless ``quiet``, when there is none)."""
    found = {i.name: i for i in checkpoints()}
    info = found.get(st.session_state.get(CHECKPOINT_KEY)) or next(iter(found.values()), None)
    if info is None and not quiet:
        st.error("No checkpoint is available, so there is nothing to predict with; train one first.")
    return info


@st.cache_resource(show_spinner=False, max_entries=4)
def predictor(key: str, path: str):
    """The model of a checkpoint, loaded once per (path, mtime) and warmed up (JIT, mel filters)."""
    import numpy as np

    from core.inference import Predictor
    from core.media import Clip

    loaded = Predictor.load(path)
    blank = Clip(frames=np.zeros((8, 32, 32, 3), np.uint8), fps=8.0,
                 audio=np.full(16_000, 1e-3, np.float32), duration=1.0)
    loaded.predict(blank)
    return loaded


def load_predictor(info: CheckpointInfo):
    """The cached model, or None with one plain sentence shown when it cannot be loaded."""
    try:
        with st.spinner(f"Loading {info.name} (first time only)…"):
            return predictor(info.key, info.path)
    except CheckpointError as exc:
        st.error(str(exc))
        return None
