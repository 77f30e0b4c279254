"""Tests for core.corruptions.cooccurring: AVRobustBench's co-occurring corruptions, each half in its own units.

Published definitions: sarthaxxxxx/AVROBUSTBENCH, corruptions/corruptions.py. Audio halves are checked in
dB (SNR within 0.5 dB of the table, the low-pass's -3 dB point), visual halves against analytic answers
on flat frames or against the registered ImageNet-C corruption they reuse, driven by the same child rng.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core import corruptions as C
from core.corruptions import audio as A
from core.corruptions import cooccurring as CO
from core.corruptions import video as V
from core.corruptions.crossmodal import split_rng
from core.media import Clip, no_audio

SR = 16_000
AV = ["av_gaussian_noise", "av_impulse_noise", "av_shot_noise", "av_speckle_noise", "compression", "av_snow",
      "av_frost", "av_spatter", "av_wind", "avrobust_rain", "underwater", "concert", "avrobust_smoke", "av_crowd",
      "interference"]
ADDITIVE = [n for n in AV if "snr_db" in C.get(n).params(1)]


def make_clip(t: int = 2, h: int = 32, w: int = 40, seconds: float = 1.0, seed: int = 0) -> Clip:
    """Textured frames and a quiet broadband sound (-30 dBFS: nothing saturates at 0 dB SNR)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(30, 220, (t, h, w, 3), dtype=np.uint8)
    tt = np.arange(int(seconds * SR)) / SR
    y = 0.03 * np.sin(2 * np.pi * 440 * tt) + 0.01 * np.sin(2 * np.pi * 3000 * tt) + 0.01 * rng.standard_normal(tt.size)
    return Clip(frames=frames, fps=16.0, audio=y.astype(np.float32), sr=SR, duration=seconds)


CLIP = make_clip()


def run(name, severity, clip=CLIP, seed=0) -> Clip:
    return C.apply(clip, name, severity, rng=np.random.default_rng(seed))


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    clean = clean.astype(np.float64)
    return 10 * np.log10(np.sum(clean**2) / np.sum((noisy.astype(np.float64) - clean) ** 2))


def level_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)))


def test_the_fifteen_are_registered_audio_visual():
    assert set(AV) <= set(C.names("audiovisual"))
    assert C.label("avrobust_rain") == "Rain (AVRobustBench)" and C.label("avrobust_smoke") == "Smoke (AVRobustBench)"
    assert C.label("av_wind") == "Wind (audio-visual)" and C.label("wind") == "Wind (audio)"
    assert C.label("av_crowd") == "Crowd (audio-visual)" and C.label("audio_crowd") == "Crowd (audio)"
    assert C.label("underwater") == "Underwater" and C.label("smoke") == "Smoke"


# --------------------------------------------------------------------------- audio halves, in dB


@pytest.mark.parametrize("name", ADDITIVE)
def test_achieved_snr_is_within_half_a_db_at_every_severity(name):
    silent = CLIP.replace(audio=np.zeros_like(CLIP.audio))
    for severity in C.SEVERITIES:
        nominal = C.get(name).params(severity)["snr_db"]
        out = run(name, severity, seed=severity)
        assert abs(snr_db(CLIP.audio, out.audio) - nominal) < 0.5, (name, severity)
        # a silent clip: the SNR is taken against -60 dBFS, as avlab's other additive noises; speckle
        # multiplies the signal, so silence stays silent
        quiet = run(name, severity, silent, seed=severity).audio
        if name == "av_speckle_noise":
            assert not quiet.any()
        else:
            assert abs(level_db(quiet) - (-60 - nominal)) < 0.5, (name, severity)


def test_compression_is_the_published_butterworth_magnitude():
    """6th-order digital Butterworth: -3 dB at the cut-off, flat well below, 36+ dB down an octave above."""

    def gain_db(freq, cutoff, sr=SR):
        tone = (0.5 * np.sin(2 * np.pi * freq * np.arange(sr) / sr)).astype(np.float32)
        out = A.butterworth_lowpass(tone, sr=sr, cutoff_hz=cutoff, rng=np.random.default_rng(0))
        return level_db(out[sr // 4 : -sr // 4]) - level_db(tone[sr // 4 : -sr // 4])

    for severity in (2, 3, 4, 5):
        cutoff = C.get("compression").params(severity)["cutoff_hz"]
        assert abs(gain_db(cutoff, cutoff) + 3.01) < 0.5
        assert abs(gain_db(cutoff / 4, cutoff)) < 0.05
        if 2 * cutoff < SR / 2:
            assert gain_db(2 * cutoff, cutoff) < -36
    # severity 1's 8 kHz is the Nyquist frequency at 16 kHz: the sound is unchanged; at 44.1 kHz it bites
    assert np.array_equal(run("compression", 1).audio, CLIP.audio)
    assert abs(gain_db(8000, 8000, sr=44_100) + 3.01) < 0.5


def test_interference_silences_growing_chunks():
    clip = make_clip(seconds=3.0)
    n = clip.audio.size
    previous = np.zeros(n, bool)
    for severity in C.SEVERITIES:
        p = C.get("interference").params(severity)
        chunk = max(int(n * p["fraction"]) // p["chunks"], SR // 10)
        out = run("interference", severity, clip, seed=4)
        silent = out.audio == 0
        assert np.array_equal(out.audio[~silent], clip.audio[~silent])
        assert chunk <= silent.sum() <= p["chunks"] * chunk and silent.sum() <= p["fraction"] * n + 1
        assert np.all(silent[previous])  # same seed: more chunks silence a superset
        previous = silent


def test_interference_turns_each_frame_by_a_whole_angle_in_range():
    for severity in (1, 5):
        max_deg = C.get("interference").params(severity)["max_deg"]
        out = run("interference", severity, seed=severity)
        for frame, turned in zip(CLIP.frames, out.frames):
            image = Image.fromarray(frame)
            angles = [a for a in range(-max_deg, max_deg + 1) if np.array_equal(np.asarray(image.rotate(a)), turned)]
            assert angles, "not a rotation of the frame by a whole angle in range"


# --------------------------------------------------------------------------- visual halves


@pytest.mark.parametrize("name, video_fn, audio_fn", [
    ("av_gaussian_noise", V.gaussian_noise, A.gaussian_noise),
    ("av_impulse_noise", V.impulse_noise, A.impulse_noise),
    ("av_shot_noise", V.shot_noise, A.shot_noise),
    ("av_speckle_noise", V.speckle_noise, A.speckle_noise),
    ("av_wind", V.motion_blur, None),
    ("concert", V.brightness, None),
    ("av_snow", V.snow, None),
])
def test_halves_are_the_registered_corruptions_from_one_rng(name, video_fn, audio_fn):
    params = C.get(name).params(4)
    snr = params.pop("snr_db")
    out = run(name, 4, seed=3)
    rv, ra = split_rng(np.random.default_rng(3))
    assert np.array_equal(out.frames, video_fn(CLIP.frames, rng=rv, **params))
    if audio_fn is not None:
        assert np.array_equal(out.audio, audio_fn(CLIP.audio, sr=SR, snr_db=snr, rng=ra))
    # one modality missing: the other half is unchanged (its own child generator)
    alone = run(name, 4, CLIP.replace(audio=no_audio()), seed=3)
    assert np.array_equal(alone.frames, out.frames) and alone.audio.size == 0


def test_underwater_view_on_a_flat_frame():
    """Blur leaves a flat frame alone: R = 0.85 c red R0 + 0.15 haze, G and B without the red factor."""
    flat = np.empty((1, 40, 56, 3), np.uint8)
    flat[...] = (120, 100, 80)
    for severity in C.SEVERITIES:
        p = C.get("underwater").params(severity)
        out = CO.underwater_view(flat, red=p["red"], blur_px=p["blur_px"], contrast=p["contrast"], haze=p["haze"],
                                 rng=np.random.default_rng(0))
        k = 0.85 * p["contrast"]
        expected = np.rint(k * np.array([120 * p["red"], 100, 80]) + 0.15 * p["haze"])
        assert np.all(np.abs(out.reshape(-1, 3) - expected) <= 1), (severity, out[0, 20, 28], expected)


def test_smoke_grain_brightens_as_published():
    """On a flat frame of level v: (v + 255 d * mean(pattern)) * v / (v + 255 d), the pattern's mean being 1/2."""
    v = 100.0
    flat = np.full((2, 64, 80, 3), int(v), np.uint8)
    for severity in C.SEVERITIES:
        p = C.get("avrobust_smoke").params(severity)
        out = CO.smoke_grain(flat, density=p["density"], sigma=p["sigma"], rng=np.random.default_rng(1))
        d = 255 * p["density"]
        assert abs(out.mean() - (v + d / 2) * v / (v + d)) < 1.0
        assert 0 < out.std() < 8  # a fine grain, not a picture


def test_crowd_is_one_still_figure_in_its_box():
    levels = np.array([120, 160, 200, 240], np.uint8)  # a different flat picture in each frame
    frames = np.broadcast_to(levels[:, None, None, None], (4, 60, 80, 3)).copy()
    clip = make_clip(t=4, h=60, w=80).replace(frames=frames)
    for severity in (2, 5):
        side = C.get("av_crowd").params(severity)["side"]
        out = run("av_crowd", severity, clip, seed=2).frames
        kept = out[..., 0] / clip.frames[..., 0]                              # 1 - alpha, per frame
        assert np.abs(kept - kept[0]).max() < 0.01                           # the same figure, same place
        ys, xs = np.nonzero(kept[0] < 0.99)
        assert np.ptp(ys) < int(60 * side) and np.ptp(xs) < int(80 * side)   # inside its box
        covered = np.sum(1 - kept[0]) / (int(60 * side) * int(80 * side))
        assert 0.15 < covered < 0.6                                           # a figure, not a block
        assert np.all(out <= clip.frames)                                    # a black silhouette only darkens


def test_rain_is_bluish_streaks_over_a_lifted_scene():
    black = np.zeros((3, 112, 112, 3), np.uint8)
    for severity in (1, 5):
        p = C.get("avrobust_rain").params(severity)
        p.pop("snr_db")
        out = CO.rain_layer(black, rng=np.random.default_rng(0), **p).astype(np.float64)
        floor = np.rint((1 - p["image_weight"]) * 0.3 * 255)                # max(x, 1.3 grey + 0.3) on black
        assert out[..., 0].min() == floor
        added = out - floor
        assert added[..., 2].mean() > added[..., 1].mean() > added[..., 0].mean() > 0
        assert added[..., 1].mean() / added[..., 0].mean() == pytest.approx(0.9 / 0.5, rel=0.05)
    values, counts = np.unique(CO.rain_layer(black, rng=np.random.default_rng(0), **{
        k: v for k, v in C.get("avrobust_rain").params(1).items() if k != "snr_db"})[..., 0], return_counts=True)
    assert values[np.argmax(counts)] == np.rint(0.2 * 0.3 * 255)          # light rain: most pixels dry


@pytest.mark.parametrize("name", sorted(set(AV) & C.FRAME_LOCAL))
def test_frame_local_names_corrupt_sampled_frames_as_the_whole_clip(name):
    """Clip-level draws come first: the sampled frames of a corrupted clip are the corrupted sampled frames
    where the frames draw nothing per frame (exactly), else the same in distribution (shape kept)."""
    clip = make_clip(t=6)
    whole = run(name, 3, clip, seed=5).frames[::2]
    sampled = run(name, 3, clip.replace(frames=clip.frames[::2]), seed=5).frames
    assert sampled.shape == whole.shape
    if name in ("underwater", "concert", "av_crowd", "av_wind", "av_frost", "av_spatter"):
        assert np.array_equal(sampled, whole)
