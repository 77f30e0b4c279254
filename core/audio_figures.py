"""Audio-images people can read: a representation as a plotly figure with axes, units and a colour bar.

The conventions are ``librosa.display.specshow``'s (librosa ``display.py``): time across in seconds, the
bin axis in its own unit (Hz on a log axis for the mel, constant-Q and gammatone spectrograms, as its
``y_axis="log"`` / ``"cqt_hz"``; coefficient index for MFCCs; pitch classes for the chromagram), and a
colour bar in the values' unit (``"%+2.0f dB"`` there). Clean and corrupted are drawn on one shared colour
scale, on the absolute level scale of :meth:`core.representations.Representation.absolute` (dB re 1), so a
level change shows as one (each clip scaled to its own min-max would hide it), beside their difference.
The fixed-size image a CNN is fed is :func:`core.representations.to_image`, not this.

    fig = representation_figure(compute("mel", y, sr), compute("mel", y_corrupted, sr))
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.representations import REGISTRY, Representation

MAX_COLUMNS = 1200
"""Frames drawn at most per panel (a 60 s clip's 4,300 mel frames are averaged in groups down to this)."""
CLEAN_COLOUR, CORRUPTED_COLOUR = "#7f7f7f", "#d62728"


def _pooled(rep: Representation, max_columns: int) -> Representation:
    """``rep`` with its frames averaged in equal groups down to at most ``max_columns`` (times: group centres)."""
    n = rep.values.shape[1]
    if n <= max_columns:
        return rep
    group = -(-n // max_columns)
    keep = (n // group) * group
    values = rep.values[:, :keep].reshape(rep.values.shape[0], -1, group).mean(axis=2)
    times = rep.times[:keep].reshape(-1, group).mean(axis=1)
    return Representation(rep.name, values.astype(np.float32), times, rep.bins, rep.bin_label, rep.units,
                          rep.value_range)


def _style(rep: Representation) -> str:
    return REGISTRY[rep.name].image if rep.name in REGISTRY else "heatmap"


def _bin_axis(rep: Representation) -> tuple[dict, str]:
    """The bin axis's layout and how a hover names a bin."""
    if rep.bin_label.startswith("Frequency"):
        log = bool(np.all(np.asarray(rep.bins, float) > 0))
        return dict(title_text="Frequency (Hz)", type="log" if log else "linear"), "%{y:.0f} Hz"
    if rep.bin_label == "MFCC":
        return dict(title_text="MFCC (coefficient)", dtick=2 if len(rep.bins) > 10 else 1), "coefficient %{y}"
    if rep.bin_label == "Pitch class":
        return dict(title_text="Pitch class", type="category"), "%{y}"
    return dict(title_text=rep.bin_label), "%{y}"


def representation_figure(clean: Representation, corrupted: Representation | None = None, *, title: str = "",
                          height: int = 380, max_columns: int = MAX_COLUMNS) -> go.Figure:
    """``clean`` (and ``corrupted``, the same representation of the corrupted audio) as a readable figure.

    Heatmaps (spectrograms, MFCCs, chromagram): panels clean, corrupted and corrupted - clean; the first two
    share one colour scale and colour bar in the values' unit on the absolute scale, the difference has its
    own, centred on 0. Waveplot: the min/max envelopes of both on one amplitude axis. Spectral centroid and
    roll-off: both lines on one Hz axis (0 to Nyquist), and their difference. Hovering shows time (s), bin
    (Hz, coefficient or pitch class) and value with its unit.

    Parameters
    ----------
    clean, corrupted : Representation
        From :func:`core.representations.compute` with the same parameters; ``corrupted`` None draws one panel.
    max_columns : int
        Frames drawn at most per panel; more are averaged in groups (:data:`MAX_COLUMNS`).

    Raises
    ------
    ValueError
        ``clean`` and ``corrupted`` are different representations.
    """
    if corrupted is not None and corrupted.name != clean.name:
        raise ValueError(f"Both panels must show the same representation; got {clean.name} and {corrupted.name}.")
    clean = _pooled(clean.absolute(), max_columns)
    corrupted = None if corrupted is None else _pooled(corrupted.absolute(), max_columns)
    style = _style(clean)
    if style == "envelope":
        fig = _envelopes(clean, corrupted)
    elif style == "area":
        fig = _lines(clean, corrupted)
    else:
        fig = _heatmaps(clean, corrupted)
    fig.update_xaxes(title_text="Time (s)")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50 if title else 30, b=10),
                      title=dict(text=title, font_size=14) if title else None, hoverlabel=dict(align="left"))
    fig.update_annotations(font_size=13)
    return fig


def _heatmaps(clean: Representation, corrupted: Representation | None) -> go.Figure:
    same_shape = corrupted is not None and corrupted.values.shape == clean.values.shape
    titles = ["clean"] + (["corrupted"] if corrupted is not None else []) + \
        (["corrupted − clean"] if same_shape else [])
    fig = make_subplots(rows=1, cols=len(titles), shared_yaxes=True, horizontal_spacing=0.09,
                        subplot_titles=titles)
    axis, hover_bin = _bin_axis(clean)
    shown = [clean] + ([corrupted] if corrupted is not None else [])
    lo = float(min(r.values.min() for r in shown))
    hi = float(max(r.values.max() for r in shown))
    hi = hi if hi > lo else lo + 1.0
    y = list(clean.bins) if axis.get("type") == "category" else np.asarray(clean.bins, float)
    unit = clean.units
    # the shared colour bar sits right of the corrupted panel (or the one panel); the difference's at the end
    gap = 0.09
    width = (1 - gap * (len(titles) - 1)) / len(titles)
    shared_x = width * len(shown) + gap * (len(shown) - 1) + 0.005
    for col, (rep, name) in enumerate(zip(shown, titles), start=1):
        fig.add_heatmap(x=rep.times, y=y, z=rep.values.astype(np.float32), zmin=lo, zmax=hi, colorscale="Magma",
                        showscale=col == len(shown), name=name,
                        colorbar=dict(title=dict(text=unit, side="right"), x=shared_x, thickness=12, len=0.9),
                        hovertemplate=f"{name}<br>%{{x:.2f}} s · {hover_bin}<br>%{{z:.1f}} {unit}<extra></extra>",
                        row=1, col=col)
    if same_shape:
        diff = (corrupted.values - clean.values).astype(np.float32)
        reach = float(np.abs(diff).max()) or 1.0
        delta_unit = unit.replace(" re 1", "")
        fig.add_heatmap(x=clean.times, y=y, z=diff, zmin=-reach, zmax=reach, zmid=0, colorscale="RdBu_r",
                        name="corrupted − clean", colorbar=dict(title=dict(text=f"Δ {delta_unit}", side="right"),
                                                                 x=1.005, thickness=12, len=0.9),
                        hovertemplate=f"corrupted − clean<br>%{{x:.2f}} s · {hover_bin}<br>%{{z:+.1f}} {delta_unit}"
                                      "<extra></extra>", row=1, col=len(titles))
    fig.update_yaxes(**axis, row=1, col=1)
    for col in range(2, len(titles) + 1):
        fig.update_yaxes(type=axis.get("type", "linear"), row=1, col=col)
    return fig


def _envelopes(clean: Representation, corrupted: Representation | None) -> go.Figure:
    fig = go.Figure()
    for rep, name, colour in ((clean, "clean", CLEAN_COLOUR), (corrupted, "corrupted", CORRUPTED_COLOUR)):
        if rep is None:
            continue
        low, high = rep.values[0], rep.values[-1]
        fig.add_scatter(x=rep.times, y=high, mode="lines", line=dict(color=colour, width=0.5), name=name,
                        legendgroup=name, hovertemplate=f"{name}<br>%{{x:.2f}} s · max %{{y:.3f}}<extra></extra>")
        fig.add_scatter(x=rep.times, y=low, mode="lines", line=dict(color=colour, width=0.5), fill="tonexty",
                        opacity=0.6, name=name, legendgroup=name, showlegend=False,
                        hovertemplate=f"{name}<br>%{{x:.2f}} s · min %{{y:.3f}}<extra></extra>")
    peak = max(float(np.abs(r.values).max()) for r in (clean, corrupted) if r is not None) or 1.0
    fig.update_yaxes(title_text="Amplitude (full scale = 1)", range=[-1.05 * peak, 1.05 * peak])
    fig.update_layout(legend=dict(orientation="h", y=1.12))
    return fig


def _lines(clean: Representation, corrupted: Representation | None) -> go.Figure:
    same_shape = corrupted is not None and corrupted.values.shape == clean.values.shape
    fig = make_subplots(rows=1, cols=2 if same_shape else 1, horizontal_spacing=0.09,
                        subplot_titles=["clean and corrupted"] + (["corrupted − clean"] if same_shape else []))
    label = f"{clean.bins[0]} ({clean.units})"
    for rep, name, colour in ((clean, "clean", CLEAN_COLOUR), (corrupted, "corrupted", CORRUPTED_COLOUR)):
        if rep is not None:
            fig.add_scatter(x=rep.times, y=rep.values[0], mode="lines", name=name, line=dict(color=colour, width=1.5),
                            hovertemplate=f"{name}<br>%{{x:.2f}} s · %{{y:.0f}} {rep.units}<extra></extra>", row=1, col=1)
    fig.update_yaxes(title_text=label, range=list(clean.value_range) if clean.value_range else None, row=1, col=1)
    if same_shape:
        fig.add_scatter(x=clean.times, y=corrupted.values[0] - clean.values[0], mode="lines", name="corrupted − clean",
                        line=dict(color="#1f77b4", width=1.5),
                        hovertemplate=f"corrupted − clean<br>%{{x:.2f}} s · %{{y:+.0f}} {clean.units}<extra></extra>",
                        row=1, col=2)
        fig.update_yaxes(title_text=f"Δ {clean.units}", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=1.15))
    return fig


__all__ = ["MAX_COLUMNS", "representation_figure"]
