"""Session keys shared across pages: the current clip and the current corruptions.

A user uploads (or picks) a clip once and explores it on every page. Canonical
state lives under keys no widget owns (Streamlit drops a widget's state when its
page is not shown); pages initialise their widgets from it. Other pages open a
clip with :func:`open_clip` / :func:`open_in_lab`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import streamlit as st

from core.media import SEPARATOR, Pair, as_source

CLIP = "avlab_clip"
CORRUPTIONS = "avlab_corruptions"  # tuple of (name, severity), applied in order
SEED = "avlab_seed"
PREDICT_PAGE = "pages/predict.py"
LAB_PAGE = "pages/corruption_lab.py"
AUDIO_IMAGES_PAGE = "pages/audio_images.py"
LAB_WIDGET_PREFIX = "lab_"
FROM_SWEEP = "avlab_from_sweep"  # what a sweep stored for the clip opened from the Robustness drill-down


@dataclass(frozen=True)
class ClipRef:
    """Where the current clip comes from; ``key`` names it in every cache (path + mtime, or content hash)."""

    name: str
    key: str
    path: str | None = None  # a file, or a pair's "video + audio" (core.media.as_source)
    data: bytes | None = field(default=None, repr=False, compare=False)
    label: str | None = None  # the true class of a sample, when known
    segments: tuple = ()  # (start_s, end_s, label) of a timeline sample

    @property
    def source(self) -> Path | Pair | bytes:
        """What :func:`core.media.load_clip` decodes: the file, the pair of video and audio files, or the bytes."""
        return as_source(self.path) if self.path is not None else self.data


def sample_ref(path: str | Path | Pair, *, label: str | None = None, segments: Sequence = ()) -> ClipRef:
    """A data set's clip: a file, or a pair of video and audio files (a :class:`core.media.Pair` or its text)."""
    source = as_source(path)
    files = source.files if isinstance(source, Pair) else (source,)
    key = "file:" + SEPARATOR.join(f"{f.resolve()}@{f.stat().st_mtime_ns}" for f in files)
    return ClipRef(name=source.name, key=key, path=str(source), label=label, segments=tuple(tuple(s) for s in segments))


def upload_ref(name: str, data: bytes) -> ClipRef:
    return ClipRef(name=name, key=f"upload:{hashlib.sha1(data).hexdigest()}", data=bytes(data))


def current_clip() -> ClipRef | None:
    return st.session_state.get(CLIP)


def set_clip(ref: ClipRef) -> None:
    st.session_state[CLIP] = ref


def corruptions() -> tuple[tuple[str, int], ...]:
    return tuple(st.session_state.get(CORRUPTIONS, ()))


def seed() -> int:
    return int(st.session_state.get(SEED, 0))


def set_corruptions(steps: Sequence[tuple[str, int]], *, seed: int | None = None, reset_widgets: bool = False) -> None:
    """Store the corruptions; ``reset_widgets`` makes the Lab's widgets re-read them on its next run."""
    st.session_state[CORRUPTIONS] = tuple((str(n), int(s)) for n, s in steps)
    if seed is not None:
        st.session_state[SEED] = int(seed)
    if reset_widgets:
        for key in [k for k in st.session_state if str(k).startswith(LAB_WIDGET_PREFIX)]:
            del st.session_state[key]


def open_clip(path: str | Path, corruptions: Sequence[tuple[str, int]] | None = None, *,
              seed: int | None = None, page: str = PREDICT_PAGE, label: str | None = None,
              segments: Sequence = ()) -> None:
    """Make ``path`` the current clip (optionally with corruptions) and go to ``page``."""
    set_clip(sample_ref(path, label=label, segments=segments))
    if corruptions is not None:
        set_corruptions(corruptions, seed=seed, reset_widgets=True)
    st.switch_page(page)


def open_in_lab(path: str | Path, corruptions: Sequence[tuple[str, int]] = (), *, seed: int | None = None,
                **kwargs) -> None:
    """Open ``path`` in the Corruption Lab with e.g. ``[("gaussian_blur", 3)]`` applied."""
    open_clip(path, corruptions, seed=seed, page=LAB_PAGE, **kwargs)


@dataclass(frozen=True)
class FromSweep:
    """A clip opened from a sweep's row: the model, corruptions and seed it was scored with, and the class
    probabilities the sweep stored per head (``probs``: head -> one per class, in ``classes`` order)."""

    experiment: int
    model: str
    model_key: str
    clip_key: str
    steps: tuple
    seed: int
    classes: tuple
    probs: dict
    answered: dict

    def matches(self, clip_key: str, model_key: str, steps: Sequence, seed: int) -> bool:
        """Whether the Lab shows the input the sweep scored: same clip, model (device aside), corruptions, seed."""
        return (clip_key == self.clip_key and (model_key.rpartition("|")[0] or model_key) == self.model_key
                and tuple(tuple(s) for s in steps) == tuple(tuple(s) for s in self.steps) and int(seed) == self.seed)


def set_from_sweep(row: FromSweep) -> None:
    st.session_state[FROM_SWEEP] = row


def from_sweep() -> FromSweep | None:
    return st.session_state.get(FROM_SWEEP)
