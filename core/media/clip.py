"""The in-memory clip every module works on, and the one error a media problem raises."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 16_000


class MediaError(ValueError):
    """A clip could not be read or written; the message is one plain sentence."""


@dataclass(frozen=True)
class Clip:
    """A decoded clip on one timeline.

    Attributes
    ----------
    frames : np.ndarray, uint8, shape (T, H, W, 3)
        RGB frames at a constant rate, upright (display rotation applied), transparent areas
        composited over black; shape ``(0, 0, 0, 3)`` when the clip has no video.
    fps : float
        Frame rate of ``frames`` (0.0 without video).
    audio : np.ndarray, float32, shape (N,)
        Mono waveform at ``sr`` Hz in [-1, 1], sample 0 at time 0 of ``frames``; empty when the
        clip has no audio.
    sr : int
        Audio sample rate (16 kHz after decoding).
    duration : float
        Length of the clip in seconds.
    metadata : dict
        What the source said about itself and what decoding did: container, codecs, display size,
        rotation, the streams used and how many others there were, the audio start offset, the
        downmix rule (see :func:`core.media.load_clip`).
    """

    frames: np.ndarray
    fps: float
    audio: np.ndarray
    sr: int = SAMPLE_RATE
    duration: float = 0.0
    metadata: dict = field(default_factory=dict)

    @property
    def has_video(self) -> bool:
        return self.frames.shape[0] > 0

    @property
    def has_audio(self) -> bool:
        return self.audio.shape[0] > 0

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames, (0, 0) without video."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def replace(self, **changes) -> "Clip":
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def segment(self, start: float, end: float) -> "Clip":
        """The part of the clip between ``start`` and ``end`` seconds (no padding)."""
        start, end = max(0.0, start), min(self.duration, end)
        frames = self.frames
        if self.has_video:
            frames = frames[int(round(start * self.fps)) : int(round(end * self.fps))]
        audio = self.audio
        if self.has_audio:
            audio = audio[int(round(start * self.sr)) : int(round(end * self.sr))]
        return self.replace(frames=frames, audio=audio, duration=max(0.0, end - start))


def no_video() -> np.ndarray:
    """The ``frames`` value of a clip without video."""
    return np.zeros((0, 0, 0, 3), np.uint8)


def no_audio() -> np.ndarray:
    """The ``audio`` value of a clip without audio."""
    return np.zeros(0, np.float32)


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` cut or zero-padded at the end to ``n`` samples."""
    if audio.size >= n:
        return audio[:n]
    return np.pad(audio, (0, n - audio.size))
