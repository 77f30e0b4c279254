"""Robustness figures of one checkpoint x head, from its condition metrics and stored rows.

mPC and rPC (Kinetics-C), mCE and relative mCE (ImageNet-C) against a :class:`Reference`,
AVRobustBench's alpha and rho, and for the fused head the fusion gain and the fallback gaps;
:meth:`ResultsDB.summary` puts them in one table.

Single-level corruptions (``mute``, ``video_off``; ``Corruption.levels == (1,)``) count once:
every corruption is first averaged (mPC) or summed (CE) over its own levels, so a single-level
one enters mPC with its one accuracy and mCE with its one error ratio, the same weight as a
five-level corruption. Sweeps store it at severity 1 only; databases from before stored it at
every severity swept, with identical rows: only the first of those is used (also for the fusion
gain and the fallback gaps), which gives the same numbers as counting them all would (the mean
of equal values, a ratio of equal sums) except where the repeats would outweigh other rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import corruptions
from core.results.references import Reference
from core.results.schema import CLEAN, HEADS


def _mean(values) -> float:
    values = np.asarray(list(values), float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def one_level_each(table: pd.DataFrame) -> pd.DataFrame:
    """Condition metrics or prediction rows with a single-level corruption kept at its first stored severity."""
    if table.empty:  # a sweep with no rows yet (an empty selection would pick columns, not rows)
        return table
    single = table["corruption"].map(lambda n: n in corruptions.REGISTRY and len(corruptions.levels(n)) == 1)
    first = table[single].groupby(["checkpoint", "corruption"])["severity"].transform("min")
    return table[~single | (table["severity"] == first.reindex(table.index))]


def robustness_metrics(metrics: pd.DataFrame, ckpt: str, head: str, reference: Reference) -> dict:
    """Clean accuracy, mPC, rPC, mCE, relative mCE, alpha and rho of ``ckpt``'s ``head``.

    With accuracies A in [0, 1], per corruption c and severity s (single-level corruptions once):

    * mPC = mean_c mean_s A_{c,s} and rPC = mPC / A_clean (Kinetics-C: Yi et al., 2021; after
      Michaelis et al., 2019);
    * mCE and relative mCE against ``reference`` (ImageNet-C: Hendrycks & Dietterich, 2019), by corruption
      name, over the corruptions the reference has errors for (``mce_corruptions`` of them);
    * alpha = 1 - dA and rho = 1 - dA / A_clean with dA = A_clean - A_{c,s}, averaged like mPC
      (AVRobustBench: Maharana et al., 2025, where dA is in points and alpha = 1 - dA / 100); averaged
      this way rho equals rPC and alpha equals 1 - A_clean + mPC.
    """
    metrics = one_level_each(metrics)
    mine = metrics[(metrics["checkpoint"] == ckpt) & (metrics["head"] == head)]
    clean = _mean(mine.loc[mine["corruption"] == CLEAN, "accuracy"])
    corrupted = mine[mine["corruption"] != CLEAN]
    per_corruption = corrupted.groupby("corruption", sort=False)["accuracy"].mean()
    mpc = _mean(per_corruption)
    errors = {name: {int(s): 1 - a for s, a in zip(g["severity"], g["accuracy"]) if a == a}
              for name, g in corrupted.groupby("corruption", sort=False)}
    ces = reference.corruption_errors(errors, 1 - clean)
    return {"clean_accuracy": clean, "mpc": mpc, "rpc": mpc / clean if clean > 0 else float("nan"),
            "mce": _mean(ce for ce, _ in ces.values()), "relative_mce": _mean(rce for _, rce in ces.values()),
            "mce_corruptions": len(ces), "alpha": _mean(1 - (clean - per_corruption)),
            "rho": _mean(1 - (clean - per_corruption) / clean) if clean > 0 else float("nan"),
            "corruptions": int(per_corruption.size)}


def fusion_metrics(metrics: pd.DataFrame, rows: pd.DataFrame, ckpt: str, head: str) -> dict:
    nan = float("nan")
    if head != "fused":
        return {"fusion_gain": nan, "fusion_gain_corrupted": nan, "fallback_gap_no_audio": nan,
                "fallback_gap_no_video": nan, "confidence_rises_no_audio": nan, "confidence_rises_no_video": nan}
    metrics, rows = one_level_each(metrics), one_level_each(rows)
    fused = metrics[(metrics["checkpoint"] == ckpt) & (metrics["head"] == "fused")]
    gains = fused.set_index("corruption")["fusion_gain"]
    mine = rows[rows["checkpoint"] == ckpt]
    # rows come ordered by condition, head, clip, so the heads' rows of one clip-condition line up
    by_head = {h: mine[mine["head"] == h].reset_index(drop=True) for h in HEADS}
    fused_ok = by_head["fused"]["correct"].to_numpy(float)
    a, v = by_head["fused"]["audio_present"].to_numpy(bool), by_head["fused"]["video_present"].to_numpy(bool)

    def gap(only: np.ndarray, survivor: str) -> float:
        return float(fused_ok[only].mean() - by_head[survivor]["correct"].to_numpy(float)[only].mean()) \
            if only.any() else nan

    fused_rows = by_head["fused"]
    confidence = np.array([float(np.max(p)) for p in fused_rows["probs"]]) if len(fused_rows) else np.zeros(0)
    clean = fused_rows["corruption"].to_numpy() == CLEAN
    baseline = dict(zip(fused_rows["clip_idx"][clean], confidence[clean]))

    def rises(only: np.ndarray) -> float:
        """Share of clip-conditions without one modality whose fused confidence is higher than on the clean clip
        (the modality-removal check of Ma et al., 2023, "Calibrating Multimodal Learning", ICML)."""
        pairs = [(c, baseline[i]) for c, i, o in zip(confidence, fused_rows["clip_idx"], only) if o and i in baseline]
        return float(np.mean([c > b + 1e-6 for c, b in pairs])) if pairs else nan

    return {"fusion_gain": _mean(gains[gains.index == CLEAN]),
            "confidence_rises_no_audio": rises(~a & v & ~clean), "confidence_rises_no_video": rises(a & ~v & ~clean),
            "fusion_gain_corrupted": _mean(fused.groupby("corruption")["fusion_gain"].mean()
                                           .drop(CLEAN, errors="ignore")),
            "fallback_gap_no_audio": gap(~a & v, "video"), "fallback_gap_no_video": gap(a & ~v, "audio")}
