"""A model defined outside avlab: r3d_18 on the frames, a small CNN on a log-mel spectrogram, late fusion.

Nothing here imports avlab: this is the kind of file you already have. It only has to
follow one calling convention, which is what avlab's sidecar describes::

    audio_logits, video_logits, fused_logits = model(video, audio)

- ``video``: float32 (B, 3, T, H, W), RGB in [0, 1] then normalised with the mean and std
  the sidecar states (``T`` frames sampled uniformly over the 5 s window, ``H = W = size``);
- ``audio``: float32 (B, samples), the raw mono waveform at 16 kHz (5 s = 80 000 samples):
  the spectrogram is computed inside the model, so every export carries it;
- each output: (B, K) logits in the sidecar's class order.

``video_width=64`` is torchvision's ``r3d_18`` exactly (33 M parameters, built with
``weights=None``: no download); a smaller width keeps r3d_18's layout (the same
torchvision blocks, 2-2-2-2, strides, stem) with channels ``w, 2w, 4w, 8w``, which
is what the tests (width 4) and a CPU-only training run (width 16) use.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.video import r3d_18
from torchvision.models.video.resnet import BasicBlock, Conv3DSimple

SAMPLE_RATE = 16_000


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    """Triangular HTK mel filters, (n_mels, n_fft // 2 + 1), as torchaudio's ``melscale_fbanks``."""
    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # (F,)
    mels = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)  # (n_mels + 2,) filter edges
    left, centre, right = hz[:-2, None], hz[1:-1, None], hz[2:, None]  # (n_mels, 1) each
    up = (freqs[None] - left) / (centre - left)
    down = (right - freqs[None]) / (right - centre)
    return torch.clamp(torch.minimum(up, down), min=0.0).float()  # (n_mels, F)


class LogMel(nn.Module):
    """Waveform (B, N) -> log-mel power spectrogram (B, 1, n_mels, frames) with torch.stft."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, n_fft: int = 512, hop_length: int = 160,
                 n_mels: int = 64, f_min: float = 20.0, f_max: float | None = None):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        # Not learned, not saved in the state dict: rebuilt from the arguments.
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("mel", mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max or sample_rate / 2),
                             persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave, self.n_fft, hop_length=self.hop_length, window=self.window,
                          center=True, pad_mode="constant", return_complex=True)  # (B, F, frames) complex
        power = torch.view_as_real(spec).square().sum(-1)  # (B, F, frames)
        mel = torch.matmul(self.mel, power)  # (B, n_mels, frames)
        return torch.log(mel + 1e-6).unsqueeze(1)  # (B, 1, n_mels, frames)


class AudioCNN(nn.Module):
    """Log-mel image -> logits: BatchNorm on the input, four conv-BN-ReLU-maxpool blocks, average pool."""

    def __init__(self, num_classes: int, width: int = 32, n_mels: int = 64, sample_rate: int = SAMPLE_RATE):
        super().__init__()
        self.features = LogMel(sample_rate=sample_rate, n_mels=n_mels)
        self.input_norm = nn.BatchNorm2d(1)
        blocks, c_in = [], 1
        for c_out in (width, 2 * width, 4 * width, 8 * width):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.body(self.input_norm(self.features(wave)))  # (B, 8w, n_mels / 16, frames / 16)
        return self.fc(x.mean(dim=(2, 3)))  # (B, K)


def video_branch(num_classes: int, width: int = 64) -> nn.Module:
    """torchvision's r3d_18 (weights=None) with a K-way head; ``width < 64`` narrows every layer."""
    net = r3d_18(weights=None, num_classes=num_classes)
    if width == 64:
        return net
    # The same network, narrower: rebuild the stem and the four layers with torchvision's own blocks.
    net.inplanes = width
    net.stem = nn.Sequential(
        nn.Conv3d(3, width, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
        nn.BatchNorm3d(width), nn.ReLU(inplace=True))
    for i, stride in enumerate((1, 2, 2, 2)):
        setattr(net, f"layer{i + 1}", net._make_layer(BasicBlock, Conv3DSimple, width * 2 ** i, 2, stride=stride))
    net.fc = nn.Linear(8 * width, num_classes)
    for m in net.modules():  # torchvision's initialisation
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    nn.init.normal_(net.fc.weight, 0, 0.01)
    nn.init.zeros_(net.fc.bias)
    return net


class LateFusionAV(nn.Module):
    """Two unimodal classifiers and their late fusion: the mean of the heads' log-probabilities.

    ``forward(video, audio) -> (audio_logits, video_logits, fused_logits)``, each (B, K).
    The fused logits are log-probabilities up to a constant (softmax of them is the
    normalised geometric mean of the two heads' probabilities).
    """

    def __init__(self, num_classes: int = 7, *, video_width: int = 64, audio_width: int = 32, n_mels: int = 64,
                 sample_rate: int = SAMPLE_RATE, centre_video: bool = True):
        super().__init__()
        self.config = {"num_classes": num_classes, "video_width": video_width, "audio_width": audio_width,
                       "n_mels": n_mels, "sample_rate": sample_rate, "centre_video": centre_video}
        # Subtract each clip's own mean colour (per channel, over frames and pixels) before the video branch.
        # On factory-av the background colour is random and fills most of the frame: without this the video
        # branch, trained from scratch for a few minutes, stayed at chance (see README.md).
        self.centre_video = centre_video
        self.video_net = video_branch(num_classes, video_width)
        self.audio_net = AudioCNN(num_classes, audio_width, n_mels, sample_rate)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        audio_logits = self.audio_net(audio)  # (B, K)
        if self.centre_video:
            video = video - video.mean(dim=(2, 3, 4), keepdim=True)  # (B, 3, T, H, W), each clip's mean colour 0
        video_logits = self.video_net(video)  # (B, K)
        fused_logits = 0.5 * (F.log_softmax(audio_logits, dim=1) + F.log_softmax(video_logits, dim=1))
        return audio_logits, video_logits, fused_logits


def build_model(**config) -> LateFusionAV:
    """``LateFusionAV(**config)``; ``config`` is what ``model.config`` holds (saved with the weights)."""
    return LateFusionAV(**config)


# The sizes used in this example.
TINY = {"video_width": 4, "audio_width": 4, "n_mels": 16}  # the tests: 0.14 M parameters
SMALL = {"video_width": 16, "audio_width": 16, "n_mels": 64}  # train.py's default on a CPU: 2.2 M
FULL = {"video_width": 64, "audio_width": 32, "n_mels": 64}  # r3d_18 as torchvision ships it: 33.6 M
