"""AppTest of the Report page: plain-word findings from a stored sweep and both downloads."""
from __future__ import annotations

import pytest

from tests.app.conftest import app, errors

PAGE = "pages/report.py"


@pytest.fixture()
def db(tmp_path, monkeypatch, checkpoint):
    from core.experiments import ExperimentConfig, run_experiment
    from tests.app.conftest import SAMPLES

    path = tmp_path / "results.db"
    monkeypatch.setenv("AVLAB_DB", str(path))
    run_experiment(ExperimentConfig(checkpoints=[str(checkpoint)], data=str(SAMPLES), corruptions=["mute"],
                                    severities=[1], limit=7), db=path)
    return path


def test_report_page_says_what_a_microphone_failure_costs(db):
    at = app(PAGE)
    assert not at.exception and not errors(at)
    findings = "\n".join(m.value for m in at.markdown)
    assert "**One fusion method was tested:**" in findings
    assert "**A microphone failure** (Mute) costs the fused head" in findings
    assert "one clip moves it by 14.3 points" in findings
    buttons = at.get("download_button")
    assert len(buttons) == 2
    assert len(at.get("plotly_chart")) >= 3
    # the tables as a reader sees them: named columns, percentages, a reason where a value is missing
    # (AppTest does not expose a read-only dataframe's key: they are found by their columns)
    tables = [d.value for d in at.dataframe]
    board = next(t for t in tables if "mPC" in t.columns)
    assert list(board.columns[:4]) == ["model", "fusion", "clean accuracy", "mPC"]
    assert board.iloc[0]["mPC"].endswith("%")
    fusion = next(t for t in tables if "fallback gap without video" in t.columns)
    assert fusion.iloc[0]["fallback gap without video"] == "— (no condition removed the video)"  # mute only
    assert len(tables) == 6  # robustness, fusion, missing senses, models, costs, classes
    cells = {str(v) for t in tables for v in t.to_numpy().ravel()}
    assert not cells & {"None", "nan", "NaN", "<NA>", ""}


def test_report_page_without_results(tmp_path, monkeypatch):
    monkeypatch.setenv("AVLAB_DB", str(tmp_path / "none.db"))
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert any("No sweep is stored" in i.value for i in at.info)
