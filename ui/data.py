"""Cached access to data sets and clips for the pages."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.datasets import Dataset, DatasetError, load_dataset

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
DATA_SOURCE_KEY = "data_source"
DATA_SOURCE_LABEL = ("Data source (a data set's folder: manifest.csv, a folder per class, or UCF101, Kinetics, "
                     "VGGSound, DCASE 2021 Task 1B, CREMA-D, MIMII as they ship)")


@st.cache_data(show_spinner=False)
def dataset(source: str, mtime: float) -> Dataset:
    """The data set at ``source`` in whichever layout its index files show (:func:`core.datasets.load_dataset`);
    ``mtime`` keys the cache so a regenerated set is re-read."""
    return load_dataset(source)


def source_mtime(source: Path) -> float:
    """The latest modification time of a data source and what lies directly in it (its manifest or index
    files, its index and class folders): a cache key."""
    if not source.exists():
        return 0.0
    if source.is_file():
        return source.stat().st_mtime
    times = [source.stat().st_mtime]
    for child in source.iterdir():
        try:
            times.append(child.stat().st_mtime)
        except OSError:  # a dangling link
            continue
    return max(times)


def current_dataset() -> Dataset | None:
    """The data set picked in the sidebar, or None (with an error shown) when it cannot be read."""
    source = Path(st.session_state.get(DATA_SOURCE_KEY) or SAMPLE_DATA)
    try:
        return dataset(str(source), source_mtime(source))
    except DatasetError as exc:
        st.error(str(exc))
        return None
