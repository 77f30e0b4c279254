"""Encoders, fusions, the AV model and preprocessing on tiny inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.media import Clip
from core.models import (
    ENCODERS, FUSIONS, AudioPreprocessing, AVModel, CheckpointError, ModelConfig, VideoPreprocessing,
    audio_input, batch_inputs, build_encoder, encoder_preprocessing, init_from_video_head, video_input,
)
from core.models.encoders import names as encoder_names
from core.models.preprocessing import sample_indices

torch.set_num_threads(1)

B, K, T, S, SR, SECONDS = 2, 5, 4, 32, 16_000, 0.5
TINY_W2V = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                conv_dim=(8,) * 7, num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2)
# Tiny settings per encoder: 4 frames of 32x32, 0.5 s of audio.
TINY = {
    "r3d_18": dict(num_frames=T, size=S),
    "resnet18_tsn": dict(num_frames=T, size=S),
    "small3d": dict(num_frames=T, size=S, widths=(4, 8, 8, 8)),
    "wav2vec2": dict(config=TINY_W2V, seconds=SECONDS),
    "waveform_cnn": dict(seconds=SECONDS, widths=(4, 8, 8, 8, 8)),
    "mel_cnn": dict(seconds=SECONDS, widths=(4, 8, 8, 8), out_dim=16),
    "audio_image_cnn": dict(representation="mel", seconds=SECONDS, widths=(4, 8, 8, 8), out_dim=16),
}
FAST = dict(video_encoder="small3d", video_kwargs=TINY["small3d"], audio_encoder="mel_cnn",
            audio_kwargs=TINY["mel_cnn"], num_classes=K, embed_dim=16, hidden=8, dropout=0.1)
MASKS = {"both": (1, 1), "audio_only": (1, 0), "video_only": (0, 1), "none": (0, 0), "mixed": None}


pytestmark = pytest.mark.usefixtures("no_network")  # pretrained weights come from local paths only


def _input_for(encoder, batch=B) -> torch.Tensor:
    if encoder.modality == "video":
        return torch.randn(batch, *encoder.preprocessing.input_shape())
    spec = encoder.preprocessing
    y = np.random.default_rng(0).standard_normal(spec.num_samples).astype(np.float32) * 0.1
    return torch.stack([audio_input(y, SR, spec)] * batch)


def _model(fusion: str, seed: int = 0, **overrides) -> AVModel:
    torch.manual_seed(seed)
    return AVModel(ModelConfig(**{**FAST, "fusion": fusion, **overrides})).eval()


def _inputs(model: AVModel, batch=B):
    torch.manual_seed(1)
    return _input_for(model.video_encoder, batch), _input_for(model.audio_encoder, batch)


def _masks(name: str):
    if MASKS[name] is None:  # one clip with audio only, one with video only
        return torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    a, v = MASKS[name]
    return torch.full((B,), float(a)), torch.full((B,), float(v))


# ----------------------------------------------------------------------------- encoders

def test_registry_has_the_promised_encoders():
    assert set(encoder_names("video")) == {"r3d_18", "resnet18_tsn", "small3d"}
    assert set(encoder_names("audio")) == {"wav2vec2", "waveform_cnn", "audio_image_cnn", "mel_cnn"}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_encoder_gives_declared_shapes(name):
    enc = build_encoder(name, **TINY[name]).eval()
    assert enc.modality == ENCODERS[name].modality
    assert enc.preprocessing == encoder_preprocessing(name, **TINY[name])
    with torch.no_grad():
        emb, tokens = enc(_input_for(enc))
    assert emb.shape == (B, enc.out_dim)
    assert tokens.ndim == 3 and tokens.shape[0] == B and tokens.shape[2] == enc.out_dim
    assert torch.isfinite(emb).all() and torch.isfinite(tokens).all()


@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (2, 5, 7, 9), (3, 2, 5, 4)])
def test_small3d_inference_pooling_equals_max_pool(shape):
    import torch.nn.functional as F

    from core.models.encoders import _max_pool_half

    x = torch.randn(*shape)
    with torch.no_grad():  # the strided-slices path
        assert torch.equal(_max_pool_half(x, dims=(2, 3)), F.max_pool2d(x, 2, ceil_mode=True))
        assert torch.equal(_max_pool_half(x, dims=(2,)), F.max_pool2d(x, (2, 1), ceil_mode=True))


def test_small3d_folds_batch_norm_in_eval_mode_to_the_same_output():
    from core.models.encoders import _conv_bn_relu

    block = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8),
                                torch.nn.ReLU())
    block.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics far from the initial ones
            block(torch.randn(6, 3, 10, 10) * 3 + 1)
        torch.nn.init.normal_(block[1].weight)
        torch.nn.init.normal_(block[1].bias)
    block.eval()
    x = torch.randn(5, 3, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(_conv_bn_relu(block, x), block(x), rtol=1e-5, atol=1e-5)
    block.train()
    assert torch.equal(_conv_bn_relu(block, x), block(x))  # training uses the modules as they are


def test_cpu_fast_encoders_are_small():
    for name in ("small3d", "mel_cnn", "waveform_cnn", "audio_image_cnn"):
        kwargs = {"representation": "mfcc"} if name == "audio_image_cnn" else {}
        enc = build_encoder(name, **kwargs)
        assert sum(p.numel() for p in enc.parameters()) < 1_000_000, name


def test_unknown_encoder_and_wrong_modality_are_plain_errors():
    with pytest.raises(ValueError, match="no encoder called 'nope'"):
        build_encoder("nope")
    with pytest.raises(ValueError, match="not a video one"):
        ModelConfig(video_encoder="mel_cnn")
    with pytest.raises(ValueError, match="no fusion called"):
        ModelConfig(fusion="average")


@pytest.mark.parametrize(("name", "suffix"), [("r3d_18", ".pt"), ("resnet18_tsn", ".safetensors")])
def test_torchvision_backbone_loads_local_state_dict(tmp_path, name, suffix):
    import torchvision
    from safetensors.torch import save_file

    torch.manual_seed(3)
    ref = (torchvision.models.video.r3d_18 if name == "r3d_18" else torchvision.models.resnet18)(weights=None)
    path = tmp_path / f"weights{suffix}"  # the full torchvision state dict, classifier included
    if suffix == ".pt":
        torch.save(ref.state_dict(), path)
    else:
        save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    enc = build_encoder(name, pretrained_path=str(path), **TINY[name]).eval()
    ref.fc = torch.nn.Identity()
    ref.eval()
    x = _input_for(enc)
    with torch.no_grad():
        emb, _ = enc(x)
        if name == "r3d_18":
            expected = ref(x)
        else:  # per frame, then the temporal average
            expected = ref(x.transpose(1, 2).flatten(0, 1)).view(B, T, -1).mean(1)
    torch.testing.assert_close(emb, expected)
    assert "pretrained_path" not in enc.rebuild_kwargs()


def test_pretrained_file_that_does_not_fit_is_a_checkpoint_error(tmp_path):
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        build_encoder("resnet18_tsn", pretrained_path=str(tmp_path / "bad.pt"))
    with pytest.raises(CheckpointError, match="does not exist"):
        build_encoder("r3d_18", pretrained_path=str(tmp_path / "absent.pt"))


def test_wav2vec2_loads_from_a_local_folder(tmp_path):
    torch.manual_seed(4)
    enc = build_encoder("wav2vec2", **TINY["wav2vec2"]).eval()
    enc.model.save_pretrained(tmp_path / "w2v")
    loaded = build_encoder("wav2vec2", pretrained_path=str(tmp_path / "w2v"), seconds=SECONDS).eval()
    x = _input_for(enc)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)[0], enc(x)[0], rtol=0, atol=0)
    # The rebuilt architecture needs no folder.
    rebuilt = build_encoder("wav2vec2", **loaded.rebuild_kwargs())
    assert rebuilt.out_dim == 16 and rebuilt.model.config.num_hidden_layers == 1
    with pytest.raises(CheckpointError, match="local folder"):
        build_encoder("wav2vec2", pretrained_path=str(tmp_path / "absent"))


def test_paper_configuration_trains_on_a_tiny_batch():
    torch.manual_seed(0)
    model = AVModel(ModelConfig(video_encoder="r3d_18", video_kwargs=TINY["r3d_18"], audio_encoder="wav2vec2",
                                audio_kwargs=TINY["wav2vec2"], fusion="cross_attention", num_classes=K)).train()
    video, audio = _inputs(model)
    out = model(video, audio)
    loss = sum(torch.nn.functional.cross_entropy(lg, torch.tensor([0, 1]))
               for lg in (out.audio_logits, out.video_logits, out.fused_logits))
    loss.backward()
    for part in (model.video_encoder, model.audio_encoder, model.fusion):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in (p.grad for p in model.video_encoder.parameters()) if g is not None)


# ----------------------------------------------------------------------------- fusion

@pytest.mark.parametrize("fusion", sorted(FUSIONS))
@pytest.mark.parametrize("mask", sorted(MASKS))
def test_every_fusion_answers_under_every_mask(fusion, mask):
    model = _model(fusion)
    video, audio = _inputs(model)
    am, vm = _masks(mask)
    with torch.no_grad():
        out = model(video, audio, video_mask=vm, audio_mask=am)
    for logits in (out.audio_logits, out.video_logits, out.fused_logits):
        assert logits.shape == (B, K) and torch.isfinite(logits).all()
    assert out.audio_embedding.shape == out.video_embedding.shape == (B, 16)
    assert out.fused_embedding.shape[0] == B
    if out.weights is not None:
        assert out.weights.shape == (B, 2)
        torch.testing.assert_close(out.weights.sum(1), torch.ones(B))
    # Missing modality: zero embedding, uniform (zero) logits; neither: uniform fused answer.
    assert torch.all(out.audio_logits[am == 0] == 0) and torch.all(out.video_logits[vm == 0] == 0)
    assert torch.all(out.audio_embedding[am == 0] == 0)
    neither = (am == 0) & (vm == 0)
    assert torch.all(out.fused_logits[neither] == 0)
    if not neither.all():
        assert out.fused_logits[~neither].abs().sum() > 0


@pytest.mark.parametrize("fusion", sorted(FUSIONS))
def test_missing_modality_input_does_not_matter(fusion):
    model = _model(fusion)
    video, audio = _inputs(model)
    am, vm = torch.tensor([0.0, 0.0]), torch.ones(B)
    with torch.no_grad():
        one = model(video, audio, video_mask=vm, audio_mask=am).fused_logits
        two = model(video, audio * 0 + 3.0, video_mask=vm, audio_mask=am).fused_logits
    torch.testing.assert_close(one, two)


def test_modality_attention_puts_weight_on_the_present_modality():
    model = _model("modality_attention")
    video, audio = _inputs(model)
    with torch.no_grad():
        w_audio_only = model(video, audio, video_mask=torch.zeros(B), audio_mask=torch.ones(B)).weights
        w_video_only = model(video, audio, video_mask=torch.ones(B), audio_mask=torch.zeros(B)).weights
        w_both = model(video, audio).weights
    torch.testing.assert_close(w_audio_only, torch.tensor([[1.0, 0.0]] * B))
    torch.testing.assert_close(w_video_only, torch.tensor([[0.0, 1.0]] * B))
    assert torch.all((w_both > 0) & (w_both < 1))


def test_late_fusion_is_the_present_head_when_one_is_missing():
    model = _model("late")
    video, audio = _inputs(model)
    with torch.no_grad():
        v_only = model(video, audio, video_mask=torch.ones(B), audio_mask=torch.zeros(B))
        both = model(video, audio)
    torch.testing.assert_close(v_only.fused_logits.softmax(1), v_only.video_logits.softmax(1))
    expected = (both.audio_logits.softmax(1) + both.video_logits.softmax(1)) / 2
    torch.testing.assert_close(both.fused_logits.softmax(1), expected)


def test_concat_dominant_head_reproduces_the_video_head():
    model = _model("concat")
    with torch.no_grad():  # a "trained" video head that differs from the fused head
        for p in model.video_head.parameters():
            p.normal_()
    model.fusion.init_from_heads(model)
    video, audio = _inputs(model)
    with torch.no_grad():
        masked = model(video, audio, video_mask=torch.ones(B), audio_mask=torch.zeros(B))
        present = model(video, audio)
    torch.testing.assert_close(masked.fused_logits, masked.video_logits)
    torch.testing.assert_close(present.fused_logits, present.video_logits)  # audio half starts at zero
    with pytest.raises(ValueError, match="concat"):
        init_from_video_head(_model("late"))


@pytest.mark.parametrize("fusion", sorted(FUSIONS))
def test_encode_then_fuse_equals_forward(fusion):
    model = _model(fusion)
    video, audio = _inputs(model)
    am, vm = _masks("mixed")
    with torch.no_grad():
        whole = model(video, audio, video_mask=vm, audio_mask=am)
        a, at, v, vt = model.encode(video, audio)
        split = model.fuse(a, at, v, vt, audio_mask=am, video_mask=vm)
        model.fusion.init_from_heads(model)  # every fusion has the hook
    torch.testing.assert_close(whole.fused_logits, split.fused_logits)


def test_two_phase_parameters_and_freezing():
    model = _model("cross_attention")
    one = {id(p) for p in model.phase_one_parameters()}
    two = {id(p) for p in model.phase_two_parameters()}
    assert not one & two and one | two == {id(p) for p in model.parameters()}
    model.freeze_encoders()
    model.train()
    assert not model.video_encoder.training and not model.audio_encoder.training
    assert model.fusion.training
    assert not any(p.requires_grad for p in model.video_encoder.parameters())
    assert all(p.requires_grad for p in model.phase_two_parameters())


# ----------------------------------------------------------------------------- preprocessing

def test_video_input_samples_resizes_and_normalises():
    assert list(sample_indices(80, 8)) == [5, 15, 25, 35, 45, 55, 65, 75]
    assert list(sample_indices(3, 4)) == [0, 1, 1, 2]
    frames = np.zeros((80, 40, 40, 3), dtype=np.uint8)
    frames[:] = np.arange(80, dtype=np.uint8)[:, None, None, None]  # frame index as its grey level
    spec = VideoPreprocessing(num_frames=8, size=S, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    x = video_input(frames, 16.0, spec)
    assert x.shape == (3, 8, S, S) and x.dtype == torch.float32
    torch.testing.assert_close(x[0, :, 0, 0], torch.tensor([5, 15, 25, 35, 45, 55, 65, 75]) / 255.0)
    kin = video_input(np.full((4, 40, 40, 3), 255, np.uint8), 16.0, VideoPreprocessing(num_frames=2, size=S))
    kinetics = VideoPreprocessing()
    torch.testing.assert_close(kin[:, 0, 0, 0], (1 - torch.tensor(kinetics.mean)) / torch.tensor(kinetics.std))
    empty = video_input(np.zeros((0, 0, 0, 3), np.uint8), 0.0, spec)
    assert empty.shape == (3, 8, S, S) and not empty.any()


def test_audio_input_pads_cuts_and_represents():
    spec = AudioPreprocessing(seconds=SECONDS)
    y = np.ones(SR, np.float32)
    assert audio_input(y, SR, spec).shape == (8000,)
    padded = audio_input(np.ones(100, np.float32), SR, spec)
    assert padded.shape == (8000,) and padded[:100].eq(1).all() and padded[100:].eq(0).all()
    assert not audio_input(np.zeros(0, np.float32), SR, spec).any()
    mel = AudioPreprocessing(seconds=SECONDS, representation="log_mel")
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / SR).astype(np.float32)
    x = audio_input(tone, SR, mel)
    assert x.shape == (1, 64, 26)
    # A 440 Hz tone puts its energy in the mel band around 440 Hz.
    import librosa

    band = int(np.argmin(np.abs(librosa.mel_frequencies(n_mels=66, fmin=20.0, fmax=8000.0)[1:-1] - 440)))
    assert abs(int(x[0, :, 10].argmax()) - band) <= 1
    assert not audio_input(np.zeros(0, np.float32), SR, mel).any()
    resampled = audio_input(np.ones(4000, np.float32), 8000, spec)
    assert resampled.shape == (8000,)


def _representation_names() -> list[str]:
    try:
        from core import representations
    except ImportError:
        return []
    return representations.names()


@pytest.mark.parametrize("name", _representation_names())
def test_every_registered_representation_feeds_the_audio_image_cnn(name):
    enc = build_encoder("audio_image_cnn", representation=name, seconds=SECONDS, widths=(4, 8, 8, 8), out_dim=16)
    emb, tokens = enc.eval()(_input_for(enc))
    assert emb.shape == (B, 16) and tokens.shape[2] == 16 and torch.isfinite(emb).all()


def test_unknown_representation_is_a_plain_error():
    with pytest.raises(ValueError, match="no audio representation called 'nope'"):
        build_encoder("audio_image_cnn", representation="nope")


def test_batch_inputs_masks_missing_and_silent_modalities():
    rng = np.random.default_rng(0)
    frames = rng.integers(1, 255, (20, 40, 40, 3), dtype=np.uint8)
    audio = (rng.standard_normal(SR) * 0.1).astype(np.float32)
    clips = [
        Clip(frames=frames, fps=16.0, audio=audio),  # both
        Clip(frames=frames, fps=16.0, audio=np.zeros(SR, np.float32)),  # mute
        Clip(frames=np.zeros_like(frames), fps=16.0, audio=audio),  # video_off
        Clip(frames=np.zeros((0, 0, 0, 3), np.uint8), fps=0.0, audio=audio),  # audio-only file
        Clip(frames=frames, fps=16.0, audio=np.zeros(0, np.float32)),  # video-only file
    ]
    config = ModelConfig(**FAST)
    video, audio_t, vmask, amask = batch_inputs(clips, config)
    assert video.shape == (5, 3, T, S, S) and audio_t.shape == (5, 1, 64, 26)
    assert vmask.tolist() == [1, 1, 0, 0, 1] and amask.tolist() == [1, 0, 1, 1, 0]
    assert not video[2].any() and not audio_t[1].any()
    _, _, vmask, amask = batch_inputs(clips, _model("late"), detect_missing=False)
    assert vmask.tolist() == [1, 1, 1, 0, 1] and amask.tolist() == [1, 1, 1, 1, 0]
    out = _model("modality_attention")(*batch_inputs(clips, config)[:2], video_mask=vmask, audio_mask=amask)
    assert torch.isfinite(out.fused_logits).all()
