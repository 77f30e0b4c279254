"""Suites of published benchmarks and the metrics that make avlab's numbers comparable with theirs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import corruptions
from core.corruptions import suites
from core.experiments import ExperimentConfig, ExperimentError, main
from core.experiments.config import select_corruptions
from core.results import ResultsDB, ResultsError
from core.results import references
from core.results.robustness import robustness_metrics

# hendrycks/robustness: AlexNet's ImageNet-C error per corruption, the mean over the five severities
PUBLISHED_MEANS = {"gaussian_noise": 0.886428, "shot_noise": 0.894468, "impulse_noise": 0.922640,
                   "defocus_blur": 0.819880, "glass_blur": 0.826268, "motion_blur": 0.785948, "zoom_blur": 0.798360,
                   "snow": 0.866816, "frost": 0.826572, "fog": 0.819324, "brightness": 0.564592,
                   "contrast": 0.853204, "elastic_transform": 0.646056, "pixelate": 0.717840,
                   "jpeg_compression": 0.606500}


def test_every_suite_names_registered_corruptions_only():
    for s in suites.SUITES.values():
        assert not s.missing(), f"{s.name} lacks {s.missing()}"
        assert len(set(s.corruptions)) == len(s.corruptions)
        assert s.source and s.protocol
    assert suites.names()[0] == "avlab"


def test_suites_follow_their_publications():
    image = suites.suite("imagenet-c")
    assert set(image.corruptions) == set(PUBLISHED_MEANS) | {"speckle_noise", "gaussian_blur", "spatter", "saturate"}
    assert image.reference == "imagenet-c" and len(image.conditions()) == 19 * 5
    read = suites.suite("read")
    assert read.severities == (5,)
    assert [corruptions.get(n).modality for n in read.corruptions].count("video") == 15
    assert [corruptions.get(n).modality for n in read.corruptions].count("audio") == 6
    assert all(corruptions.get(n).modality == "audiovisual" for n in suites.suite("avrobustbench").corruptions)
    assert len(suites.suite("avrobustbench").corruptions) == 15
    assert {"packet_loss", "bit_error", "h264_crf", "h265_crf", "frame_rate"} <= set(suites.suite("kinetics-c").corruptions)
    assert len(suites.suite("avlab").corruptions) == 31
    with pytest.raises(suites.SuiteError, match="no suite called 'imagenet'"):
        suites.suite("imagenet")


def test_alexnet_table_matches_the_published_means():
    table = references.ALEXNET_ERRORS
    assert set(table) == set(PUBLISHED_MEANS)
    for name, mean in PUBLISHED_MEANS.items():
        assert np.mean(table[name]) == pytest.approx(mean, abs=2e-6), name


def _metrics(accuracy: dict, clean: float, ckpt: str = "m", head: str = "fused") -> pd.DataFrame:
    rows = [{"checkpoint": ckpt, "head": head, "corruption": "clean", "severity": 0, "accuracy": clean}]
    rows += [{"checkpoint": ckpt, "head": head, "corruption": n, "severity": s, "accuracy": a}
             for n, by in accuracy.items() for s, a in by.items()]
    return pd.DataFrame(rows)


def test_mce_against_alexnet_by_name_not_position():
    alex = references.alexnet()
    # a model whose errors are half AlexNet's on fog and equal on contrast: CEs 0.5 and 1.0, mCE 0.75
    acc = {"fog": {s: 1 - e / 2 for s, e in zip(range(1, 6), references.ALEXNET_ERRORS["fog"])},
           "contrast": {s: 1 - e for s, e in zip(range(1, 6), references.ALEXNET_ERRORS["contrast"])},
           "mute": {1: 0.5}}  # no AlexNet error: left out, counted
    m = robustness_metrics(_metrics(acc, clean=1 - references.ALEXNET_CLEAN_ERROR), "m", "fused", alex)
    assert m["mce"] == pytest.approx(0.75) and m["mce_corruptions"] == 2 and m["corruptions"] == 3
    # relative CE: contrast's rises equal AlexNet's (1.0); fog's are (e/2 - E_clean) over (e - E_clean)
    e, c = np.array(references.ALEXNET_ERRORS["fog"]), references.ALEXNET_CLEAN_ERROR
    assert m["relative_mce"] == pytest.approx(((e / 2 - c).sum() / (e - c).sum() + 1.0) / 2)
    # the same rows in another order give the same numbers
    table = _metrics(acc, clean=1 - c)
    shuffled = table.iloc[np.random.default_rng(0).permutation(len(table))].reset_index(drop=True)
    assert robustness_metrics(shuffled, "m", "fused", alex) == m


def test_alpha_and_rho_as_defined():
    # clean 0.9; fog 0.6 at every severity, contrast 0.8: dA = 0.3 and 0.1 (30 and 10 points)
    acc = {"fog": {s: 0.6 for s in range(1, 6)}, "contrast": {s: 0.8 for s in range(1, 6)}}
    m = robustness_metrics(_metrics(acc, 0.9), "m", "fused", references.alexnet())
    assert m["alpha"] == pytest.approx(np.mean([1 - 30 / 100, 1 - 10 / 100]))
    assert m["rho"] == pytest.approx(np.mean([1 - 30 / 90, 1 - 10 / 90]))
    assert m["mpc"] == pytest.approx(0.7) and m["rpc"] == pytest.approx(0.7 / 0.9) == pytest.approx(m["rho"])


def _probs(pred: int) -> np.ndarray:
    p = np.full(2, 0.2, np.float32)
    p[pred] = 0.8
    return p


def _sweep(db: ResultsDB, key: str, ckpt: str, correct: dict, *, seed: int = 0) -> int:
    """One checkpoint on four clips; ``correct[condition]`` lists per clip whether every head is right."""
    conditions = [("clean", 0, "none")] + [(n, int(s), corruptions.get(n).modality)
                                           for n, s in (c.split(":") for c in correct if c != "clean")]
    eid, _ = db.start_experiment(key=key, name=key, config={"seed": seed, "data": "/d", "suite": "imagenet-c"},
                                 checkpoints=[{"name": ckpt, "path": f"/ck/{ckpt}", "fusion": "f",
                                               "classes": ["a", "b"], "fingerprint": ckpt}],
                                 clips=[(f"/clips/{i}.mp4", "a") for i in range(4)], conditions=conditions)
    ids = db.condition_ids(eid)
    rows = []
    for cond, oks in correct.items():
        name, sev = (cond, 0) if cond == "clean" else (cond.split(":")[0], int(cond.split(":")[1]))
        for i, ok in enumerate(oks):
            for head in ("audio", "video", "fused"):
                rows.append((ids[(0, name, sev)], i, head, 0 if ok else 1, ok, _probs(0 if ok else 1), 1, 1,
                             None, None))
    db.write_predictions(eid, rows)
    return eid


def test_reference_from_another_comparable_sweep(tmp_path):
    with ResultsDB(tmp_path / "r.db") as db:
        base = _sweep(db, "one", "ref", {"clean": [1, 1, 1, 1], "fog:1": [1, 1, 0, 0], "fog:2": [1, 0, 0, 0]})
        mine = _sweep(db, "two", "mine", {"clean": [1, 1, 1, 1], "fog:1": [1, 1, 1, 0], "fog:2": [1, 1, 0, 0]})
        s = db.summary(mine, reference="ref").set_index("head")
        # errors 1/4 + 2/4 against 2/4 + 3/4: CE 0.6; relative the same (clean errors 0)
        assert s.loc["fused", "mce"] == pytest.approx(0.6) and s.loc["fused", "relative_mce"] == pytest.approx(0.6)
        assert s.loc["fused", "reference"] == "ref" and s.loc["fused", "suite"] == "imagenet-c"
        # default for this suite: AlexNet, by name
        alex = db.summary(mine).set_index("head")
        assert alex.loc["fused", "reference"] == "imagenet-c"
        assert alex.loc["fused", "mce"] == pytest.approx((0.25 + 0.5) / sum(references.ALEXNET_ERRORS["fog"][:2]))
        other = _sweep(db, "three", "seeded", {"clean": [1, 1, 1, 1], "fog:1": [1, 1, 1, 1]}, seed=7)
        with pytest.raises(ResultsError, match="differ in their corruption seed"):
            db.summary(mine, reference="seeded")
        assert other


def test_config_takes_the_suite_protocol():
    read = ExperimentConfig(suite="read")
    assert read.severities == (5,) and read.corruptions == suites.suite("read").corruptions
    with pytest.raises(ExperimentError, match="not part of it"):
        ExperimentConfig(suite="read", severities=(3,))
    with pytest.raises(ExperimentError, match="not part of it"):
        ExperimentConfig(suite="imagenet-c", corruptions=("mute",))
    with pytest.raises(ExperimentError, match="no suite called"):
        ExperimentConfig(suite="nope")
    assert ExperimentConfig().corruptions == suites.AVLAB and ExperimentConfig().severities == (1, 2, 3, 4, 5)
    assert select_corruptions("audio", "read") == suites.suite("read").corruptions[15:]
    # the avlab suite accepts any registered corruption by name
    assert ExperimentConfig(corruptions=("snow",)).corruptions == ("snow",)


def test_suites_command_lists_sources(capsys):
    assert main(["suites", "--json"]) == 0
    listed = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert list(listed) == suites.names()
    assert "Hendrycks" in listed["imagenet-c"]["source"] and listed["read"]["severities"] == [5]
    assert main(["suites"]) == 0
    assert "AVRobustBench" in capsys.readouterr().out


def test_report_and_exports_name_the_protocol_and_its_numbers(tmp_path):
    from core import report

    with ResultsDB(tmp_path / "r.db") as db:
        eid = _sweep(db, "one", "mine", {"clean": [1, 1, 1, 1], "fog:1": [1, 1, 0, 0]})
        expected = db.summary(eid).set_index("head").loc["fused", "mce"]
        summary_csv = db.export(eid, tmp_path / "s.csv", table="summary")
        rows_csv = db.export(eid, tmp_path / "r.csv")
    assert expected == pytest.approx(0.5 / references.ALEXNET_ERRORS["fog"][0])
    r = report.build(eid, db=tmp_path / "r.db")
    sentence = next(f for f in r.findings if f.startswith("**Protocol:**"))
    assert "**ImageNet-C** suite" in sentence and "AlexNet's published ImageNet-C errors" in sentence
    assert f"mCE of {100 * expected:.1f}%" in sentence and "over 1 corruption;" in sentence
    board = r.tables["leaderboard"].iloc[0]
    assert board["suite"] == "imagenet-c" and board["mce"] == pytest.approx(expected)
    exported = pd.read_csv(summary_csv).set_index("head")
    assert exported.loc["fused", "mce"] == pytest.approx(expected) and exported.loc["fused", "suite"] == "imagenet-c"
    assert set(pd.read_csv(rows_csv)["suite"]) == {"imagenet-c"}
