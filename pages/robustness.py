"""Robustness: run a sweep or open a stored one; curves, corruption x severity grid, leaderboard,
per-class accuracy, confusion matrix and modality weights; drill down to the clips."""
from __future__ import annotations

import streamlit as st

from core import report as reports
from core.figures import (HEAD_TITLES, HEADS, accuracy_grid, condition_title, confusion, distinct_conditions,
                          modality_weights, per_class_bars, severity_curves)
from core.datasets import unreadable_sentence
from core.corruptions import suites
from core.results import ResultsError
from ui import robustness as rob, sweeps, tables
from ui.drill_down import drill_down

st.title("Robustness")
st.caption("How accuracy falls as corruptions get worse, for each head and fusion method.")
path = rob.database_picker()
rob.sweep_form(expanded=rob.experiments(path, rob.stamp(path)).empty)
eid = rob.experiment_picker("rob_experiment")
if eid is None:
    st.info(f"No sweep is stored in {path} yet: run one above, or with `python -m core.experiments run`.")
    st.stop()
try:
    stamp = rob.stamp(path)
    exp = rob.experiment(path, stamp, eid)
    metrics = rob.metrics(path, stamp, eid)
    names = [c["name"] for c in exp["checkpoints"]]
    reference = st.selectbox("mCE reference", rob.reference_choices(exp), key=f"rob_reference_{eid}",
                             format_func=lambda r: "AlexNet (ImageNet-C's published errors)" if r == "imagenet-c" else r,
                             help="The model whose errors the mCE is relative to (AlexNet in ImageNet-C's tables).")
    board = reports.leaderboard(rob.summary(path, stamp, eid, reference), exp)
    weights = rob.weights(path, stamp, eid)
except ResultsError as exc:
    st.error(str(exc))
    st.stop()
if not exp["complete"]:  # live: read again every few seconds while it is written, here or anywhere
    sweeps.live_progress(path, eid)
if metrics.empty:
    st.info("This experiment has no stored results yet; run it again to continue it.")
    st.stop()
if exp.get("skipped"):
    st.warning(unreadable_sentence(exp["skipped"]))

st.subheader("Leaderboard (fused head)")
suite = exp["config"].get("suite", "avlab")
st.caption(f"Suite: {rob.suite_label(suite)}"
           + (f" · {suites.SUITES[suite].source}" if suite in suites.SUITES and suite != "avlab" else ""))
tables.leaderboard(board, key="rob_leaderboard")
sweeps.compare_view(path, stamp, eid, rob.experiments(path, stamp))

st.subheader("Accuracy against severity")
shown = st.multiselect("Checkpoints", names, default=names, key="rob_curve_checkpoints")
st.plotly_chart(severity_curves(metrics, checkpoints=shown), key="rob_curves", config={"displaylogo": False})

st.subheader("Calibration error (ECE) against severity")
st.plotly_chart(severity_curves(metrics, checkpoints=shown, metric="ece"), key="rob_ece_curves",
                config={"displaylogo": False})
st.caption("ECE: the confidence-weighted gap between how sure a head is and how often it is right (15 bins); "
           "0 is perfectly calibrated. A head without input abstains and has no point.")

st.subheader("Corruption x severity")
left, right = st.columns([1, 1])
checkpoint = left.selectbox("Checkpoint", names, key="rob_checkpoint")
head = right.radio("Head", HEADS, index=2, format_func=HEAD_TITLES.get, key="rob_head", horizontal=True)
conditions = distinct_conditions(list(dict.fromkeys(metrics.loc[metrics["checkpoint"] == checkpoint, "condition"])))
if st.session_state.get("rob_condition") not in conditions:
    st.session_state["rob_condition"] = conditions[min(1, len(conditions) - 1)]  # the first corrupted one
grid, detail = st.columns([1, 1])
with grid:
    st.plotly_chart(accuracy_grid(metrics, checkpoint, head), key="rob_grid", selection_mode="points",
                    on_select=lambda: rob.pick_condition_from_grid("rob_grid", "rob_condition"),
                    config={"displaylogo": False})
    st.caption("Click a cell to see its classes, confusion matrix and clips.")
with detail:
    condition = st.selectbox("Condition", conditions, key="rob_condition", format_func=condition_title)
    rows = metrics[(metrics["checkpoint"] == checkpoint) & (metrics["condition"] == condition)].set_index("head")
    classes = next(c["classes"] for c in exp["checkpoints"] if c["name"] == checkpoint)
    st.plotly_chart(per_class_bars({h: rows.loc[h, "per_class_accuracy"] for h in HEADS if h in rows.index},
                                   classes), key="rob_per_class", config={"displayModeBar": False})
    if head in rows.index:
        st.plotly_chart(confusion(rows.loc[head, "confusion_matrix"], classes,
                                  title=f"{HEAD_TITLES[head]} · {condition_title(condition)}"),
                        key="rob_confusion", config={"displayModeBar": False})

st.subheader(f"How far to trust the {HEAD_TITLES[head].lower()} head under {condition_title(condition)}")
if head in rows.index:
    st.caption(rob.trust_caption(rows.loc[head]))
rob.trust_view(eid, checkpoint, condition, head, classes)

st.subheader(f"Clips under {condition_title(condition)}")
drill_down(eid, checkpoint, condition, int(exp["config"].get("seed", 0)))

mine = weights[weights["checkpoint"] == checkpoint]
st.subheader("Mean modality weights per condition")
if mine["weight_audio"].notna().any():
    st.plotly_chart(modality_weights(mine), key="rob_weights", config={"displayModeBar": False})
else:
    st.caption(f"{checkpoint} fuses without modality weights.")
