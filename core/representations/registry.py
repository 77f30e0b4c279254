"""The representation registry and the checks every representation runs on its input.

Each representation module decorates its functions with :func:`register`, so
importing it adds them to :data:`REGISTRY`; the package imports the modules in
a fixed order, which is the order :func:`~core.representations.names` lists.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np


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
    offset : np.ndarray, float32, shape (n_bins, 1), or None
        What ``values`` in dB re the clip's own peak lack to be on one absolute scale (dB re 1, as
        ``librosa.power_to_db(S, ref=1.0)``): the peak's level in every row of a spectrogram; for MFCCs the
        same level on coefficient 0 only (times sqrt(n_mels), the orthonormal DCT of a constant). None when
        the values are absolute already or have no level (z-scores, per-frame relative energy).
    """

    name: str
    values: np.ndarray
    times: np.ndarray
    bins: np.ndarray
    bin_label: str
    units: str
    value_range: tuple[float, float] | None = None
    offset: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def absolute(self) -> "Representation":
        """The same representation on one absolute scale (dB re 1, floored 80 dB under the clip's peak): two
        clips then compare level for level, so a quieter clip is lower, not the same (``values`` re each clip's
        own peak hide a level change). Unchanged when ``offset`` is None."""
        if self.offset is None:
            return self
        values = (self.values + self.offset).astype(np.float32)
        units = "dB re 1" if self.units == "dB" else self.units.replace("dB", "dB re 1")
        return Representation(self.name, values, self.times, self.bins, self.bin_label, units, self.value_range)


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


def register(name: str, label: str, image: str = "heatmap"):
    def decorate(fn):
        params = inspect.signature(fn).parameters
        defaults = {k: p.default for k, p in params.items() if k not in ("y", "sr")}
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        REGISTRY[name] = RepresentationSpec(name, label, fn, defaults, doc, image)
        return fn

    return decorate


# --------------------------------------------------------------------------- validation


def check_audio(y, sr) -> tuple[np.ndarray, float]:
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


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise RepresentationError(f"{name} must be a positive whole number; got {value!r}.")
    return int(value)


def check_fmin(fmin, sr: float, name: str = "fmin") -> float:
    if isinstance(fmin, bool) or not isinstance(fmin, (int, float, np.integer, np.floating)):
        raise RepresentationError(f"{name} must be a frequency in Hz; got {fmin!r}.")
    if not (0 <= fmin < sr / 2):
        raise RepresentationError(f"{name} must lie between 0 Hz and the Nyquist frequency {sr / 2:g} Hz; got {fmin}.")
    return float(fmin)
