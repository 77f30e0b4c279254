"""Models brought by a user: each loader (TorchScript, torch.export, ONNX, python) gives the eager model's
numbers through the one inference path, ablated heads are the model run with one modality zeroed, and
every bad sidecar, file or model is one sentence naming the file and the field."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.inference import HEADS, Predictor, inputs
from core.media import load_clip
from core.models import ModelError, find_models, load_model, model_info

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["fan_fault", "fan_normal", "pump_cavitation", "pump_normal", "valve_closed", "valve_leak", "valve_open"]
VIDEO = {"frames": 4, "size": 32, "mean": [0.45, 0.45, 0.45], "std": [0.225, 0.225, 0.225]}
AUDIO = {"sample_rate": 16000, "seconds": 5.0}
CLIP = ROOT / "sample_data" / "test" / "fan_fault_2000001.mp4"


class TinyAV(torch.nn.Module):
    """Mean colour -> video logits; level and spread of the waveform -> audio logits; fused = their sum."""

    def __init__(self, heads: int = 1):
        super().__init__()
        torch.manual_seed(0)
        self.video = torch.nn.Linear(3, len(CLASSES))
        self.audio = torch.nn.Linear(2, len(CLASSES))
        self.heads = heads

    def forward(self, video: torch.Tensor, audio: torch.Tensor):
        v = self.video(video.mean(dim=(2, 3, 4)))  # (B, K)
        a = self.audio(torch.stack([audio.abs().mean(dim=1) * 50, audio.std(dim=1) * 50], dim=1))  # (B, K)
        fused = v + a
        return (a, v, fused) if self.heads == 3 else fused


def sidecar(path: Path, **fields) -> Path:
    body = {"classes": CLASSES, "video": VIDEO, "audio": AUDIO, "outputs": ["fused"]} | fields
    path.write_text(json.dumps(body))
    return path


def example_inputs():
    return torch.randn(2, 3, 4, 32, 32), torch.randn(2, 80_000) * 0.1


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """One model of each format (fused-only and three-headed TorchScript), written as a user would."""
    root = tmp_path_factory.mktemp("user_models")
    fused, three = TinyAV(1).eval(), TinyAV(3).eval()
    out = {}
    traced = torch.jit.trace(fused, example_inputs())
    traced.save(str(root / "fused.pt"))
    sidecar(root / "fused.avlab.json", format="torchscript")
    out["torchscript"] = root / "fused.pt"
    torch.jit.trace(three, example_inputs()).save(str(root / "three.pt"))
    sidecar(root / "three.avlab.json", format="torchscript", outputs=["audio", "video", "fused"])
    out["three"] = root / "three.pt"
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(fused, example_inputs(), dynamic_shapes=({0: batch}, {0: batch}))
    torch.export.save(program, str(root / "exported.pt2"))
    sidecar(root / "exported.avlab.json", format="torch-export")
    out["torch-export"] = root / "exported.pt2"
    onnx_dir = root / "onnx_model"
    onnx_dir.mkdir()
    torch.onnx.export(fused, example_inputs(), str(onnx_dir / "model.onnx"), input_names=["video", "audio"],
                      output_names=["fused"], dynamic_axes={"video": {0: "b"}, "audio": {0: "b"}, "fused": {0: "b"}},
                      dynamo=False)
    sidecar(onnx_dir / "avlab.json", format="onnx")
    out["onnx"] = onnx_dir
    py_dir = root / "python_model"
    py_dir.mkdir()
    torch.save(three.state_dict(), py_dir / "weights.pt")
    (py_dir / "model.py").write_text(
        "import torch\n"
        "from tests.core.test_loaders import TinyAV\n"
        "def build(config):\n"
        "    model = TinyAV(3)\n"
        "    model.load_state_dict(torch.load(__file__.replace('model.py', 'weights.pt')))\n"
        "    return model\n")
    sidecar(py_dir / "avlab.json", format="python", entry="model.py:build", outputs=["audio", "video", "fused"])
    out["python"] = py_dir
    out["eager_fused"], out["eager_three"] = fused, three
    return out


@pytest.fixture(scope="module")
def clip():
    return load_clip(CLIP)


@pytest.mark.parametrize("fmt", ["torchscript", "torch-export", "onnx", "python", "three"])
def test_each_format_gives_the_eager_models_probabilities(models, clip, fmt):
    model = load_model(models[fmt])
    assert list(model.classes) == CLASSES and model.video.num_frames == 4 and model.video.size == 32
    pred = Predictor(model).predict(clip).overall
    eager = models["eager_three" if fmt in ("python", "three") else "eager_fused"]
    xa, _ = inputs(model, [clip], "audio")
    xv, _ = inputs(model, [clip], "video")
    with torch.no_grad():
        fused = eager(xv, xa)
        fused = fused[2] if isinstance(fused, tuple) else fused
        if fmt in ("python", "three"):
            a, v, _ = eager(xv, xa)
        else:  # by ablation: the whole model with the other modality zeroed
            a, v = eager(torch.zeros_like(xv), xa), eager(xv, torch.zeros_like(xa))
    for head, logits in (("fused", fused), ("audio", a), ("video", v)):
        np.testing.assert_allclose(pred.probs[head], logits.softmax(1)[0].numpy(), atol=1e-5, err_msg=head)
    native = {"python": set(HEADS), "three": set(HEADS)}.get(fmt, {"fused"})
    assert {h for h, k in pred.head_kinds.items() if k == "native"} == native
    assert len(model.fingerprint) == 16


def test_ablated_heads_are_named_in_the_json_of_predict(models, capsys):
    from core.predict import main

    assert main([str(CLIP), "--model", str(models["torchscript"]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["format"] == "torchscript" and out["model"]["native_heads"] == ["fused"]
    assert out["audio"]["kind"] == "ablation" and out["fused"]["kind"] == "native"
    assert abs(sum(out["fused"]["probabilities"].values()) - 1) < 1e-3


def test_evaluate_and_a_two_corruption_sweep_run_a_torchscript_model(models, tmp_path, capsys):
    from core.evaluate import main as evaluate
    from core.experiments import main as experiments
    from core.results import ResultsDB

    assert evaluate(["--model", str(models["torchscript"]), "--data", str(ROOT / "sample_data"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 21 and result["model"]["format"] == "torchscript"
    assert result["head_kinds"] == {"audio": "ablation", "video": "ablation", "fused": "native"}
    db = tmp_path / "r.db"
    assert experiments(["--db", str(db), "run", "--model", str(models["onnx"]), "--model", str(models["three"]),
                        "--data", str(ROOT / "sample_data"), "--corruptions", "mute,gaussian_blur",
                        "--severities", "5", "--limit", "4", "--quiet"]) == 0
    with ResultsDB(db, create=False) as results:
        exp = results.get_experiment(1)
        assert [c["format"] for c in exp["checkpoints"]] == ["onnx", "torchscript"]
        assert exp["checkpoints"][0]["fingerprint"] == load_model(models["onnx"]).fingerprint
        rows = results.predictions(1)
    assert exp["progress"] == 1.0 and len(rows) == 2 * 4 * 3 * 3  # models x clips x conditions x heads
    with ResultsDB(db, create=False) as results:
        summary = results.summary(1).set_index(["checkpoint", "head"])["kind"]
    assert summary[("onnx_model", "audio")] == "ablation" and summary[("onnx_model", "fused")] == "native"
    assert (summary.loc["three"] == "native").all()
    from core.report import build

    report = build(1, db=db)
    board = report.tables["leaderboard"].set_index("checkpoint")
    assert board.loc["onnx_model", "format"] == "onnx" and board.loc["three", "unimodal_heads"] == "native"
    assert board.loc["onnx_model", "model_hash"] == load_model(models["onnx"]).fingerprint
    ablation = [f for f in report.findings if f.startswith("**Heads by ablation:**")]
    assert ablation == ["**Heads by ablation:** onnx_model (onnx) has no audio-only and video-only head of its own; "
                        "those rows are the whole model fed the clip with the other modality zeroed and masked, so "
                        "they measure the model without a sense, not a separate head."]


def test_a_sweep_row_equals_what_the_predictor_gives(models, tmp_path):
    """The stored probabilities of a user model (clean and muted) are those of the one inference path."""
    from core.corruptions import apply_many
    from core.experiments import ExperimentConfig, run_experiment
    from core.results import ResultsDB

    spec = str(models["torchscript"])
    eid = run_experiment(ExperimentConfig(checkpoints=[spec], data=str(ROOT / "sample_data"), corruptions=["mute"],
                                          severities=[1], limit=2), db=tmp_path / "r.db")
    with ResultsDB(tmp_path / "r.db", create=False) as db:
        rows = db.predictions(eid)
    predictor = Predictor.load(spec)
    for path in rows["clip_path"].unique():
        clean = predictor.predict(load_clip(path)).overall
        muted = predictor.predict(apply_many(load_clip(path), [("mute", 1)], seed=0)).overall
        for condition, pred in (("clean", clean), ("mute", muted)):
            for head in HEADS:
                (stored,) = rows[(rows["clip_path"] == path) & (rows["corruption"] == condition)
                                 & (rows["head"] == head)]["probs"]
                np.testing.assert_allclose(stored, pred.probs[head], atol=1e-5, err_msg=f"{condition} {head}")
    assert not np.allclose(clean.probs["audio"], muted.probs["audio"])  # the ablated audio head heard the mute


@pytest.mark.parametrize("body, field", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": "tensorflow", "classes": CLASSES}), "'format'"),
    (json.dumps({"format": "torchscript", "classes": ["only_one"]}), "'classes'"),
    (json.dumps({"format": "torchscript", "classes": CLASSES, "video": {"frames": 0}}), "'video.frames'"),
    (json.dumps({"format": "torchscript", "classes": CLASSES, "video": {"std": [0.2, 0, 0.2]}}), "'video.std'"),
    (json.dumps({"format": "torchscript", "classes": CLASSES, "audio": {"sample_rate": "16k"}}), "'audio.sample_rate'"),
    (json.dumps({"format": "torchscript", "classes": CLASSES, "outputs": ["video", "fused"]}), "'outputs'"),
    (json.dumps({"format": "torchscript", "classes": CLASSES, "file": "missing.pt"}), "'file'"),
])
def test_a_bad_sidecar_is_one_sentence_naming_the_file_and_field(tmp_path, body, field):
    (tmp_path / "m.pt").write_bytes(b"")
    (tmp_path / "m.avlab.json").write_text(body)
    with pytest.raises(ModelError, match=field) as info:
        load_model(tmp_path / "m.pt")
    assert "m.avlab.json" in str(info.value) and "\n" not in str(info.value)


def test_a_file_without_sidecar_and_a_missing_path_are_refused(tmp_path):
    (tmp_path / "m.pt").write_bytes(b"x")
    with pytest.raises(ModelError, match="has no sidecar"):
        load_model(tmp_path / "m.pt")
    with pytest.raises(ModelError, match="There is no model at"):
        load_model(tmp_path / "nothing.pt")


def test_a_file_that_is_not_the_stated_format_names_the_file(tmp_path):
    (tmp_path / "m.pt").write_bytes(b"not a zip")
    sidecar(tmp_path / "m.avlab.json", format="torchscript")
    with pytest.raises(ModelError, match="not a TorchScript model"):
        load_model(tmp_path / "m.pt")


def test_wrong_class_count_is_caught_at_the_first_batch(models, tmp_path, clip):
    torch.jit.trace(TinyAV(1).eval(), example_inputs()).save(str(tmp_path / "m.pt"))
    sidecar(tmp_path / "m.avlab.json", format="torchscript", classes=CLASSES[:5])
    model = load_model(tmp_path / "m.pt")
    with pytest.raises(ModelError, match=r"'classes' lists 5 classes but the fused logits of m.pt have shape \(1, 7\)"):
        Predictor(model).predict(clip)


def test_a_model_that_raises_is_one_sentence(tmp_path, clip):
    (tmp_path / "model.py").write_text(
        "import torch\n"
        "class Raising(torch.nn.Module):\n"
        "    def forward(self, video, audio):\n"
        "        raise RuntimeError('the weights were never trained')\n"
        "def build(config):\n"
        "    return Raising()\n")
    sidecar(tmp_path / "avlab.json", format="python", entry="model.py:build")
    model = load_model(tmp_path)
    with pytest.raises(ModelError, match="raised RuntimeError .*the weights were never trained"):
        Predictor(model).predict(clip)


def test_three_outputs_declared_but_one_returned(models, tmp_path, clip):
    torch.jit.trace(TinyAV(1).eval(), example_inputs()).save(str(tmp_path / "m.pt"))
    sidecar(tmp_path / "m.avlab.json", format="torchscript", outputs=["audio", "video", "fused"])
    with pytest.raises(ModelError, match="'outputs' lists 3 output"):
        Predictor(load_model(tmp_path / "m.pt")).predict(clip)


def test_onnx_inputs_must_be_named_video_and_audio(tmp_path):
    torch.onnx.export(TinyAV(1).eval(), example_inputs(), str(tmp_path / "m.onnx"), input_names=["x", "y"],
                      dynamo=False)
    sidecar(tmp_path / "m.avlab.json", format="onnx")
    with pytest.raises(ModelError, match="'file' names an ONNX model whose inputs are \\['x', 'y'\\]"):
        load_model(tmp_path / "m.onnx")


@pytest.mark.parametrize("entry, match", [("model.py", "FILE.py:FUNCTION"), ("nothere.py:build", "does not exist"),
                                          ("model.py:make", "does not define")])
def test_python_entry_errors(tmp_path, entry, match):
    (tmp_path / "model.py").write_text("def build(config):\n    return 3\n")
    sidecar(tmp_path / "avlab.json", format="python", entry=entry)
    with pytest.raises(ModelError, match=match):
        load_model(tmp_path)


def test_python_entry_must_return_a_model(tmp_path):
    (tmp_path / "model.py").write_text("def build(config):\n    return 3\n")
    sidecar(tmp_path / "avlab.json", format="python", entry="model.py:build")
    with pytest.raises(ModelError, match="returned a int"):
        load_model(tmp_path)


def test_cli_exit_code_2_and_one_sentence_for_a_bad_model(tmp_path, capsys):
    from core.predict import main

    (tmp_path / "m.pt").write_bytes(b"")
    (tmp_path / "m.avlab.json").write_text(json.dumps({"format": "torchscript"}))
    assert main([str(CLIP), "--model", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: The sidecar") and "'classes'" in err and len(err.splitlines()) == 1


def test_find_models_lists_every_format_with_its_native_heads(models):
    found, problems = find_models(models["torchscript"].parent)
    by_name = {i.name: i for i in found}
    assert problems == []
    assert {"fused", "three", "exported", "onnx_model", "python_model"} <= set(by_name)
    assert by_name["fused"].native_heads == ("fused",) and by_name["three"].native_heads == HEADS
    assert by_name["onnx_model"].format == "onnx" and "by ablation" in by_name["onnx_model"].title
    assert model_info(by_name["exported"].path).format == "torch-export"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the sentence for a machine without a GPU")
def test_the_device_is_an_argument_and_a_missing_gpu_is_one_sentence(models):
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load_model(models["torchscript"], device="cuda")
    with pytest.raises(ModelError, match="is not a device"):
        load_model(models["torchscript"], device="tpu9")
    assert load_model(models["torchscript"], device="auto").device.type in ("cpu", "mps")
