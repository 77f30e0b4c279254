"""Cached access to data sets and clips for the pages."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.datasets import Dataset, DatasetError, load_dataset

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
DATA_SOURCE_KEY = "data_source"


@st.cache_data(show_spinner=False)
def dataset(source: str, mtime: float) -> Dataset:
    """The data set at ``source``; ``mtime`` keys the cache so a regenerated set is re-read."""
    return load_dataset(source)


def source_mtime(source: Path) -> float:
    """The modification time of a data source's manifest (or of the source itself): a cache key."""
    manifest = source / "manifest.csv" if source.is_dir() else source
    return manifest.stat().st_mtime if manifest.exists() else source.stat().st_mtime if source.exists() else 0.0


def current_dataset() -> Dataset | None:
    """The data set picked in the sidebar, or None (with an error shown) when it cannot be read."""
    source = Path(st.session_state.get(DATA_SOURCE_KEY) or SAMPLE_DATA)
    try:
        return dataset(str(source), source_mtime(source))
    except DatasetError as exc:
        st.error(str(exc))
        return None
