"""AppTest: a user's TorchScript model, found through AVLAB_MODELS, works on every page and says which
heads are ablations."""
from __future__ import annotations

import json

import pytest
import torch

from tests.app.conftest import app, errors
from tests.core.test_loaders import CLASSES, TinyAV, example_inputs


@pytest.fixture()
def user_model(tmp_path, monkeypatch):
    """A fused-only TorchScript model in a folder named by AVLAB_MODELS, and a broken sidecar beside it."""
    folder = tmp_path / "my_models"
    folder.mkdir()
    torch.jit.trace(TinyAV(1).eval(), example_inputs()).save(str(folder / "tiny.pt"))
    (folder / "tiny.avlab.json").write_text(json.dumps({
        "format": "torchscript", "classes": CLASSES, "outputs": ["fused"],
        "video": {"frames": 4, "size": 32, "mean": [0.45] * 3, "std": [0.225] * 3},
        "audio": {"sample_rate": 16000, "seconds": 5.0}}))
    (folder / "broken.avlab.json").write_text(json.dumps({"format": "torchscript"}))
    monkeypatch.setenv("AVLAB_MODELS", str(folder))
    return folder / "tiny.pt"


def _pick(page: str | None):
    at = app()
    assert "tiny" in at.selectbox(key="checkpoint").options
    if page is None:
        return at
    at.switch_page(page)
    at.session_state["checkpoint"] = "tiny"  # AppTest runs a switched-to page without the frame
    at.run()
    assert not at.exception and not errors(at)
    return at


def test_the_picker_lists_the_users_model_with_format_and_ablated_heads(checkpoint, user_model):
    at = _pick(None)
    options = at.selectbox(key="checkpoint").options  # as shown: the names (a whole title is cut off)
    assert "tiny" in options and options[0] == open("checkpoints/DEFAULT").read().strip()  # default first
    details = [c.value for c in at.sidebar.caption if " classes · " in c.value]
    assert len(details) == 1 and details[0].startswith("avlab · ")  # the default's details, under the box
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    mine = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    mine.session_state["checkpoint"] = "tiny"  # as if picked (AppTest reruns a picked value without the frame)
    mine.run()
    assert "torchscript · tiny.pt · 7 classes · fused native, audio/video by ablation" in \
        [c.value for c in mine.sidebar.caption]
    assert any("'classes'" in w.value and "broken.avlab.json" in w.value for w in at.warning)


def test_predict_shows_the_users_model_and_its_ablated_heads(checkpoint, user_model, sample_clip):
    from core.inference import Predictor
    from core.media import load_clip

    at = _pick("pages/predict.py")
    labels = [m.label for m in at.metric]
    assert labels == ["Audio only · by ablation", "Video only · by ablation", "Fused"]
    assert any("model tiny" in c.value for c in at.caption)
    assert any(c.value.startswith("Audio-only and video-only heads are ablations: tiny has no such heads")
               for c in at.caption)
    # the page's fused head is the one inference path's answer for the same clip
    clip_name = at.session_state["avlab_clip"].path
    expected = Predictor.load(user_model).predict(load_clip(clip_name)).overall.top("fused")
    assert at.metric[2].value == f"{expected[0]} {expected[1]:.0%}"


def test_the_lab_mutes_the_users_model(checkpoint, user_model):
    at = _pick("pages/corruption_lab.py")
    at.session_state["checkpoint"] = "tiny"  # the frame's picker is not on a switched-to page in AppTest
    at.toggle(key="lab_toggle_mute").set_value(True).run()
    assert not at.exception and not errors(at)
    metrics = {m.label: m.value for m in at.metric}
    # the ablated head is the whole model on zeroed inputs: no input, but not uniform probabilities
    assert metrics.get("Audio only (missing) · by ablation") == "no input", metrics


def test_embeddings_of_a_model_without_embeddings_use_its_log_probabilities(checkpoint, user_model):
    at = _pick("pages/embeddings.py")
    at.session_state["checkpoint"] = "tiny"
    at.radio(key="emb_method").set_value("pca").run()
    assert not at.exception and not errors(at)
    assert any("exposes no embeddings" in i.value for i in at.info)
    assert len(at.metric) == 3


def test_the_sweep_form_offers_the_users_model(checkpoint, user_model):
    at = _pick("pages/robustness.py")
    assert "tiny" in at.multiselect(key="rob_sweep_checkpoints").options


def test_the_report_of_a_sweep_of_the_users_model_names_its_ablated_heads(checkpoint, user_model, tmp_path,
                                                                          monkeypatch):
    from core.experiments import ExperimentConfig, run_experiment
    from tests.app.conftest import SAMPLES

    path = tmp_path / "results.db"
    monkeypatch.setenv("AVLAB_DB", str(path))
    run_experiment(ExperimentConfig(checkpoints=[str(user_model)], data=str(SAMPLES), corruptions=["mute"],
                                    severities=[1], limit=7), db=path)
    at = app("pages/report.py")
    assert not at.exception and not errors(at)
    findings = "\n".join(m.value for m in at.markdown)
    assert "**Heads by ablation:** tiny (torchscript) has no audio-only and video-only head of its own" in findings
    assert "**A microphone failure** (Mute) costs the fused head" in findings
    at = app("pages/robustness.py")
    assert not at.exception and not errors(at)


@pytest.mark.parametrize("page", ["pages/home.py", "pages/audio_images.py"])
def test_the_other_pages_run_with_the_users_model_picked(checkpoint, user_model, page):
    at = _pick(page)
    assert not at.exception and not errors(at)
