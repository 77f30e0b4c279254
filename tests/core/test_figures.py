"""core.figures: the traces each builder draws, the ids selection events carry, bad arguments."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import figures

HEADS = ("audio", "video", "fused")


def _table(conditions=("clean",)) -> pd.DataFrame:
    rows = []
    for condition in conditions:
        for i, label in enumerate(["a", "a", "b", "b"]):
            rows.append({"clip": f"{i}.mp4", "label": label, "condition": condition,
                         **{f"pred_{h}": "a" for h in HEADS}, **{f"p_{h}": 0.9 for h in HEADS},
                         **{f"correct_{h}": label == "a" for h in HEADS}})
    return pd.DataFrame(rows)


def test_embedding_panels_one_marker_trace_per_colour_and_panel_with_row_ids():
    table = _table()
    points = {h: np.arange(8, dtype=float).reshape(4, 2) for h in HEADS}
    fig = figures.embedding_panels(points, table, colour_by="label", classes=["a", "b"])
    assert len(fig.data) == 6  # 2 classes x 3 panels
    assert [t.name for t in fig.data[:2]] == ["a", "b"] and sum(t.showlegend for t in fig.data) == 2
    ids = sorted(int(c[0]) for t in fig.data for c in t.customdata)
    assert ids == sorted([0, 1, 2, 3] * 3)
    assert "true: %{customdata[3]}" in fig.data[0].hovertemplate
    right_wrong = figures.embedding_panels(points, table, colour_by="correct")
    assert {t.name for t in right_wrong.data} == {"right", "wrong"}
    with pytest.raises(ValueError, match="colour_by"):
        figures.embedding_panels(points, table, colour_by="size")


def test_embedding_panels_links_clean_and_corrupted_points():
    table = _table(("clean", "gaussian_blur:3"))
    points = {h: np.random.default_rng(0).normal(size=(8, 2)) for h in HEADS}
    fig = figures.embedding_panels(points, table, colour_by="condition", links=[(i, 4 + i) for i in range(4)])
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 3 and len(lines[0].x) == 4 * 3  # 4 segments, None-separated, per panel
    symbols = {t.name: t.marker.symbol for t in fig.data if t.mode == "markers"}
    assert symbols == {"clean": "circle", "gaussian_blur:3": "x"}


def _metrics() -> pd.DataFrame:
    rows = []
    for ckpt in ("m1", "m2"):
        for head in HEADS:
            rows.append({"checkpoint": ckpt, "condition": "clean", "corruption": "clean", "severity": 0,
                         "head": head, "accuracy": 0.9, "n": 10})
            for s in (1, 5):
                for name in ("mute", "gaussian_blur"):
                    rows.append({"checkpoint": ckpt, "condition": f"{name}:{s}", "corruption": name, "severity": s,
                                 "head": head, "accuracy": 0.9 - 0.1 * s, "n": 10})
    return pd.DataFrame(rows)


def test_severity_curves_one_line_per_head_checkpoint_and_corruption_starting_clean():
    fig = figures.severity_curves(_metrics())
    assert len(fig.data) == 2 * 3 * 2  # corruptions x heads x checkpoints
    assert list(fig.data[6].x) == [0, 1, 5] and fig.data[6].y[0] == pytest.approx(0.9)  # gaussian_blur
    # mute has one level: one point (its first stored severity), however many a database holds
    assert list(fig.data[0].x) == [0, 1] and list(fig.data[0].y) == pytest.approx([0.9, 0.8])
    assert {a.text for a in fig.layout.annotations} == {"Mute", "Gaussian Blur"}
    assert len(figures.severity_curves(_metrics(), checkpoints=["m2"]).data) == 6


def test_severity_curves_title_their_axes_and_keep_the_legend_clear_of_the_ticks():
    """Four corruptions in 3 columns: the panel alone on the second row and the two above empty cells carry
    the x title; every row's first panel the y title; the legend is right of every panel, not over the ticks."""
    metrics = _metrics()
    more = metrics[metrics["corruption"] == "gaussian_blur"]
    metrics = pd.concat([metrics, more.assign(corruption="defocus_blur", condition=more["condition"].str.replace(
        "gaussian_blur", "defocus_blur")), more.assign(corruption="zoom_blur", condition=more["condition"].str.replace(
            "gaussian_blur", "zoom_blur"))])
    fig = figures.severity_curves(metrics)
    layout = fig.layout
    x_titles = {name: layout[name].title.text for name in ("xaxis", "xaxis2", "xaxis3", "xaxis4")}
    assert x_titles == {"xaxis": None, "xaxis2": "severity", "xaxis3": "severity", "xaxis4": "severity"}
    assert layout.yaxis.title.text == "accuracy" and layout.yaxis4.title.text == "accuracy"
    assert layout.legend.orientation == "v" and layout.legend.x >= 1 and layout.legend.xanchor == "left"
    assert max(layout[f"xaxis{k}"].domain[1] for k in ("", "2", "3", "4")) <= 1.0  # panels end where the legend starts


def test_accuracy_grid_cells_carry_their_condition():
    fig = figures.accuracy_grid(_metrics(), "m1", "fused")
    (cells,) = fig.data
    assert list(cells.customdata[:, 0]) == ["clean", "mute:1", "gaussian_blur:1", "gaussian_blur:5"]
    assert list(cells.text) == ["90%", "80%", "80%", "40%"]


def test_confusion_and_titles():
    fig = figures.confusion([[2, 1], [0, 3]], ["a", "b"])
    np.testing.assert_array_equal(fig.data[0].z, [[2, 1], [0, 3]])
    assert figures.condition_title("gaussian_blur:3") == "Gaussian Blur 3"
    assert figures.condition_title("mute:5") == "Mute" and figures.condition_title("clean") == "Clean"
    assert figures.distinct_conditions(["clean", "mute:1", "mute:5", "fog:1", "fog:5"]) == \
        ["clean", "mute:1", "fog:1", "fog:5"]
