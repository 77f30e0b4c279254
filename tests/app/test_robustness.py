"""AppTest of the Robustness page: an empty database, a tiny sweep run from the page, the drill-down
from a condition to its clips and into the Corruption Lab."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.results import ResultsDB
from tests.app.conftest import app, errors

PAGE = "pages/robustness.py"


@pytest.fixture()
def db(tmp_path, monkeypatch):
    path = tmp_path / "results.db"
    monkeypatch.setenv("AVLAB_DB", str(path))
    return path


def test_empty_database_says_how_to_start(db):
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert any("No sweep is stored" in i.value for i in at.info)
    assert not db.exists()  # looking does not create the file


def test_run_a_tiny_sweep_then_drill_down_to_a_clip_in_the_lab(db, checkpoint):
    at = app(PAGE)
    at.multiselect(key="rob_sweep_corruptions").set_value(["mute", "gaussian_blur"])
    at.multiselect(key="rob_sweep_severities").set_value([1, 5])
    at.number_input(key="rob_sweep_limit").set_value(7)
    at.button(key="rob_run").click().run()
    assert not at.exception and not errors(at)
    assert [s.value for s in at.subheader][:4] == ["Leaderboard (fused head)", "Accuracy against severity",
                                                   "Calibration error (ECE) against severity", "Corruption x severity"]
    assert at.session_state["avlab_experiment"] == 1
    assert len(at.get("plotly_chart")) >= 4
    assert at.selectbox(key="rob_condition").options == ["Clean", "Mute", "Gaussian Blur 1", "Gaussian Blur 5"]
    with ResultsDB(db) as stored:  # mute has one level: swept once, not at 1 and 5
        assert stored.get_experiment(1)["conditions"] == ["clean", "mute:1", "gaussian_blur:1", "gaussian_blur:5"]
    at.selectbox(key="rob_condition").set_value("gaussian_blur:5").run()
    assert any(c.value.startswith("7 clips under Gaussian Blur 5") for c in at.caption)
    # how far to trust the fused head there: the caption's numbers are the stored ones
    with ResultsDB(db) as stored:
        metrics = stored.condition_metrics(1)
        rows = stored.predictions(1, condition="gaussian_blur:5")
    row = metrics[(metrics["condition"] == "gaussian_blur:5") & (metrics["head"] == "fused")].iloc[0]
    assert any(c.value.startswith(f"Answers 100% of the clips; ECE {row['ece']:.3f}, Brier {row['brier']:.3f}")
               for c in at.caption)
    assert {"rob_reliability", "rob_risk_coverage", "rob_ece_curves"} <= {c.key for c in at.get("plotly_chart")}
    # the drill-down offers the most confident error first
    fused = rows[rows["head"] == "fused"]
    errors_ = fused[~fused["correct"]].sort_values("confidence", ascending=False)
    if len(errors_):
        first = at.selectbox(key="rob_clip").options[0]
        assert first.startswith(f"✗ {Path(errors_.iloc[0]['clip_path']).name}")
    at.button(key="rob_open").click().run()
    assert not at.exception
    assert at.session_state["avlab_corruptions"] == (("gaussian_blur", 5),)
    assert any(t.value == "Corruption Lab" for t in at.title)


def test_a_bad_sweep_choice_is_one_sentence(db, checkpoint):
    at = app(PAGE)
    at.multiselect(key="rob_sweep_corruptions").set_value([])
    at.button(key="rob_run").click().run()
    assert not at.exception
    assert errors(at) == ["Choose at least one checkpoint, one corruption and one severity."]


def test_clips_that_could_not_be_decoded_are_named_on_the_page(db, checkpoint):
    at = app(PAGE)
    at.multiselect(key="rob_sweep_corruptions").set_value(["mute"])
    at.number_input(key="rob_sweep_limit").set_value(3)
    at.button(key="rob_run").click().run()
    with ResultsDB(db) as stored:
        clip = stored.get_experiment(1)["clips"][0]
        stored.skip_clips(1, {0: "The file is damaged or truncated, so it could not be decoded."})
        assert len(stored.get_experiment(1)["skipped"]) == 1
    at.run()
    assert not at.exception
    from pathlib import Path

    name = Path(clip["path"] if isinstance(clip, dict) else clip[0]).name
    assert [w.value for w in at.warning if "could not be decoded" in w.value] == [
        f"1 clip could not be decoded and was left out: {name} (The file is damaged or truncated, so it could not "
        "be decoded)."]


def test_a_suite_sweep_from_the_page_names_its_protocol_and_reference(db, checkpoint):
    at = app(PAGE)
    at.selectbox(key="rob_sweep_suite").set_value("imagenet-c").run()
    # the suite's corruptions and severities are the choices; brightness and contrast at 5 keep it short
    from core import corruptions
    from core.corruptions import suites

    assert at.multiselect(key="rob_sweep_corruptions_imagenet-c").options == [
        corruptions.label(n) for n in suites.suite("imagenet-c").corruptions]
    at.multiselect(key="rob_sweep_corruptions_imagenet-c").set_value(["brightness", "contrast"])
    at.multiselect(key="rob_sweep_severities_imagenet-c").set_value([5])
    at.number_input(key="rob_sweep_limit").set_value(3)
    at.button(key="rob_run").click().run()
    assert not at.exception and not errors(at)
    with ResultsDB(db) as stored:
        assert stored.get_experiment(1)["config"]["suite"] == "imagenet-c"
        expected = stored.summary(1).set_index(["checkpoint", "head"])
    assert at.selectbox(key="rob_reference_1").value == "imagenet-c"
    assert any(c.value.startswith("Suite: ImageNet-C (imagenet-c) · Hendrycks & Dietterich") for c in at.caption)
    # the leaderboard as a reader sees it (AppTest does not expose a read-only dataframe's key: found by columns)
    row = next(d.value for d in at.dataframe if "mCE" in d.value.columns).iloc[0]
    models = next(d.value for d in at.dataframe if "mCE reference" in d.value.columns).iloc[0]
    assert models["suite"] == "imagenet-c" and models["mCE reference"] == "imagenet-c"
    assert row["mCE"] == f"{100 * expected.loc[(row['model'], 'fused'), 'mce']:.1f}%"
    assert row["mPC"] == f"{100 * expected.loc[(row['model'], 'fused'), 'mpc']:.1f}%"


def test_the_drill_down_opens_the_row_with_its_model_corruption_and_seed_and_its_stored_probabilities(
        db, two_checkpoints):
    """Two models in one sweep, a random corruption and seed 3: choosing the second model refills the clip box
    from its rows, and the Lab opens the clip with that model, corruption and seed, showing the probabilities
    the sweep stored next to its own (the same input, so the same numbers)."""
    from core.experiments import ExperimentConfig, run_experiment
    from tests.app.conftest import SAMPLES

    run_experiment(ExperimentConfig(checkpoints=[str(two_checkpoints / "first"), str(two_checkpoints / "second")],
                                    data=str(SAMPLES), corruptions=["audio_gaussian_noise"], severities=[5], seed=3,
                                    limit=4), db=db)
    at = app(PAGE)
    # the picker tells sweeps apart: models, suite and corruptions, clips, when (to the minute)
    import re

    assert re.fullmatch(r"#1 · first, second · avlab: audio_gaussian_noise at 5 · 4 clips · \d\d \w{3} \d{4} \d\d:\d\d",
                        at.selectbox(key="rob_experiment").options[0])
    at.selectbox(key="rob_condition").set_value("audio_gaussian_noise:5").run()
    at.selectbox(key="rob_clip").set_value(at.selectbox(key="rob_clip").options[-1]).run()
    at.selectbox(key="rob_checkpoint").set_value("second").run()
    assert not at.exception and not errors(at)
    # another model's cell: the box starts again from that cell's first clip, not the last one chosen before
    assert at.selectbox(key="rob_clip").index == 0
    with ResultsDB(db) as stored:
        rows = stored.predictions(1, "second", "audio_gaussian_noise:5")
    first = at.selectbox(key="rob_clip").options[0]  # "✗ name (true …, fused …)"
    at.button(key="rob_open").click().run()
    assert not at.exception and not errors(at)
    assert any(t.value == "Corruption Lab" for t in at.title)
    assert at.session_state["checkpoint"] == "second"  # the sidebar's model is the row's
    assert at.session_state["avlab_corruptions"] == (("audio_gaussian_noise", 5),) and at.session_state["avlab_seed"] == 3
    opened = at.session_state["avlab_clip"]
    mine = rows[rows["clip_path"].map(lambda p: Path(p).name) == opened.name].set_index("head")
    fused = mine.loc["fused"]
    (note,) = [i.value for i in at.info if i.value.startswith("Opened from sweep #1")]
    assert f"fused {fused['predicted_class']} {max(fused['probs']):.0%}" in note
    assert note.endswith("The predictions here are the same (every class probability within 0.5 points).")
    assert first.split(" ")[1] == opened.name  # the clip opened is the one the box showed


def _progress_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def test_the_page_shows_the_live_progress_of_a_sweep_written_elsewhere(db, checkpoint):
    """Another process writes a sweep's rows between two runs of the page: the progress bar reads them, says the
    rate and what is left, and once the sweep is complete the bar gives way to the full page."""
    import time

    from core.experiments.batch import load_models
    from tests.app.conftest import SAMPLES

    from core.datasets import load_dataset

    (model,) = load_models([str(checkpoint)], device="cpu")
    samples = load_dataset(SAMPLES).standard().samples[:4]
    with ResultsDB(db) as writer:
        eid, _ = writer.start_experiment(key="elsewhere", name="elsewhere", config={"seed": 0, "suite": "avlab"},
                                         checkpoints=[model.describe()],
                                         clips=[(str(s.source), s.label) for s in samples],
                                         conditions=[("clean", 0, "none"), ("mute", 1, "audio")])
        ids = writer.condition_ids(eid)
        probs = np.full(len(model.classes), 1 / len(model.classes), np.float32)

        def write(condition, clip_indices, seconds):
            rows = [(ids[(0, *condition)], i, h, 0, 1, probs, 1, 1, None, None, None) for i in clip_indices
                    for h in ("audio", "video", "fused")]
            writer.write_predictions(eid, rows, seconds=seconds)

        at = app(PAGE)  # started elsewhere, nothing written yet
        assert not at.exception
        assert _progress_texts(at) == [f"Sweep {eid} has started and has no rows yet (0 of 8 clip-conditions)."]
        write(("clean", 0), [0, 1], 1.0)
        at.run()
        (text,) = _progress_texts(at)
        assert text.startswith(f"Sweep {eid} is being written: 2 of 8 clip-conditions (25%), 2.0 per second, about 3 s "
                               f"left (last rows ")
        write(("clean", 0), [2, 3], 1.0)
        write(("mute", 1), [0, 1], 2.0)
        at.run()
        assert _progress_texts(at)[0].startswith(f"Sweep {eid} is being written: 6 of 8 clip-conditions (75%), "
                                                 f"1.5 per second, about 1 s left")
        writer.con.execute("UPDATE experiments SET updated = ? WHERE id = ?", (time.time() - 600, eid))
        at.run()
        assert _progress_texts(at)[0] == (f"Sweep {eid} is stopped at 6 of 8 clip-conditions (75%); nothing was "
                                          f"written for 10 min; run the same sweep again to continue it.")
        write(("mute", 1), [2, 3], 1.0)
    at.run()
    assert not at.exception and not errors(at) and _progress_texts(at) == []
    assert "Leaderboard (fused head)" in [s.value for s in at.subheader]


def test_a_sweep_can_run_on_a_ray_cluster_from_the_form(db, checkpoint, monkeypatch):
    """The form's 'Run on' field: local runs here; any other address runs the same sweep on Ray there."""
    import ui.robustness
    from core.experiments import run_experiment

    calls = []

    def recorded(config, **kwargs):
        calls.append((kwargs["backend"], kwargs["address"]))
        return run_experiment(config, db=kwargs["db"], progress=kwargs["progress"])

    monkeypatch.setattr(ui.robustness, "run_experiment", recorded)
    at = app(PAGE)
    assert at.text_input(key="rob_sweep_address").value == "local"
    at.multiselect(key="rob_sweep_corruptions").set_value(["mute"])
    at.number_input(key="rob_sweep_limit").set_value(2)
    at.button(key="rob_run").click().run()
    at.text_input(key="rob_sweep_address").set_value("ray://head:10001")
    at.button(key="rob_run").click().run()
    at.text_input(key="rob_sweep_address").set_value("ray")
    at.button(key="rob_run").click().run()
    assert not at.exception and not errors(at)
    assert calls == [("local", None), ("ray", "ray://head:10001"), ("ray", None)]


def test_the_leaderboard_across_sweeps(db, checkpoint):
    from core.experiments import ExperimentConfig, run_experiment
    from tests.app.conftest import SAMPLES

    for severities in ([1, 3], [3]):
        run_experiment(ExperimentConfig(checkpoints=[str(checkpoint)], data=str(SAMPLES), corruptions=["gaussian_blur"],
                                        severities=severities, limit=3), db=db)
    at = app(PAGE)  # the newest sweep, 2, is open
    assert at.multiselect(key="rob_compare_2").options[0].startswith("#1 ")
    at.multiselect(key="rob_compare_2").set_value([1]).run()
    assert not at.exception and not errors(at)
    assert "Leaderboard across sweeps" in [s.value for s in at.subheader]
    assert "Only the 2 conditions every compared sweep has count; left out 1 measured by some only " \
           "(gaussian_blur:1)." in [c.value for c in at.caption]
    with ResultsDB(db) as stored:
        from core.results import compare

        expected = compare(stored, [2, 1]).table
    table = next(d.value for d in at.dataframe if "conditions" in d.value.columns)
    assert list(table["experiment"]) == list(expected["experiment"]) and (table["conditions"] == 2).all()
    assert list(table["mpc"]) == list(expected["mpc"])
