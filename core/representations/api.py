"""The public API over the registry: compute a representation by name, as model input or as an RGB image.

Images are rendered with numpy and PIL alone (matplotlib is not a
dependency), with the colormap tables kept here.
"""
from __future__ import annotations

import functools
from typing import Union

import numpy as np
from PIL import Image

from core.representations.registry import REGISTRY, Representation, RepresentationError, RepresentationSpec

DEFAULT_IMAGE_SIZE = (224, 224)


def names() -> list[str]:
    """Registry keys, in registration order (MAiVAR's six, then mel, cqt, gammatone)."""
    return list(REGISTRY)


def _spec(name: str) -> RepresentationSpec:
    if name not in REGISTRY:
        raise RepresentationError(f"Unknown representation {name!r}; choose one of {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def compute(name: str, y: np.ndarray, sr: float, **params) -> Representation:
    """Compute the representation ``name`` of the waveform ``y`` (shape ``(n_samples,)``) at ``sr`` Hz."""
    spec = _spec(name)
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise RepresentationError(
            f"{name} has no parameter {', '.join(unknown)}; it accepts {', '.join(spec.defaults) or 'none'}."
        )
    return spec.compute(y=y, sr=sr, **params)


def to_tensor_input(name: str, y: np.ndarray, sr: float, **params) -> np.ndarray:
    """Model input: the matrix standardised over all its entries (mean 0, std 1; silence -> zeros).

    Returns
    -------
    np.ndarray, float32, shape (n_bins, n_frames)
    """
    v = compute(name, y, sr, **params).values
    mean, std = float(v.mean()), float(v.std())
    if std < 1e-6:
        return np.zeros_like(v, dtype=np.float32)
    return ((v - np.float32(mean)) * np.float32(1 / std)).astype(np.float32, copy=False)


# Colormaps as 9 anchors each (matplotlib's viridis and magma at 0, 1/8, ..., 1),
# linearly interpolated to 256 entries; matplotlib is not a dependency.
_CMAP_ANCHORS = {
    "viridis": [(68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
                (31, 158, 137), (53, 183, 121), (110, 206, 88), (253, 231, 37)],
    "magma": [(0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
              (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191)],
}


@functools.lru_cache(maxsize=None)
def colormap(name: str = "viridis") -> np.ndarray:
    """256-entry RGB lookup table, uint8 ``(256, 3)``, for ``"viridis"`` or ``"magma"``."""
    if name not in _CMAP_ANCHORS:
        raise RepresentationError(f"Unknown colormap {name!r}; choose one of {', '.join(_CMAP_ANCHORS)}.")
    anchors = np.asarray(_CMAP_ANCHORS[name], dtype=np.float64)
    x = np.linspace(0, 1, 256)
    at = np.linspace(0, 1, len(anchors))
    lut = np.stack([np.interp(x, at, anchors[:, c]) for c in range(3)], axis=1)
    lut = np.round(lut).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def _columns(v: np.ndarray, width: int, reduce: np.ufunc) -> np.ndarray:
    """Reduce ``v`` (n_frames,) to ``width`` columns; a column with no frame of its own takes its nearest."""
    starts = (np.arange(width) * v.size) // width
    return reduce.reduceat(v, starts)


def _column_means(v: np.ndarray, width: int) -> np.ndarray:
    """Mean of ``v`` (n_frames,) over each of ``width`` columns (nearest frame when upsampling)."""
    starts = (np.arange(width) * v.size) // width
    counts = np.diff(np.append(starts, v.size)).clip(1)
    return np.add.reduceat(v, starts) / counts


def to_image(
    name_or_representation: Union[str, Representation],
    y: np.ndarray | None = None,
    sr: float | None = None,
    *,
    size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
    cmap: str = "viridis",
    **params,
) -> np.ndarray:
    """Render a representation as a fixed-size RGB image for a CNN; the same input gives the same pixels.

    Normalisation is per image: heatmaps map the matrix's min..max onto the
    colormap (low bins at the bottom); the waveplot fills its min/max envelope
    scaled by its own peak (columns where the waveform does not move stay blank); the centroid and roll-off are area charts on a
    fixed 0..Nyquist axis. A constant matrix, a silent waveform and a zero
    feature all render as a flat image of the colormap's lowest colour.

    Parameters
    ----------
    name_or_representation : str or Representation
        A registry key (then ``y``, ``sr`` and ``params`` are required/used),
        or an already computed :class:`Representation`.
    size : (height, width)
        Output size in pixels.

    Returns
    -------
    np.ndarray, uint8, shape (height, width, 3)
    """
    if isinstance(name_or_representation, Representation):
        if y is not None or params:
            raise RepresentationError("Pass either a computed Representation or a name with y and sr, not both.")
        rep = name_or_representation
    else:
        if y is None or sr is None:
            raise RepresentationError("to_image needs y and sr when given a representation name.")
        rep = compute(name_or_representation, y, sr, **params)
    if len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0 for s in size):
        raise RepresentationError(f"size must be two positive whole numbers (height, width); got {size!r}.")
    height, width = int(size[0]), int(size[1])
    lut = colormap(cmap)
    style = REGISTRY[rep.name].image if rep.name in REGISTRY else "heatmap"
    v = np.asarray(rep.values, dtype=np.float32)
    rows = np.arange(height)[:, None]  # (H, 1), row 0 at the top

    if style == "envelope":
        peak = float(np.abs(v).max())
        lo = _columns(v[0], width, np.minimum) / (peak or 1.0)  # (W,) in [-1, 1]
        hi = _columns(v[-1], width, np.maximum) / (peak or 1.0)
        mid = (height - 1) / 2
        top, bottom = np.round(mid - hi * mid), np.round(mid - lo * mid)
        mask = (rows >= top) & (rows <= bottom) & (hi > lo)  # (H, W); still columns stay blank
        return np.where(mask[..., None], lut[-1], lut[0]).astype(np.uint8)

    if style == "area":
        lo_v, hi_v = rep.value_range or (0.0, float(v.max()) or 1.0)
        level = _column_means(v[0], width)
        frac = np.clip((level - lo_v) / ((hi_v - lo_v) or 1.0), 0, 1)  # (W,) column heights
        filled = rows >= height - np.round(frac * height)  # (H, W)
        shade = lut[np.round(np.linspace(255, 64, height)).astype(int)][:, None, :]  # brighter at the top
        return np.where(filled[..., None], shade, lut[0]).astype(np.uint8)

    span = float(v.max() - v.min())
    norm = (v - v.min()) / span if span > 0 else np.zeros_like(v)
    img = Image.fromarray(np.ascontiguousarray(norm[::-1], dtype=np.float32)).resize((width, height), Image.Resampling.BILINEAR)
    idx = np.clip(np.rint(np.asarray(img) * 255), 0, 255).astype(np.intp)  # (H, W)
    return lut[idx]
