"""The corruption registry: every corruption with its modality, physical function and severity table.

Naming rule (registry key = results column = file name; the UI label is derived):

- a name used by one corruption only is its key as is: ImageNet-C / Kinetics-C names
  for video (``gaussian_blur``, ``fog``), READ / audiomentations names for audio
  (``mute``, ``reverb``, ``bit_crush``), plain names for audio-visual (``smoke``);
- when one name exists in several modalities, the video one keeps the bare name
  (ImageNet-C has precedence) and the others take their modality prefix:
  ``audio_`` or ``av_`` (``gaussian_noise`` / ``audio_gaussian_noise``,
  ``audio_rain`` / ``av_rain``). ``av_desync`` is audio-visual by nature. A name registered
  before another modality took it keeps its key, since results are stored under it: ``wind``
  (audio) beside ``av_wind``, ``smoke`` beside ``avrobust_smoke``;
- a benchmark's own definition of a name already registered with another definition (shipped
  results were measured with that one, so it keeps its name and table) takes the benchmark as
  prefix instead: ``read_`` (READ: ``read_gaussian_noise``, white noise of a fixed standard
  deviation beside the SNR-based ``audio_gaussian_noise``; ``read_rain``, ``read_wind``: its
  recordings at fixed gains beside avlab's noises at SNRs) and ``avrobust_`` (AVRobustBench:
  ``avrobust_rain``, ``avrobust_smoke``, beside avlab's own ``av_rain`` and ``smoke``).

``label(name)`` gives the title-cased UI label, with the modality in brackets for
names that exist in several modalities: 'Gaussian Noise (video)', 'Gaussian Noise (audio)',
and the benchmark for a benchmark's version: 'Gaussian Noise (READ)'.

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

import os
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from ..media import Clip
from .registry import (MODALITIES, REGISTRY, SEVERITIES, Corruption, check_severity, register, single_level,
                       table)
from . import catalog  # noqa: E402,F401  (fills REGISTRY; imported after the registry it fills)

# Incremented whenever a registered corruption's output or the sweep grid changes, so that a sweep stored
# under older definitions is not continued with new rows (it is part of core.experiments' sweep key).
# 2: single-level corruptions run once; motion_blur's ImageMagick kernel length; pixelate's cells
# scaled to the frame; frame_drop exact in time; jpeg_compression on clips over 65,500 rows.
# 3: pixelate from 224 px up in whole-pixel cells as ImageNet-C's PIL resizes (it was up to 1.6 dB milder than
# the reference there; frames under 224 px unchanged), checked against imagecorruptions in
# tests/core/test_imagenet_c_parity.py.
REVISION = 3
_PREFIX = {"audio": "audio_", "audiovisual": "av_"}
_ACRONYMS = {"av": "AV", "jpeg": "JPEG", "h264": "H.264", "h265": "H.265", "crf": "CRF"}
_BENCHMARKS = {"read_": "READ", "avrobust_": "AVRobustBench"}  # a benchmark's version of a taken name


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


def _benchmark(name: str) -> str | None:
    return next((b for prefix, b in _BENCHMARKS.items() if name.startswith(prefix)), None)


def _base(name: str) -> str:
    c = get(name)
    prefix = next((p for p in _BENCHMARKS if name.startswith(p)), _PREFIX.get(c.modality, ""))
    return name[len(prefix):] if prefix and name.startswith(prefix) and name != "av_desync" else name


def label(name: str) -> str:
    """UI label: title-cased key, with the modality when the name exists in several modalities (the benchmark
    for a benchmark's own version)."""
    base = _base(name)
    words = " ".join(_ACRONYMS.get(w, w.capitalize()) for w in base.split("_"))
    if _benchmark(name):
        return f"{words} ({_benchmark(name)})"
    if sum(_base(other) == base for other in REGISTRY if not _benchmark(other)) > 1:
        words += f" ({'audio-visual' if get(name).modality == 'audiovisual' else get(name).modality})"
    return words


# Video corruptions that change each frame on its own (clip-level draws, such as fog's map, the
# occlusion patch, the motion angle, glass_blur's shuffle, elastic_transform's warp, the frost
# texture, the spatter drops or snow's wind angle, come first and do not depend on the frame count),
# so corrupting only the frames a model samples gives the frames it would see. Noise, snow's flakes
# and av_rain's streaks are drawn per frame: a different but equally distributed realisation. smoke
# drifts by a fixed number of pixels per frame, so on the sampled frames it drifts ten times slower;
# its per-frame density is the same. Temporal corruptions (frame_drop, frame_freeze, black_frames,
# video_off), av_desync and Kinetics-C's codec corruptions (packet_loss, bit_error, h264_crf, h265_crf,
# frame_rate: the encoder predicts frames from other frames, and a loss spreads to the frames after it)
# always get the whole clip.
FRAME_LOCAL = frozenset({
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "gaussian_blur", "defocus_blur",
    "motion_blur", "zoom_blur", "glass_blur", "fog", "snow", "frost", "spatter", "brightness", "contrast",
    "saturate", "elastic_transform", "pixelate", "jpeg_compression", "occlusion", "av_rain", "smoke", "rain",
    "kinetics_contrast",
    # AVRobustBench's co-occurring corruptions: visual halves of the kinds above; the audio half draws from its
    # own child generator, so it does not depend on the frames either
    "av_gaussian_noise", "av_impulse_noise", "av_shot_noise", "av_speckle_noise", "compression", "av_snow", "av_frost",
    "av_spatter", "av_wind", "avrobust_rain", "underwater", "concert", "avrobust_smoke", "av_crowd", "interference",
})
# Those that also draw no random numbers: on the sampled frames they give exactly the frames the model
# would sample from the corrupted clip (tests/app/test_branches.py checks every name here).
FRAMEWISE = frozenset({"gaussian_blur", "defocus_blur", "zoom_blur", "brightness", "contrast", "saturate",
                       "pixelate", "video_off", "kinetics_contrast"})


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
