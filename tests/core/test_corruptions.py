"""Tests for core.corruptions: the whole registry x severities 1-5 x frame rates x frame sizes on synthetic clips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from scipy.ndimage import gaussian_filter

from core import corruptions as C
from core.corruptions import audio as A
from core.corruptions import video as V
from core.media import Clip, no_audio, no_video

ROOT = Path(__file__).resolve().parents[2]
SR = 16_000
ALL = C.names()
LEVELS = C.SEVERITIES
# Kinetics-C's codec corruptions re-encode the clip (seconds a call at 480 px); on these short clips a lost
# datagram or a replaced byte is rare (the same output at several levels or seeds), and frame_rate's 20-9 fps
# change nothing at 8 fps. tests/core/test_codec_corruptions.py checks them where their published behaviour
# shows: damage growing on average over seeds, frame rates at Kinetics' 30 fps.
CODEC = {"packet_loss", "bit_error", "h264_crf", "h265_crf", "frame_rate"}


def make_clip(t=16, h=48, w=64, seconds=1.0, fps=16.0, seed=0) -> Clip:
    """A textured scene that brightens steadily over time (so temporal damage grows with distance
    in time) and a broadband sound: two tones, noise and clicks (so filters and clipping bite)."""
    rng = np.random.default_rng(seed)
    smooth = gaussian_filter(rng.random((h, w, 3)), sigma=(3, 3, 0), mode="wrap")
    texture = (smooth - smooth.min()) / max(np.ptp(smooth), 1e-9)
    fine = rng.random((h, w, 3))
    ramp = np.arange(t)[:, None, None, None] * (60.0 / max(t - 1, 1))
    frames = (40 + 100 * texture + 20 * fine + ramp).clip(0, 255).astype(np.uint8)
    n = int(seconds * SR)
    tt = np.arange(n) / SR
    y = 0.2 * np.sin(2 * np.pi * 440 * tt) + 0.1 * np.sin(2 * np.pi * 5000 * tt) + 0.05 * rng.standard_normal(n)
    y[:: SR // 20] += 0.5
    return Clip(frames=frames, fps=fps, audio=y.astype(np.float32), sr=SR, duration=seconds)


CLIP = make_clip()
ODD = make_clip(t=5, h=37, w=53, seconds=0.5, fps=10.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def snr(clean: np.ndarray, noisy: np.ndarray) -> float:
    err = np.sum((noisy.astype(np.float64) - clean) ** 2)
    return float("inf") if err == 0 else 10 * np.log10(np.sum(clean.astype(np.float64) ** 2) / err)


def run(name, severity, clip=CLIP, seed=0) -> Clip:
    return C.apply(clip, name, severity, rng=np.random.default_rng(seed))


# --------------------------------------------------------------------------- registry


def test_registry_covers_the_issue_and_is_well_formed():
    required = {
        "video": ["gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "defocus_blur", "motion_blur",
                  "zoom_blur", "fog", "brightness", "contrast", "pixelate", "jpeg_compression", "occlusion",
                  "frame_drop", "frame_freeze", "black_frames", "video_off"],
        "audio": ["mute", "audio_gaussian_noise", "pink_noise", "wind", "audio_rain", "mains_hum", "clipping",
                  "lowpass", "dropout", "reverb", "bit_crush"],
        "audiovisual": ["av_desync", "av_rain", "smoke"],
    }
    for modality, keys in required.items():
        assert set(keys) <= set(C.names(modality))
    for name in ALL:
        c = C.get(name)
        assert c.name == name and c.modality in C.MODALITIES and c.source and c.doc
        assert len(c.severities) == 5 and all(isinstance(k, str) for k in c.severities[0])
    assert set(C.EVERYDAY) == {"mute", "blur", "noise"} and all(v in C.REGISTRY for v in C.EVERYDAY.values())


def test_labels_are_title_cased_and_name_the_modality_on_collisions():
    assert C.label("audio_gaussian_noise") == "Gaussian Noise (audio)"
    assert C.label("gaussian_noise") == "Gaussian Noise (video)"
    assert C.label("av_rain") == "Rain (audio-visual)"
    assert C.label("defocus_blur") == "Defocus Blur"
    assert C.label("jpeg_compression") == "JPEG Compression"
    assert len({C.label(n) for n in ALL}) == len(ALL)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="gaussian_noise"):
        C.get("blurr")
    with pytest.raises(ValueError):
        C.names("smell")


# --------------------------------------------------------------------------- contract over the registry


@pytest.mark.parametrize("severity", LEVELS)
@pytest.mark.parametrize("name", ALL)
def test_shape_dtype_range_kept(name, severity):
    for clip in (CLIP, ODD):
        out = run(name, severity, clip)
        assert out.frames.shape == clip.frames.shape and out.frames.dtype == np.uint8
        assert out.audio.shape == clip.audio.shape and out.audio.dtype == np.float32
        assert np.all(np.abs(out.audio) <= 1.0) and np.all(np.isfinite(out.audio))
        assert (out.fps, out.sr, out.duration) == (clip.fps, clip.sr, clip.duration)


@pytest.mark.parametrize("name", ALL)
def test_deterministic_under_a_seed(name):
    a, b, other = run(name, 3, seed=7), run(name, 3, seed=7), run(name, 3, seed=8)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    same = np.array_equal(a.frames, other.frames) and np.array_equal(a.audio, other.audio)
    assert same != C.get(name).stochastic or name in CODEC


# --------------------------------------------------------------------------- damage grows with severity

FPS = (8, 12, 15, 16, 24, 25, 30)   # the frame rates clips come at
SIDES = (64, 160, 224, 480)         # shorter sides: thumbnails, factory-av's 160 px, ImageNet-C's 224, SD video
# ImageNet-C's own tables for these do not make the pixel error grow at every level, in the reference
# implementation too (glass_blur's levels 2 and 4, snow's 3, frost's 4 and spatter's switch from water to mud
# damage less than the level before on some scenes; docs/PERFORMANCE.md, "ImageNet-C parity"): the published
# table is kept, and tests/core/test_imagenet_c_parity.py pins every level to the reference instead. The
# AVRobustBench corruptions whose visual part is one of them follow its table too.
NOT_MONOTONE = {"glass_blur", "snow", "frost", "spatter", "av_snow", "av_frost", "av_spatter"}
VISUAL = [n for n in C.names("video") + C.names("audiovisual") if n not in NOT_MONOTONE | CODEC]


def scene(side: int, fps: float, t: int, seconds: float = 1.0, seed: int = 0) -> Clip:
    """``t`` frames of ``side`` px: a two-scale texture panning 1 px per frame and brightening, and the
    broadband sound of :func:`make_clip` (so both halves of an audio-visual corruption bite)."""
    rng = np.random.default_rng(seed)
    canvas = gaussian_filter(rng.random((side, side + t, 3)), sigma=(side / 40, side / 40, 0), mode="wrap")
    canvas = 100 * (canvas - canvas.min()) / np.ptp(canvas) + 30 * rng.random((side, side + t, 3))
    ramp = 60.0 / max(t - 1, 1)
    frames = np.stack([canvas[:, i : i + side] + 40 + ramp * i for i in range(t)]).clip(0, 255).astype(np.uint8)
    return make_clip(t=1, h=1, w=1, seconds=seconds, fps=fps, seed=seed).replace(frames=frames, fps=float(fps))


def _frames_for(name: str, fps: float) -> int:
    """Frame-local corruptions need a couple of frames; temporal ones two seconds of them."""
    return 2 if name in C.FRAME_LOCAL else int(round(2 * fps))


def audio_lag(clean: np.ndarray, out: np.ndarray, sr: int) -> float:
    """Seconds by which ``out`` lags ``clean``: the peak of their cross-correlation per overlapping sample."""
    n = clean.size
    xc = scipy.signal.fftconvolve(out.astype(np.float64), clean[::-1].astype(np.float64))[n - 1 :]  # lags 0..n-1
    return float(np.argmax(xc[: n - sr // 10] / (n - np.arange(n - sr // 10))) / sr)


def damage(name: str, clip: Clip) -> np.ndarray:
    """(levels, 2): per declared level, the mean squared error of the frames (0-255) and of the audio
    to the clean clip; for ``av_desync``, whose harm is the offset, the measured lag of the audio (s)."""
    rows = []
    for s in C.levels(name):
        out = run(name, s, clip)
        video = np.mean((out.frames.astype(np.float64) - clip.frames) ** 2) if clip.has_video else 0.0
        audio = audio_lag(clip.audio, out.audio, clip.sr) if name == "av_desync" else \
            np.mean((out.audio.astype(np.float64) - clip.audio) ** 2)
        rows.append((video, audio))
    return np.array(rows)


def assert_grows(name: str, scores: np.ndarray, where: str) -> None:
    """Each modality the corruption touches is damaged strictly more at every level than at the one before."""
    touched = scores[-1] > 0
    assert touched.any(), f"{name} ({where}): the worst level changes nothing"
    grows = np.diff(scores[:, touched], axis=0) > 1e-9 * np.abs(scores[1:, touched])
    assert grows.all(), f"{name} ({where}): damage by level {scores[:, touched].round(4).tolist()}"


@pytest.mark.parametrize("name", VISUAL)
def test_damage_grows_with_severity_at_every_frame_rate(name):
    for fps in FPS:
        assert_grows(name, damage(name, scene(64, fps, _frames_for(name, fps), seconds=2.0)), f"{fps} fps")


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("name", VISUAL)
def test_damage_grows_with_severity_at_every_frame_size(name, side):
    assert_grows(name, damage(name, scene(side, 16, _frames_for(name, 16), seconds=2.0)), f"{side} px")


@pytest.mark.parametrize("name", C.names("audio"))
def test_audio_damage_grows_with_severity_at_the_project_rate(name):
    assert Clip(frames=CLIP.frames, fps=16.0, audio=CLIP.audio).sr == SR  # the rate clips are decoded at
    assert_grows(name, damage(name, make_clip(seconds=2.0)), f"{SR} Hz")


def test_the_damage_measure_can_fail():
    same = np.array([[1.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    with pytest.raises(AssertionError, match="damage by level"):
        assert_grows("x", same, "here")
    with pytest.raises(AssertionError, match="changes nothing"):
        assert_grows("x", np.zeros((5, 2)), "here")
    clip = make_clip(seconds=2.0)
    assert audio_lag(clip.audio, run("av_desync", 4, clip).audio, SR) == pytest.approx(0.8, abs=1e-3)


# --------------------------------------------------------------------------- single-level corruptions


def test_single_level_corruptions_declare_one_level():
    single = {n for n in ALL if C.levels(n) == (1,)}
    assert single == {"mute", "video_off"}
    for name in ALL:
        c = C.get(name)
        assert c.levels == ((1,) if name in single else C.SEVERITIES)
        # a single-level corruption gives its one level at any severity, so stored mute:3 rows stay valid
        if name in single:
            outs = [run(name, s) for s in C.SEVERITIES]
            assert all(np.array_equal(o.frames, outs[0].frames) and np.array_equal(o.audio, outs[0].audio)
                       for o in outs)
    assert C.grid(["mute", "fog", "video_off"], (2, 4)) == [("mute", 1), ("fog", 2), ("fog", 4), ("video_off", 1)]
    assert C.grid(["mute"], ()) == []
    with pytest.raises(ValueError, match="1 to 5"):
        C.grid(["fog"], (0,))


# --------------------------------------------------------------------------- the corruptions issue 14 fixed


def test_jpeg_compression_handles_a_minute_of_1080p():
    """A minute of 1080p at about 1 fps: 62 frames of 1088 coded rows (67,456 rows, over JPEG's 65,500),
    coded in two chunks of 31."""
    from PIL import Image

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (4, 68, 120, 3), dtype=np.uint8)
    tiles = np.stack([np.asarray(Image.fromarray(f).resize((1920, 1080), Image.Resampling.BICUBIC)) for f in small])
    frames = tiles[np.arange(62) % 4]  # few distinct pictures keep it cheap
    assert frames.shape[0] * 1088 > V.JPEG_MAX_ROWS
    out = V.jpeg_compression(frames, quality=15, rng=rng)
    assert out.shape == frames.shape and out.dtype == np.uint8
    # a frame is coded alone but for its first and last row, whose chroma sees its neighbours
    alone = V.jpeg_compression(frames[5:6], quality=15, rng=rng)[0]
    assert np.array_equal(out[5, 1:-1], alone[1:-1]) and psnr(out[5], alone) > 40
    assert np.array_equal(out[5, 1:-1], out[37, 1:-1])  # the same picture in the other chunk
    assert 25 < psnr(frames[5], out[5]) < 45  # and it is compressed


def test_jpeg_compression_of_a_clip_that_fits_is_unchanged():
    """Short clips keep the one-image coding bit for bit, so results stored before stay valid."""
    import io

    from PIL import Image

    frames = make_clip(t=12, h=37, w=53).frames
    padded = np.pad(frames, ((0, 0), (0, 11), (0, 0), (0, 0)), mode="edge").reshape(12 * 48, 53, 3)
    buffer = io.BytesIO()
    Image.fromarray(padded).save(buffer, format="JPEG", quality=18)
    before = np.asarray(Image.open(buffer).convert("RGB")).reshape(12, 48, 53, 3)[:, :37]
    assert np.array_equal(V.jpeg_compression(frames, quality=18, rng=np.random.default_rng(0)), before)


def test_jpeg_compression_of_the_shipped_timeline_sample():
    from core.media import load_clip

    clip = load_clip(ROOT / "sample_data/test/long_fan_normal-fan_fault_2000021.mp4")
    assert clip.frames.shape[0] * 160 > V.JPEG_MAX_ROWS  # 26.5 s at 16 fps: it failed with OSError before
    out = run("jpeg_compression", 5, clip)
    assert out.frames.shape == clip.frames.shape and 20 < psnr(clip.frames, out.frames) < 40
    with pytest.raises(ValueError, match="65,500 px"):
        V.jpeg_compression(np.zeros((1, 2, 65_501, 3), np.uint8), quality=15, rng=np.random.default_rng(0))


@pytest.mark.parametrize("fps", FPS + (10, 23.976, 29.97))
def test_frame_drop_drops_more_at_every_severity(fps):
    t = int(round(3 * fps))
    index = np.arange(t, dtype=np.uint8)[:, None, None, None].repeat(3, axis=3)  # frame i shows i
    shown = [run("frame_drop", s, make_clip(t=1).replace(frames=index, fps=fps)).frames[:, 0, 0, 0] for s in LEVELS]
    dropped = [t - np.unique(f).size for f in shown]
    assert all(b > a for a, b in zip(dropped, dropped[1:])), dropped
    for f, s in zip(shown, LEVELS):
        rate = C.get("frame_drop").params(s)["effective_fps"]
        # a held frame is never from the future, and about effective_fps frames a second get through
        assert np.all(f <= np.arange(t)) and np.all(np.diff(f.astype(int)) >= 0)
        assert abs(np.unique(f).size - min(rate, fps) * 3) <= 1


def test_frame_drop_keeps_every_nth_frame_for_whole_ratios():
    index = np.arange(32, dtype=np.uint8)[:, None, None, None].repeat(3, axis=3)
    out = V.frame_drop(index, fps=16.0, effective_fps=4, rng=np.random.default_rng(0))[:, 0, 0, 0]
    assert out.tolist() == [i // 4 * 4 for i in range(32)]
    assert np.array_equal(V.frame_drop(index, fps=8.0, effective_fps=8, rng=np.random.default_rng(0)), index)


def test_pixelate_keeps_imagenet_c_cells_at_every_size():
    """int(224 x scale) cells across the shorter side at any size; at 224 px within 0.5 dB of ImageNet-C's
    PIL box resize (``x.resize((n, n), BOX).resize((224, 224), BOX)``)."""
    from PIL import Image

    for scale in (0.6, 0.5, 0.4, 0.3, 0.25):
        n = int(224 * scale)
        clip = scene(224, 16, 2)
        reference = np.stack([np.asarray(Image.fromarray(f).resize((n, n), Image.Resampling.BOX)
                                         .resize((224, 224), Image.Resampling.BOX)) for f in clip.frames])
        ours = V.pixelate(clip.frames, scale=scale, rng=np.random.default_rng(0))
        assert abs(psnr(clip.frames, ours) - psnr(clip.frames, reference)) < 0.5
    # 448 px at scale 0.25: 56 cells of exactly 8 px, each one flat
    big = scene(448, 16, 1).frames
    cells = V.pixelate(big, scale=0.25, rng=np.random.default_rng(0))[0].reshape(56, 8, 56, 8, 3)
    means = big[0].reshape(56, 8, 56, 8, 3).mean(axis=(1, 3))
    assert np.all(np.ptp(cells, axis=(1, 3)) == 0) and np.abs(cells[:, 0, :, 0] - means).max() <= 0.5


def _reference_motion_blur(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """imagecorruptions' ``_motion_blur`` (bethgelab/imagecorruptions, imagecorruptions/corruptions.py:
    ``getOptimalKernelWidth1D``, ``getMotionBlurKernel``, ``shift``, ``_motion_blur``), ported line by line:
    ImageNet-C's Wand ``MotionBlurImage`` without ImageMagick. One (H, W, 3) float image."""
    import math

    def shift(image, dx, dy):
        if dx < 0:
            shifted = np.roll(image, shift=image.shape[1] + dx, axis=1)
            shifted[:, dx:] = shifted[:, dx - 1 : dx]
        elif dx > 0:
            shifted = np.roll(image, shift=dx, axis=1)
            shifted[:, :dx] = shifted[:, dx : dx + 1]
        else:
            shifted = image
        if dy < 0:
            shifted = np.roll(shifted, shift=image.shape[0] + dy, axis=0)
            shifted[dy:, :] = shifted[dy - 1 : dy, :]
        elif dy > 0:
            shifted = np.roll(shifted, shift=dy, axis=0)
            shifted[:dy, :] = shifted[dy : dy + 1, :]
        return shifted

    width = radius * 2 + 1
    k = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    kernel = k / np.sum(k)
    point = (width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle)))
    hypot = math.hypot(point[0], point[1])
    blurred = np.zeros_like(x, dtype=np.float32)
    for i in range(width):
        dy = -math.ceil(((i * point[0]) / hypot) - 0.5)
        dx = -math.ceil(((i * point[1]) / hypot) - 0.5)
        if np.abs(dy) >= x.shape[0] or np.abs(dx) >= x.shape[1]:
            break
        blurred = blurred + kernel[i] * shift(x, dx, dy)
    return np.clip(blurred, 0, 255)


@pytest.mark.parametrize("severity", LEVELS)
def test_motion_blur_matches_imagecorruptions_at_224_px(severity):
    clip = scene(224, 16, 2, seed=severity)
    params = C.get("motion_blur").params(severity)
    angle = np.random.default_rng(severity).uniform(-45, 45)  # the one draw motion_blur makes
    ours = run("motion_blur", severity, clip, seed=severity).frames
    theirs = np.stack([_reference_motion_blur(f.astype(np.float64), params["radius"], params["sigma"], angle)
                       for f in clip.frames])
    assert abs(psnr(clip.frames, ours) - psnr(clip.frames, np.rint(theirs))) < 0.3
    assert psnr(np.rint(theirs), ours) > 45  # the same picture, not only the same damage
    # the line is 2 x radius + 1 taps: a point spreads over 2 x radius px along the angle (flat weights)
    dot = np.zeros((1, 224, 224, 3), np.uint8)
    dot[0, 112, 112] = 255
    ys, xs = np.nonzero(V.motion_blur(dot, radius=params["radius"], sigma=1e3, rng=np.random.default_rng(0))[0, ..., 0])
    assert np.hypot(np.ptp(ys), np.ptp(xs)) == pytest.approx(2 * params["radius"], abs=1.5)


def test_av_desync_delays_the_audio_by_exactly_the_table_seconds():
    for s in LEVELS:
        shift = C.get("av_desync").params(s)["shift_s"]
        k = int(round(shift * SR))
        out = run("av_desync", s, make_clip(seconds=2.0))
        clean = make_clip(seconds=2.0).audio
        assert np.array_equal(out.audio[k:], clean[: clean.size - k]) and not out.audio[:k].any()
        assert np.array_equal(out.frames, CLIP.frames)


def test_mute_is_exact_zeros_and_video_off_black():
    for s in LEVELS:
        out = run("mute", s)
        assert out.audio.shape == CLIP.audio.shape and not out.audio.any()
        assert np.array_equal(out.frames, CLIP.frames)
        assert not run("video_off", s).frames.any()


def test_noise_on_silence_still_hisses():
    silent = CLIP.replace(audio=np.zeros_like(CLIP.audio))
    assert np.abs(run("audio_gaussian_noise", 5, silent).audio).max() > 1e-4


def test_lowpass_removes_energy_above_the_cutoff():
    out = run("lowpass", 5).audio  # 1 kHz cut-off: the 5 kHz tone must go
    spec = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(out.size, 1 / SR)
    assert spec[np.argmin(np.abs(freqs - 5000))] < 1e-3 * spec[np.argmin(np.abs(freqs - 440))]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0, 6, 2.5, -1, True, "3", None])
def test_bad_severity_raises(bad):
    with pytest.raises(ValueError, match="1 to 5"):
        run("gaussian_blur", bad)
    with pytest.raises(ValueError):
        C.apply_many(CLIP, [("mute", bad)], seed=0)


def test_bad_input_raises():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="uint8"):
        V.gaussian_blur(CLIP.frames.astype(np.float32), sigma=1, rng=rng)
    with pytest.raises(ValueError, match="shape"):
        V.gaussian_noise(CLIP.frames[..., 0], sigma=0.1, rng=rng)
    with pytest.raises(ValueError, match="float32"):
        A.gaussian_noise(CLIP.audio.astype(np.float64), sr=SR, snr_db=10, rng=rng)
    with pytest.raises(ValueError, match="mono"):
        A.lowpass(np.stack([CLIP.audio, CLIP.audio]), sr=SR, cutoff_hz=1000, rng=rng)
    with pytest.raises(ValueError, match="Generator"):
        V.fog(CLIP.frames, thickness=1.5, wibble_decay=2.0, rng=0)
    with pytest.raises(ValueError, match="uint8"):
        run("contrast", 2, CLIP.replace(frames=CLIP.frames.astype(np.int32)))
    with pytest.raises(ValueError):
        C.apply(CLIP.frames, "mute", 1, rng=rng)


# --------------------------------------------------------------------------- clip-level behaviour


def test_missing_modality_returns_the_clip_unchanged():
    video_only = CLIP.replace(audio=no_audio())
    audio_only = CLIP.replace(frames=no_video(), fps=0.0)
    assert run("mute", 5, video_only) is video_only
    assert run("gaussian_blur", 5, audio_only) is audio_only
    assert run("av_desync", 5, video_only).frames is video_only.frames
    rained = run("av_rain", 3, video_only)
    assert rained.audio.size == 0 and not np.array_equal(rained.frames, CLIP.frames)
    # the video half does not depend on whether the clip has audio
    assert np.array_equal(rained.frames, run("av_rain", 3).frames)


def test_apply_many_composes_and_keeps_each_steps_randomness():
    blur_noise = C.apply_many(CLIP, [("gaussian_blur", 3), ("audio_gaussian_noise", 4)], seed=1)
    by_hand = C.apply(CLIP, "gaussian_blur", 3, rng=C.rng_for("gaussian_blur", seed=1))
    by_hand = C.apply(by_hand, "audio_gaussian_noise", 4, rng=C.rng_for("audio_gaussian_noise", seed=1))
    assert np.array_equal(blur_noise.frames, by_hand.frames) and np.array_equal(blur_noise.audio, by_hand.audio)
    noise_only = C.apply_many(CLIP, [("audio_gaussian_noise", 4)], seed=1)
    assert np.array_equal(noise_only.audio, blur_noise.audio)  # toggling blur does not reshuffle the noise
    stacked = C.apply_many(CLIP, [("gaussian_blur", 3), ("gaussian_noise", 2)], seed=1)
    assert psnr(CLIP.frames, stacked.frames) < psnr(CLIP.frames, blur_noise.frames)
    twice = C.apply_many(CLIP, [("gaussian_noise", 1), ("gaussian_noise", 1)], seed=1)
    once = C.apply_many(CLIP, [("gaussian_noise", 1)], seed=1)
    assert not np.array_equal(twice.frames, C.apply_many(once, [("gaussian_noise", 1)], seed=1).frames)
    assert C.apply_many(CLIP, [], seed=0) is CLIP


def test_everyday_toggles_do_what_the_spec_says():
    muted = C.apply_many(CLIP, [(C.EVERYDAY["mute"], 1)], seed=0)
    assert not muted.audio.any() and np.array_equal(muted.frames, CLIP.frames)
    blurred = C.apply_many(CLIP, [(C.EVERYDAY["blur"], 3)], seed=0)
    assert np.array_equal(blurred.audio, CLIP.audio) and psnr(CLIP.frames, blurred.frames) < 40
    noisy = C.apply_many(CLIP, [(C.EVERYDAY["noise"], 3)], seed=0)
    assert np.array_equal(noisy.frames, CLIP.frames) and snr(CLIP.audio, noisy.audio) == pytest.approx(10, abs=0.5)


def test_tiny_frames_work():
    tiny = make_clip(t=3, h=2, w=3, seconds=0.2, fps=15.0)
    for name in C.names("video") + C.names("audiovisual"):
        assert run(name, 5, tiny).frames.shape == tiny.frames.shape


# --------------------------------------------------------------------------- ImageNet-C: glass to saturate


def test_saturate_moves_each_channel_towards_the_pixels_maximum():
    """HSV saturation times ``factor`` plus ``offset``: a grey pixel has no saturation (hue 0, red, in skimage,
    so an offset tints it red), a colour keeps its hue and value."""
    frame = np.array([[[100, 100, 100], [200, 100, 50], [0, 0, 0]]], np.uint8)[None]   # grey, orange, black
    out = [run("saturate", s, CLIP.replace(frames=frame)).frames[0, 0] for s in LEVELS]
    for s, o in zip(LEVELS, out):
        offset = C.get("saturate").params(s)["offset"]
        assert o[0].tolist() == [100, round(100 * (1 - offset)), round(100 * (1 - offset))]   # grey
        assert o[2].tolist() == [0, 0, 0]                                                        # black stays black
    # orange: V 200, S 0.75; c' = V - (V - c) * S'/S
    assert out[1][1].tolist() == [200, 190, 185]          # factor 0.1: S' 0.075
    assert out[2][1].tolist() == [200, 67, 0]             # factor 2: S' clipped to 1, the minimum goes to 0


def test_speckle_noise_has_std_sigma_times_the_level():
    frame = np.full((4, 64, 64, 3), 128, np.uint8)
    for sigma in (0.15, 0.2):
        out = V.speckle_noise(frame, sigma=sigma, rng=np.random.default_rng(0)).astype(np.float64)
        assert out.mean() == pytest.approx(128, abs=0.3)
        assert out.std() == pytest.approx(128 * sigma, rel=0.02)   # 256 quantiles: std 0.9975 sigma
    black = np.zeros((1, 8, 8, 3), np.uint8)
    assert not V.speckle_noise(black, sigma=0.6, rng=np.random.default_rng(0)).any()   # noise times zero


def test_glass_blur_shuffle_is_the_reference_loop_vectorised():
    """hendrycks/robustness ``glass_blur``'s pixel loop, run with the same (dx, dy) draws: the same picture.
    Its tuple "swap" of two RGB views copies the neighbour in; a neighbour visited earlier in the pass
    has its new value already."""
    from core.corruptions.blur import glass_sources

    def loop(x, d, iterations, rng):
        x = x.copy()
        h, w = x.shape[:2]
        for _ in range(iterations):
            draws = iter(rng.integers(-d, d, size=(len(range(h - d, d, -1)) * len(range(w - d, d, -1)), 2)))
            for y in range(h - d, d, -1):
                for z in range(w - d, d, -1):
                    dx, dy = next(draws)
                    x[y, z], x[y + dy, z + dx] = x[y + dy, z + dx], x[y, z]
        return x

    for h, w, d, iterations in [(24, 20, 1, 2), (30, 31, 3, 3), (40, 37, 4, 2)]:
        x = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
        sources = glass_sources(h, w, max_delta=d, iterations=iterations, rng=np.random.default_rng(5))
        reference = loop(x, d, iterations, np.random.default_rng(5))
        assert np.array_equal(x.reshape(-1, 3)[sources].reshape(h, w, 3), reference)
        assert (reference != x).any(axis=2).mean() > 0.5


def test_elastic_transform_without_displacement_is_the_identity():
    frames = make_clip(t=2, h=37, w=53).frames
    out = V.elastic_transform(frames, alpha=0.0, sigma=2.24, max_shift=1.12, rng=np.random.default_rng(0))
    assert np.array_equal(out, frames)


def test_weather_only_adds_light_or_mud():
    """snow whitens and adds flakes, water drops add pale turquoise: neither darkens a pixel; mud turns
    covered pixels mud brown (63, 42, 20); frost with no texture weight is the frame scaled."""
    frames = scene(160, 16, 2).frames
    for s in LEVELS:
        assert np.all(run("snow", s, CLIP.replace(frames=frames)).frames >= frames)
    for s in (1, 2, 3):
        assert np.all(run("spatter", s, CLIP.replace(frames=frames)).frames >= frames)
    muddy = run("spatter", 5, CLIP.replace(frames=frames)).frames
    covered = np.any(muddy != frames, axis=-1)
    assert covered.mean() > 0.01
    # a pixel under mud moves towards (63, 42, 20): by the mask weight m, x (1 - m) + m * brown
    brown = np.array([63, 42, 20])
    assert np.all(np.abs(muddy[covered].astype(int) - brown) <= np.abs(frames[covered].astype(int) - brown) + 1)
    rng = np.random.default_rng(0)
    assert np.array_equal(V.frost(frames, image_weight=0.5, frost_weight=0.0, rng=rng), np.rint(frames * 0.5))
    with pytest.raises(ValueError, match="water"):
        V.spatter(frames, mean=0.65, std=0.3, sigma=2, threshold=0.68, kind="oil", rng=rng)
