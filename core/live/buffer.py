"""A ring buffer of the last seconds of a live source, audio and video on one timeline.

Frames go through core.media's own sinks (:class:`core.media.picture.VideoSink`,
:class:`core.media.sound.AudioSink`): upright RGB downscaled to ``max_side``, audio resampled to
16 kHz with timestamp gaps filled by silence, and a window cut from the buffer is resampled to a
constant frame rate and downmixed exactly as :func:`core.media.load_clip` treats a file. The
buffer adds only what a live source needs: its times in *session* seconds (each connection's
stream timestamps shifted onto the monitor's clock), and forgetting what is older than
``capacity`` seconds.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from core.media import SAMPLE_RATE, Clip, no_audio, no_video
from core.media.picture import FALLBACK_FPS, VideoSink
from core.media.sound import AudioSink, downmix

STALL_S = 2.0
"""A stream this far behind the other is left out of what the buffer covers (a stalled camera
must not stop the microphone's windows; its window repeats its last frame)."""


@dataclass
class Track:
    """One kind of signal in the buffer: core.media's sink plus the shift from stream to session time."""

    sink: VideoSink | AudioSink
    shift: float  # session seconds = stream seconds + shift
    start: float  # session time of the track's first data

    def end(self) -> float:
        """Session time up to which the track has data."""
        sink = self.sink
        if isinstance(sink, VideoSink):
            if not sink.times:
                return self.start
            return sink.times[-1] + self.shift + 1.0 / (sink.declared or FALLBACK_FPS)
        if sink.start is None:
            return self.start
        return sink.start + self.shift + sink.n / sink.sr


@dataclass(frozen=True)
class Snapshot:
    """A window cut from the buffer.

    ``clip``: the window as a :class:`Clip` (frames at a constant rate, mono audio without DC offset,
    exactly ``end - start`` seconds); ``raw_audio``: (C, N) float32 before downmix and DC removal (for
    health: level, clipping, DC offset), or (0, 0); ``arrived``: monotonic time at which the data that
    completed the window arrived (for the capture-to-prediction lag), or None; ``kinds``: the streams the
    source had when the window was cut.
    """

    start: float
    end: float
    clip: Clip
    raw_audio: np.ndarray
    arrived: float | None
    kinds: tuple[str, ...] = ("audio", "video")


class RingBuffer:
    """The last ``capacity`` seconds of a source, thread-safe (readers add, the monitor cuts windows).

    Parameters
    ----------
    capacity : seconds kept (at least the longest clip an alert saves).
    max_side : frames are downscaled so their longer side is at most this (pixels).
    sr : audio sample rate (Hz).
    """

    def __init__(self, capacity: float, *, max_side: int | None = 320, sr: int = SAMPLE_RATE):
        self.capacity, self.max_side, self.sr = float(capacity), max_side, sr
        self.tracks: dict[str, Track] = {}
        self.cond = threading.Condition()
        self.arrivals: deque[tuple[float, float]] = deque()  # (session time covered, monotonic time)
        self.latest_frame: np.ndarray | None = None

    # ------------------------------------------------------------------ writing (reader threads)
    def attach(self, kind: str, stream, shift: float, start: float) -> None:
        """Start a fresh track of ``kind`` ("video" or "audio") for ``stream`` (a new connection)."""
        sink = VideoSink(stream, self.max_side) if kind == "video" else AudioSink(stream, self.sr)
        with self.cond:
            self.tracks[kind] = Track(sink, shift, start)
            self.arrivals.clear()
            self.cond.notify_all()

    def detach(self, kinds) -> None:
        """Forget ``kinds`` (a connection without that stream, or a dropped one)."""
        with self.cond:
            for kind in kinds:
                self.tracks.pop(kind, None)
            self.arrivals.clear()
            self.cond.notify_all()

    def add(self, kind: str, frame) -> None:
        """Add one decoded PyAV frame to its track (converted by core.media's sink), forget old data."""
        with self.cond:
            track = self.tracks.get(kind)
            if track is None:
                return
            before = self.covered()
            track.sink.add(frame)
            if kind == "video":
                self.latest_frame = track.sink.frames[-1]
            self._forget(track)
            after = self.covered()
            if after > before:
                self.arrivals.append((after, time.monotonic()))
                while self.arrivals and self.arrivals[0][0] < after - self.capacity:
                    self.arrivals.popleft()
                self.cond.notify_all()

    def _forget(self, track: Track) -> None:
        keep_from = track.end() - self.capacity - track.shift  # stream time
        sink = track.sink
        if isinstance(sink, VideoSink):
            old = 0
            while old < len(sink.times) - 1 and sink.times[old + 1] <= keep_from:
                old += 1
            if old:
                del sink.frames[:old], sink.times[:old]
            return
        if sink.start is None:
            return
        drop, dropped = 0, 0
        while drop < len(sink.chunks) - 1 and sink.start + (dropped + sink.chunks[drop].shape[1]) / sink.sr < keep_from:
            dropped += sink.chunks[drop].shape[1]
            drop += 1
        if drop:
            del sink.chunks[:drop]
            sink.start += dropped / sink.sr
            sink.n -= dropped

    # ------------------------------------------------------------------ reading (the monitor)
    def covered(self) -> float:
        """Session time up to which every live track has data (a track stalled more than ``STALL_S``
        behind the others is left out); 0 without tracks."""
        ends = [t.end() for t in self.tracks.values()]
        if not ends:
            return 0.0
        lead = max(ends)
        return min(e for e in ends if e >= lead - STALL_S)

    def ready_at(self, window: float) -> float | None:
        """Session time at which the buffer first holds a whole window of every track (None: no track)."""
        if not self.tracks:
            return None
        return max(t.start for t in self.tracks.values()) + window

    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self.tracks))

    def window(self, start: float, end: float) -> Snapshot:
        """The clip from ``start`` to ``end`` (session seconds): frames on a constant-rate grid (the nearest
        earlier frame, as core.media does; the first frame before the track's start), audio placed by its
        timestamps with silence where there is none. Call with :attr:`cond` not held."""
        with self.cond:
            video, audio = self.tracks.get("video"), self.tracks.get("audio")
            frames, fps = no_video(), 0.0
            if video is not None and video.sink.frames:
                frames, fps = video.sink.result(start - video.shift, end - start)
            raw = np.zeros((0, 0), np.float32)
            if audio is not None and audio.sink.chunks:
                raw = self._audio_slice(audio, start, end)
            arrived = next((wall for covered, wall in self.arrivals if covered >= end - 1e-6), None)
            kinds = self.kinds()
        y = no_audio()
        if raw.size:
            y, _ = downmix(raw)
            y = np.clip(y, -1.0, 1.0)
        return Snapshot(start, end, Clip(frames=frames, fps=fps, audio=y, sr=self.sr, duration=end - start,
                                         metadata={"live": True}), raw, arrived, kinds)

    def _audio_slice(self, track: Track, start: float, end: float) -> np.ndarray:
        sink = track.sink
        data = np.concatenate(sink.chunks, axis=1).astype(np.float32, copy=False)  # (C, N) from sink.start
        first = int(round((start - track.shift - sink.start) * self.sr))
        n = int(round((end - start) * self.sr))
        out = np.zeros((data.shape[0], n), np.float32)
        lo, hi = max(0, first), min(data.shape[1], first + n)
        if hi > lo:
            out[:, lo - first:hi - first] = data[:, lo:hi]
        return out


__all__ = ["STALL_S", "RingBuffer", "Snapshot", "Track"]
