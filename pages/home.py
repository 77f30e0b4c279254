"""Home: what avlab is, and the clips of the current data source, playable."""
from __future__ import annotations

import streamlit as st

from core.datasets import LAYOUTS, unreadable_sentence
from ui.data import current_dataset
from ui.widgets import file_player

st.title("avlab")
st.markdown(
    "Interactive robustness experiments on **audio-visual fusion classifiers**: see what the "
    "audio-only, video-only and fused heads predict, corrupt a clip and watch the predictions move."
)

data = current_dataset()
if data is not None:
    st.subheader(f"Clips ({len(data)})")
    st.caption(f"Read as **{data.description}** ({LAYOUTS[data.layout].title}).")
    if data.skipped:
        st.warning(unreadable_sentence(data.skipped))
    paired = any(s.audio_path is not None for s in data.samples)
    st.dataframe(
        [{"clip": s.name, "label": s.label, "split": s.split,
          **({"video file": str(s.path), "audio file": str(s.audio_path or "")} if paired else {}),
          "timeline": " → ".join(seg[2] for seg in s.segments)} for s in data.samples],
        hide_index=True, width="stretch", key="home_table",
    )
    label = st.selectbox("Class", data.classes, key="home_class")
    chosen = [s for s in data.samples if s.label == label and not s.is_long]
    for column, sample in zip(st.columns(3), chosen[:3]):
        with column:
            file_player(sample.source, caption=sample.name)
    timelines = [s for s in data.samples if s.is_long]
    if timelines:
        st.subheader("Timeline clips (one state change)")
        for column, sample in zip(st.columns(3), timelines[:3]):
            with column:
                file_player(sample.source, caption=" → ".join(f"{seg[2]} at {seg[0]:.1f} s" for seg in sample.segments))
