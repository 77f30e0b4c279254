"""Tests for core.corruptions: the whole registry x severities 1-5 on small synthetic clips."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from core import corruptions as C
from core.corruptions import audio as A
from core.corruptions import video as V
from core.media import Clip, no_audio, no_video

SR = 16_000
ALL = C.names()
LEVELS = C.SEVERITIES


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
    assert same != C.get(name).stochastic


def _damage(name: str) -> list[float]:
    """Fidelity (dB) of the corrupted modality at severities 1-5: PSNR for frames, SNR for audio."""
    c = C.get(name)
    scores = []
    for s in LEVELS:
        out = run(name, s)
        parts = []
        if c.modality in ("video", "audiovisual"):
            parts.append(psnr(CLIP.frames, out.frames))
        if c.modality in ("audio", "audiovisual"):
            parts.append(snr(CLIP.audio, out.audio))
        scores.append(parts)
    return scores


@pytest.mark.parametrize("name", [n for n in ALL if n != "av_desync"])
def test_damage_grows_with_severity(name):
    scores = np.array(_damage(name))  # (5, modalities)
    assert np.all(np.isfinite(scores[-1])) or name in ("mute", "video_off"), "severity 5 must do something"
    assert np.all(np.diff(scores, axis=0) <= 0.05), f"{name}: fidelity by severity {scores.tolist()}"
    single = C.get(name).severities[0] == C.get(name).severities[-1]
    assert single or np.all(scores[-1] < scores[0] - 0.5)


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
