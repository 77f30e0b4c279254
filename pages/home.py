"""Home: what avlab is for, a start-here path (the default model in two lines, the headline robustness
result, the pages), and the clips of the current data source, playable and one click from Predict."""
from __future__ import annotations

import streamlit as st

from core.datasets import LAYOUTS, unreadable_sentence
from ui import home, session
from ui.data import current_dataset
from ui.models import current_model
from ui.widgets import file_player

st.title("avlab")
st.markdown(
    "Interactive robustness experiments on **audio-visual fusion classifiers**: see what the "
    "audio-only, video-only and fused heads predict, corrupt a clip and watch the predictions move, and "
    "measure how accuracy falls across a whole data set as corruptions get worse."
)

st.subheader("Start here")
model, result = st.columns(2)
with model:
    st.markdown("**The model**")
    info = current_model(quiet=True)
    if info is not None:
        for line in home.model_card(info):
            st.markdown(line)
with result:
    st.markdown("**How robust it is**")
    if (said := home.headline(info)) is not None:
        st.markdown(said[0])
        st.caption(said[1])
    else:
        st.markdown("No sweep is stored yet: run one on the Robustness page to measure it.")
PAGES = [("pages/predict.py", "Predict", ":material/query_stats:", "what each head says about a clip"),
         ("pages/corruption_lab.py", "Corruption Lab", ":material/science:", "break a clip, watch the heads move"),
         ("pages/audio_images.py", "Audio-images", ":material/image:", "the sound as the model's spectrograms"),
         ("pages/embeddings.py", "Embeddings", ":material/scatter_plot:", "do the classes separate"),
         ("pages/robustness.py", "Robustness", ":material/monitoring:", "accuracy against severity, per model"),
         ("pages/report.py", "Report", ":material/summarize:", "the results in plain words, to share")]
for column, (page, title, icon, what) in zip(st.columns(2) * 3, PAGES):  # two columns: no label cut off
    column.page_link(page, label=f"{title}: {what}", icon=icon)

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
    label = st.pills("Class", data.classes, default=data.classes[0] if data.classes else None, key="home_class",
                     help="Every class of the data source; three of its clips play below.") or \
        (data.classes[0] if data.classes else None)
    chosen = [s for s in data.samples if s.label == label and not s.is_long]
    for i, (column, sample) in enumerate(zip(st.columns(3), chosen[:3])):
        with column:
            file_player(sample.source, caption=sample.name)
            if st.button("Open in Predict", key=f"home_open_{i}", width="stretch"):
                session.open_clip(sample.source, label=sample.label)
    timelines = [s for s in data.samples if s.is_long]
    if timelines:
        st.subheader("Timeline clips (one state change)")
        for i, (column, sample) in enumerate(zip(st.columns(3), timelines[:3])):
            with column:
                file_player(sample.source, caption=" → ".join(f"{seg[2]} at {seg[0]:.1f} s" for seg in sample.segments))
                if st.button("Open in Predict", key=f"home_open_timeline_{i}", width="stretch"):
                    session.open_clip(sample.source, segments=sample.segments, label=None)
