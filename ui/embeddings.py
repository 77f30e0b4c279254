"""Cached embeddings and projections for the Embeddings page, and opening a chosen point.

Caches are keyed on (checkpoint path + mtime, data source + manifest mtime, split, limit,
corruption, severity, seed, head, method); the ``_`` arguments only say where to read from.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import embeddings as emb
from core.datasets import unreadable_sentence
from core.figures import HEAD_TITLES, HEADS, condition_title
from core.media import source_files, source_name
from ui import session
from ui.data import DATA_SOURCE_KEY, SAMPLE_DATA, source_mtime, dataset
from ui.models import ModelChoice, predictor

PENDING = "avlab_embeddings_open"  # the point chosen on the map, opened on the next run
_warm = {"umap": False, "started": False}  # per server process: has UMAP compiled its numba code yet?
WARM_ENV = "AVLAB_WARM_UMAP"  # "0" turns the warm-up off (the AppTest suite: no compiling behind every test)


def warm_umap_in_background() -> None:
    """Compile UMAP's numba code in a daemon thread, once per server process (started after the first page is
    on screen), so that the first UMAP a user asks for takes seconds, not the ~20 s of compiling
    (docs/PERFORMANCE.md, In the browser)."""
    if _warm["started"] or os.environ.get(WARM_ENV, "1") == "0":
        return
    _warm["started"] = True
    threading.Thread(target=_compile_umap, name="avlab-umap-warm-up", daemon=True).start()


def umap_compiling() -> bool:
    """Whether the background warm-up is compiling UMAP right now (started, not done)."""
    return _warm["started"] and not _warm["umap"]


@st.fragment(run_every=2)
def rerun_when_umap_is_ready() -> None:
    """Every 2 s, a rerun of the whole page once UMAP has compiled (its map then replaces the stand-in)."""
    if not umap_compiling():
        st.rerun()


def _compile_umap() -> None:
    # At normal priority: numba compiles holding the GIL, so a starved low-priority thread would hold back the
    # server's own threads (measured: the first UMAP took 50 s under load with the thread at niceness 10).
    # 60 points take the code paths of the page's maps (exact neighbours under 4,096 points, spectral start)
    started = time.perf_counter()
    emb.project(np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32), "umap", seed=0)
    _warm["umap"] = True
    logging.getLogger("avlab").info("UMAP compiled in the background in %.1f s", time.perf_counter() - started)


def data_source() -> tuple[str, float]:
    """The sidebar's data source and its manifest mtime (the cache key of the data set)."""
    source = Path(st.session_state.get(DATA_SOURCE_KEY) or SAMPLE_DATA)
    return str(source), source_mtime(source)


@st.cache_data(show_spinner=False, max_entries=8)
def embedding_set(ckpt_key: str, source: str, mtime: float, split: str | None, limit: int,
                  corruption: tuple | None, seed: int, _ckpt_path: str) -> emb.EmbeddingSet:
    samples = emb.select(dataset(source, mtime).samples, split=split, limit=limit)
    return emb.extract(predictor(ckpt_key, _ckpt_path), samples, corruption=corruption, seed=seed)


@st.cache_data(show_spinner=False, max_entries=64)
def projection(ckpt_key: str, source: str, mtime: float, split: str | None, limit: int, corruption: tuple | None,
               seed: int, head: str, method: str, _ckpt_path: str) -> np.ndarray:
    """(N, 2) map of the clean clips, or (2N, 2) of clean then corrupted in one shared space."""
    clean = embedding_set(ckpt_key, source, mtime, split, limit, None, seed, _ckpt_path).embeddings[head]
    if corruption is None:
        return emb.project(clean, method, seed=seed)
    broken = embedding_set(ckpt_key, source, mtime, split, limit, corruption, seed, _ckpt_path).embeddings[head]
    return np.concatenate(emb.project_pair(clean, broken, method, seed=seed))


@st.cache_data(show_spinner=False, max_entries=64)
def separation(ckpt_key: str, source: str, mtime: float, split: str | None, limit: int, corruption: tuple | None,
               seed: int, head: str, _ckpt_path: str) -> dict:
    s = embedding_set(ckpt_key, source, mtime, split, limit, corruption, seed, _ckpt_path)
    return emb.separation(s.embeddings[head], s.labels)


@st.cache_data(show_spinner=False, max_entries=64)
def _notes(ckpt_key: str, source: str, mtime: float, split: str | None, limit: int, corruption: tuple | None,
           seed: int, _ckpt_path: str) -> list[str]:
    sets = [embedding_set(ckpt_key, source, mtime, split, limit, c, seed, _ckpt_path)
            for c in [None] + ([corruption] if corruption is not None else [])]
    return set_notes(sets)


def notes(info: ModelChoice, split: str | None, limit: int, corruption: tuple | None, seed: int) -> list[str]:
    """Captions for what the maps cannot show (after :func:`maps`, whose sets they read from the cache)."""
    source, mtime = data_source()
    return _notes(info.key, source, mtime, split, limit, corruption, seed, info.path)


def set_notes(sets: list[emb.EmbeddingSet]) -> list[str]:
    """The clips left out because their files could not be decoded, and each head and condition whose clips
    all have the same embedding (one point on its map, e.g. every muted clip's audio embedding)."""
    out = [unreadable_sentence(sets[0].skipped)] if sets[0].skipped else []
    for s in sets:
        same = [HEAD_TITLES[h] for h in HEADS if len(s) > 1 and not emb.duplicates(s.embeddings[h]).any()]
        if same:
            where = "clean" if s.condition == emb.CLEAN else condition_title(s.condition)
            out.append(f"{' and '.join(same)}, {where}: all {len(s)} clips have the same embedding, "
                       f"so they are one point on the map.")
    return out


def maps(info: ModelChoice, split: str | None, limit: int, corruption: tuple | None, seed: int, method: str):
    """(table, points per head, scores per head and condition), computing what is not cached yet with a spinner."""
    source, mtime = data_source()
    args = (info.key, source, mtime, split, limit)
    with st.spinner(f"Embedding the clips with {info.name} (first time for this data set only)…"):
        sets = [embedding_set(*args, None, seed, info.path)]
        if corruption is not None:
            sets.append(embedding_set(*args, corruption, seed, info.path))
    note = "; the first UMAP compiles its code, about 20 s once per server" if method == "umap" and not _warm["umap"] \
        else ""
    with st.spinner(f"Projecting {len(sets[0])} clips with {emb.METHOD_LABELS[method]}{note}…"):
        points = {h: projection(*args, corruption, seed, h, method, info.path) for h in HEADS}
        if method == "umap":
            _warm["umap"] = True
        scores = {(h, s.condition): separation(*args, None if s.condition == emb.CLEAN else corruption, seed, h,
                                               info.path) for h in HEADS for s in sets}
    return point_table(sets), points, scores


def point_table(sets: list[emb.EmbeddingSet]) -> pd.DataFrame:
    """One row per point (clean clips first, then the corrupted ones): clip, path, label, condition,
    and each head's prediction, its probability and whether it is right."""
    parts = []
    for s in sets:
        part = pd.DataFrame({"clip": [source_name(p) for p in s.paths], "path": list(s.paths), "label": list(s.labels),
                             "condition": s.condition})
        for h in HEADS:
            part[f"pred_{h}"] = s.predicted(h)
            part[f"p_{h}"] = s.probs[h].max(axis=1)
            part[f"correct_{h}"] = s.correct(h)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def remember_choice(key: str, table: pd.DataFrame, seed: int) -> None:
    """on_select callback: one chosen point becomes the clip to open on the next run."""
    points = (st.session_state.get(key) or {}).get("selection", {}).get("points", [])
    rows = {int(p["customdata"][0]) for p in points if p.get("customdata")}
    if len(rows) == 1:
        row = table.iloc[rows.pop()]
        st.session_state[PENDING] = {"path": row["path"], "label": row["label"], "condition": row["condition"],
                                     "seed": seed}


def open_chosen() -> None:
    """Open the chosen point's clip: clean ones on the Predict page, corrupted ones in the Corruption Lab with
    the same corruption and seed (the Predict page shows clean clips only)."""
    chosen = st.session_state.pop(PENDING, None)
    if not chosen or not all(f.exists() for f in source_files(chosen["path"])):
        return
    if chosen["condition"] == emb.CLEAN:
        session.open_clip(chosen["path"], label=chosen["label"])
    else:
        name, _, severity = chosen["condition"].rpartition(":")
        session.open_in_lab(chosen["path"], [(name, int(severity))], seed=chosen["seed"], label=chosen["label"])
