"""Encode a clip's frames with FFmpeg's encoders in memory (PyAV) and decode packets back as a player shows them.

The machinery of :mod:`core.corruptions.codec`: between the two, a corruption damages the packets.

- Colour: frames are converted to 4:2:0 YUV with BT.601 limited-range coefficients (FFmpeg's
  default for untagged video), in numpy over the whole clip (swscale through PyAV costs ~2 ms a
  frame here), and back with bilinear chroma upsampling.
- Size: odd sides are edge-padded to even (4:2:0 needs them), and libx265's pictures to at least
  72 px a side (see :func:`padded`); :func:`decode` crops the padding off, so the shape is kept.
- Determinism: encoders run on one thread (an encoder's output depends on its thread count, which
  FFmpeg otherwise takes from the number of cores); so do decoders.
- Playback: a frame the decoder gives no picture for shows the last picture decoded, black before
  the first; broken packets are skipped and the decoder's default error concealment does the rest.
"""
from __future__ import annotations

import io
from fractions import Fraction
from typing import Sequence

import av
import numpy as np

Packets = list[tuple[bytes, int, int]]  # (payload, pts, dts) in decoding order; pts and dts count frames

DECODER = {"libx264": "h264", "libx265": "hevc"}
MIN_SIDE = {"libx264": 2, "libx265": 72}  # px; see padded()

# BT.601 limited range (FFmpeg's default matrix for untagged 4:2:0 video)
_RGB_TO_YUV = np.array([[0.256788, 0.504129, 0.097906],
                        [-0.148223, -0.290993, 0.439216],
                        [0.439216, -0.367788, -0.071427]], np.float32)
_YUV_OFFSET = np.array([16.0, 128.0, 128.0], np.float32)
_YUV_TO_RGB = np.linalg.inv(_RGB_TO_YUV.astype(np.float64)).astype(np.float32)


def padded(frames: np.ndarray, encoder: str) -> np.ndarray:
    """``frames`` (uint8 ``(T, H, W, 3)``) edge-padded at the bottom and right to sides ``encoder`` takes.

    4:2:0 needs even sides. libx265 4.2 (in PyAV 18's wheel) refuses pictures under 16 px a side,
    and on pictures with a side of 64 px or less it gives run-to-run different bitstreams within
    one process (seen at 64x64, 64x96, 128x64) or corrupts the heap (40x40, 48x48); from 66 px on
    (tested up to 270 px, square and not) it is deterministic. So its pictures are padded to at
    least :data:`MIN_SIDE` px a side.
    """
    t, h, w, _ = frames.shape
    low = MIN_SIDE[encoder]
    ph, pw = max(low, h + h % 2) - h, max(low, w + w % 2) - w
    return np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else frames


def to_yuv420p(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(T, H, W, 3)`` (even H, W) -> yuv420p uint8 ``(T, H * 3 // 2, W)``, planes as PyAV lays them."""
    t, h, w, _ = frames.shape
    rgb = [frames[..., c].astype(np.float32) for c in range(3)]                        # 3 x (T, H, W)
    # the matrix is linear, so chroma of the 2x2 mean is the 2x2 mean of chroma
    quarter = [0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) for x in rgb]
    out = np.empty((t, h * w * 3 // 2), np.uint8)
    ends = np.cumsum([0, h * w, h * w // 4, h * w // 4])
    for k, source in enumerate((rgb, quarter, quarter)):
        m = _RGB_TO_YUV[k]
        plane = m[0] * source[0] + m[1] * source[1] + m[2] * source[2] + (_YUV_OFFSET[k] + 0.5)
        out[:, ends[k] : ends[k + 1]] = np.clip(plane, 0, 255).reshape(t, -1)  # +0.5 then truncation: rounding
    return out.reshape(t, h * 3 // 2, w)


def _upsample2(c: np.ndarray) -> np.ndarray:
    """Bilinear 2x upsampling of float32 ``(T, h, w)`` chroma (samples centred between luma samples)."""
    for axis in (1, 2):
        n = c.shape[axis]
        before = np.take(c, np.r_[0, 0 : n - 1], axis)
        after = np.take(c, np.r_[1:n, n - 1], axis)
        up = np.empty(c.shape[:axis] + (2 * n,) + c.shape[axis + 1 :], np.float32)
        even = (slice(None),) * axis + (slice(0, None, 2),)
        odd = (slice(None),) * axis + (slice(1, None, 2),)
        up[even] = 0.75 * c + 0.25 * before
        up[odd] = 0.75 * c + 0.25 * after
        c = up
    return c


def to_rgb(planes: np.ndarray) -> np.ndarray:
    """yuv420p uint8 ``(T, H * 3 // 2, W)`` -> RGB uint8 ``(T, H, W, 3)``."""
    t, rows, w = planes.shape
    h = rows * 2 // 3
    flat = planes.reshape(t, -1)
    y = flat[:, : h * w].reshape(t, h, w).astype(np.float32) - _YUV_OFFSET[0]
    u = _upsample2(flat[:, h * w : h * w * 5 // 4].reshape(t, h // 2, w // 2).astype(np.float32) - _YUV_OFFSET[1])
    v = _upsample2(flat[:, h * w * 5 // 4 :].reshape(t, h // 2, w // 2).astype(np.float32) - _YUV_OFFSET[2])
    out = np.empty((t, h, w, 3), np.uint8)
    for k in range(3):
        m = _YUV_TO_RGB[k]
        out[..., k] = np.clip(m[0] * y + m[1] * u + m[2] * v + 0.5, 0, 255)  # +0.5 then truncation: rounding
    return out


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)


def _configure(ctx, width: int, height: int, fps: float, options: dict) -> None:
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base, ctx.framerate = 1 / _rate(fps), _rate(fps)
    ctx.thread_count = 1  # an encoder's output depends on its thread count
    ctx.options = options


def encode(frames: np.ndarray, encoder: str, fps: float, options: dict,
           container: str | None = None) -> tuple[Packets, bytes | None]:
    """Encode RGB ``frames`` (uint8 ``(T, H, W, 3)``, any size) with ``encoder`` (``libx264``, ``libx265``).

    Parameters
    ----------
    frames : np.ndarray
        uint8 ``(T, H, W, 3)``; padded with :func:`padded`.
    encoder : str
        A key of :data:`DECODER`.
    fps : float
        Frame rate of the stream (its time base; x264's and x265's rate control use it).
    options : dict
        The encoder's options as FFmpeg takes them (``crf``, ``preset``, ``x265-params``).
    container : str or None
        ``"mp4"``: muxed into an MP4 in memory and demuxed again, so packets are length-prefixed NAL
        units with the parameter sets in the extradata, as a file holds them. ``None``: the
        encoder's own packets (Annex B, parameter sets in band, as a raw ``.h264`` stream).

    Returns
    -------
    packets : list of (bytes, int, int)
        (payload, pts, dts) in decoding order, pts = the frame's index.
    extradata : bytes or None
        What a decoder needs besides the packets (with ``container``), else None.
    """
    yuv = to_yuv420p(padded(frames, encoder))                                        # (T, H*3/2, W)
    height, width = yuv.shape[1] * 2 // 3, yuv.shape[2]
    pictures = []
    for i, plane in enumerate(yuv):
        picture = av.VideoFrame.from_ndarray(plane, format="yuv420p")
        picture.pts = i
        pictures.append(picture)
    if container is None:
        ctx = av.CodecContext.create(encoder, "w")
        _configure(ctx, width, height, fps, options)
        encoded = [p for picture in pictures + [None] for p in ctx.encode(picture)]
        return [(bytes(p), p.pts, p.dts) for p in encoded], None
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(encoder, rate=_rate(fps))
        _configure(stream.codec_context, width, height, fps, options)
        for picture in pictures + [None]:
            out.mux(stream.encode(picture))
    buffer.seek(0)
    with av.open(buffer, "r") as source:
        stream = source.streams.video[0]
        to_index = stream.time_base * _rate(fps)                                     # stream ticks -> frames
        packets = [(bytes(p), round(p.pts * to_index), round(p.dts * to_index)) for p in source.demux(stream) if p.size]
        return packets, bytes(stream.codec_context.extradata or b"")


def decode(packets: Sequence[tuple[bytes, int, int]], shape: tuple, encoder: str,
           extradata: bytes | None = None) -> np.ndarray:
    """Decode packets of :func:`encode` (damaged or not) into ``shape``'s frames, as a player shows them.

    Parameters
    ----------
    packets : sequence of (bytes, int, int)
        (payload, pts, dts) in decoding order; some may be missing or broken.
    shape : tuple
        ``(T, H, W, 3)`` of the frames that were encoded.
    encoder : str
        The encoder that made them (its decoder is :data:`DECODER`'s).
    extradata : bytes or None
        As :func:`encode` returned it.

    Returns
    -------
    np.ndarray
        uint8 ``shape``. Broken packets are skipped (the decoder conceals what it can); frame ``i``
        shows the last picture decoded at or before it, black before the first; a picture of
        another size (a damaged header can announce one) is not one of this clip's.
    """
    t, h, w, _ = shape
    ctx = av.CodecContext.create(DECODER[encoder], "r")
    ctx.thread_count = 1
    if extradata:
        ctx.extradata = extradata
    size = padded(np.zeros((1, h, w, 3), np.uint8), encoder).shape[1:3]
    pictures: dict[int, np.ndarray] = {}
    for packet in [_packet(*p) for p in packets] + [None]:                          # None: drain the decoder
        try:
            decoded = ctx.decode(packet)
        except av.FFmpegError:  # a packet the decoder cannot use: the player moves on
            continue
        for picture in decoded:
            if picture.pts is not None and 0 <= picture.pts < t and picture.format.name == "yuv420p" \
                    and (picture.height, picture.width) == size:
                pictures[picture.pts] = picture.to_ndarray()
    if not pictures:
        return np.zeros(shape, np.uint8)
    order = sorted(pictures)
    rgb = to_rgb(np.stack([pictures[i] for i in order]))[:, :h, :w]                   # (n, H, W, 3)
    slot = np.searchsorted(order, np.arange(t), side="right") - 1                   # latest picture at or before
    out = rgb[np.maximum(slot, 0)]
    out[slot < 0] = 0
    return out


def _packet(payload: bytes, pts: int, dts: int) -> av.Packet:
    packet = av.Packet(payload)
    packet.pts, packet.dts = pts, dts
    return packet
