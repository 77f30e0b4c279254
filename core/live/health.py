"""Is each sense working? Audio and video health of a live window, and how long a sense has been unhealthy.

Per window (:func:`measure`): the microphone's level (RMS, dBFS), peak, clipping share and DC offset,
and the camera's brightness, sharpness (variance of the Laplacian), black and frozen frames. The
thresholds are those of FFmpeg's detection filters (``ffmpeg-filters``: ``silencedetect``,
``blackdetect``, ``freezedetect``), which flag a condition once it lasts their default 2 s:

- **silent**: RMS of a 0.1 s block below -60 dBFS (``silencedetect`` noise=-60 dB);
- **black**: at least 98 % of a frame's pixels darker than 10 % of full scale (``blackdetect``
  pic_th=0.98, pix_th=0.10, on full-range BT.601 luma);
- **frozen**: mean absolute difference to the previous frame below 0.001 of full scale
  (``freezedetect`` n=-60 dB);
- **blurred**: sharpness, the variance of the Laplacian of the luma (Pech-Pacheco et al., "Diatom
  autofocusing in brightfield microscopy: a comparative study", ICPR 2000), below
  :data:`BLUR_RATIO` of the stream's own reference (the median of its first
  :data:`REFERENCE_WINDOWS` windows): the value depends on the scene, so only a fall is a sign;
- **clipping**: a 0.1 s block with at least 0.1 % of its samples at full scale (|x| >= 0.999);
- **DC offset**: a block mean beyond 0.02 of full scale (a biased or failing microphone; decoding
  removes it before the model hears it, so it is a sign, not a cause of errors);
- **missing**: the source has no such stream.

:class:`HealthTracker` turns the per-window trailing runs into durations across windows and says
them in words ("microphone silent for 12 s").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SILENCE_DBFS = -60.0
MIN_DURATION_S = 2.0
BLACK_PIXEL = 0.10
BLACK_PICTURE = 0.98
FREEZE_NOISE = 0.001
BLUR_RATIO = 0.35
REFERENCE_WINDOWS = 10
CLIP_LEVEL = 0.999
CLIPPING_SHARE = 0.001
DC_LIMIT = 0.02
BLOCK_S = 0.1
LEVEL_NOW_S = 0.5  # the level meter's integration time (the last half second of the window)
FLOOR_DBFS = -120.0

SENSES = {"audio": "microphone", "video": "camera"}
CONDITIONS = {"audio": ("missing", "silent", "clipping", "dc_offset"),
              "video": ("missing", "black", "frozen", "blurred")}
_WORDS = {"missing": "missing from the stream", "silent": "silent", "clipping": "clipping",
          "dc_offset": "showing a DC offset", "black": "black", "frozen": "frozen", "blurred": "blurred"}


def dbfs(x: float) -> float:
    """An amplitude (1.0 = full scale) in dBFS, floored at -120."""
    return float(max(FLOOR_DBFS, 20.0 * np.log10(max(float(x), 1e-12))))


def trailing_run(flags: np.ndarray, step: float) -> float:
    """Seconds of ``flags`` (one per ``step`` s) that are true at its end."""
    flags = np.asarray(flags, bool)
    if not flags.size or not flags[-1]:
        return 0.0
    false = np.flatnonzero(~flags)
    return float((flags.size - (false[-1] + 1 if false.size else 0)) * step)


@dataclass(frozen=True)
class WindowHealth:
    """Health measured on one window.

    ``audio`` / ``video``: the measurements (dBFS, shares 0-1, brightness 0-1 of full scale,
    sharpness in squared 8-bit luma levels), None for a missing stream; ``runs``: condition ->
    seconds it lasts at the window's end; ``sharpness_frames``: per-frame sharpness (for the blur
    reference, not serialised).
    """

    duration: float
    audio: dict | None
    video: dict | None
    runs: dict[str, dict[str, float]]
    sharpness_frames: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)


def measure_audio(raw: np.ndarray, sr: int) -> tuple[dict, dict[str, float]]:
    """Level, peak, clipping and DC of ``raw`` (C, N) float32 before downmix; trailing runs (s) of silent,
    clipping and DC-offset 0.1 s blocks (each channel's worst)."""
    block = max(1, int(round(BLOCK_S * sr)))
    n = raw.shape[1] // block * block
    blocks = raw[:, raw.shape[1] - n:].reshape(raw.shape[0], -1, block)  # (C, B, block), the last whole blocks
    rms = np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=2))  # (C, B)
    clipped = np.mean(np.abs(blocks) >= CLIP_LEVEL, axis=2)  # (C, B)
    dc = np.abs(blocks.mean(axis=2))  # (C, B)
    level = float(np.sqrt(np.mean(np.square(raw, dtype=np.float64), axis=1)).max()) if raw.size else 0.0
    tail = raw[:, -max(1, int(round(LEVEL_NOW_S * sr))):]
    now = float(np.sqrt(np.mean(np.square(tail, dtype=np.float64), axis=1)).max()) if raw.size else 0.0
    values = {"level_dbfs": round(dbfs(level), 2), "level_now_dbfs": round(dbfs(now), 2),
              "peak_dbfs": round(dbfs(np.abs(raw).max() if raw.size else 0), 2),
              "clipping": round(float(np.mean(np.abs(raw) >= CLIP_LEVEL)) if raw.size else 0.0, 5),
              "dc_offset": round(float(np.abs(raw.mean(axis=1)).max()) if raw.size else 0.0, 5)}
    runs = {"silent": trailing_run((rms.max(axis=0) < 10 ** (SILENCE_DBFS / 20)), BLOCK_S),
            "clipping": trailing_run(clipped.max(axis=0) >= CLIPPING_SHARE, BLOCK_S),
            "dc_offset": trailing_run(dc.max(axis=0) > DC_LIMIT, BLOCK_S)}
    return values, runs


def luma(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB -> (T, H, W) float32 full-range BT.601 luma, 0-255."""
    return frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def laplacian_variance(y: np.ndarray) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian of each (T, H, W) luma frame -> (T,) float (Pech-Pacheco 2000)."""
    if y.shape[1] < 3 or y.shape[2] < 3:
        return np.zeros(y.shape[0])
    lap = (y[:, :-2, 1:-1] + y[:, 2:, 1:-1] + y[:, 1:-1, :-2] + y[:, 1:-1, 2:] - 4.0 * y[:, 1:-1, 1:-1])
    return lap.reshape(y.shape[0], -1).var(axis=1)


def measure_video(frames: np.ndarray, fps: float) -> tuple[dict, dict[str, float], np.ndarray]:
    """Brightness, sharpness, black and frozen shares of ``frames`` (T, H, W, 3) uint8 at ``fps``; trailing
    runs (s) of black and frozen frames; the per-frame sharpness."""
    y = luma(frames)  # (T, H, W)
    step = 1.0 / fps
    black = np.mean(y < BLACK_PIXEL * 255.0, axis=(1, 2)) >= BLACK_PICTURE  # (T,)
    change = np.abs(np.diff(y, axis=0)).mean(axis=(1, 2)) / 255.0 if len(y) > 1 else np.zeros(0)  # (T-1,)
    frozen = change < FREEZE_NOISE
    sharp = laplacian_variance(y)
    values = {"brightness": round(float(y.mean()) / 255.0, 4), "sharpness": round(float(np.median(sharp)), 2),
              "black_share": round(float(black.mean()), 4),
              "frozen_share": round(float(frozen.mean()) if frozen.size else 0.0, 4)}
    # a frozen pair spans one frame interval; a run of n frozen pairs is n intervals of stillness
    runs = {"black": trailing_run(black, step), "frozen": trailing_run(frozen, step)}
    return values, runs, sharp


def measure(clip, raw_audio: np.ndarray, *, kinds=("audio", "video")) -> WindowHealth:
    """Health of one window: ``clip`` (a :class:`core.media.Clip`), its ``raw_audio`` (C, N) before
    downmix, and the ``kinds`` of stream the source has (the others are missing)."""
    runs: dict[str, dict[str, float]] = {"audio": {}, "video": {}}
    audio = video = None
    sharp = np.zeros(0)
    if "audio" in kinds and raw_audio.size:
        audio, runs["audio"] = measure_audio(raw_audio, clip.sr)
    else:
        runs["audio"] = {"missing": clip.duration}
    if "video" in kinds and clip.has_video:
        video, runs["video"], sharp = measure_video(clip.frames, clip.fps)
    else:
        runs["video"] = {"missing": clip.duration}
    return WindowHealth(clip.duration, audio, video, runs, sharp)


class HealthTracker:
    """Durations of each unhealthy condition across windows, and the sentences that say them.

    A condition's trailing run shorter than the window started inside it; one that fills the window
    continues the run of the window before (windows overlap, so there is no gap between them).
    A condition is *flagged* once it lasts :data:`MIN_DURATION_S`.
    """

    def __init__(self):
        self.since: dict[tuple[str, str], float] = {}
        self.reference: list[float] = []

    @property
    def sharpness_reference(self) -> float | None:
        """The stream's usual sharpness (median of its first windows), None until it has them."""
        return float(np.median(self.reference)) if len(self.reference) >= REFERENCE_WINDOWS else None

    def update(self, health: WindowHealth, end: float) -> dict[str, dict[str, float]]:
        """The flagged conditions at session time ``end``: sense -> {condition: seconds so far}."""
        runs = {sense: dict(r) for sense, r in health.runs.items()}
        if health.video is not None and health.sharpness_frames.size:
            ref = self.sharpness_reference
            if ref is None:
                if not runs["video"].get("black") and not runs["video"].get("frozen"):
                    self.reference.append(float(np.median(health.sharpness_frames)))
            else:
                blurred = health.sharpness_frames < BLUR_RATIO * ref
                runs["video"]["blurred"] = trailing_run(blurred, health.duration / len(blurred))
        flagged: dict[str, dict[str, float]] = {"audio": {}, "video": {}}
        for sense, conditions in CONDITIONS.items():
            for condition in conditions:
                run = runs[sense].get(condition, 0.0)
                key = (sense, condition)
                if run <= 0.0:
                    self.since.pop(key, None)
                    continue
                if run < health.duration - 1e-6 or key not in self.since:
                    self.since[key] = end - run
                seconds = end - self.since[key]
                if seconds >= MIN_DURATION_S - 1e-6:
                    flagged[sense][condition] = round(seconds, 2)
        return flagged


def sentences(flagged: dict[str, dict[str, float]]) -> list[str]:
    """``{"audio": {"silent": 12.0}}`` -> ``["microphone silent for 12 s"]``."""
    return [f"{SENSES[sense]} {_WORDS[condition]} for {seconds:.0f} s"
            for sense, conditions in flagged.items() for condition, seconds in conditions.items()]


def unhealthy_for(flagged: dict[str, dict[str, float]], sense: str, condition: str | None = None) -> float:
    """How long ``sense`` has been unhealthy (any condition, or ``condition``), in seconds; 0 if healthy."""
    conditions = flagged.get(sense, {})
    if condition is not None:
        return float(conditions.get(condition, 0.0))
    return float(max(conditions.values(), default=0.0))


__all__ = ["SILENCE_DBFS", "MIN_DURATION_S", "BLACK_PIXEL", "BLACK_PICTURE", "FREEZE_NOISE", "BLUR_RATIO",
           "REFERENCE_WINDOWS", "CLIP_LEVEL", "CLIPPING_SHARE", "DC_LIMIT", "SENSES", "CONDITIONS", "WindowHealth",
           "HealthTracker", "dbfs", "trailing_run", "measure_audio", "measure_video", "measure", "luma",
           "laplacian_variance", "sentences", "unhealthy_for"]
