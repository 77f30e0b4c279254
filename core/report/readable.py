"""The report's tables as a reader sees them: named columns, percentages, and a reason wherever a value is
missing (never a bare "None" or "nan"). The same views go into the dashboard and the HTML report; the CSV
export keeps the raw columns and numbers (:mod:`core.report.tables`).

    views = leaderboard_views(board)   # {"Robustness": DataFrame, "Fusion": ..., "Missing senses": ..., "Models": ...}

A wide leaderboard is split into these narrower tables so that each fits a page without scrolling.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from core import figures


@dataclass(frozen=True)
class Column:
    """One shown column: its source column, title, how a value is written, and why a value can be missing
    (a sentence, or a function of the row for a reason that depends on it)."""

    source: str
    title: str
    kind: str  # "text", "percent", "points" (signed), "lost" (points, unsigned: negative is a gain), "ratio", "count"
    missing: str | Callable[[pd.Series], str] = "not measured"
    help: str = ""


def _share(x: float) -> str:
    return f"{100 * x:.1f}%"


def _points(x: float) -> str:
    return f"{100 * x:+.1f} points"


WRITERS = {"text": str, "percent": _share, "points": _points, "lost": lambda x: f"{100 * x:.1f}",
           "ratio": lambda x: f"{x:.3f}",
           "count": lambda x: f"{int(x)}"}


def _reference(row: pd.Series) -> str:
    who = "AlexNet (ImageNet-C)" if row.get("reference") == "imagenet-c" else row.get("reference", "the reference")
    return f"no errors of {who} for these corruptions"


ROBUSTNESS = (
    Column("checkpoint", "model", "text"),
    Column("fusion", "fusion", "text"),
    Column("clean_accuracy", "clean accuracy", "percent", "no clean clips were run"),
    Column("mpc", "mPC", "percent", "no corruption was run", "mean accuracy under corruption (Kinetics-C)"),
    Column("rpc", "rPC", "percent", "no corruption was run", "mPC / clean accuracy"),
    Column("mce", "mCE", "percent", _reference, "errors relative to the reference; below 100 % is better"),
    Column("relative_mce", "relative mCE", "percent",
           lambda r: _reference(r) if r.get("mce") != r.get("mce") else "the reference loses nothing under corruption",
           "the error added by corruption, relative to the reference's"),
    Column("alpha", "α", "ratio", "no corruption was run", "AVRobustBench: 1 - accuracy drop"),
    Column("rho", "ρ", "ratio", "no corruption was run", "AVRobustBench: 1 - accuracy drop / clean"),
    Column("corruptions", "corruptions", "count", "none", "corruptions averaged in mPC"),
)
FUSION = (
    Column("checkpoint", "model", "text"),
    Column("fusion_gain", "fusion gain (clean)", "points", "a head had no input on the clean clips",
           "fused minus the better single head, clean"),
    Column("fusion_gain_corrupted", "fusion gain (corrupted)", "points", "no corruption was run",
           "fused minus the better single head, mean over the corruptions"),
    Column("audio_only_mpc", "audio-only mPC", "percent", "the audio-only head never answered under corruption"),
    Column("video_only_mpc", "video-only mPC", "percent", "the video-only head never answered under corruption"),
)
SENSES = (
    Column("checkpoint", "model", "text"),
    Column("fallback_gap_no_audio", "fallback gap without audio", "points", "no condition removed the audio",
           "fused minus the video-only head where only video was present"),
    Column("fallback_gap_no_video", "fallback gap without video", "points", "no condition removed the video",
           "fused minus the audio-only head where only audio was present"),
    Column("confidence_rises_no_audio", "confidence rises without audio", "percent", "no condition removed the audio",
           "share of clips whose fused confidence goes up when audio is removed (it should not)"),
    Column("confidence_rises_no_video", "confidence rises without video", "percent", "no condition removed the video",
           "share of clips whose fused confidence goes up when video is removed (it should not)"),
)
MODELS = (
    Column("checkpoint", "model", "text"),
    Column("unimodal_heads", "audio-only and video-only heads", "text", "unknown"),
    Column("format", "format", "text", "unknown"),
    Column("suite", "suite", "text", "avlab"),
    Column("reference", "mCE reference", "text", "none"),
    Column("mce_corruptions", "corruptions in mCE", "count", "none"),
    Column("model_hash", "model hash", "text", "unknown"),
)
COSTS = (
    Column("checkpoint", "model", "text"),
    Column("corruption", "corruption", "text"),
    Column("head", "head", "text"),
    Column("clean_accuracy", "clean accuracy", "percent", "no clean clips were run"),
    Column("accuracy", "mean accuracy over the severities", "percent", "the head had no input: it abstained"),
    Column("points", "points lost on average", "lost", "the head had no input: it abstained"),
    Column("worst_severity", "highest severity", "count", "none"),
    Column("worst_accuracy", "accuracy at the highest severity", "percent", "the head had no input: it abstained"),
    Column("worst_points", "points lost at the highest severity", "lost", "the head had no input: it abstained"),
    Column("severities", "severities run", "text", "none"),
    Column("coverage", "clips answered", "percent", "unknown"),
)
CLASSES = (
    Column("class", "class", "text"),
    Column("clean_accuracy", "clean accuracy", "percent", "no clean clips of this class"),
    Column("corrupted_accuracy", "mean accuracy under corruption", "percent", "no corrupted clips of this class"),
    Column("points", "points lost", "lost", "no corrupted clips of this class"),
    Column("worst_condition", "lowest under", "text", "no corrupted clips of this class"),
    Column("worst_accuracy", "lowest accuracy", "percent", "no corrupted clips of this class"),
    Column("conditions", "corrupted conditions", "count", "none"),
)
# points are stored in the costs and classes tables already multiplied by 100
_HUNDREDS = {"points", "worst_points"}


def view(table: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """``table`` with ``columns`` only (those it has), titled, every value written as text and every missing
    one replaced by the reason it is missing, e.g. "— (no condition removed the video)"."""
    out = {}
    for column in columns:
        if column.source not in table:
            continue
        values = []
        for _, row in table.iterrows():
            value = row[column.source]
            if value is None or (isinstance(value, float) and value != value):
                reason = column.missing(row) if callable(column.missing) else column.missing
                values.append(f"— ({reason})")
                continue
            if column.source in _HUNDREDS:
                value = value / 100
            if column.source == "corruption":
                value = figures.corruption_title(value)
            elif column.source == "worst_condition":
                value = figures.condition_title(value)
            elif column.source == "head":
                value = figures.HEAD_TITLES.get(value, value)
            values.append(WRITERS[column.kind](value))
        out[column.title] = values
    return pd.DataFrame(out, index=range(len(table)))


def leaderboard_views(board: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The leaderboard (:func:`core.report.tables.leaderboard`) as four narrow tables, each a page wide at
    most: robustness; fusion (against the single heads); missing senses (fallback gaps, the modality-removal
    check); and what each model is (format, hash, suite, reference)."""
    return {"Robustness": view(board, ROBUSTNESS), "Fusion": view(board, FUSION),
            "Missing senses": view(board, SENSES), "Models": view(board, MODELS)}


BY_CORRUPTION = (
    Column("corruption", "corruption", "text"),
    Column("severities", "severities run", "text", "none"),
    Column("clean_accuracy", "fused, clean", "percent", "no clean clips were run"),
    Column("accuracy", "fused, mean over the severities", "percent", "the head had no input: it abstained"),
    Column("points", "fused, points lost on average", "lost", "the head had no input: it abstained"),
    Column("worst_accuracy", "fused, at the highest severity", "percent", "the head had no input: it abstained"),
    Column("audio_accuracy", "audio-only, mean", "percent", "no input: it abstained"),
    Column("video_accuracy", "video-only, mean", "percent", "no input: it abstained"),
)


def costs_by_corruption(costs: pd.DataFrame, checkpoint: str) -> pd.DataFrame:
    """One model's ``costs`` (:func:`core.report.tables.costs`) as one row per corruption, the most damaging
    for the fused head first: the fused head's clean, mean and highest-severity accuracy and its mean loss,
    beside the single heads' mean accuracy (a table a page wide and as long as the corruptions run)."""
    mine = costs[costs["checkpoint"] == checkpoint]
    fused = mine[mine["head"] == "fused"].set_index("corruption")
    if fused.empty:
        return pd.DataFrame(columns=[c.source for c in BY_CORRUPTION])
    out = fused[["severities", "clean_accuracy", "accuracy", "points", "worst_accuracy"]].copy()
    for head in ("audio", "video"):
        rows = mine[mine["head"] == head].set_index("corruption")
        # a head that abstained on every clip has no accuracy: its mean is missing, and says why
        out[f"{head}_accuracy"] = rows["accuracy"].where(rows["coverage"] > 0).reindex(out.index)
    return out.sort_values("points", ascending=False, kind="stable").reset_index()


def column_help(columns: tuple[Column, ...] = ROBUSTNESS + FUSION + SENSES) -> str:
    """One line naming what each abbreviated column means."""
    return "; ".join(f"{c.title}: {c.help}" for c in columns if c.help) + "."


__all__ = ["Column", "ROBUSTNESS", "FUSION", "SENSES", "MODELS", "BY_CORRUPTION", "costs_by_corruption", "COSTS", "CLASSES", "view", "leaderboard_views",
           "column_help"]
