"""The corruption registry: every corruption with its modality, physical function and severity table.

Naming rule (registry key = results column = file name; the UI label is derived):

- a name used by one corruption only is its key as is: ImageNet-C / Kinetics-C names
  for video (``gaussian_blur``, ``fog``), READ / audiomentations names for audio
  (``mute``, ``reverb``, ``bit_crush``), plain names for audio-visual (``smoke``);
- when one name exists in several modalities, the video one keeps the bare name
  (ImageNet-C has precedence) and the others take their modality prefix:
  ``audio_`` or ``av_`` (``gaussian_noise`` / ``audio_gaussian_noise``,
  ``audio_rain`` / ``av_rain``). ``av_desync`` is audio-visual by nature.

``label(name)`` gives the title-cased UI label, with the modality in brackets for
names that exist in several modalities: 'Gaussian Noise (video)', 'Gaussian Noise (audio)'.

Severities are integers 1-5; each entry's table gives five sets of named physical
parameters. A single-level corruption (``mute``, ``video_off``: an on/off failure)
is registered with :func:`single_level` and declares it in ``Corruption.levels``,
``(1,)`` instead of ``(1, 2, 3, 4, 5)``: sweeps, curves, reports and the pages' severity
controls run and show it once, at severity 1 (:func:`grid` builds such a list). Any
severity 1-5 is still accepted and gives the same result, so stored ``mute:3`` rows and
calls such as ``core.evaluate --corruption mute`` (severity 3 by default) stay valid.
Calls take an ``rng``: same seed, same result.

Example
-------
>>> from core import corruptions
>>> noisy = corruptions.apply(clip, "audio_gaussian_noise", 3, rng=np.random.default_rng(0))
>>> both = corruptions.apply_many(clip, [("gaussian_blur", 2), ("audio_gaussian_noise", 4)], seed=0)
"""
from __future__ import annotations

import inspect
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

from ..media import Clip
from . import audio, crossmodal, video

MODALITIES = ("video", "audio", "audiovisual")
SEVERITIES = (1, 2, 3, 4, 5)
# Incremented whenever a registered corruption's output or the sweep grid changes, so that a sweep stored
# under older definitions is not continued with new rows (it is part of core.experiments' sweep key).
# 2: single-level corruptions run once; motion_blur's ImageMagick kernel length; pixelate's cells
# scaled to the frame; frame_drop exact in time; jpeg_compression on clips over 65,500 rows.
REVISION = 2
_PREFIX = {"audio": "audio_", "audiovisual": "av_"}
_ACRONYMS = {"av": "AV", "jpeg": "JPEG"}


@dataclass(frozen=True)
class Corruption:
    """One registered corruption.

    Attributes
    ----------
    name : str
        Registry key; also the results column and file-name stem.
    modality : {'video', 'audio', 'audiovisual'}
        What it damages. Video functions map ``frames -> frames``, audio ``y -> y``,
        audio-visual ``(frames, y) -> (frames, y)``.
    fn : callable
        The physical function; keyword parameters as in ``severities``, plus ``rng``
        (and ``fps`` / ``sr`` where the modality needs them).
    severities : tuple of 5 mappings
        Named physical parameters for severities 1-5.
    source : str
        The benchmark or library whose definition and table it follows.
    doc : str
        One sentence for users.
    stochastic : bool
        False when the result does not depend on the rng.
    levels : tuple of int
        The severities that differ: ``(1, 2, 3, 4, 5)``, or ``(1,)`` for a single-level
        corruption (registered with :func:`single_level`; every severity gives its one level).
    """

    name: str
    modality: str
    fn: Callable = field(repr=False, compare=False)
    severities: tuple = field(repr=False, compare=False)
    source: str = ""
    doc: str = ""
    stochastic: bool = True
    levels: tuple = SEVERITIES

    def params(self, severity: int) -> dict:
        """The physical parameters at ``severity`` (an integer 1-5), else ``ValueError``."""
        return dict(self.severities[check_severity(severity) - 1])

    def apply(self, clip: Clip, severity: int, *, rng: np.random.Generator) -> Clip:
        """``clip`` with this corruption at ``severity``; unchanged if it lacks the modality."""
        if not isinstance(clip, Clip):
            raise ValueError(f"Expected a Clip; got {type(clip).__name__}.")
        params = self.params(severity)
        if self.modality == "video":
            if not clip.has_video:
                return clip
            if "fps" in inspect.signature(self.fn).parameters:
                params["fps"] = clip.fps
            return clip.replace(frames=self.fn(clip.frames, rng=rng, **params))
        if self.modality == "audio":
            if not clip.has_audio:
                return clip
            return clip.replace(audio=self.fn(clip.audio, sr=clip.sr, rng=rng, **params))
        frames, y = self.fn(clip.frames, clip.audio, fps=clip.fps, sr=clip.sr, rng=rng, **params)
        return clip.replace(frames=frames, audio=y)


def check_severity(severity) -> int:
    """Return ``severity`` as an int if it is an integer from 1 to 5, else raise ``ValueError``."""
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"Severity must be an integer from 1 to 5; got {severity!r}.")
    return int(severity)


def table(**columns: Sequence) -> tuple[Mapping, ...]:
    """Five severity levels from named columns: ``table(sigma=[1, 2, 3, 4, 6])``."""
    for key, values in columns.items():
        if len(values) != 5:
            raise ValueError(f"Severity column '{key}' needs 5 values; got {len(values)}.")
    return tuple(MappingProxyType({k: v[i] for k, v in columns.items()}) for i in range(5))


def single_level(**params) -> tuple[Mapping, ...]:
    """One level used at every severity 1-5 (an on/off failure such as ``mute``).

    Registering with it declares the corruption single-level (``Corruption.levels == (1,)``).
    """
    return (MappingProxyType(dict(params)),) * 5


def _is_single_level(severities: Sequence[Mapping]) -> bool:
    return all(dict(p) == dict(severities[0]) for p in severities)


REGISTRY: dict[str, Corruption] = {}


def register(name: str, modality: str, fn: Callable, severities: tuple, *, source: str, doc: str,
             stochastic: bool = True) -> Corruption:
    """Add a corruption to ``REGISTRY`` (names are unique; see the naming rule above)."""
    if name in REGISTRY:
        raise ValueError(f"A corruption named '{name}' is already registered.")
    if modality not in MODALITIES:
        raise ValueError(f"Modality must be one of {MODALITIES}; got '{modality}'.")
    if len(severities) != 5:
        raise ValueError(f"A severity table has 5 levels (use table() or single_level()); got {len(severities)}.")
    # five equal rows are what single_level() makes: one level, declared as such
    levels = (1,) if _is_single_level(severities) else SEVERITIES
    REGISTRY[name] = Corruption(name, modality, fn, tuple(severities), source, doc, stochastic, levels)
    return REGISTRY[name]


IMAGENET_C = "ImageNet-C (Hendrycks & Dietterich, ICLR 2019), per frame as in Kinetics-C (Yi et al., 2021)"
TEMPORAL = "temporal perturbations of Kinetics-C (Yi et al., 2021) and Schiappa et al. (2022)"
AUDIOMENTATIONS = "audiomentations (Jordal et al.)"
READ = "Kinetics-C/VGGSound-C audio corruptions of READ (Yang et al., ICLR 2024)"
AVROBUST = "co-occurring corruptions of AVRobustBench (Maharana et al., 2025)"
SNR_DB = [30, 20, 10, 5, 0]

# --------------------------------------------------------------------------- video (ImageNet-C tables)
register("gaussian_noise", "video", video.gaussian_noise, table(sigma=[0.08, 0.12, 0.18, 0.26, 0.38]),
         source=IMAGENET_C, doc="Sensor noise: Gaussian, std as a fraction of full scale.")
register("shot_noise", "video", video.shot_noise, table(photons=[60, 25, 12, 5, 3]),
         source=IMAGENET_C, doc="Photon (Poisson) noise of a dim scene: fewer photons, more noise.")
register("impulse_noise", "video", video.impulse_noise, table(amount=[0.03, 0.06, 0.09, 0.17, 0.27]),
         source=IMAGENET_C, doc="Salt-and-pepper noise: a fraction of values stuck at black or white.")
register("gaussian_blur", "video", video.gaussian_blur, table(sigma=[1, 2, 3, 4, 6]),
         source=IMAGENET_C, doc="A dirty or smeared lens: Gaussian blur, sigma in px at 224 px.", stochastic=False)
register("defocus_blur", "video", video.defocus_blur,
         table(radius=[3, 4, 6, 8, 10], alias_blur=[0.1, 0.5, 0.5, 0.5, 0.5]),
         source=IMAGENET_C, doc="Out of focus: disk blur, radius in px at 224 px.", stochastic=False)
register("motion_blur", "video", video.motion_blur, table(radius=[10, 15, 15, 15, 20], sigma=[3, 5, 8, 12, 15]),
         source=IMAGENET_C,
         doc="Camera shake: a one-sided line blur of 2 x radius + 1 taps at a random angle, px at 224 px.")
register("zoom_blur", "video", video.zoom_blur, table(max_zoom=[1.10, 1.15, 1.20, 1.24, 1.30]),
         source=IMAGENET_C, doc="Zooming during exposure: mean of zooms from 1 to max_zoom.", stochastic=False)
register("fog", "video", video.fog, table(thickness=[1.5, 2.0, 2.5, 2.5, 3.0], wibble_decay=[2.0, 2.0, 1.7, 1.5, 1.4]),
         source=IMAGENET_C, doc="Fog: a fractal haze over the scene, lower contrast.")
register("brightness", "video", video.brightness, table(delta=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source=IMAGENET_C, doc="Over-exposure: HSV value raised by a fraction of full scale.", stochastic=False)
register("contrast", "video", video.contrast, table(factor=[0.4, 0.3, 0.2, 0.1, 0.05]),
         source=IMAGENET_C, doc="Low contrast: deviations from the mean scaled down.", stochastic=False)
register("pixelate", "video", video.pixelate, table(scale=[0.6, 0.5, 0.4, 0.3, 0.25]),
         source=IMAGENET_C, doc="Low resolution: averaged over square cells, int(224 x scale) across the shorter side.",
         stochastic=False)
register("jpeg_compression", "video", video.jpeg_compression, table(quality=[25, 18, 15, 10, 7]),
         source=IMAGENET_C, doc="Compression artefacts: every frame JPEG-encoded at a low quality.", stochastic=False)
register("occlusion", "video", video.occlusion, table(side=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source="Cutout-style occlusion (DeVries & Taylor, 2017), static for the clip",
         doc="Something on the lens: a black patch of a fraction of the frame's side.")
register("frame_drop", "video", video.frame_drop, table(effective_fps=[8, 6, 4, 2, 1]),
         source=TEMPORAL, doc="A struggling camera: only effective_fps frames a second, each held until the next.",
         stochastic=False)
register("frame_freeze", "video", video.frame_freeze, table(fraction=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source=TEMPORAL, doc="The picture freezes for a fraction of the clip.")
register("black_frames", "video", video.black_frames, table(fraction=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source=TEMPORAL, doc="Camera outage: a fraction of the clip is black.")
register("video_off", "video", video.video_off, single_level(),
         source="missing modality (READ, Yang et al., ICLR 2024)", doc="No video at all: every frame black.",
         stochastic=False)

# --------------------------------------------------------------------------- audio (physical units)
register("mute", "audio", audio.mute, single_level(),
         source="missing modality (READ, Yang et al., ICLR 2024)", doc="Microphone failure: exact silence.",
         stochastic=False)
register("audio_gaussian_noise", "audio", audio.gaussian_noise, table(snr_db=SNR_DB),
         source=f"{READ}; AddGaussianSNR of {AUDIOMENTATIONS}", doc="A noisy microphone: white noise at an SNR.")
register("pink_noise", "audio", audio.pink_noise, table(snr_db=SNR_DB),
         source=f"AddColorNoise of {AUDIOMENTATIONS}", doc="Pink (1/f) background noise at an SNR.")
register("wind", "audio", audio.wind, table(snr_db=SNR_DB),
         source=READ, doc="Wind on the microphone: gusty low rumble at an SNR.")
register("audio_rain", "audio", audio.rain, table(snr_db=SNR_DB),
         source=READ, doc="Rain: hiss and droplet clicks at an SNR.")
register("mains_hum", "audio", audio.mains_hum, table(snr_db=[30, 20, 10, 5, 0], mains_hz=[50] * 5),
         source="ground-loop hum (50 Hz mains and harmonics), SNR as in READ", doc="Electrical hum at an SNR.")
register("clipping", "audio", audio.clipping, table(percent=[2, 5, 10, 20, 40]),
         source=f"ClipDistortion of {AUDIOMENTATIONS}", doc="An overdriven input: a percentage of samples clipped.",
         stochastic=False)
register("lowpass", "audio", audio.lowpass, table(cutoff_hz=[6000, 4000, 3000, 2000, 1000]),
         source=f"LowPassFilter of {AUDIOMENTATIONS}", doc="A muffled microphone: low-pass at a cut-off in Hz (8 kHz, the first level "
         "one might expect, is the Nyquist frequency of 16 kHz clips and would change nothing).",
         stochastic=False)
register("dropout", "audio", audio.dropout, table(fraction=[0.1, 0.2, 0.3, 0.4, 0.5], chunk_s=[0.1] * 5),
         source="packet loss (chunks silenced)", doc="A failing link: a fraction of the clip silenced in 0.1 s chunks.")
register("reverb", "audio", audio.reverb, table(rt60_s=[0.2, 0.4, 0.6, 0.9, 1.2], drr_db=[6, 3, 0, -3, -6]),
         source=f"ApplyImpulseResponse of {AUDIOMENTATIONS}, synthetic room", doc="A reverberant hall: RT60 in s.")
register("bit_crush", "audio", audio.bit_crush, table(bits=[10, 8, 6, 5, 4]),
         source=f"BitCrush of {AUDIOMENTATIONS}", doc="A cheap converter: samples quantised to few bits.",
         stochastic=False)

# --------------------------------------------------------------------------- audio-visual
register("av_desync", "audiovisual", crossmodal.av_desync, table(shift_s=[0.1, 0.2, 0.4, 0.8, 1.6]),
         source="audio-visual offset (SyncNet, Chung & Zisserman, 2016)",
         doc="Audio lags the picture by a number of seconds.", stochastic=False)
register("av_rain", "audiovisual", crossmodal.av_rain,
         table(density=[0.0005, 0.001, 0.002, 0.004, 0.008], length=[10, 14, 18, 22, 26], snr_db=SNR_DB),
         source=AVROBUST, doc="Rain seen and heard: streaks on the frames and rain noise.")
register("smoke", "audiovisual", crossmodal.smoke,
         table(opacity=[0.2, 0.35, 0.5, 0.65, 0.8], cutoff_hz=[4000, 3000, 2000, 1500, 1000]),
         source=AVROBUST, doc="Smoke: drifting haze on the frames and muffled sound.")

# The dashboard's one-click toggles (factory-av spec): microphone failure, dirty lens, noisy microphone.
EVERYDAY = {"mute": "mute", "blur": "gaussian_blur", "noise": "audio_gaussian_noise"}


def names(modality: str | None = None) -> list[str]:
    """Registry keys, in registration order, optionally of one modality."""
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"Modality must be one of {MODALITIES}; got '{modality}'.")
    return [n for n, c in REGISTRY.items() if modality is None or c.modality == modality]


def levels(name: str) -> tuple[int, ...]:
    """The severities at which ``name`` differs: ``(1, 2, 3, 4, 5)``, or ``(1,)`` if it is single-level."""
    return get(name).levels


def grid(names: Sequence[str], severities: Sequence[int] = SEVERITIES) -> list[tuple[str, int]]:
    """(name, severity) pairs to run: each name at ``severities``, a single-level one once at severity 1.

    The one rule for what a sweep runs: ``grid(["mute", "fog"], (1, 3))`` is
    ``[("mute", 1), ("fog", 1), ("fog", 3)]``; a single-level corruption runs even when 1
    is not among ``severities`` (its one level is every severity).
    """
    severities = [check_severity(s) for s in severities]
    pairs = []
    for n in names:
        own = get(n).levels
        pairs += [(n, s) for s in (severities if len(own) > 1 else own if severities else ())]
    return pairs


def get(name: str) -> Corruption:
    """The registered corruption ``name``; an unknown name is a ``ValueError`` listing valid ones."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(list(REGISTRY)[:6])
        raise ValueError(f"Unknown corruption '{name}'. Known ones include {known}, ... "
                         f"({len(REGISTRY)} in all; see corruptions.names()).") from None


def _base(name: str) -> str:
    c = get(name)
    prefix = _PREFIX.get(c.modality, "")
    return name[len(prefix):] if prefix and name.startswith(prefix) and name != "av_desync" else name


def label(name: str) -> str:
    """UI label: title-cased key, with the modality when the name exists in several modalities."""
    base = _base(name)
    words = " ".join(_ACRONYMS.get(w, w.capitalize()) for w in base.split("_"))
    if sum(_base(other) == base for other in REGISTRY) > 1:
        words += f" ({'audio-visual' if get(name).modality == 'audiovisual' else get(name).modality})"
    return words


# Video corruptions that change each frame on its own (clip-level draws, such as fog's map, the
# occlusion patch or the motion angle, come first and do not depend on the frame count), so
# corrupting only the frames a model samples gives the frames it would see. Noise and av_rain's
# streaks are drawn per frame: a different but equally distributed realisation. smoke drifts by a
# fixed number of pixels per frame, so on the sampled frames it drifts ten times slower; its
# per-frame density is the same. Temporal corruptions (frame_drop, frame_freeze, black_frames,
# video_off) and av_desync always get the whole clip.
FRAME_LOCAL = frozenset({
    "gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "defocus_blur", "motion_blur", "zoom_blur",
    "fog", "brightness", "contrast", "pixelate", "jpeg_compression", "occlusion", "av_rain", "smoke",
})
# Those that also draw no random numbers: on the sampled frames they give exactly the frames the model
# would sample from the corrupted clip (tests/app/test_branches.py checks every name here).
FRAMEWISE = frozenset({"gaussian_blur", "defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate",
                       "video_off"})


def clip_seed(seed: int, clip: str | os.PathLike) -> int:
    """The one seeding rule of a corrupted clip: from the experiment seed and the clip's file name.

    Sweeps, ``core.evaluate``, embeddings and the Lab all corrupt a clip with
    ``apply_many(clip, steps, seed=clip_seed(seed, path))`` (each step then draws from
    :func:`rng_for`), so the Robustness drill-down reopens exactly the input that was scored.
    """
    return int(np.random.SeedSequence([int(seed), zlib.crc32(Path(clip).name.encode())]).generate_state(1)[0])


def rng_for(name: str, *, seed: int, occurrence: int = 0) -> np.random.Generator:
    """The generator ``apply_many`` uses for a step: from the seed, the name and its repeat count only."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), int(occurrence)])


def apply(clip: Clip, name: str, severity: int, *, rng: np.random.Generator) -> Clip:
    """``clip`` with corruption ``name`` at ``severity`` (1-5); unchanged if it lacks the modality."""
    return get(name).apply(clip, severity, rng=rng)


def apply_many(clip: Clip, steps: Sequence[tuple[str, int]], *, seed: int) -> Clip:
    """Apply several corruptions in order, e.g. ``[("gaussian_blur", 3), ("audio_gaussian_noise", 2)]``.

    Each step draws from ``rng_for(name, seed=seed, occurrence=k)`` (k counts earlier steps
    of the same name), so a step's randomness does not change when other steps are added,
    removed or reordered.
    """
    for name, severity in steps:
        get(name), check_severity(severity)
    seen: dict[str, int] = {}
    for name, severity in steps:
        k = seen[name] = seen.get(name, -1) + 1
        clip = apply(clip, name, severity, rng=rng_for(name, seed=seed, occurrence=k))
    return clip


__all__ = ["Corruption", "REGISTRY", "EVERYDAY", "MODALITIES", "REVISION", "SEVERITIES", "FRAME_LOCAL", "FRAMEWISE",
           "clip_seed", "apply", "apply_many", "check_severity", "get", "grid", "label", "levels", "names",
           "register", "rng_for", "table", "single_level"]
