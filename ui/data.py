"""Cached access to data sets and clips for the pages."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.access import keep_within
from core.datasets import Dataset, DatasetError, load_dataset
from ui import access
from ui.limits import TTL_S

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
DATA_SOURCE_KEY = "data_source"
DATA_REFUSED = "avlab_data_refused"  # the sentence for a refused folder, shown under the box on the next run
DATA_SOURCE_LABEL = ("Data source (a data set's folder: manifest.csv, a folder per class, or UCF101, Kinetics, "
                     "VGGSound, DCASE 2021 Task 1B, CREMA-D, MIMII as they ship)")


def default_source() -> str:
    """The data source a session starts on: the sample clips, or on a restricted server that does not allow
    them, its first allowed folder."""
    roots = access.data_roots()
    return str(SAMPLE_DATA) if roots is None or access.data_refusal(SAMPLE_DATA) is None else roots[0]


def _check_source() -> None:
    """on_change of the data source box: a folder this server may not read is put back to the default before
    any page reads it (the sweep form and the pages read the box's value), with one sentence why."""
    if refusal := access.data_refusal(st.session_state.get(DATA_SOURCE_KEY) or SAMPLE_DATA):
        st.session_state[DATA_SOURCE_KEY] = default_source()
        st.session_state[DATA_REFUSED] = refusal


def data_source_box() -> None:
    """The sidebar's data source box, and the sentence of a folder it refused (restricted servers only)."""
    st.text_input(
        DATA_SOURCE_LABEL,
        value=default_source(),
        key=DATA_SOURCE_KEY,
        on_change=_check_source,
        help="The sample clips by default; name any folder of your own clips, or a published data set's folder "
             "as it was downloaded (its layout is recognised from its index files)."
             + ("" if access.data_roots() is None else
                " This server reads only the folders named in AVLAB_DATA_ROOTS, and what lies below them."),
    )
    if refusal := st.session_state.pop(DATA_REFUSED, None):
        st.error(refusal)


def dataset(source: str, mtime: float) -> Dataset:
    """The data set at ``source`` in whichever layout its index files show (:func:`core.datasets.load_dataset`);
    ``mtime`` keys the cache so a regenerated set is re-read. On a restricted server, without the clips whose
    files lie outside the allowed folders (:func:`core.access.keep_within`)."""
    return _dataset(source, mtime, access.data_roots())


@st.cache_data(show_spinner=False, max_entries=16, ttl=TTL_S)
def _dataset(source: str, mtime: float, roots: tuple[str, ...] | None) -> Dataset:
    found = load_dataset(source)
    return found if roots is None else keep_within(found, roots)


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
    if refusal := access.data_refusal(source):  # before anything reads the folder: nothing of it is shown
        st.error(refusal)
        return None
    try:
        return dataset(str(source), source_mtime(source))
    except DatasetError as exc:
        st.error(str(exc))
        return None
