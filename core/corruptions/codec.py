"""Kinetics-C's codec and transmission corruptions: the clip encoded with FFmpeg's encoders (PyAV), damaged, decoded.

Source: Mini Kinetics-C (Yi et al., "Benchmarking the robustness of spatial-temporal models against
corruptions", NeurIPS 2021 Datasets and Benchmarks), github.com/Newbeeyoung/Video-Corruption-Robustness:
``create_mini_ssv2_c.py`` (``bit_error``, ``h264_crf``, ``h265_crf``; imported by
``create_mini_kinetics_c.py``), ``create_mini_kinetics_c.py`` (``frame_rate``) and its submodule
github.com/Newbeeyoung/packet-loss-simulation (``packet_loss``). The reference runs the ``ffmpeg`` CLI on
the source files; here the same operations run on the clip in memory:

- ``h264_crf``: ``ffmpeg -vcodec libx264 -crf C`` (C = 23, 30, 37, 44, 51). Here: libx264 at CRF C,
  preset medium.
- ``h265_crf``: ``ffmpeg -vcodec libx265 -crf C`` (C = 27, 33, 39, 45, 51). Here: libx265 at CRF C,
  preset medium.
- ``bit_error``: ``ffmpeg -c copy -bsf noise=C`` on the source file (C = 100000, 50000, 30000, 20000,
  10000). Here: the clip as H.264 at libx264's defaults in MP4, each byte of its packets replaced
  with probability 1/C, as FFmpeg's ``noise`` filter does (:func:`noise_bytes`).
- ``packet_loss``: H.264 (``ffmpeg -f h264``) streamed over UDP through a Mininet link that loses C %
  of its packets (C = 1, 2, 3, 4, 6). Here: the clip as H.264 at libx264's defaults; each access unit
  in UDP payloads of 1,472 bytes (FFmpeg's ``pkt_size``), each lost with probability C %
  (:func:`lose_datagrams`).
- ``frame_rate``: ``ffmpeg -vcodec libx265 -fps C`` (C = 20, 16, 12, 9, 6). Here: C frames a second
  (the rule of ``frame_drop``) in libx265 at its default CRF 28, each held until the next.

Where this differs from the reference, and why:

- ``frame_rate``: ``-fps`` is not an ``ffmpeg`` option (``ffmpeg`` 5.1 stops with "Unrecognized option
  'fps'"), so the command as published writes nothing; the paper's description, the conversion to C
  frames a second (``-r C``), is what is done. C is in frames a second, for Kinetics' 30 fps sources:
  a clip at or below C fps keeps every frame (only the libx265 encode remains), so on a 16 fps clip
  severities 1 (20 fps) and 2 (16 fps) are the same.
- ``bit_error``: the reference damages the source file's own stream (``-c copy``); a clip here is
  decoded frames, so it is first encoded as H.264 at FFmpeg's libx264 defaults (CRF 23, preset
  medium) in MP4 (length-prefixed NAL units: a hit on a length field loses the rest of the packet,
  as in an MP4 file). ``noise`` replaces bytes (with the low byte of its counter, so multiples of
  ``gcd(C, 256)``), it does not flip single bits; the same is done here, drawn from ``rng``
  instead of ``noise``'s content-driven counter (:func:`noise_bytes`).
- ``packet_loss``: the reference converts the source to H.264 and the sender re-encodes it (both at
  libx264's defaults); here it is encoded once. FFmpeg's UDP output sends each encoded packet in
  payloads of at most 1,472 bytes; Mininet's link (netem) loses each with probability C %. The
  receiver here keeps each access unit's surviving payloads together, with its timestamp (as an RTP
  receiver would), rather than re-parsing a byte stream.

The encoders are the ones in PyAV's wheel (``av==18.1.0`` in requirements.txt: libx264 of x264 core 165,
libx265 of x265 4.2), so no system FFmpeg is needed.

Common to all five (:mod:`core.corruptions.transcode`): frames go to 4:2:0 YUV (BT.601, FFmpeg's
default) and back; odd sides are edge-padded for the encoder and cropped after decoding, so the
shape is kept (the reference crops the odd row off), and libx265's pictures are padded to at least
72 px a side (libx265 4.2 misbehaves on smaller ones); the encoders run at FFmpeg's defaults as the
reference's commands leave them (preset medium), on one thread (libx265: :data:`X265_PARAMS`), so a
clip gives the same bitstream on every run, and on every machine with the same x264 / x265 builds
(PyAV's wheel, pinned in requirements.txt); FFmpeg's ``h264`` / ``hevc`` decoders decode with their
default error concealment, and a frame they give no picture for shows the last picture decoded, as
a player shows it (black before the first). The output has as many frames as the input.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .transcode import decode, encode
from .video import check_frames

UDP_PAYLOAD_BYTES = 1472  # FFmpeg's udp protocol: default pkt_size, the largest datagram payload it sends
PRESET = "medium"         # x264's and x265's default preset, which the reference's ffmpeg commands use
X264_DEFAULT_CRF = 23
X265_DEFAULT_CRF = 28
X265_PARAMS = "log-level=none:pools=none:frame-threads=1"  # quiet; no thread pool, one frame thread: deterministic

# --------------------------------------------------------------------------- the corruptions


def h264_crf(frames: np.ndarray, *, crf: int, fps: float, rng: np.random.Generator,
             preset: str = PRESET) -> np.ndarray:
    """The clip encoded as H.264 (libx264) at constant rate factor ``crf`` (0-51, higher is coarser), decoded.

    Parameters
    ----------
    frames : np.ndarray
        uint8 ``(T, H, W, 3)`` RGB, any size.
    crf : int
        x264's constant rate factor; Kinetics-C's table is 23, 30, 37, 44, 51.
    fps : float
        The clip's frame rate (the stream's time base).
    rng : np.random.Generator
        Unused: the encode is deterministic.
    preset : str
        x264 preset; FFmpeg's default ``medium``, as in the reference.

    Returns
    -------
    np.ndarray
        uint8 ``(T, H, W, 3)``.
    """
    check_frames(frames)
    packets, _ = encode(frames, "libx264", fps, {"crf": str(crf), "preset": preset})
    return decode(packets, frames.shape, "libx264")


def h265_crf(frames: np.ndarray, *, crf: int, fps: float, rng: np.random.Generator,
             preset: str = PRESET) -> np.ndarray:
    """The clip encoded as H.265/HEVC (libx265) at constant rate factor ``crf`` (0-51), decoded.

    Kinetics-C's table is 27, 33, 39, 45, 51. Shapes and arguments as :func:`h264_crf`; libx265 runs
    with :data:`X265_PARAMS` (one thread, no thread pool) so the bitstream does not depend on the machine.
    """
    check_frames(frames)
    packets, _ = encode(frames, "libx265", fps, {"crf": str(crf), "preset": preset, "x265-params": X265_PARAMS})
    return decode(packets, frames.shape, "libx265")


def bit_error(frames: np.ndarray, *, amount: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Bit errors in a stored or transmitted H.264 file: one byte in ``amount`` of its packets replaced.

    The clip is encoded at libx264's defaults (CRF 23, preset medium) into an MP4 in memory, each
    demuxed packet goes through :func:`noise_bytes` (FFmpeg's ``noise`` bitstream filter with
    ``amount``; Kinetics-C: 100000, 50000, 30000, 20000, 10000) and the damaged packets are decoded.

    Parameters
    ----------
    frames : np.ndarray
        uint8 ``(T, H, W, 3)`` RGB, any size.
    amount : int
        Bytes per replaced byte, on average (FFmpeg ``noise``'s ``amount``), >= 1.
    fps : float
        The clip's frame rate.
    rng : np.random.Generator
        Draws which bytes are replaced and by what.

    Returns
    -------
    np.ndarray
        uint8 ``(T, H, W, 3)``; undecodable frames hold the last decoded one (black before the first).

    Raises
    ------
    ValueError
        ``amount`` below 1.
    """
    check_frames(frames)
    packets, extradata = encode(frames, "libx264", fps, {"crf": str(X264_DEFAULT_CRF), "preset": PRESET},
                                 container="mp4")
    damaged = noise_bytes([data for data, _, _ in packets], amount=amount, rng=rng)
    packets = [(data, pts, dts) for data, (_, pts, dts) in zip(damaged, packets)]
    return decode(packets, frames.shape, "libx264", extradata=extradata)


def packet_loss(frames: np.ndarray, *, loss_percent: float, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Streaming over a lossy network: the clip's H.264 stream sent in UDP datagrams, ``loss_percent`` % lost.

    The clip is encoded at libx264's defaults (CRF 23, preset medium) as a raw H.264 stream (parameter
    sets in band, as ``ffmpeg -f h264``); each encoded packet is cut into :data:`UDP_PAYLOAD_BYTES`
    datagrams and each is lost independently (:func:`lose_datagrams`; Kinetics-C: 1, 2, 3, 4, 6 %);
    what arrives of each access unit is decoded. A lost first datagram loses the parameter sets, and
    with them every frame up to the next keyframe (x264's default: every 250 frames).

    Parameters
    ----------
    frames : np.ndarray
        uint8 ``(T, H, W, 3)`` RGB, any size.
    loss_percent : float
        Probability, in percent (0-100), that a datagram is lost.
    fps : float
        The clip's frame rate.
    rng : np.random.Generator
        Draws which datagrams are lost.

    Returns
    -------
    np.ndarray
        uint8 ``(T, H, W, 3)``; undecodable frames hold the last decoded one (black before the first).
    """
    check_frames(frames)
    packets, _ = encode(frames, "libx264", fps, {"crf": str(X264_DEFAULT_CRF), "preset": PRESET})
    arrived, _ = lose_datagrams([data for data, _, _ in packets], loss_percent=loss_percent, rng=rng)
    kept = [(data, pts, dts) for data, (_, pts, dts) in zip(arrived, packets) if data]
    return decode(kept, frames.shape, "libx264")


def frame_rate(frames: np.ndarray, *, target_fps: float, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Frame-rate conversion: the clip at ``target_fps`` frames a second in H.265 (libx265 defaults), as shown.

    Frames are due at times ``k / target_fps`` up to the last frame's time; each is the first frame at
    or after its time (the rule of ``frame_drop``). These ``floor((T - 1) * target_fps / fps) + 1``
    frames are encoded at ``target_fps`` by libx265 at its default CRF 28, decoded, and each is held
    until the next is due. At or above the clip's own rate every frame is kept (and encoded).
    Kinetics-C: 20, 16, 12, 9, 6 fps.

    Parameters
    ----------
    frames : np.ndarray
        uint8 ``(T, H, W, 3)`` RGB, any size.
    target_fps : float
        Frames a second after conversion, > 0.
    fps : float
        The clip's frame rate.
    rng : np.random.Generator
        Unused: the conversion is deterministic.

    Returns
    -------
    np.ndarray
        uint8 ``(T, H, W, 3)`` with ``floor((T - 1) * target_fps / fps) + 1`` distinct frames (``T``
        when ``target_fps >= fps``).

    Raises
    ------
    ValueError
        ``target_fps`` not above 0.
    """
    check_frames(frames)
    if not target_fps > 0:
        raise ValueError(f"target_fps must be above 0 frames a second; got {target_fps!r}.")
    shown = held_frames(frames.shape[0], fps=fps, target_fps=target_fps)
    kept = np.unique(shown)                          # the frames delivered, in order
    rate = target_fps if 0 < target_fps < fps else (fps if fps > 0 else target_fps)
    options = {"crf": str(X265_DEFAULT_CRF), "preset": PRESET, "x265-params": X265_PARAMS}
    packets, _ = encode(frames[kept], "libx265", rate, options)
    decoded = decode(packets, (kept.size,) + frames.shape[1:], "libx265")
    return decoded[np.searchsorted(kept, shown)]


# --------------------------------------------------------------------------- the damage, on their own


def held_frames(t: int, *, fps: float, target_fps: float) -> np.ndarray:
    """Index of the frame shown at each of ``t`` frames when only ``target_fps`` frames a second are delivered.

    Deliveries are due at ``k / target_fps`` s; each is the first frame at or after its time
    (``frame_drop``'s rule). ``int`` array of shape ``(t,)``; ``arange(t)`` when ``target_fps >= fps``.
    """
    if fps <= 0 or target_fps >= fps:
        return np.arange(t)
    # the small tolerances keep whole-number ratios exact (30 fps -> 6: frames 0, 0, 0, 0, 0, 5, ...)
    due = np.floor(np.arange(t) * (target_fps / fps) + 1e-9)
    return np.ceil(due * (fps / target_fps) - 1e-9).astype(int)


def noise_bytes(payloads: Sequence[bytes], *, amount: int, rng: np.random.Generator) -> list[bytes]:
    """``payloads`` with each byte replaced with probability ``1 / amount``, as FFmpeg's ``noise`` filter.

    FFmpeg's ``noise`` bitstream filter (``libavcodec/noise_bsf.c``; ``bsf/noise.c`` since 6.1) adds
    each byte plus one to an unsigned counter and, when the counter is a multiple of ``amount``,
    replaces the byte with the counter's low byte: one byte in ``amount`` on average, replaced by a
    multiple of ``gcd(amount, 256)``. Here the hits are drawn from ``rng`` (each byte independently)
    and the new value uniformly among those multiples (it may equal the old one, as in ``noise``);
    with the same seed, a smaller ``amount`` hits the same bytes and more.

    Parameters
    ----------
    payloads : sequence of bytes
        Packet payloads, in stream order.
    amount : int
        Bytes per replaced byte, on average, >= 1.
    rng : np.random.Generator
        Draws the hits and their values.

    Returns
    -------
    list of bytes
        The damaged payloads, same lengths.

    Raises
    ------
    ValueError
        ``amount`` below 1.
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, np.integer)) or amount < 1:
        raise ValueError(f"amount must be a whole number of bytes >= 1; got {amount!r}.")
    sizes = [len(p) for p in payloads]
    data = np.frombuffer(b"".join(payloads), np.uint8).copy()
    # every byte's draw and new value come first, so that with the same seed a smaller amount hits the same
    # bytes (with the same values, up to the multiple) and more
    hit = rng.random(data.size) < 1.0 / amount
    value = rng.integers(0, 256, data.size, dtype=np.uint8)
    data[hit] = value[hit] & np.uint8(256 - math.gcd(int(amount), 256))  # down to a multiple of the gcd (a power of 2)
    return [chunk.tobytes() for chunk in np.split(data, np.cumsum(sizes)[:-1])]


def lose_datagrams(payloads: Sequence[bytes], *, loss_percent: float, rng: np.random.Generator,
                   datagram_bytes: int = UDP_PAYLOAD_BYTES) -> tuple[list[bytes], np.ndarray]:
    """What arrives of each packet sent over UDP when each datagram is lost with probability ``loss_percent`` %.

    Each payload is sent as ``ceil(len / datagram_bytes)`` datagrams (FFmpeg's udp output flushes
    after every packet, so no datagram spans two); the survivors of each are joined in order.

    Parameters
    ----------
    payloads : sequence of bytes
        Packet payloads, in sending order.
    loss_percent : float
        Loss probability per datagram, in percent (0-100).
    rng : np.random.Generator
        One uniform draw per datagram, in sending order (so at a higher ``loss_percent`` with the same
        seed the same datagrams and more are lost).
    datagram_bytes : int
        Largest datagram payload, in bytes.

    Returns
    -------
    arrived : list of bytes
        Per payload, its surviving bytes (``b""`` when all its datagrams were lost).
    lost : np.ndarray
        bool ``(n_datagrams,)``: which datagrams were lost, in sending order.

    Raises
    ------
    ValueError
        ``loss_percent`` outside 0-100, or ``datagram_bytes`` below 1.
    """
    if not 0 <= loss_percent <= 100:
        raise ValueError(f"loss_percent must be between 0 and 100; got {loss_percent!r}.")
    if datagram_bytes < 1:
        raise ValueError(f"datagram_bytes must be at least 1; got {datagram_bytes!r}.")
    counts = [max(1, -(-len(p) // datagram_bytes)) for p in payloads]
    lost = rng.random(sum(counts)) < loss_percent / 100.0
    arrived, start = [], 0
    for payload, n in zip(payloads, counts):
        gone = lost[start : start + n]
        arrived.append(b"".join(payload[i * datagram_bytes : (i + 1) * datagram_bytes]
                                for i in range(n) if not gone[i]))
        start += n
    return arrived, lost
