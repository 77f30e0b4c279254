"""core.audio_figures: readable audio-images: axes in seconds and Hz, one colour scale for clean and corrupted
on the absolute level scale, the difference, hover values; known answers on a 440 Hz tone."""
from __future__ import annotations

import numpy as np
import pytest

from core import representations as rep
from core.audio_figures import MAX_COLUMNS, representation_figure

SR = 16000


def _tone(level: float = 0.5, seconds: float = 5.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_tone_is_brightest_at_its_frequency_on_a_seconds_and_hz_axis():
    fig = representation_figure(rep.compute("mel", _tone(), SR))
    (clean,) = fig.data
    z = np.asarray(clean.z)
    row = int(np.unravel_index(np.argmax(z), z.shape)[0])
    assert abs(clean.y[row] - 440) < 30  # the mel band centre nearest 440 Hz (bands ~25 Hz apart there)
    assert clean.x[-1] == pytest.approx(5.0, abs=0.02) and clean.x[0] == 0.0  # seconds
    assert fig.layout.xaxis.title.text == "Time (s)"
    assert fig.layout.yaxis.title.text == "Frequency (Hz)" and fig.layout.yaxis.type == "log"
    assert clean.colorbar.title.text == "dB re 1" and clean.showscale
    assert "s · %{y:.0f} Hz" in clean.hovertemplate and "dB re 1" in clean.hovertemplate


def test_clean_and_corrupted_share_one_scale_so_a_level_change_shows_and_the_difference_says_how_much():
    """Half the amplitude: re each clip's peak the two pictures are identical; on the shared absolute scale
    the corrupted one is 6.02 dB darker, and the difference panel says -6.0 dB where there is sound."""
    clean, quiet = rep.compute("mel", _tone(0.5), SR), rep.compute("mel", _tone(0.25), SR)
    np.testing.assert_allclose(clean.values, quiet.values, atol=1e-4)
    fig = representation_figure(clean, quiet)
    a, b, diff = fig.data
    assert (a.zmin, a.zmax) == (b.zmin, b.zmax) and [t.showscale for t in (a, b)] == [False, True]
    za, zb, zd = (np.asarray(t.z, float) for t in (a, b, diff))
    np.testing.assert_allclose(zd, zb - za, atol=1e-4)
    loud = za > za.max() - 60
    assert np.median(zd[loud]) == pytest.approx(20 * np.log10(0.5), abs=0.01)
    assert diff.zmid == 0 and diff.colorbar.title.text == "Δ dB"
    assert [a.text for a in fig.layout.annotations] == ["clean", "corrupted", "corrupted − clean"]


def test_mfcc_chroma_and_waveplot_axes_name_their_own_units():
    y = _tone()
    mfcc = representation_figure(rep.compute("mfcc", y, SR), rep.compute("mfcc", 0.5 * y, SR))
    assert mfcc.layout.yaxis.title.text == "MFCC (coefficient)"
    assert mfcc.data[0].colorbar.title.text == "dB (cepstral)".replace("dB", "dB re 1")
    chroma = representation_figure(rep.compute("chromagram", y, SR))
    assert chroma.layout.yaxis.type == "category" and list(chroma.data[0].y) == list(rep.PITCH_CLASSES)
    # 440 Hz is A: the brightest pitch class
    z = np.asarray(chroma.data[0].z)
    assert rep.PITCH_CLASSES[int(z.mean(axis=1).argmax())] == "A"
    wave = representation_figure(rep.compute("waveplot", y, SR), rep.compute("waveplot", 0.5 * y, SR))
    assert wave.layout.yaxis.title.text == "Amplitude (full scale = 1)"
    highs = [np.asarray(t.y).max() for t in wave.data[::2]]
    assert highs == pytest.approx([0.5, 0.25], abs=0.01)  # one amplitude axis: the quieter clip is smaller
    centroid = representation_figure(rep.compute("spectral_centroid", y, SR), rep.compute("spectral_centroid", y, SR))
    assert centroid.layout.yaxis.title.text == "centroid (Hz)" and tuple(centroid.layout.yaxis.range) == (0, SR / 2)
    assert np.allclose(centroid.data[-1].y, 0)  # the same audio: no difference


def test_a_long_clip_is_averaged_down_to_the_columns_a_browser_draws():
    fig = representation_figure(rep.compute("mel", _tone(seconds=60.0), SR))
    assert len(fig.data[0].x) <= MAX_COLUMNS and fig.data[0].x[-1] == pytest.approx(60.0, abs=0.2)
    with pytest.raises(ValueError, match="same representation"):
        representation_figure(rep.compute("mel", _tone(), SR), rep.compute("cqt", _tone(), SR))
