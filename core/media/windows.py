"""Fixed-length windows of a clip, as a model sees them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clip import Clip, fit_length


@dataclass(frozen=True)
class Window:
    """One fixed-length window of a clip, as a model sees it."""

    start: float
    end: float
    clip: Clip
    padded: bool


def window_starts(duration: float, *, window: float = 5.0, stride: float = 1.0) -> list[float]:
    """Start times of ``window``-second windows every ``stride`` seconds covering ``duration``.

    The last window is aligned to the end of the clip so no tail is left out.
    """
    if window <= 0 or stride <= 0:
        raise ValueError("Window length and stride must be positive.")
    if duration <= window:
        return [0.0]
    starts = list(np.arange(0.0, duration - window + 1e-9, stride))
    if starts[-1] + window < duration - 1e-6:
        starts.append(duration - window)
    return [round(float(s), 6) for s in starts]


def sliding_windows(clip: Clip, *, window: float = 5.0, stride: float = 1.0) -> list[Window]:
    """Cut ``clip`` into ``window``-second windows every ``stride`` seconds.

    A clip shorter than one window gives a single window padded to full length
    (last frame repeated, audio zero-padded), flagged ``padded=True``.
    """
    windows = []
    for start in window_starts(clip.duration, window=window, stride=stride):
        part = clip.segment(start, start + window)
        padded = part.duration < window - 1e-6
        if padded:
            part = pad_clip(part, window)
        windows.append(Window(start=start, end=start + window, clip=part, padded=padded))
    return windows


def pad_clip(clip: Clip, duration: float) -> Clip:
    """Pad ``clip`` to ``duration`` seconds: last frame repeated, audio zero-padded."""
    frames, audio = clip.frames, clip.audio
    if clip.has_video:
        n = int(round(duration * clip.fps))
        if frames.shape[0] < n:
            frames = np.concatenate([frames, np.repeat(frames[-1:], n - frames.shape[0], axis=0)])
    if clip.has_audio:
        audio = fit_length(audio, int(round(duration * clip.sr)))
    return clip.replace(frames=frames, audio=audio, duration=max(clip.duration, duration))
