"""Trust: abstaining heads are never scored, temperature scaling fits and is applied by the one inference path,
ECE / Brier / NLL against scikit-learn and by hand, calibration.json beside a model."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from sklearn.metrics import log_loss

from core.evaluate import evaluate, main
from core.inference import Predictor
from core.models import head_answers, load_model
from core.trust.calibration import FILE, Calibration, calibration_scores, fit_temperature, softmax
from tests.core.test_evaluate import tiny  # noqa: F401 - the module's fixture

# ----------------------------------------------------------------------------- scores and the fit


def test_scores_match_their_definitions():
    y = np.array([0, 1, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]])
    scores = calibration_scores(y, p)
    assert scores["brier"] == pytest.approx(np.mean(np.sum((p - np.eye(3)[y]) ** 2, axis=1)))
    assert scores["nll"] == pytest.approx(-np.mean(np.log(p[np.arange(4), y])))
    assert scores["nll"] == pytest.approx(log_loss(y, p))
    # ECE, 15 bins: confidences 0.7, 0.8, 0.5, 0.4 each alone in a bin; correct, correct, wrong, wrong
    assert scores["ece"] == pytest.approx(np.mean([0.3, 0.2, 0.5, 0.4]))


def test_temperature_recovers_the_scale_of_overconfident_logits():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, (4000, 5))
    y = np.array([rng.choice(5, p=row) for row in softmax(true_logits)])
    t = fit_temperature(3.0 * true_logits, y)  # a model three times too sure
    assert t == pytest.approx(3.0, rel=0.08)
    before = calibration_scores(y, softmax(3.0 * true_logits))["ece"]
    after = calibration_scores(y, softmax(3.0 * true_logits, t))["ece"]
    assert after < 0.03 < before
    assert (softmax(3.0 * true_logits, t).argmax(1) == (3.0 * true_logits).argmax(1)).all()  # accuracy unchanged


def test_head_answers_rule():
    assert head_answers("audio", False, True) is False and head_answers("video", False, True) is True
    assert head_answers("fused", False, False) is False and head_answers("fused", True, False) is True
    assert head_answers("fused", np.array([0, 1, 0]), np.array([0, 0, 1])).tolist() == [False, True, True]


# ----------------------------------------------------------------------------- through evaluate and predict


def test_a_muted_head_abstains_and_is_not_scored(tiny):  # noqa: F811
    good, _, ckpt = tiny
    from core.datasets import load_dataset

    predictor = Predictor.load(ckpt, device="cpu")
    muted = evaluate(predictor, load_dataset(good), progress=False, corrupt=[("mute", 1)])
    assert muted["coverage"] == {"audio": 0.0, "video": 1.0, "fused": 1.0}
    assert np.isnan(muted["accuracy"]["audio"]) and muted["heads"]["audio"]["n"] == 0
    clip = __import__("core.media", fromlist=["load_clip"]).load_clip(next(good.glob("*.mp4")))
    pred = predictor.predict(clip.replace(audio=np.zeros_like(clip.audio))).to_dict()
    assert pred["audio"]["label"] is None and pred["audio"]["answered"] is False
    assert pred["fused"]["label"] is not None


def test_evaluate_calibrate_writes_temperatures_that_predictions_then_use(tiny, tmp_path, capsys):  # noqa: F811
    good, _, ckpt = tiny
    model_dir = tmp_path / "model"
    shutil.copytree(ckpt, model_dir)
    before = load_model(model_dir, device="cpu")
    assert main(["--model", str(model_dir), "--data", str(good), "--calibrate", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    stored = json.loads((model_dir / FILE).read_text())
    assert out["temperatures"] == stored["temperatures"] and set(stored["temperatures"]) == {"audio", "video", "fused"}
    assert stored["fingerprint"] == before.fingerprint and stored["fitted_on"]["n"] == 4
    after = load_model(model_dir, device="cpu")
    assert after.fingerprint == before.fingerprint  # the file beside the weights is not part of the model
    assert dict(after.temperatures) == stored["temperatures"]
    # the one inference path applies them: probabilities = softmax(raw logits / T)
    from core.media import load_clip

    pred = Predictor(after).predict(load_clip(next(good.glob("*.mp4")))).overall
    for head, t in stored["temperatures"].items():
        np.testing.assert_allclose(pred.probs[head], softmax(pred.logits[head][None], t)[0], atol=1e-5)


def test_a_stale_or_broken_calibration_file_is_ignored_with_a_reason(tiny, tmp_path):  # noqa: F811
    _, _, ckpt = tiny
    model_dir = tmp_path / "model"
    shutil.copytree(ckpt, model_dir)
    Calibration({"fused": 2.0}, fingerprint="0123456789abcdef").save(model_dir)
    model = load_model(model_dir, device="cpu")
    assert not model.temperatures
    assert model.trust_notes == (f"{model_dir / FILE} was fitted for another version of this model; probabilities "
                                 "are uncalibrated until it is fitted again (python -m core.evaluate --calibrate).",)
    (model_dir / FILE).write_text("{not json")
    model = load_model(model_dir, device="cpu")
    assert not model.temperatures and "not a calibration file" in model.trust_notes[0]


# ----------------------------------------------------------------------------- selective prediction, reliability


def test_risk_coverage_and_aurc_by_hand():
    from core.trust.selective import accuracy_at_coverage, aurc, risk_coverage

    confidence = np.array([0.9, 0.6, 0.8, 0.7, 0.5])
    correct = np.array([True, False, True, False, True])
    coverage, accuracy = risk_coverage(confidence, correct)
    # most confident first: 0.9 ok, 0.8 ok, 0.7 wrong, 0.6 wrong, 0.5 ok
    np.testing.assert_allclose(coverage, [0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(accuracy, [1, 1, 2 / 3, 2 / 4, 3 / 5])
    assert aurc(confidence, correct) == pytest.approx(np.mean(1 - np.array([1, 1, 2 / 3, 2 / 4, 3 / 5])))
    assert accuracy_at_coverage(confidence, correct, 0.4) == 1.0
    assert np.isnan(accuracy_at_coverage(confidence, correct, 0.9))  # 5 clips: none can be set aside
    # a head that abstained on two clips cannot claim more than 60 % coverage
    answered = np.array([True, True, False, True, False])
    coverage, _ = risk_coverage(confidence, correct, answered)
    assert coverage[-1] == pytest.approx(0.6)
    assert np.isnan(accuracy_at_coverage(confidence, correct, 0.9, answered))


def test_reliability_bins_reproduce_the_ece():
    from core.metrics import reliability

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4) * 0.5, 300)
    y = rng.integers(0, 4, 300)
    bins = reliability(y, probs)
    assert bins["count"].sum() == 300
    filled = bins["count"] > 0
    ece = np.sum(bins["count"][filled] / 300 * np.abs(bins["accuracy"][filled] - bins["confidence"][filled]))
    assert ece == pytest.approx(calibration_scores(y, probs)["ece"])


def test_a_users_torchscript_model_is_calibrated_beside_its_own_sidecar(tmp_path, capsys):
    from tests.core.test_loaders import ROOT, TinyAV, example_inputs, sidecar

    torch = pytest.importorskip("torch")
    for name in ("first", "second"):  # two models in one folder keep separate trust files
        torch.jit.trace(TinyAV(1).eval(), example_inputs()).save(str(tmp_path / f"{name}.pt"))
        sidecar(tmp_path / f"{name}.avlab.json", format="torchscript")
    assert main(["--model", str(tmp_path / "first.pt"), "--data", str(ROOT / "sample_data"), "--calibrate",
                 "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    stored = json.loads((tmp_path / "first.calibration.json").read_text())
    assert out["temperatures"] == stored["temperatures"] and not (tmp_path / "calibration.json").exists()
    assert load_model(tmp_path / "first.pt", device="cpu").temperatures == stored["temperatures"]
    assert not load_model(tmp_path / "second.pt", device="cpu").temperatures


# ----------------------------------------------------------------------------- unfamiliar clips through core.predict


def test_core_predict_says_whether_a_clip_is_unfamiliar(capsys):
    from core.predict import main as predict
    from core.trust.ood import load
    from tests.core.test_media_cases import CASES
    from tests.core.test_loaders import ROOT

    detector = load(ROOT / "checkpoints" / "modality_attention_robust")
    assert predict([str(CASES / "03_vfr.mp4"), "--json", "--device", "cpu"]) == 0
    ood = json.loads(capsys.readouterr().out)["out_of_distribution"]
    assert ood["unfamiliar"] is True and ood["method"] == detector.method
    assert ood["threshold"] == pytest.approx(detector.threshold, abs=1e-4) and ood["score"] > ood["threshold"]
    sample = ROOT / "sample_data" / "test" / "fan_fault_2000001.mp4"
    assert predict([str(sample), "--json", "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["out_of_distribution"]["unfamiliar"] is False
    long_clip = sorted((ROOT / "sample_data").rglob("*timeline*.mp4")) or sorted((ROOT / "sample_data").rglob("long*"))
    if long_clip:
        assert predict([str(long_clip[0]), "--json", "--device", "cpu"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["windows"] and all(set(w["out_of_distribution"]) == {"score", "threshold", "unfamiliar", "method"}
                                      for w in out["windows"])
