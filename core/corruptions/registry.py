"""The corruption registry's data types: ``Corruption``, severity tables and ``register``.

``core.corruptions`` re-exports everything here; ``core.corruptions.catalog`` fills ``REGISTRY``.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

from ..media import Clip

MODALITIES = ("video", "audio", "audiovisual")
SEVERITIES = (1, 2, 3, 4, 5)


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
