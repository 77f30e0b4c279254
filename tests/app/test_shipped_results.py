"""AppTest of the shipped results beside the user's own: which one the Robustness page reads, and the switch."""
from __future__ import annotations

from tests.app.conftest import SAMPLES, app, errors, use_shipped

PAGE = "pages/robustness.py"


def test_with_sweeps_of_your_own_the_page_offers_both_and_a_sweep_never_touches_the_shipped_file(
        tmp_path, monkeypatch, checkpoint):
    from core.experiments import ExperimentConfig, run_experiment

    shipped, mine = tmp_path / "shipped.db", tmp_path / "mine.db"
    run_experiment(ExperimentConfig(checkpoints=[str(checkpoint)], data=str(SAMPLES), corruptions=["mute"],
                                    severities=[1], limit=3, name="the shipped one"), db=shipped)
    before = shipped.stat().st_mtime_ns
    monkeypatch.setenv("AVLAB_DB", str(mine))
    use_shipped(monkeypatch, shipped)
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert not at.get("radio") or "avlab_database" not in [r.key for r in at.radio]  # only the shipped ones yet
    # a sweep run on the page goes to the user's own database, and the page shows it
    at.multiselect(key="rob_sweep_corruptions").set_value(["gaussian_blur"])
    at.multiselect(key="rob_sweep_severities").set_value([5])
    at.number_input(key="rob_sweep_limit").set_value(3)
    at.button(key="rob_run").click().run()
    assert not at.exception and not errors(at)
    assert mine.is_file() and shipped.stat().st_mtime_ns == before
    assert [s.value for s in at.success] == ["Sweep done: experiment 1."]
    assert at.radio(key="avlab_database").value == "yours"
    assert at.selectbox(key="rob_experiment").options[0].startswith("#1 · ") and \
        "gaussian_blur at 5" in at.selectbox(key="rob_experiment").options[0]
    at.radio(key="avlab_database").set_value("shipped").run()
    assert not at.exception and not errors(at)
    assert "mute" in at.selectbox(key="rob_experiment").options[0]
    assert any(c.value.startswith("Shipped results") for c in at.caption)
    # another sweep while the shipped results are shown: back to the user's own, showing the new sweep
    at.multiselect(key="rob_sweep_severities").set_value([3])
    at.button(key="rob_run").click().run()
    assert not at.exception and not errors(at)
    assert at.radio(key="avlab_database").value == "yours"
    assert at.selectbox(key="rob_experiment").options[0].startswith("#2 · ")
