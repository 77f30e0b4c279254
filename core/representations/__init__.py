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

Layout: :mod:`.registry` (the registry, the types and input checks),
:mod:`.stft` (the shared STFT and filterbanks), :mod:`.maivar` and
:mod:`.dcase` (the representations, which register themselves on import, in
that order), :mod:`.api` (lookup by name, model input, images).
"""
# import order is registration order, so names() lists MAiVAR's six, then DCASE's three
from core.representations.registry import REGISTRY, Representation, RepresentationError, RepresentationSpec
from core.representations.stft import TOP_DB, erb_space, mel_filterbank
from core.representations.maivar import (
    PITCH_CLASSES, chromagram, mfcc, mfcc_scaled, spectral_centroid, spectral_rolloff, waveplot,
)
from core.representations.dcase import cqt, gammatone, mel
from core.representations.api import DEFAULT_IMAGE_SIZE, colormap, compute, names, to_image, to_tensor_input

__all__ = [
    "DEFAULT_IMAGE_SIZE", "TOP_DB", "PITCH_CLASSES", "REGISTRY",
    "Representation", "RepresentationError", "RepresentationSpec",
    "names", "compute", "to_tensor_input", "to_image", "colormap", "mel_filterbank", "erb_space",
    "waveplot", "spectral_centroid", "spectral_rolloff", "mfcc", "mfcc_scaled", "chromagram", "mel", "cqt", "gammatone",
]
