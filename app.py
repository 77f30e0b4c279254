"""avlab: the dashboard's router and frame (page config, navigation, sidebar)."""
from __future__ import annotations

import streamlit as st

from ui.data import DATA_SOURCE_KEY, SAMPLE_DATA

st.set_page_config(page_title="avlab", page_icon=":material/graphic_eq:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
]


def sidebar() -> None:
    with st.sidebar:
        st.header("avlab")
        st.caption("Robustness of audio-visual fusion classifiers")
        st.text_input(
            "Data source (folder with manifest.csv, or a folder per class)",
            value=str(SAMPLE_DATA),
            key=DATA_SOURCE_KEY,
            help="The sample clips by default; name any folder of your own clips.",
        )


sidebar()
st.navigation(PAGES).run()
