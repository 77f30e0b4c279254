"""The report's tables: leaderboard (fused head per model), cost of each corruption, classes under corruption."""
from __future__ import annotations

import pandas as pd

from core.results import CLEAN, HEADS

CONDITION_COLUMNS = ["checkpoint", "condition", "corruption", "severity", "modality", "head", "n", "coverage",
                  "accuracy", "macro_precision", "macro_recall", "macro_f1", "ece", "brier", "nll", "aurc",
                  "accuracy_at_90", "fusion_gain"]


def leaderboard(summary: pd.DataFrame, experiment: dict) -> pd.DataFrame:
    """Fused head per checkpoint, best mPC first: clean accuracy, mPC, rPC, mCE and relative mCE (against
    ``reference``, over ``mce_corruptions`` corruptions), AVRobustBench's alpha and rho, the ``suite``, fusion
    gain, fallback gaps,
    the modality-removal check (share of clips whose fused confidence rises when audio / video is removed),
    and the single-modality heads' mPC for comparison (``unimodal_heads``: native, or by ablation for a model
    without its own audio-only and video-only heads; ``format`` and ``model_hash``, the content hash of the
    model's files, say exactly what was measured)."""
    fusion = {c["name"]: c["fusion"] for c in experiment["checkpoints"]}  # the format for a model of another kind
    fused = summary[summary["head"] == "fused"].copy()
    for head in ("audio", "video"):
        fused[f"{head}_only_mpc"] = fused["checkpoint"].map(
            summary[summary["head"] == head].set_index("checkpoint")["mpc"])
    fused.insert(1, "fusion", fused["checkpoint"].map(fusion))
    fused["unimodal_heads"] = fused["checkpoint"].map({
        c["name"]: "native" if {"audio", "video"} <= set(c.get("native_heads", HEADS)) else "by ablation"
        for c in experiment["checkpoints"]})
    fused["format"] = fused["checkpoint"].map({c["name"]: c.get("format", "avlab") for c in experiment["checkpoints"]})
    fused["model_hash"] = fused["checkpoint"].map({c["name"]: c["fingerprint"] for c in experiment["checkpoints"]})
    columns = ["checkpoint", "fusion", "unimodal_heads", "clean_accuracy", "mpc", "rpc", "mce", "relative_mce",
               "alpha", "rho", "fusion_gain", "fusion_gain_corrupted", "fallback_gap_no_audio", "fallback_gap_no_video",
               "confidence_rises_no_audio", "confidence_rises_no_video", "audio_only_mpc", "video_only_mpc", "suite",
               "reference", "mce_corruptions", "corruptions", "format", "model_hash"]
    return fused[columns].sort_values(["mpc", "clean_accuracy"], ascending=False, na_position="last") \
        .reset_index(drop=True)


def costs(metrics: pd.DataFrame) -> pd.DataFrame:
    """Accuracy lost per checkpoint x corruption x head: clean, mean over the severities run, the worst
    severity, and the loss in points (positive = worse than clean)."""
    out = []
    for (ckpt, head), mine in metrics.groupby(["checkpoint", "head"], sort=False):
        clean = mine.loc[mine["corruption"] == CLEAN, "accuracy"]
        if clean.empty:
            continue
        clean = float(clean.iloc[0])
        for name, g in mine[mine["corruption"] != CLEAN].groupby("corruption", sort=False):
            worst = g.sort_values("severity").iloc[-1]
            out.append({"checkpoint": ckpt, "corruption": name, "head": head, "clean_accuracy": clean,
                        "accuracy": float(g["accuracy"].mean()), "points": 100 * (clean - float(g["accuracy"].mean())),
                        "worst_severity": int(worst["severity"]), "worst_accuracy": float(worst["accuracy"]),
                        "worst_points": 100 * (clean - float(worst["accuracy"])),
                        "severities": ",".join(str(s) for s in sorted(g["severity"])),
                        "coverage": float(g["coverage"].mean()) if "coverage" in g else 1.0})
    return pd.DataFrame(out, columns=["checkpoint", "corruption", "head", "clean_accuracy", "accuracy", "points",
                                      "worst_severity", "worst_accuracy", "worst_points", "severities", "coverage"])


def class_damage(metrics: pd.DataFrame, checkpoint: str, head: str = "fused") -> pd.DataFrame:
    """Per class: clean accuracy, mean accuracy over the ``conditions`` corrupted conditions, the drop in
    points, the condition where it is lowest and that accuracy."""
    mine = metrics[(metrics["checkpoint"] == checkpoint) & (metrics["head"] == head)]
    clean = mine[mine["corruption"] == CLEAN]
    broken = mine[mine["corruption"] != CLEAN]
    if clean.empty or broken.empty:
        return pd.DataFrame(columns=["class", "clean_accuracy", "corrupted_accuracy", "points", "worst_condition",
                                     "worst_accuracy", "conditions"])
    per = pd.DataFrame(list(broken["per_class_accuracy"]), index=broken["condition"].to_list())
    out = []
    for cls, base in clean["per_class_accuracy"].iloc[0].items():
        column = per[cls] if cls in per else pd.Series(dtype=float)
        worst = column.idxmin() if column.notna().any() else None
        out.append({"class": cls, "clean_accuracy": base, "corrupted_accuracy": float(column.mean()),
                    "points": 100 * (base - float(column.mean())), "worst_condition": worst,
                    "worst_accuracy": float(column.min()) if worst else float("nan"),
                    "conditions": int(column.notna().sum())})
    return pd.DataFrame(out).sort_values("points", ascending=False).reset_index(drop=True)
