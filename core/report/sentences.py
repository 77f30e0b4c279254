"""The report's plain sentences, each computed from the tables and the results database's numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import figures
from core.corruptions import suites
from core.datasets import unreadable_sentence
from core.results import CLEAN, HEADS

# The everyday failures of the factory-av spec, as a stakeholder would name them.
EVERYDAY = {"mute": "A microphone failure", "gaussian_blur": "A dirty lens", "defocus_blur": "An out-of-focus lens",
            "audio_gaussian_noise": "A noisy plant"}


def percent(x: float) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{100 * x:.0f}%"


def _points(p: float) -> str:
    if abs(p) < 0.5:
        return "nothing"
    return f"{p:.0f} accuracy point{'s' if round(abs(p)) != 1 else ''}" if p > 0 else \
        f"nothing (it gains {-p:.0f} point{'s' if round(abs(p)) != 1 else ''})"


def _head_loss(p: float, coverage: float = 1.0) -> str:
    """What a corruption does to a unimodal head; a head that abstains is spoken of by its coverage."""
    if coverage < 0.005:
        return "has no input and abstains on every clip (0% coverage), so it is not scored"
    if coverage < 0.995:
        return f"answers {coverage:.0%} of the clips (it abstains without input) and on those {_head_loss(p)}"
    if abs(p) < 0.5:
        return "is unaffected"
    return f"loses {p:.0f} points" if p > 0 else f"gains {-p:.0f} points"


def trust_sentence(metrics: pd.DataFrame, board_row) -> str | None:
    """How far to trust the best checkpoint's fused head: its accuracy when answering only its 90 % most
    confident clips, clean and under the corruption where that is lowest; ECE clean and under corruption; the
    modality-removal check. None without the numbers."""
    mine = metrics[(metrics["checkpoint"] == board_row["checkpoint"]) & (metrics["head"] == "fused")]
    clean = mine[mine["corruption"] == CLEAN]
    corrupted = mine[(mine["corruption"] != CLEAN) & mine["ece"].notna()]
    if clean.empty or "accuracy_at_90" not in mine or np.isnan(clean["ece"].iloc[0]):
        return None
    if np.isnan(clean["accuracy_at_90"].iloc[0]):
        text = (f"**How far to trust it:** with {int(clean['n'].iloc[0])} clips, none can be set aside as the least "
                f"confident 10%, so selective accuracy is not measured")
    else:
        text = (f"**How far to trust it:** answering only its 90% most confident clips, the fused head of "
                f"{board_row['checkpoint']} is right {percent(clean['accuracy_at_90'].iloc[0])} of the time on clean "
                f"clips")
        selective = corrupted[corrupted["accuracy_at_90"].notna()]
        if not selective.empty:
            worst = selective.sort_values("accuracy_at_90").iloc[0]
            text += f", {percent(worst['accuracy_at_90'])} under {figures.condition_title(worst['condition'])} (the lowest)"
    text += f". Its calibration error (ECE) is {clean['ece'].iloc[0]:.3f} on clean clips"
    if not corrupted.empty:
        text += f" and {corrupted['ece'].mean():.3f} on average under corruption"
    rises = [(board_row.get(f"confidence_rises_no_{m}"), m) for m in ("audio", "video")]
    rises = [f"{percent(r)} of clips without {m}" for r, m in rises if r is not None and r == r]
    if rises:
        text += ("; taking a sense away makes it more confident (it should be less: less evidence) on "
                 + " and ".join(rises))
    return text + "."


def protocol_sentence(board_row) -> str:
    """Which published protocol the numbers follow, and the best model's scores in that protocol's terms."""
    name = board_row.get("suite", "avlab")
    protocol = suites.SUITES.get(name)
    where = (f"the **{protocol.title}** suite ({protocol.source}): {protocol.protocol[0].lower()}{protocol.protocol[1:]}"
             if protocol else f"the '{name}' suite")
    text = f"**Protocol:** {where}"
    text = text if text.endswith(".") else text + "."
    reference = "AlexNet's published ImageNet-C errors" if board_row["reference"] == "imagenet-c" else \
        board_row["reference"]
    if board_row["mce"] == board_row["mce"]:
        text += (f" Relative to {reference}, the fused head of {board_row['checkpoint']} has an mCE of "
                 f"{100 * board_row['mce']:.1f}% (relative mCE {100 * board_row['relative_mce']:.1f}%) over "
                 f"{int(board_row['mce_corruptions'])} corruption{'s' if board_row['mce_corruptions'] != 1 else ''}"
                 f"; below 100% is more robust than the reference.")
    else:
        text += f" No mCE: {reference} has no errors on the corruptions run."
    if name == "avrobustbench":
        text += f" AVRobustBench's alpha is {board_row['alpha']:.3f} and rho {board_row['rho']:.3f} (1 is no loss)."
    return text


def findings(experiment: dict, board: pd.DataFrame, cost: pd.DataFrame, classes: pd.DataFrame,
             weights: pd.DataFrame, metrics: pd.DataFrame | None = None) -> list[str]:
    """The report's plain sentences, each computed from the tables."""
    out: list[str] = []
    skipped = experiment.get("skipped", [])
    n = len(experiment["clips"]) - len(skipped)  # the clips scored
    left_out = [f"**Clips left out:** {unreadable_sentence(skipped)}"] if skipped else []
    if board.empty:
        return ["This experiment has no stored results yet; run or continue the sweep first.", *left_out]
    best = board.iloc[0]
    who = f"the **{best['fusion']}** fusion ({best['checkpoint']})"
    if len(board) > 1:
        ranked = ", ".join(f"{r.checkpoint} ({r.fusion}) {percent(r.mpc)}" for r in board.itertuples())
        runner_up = board.iloc[1]
        tie = "" if abs(best["mpc"] - runner_up["mpc"]) >= 1 / max(n, 1) else \
            f" Its lead over {runner_up['checkpoint']} is less than one clip, so call it a tie."
        out.append(f"**Which fusion holds up best:** {who[0].upper() + who[1:]}. Under corruption its fused head keeps "
                   f"{percent(best['mpc'])} accuracy on average ({percent(best['rpc'])} of its clean "
                   f"{percent(best['clean_accuracy'])}).{tie} Ranked by mean accuracy under corruption: {ranked}.")
    else:
        out.append(f"**One fusion method was tested:** {who}. Its fused head is right on {percent(best['clean_accuracy'])} "
                   f"of clean clips and {percent(best['mpc'])} on average under corruption "
                   f"({percent(best['rpc'])} of clean).")
    out.append(protocol_sentence(best))
    gain, gain_c = best["fusion_gain"], best["fusion_gain_corrupted"]
    if not np.isnan(gain):
        verdict = "beats" if gain > 0.005 else "trails" if gain < -0.005 else "matches"
        out.append(f"**Is fusion worth it:** on clean clips the fused head {verdict} the better single modality"
                   + (f" by {abs(100 * gain):.0f} points" if verdict != "matches" else "")
                   + ("" if np.isnan(gain_c) else f"; under corruption the difference is {100 * gain_c:+.0f} points "
                      "on average") + ".")
    if metrics is not None and (trust := trust_sentence(metrics, best)):
        out.append(trust)
    mine = cost[cost["checkpoint"] == best["checkpoint"]]
    for name, failure in EVERYDAY.items():
        rows = mine[mine["corruption"] == name].set_index("head")
        if rows.empty or "fused" not in rows.index:
            continue
        f = rows.loc["fused"]
        levels = f["severities"].split(",")
        single = figures.single_level(name) or len(levels) == 1
        severity = "" if single else f" on average over severities {', '.join(levels[:-1])} and {levels[-1]}"
        worst = "" if single else \
            f", {_points(f['worst_points'])} at severity {f['worst_severity']}"
        others = [f"the {h}-only head {_head_loss(rows.loc[h, 'points'], rows.loc[h, 'coverage'])}"
                  for h in ("audio", "video") if h in rows.index]
        out.append(f"**{failure}** ({figures.corruption_title(name)}) costs the fused head "
                   f"{_points(f['points'])}{severity}{worst} ({percent(f['clean_accuracy'])} → {percent(f['accuracy'])}); "
                   + " and ".join(others) + ".")
    if not any(name in set(mine["corruption"]) for name in EVERYDAY):
        out.append("None of the everyday failures (mute, gaussian_blur, defocus_blur, audio_gaussian_noise) was "
                   "part of this sweep; run them to see what a microphone failure, a dirty lens or a noisy plant costs.")
    worst_cost = mine[mine["head"] == "fused"].sort_values("points", ascending=False).head(1)
    if not worst_cost.empty and worst_cost.iloc[0]["points"] >= 0.5:
        w = worst_cost.iloc[0]
        where = "" if figures.single_level(w["corruption"]) else f" at severity {w['worst_severity']}"
        out.append(f"**The most damaging corruption** for the fused head is {figures.corruption_title(w['corruption'])}: "
                   f"{_points(w['points'])} on average, {percent(w['worst_accuracy'])} accuracy{where}.")
    hurt = classes[classes["points"] >= 0.5].head(2)
    if hurt.empty and not classes.empty:
        out.append("**Classes:** no class loses accuracy under the corruptions tested.")
    elif not hurt.empty:
        parts = [f"{r['class']} ({percent(r['clean_accuracy'])} clean, {percent(r['corrupted_accuracy'])} under corruption,"
                 f" worst under {figures.condition_title(r['worst_condition'])})" for _, r in hurt.iterrows()]
        out.append("**Classes that suffer most** (fused head): " + "; then ".join(parts) + ".")
    w = weights[(weights["checkpoint"] == best["checkpoint"])].dropna(subset=["weight_audio"]).set_index("condition")
    if CLEAN in w.index:
        for name, what in (("mute", "microphone dead"), ("gaussian_blur", "lens blurred")):
            conds = [c for c in w.index if c.startswith(f"{name}:")]
            if conds:
                c = conds[-1]
                out.append(f"**Where the model looks:** with the {what} ({figures.condition_title(c)}) the audio "
                           f"weight goes from {percent(w.loc[CLEAN, 'weight_audio'])} to {percent(w.loc[c, 'weight_audio'])}"
                           f" (video {percent(w.loc[CLEAN, 'weight_video'])} → {percent(w.loc[c, 'weight_video'])}).")
    for model in experiment["checkpoints"]:
        ablated = [h for h in ("audio", "video") if h not in model.get("native_heads", HEADS)]
        if ablated:
            heads = " and ".join(f"{h}-only" for h in ablated)
            out.append(f"**Heads by ablation:** {model['name']} ({model.get('format', 'avlab')}) has no {heads} "
                       f"head of its own; those rows are the whole model fed the clip with the other modality "
                       f"zeroed and masked, so they measure the model without a sense, not a separate head.")
    out.append(f"**How precise this is:** every accuracy comes from {n} clips, so one clip moves it by "
               f"{100 / max(n, 1):.1f} points; smaller differences are noise.")
    out += left_out
    if not experiment.get("complete", True):
        out.append(f"**Unfinished:** the sweep is {100 * experiment['progress']:.0f}% done; numbers may still change.")
    return out
