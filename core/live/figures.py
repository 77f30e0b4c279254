"""Plotly figures of a live monitor: rolling head timelines, modality weights over time, health gauges.

Data in (the :class:`core.live.LiveWindow` s a :class:`core.live.History` keeps), figure out; one
colour per class and per head as in :mod:`core.figures`.
"""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures import HEAD_COLOURS, HEAD_TITLES, class_colours
from core.live.health import BLUR_RATIO, FLOOR_DBFS, SILENCE_DBFS
from core.models.interface import HEADS

DROPS = ("stream dropped", "unavailable", "failed")


def head_timelines(windows: Sequence, classes: Sequence[str], *, events: Sequence = (), alerts: Sequence = (),
                   height: int = 520) -> go.Figure:
    """Each head's class probabilities against the window's end (session seconds), one row per head.

    A head that abstains in a window (no input) leaves a gap; alerts are red dashed lines, dropped
    streams grey dotted ones.
    """
    colours = class_colours(classes)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[HEAD_TITLES[h] for h in HEADS])
    ends = [w.end for w in windows]
    for row, head in enumerate(HEADS, start=1):
        for k, c in enumerate(classes):
            ys = [float(w.prediction.probs[head][k]) if w.prediction.answered(head) else None for w in windows]
            fig.add_scatter(x=ends, y=ys, mode="lines", name=c, legendgroup=c, showlegend=row == 1,
                            line=dict(color=colours[c], width=2), connectgaps=False,
                            hovertemplate=f"{c}: %{{y:.1%}} at %{{x:.1f}} s<extra></extra>", row=row, col=1)
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%", tickvals=[0, 0.5, 1], row=row, col=1)
    for alert in alerts:
        fig.add_vline(x=alert.session_time, line=dict(color="#d62728", dash="dash", width=1.5))
    for event in events:
        if event.kind in DROPS:
            fig.add_vline(x=event.time, line=dict(color="#888", dash="dot", width=1))
    fig.update_xaxes(title_text="session time (s)", row=3, col=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.15),
                      uirevision="live")
    return fig


def weights_timeline(windows: Sequence, *, height: int = 200) -> go.Figure:
    """The fused head's reliance on each sense (modality weights, audio + video = 1) over time."""
    fig = go.Figure()
    kept = [w for w in windows if w.prediction.weights is not None and w.prediction.answered("fused")]
    for i, modality in enumerate(("audio", "video")):
        fig.add_scatter(x=[w.end for w in kept], y=[w.prediction.weights[i] for w in kept], mode="lines",
                        name=f"{modality} weight", stackgroup="weights", line=dict(color=HEAD_COLOURS[modality]),
                        hovertemplate=f"{modality}: %{{y:.0%}} at %{{x:.1f}} s<extra></extra>")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(range=[0, 1], tickformat=".0%"),
                      xaxis_title="session time (s)", legend=dict(orientation="h", y=1.15), uirevision="live")
    return fig


def health_gauges(window, *, height: int = 190) -> go.Figure:
    """Gauges of one window: audio level (dBFS), clipping, brightness, sharpness (against the stream's
    usual), and the out-of-distribution score against its threshold where the model has a detector."""
    audio, video = window.health.audio or {}, window.health.video or {}
    ood = window.prediction.out_of_distribution
    reference = video.get("sharpness_reference")
    gauges = [
        ("Level (dBFS)", audio.get("level_dbfs"), [FLOOR_DBFS / 1.5, 0], SILENCE_DBFS, ".0f"),
        ("Clipping (%)", None if not audio else 100 * audio["clipping"], [0, 5], 0.1, ".2f"),
        ("Brightness (%)", None if not video else 100 * video["brightness"], [0, 100], 10, ".0f"),
    ]
    if reference:
        gauges.append(("Sharpness (% usual)", 100 * video["sharpness"] / reference, [0, 150],
                       100 * BLUR_RATIO, ".0f"))
    else:
        gauges.append(("Sharpness", video.get("sharpness"), [0, max(1.0, 2 * video.get("sharpness", 0) or 1)], None,
                       ".0f"))
    if ood:
        gauges.append(("Unfamiliarity", ood["score"], [0, 2 * ood["threshold"]], ood["threshold"], ".1f"))
    fig = make_subplots(rows=1, cols=len(gauges), specs=[[{"type": "indicator"}] * len(gauges)])
    for col, (title, value, span, mark, fmt) in enumerate(gauges, start=1):
        gauge = {"axis": {"range": span}, "bar": {"color": "#1f77b4"}}
        if mark is not None:
            gauge["threshold"] = {"value": mark, "line": {"color": "#d62728", "width": 3}, "thickness": 0.8}
        fig.add_trace(go.Indicator(mode="gauge+number", value=value if value is not None else span[0],
                                   number={"valueformat": fmt, "suffix": "" if value is not None else " (none)"},
                                   title={"text": title, "font": {"size": 13}}, gauge=gauge), row=1, col=col)
    fig.update_layout(height=height, margin=dict(l=20, r=20, t=40, b=10))
    return fig


__all__ = ["head_timelines", "weights_timeline", "health_gauges"]
