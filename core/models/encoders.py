"""Video and audio encoders, one registry, keyword-only builders.

Every encoder is an :class:`Encoder`: it knows its ``modality``, its embedding
size ``out_dim``, the :mod:`preprocessing <core.models.preprocessing>` its input
needs, and returns ``(embedding (B, out_dim), tokens (B, L, out_dim))`` where
the tokens are the frame / audio-frame sequence that cross-attention attends
over. Pretrained weights come from a local path only; nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.models.interface import ModelError
from core.models.preprocessing import (
    IMAGENET_MEAN, IMAGENET_STD, KINETICS_MEAN, KINETICS_STD, LOG_MEL, AudioPreprocessing, VideoPreprocessing,
)


class Encoder(nn.Module):
    """Base for all encoders: ``forward(x) -> (embedding (B, D), tokens (B, L, D))``."""

    modality: str = ""
    out_dim: int = 0

    def __init__(self, preprocessing, build_kwargs: dict):
        super().__init__()
        self.preprocessing = preprocessing
        self.build_kwargs = dict(build_kwargs)

    def rebuild_kwargs(self) -> dict:
        """Keyword arguments that rebuild this architecture without any pretrained file."""
        return {k: v for k, v in self.build_kwargs.items() if k != "pretrained_path"}


@dataclass(frozen=True)
class EncoderEntry:
    name: str
    modality: str  # "video" or "audio"
    build: Callable[..., Encoder]
    preprocessing: Callable[..., VideoPreprocessing | AudioPreprocessing]


ENCODERS: dict[str, EncoderEntry] = {}


def _register(name: str, modality: str, preprocessing: Callable):
    def wrap(builder):
        ENCODERS[name] = EncoderEntry(name, modality, builder, preprocessing)
        return builder
    return wrap


def names(modality: str | None = None) -> list[str]:
    """Registered encoder names, optionally of one modality."""
    return [n for n, e in ENCODERS.items() if modality is None or e.modality == modality]


def _entry(name: str) -> EncoderEntry:
    if name not in ENCODERS:
        raise ValueError(f"There is no encoder called {name!r}; choose one of {sorted(ENCODERS)}.")
    return ENCODERS[name]


def build_encoder(name: str, **kwargs) -> Encoder:
    """Build a registered encoder by name with keyword arguments."""
    return _entry(name).build(**kwargs)


def encoder_preprocessing(name: str, **kwargs):
    """The preprocessing an encoder built with these arguments declares, without building it."""
    return _entry(name).preprocessing(**kwargs)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a local state-dict file (``.safetensors``, or a ``torch.save`` file read with ``weights_only``)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"The pretrained weights file {path} does not exist; give a local file path.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # any reader failure means the same thing to the user
        raise ModelError(f"The pretrained weights file {path} could not be read ({exc}).") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"The pretrained weights file {path} does not hold a state dict.")
    return state


def _load_backbone(net: nn.Module, path: str | Path, *, drop_prefixes: tuple[str, ...] = ("fc.",)) -> None:
    """Load a torchvision state dict into ``net`` whose classifier was removed."""
    state = {k: v for k, v in load_state_dict_file(path).items() if not k.startswith(drop_prefixes)}
    result = net.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ModelError(
            f"The pretrained weights in {path} do not fit this network: "
            f"{len(result.missing_keys)} missing (e.g. {result.missing_keys[:3]}), "
            f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:3]}).")


# ----------------------------------------------------------------------------- video

def _video_prep_kinetics(*, num_frames: int = 8, size: int = 112, **_) -> VideoPreprocessing:
    return VideoPreprocessing(num_frames=num_frames, size=size, mean=KINETICS_MEAN, std=KINETICS_STD)


def _video_prep_imagenet(*, num_frames: int = 8, size: int = 112, **_) -> VideoPreprocessing:
    return VideoPreprocessing(num_frames=num_frames, size=size, mean=IMAGENET_MEAN, std=IMAGENET_STD)


class R3D18Encoder(Encoder):
    """torchvision R3D-18 without its classifier: 512-d spatiotemporal embedding."""

    modality = "video"
    out_dim = 512

    def __init__(self, *, num_frames: int = 8, size: int = 112, pretrained_path: str | None = None):
        from torchvision.models.video import r3d_18

        super().__init__(_video_prep_kinetics(num_frames=num_frames, size=size),
                         dict(num_frames=num_frames, size=size, pretrained_path=pretrained_path))
        net = r3d_18(weights=None)
        net.fc = nn.Identity()
        if pretrained_path:
            _load_backbone(net, pretrained_path)
        self.net = net

    def forward(self, x: torch.Tensor):
        n = self.net
        x = n.layer4(n.layer3(n.layer2(n.layer1(n.stem(x)))))  # (B, 512, T', H', W')
        tokens = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T', 512)
        return tokens.mean(dim=1), tokens  # (B, 512), (B, T', 512)


class TSNResNet18Encoder(Encoder):
    """torchvision ResNet-18 per frame, temporal average pooling (TSN)."""

    modality = "video"
    out_dim = 512

    def __init__(self, *, num_frames: int = 8, size: int = 112, pretrained_path: str | None = None):
        from torchvision.models import resnet18

        super().__init__(_video_prep_imagenet(num_frames=num_frames, size=size),
                         dict(num_frames=num_frames, size=size, pretrained_path=pretrained_path))
        net = resnet18(weights=None)
        net.fc = nn.Identity()
        if pretrained_path:
            _load_backbone(net, pretrained_path)
        self.net = net

    def forward(self, x: torch.Tensor):
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, 3, H, W)
        tokens = self.net(frames).view(b, t, -1)  # (B, T, 512)
        return tokens.mean(dim=1), tokens  # (B, 512), (B, T, 512)


def _conv3d_block(cin: int, cout: int, kernel, stride) -> nn.Sequential:
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=False),
                         nn.BatchNorm3d(cout), nn.ReLU(inplace=True))


class _SpatioTemporalBlock(nn.Module):
    """(2+1)D: a 3x3 conv per frame, a 3-tap temporal conv, then max-pool (S/2, and T/t_pool).

    Both convs run as Conv2d (frames stacked in the batch; time x pixels as a
    2D grid): the same maths as 1x3x3 and 3x1x1 Conv3d, several times faster on CPU.
    """

    def __init__(self, cin: int, cout: int, t_pool: int):
        super().__init__()
        self.spatial = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                                     nn.ReLU(inplace=True))
        self.temporal = nn.Sequential(nn.Conv2d(cout, cout, (3, 1), padding=(1, 0), bias=False),
                                      nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.t_pool = t_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = _conv_bn_relu(self.spatial, x.transpose(1, 2).reshape(b * t, c, h, w))  # (B*T, C', H, W)
        y = _max_pool_half(y, dims=(2, 3))  # (B*T, C', H/2, W/2): pool first, convolve less
        c2, h2, w2 = y.shape[1:]
        y = y.view(b, t, c2, h2 * w2).transpose(1, 2)  # (B, C', T, H/2*W/2)
        y = _conv_bn_relu(self.temporal, y)  # (B, C', T, H/2*W/2)
        if self.t_pool > 1:
            y = _max_pool_half(y, dims=(2,))  # (B, C', T/2, H/2*W/2)
        return y.reshape(b, c2, -1, h2, w2)  # (B, C', T', H/2, W/2)


def _conv_bn_relu(block: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``block`` = Conv2d (no bias), BatchNorm2d, ReLU; in eval mode the norm is folded into the conv.

    Folding (scale the kernel by gamma / sigma, bias beta - mu * gamma / sigma) is the same
    affine map as conv then norm, one pass over the activations instead of two.
    """
    conv, norm = block[0], block[1]
    if norm.training:
        return block(x)
    scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)  # (C',)
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    bias = norm.bias - norm.running_mean * scale
    return F.relu(F.conv2d(x, weight, bias, padding=conv.padding), inplace=True)


def _max_pool_half(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """Max-pool by 2 along ``dims`` (odd sizes keep their last element): ``max_pool2d(.., ceil_mode=True)``.

    Without gradients it takes the maximum of strided slices, the same values 3-8x
    faster on CPU than ``max_pool2d`` (whose NCHW kernel dominated inference time);
    when training, ``max_pool2d``'s backward is the fast one.
    """
    if torch.is_grad_enabled():
        kernel = (2, 2) if dims == (2, 3) else (2, 1)
        return F.max_pool2d(x, kernel, ceil_mode=True)
    for d in dims:
        if x.shape[d] % 2:
            pad = [0, 0] * (x.dim() - 1 - d) + [0, 1]  # F.pad lists the last dimension first
            x = F.pad(x, pad, value=float("-inf"))
        before = (slice(None),) * d
        x = torch.maximum(x[before + (slice(0, None, 2),)], x[before + (slice(1, None, 2),)])
    return x


class Small3DEncoder(Encoder):
    """A small (2+1)D CNN trained from scratch, fast enough for a CPU.

    Each stage is a spatial 1x3x3 conv then a temporal 3x1x1 conv (the R(2+1)D
    factorisation) and a 2x2 max-pool; convolving before pooling keeps thin
    parts (a valve lever) visible. Each frame is first normalised per channel
    (instance norm), which removes the background colour and brightness
    flicker so that the network learns shapes, not colours.
    """

    modality = "video"

    def __init__(self, *, num_frames: int = 8, size: int = 112, widths: tuple[int, ...] = (16, 32, 64, 128),
                 input_norm: bool = True):
        super().__init__(_video_prep_kinetics(num_frames=num_frames, size=size),
                         dict(num_frames=num_frames, size=size, widths=list(widths), input_norm=input_norm))
        layers, cin = [], 3
        for i, cout in enumerate(widths):
            t_pool = 2 if i == len(widths) - 1 else 1  # keep T/2 tokens for cross-attention
            layers.append(_SpatioTemporalBlock(cin, cout, t_pool))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.input_norm = input_norm
        self.out_dim = cin

    def forward(self, x: torch.Tensor):
        if self.input_norm:
            b, c, t, h, w = x.shape
            x = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, 3, H, W)
            x = F.instance_norm(x).view(b, t, c, h, w).transpose(1, 2)  # (B, 3, T, H, W)
        x = self.features(x)  # (B, C, T', H', W')
        tokens = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T', C)
        return tokens.mean(dim=1), tokens  # (B, C), (B, T', C)


@_register("r3d_18", "video", _video_prep_kinetics)
def r3d_18(*, num_frames: int = 8, size: int = 112, pretrained_path: str | None = None) -> Encoder:
    """R3D-18 (Kinetics normalisation, 112x112), as in the industrial fan/valve work."""
    return R3D18Encoder(num_frames=num_frames, size=size, pretrained_path=pretrained_path)


@_register("resnet18_tsn", "video", _video_prep_imagenet)
def resnet18_tsn(*, num_frames: int = 8, size: int = 112, pretrained_path: str | None = None) -> Encoder:
    """ResNet-18 on uniformly sampled frames + temporal average pooling (ImageNet normalisation)."""
    return TSNResNet18Encoder(num_frames=num_frames, size=size, pretrained_path=pretrained_path)


@_register("small3d", "video", _video_prep_kinetics)
def small3d(*, num_frames: int = 8, size: int = 112, widths: tuple[int, ...] = (16, 32, 64, 128),
            input_norm: bool = True) -> Encoder:
    """A from-scratch (2+1)D CNN, a few hundred thousand parameters."""
    return Small3DEncoder(num_frames=num_frames, size=size, widths=widths, input_norm=input_norm)


# ----------------------------------------------------------------------------- audio

def _audio_prep_waveform(*, seconds: float = 5.0, **_) -> AudioPreprocessing:
    return AudioPreprocessing(sr=16_000, seconds=seconds)


def _audio_prep_mel(*, seconds: float = 5.0, mel_params: dict | None = None, **_) -> AudioPreprocessing:
    return AudioPreprocessing(sr=16_000, seconds=seconds, representation=LOG_MEL, params=dict(mel_params or {}))


def _audio_prep_image(*, representation: str = "mfcc", params: dict | None = None, seconds: float = 5.0,
                      **_) -> AudioPreprocessing:
    return AudioPreprocessing(sr=16_000, seconds=seconds, representation=representation, params=dict(params or {}))


# A small wav2vec2: same conv strides (20 ms frames) with narrow convs and 2 transformer layers.
WAV2VEC2_SMALL = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
                      conv_dim=(32,) * 7, num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=4)


class Wav2Vec2Encoder(Encoder):
    """transformers ``Wav2Vec2Model``: mean-pooled last hidden states, 20 ms tokens."""

    modality = "audio"

    def __init__(self, *, size: str = "small", config: dict | None = None, seconds: float = 5.0,
                 pretrained_path: str | None = None):
        from transformers import Wav2Vec2Config, Wav2Vec2Model

        if size not in ("small", "base"):
            raise ValueError(f"wav2vec2 size must be 'small' or 'base', not {size!r}.")
        if pretrained_path:
            try:
                model = Wav2Vec2Model.from_pretrained(str(pretrained_path), local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ModelError(f"No wav2vec2 model could be loaded from the local folder "
                                 f"{pretrained_path} ({exc}).") from exc
        else:
            overrides = {**(WAV2VEC2_SMALL if size == "small" else {}), **(config or {})}
            model = Wav2Vec2Model(Wav2Vec2Config(**overrides))
        super().__init__(_audio_prep_waveform(seconds=seconds),
                         dict(size=size, config=config, seconds=seconds, pretrained_path=pretrained_path))
        self.model = model
        self.out_dim = model.config.hidden_size

    def rebuild_kwargs(self) -> dict:
        # The architecture lives in the HF config; record it so no folder is needed to rebuild.
        diff = self.model.config.to_diff_dict()
        diff = {k: v for k, v in diff.items() if k not in ("transformers_version", "architectures",
                                                            "_name_or_path", "torch_dtype", "dtype")}
        return {"size": "base", "config": diff, "seconds": self.build_kwargs["seconds"]}

    def forward(self, x: torch.Tensor):
        # Zero-mean, unit-variance per clip, as Wav2Vec2FeatureExtractor(do_normalize=True) does.
        x = (x - x.mean(dim=1, keepdim=True)) / torch.sqrt(x.var(dim=1, keepdim=True) + 1e-7)  # (B, N)
        tokens = self.model(x).last_hidden_state  # (B, L, H)
        return tokens.mean(dim=1), tokens  # (B, H), (B, L, H)


def _conv1d_block(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm1d(cout), nn.ReLU(inplace=True))


class WaveformCNNEncoder(Encoder):
    """A 1D CNN over the raw 16 kHz waveform; strided convs down to 10 ms tokens."""

    modality = "audio"

    def __init__(self, *, seconds: float = 5.0, widths: tuple[int, ...] = (16, 32, 64, 96, 128)):
        super().__init__(_audio_prep_waveform(seconds=seconds), dict(seconds=seconds, widths=list(widths)))
        kernels, strides = (11, 5, 5, 5, 3), (5, 4, 4, 2, 1)  # total stride 160 (10 ms)
        layers, cin = [], 1
        for cout, k, s in zip(widths, kernels, strides):
            layers.append(_conv1d_block(cin, cout, k, s))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.out_dim = cin

    def forward(self, x: torch.Tensor):
        # Per-clip RMS normalisation keeps quiet and loud recordings in one range.
        x = x / (x.square().mean(dim=1, keepdim=True).sqrt() + 1e-4)  # (B, N)
        tokens = self.features(x.unsqueeze(1)).transpose(1, 2)  # (B, L, C)
        # Mean + max pooling: max keeps sparse events (clicks, thumps) that a mean dilutes.
        return tokens.mean(dim=1) + tokens.amax(dim=1), tokens  # (B, C), (B, L, C)


class SpectrogramCNNEncoder(Encoder):
    """A small 2D CNN over a (1, n_bins, n_frames) audio-image; time tokens keep the frequency layout."""

    modality = "audio"

    def __init__(self, preprocessing: AudioPreprocessing, build_kwargs: dict, *,
                 widths: tuple[int, ...] = (16, 32, 64, 96), freq_out: int = 4, out_dim: int = 128):
        super().__init__(preprocessing, build_kwargs)
        layers, cin = [nn.BatchNorm2d(1)], 1  # dB and feature scales vary: normalise the input
        for cout in widths:
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.freq_pool = nn.AdaptiveAvgPool2d((freq_out, None))
        self.to_token = nn.Linear(cin * freq_out, out_dim)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor):
        x = self.freq_pool(self.features(x))  # (B, C, freq_out, L)
        b, c, f, l = x.shape
        tokens = self.to_token(x.permute(0, 3, 1, 2).reshape(b, l, c * f))  # (B, L, out_dim)
        return tokens.mean(dim=1) + tokens.amax(dim=1), tokens  # (B, out_dim), (B, L, out_dim)


@_register("wav2vec2", "audio", _audio_prep_waveform)
def wav2vec2(*, size: str = "small", config: dict | None = None, seconds: float = 5.0,
             pretrained_path: str | None = None) -> Encoder:
    """Wav2Vec2 (``small`` for CPU, ``base`` as published); ``pretrained_path`` is a local HF folder."""
    return Wav2Vec2Encoder(size=size, config=config, seconds=seconds, pretrained_path=pretrained_path)


@_register("waveform_cnn", "audio", _audio_prep_waveform)
def waveform_cnn(*, seconds: float = 5.0, widths: tuple[int, ...] = (16, 32, 64, 96, 128)) -> Encoder:
    """1D CNN over the raw waveform, as in the modality-attention work."""
    return WaveformCNNEncoder(seconds=seconds, widths=widths)


@_register("mel_cnn", "audio", _audio_prep_mel)
def mel_cnn(*, seconds: float = 5.0, mel_params: dict | None = None,
            widths: tuple[int, ...] = (16, 32, 64, 96), out_dim: int = 128) -> Encoder:
    """2D CNN over the built-in 64-band log-mel spectrogram (absolute dB)."""
    prep = _audio_prep_mel(seconds=seconds, mel_params=mel_params)
    kwargs = dict(seconds=seconds, mel_params=dict(mel_params or {}), widths=list(widths), out_dim=out_dim)
    return SpectrogramCNNEncoder(prep, kwargs, widths=tuple(widths), out_dim=out_dim)


@_register("audio_image_cnn", "audio", _audio_prep_image)
def audio_image_cnn(*, representation: str = "mfcc", params: dict | None = None, seconds: float = 5.0,
                    widths: tuple[int, ...] = (16, 32, 64, 96), out_dim: int = 128) -> Encoder:
    """2D CNN over any registered audio-image representation, as in MAiVAR."""
    _check_representation(representation)
    prep = _audio_prep_image(representation=representation, params=params, seconds=seconds)
    kwargs = dict(representation=representation, params=dict(params or {}), seconds=seconds,
                  widths=list(widths), out_dim=out_dim)
    return SpectrogramCNNEncoder(prep, kwargs, widths=tuple(widths), out_dim=out_dim)


def _check_representation(name: str) -> None:
    if name == LOG_MEL:
        return
    try:
        from core import representations
    except ImportError:  # only the built-in log_mel works without core.representations
        raise ValueError(f"The audio representation {name!r} needs core.representations, which is missing.")
    known = representations.names()
    if name not in known:
        raise ValueError(f"There is no audio representation called {name!r}; choose one of {sorted(known)}.")


__all__ = ["Encoder", "EncoderEntry", "ENCODERS", "names", "build_encoder", "encoder_preprocessing",
           "load_state_dict_file", "WAV2VEC2_SMALL", "r3d_18", "resnet18_tsn", "small3d", "wav2vec2",
           "waveform_cnn", "mel_cnn", "audio_image_cnn"]
