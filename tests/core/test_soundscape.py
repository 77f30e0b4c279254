"""Tests for core.corruptions.soundscape (the synthetic environmental sounds) and READ's audio corruptions (overlay).

READ's levels are absolute (XLearning-SCU/2024-ICLR-READ, make_corruptions/make_c_audio.py): white
noise of a fixed standard deviation, and recordings overlaid at +1..+8 dB over their own level
(here :data:`overlay.RECORDING_DBFS`). Each is checked in those units, to 0.5 dB, at every severity.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from core import corruptions as C
from core.corruptions import overlay as O
from core.corruptions import soundscape as S
from core.media import Clip

SR = 16_000
READ_OVERLAYS = {"traffic": "traffic", "audio_crowd": "crowd", "read_rain": "rain", "thunder": "thunder",
                 "read_wind": "wind"}
READ_NAMES = ["read_gaussian_noise", *READ_OVERLAYS]


def tone_clip(seconds: float = 2.0, level: float = 0.03) -> Clip:
    """A quiet 440 Hz tone with a little noise (-31 dBFS): far from full scale, so nothing saturates."""
    t = np.arange(int(seconds * SR)) / SR
    y = level * np.sin(2 * np.pi * 440 * t) + 0.3 * level * np.random.default_rng(9).standard_normal(t.size)
    return Clip(frames=np.zeros((1, 8, 8, 3), np.uint8), fps=16.0, audio=y.astype(np.float32), sr=SR, duration=seconds)


CLIP = tone_clip()
SILENT = CLIP.replace(audio=np.zeros_like(CLIP.audio))


def db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def octave_share(y: np.ndarray, centre: float) -> float:
    """Share of the power in the octave band around ``centre`` Hz, in dB."""
    f, p = scipy.signal.welch(y, SR, nperseg=4096)
    band = (f >= centre / np.sqrt(2)) & (f < centre * np.sqrt(2))
    return 10 * np.log10(p[band].sum() / p.sum())


def crest_db(y: np.ndarray) -> float:
    return 20 * np.log10(np.abs(y).max() / np.sqrt(np.mean(y**2)))


# --------------------------------------------------------------------------- the sounds


@pytest.mark.parametrize("sound", list(S.SOUNDS))
def test_sounds_are_unit_rms_seeded_and_any_length(sound):
    make = S.SOUNDS[sound]
    a, b, other = (make(SR, sr=SR, rng=np.random.default_rng(s)) for s in (3, 3, 4))
    assert a.shape == (SR,) and a.dtype == np.float64 and np.all(np.isfinite(a))
    assert db(a) == pytest.approx(0.0, abs=1e-9)
    assert np.array_equal(a, b) and not np.array_equal(a, other)
    for n, sr in ((1, SR), (37, SR), (800, SR), (3 * 8000, 8000), (44_100, 44_100)):  # tiny clips, other rates
        y = make(n, sr=sr, rng=np.random.default_rng(0))
        assert y.shape == (n,) and np.all(np.isfinite(y)) and db(y) == pytest.approx(0.0, abs=1e-6)


def test_sounds_have_the_character_of_their_sources():
    """Each stand-in against what its source is (and what AVRobustBench's recordings of it measure)."""
    y = {name: make(4 * SR, sr=SR, rng=np.random.default_rng(1)) for name, make in S.SOUNDS.items()}
    # low-frequency sources: most power below ~180 Hz
    for name in ("wind", "thunder"):
        low = 10 * np.log10(sum(10 ** (octave_share(y[name], c) / 10) for c in (31.5, 63, 125)))
        assert low > -1.5, (name, low)
    # under water almost nothing passes above 1 kHz (the recordings: 35 dB down)
    assert octave_share(y["underwater"], 1000) < -25 and octave_share(y["underwater"], 4000) < -60
    # snow on the microphone is a high hiss; crowd babble sits in the speech band
    assert octave_share(y["snow"], 4000) > -6 and octave_share(y["snow"], 125) < -25
    assert max(octave_share(y["crowd"], c) for c in (250, 500)) > -6 and octave_share(y["crowd"], 31.5) < -30
    # steady sources against impulsive ones: water drops and crackling are spiky, babble and wind are not
    assert crest_db(y["water_drops"]) > 20 and crest_db(y["crowd"]) < 17 and crest_db(y["wind"]) < 15
    # frost crackles in bursts with quiet between them; rain is steady
    frames = (y["frost"][: 4 * SR // 800 * 800].reshape(-1, 800) ** 2).mean(axis=1)
    assert np.ptp(10 * np.log10(frames + 1e-12)) > 20
    rain = (y["rain"].reshape(-1, 800) ** 2).mean(axis=1)
    assert np.std(10 * np.log10(rain)) < 2.5


def test_thunder_is_rare_bursts_with_long_decays():
    """At least one stroke in a clip; after its peak the rumble decays over seconds, not milliseconds."""
    y = S.thunder(6 * SR, sr=SR, rng=np.random.default_rng(2))
    env = np.sqrt((y.reshape(-1, SR // 10) ** 2).mean(axis=1))  # 0.1 s frames
    peak = int(np.argmax(env))
    assert env.max() > 3.0 * np.percentile(env, 10)              # a stroke stands out of the bed
    after = env[peak : peak + 10]                                 # the next second
    assert after.size < 5 or after[-1] > 0.15 * env[peak]         # still rumbling a second later


def test_passing_cars_drop_in_pitch():
    """The engine's Doppler factor: the car's harmonics are higher approaching than receding."""
    rng = np.random.default_rng(5)
    y = S.traffic(8 * SR, sr=SR, rng=rng)
    f, t, z = scipy.signal.stft(y, fs=SR, nperseg=8192, noverlap=6144)
    low = f < 400
    centroid = (f[low, None] * np.abs(z[low]) ** 2).sum(axis=0) / (np.abs(z[low]) ** 2).sum(axis=0)
    assert np.ptp(centroid) > 5  # the low band's centre moves as cars come and go (Hz)


# --------------------------------------------------------------------------- READ's corruptions, in its units


@pytest.mark.parametrize("name", READ_NAMES)
def test_read_levels_are_within_half_a_db_at_every_severity(name):
    for severity in C.SEVERITIES:
        params = C.get(name).params(severity)
        nominal = 20 * np.log10(params["std"]) if "std" in params else O.RECORDING_DBFS + params["gain_db"]
        for clip in (CLIP, SILENT):
            out = C.apply(clip, name, severity, rng=np.random.default_rng(severity))
            added = out.audio.astype(np.float64) - clip.audio
            assert abs(db(added) - nominal) < 0.5, (name, severity, db(added), nominal)


@pytest.mark.parametrize("name", list(READ_OVERLAYS))
def test_read_overlay_adds_the_recording_at_its_gain_exactly(name):
    severity = 4
    gain = C.get(name).params(severity)["gain_db"]
    out = C.apply(CLIP, name, severity, rng=np.random.default_rng(11)).audio
    sound = S.SOUNDS[READ_OVERLAYS[name]](CLIP.audio.size, sr=SR, rng=np.random.default_rng(11))
    expected = np.clip(CLIP.audio + 10 ** ((O.RECORDING_DBFS + gain) / 20) * sound, -1, 1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("name", READ_NAMES)
def test_read_corruptions_keep_shape_are_seeded_and_grow(name):
    outs = [C.apply(CLIP, name, s, rng=np.random.default_rng(7)) for s in C.SEVERITIES]
    again = C.apply(CLIP, name, 3, rng=np.random.default_rng(7))
    for out in outs:
        assert out.audio.shape == CLIP.audio.shape and out.audio.dtype == np.float32
        assert np.all(np.abs(out.audio) <= 1.0) and np.array_equal(out.frames, CLIP.frames)
    assert np.array_equal(again.audio, outs[2].audio)
    assert not np.array_equal(C.apply(CLIP, name, 3, rng=np.random.default_rng(8)).audio, outs[2].audio)
    damage = [np.mean((o.audio.astype(np.float64) - CLIP.audio) ** 2) for o in outs]
    assert all(b > a for a, b in zip(damage, damage[1:])), damage


def test_read_saturates_at_full_scale_like_its_16_bit_files():
    loud = CLIP.replace(audio=np.full(CLIP.audio.size, 0.95, np.float32))
    out = C.apply(loud, "read_gaussian_noise", 5, rng=np.random.default_rng(0)).audio
    assert out.max() == 1.0 and out.min() >= -1.0 and np.mean(out == 1.0) > 0.3


def test_bad_input_raises():
    with pytest.raises(ValueError, match="Unknown sound"):
        O.overlay(CLIP.audio, sr=SR, sound="vuvuzela", gain_db=1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="Generator"):
        O.read_traffic(CLIP.audio, sr=SR, gain_db=1, rng=0)
    with pytest.raises(ValueError, match="float32"):
        O.read_gaussian_noise(CLIP.audio.astype(np.float64), sr=SR, std=0.1, rng=np.random.default_rng(0))


def test_labels_name_the_benchmark():
    assert C.label("read_gaussian_noise") == "Gaussian Noise (READ)"
    assert C.label("read_wind") == "Wind (READ)" and C.label("read_rain") == "Rain (READ)"
    assert C.label("traffic") == "Traffic" and C.label("thunder") == "Thunder"
