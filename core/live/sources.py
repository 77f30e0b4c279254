"""What a live monitor reads: a stream URL, a capture device, or a file replayed at its real rate.

``parse_source("rtsp://cam/1")``, ``parse_source("v4l2:/dev/video0+alsa:default")``,
``parse_source("file://clip.mp4")`` give a :class:`Source`: one or two :class:`Input` s (a camera
and a microphone are two FFmpeg inputs), each opened with PyAV by :func:`open_input`. Options are
the low-latency ones FFmpeg documents for each protocol (``ffmpeg-protocols``, ``ffmpeg-formats``):
a short stream analysis (1 s instead of 5 s), RTSP over TCP (no smeared frames from lost UDP
packets), a bigger UDP receive buffer that does not fail on overrun; PyAV's own timeouts bound the
open and every read on any protocol, so a silent stream is noticed within ``read_timeout``.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import av

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "tcp", "http", "https")
"""URL schemes read as live streams (reconnected with backoff when they drop)."""
DEVICE_FORMATS = {"v4l2": ("video4linux2", "video"), "alsa": ("alsa", "audio"), "pulse": ("pulse", "audio")}
"""Capture-device prefixes: FFmpeg input format and the kind of signal it gives."""

ANALYZE_US = 1_000_000  # stream analysis: 1 s (FFmpeg's default is 5 s)
PROBE_BYTES = 1_000_000

# Per-scheme options, from FFmpeg's protocol documentation (ffmpeg-protocols: rtsp, udp, rtmp).
_SCHEME_OPTIONS = {
    "rtsp": {"rtsp_transport": "tcp"},
    "rtsps": {"rtsp_transport": "tcp"},
    "udp": {"overrun_nonfatal": "1", "fifo_size": "100000", "buffer_size": str(4 << 20)},
    "rtp": {"buffer_size": str(4 << 20)},
    "rtmp": {"rtmp_live": "live", "rtmp_buffer": "100"},
    "rtmps": {"rtmp_live": "live", "rtmp_buffer": "100"},
    "http": {"reconnect": "0"},  # reconnecting is the monitor's job (with backoff and events)
    "https": {"reconnect": "0"},
}


class LiveError(ValueError):
    """A live source or rule cannot be used; the message is one plain sentence."""


@dataclass(frozen=True)
class Input:
    """One FFmpeg input: ``target`` (URL, path or device name) with its ``format`` and options."""

    target: str
    format: str | None = None
    options: dict = field(default_factory=dict)
    kinds: tuple[str, ...] = ("video", "audio")


@dataclass(frozen=True)
class Source:
    """A live source.

    ``kind`` is ``"stream"`` (a URL; reconnected with backoff when it drops), ``"device"`` (a camera
    and/or microphone) or ``"replay"`` (a file replayed at its real rate times ``speed``; with ``loop``
    it starts again at its end, else the monitor ends there).
    """

    kind: str
    inputs: tuple[Input, ...]
    label: str
    loop: bool = False
    speed: float = 1.0

    @property
    def live(self) -> bool:
        """Whether the source runs on the wall clock (streams, devices) rather than the file's own."""
        return self.kind != "replay"


def parse_source(text: str, *, replay: bool = False, loop: bool = False, speed: float = 1.0) -> Source:
    """The :class:`Source` named by ``text``.

    Parameters
    ----------
    text : a stream URL (``rtsp://``, ``rtmp://``, ``srt://``, ``udp://``, ``http://`` ...); a file
        (``file://PATH`` or a plain path, replayed); ``device`` (the first camera and microphone found);
        or devices joined by ``+``: ``v4l2:/dev/video0``, ``alsa:default``, ``pulse:default``.
    replay : read a file at its real rate (the only way a file is read; kept for clarity on the CLI).
    loop : start a replayed file again at its end.
    speed : replay rate (1.0: real time).

    Raises
    ------
    LiveError
        An unknown scheme, a missing file, no capture device, or a device FFmpeg cannot read here.
    """
    text = str(text).strip()
    if not text:
        raise LiveError("Name a source: a stream URL, a file to replay, or a capture device.")
    if speed <= 0:
        raise LiveError("The replay speed must be a positive number (1 is real time).")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in STREAM_SCHEMES:
        if replay:
            raise LiveError("--replay reads a file; a stream URL is read as it comes.")
        options = {"analyzeduration": str(ANALYZE_US), "probesize": str(PROBE_BYTES), **_SCHEME_OPTIONS.get(scheme, {})}
        return Source("stream", (Input(text, None, options),), text)
    if scheme == "file":
        text = text[len("file://"):]
    elif scheme:
        raise LiveError(f"Unknown source scheme '{scheme}://': use one of "
                        f"{', '.join(s + '://' for s in STREAM_SCHEMES)}, file://, or a capture device.")
    elif text == "device" or text.split(":", 1)[0] in DEVICE_FORMATS:
        return _device_source(text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise LiveError(f"No file named '{path}' was found, and '{text}' is not a stream URL "
                        f"(rtsp://, rtmp://, srt://, udp://, http://) or a capture device (v4l2:, alsa:, pulse:).")
    return Source("replay", (Input(str(path)),), path.name, loop=loop, speed=float(speed))


def _device_source(text: str) -> Source:
    if text == "device":
        found = capture_devices()
        cameras = [d for d in found if d.startswith("v4l2:")]
        mics = [d for d in found if not d.startswith("v4l2:")]
        if not found:
            raise LiveError(no_device_sentence())
        text = "+".join(([cameras[0]] if cameras else []) + ([mics[0]] if mics else []))
    inputs = []
    for part in text.split("+"):
        prefix, _, name = part.partition(":")
        if prefix not in DEVICE_FORMATS or not name:
            raise LiveError(f"'{part}' is not a capture device: write v4l2:/dev/videoN, alsa:NAME or pulse:NAME.")
        fmt, kind = DEVICE_FORMATS[prefix]
        if fmt not in av.formats_available:
            raise LiveError(f"The FFmpeg inside PyAV on this machine cannot read {prefix} devices ({fmt} input "
                            f"missing), so '{part}' cannot be opened; stream it instead (e.g. ffmpeg -f {prefix} "
                            f"-i {name} -f mpegts udp://127.0.0.1:5000) and watch udp://127.0.0.1:5000.")
        if prefix == "v4l2" and not Path(name).exists():
            raise LiveError(f"There is no camera at {name} on this machine.")
        options = {"sample_rate": "16000", "channels": "1"} if kind == "audio" else {}
        inputs.append(Input(name, fmt, options, (kind,)))
    return Source("device", tuple(inputs), text)


def capture_devices() -> list[str]:
    """Capture devices this machine has and PyAV's FFmpeg can read, as source strings
    (``v4l2:/dev/video0``, ``alsa:hw:0``, ``pulse:default``)."""
    found = []
    if "video4linux2" in av.formats_available:
        found += [f"v4l2:{p}" for p in sorted(glob.glob("/dev/video*"))]
    if "alsa" in av.formats_available and Path("/proc/asound/cards").is_file():
        for line in Path("/proc/asound/cards").read_text().splitlines():
            number = line.strip().split(" ", 1)[0]
            if number.isdigit() and glob.glob(f"/dev/snd/pcmC{number}D*c"):  # a capture PCM
                found.append(f"alsa:hw:{number}")
    if "pulse" in av.formats_available and (os.environ.get("PULSE_SERVER") or glob.glob("/run/user/*/pulse/native")):
        found.append("pulse:default")
    return found


def no_device_sentence() -> str:
    """Why there is no capture device to pick here, in one sentence."""
    missing = [name for name, fmt in (("V4L2 cameras", "video4linux2"), ("ALSA microphones", "alsa"))
               if fmt not in av.formats_available]
    why = f" (and its FFmpeg cannot read {' or '.join(missing)})" if missing else ""
    return (f"This machine has no camera or microphone that FFmpeg can capture from{why}: "
            f"watch a stream URL or replay a file instead.")


def open_input(item: Input, *, open_timeout: float, read_timeout: float):
    """``av.open`` of one input with its options; a read that waits longer than ``read_timeout`` s raises.

    Raises ``av.error.FFmpegError`` or ``OSError`` when the input cannot be opened.
    """
    kwargs = {"format": item.format} if item.format else {}
    return av.open(item.target, mode="r", options=dict(item.options), timeout=(open_timeout, read_timeout), **kwargs)


__all__ = ["STREAM_SCHEMES", "DEVICE_FORMATS", "LiveError", "Input", "Source", "parse_source", "capture_devices",
           "no_device_sentence", "open_input"]
