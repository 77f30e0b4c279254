"""Audio-visual corruptions: one cause that hits both senses, or their alignment.

Each function takes ``frames`` uint8 ``(T, H, W, 3)`` and ``y`` float32 ``(N,)``
(either may be empty when the clip lacks that modality: it is passed through),
``fps``, ``sr``, physical parameters and an ``rng``; it returns ``(frames, y)``
of the same shapes. The video and audio halves draw from separate child
generators (:func:`split_rng`), so one half does not change when the other modality is missing.
AVRobustBench's co-occurring corruptions are in :mod:`core.corruptions.cooccurring`.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from . import audio, video


def split_rng(rng: np.random.Generator) -> tuple[np.random.Generator, np.random.Generator]:
    """The video and the audio child generators of an audio-visual corruption's one ``rng`` (``rng.spawn(2)``)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")
    rv, ra = rng.spawn(2)
    return rv, ra


def av_desync(frames: np.ndarray, y: np.ndarray, *, fps: float, sr: int, shift_s: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Audio lags the video by ``shift_s`` seconds: delayed, zeros in front, length kept."""
    split_rng(rng)
    if y.size == 0:
        return frames, y
    audio.check_audio(y, sr)
    k = min(y.size, int(round(shift_s * sr)))
    out = np.zeros_like(y)
    out[k:] = y[: y.size - k]
    return frames, out


def rain_streaks(frames: np.ndarray, *, density: float, length: float, rng: np.random.Generator) -> np.ndarray:
    """Falling rain drawn on the frames: bright slanted streaks, fresh each frame, one wind angle per clip.

    ``density`` is the fraction of pixels that start a streak per frame, ``length`` the
    streak length in pixels at 224 px. Streak seeds are thresholded from one uniform field,
    so a higher density (same seed) adds streaks to those already there.
    """
    video.check_frames(frames)
    t, h, w, _ = frames.shape
    angle = np.deg2rad(rng.uniform(-20, 20))
    seeds = rng.random((t, h, w), dtype=np.float32) < density
    ti, yi, xi = np.nonzero(seeds)
    brightness = (0.5 + 0.5 * rng.random(ti.size)).astype(np.float32)
    layer = np.zeros((t, h, w), np.float32)
    n = max(2, int(round(length * video._scale(frames))))
    for s in range(n):
        ys = yi + int(round(s * np.cos(angle)))
        xs = xi + int(round(s * np.sin(angle)))
        keep = (ys < h) & (xs >= 0) & (xs < w)
        layer[ti[keep], ys[keep], xs[keep]] = np.maximum(layer[ti[keep], ys[keep], xs[keep]], brightness[keep])
    x = frames.astype(np.float32)
    x += (220.0 - x) * (0.8 * layer[..., None])  # streaks are light grey-blue: screen towards 220
    x *= 0.92  # the sky is overcast
    return video._to_uint8(x)


def av_rain(frames: np.ndarray, y: np.ndarray, *, fps: float, sr: int, density: float, length: float,
            snr_db: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rain seen and heard: streaks on the frames (``density``, ``length``) and rain noise at ``snr_db``."""
    rv, ra = split_rng(rng)
    if frames.shape[0]:
        frames = rain_streaks(frames, density=density, length=length, rng=rv)
    if y.size:
        y = audio.rain(y, sr=sr, snr_db=snr_db, rng=ra)
    return frames, y


def haze(frames: np.ndarray, *, opacity: float, rng: np.random.Generator) -> np.ndarray:
    """Drifting grey smoke: frames blended towards light grey by ``opacity`` x a smooth random density."""
    video.check_frames(frames)
    t, h, w, _ = frames.shape
    drift = max(1, w // 80)  # pixels per frame the smoke drifts sideways
    coarse = rng.random((6, 6 + t * drift * 6 // max(w, 1) + 1)).astype(np.float32)
    wide = w + t * drift
    field = np.asarray(Image.fromarray(coarse).resize((wide, h), Image.Resampling.BICUBIC), np.float32)
    field = np.clip(0.6 + 0.4 * (field - field.mean()) / max(float(field.std()), 1e-6) / 2, 0.2, 1.0)
    windows = np.lib.stride_tricks.sliding_window_view(field, w, axis=1)[:, ::drift][:, :t]  # (H, T, W)
    alpha = (opacity * windows.transpose(1, 0, 2))[..., None]                                 # (T, H, W, 1)
    x = frames.astype(np.float32)
    x += (200.0 - x) * alpha
    return video._to_uint8(x)


def smoke(frames: np.ndarray, y: np.ndarray, *, fps: float, sr: int, opacity: float, cutoff_hz: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Smoke in the hall: haze of ``opacity`` on the frames, sound muffled by a low-pass at ``cutoff_hz``."""
    rv, ra = split_rng(rng)
    if frames.shape[0]:
        frames = haze(frames, opacity=opacity, rng=rv)
    if y.size:
        y = audio.lowpass(y, sr=sr, cutoff_hz=cutoff_hz, rng=ra)
    return frames, y
