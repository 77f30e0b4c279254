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


def test_report_page_without_results(tmp_path, monkeypatch):
    monkeypatch.setenv("AVLAB_DB", str(tmp_path / "none.db"))
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert any("No sweep is stored" in i.value for i in at.info)
