"""avlab: the dashboard's router and frame (page config, navigation, sidebar)."""
from __future__ import annotations

import logging

import streamlit as st

from ui.data import data_source_box
from ui.embeddings import warm_umap_in_background
from ui.models import model_picker, current_model, load_predictor

st.set_page_config(page_title="avlab", page_icon=":material/graphic_eq:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/predict.py", title="Predict", icon=":material/query_stats:"),
    st.Page("pages/corruption_lab.py", title="Corruption Lab", icon=":material/science:"),
    st.Page("pages/audio_images.py", title="Audio-images", icon=":material/image:"),
    st.Page("pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page("pages/robustness.py", title="Robustness", icon=":material/monitoring:"),
    st.Page("pages/report.py", title="Report", icon=":material/summarize:"),
    st.Page("pages/live.py", title="Live", icon=":material/sensors:"),
]


def sidebar() -> None:
    with st.sidebar:
        st.header("avlab")
        st.caption("Robustness of audio-visual fusion classifiers")
        model_picker()
        data_source_box()


page = st.navigation(PAGES)
sidebar()
try:
    page.run()
except Exception as exc:  # last line of defence: one sentence on the page, the traceback in the server log
    logging.getLogger("avlab").exception("page %s failed", page.title)
    st.error(f"Something went wrong on this page ({type(exc).__name__}); try another clip or model.")
else:
    # Load and warm up the model (torch, numba JIT) once per server, after the page is on screen.
    with st.sidebar:
        if (info := current_model(quiet=True)) is not None:
            load_predictor(info)
    warm_umap_in_background()  # UMAP's numba code compiles in a background thread, once per server
