"""MAiVAR's six audio-images: waveplot, spectral centroid and roll-off, MFCC (raw and scaled), chromagram.

They keep librosa's default frames (``n_fft=2048, hop_length=512``); the
waveplot and the two 1-D features are drawn as an envelope and area charts.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from core.representations.registry import Representation, RepresentationError, check_audio, positive_int, register
from core.representations.stft import chroma_filterbank, frame_times, log_mel_power, stft_power

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@register("waveplot", "Waveplot", image="envelope")
def waveplot(*, y: np.ndarray, sr: float, hop_length: int = 160) -> Representation:
    """Waveform min/max envelope per block of ``hop_length`` samples, as ``waveshow`` draws it.

    Returns
    -------
    Representation
        ``values`` shape ``(2, ceil(len(y) / hop_length))``: row 0 the minimum,
        row 1 the maximum of each block; ``times`` are block centres.
    """
    y, sr = check_audio(y, sr)
    hop_length = positive_int("hop_length", hop_length)
    starts = np.arange(0, y.size, hop_length)
    env = np.stack([np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)])  # (2, n_frames)
    times = (starts + np.minimum(hop_length, y.size - starts) / 2) / sr
    return Representation("waveplot", env, times, np.array(["min", "max"]), "Envelope", "amplitude")


@register("spectral_centroid", "Spectral centroid", image="area")
def spectral_centroid(*, y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512) -> Representation:
    """Magnitude-weighted mean frequency of each frame (``librosa.feature.spectral_centroid``).

    Returns
    -------
    Representation
        ``values`` shape ``(1, n_frames)`` in Hz; 0 for silent frames.
    """
    y, sr = check_audio(y, sr)
    n_fft, hop_length = positive_int("n_fft", n_fft), positive_int("hop_length", hop_length)
    S = stft_power(y, n_fft=n_fft, hop_length=hop_length, power=1)  # (n_frames, n_freq)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr).astype(np.float32)
    total = S.sum(axis=1)
    centroid = np.divide(S @ freqs, total, out=np.zeros_like(total), where=total > 1e-10)
    return Representation(
        "spectral_centroid", centroid[None, :].astype(np.float32), frame_times(len(total), sr, hop_length),
        np.array(["centroid"]), "Feature", "Hz", value_range=(0.0, sr / 2),
    )


@register("spectral_rolloff", "Spectral roll-off", image="area")
def spectral_rolloff(
    *, y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512, roll_percent: float = 0.85
) -> Representation:
    """Frequency below which ``roll_percent`` of each frame's magnitude lies (``librosa`` semantics).

    Returns
    -------
    Representation
        ``values`` shape ``(1, n_frames)`` in Hz; 0 for silent frames.
    """
    y, sr = check_audio(y, sr)
    n_fft, hop_length = positive_int("n_fft", n_fft), positive_int("hop_length", hop_length)
    if not 0 < roll_percent < 1:
        raise RepresentationError(f"roll_percent must lie strictly between 0 and 1; got {roll_percent}.")
    S = stft_power(y, n_fft=n_fft, hop_length=hop_length, power=1)  # (n_frames, n_freq)
    cumulative = np.cumsum(S, axis=1)
    reached = cumulative >= roll_percent * cumulative[:, -1:]
    rolloff = np.fft.rfftfreq(n_fft, 1 / sr)[np.argmax(reached, axis=1)].astype(np.float32)
    return Representation(
        "spectral_rolloff", rolloff[None, :], frame_times(len(rolloff), sr, hop_length),
        np.array(["roll-off"]), "Feature", "Hz", value_range=(0.0, sr / 2),
    )


@register("mfcc", "MFCC")
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
    y, sr = check_audio(y, sr)
    n_mfcc, n_mels = positive_int("n_mfcc", n_mfcc), positive_int("n_mels", n_mels)
    if n_mfcc > n_mels:
        raise RepresentationError(f"n_mfcc ({n_mfcc}) cannot exceed n_mels ({n_mels}).")
    n_fft, hop_length = positive_int("n_fft", n_fft), positive_int("hop_length", hop_length)
    logmel, peak = log_mel_power(y, sr, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length, fmin=0.0,
                                 with_peak=True)  # from 0 Hz, as mel
    coeffs = scipy.fft.dct(logmel, type=2, norm="ortho", axis=0)[:n_mfcc].astype(np.float32)
    times = frame_times(coeffs.shape[1], sr, hop_length)
    offset = np.zeros((n_mfcc, 1), np.float32)
    offset[0] = peak * np.sqrt(n_mels)  # the orthonormal DCT-II of a constant c is c * sqrt(N) on coefficient 0
    return Representation("mfcc", coeffs, times, np.arange(n_mfcc), "MFCC", "dB (cepstral)", offset=offset)


@register("mfcc_scaled", "MFCC (feature-scaled)")
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


@register("chromagram", "Chromagram")
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
    y, sr = check_audio(y, sr)
    n_fft, hop_length = positive_int("n_fft", n_fft), positive_int("hop_length", hop_length)
    if not -0.5 <= tuning < 0.5:
        raise RepresentationError(f"tuning must lie in [-0.5, 0.5) bins; got {tuning}.")
    S = stft_power(y, n_fft=n_fft, hop_length=hop_length, power=2)  # (n_frames, n_freq)
    raw = (S @ chroma_filterbank(sr, n_fft, 12, float(tuning)).T).T  # (12, n_frames)
    peak = raw.max(axis=0, keepdims=True)
    chroma = np.divide(raw, peak, out=np.zeros_like(raw), where=peak > 0)
    times = frame_times(chroma.shape[1], sr, hop_length)
    return Representation("chromagram", chroma.astype(np.float32), times, np.array(PITCH_CLASSES), "Pitch class", "relative energy")
