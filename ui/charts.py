"""Plotly figures for the prediction pages: data in, figure out (no streamlit here).

Every figure uses the same class order and one colour per class across heads.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures import HEAD_TITLES, class_colours
from core.inference import HEADS, ClipPrediction, Prediction


def probability_bars(pred: Prediction, before: Prediction | None = None, *, height: int = 300) -> go.Figure:
    """Horizontal bars of each head's class probabilities, side by side; ``before`` adds hollow outlines."""
    classes = list(pred.classes)
    colours = class_colours(classes)
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[_head_title(pred, h) for h in HEADS])
    for col, head in enumerate(HEADS, start=1):
        if before is not None and before.answered(head):
            fig.add_bar(x=before.probs[head], y=classes, orientation="h", name="before",
                        marker=dict(color="rgba(0,0,0,0)", line=dict(color="#555", width=1.5)),
                        hovertemplate="%{y}: %{x:.1%} before<extra></extra>", showlegend=False, row=1, col=col)
        if pred.answered(head):  # an abstaining head has no answer to draw
            fig.add_bar(x=pred.probs[head], y=classes, orientation="h", name=head,
                        marker_color=[colours[c] for c in classes], showlegend=False,
                        hovertemplate="%{y}: %{x:.1%}<extra></extra>", row=1, col=col)
        else:
            fig.add_annotation(text="no input", x=0.5, y=classes[len(classes) // 2], showarrow=False,
                               font=dict(size=14, color="#777"), row=1, col=col)
        fig.update_xaxes(range=[0, 1], tickformat=".0%", tickvals=[0, 0.5, 1], row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(barmode="overlay", height=height, margin=dict(l=10, r=20, t=40, b=10))
    fig.update_annotations(font_size=13)
    return fig


def _head_title(pred: Prediction, head: str) -> str:
    return HEAD_TITLES[head] + ("" if pred.answered(head) else " (missing)")


def timeline(result: ClipPrediction, segments=(), *, height: int = 520) -> go.Figure:
    """Each head's per-class probability over the window centre time, true segments shaded, and a last row
    with the modality weights per window (where the model has them)."""
    classes = list(result.overall.classes)
    colours = class_colours(classes)
    weighted = any(w.prediction.weights is not None for w in result.windows)
    rows = len(HEADS) + weighted
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[HEAD_TITLES[h] for h in HEADS] + (["Modality weights"] if weighted else []))
    centres = [(w.start + w.end) / 2 for w in result.windows]
    for row, head in enumerate(HEADS, start=1):
        for k, c in enumerate(classes):
            fig.add_scatter(x=centres, y=[w.prediction.probs[head][k] for w in result.windows], mode="lines+markers",
                            name=c, legendgroup=c, showlegend=row == 1, line=dict(color=colours[c], width=2),
                            marker=dict(size=4), hovertemplate=f"{c}: %{{y:.1%}} at %{{x:.1f}} s<extra></extra>",
                            row=row, col=1)
        fig.update_yaxes(range=[0, 1], tickformat=".0%", title_text="probability", row=row, col=1)
        for start, end, label in segments:
            fig.add_vrect(x0=start, x1=end, fillcolor=colours.get(label, "#999"), opacity=0.12, line_width=0,
                          row=row, col=1)
    if weighted:
        for i, (modality, colour) in enumerate((("audio", "#1f77b4"), ("video", "#ff7f0e"))):
            said = [w.prediction.weights[i] if w.prediction.weights is not None and w.prediction.answered("fused")
                    else None for w in result.windows]
            fig.add_scatter(x=centres, y=said, mode="lines+markers", name=f"{modality} weight",
                            line=dict(color=colour, width=2, dash="dot"), marker=dict(size=4),
                            hovertemplate=f"{modality} weight %{{y:.0%}} at %{{x:.1f}} s<extra></extra>",
                            row=rows, col=1)
        fig.update_yaxes(range=[0, 1], tickformat=".0%", title_text="weight", row=rows, col=1)
    for start, end, label in segments:
        fig.add_annotation(x=(start + end) / 2, y=0.98, xref="x", yref="y domain", text=f"true: {label}",
                           showarrow=False, yanchor="top", font=dict(size=11))
    fig.update_xaxes(title_text="window centre (s)", row=rows, col=1)
    fig.update_layout(height=height + 140 * weighted, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", y=-0.12))
    return fig


def weights_bar(before: tuple[float, float] | None, after: tuple[float, float] | None) -> go.Figure:
    """The (audio, video) modality weights before and after, as stacked horizontal bars."""
    fig = go.Figure()
    rows = [(n, w) for n, w in (("before", before), ("after", after)) if w is not None]
    for i, (modality, colour) in enumerate((("audio", "#1f77b4"), ("video", "#ff7f0e"))):
        fig.add_bar(y=[n for n, _ in rows], x=[w[i] for _, w in rows], orientation="h", name=modality,
                    marker_color=colour, text=[f"{modality} {w[i]:.0%}" for _, w in rows], textposition="inside")
    fig.update_layout(barmode="stack", height=140, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(autorange="reversed"))
    return fig
