"""Video corruptions: physical functions on ``frames`` uint8 ``(T, H, W, 3)``.

Each function takes the frames, its physical parameters as keywords and an
``rng`` (``np.random.Generator``), and returns new uint8 frames of the same
shape. Severity tables live in the registry (``core.corruptions.catalog``).

Spatial parameters follow ImageNet-C, whose tables are in pixels of a 224-px
image; here they are scaled by ``min(H, W) / 224`` so any frame size gets the
same relative damage (a sigma-6 blur means "6/224 of the shorter side").

This module holds noise, digital corruptions (colour, resolution, compression,
geometry) and outages; blurs are in ``blur``, weather in ``weather``, shared
array machinery in ``filters``. All of them are importable from here.

Everything is vectorised over the clip: separable filters are two matrix
products over the whole stack, non-separable kernels one FFT, per-pixel noise a
table lookup, and per-clip random fields (fog, motion angle, patch position)
are drawn once.
"""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter
from scipy.special import ndtri, pdtr

from .blur import defocus_blur, gaussian_blur, glass_blur, motion_blur, zoom_blur  # noqa: F401 (importable from here)
from .filters import check_frames  # noqa: F401 (importable from here, as before)
from .filters import REFERENCE_SIDE, checked, reference_scale, scratch_to_uint8, separable, to_uint8
from .weather import fog, frost, plasma_fractal, snow, spatter  # noqa: F401 (importable from here)

# the names crossmodal.py and others used before filters.py existed
_checked, _scale, _to_uint8 = checked, reference_scale, to_uint8

# --------------------------------------------------------------------------- noise

_Q16 = 1 << 16  # quantiles for additive noise
_Q8 = 1 << 8    # quantiles per grey level for level-dependent noise


def _lookup_per_level(frames: np.ndarray, table: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel random output from a (256 levels x 256 quantiles) uint8 table (inverse-CDF sampling)."""
    u = rng.integers(0, _Q8, size=frames.shape, dtype=np.uint16)
    u |= frames.astype(np.uint16) << 8
    return table.reshape(-1).take(u)


@lru_cache(maxsize=16)
def _gaussian_quantiles(sigma: float) -> np.ndarray:
    return np.rint(ndtri((np.arange(_Q16) + 0.5) / _Q16) * sigma * 255.0).astype(np.int16)


@lru_cache(maxsize=16)
def _poisson_table(photons: float) -> np.ndarray:
    """(256 levels x 256 quantiles) of ``Poisson(level / 255 * photons) / photons``, as uint8."""
    lam = np.arange(256)[:, None] / 255.0 * photons
    k = np.arange(int(photons + 10 * np.sqrt(photons) + 20))[None, :]
    cdf = pdtr(k, np.maximum(lam, 1e-12))                                   # (256, K)
    q = (np.arange(_Q8) + 0.5) / _Q8
    draws = (cdf[:, :, None] < q[None, None, :]).sum(axis=1)                 # inverse CDF, (256, Q)
    return to_uint8(np.clip(draws / photons, 0, 1) * 255)


@checked
def gaussian_noise(frames: np.ndarray, *, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add i.i.d. Gaussian noise of std ``sigma`` (fraction of full scale) to every pixel and channel.

    Sampled by inverse CDF at 65,536 equiprobable quantiles (tails cut at 4.2 sigma),
    which keeps the whole clip one table lookup.
    """
    noise = _gaussian_quantiles(float(sigma)).take(rng.integers(0, _Q16, size=frames.shape, dtype=np.uint16))
    noise += frames
    return np.clip(noise, 0, 255).astype(np.uint8)


@checked
def shot_noise(frames: np.ndarray, *, photons: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson (photon) noise: each value becomes ``Poisson(x * photons) / photons`` (x in [0, 1]).

    Fewer ``photons`` per full-scale pixel means more noise. Sampled by inverse CDF at
    256 quantiles per grey level.
    """
    return _lookup_per_level(frames, _poisson_table(float(photons)), rng)


@checked
def impulse_noise(frames: np.ndarray, *, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper noise: a fraction ``amount`` of values set to 0 or 255 (half each)."""
    u = rng.integers(0, _Q16, size=frames.shape, dtype=np.uint16)
    cut = int(round(amount * _Q16))
    out = frames.copy()
    out[u < cut // 2] = 0
    out[(u >= cut // 2) & (u < cut)] = 255
    return out


@lru_cache(maxsize=16)
def _speckle_table(sigma: float) -> np.ndarray:
    """(256 levels x 256 quantiles) of ``x + x * N(0, sigma)`` (x in [0, 1]), as uint8."""
    z = ndtri((np.arange(_Q8) + 0.5) / _Q8)
    levels = np.arange(256, dtype=np.float64)[:, None]
    return to_uint8(levels * (1 + sigma * z[None, :]))


@checked
def speckle_noise(frames: np.ndarray, *, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative (speckle) noise: each value ``x`` becomes ``x + x * N(0, sigma)``, clipped (ImageNet-C held-out).

    Noise grows with the level (dark pixels stay dark). Sampled by inverse CDF at 256
    quantiles per grey level, one table lookup for the clip, as :func:`shot_noise`.
    """
    return _lookup_per_level(frames, _speckle_table(float(sigma)), rng)


# --------------------------------------------------------------------------- digital


@checked
def brightness(frames: np.ndarray, *, delta: float, rng: np.random.Generator) -> np.ndarray:
    """Raise HSV value by ``delta`` (fraction of full scale), hue and saturation kept.

    Adding to V scales all channels by V'/V, so the whole correction is one
    (value, channel) lookup table.
    """
    v = np.arange(256, dtype=np.float64)
    new_v = np.minimum(v + delta * 255.0, 255.0)
    ratio = np.where(v > 0, new_v / np.maximum(v, 1), 0.0)
    table = to_uint8(ratio[:, None] * np.arange(256)[None, :])
    table[0, :] = to_uint8(new_v[0])  # black has no hue: it becomes grey V'
    value = np.maximum(np.maximum(frames[..., 0], frames[..., 1]), frames[..., 2])
    idx = (value.astype(np.uint16) << 8)[..., None] | frames
    return table.reshape(-1).take(idx)


@checked
def contrast(frames: np.ndarray, *, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Scale each frame's deviation from its per-channel mean by ``factor`` (< 1 lowers contrast).

    One 256-entry table per frame and channel, so the clip is one lookup.
    """
    t = frames.shape[0]
    mean = np.einsum("tpc->tc", frames.reshape(t, -1, 3), dtype=np.float64) / (frames.size // (3 * t))
    levels = np.arange(256, dtype=np.float64)
    table = to_uint8((levels[None, None, :] - mean[:, :, None]) * factor + mean[:, :, None])  # (T, 3, 256)
    offsets = (np.arange(t * 3, dtype=np.uint32) * 256).reshape(t, 1, 1, 3)
    return table.reshape(-1).take(frames + offsets)


@lru_cache(maxsize=16)
def _saturation_ratio(factor: float, offset: float) -> np.ndarray:
    """(256 x 256) float32: ``S' / S`` for a pixel of maximum ``V`` (row) and minimum ``m`` (column), 0 where S = 0."""
    v = np.arange(256, dtype=np.float64)[:, None]
    m = np.arange(256, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = np.where((v > 0) & (m < v), (v - m) / v, 0.0)
        ratio = np.where(sat > 0, np.clip(sat * factor + offset, 0, 1) / sat, 0.0)
    return ratio.astype(np.float32)


@checked
def saturate(frames: np.ndarray, *, factor: float, offset: float, rng: np.random.Generator) -> np.ndarray:
    """HSV saturation ``S`` becomes ``clip(S * factor + offset, 0, 1)``, hue and value kept (ImageNet-C held-out).

    In RGB that moves every channel towards (or away from) the pixel's maximum ``V``:
    ``c' = V - (V - c) * S' / S``, the ratio one (V, min) table lookup. A grey pixel (``S = 0``) has
    hue 0 (red) in skimage's ``rgb2hsv``, as in the reference, so an ``offset`` tints grey towards
    red: ``(V, V (1 - S'), V (1 - S'))``.
    """
    value = np.maximum(np.maximum(frames[..., 0], frames[..., 1]), frames[..., 2])
    low = np.minimum(np.minimum(frames[..., 0], frames[..., 1]), frames[..., 2])
    ratio = _saturation_ratio(float(factor), float(offset)).reshape(-1).take((value.astype(np.uint16) << 8) | low)
    # channels first, so that per-pixel planes broadcast over whole rows (numpy is slow broadcasting over 3 values)
    x = np.subtract(value[:, None], frames.transpose(0, 3, 1, 2), dtype=np.float32)   # V - c, >= 0; (T, 3, H, W)
    x *= ratio[:, None]
    np.subtract(value[:, None], x, out=x)
    out = np.ascontiguousarray(scratch_to_uint8(x).transpose(0, 2, 3, 1))
    grey = (value == low) & (value > 0)
    if offset > 0 and grey.any():
        v = value[grey].astype(np.float64)
        out[grey] = to_uint8(np.stack([v, v * (1 - min(offset, 1)), v * (1 - min(offset, 1))], axis=-1))
    return out


def _cell_matrix(n: int, cell: float, *, whole_pixels: bool) -> np.ndarray:
    """(n x n) operator of pixelation along one axis: every pixel replaced by the mean of its cell, cells of
    ``cell`` px on a grid from 0.

    ``whole_pixels``: as PIL's two BOX resizes, each pixel wholly in the cell under its centre
    (irregular whole-pixel blocks). Otherwise area-exact: each cell the overlap-weighted mean of
    the pixels it overlaps, each pixel the overlap-weighted mean of its cells, so damage grows
    continuously with ``cell``, also below one pixel (whole-pixel blocks alias there).
    """
    count = max(1, int(np.ceil(n / cell - 1e-6)))  # a last cell of a millionth of a pixel is rounding
    if whole_pixels:
        member = np.minimum(((np.arange(n) + 0.5) / cell).astype(int), count - 1)     # the cell under each centre
        same = (member[:, None] == member[None, :]).astype(np.float64)
        return (same / same.sum(axis=1, keepdims=True)).astype(np.float32)
    cells = np.minimum(np.arange(count + 1) * cell, n)                                # cell edges in px
    cells[-1] = n
    lo = np.maximum(np.arange(n)[:, None], cells[None, :-1])
    hi = np.minimum(np.arange(1, n + 1)[:, None], cells[None, 1:])
    overlap = np.clip(hi - lo, 0, None)                                               # (pixels, cells)
    down = (overlap / overlap.sum(axis=0, keepdims=True)).T                           # cell means
    up = overlap / overlap.sum(axis=1, keepdims=True)                                 # back to pixels
    return (up @ down).astype(np.float32)


@checked
def pixelate(frames: np.ndarray, *, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Low resolution: each frame averaged over square cells and shown back at full size (ImageNet-C).

    ImageNet-C box-downsizes its 224-px image to ``int(224 * scale)`` px and back (PIL, BOX both
    ways). Here the cell side, ``224 / int(224 * scale)`` px at 224 px, is scaled to the frame's
    shorter side as the blurs' radii are: every frame size keeps ``int(224 * scale)`` cells across
    its shorter side (a frame with fewer pixels than cells is only mildly softened). From 224 px
    up, a pixel belongs wholly to the cell under its centre, as in PIL's BOX filter: ImageNet-C's
    pixelate up to PIL's rounding of the small image (tests/core/test_imagenet_c_parity.py).
    Below 224 px, where cells shrink towards a pixel and whole-pixel blocks alias (damage would
    not grow with severity), cells are area-exact: a pixel straddling two cells mixes them.
    """
    t, h, w, _ = frames.shape
    cell = min(h, w) / max(1, int(REFERENCE_SIDE * scale))
    whole = min(h, w) >= REFERENCE_SIDE  # cells of 1.67 px or more
    rows, cols = _cell_matrix(h, cell, whole_pixels=whole), _cell_matrix(w, cell, whole_pixels=whole)
    return to_uint8(separable(frames, rows, cols))


JPEG_MAX_ROWS = 65_500  # libjpeg's JPEG_MAX_DIMENSION: the most rows (and columns) one JPEG image may have


def _jpeg_stack(frames: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of frames coded as one tall image, each frame on a 16-row block boundary."""
    t, h, w, _ = frames.shape
    padded = -(-h // 16) * 16
    stack = np.pad(frames, ((0, 0), (0, padded - h), (0, 0), (0, 0)), mode="edge") if padded != h else frames
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(stack).reshape(t * padded, w, 3)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer).convert("RGB")).reshape(t, padded, w, 3)
    return decoded[:, :h]


@checked
def jpeg_compression(frames: np.ndarray, *, quality: int, rng: np.random.Generator) -> np.ndarray:
    """Encode and decode every frame as JPEG at ``quality`` (PIL, 4:2:0 chroma), as ImageNet-C.

    Frames are coded as tall images, each frame starting on a 16-row block boundary (edge-padded),
    so no 8x8 block mixes two frames; one codec call per chunk of frames. A chunk stays within
    JPEG's :data:`JPEG_MAX_ROWS` rows (about 400 frames of 160 px, 60 of 1080 px); a clip that fits
    is one chunk. Only the chroma upsampling of a frame's first and last rows can see the
    neighbouring frame, so the result is per-frame JPEG up to those rows.

    Raises
    ------
    ValueError
        A frame wider or taller than JPEG allows (65,500 px).
    """
    t, h, w, _ = frames.shape
    padded = -(-h // 16) * 16
    if padded > JPEG_MAX_ROWS or w > JPEG_MAX_ROWS:
        raise ValueError(f"JPEG holds images up to {JPEG_MAX_ROWS:,} px a side; these frames are {w} x {h}.")
    chunks = -(-t // (JPEG_MAX_ROWS // padded))
    size = -(-t // chunks)  # balanced chunks, each within the row limit
    out = np.empty_like(frames)
    for start in range(0, t, size):
        out[start : start + size] = _jpeg_stack(frames[start : start + size], quality)
    return out


def _reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Whole-pixel indices folded into ``range(n)`` by half-sample reflection (d c b a | a b c d | d c b a)."""
    index = np.mod(index, 2 * n)
    return np.where(index >= n, 2 * n - 1 - index, index)


@checked
def elastic_transform(frames: np.ndarray, *, alpha: float, sigma: float, max_shift: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Elastic warp (ImageNet-C's ``elastic_transform`` as imagecorruptions generalises it to any size).

    Each pixel is displaced by ``alpha`` times a field of i.i.d. uniform values in
    ``+-max_shift`` px smoothed by a Gaussian of ``sigma`` px (truncated at 3 sigma), one field
    per axis (x drawn first), and read back with bilinear interpolation, edges reflected.
    ``sigma`` and ``max_shift`` are px at 224 px (imagecorruptions: 1 % and 0.5 % of the side).
    The warp is one per clip (the lens does not change). At other sizes the displacement scales
    with the shorter side: the raw field's amplitude by the scale squared, since smoothing with a
    kernel ``s`` times wider divides its spread by ``s``.
    ImageNet-C's own release (hendrycks/robustness) adds a random affine map with another
    table; its damage does not grow with severity (measured in docs/PERFORMANCE.md), so the
    imagecorruptions version, the reference package, is the one followed.
    """
    t, h, w, _ = frames.shape
    s = reference_scale(frames)
    amplitude = max_shift * s * s
    dx, dy = (alpha * gaussian_filter(rng.uniform(-amplitude, amplitude, size=(h, w)), sigma * s, mode="reflect",
                                      truncate=3.0) for _ in range(2))
    y = np.arange(h)[:, None] + dy
    x = np.arange(w)[None, :] + dx
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    rows = [_reflect(y0.astype(np.int64) + k, h) * w for k in (0, 1)]
    cols = [_reflect(x0.astype(np.int64) + k, w) for k in (0, 1)]
    # bilinear weights in 1/256ths, summing to exactly 256: the blend runs in uint16 (255 x 256 fits)
    weights = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx]).reshape(4, -1)
    weights = np.rint(weights * 256).astype(np.int32)
    weights[np.argmax(weights, axis=0), np.arange(h * w)] += 256 - weights.sum(axis=0)
    flat = frames.reshape(t, h * w, 3)
    out = np.full((t, h * w, 3), 128, np.uint16)  # + 128: round to nearest after the shift
    corner, term = np.empty_like(flat), np.empty_like(out)
    for k, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        np.take(flat, (rows[i] + cols[j]).ravel(), axis=1, out=corner)
        # the weight repeated per channel: numpy is slow broadcasting over the last 3 values
        np.multiply(corner, np.repeat(weights[k].astype(np.uint16), 3).reshape(1, h * w, 3), out=term)
        out += term
    out >>= 8
    return out.astype(np.uint8).reshape(t, h, w, 3)


# --------------------------------------------------------------------------- occlusion and outages


def _nested_span(n: int, length: int, u: float) -> slice:
    """A span of ``length`` in ``range(n)`` placed by ``u`` in [0, 1): longer spans contain shorter ones."""
    length = min(max(length, 0), n)
    start = int(np.floor(u * (n - length + 1)))
    return slice(start, start + length)


@checked
def occlusion(frames: np.ndarray, *, side: float, rng: np.random.Generator) -> np.ndarray:
    """A black patch ``side`` x the frame's height and width, at a random place fixed for the clip.

    The place is drawn so that a larger patch (same seed) contains the smaller one.
    """
    h, w = frames.shape[1:3]
    uy, ux = rng.random(2)
    out = frames.copy()
    out[:, _nested_span(h, max(1, round(side * h)), uy), _nested_span(w, max(1, round(side * w)), ux)] = 0
    return out


@checked
def frame_drop(frames: np.ndarray, *, fps: float, effective_fps: float, rng: np.random.Generator) -> np.ndarray:
    """A camera delivering only ``effective_fps`` frames a second: every other frame repeats the last one delivered.

    Deliveries are due at times ``k / effective_fps`` from the first frame; each is the first
    recorded frame at or after its time and is held until the next. Exact in time, not a rounded
    hold step, so a lower ``effective_fps`` drops more frames at any ``fps`` (an ``fps`` at or below
    ``effective_fps`` is unchanged); for a whole-number ``fps / effective_fps`` it keeps every
    that-many-th frame.
    """
    t = frames.shape[0]
    if effective_fps <= 0:
        return frames[np.zeros(t, int)]
    if fps <= 0 or effective_fps >= fps:
        return frames.copy()
    # the small tolerances keep whole-number ratios exact (16 fps -> 8: frames 0, 0, 2, 2, ...)
    due = np.floor(np.arange(t) * (effective_fps / fps) + 1e-9)              # deliveries so far, minus one
    return frames[np.ceil(due * (fps / effective_fps) - 1e-9).astype(int)]   # the last delivered frame


@checked
def frame_freeze(frames: np.ndarray, *, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The picture freezes for ``fraction`` of the clip (one stretch at a random time)."""
    t = frames.shape[0]
    span = _nested_span(t, max(2, round(fraction * t)), rng.random())
    out = frames.copy()
    out[span] = frames[span.start]
    return out


@checked
def black_frames(frames: np.ndarray, *, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Camera outage: ``fraction`` of the clip (one stretch at a random time) is black."""
    t = frames.shape[0]
    out = frames.copy()
    out[_nested_span(t, max(1, round(fraction * t)), rng.random())] = 0
    return out


@checked
def video_off(frames: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """The whole video is missing: every frame black, shape kept."""
    return np.zeros_like(frames)
