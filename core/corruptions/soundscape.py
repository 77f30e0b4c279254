"""Synthesised environmental sounds: stand-ins for the recordings READ and AVRobustBench overlay on audio.

READ's Kinetics50-C / VGGSound-C (Yang et al., ICLR 2024; XLearning-SCU/2024-ICLR-READ,
``make_corruptions/make_c_audio.py``) add five AudioSet recordings (traffic, crowd, rain, thunder,
wind) at fixed gains; AVRobustBench (Maharana et al., 2025; sarthaxxxxx/AVROBUSTBENCH,
``corruptions/corruptions.py``) adds ESC-50 and other recordings (rain, wind, water drops,
crackling fire or a siren, crowd speech, a concert, underwater ambience, snow, frost) at an SNR.
Neither set of recordings can ship here, so each is replaced by a sound synthesised from a model
of its physical source, described in its function's docstring. The substitutes match the
recordings' broad character (octave-band balance, steadiness, impulsiveness; measured on
AVRobustBench's files) but not their exact waveforms: results on them are comparable with the
published tables in kind, not to the decimal.

Every generator has the signature ``sound(n, *, sr, rng) -> float64 (n,)`` and returns ``n``
samples at ``sr`` Hz with unit RMS (the level is the caller's: an SNR in
:mod:`core.corruptions.cooccurring`, a gain over a reference level in
:mod:`core.corruptions.overlay`); same ``rng`` state, same sound. Sounds are drawn for the clip's
whole length, never looped. :data:`SOUNDS` maps names to generators.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from .filters import fast_size  # FFT lengths of 2^k, 3 * 2^k, 5 * 2^k: 2-3x faster than n = 80,000

# --------------------------------------------------------------------------- building blocks


def _shaped(n: int, sr: int, rng: np.random.Generator, gain) -> np.ndarray:
    """White noise with its spectrum multiplied by ``gain(freqs_hz)`` (zero phase), unit RMS.

    Drawn at an FFT-friendly length and cut to ``n`` (noise has no start or end to respect).
    """
    size = fast_size(n)
    x = scipy.fft.irfft(scipy.fft.rfft(rng.standard_normal(size)) * gain(scipy.fft.rfftfreq(size, 1 / sr)), size)
    return _unit(x[:n])


def _lp(f: np.ndarray, cutoff: float, order: int) -> np.ndarray:
    """Butterworth low-pass magnitude."""
    return 1 / np.sqrt(1 + (f / cutoff) ** (2 * order))


def _hp(f: np.ndarray, cutoff: float, order: int) -> np.ndarray:
    """Butterworth high-pass magnitude."""
    return 1 / np.sqrt(1 + (cutoff / np.maximum(f, 1e-6)) ** (2 * order))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.sqrt(np.mean(np.square(x)))), 1e-12)


def _envelope(n: int, sr: int, rng: np.random.Generator, period_s: float, low: float) -> np.ndarray:
    """A smooth positive envelope in [low, 1]: random levels every ``period_s`` s, cosine-interpolated."""
    knots = rng.random(int(n / sr / period_s) + 3)
    pos = np.arange(n) / sr / period_s
    i = pos.astype(int)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    return low + (1 - low) * (knots[i] * (1 - w) + knots[i + 1] * w)


def _impulses(n: int, sr: int, rng: np.random.Generator, rate_hz: float, sigma: float = 0.7,
              at_least: int = 0) -> np.ndarray:
    """Poisson events at ``rate_hz`` (at least ``at_least``): an impulse train, log-normal amplitudes, random signs."""
    train = np.zeros(n)
    count = max(at_least, rng.poisson(rate_hz * n / sr))
    np.add.at(train, rng.integers(0, n, count), rng.lognormal(0.0, sigma, count) * rng.choice([-1.0, 1.0], count))
    return train


def _ring(sr: int, freq_hz: float, decay_s: float, chirp: float = 0.0) -> np.ndarray:
    """A damped sinusoid of ``freq_hz`` rising by ``chirp`` (fraction) per decay time: a drop or bubble."""
    t = np.arange(int(5 * decay_s * sr) + 1) / sr
    phase = 2 * np.pi * freq_hz * (t + chirp * t**2 / (2 * decay_s))
    return np.sin(phase) * np.exp(-t / decay_s)


def _rings(n: int, sr: int, rng: np.random.Generator, rate_hz: float, freqs: tuple, decays: tuple,
           chirp: float = 0.0, variants: int = 4, sigma: float = 0.7, at_least: int = 0) -> np.ndarray:
    """Poisson events at ``rate_hz``, each a :func:`_ring` of a frequency and decay drawn from the ranges.

    ``variants`` rings are drawn and the events shared among them; each ring's train is convolved
    with it in one FFT of the clip (padded, so tails do not wrap).
    """
    size = fast_size(n + int(5 * max(decays) * sr) + 1)
    spectrum = np.zeros(size // 2 + 1, complex)
    for v in range(variants):
        kernel = _ring(sr, rng.uniform(*freqs), rng.uniform(*decays), chirp)
        train = _impulses(n, sr, rng, rate_hz / variants, sigma, at_least if v == 0 else 0)
        spectrum += scipy.fft.rfft(train, size) * scipy.fft.rfft(kernel, size)
    return scipy.fft.irfft(spectrum, size)[:n]


# --------------------------------------------------------------------------- weather


def rain(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Rain on hard ground and leaves: a steady broadband hiss and dense droplet impacts.

    Hiss: noise from ~200 Hz to ~5 kHz (the sum of countless distant impacts). Impacts: ~600
    droplets a second as clicks (0.5-1.5 ms rings at 1.5-5 kHz) and ~25 larger drops a second as
    bubble chirps (1-3 kHz, rising as the cavity closes). Steady (no gusts) and impulsive, like
    ESC-50's rain recordings (spectral centroid ~1.5-2 kHz, crest factor ~20 dB).
    """
    hiss = _shaped(n, sr, rng, lambda f: _hp(f, 200, 2) * _lp(f, 5000, 1))
    clicks = _unit(_rings(n, sr, rng, 600, (1500, 5000), (0.0005, 0.0015), variants=3))
    plops = _unit(_rings(n, sr, rng, 25, (1000, 3000), (0.004, 0.01), chirp=0.5, variants=3, sigma=0.5))
    return _unit(hiss + 0.7 * clicks + 0.5 * plops)


def wind(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Wind on the microphone: a gusty low-frequency rumble with a faint howl.

    Turbulence at the capsule: noise falling as 1/f from 20 to ~150 Hz (most energy in the
    31-125 Hz octaves, as ESC-50's wind), with gusts (levels from 0.2 to 1 over ~1.5 s) and a
    300-900 Hz howl that rises with each gust.
    """
    rumble = _shaped(n, sr, rng, lambda f: _hp(f, 20, 2) * _lp(f, 150, 2) / np.maximum(f, 20.0))
    howl = _shaped(n, sr, rng, lambda f: _hp(f, 300, 2) * _lp(f, 900, 2))
    gust = _envelope(n, sr, rng, 1.5, 0.2)
    return _unit(gust * (rumble + 0.2 * gust * howl))


def thunder(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A thunderstorm: rare low-frequency rumbles with long decays over a distant rumble bed.

    Strokes come about once every 6 s (at least one in any clip). Each is a short broadband crack
    (noise 200 Hz-4 kHz decaying in ~40 ms) and a rumble (noise below ~120 Hz) that swells in
    ~0.15 s and decays with a time constant of 1-2.5 s, with 2-4 later rolls from farther parts
    of the channel. The bed (a quarter of a stroke's peak level) is thunder too far to resolve.
    """
    seconds = n / sr
    rumble = _shaped(n, sr, rng, lambda f: _hp(f, 20, 2) * _lp(f, 120, 3) / np.sqrt(np.maximum(f, 20.0)))
    crack = _shaped(n, sr, rng, lambda f: _hp(f, 200, 2) * _lp(f, 4000, 2))
    t = np.arange(n) / sr
    roll, snap = np.full(n, 0.25), np.zeros(n)
    for start in rng.uniform(-0.5, max(seconds - 1.0, 0.1), max(1, rng.poisson(seconds / 6.0))):
        for k, delay in enumerate([0.0, *np.sort(rng.uniform(0.3, 2.0, rng.integers(2, 5)))]):
            i = max(0, int((start + delay) * sr))
            d = t[i:] - start - delay
            level, tau = (1.0 if k == 0 else rng.uniform(0.3, 0.7)), rng.uniform(1.0, 2.5)
            roll[i:] += level * (1 - np.exp(-d / 0.15)) * np.exp(-d / tau)
        i, m = max(0, int(start * sr)), max(0, min(n, int((start + 0.4) * sr)))
        snap[i:m] += np.exp(-(t[i:m] - start) / 0.04)
    return _unit(roll * rumble + 0.6 * snap * crack)


def snow(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Wind-driven snow on the microphone's cover: a high-frequency hiss and fine grain.

    Snow crystals striking a windshield: a hiss rising from ~1 kHz to a plateau above ~3 kHz
    (AVRobustBench's snow recordings centre near 4 kHz) over a faint broadband floor, swelling
    gently with the wind (levels 0.6-1 over ~2 s), and ~300 grain ticks a second (4-7 kHz, 0.3 ms).
    """
    hiss = _shaped(n, sr, rng, lambda f: _hp(f, 3000, 1) * _lp(f, 7500, 2) + 0.15 * _hp(f, 40, 1))
    grains = _unit(_rings(n, sr, rng, 300, (4000, 7000), (0.0002, 0.0004), variants=2))
    return _unit(_envelope(n, sr, rng, 2.0, 0.6) * hiss + 0.5 * grains)


def frost(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Ice forming and cracking: bursts of crackle with quiet between them.

    Bursts begin about once a second (at least one in any clip) and last 0.2-0.8 s; within a
    burst, ~400 micro-fractures a second, each a 2-5 ms ring at 400 Hz-1.6 kHz (AVRobustBench's
    frost recordings peak in the 0.5-1 kHz octaves and fall silent between bursts); under it a
    faint creak band (200-800 Hz).
    """
    seconds = n / sr
    t = np.arange(n) / sr
    gate = np.zeros(n)
    for s in rng.uniform(-0.3, seconds * 0.9, max(1, rng.poisson(seconds))):
        length = rng.uniform(0.2, 0.8)
        i, m = max(0, int(s * sr)), min(n, int((s + length) * sr) + 1)
        gate[i:m] = np.maximum(gate[i:m], np.clip(np.minimum(t[i:m] - s, s + length - t[i:m]) / 0.03, 0, 1))
    rate = 400 * seconds / max(float(np.sum(gate)) / sr, 1e-3)  # 400 a second within bursts
    cracks = _rings(n, sr, rng, rate, (400, 1600), (0.002, 0.005), at_least=1)
    creak = _shaped(n, sr, rng, lambda f: _hp(f, 200, 2) * _lp(f, 800, 2))
    return _unit(_unit(gate * cracks) + 0.03 * creak)


def underwater(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A hydrophone's ambience: a low rumble and bubbles, with almost nothing above 1 kHz.

    Water and the hydrophone pass little above ~500 Hz (AVRobustBench's underwater recordings
    are 35 dB down at 1 kHz): flow noise below ~300 Hz, and ~15 bubbles a second ringing at
    their Minnaert frequencies (150-600 Hz, rising as they shrink, 15-40 ms).
    """
    flow = _shaped(n, sr, rng, lambda f: _hp(f, 30, 2) * _lp(f, 300, 4))
    bubbles = _unit(_rings(n, sr, rng, 15, (150, 600), (0.015, 0.04), chirp=0.3, sigma=0.5))
    size = fast_size(n)
    spectrum = scipy.fft.rfft(flow + 0.6 * bubbles, size) * _lp(scipy.fft.rfftfreq(size, 1 / sr), 500, 4)
    return _unit(scipy.fft.irfft(spectrum, size)[:n])


def water_drops(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Water dripping into water: sparse drops, each a bubble ring rising in pitch.

    About 6 drops a second (at least one in any clip), each a 1-4 kHz ring of 10-30 ms whose
    pitch rises as the bubble closes; a faint trickle underneath. Very impulsive, like ESC-50's
    water-drop recordings (crest factor ~30 dB).
    """
    rings = _rings(n, sr, rng, 6, (1000, 4000), (0.01, 0.03), chirp=0.8, sigma=0.8, at_least=1)
    trickle = _shaped(n, sr, rng, lambda f: _hp(f, 500, 2) * _lp(f, 5000, 2))
    return _unit(_unit(rings) + 0.02 * trickle)


# --------------------------------------------------------------------------- people and machines


def traffic(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Street traffic: low-frequency engine rumble, passing cars with Doppler sweeps, and tyre noise.

    A steady hum of distant traffic (noise below ~200 Hz) and cars passing about once every 2 s
    (at least one during any clip): each at 8-20 m/s, 4-15 m away at closest approach, its
    engine a harmonic series on a 25-50 Hz firing frequency and its tyres band-passed noise
    (300 Hz-2 kHz); both fall as 1/distance, and the engine's pitch follows the Doppler factor
    c / (c + dr/dt) (c = 343 m/s), so it drops as the car passes.
    """
    seconds = n / sr
    t = np.arange(n) / sr
    hum = _shaped(n, sr, rng, lambda f: _hp(f, 25, 2) * _lp(f, 200, 2) / np.maximum(f, 25.0) ** 0.5)
    tyres = _shaped(n, sr, rng, lambda f: _hp(f, 300, 2) * _lp(f, 2000, 2))
    cars = np.zeros(n)
    passes = rng.uniform(-1.0, seconds + 1.0, max(1, rng.poisson(seconds / 2.0)))
    passes[0] = rng.uniform(0.0, seconds)
    for t0 in passes:
        v, d, f0 = rng.uniform(8, 20), rng.uniform(4, 15), rng.uniform(25, 50)
        x = v * (t - t0)
        r = np.sqrt(d**2 + x**2)
        phase = (2 * np.pi * f0 / sr) * np.cumsum(343.0 / (343.0 + v * x / r))  # dr/dt = v x / r
        engine = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 5))
        cars += (d / r) * (engine + 0.6 * np.roll(tyres, rng.integers(0, n)))
    return _unit(0.25 * hum + cars)


# Formants (F1, F2, F3) in Hz of five vowels of an adult voice, Peterson & Barney (1952) means.
_VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))


def crowd(n: int, *, sr: int, rng: np.random.Generator, talkers: int = 12) -> np.ndarray:
    """A crowd talking: many overlapping babble-like formant sources.

    Each of ``talkers`` voices speaks syllables of 0.12-0.3 s (a fifth of them silent: pauses)
    at its own pitch (90-250 Hz, drifting +-10 %): a glottal pulse train shaped by the formants
    of one of five vowels per syllable (three resonances; -6 dB/octave: glottal source and lip
    radiation), with a
    fricative (noise above 2.5 kHz) at some syllable onsets. No words: babble, as a crowd sounds
    when no one voice can be followed.
    """
    seconds = n / sr
    excitation = np.zeros((len(_VOWELS), n))
    fricative = np.zeros(n)
    for _ in range(talkers):
        lengths = rng.uniform(0.12, 0.3, int(seconds / 0.12) + 3)
        bounds = np.concatenate([[0.0], np.cumsum(lengths)]) - rng.uniform(0, 0.3)
        loud = rng.uniform(0.5, 1.0, lengths.size) * (rng.random(lengths.size) > 0.2)
        vowels = rng.integers(0, len(_VOWELS), lengths.size)
        f0, rate, offset = rng.uniform(90, 250), rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi)
        k = np.arange(int(seconds * f0 * 1.2) + 2)
        periods = 1 / (f0 * (1 + 0.1 * np.sin(2 * np.pi * rate * k / f0 + offset)))  # pitch drift
        times = np.cumsum(periods) - rng.random() * periods[0]
        times = times[(times >= 0) & (times < seconds)]
        syllable = np.searchsorted(bounds, times, side="right") - 1
        frac = (times - bounds[syllable]) / lengths[syllable]
        amp = np.sqrt(np.sin(np.pi * frac)) * loud[syllable] * np.sqrt(100.0 / f0)
        np.add.at(excitation, (vowels[syllable], (times * sr).astype(int)), amp)
        onsets = (bounds[1:-1] * sr).astype(int)
        onsets = onsets[(onsets >= 0) & (onsets < n) & (rng.random(onsets.size) < 0.3)]
        fricative[onsets] += rng.uniform(0.3, 1.0, onsets.size)
    burst = int(0.04 * sr)
    size = fast_size(n + burst)
    freqs = scipy.fft.rfftfreq(size, 1 / sr)
    tilt = _lp(freqs, 150.0, 1) * _hp(freqs, 80.0, 2)  # -6 dB/oct: glottal source (-12) and lip radiation (+6)
    spectrum = np.zeros(freqs.size, complex)
    for v, formants in enumerate(_VOWELS):
        resonances = sum(1 / (1 + ((freqs - fc) / (40 + 0.04 * fc)) ** 2) ** 0.5 / (1 + i)
                         for i, fc in enumerate(formants))
        spectrum += scipy.fft.rfft(excitation[v], size) * (tilt * resonances)
    hiss = scipy.fft.rfft(fricative, size) * scipy.fft.rfft(rng.standard_normal(burst) * np.hanning(burst), size)
    hiss = scipy.fft.irfft(hiss * _hp(freqs, 2500, 2) * _lp(freqs, 6000, 2), size)[:n]
    breath = _shaped(n, sr, rng, lambda f: _hp(f, 200, 1) * _lp(f, 1000, 1))  # aspiration, distant talkers
    return _unit(_unit(scipy.fft.irfft(spectrum, size)[:n]) + 0.05 * _unit(hiss) + 0.2 * breath)


def concert(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A rock concert in a hall: drums, bass and chords at 100-140 bpm, a cheering crowd, reverb.

    Kick drum on every beat (a 60 -> 40 Hz thump), snare on beats 2 and 4 (noise 1-5 kHz and a
    180 Hz body), hi-hat on the eighths (noise above 6 kHz); a bass line on the chord roots
    (40-60 Hz keys, three harmonics) and sustained triads two octaves up (two harmonics each),
    one chord a bar from I-V-vi-IV; a crowd cheering under it (band-passed noise with slow
    swells); all through a hall reverberation of ~1.2 s.
    """
    t = np.arange(n) / sr
    beat = 60.0 / rng.uniform(100, 140)
    roots = rng.uniform(40, 60) * 2 ** (np.array([0, 7, 9, 5]) / 12)
    bar = (t / (4 * beat)).astype(int) % 4
    root_phase = (2 * np.pi / sr) * np.cumsum(roots[bar])
    music = sum(0.5 / h * np.sin(h * root_phase) for h in range(1, 4))
    for semitones in ((0, 0, 0, 0), (4, 4, 3, 4), (7, 7, 7, 7)):  # the triad: root, third, fifth
        phase = 4 * root_phase * (2 ** (np.array(semitones) / 12))[bar]
        music = music + 0.12 * np.sin(phase) + 0.06 * np.sin(2 * phase)
    size = fast_size(n)
    freqs = scipy.fft.rfftfreq(size, 1 / sr)
    noise = scipy.fft.rfft(rng.standard_normal(size))
    snare_noise = scipy.fft.irfft(noise * _hp(freqs, 1000, 2) * _lp(freqs, 5000, 2), size)[:n]
    hat_noise = scipy.fft.irfft(noise * _hp(freqs, 6000, 4), size)[:n]
    drums = np.zeros(n)
    for b, start in enumerate(np.arange(rng.uniform(0, beat), n / sr, beat / 2)):
        i, m = int(start * sr), min(int((start + 0.25) * sr), n)
        d = t[i:m] - start
        drums[i:m] += 0.3 * hat_noise[i:m] * np.exp(-d / 0.02)
        if b % 2 == 0:
            drums[i:m] += np.sin(2 * np.pi * (40 * d + 1.0 * (1 - np.exp(-d / 0.05)))) * np.exp(-d / 0.12)
        if b % 4 == 2:
            drums[i:m] += (0.8 * snare_noise[i:m] + 0.4 * np.sin(2 * np.pi * 180 * d)) * np.exp(-d / 0.06)
    cheer = _shaped(n, sr, rng, lambda f: _hp(f, 300, 2) * _lp(f, 3000, 2)) * _envelope(n, sr, rng, 2.0, 0.3)
    dry = _unit(music) + _unit(drums) + 0.4 * cheer
    tail = rng.standard_normal(int(1.2 * sr)) * np.exp(-6.9 * np.arange(int(1.2 * sr)) / (1.2 * sr))
    size = fast_size(n + tail.size)
    wet = scipy.fft.irfft(scipy.fft.rfft(dry, size) * scipy.fft.rfft(tail / np.sqrt(np.sum(tail**2)), size), size)
    return _unit(dry + 0.5 * wet[:n])


def fire_or_siren(n: int, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Crackling fire or a siren, one of the two (even odds), as AVRobustBench's smoke draws one ESC-50 file.

    Fire: a low roar (noise below ~500 Hz) under ~40 crackles a second (0.3-1 ms rings at 2-6 kHz,
    log-normal loudness) and ~3 louder pops. Siren: a wail sweeping 600-1,500 Hz in a 3-5 s
    cycle, a square-ish tone (odd harmonics below Nyquist), swelling and fading with distance.
    """
    if rng.random() < 0.5:
        roar = _shaped(n, sr, rng, lambda f: _hp(f, 40, 2) * _lp(f, 500, 2))
        crackles = _rings(n, sr, rng, 40, (2000, 6000), (0.0003, 0.001), variants=3, sigma=0.8, at_least=1)
        pops = _rings(n, sr, rng, 3, (600, 1500), (0.001, 0.003), variants=2, sigma=0.5)
        return _unit(roar + 0.7 * _unit(crackles) + 0.5 * _unit(pops))
    t = np.arange(n) / sr
    freq = 1050 + 450 * np.sin(2 * np.pi * t / rng.uniform(3.0, 5.0) + rng.uniform(0, 2 * np.pi))
    phase = (2 * np.pi / sr) * np.cumsum(freq)
    tone = sum(np.sin(k * phase) / k for k in (1, 3, 5) if k * 1500 < sr / 2)
    return _unit(tone * _envelope(n, sr, rng, 3.0, 0.5))


SOUNDS = {"rain": rain, "wind": wind, "thunder": thunder, "snow": snow, "frost": frost, "underwater": underwater,
          "water_drops": water_drops, "traffic": traffic, "crowd": crowd, "concert": concert,
          "fire_or_siren": fire_or_siren}
