"""Checkpoints: round trips, metadata, and every way a checkpoint can be wrong."""
from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file

from core.models import (
    AVModel, CheckpointError, ModelConfig, build_encoder, load_checkpoint, read_metadata, save_checkpoint,
    update_metadata,
)
from core.models.checkpoint import CONFIG_FILE, WEIGHTS_FILE

torch.set_num_threads(1)

CLASSES = ["fan_normal", "fan_fault", "valve_closed", "valve_open", "valve_leak"]
TINY = ModelConfig(video_encoder="small3d", video_kwargs=dict(num_frames=4, size=32, widths=(4, 8, 8, 8)),
                   audio_encoder="mel_cnn", audio_kwargs=dict(seconds=0.5, widths=(4, 8, 8, 8), out_dim=16),
                   fusion="cross_attention", num_classes=len(CLASSES), embed_dim=16, hidden=8)


def _model(config: ModelConfig = TINY) -> AVModel:
    torch.manual_seed(0)
    model = AVModel(config)
    with torch.no_grad():  # make BatchNorm statistics non-trivial so they are checked too
        model.train()(*_inputs())
    return model.eval()


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 4, 32, 32, generator=g), torch.randn(2, 1, 64, 26, generator=g)


def _save(tmp_path, model=None, **kwargs):
    model = model or _model()
    path = save_checkpoint(tmp_path / "ckpt", model, classes=CLASSES, training_config={"epochs": 3, "lr": 1e-3},
                           metrics={"val_accuracy": 0.9}, provenance={"dataset": "factory-av", "seeds": [0, 99]},
                           **kwargs)
    return model, path


def test_float32_round_trip_is_exact(tmp_path):
    model, path = _save(tmp_path, dtype="float32")
    loaded = load_checkpoint(path)
    assert not loaded.model.training and loaded.classes == CLASSES
    assert loaded.config == model.rebuild_config() and loaded.config.fusion == TINY.fusion
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    video, audio = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(video, audio).fused_logits, model(video, audio).fused_logits,
                                   rtol=0, atol=0)


def test_float16_round_trip_is_close_and_smaller(tmp_path):
    model, path16 = _save(tmp_path / "a", dtype="float16")
    _, path32 = _save(tmp_path / "b", model=model, dtype="float32")
    assert (path16 / WEIGHTS_FILE).stat().st_size < 0.7 * (path32 / WEIGHTS_FILE).stat().st_size
    stored = {t.dtype for t in load_file(str(path16 / WEIGHTS_FILE)).values()}
    assert stored == {torch.float16, torch.int64}  # BatchNorm's counters stay integers
    loaded = load_checkpoint(path16).model
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    video, audio = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(loaded(video, audio).fused_logits, model(video, audio).fused_logits,
                                   rtol=1e-2, atol=1e-2)


def test_metadata_describes_the_model(tmp_path):
    model, path = _save(tmp_path)
    meta = read_metadata(path)
    assert meta["classes"] == CLASSES and meta["dtype"] == "float16"
    assert meta["parameter_count"] == model.num_parameters()
    assert meta["preprocessing"]["video"]["size"] == 32
    assert meta["preprocessing"]["audio"]["representation"] == "log_mel"
    assert meta["training_config"]["epochs"] == 3 and meta["provenance"]["seeds"] == [0, 99]
    assert ModelConfig.from_dict(meta["model"]) == model.rebuild_config()


def test_checkpoint_holds_no_pickle_and_loading_unpickles_nothing(tmp_path, monkeypatch):
    _, path = _save(tmp_path)
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    raw = (path / WEIGHTS_FILE).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])  # safetensors: a length, a JSON header, raw tensor bytes
    header = json.loads(raw[8:8 + n])
    assert "fused_head.fc2.weight" in header and header["fused_head.fc2.weight"]["dtype"] == "F16"
    assert raw[8:9] == b"{" and not raw.startswith(b"PK")  # a JSON header, not torch.save's zip of pickles

    def forbidden(*args, **kwargs):
        raise AssertionError("loading a checkpoint must not unpickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    assert load_checkpoint(path).classes == CLASSES


def test_pretrained_paths_are_not_needed_to_load(tmp_path):
    torch.manual_seed(0)
    w2v = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
               conv_dim=(8,) * 7, num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2)
    build_encoder("wav2vec2", config=w2v).model.save_pretrained(tmp_path / "hf")
    config = ModelConfig(**{**TINY.to_dict(), "audio_encoder": "wav2vec2", "fusion": "late",
                            "audio_kwargs": {"pretrained_path": str(tmp_path / "hf"), "seconds": 0.5}})
    model = AVModel(config).eval()
    path = save_checkpoint(tmp_path / "ckpt", model, classes=CLASSES, dtype="float32")
    for f in (tmp_path / "hf").iterdir():
        f.unlink()
    loaded = load_checkpoint(path).model
    assert "pretrained_path" not in json.dumps(read_metadata(path)["model"])
    video, audio = torch.randn(1, 3, 4, 32, 32), torch.randn(1, 8000)
    with torch.no_grad():
        torch.testing.assert_close(loaded(video, audio).fused_logits, model(video, audio).fused_logits)


def test_update_metadata_merges_and_protects_the_weights_description(tmp_path):
    _, path = _save(tmp_path)
    meta = update_metadata(path, metrics={"test_accuracy": 0.8}, model_card="Trained on factory-av.")
    assert meta["metrics"] == {"val_accuracy": 0.9, "test_accuracy": 0.8}
    assert read_metadata(path)["model_card"] == "Trained on factory-av."
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]  # no temp files left
    with pytest.raises(CheckpointError, match="cannot be changed"):
        update_metadata(path, classes=["a", "b"])


def test_save_refuses_wrong_class_count_and_dtype(tmp_path):
    with pytest.raises(ValueError, match="class names"):
        save_checkpoint(tmp_path / "x", _model(), classes=CLASSES[:2])
    with pytest.raises(ValueError, match="dtype"):
        save_checkpoint(tmp_path / "x", _model(), classes=CLASSES, dtype="int8")


def _edit_json(path, **changes):
    meta = read_metadata(path)
    for key, value in changes.items():
        if key == "model":
            meta["model"] = {**meta["model"], **value}
        else:
            meta[key] = value
    (path / CONFIG_FILE).write_text(json.dumps(meta))


def _edit_weights(path, fn):
    state = load_file(str(path / WEIGHTS_FILE))
    fn(state)
    save_file(state, str(path / WEIGHTS_FILE))


def _drop_model(path):
    meta = read_metadata(path)
    meta.pop("model")
    (path / CONFIG_FILE).write_text(json.dumps(meta))


BROKEN = {
    "missing folder": (lambda p: p.rename(p.with_name("gone")), "no checkpoint folder"),
    "missing config": (lambda p: (p / CONFIG_FILE).unlink(), "has no config.json"),
    "missing weights": (lambda p: (p / WEIGHTS_FILE).unlink(), "has no model.safetensors"),
    "bad json": (lambda p: (p / CONFIG_FILE).write_text("{not json"), "not valid JSON"),
    "not an object": (lambda p: (p / CONFIG_FILE).write_text("[1, 2]"), "JSON object"),
    "old format": (lambda p: _edit_json(p, format_version=0), "format version"),
    "no model field": (_drop_model, "lacks the 'model' field"),
    "unknown encoder": (lambda p: _edit_json(p, model={"video_encoder": "vit_h"}), "no encoder called 'vit_h'"),
    "unknown fusion": (lambda p: _edit_json(p, model={"fusion": "magic"}), "no fusion called 'magic'"),
    "unknown field": (lambda p: _edit_json(p, model={"layers": 3}), "unknown field"),
    "class count": (lambda p: _edit_json(p, classes=["a", "b"]), "lists 2 classes"),
    "shape mismatch": (lambda p: _edit_json(p, model={"hidden": 9}), "wrong shape"),
    "missing tensor": (lambda p: _edit_weights(p, lambda s: s.pop("fused_head.fc2.bias")), "1 tensor\\(s\\) missing"),
    "unexpected tensor": (lambda p: _edit_weights(p, lambda s: s.update(extra=torch.zeros(2))), "1 unexpected"),
    "damaged weights": (lambda p: (p / WEIGHTS_FILE).write_bytes(b"\x00" * 20), "damaged"),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return _save(tmp_path_factory.mktemp("saved"))[1]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_checkpoints_are_plain_checkpoint_errors(saved, tmp_path, case):
    import shutil

    path = shutil.copytree(saved, tmp_path / "ckpt")
    breaker, message = BROKEN[case]
    breaker(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value) and str(info.value).endswith((".", ")"))
