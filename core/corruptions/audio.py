"""Audio corruptions: physical functions on a mono waveform ``y`` float32 ``(N,)`` at ``sr`` Hz.

Each function takes ``y``, ``sr``, its physical parameters as keywords (SNR in
dB, cut-off in Hz, seconds, bits) and an ``rng``, and returns float32 of the
same length with values in [-1, 1]. Severity tables live in the registry
(``core.corruptions``).

Additive noises are mixed at an SNR relative to the clip's RMS level; a silent
clip is treated as if at -60 dBFS, so a noisy microphone still hisses on silence.
Noise colours and filters are shaped in the FFT domain (zero phase, one pass).
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.fft
import scipy.signal

from .filters import fast_size
from .soundscape import SOUNDS

SILENCE_REFERENCE_DB = -60.0  # reference level for the SNR of a silent clip
IMPULSE_FRACTION = 0.05  # AVRobustBench's impulse_audio: the share of samples that click (impulse_prob)
SHOT_PHOTONS = 50        # AVRobustBench's shot_audio: the Poisson scale of the signal rescaled to [0, 1]


def _checked(fn):
    """Validate ``y``, ``sr`` and ``rng`` once, for every audio corruption; clip the result to [-1, 1]."""

    @functools.wraps(fn)
    def wrapper(y, *, sr, rng, **params):
        check_audio(y, sr)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")
        out = fn(y, sr=sr, rng=rng, **params)
        return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)

    return wrapper


def check_audio(y, sr) -> None:
    """Raise ``ValueError`` unless ``y`` is a non-empty float32 1-D array and ``sr`` a positive rate."""
    if not isinstance(y, np.ndarray):
        raise ValueError(f"y must be a numpy array; got {type(y).__name__}.")
    if y.dtype != np.float32:
        raise ValueError(f"y must be float32 audio in [-1, 1]; got dtype {y.dtype}.")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be mono with shape (N,), N >= 1; got {y.shape}.")
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"sr must be a positive integer sample rate; got {sr!r}.")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def mix_at_snr(y: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``y + noise`` with the noise scaled to ``snr_db`` below the RMS of ``y`` (float64, unclipped)."""
    reference = max(_rms(y), 10 ** (SILENCE_REFERENCE_DB / 20))
    gain = reference / (max(_rms(noise), 1e-12) * 10 ** (snr_db / 20))
    return y + gain * noise


def _shaped_noise(n: int, sr: int, rng: np.random.Generator, gain) -> np.ndarray:
    """White noise with its spectrum multiplied by ``gain(freqs_hz)`` (zero phase)."""
    spectrum = scipy.fft.rfft(rng.standard_normal(n))
    freqs = scipy.fft.rfftfreq(n, 1 / sr)
    return scipy.fft.irfft(spectrum * gain(freqs), n)


def _butterworth(freqs: np.ndarray, cutoff: float, order: int, *, high: bool = False) -> np.ndarray:
    """Magnitude of a Butterworth filter (applied forwards and backwards in the FFT, so zero phase)."""
    ratio = np.maximum(freqs, 1e-9) / cutoff
    ratio = 1 / ratio if high else ratio
    return 1 / np.sqrt(1 + ratio ** (2 * order))


@_checked
def mute(y: np.ndarray, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Microphone failure: complete digital silence (exact zeros), length kept."""
    return np.zeros_like(y)


@_checked
def gaussian_noise(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` below the clip (audiomentations ``AddGaussianSNR``)."""
    return mix_at_snr(y, rng.standard_normal(y.size), snr_db)


@_checked
def pink_noise(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f, -3 dB/octave) noise at ``snr_db`` (audiomentations ``AddColorNoise``)."""
    noise = _shaped_noise(y.size, sr, rng, lambda f: np.where(f > 0, 1 / np.sqrt(np.maximum(f, 1e-9)), 0.0))
    return mix_at_snr(y, noise, snr_db)


@_checked
def wind(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Wind on the microphone: brown rumble below ~300 Hz in slow gusts, at ``snr_db``."""
    rumble = _shaped_noise(
        y.size, sr, rng,
        lambda f: _butterworth(f, 300, 2) * _butterworth(f, 15, 2, high=True) / np.maximum(f, 1.0),
    )
    # gusts: a positive envelope varying over ~1-2 s
    gust = _shaped_noise(y.size, sr, rng, lambda f: _butterworth(f, 0.7, 2))
    gust = 0.25 + 0.75 * (gust - gust.min()) / max(np.ptp(gust), 1e-12)
    return mix_at_snr(y, rumble * gust, snr_db)


@_checked
def rain(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Rain: a broadband hiss above ~500 Hz plus dense droplet clicks, at ``snr_db``."""
    hiss = _shaped_noise(y.size, sr, rng, lambda f: _butterworth(f, 500, 2, high=True) / np.maximum(f, 500) ** 0.5)
    drops = np.zeros(y.size)
    count = rng.poisson(300 * y.size / sr)  # droplets per second on a nearby surface
    drops[rng.integers(0, y.size, count)] = rng.lognormal(0.0, 0.7, count) * rng.choice([-1.0, 1.0], count)
    tap = int(0.004 * sr) + 1
    click = rng.standard_normal(tap) * np.exp(-np.arange(tap) / (0.0008 * sr))
    drops = scipy.signal.fftconvolve(drops, click)[: y.size]
    noise = hiss / max(_rms(hiss), 1e-12) + 2.0 * drops / max(_rms(drops), 1e-12)
    return mix_at_snr(y, noise, snr_db)


@_checked
def mains_hum(y: np.ndarray, *, sr: int, snr_db: float, mains_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Ground-loop hum: ``mains_hz`` (50 or 60 Hz) and its harmonics below Nyquist (amplitude 1/k), at ``snr_db``."""
    t = np.arange(y.size) / sr
    harmonics = [k for k in range(1, 9) if k * mains_hz < sr / 2]
    phases = rng.uniform(0, 2 * np.pi, len(harmonics))
    hum = sum(np.sin(2 * np.pi * k * mains_hz * t + p) / k for k, p in zip(harmonics, phases))
    return mix_at_snr(y, np.asarray(hum, np.float64), snr_db)


@_checked
def clipping(y: np.ndarray, *, percent: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Hard clipping so that ``percent`` % of the samples hit the rails (audiomentations ``ClipDistortion``)."""
    threshold = np.percentile(np.abs(y), 100 - percent)
    return np.clip(y, -threshold, threshold)


@_checked
def lowpass(y: np.ndarray, *, sr: int, cutoff_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-phase 8th-order Butterworth low-pass at ``cutoff_hz`` (a muffled or cheap microphone)."""
    if cutoff_hz >= sr / 2:
        return y.copy()
    spectrum = scipy.fft.rfft(y.astype(np.float64))
    return scipy.fft.irfft(spectrum * _butterworth(scipy.fft.rfftfreq(y.size, 1 / sr), cutoff_hz, 8), y.size)


@_checked
def dropout(y: np.ndarray, *, sr: int, fraction: float, chunk_s: float, rng: np.random.Generator) -> np.ndarray:
    """Silence ``fraction`` of the clip in ``chunk_s``-second chunks at random places (packet loss).

    Chunks are picked from one random order, so a larger fraction (same seed) silences a superset.
    """
    chunk = max(1, int(round(chunk_s * sr)))
    n_chunks = -(-y.size // chunk)
    k = min(n_chunks, max(1, int(round(fraction * n_chunks))))
    out = y.copy()
    for i in rng.permutation(n_chunks)[:k]:
        out[i * chunk : (i + 1) * chunk] = 0.0
    return out


@_checked
def reverb(y: np.ndarray, *, sr: int, rt60_s: float, drr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Room reverberation: a synthetic impulse response (direct sound + exponentially decaying noise).

    ``rt60_s`` is the time for the tail to fall by 60 dB, ``drr_db`` the direct-to-reverberant
    energy ratio; the output keeps the input's expected energy.
    """
    n = max(2, int(rt60_s * sr))
    tail = rng.standard_normal(n) * np.exp(-6.9078 * np.arange(n) / (rt60_s * sr))
    tail[: int(0.005 * sr)] = 0.0  # 5 ms before the first reflection
    energy = 10 ** (-drr_db / 10)
    tail *= np.sqrt(energy / max(np.sum(tail**2), 1e-12))
    ir = tail
    ir[0] = 1.0
    wet = scipy.signal.fftconvolve(y.astype(np.float64), ir)[: y.size]
    return wet / np.sqrt(1 + energy)


@_checked
def bit_crush(y: np.ndarray, *, sr: int, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Quantise to ``bits`` bits (a cheap ADC or codec), as audiomentations ``BitCrush``."""
    q = 2.0 ** (int(bits) - 1)
    return np.round(y * q) / q


# --------------------------------------------------------------------------- AVRobustBench's audio halves
# sarthaxxxxx/AVROBUSTBENCH, corruptions/corruptions.py; the co-occurring pairs are in core.corruptions.cooccurring


@_checked
def impulse_noise(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Clicks: -1 or +1 on :data:`IMPULSE_FRACTION` of the samples (half each), at ``snr_db`` (``impulse_audio``)."""
    u = rng.random(y.size)
    clicks = np.where(u < IMPULSE_FRACTION / 2, -1.0, np.where(u > 1 - IMPULSE_FRACTION / 2, 1.0, 0.0))
    return mix_at_snr(y, clicks, snr_db)


@_checked
def shot_noise(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Photon-counting noise ``Poisson(50 u) / 50 - u`` of the signal rescaled to u in [0, 1], at ``snr_db``.

    AVRobustBench's ``shot_audio`` (a constant signal counts as u = 0.5).
    """
    lo, hi = float(y.min()), float(y.max())
    u = (y.astype(np.float64) - lo) / (hi - lo) if hi > lo else np.full(y.size, 0.5)
    return mix_at_snr(y, rng.poisson(u * SHOT_PHOTONS) / SHOT_PHOTONS - u, snr_db)


@_checked
def speckle_noise(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative noise: the signal times white noise, at ``snr_db`` (``speckle_audio``; silence stays silent)."""
    return mix_at_snr(y, rng.standard_normal(y.size) * y, snr_db)


@_checked
def butterworth_lowpass(y: np.ndarray, *, sr: int, cutoff_hz: float, rng: np.random.Generator,
                        order: int = 6) -> np.ndarray:
    """The magnitude of scipy's digital Butterworth low-pass, zero phase (AVRobustBench's ``compression_audio``).

    The reference designs an ``order``-th order Butterworth at ``cutoff_hz`` with ``butter``
    (bilinear transform) and runs it causally (``lfilter``). Here its magnitude,
    ``1 / sqrt(1 + (tan(pi f / sr) / tan(pi fc / sr)) ** (2 order))`` (-3 dB at the cut-off, at
    least 6 x order dB an octave beyond), is applied in the FFT with zero phase: a spectrogram sees
    the same damage, and the waveform is not also turned in phase near the cut-off (which made a
    6 kHz cut-off change a 5 kHz tone more than a 4 kHz one does). :func:`lowpass` is the analog
    8th-order magnitude. A cut-off at or above the Nyquist frequency (8 kHz at 16 kHz, severity 1),
    where ``butter`` refuses, passes the clip unchanged: nothing lies above it.
    """
    if cutoff_hz >= sr / 2:
        return y.copy()
    size = fast_size(y.size + sr // 20)  # zero padding: the response's tails do not wrap
    freqs = scipy.fft.rfftfreq(size, 1 / sr)
    ratio = np.tan(np.pi * np.minimum(freqs, sr / 2 * (1 - 1e-9)) / sr) / np.tan(np.pi * cutoff_hz / sr)
    spectrum = scipy.fft.rfft(y.astype(np.float64), size) / np.sqrt(1 + ratio ** (2 * order))
    return scipy.fft.irfft(spectrum, size)[: y.size]


@_checked
def silence_chunks(y: np.ndarray, *, sr: int, fraction: float, chunks: int, rng: np.random.Generator) -> np.ndarray:
    """Drop-outs: ``chunks`` stretches of ``max(fraction * N / chunks, 0.1 s)`` samples set to zero.

    AVRobustBench's ``interference_audio``: starts uniform in ``[0, N - chunk)``, so chunks may
    overlap and at most ``fraction`` is silenced. Ten starts are always drawn and the first
    ``chunks`` used, so (same seed) more chunks silence a superset.
    """
    n = y.size
    chunk = min(n, max(int(n * fraction) // chunks, sr // 10))
    out = y.copy()
    for s in rng.integers(0, max(n - chunk, 1), 10)[:chunks]:
        out[s : s + chunk] = 0.0
    return out


@_checked
def ambience(y: np.ndarray, *, sr: int, sound: str, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic recording of ``sound`` (:data:`core.corruptions.soundscape.SOUNDS`) added at ``snr_db``.

    AVRobustBench's ``add_env_noise``, its recordings of the cause replaced by synthetic ones.
    """
    return mix_at_snr(y, SOUNDS[sound](y.size, sr=sr, rng=rng), snr_db)
