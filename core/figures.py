"""Plotly figures for the Embeddings, Robustness and Report views: data in, figure out.

Inputs are the tables of :mod:`core.results` (``condition_metrics``, ``summary``,
``modality_weights``) and the arrays of :mod:`core.embeddings`; nothing here reads files or
imports streamlit, so the same figures go into the dashboard and the HTML report. One colour per
class and one per head everywhere.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core import corruptions
from core.models.interface import HEADS  # noqa: F401 - the one home of the head names

HEAD_TITLES = {"audio": "Audio only", "video": "Video only", "fused": "Fused"}
HEAD_COLOURS = {"audio": "#1f77b4", "video": "#ff7f0e", "fused": "#2ca02c"}
CLEAN = "clean"
COLOUR_BY = {"label": "true class", "predicted": "predicted class", "correct": "correct / wrong",
             "condition": "condition"}
_RIGHT_WRONG = {"right": "#2ca02c", "wrong": "#d62728"}
_CONDITION = {CLEAN: "#7f7f7f"}
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def class_colours(classes: Sequence[str]) -> dict[str, str]:
    palette = qualitative.Plotly + qualitative.D3
    return {c: palette[i % len(palette)] for i, c in enumerate(classes)}


def corruption_title(name: str) -> str:
    return "Clean" if name == CLEAN else corruptions.label(name) if name in corruptions.REGISTRY else name


def single_level(name: str) -> bool:
    """Whether a corruption declares one level (``mute``, ``video_off``: ``Corruption.levels == (1,)``)."""
    c = corruptions.REGISTRY.get(name)
    return c is not None and len(c.levels) == 1


def distinct_conditions(conditions: Sequence[str]) -> list[str]:
    """``conditions`` in order, keeping one severity of each single-level corruption (``mute:1`` = ``mute:5``).

    Sweeps store a single-level corruption once, at severity 1; databases from before stored it at
    every severity swept, with identical rows: the first one stands for all.
    """
    seen, out = set(), []
    for c in conditions:
        name = c.rpartition(":")[0]
        if single_level(name):
            if name in seen:
                continue
            seen.add(name)
        out.append(c)
    return out


def condition_title(condition: str) -> str:
    """``"gaussian_blur:3"`` -> ``"Gaussian Blur 3"``; ``"mute:5"`` -> ``"Mute"`` (one level only)."""
    name, _, severity = condition.rpartition(":")
    if not name:
        return corruption_title(condition)
    return corruption_title(name) if single_level(name) else f"{corruption_title(name)} {severity}"


# --------------------------------------------------------------------------- embeddings


def embedding_panels(points: Mapping[str, np.ndarray], table: pd.DataFrame, *, colour_by: str = "label",
                     titles: Mapping[str, str] | None = None, classes: Sequence[str] = (),
                     links: Sequence[tuple[int, int]] = (), height: int = 470) -> go.Figure:
    """Audio, video and fused maps side by side, one point per row of ``table``.

    Parameters
    ----------
    points : head -> (N, 2) map coordinates, rows as in ``table``
    table : DataFrame with columns ``clip``, ``label``, ``condition`` and per head ``pred_<head>``,
        ``p_<head>`` (top probability) and ``correct_<head>`` (bool)
    colour_by : one of :data:`COLOUR_BY` (``predicted`` and ``correct`` follow each panel's head)
    titles : head -> panel title (e.g. with its separation score)
    links : (i, j) row pairs drawn as a thin line (the same clip clean and corrupted)

    Each point's ``customdata[0]`` is its row in ``table``, for selection events.
    """
    if colour_by not in COLOUR_BY:
        raise ValueError(f"colour_by is one of {', '.join(COLOUR_BY)}; got '{colour_by}'.")
    titles = titles or HEAD_TITLES
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.03, subplot_titles=[titles[h] for h in HEADS])
    palette = class_colours(list(classes) or sorted(table["label"].unique()))
    broken = table["condition"] != CLEAN
    conditions = [c for c in table["condition"].unique() if c != CLEAN]
    colours = {**palette, **_RIGHT_WRONG, **_CONDITION,
               **{c: qualitative.Set1[i % 9] for i, c in enumerate(conditions)}}
    hover = ("<b>%{customdata[1]}</b> (%{customdata[2]})<br>true: %{customdata[3]}<br>"
             "audio → %{customdata[4]}<br>video → %{customdata[5]}<br>fused → %{customdata[6]}<extra></extra>")
    heads_text = {h: [f"{p} {q:.0%}" + ("" if ok else " ✗") for p, q, ok in
                      zip(table[f"pred_{h}"], table[f"p_{h}"], table[f"correct_{h}"])] for h in HEADS}
    custom = np.column_stack([np.arange(len(table)), table["clip"], table["condition"].map(condition_title),
                              table["label"], heads_text["audio"], heads_text["video"], heads_text["fused"]])
    shown: set[str] = set()
    for col, head in enumerate(HEADS, start=1):
        xy = np.asarray(points[head])
        if links:
            lx, ly = [], []
            for i, j in links:
                lx += [xy[i, 0], xy[j, 0], None]
                ly += [xy[i, 1], xy[j, 1], None]
            fig.add_scatter(x=lx, y=ly, mode="lines", line=dict(color="rgba(120,120,120,0.45)", width=1),
                            hoverinfo="skip", showlegend=False, row=1, col=col)
        key = _colour_key(table, colour_by, head)
        for value in _ordered(key, colours):
            for corrupted in (False, True):
                rows = np.flatnonzero((key == value).to_numpy() & (broken.to_numpy() == corrupted))
                if not rows.size:
                    continue
                name = value if not conditions or colour_by == "condition" else \
                    f"{value} ({'corrupted' if corrupted else 'clean'})"
                fig.add_scatter(
                    x=xy[rows, 0], y=xy[rows, 1], mode="markers", name=name, legendgroup=name,
                    showlegend=name not in shown, customdata=custom[rows], hovertemplate=hover,
                    marker=dict(color=colours.get(value, "#999"), size=8 if len(table) < 400 else 5,
                                symbol="x" if corrupted else "circle", line=dict(width=0.5, color="white")),
                    row=1, col=col)
                shown.add(name)
    fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, zeroline=False, showgrid=False)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10), clickmode="event+select",
                      legend=dict(orientation="h", y=-0.04), hoverlabel=dict(align="left"))
    return _fit(fig)


def _fit(fig: go.Figure) -> go.Figure:
    """Margins grow to fit tick labels (long corruption names, percentages) in the app and the report."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _colour_key(table: pd.DataFrame, colour_by: str, head: str) -> pd.Series:
    if colour_by == "label":
        return table["label"].astype(str)
    if colour_by == "predicted":
        return table[f"pred_{head}"].astype(str)
    if colour_by == "correct":
        return table[f"correct_{head}"].map({True: "right", False: "wrong"})
    return table["condition"].astype(str)


def _ordered(key: pd.Series, colours: Mapping[str, str]) -> list[str]:
    values = set(key.unique())
    return [v for v in colours if v in values] + sorted(values - set(colours))


# --------------------------------------------------------------------------- robustness


def _one_level_each(metrics: pd.DataFrame) -> pd.DataFrame:
    """``metrics`` rows without the repeats of single-level corruptions (see :func:`distinct_conditions`)."""
    keep = distinct_conditions(list(dict.fromkeys(metrics["condition"])))
    return metrics[metrics["condition"].isin(keep)]


METRIC_TITLES = {"accuracy": "accuracy", "ece": "ECE", "coverage": "coverage", "aurc": "AURC"}


def severity_curves(metrics: pd.DataFrame, *, checkpoints: Sequence[str] | None = None, columns: int = 3,
                    height_per_row: int = 260, metric: str = "accuracy") -> go.Figure:
    """``metric`` (a ``condition_metrics`` column: accuracy, ece, coverage, aurc) against severity (0 = clean),
    one panel per corruption, one line per head and checkpoint.

    Colour says the head, dash the checkpoint. ``metrics`` is ``condition_metrics``. A single-level
    corruption (``mute``) has one point (at severity 1 in sweeps). A head that abstained on every clip of a
    condition has no point there.
    """
    if checkpoints is not None:
        metrics = metrics[metrics["checkpoint"].isin(list(checkpoints))]
    metrics = _one_level_each(metrics)
    names = [c for c in metrics["corruption"].unique() if c != CLEAN]
    ckpts = list(metrics["checkpoint"].unique())
    columns = max(1, min(columns, len(names)))
    rows = max(1, -(-len(names) // columns))
    fig = make_subplots(rows=rows, cols=columns, shared_yaxes=True, horizontal_spacing=0.04,
                        vertical_spacing=0.5 / max(rows, 2) if rows > 1 else 0.1,
                        subplot_titles=[corruption_title(n) for n in names] or ["no corruption"])
    for i, name in enumerate(names):
        r, c = i // columns + 1, i % columns + 1
        for k, ckpt in enumerate(ckpts):
            for head in HEADS:
                mine = metrics[(metrics["checkpoint"] == ckpt) & (metrics["head"] == head)]
                part = pd.concat([mine[mine["corruption"] == CLEAN], mine[mine["corruption"] == name]])
                part = part.sort_values("severity")
                label = HEAD_TITLES[head] + (f" · {ckpt}" if len(ckpts) > 1 else "")
                fig.add_scatter(x=part["severity"], y=part[metric], mode="lines+markers", name=label,
                                legendgroup=label, showlegend=i == 0,
                                line=dict(color=HEAD_COLOURS[head], dash=_DASHES[k % len(_DASHES)], width=2),
                                marker=dict(size=6),
                                customdata=np.column_stack([part["condition"], [ckpt] * len(part)]),
                                hovertemplate=f"{label}<br>%{{customdata[0]}}: "
                                              + ("%{y:.1%}" if metric in ("accuracy", "coverage") else "%{y:.3f}")
                                              + "<extra></extra>",
                                row=r, col=c)
        fig.update_xaxes(tickvals=[0, 1, 2, 3, 4, 5], ticktext=["clean", "1", "2", "3", "4", "5"],
                         range=[-0.3, 5.3], row=r, col=c)
        last_in_column = i + columns >= len(names)  # no panel below it: its x axis is titled
        if last_in_column:
            fig.update_xaxes(title_text="severity", title_standoff=4, row=r, col=c)
    if metric in ("accuracy", "coverage"):
        fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    else:
        top = float(np.nanmax(metrics[metric].to_numpy(float))) if metrics[metric].notna().any() else 0.1
        fig.update_yaxes(range=[0, max(0.05, 1.1 * top)], tickformat=".2f")
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=METRIC_TITLES.get(metric, metric), row=r, col=1)
    # the legend sits right of the panels, clear of every tick label and axis title
    fig.update_layout(height=80 + height_per_row * rows, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    fig.update_annotations(font_size=13)
    return _fit(fig)


def accuracy_grid(metrics: pd.DataFrame, checkpoint: str, head: str = "fused") -> go.Figure:
    """Corruption x severity accuracy of one checkpoint and head, as clickable squares (a heatmap whose
    cells can be selected); each cell's ``customdata[0]`` is its condition label. A single-level corruption
    (``mute``) has one cell."""
    mine = _one_level_each(metrics[(metrics["checkpoint"] == checkpoint) & (metrics["head"] == head)])
    corrupted = mine[mine["corruption"] != CLEAN]
    clean = mine[mine["corruption"] == CLEAN]
    names = list(dict.fromkeys(corrupted["corruption"]))
    cells = pd.concat([clean.assign(y=CLEAN), corrupted.assign(y=corrupted["corruption"])])
    x = ["clean" if s == 0 else str(s) for s in cells["severity"]]
    y = [corruption_title(n) for n in cells["y"]]
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers+text", text=[f"{a:.0%}" for a in cells["accuracy"]],
        textfont=dict(size=12, color="black"), customdata=np.column_stack([cells["condition"], cells["n"]]),
        hovertemplate="%{y} %{x}: %{text} of %{customdata[1]} clips<extra></extra>",
        marker=dict(symbol="square", size=44, color=cells["accuracy"], cmin=0, cmax=1, colorscale="RdYlGn",
                    colorbar=dict(title="accuracy", tickformat=".0%", thickness=12))))
    order_x = ["clean"] + [str(s) for s in sorted(corrupted["severity"].unique())]
    order_y = [corruption_title(CLEAN)] + [corruption_title(n) for n in names]
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order_x, title="severity",
                     showgrid=False)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=order_y[::-1], showgrid=False)
    fig.update_layout(height=110 + 50 * len(order_y), width=None, margin=dict(l=10, r=10, t=30, b=10),
                      clickmode="event+select", title=dict(text=f"{HEAD_TITLES[head]} · {checkpoint}", font_size=13))
    return _fit(fig)


def per_class_bars(per_class: Mapping[str, Mapping[str, float]], classes: Sequence[str], *,
                   height: int = 300) -> go.Figure:
    """Per-class accuracy of each head (``per_class[head][class]``) as grouped bars."""
    fig = go.Figure()
    for head in HEADS:
        if head in per_class:
            fig.add_bar(x=list(classes), y=[per_class[head].get(c, np.nan) for c in classes],
                        name=HEAD_TITLES[head], marker_color=HEAD_COLOURS[head],
                        hovertemplate="%{x}: %{y:.0%}<extra>" + HEAD_TITLES[head] + "</extra>")
    fig.update_layout(barmode="group", height=height, yaxis=dict(range=[0, 1.05], tickformat=".0%"),
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12))
    return _fit(fig)


def confusion(matrix, classes: Sequence[str], *, title: str = "", height: int = 360) -> go.Figure:
    """A confusion matrix (rows true, columns predicted) with counts written in the cells."""
    m = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(z=m, x=list(classes), y=list(classes), colorscale="Blues", showscale=False,
                               text=m, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true")
    fig.update_xaxes(title="predicted")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=dict(text=title, font_size=13))
    return _fit(fig)


def modality_weights(weights: pd.DataFrame, *, height: int = 300) -> go.Figure:
    """Mean audio / video weight per condition (one checkpoint's ``modality_weights`` rows), stacked to 100 %."""
    rows = weights.dropna(subset=["weight_audio"])
    rows = rows[rows["condition"].isin(distinct_conditions(list(rows["condition"])))]
    x = [condition_title(c) for c in rows["condition"]]
    fig = go.Figure()
    for modality in ("audio", "video"):
        fig.add_bar(x=x, y=rows[f"weight_{modality}"], name=f"{modality} weight",
                    marker_color=HEAD_COLOURS[modality],
                    hovertemplate="%{x}: " + modality + " %{y:.0%}<extra></extra>")
    fig.update_layout(barmode="stack", height=height, yaxis=dict(range=[0, 1], tickformat=".0%"),
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12))
    return _fit(fig)


def leaderboard_bars(board: pd.DataFrame, *, height: int = 320) -> go.Figure:
    """Clean accuracy and mPC of each checkpoint's fused head (``board`` from ``core.report.leaderboard``)."""
    fig = go.Figure()
    names = [f"{c} ({f})" for c, f in zip(board["checkpoint"], board["fusion"])]
    for column, title, colour in (("clean_accuracy", "clean accuracy", "#9ecae1"),
                                  ("mpc", "mean accuracy under corruption (mPC)", "#2ca02c")):
        fig.add_bar(x=names, y=board[column], name=title, marker_color=colour,
                    text=[f"{v:.0%}" for v in board[column]], textposition="outside")
    fig.update_layout(barmode="group", height=height, yaxis=dict(range=[0, 1.12], tickformat=".0%"),
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.14))
    return _fit(fig)


def accuracy_costs(costs: pd.DataFrame, *, height: int = 320) -> go.Figure:
    """Accuracy points each head loses per corruption (``costs``: corruption, head, points)."""
    fig = go.Figure()
    for head in HEADS:
        part = costs[costs["head"] == head]
        fig.add_bar(x=[corruption_title(c) for c in part["corruption"]], y=part["points"], name=HEAD_TITLES[head],
                    marker_color=HEAD_COLOURS[head], text=[f"{-p:+.0f}" if abs(p) >= 0.5 else "0" for p in part["points"]],
                    textposition="outside", hovertemplate="%{x}: %{y:.1f} points lost<extra>" +
                    HEAD_TITLES[head] + "</extra>")
    fig.update_layout(barmode="group", height=height, yaxis=dict(title="accuracy points lost"),
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.14))
    return _fit(fig)


def reliability_diagram(bins: Mapping[str, Mapping[str, np.ndarray]], *, title: str = "",
                        height: int = 320) -> go.Figure:
    """Accuracy against confidence per bin, one line per curve (e.g. clean and a condition), with the
    diagonal of perfect calibration; ``bins``: label -> :func:`core.trust.calibration.reliability`."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line=dict(color="#7f7f7f", dash="dot", width=1))
    for k, (label, b) in enumerate(bins.items()):
        keep = np.asarray(b["count"]) > 0
        fig.add_scatter(x=np.asarray(b["confidence"])[keep], y=np.asarray(b["accuracy"])[keep],
                        mode="lines+markers", name=label, marker=dict(size=4 + 10 * np.sqrt(
                            np.asarray(b["count"])[keep] / max(1, np.asarray(b["count"]).sum()))),
                        line=dict(dash=_DASHES[k % len(_DASHES)], width=2),
                        customdata=np.asarray(b["count"])[keep],
                        hovertemplate="confidence %{x:.0%}: right %{y:.0%} of %{customdata} clips<extra>"
                                      + label + "</extra>")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title=dict(text=title, font_size=13),
                      xaxis=dict(title="confidence", range=[0, 1.02], tickformat=".0%"),
                      yaxis=dict(title="accuracy", range=[0, 1.05], tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.25))
    return _fit(fig)


def risk_coverage_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, title: str = "",
                         height: int = 320) -> go.Figure:
    """Accuracy of the most confident answers against coverage, one line per curve; ``curves``: label ->
    ``(coverage, accuracy)`` from :func:`core.trust.selective.risk_coverage`."""
    fig = go.Figure()
    for k, (label, (coverage, accuracy)) in enumerate(curves.items()):
        fig.add_scatter(x=coverage, y=accuracy, mode="lines", name=label,
                        line=dict(dash=_DASHES[k % len(_DASHES)], width=2),
                        hovertemplate="answering %{x:.0%} of clips: right %{y:.1%}<extra>" + label + "</extra>")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title=dict(text=title, font_size=13),
                      xaxis=dict(title="coverage (share of clips answered)", range=[0, 1.02], tickformat=".0%"),
                      yaxis=dict(title="accuracy", range=[0, 1.05], tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.25))
    return _fit(fig)


__all__ = ["HEADS", "HEAD_TITLES", "HEAD_COLOURS", "COLOUR_BY", "class_colours", "corruption_title",
           "condition_title", "distinct_conditions", "single_level", "embedding_panels", "severity_curves", "accuracy_grid", "per_class_bars", "confusion",
           "modality_weights", "leaderboard_bars", "accuracy_costs", "reliability_diagram", "risk_coverage_curves",
           "METRIC_TITLES"]
