"""What the dashboard may keep in memory when several people use one server: cache budgets, uploads cached
per session, and the upload limit.

Every cache of a clip (decoded, corrupted, encoded, previewed) is bounded twice: by entries and by bytes
(``st.cache_data(max_size=...)`` counts the pickled bytes of the stored values). A data set's clip is
cached once for every session (``scope="global"``); an upload's clip is cached in the session that
uploaded it (``scope="session"``): no other session can reach it, and Streamlit drops it when that
session disconnects. The figures and the worst case they add up to are in docs/DEPLOY.md ("Memory").
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

MiB = 2**20
UPLOAD_PREFIX = "upload:"  # ui.session.upload_ref keys an upload on its content hash under this prefix
TTL_S = 3600  # an entry nobody asked for in an hour goes, so an idle server gives its memory back


@dataclass(frozen=True)
class Budget:
    """Bounds of one cached function: entries and pickled bytes, shared (data-set clips) and per session
    (uploads)."""

    entries: int
    bytes: int
    session_entries: int
    session_bytes: int


# The largest clip the pages decode is 60 s at 320 px on its longest side (ui.analysis.MAX_SIDE,
# MAX_SECONDS): 1,500 frames of 320 x 180 x 3 bytes, 259 MB (461 MB for a square picture); a sample clip
# is 6 MB (5 s at 160 px), a timeline clip 33 MB. A value bigger than its budget is still cached alone.
BUDGETS: dict[str, Budget] = {
    "decoded": Budget(8, 512 * MiB, 2, 512 * MiB),
    "corrupted_frames": Budget(8, 512 * MiB, 4, 512 * MiB),
    "corrupted_audio": Budget(32, 64 * MiB, 16, 64 * MiB),  # 60 s at 16 kHz float32: 3.8 MB
    "branch": Budget(64, 32 * MiB, 32, 16 * MiB),  # embeddings per window: kilobytes
    "media_info": Budget(256, 4 * MiB, 16, 1 * MiB),  # a dict of a few fields
    "preview_mp4": Budget(16, 256 * MiB, 4, 128 * MiB),  # an upload is at most the upload limit
    "audio_image": Budget(64, 64 * MiB, 16, 16 * MiB),  # 256 x 512 RGB: 393 kB
    "representation": Budget(32, 128 * MiB, 8, 32 * MiB),  # a 60 s mel spectrogram: 128 x 1,876 float32, 1 MB
    "model_frames": Budget(16, 16 * MiB, 8, 8 * MiB),  # 8 x 112 x 112 RGB: 301 kB
}


def clip_cache(name: str) -> Callable:
    """Decorator caching a function whose ``clip_key`` argument names a clip: in one cache shared by every
    session for a data set's clip, in the calling session's own cache for an upload (key starting with
    :data:`UPLOAD_PREFIX`), each bounded by ``BUDGETS[name]`` and :data:`TTL_S`.

    An upload's clip asked for outside a session (a script, a test) is computed and not cached. The wrapper
    keeps ``clear()`` (both caches) and exposes the two as ``shared`` and ``own``.
    """
    budget = BUDGETS[name]

    def wrap(fn: Callable) -> Callable:
        position = list(inspect.signature(fn).parameters).index("clip_key")
        shared = st.cache_data(fn, show_spinner=False, max_entries=budget.entries, max_size=budget.bytes,
                               ttl=TTL_S)
        own = st.cache_data(fn, show_spinner=False, max_entries=budget.session_entries,
                            max_size=budget.session_bytes, ttl=TTL_S, scope="session")

        @functools.wraps(fn)
        def call(*args, **kwargs):
            key = kwargs["clip_key"] if "clip_key" in kwargs else args[position]
            if not str(key).startswith(UPLOAD_PREFIX):
                return shared(*args, **kwargs)
            if get_script_run_ctx(suppress_warning=True) is None:  # no session (a script, a test): not cached
                return fn(*args, **kwargs)
            return own(*args, **kwargs)

        def clear() -> None:
            shared.clear()
            try:
                own.clear()
            except Exception:  # noqa: BLE001 - no session here (a script outside Streamlit): nothing of one to clear
                pass

        call.clear, call.shared, call.own, call.budget = clear, shared, own, budget
        return call

    return wrap


def upload_limit_mb() -> int:
    """The upload limit in MB: ``server.maxUploadSize`` (.streamlit/config.toml), the one number both
    Streamlit's uploader and the app's own check use."""
    return int(st.get_option("server.maxUploadSize"))


def upload_refusal(size: int) -> str | None:
    """The sentence for an upload of ``size`` bytes over the limit (the one Streamlit's uploader shows for a
    file it refuses in the browser, which counts a MB as 2**20 bytes), or None when it fits."""
    limit = upload_limit_mb()
    return f"File must be {limit:.1f}MB or smaller." if size > limit * MiB else None


__all__ = ["BUDGETS", "Budget", "MiB", "TTL_S", "UPLOAD_PREFIX", "clip_cache", "upload_limit_mb", "upload_refusal"]
