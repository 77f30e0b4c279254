"""Decode any file FFmpeg reads into a :class:`Clip` on one timeline (PyAV).

What a player does, the decoder does: it picks the streams a player would pick, shows the frames
upright, places audio and video by their timestamps, and never turns cover art into a video.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Union

import av
import numpy as np

from .clip import SAMPLE_RATE, Clip, MediaError, fit_length, no_audio, no_video
from .pair import PAIR_TOLERANCE_S, Pair
from .picture import VideoSink
from .sound import AudioSink

DEFAULT_MAX_SIDE = 480
DEFAULT_MAX_DURATION_S = 120.0
DEFAULT_MAX_BYTES = 500 * 1024 * 1024

Source = Union[str, os.PathLike, bytes, bytearray, BinaryIO, Pair]

# Leading bytes of containers we know; a file that starts like one of these but
# does not open is damaged, anything else is simply not media.
_MEDIA_SIGNATURES = (b"RIFF", b"OggS", b"\x1aE\xdf\xa3", b"ID3", b"fLaC", b"\xff\xfb", b"\xff\xf3")
_DEFAULT = av.stream.Disposition.default
_ATTACHED_PIC = av.stream.Disposition.attached_pic


def load_clip(
    source: Source,
    *,
    max_side: int | None = DEFAULT_MAX_SIDE,
    max_duration: float | None = DEFAULT_MAX_DURATION_S,
    truncate: bool = False,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    sr: int = SAMPLE_RATE,
    tolerance: float = PAIR_TOLERANCE_S,
) -> Clip:
    """Decode a clip from a path, bytes, a binary file object, or a :class:`~core.media.Pair` of files.

    Streams: of each kind, the one a player would use: the default-disposition stream, else the
    first; attached pictures (cover art) are not video, so a music file with a cover is audio-only.

    Timeline: time 0 is the first video frame (or the first audio sample when the audio starts more
    than one frame earlier, or there is no video). Audio that starts late is preceded by silence,
    audio before time 0 is cut; frames are placed by their timestamps and resampled to a constant
    rate (nearest earlier frame, as ``ffmpeg -vf fps``); the duration is the end of the last frame.
    Frames are upright (display rotation applied as ``ffmpeg`` autorotate) and transparency is
    composited over black (:mod:`core.media.picture`). Audio is mono without DC offset; stereo that
    cancels when averaged keeps its louder channel (:mod:`core.media.sound`).

    A pair (audio and video kept in separate files, :mod:`core.media.pair`): the frames come from the video
    file and the sound from the audio file (a sound track inside the video file is not used), each on its
    own timeline from its own first timestamp (its time 0 as above), so the two start together. Their
    durations are checked: more than ``tolerance`` apart, they are not one recording (a
    :class:`MediaError` naming both files); within it, the sound is cut or padded with silence to the
    video's duration.

    Parameters
    ----------
    source : path, bytes, file object or Pair
        Any container FFmpeg reads; audio-only and video-only files are valid.
    max_side : int or None
        Frames whose longer side exceeds this (pixels) are downscaled while decoding.
    max_duration : float or None
        Clips longer than this (seconds) are refused, or cut when ``truncate``.
    truncate : bool
        Keep the first ``max_duration`` seconds of a long clip instead of refusing it.
    max_bytes : int or None
        Files larger than this are refused before decoding.
    sr : int
        Output sample rate (Hz) of the mono audio.
    tolerance : float
        For a pair: the largest difference (s) between the two files' durations that is still one recording.

    Returns
    -------
    Clip
        ``metadata`` holds ``container``, ``duration`` (declared, s), ``video_codec``, ``width``,
        ``height`` (display size, px), ``rotation`` (degrees counterclockwise), ``fps`` (declared),
        ``variable_frame_rate``, ``audio_codec``, ``sample_rate``, ``channels``, ``downmix``,
        ``audio_offset`` (s the audio starts after the video; negative: before), ``video_stream`` and
        ``audio_stream`` (indices used), ``other_video_streams``, ``other_audio_streams`` (counts),
        ``attached_pictures`` (cover art left out). A pair adds ``video_source`` and ``audio_source`` (the two
        paths), ``audio_duration`` and ``video_duration`` (s, each file's own decoded length) and
        ``video_file_audio`` (whether the video file has a sound track of its own, left out); its
        ``container`` names both containers (``"flv + wav"``) and ``audio_offset`` is 0.

    Raises
    ------
    MediaError
        Empty, non-media, damaged, too large or too long input, no audio and no
        video track, or a codec this FFmpeg cannot decode.
    """
    if isinstance(source, Pair):
        return _load_pair(source, max_side, max_duration, truncate, max_bytes, sr, tolerance)
    return _load_one(source, max_side, max_duration, truncate, max_bytes, sr, ("video", "audio"))


def _load_one(source, max_side, max_duration, truncate, max_bytes, sr, kinds) -> Clip:
    data = _open_source(source, max_bytes)
    try:
        container = av.open(data, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise _open_error(data) from exc
    with container:
        return _decode_container(container, max_side, max_duration, truncate, sr, kinds)


def _load_pair(pair: Pair, max_side, max_duration, truncate, max_bytes, sr, tolerance) -> Clip:
    """Frames from the video file, sound from the audio file, each from its own start; durations checked."""
    parts = {}
    for kind, path in (("video", pair.video), ("audio", pair.audio)):
        try:
            parts[kind] = _load_one(path, max_side, max_duration, truncate, max_bytes, sr, (kind,))
        except MediaError as exc:
            raise MediaError(f"{str(exc).rstrip('.')} (the {kind} file {path.name} of the pair).") from exc
        has = parts[kind].has_video if kind == "video" else parts[kind].has_audio
        if not has:
            raise MediaError(f"The {kind} file {path.name} of the pair has no {kind} track.")
    video, audio = parts["video"], parts["audio"]
    gap = audio.duration - video.duration
    if abs(gap) > tolerance:
        raise MediaError(f"The video file {pair.video.name} lasts {video.duration:.2f} s and the audio file "
                         f"{pair.audio.name} {audio.duration:.2f} s: more than {tolerance:g} s apart, so they are "
                         "not one recording.")
    meta_v, meta_a = video.metadata, audio.metadata
    metadata = {**meta_v, **{k: meta_a.get(k) for k in ("audio_codec", "sample_rate", "channels", "downmix",
                                                         "audio_stream", "other_audio_streams")},
                "container": f"{meta_v.get('container')} + {meta_a.get('container')}", "audio_offset": 0.0,
                "video_source": str(pair.video), "audio_source": str(pair.audio),
                "audio_duration": round(audio.duration, 4), "video_duration": round(video.duration, 4), "video_file_audio": bool(meta_v.get("has_audio_track"))}
    metadata.pop("has_audio_track", None)
    samples = fit_length(audio.audio, int(round(video.duration * sr)))
    return video.replace(audio=samples, sr=sr, metadata=metadata)


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


def choose_stream(streams):
    """The stream a player uses among ``streams`` of one kind: the default-disposition one, else the
    first; never an attached picture. ``(stream or None, others, attached_pictures)``."""
    pictures = [s for s in streams if s.disposition & _ATTACHED_PIC]
    usable = [s for s in streams if not s.disposition & _ATTACHED_PIC]
    chosen = next((s for s in usable if s.disposition & _DEFAULT), usable[0] if usable else None)
    return chosen, max(0, len(usable) - 1), len(pictures)


def _decode_container(container, max_side, max_duration, truncate, sr, kinds=("video", "audio")) -> Clip:
    video_stream, other_video, pictures = choose_stream(container.streams.video)
    audio_stream, other_audio, _ = choose_stream(container.streams.audio)
    left_out = {}
    if "audio" not in kinds:  # the video file of a pair: its own sound track is not used
        left_out["has_audio_track"] = audio_stream is not None
        audio_stream = None
    if "video" not in kinds:  # the audio file of a pair
        video_stream = None
    if video_stream is None and audio_stream is None:
        raise MediaError("The file has neither an audio nor a video track." if len(kinds) == 2 else
                         f"The file has no {kinds[0]} track.")
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

    video = VideoSink(video_stream, max_side) if video_stream is not None else None
    audio = AudioSink(audio_stream, sr) if audio_stream is not None else None
    try:
        finished = _demux(container, video_stream, audio_stream, video, audio, limit, max_duration)
        samples, downmix = audio.result(flush=finished) if audio else (no_audio(), None)
    except av.error.FFmpegError as exc:
        raise MediaError("The file is damaged or truncated, so it could not be decoded.") from exc

    has_frames = video is not None and bool(video.frames)
    if video is not None and not has_frames and audio is not None and samples.size == 0:
        raise MediaError("The file is damaged or truncated: no audio or video could be decoded.")
    if video is not None and not has_frames and audio is None:
        raise MediaError("The file is damaged or truncated: no video frames could be decoded.")
    if audio is not None and samples.size == 0 and video is None:
        raise MediaError("The file is damaged or truncated: no audio could be decoded.")

    t0 = _timeline_start(video if has_frames else None, audio if samples.size else None)
    frames, fps = video.result(t0, limit) if has_frames else (no_video(), 0.0)
    if samples.size:
        lead = int(round((audio.start - t0) * sr))
        samples = np.pad(samples, (lead, 0)) if lead > 0 else samples[-lead:]
    duration = frames.shape[0] / fps if has_frames else samples.size / sr
    if limit is not None:
        duration = min(duration, limit)
    if declared and duration < 0.5 * min(declared, limit or declared):
        raise MediaError("The file is damaged or truncated: it ends long before its stated length.")
    if samples.size:
        samples = fit_length(samples, int(round(duration * sr)))

    metadata = {"container": container.format.name, "duration": declared, **left_out}
    if video_stream is not None:
        metadata.update(_video_metadata(video_stream, video, fps), video_stream=video_stream.index,
                        other_video_streams=other_video)
    if pictures:
        metadata["attached_pictures"] = pictures
    if audio_stream is not None:
        cc = audio_stream.codec_context
        offset = (audio.start - (video.start if has_frames else audio.start)) if audio.start is not None else None
        metadata.update(audio_codec=cc.name, sample_rate=cc.sample_rate, channels=cc.channels, downmix=downmix,
                        audio_offset=None if offset is None else round(offset, 4),
                        audio_stream=audio_stream.index, other_audio_streams=other_audio)
    return Clip(frames=frames, fps=fps, audio=samples, sr=sr, duration=float(duration), metadata=metadata)


def decoding_notes(metadata: dict) -> list[str]:
    """Plain sentences on what decoding chose or changed for a clip (from :attr:`Clip.metadata`):
    the streams used when there was a choice, cover art left out, rotation, variable frame rate,
    an audio offset kept in sync, a downmix that kept one channel. Empty for a plain file."""
    notes = []
    if metadata.get("audio_source"):
        video, audio = Path(metadata["video_source"]).name, Path(metadata["audio_source"]).name
        gap = metadata["audio_duration"] - metadata["video_duration"]
        notes.append(f"The picture comes from {video} and the sound from {audio}, both from their own start"
                     + (f"; the sound, {abs(gap):.2f} s {'longer' if gap > 0 else 'shorter'}, was "
                        f"{'cut' if gap > 0 else 'padded with silence'} to the picture's length" if abs(gap) >= 0.01
                        else "") + "."
                     + (f" The sound track inside {video} is not used." if metadata.get("video_file_audio") else ""))
    others = {kind: metadata.get(f"other_{kind}_streams", 0) for kind in ("video", "audio")}
    if any(others.values()):
        used = [f"{kind} stream {metadata[f'{kind}_stream']}" for kind in ("video", "audio")
                if metadata.get(f"{kind}_stream") is not None]
        extra = [f"{n} other {kind} stream{'s' if n > 1 else ''}" for kind, n in others.items() if n]
        notes.append(f"Used {' and '.join(used)} (the default, else the first); the file has "
                     f"{' and '.join(extra)}, left out.")
    if metadata.get("attached_pictures"):
        notes.append("The file's cover art is a still picture, not video: the clip is audio only.")
    if metadata.get("rotation"):
        notes.append(f"Stored rotated ({metadata['rotation']}°); shown and analysed upright.")
    if metadata.get("variable_frame_rate"):
        notes.append("Variable frame rate: frames placed by their timestamps at a constant rate.")
    offset = metadata.get("audio_offset")
    if offset is not None and abs(offset) >= 0.05:
        notes.append(f"The audio starts {abs(offset):.2f} s {'after' if offset > 0 else 'before'} the picture; "
                     "both are kept in sync on one timeline.")
    if str(metadata.get("downmix", "")).startswith("louder"):
        notes.append("The stereo channels cancel when averaged (opposite phase); the louder channel is used.")
    return notes


def _timeline_start(video: VideoSink | None, audio: AudioSink | None) -> float:
    """Time 0 of the clip: the first frame, unless the audio starts more than one frame earlier."""
    if video is None:
        return audio.start if audio is not None else 0.0
    if audio is not None and audio.start is not None and audio.start < video.start - 1.0 / video.rate():
        return audio.start
    return video.start


def _video_metadata(stream, video: VideoSink, fps: float) -> dict:
    cc = stream.codec_context
    width, height = video.display_size or (cc.width, cc.height)
    rate = stream.average_rate or stream.guessed_rate
    return dict(video_codec=cc.name, width=width, height=height, fps=float(rate) if rate else None,
                rotation=video.rotation, variable_frame_rate=video.variable_rate())


def _declared_duration(container, video_stream, audio_stream) -> float | None:
    for stream in (video_stream, audio_stream):
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _demux(container, video_stream, audio_stream, video, audio, limit, max_duration) -> bool:
    """One demuxing pass over both streams; stops at ``limit`` seconds, refuses past ``max_duration``.
    Returns whether the file was read to its end."""
    sinks = {s.index: k for s, k in ((video_stream, video), (audio_stream, audio)) if s is not None}
    if video_stream is not None:
        video_stream.thread_type = "AUTO"
    for packet in container.demux(*[s for s in (video_stream, audio_stream) if s is not None]):
        sink = sinks[packet.stream.index]
        for frame in packet.decode():
            if limit is not None and sink.seconds >= limit:
                break
            sink.add(frame)
        seconds = [k.seconds for k in sinks.values()]
        if limit is not None and min(seconds) >= limit:
            return False
        if limit is None and max_duration is not None and max(seconds) > max_duration + 1.0:
            raise MediaError(f"The clip is longer than the {max_duration:.0f} s limit.")
    return True
