"""A stakeholder report of one stored sweep: plain sentences from the numbers, key charts, tables.

    python -m core.report EXPERIMENT_ID --out report.html [--csv DIR] [--db PATH] [--reference NAME]

Every sentence is generated from the results database (:mod:`core.results`); nothing about the
results is written by hand. The HTML file is self-contained: plotly.js is inlined once, the
charts stay interactive and the file opens offline (no CDN, no network request).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core import figures
from core.report.page import csv_files, csv_zip, to_html
from core.report.readable import column_help, leaderboard_views, view
from core.report.sentences import EVERYDAY, findings, protocol_sentence, trust_sentence
from core.report.tables import CONDITION_COLUMNS, class_damage, costs, leaderboard
from core.results import ResultsDB, ResultsError, condition_label
from core.results.robustness import one_level_each


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


def build(experiment_id: int, *, db=None, reference: str | None = None, baseline: str | None = None) -> Report:
    """The report of one experiment in the results database (a path, a ResultsDB or the default); ``reference``
    (``baseline`` is its older name) is the mCE's reference model (:meth:`ResultsDB.summary`)."""
    handle = db if isinstance(db, ResultsDB) else ResultsDB(db, create=False)
    try:
        experiment = handle.get_experiment(experiment_id)
        metrics = handle.condition_metrics(experiment_id)
        summary = handle.summary(experiment_id, reference=reference or baseline)
        weights = handle.modality_weights(experiment_id)
    finally:
        if handle is not db:
            handle.close()
    board = leaderboard(summary, experiment) if not metrics.empty else pd.DataFrame()
    scored = one_level_each(metrics)  # a single-level corruption once, as in the summary (mute stored at 1-5 before)
    cost = costs(scored)
    best = board.iloc[0]["checkpoint"] if not board.empty else None
    classes = class_damage(scored, best) if best is not None else pd.DataFrame(columns=["points"])
    tables = {"leaderboard": board, "summary": summary, "conditions": metrics[CONDITION_COLUMNS], "costs": cost,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.report", description=__doc__.splitlines()[0])
    parser.add_argument("id", type=int, help="experiment id (`python -m core.experiments list`)")
    parser.add_argument("--out", default=None, help="HTML file to write (default report_ID.html)")
    parser.add_argument("--csv", help="also write the tables as CSV files into this folder")
    parser.add_argument("--db", help="results database (default $AVLAB_DB or results/avlab.db)")
    parser.add_argument("--reference", "--baseline", dest="reference", metavar="NAME",
                        help="model the mCE is relative to: a checkpoint of the sweep or of a comparable stored one, "
                             "or imagenet-c (AlexNet's published errors); default the suite's, else the first model")
    args = parser.parse_args(argv)
    try:
        report = build(args.id, db=args.db, reference=args.reference)
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


__all__ = ["Report", "EVERYDAY", "build", "leaderboard", "costs", "class_damage", "findings", "protocol_sentence",
           "trust_sentence", "to_html", "csv_files", "csv_zip", "main", "condition_label", "leaderboard_views", "view",
           "column_help"]
