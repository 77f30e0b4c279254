"""The allowed-folders rules of :mod:`core.access` applied to this server: whether it is restricted
(``server.address`` and ``AVLAB_RESTRICT``), its data and model roots, and the sentences of a refusal."""
from __future__ import annotations

import os

import streamlit as st

from core import access


def restricted() -> bool:
    """Whether this server limits data and models to their roots (:func:`core.access.restricted` of Streamlit's
    ``server.address`` and the environment)."""
    return access.restricted(st.get_option("server.address"), os.environ)


def data_roots() -> tuple[str, ...] | None:
    """The folders data may be read from (real paths, a hashable cache key), or None when the server is open."""
    return tuple(str(access.real(r)) for r in access.data_roots()) if restricted() else None


def data_refusal(path: str | os.PathLike) -> str | None:
    """None when ``path`` may be read as data here, else the one sentence to show (naming the allowed folders,
    not the path)."""
    roots = data_roots()
    if roots is None or access.within(path, roots):
        return None
    return access.refusal(roots)


__all__ = ["data_refusal", "data_roots", "restricted"]
