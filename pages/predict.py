"""Predict: upload a clip or pick a sample; the audio-only, video-only and fused heads side by side."""
from __future__ import annotations

import streamlit as st

from core.media import MediaError, decoding_notes
from ui import analysis, charts
from ui.models import heads_note
from ui.widgets import (
    heads_summary, input_notes, padding_notice, page_inputs, player, timeline_caption, weights_caption, window_rows,
)

st.title("Predict")
st.caption("What each head of the model says about a clip: audio only, video only and fused.")
ref, info, clip = page_inputs("predict")

window, stride = 5.0, 1.0
if clip.duration > 5.0:
    left, right = st.columns(2)
    window = left.slider("Window (s)", 2.0, 5.0, 5.0, 0.5, key="predict_window",
                         help="The model was trained on 5 s windows; shorter ones are padded.")
    stride = right.slider("Stride (s)", 0.5, 5.0, 1.0, 0.5, key="predict_stride")

# Predictions first, so they are on screen before any re-encoding of the preview.
with st.spinner("Predicting…"):
    result = analysis.predict(info, ref, window=window, stride=stride)
pred = result.overall
st.subheader(f"Decision: {result.decision()}")
if result.windows:  # a timeline: the decision is its segments, not one mean over every state of the clip
    st.caption(timeline_caption(result))
if note := pred.unfamiliar_note():
    st.warning(note)
padding_notice(result)
if result.windows:
    st.caption(f"Each head averaged over all {len(result.windows)} windows:")
heads_summary(pred)
if note := heads_note(info):
    st.caption(note)
st.caption(weights_caption(pred) + f" · model {info.name}")
media, results = st.columns([1, 2])
with results:
    st.plotly_chart(charts.probability_bars(pred), key="predict_bars", config={"displayModeBar": False})
with media:
    try:
        player(clip, analysis.preview_mp4(ref.key, (), 0, ref) if clip.has_video else None,
               caption=f"{clip.duration:.{1 if clip.duration >= 1 else 2}f} s · "
                       f"{'video' if clip.has_video else 'no video'} · "
                       f"{'audio' if clip.has_audio else 'no audio'}")
    except MediaError as exc:
        st.error(str(exc))
    for note in decoding_notes(clip.metadata) + input_notes(clip, pred):
        st.caption(note)

if result.windows:
    st.subheader("Timeline")
    st.caption(f"Sliding {window:g} s windows every {stride:g} s; each head's class probabilities over time"
               + (" (true segments shaded)." if ref.segments else "."))
    st.plotly_chart(charts.timeline(result, ref.segments), key="predict_timeline")
    st.dataframe(window_rows(result), hide_index=True, key="predict_windows", height=220)
