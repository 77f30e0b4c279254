"""Video corruptions: physical functions on ``frames`` uint8 ``(T, H, W, 3)``.

Each function takes the frames, its physical parameters as keywords and an
``rng`` (``np.random.Generator``), and returns new uint8 frames of the same
shape. Severity tables live in the registry (``core.corruptions``).

Spatial parameters follow ImageNet-C, whose tables are in pixels of a 224-px
image; here they are scaled by ``min(H, W) / 224`` so any frame size gets the
same relative damage (a sigma-6 blur means "6/224 of the shorter side").

Everything is vectorised over the clip: separable filters are two matrix
products over the whole stack, non-separable kernels one FFT, per-pixel noise a
table lookup, and per-clip random fields (fog, motion angle, patch position)
are drawn once.
"""
from __future__ import annotations

import functools
import io
from functools import lru_cache

import numpy as np
import scipy.fft
from PIL import Image
from scipy.special import ndtri, pdtr

REFERENCE_SIDE = 224  # ImageNet-C's image side: spatial table values are pixels at this size


def _checked(fn):
    """Validate ``frames`` and ``rng`` once, for every video corruption."""

    @functools.wraps(fn)
    def wrapper(frames, *, rng, **params):
        check_frames(frames)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")
        out = fn(frames, rng=rng, **params)
        assert out.shape == frames.shape and out.dtype == np.uint8, fn.__name__
        return out

    return wrapper


def check_frames(frames) -> None:
    """Raise ``ValueError`` unless ``frames`` is uint8 ``(T, H, W, 3)`` with T, H, W >= 1."""
    if not isinstance(frames, np.ndarray):
        raise ValueError(f"frames must be a numpy array; got {type(frames).__name__}.")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB (0-255); got dtype {frames.dtype}.")
    if frames.ndim != 4 or frames.shape[-1] != 3 or min(frames.shape[:3]) < 1:
        raise ValueError(f"frames must have shape (T, H, W, 3) with T, H, W >= 1; got {frames.shape}.")


def _scale(frames: np.ndarray) -> float:
    """Pixels of this clip per pixel of a 224-px ImageNet-C image."""
    return min(frames.shape[1:3]) / REFERENCE_SIDE


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


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
    return _to_uint8(np.clip(draws / photons, 0, 1) * 255)


@_checked
def gaussian_noise(frames: np.ndarray, *, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add i.i.d. Gaussian noise of std ``sigma`` (fraction of full scale) to every pixel and channel.

    Sampled by inverse CDF at 65,536 equiprobable quantiles (tails cut at 4.2 sigma),
    which keeps the whole clip one table lookup.
    """
    noise = _gaussian_quantiles(float(sigma)).take(rng.integers(0, _Q16, size=frames.shape, dtype=np.uint16))
    noise += frames
    return np.clip(noise, 0, 255).astype(np.uint8)


@_checked
def shot_noise(frames: np.ndarray, *, photons: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson (photon) noise: each value becomes ``Poisson(x * photons) / photons`` (x in [0, 1]).

    Fewer ``photons`` per full-scale pixel means more noise. Sampled by inverse CDF at
    256 quantiles per grey level.
    """
    return _lookup_per_level(frames, _poisson_table(float(photons)), rng)


@_checked
def impulse_noise(frames: np.ndarray, *, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper noise: a fraction ``amount`` of values set to 0 or 255 (half each)."""
    u = rng.integers(0, _Q16, size=frames.shape, dtype=np.uint16)
    cut = int(round(amount * _Q16))
    out = frames.copy()
    out[u < cut // 2] = 0
    out[(u >= cut // 2) & (u < cut)] = 255
    return out


# --------------------------------------------------------------------------- linear filters


def _fold(n: int, offsets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n x n) matrix of a 1-D filter with 'nearest' (edge-repeat) boundaries."""
    rows = np.repeat(np.arange(n), offsets.size)
    cols = np.clip(rows + np.tile(offsets, n), 0, n - 1)
    matrix = np.zeros((n, n), np.float32)
    np.add.at(matrix, (rows, cols), np.tile(weights, n).astype(np.float32))
    return matrix


def _gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(4 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / max(sigma, 1e-6)) ** 2)
    return _fold(n, offsets, weights / weights.sum())


def _separable(frames: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Apply ``rows`` (H x H) down the columns and ``cols`` (W x W) along the rows of every frame.

    Two matrix products over the whole clip: the fastest exact separable filter in numpy.
    """
    t, h, w, _ = frames.shape
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)  # (T, 3, H, W)
    x = x.reshape(-1, w) @ cols.T                                              # filter along W
    x = rows @ x.reshape(t * 3, h, w)                                          # filter along H
    return x.reshape(t, 3, h, w).transpose(0, 2, 3, 1)


def _fast_size(n: int) -> int:
    """Smallest of 2^k, 3 * 2^k, 5 * 2^k >= n: pocketfft is markedly faster on these than on other 5-smooth sizes."""
    return min(m << max(0, int(np.ceil(np.log2(n / m)))) for m in (1, 3, 5))


def _fft_convolve(frames: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every frame and channel with a 2-D ``kernel`` (odd sides), edges repeated."""
    t, h, w, _ = frames.shape
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)
    x = np.pad(x, ((0, 0), (0, 0), (ry, ry), (rx, rx)), mode="edge")
    shape = (_fast_size(x.shape[2]), _fast_size(x.shape[3]))
    spectrum = scipy.fft.rfft2(x, s=shape) * scipy.fft.rfft2(kernel.astype(np.float32), s=shape)
    y = scipy.fft.irfft2(spectrum, s=shape)
    # full convolution: the centred result starts at the kernel radius
    y = y[:, :, 2 * ry : 2 * ry + h, 2 * rx : 2 * rx + w]
    return y.transpose(0, 2, 3, 1)


@_checked
def gaussian_blur(frames: np.ndarray, *, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur of std ``sigma`` (pixels at 224 px), edges repeated, as skimage's ``gaussian``."""
    s = sigma * _scale(frames)
    h, w = frames.shape[1:3]
    return _to_uint8(_separable(frames, _gaussian_matrix(h, s), _gaussian_matrix(w, s)))


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
    from scipy.ndimage import convolve1d  # the alias blur is a 3x3 Gaussian, as cv2.GaussianBlur(ksize=3)

    return convolve1d(convolve1d(disk, g, axis=0, mode="constant"), g, axis=1, mode="constant")


@_checked
def defocus_blur(frames: np.ndarray, *, radius: float, alias_blur: float, rng: np.random.Generator) -> np.ndarray:
    """Out-of-focus lens: convolution with a disk of ``radius`` (pixels at 224 px), anti-aliased."""
    return _to_uint8(_fft_convolve(frames, _disk(radius * _scale(frames), alias_blur)))


def _motion_kernel(radius: float, sigma: float, angle_deg: float) -> np.ndarray:
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


@_checked
def motion_blur(frames: np.ndarray, *, radius: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Camera shake: ImageMagick's motion blur (ImageNet-C), angle uniform in +-45 deg, one per clip.

    ``radius`` and ``sigma`` are pixels at 224 px (ImageNet-C's table), scaled to the frame's
    shorter side; the line is ``2 * ceil(radius) + 1`` taps long, as in ``MotionBlurImage``.
    At 224 px this is imagecorruptions' ``motion_blur`` up to rounding to uint8.
    """
    angle = rng.uniform(-45, 45)
    s = _scale(frames)
    return _to_uint8(_fft_convolve(frames, _motion_kernel(radius * s, sigma * s, angle)))


@_checked
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


# --------------------------------------------------------------------------- weather and digital


def plasma_fractal(size: int, *, wibble_decay: float, rng: np.random.Generator) -> np.ndarray:
    """Diamond-square height map (ImageNet-C's fog texture), ``size`` a power of two, values in [0, 1]."""
    grid = np.zeros((size, size))
    step, wibble = size, 100.0

    def wibbled_mean(a):
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        square = corners + np.roll(corners, -1, axis=0)
        square = square + np.roll(square, -1, axis=1)
        grid[half:size:step, half:size:step] = wibbled_mean(square)
        dr = grid[half:size:step, half:size:step]
        ul = grid[0:size:step, 0:size:step]
        lt = dr + np.roll(dr, 1, axis=0) + ul + np.roll(ul, -1, axis=1)
        grid[0:size:step, half:size:step] = wibbled_mean(lt)
        tt = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=0)
        grid[half:size:step, 0:size:step] = wibbled_mean(tt)
        step //= 2
        wibble /= wibble_decay
    grid -= grid.min()
    return grid / max(grid.max(), 1e-12)


@_checked
def fog(frames: np.ndarray, *, thickness: float, wibble_decay: float, rng: np.random.Generator) -> np.ndarray:
    """Fog: a fractal haze of strength ``thickness`` added, then rescaled to keep the frame's peak.

    One fog map per clip (fog does not flicker); lower ``wibble_decay`` gives finer, patchier fog.
    """
    h, w = frames.shape[1:3]
    size = 1 << int(np.ceil(np.log2(max(h, w, 2))))
    haze = (thickness * 255.0 * plasma_fractal(size, wibble_decay=wibble_decay, rng=rng)[:h, :w, None]).astype(np.float32)
    peak = frames.reshape(frames.shape[0], -1).max(axis=1).astype(np.float32)[:, None, None, None]
    x = frames.astype(np.float32)
    x += haze
    x *= peak / (peak + thickness * 255.0)
    return _to_uint8(x)


@_checked
def brightness(frames: np.ndarray, *, delta: float, rng: np.random.Generator) -> np.ndarray:
    """Raise HSV value by ``delta`` (fraction of full scale), hue and saturation kept.

    Adding to V scales all channels by V'/V, so the whole correction is one
    (value, channel) lookup table.
    """
    v = np.arange(256, dtype=np.float64)
    new_v = np.minimum(v + delta * 255.0, 255.0)
    ratio = np.where(v > 0, new_v / np.maximum(v, 1), 0.0)
    table = _to_uint8(ratio[:, None] * np.arange(256)[None, :])
    table[0, :] = _to_uint8(new_v[0])  # black has no hue: it becomes grey V'
    value = np.maximum(np.maximum(frames[..., 0], frames[..., 1]), frames[..., 2])
    idx = (value.astype(np.uint16) << 8)[..., None] | frames
    return table.reshape(-1).take(idx)


@_checked
def contrast(frames: np.ndarray, *, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Scale each frame's deviation from its per-channel mean by ``factor`` (< 1 lowers contrast).

    One 256-entry table per frame and channel, so the clip is one lookup.
    """
    t = frames.shape[0]
    mean = np.einsum("tpc->tc", frames.reshape(t, -1, 3), dtype=np.float64) / (frames.size // (3 * t))
    levels = np.arange(256, dtype=np.float64)
    table = _to_uint8((levels[None, None, :] - mean[:, :, None]) * factor + mean[:, :, None])  # (T, 3, 256)
    offsets = (np.arange(t * 3, dtype=np.uint32) * 256).reshape(t, 1, 1, 3)
    return table.reshape(-1).take(frames + offsets)


def _cell_matrix(n: int, cell: float) -> np.ndarray:
    """(n x n) operator of pixelation along one axis: the mean over cells of ``cell`` px (a grid from 0),
    then each pixel the overlap-weighted mean of the cells it touches.

    Exact area weights, so damage grows continuously with ``cell``, also below one pixel; for a
    whole-number ``cell`` each pixel lies in one cell and takes its mean (square blocks).
    """
    count = max(1, int(np.ceil(n / cell - 1e-6)))  # a last cell of a millionth of a pixel is rounding
    cells = np.minimum(np.arange(count + 1) * cell, n)                                # cell edges in px
    cells[-1] = n
    lo = np.maximum(np.arange(n)[:, None], cells[None, :-1])
    hi = np.minimum(np.arange(1, n + 1)[:, None], cells[None, 1:])
    overlap = np.clip(hi - lo, 0, None)                                               # (pixels, cells)
    down = (overlap / overlap.sum(axis=0, keepdims=True)).T                           # cell means
    up = overlap / overlap.sum(axis=1, keepdims=True)                                 # back to pixels
    return (up @ down).astype(np.float32)


@_checked
def pixelate(frames: np.ndarray, *, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Low resolution: each frame averaged over square cells and shown back at full size (ImageNet-C).

    ImageNet-C box-downsizes its 224-px image to ``int(224 * scale)`` px and back. Here the
    cell side, ``224 / int(224 * scale)`` px at 224 px, is scaled to the frame's shorter side as
    the blurs' radii are: every frame size keeps ``int(224 * scale)`` cells across its shorter
    side (a frame with fewer pixels than cells is only mildly softened). Cells are area-exact
    (a pixel straddling two cells mixes them), so damage grows strictly with severity at any
    size; at 224 px (cells of 1.7 to 4 px) it is within 0.5 dB PSNR of ImageNet-C's PIL resize.
    """
    t, h, w, _ = frames.shape
    cell = min(h, w) / max(1, int(REFERENCE_SIDE * scale))
    return _to_uint8(_separable(frames, _cell_matrix(h, cell), _cell_matrix(w, cell)))


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


@_checked
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


# --------------------------------------------------------------------------- occlusion and outages


def _nested_span(n: int, length: int, u: float) -> slice:
    """A span of ``length`` in ``range(n)`` placed by ``u`` in [0, 1): longer spans contain shorter ones."""
    length = min(max(length, 0), n)
    start = int(np.floor(u * (n - length + 1)))
    return slice(start, start + length)


@_checked
def occlusion(frames: np.ndarray, *, side: float, rng: np.random.Generator) -> np.ndarray:
    """A black patch ``side`` x the frame's height and width, at a random place fixed for the clip.

    The place is drawn so that a larger patch (same seed) contains the smaller one.
    """
    h, w = frames.shape[1:3]
    uy, ux = rng.random(2)
    out = frames.copy()
    out[:, _nested_span(h, max(1, round(side * h)), uy), _nested_span(w, max(1, round(side * w)), ux)] = 0
    return out


@_checked
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


@_checked
def frame_freeze(frames: np.ndarray, *, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The picture freezes for ``fraction`` of the clip (one stretch at a random time)."""
    t = frames.shape[0]
    span = _nested_span(t, max(2, round(fraction * t)), rng.random())
    out = frames.copy()
    out[span] = frames[span.start]
    return out


@_checked
def black_frames(frames: np.ndarray, *, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Camera outage: ``fraction`` of the clip (one stretch at a random time) is black."""
    t = frames.shape[0]
    out = frames.copy()
    out[_nested_span(t, max(1, round(fraction * t)), rng.random())] = 0
    return out


@_checked
def video_off(frames: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """The whole video is missing: every frame black, shape kept."""
    return np.zeros_like(frames)
