"""Encode clips as MP4 files a browser plays."""
from __future__ import annotations

import io
import os
import tempfile
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np

from .clip import Clip, MediaError


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


