"""Audio as the model hears it: resampled, placed on the clip's timeline, mono without cancellation.

Rules:

- **Timeline**: decoded audio frames are placed by their timestamps; a gap in the timestamps
  (a dropped packet, a paused recorder) becomes silence, so the audio stays in sync after it.
- **DC offset**: each channel's mean is removed (a constant offset carries no sound).
- **Downmix**: stereo becomes the mean of the two channels, unless averaging cancels them (the
  mean is more than :data:`CANCEL_DB` below the louder channel, e.g. channels in opposite phase):
  then the louder channel is used. More than two channels are first mixed to stereo by FFmpeg.
"""
from __future__ import annotations

import av
import numpy as np

from .clip import no_audio

CANCEL_DB = 20.0
"""A downmix this many dB quieter than the louder channel counts as cancelled."""

GAP_S = 0.010
"""Timestamp gaps longer than this (seconds) are filled with silence."""


def downmix(channels: np.ndarray) -> tuple[np.ndarray, str]:
    """Mono from ``channels`` (C, N) float32 with the DC offset removed, and the rule used.

    Returns ``(y, rule)``: ``y`` (N,) float32; ``rule`` is ``"mono"``, ``"mean of 2 channels"`` or
    ``"louder channel (the channels cancel when averaged)"``.
    """
    centred = channels - channels.mean(axis=1, keepdims=True)
    if centred.shape[0] == 1:
        return centred[0].astype(np.float32, copy=False), "mono"
    mean = centred.mean(axis=0)
    loudness = np.sqrt(np.mean(np.square(centred, dtype=np.float64), axis=1))
    if loudness.max() > 0 and np.sqrt(np.mean(np.square(mean, dtype=np.float64))) < \
            loudness.max() * 10 ** (-CANCEL_DB / 20):
        return centred[int(np.argmax(loudness))].astype(np.float32, copy=False), \
            "louder channel (the channels cancel when averaged)"
    return mean.astype(np.float32, copy=False), f"mean of {centred.shape[0]} channels"


class AudioSink:
    """Collects audio resampled to ``sr`` (mono, or stereo for a later :func:`downmix`), gaps filled."""

    def __init__(self, stream, sr: int):
        self.sr = sr
        self.layout = "mono" if (stream.codec_context.channels or 1) <= 1 else "stereo"
        self.resampler = self._resampler()
        self.chunks: list[np.ndarray] = []
        self.n = 0  # output samples so far
        self.start: float | None = None  # timeline time (s) of the first sample
        self.next_time: float | None = None  # where the next input frame should start

    def _resampler(self):
        return av.AudioResampler(format="fltp", layout=self.layout, rate=self.sr)

    @property
    def seconds(self) -> float:
        return self.n / self.sr

    def _append(self, frames) -> None:
        for out in frames:
            chunk = out.to_ndarray()
            self.chunks.append(chunk)
            self.n += chunk.shape[1]

    def add(self, frame) -> None:
        time = frame.time
        if self.start is None:
            self.start = float(time) if time is not None else 0.0
        elif time is not None and self.next_time is not None and time - self.next_time > GAP_S:
            self._append(self.resampler.resample(None))  # flush, then silence up to the frame's time
            silence = int(round((time - self.start) * self.sr)) - self.n
            if silence > 0:
                self.chunks.append(np.zeros((1 if self.layout == "mono" else 2, silence), np.float32))
                self.n += silence
            self.resampler = self._resampler()
        if time is not None and frame.sample_rate:
            self.next_time = float(time) + frame.samples / frame.sample_rate
        self._append(self.resampler.resample(frame))

    def result(self, flush: bool) -> tuple[np.ndarray, str | None]:
        """The mono waveform (N,) float32 in [-1, 1] from :attr:`start`, and the downmix rule."""
        if flush:
            self._append(self.resampler.resample(None))
        if not self.chunks:
            return no_audio(), None
        y, rule = downmix(np.concatenate(self.chunks, axis=1).astype(np.float32, copy=False))
        return np.clip(y, -1.0, 1.0), rule
