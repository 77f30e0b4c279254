"""Decode and encode audio-visual clips with PyAV.

A :class:`Clip` is the one in-memory form every other module works on:
``frames`` uint8 ``(T, H, W, 3)`` and ``audio`` float32 mono at 16 kHz.
Anything that goes wrong with a file is a :class:`MediaError` carrying one
plain sentence a user can act on.
"""
from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Union

import av
import numpy as np

SAMPLE_RATE = 16_000
DEFAULT_MAX_SIDE = 480
DEFAULT_MAX_DURATION_S = 120.0
DEFAULT_MAX_BYTES = 500 * 1024 * 1024

Source = Union[str, os.PathLike, bytes, bytearray, BinaryIO]

# Leading bytes of containers we know; a file that starts like one of these but
# does not open is damaged, anything else is simply not media.
_MEDIA_SIGNATURES = (b"RIFF", b"OggS", b"\x1aE\xdf\xa3", b"ID3", b"fLaC", b"\xff\xfb", b"\xff\xf3")


class MediaError(ValueError):
    """A clip could not be read or written; the message is one plain sentence."""


@dataclass(frozen=True)
class Clip:
    """A decoded clip.

    Attributes
    ----------
    frames : np.ndarray, uint8, shape (T, H, W, 3)
        RGB frames; shape ``(0, 0, 0, 3)`` when the clip has no video.
    fps : float
        Frame rate of ``frames`` (0.0 without video).
    audio : np.ndarray, float32, shape (N,)
        Mono waveform at ``sr`` Hz in [-1, 1]; empty when the clip has no audio.
    sr : int
        Audio sample rate (16 kHz after decoding).
    duration : float
        Length of the clip in seconds.
    metadata : dict
        What the source said about itself: container, codecs, original size,
        sample rate, channels.
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


# --------------------------------------------------------------------------- decoding


def load_clip(
    source: Source,
    *,
    max_side: int | None = DEFAULT_MAX_SIDE,
    max_duration: float | None = DEFAULT_MAX_DURATION_S,
    truncate: bool = False,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    sr: int = SAMPLE_RATE,
) -> Clip:
    """Decode a clip from a path, bytes or a binary file object.

    Parameters
    ----------
    source : path, bytes or file object
        Any container FFmpeg reads; audio-only and video-only files are valid.
    max_side : int or None
        Frames whose longer side exceeds this are downscaled while decoding.
    max_duration : float or None
        Clips longer than this (seconds) are refused, or cut when ``truncate``.
    truncate : bool
        Keep the first ``max_duration`` seconds of a long clip instead of refusing it.
    max_bytes : int or None
        Files larger than this are refused before decoding.
    sr : int
        Output sample rate of the mono audio.

    Returns
    -------
    Clip

    Raises
    ------
    MediaError
        Empty, non-media, damaged, too large or too long input, no audio and no
        video track, or a codec this FFmpeg cannot decode.
    """
    data = _open_source(source, max_bytes)
    try:
        container = av.open(data, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise _open_error(data) from exc
    with container:
        return _decode_container(container, max_side, max_duration, truncate, sr)


def _open_source(source: Source, max_bytes: int | None) -> io.BytesIO | str:
    if isinstance(source, (bytes, bytearray)):
        data: io.BytesIO | str = io.BytesIO(bytes(source))
        size = len(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise MediaError(f"No file named '{path}' was found.")
        data, size = str(path), path.stat().st_size
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read()
        data, size = io.BytesIO(raw), len(raw)
    else:
        raise MediaError(f"Cannot read a clip from a {type(source).__name__}; give a path, bytes or a file.")
    if size == 0:
        raise MediaError("The file is empty.")
    if max_bytes is not None and size > max_bytes:
        raise MediaError(f"The file is {size / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
    return data


def _head_bytes(data: io.BytesIO | str, n: int = 16) -> bytes:
    if isinstance(data, str):
        with open(data, "rb") as f:
            return f.read(n)
    return data.getvalue()[:n]


def _open_error(data: io.BytesIO | str) -> MediaError:
    head = _head_bytes(data)
    if head.startswith(_MEDIA_SIGNATURES) or head[4:8] == b"ftyp":
        return MediaError("The file looks like media but is damaged or truncated, so it could not be decoded.")
    return MediaError("The file is not a recognised audio or video format.")


def _decode_container(container, max_side, max_duration, truncate, sr) -> Clip:
    video_stream = next(iter(container.streams.video), None)
    audio_stream = next(iter(container.streams.audio), None)
    if video_stream is None and audio_stream is None:
        raise MediaError("The file has neither an audio nor a video track.")
    for stream in (video_stream, audio_stream):
        if stream is not None and stream.codec_context is None:
            raise MediaError(f"The {stream.type} codec of this file is not supported.")

    declared = _declared_duration(container, video_stream, audio_stream)
    limit = None
    if max_duration is not None and declared is not None and declared > max_duration + 1e-3:
        if not truncate:
            raise MediaError(f"The clip is {declared:.0f} s long; the limit is {max_duration:.0f} s.")
        limit = max_duration
    elif max_duration is not None and truncate:
        limit = max_duration

    metadata = _metadata(container, video_stream, audio_stream, declared)
    try:
        frames, fps, audio = _decode_streams(container, video_stream, audio_stream,
                                             max_side, limit, max_duration, sr)
    except av.error.FFmpegError as exc:
        raise MediaError("The file is damaged or truncated, so it could not be decoded.") from exc

    if (video_stream is not None and frames.shape[0] == 0) and (audio_stream is not None and audio.size == 0):
        raise MediaError("The file is damaged or truncated: no audio or video could be decoded.")
    if video_stream is not None and frames.shape[0] == 0 and audio_stream is None:
        raise MediaError("The file is damaged or truncated: no video frames could be decoded.")
    if audio_stream is not None and audio.size == 0 and video_stream is None:
        raise MediaError("The file is damaged or truncated: no audio could be decoded.")

    video_duration = frames.shape[0] / fps if frames.shape[0] else 0.0
    duration = video_duration if frames.shape[0] else audio.size / sr
    if declared and duration < 0.5 * min(declared, limit or declared):
        raise MediaError("The file is damaged or truncated: it ends long before its stated length.")
    if audio.size:
        audio = _fit_length(audio, int(round(duration * sr)))
    return Clip(frames=frames, fps=fps if frames.shape[0] else 0.0, audio=audio, sr=sr,
                duration=float(duration), metadata=metadata)


def _declared_duration(container, video_stream, audio_stream) -> float | None:
    for stream in (video_stream, audio_stream):
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _metadata(container, video_stream, audio_stream, declared) -> dict:
    meta = {"container": container.format.name, "duration": declared}
    if video_stream is not None:
        cc = video_stream.codec_context
        rate = video_stream.average_rate or video_stream.guessed_rate
        meta.update(video_codec=cc.name, width=cc.width, height=cc.height,
                    fps=float(rate) if rate else None)
    if audio_stream is not None:
        cc = audio_stream.codec_context
        meta.update(audio_codec=cc.name, sample_rate=cc.sample_rate, channels=cc.channels)
    return meta


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class _VideoSink:
    """Collects RGB frames, downscaled to ``max_side``."""

    def __init__(self, stream, max_side):
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 25.0
        self.max_side = max_side
        self.size = None
        self.frames: list[np.ndarray] = []

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps

    def add(self, frame) -> None:
        if self.size is None:
            self.size = _scaled_size(frame.width, frame.height, self.max_side)
        width, height = self.size
        if (width, height) == (frame.width, frame.height):
            self.frames.append(frame.to_ndarray(format="rgb24"))
        else:  # area averaging: as fast as bilinear here, and no aliasing when shrinking
            self.frames.append(frame.to_ndarray(format="rgb24", width=width, height=height,
                                                interpolation="AREA"))

    def result(self) -> np.ndarray:
        return np.stack(self.frames) if self.frames else no_video()


class _AudioSink:
    """Collects mono float32 audio resampled to ``sr``."""

    def __init__(self, sr):
        self.sr = sr
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        self.chunks: list[np.ndarray] = []
        self.n = 0

    @property
    def seconds(self) -> float:
        return self.n / self.sr

    def add(self, frame) -> None:
        for out in self.resampler.resample(frame):
            chunk = out.to_ndarray().reshape(-1)
            self.chunks.append(chunk)
            self.n += chunk.size

    def result(self, flush: bool) -> np.ndarray:
        if flush:
            for out in self.resampler.resample(None):
                self.chunks.append(out.to_ndarray().reshape(-1))
        if not self.chunks:
            return no_audio()
        return np.clip(np.concatenate(self.chunks).astype(np.float32, copy=False), -1.0, 1.0)


def _decode_streams(container, video_stream, audio_stream, max_side, limit, max_duration, sr):
    """One demuxing pass over both streams; stops at ``limit`` seconds, refuses past ``max_duration``."""
    video = _VideoSink(video_stream, max_side) if video_stream is not None else None
    audio = _AudioSink(sr) if audio_stream is not None else None
    sinks = {s.index: k for s, k in ((video_stream, video), (audio_stream, audio)) if s is not None}
    if video_stream is not None:
        video_stream.thread_type = "AUTO"
    finished = True
    for packet in container.demux(*[s for s in (video_stream, audio_stream) if s is not None]):
        sink = sinks[packet.stream.index]
        for frame in packet.decode():
            if limit is not None and sink.seconds >= limit:
                break
            sink.add(frame)
        seconds = [k.seconds for k in sinks.values()]
        if limit is not None and min(seconds) >= limit:
            finished = False
            break
        if limit is None and max_duration is not None and max(seconds) > max_duration + 1.0:
            raise MediaError(f"The clip is longer than the {max_duration:.0f} s limit.")
    frames = video.result() if video else no_video()
    fps = video.fps if video else 0.0
    if limit is not None and frames.shape[0] > int(round(limit * fps)):
        frames = frames[: int(round(limit * fps))]
    samples = audio.result(flush=finished) if audio else no_audio()
    if limit is not None:
        samples = samples[: int(round(limit * sr))]
    return frames, fps, samples


def _fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    if audio.size >= n:
        return audio[:n]
    return np.pad(audio, (0, n - audio.size))


# --------------------------------------------------------------------------- encoding


def write_clip(clip: Clip, target: str | os.PathLike | BinaryIO, *, crf: int = 23) -> None:
    """Write ``clip`` as an MP4 a browser plays: H.264 yuv420p + AAC, index at the front.

    ``target`` is a path or a writable binary file object.
    """
    if not clip.has_video and not clip.has_audio:
        raise MediaError("The clip has neither audio nor video, so there is nothing to write.")
    if isinstance(target, (str, os.PathLike)):
        _write_mp4(clip, str(target), crf)
        return
    # FFmpeg's faststart pass re-reads its output by name, so go through a file.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        _write_mp4(clip, path, crf)
        with open(path, "rb") as f:
            target.write(f.read())


def clip_to_mp4_bytes(clip: Clip, *, crf: int = 23) -> bytes:
    """The bytes of ``write_clip(clip, ...)``, for a browser player."""
    buffer = io.BytesIO()
    write_clip(clip, buffer, crf=crf)
    return buffer.getvalue()


def _write_mp4(clip: Clip, path: str, crf: int) -> None:
    with av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        vstream = _add_video_stream(out, clip, crf) if clip.has_video else None
        astream = _add_audio_stream(out, clip) if clip.has_audio else None
        if vstream is not None:
            for i, rgb in enumerate(_even_size(clip.frames)):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode(None))
        if astream is not None:
            samples = np.ascontiguousarray(np.clip(clip.audio, -1.0, 1.0).astype(np.float32)[None, :])
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate = clip.sr
            frame.pts = 0
            out.mux(astream.encode(frame))
            out.mux(astream.encode(None))


def _add_video_stream(out, clip: Clip, crf: int):
    rate = Fraction(clip.fps).limit_denominator(1001)
    stream = out.add_stream("libx264", rate=rate)
    h, w = clip.frames.shape[1] // 2 * 2, clip.frames.shape[2] // 2 * 2
    stream.width, stream.height = max(w, 2), max(h, 2)
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = 1 / rate
    stream.options = {"crf": str(crf), "preset": "veryfast"}
    return stream


def _add_audio_stream(out, clip: Clip):
    stream = out.add_stream("aac", rate=clip.sr)
    stream.layout = "mono"
    return stream


def _even_size(frames: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: crop one row/column where needed (pad 1-pixel clips)."""
    t, h, w, _ = frames.shape
    if h < 2 or w < 2:
        frames = np.pad(frames, ((0, 0), (0, max(0, 2 - h)), (0, max(0, 2 - w)), (0, 0)), mode="edge")
        h, w = frames.shape[1:3]
    return np.ascontiguousarray(frames[:, : h // 2 * 2, : w // 2 * 2])


# --------------------------------------------------------------------------- windows


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
        audio = _fit_length(audio, int(round(duration * clip.sr)))
    return clip.replace(frames=frames, audio=audio, duration=max(clip.duration, duration))
