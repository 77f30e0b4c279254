"""Blur corruptions (ImageNet-C): physical functions on ``frames`` uint8 ``(T, H, W, 3)``.

Radii and sigmas are pixels of ImageNet-C's 224-px image, scaled to the frame's shorter side
(:func:`~core.corruptions.filters.reference_scale`). Importable from ``core.corruptions.video`` too.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import convolve1d, gaussian_filter

from .filters import checked, fft_convolve, gaussian_matrix, motion_kernel, reference_scale, separable, to_uint8


@checked
def gaussian_blur(frames: np.ndarray, *, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur of std ``sigma`` (pixels at 224 px), edges repeated, as skimage's ``gaussian``."""
    s = sigma * reference_scale(frames)
    h, w = frames.shape[1:3]
    return to_uint8(separable(frames, gaussian_matrix(h, s), gaussian_matrix(w, s)))


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    """ImageNet-C's anti-aliased disk kernel, normalised to sum 1."""
    r = max(int(np.ceil(radius)), 1)
    yy, xx = np.mgrid[-r - 1 : r + 2, -r - 1 : r + 2]
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    if not disk.any():
        disk[r + 1, r + 1] = 1.0
    disk /= disk.sum()
    offsets = np.arange(-1, 2)
    g = np.exp(-0.5 * (offsets / max(alias_blur, 1e-3)) ** 2)
    g /= g.sum()
    # the alias blur is a 3x3 Gaussian, as cv2.GaussianBlur(ksize=3)
    return convolve1d(convolve1d(disk, g, axis=0, mode="constant"), g, axis=1, mode="constant")


@checked
def defocus_blur(frames: np.ndarray, *, radius: float, alias_blur: float, rng: np.random.Generator) -> np.ndarray:
    """Out-of-focus lens: convolution with a disk of ``radius`` (pixels at 224 px), anti-aliased."""
    return to_uint8(fft_convolve(frames, _disk(radius * reference_scale(frames), alias_blur)))


@checked
def motion_blur(frames: np.ndarray, *, radius: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Camera shake: ImageMagick's motion blur (ImageNet-C), angle uniform in +-45 deg, one per clip.

    ``radius`` and ``sigma`` are pixels at 224 px (ImageNet-C's table), scaled to the frame's
    shorter side; the line is ``2 * ceil(radius) + 1`` taps long, as in ``MotionBlurImage``.
    At 224 px this is imagecorruptions' ``motion_blur`` up to rounding to uint8.
    """
    angle = rng.uniform(-45, 45)
    s = reference_scale(frames)
    return to_uint8(fft_convolve(frames, motion_kernel(radius * s, sigma * s, angle)))


@checked
def zoom_blur(frames: np.ndarray, *, max_zoom: float, rng: np.random.Generator) -> np.ndarray:
    """Zoom blur: the mean of the frame zoomed about its centre by factors from 1 to ``max_zoom``.

    ImageNet-C averages ~10 zooms spaced evenly in [1, max_zoom]. Here the same range is
    covered by 8 zooms spaced evenly in log-zoom, built from 3 passes of "average with a
    zoomed copy" (zooms about one centre compose by multiplication), so the cost is 3
    resizes per frame instead of 10.
    """
    t, h, w, _ = frames.shape
    passes = 3
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        img = Image.fromarray(frame)
        for k in range(passes):
            z = max_zoom ** (2 ** (passes - 1 - k) / (2**passes - 1))
            box = (w / 2 * (1 - 1 / z), h / 2 * (1 - 1 / z), w / 2 * (1 + 1 / z), h / 2 * (1 + 1 / z))
            img = Image.blend(img, img.resize((w, h), Image.Resampling.BILINEAR, box=box), 0.5)
        out[i] = np.asarray(img)
    return out


def glass_sources(h: int, w: int, *, max_delta: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """Where each pixel of an ``h`` x ``w`` image ends up reading from after ImageNet-C's glass-blur shuffle.

    The reference (hendrycks/robustness ``glass_blur``) visits pixels ``(y, x)`` from
    ``(h - d, w - d)`` down to ``(d + 1, d + 1)`` in reverse raster order, draws
    ``dx, dy = randint(-d, d, size=2)`` (``d = max_delta``, so offsets ``-d .. d - 1``) and
    "swaps" ``x[y, x], x[y + dy, x + dx]``; on an RGB array that tuple assignment of two views
    copies the neighbour into ``(y, x)`` and leaves the neighbour as it is. A neighbour already
    visited in the same pass holds its new value, so a pixel reads along a chain of visited
    neighbours. Here the offsets are drawn at once, in visiting order, and the chains resolved by
    pointer jumping: the same distribution, vectorised.

    Returns
    -------
    np.ndarray
        int64 ``(h * w,)``: the flat index of the input pixel each output pixel shows, after
        ``iterations`` passes.
    """
    d = int(max_delta)
    n = h * w
    ys, xs = np.arange(h - d, d, -1), np.arange(w - d, d, -1)
    sources = np.arange(n)
    if ys.size == 0 or xs.size == 0 or d < 1:
        return sources
    visited = (ys[:, None] * w + xs[None, :]).ravel()  # visiting order
    inside = np.zeros(n, bool)
    inside[visited] = True
    for _ in range(int(iterations)):
        offsets = rng.integers(-d, d, size=(visited.size, 2))      # (dx, dy) per visit, as the reference draws them
        target = np.arange(n)
        target[visited] = visited + offsets[:, 1] * w + offsets[:, 0]
        # the neighbour was visited earlier in this pass (a later raster index): read what it holds now
        root = np.where(inside[target] & (target > np.arange(n)), target, np.arange(n))
        while True:
            jumped = root[root]
            if np.array_equal(jumped, root):
                break
            root = jumped
        sources = sources[target[root]]
    return sources


@checked
def glass_blur(frames: np.ndarray, *, sigma: float, max_delta: int, iterations: int,
               rng: np.random.Generator) -> np.ndarray:
    """Frosted glass: Gaussian blur, a local pixel shuffle, blur again (ImageNet-C's ``glass_blur``).

    ``sigma`` (px at 224 px) is scaled to the frame's shorter side; the shuffle moves pixels by
    whole pixels, up to ``max_delta`` px at 224 px, scaled and rounded (at least 1), in
    ``iterations`` passes (:func:`glass_sources`, vectorised, same distribution of moves as the
    reference's Python loop). The glass does not move: one shuffle for the whole clip. As in the
    reference the first blur is truncated to whole levels before the shuffle.
    """
    t, h, w, _ = frames.shape
    s = reference_scale(frames)
    sources = glass_sources(h, w, max_delta=max(1, int(round(max_delta * s))), iterations=iterations, rng=rng)
    blurred = gaussian_filter(frames, sigma=(0, sigma * s, sigma * s, 0), mode="nearest", output=np.float32)
    # np.uint8(x * 255) in the reference truncates; the 1e-3 keeps exact levels (a flat area) from dropping one
    blurred += 1e-3
    shuffled = blurred.astype(np.uint8).reshape(t, h * w, 3).take(sources, axis=1).reshape(t, h, w, 3)
    out = gaussian_filter(shuffled, sigma=(0, sigma * s, sigma * s, 0), mode="nearest", output=np.float32)
    return np.rint(out, out=out).astype(np.uint8)  # a blur of levels 0-255 stays within them
