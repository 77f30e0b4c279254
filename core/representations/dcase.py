"""The three spectrograms of the DCASE two-phase work: log-mel, constant-Q and gammatone.

128 filters, 80 ms window and 14 ms hop (``n_fft=1280, hop_length=224`` at 16 kHz),
all in dB re the clip's peak.
"""
from __future__ import annotations

import librosa
import numpy as np

from core.representations.registry import (
    Representation, RepresentationError, check_audio, check_fmin, positive_int, register,
)
from core.representations.stft import (
    cqt_plan, frame_times, gammatone_filterbank, log_mel_power, stft_complex, stft_power, to_db,
)


@register("mel", "Log-mel spectrogram")
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
    y, sr = check_audio(y, sr)
    n_mels, n_fft = positive_int("n_mels", n_mels), positive_int("n_fft", n_fft)
    hop_length, fmin = positive_int("hop_length", hop_length), check_fmin(fmin, sr)
    db, peak = log_mel_power(y, sr, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length, fmin=fmin,
                             with_peak=True)  # (n_mels, n_frames)
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=sr / 2)[1:-1]
    return Representation("mel", db, frame_times(db.shape[1], sr, hop_length), centres, "Frequency (Hz)", "dB",
                          offset=_rows(peak, n_mels))


@register("cqt", "Constant-Q transform")
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
    y, sr = check_audio(y, sr)
    n_bins, bins_per_octave = positive_int("n_bins", n_bins), positive_int("bins_per_octave", bins_per_octave)
    hop_length, fmin = positive_int("hop_length", hop_length), check_fmin(fmin, sr)
    if fmin <= 0:
        raise RepresentationError("fmin must be above 0 Hz for a constant-Q transform.")
    freqs = librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    responses, my_y = [], y
    for start, stop, n_fft, hop, kernel, halve in cqt_plan(sr, fmin, n_bins, bins_per_octave, hop_length):
        D = stft_complex(my_y, n_fft=n_fft, hop_length=hop, window=False)  # (n_frames, n_freq)
        responses.append((start, stop, np.abs(D @ kernel.T).T))  # (stop - start, n_frames)
        if halve:
            my_y = librosa.resample(my_y, orig_sr=2, target_sr=1, res_type="soxr_hq", scale=True)
    n_frames = min(r.shape[1] for _, _, r in responses)
    C = np.empty((n_bins, n_frames), dtype=np.float32)
    for start, stop, r in responses:
        C[start:stop] = r[:, :n_frames]
    db, peak = to_db(C, power=False, with_peak=True)
    return Representation("cqt", db, frame_times(C.shape[1], sr, hop_length), freqs, "Frequency (Hz)", "dB",
                          offset=_rows(peak, n_bins))


@register("gammatone", "Gammatone spectrogram")
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
    y, sr = check_audio(y, sr)
    n_bands, n_fft = positive_int("n_bands", n_bands), positive_int("n_fft", n_fft)
    hop_length, fmin = positive_int("hop_length", hop_length), check_fmin(fmin, sr)
    if fmin >= 0.95 * sr / 2:
        raise RepresentationError(f"fmin must lie below 0.95 x Nyquist ({0.95 * sr / 2:g} Hz); got {fmin}.")
    fb, centres = gammatone_filterbank(sr, n_fft, n_bands, fmin)
    S = stft_power(y, n_fft=n_fft, hop_length=hop_length, power=1)  # (n_frames, n_freq)
    G = (S @ fb.T).T  # (n_bands, n_frames)
    db, peak = to_db(G, power=False, with_peak=True)
    return Representation("gammatone", db, frame_times(G.shape[1], sr, hop_length), centres, "Frequency (Hz)", "dB",
                          offset=_rows(peak, n_bands))


def _rows(level: float, n: int) -> np.ndarray:
    """The offset of a spectrogram in dB re its peak: the peak's level on every row, float32 ``(n, 1)``."""
    return np.full((n, 1), level, np.float32)
