"""Turn decoded clips into model inputs, as each encoder declares it.

Every encoder carries a :class:`VideoPreprocessing` or :class:`AudioPreprocessing`
(the way torchvision's weights enums carry their transforms), so a checkpoint
can rebuild exactly the inputs its model was trained on.

A modality is *present* in a clip when the clip has it and it is not all
zeros: a ``mute`` microphone (exact zeros) and a ``video_off`` camera (black
frames) count as missing, and the model is told so through a mask.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The built-in representation: log-mel in absolute dB (level matters: a muted or
# ambience-only microphone is quiet), unlike core.representations' per-clip
# standardised "mel". 64 ms window (16 Hz bins, enough for 40 Hz thumps), 20 ms hop.
LOG_MEL = "log_mel"
MEL_DEFAULTS = {"n_mels": 64, "n_fft": 1024, "hop_length": 320, "fmin": 20.0, "fmax": None}


@dataclass(frozen=True)
class VideoPreprocessing:
    """How frames become a video tensor: TSN-style sampling, resize, normalise."""

    num_frames: int = 8
    size: int = 112
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD

    def to_dict(self) -> dict:
        return {"num_frames": self.num_frames, "size": self.size,
                "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: Mapping) -> "VideoPreprocessing":
        return cls(num_frames=int(d["num_frames"]), size=int(d["size"]),
                   mean=tuple(float(v) for v in d["mean"]), std=tuple(float(v) for v in d["std"]))

    def input_shape(self) -> tuple[int, int, int, int]:
        """(C, T, H, W) of one clip's tensor."""
        return (3, self.num_frames, self.size, self.size)


@dataclass(frozen=True)
class AudioPreprocessing:
    """How a waveform becomes an audio tensor.

    ``representation`` is None for the raw waveform ``(N,)``, ``"log_mel"`` for
    the built-in log-mel spectrogram (absolute dB, torch, fast), or any name
    registered in :mod:`core.representations` (standardised per clip by its
    ``to_tensor_input``); ``params`` are passed to it.
    """

    sr: int = 16_000
    seconds: float = 5.0
    representation: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # params is a dict; hash its items so specs can key caches
        return hash((self.sr, self.seconds, self.representation,
                     tuple(sorted((k, repr(v)) for k, v in self.params.items()))))

    @property
    def num_samples(self) -> int:
        return int(round(self.seconds * self.sr))

    def to_dict(self) -> dict:
        return {"sr": self.sr, "seconds": self.seconds,
                "representation": self.representation, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: Mapping) -> "AudioPreprocessing":
        return cls(sr=int(d["sr"]), seconds=float(d["seconds"]),
                   representation=d.get("representation"), params=dict(d.get("params") or {}))


def video_present(frames: np.ndarray) -> bool:
    """True when there are frames and they are not all black."""
    return frames.shape[0] > 0 and bool(frames.any())


def audio_present(y: np.ndarray) -> bool:
    """True when there are samples and they are not all zeros."""
    return y.shape[0] > 0 and bool(np.any(y))


def sample_indices(num_available: int, num_frames: int) -> np.ndarray:
    """TSN-style uniform sampling: the centre frame of each of ``num_frames`` equal segments."""
    centres = (np.arange(num_frames) + 0.5) * num_available / num_frames
    return np.clip(np.floor(centres).astype(np.int64), 0, num_available - 1)


def video_input(frames: np.ndarray, fps: float, spec: VideoPreprocessing) -> torch.Tensor:
    """Frames to a normalised video tensor; no frames give zeros.

    Parameters
    ----------
    frames : np.ndarray, uint8, shape (T, H, W, 3)
    fps : float
        Unused by uniform sampling; kept so time-based sampling can replace it.
    spec : VideoPreprocessing

    Returns
    -------
    torch.Tensor, float32, shape (3, num_frames, size, size)
    """
    if frames.shape[0] == 0:
        return torch.zeros(spec.input_shape())
    # Sample before resizing: 8 of 80 frames is a tenth of the work.
    picked = frames[sample_indices(frames.shape[0], spec.num_frames)]  # (T, H, W, 3) uint8
    x = torch.from_numpy(np.ascontiguousarray(picked)).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    x = x.div_(255.0)
    if x.shape[-2:] != (spec.size, spec.size):
        x = F.interpolate(x, size=(spec.size, spec.size), mode="bilinear",
                          align_corners=False, antialias=True)  # (T, 3, S, S)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    x = (x - mean) / std  # (T, 3, S, S)
    return x.permute(1, 0, 2, 3).contiguous()  # (3, T, S, S)


@functools.lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> torch.Tensor:
    from core.representations import mel_filterbank

    return torch.from_numpy(mel_filterbank(sr, n_fft, n_mels, fmin, fmax).copy())  # (n_mels, 1 + n_fft // 2)


def log_mel(y: np.ndarray, sr: int, **params) -> torch.Tensor:
    """Log-mel power spectrogram in dB (floor -100 dB), computed with torch for speed.

    Returns
    -------
    torch.Tensor, float32, shape (n_mels, 1 + len(y) // hop_length)
    """
    p = {**MEL_DEFAULTS, **params}
    unknown = set(p) - set(MEL_DEFAULTS)
    if unknown:
        raise ValueError(f"The log_mel representation has no parameter(s) {sorted(unknown)}; "
                         f"use {sorted(MEL_DEFAULTS)}.")
    n_fft, hop = int(p["n_fft"]), int(p["hop_length"])
    wav = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))  # (N,)
    spec = torch.stft(wav, n_fft=n_fft, hop_length=hop, window=torch.hann_window(n_fft),
                      center=True, pad_mode="constant", return_complex=True)  # (1 + n_fft/2, frames)
    power = spec.real.square() + spec.imag.square()
    mel = _mel_basis(sr, n_fft, int(p["n_mels"]), float(p["fmin"]), p["fmax"]) @ power  # (n_mels, frames)
    return 10.0 * torch.log10(mel.clamp_min(1e-10))


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if y.shape[0] >= n:
        return y[:n]
    return np.pad(y, (0, n - y.shape[0]))


def audio_input(y: np.ndarray, sr: int, spec: AudioPreprocessing) -> torch.Tensor:
    """A waveform to the encoder's audio tensor; no audio gives zeros.

    Parameters
    ----------
    y : np.ndarray, float32, shape (N,)
    sr : int
        Must equal ``spec.sr`` (clips are decoded at 16 kHz), else it is resampled.
    spec : AudioPreprocessing

    Returns
    -------
    torch.Tensor, float32: shape (seconds * sr,) for the waveform, or
    (1, n_bins, n_frames) for a representation.
    """
    empty = y.shape[0] == 0
    y = np.asarray(y, dtype=np.float32)
    if not empty and sr != spec.sr:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=spec.sr).astype(np.float32)
    y = _fit_length(y, spec.num_samples)  # (seconds * sr,)
    if spec.representation is None:
        return torch.from_numpy(np.ascontiguousarray(y))
    if spec.representation == LOG_MEL:
        x = log_mel(y, spec.sr, **spec.params)  # (n_mels, frames)
    else:
        from core import representations

        x = torch.as_tensor(representations.to_tensor_input(
            spec.representation, y, spec.sr, **spec.params), dtype=torch.float32)  # (n_bins, frames)
    x = x.unsqueeze(0)  # (1, n_bins, frames)
    return torch.zeros_like(x) if empty else x


def modality_inputs(clips: Sequence, modality: str, spec, *, frames: Sequence | None = None,
                    presence: Sequence | None = None, detect_missing: bool = True):
    """One modality of a batch of clips as a model input tensor and the mask of the clips that have it.

    Parameters
    ----------
    clips : sequence of core.media.Clip (one window each)
    modality : "audio" or "video"
    spec : VideoPreprocessing or AudioPreprocessing of that modality
    frames : optional, per clip, the frames to feed instead of ``clip.frames`` (a sweep feeds the sampled ones)
    presence : optional, the clips whose content decides the mask (default ``clips``)
    detect_missing : bool
        When True (the default) all-zero audio and all-black video count as missing; when False only
        absent streams do.

    Returns
    -------
    x : torch.Tensor, float32: video (B, 3, T, S, S) normalised, audio (B, N) or (B, 1, n_bins, n_frames);
        zeros where the mask is 0
    mask : torch.Tensor, float32, shape (B,)  1 present, 0 missing
    """
    presence = presence or clips
    if modality == "video":
        mask = [(video_present(c.frames) if detect_missing else c.frames.shape[0] > 0) for c in presence]
        xs = [video_input(c.frames if frames is None else frames[i], c.fps, spec) if m
              else torch.zeros(spec.input_shape()) for i, (c, m) in enumerate(zip(clips, mask))]
    elif modality == "audio":
        mask = [(audio_present(c.audio) if detect_missing else c.audio.shape[0] > 0) for c in presence]
        xs = [audio_input(c.audio, c.sr, spec) for c in clips]
        xs = [x if m else torch.zeros_like(x) for x, m in zip(xs, mask)]
    else:
        raise ValueError(f"A modality is 'audio' or 'video'; got {modality!r}.")
    return torch.stack(xs), torch.tensor(mask, dtype=torch.float32)


def batch_inputs(clips: Sequence, config, *, detect_missing: bool = True):
    """Preprocess clips for a model, with the masks of the modalities present (both modalities of
    :func:`modality_inputs`).

    Parameters
    ----------
    clips : sequence of core.media.Clip
    config : ModelConfig, AVModel (anything with a ``preprocessing`` (video, audio) pair) or that pair
    detect_missing : bool, as in :func:`modality_inputs`

    Returns
    -------
    video : torch.Tensor, float32, shape (B, 3, T, S, S)
    audio : torch.Tensor, float32, shape (B, N) or (B, 1, n_bins, n_frames)
    video_mask : torch.Tensor, float32, shape (B,)  1 present, 0 missing
    audio_mask : torch.Tensor, float32, shape (B,)
    """
    vspec, aspec = config if isinstance(config, tuple) else config.preprocessing
    video, vmask = modality_inputs(clips, "video", vspec, detect_missing=detect_missing)
    audio, amask = modality_inputs(clips, "audio", aspec, detect_missing=detect_missing)
    return video, audio, vmask, amask


__all__ = [
    "LOG_MEL", "KINETICS_MEAN", "KINETICS_STD", "IMAGENET_MEAN", "IMAGENET_STD", "MEL_DEFAULTS",
    "VideoPreprocessing", "AudioPreprocessing", "video_input", "audio_input", "modality_inputs", "batch_inputs",
    "log_mel", "sample_indices", "video_present", "audio_present",
]
