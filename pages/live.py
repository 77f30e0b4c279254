"""Live: watch a running machine (a stream, a camera, or a replayed clip), see the heads move, get alerts."""
from __future__ import annotations

import streamlit as st

from core.live import AlertStore, LiveError, sentences
from core.live.figures import head_timelines, health_gauges, weights_timeline
from ui import live
from ui.charts import HEAD_TITLES
from ui.models import current_model, load_predictor

st.title("Live")
st.caption("Point the model at a running machine: the audio-only, video-only and fused heads every second, "
           "the health of each sense, and an alert (with its clip) when a fault persists.")
info = current_model()
predictor = load_predictor(info) if info is not None else None
if predictor is None:
    st.stop()
source = live.source_picker()
rules = live.rules_editor(predictor.classes)
left, mid, right = st.columns([1, 1, 2])
window = left.number_input("Window (s)", 1.0, 5.0, 5.0, 0.5, key="live_window",
                           help="The model was trained on 5 s windows; a shorter one is padded.")
stride = mid.number_input("Stride (s)", 0.5, 5.0, 1.0, 0.5, key="live_stride")
if note := live.padding_note(window):
    st.caption(note)
run = live.current_run()
with right:
    go, halt = st.columns(2)
    if go.button("Start", key="live_start", type="primary", disabled=source is None, width="stretch"):
        try:
            run = live.start(source, predictor, window=window, stride=stride, rules=rules)
        except LiveError as exc:
            st.error(str(exc))
    if halt.button("Stop", key="live_stop", disabled=run is None or not run.running, width="stretch"):
        live.stop()


@st.fragment(run_every=1.0 if run is not None and run.running else None)
def live_view() -> None:
    run = live.current_run()
    if run is None:
        st.info("Pick a source and press Start.")
        return
    seen = run.history.snapshot()
    windows, events = seen["windows"], seen["events"]
    state = "running" if run.running else "stopped"
    st.caption(f"{run.label} · {state} · {seen['count']} windows · model {info.name}")
    if run.error:
        st.error(run.error)
    for event in events[-3:]:
        st.caption(f"{event.time:.1f} s · {event.kind}: {event.message}")
    if not windows:
        st.info("Waiting for the first whole window…" if run.running else "No window was predicted.")
        return
    last = windows[-1]
    for column, head in zip(st.columns(3), HEAD_TITLES):
        label = last.prediction.label(head)
        column.metric(HEAD_TITLES[head], f"{label} {last.prediction.top(head)[1]:.0%}" if label else "no input")
    for note in sentences(last.flagged):
        st.warning(note[0].upper() + note[1:])
    frame, timeline = st.columns([1, 3])
    with frame:
        if seen["frame"] is not None:
            st.image(seen["frame"], caption=f"{last.end:.1f} s", width="stretch")
        live.level_meter(last.health.audio["level_now_dbfs"] if last.health.audio else None)
        lag = f"lag {last.lag:.2f} s · " if last.lag is not None else ""
        st.caption(f"{lag}processed in {last.processing * 1000:.0f} ms" +
                   (f" · {last.skipped} windows skipped (too slow for this stride)" if last.skipped else ""))
    timeline.plotly_chart(head_timelines(windows, predictor.classes, events=events, alerts=seen["alerts"]),
                          key="live_timeline")
    gauges, weights = st.columns([3, 2])
    gauges.plotly_chart(health_gauges(last), key="live_gauges", config={"displayModeBar": False})
    if last.prediction.weights is not None:
        weights.caption("Modality weights over time (the fused head's reliance on each sense)")
        weights.plotly_chart(weights_timeline(windows), key="live_weights", config={"displayModeBar": False})


@st.fragment(run_every=2.0 if run is not None and run.running else None)
def alerts_view() -> None:
    st.subheader("Alerts")
    if not live.alerts_db().exists():
        st.caption("No alerts yet.")
        return
    store = AlertStore(live.alerts_db())
    try:
        st.caption(f"Newest first, from {store.path}; each with the clip of the windows that raised it.")
        live.alert_list(store.alerts())
    finally:
        store.close()


live_view()
alerts_view()
