"""core.evaluate: a data set with one file that cannot be decoded is evaluated on the others, and says so."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from core.datasets import load_dataset
from core.evaluate import evaluate, main, model_card
from core.inference import Predictor
from core.media import Clip, MediaError, load_clip, write_clip
from core.models import AVModel, ModelConfig, save_checkpoint

TINY_MODEL = ModelConfig(video_encoder="small3d", video_kwargs={"num_frames": 4, "size": 32, "widths": [4, 8]},
                         audio_encoder="mel_cnn", audio_kwargs={"widths": [4, 8, 8, 8], "out_dim": 16},
                         fusion="modality_attention", num_classes=2, embed_dim=16, hidden=16)


def _data(root, *, bad: bool):
    """Four 2 s clips of two classes (bright + 440 Hz, dark + 1.5 kHz); with ``bad``, a fifth listed third
    whose file is the first 600 bytes of a real clip."""
    rng = np.random.default_rng(0)
    t = np.arange(16_000 * 2) / 16_000
    rows = ["path,label"]
    for label, level, hz in (("bright", 200, 440.0), ("dark", 40, 1500.0)):
        for i in range(2):
            frames = np.clip(level + rng.normal(0, 30, (8, 32, 32, 3)), 0, 255).astype(np.uint8)
            audio = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
            write_clip(Clip(frames=frames, fps=4.0, audio=audio, duration=2.0), root / f"{label}_{i}.mp4")
            rows.append(f"{label}_{i}.mp4,{label}")
            if bad and label == "bright" and i == 1:
                (root / "broken.mp4").write_bytes((root / "bright_0.mp4").read_bytes()[:600])
                rows.append("broken.mp4,dark")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    good = _data(tmp_path_factory.mktemp("good"), bad=False)
    with_bad = _data(tmp_path_factory.mktemp("with_bad"), bad=True)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", AVModel(TINY_MODEL).eval(),
                           classes=["bright", "dark"], dtype="float32")
    return good, with_bad, ckpt


def test_one_undecodable_file_is_skipped_named_and_counted(tiny):
    good, with_bad, ckpt = tiny
    with pytest.raises(MediaError) as info:
        load_clip(with_bad / "broken.mp4")
    predictor = Predictor.load(ckpt, device="cpu")
    clean = evaluate(predictor, load_dataset(good), progress=False, batch_size=2)
    result = evaluate(predictor, load_dataset(with_bad), progress=False, batch_size=2)
    assert result["skipped"] == [{"path": str(with_bad / "broken.mp4"), "reason": str(info.value), "label": "dark"}]
    assert result["n_skipped"] == len(result["skipped"]) == 1 and clean["n_skipped"] == 0
    assert result["n"] == clean["n"] == 4
    # the good clips score as without the bad file: it was left out, not counted wrong or shifted (a batch of
    # one clip instead of two moves probabilities by float32 rounding only)
    assert result["accuracy"] == clean["accuracy"] and result["macro_f1"] == clean["macro_f1"]
    _assert_close(result["heads"], clean["heads"])
    card = model_card({"model": {"video_encoder": "v", "audio_encoder": "a", "fusion": "f", "embed_dim": 1,
                                 "hidden": 1, "dropout": 0}, "classes": ["bright", "dark"],
                       "preprocessing": {"video": {"num_frames": 4, "size": 32},
                                         "audio": {"seconds": 5, "sr": 16000, "representation": None}}},
                      result, "data")
    assert f"1 clip could not be decoded and was left out: broken.mp4 ({str(info.value).rstrip('.')})." in card


def _assert_close(got, expected, path="heads"):
    if isinstance(expected, dict):
        assert set(got) == set(expected), path
        for key in expected:
            _assert_close(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (a, b) in enumerate(zip(got, expected)):
            _assert_close(a, b, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-6, nan_ok=True), path
    else:
        assert got == expected, path


def test_decoding_in_workers_carries_the_failure_in_place(tiny):
    """The failure crosses DataLoader worker processes as a value, at the bad file's place."""
    from core.inference import Unreadable, clip_batches

    _, with_bad, _ = tiny
    paths = [s.path for s in load_dataset(with_bad).samples]
    for workers in (0, 2):
        items = [c for b in clip_batches(paths, batch_size=2, workers=workers) for c in b]
        assert [type(c).__name__ for c in items] == ["Clip", "Clip", "Unreadable", "Clip", "Clip"]
        assert items[2] == Unreadable(with_bad / "broken.mp4", items[2].reason) and items[2].reason.endswith(".")


def test_cli_json_lists_the_skipped_file_and_text_names_it(tiny, capsys):
    _, with_bad, ckpt = tiny
    assert main(["--model", str(ckpt), "--device", "cpu", "--data", str(with_bad), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 4 and out["n_skipped"] == 1 and out["skipped"][0]["path"].endswith("broken.mp4")
    assert main(["--model", str(ckpt), "--device", "cpu", "--data", str(with_bad)]) == 0
    text = capsys.readouterr().out
    assert "not scored: 1 clip could not be decoded and was left out: broken.mp4 (" in text


def test_a_data_set_of_only_undecodable_files_is_one_sentence(tiny, tmp_path, capsys):
    _, with_bad, ckpt = tiny
    shutil.copy(with_bad / "broken.mp4", tmp_path / "broken.mp4")
    (tmp_path / "manifest.csv").write_text("path,label\nbroken.mp4,dark\n")
    assert main(["--model", str(ckpt), "--device", "cpu", "--data", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: None of the 1 clips could be decoded") and "broken.mp4" in err
