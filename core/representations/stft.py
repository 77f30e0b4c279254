"""The shared STFT, decibel scaling and cached filterbanks behind the STFT-based representations.

One numpy STFT framed as ``librosa.stft`` (centred, zero-padded, periodic
Hann), filterbanks cached per parameter set and read-only, and the per-octave
kernels of librosa's recursive CQT, built once.
"""
from __future__ import annotations

import functools

import librosa
import numpy as np
import scipy.fft

from core.representations.registry import RepresentationError

TOP_DB = 80.0


@functools.lru_cache(maxsize=16)
def _window(n_fft: int) -> np.ndarray:
    # periodic Hann, as scipy.signal.get_window("hann", n_fft) and librosa.stft use
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft_complex(y: np.ndarray, *, n_fft: int, hop_length: int, window: bool = True) -> np.ndarray:
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


def stft_power(y: np.ndarray, *, n_fft: int, hop_length: int, power: float) -> np.ndarray:
    """``|STFT|**power``, float32 ``(n_frames, 1 + n_fft // 2)``."""
    mag = np.abs(stft_complex(y, n_fft=n_fft, hop_length=hop_length))
    if power == 1:
        return mag
    return np.multiply(mag, mag, out=mag) if power == 2 else mag**power


def frame_times(n_frames: int, sr: float, hop_length: int) -> np.ndarray:
    return np.arange(n_frames) * (hop_length / sr)


def to_db(S: np.ndarray, *, power: bool, with_peak: bool = False):
    """Decibels relative to the matrix's peak, floored ``TOP_DB`` below it (silence -> all 0); with
    ``with_peak``, also the peak's own level in dB re 1 (``librosa.power_to_db(S, ref=1.0)``'s scale), the
    offset that puts the values back on an absolute scale."""
    amin = np.float32(1e-10 if power else 1e-5)
    scale = np.float32(10.0 if power else 20.0)
    db = scale * np.log10(np.maximum(S, amin))
    peak = float(db.max())
    db -= peak
    db = np.maximum(db, -TOP_DB, out=db).astype(np.float32, copy=False)
    return (db, peak) if with_peak else db


@functools.lru_cache(maxsize=32)
def mel_filterbank(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None = None) -> np.ndarray:
    """librosa's Slaney mel filterbank, float32 ``(n_mels, 1 + n_fft // 2)``, cached and read-only."""
    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)
    fb.setflags(write=False)
    return fb


def log_mel_power(y: np.ndarray, sr: float, *, n_mels: int, n_fft: int, hop_length: int, fmin: float,
                  with_peak: bool = False):
    """Log-mel power in dB re the peak, float32 ``(n_mels, n_frames)``, from checked arguments (and the peak's
    level in dB re 1 with ``with_peak``, as :func:`to_db`).

    Shared by ``mel`` and ``mfcc``: the MAiVAR module cannot import the DCASE one without
    registering ``mel`` before its own six.
    """
    S = stft_power(y, n_fft=n_fft, hop_length=hop_length, power=2)  # (n_frames, n_freq)
    M = (S @ mel_filterbank(sr, n_fft, n_mels, fmin).T).T  # (n_mels, n_frames)
    return to_db(M, power=True, with_peak=with_peak)


@functools.lru_cache(maxsize=32)
def chroma_filterbank(sr: float, n_fft: int, n_chroma: int, tuning: float) -> np.ndarray:
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
def gammatone_filterbank(sr: float, n_fft: int, n_bands: int, fmin: float) -> tuple[np.ndarray, np.ndarray]:
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
def cqt_plan(sr: float, fmin: float, n_bins: int, bins_per_octave: int, hop_length: int) -> tuple:
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
