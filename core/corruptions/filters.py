"""Array machinery shared by the video corruptions: validation, frame-size scaling and filters.

``frames`` are uint8 ``(T, H, W, 3)``. ImageNet-C's tables are in pixels of a 224-px image;
:func:`reference_scale` gives the factor (``min(H, W) / 224``) that maps them to a clip, so any
frame size gets the same relative damage. Filters work on the whole clip at once: separable ones
as two matrix products (:func:`separable`), non-separable kernels as one FFT (:func:`fft_convolve`).
The corruptions themselves live in ``video`` (noise, digital, outages), ``blur`` and ``weather``.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.fft

REFERENCE_SIDE = 224  # ImageNet-C's image side: spatial table values are pixels at this size


def check_frames(frames) -> None:
    """Raise ``ValueError`` unless ``frames`` is uint8 ``(T, H, W, 3)`` with T, H, W >= 1."""
    if not isinstance(frames, np.ndarray):
        raise ValueError(f"frames must be a numpy array; got {type(frames).__name__}.")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB (0-255); got dtype {frames.dtype}.")
    if frames.ndim != 4 or frames.shape[-1] != 3 or min(frames.shape[:3]) < 1:
        raise ValueError(f"frames must have shape (T, H, W, 3) with T, H, W >= 1; got {frames.shape}.")


def checked(fn):
    """Decorator of every video corruption: validate ``frames`` and ``rng``, check the output's shape and dtype."""

    @functools.wraps(fn)
    def wrapper(frames, *, rng, **params):
        check_frames(frames)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")
        out = fn(frames, rng=rng, **params)
        assert out.shape == frames.shape and out.dtype == np.uint8, fn.__name__
        return out

    return wrapper


def reference_scale(frames: np.ndarray) -> float:
    """Pixels of this clip per pixel of a 224-px ImageNet-C image: ``min(H, W) / 224``."""
    return min(frames.shape[1:3]) / REFERENCE_SIDE


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round to the nearest level and clip to 0-255, as uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def scratch_to_uint8(x: np.ndarray) -> np.ndarray:
    """:func:`to_uint8` of a float array the caller no longer needs: rounded and clipped in place (no copies)."""
    np.rint(x, out=x)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


def fold(n: int, offsets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n x n) matrix of a 1-D filter with 'nearest' (edge-repeat) boundaries."""
    rows = np.repeat(np.arange(n), offsets.size)
    cols = np.clip(rows + np.tile(offsets, n), 0, n - 1)
    matrix = np.zeros((n, n), np.float32)
    np.add.at(matrix, (rows, cols), np.tile(weights, n).astype(np.float32))
    return matrix


def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """(n x n) Gaussian filter of std ``sigma`` px, truncated at 4 sigma, edges repeated (skimage's ``gaussian``)."""
    radius = max(1, int(np.ceil(4 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / max(sigma, 1e-6)) ** 2)
    return fold(n, offsets, weights / weights.sum())


def separable(frames: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Apply ``rows`` (H x H) down the columns and ``cols`` (W x W) along the rows of every frame.

    Two matrix products over the whole clip: the fastest exact separable filter in numpy.
    ``frames`` (T, H, W, C) of any dtype; returns float32 (T, H, W, C).
    """
    t, h, w, c = frames.shape
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)  # (T, C, H, W)
    x = x.reshape(-1, w) @ cols.T                                              # filter along W
    x = rows @ x.reshape(t * c, h, w)                                          # filter along H
    return x.reshape(t, c, h, w).transpose(0, 2, 3, 1)


def fast_size(n: int) -> int:
    """Smallest of 2^k, 3 * 2^k, 5 * 2^k >= n: pocketfft is markedly faster on these than on other 5-smooth sizes."""
    return min(m << max(0, int(np.ceil(np.log2(n / m)))) for m in (1, 3, 5))


def fft_convolve(frames: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every frame and channel of ``frames`` (T, H, W, C) with a 2-D ``kernel`` (odd sides), edges repeated.

    Returns float32-valued (T, H, W, C) (float64 where scipy promotes).
    """
    t, h, w, _ = frames.shape
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)
    x = np.pad(x, ((0, 0), (0, 0), (ry, ry), (rx, rx)), mode="edge")
    shape = (fast_size(x.shape[2]), fast_size(x.shape[3]))
    spectrum = scipy.fft.rfft2(x, s=shape) * scipy.fft.rfft2(kernel.astype(np.float32), s=shape)
    y = scipy.fft.irfft2(spectrum, s=shape)
    # full convolution: the centred result starts at the kernel radius
    y = y[:, :, 2 * ry : 2 * ry + h, 2 * rx : 2 * rx + w]
    return y.transpose(0, 2, 3, 1)


def motion_kernel(radius: float, sigma: float, angle_deg: float) -> np.ndarray:
    """ImageMagick's ``MotionBlurImage`` line kernel, as ImageNet-C's Wand call and imagecorruptions' ``_motion_blur``.

    ``2 * ceil(radius) + 1`` taps one pixel apart from the centre along ``angle_deg``, at
    offsets rounded half down (``ceil(i * sin - 0.5)``, ``ceil(i * cos - 0.5)``), weighted by a
    Gaussian of std ``sigma`` in taps from the centre. Returned as a convolution kernel with
    odd sides, centred: each output pixel is the weighted mean of the input along the line.
    """
    width = 2 * max(int(np.ceil(radius)), 1) + 1  # GetOptimalKernelWidth1D for radius > 0
    taps = np.arange(width)
    weights = np.exp(-0.5 * (taps / max(sigma, 1e-6)) ** 2)
    point = (width * np.sin(np.deg2rad(angle_deg)), width * np.cos(np.deg2rad(angle_deg)))
    hypot = np.hypot(*point)
    oy = np.ceil(taps * point[0] / hypot - 0.5).astype(int)
    ox = np.ceil(taps * point[1] / hypot - 0.5).astype(int)
    ry, rx = int(np.abs(oy).max()), int(np.abs(ox).max())
    kernel = np.zeros((2 * ry + 1, 2 * rx + 1), np.float64)
    # output(y, x) = sum_i w_i input(y + oy_i, x + ox_i): a convolution kernel holds it point-mirrored
    np.add.at(kernel, (ry - oy, rx - ox), weights)
    return kernel / kernel.sum()


def clipped_zoom_matrix(n: int, zoom: float) -> tuple[np.ndarray, slice]:
    """ImageNet-C's ``clipped_zoom`` along one axis of length ``n``, as imagecorruptions does it.

    The centred ``ceil(n / zoom)`` samples are magnified by ``zoom`` with ``scipy.ndimage.zoom``'s
    linear interpolation (``order=1``: corners map to corners) and the first ``n`` results kept.
    Returns the (n x crop) interpolation matrix and the crop's slice of the axis; ``zoom`` below 1
    is taken as 1 (the crop cannot be larger than the axis).
    """
    zoom = max(float(zoom), 1.0)
    crop = min(n, int(np.ceil(n / zoom)))
    top = (n - crop) // 2
    out_len = int(round(crop * zoom))
    pos = np.arange(n) * ((crop - 1) / max(out_len - 1, 1))
    lo = np.clip(np.floor(pos).astype(int), 0, crop - 1)
    hi = np.minimum(lo + 1, crop - 1)
    frac = (pos - lo).astype(np.float32)
    matrix = np.zeros((n, crop), np.float32)
    np.add.at(matrix, (np.arange(n), lo), 1 - frac)
    np.add.at(matrix, (np.arange(n), hi), frac)
    return matrix, slice(top, top + crop)
