"""core.report: sentences computed from a hand-made results database, the self-contained HTML, the CLI."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core import report
from core.results import ResultsDB

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["a", "b"]
LABELS = ["a", "a", "b", "b"]
CONDITIONS = [("clean", 0, "none"), ("mute", 1, "audio"), ("gaussian_blur", 1, "video"),
              ("gaussian_blur", 5, "video")]


def _write(db, eid, ckpt, corruption, severity, correct, *, audio_present=1, weights=(0.5, 0.5)):
    cid = db.condition_ids(eid)[(ckpt, corruption, severity)]
    rows = []
    for head, oks in correct.items():
        for i, ok in enumerate(oks):
            y = CLASSES.index(LABELS[i])
            pred = y if ok else 1 - y
            p = np.full(2, 0.2, np.float32)
            p[pred] = 0.8
            w = weights if head == "fused" else (None, None)
            rows.append((cid, i, head, pred, ok, p, audio_present, 1, *w))
    db.write_predictions(eid, rows)


@pytest.fixture
def db_path(tmp_path):
    """m1 (modality_attention) holds up, m2 (concat) does not; accuracies are counts of ones / 4."""
    path = tmp_path / "r.db"
    with ResultsDB(path) as db:
        eid, _ = db.start_experiment(
            key="k", name="hand", config={"seed": 0, "data": "somewhere"},
            checkpoints=[{"name": n, "path": f"/ck/{n}", "fusion": f, "classes": CLASSES, "fingerprint": n}
                         for n, f in (("m1", "modality_attention"), ("m2", "concat"))],
            clips=[(f"/clips/{i}.mp4", label) for i, label in enumerate(LABELS)], conditions=CONDITIONS)
        full = [1, 1, 1, 1]
        _write(db, eid, 0, "clean", 0, {"audio": [1, 1, 1, 0], "video": [1, 1, 0, 0], "fused": full})
        _write(db, eid, 0, "mute", 1, {"audio": [1, 0, 0, 0], "video": [1, 1, 0, 0], "fused": [1, 1, 1, 0]},
               audio_present=0, weights=(0.0, 1.0))
        _write(db, eid, 0, "gaussian_blur", 1, {"audio": [1, 1, 1, 0], "video": [1, 1, 0, 0], "fused": full})
        _write(db, eid, 0, "gaussian_blur", 5, {"audio": [1, 1, 1, 0], "video": [0, 0, 0, 0], "fused": [1, 1, 0, 1]})
        _write(db, eid, 1, "clean", 0, {"audio": [1, 1, 1, 0], "video": [1, 1, 0, 0], "fused": full})
        _write(db, eid, 1, "mute", 1, {"audio": [1, 0, 0, 0], "video": [1, 1, 0, 0], "fused": [1, 1, 0, 0]},
               audio_present=0)
        _write(db, eid, 1, "gaussian_blur", 1, {"audio": [1, 1, 1, 0], "video": [1, 0, 0, 0], "fused": [1, 1, 0, 0]})
        _write(db, eid, 1, "gaussian_blur", 5, {"audio": [1, 1, 1, 0], "video": [0, 0, 0, 0], "fused": [0, 0, 0, 0]})
        db.finish_experiment(eid)
    return path


def test_findings_name_the_best_fusion_and_the_costs_in_points(db_path):
    r = report.build(1, db=db_path)
    text = "\n".join(r.findings)
    # m1 fused: mute 75 %, blur (100 + 75) / 2 = 87.5 % -> mPC 81 %; m2: mute 50 %, blur 25 % -> 38 %
    assert "**modality_attention** fusion (m1)" in r.findings[0] and "81% accuracy" in r.findings[0]
    assert "m1 (modality_attention) 81%, m2 (concat) 38%" in r.findings[0]
    assert "**A microphone failure** (Mute) costs the fused head 25 accuracy points (100% → 75%)" in text
    # the muted audio head got no input: it abstains, and is spoken of by its coverage, never as a loss
    assert ("the audio-only head has no input and abstains on every clip (0% coverage), so it is not scored and "
            "the video-only head is unaffected") in text
    assert "**A dirty lens** (Gaussian Blur) costs the fused head 12 accuracy points on average over severities " \
           "1 and 5, 25 accuracy points at severity 5" in text
    assert "audio weight goes from 50% to 0%" in text
    assert "one clip moves it by 25.0 points" in text
    assert "A noisy plant" not in text  # not swept: no sentence about it
    worst = r.tables["classes"].iloc[0]
    assert worst["class"] == "b" and worst["points"] == pytest.approx(100 * (1 - 2 / 3))


def test_a_single_level_corruption_is_reported_once_without_a_severity(tmp_path):
    """A database from before single levels were declared: mute at severities 1 and 3 (identical rows)."""
    path = tmp_path / "old.db"
    with ResultsDB(path) as db:
        eid, _ = db.start_experiment(
            key="k", name="old", config={"seed": 0, "data": "somewhere"},
            checkpoints=[{"name": "m1", "path": "/ck/m1", "fusion": "concat", "classes": CLASSES, "fingerprint": "m1"}],
            clips=[(f"/clips/{i}.mp4", label) for i, label in enumerate(LABELS)],
            conditions=CONDITIONS[:3] + [("mute", 3, "audio")])
        _write(db, eid, 0, "clean", 0, {"audio": [1, 1, 1, 1], "video": [1, 1, 0, 0], "fused": [1, 1, 1, 1]})
        for severity in (1, 3):
            _write(db, eid, 0, "mute", severity, {"audio": [1, 0, 0, 0], "video": [1, 1, 0, 0],
                                                  "fused": [1, 0, 0, 0]}, audio_present=0)
        _write(db, eid, 0, "gaussian_blur", 1, {"audio": [1, 1, 1, 1], "video": [1, 1, 0, 0], "fused": [1, 1, 1, 0]})
        db.finish_experiment(eid)
    r = report.build(eid, db=path)
    text = "\n".join(r.findings)
    assert "**The most damaging corruption** for the fused head is Mute: 75 accuracy points on average, " \
           "25% accuracy." in text
    assert "**A microphone failure** (Mute) costs the fused head 75 accuracy points (100% → 25%)" in text
    mute = r.tables["costs"].set_index(["corruption", "head"]).loc[("mute", "fused")]
    assert mute["severities"] == "1" and mute["worst_severity"] == 1


def test_html_is_self_contained_with_interactive_charts(db_path):
    r = report.build(1, db=db_path)
    html = report.to_html(r)
    assert "https://cdn" not in html and '<script src="http' not in html and "<script src=" not in html
    assert html.count("Plotly.newPlot") == len(r.figures) >= 4
    assert len(re.findall(r"plotly\.js v\d", html)) == 1  # the library inlined once
    assert "Which fusion holds up best" in html and "<table" in html


def test_tables_as_csv_zip(db_path):
    r = report.build(1, db=db_path)
    with zipfile.ZipFile(io.BytesIO(report.csv_zip(r))) as z:
        names = sorted(Path(n).name for n in z.namelist())
        assert names == ["classes.csv", "conditions.csv", "costs.csv", "leaderboard.csv", "modality_weights.csv",
                         "summary.csv"]
        assert z.read("experiment_1/leaderboard.csv").decode().splitlines()[1].startswith("m1,modality_attention,native,1.0")


def test_cli_writes_the_report_and_csv_and_fails_in_one_sentence(db_path, tmp_path):
    out = tmp_path / "out" / "report.html"
    run = subprocess.run([sys.executable, "-m", "core.report", "1", "--out", str(out), "--db", str(db_path),
                          "--csv", str(tmp_path / "csv")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and (tmp_path / "csv" / "costs.csv").exists()
    bad = subprocess.run([sys.executable, "-m", "core.report", "7", "--db", str(db_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: There is no experiment 7")


def test_clips_that_could_not_be_decoded_are_one_sentence_with_the_stored_count(tmp_path):
    path = tmp_path / "skipped.db"
    reasons = {2: "The file is empty.", 3: "The file is damaged or truncated, so it could not be decoded."}
    with ResultsDB(path) as db:
        eid, _ = db.start_experiment(
            key="k", name="hand", config={"seed": 0, "data": "somewhere"},
            checkpoints=[{"name": "m1", "path": "/ck/m1", "fusion": "concat", "classes": CLASSES, "fingerprint": "m1"}],
            clips=[(f"/clips/{i}.mp4", label) for i, label in enumerate(LABELS)], conditions=CONDITIONS)
        db.skip_clips(eid, reasons)
        for corruption, severity, _ in CONDITIONS:
            _write(db, eid, 0, corruption, severity, {h: [1, 0] for h in ("audio", "video", "fused")})
        db.finish_experiment(eid)
        stored = len(db.get_experiment(eid)["skipped"])
    r = report.build(eid, db=path)
    assert stored == 2
    assert f"**Clips left out:** {stored} clips could not be decoded and were left out: 2.mp4 (The file is empty); " \
           "3.mp4 (The file is damaged or truncated, so it could not be decoded)." in r.findings
    assert any("every accuracy comes from 2 clips, so one clip moves it by 50.0 points" in f for f in r.findings)
    assert "3.mp4 (The file is damaged or truncated" in report.to_html(r)


def test_trust_finding_states_the_stored_selective_accuracy_calibration_and_removal_check(db_path):
    r = report.build(1, db=db_path)
    (trust,) = [f for f in r.findings if f.startswith("**How far to trust it:**")]
    # 4 clips: ceil(0.9 * 4) = 4, so no clip can be set aside and selective accuracy would be plain accuracy
    assert trust.startswith("**How far to trust it:** with 4 clips, none can be set aside as the least confident "
                            "10%, so selective accuracy is not measured. ")
    with ResultsDB(db_path) as db:
        metrics = db.condition_metrics(1)
    fused = metrics[(metrics["checkpoint"] == "m1") & (metrics["head"] == "fused")].set_index("condition")
    assert fused.loc["clean", "ece"] == pytest.approx(0.2)
    corrupted_ece = fused.drop(index="clean")["ece"].mean()
    assert f"Its calibration error (ECE) is 0.200 on clean clips and {corrupted_ece:.3f} on average" in trust
    assert "taking a sense away makes it more confident (it should be less: less evidence) on 0% of clips without " \
           "audio" in trust
    board = r.tables["leaderboard"].set_index("checkpoint")
    assert board.loc["m1", "confidence_rises_no_audio"] == 0.0
