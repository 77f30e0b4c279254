"""Audio-images: time-frequency representations of a waveform, as matrices and as images.

Nine representations share one registry: the six audio-images of MAiVAR
(``waveplot``, ``spectral_centroid``, ``spectral_rolloff``, ``mfcc``,
``mfcc_scaled``, ``chromagram``) and the three spectrograms of the DCASE
two-phase work (``mel``, ``cqt``, ``gammatone``; 128 filters, 80 ms window,
14 ms hop, here at 16 kHz). Each is a keyword-only function
``fn(*, y, sr, **params) -> Representation``; :func:`compute` looks one up by
name, :func:`to_image` renders it as a fixed-size RGB image for a CNN, and
:func:`to_tensor_input` gives the standardised matrix a model trains on.

Everything in decibels is relative to the clip's own peak (``ref=max``,
floored 80 dB below it), so silence is exactly 0 dB everywhere: a flat matrix
and a flat image, never NaN. MAiVAR's representations keep librosa's default
frames (``n_fft=2048, hop_length=512``); the DCASE ones use 80 ms / 14 ms
(``n_fft=1280, hop_length=224`` at 16 kHz).

The STFT-based representations share one numpy STFT (centred, zero-padded,
periodic Hann, as ``librosa.stft``) and filterbanks cached per parameter set,
so ``mel`` for 5 s at 16 kHz costs a few milliseconds. ``cqt`` is
librosa's recursive CQT with its per-octave kernels built once and cached
(``librosa.cqt`` rebuilds them every call: about 25 ms for 5 s against about
10 ms here, and ``pseudo_cqt`` is slower still); it equals
``librosa.cqt(..., sparsity=0)`` to within 0.01 dB whenever librosa does not
downsample early (its top filter reaches above sr / 4, as with the defaults).
``gammatone`` is a gammatonegram: ERB-spaced 4th-order gammatone magnitude
responses applied to the STFT magnitude (Ellis's FFT approximation).

Bad input raises :class:`RepresentationError` (a ``ValueError``) with one
plain sentence.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable, Union

import librosa
import numpy as np
import scipy.fft
from PIL import Image

DEFAULT_IMAGE_SIZE = (224, 224)
TOP_DB = 80.0
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class RepresentationError(ValueError):
    """A representation could not be computed; the message is one plain sentence."""


@dataclass(frozen=True)
class Representation:
    """A representation of one waveform, with its axes.

    Attributes
    ----------
    name : str
        Registry key that made it.
    values : np.ndarray, float32, shape (n_bins, n_frames)
        The matrix; row 0 is the lowest bin. 1-D features are ``(1, n_frames)``;
        ``waveplot`` is the ``(2, n_frames)`` min/max envelope.
    times : np.ndarray, float64, shape (n_frames,)
        Time of each frame in seconds.
    bins : np.ndarray, shape (n_bins,)
        The bin axis: Hz for spectrograms, coefficient index for MFCC,
        pitch-class names for the chromagram, row names for 1-D features.
    bin_label : str
        Title of the bin axis ("Frequency (Hz)", "MFCC", "Pitch class", ...).
    units : str
        Units of ``values`` ("dB", "Hz", "z-score", ...).
    value_range : tuple of float or None
        Fixed axis for the values when they have one (0 to Nyquist for the
        centroid and roll-off); ``None`` means images scale to the data.
    """

    name: str
    values: np.ndarray
    times: np.ndarray
    bins: np.ndarray
    bin_label: str
    units: str
    value_range: tuple[float, float] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape


@dataclass(frozen=True)
class RepresentationSpec:
    """A registered representation: its function, UI title and default parameters.

    ``defaults`` is read from the function's signature, so it always matches
    what ``compute`` accepts. ``image`` says how :func:`to_image` draws it:
    ``"heatmap"``, ``"envelope"`` (waveform) or ``"area"`` (a 1-D feature).
    """

    name: str
    label: str
    compute: Callable[..., Representation]
    defaults: dict
    doc: str
    image: str = "heatmap"


REGISTRY: dict[str, RepresentationSpec] = {}


def _register(name: str, label: str, image: str = "heatmap"):
    def decorate(fn):
        params = inspect.signature(fn).parameters
        defaults = {k: p.default for k, p in params.items() if k not in ("y", "sr")}
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        REGISTRY[name] = RepresentationSpec(name, label, fn, defaults, doc, image)
        return fn

    return decorate


# --------------------------------------------------------------------------- validation


def _check_audio(y, sr) -> tuple[np.ndarray, float]:
    """Validate a mono waveform and its rate; return float32 ``y`` and float ``sr``."""
    if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)):
        raise RepresentationError(f"The sample rate must be a number of samples per second, not {sr!r}.")
    if not np.isfinite(sr) or sr <= 0:
        raise RepresentationError(f"The sample rate must be positive; got {sr}.")
    y = np.asarray(y)
    if y.dtype.kind not in "fiu":
        raise RepresentationError(f"The waveform must hold numbers; got dtype {y.dtype}.")
    if y.ndim != 1:
        raise RepresentationError(
            f"The waveform must be mono with shape (n_samples,); got shape {y.shape}, so mix it down first."
        )
    if y.size == 0:
        raise RepresentationError("The waveform is empty, so there is nothing to analyse.")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise RepresentationError("The waveform contains NaN or infinite samples; clean or clip it first.")
    return y, float(sr)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise RepresentationError(f"{name} must be a positive whole number; got {value!r}.")
    return int(value)


def _check_fmin(fmin, sr: float, name: str = "fmin") -> float:
    if isinstance(fmin, bool) or not isinstance(fmin, (int, float, np.integer, np.floating)):
        raise RepresentationError(f"{name} must be a frequency in Hz; got {fmin!r}.")
    if not (0 <= fmin < sr / 2):
        raise RepresentationError(f"{name} must lie between 0 Hz and the Nyquist frequency {sr / 2:g} Hz; got {fmin}.")
    return float(fmin)


# --------------------------------------------------------------------------- shared STFT


@functools.lru_cache(maxsize=16)
def _window(n_fft: int) -> np.ndarray:
    # periodic Hann, as scipy.signal.get_window("hann", n_fft) and librosa.stft use
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _stft(y: np.ndarray, *, n_fft: int, hop_length: int, window: bool = True) -> np.ndarray:
    """Complex STFT framed as ``librosa.stft`` does (centred, zero padding, periodic Hann or none).

    Returns
    -------
    np.ndarray, complex64, shape (n_frames, 1 + n_fft // 2)
        Frames first, so filterbanks apply as ``D @ fb.T``.
    """
    yp = np.pad(y, n_fft // 2)
    if yp.size < n_fft:
        yp = np.pad(yp, (0, n_fft - yp.size))
    frames = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop_length]  # (n_frames, n_fft)
    return scipy.fft.rfft(frames * _window(n_fft) if window else frames, axis=-1)


def _stft_power(y: np.ndarray, *, n_fft: int, hop_length: int, power: float) -> np.ndarray:
    """``|STFT|**power``, float32 ``(n_frames, 1 + n_fft // 2)``."""
    mag = np.abs(_stft(y, n_fft=n_fft, hop_length=hop_length))
    if power == 1:
        return mag
    return np.multiply(mag, mag, out=mag) if power == 2 else mag**power


def _frame_times(n_frames: int, sr: float, hop_length: int) -> np.ndarray:
    return np.arange(n_frames) * (hop_length / sr)


def _to_db(S: np.ndarray, *, power: bool) -> np.ndarray:
    """Decibels relative to the matrix's peak, floored ``TOP_DB`` below it (silence -> all 0)."""
    amin = np.float32(1e-10 if power else 1e-5)
    scale = np.float32(10.0 if power else 20.0)
    db = scale * np.log10(np.maximum(S, amin))
    db -= db.max()
    return np.maximum(db, -TOP_DB, out=db).astype(np.float32, copy=False)


@functools.lru_cache(maxsize=32)
def mel_filterbank(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None = None) -> np.ndarray:
    """librosa's Slaney mel filterbank, float32 ``(n_mels, 1 + n_fft // 2)``, cached and read-only."""
    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)
    fb.setflags(write=False)
    return fb


@functools.lru_cache(maxsize=32)
def _chroma_filterbank(sr: float, n_fft: int, n_chroma: int, tuning: float) -> np.ndarray:
    fb = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning).astype(np.float32)
    fb.setflags(write=False)
    return fb  # (n_chroma, n_freq)


def erb_space(fmin: float, fmax: float, n_bands: int) -> np.ndarray:
    """Centre frequencies equally spaced on the ERB-rate scale (Glasberg & Moore 1990).

    Returns
    -------
    np.ndarray, float64, shape (n_bands,)
        Ascending, from ``fmin`` to ``fmax`` Hz.
    """
    erb_rate = np.linspace(21.4 * np.log10(1 + 0.00437 * fmin), 21.4 * np.log10(1 + 0.00437 * fmax), n_bands)
    return (10 ** (erb_rate / 21.4) - 1) / 0.00437


@functools.lru_cache(maxsize=32)
def _gammatone_filterbank(sr: float, n_fft: int, n_bands: int, fmin: float) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude responses of 4th-order gammatone filters, ``(n_bands, n_freq)``, peak 1."""
    centres = erb_space(fmin, 0.95 * sr / 2, n_bands)  # top band clear of Nyquist
    bandwidth = 1.019 * 24.7 * (4.37 * centres / 1000 + 1)  # 1.019 ERB
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    # |H(f)| of an order-4 gammatone near its centre: (1 + ((f - fc) / b)^2)^(-4/2)
    fb = (1 + ((freqs[None, :] - centres[:, None]) / bandwidth[:, None]) ** 2) ** -2.0
    fb = fb.astype(np.float32)
    fb.setflags(write=False)
    return fb, centres


@functools.lru_cache(maxsize=16)
def _cqt_plan(sr: float, fmin: float, n_bins: int, bins_per_octave: int, hop_length: int) -> tuple:
    """Per-octave frequency-domain kernels of ``librosa.cqt``, built once per parameter set.

    Octaves run from the top down; after each, the signal is halved in rate
    while ``hop_length`` stays even, exactly as librosa's recursive CQT does
    (without its optional early downsampling). Each kernel row already carries
    librosa's ``sqrt(sr / my_sr)`` and ``1 / sqrt(length)`` scalings.

    Returns
    -------
    tuple of (start, stop, n_fft, hop, kernel, halve_after)
        ``kernel`` complex64 ``(stop - start, 1 + n_fft // 2)``.
    """
    freqs = librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    ratio2 = 2 ** (2 / bins_per_octave)  # equal temperament: every bin's relative bandwidth is the same
    alpha = np.full(n_bins, (ratio2 - 1) / (ratio2 + 1))
    full_lengths, cutoff = librosa.filters.wavelet_lengths(freqs=freqs, sr=sr, alpha=alpha)
    if cutoff > sr / 2:
        raise RepresentationError(
            f"The top CQT filter reaches {cutoff:.0f} Hz, above the Nyquist frequency {sr / 2:g} Hz; use fewer bins or a lower fmin."
        )
    steps, my_sr, my_hop = [], sr, hop_length
    for i in range(int(np.ceil(n_bins / bins_per_octave))):
        start, stop = max(0, n_bins - bins_per_octave * (i + 1)), n_bins - bins_per_octave * i
        basis, lengths = librosa.filters.wavelet(freqs=freqs[start:stop], sr=my_sr, norm=1, pad_fft=True, alpha=alpha[start:stop])
        n_fft = basis.shape[1]
        basis *= lengths[:, None] / n_fft
        kernel = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
        kernel *= np.sqrt(sr / my_sr) / np.sqrt(full_lengths[start:stop])[:, None]
        halve = my_hop % 2 == 0
        steps.append((start, stop, n_fft, my_hop, kernel.astype(np.complex64), halve))
        if halve:
            my_hop, my_sr = my_hop // 2, my_sr / 2
    return tuple(steps)


# --------------------------------------------------------------------------- MAiVAR


@_register("waveplot", "Waveplot", image="envelope")
def waveplot(*, y: np.ndarray, sr: float, hop_length: int = 160) -> Representation:
    """Waveform min/max envelope per block of ``hop_length`` samples, as ``waveshow`` draws it.

    Returns
    -------
    Representation
        ``values`` shape ``(2, ceil(len(y) / hop_length))``: row 0 the minimum,
        row 1 the maximum of each block; ``times`` are block centres.
    """
    y, sr = _check_audio(y, sr)
    hop_length = _positive_int("hop_length", hop_length)
    starts = np.arange(0, y.size, hop_length)
    env = np.stack([np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)])  # (2, n_frames)
    times = (starts + np.minimum(hop_length, y.size - starts) / 2) / sr
    return Representation("waveplot", env, times, np.array(["min", "max"]), "Envelope", "amplitude")


@_register("spectral_centroid", "Spectral centroid", image="area")
def spectral_centroid(*, y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512) -> Representation:
    """Magnitude-weighted mean frequency of each frame (``librosa.feature.spectral_centroid``).

    Returns
    -------
    Representation
        ``values`` shape ``(1, n_frames)`` in Hz; 0 for silent frames.
    """
    y, sr = _check_audio(y, sr)
    n_fft, hop_length = _positive_int("n_fft", n_fft), _positive_int("hop_length", hop_length)
    S = _stft_power(y, n_fft=n_fft, hop_length=hop_length, power=1)  # (n_frames, n_freq)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr).astype(np.float32)
    total = S.sum(axis=1)
    centroid = np.divide(S @ freqs, total, out=np.zeros_like(total), where=total > 1e-10)
    return Representation(
        "spectral_centroid", centroid[None, :].astype(np.float32), _frame_times(len(total), sr, hop_length),
        np.array(["centroid"]), "Feature", "Hz", value_range=(0.0, sr / 2),
    )


@_register("spectral_rolloff", "Spectral roll-off", image="area")
def spectral_rolloff(
    *, y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512, roll_percent: float = 0.85
) -> Representation:
    """Frequency below which ``roll_percent`` of each frame's magnitude lies (``librosa`` semantics).

    Returns
    -------
    Representation
        ``values`` shape ``(1, n_frames)`` in Hz; 0 for silent frames.
    """
    y, sr = _check_audio(y, sr)
    n_fft, hop_length = _positive_int("n_fft", n_fft), _positive_int("hop_length", hop_length)
    if not 0 < roll_percent < 1:
        raise RepresentationError(f"roll_percent must lie strictly between 0 and 1; got {roll_percent}.")
    S = _stft_power(y, n_fft=n_fft, hop_length=hop_length, power=1)  # (n_frames, n_freq)
    cumulative = np.cumsum(S, axis=1)
    reached = cumulative >= roll_percent * cumulative[:, -1:]
    rolloff = np.fft.rfftfreq(n_fft, 1 / sr)[np.argmax(reached, axis=1)].astype(np.float32)
    return Representation(
        "spectral_rolloff", rolloff[None, :], _frame_times(len(rolloff), sr, hop_length),
        np.array(["roll-off"]), "Feature", "Hz", value_range=(0.0, sr / 2),
    )


@_register("mfcc", "MFCC")
def mfcc(
    *, y: np.ndarray, sr: float, n_mfcc: int = 20, n_mels: int = 128, n_fft: int = 2048, hop_length: int = 512
) -> Representation:
    """Mel-frequency cepstral coefficients: DCT-II (orthonormal) of the log-mel spectrogram.

    Equals ``librosa.feature.mfcc`` except that the log-mel is relative to the
    clip's peak, which shifts coefficient 0 by a constant and makes silence 0.

    Returns
    -------
    Representation
        ``values`` shape ``(n_mfcc, n_frames)``.
    """
    y, sr = _check_audio(y, sr)
    n_mfcc, n_mels = _positive_int("n_mfcc", n_mfcc), _positive_int("n_mels", n_mels)
    if n_mfcc > n_mels:
        raise RepresentationError(f"n_mfcc ({n_mfcc}) cannot exceed n_mels ({n_mels}).")
    logmel = mel(y=y, sr=sr, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length).values
    coeffs = scipy.fft.dct(logmel, type=2, norm="ortho", axis=0)[:n_mfcc].astype(np.float32)
    times = _frame_times(coeffs.shape[1], sr, hop_length)
    return Representation("mfcc", coeffs, times, np.arange(n_mfcc), "MFCC", "dB (cepstral)")


@_register("mfcc_scaled", "MFCC (feature-scaled)")
def mfcc_scaled(
    *, y: np.ndarray, sr: float, n_mfcc: int = 20, n_mels: int = 128, n_fft: int = 2048, hop_length: int = 512
) -> Representation:
    """MFCCs standardised per coefficient over time (mean 0, std 1), as ``sklearn.preprocessing.scale``.

    A coefficient that is constant over time becomes 0.

    Returns
    -------
    Representation
        ``values`` shape ``(n_mfcc, n_frames)`` in z-scores.
    """
    base = mfcc(y=y, sr=sr, n_mfcc=n_mfcc, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length)
    v = base.values.astype(np.float64)
    std = v.std(axis=1, keepdims=True)
    scaled = (v - v.mean(axis=1, keepdims=True)) / np.where(std > 1e-6, std, 1.0)
    return Representation("mfcc_scaled", scaled.astype(np.float32), base.times, base.bins, "MFCC", "z-score")


@_register("chromagram", "Chromagram")
def chromagram(
    *, y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512, tuning: float = 0.0
) -> Representation:
    """Energy per pitch class (C to B) of each frame, peak-normalised per frame (``chroma_stft``).

    ``tuning`` (fractions of a bin) is fixed at 0 rather than estimated per
    clip, so a corruption cannot move the pitch grid and it costs nothing.

    Returns
    -------
    Representation
        ``values`` shape ``(12, n_frames)`` in [0, 1]; silent frames are 0.
    """
    y, sr = _check_audio(y, sr)
    n_fft, hop_length = _positive_int("n_fft", n_fft), _positive_int("hop_length", hop_length)
    if not -0.5 <= tuning < 0.5:
        raise RepresentationError(f"tuning must lie in [-0.5, 0.5) bins; got {tuning}.")
    S = _stft_power(y, n_fft=n_fft, hop_length=hop_length, power=2)  # (n_frames, n_freq)
    raw = (S @ _chroma_filterbank(sr, n_fft, 12, float(tuning)).T).T  # (12, n_frames)
    peak = raw.max(axis=0, keepdims=True)
    chroma = np.divide(raw, peak, out=np.zeros_like(raw), where=peak > 0)
    times = _frame_times(chroma.shape[1], sr, hop_length)
    return Representation("chromagram", chroma.astype(np.float32), times, np.array(PITCH_CLASSES), "Pitch class", "relative energy")


# --------------------------------------------------------------------------- DCASE two-phase


@_register("mel", "Log-mel spectrogram")
def mel(
    *, y: np.ndarray, sr: float, n_mels: int = 128, n_fft: int = 1280, hop_length: int = 224, fmin: float = 0.0
) -> Representation:
    """Log-mel power spectrogram in dB re the clip's peak; 80 ms window and 14 ms hop at 16 kHz.

    Returns
    -------
    Representation
        ``values`` shape ``(n_mels, 1 + len(y) // hop_length)`` in dB (<= 0);
        ``bins`` are the mel band centres in Hz.
    """
    y, sr = _check_audio(y, sr)
    n_mels, n_fft = _positive_int("n_mels", n_mels), _positive_int("n_fft", n_fft)
    hop_length, fmin = _positive_int("hop_length", hop_length), _check_fmin(fmin, sr)
    S = _stft_power(y, n_fft=n_fft, hop_length=hop_length, power=2)  # (n_frames, n_freq)
    M = (S @ mel_filterbank(sr, n_fft, n_mels, fmin).T).T  # (n_mels, n_frames)
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=sr / 2)[1:-1]
    return Representation("mel", _to_db(M, power=True), _frame_times(M.shape[1], sr, hop_length), centres, "Frequency (Hz)", "dB")


@_register("cqt", "Constant-Q transform")
def cqt(
    *, y: np.ndarray, sr: float, n_bins: int = 84, bins_per_octave: int = 12, fmin: float = 32.70319566257483,
    hop_length: int = 224,
) -> Representation:
    """Constant-Q magnitude in dB re the clip's peak (``librosa.cqt`` with cached kernels), from C1 by semitones.

    ``hop_length`` must be divisible by 2 once per octave the recursive
    downsampling uses (224 = 7 * 2^5 allows six).

    Returns
    -------
    Representation
        ``values`` shape ``(n_bins, n_frames)`` in dB; ``bins`` the bin centres in Hz.
    """
    y, sr = _check_audio(y, sr)
    n_bins, bins_per_octave = _positive_int("n_bins", n_bins), _positive_int("bins_per_octave", bins_per_octave)
    hop_length, fmin = _positive_int("hop_length", hop_length), _check_fmin(fmin, sr)
    if fmin <= 0:
        raise RepresentationError("fmin must be above 0 Hz for a constant-Q transform.")
    freqs = librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    responses, my_y = [], y
    for start, stop, n_fft, hop, kernel, halve in _cqt_plan(sr, fmin, n_bins, bins_per_octave, hop_length):
        D = _stft(my_y, n_fft=n_fft, hop_length=hop, window=False)  # (n_frames, n_freq)
        responses.append((start, stop, np.abs(D @ kernel.T).T))  # (stop - start, n_frames)
        if halve:
            my_y = librosa.resample(my_y, orig_sr=2, target_sr=1, res_type="soxr_hq", scale=True)
    n_frames = min(r.shape[1] for _, _, r in responses)
    C = np.empty((n_bins, n_frames), dtype=np.float32)
    for start, stop, r in responses:
        C[start:stop] = r[:, :n_frames]
    return Representation("cqt", _to_db(C, power=False), _frame_times(C.shape[1], sr, hop_length), freqs, "Frequency (Hz)", "dB")


@_register("gammatone", "Gammatone spectrogram")
def gammatone(
    *, y: np.ndarray, sr: float, n_bands: int = 128, n_fft: int = 1280, hop_length: int = 224, fmin: float = 50.0
) -> Representation:
    """Gammatonegram: ERB-spaced gammatone responses applied to the STFT magnitude, in dB re peak.

    Centres run from ``fmin`` to 0.95 x Nyquist; each filter is the magnitude
    response of a 4th-order gammatone with bandwidth 1.019 ERB.

    Returns
    -------
    Representation
        ``values`` shape ``(n_bands, n_frames)`` in dB; ``bins`` the centres in Hz.
    """
    y, sr = _check_audio(y, sr)
    n_bands, n_fft = _positive_int("n_bands", n_bands), _positive_int("n_fft", n_fft)
    hop_length, fmin = _positive_int("hop_length", hop_length), _check_fmin(fmin, sr)
    if fmin >= 0.95 * sr / 2:
        raise RepresentationError(f"fmin must lie below 0.95 x Nyquist ({0.95 * sr / 2:g} Hz); got {fmin}.")
    fb, centres = _gammatone_filterbank(sr, n_fft, n_bands, fmin)
    S = _stft_power(y, n_fft=n_fft, hop_length=hop_length, power=1)  # (n_frames, n_freq)
    G = (S @ fb.T).T  # (n_bands, n_frames)
    return Representation("gammatone", _to_db(G, power=False), _frame_times(G.shape[1], sr, hop_length), centres, "Frequency (Hz)", "dB")


# --------------------------------------------------------------------------- public API


def names() -> list[str]:
    """Registry keys, in registration order (MAiVAR's six, then mel, cqt, gammatone)."""
    return list(REGISTRY)


def _spec(name: str) -> RepresentationSpec:
    if name not in REGISTRY:
        raise RepresentationError(f"Unknown representation {name!r}; choose one of {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def compute(name: str, y: np.ndarray, sr: float, **params) -> Representation:
    """Compute the representation ``name`` of the waveform ``y`` (shape ``(n_samples,)``) at ``sr`` Hz."""
    spec = _spec(name)
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise RepresentationError(
            f"{name} has no parameter {', '.join(unknown)}; it accepts {', '.join(spec.defaults) or 'none'}."
        )
    return spec.compute(y=y, sr=sr, **params)


def to_tensor_input(name: str, y: np.ndarray, sr: float, **params) -> np.ndarray:
    """Model input: the matrix standardised over all its entries (mean 0, std 1; silence -> zeros).

    Returns
    -------
    np.ndarray, float32, shape (n_bins, n_frames)
    """
    v = compute(name, y, sr, **params).values
    mean, std = float(v.mean()), float(v.std())
    if std < 1e-6:
        return np.zeros_like(v, dtype=np.float32)
    return ((v - np.float32(mean)) * np.float32(1 / std)).astype(np.float32, copy=False)


# Colormaps as 9 anchors each (matplotlib's viridis and magma at 0, 1/8, ..., 1),
# linearly interpolated to 256 entries; matplotlib is not a dependency.
_CMAP_ANCHORS = {
    "viridis": [(68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
                (31, 158, 137), (53, 183, 121), (110, 206, 88), (253, 231, 37)],
    "magma": [(0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
              (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191)],
}


@functools.lru_cache(maxsize=None)
def colormap(name: str = "viridis") -> np.ndarray:
    """256-entry RGB lookup table, uint8 ``(256, 3)``, for ``"viridis"`` or ``"magma"``."""
    if name not in _CMAP_ANCHORS:
        raise RepresentationError(f"Unknown colormap {name!r}; choose one of {', '.join(_CMAP_ANCHORS)}.")
    anchors = np.asarray(_CMAP_ANCHORS[name], dtype=np.float64)
    x = np.linspace(0, 1, 256)
    at = np.linspace(0, 1, len(anchors))
    lut = np.stack([np.interp(x, at, anchors[:, c]) for c in range(3)], axis=1)
    lut = np.round(lut).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def _columns(v: np.ndarray, width: int, reduce: np.ufunc) -> np.ndarray:
    """Reduce ``v`` (n_frames,) to ``width`` columns; a column with no frame of its own takes its nearest."""
    starts = (np.arange(width) * v.size) // width
    return reduce.reduceat(v, starts)


def _column_means(v: np.ndarray, width: int) -> np.ndarray:
    """Mean of ``v`` (n_frames,) over each of ``width`` columns (nearest frame when upsampling)."""
    starts = (np.arange(width) * v.size) // width
    counts = np.diff(np.append(starts, v.size)).clip(1)
    return np.add.reduceat(v, starts) / counts


def to_image(
    name_or_representation: Union[str, Representation],
    y: np.ndarray | None = None,
    sr: float | None = None,
    *,
    size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
    cmap: str = "viridis",
    **params,
) -> np.ndarray:
    """Render a representation as a fixed-size RGB image for a CNN; the same input gives the same pixels.

    Normalisation is per image: heatmaps map the matrix's min..max onto the
    colormap (low bins at the bottom); the waveplot fills its min/max envelope
    scaled by its own peak (columns where the waveform does not move stay blank); the centroid and roll-off are area charts on a
    fixed 0..Nyquist axis. A constant matrix, a silent waveform and a zero
    feature all render as a flat image of the colormap's lowest colour.

    Parameters
    ----------
    name_or_representation : str or Representation
        A registry key (then ``y``, ``sr`` and ``params`` are required/used),
        or an already computed :class:`Representation`.
    size : (height, width)
        Output size in pixels.

    Returns
    -------
    np.ndarray, uint8, shape (height, width, 3)
    """
    if isinstance(name_or_representation, Representation):
        if y is not None or params:
            raise RepresentationError("Pass either a computed Representation or a name with y and sr, not both.")
        rep = name_or_representation
    else:
        if y is None or sr is None:
            raise RepresentationError("to_image needs y and sr when given a representation name.")
        rep = compute(name_or_representation, y, sr, **params)
    if len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0 for s in size):
        raise RepresentationError(f"size must be two positive whole numbers (height, width); got {size!r}.")
    height, width = int(size[0]), int(size[1])
    lut = colormap(cmap)
    style = REGISTRY[rep.name].image if rep.name in REGISTRY else "heatmap"
    v = np.asarray(rep.values, dtype=np.float32)
    rows = np.arange(height)[:, None]  # (H, 1), row 0 at the top

    if style == "envelope":
        peak = float(np.abs(v).max())
        lo = _columns(v[0], width, np.minimum) / (peak or 1.0)  # (W,) in [-1, 1]
        hi = _columns(v[-1], width, np.maximum) / (peak or 1.0)
        mid = (height - 1) / 2
        top, bottom = np.round(mid - hi * mid), np.round(mid - lo * mid)
        mask = (rows >= top) & (rows <= bottom) & (hi > lo)  # (H, W); still columns stay blank
        return np.where(mask[..., None], lut[-1], lut[0]).astype(np.uint8)

    if style == "area":
        lo_v, hi_v = rep.value_range or (0.0, float(v.max()) or 1.0)
        level = _column_means(v[0], width)
        frac = np.clip((level - lo_v) / ((hi_v - lo_v) or 1.0), 0, 1)  # (W,) column heights
        filled = rows >= height - np.round(frac * height)  # (H, W)
        shade = lut[np.round(np.linspace(255, 64, height)).astype(int)][:, None, :]  # brighter at the top
        return np.where(filled[..., None], shade, lut[0]).astype(np.uint8)

    span = float(v.max() - v.min())
    norm = (v - v.min()) / span if span > 0 else np.zeros_like(v)
    img = Image.fromarray(np.ascontiguousarray(norm[::-1], dtype=np.float32)).resize((width, height), Image.Resampling.BILINEAR)
    idx = np.clip(np.rint(np.asarray(img) * 255), 0, 255).astype(np.intp)  # (H, W)
    return lut[idx]
