"""examples/custom_model: a model defined outside avlab, exported to every format, loads and gives its own logits.

The example's model at its tiny size with random weights (no training), small inputs
(4 frames of 32 px, 1 s of audio) so that the four exports take seconds.
"""
from __future__ import annotations

import ast
import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from core.inference import Predictor
from core.media import load_clip
from core.models import ModelError, find_models, load_model
from core.models.preprocessing import audio_input, video_input

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "custom_model"
SAMPLE = REPO / "sample_data" / "test" / "fan_fault_2000001.mp4"
CLASSES = ["fan_normal", "fan_fault", "valve_closed", "valve_open", "valve_leak", "pump_normal", "pump_cavitation"]
FORMATS = ("torchscript", "torch-export", "onnx", "python")
HEADS = ("audio", "video", "fused")
# torch.jit.load (avlab's TorchScript loader) warns that torch.jit is deprecated; it still loads.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

META = {"classes": CLASSES,
        "video": {"frames": 4, "size": 32, "mean": [0.43216, 0.394666, 0.37645], "std": [0.22803, 0.22145, 0.216989]},
        "audio": {"sample_rate": 16_000, "seconds": 1.0}}


@pytest.fixture(scope="module")
def example():
    """The example's model.py and export.py, imported as export.py imports them (its folder on sys.path)."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        model, export = importlib.import_module("model"), importlib.import_module("export")
    finally:
        sys.path.remove(str(EXAMPLE))
    assert Path(model.__file__).resolve().parent == EXAMPLE, "another module named 'model' was imported"
    for name in ("model", "export"):  # such plain names must not leak into other tests' imports
        sys.modules.pop(name, None)
    return model, export


@pytest.fixture(scope="module")
def tiny(example):
    model_module, _ = example
    torch.manual_seed(0)
    return model_module.build_model(num_classes=len(CLASSES), **model_module.TINY).eval()


@pytest.fixture(scope="module")
def exported(example, tiny, tmp_path_factory):
    """format -> the path export.py wrote (all four, into one folder)."""
    _, export = example
    return export.export_all(tiny, tmp_path_factory.mktemp("custom_model"), META)


def random_batch(batch: int = 3):
    g = torch.Generator().manual_seed(7)  # a batch size the exports were not traced with
    v, a = META["video"], META["audio"]
    return (torch.randn(batch, 3, v["frames"], v["size"], v["size"], generator=g),
            0.1 * torch.randn(batch, int(a["seconds"] * a["sample_rate"]), generator=g))


def test_the_model_follows_the_calling_convention(example, tiny):
    model_module, _ = example
    video, audio = random_batch(2)
    with torch.no_grad():
        a, v, f = tiny(video, audio)
    assert a.shape == v.shape == f.shape == (2, len(CLASSES))
    torch.testing.assert_close(f, 0.5 * (a.log_softmax(1) + v.log_softmax(1)))
    tree = ast.parse((EXAMPLE / "model.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "torch", "torchvision"}  # nothing from avlab


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_route_loads_and_gives_the_eager_logits(exported, tiny, fmt):
    loaded = load_model(exported[fmt])
    assert loaded.format == fmt
    assert list(loaded.classes) == CLASSES
    assert loaded.native_heads == frozenset(HEADS)
    assert (loaded.video.num_frames, loaded.video.size) == (4, 32)
    assert (loaded.audio.sr, loaded.audio.num_samples) == (16_000, 16_000)
    video, audio = random_batch(3)
    ones = torch.ones(3)
    with torch.no_grad():
        expected = dict(zip(HEADS, tiny(video, audio)))
        ran = loaded.run(video, audio, ones, ones)
        fused = loaded.fuse(loaded.encode("audio", audio, ones), loaded.encode("video", video, ones), ones, ones)
    for head in HEADS:
        torch.testing.assert_close(ran[head], expected[head], atol=1e-4, rtol=0)
        torch.testing.assert_close(fused.logits[head], expected[head], atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def sample():
    return load_clip(SAMPLE)


@pytest.mark.parametrize("fmt", FORMATS)
def test_predictor_gives_the_eager_probabilities_of_a_clip(exported, tiny, sample, fmt):
    loaded = load_model(exported[fmt])
    (pred,) = Predictor(loaded).predict_batch([sample])
    spec_v, spec_a = loaded.video, loaded.audio
    video = video_input(sample.frames, sample.fps, spec_v).unsqueeze(0)
    audio = audio_input(sample.audio, sample.sr, spec_a).unsqueeze(0)
    with torch.no_grad():
        expected = dict(zip(HEADS, tiny(video, audio)))
    for head in HEADS:
        torch.testing.assert_close(torch.as_tensor(pred.probs[head]).float(), expected[head][0].softmax(0),
                                   atol=1e-4, rtol=0)


def test_the_sidecars_are_found_in_the_export_folder(exported):
    folder = exported["onnx"].parent
    found, problems = find_models(folder)
    assert problems == []
    assert sorted(info.format for info in found) == sorted(FORMATS)
    assert all(info.native_heads == HEADS and list(info.classes) == CLASSES for info in found)
    python = json.loads((exported["python"] / "avlab.json").read_text())
    assert python["entry"] == "wrapper.py:build"


def test_an_onnx_model_with_other_input_names_is_refused(exported, tmp_path):
    import onnx

    proto = onnx.load(str(exported["onnx"]))
    rename = {"video": "frames", "audio": "waveform"}
    for value in proto.graph.input:
        value.name = rename.get(value.name, value.name)
    for node in proto.graph.node:
        node.input[:] = [rename.get(name, name) for name in node.input]
    onnx.checker.check_model(proto)  # still a valid model: only the names differ
    onnx.save(proto, str(tmp_path / "renamed.onnx"))
    shutil.copyfile(exported["onnx"].with_name("model.avlab.json"), tmp_path / "renamed.avlab.json")
    with pytest.raises(ModelError) as error:
        load_model(tmp_path / "renamed.onnx")
    message = str(error.value)
    assert "field 'file'" in message
    assert "['frames', 'waveform']" in message and "'video'" in message and "'audio'" in message
