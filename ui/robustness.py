"""The results database for the Robustness and Report pages: cached reads, the experiment picker,
the sweep form with live progress, and the drill-down to clips.

Reads are cached on (database path, its and its WAL's mtimes, experiment id), so a sweep writing
to the database (from this page or the command line) invalidates them by itself.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import corruptions
from core.corruptions import suites
from core import report as reports
from core.experiments import ExperimentConfig, ExperimentError, run_experiment
from core.figures import HEAD_TITLES, HEADS, condition_title, reliability_diagram, risk_coverage_curves
from core.media import source_name
from core.results import (
    CLEAN, SHIPPED_DB, ResultsDB, ResultsError, default_db_path, is_shipped, parse_condition, references,
)
from core.metrics import reliability
from core.trust.selective import risk_coverage
from ui import session
from ui.data import DATA_SOURCE_KEY, SAMPLE_DATA
from ui.models import models, current_model

EXPERIMENT = "avlab_experiment"  # the experiment open on the Robustness and Report pages
DEFAULT_CORRUPTIONS = ("mute", "gaussian_blur", "audio_gaussian_noise")


DATABASE = "avlab_database"  # which results the Robustness and Report pages read: "yours" or "shipped"
READING = "avlab_database_path"  # the database this run of the page reads (set by database_picker)
SHOW_YOURS = "avlab_database_show_yours"  # a sweep just ran: read the user's database from the next run on
SWEEP_DONE = "avlab_sweep_done"  # the experiment a sweep just stored, said once on the next run


def own_path() -> str:
    """The user's results database, where sweeps run here are written (``$AVLAB_DB`` or results/avlab.db)."""
    return str(default_db_path())


def has_sweeps(path: str | Path) -> bool:
    return Path(path).is_file() and not experiments(str(path), stamp(str(path))).empty


def db_path() -> str:
    """The database the pages read: the one :func:`database_picker` chose at the top of this run (a sweep run
    further down switches to the user's own on the next run, not halfway through this one); else by default
    the user's own when it holds a sweep, else the shipped results (:data:`core.results.SHIPPED_DB`), else the
    user's (empty)."""
    return st.session_state.get(READING) or chosen_path()


def chosen_path() -> str:
    own = own_path()
    choice = st.session_state.get(DATABASE)
    if choice == "shipped" and SHIPPED_DB.is_file():
        return str(SHIPPED_DB)
    if choice == "yours" or has_sweeps(own) or not SHIPPED_DB.is_file():
        return own
    return str(SHIPPED_DB)


def shipped_note(path: str) -> str | None:
    """How the shipped results were made, in a sentence (None for another database)."""
    if not is_shipped(path):
        return None
    table = experiments(path, stamp(path))
    made = experiment(path, stamp(path), int(table["id"].iloc[0]))["config"].get("shipped", {}) if len(table) else {}
    return ("Shipped results (sample_data/results.db, read-only): every shipped checkpoint on the sample clips, "
            f"made with `{made.get('command', 'python -m core.experiments.shipped')}`"
            + (f" on {made['made']}" if made.get("made") else "")
            + f". Sweeps you run here go to your own database, {own_path()}.")


def database_picker() -> str:
    """Your results or the shipped ones (a choice only when both hold sweeps); returns the path to read, with a
    caption saying how shipped results were made."""
    own = own_path()
    if (done := st.session_state.pop(SWEEP_DONE, None)) is not None:
        st.success(f"Sweep done: experiment {done}.")
    if st.session_state.pop(SHOW_YOURS, False):
        st.session_state[DATABASE] = "yours"
    if SHIPPED_DB.is_file() and has_sweeps(own):
        st.session_state.setdefault(DATABASE, "yours")
        st.radio("Results", ["yours", "shipped"], key=DATABASE, horizontal=True,
                 on_change=lambda: st.session_state.pop(EXPERIMENT, None),
                 format_func=lambda c: f"your sweeps ({own})" if c == "yours" else
                 "shipped results (every checkpoint on the sample clips)")
    path = st.session_state[READING] = chosen_path()
    if note := shipped_note(path):
        st.caption(note)
    return path


def stamp(path: str) -> tuple[int, int]:
    """Changes whenever the database is written (SQLite in WAL mode writes the -wal file first)."""
    return tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in (Path(path), Path(path + "-wal")))


def _read(method: str, path: str, *args, **kwargs):
    with ResultsDB(path, create=False) as db:
        return getattr(db, method)(*args, **kwargs)


@st.cache_data(show_spinner=False, max_entries=16)
def experiments(path: str, stamp: tuple) -> pd.DataFrame:
    return _read("list_experiments", path) if Path(path).exists() else pd.DataFrame()


@st.cache_data(show_spinner=False, max_entries=16)
def experiment(path: str, stamp: tuple, eid: int) -> dict:
    return _read("get_experiment", path, eid)


@st.cache_data(show_spinner=False, max_entries=16)
def metrics(path: str, stamp: tuple, eid: int) -> pd.DataFrame:
    return _read("condition_metrics", path, eid)


@st.cache_data(show_spinner=False, max_entries=16)
def summary(path: str, stamp: tuple, eid: int, reference: str | None) -> pd.DataFrame:
    return _read("summary", path, eid, reference=reference)


@st.cache_data(show_spinner=False, max_entries=16)
def weights(path: str, stamp: tuple, eid: int) -> pd.DataFrame:
    return _read("modality_weights", path, eid)


@st.cache_data(show_spinner=False, max_entries=32)
def clip_rows(path: str, stamp: tuple, eid: int, checkpoint: str, condition: str) -> pd.DataFrame:
    """Per clip of one condition: true class, each head's prediction and whether it is right."""
    rows = _read("predictions", path, eid, checkpoint, condition)
    wide = rows.pivot_table(index=["clip_idx", "clip_path", "label"], columns="head",
                            values=["predicted_class", "correct", "confidence", "answered"], aggfunc="first")
    out = pd.DataFrame({"clip": [source_name(p) for p in wide.index.get_level_values("clip_path")],
                        "clip_idx": wide.index.get_level_values("clip_idx"),
                        "path": wide.index.get_level_values("clip_path"), "true class": wide.index.get_level_values("label")})
    for head in HEADS:
        out[HEAD_TITLES[head]] = [f"{'✓' if ok else '✗'} {c} {p:.0%}" if said else "no input" for c, ok, p, said in zip(
            wide[("predicted_class", head)], wide[("correct", head)], wide[("confidence", head)],
            wide[("answered", head)])]
    out["fused right"] = wide[("correct", "fused")].astype(bool).to_numpy()
    out["fused confidence"] = wide[("confidence", "fused")].to_numpy(float)
    return out.reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=32)
def head_rows(path: str, stamp: tuple, eid: int, checkpoint: str, condition: str, head: str) -> pd.DataFrame:
    """One head's per-clip rows under one condition: label, probs, confidence, correct, answered."""
    rows = _read("predictions", path, eid, checkpoint, condition)
    return rows[rows["head"] == head].reset_index(drop=True)


def trust_caption(row) -> str:
    """One head's trust scores under one condition (a ``condition_metrics`` row) in a sentence."""
    if not row["coverage"] > 0:
        return "This head had no input under this condition: it abstained on every clip."
    if row["accuracy_at_90"] == row["accuracy_at_90"]:
        selective = f"answering only its 90% most confident, it is right {row['accuracy_at_90']:.0%}"
    elif row["coverage"] < 0.9:
        selective = "it answers fewer than 90% of the clips"
    else:
        selective = "too few clips to set the least confident 10% aside"
    return (f"Answers {row['coverage']:.0%} of the clips; ECE {row['ece']:.3f}, Brier {row['brier']:.3f}, "
            f"NLL {row['nll']:.3f}; {selective} (AURC {row['aurc']:.3f}, lower is better).")


def trust_view(eid: int, checkpoint: str, condition: str, head: str, classes: list[str]) -> None:
    """Reliability diagram and risk-coverage curve of one head, clean against ``condition``."""
    path = db_path()
    curves, bins = {}, {}
    for cond in dict.fromkeys([CLEAN, condition]):
        rows = head_rows(path, stamp(path), eid, checkpoint, cond, head)
        said = rows["answered"].to_numpy(bool)
        index = {c: i for i, c in enumerate(classes)}
        y = rows["label"].map(index).to_numpy()
        probs = np.stack(rows["probs"].to_numpy()) if len(rows) else np.zeros((0, len(classes)))
        bins[condition_title(cond)] = reliability(y[said], probs[said])
        curves[condition_title(cond)] = risk_coverage(rows["confidence"].to_numpy(), rows["correct"].to_numpy(), said)
    left, right = st.columns(2)
    left.plotly_chart(reliability_diagram(bins, title=f"Reliability · {HEAD_TITLES[head]}"),
                      key="rob_reliability", config={"displayModeBar": False})
    right.plotly_chart(risk_coverage_curves(curves, title=f"Risk-coverage · {HEAD_TITLES[head]}"),
                       key="rob_risk_coverage", config={"displayModeBar": False})


@st.cache_data(show_spinner=False, max_entries=8)
def report(path: str, stamp: tuple, eid: int, reference: str | None) -> reports.Report:
    return reports.build(eid, db=path, reference=reference)


@st.cache_data(show_spinner=False, max_entries=4)
def report_files(path: str, stamp: tuple, eid: int, reference: str | None) -> tuple[str, bytes]:
    """The self-contained HTML report and the zip of CSV tables."""
    built = report(path, stamp, eid, reference)
    return reports.to_html(built), reports.csv_zip(built)


def experiment_picker(key: str) -> int | None:
    """A selectbox of the stored experiments (the newest first, or the one open on another page)."""
    path = db_path()
    table = experiments(path, stamp(path))
    if table.empty:
        return None
    ids = [int(i) for i in table["id"][::-1]]
    titles = {int(r.id): experiment_title(r, experiment(path, stamp(path), int(r.id))) for r in table.itertuples()}
    if st.session_state.get(EXPERIMENT) not in ids:
        st.session_state[EXPERIMENT] = ids[0]
    st.session_state[key] = st.session_state[EXPERIMENT]
    chosen = st.selectbox("Experiment", ids, key=key, format_func=titles.get,
                          on_change=lambda: st.session_state.update({EXPERIMENT: st.session_state[key]}),
                          help=f"Every sweep stored in {path}.")
    return int(chosen)


def experiment_title(row, exp: dict) -> str:
    """One line telling sweeps apart: id, models, suite and corruptions, clips, when, and progress if unfinished,
    e.g. "#3 · concat, late · avlab: mute, gaussian_blur at 1, 3, 5 · 21 clips · 30 Nov 05:40"."""
    conditions = [parse_condition(c) for c in exp.get("conditions", []) if c != CLEAN]
    names = list(dict.fromkeys(n for n, _ in conditions))
    # the severities swept (a single-level corruption such as mute runs at 1 only and says nothing about them)
    levels = sorted({s for n, s in conditions if n not in corruptions.REGISTRY or len(corruptions.levels(n)) > 1})
    what = ", ".join(names) if len(names) <= 3 else f"{len(names)} corruptions"
    at = f" at {', '.join(map(str, levels))}" if levels else ""
    when = "" if pd.isna(row.created) else f" · {pd.Timestamp(row.created):%d %b %Y %H:%M}"
    done = "" if pd.isna(row.progress) or row.progress >= 1 else f" · {row.progress:.0%} done"
    return (f"#{row.id} · {row.checkpoints} · {exp['config'].get('suite', 'avlab')}: {what}{at} · {row.clips} clips"
            f"{when}{done}")


def sweep_form(*, expanded: bool) -> None:
    """Choose a suite, checkpoints, corruptions and severities; run the sweep here or on a Ray cluster (the
    ``Run on`` field), with live progress."""
    found = {i.name: i for i in models()}
    current = current_model(quiet=True)
    with st.expander("Run a sweep", expanded=expanded):
        name = st.selectbox("Suite", suites.names(), key="rob_sweep_suite", format_func=suite_label,
                            help="A published protocol's corruptions and severities, so the numbers compare with "
                                 "its tables; avlab is this lab's own set.")
        protocol = suites.suite(name)
        st.caption(f"{protocol.protocol} Source: {protocol.source}.")
        own = name == "avlab"
        with st.form("rob_sweep"):
            names = st.multiselect("Checkpoints", list(found), default=[current.name] if current else [],
                                   key="rob_sweep_checkpoints")
            offered = corruptions.names() if own else [n for n in protocol.corruptions if n in corruptions.REGISTRY]
            picked = st.multiselect("Corruptions", offered, default=list(DEFAULT_CORRUPTIONS) if own else offered,
                                    key="rob_sweep_corruptions" if own else f"rob_sweep_corruptions_{name}", format_func=corruptions.label)
            left, right = st.columns(2)
            severities = left.multiselect("Severities", list(protocol.severities),
                                          default=[1, 3, 5] if own else list(protocol.severities),
                                          key="rob_sweep_severities" if own else f"rob_sweep_severities_{name}",
                                          help="Corruptions with one level (mute, video off) run once, at severity 1.")
            limit = int(right.number_input("Clips (0 = all single-label clips of the data source)", min_value=0,
                                           value=0, step=10, key="rob_sweep_limit"))
            where = st.text_input("Run on", value="local", key="rob_sweep_address",
                                  help="local: in this app's process. A Ray cluster: auto (the cluster this machine "
                                       "belongs to), ray://HOST:10001 or HOST:PORT; ray: a Ray started on this "
                                       "machine. Data and models must be at the same paths on every node "
                                       "(docs/RAY.md); the results are written here either way.").strip()
            source = st.session_state.get(DATA_SOURCE_KEY) or str(SAMPLE_DATA)
            st.caption(f"Data: {source} (the sidebar's data source) · clean is always included · "
                       f"seed {session.seed()}")
            if not st.form_submit_button("Run sweep", key="rob_run", type="primary"):
                return
    if not names or not picked or not severities:
        st.error("Choose at least one checkpoint, one corruption and one severity.")
        return
    try:
        config = ExperimentConfig(checkpoints=[found[n].path for n in names], data=source, suite=name,
                                  corruptions=picked, severities=sorted(severities), seed=session.seed(),
                                  limit=limit or None)
    except ExperimentError as exc:
        st.error(str(exc))
        return
    with st.status("Running the sweep…", expanded=True) as status:
        bar = st.progress(0.0, text="Loading checkpoints and clips…")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(done / max(total, 1), text=f"{done} of {total} clip-conditions · {message}")

        try:
            on_ray = where not in ("", "local")
            eid = run_experiment(config, db=own_path(), progress=progress, backend="ray" if on_ray else "local",
                                 address=where if on_ray and where != "ray" else None)
        except ExperimentError as exc:
            status.update(label="The sweep could not run.", state="error")
            st.error(str(exc))
            return
        status.update(label=f"Sweep done: experiment {eid}.", state="complete", expanded=False)
    st.session_state[EXPERIMENT] = eid
    # show what was just run: the next run reads the user's database (the picker, drawn already, takes it then)
    st.session_state[SHOW_YOURS] = True
    st.session_state[SWEEP_DONE] = eid
    st.session_state.pop(READING, None)
    st.rerun()


def suite_label(name: str) -> str:
    """'ImageNet-C (imagenet-c)', 'avlab (this lab's own set)'."""
    return "avlab (this lab's own set)" if name == "avlab" else f"{suites.suite(name).title} ({name})"


def reference_choices(exp: dict) -> list[str]:
    """The mCE references a stored sweep can be set against: the suite's own first, then its models,
    then AlexNet's published ImageNet-C errors."""
    names = [c["name"] for c in exp["checkpoints"]]
    own = suites.SUITES.get(exp["config"].get("suite", "avlab"))
    first = [own.reference] if own and own.reference else []
    return list(dict.fromkeys(first + names + [references.IMAGENET_C]))


def pick_condition_from_grid(grid_key: str, condition_key: str) -> None:
    """on_select callback of the accuracy grid: the clicked cell becomes the drill-down condition."""
    points = (st.session_state.get(grid_key) or {}).get("selection", {}).get("points", [])
    if points and points[0].get("customdata"):
        st.session_state[condition_key] = points[0]["customdata"][0]


__all__ = ["EXPERIMENT", "db_path", "stamp", "experiments", "experiment", "metrics", "summary", "weights",
           "clip_rows", "report", "report_files", "experiment_picker", "sweep_form", "pick_condition_from_grid",
           "head_rows", "trust_caption", "trust_view", "ResultsError"]
