"""Synthesise the sound of a factory-av scene from its parameters.

Each component (ambience, hum, bearing fault, hiss, thumps, cavitation) is made
over the whole clip from its own random stream, set to its level, then gated by
the states that contain it. So the states of one machine share every sample
they have in common, and a long clip's change only switches components on or off.

Levels are dBFS with full scale = RMS 1 (see :mod:`core.synth.spec`): steady
components over the whole clip, intermittent ones over their active samples.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from .spec import FPS, SR

# Which components each state contains, besides the ambience every clip has.
STATE_COMPONENTS: dict[str, tuple[str, ...]] = {
    "fan_normal": ("hum",),
    "fan_fault": ("hum", "fault"),
    "valve_closed": (),
    "valve_open": ("hiss",),
    "valve_leak": ("hiss",),
    "pump_normal": ("thumps",),
    "pump_cavitation": ("thumps", "cavitation"),
}
COMPONENTS = ("ambience", "hum", "fault", "hiss", "thumps", "cavitation")
CEILING = 0.99  # peak the global gain may reach: no clipping, a little headroom for the AAC encoder
_FADE_S = 0.01  # components switch on/off with a 10 ms ramp at a state change


def dbfs(y: np.ndarray) -> float:
    """RMS level of ``y`` in dBFS (full scale = RMS 1); -inf for silence."""
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def active_dbfs(y: np.ndarray, mask: np.ndarray) -> float:
    """Level of an intermittent component over the samples where ``mask`` is true."""
    return dbfs(y[mask])


def render_audio(audio: dict, *, segments: list[tuple[int, int, str]], n_samples: int,
                 rng: np.random.Generator, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Mix the clip's sound.

    Parameters
    ----------
    audio : dict
        ``params["audio"]``; a pump's ``thumps`` carry the ``frames`` of the strokes.
    segments : list of (start_sample, end_sample, label)
        The states along the clip, covering ``[0, n_samples)``.
    n_samples : int
        Length of the clip in samples.
    rng : np.random.Generator
        Each component draws from its own child stream, spawned in a fixed order.

    Returns
    -------
    y : np.ndarray, float32, shape (n_samples,)
        The mix after the global gain, peak <= 0.99.
    parts : dict
        ``{name: (signal float64 (n_samples,) before gain and gating, active mask bool (n_samples,))}``
        for each component present, plus ``"gain_db"``: the gain applied.
    """
    streams = dict(zip(COMPONENTS, rng.spawn(len(COMPONENTS))))
    parts: dict = {}
    mix = np.zeros(n_samples)
    for name in COMPONENTS:
        if name not in audio:
            continue
        make = _MAKERS[name]
        y, mask = make(audio, n_samples, sr, streams[name])
        parts[name] = (y, mask)
        mix += y * _gate(name, segments, n_samples, sr)
    peak = float(np.max(np.abs(mix))) if n_samples else 0.0
    gain_db = audio["gain_db_drawn"]
    if peak > 0:
        gain_db = min(gain_db, 20 * np.log10(CEILING / peak))
    parts["gain_db"] = round(float(gain_db), 4)
    return (mix * 10 ** (parts["gain_db"] / 20)).astype(np.float32), parts


def _gate(name: str, segments, n: int, sr: int) -> np.ndarray:
    """1 where a state containing ``name`` is on, 0 elsewhere, with short ramps at changes."""
    if name == "ambience":
        return np.ones(n)
    on = np.zeros(n)
    for start, end, label in segments:
        if name in STATE_COMPONENTS[label]:
            on[start:end] = 1.0
    if 0 < on.sum() < n:
        ramp = max(1, int(_FADE_S * sr))
        kernel = np.ones(ramp) / ramp
        on = np.convolve(on, kernel, mode="same")
    return on


def _at_level(y: np.ndarray, level_dbfs: float, mask: np.ndarray | None = None) -> np.ndarray:
    ref = y if mask is None else y[mask]
    rms = np.sqrt(np.mean(ref**2)) if ref.size else 0.0
    return y * (10 ** (level_dbfs / 20) / rms) if rms > 0 else y


def _coloured_noise(n: int, rng, exponent: float, sr: int) -> np.ndarray:
    """Noise with power spectral density ~ 1/f**exponent above 20 Hz (pink: 1, brown: 2)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    shape = np.zeros_like(f)
    keep = f >= 20.0
    shape[keep] = f[keep] ** (-exponent / 2)
    return np.fft.irfft(spec * shape, n)


def _ambience(audio, n, sr, rng):
    a = audio["ambience"]
    y = _coloured_noise(n, rng, 1.0 if a["colour"] == "pink" else 2.0, sr)
    return _at_level(y, a["level_dbfs"]), np.ones(n, bool)


def _hum(audio, n, sr, rng):
    h = audio["hum"]
    t = np.arange(n) / sr
    y = np.zeros(n)
    phases = rng.uniform(0, 2 * np.pi, h["harmonics"])
    for k in range(1, h["harmonics"] + 1):
        if k * h["f0_hz"] < 0.45 * sr:
            y += h["decay"] ** (k - 1) * np.sin(2 * np.pi * k * h["f0_hz"] * t + phases[k - 1])
    return _at_level(y, h["level_dbfs"]), np.ones(n, bool)


def _clicks(n, onsets, length, rng, shape="hann", spread_db=2.0):
    """Short broadband bursts starting at ``onsets`` (samples); returns (track, active mask)."""
    y = np.zeros(n)
    mask = np.zeros(n, bool)
    env = np.hanning(length + 2)[1:-1] if shape == "hann" else np.exp(-np.arange(length) / (length / 3))
    gains = 10 ** (rng.uniform(-spread_db, spread_db, len(onsets)) / 20)
    noise = rng.standard_normal((len(onsets), length))
    for s, g, z in zip(onsets, gains, noise):
        e = min(n, s + length)
        if e > s:
            y[s:e] += g * env[: e - s] * z[: e - s]
            mask[s:e] = True
    return y, mask


def _fault(audio, n, sr, rng):
    f = audio["fault"]
    share = f["whine_share"]
    period = sr / f["rate_hz"]
    onsets = (rng.uniform(0, period) + np.arange(int(n / period) + 1) * period).astype(int)
    length = max(2, int(round(f["click_ms"] * sr / 1000)))
    clicks, mask = _clicks(n, onsets[onsets < n], length, rng, spread_db=1.0)
    clicks = _at_level(clicks, f["level_dbfs"] + 10 * np.log10(1 - share), mask)
    t = np.arange(n) / sr
    whine = np.sin(2 * np.pi * f["whine_hz"] * t + rng.uniform(0, 2 * np.pi))
    whine = _at_level(whine, f["level_dbfs"] + 10 * np.log10(share))
    # The whine is steady, the clicks intermittent: the mask marks the clicks.
    return clicks + whine, mask


def _hiss(audio, n, sr, rng):
    h = audio["hiss"]
    lo, hi = h["centre_hz"] / np.sqrt(2), min(h["centre_hz"] * np.sqrt(2), 0.49 * sr)
    sos = signal.butter(4, [lo, hi], btype="bandpass", fs=sr, output="sos")
    y = signal.sosfilt(sos, rng.standard_normal(n + sr // 10))[sr // 10:]  # drop the filter's start-up
    return _at_level(y, h["level_dbfs"]), np.ones(n, bool)


def thump_onsets(audio: dict, *, fps: float = FPS, sr: int = SR) -> np.ndarray:
    """Sample index of each pump thump: the start of the frame where the rod is lowest."""
    return (np.asarray(audio["thumps"]["frames"], int) * sr / fps).astype(int)


def _thumps(audio, n, sr, rng):
    th = audio["thumps"]
    tau = th["decay_ms"] / 1000
    length = int(5 * tau * sr)
    t = np.arange(length) / sr
    burst = np.exp(-t / tau) * np.sin(2 * np.pi * th["freq_hz"] * t)
    y = np.zeros(n)
    mask = np.zeros(n, bool)
    active = max(1, int(tau * sr))
    for s in thump_onsets(audio, sr=sr):
        e = min(n, s + length)
        if e > s:
            y[s:e] += 10 ** (rng.uniform(-1, 1) / 20) * burst[: e - s]
            mask[s: min(n, s + active)] = True
    return _at_level(y, th["level_dbfs"], mask), mask


def _cavitation(audio, n, sr, rng):
    c = audio["cavitation"]
    count = rng.poisson(c["rate_hz"] * n / sr)
    onsets = np.sort(rng.integers(0, max(1, n), count))
    length = int(rng.uniform(0.001, 0.003) * sr)
    y, mask = _clicks(n, onsets, length, rng, shape="exp", spread_db=6.0)
    sos = signal.butter(4, 1000.0, btype="highpass", fs=sr, output="sos")
    y = signal.sosfilt(sos, y)
    return _at_level(y, c["level_dbfs"], mask), mask


_MAKERS = {"ambience": _ambience, "hum": _hum, "fault": _fault, "hiss": _hiss, "thumps": _thumps,
           "cavitation": _cavitation}
