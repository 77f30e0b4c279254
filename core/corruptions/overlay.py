"""READ's audio corruptions: recordings overlaid at a fixed gain, and white noise at a fixed level.

READ's Kinetics50-C / VGGSound-C (Yang et al., 'Test-time Adaptation against Multi-modal
Reliability Bias', ICLR 2024; XLearning-SCU/2024-ICLR-READ, ``make_corruptions/make_c_audio.py``)
corrupts audio at absolute levels, not at an SNR: white noise of standard deviation 0.08-0.38,
and five AudioSet recordings (traffic, crowd, rain, thunder, wind; not distributed) raised by
+1, +2, +4, +6, +8 dB and overlaid (pydub's ``apply_gain`` and ``overlay``). The recordings are
replaced by the synthetic sounds of :mod:`core.corruptions.soundscape`, taken to sit at
:data:`RECORDING_DBFS` before the gain. Functions map float32 mono ``y`` ``(N,)`` at ``sr`` Hz
to float32 ``(N,)`` saturated to [-1, 1], as READ's 16-bit WAV files are.
"""
from __future__ import annotations

import numpy as np

from . import audio
from .soundscape import SOUNDS

# Level (dBFS RMS) at which READ's recordings are taken to be before its gain is applied. The
# recordings are not distributed; -20 dBFS is a typical RMS of a normalised field recording
# (AVRobustBench's ESC-50 rain, wind and crowd files sit at -18 to -26 dBFS).
RECORDING_DBFS = -20.0


def overlay(y: np.ndarray, *, sr: int, sound: str, gain_db: float, rng: np.random.Generator,
            level_dbfs: float = RECORDING_DBFS) -> np.ndarray:
    """READ's ``add_external_noise``: a recording of ``sound`` raised by ``gain_db`` and added to the clip.

    READ overlays each recording at its own level after pydub's ``apply_gain(gain_db)``
    (+1, +2, +4, +6, +8 dB for severities 1-5), whatever the clip's level: the noise is
    absolute, not relative to the clip (so a silent clip gets it too). Here the synthetic
    recording sits at ``level_dbfs`` RMS (:data:`RECORDING_DBFS`) before the gain, so the added
    sound has RMS ``level_dbfs + gain_db`` dBFS. The sum saturates at full scale, as pydub's
    16-bit overlay does.

    Parameters
    ----------
    y : float32 (N,)
        Mono audio in [-1, 1].
    sr : int
        Sample rate in Hz.
    sound : str
        A key of :data:`core.corruptions.soundscape.SOUNDS`.
    gain_db : float
        Gain in dB applied to the recording before it is added.
    rng : np.random.Generator
        Draws the recording.

    Returns
    -------
    float32 (N,)
        ``clip(y + 10 ** ((level_dbfs + gain_db) / 20) * s, -1, 1)`` with ``s`` the unit-RMS sound.
    """
    audio.check_audio(y, sr)
    if sound not in SOUNDS:
        raise ValueError(f"Unknown sound '{sound}'; known: {', '.join(SOUNDS)}.")
    noise = SOUNDS[sound](y.size, sr=sr, rng=_generator(rng))
    return np.clip(y + 10 ** ((level_dbfs + gain_db) / 20) * noise, -1.0, 1.0).astype(np.float32)


def _generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")
    return rng


def _read(sound: str, what: str):
    def corrupt(y: np.ndarray, *, sr: int, gain_db: float, rng: np.random.Generator) -> np.ndarray:
        return overlay(y, sr=sr, sound=sound, gain_db=gain_db, rng=rng)

    corrupt.__name__ = corrupt.__qualname__ = f"read_{sound}"
    corrupt.__doc__ = (f"READ's {sound} corruption: {what} (synthetic: :func:`core.corruptions.soundscape.{sound}`) at "
                       f"{RECORDING_DBFS:g} dBFS + ``gain_db``, added; see :func:`overlay`.")
    return corrupt


read_traffic = _read("traffic", "street traffic")
read_crowd = _read("crowd", "crowd babble")
read_rain = _read("rain", "rain")
read_thunder = _read("thunder", "a thunderstorm")
read_wind = _read("wind", "wind on the microphone")


def read_gaussian_noise(y: np.ndarray, *, sr: int, std: float, rng: np.random.Generator) -> np.ndarray:
    """READ's audio ``gaussian_noise``: white Gaussian noise of standard deviation ``std`` (full scale 1) added.

    The noise level is absolute (0.08-0.38 for severities 1-5, READ's ``make_c_audio.py``), not
    relative to the clip, so a silent clip gets it too; the sum saturates at full scale, as
    READ's 16-bit WAV files do. avlab's ``audio_gaussian_noise`` is the SNR-based kind.

    Parameters
    ----------
    y : float32 (N,)
        Mono audio in [-1, 1].
    sr : int
        Sample rate in Hz (the noise is white at any rate).
    std : float
        Standard deviation of the added noise, in full-scale units.
    rng : np.random.Generator
        Draws the noise.

    Returns
    -------
    float32 (N,)
    """
    audio.check_audio(y, sr)
    return np.clip(y + std * _generator(rng).standard_normal(y.size), -1.0, 1.0).astype(np.float32)
