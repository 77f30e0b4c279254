"""The Robustness page's drill-down: the clips a cell of the grid was computed on, and one of them opened in
the Corruption Lab with the row's model, corruption and seed, beside the probabilities the sweep stored."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.figures import HEADS, condition_title
from core.media import source_files
from core.results import CLEAN, ResultsDB, parse_condition
from ui import session
from ui.models import MODEL_KEY, models
from ui.robustness import clip_rows, db_path, experiment, stamp

CLIP_FOR = "avlab_drill_down_cell"  # (experiment, checkpoint, condition) the "clip to open" box was filled for
OPEN_LAB = "avlab_drill_down_open"  # set by the open button's callback: go to the Lab on this run
OPEN_ERROR = "avlab_drill_down_error"


def read(method: str, path: str, *args):
    """One read of the results database at ``path`` (read-only where it is the shipped one)."""
    with ResultsDB(path, create=False) as db:
        return getattr(db, method)(*args)


def sweep_model(exp: dict, checkpoint: str):
    """The picker's model that a sweep's checkpoint was: the same folder or file, else the shipped checkpoint of
    that name (a sweep stored on another machine); None when the sidebar offers neither."""
    stored = next(c for c in exp["checkpoints"] if c["name"] == checkpoint)
    choices = models()
    where = Path(stored["path"]).resolve() if stored.get("path") else None
    return next((c for c in choices if where is not None and Path(c.path).resolve() == where), None) or \
        next((c for c in choices if c.shipped and c.name == checkpoint), None)


def _open_row(exp: dict, checkpoint: str, condition: str, seed: int, rows: pd.DataFrame) -> None:
    """on_click of "Open in the Corruption Lab": the row's clip, corruption, seed and model become the Lab's (a
    callback runs before the sidebar's model picker is drawn, so the picker can be set here), with the
    probabilities the sweep stored for that clip to compare against."""
    i = st.session_state.get("rob_clip")
    if i is None or i not in rows.index:
        return
    clip = rows.loc[i, "path"]
    if not all(f.exists() for f in source_files(clip)):
        st.session_state[OPEN_ERROR] = f"The clip '{clip}' is no longer on disk, so it cannot be opened."
        return
    choice = sweep_model(exp, checkpoint)
    if choice is None:
        st.session_state[OPEN_ERROR] = (f"The model {checkpoint} of this sweep ({next(c['path'] for c in exp['checkpoints'] if c['name'] == checkpoint)}) "
                                        "is not among the models the sidebar offers, so the clip cannot be opened "
                                        "with it.")
        return
    st.session_state[MODEL_KEY] = choice.name
    name, severity = parse_condition(condition)
    steps = [] if name == CLEAN else [(name, severity)]
    session.set_clip(session.sample_ref(clip, label=rows.loc[i, "true class"]))
    session.set_corruptions(steps, seed=seed, reset_widgets=True)
    path = db_path()
    stored = read("predictions", path, int(exp["id"]), checkpoint, condition)
    mine = stored[stored["clip_idx"] == rows.loc[i, "clip_idx"]].set_index("head")
    session.set_from_sweep(session.FromSweep(
        experiment=int(exp["id"]), model=choice.name, model_key=choice.key, clip_key=session.current_clip().key,
        steps=tuple(steps), seed=seed, classes=tuple(next(c["classes"] for c in exp["checkpoints"]
                                                          if c["name"] == checkpoint)),
        probs={h: tuple(float(p) for p in mine.loc[h, "probs"]) for h in HEADS if h in mine.index},
        answered={h: bool(mine.loc[h, "answered"]) for h in HEADS if h in mine.index}))
    st.session_state[OPEN_LAB] = True


def drill_down(eid: int, checkpoint: str, condition: str, seed: int, exp: dict | None = None) -> None:
    """The clips a cell was computed on, and one of them opened in the Corruption Lab with the row's model,
    corruption and seed (the Lab then shows the probabilities the sweep stored beside its own)."""
    path = db_path()
    exp = exp if exp is not None else experiment(path, stamp(path), eid)
    rows = clip_rows(path, stamp(path), eid, checkpoint, condition)
    wrong = int((~rows["fused right"]).sum())
    st.caption(f"{len(rows)} clips under {condition_title(condition)} with {checkpoint}; the fused head gets "
               f"{wrong} wrong.")
    st.dataframe(rows.drop(columns=["path", "fused right", "fused confidence", "clip_idx"]), hide_index=True,
                 key="rob_clips", height=240)
    # the most confident errors first: the clips where trusting the fused head would hurt most
    order = list(rows.assign(key=rows["fused confidence"].where(~rows["fused right"], -1.0))
                 .sort_values("key", ascending=False, kind="stable").index)
    if st.session_state.get(CLIP_FOR) != (eid, checkpoint, condition):  # another cell: start from its first clip
        st.session_state[CLIP_FOR] = (eid, checkpoint, condition)
        st.session_state["rob_clip"] = order[0]
    left, right = st.columns([3, 1])
    left.selectbox("Clip to open (the most confident errors first)", order, key="rob_clip",
                   format_func=lambda k: f"{'✓' if rows.loc[k, 'fused right'] else '✗'} {rows.loc[k, 'clip']} "
                                         f"(true {rows.loc[k, 'true class']}, fused {rows.loc[k, 'Fused']})")
    right.button("Open in the Corruption Lab", key="rob_open", width="stretch",
                 on_click=_open_row, args=(exp, checkpoint, condition, seed, rows),
                 help=f"Opens the clip with {checkpoint}, {condition_title(condition)} and seed {seed}, as the sweep "
                      "scored it.")
    if error := st.session_state.pop(OPEN_ERROR, None):
        st.error(error)
    if st.session_state.pop(OPEN_LAB, False):
        st.switch_page(session.LAB_PAGE)


__all__ = ["sweep_model", "drill_down", "read"]
