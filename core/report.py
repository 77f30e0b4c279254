"""A stakeholder report of one stored sweep: plain sentences from the numbers, key charts, tables.

    python -m core.report EXPERIMENT_ID --out report.html [--csv DIR] [--db PATH] [--baseline NAME]

Every sentence is generated from the results database (:mod:`core.results`); nothing about the
results is written by hand. The HTML file is self-contained: plotly.js is inlined once, the
charts stay interactive and the file opens offline (no CDN, no network request).
"""
from __future__ import annotations

import argparse
import html
import io
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core import figures
from core.datasets import unreadable_sentence
from core.results import CLEAN, HEADS, ResultsDB, ResultsError, condition_label
from core.results.robustness import one_level_each

# The everyday failures of the factory-av spec, as a stakeholder would name them.
EVERYDAY = {"mute": "A microphone failure", "gaussian_blur": "A dirty lens", "defocus_blur": "An out-of-focus lens",
            "audio_gaussian_noise": "A noisy plant"}
_TABLE_COLUMNS = ["checkpoint", "condition", "corruption", "severity", "modality", "head", "n", "coverage",
                  "accuracy", "macro_precision", "macro_recall", "macro_f1", "ece", "brier", "nll", "aurc",
                  "accuracy_at_90", "fusion_gain"]


@dataclass
class Report:
    """What the report says (``findings``, Markdown sentences), shows (``figures``) and exports (``tables``)."""

    experiment: dict
    findings: list[str]
    tables: dict[str, pd.DataFrame]
    figures: list[tuple[str, object]] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    @property
    def title(self) -> str:
        return f"Robustness report: experiment {self.experiment['id']} ({self.experiment['name']})"


# --------------------------------------------------------------------------- tables


def leaderboard(summary: pd.DataFrame, experiment: dict) -> pd.DataFrame:
    """Fused head per checkpoint, best mPC first: clean accuracy, mPC, rPC, mCE, fusion gain, fallback gaps,
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
    columns = ["checkpoint", "fusion", "unimodal_heads", "clean_accuracy", "mpc", "rpc", "mce", "relative_mce", "fusion_gain",
               "fusion_gain_corrupted", "fallback_gap_no_audio", "fallback_gap_no_video", "confidence_rises_no_audio",
               "confidence_rises_no_video", "audio_only_mpc", "video_only_mpc", "format", "model_hash"]
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
    """Per class: clean accuracy, mean accuracy over the corrupted conditions, the drop, the worst condition."""
    mine = metrics[(metrics["checkpoint"] == checkpoint) & (metrics["head"] == head)]
    clean = mine[mine["corruption"] == CLEAN]
    broken = mine[mine["corruption"] != CLEAN]
    if clean.empty or broken.empty:
        return pd.DataFrame(columns=["class", "clean_accuracy", "corrupted_accuracy", "points", "worst_condition",
                                     "worst_accuracy"])
    per = pd.DataFrame(list(broken["per_class_accuracy"]), index=broken["condition"].to_list())
    out = []
    for cls, base in clean["per_class_accuracy"].iloc[0].items():
        column = per[cls] if cls in per else pd.Series(dtype=float)
        worst = column.idxmin() if column.notna().any() else None
        out.append({"class": cls, "clean_accuracy": base, "corrupted_accuracy": float(column.mean()),
                    "points": 100 * (base - float(column.mean())), "worst_condition": worst,
                    "worst_accuracy": float(column.min()) if worst else float("nan")})
    return pd.DataFrame(out).sort_values("points", ascending=False).reset_index(drop=True)


# --------------------------------------------------------------------------- sentences


def _pct(x: float) -> str:
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
                f"{board_row['checkpoint']} is right {_pct(clean['accuracy_at_90'].iloc[0])} of the time on clean "
                f"clips")
        selective = corrupted[corrupted["accuracy_at_90"].notna()]
        if not selective.empty:
            worst = selective.sort_values("accuracy_at_90").iloc[0]
            text += f", {_pct(worst['accuracy_at_90'])} under {figures.condition_title(worst['condition'])} (the lowest)"
    text += f". Its calibration error (ECE) is {clean['ece'].iloc[0]:.3f} on clean clips"
    if not corrupted.empty:
        text += f" and {corrupted['ece'].mean():.3f} on average under corruption"
    rises = [(board_row.get(f"confidence_rises_no_{m}"), m) for m in ("audio", "video")]
    rises = [f"{_pct(r)} of clips without {m}" for r, m in rises if r is not None and r == r]
    if rises:
        text += ("; taking a sense away makes it more confident (it should be less: less evidence) on "
                 + " and ".join(rises))
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
    if len(board) > 1:
        ranked = ", ".join(f"{r.checkpoint} ({r.fusion}) {_pct(r.mpc)}" for r in board.itertuples())
        runner_up = board.iloc[1]
        tie = "" if abs(best["mpc"] - runner_up["mpc"]) >= 1 / max(n, 1) else \
            f" Its lead over {runner_up['checkpoint']} is less than one clip, so call it a tie."
        out.append(f"**Which fusion holds up best:** {who[0].upper() + who[1:]}. Under corruption its fused head keeps "
                   f"{_pct(best['mpc'])} accuracy on average ({_pct(best['rpc'])} of its clean "
                   f"{_pct(best['clean_accuracy'])}).{tie} Ranked by mean accuracy under corruption: {ranked}.")
    else:
        out.append(f"**One fusion method was tested:** {who}. Its fused head is right on {_pct(best['clean_accuracy'])} "
                   f"of clean clips and {_pct(best['mpc'])} on average under corruption "
                   f"({_pct(best['rpc'])} of clean).")
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
                   f"{_points(f['points'])}{severity}{worst} ({_pct(f['clean_accuracy'])} → {_pct(f['accuracy'])}); "
                   + " and ".join(others) + ".")
    if not any(name in set(mine["corruption"]) for name in EVERYDAY):
        out.append("None of the everyday failures (mute, gaussian_blur, defocus_blur, audio_gaussian_noise) was "
                   "part of this sweep; run them to see what a microphone failure, a dirty lens or a noisy plant costs.")
    worst_cost = mine[mine["head"] == "fused"].sort_values("points", ascending=False).head(1)
    if not worst_cost.empty and worst_cost.iloc[0]["points"] >= 0.5:
        w = worst_cost.iloc[0]
        where = "" if figures.single_level(w["corruption"]) else f" at severity {w['worst_severity']}"
        out.append(f"**The most damaging corruption** for the fused head is {figures.corruption_title(w['corruption'])}: "
                   f"{_points(w['points'])} on average, {_pct(w['worst_accuracy'])} accuracy{where}.")
    hurt = classes[classes["points"] >= 0.5].head(2)
    if hurt.empty and not classes.empty:
        out.append("**Classes:** no class loses accuracy under the corruptions tested.")
    elif not hurt.empty:
        parts = [f"{r['class']} ({_pct(r['clean_accuracy'])} clean, {_pct(r['corrupted_accuracy'])} under corruption,"
                 f" worst under {figures.condition_title(r['worst_condition'])})" for _, r in hurt.iterrows()]
        out.append("**Classes that suffer most** (fused head): " + "; then ".join(parts) + ".")
    w = weights[(weights["checkpoint"] == best["checkpoint"])].dropna(subset=["weight_audio"]).set_index("condition")
    if CLEAN in w.index:
        for name, what in (("mute", "microphone dead"), ("gaussian_blur", "lens blurred")):
            conds = [c for c in w.index if c.startswith(f"{name}:")]
            if conds:
                c = conds[-1]
                out.append(f"**Where the model looks:** with the {what} ({figures.condition_title(c)}) the audio "
                           f"weight goes from {_pct(w.loc[CLEAN, 'weight_audio'])} to {_pct(w.loc[c, 'weight_audio'])}"
                           f" (video {_pct(w.loc[CLEAN, 'weight_video'])} → {_pct(w.loc[c, 'weight_video'])}).")
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


# --------------------------------------------------------------------------- building and writing


def build(experiment_id: int, *, db=None, baseline: str | None = None) -> Report:
    """The report of one experiment in the results database (a path, a ResultsDB or the default)."""
    handle = db if isinstance(db, ResultsDB) else ResultsDB(db, create=False)
    try:
        experiment = handle.get_experiment(experiment_id)
        metrics = handle.condition_metrics(experiment_id)
        summary = handle.summary(experiment_id, baseline=baseline)
        weights = handle.modality_weights(experiment_id)
    finally:
        if handle is not db:
            handle.close()
    board = leaderboard(summary, experiment) if not metrics.empty else pd.DataFrame()
    scored = one_level_each(metrics)  # a single-level corruption once, as in the summary (mute stored at 1-5 before)
    cost = costs(scored)
    best = board.iloc[0]["checkpoint"] if not board.empty else None
    classes = class_damage(scored, best) if best is not None else pd.DataFrame(columns=["points"])
    tables = {"leaderboard": board, "summary": summary, "conditions": metrics[_TABLE_COLUMNS], "costs": cost,
              "classes": classes, "modality_weights": weights}
    report = Report(experiment, findings(experiment, board, cost, classes, weights, scored), tables)
    if best is not None:
        report.figures = _figures(report, metrics, weights, best)
    return report


def _figures(report: Report, metrics: pd.DataFrame, weights: pd.DataFrame, best: str) -> list:
    out = []
    if len(report.tables["leaderboard"]) > 1:
        out.append(("Fusion methods: clean accuracy and mean accuracy under corruption",
                    figures.leaderboard_bars(report.tables["leaderboard"])))
    everyday = report.tables["costs"]
    everyday = everyday[(everyday["checkpoint"] == best) & everyday["corruption"].isin(list(EVERYDAY))]
    if not everyday.empty:
        out.append((f"What everyday failures cost ({best})", figures.accuracy_costs(everyday)))
    out.append(("Accuracy against severity, per corruption and head", figures.severity_curves(metrics)))
    out.append(("Calibration error (ECE) against severity, per corruption and head",
                figures.severity_curves(metrics, metric="ece")))
    out.append((f"Fused accuracy, corruption x severity ({best})", figures.accuracy_grid(metrics, best)))
    mine = weights[weights["checkpoint"] == best]
    if mine["weight_audio"].notna().any():
        out.append((f"Mean modality weights per condition ({best})", figures.modality_weights(mine)))
    return out


def _percent_table(df: pd.DataFrame) -> str:
    fractions = {"clean_accuracy", "mpc", "rpc", "accuracy", "corrupted_accuracy", "worst_accuracy",
                 "audio_only_mpc", "video_only_mpc", "weight_audio", "weight_video", "coverage", "accuracy_at_90",
                 "confidence_rises_no_audio", "confidence_rises_no_video"}
    shown = df.copy()
    for column in shown.columns:
        if column in fractions:
            shown[column] = [_pct(v) for v in shown[column]]
        elif pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [("" if np.isnan(v) else f"{v:.3g}") for v in shown[column]]
    return shown.to_html(index=False, border=0, classes="table", escape=True)


def _offline(script: str) -> str:
    # plotly.js carries a few default URLs (topojson maps, mapbox icons) that these charts never fetch;
    # "\/" is "/" in a JavaScript string, so escaping them keeps the library unchanged and leaves no
    # "https://cdn" text in the file for a checker (or a reader) to worry about.
    return script.replace("https://cdn", "https:\\/\\/cdn")


_STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
li{margin:.4em 0;line-height:1.45}table.table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.table th,table.table td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
table.table th{background:#f6f6f6}.meta{color:#666;font-size:.85em}"""


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page (plotly.js inlined once; charts interactive offline)."""
    exp = report.experiment

    def md(sentence: str) -> str:  # the findings use **bold** only
        parts = html.escape(sentence).split("**")
        return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))

    body = [f"<h1>{html.escape(report.title)}</h1>",
            f"<p class='meta'>{len(exp['checkpoints'])} checkpoint(s) x {len(exp['clips'])} clips x "
            f"{len(exp['conditions'])} conditions · data {html.escape(str(exp['config'].get('data', '')))} · "
            f"generated {time.strftime('%Y-%m-%d %H:%M', time.localtime(report.created))} by avlab</p>",
            "<h2>Findings</h2><ul>" + "".join(f"<li>{md(s)}</li>" for s in report.findings) + "</ul>"]
    for i, (title, fig) in enumerate(report.figures):
        chart = fig.to_html(full_html=False, include_plotlyjs=i == 0, config={"displaylogo": False},
                            div_id=f"chart{i}")
        body.append(f"<h2>{html.escape(title)}</h2>" + (_offline(chart) if i == 0 else chart))
    for name, title in (("leaderboard", "Leaderboard (fused head)"), ("costs", "Cost of each corruption"),
                        ("classes", "Classes under corruption (fused head, best checkpoint)")):
        table = report.tables.get(name)
        if table is not None and not table.empty:
            body.append(f"<h2>{title}</h2>" + _percent_table(table))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>"
            f"<style>{_STYLE}</style></head><body>" + "\n".join(body) + "</body></html>")


def csv_files(report: Report) -> dict[str, bytes]:
    """Each table as CSV bytes, by file name."""
    return {f"{name}.csv": table.to_csv(index=False).encode() for name, table in report.tables.items()}


def csv_zip(report: Report) -> bytes:
    """Every table as CSV, in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in csv_files(report).items():
            z.writestr(f"experiment_{report.experiment['id']}/{name}", data)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.report", description=__doc__.splitlines()[0])
    parser.add_argument("id", type=int, help="experiment id (`python -m core.experiments list`)")
    parser.add_argument("--out", default=None, help="HTML file to write (default report_ID.html)")
    parser.add_argument("--csv", help="also write the tables as CSV files into this folder")
    parser.add_argument("--db", help="results database (default $AVLAB_DB or results/avlab.db)")
    parser.add_argument("--baseline", help="checkpoint the mCE is relative to (default the first)")
    args = parser.parse_args(argv)
    try:
        report = build(args.id, db=args.db, baseline=args.baseline)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or f"report_{args.id}.html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_html(report), encoding="utf-8")
    print(f"wrote {out}")
    if args.csv:
        folder = Path(args.csv)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in csv_files(report).items():
            (folder / name).write_bytes(data)
        print(f"wrote {len(report.tables)} CSV tables to {folder}")
    return 0


__all__ = ["Report", "EVERYDAY", "build", "leaderboard", "costs", "class_damage", "findings", "to_html",
           "csv_files", "csv_zip", "main", "condition_label"]

if __name__ == "__main__":
    sys.exit(main())
