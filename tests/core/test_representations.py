"""Representations on signals whose right answer is known: a 440 Hz tone, silence, a rising chirp."""
import inspect

import librosa
import numpy as np
import pytest
from scipy.stats import spearmanr

from core import representations as rep
from core.representations import REGISTRY, Representation, RepresentationError

SR = 16_000
ALL = rep.names()


def tone(freq=440.0, seconds=1.0, sr=SR, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def a440():
    return tone()


@pytest.fixture(scope="module")
def chirp():
    return librosa.chirp(fmin=200, fmax=6000, sr=SR, duration=2.0, linear=True).astype(np.float32)


def peak_bin(r: Representation) -> int:
    return int(np.argmax(r.values.mean(axis=1)))


# --------------------------------------------------------------------------- registry


def test_registry_holds_the_nine_representations():
    assert ALL == ["waveplot", "spectral_centroid", "spectral_rolloff", "mfcc", "mfcc_scaled",
                   "chromagram", "mel", "cqt", "gammatone"]


@pytest.mark.parametrize("name", ALL)
def test_spec_defaults_match_the_keyword_only_function(name):
    spec = REGISTRY[name]
    params = inspect.signature(spec.compute).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert spec.defaults == {k: p.default for k, p in params.items() if k not in ("y", "sr")}
    assert spec.label and spec.doc and spec.name == name


@pytest.mark.parametrize("name", ALL)
def test_axes_match_the_matrix(name, a440):
    r = rep.compute(name, a440, SR)
    assert r.name == name and r.values.dtype == np.float32 and r.values.ndim == 2
    assert r.values.shape == (len(r.bins), len(r.times))
    assert np.isfinite(r.values).all()
    assert np.all(np.diff(r.times) > 0) and r.times[-1] <= len(a440) / SR
    assert r.bin_label and r.units


# --------------------------------------------------------------------------- known answers


def test_mel_peak_band_contains_440_hz(a440):
    r = rep.compute("mel", a440, SR)
    edges = librosa.mel_frequencies(n_mels=len(r.bins) + 2, fmin=0.0, fmax=SR / 2)
    i = peak_bin(r)
    assert edges[i] < 440 < edges[i + 2]
    assert r.values.max() == 0.0 and r.values.min() >= -rep.TOP_DB


def test_mel_matches_librosa(a440):
    y = a440 + 0.01 * np.random.default_rng(0).standard_normal(a440.size).astype(np.float32)
    ours = rep.compute("mel", y, SR).values
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1280, hop_length=224, n_mels=128)
    ref = librosa.power_to_db(S, ref=np.max, top_db=80.0)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=0.05)


def test_mfcc_matches_librosa_apart_from_c0(a440):
    y = a440 + 0.01 * np.random.default_rng(1).standard_normal(a440.size).astype(np.float32)
    ours = rep.compute("mfcc", y, SR).values
    ref = librosa.feature.mfcc(y=y, sr=SR)
    np.testing.assert_allclose(ours[1:], ref[1:], atol=0.1)


def test_chroma_peaks_on_class_a(a440):
    r = rep.compute("chromagram", a440, SR)
    assert r.bins[peak_bin(r)] == "A"
    assert r.values.max() == pytest.approx(1.0)


@pytest.mark.parametrize("freq,name", [(261.63, "C"), (392.0, "G")])
def test_chroma_other_classes(freq, name):
    r = rep.compute("chromagram", tone(freq), SR)
    assert r.bins[peak_bin(r)] == name


def test_cqt_peaks_in_the_a4_bin(a440):
    r = rep.compute("cqt", a440, SR)
    assert r.bins[peak_bin(r)] == pytest.approx(440.0, rel=1e-3)
    assert peak_bin(r) == 45  # C1 + 3 octaves + 9 semitones


@pytest.mark.parametrize("params", [{}, {"hop_length": 512}, {"bins_per_octave": 24, "n_bins": 168}])
def test_cqt_matches_librosa_without_sparsity(params, a440):
    # librosa's optional early downsampling (top filter below sr / 4) is not reproduced
    y = a440 + 0.01 * np.random.default_rng(2).standard_normal(a440.size).astype(np.float32)
    ours = rep.compute("cqt", y, SR, **params).values
    kwargs = {"hop_length": 224, **params}
    ref = librosa.amplitude_to_db(np.abs(librosa.cqt(y, sr=SR, sparsity=0, **kwargs)), ref=np.max, top_db=80.0)
    np.testing.assert_allclose(ours, ref, atol=0.05)


def test_gammatone_peak_band_near_440_hz(a440):
    r = rep.compute("gammatone", a440, SR)
    erb_440 = 24.7 * (4.37 * 0.44 + 1)
    assert abs(r.bins[peak_bin(r)] - 440) < erb_440 / 2
    assert np.all(np.diff(r.bins) > 0) and r.bins[0] == pytest.approx(50.0)


def test_centroid_of_a_tone_is_its_frequency(a440):
    r = rep.compute("spectral_centroid", a440, SR)
    interior = r.values[0, 4:-4]
    assert np.allclose(interior, 440, atol=15)


@pytest.mark.parametrize("name", ["spectral_centroid", "spectral_rolloff"])
def test_chirp_centroid_and_rolloff_rise(name, chirp):
    r = rep.compute(name, chirp, SR)
    v = r.values[0, 3:-3]
    rho = spearmanr(np.arange(v.size), v).statistic
    assert rho > 0.95
    assert v[-1] > 4 * v[0]


def test_rolloff_follows_roll_percent(chirp):
    low = rep.compute("spectral_rolloff", chirp, SR, roll_percent=0.5).values
    high = rep.compute("spectral_rolloff", chirp, SR, roll_percent=0.99).values
    assert np.all(high >= low) and high.mean() > low.mean()


def test_mfcc_scaled_is_standardised_per_coefficient(chirp):
    v = rep.compute("mfcc_scaled", chirp, SR).values
    np.testing.assert_allclose(v.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(v.std(axis=1), 1, atol=1e-3)


def test_waveplot_envelope_bounds_the_waveform(a440):
    r = rep.compute("waveplot", a440, SR, hop_length=100)
    assert r.values.shape == (2, 160)
    assert r.values[0].min() == a440.min() and r.values[1].max() == a440.max()
    assert np.all(r.values[0] <= r.values[1])


# --------------------------------------------------------------------------- silence


@pytest.mark.parametrize("name", ALL)
def test_silence_is_flat_everywhere(name):
    y = np.zeros(SR, dtype=np.float32)
    r = rep.compute(name, y, SR)
    assert np.isfinite(r.values).all() and np.ptp(r.values) == 0
    img = rep.to_image(r)
    assert (img == img[0, 0]).all()
    assert not np.any(rep.to_tensor_input(name, y, SR))


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("name", ALL)
def test_image_is_fixed_size_and_identical_across_calls(name, chirp):
    a = rep.to_image(name, chirp, SR)
    b = rep.to_image(rep.compute(name, chirp, SR))
    assert a.shape == (224, 224, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 1  # not blank for a real signal


@pytest.mark.parametrize("name", ["mel", "waveplot", "spectral_centroid"])
def test_image_custom_size(name, a440):
    img = rep.to_image(name, a440, SR, size=(96, 300), cmap="magma")
    assert img.shape == (96, 300, 3) and img.dtype == np.uint8


def test_heatmap_puts_low_frequencies_at_the_bottom():
    img = rep.to_image("mel", tone(200.0), SR).astype(int).sum(axis=2)
    assert img[-40:].mean() > img[:40].mean()


def test_waveplot_image_follows_loudness():
    y = np.concatenate([np.zeros(SR, np.float32), tone(seconds=1.0)])
    img = rep.to_image("waveplot", y, SR)
    left, right = img[:, :100], img[:, 124:]
    assert (left == left[0, 0]).all()
    assert (right != left[0, 0]).any(axis=2).mean() > 0.9


def test_centroid_area_chart_is_taller_for_higher_sounds():
    def filled(freq):
        img = rep.to_image("spectral_centroid", tone(freq), SR)
        return (img != img[0, 0]).any(axis=2).mean()

    assert filled(3000) > filled(500) > 0


# --------------------------------------------------------------------------- model input


@pytest.mark.parametrize("name", ["mel", "cqt", "chromagram", "waveplot"])
def test_tensor_input_is_standardised(name, chirp):
    x = rep.to_tensor_input(name, chirp, SR)
    assert x.dtype == np.float32 and x.shape == rep.compute(name, chirp, SR).values.shape
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3


def test_mel_input_has_the_dcase_frames_for_five_seconds():
    x = rep.to_tensor_input("mel", np.zeros(5 * SR, np.float32) + 0.1, SR)
    assert x.shape == (128, 1 + 5 * SR // 224)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "name,y,sr,params",
    [
        ("mel", tone(), SR, {"n_mels": -1}),
        ("mel", tone(), SR, {"n_mels": 0}),
        ("mel", tone(), SR, {"hop_length": 2.5}),
        ("mel", tone(), 0, {}),
        ("mel", tone(), -16_000, {}),
        ("mel", tone(), float("nan"), {}),
        ("mel", np.zeros(0, np.float32), SR, {}),
        ("mel", np.array([0.0, np.nan, 0.0]), SR, {}),
        ("chromagram", np.array([0.0, np.inf]), SR, {}),
        ("mel", np.zeros((2, 100), np.float32), SR, {}),
        ("mel", np.array(["a", "b"]), SR, {}),
        ("mel", tone(), SR, {"fmin": 9000.0}),
        ("mel", tone(), SR, {"n_mfcc": 13}),
        ("mfcc", tone(), SR, {"n_mfcc": 200}),
        ("spectral_rolloff", tone(), SR, {"roll_percent": 1.5}),
        ("cqt", tone(), SR, {"n_bins": 120}),
        ("cqt", tone(), SR, {"fmin": 0.0}),
        ("gammatone", tone(), SR, {"n_bands": -3}),
        ("no_such_thing", tone(), SR, {}),
    ],
)
def test_bad_input_raises_a_plain_sentence(name, y, sr, params):
    with pytest.raises(ValueError) as info:
        rep.compute(name, y, sr, **params)
    assert isinstance(info.value, RepresentationError)
    msg = str(info.value)
    assert msg.endswith(".") and "\n" not in msg


@pytest.mark.parametrize(
    "kwargs", [{"size": (0, 224)}, {"size": (224,)}, {"cmap": "jet"}],
)
def test_bad_image_arguments_raise(kwargs, a440):
    with pytest.raises(ValueError):
        rep.to_image("mel", a440, SR, **kwargs)


def test_to_image_needs_audio_with_a_name():
    with pytest.raises(ValueError):
        rep.to_image("mel")
    with pytest.raises(ValueError):
        rep.to_image(rep.compute("mel", tone(), SR), tone(), SR)


# --------------------------------------------------------------------------- one absolute scale


def _tone_and_noise(level: float = 1.0):
    sr = 16000
    t = np.arange(5 * sr) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    return (level * y).astype(np.float32), sr


@pytest.mark.parametrize("name", ["mel", "cqt", "gammatone"])
def test_on_the_absolute_scale_half_the_amplitude_is_6_db_lower(name):
    """Re each clip's own peak the two are the same picture; re 1, every cell above the floor is
    20 log10(0.5) = -6.02 dB lower."""
    loud, sr = _tone_and_noise()
    quiet, _ = _tone_and_noise(0.5)
    a, b = rep.compute(name, loud, sr), rep.compute(name, quiet, sr)
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)
    a, b = a.absolute(), b.absolute()
    above = a.values > a.values.max() - 70
    np.testing.assert_allclose((b.values - a.values)[above], 20 * np.log10(0.5), atol=1e-3)
    assert a.units == "dB re 1"


def test_absolute_mfccs_are_librosas():
    y, sr = _tone_and_noise()
    ours = rep.compute("mfcc", y, sr).absolute().values
    np.testing.assert_allclose(ours, librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_mels=128, n_fft=2048,
                                                          hop_length=512), atol=1e-3)


def test_representations_without_a_level_are_unchanged_on_the_absolute_scale():
    y, sr = _tone_and_noise()
    for name in ("chromagram", "mfcc_scaled", "spectral_centroid", "waveplot"):
        r = rep.compute(name, y, sr)
        assert r.absolute() is r
