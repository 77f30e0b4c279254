"""The report's plain sentences, each computed from the tables and the results database's numbers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core import figures
from core.corruptions import suites
from core.datasets import unreadable_sentence
from core.results import CLEAN, HEADS

# The everyday failures of the factory-av spec, as a stakeholder would name them.
EVERYDAY = {"mute": "A microphone failure", "gaussian_blur": "A dirty lens", "defocus_blur": "An out-of-focus lens",
            "audio_gaussian_noise": "A noisy plant"}


def pct(x: float | None) -> int | None:
    """A share (0..1) as whole percent, rounded half up (0.875 -> 88, not Python's half-to-even 88 / 62 mix);
    None for a missing value. Every percentage a sentence shows is this, and every difference it shows is the
    difference of two of them, so "100% → 88%" never sits beside "13 points"."""
    if x is None or x != x:
        return None
    return int(math.floor(100 * float(x) + 0.5 + 1e-9))


def percent(x: float | None) -> str:
    return "n/a" if pct(x) is None else f"{pct(x)}%"


def drop(before: float, after: float) -> int:
    """Accuracy points lost from ``before`` to ``after`` (shares), as the difference of the percentages shown."""
    return pct(before) - pct(after)


def _points(p: int) -> str:
    if p == 0:
        return "nothing"
    return f"{p} accuracy point{'s' if abs(p) != 1 else ''}" if p > 0 else \
        f"nothing (it gains {-p} point{'s' if abs(p) != 1 else ''})"


def _from_to(before: float, after: float) -> str:
    return f"({percent(before)} → {percent(after)})"


def _head_loss(clean: float, accuracy: float, coverage: float = 1.0, *, average: str = "") -> str:
    """What a corruption does to a unimodal head, with the accuracies it names; a head that abstains is spoken
    of by its coverage."""
    if coverage < 0.005:
        return "has no input and abstains on every clip (0% coverage), so it is not scored"
    if coverage < 0.995:
        return (f"answers {percent(coverage)} of the clips (it abstains without input) and on those "
                f"{_head_loss(clean, accuracy, average=average)}")
    p = drop(clean, accuracy)
    if p == 0:
        return f"is unaffected {_from_to(clean, accuracy)}"
    return f"{'loses' if p > 0 else 'gains'} {abs(p)} point{'s' if abs(p) != 1 else ''}{average} {_from_to(clean, accuracy)}"


def _severities(levels: list[str]) -> str:
    return levels[0] if len(levels) == 1 else f"{', '.join(levels[:-1])} and {levels[-1]}"


def cost_text(row, *, single: bool) -> str:
    """A ``costs`` row in words: the mean loss over the severities run (clean → mean accuracy) and, for a
    corruption run at several severities, the loss at the highest (clean → that severity's accuracy)."""
    levels = str(row["severities"]).split(",")
    if single or len(levels) == 1:
        return f"{_points(drop(row['clean_accuracy'], row['accuracy']))} {_from_to(row['clean_accuracy'], row['accuracy'])}"
    return (f"{_points(drop(row['clean_accuracy'], row['accuracy']))} on average over severities "
            f"{_severities(levels)} {_from_to(row['clean_accuracy'], row['accuracy'])}, and "
            f"{_points(drop(row['clean_accuracy'], row['worst_accuracy']))} at severity {int(row['worst_severity'])} "
            f"{_from_to(row['clean_accuracy'], row['worst_accuracy'])}")


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


def protocol_sentence(board_row, metrics: pd.DataFrame | None = None) -> str:
    """Which published protocol the numbers follow, what this sweep ran of it (corruptions and severities, from
    ``metrics``, the condition metrics), and the best model's scores in that protocol's terms."""
    name = board_row.get("suite", "avlab")
    protocol = suites.SUITES.get(name)
    where = (f"the **{protocol.title}** suite ({protocol.source}): {protocol.protocol[0].lower()}{protocol.protocol[1:]}"
             if protocol else f"the '{name}' suite")
    text = f"**Protocol:** {where}"
    text = text if text.endswith(".") else text + "."
    if metrics is not None and (ran := metrics[metrics["corruption"] != CLEAN]).shape[0]:
        names = list(dict.fromkeys(ran["corruption"]))
        levels = sorted({int(s) for n, s in zip(ran["corruption"], ran["severity"]) if not figures.single_level(n)})
        text += (f" This sweep ran {len(names)} of its corruption{'s' if len(names) != 1 else ''}"
                 + (f" at severit{'ies' if len(levels) != 1 else 'y'} {_severities([str(v) for v in levels])}"
                    if levels else "") + ".")
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


def fusion_sentence(board_row, metrics: pd.DataFrame | None = None) -> str | None:
    """Whether the fused head beats the better single head: on clean clips with the three accuracies it
    compares (from ``metrics``, the condition metrics), and the mean difference under corruption. None
    without a fusion gain (a head without input on clean clips)."""
    gain, gain_c = board_row["fusion_gain"], board_row["fusion_gain_corrupted"]
    if gain != gain:
        return None
    clean = None if metrics is None else metrics[(metrics["checkpoint"] == board_row["checkpoint"])
                                                 & (metrics["corruption"] == CLEAN)].set_index("head")["accuracy"]
    if clean is not None and set(HEADS) <= set(clean.index):
        single = max(("audio", "video"), key=lambda h: (clean[h], h == "audio"))
        p = pct(clean["fused"]) - pct(clean[single])
        verdict = "beats" if p > 0 else "trails" if p < 0 else "matches"
        text = (f"**Is fusion worth it:** on clean clips the fused head ({percent(clean['fused'])}) {verdict} the "
                f"better single modality ({single}-only, {percent(clean[single])})"
                + (f" by {abs(p)} point{'s' if abs(p) != 1 else ''}" if p else ""))
    else:
        verdict = "beats" if gain > 0.005 else "trails" if gain < -0.005 else "matches"
        text = (f"**Is fusion worth it:** on clean clips the fused head {verdict} the better single modality"
                + (f" by {pct(abs(gain))} points" if verdict != "matches" else ""))
    if gain_c == gain_c:
        signed = pct(abs(gain_c)) * (1 if gain_c >= 0 else -1)
        text += (f"; under corruption the fused head's accuracy minus the better single head's is {signed:+d} "
                 f"point{'s' if abs(signed) != 1 else ''} on average over the corruptions")
    return text + "."


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
    over = f"over {int(best['corruptions'])} corruption{'s' if best['corruptions'] != 1 else ''}" \
        if "corruptions" in best and best["corruptions"] == best["corruptions"] else "over the corruptions"
    if len(board) > 1:
        ranked = ", ".join(f"{r.checkpoint} ({r.fusion}) {percent(r.mpc)}" for r in board.itertuples())
        runner_up = board.iloc[1]
        tie = "" if abs(best["mpc"] - runner_up["mpc"]) >= 1 / max(n, 1) else \
            f" Its lead over {runner_up['checkpoint']} is less than one clip, so call it a tie."
        out.append(f"**Which fusion holds up best:** {who[0].upper() + who[1:]}. Under corruption its fused head keeps "
                   f"{percent(best['mpc'])} accuracy on average {over} (mPC; {percent(best['rpc'])} of its clean "
                   f"{percent(best['clean_accuracy'])}).{tie} Ranked by mean accuracy under corruption: {ranked}.")
    else:
        out.append(f"**One fusion method was tested:** {who}. Its fused head is right on {percent(best['clean_accuracy'])} "
                   f"of clean clips and {percent(best['mpc'])} on average under corruption {over} "
                   f"(mPC; {percent(best['rpc'])} of clean).")
    out.append(protocol_sentence(best, metrics))
    if (fusion := fusion_sentence(best, metrics)) is not None:
        out.append(fusion)
    if metrics is not None and (trust := trust_sentence(metrics, best)):
        out.append(trust)
    mine = cost[cost["checkpoint"] == best["checkpoint"]]
    for name, failure in EVERYDAY.items():
        rows = mine[mine["corruption"] == name].set_index("head")
        if rows.empty or "fused" not in rows.index:
            continue
        single = figures.single_level(name) or len(str(rows.loc["fused", "severities"]).split(",")) == 1
        average = "" if single else " on average"
        others = [f"the {h}-only head "
                  + _head_loss(rows.loc[h, "clean_accuracy"], rows.loc[h, "accuracy"], rows.loc[h, "coverage"],
                               average=average) for h in ("audio", "video") if h in rows.index]
        out.append(f"**{failure}** ({figures.corruption_title(name)}) costs the fused head "
                   f"{cost_text(rows.loc['fused'], single=single)}; " + " and ".join(others) + ".")
    if not any(name in set(mine["corruption"]) for name in EVERYDAY):
        out.append("None of the everyday failures (mute, gaussian_blur, defocus_blur, audio_gaussian_noise) was "
                   "part of this sweep; run them to see what a microphone failure, a dirty lens or a noisy plant costs.")
    fused_costs = mine[mine["head"] == "fused"]
    worst_cost = fused_costs.sort_values("points", ascending=False, kind="stable").head(1)
    if not worst_cost.empty and drop(worst_cost.iloc[0]["clean_accuracy"], worst_cost.iloc[0]["accuracy"]) > 0:
        w = worst_cost.iloc[0]
        out.append(f"**The most damaging corruption** for the fused head is {figures.corruption_title(w['corruption'])}: "
                   f"{cost_text(w, single=figures.single_level(w['corruption']))}.")
    hurt = classes[classes["points"] >= 0.5].head(2)
    if hurt.empty and not classes.empty:
        out.append("**Classes:** no class loses accuracy under the corruptions tested.")
    elif not hurt.empty:
        parts = [f"{r['class']} ({percent(r['clean_accuracy'])} clean → {percent(r['corrupted_accuracy'])} on average "
                 f"under corruption; lowest {percent(r['worst_accuracy'])}, under "
                 f"{figures.condition_title(r['worst_condition'])})" for _, r in hurt.iterrows()]
        conditions = int(hurt.iloc[0]["conditions"]) if "conditions" in hurt else None
        scope = f", over {conditions} corrupted condition{'s' if conditions != 1 else ''}" if conditions else ""
        out.append(f"**Classes that suffer most** (fused head of {best['checkpoint']}{scope}): "
                   + "; then ".join(parts) + ".")
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
