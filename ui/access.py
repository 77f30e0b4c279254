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


def clip_refusal(source) -> str | None:
    """None when a clip's file (a path, or both files of a :class:`core.media.Pair`) may be read here, else the
    one sentence to show."""
    roots = data_roots()
    files = getattr(source, "files", None) or (source,)
    if roots is None or all(access.within(f, roots) for f in files):
        return None
    return access.refusal(roots)


DEVICES_REFUSED = ("This server does not open its own cameras and microphones for the people it serves; stream them "
                   "instead (e.g. ffmpeg -f v4l2 -i CAMERA -f mpegts udp://127.0.0.1:5000) and watch that URL.")


def live_refusal(text: str) -> str | None:
    """None when the Live page may open the source typed as ``text`` here, else one sentence: on a restricted
    server a file to replay must lie within the data roots and capture devices are not opened (stream URLs
    are read as they are)."""
    from core.live.sources import DEVICE_FORMATS, STREAM_SCHEMES

    roots = data_roots()
    text = str(text).strip()
    if roots is None or not text:
        return None
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in STREAM_SCHEMES:
        return None
    if scheme == "file":
        text = text[len("file://"):]
    elif scheme:
        return None  # not a source at all: core.live.parse_source says so
    elif text == "device" or text.split(":", 1)[0] in DEVICE_FORMATS:
        return DEVICES_REFUSED
    return None if access.within(text, roots) else access.refusal(roots)


__all__ = ["DEVICES_REFUSED", "clip_refusal", "data_refusal", "data_roots", "live_refusal", "restricted"]
