"""Tests for core.corruptions.codec: Kinetics-C's packet_loss, bit_error, h264_crf, h265_crf and frame_rate."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from core import corruptions as C
from core.corruptions import codec, transcode
from core.media import Clip

NAMES = ("packet_loss", "bit_error", "h264_crf", "h265_crf", "frame_rate")
STOCHASTIC = ("packet_loss", "bit_error")


def scene(side: int = 128, t: int = 32, *, fine: float = 0.0, width: int | None = None, seed: int = 0) -> np.ndarray:
    """``t`` frames of a smooth colour texture panning 2 px a frame and brightening, plus ``fine`` grain."""
    rng = np.random.default_rng(seed)
    width = width or side
    canvas = gaussian_filter(rng.random((side, width + 2 * t, 3)), sigma=(side / 32, side / 32, 0), mode="wrap")
    canvas = 180 * (canvas - canvas.min()) / np.ptp(canvas) + fine * rng.random(canvas.shape)
    return np.stack([canvas[:, 2 * i : 2 * i + width] + 30 + i for i in range(t)]).clip(0, 255).astype(np.uint8)


def clip_of(frames: np.ndarray, fps: float = 16.0) -> Clip:
    return Clip(frames=frames, fps=fps, audio=np.zeros(int(frames.shape[0] / fps * 16_000), np.float32),
                sr=16_000, duration=frames.shape[0] / fps)


def run(name: str, severity: int, frames: np.ndarray, fps: float = 16.0, seed: int = 0) -> np.ndarray:
    return C.apply(clip_of(frames, fps), name, severity, rng=np.random.default_rng(seed)).frames


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(255.0**2 / mse(a, b))


SMOOTH = scene()                    # (32, 128, 128, 3)
GRAINY = scene(fine=120.0)          # more bits: more bytes to lose or damage


# --------------------------------------------------------------------------- registry and contract


def test_registered_with_the_published_tables():
    tables = {"packet_loss": ("loss_percent", [1, 2, 3, 4, 6]),
              "bit_error": ("amount", [100000, 50000, 30000, 20000, 10000]),
              "h264_crf": ("crf", [23, 30, 37, 44, 51]),
              "h265_crf": ("crf", [27, 33, 39, 45, 51]),
              "frame_rate": ("target_fps", [20, 16, 12, 9, 6])}
    for name, (key, values) in tables.items():
        c = C.get(name)
        assert c.modality == "video" and "Yi et al." in c.source and c.stochastic == (name in STOCHASTIC)
        assert [c.params(s) for s in C.SEVERITIES] == [{key: v} for v in values]
        # the codec corruptions need the whole clip: the encoder predicts frames from other frames
        assert name not in C.FRAME_LOCAL and name not in C.FRAMEWISE


def test_encoders_are_in_the_pinned_wheel():
    assert {"libx264", "libx265", "h264", "hevc"} <= av.codec.codecs_available


@pytest.mark.parametrize("name", NAMES)
def test_odd_and_tiny_frames_keep_shape_dtype_and_frame_count(name):
    odd = scene(97, 9, width=161)                 # 4:2:0 encoders take even sides only
    tiny = scene(2, 3, width=3)
    for frames in (odd, tiny):
        for severity in (1, 5):
            out = run(name, severity, frames)
            assert out.shape == frames.shape and out.dtype == np.uint8
    # the padding is cropped off, not left in: the picture lines up with the clean one
    assert psnr(run(name, 1, odd), odd) > 20


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output_other_seed_other_output(name):
    a, b = run(name, 5, GRAINY, seed=0), run(name, 5, GRAINY, seed=0)
    assert np.array_equal(a, b)
    other = run(name, 5, GRAINY, seed=1)
    assert np.array_equal(a, other) != C.get(name).stochastic


def test_h265_is_deterministic_on_small_pictures():
    # libx265 4.2 gives run-to-run different streams at 64 px a side in one process (and corrupts its heap
    # at 40-48 px) unless padded: the same clip must give the same frames every time
    small = scene(64, 12)
    outs = [codec.h265_crf(small, crf=28, fps=16.0, rng=np.random.default_rng(0)) for _ in range(4)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    for side in (40, 48):
        out = codec.h265_crf(scene(side, 6), crf=28, fps=16.0, rng=np.random.default_rng(0))
        assert out.shape == (6, side, side, 3)


# --------------------------------------------------------------------------- damage grows with severity


@pytest.mark.parametrize("name", ["h264_crf", "h265_crf"])
def test_compression_damage_grows_with_severity_in_a_plausible_range(name):
    db = [psnr(run(name, s, SMOOTH), SMOOTH) for s in C.SEVERITIES]
    assert all(a > b for a, b in zip(db, db[1:])), db
    assert 36 < db[0] < 46 and 21 < db[-1] < 28, db  # CRF 23-27: good quality; CRF 51: coarse


def test_frame_rate_keeps_the_published_rate_worth_of_distinct_frames_at_kinetics_30_fps():
    frames = scene(96, 60)                      # 2 s at 30 fps, every frame different
    damage = []
    for s in C.SEVERITIES:
        out = run("frame_rate", s, frames, fps=30.0)
        target = C.get("frame_rate").params(s)["target_fps"]
        changes = np.any(out[1:] != out[:-1], axis=(1, 2, 3))
        assert changes.sum() + 1 == 59 * target // 30 + 1  # 40, 32, 24, 18, 12 frames: target_fps a second
        assert np.array_equal(np.flatnonzero(changes) + 1, np.unique(codec.held_frames(60, fps=30.0,
                                                                                      target_fps=target))[1:])
        damage.append(mse(out, frames))
    assert all(a < b for a, b in zip(damage, damage[1:])), damage


def test_frame_rate_at_or_above_the_clip_rate_keeps_every_frame():
    frames = scene(64, 16)
    out = codec.frame_rate(frames, target_fps=20, fps=16.0, rng=np.random.default_rng(0))
    assert np.all(np.any(out[1:] != out[:-1], axis=(1, 2, 3)))
    # the same frames as the H.265 encode at libx265's default CRF 28
    assert np.array_equal(out, codec.h265_crf(frames, crf=28, fps=16.0, rng=np.random.default_rng(0)))


def test_held_frames_follows_frame_drop():
    assert codec.held_frames(12, fps=30.0, target_fps=6).tolist() == [0] * 5 + [5] * 5 + [10] * 2
    assert codec.held_frames(5, fps=16.0, target_fps=16).tolist() == [0, 1, 2, 3, 4]
    # deliveries due up to the last frame's time: 30 frames at 29.97 fps span 0.968 s, so 9 at 9 fps
    for fps, count in [(29.97, 9), (25.0, 11), (12.5, 21)]:
        assert np.unique(codec.held_frames(30, fps=fps, target_fps=9)).size == count == int(29 * 9 / fps) + 1
    for fps, target in [(30.0, 20), (25.0, 9), (16.0, 12)]:
        index = np.arange(40, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 1, 3), np.uint8)
        shown = C.get("frame_drop").fn(index, fps=fps, effective_fps=target, rng=np.random.default_rng(0))
        assert np.array_equal(codec.held_frames(40, fps=fps, target_fps=target), shown[:, 0, 0, 0])


@pytest.mark.parametrize("name", STOCHASTIC)
def test_transmission_damage_grows_with_severity_on_average(name):
    # one realisation can miss every datagram or byte at a low rate: the mean over seeds grows
    damage = np.array([[mse(run(name, s, GRAINY, seed=seed), GRAINY) for s in C.SEVERITIES] for seed in range(6)])
    mean = damage.mean(axis=0)
    assert all(a < b for a, b in zip(mean, mean[1:])), mean.round(1)
    clean = mse(codec.h264_crf(GRAINY, crf=23, fps=16.0, rng=np.random.default_rng(0)), GRAINY)
    assert mean[0] >= clean and mean[-1] > 2 * clean


# --------------------------------------------------------------------------- the damage, on their own


def test_no_loss_and_no_noise_are_the_clean_h264_encode():
    clean = codec.h264_crf(SMOOTH, crf=23, fps=16.0, rng=np.random.default_rng(0))
    assert np.array_equal(codec.packet_loss(SMOOTH, loss_percent=0, fps=16.0, rng=np.random.default_rng(0)), clean)
    assert np.array_equal(codec.bit_error(SMOOTH, amount=10**12, fps=16.0, rng=np.random.default_rng(0)), clean)


def test_everything_lost_is_black_as_in_a_player():
    out = codec.packet_loss(SMOOTH[:8], loss_percent=100, fps=16.0, rng=np.random.default_rng(0))
    assert out.shape == SMOOTH[:8].shape and not out.any()


def test_lose_datagrams_cuts_udp_payloads_and_loses_about_the_rate():
    payloads = [bytes(range(256)) * 12, b"x" * 1472, b"y" * 10]   # 3,072 bytes: 1,472 + 1,472 + 128
    arrived, lost = codec.lose_datagrams(payloads, loss_percent=0, rng=np.random.default_rng(0))
    assert arrived == payloads and lost.shape == (5,) and not lost.any()
    arrived, lost = codec.lose_datagrams(payloads, loss_percent=100, rng=np.random.default_rng(0))
    assert arrived == [b"", b"", b""] and lost.all()
    many = [b"z" * 3000] * 4000                                     # 12,000 datagrams
    for percent in (1, 2, 3, 4, 6):
        arrived, lost = codec.lose_datagrams(many, loss_percent=percent, rng=np.random.default_rng(1))
        assert lost.mean() == pytest.approx(percent / 100, abs=0.007)  # 3 standard errors at 6 %
        sizes = {len(a) for a in arrived}
        assert sizes <= {3000, 3000 - 1472, 3000 - 56, 56, 1472, 1472 + 56, 0}
        assert sum(len(a) for a in arrived) == 3000 * 4000 - sum(
            (1472, 1472, 56)[i % 3] for i in np.flatnonzero(lost))
    # the same seed at a higher rate loses the same datagrams and more
    low = codec.lose_datagrams(many, loss_percent=2, rng=np.random.default_rng(5))[1]
    high = codec.lose_datagrams(many, loss_percent=6, rng=np.random.default_rng(5))[1]
    assert np.all(high[low])


def test_noise_bytes_hits_like_ffmpegs_noise_filter():
    """Against FFmpeg's own ``noise`` bitstream filter (PyAV) on the packets of an H.264 MP4."""
    frames = scene(160, 48, fine=200.0)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=16)
        stream.width, stream.height, stream.pix_fmt = 160, 160, "yuv420p"
        stream.options = {"crf": "10"}
        for i, f in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(f, format="rgb24")
            picture.pts = i
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    buffer.seek(0)
    amount = 250
    with av.open(buffer) as source:
        video = source.streams.video[0]
        packets = [p for p in source.demux(video) if p.size]
        clean = [bytes(p) for p in packets]
        bsf = av.bitstream.BitStreamFilterContext(f"noise=amount={amount}", video)
        theirs = [bytes(q) for p in packets for q in bsf.filter(p)]
    ours = codec.noise_bytes(clean, amount=amount, rng=np.random.default_rng(0))
    before = np.frombuffer(b"".join(clean), np.uint8)
    n = before.size
    assert n > 100_000
    for damaged in (theirs, ours):
        after = np.frombuffer(b"".join(damaged), np.uint8)
        assert after.size == n and [len(d) for d in damaged] == [len(c) for c in clean]
        changed = after != before
        # one byte in `amount` replaced (about 4.5 % sampling error here; a replacement may equal the old byte)
        assert changed.sum() == pytest.approx(n / amount, rel=0.15)
        assert set(np.unique(after[changed]) % 2) == {0}   # multiples of gcd(250, 256) = 2
    # the same seed and a larger amount: a subset of the bytes, with the same values down to multiples of 4
    fewer = np.frombuffer(b"".join(codec.noise_bytes(clean, amount=500, rng=np.random.default_rng(0))), np.uint8)
    more = np.frombuffer(b"".join(ours), np.uint8)
    hit = fewer != before
    assert 0 < hit.sum() < (more != before).sum() and np.array_equal(more[hit] & 0xFC, fewer[hit])


def test_bad_parameters_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="between 0 and 100"):
        codec.packet_loss(SMOOTH[:2], loss_percent=101, fps=16.0, rng=rng)
    with pytest.raises(ValueError, match="amount"):
        codec.bit_error(SMOOTH[:2], amount=0, fps=16.0, rng=rng)
    with pytest.raises(ValueError, match="target_fps"):
        codec.frame_rate(SMOOTH[:2], target_fps=0, fps=16.0, rng=rng)
    with pytest.raises(ValueError, match="uint8"):
        codec.h264_crf(SMOOTH.astype(np.float32), crf=23, fps=16.0, rng=rng)


def test_a_frame_without_a_picture_holds_the_last_one_as_in_a_player():
    frames = SMOOTH[:8]
    packets, _ = transcode.encode(frames, "libx264", 16.0, {"crf": "23", "x264-params": "bframes=0"})
    assert [pts for _, pts, _ in packets] == list(range(8))        # no reordering: packet k is frame k
    whole = transcode.decode(packets, frames.shape, "libx264")
    out = transcode.decode(packets[:5] + packets[6:], frames.shape, "libx264")  # frame 5 never arrives
    assert np.array_equal(out[:5], whole[:5]) and np.array_equal(out[5], out[4])
    late = transcode.decode(packets[3:], frames.shape, "libx264")   # no keyframe: nothing to show
    assert not late.any()


def test_colour_round_trip_and_padding():
    greys = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None, None, None], (256, 2, 2, 3))
    back = transcode.to_rgb(transcode.to_yuv420p(greys)).astype(int)
    assert np.abs(back - greys).max() <= 1                    # limited range: 220 luma levels for 256 greys
    # BT.601 limited range: black -> Y 16, white -> Y 235, chroma 128
    planes = transcode.to_yuv420p(np.stack([np.zeros((2, 2, 3)), np.full((2, 2, 3), 255)]).astype(np.uint8))
    assert planes[0].ravel().tolist() == [16] * 4 + [128, 128] and planes[1].ravel().tolist() == [235] * 4 + [128, 128]
    assert psnr(transcode.to_rgb(transcode.to_yuv420p(SMOOTH)), SMOOTH) > 40  # 4:2:0 on smooth colour
    assert transcode.padded(scene(97, 1, width=161), "libx264").shape == (1, 98, 162, 3)
    assert transcode.padded(scene(97, 1, width=161), "libx265").shape == (1, 98, 162, 3)
    assert transcode.padded(scene(40, 1, width=3), "libx265").shape == (1, 72, 72, 3)
