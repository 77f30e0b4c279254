"""The zero-shot CLIP + CLAP model on tiny random checkpoints saved offline (no hub, no network)."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core.models import HEADS, ModelError, load_model
from core.models.loaders import parse_sidecar
from core.models.zero_shot import DEFAULT_TEMPLATES, ZeroShotModel, prompt_texts

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "test" / "fan_fault_2000001.mp4"
CLASSES = ["fan_normal", "fan_fault", "valve_open"]
IMAGE_SIZE, FRAMES = 32, 4
SR, HOP, MAX_S = 48_000, 960, 5  # CLAP's rate; hop and 5 s input keep the tiny model's spectrogram small
CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


pytestmark = pytest.mark.usefixtures("no_network")  # both models come from local folders


# ----------------------------------------------------------------------------- tiny checkpoints

def _save_clip(folder: Path) -> None:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<|unk|>": 2}
    for c in CHARS:  # characters only (no merges): every prompt of letters, digits and spaces tokenizes
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], unk_token="<|unk|>")
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=IMAGE_SIZE, patch_size=8),
        projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                       crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)


def _save_clap(folder: Path) -> None:
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    for c in CHARS:  # byte-level BPE without merges: "Ġ" marks a character after a space
        vocab[c], vocab["\u0120" + c] = len(vocab), len(vocab) + 1
    config = ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=80, pad_token_id=1, bos_token_id=0,
                         eos_token_id=2, type_vocab_size=1),
        audio_config=dict(spec_size=64, num_mel_bins=16, window_size=4, depths=[1, 1], num_attention_heads=[1, 2],
                          patch_embeds_hidden_size=16, hidden_size=32, enable_fusion=False),
        projection_dim=16)
    torch.manual_seed(1)
    ClapModel(config).save_pretrained(folder)
    RobertaTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    ClapFeatureExtractor(feature_size=16, sampling_rate=SR, hop_length=HOP, max_length_s=MAX_S,
                         fft_window_size=1024, frequency_max=14_000, truncation="rand_trunc",
                         padding="repeatpad").save_pretrained(folder)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("zero_shot_models")
    _save_clip(root / "clip")
    _save_clap(root / "clap")
    return root


def _folder(tmp_path: Path, models_dir: Path, name: str = "zs", **fields) -> Path:
    """A model folder: avlab.json naming the shared tiny checkpoints (by absolute path)."""
    folder = tmp_path / name
    folder.mkdir()
    sidecar = {"format": "zero-shot", "classes": CLASSES, "image_text_model": str(models_dir / "clip"),
               "audio_text_model": str(models_dir / "clap"), "video": {"frames": FRAMES}, **fields}
    (folder / "avlab.json").write_text(json.dumps({k: v for k, v in sidecar.items() if v is not None}))
    return folder


@pytest.fixture(scope="module")
def model(models_dir, tmp_path_factory) -> ZeroShotModel:
    folder = _folder(tmp_path_factory.mktemp("sidecar"), models_dir,
                     fusion_weights={"audio": 0.3, "video": 0.7})
    return load_model(folder)


def _inputs(model, b: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    video = torch.randn(b, 3, FRAMES, model.video.size, model.video.size, generator=g)
    audio = 0.1 * torch.randn(b, model.audio.num_samples, generator=g)
    return video, audio


@torch.inference_mode()
def _run(model, video, audio, am, vm):
    return model.fuse(model.encode("audio", audio * am[:, None], am),
                      model.encode("video", video * vm[:, None, None, None, None], vm), am, vm)


# ----------------------------------------------------------------------------- loading

def test_loads_through_load_model_with_the_sidecars_classes_and_the_models_inputs(model, models_dir):
    from transformers import CLIPImageProcessor

    assert isinstance(model, ZeroShotModel)
    assert model.classes == tuple(CLASSES)
    assert (model.format, model.separable, model.has_embeddings) == ("zero-shot", True, True)
    assert model.native_heads == frozenset(HEADS)
    assert model.video.size == IMAGE_SIZE and model.video.num_frames == FRAMES
    processor = CLIPImageProcessor.from_pretrained(models_dir / "clip")
    assert model.video.mean == pytest.approx(tuple(processor.image_mean))
    assert model.video.std == pytest.approx(tuple(processor.image_std))
    assert (model.audio.sr, model.audio.seconds, model.audio.representation) == (SR, 5.0, None)
    assert re.fullmatch(r"[0-9a-f]{16}", model.fingerprint)
    assert model.describe()["fusion_weights"] == pytest.approx({"audio": 0.3, "video": 0.7})


def test_fingerprint_follows_the_sidecar_and_the_model_files(tmp_path, models_dir, model):
    same = load_model(_folder(tmp_path, models_dir, "same", fusion_weights={"audio": 0.3, "video": 0.7}))
    other = load_model(_folder(tmp_path, models_dir, "other", fusion_weights={"audio": 0.5, "video": 0.5}))
    assert same.fingerprint == model.fingerprint != other.fingerprint


def test_relative_model_folders_resolve_beside_the_sidecar(tmp_path, models_dir):
    folder = tmp_path / "bundle"
    shutil.copytree(models_dir, folder)
    (folder / "avlab.json").write_text(json.dumps({"format": "zero-shot", "classes": CLASSES,
                                                   "image_text_model": "clip", "audio_text_model": "./clap"}))
    loaded = load_model(folder)
    assert loaded.classes == tuple(CLASSES) and loaded.video.num_frames == 8


@pytest.mark.parametrize("fields, field", [
    ({"image_text_model": "no_such_clip"}, "image_text_model"),
    ({"audio_text_model": "../nowhere/clap"}, "audio_text_model"),
    ({"image_text_model": "@clap"}, "image_text_model"),  # a CLAP folder where CLIP belongs
    ({"image_text_model": 3}, "image_text_model"),
    ({"fusion_weights": {"audio": -1, "video": 1}}, "fusion_weights"),
    ({"fusion_weights": {"audio": 0.5}}, "fusion_weights"),
    ({"prompts": "a photo"}, "prompts"),
    ({"prompts": {"video": "a photo of {label}", "audio": ""}}, "prompts.audio"),
    ({"prompts": {"fan_broken": "a broken fan"}}, "prompts"),
    ({"video": {"frames": FRAMES, "size": 224}}, "video.size"),
    ({"audio": {"sample_rate": 16000}}, "audio.sample_rate"),
])
def test_bad_sidecars_raise_one_sentence_naming_the_field(tmp_path, models_dir, fields, field):
    fields = {k: (str(models_dir / "clap") if v == "@clap" else v) for k, v in fields.items()}
    folder = _folder(tmp_path, models_dir, **fields)
    with pytest.raises(ModelError) as info:
        load_model(folder)
    message = str(info.value)
    assert f"'{field}'" in message and str(folder / "avlab.json") in message
    assert "\n" not in message


def test_missing_classes_is_a_model_error(tmp_path, models_dir):
    folder = _folder(tmp_path, models_dir, classes=["only_one"])
    with pytest.raises(ModelError, match="'classes'"):
        load_model(folder)


def test_prompt_forms(tmp_path, models_dir):
    def texts(prompts):
        folder = _folder(tmp_path, models_dir, f"p{len(list(tmp_path.iterdir()))}", prompts=prompts)
        return prompt_texts(parse_sidecar(folder / "avlab.json", folder))

    default = texts(None)
    assert default["video"][1] == [DEFAULT_TEMPLATES["video"].replace("{label}", "fan fault")]
    assert default["audio"][0] == ["the sound of fan normal"]
    both = texts(["a {label}", "{label} here"])
    assert both["video"] == both["audio"] and both["video"][2] == ["a valve open", "valve open here"]
    per_modality = texts({"audio": "{label} noise"})
    assert per_modality["video"] == default["video"] and per_modality["audio"][0] == ["fan normal noise"]
    per_class = texts({"fan_fault": ["a broken fan", "a fan that rattles"]})
    assert per_class["video"][1] == per_class["audio"][1] == ["a broken fan", "a fan that rattles"]
    assert per_class["video"][0] == default["video"][0]


# ----------------------------------------------------------------------------- heads and fusion

def test_heads_are_probabilities_and_fused_is_the_weighted_mean_of_log_probs(model):
    video, audio = _inputs(model)
    ones = torch.ones(3)
    out = _run(model, video, audio, ones, ones)
    for head in HEADS:
        assert out.logits[head].shape == (3, len(CLASSES))
        assert torch.allclose(out.logits[head].softmax(1).sum(1), torch.ones(3), atol=1e-6)
    la, lv = out.logits["audio"].log_softmax(1), out.logits["video"].log_softmax(1)
    expected = (0.3 * la + 0.7 * lv).log_softmax(1)
    assert torch.allclose(out.logits["fused"].log_softmax(1), expected, atol=1e-5)
    assert torch.allclose(out.weights, torch.tensor([[0.3, 0.7]] * 3))
    assert out.embeddings["fused"].shape == (3, 32)
    assert torch.allclose(out.embeddings["video"].norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(out.embeddings["audio"].norm(dim=1), torch.ones(3), atol=1e-5)
    assert not torch.allclose(out.logits["audio"], out.logits["video"])


def test_video_head_is_clips_logits_per_image_and_audio_head_is_claps_logits_per_audio(model, models_dir):
    """Against transformers' own forward: a clip whose frames are all one image scores as that image."""
    from transformers import AutoTokenizer, ClapFeatureExtractor

    video, audio = _inputs(model, b=2)
    video = video[:, :, :1].expand(-1, -1, FRAMES, -1, -1).contiguous()  # every frame the same
    out = _run(model, video, audio, torch.ones(2), torch.ones(2))

    texts = [t[0] for t in prompt_texts(parse_sidecar(model.source / "avlab.json", model.source))["video"]]
    tok = AutoTokenizer.from_pretrained(models_dir / "clip")(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        ref = model.clip(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"],
                         pixel_values=video[:, :, 0]).logits_per_image  # (B, K)
    assert torch.allclose(out.logits["video"], ref, atol=1e-4)

    texts = [t[0] for t in prompt_texts(parse_sidecar(model.source / "avlab.json", model.source))["audio"]]
    tok = AutoTokenizer.from_pretrained(models_dir / "clap")(texts, padding=True, return_tensors="pt")
    feats = ClapFeatureExtractor.from_pretrained(models_dir / "clap")(
        list(audio.numpy()), sampling_rate=SR, return_tensors="pt")
    with torch.inference_mode():
        ref = model.clap(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"],
                         input_features=feats["input_features"].float()).logits_per_audio
    assert torch.allclose(out.logits["audio"], ref, atol=1e-4)


def test_missing_audio_gives_a_uniform_audio_head_and_fused_equals_video(model):
    video, audio = _inputs(model)
    am, vm = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([1.0, 1.0, 0.0])
    out = _run(model, video, audio, am, vm)
    probs = {h: out.logits[h].softmax(1) for h in HEADS}
    uniform = torch.full((len(CLASSES),), 1 / len(CLASSES))
    assert torch.allclose(probs["audio"][1], uniform)
    assert torch.allclose(probs["fused"][1], probs["video"][1], atol=1e-6)
    assert torch.allclose(out.weights[1], torch.tensor([0.0, 1.0]))
    assert torch.equal(out.embeddings["audio"][1], torch.zeros(16))
    # neither modality: every head uniform
    for head in HEADS:
        assert torch.allclose(probs[head][2], uniform)
    # the clip with both present is unaffected by its neighbours' masks
    both = _run(model, video[:1], audio[:1], torch.ones(1), torch.ones(1))
    assert torch.allclose(both.logits["fused"], out.logits["fused"][:1], atol=1e-5)


def test_missing_video_gives_fused_equal_to_audio(model):
    video, audio = _inputs(model, b=2)
    out = _run(model, video, audio, torch.ones(2), torch.tensor([0.0, 1.0]))
    assert torch.allclose(out.logits["fused"][0].softmax(0), out.logits["audio"][0].softmax(0), atol=1e-6)
    assert torch.allclose(out.weights[0], torch.tensor([1.0, 0.0]))


def test_a_fully_masked_batch_skips_the_model(model, monkeypatch):
    video, audio = _inputs(model, b=2)

    def boom(*args, **kwargs):
        raise AssertionError("the model ran on a masked batch")

    monkeypatch.setattr(model.clip, "get_image_features", boom)
    monkeypatch.setattr(model.clap, "get_audio_features", boom)
    with torch.inference_mode():
        enc = model.encode("video", torch.zeros_like(video), torch.zeros(2))
        assert enc.embedding.shape == (2, 16) and enc.tokens.shape == (2, FRAMES, 16)
        assert not enc.embedding.any()
        assert not model.encode("audio", torch.zeros_like(audio), torch.zeros(2)).embedding.any()


def test_inputs_the_checkpoint_cannot_take_raise_a_model_error(model):
    with torch.inference_mode(), pytest.raises(ModelError, match="CLIP"):
        model.encode("video", torch.randn(1, 3, FRAMES, 40, 40), torch.ones(1))


def test_audio_encoding_is_deterministic_even_past_clap_input_length(model):
    long = 0.1 * torch.randn(2, SR * (MAX_S + 2), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        first = model.encode("audio", long, torch.ones(2)).embedding
        second = model.encode("audio", long, torch.ones(2)).embedding
    assert torch.equal(first, second)


def test_changing_one_class_prompt_changes_only_that_video_logit(tmp_path, models_dir, model):
    changed = load_model(_folder(tmp_path, models_dir, fusion_weights={"audio": 0.3, "video": 0.7},
                                 prompts={"video": {"fan_fault": "a fan with a cracked blade"}}))
    video, audio = _inputs(model)
    ones = torch.ones(3)
    before, after = _run(model, video, audio, ones, ones), _run(changed, video, audio, ones, ones)
    k = CLASSES.index("fan_fault")
    others = [i for i in range(len(CLASSES)) if i != k]
    assert not torch.allclose(before.logits["video"][:, k], after.logits["video"][:, k], atol=1e-4)
    assert torch.allclose(before.logits["video"][:, others], after.logits["video"][:, others], atol=1e-6)
    assert torch.allclose(before.logits["audio"], after.logits["audio"], atol=1e-6)


def test_prompt_ensemble_is_the_normalised_mean_of_the_prompt_embeddings(tmp_path, models_dir):
    prompts = {"video": {"fan_fault": ["a broken fan", "a fan that rattles"]}}
    ensemble = load_model(_folder(tmp_path, models_dir, "ens", prompts=prompts))
    singles = [load_model(_folder(tmp_path, models_dir, f"s{i}", prompts={"video": {"fan_fault": text}}))
               for i, text in enumerate(prompts["video"]["fan_fault"])]
    k = CLASSES.index("fan_fault")
    mean = torch.nn.functional.normalize(singles[0].video_text[k] + singles[1].video_text[k], dim=0)
    assert torch.allclose(ensemble.video_text[k], mean, atol=1e-6)


# ----------------------------------------------------------------------------- the one inference path

def test_predictor_end_to_end_on_a_sample_clip(model):
    from core.inference import Predictor
    from core.media import load_clip

    prediction = Predictor(model).predict(load_clip(SAMPLE)).overall
    assert prediction.classes == tuple(CLASSES)
    for head in HEADS:
        assert prediction.probs[head].shape == (len(CLASSES),)
        assert math.isclose(float(prediction.probs[head].sum()), 1.0, abs_tol=1e-5)
    assert prediction.present == {"audio": True, "video": True}
    assert prediction.weights == pytest.approx((0.3, 0.7))
    assert prediction.head_kinds == {h: "native" for h in HEADS}
    lp = {h: np.log(prediction.probs[h]) for h in HEADS}
    mixed = 0.3 * lp["audio"] + 0.7 * lp["video"]
    expected = np.exp(mixed - np.logaddexp.reduce(mixed))
    assert np.allclose(prediction.probs["fused"], expected, atol=1e-5)


# ----------------------------------------------------------------------------- the commands

def test_the_commands_run_a_zero_shot_folder(tmp_path, models_dir, capsys):
    """predict, evaluate (labels it lacks counted, not scored) and a two-corruption sweep on a zero-shot model."""
    from core.evaluate import main as evaluate
    from core.experiments import main as experiments
    from core.predict import main as predict
    from core.results import ResultsDB

    root = Path(__file__).resolve().parents[2]
    folder = _folder(tmp_path, models_dir)
    clip = root / "sample_data" / "test" / "fan_fault_2000001.mp4"
    assert predict([str(clip), "--model", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["format"] == "zero-shot" and out["classes"] == CLASSES
    assert all(out[h]["kind"] == "native" for h in ("audio", "video", "fused"))
    assert abs(sum(out["fused"]["probabilities"].values()) - 1) < 1e-3
    code = evaluate(["--model", str(folder), "--data", str(root / "sample_data"), "--json"])
    result = json.loads(capsys.readouterr().out)
    known = set(CLASSES)
    assert code == 0 and result["n"] == 3 * len(known) == 9
    assert sum(result["unknown_labels"].values()) == 21 - 9 and "pump_normal" in result["unknown_labels"]
    db = tmp_path / "r.db"
    sweep = ["--db", str(db), "run", "--model", str(folder), "--data", str(root / "sample_data"),
             "--corruptions", "mute,gaussian_blur", "--severities", "5", "--limit", "2", "--quiet"]
    assert experiments(sweep) == 0
    with ResultsDB(db, create=False) as results:
        exp = results.get_experiment(1)
    assert exp["checkpoints"][0]["format"] == "zero-shot" and {c["label"] for c in exp["clips"]} <= known
