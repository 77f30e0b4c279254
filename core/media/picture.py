"""Video frames as the viewer sees them: display rotation, alpha over a background, a constant rate.

Three rules, each following what ``ffmpeg`` does by default:

- **Orientation**: the stream's display matrix (``DISPLAYMATRIX`` side data: phone clips stored
  sideways, mirrored webcams) is applied as ``ffmpeg``'s autorotate applies it, in multiples of
  90 degrees (other angles are rounded to the nearest one).
- **Alpha**: a frame with transparency (``rgba``, ``yuva420p``, palettes) is composited over
  :data:`BACKGROUND` (black), so content hidden by the alpha channel never reaches the model.
- **Constant rate**: frames are placed by their timestamps and resampled to a constant rate, each
  output frame being the nearest earlier input frame, as ``ffmpeg -vf fps`` does (a frame up to a
  quarter of an output frame late counts as on time, absorbing timestamp jitter).
"""
from __future__ import annotations

import numpy as np
from av.sidedata.sidedata import Type

from .clip import no_video

BACKGROUND = (0, 0, 0)
"""RGB colour under transparent areas (black)."""

FALLBACK_FPS = 25.0
"""Frame rate assumed for a stream that states none and has fewer than two timestamps."""

STANDARD_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0, 90.0, 100.0,
                  120.0, 240.0, 8.0, 10.0, 12.0, 12.5, 15.0, 16.0, 20.0, 5.0)
"""Frame rates a constant-rate estimate snaps to when within 1 %."""


def orientation(frame) -> tuple[bool, bool, bool]:
    """``(transpose, flip_rows, flip_cols)`` that turn ``frame``'s stored pixels upright.

    Read from the frame's display matrix (row-vector convention of ``libavutil/display.h``:
    ``x' = a*x + c*y``, ``y' = b*x + d*y``); no matrix means no change.
    """
    side = frame.side_data.get(Type.DISPLAYMATRIX) if frame.side_data else None
    if side is None:
        return False, False, False
    m = np.frombuffer(bytes(side), dtype=np.int32)
    a, b, c, d = (float(v) for v in (m[0], m[1], m[3], m[4]))
    if abs(b) > abs(a):  # a quarter turn: display rows come from stored columns
        return True, b < 0, c < 0
    return False, d < 0, a < 0


def apply_orientation(rgb: np.ndarray, turn: tuple[bool, bool, bool]) -> np.ndarray:
    """``rgb`` (H, W, C) transposed and flipped as :func:`orientation` says."""
    transpose, flip_rows, flip_cols = turn
    if transpose:
        rgb = rgb.transpose(1, 0, 2)
    if flip_rows:
        rgb = rgb[::-1]
    if flip_cols:
        rgb = rgb[:, ::-1]
    return np.ascontiguousarray(rgb) if (transpose or flip_rows or flip_cols) else rgb


def has_alpha(frame) -> bool:
    """Whether the frame's pixel format carries transparency (an alpha plane or a palette)."""
    fmt = frame.format
    return fmt.has_palette or any(c.is_alpha for c in fmt.components)


def composite(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 straight alpha -> (H, W, 3) uint8 over :data:`BACKGROUND`."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    background = np.asarray(BACKGROUND, np.float32)
    out = rgba[..., :3].astype(np.float32) * alpha + background * (1.0 - alpha)
    return np.rint(out).astype(np.uint8)


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) with the longer side at most ``max_side``, even sides when scaled."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class VideoSink:
    """Collects upright RGB frames (downscaled to ``max_side``) with their timestamps (seconds)."""

    def __init__(self, stream, max_side: int | None):
        rate = stream.average_rate or stream.guessed_rate
        self.declared = float(rate) if rate else None
        self.stated = tuple(float(r) for r in (stream.average_rate, stream.guessed_rate) if r)
        self.max_side = max_side
        self.stored_size: tuple[int, int] | None = None
        self.size: tuple[int, int] | None = None
        self.turn = (False, False, False)
        self.rotation = 0
        self.alpha = False
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.last_duration: float | None = None

    @property
    def start(self) -> float | None:
        return min(self.times) if self.times else None

    @property
    def seconds(self) -> float:
        """Timeline seconds covered so far."""
        if not self.times:
            return 0.0
        return max(self.times) - min(self.times) + 1.0 / (self.declared or FALLBACK_FPS)

    @property
    def display_size(self) -> tuple[int, int] | None:
        """(width, height) of the upright frames as stored, before downscaling."""
        if self.stored_size is None:
            return None
        return self.stored_size[::-1] if self.turn[0] else self.stored_size

    def add(self, frame) -> None:
        if self.size is None:
            self.stored_size = (frame.width, frame.height)
            self.size = scaled_size(frame.width, frame.height, self.max_side)
            self.turn = orientation(frame)
            self.rotation = int(round(frame.rotation or 0)) % 360
            self.alpha = has_alpha(frame)
        width, height = self.size
        kwargs = {}
        if (width, height) != (frame.width, frame.height):  # area averaging: no aliasing when shrinking
            kwargs = dict(width=width, height=height, interpolation="AREA")
        if self.alpha:
            rgb = composite(frame.to_ndarray(format="rgba", **kwargs))
        else:
            rgb = frame.to_ndarray(format="rgb24", **kwargs)
        self.frames.append(apply_orientation(rgb, self.turn))
        step = 1.0 / (self.declared or FALLBACK_FPS)
        time = frame.time
        if time is None:  # no timestamp: one frame after the previous one
            time = self.times[-1] + step if self.times else 0.0
        self.times.append(float(time))
        self.last_duration = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else None

    def rate(self) -> float:
        """The constant output rate: the rate most frames were shot at (the mean of the intervals
        within 25 % of the median one, so millisecond timestamps give 30, not 30.3), snapped to the
        stream's declared rates or a standard rate within 1 %."""
        intervals = np.diff(np.sort(np.asarray(self.times)))
        intervals = intervals[intervals > 1e-6]
        if intervals.size == 0:
            return self.declared or FALLBACK_FPS
        median = float(np.median(intervals))
        typical = 1.0 / float(intervals[np.abs(intervals - median) <= 0.25 * median].mean())
        for rate in (*self.stated, *STANDARD_RATES):
            if abs(typical - rate) <= 0.01 * rate:
                return rate
        return round(typical, 3)

    def variable_rate(self) -> bool:
        """Whether the frame intervals differ by more than a quarter of the typical one."""
        intervals = np.diff(np.sort(np.asarray(self.times)))
        return intervals.size > 1 and float(np.ptp(intervals)) > 0.25 * float(np.median(intervals))

    def end(self) -> float | None:
        """Timeline time (s) at which the last frame stops showing."""
        if not self.times:
            return None
        last = max(self.times)
        return last + (self.last_duration or 1.0 / self.rate())

    def result(self, t0: float, limit: float | None) -> tuple[np.ndarray, float]:
        """Frames on the constant-rate grid from ``t0`` (s) to the last frame's end (at most
        ``limit`` s), with the rate. Before the first frame, the first frame is shown."""
        if not self.frames:
            return no_video(), 0.0
        fps = self.rate()
        seconds = self.end() - t0
        if limit is not None:
            seconds = min(seconds, limit)
        n = max(1, int(round(seconds * fps)))
        times = np.asarray(self.times)
        order = np.argsort(times, kind="stable")
        grid = t0 + np.arange(n) / fps + 0.25 / fps
        picked = np.clip(np.searchsorted(times[order], grid, side="right") - 1, 0, None)
        index = order[picked]
        if np.array_equal(index, np.arange(len(self.frames))):
            return np.stack(self.frames), fps
        return np.stack([self.frames[i] for i in index]), fps
