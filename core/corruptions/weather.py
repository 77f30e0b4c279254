"""Weather and dirt on the lens (ImageNet-C): fog, snow, frost, spatter on ``frames`` uint8 ``(T, H, W, 3)``.

Tables are ImageNet-C's (hendrycks/robustness ``ImageNet-C/imagenet_c/imagenet_c/corruptions.py``;
bethgelab/imagecorruptions ``imagecorruptions/corruptions.py`` for any image size), spatial
values in pixels at 224 px, scaled to the frame's shorter side. What stays on the lens (fog,
frost, spatter) is drawn once per clip; falling snow is drawn afresh for every frame, in one
wind direction per clip. Importable from ``core.corruptions.video`` too.
"""
from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.ndimage import correlate, gaussian_filter, label, uniform_filter

from .filters import checked, clipped_zoom_matrix, motion_kernel, reference_scale, scratch_to_uint8, to_uint8

GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 luma, as cv2.COLOR_RGB2GRAY


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


@checked
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
    return to_uint8(x)


# --------------------------------------------------------------------------- snow


def _wrapped_convolve(layers: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Circular convolution of every (H, W) layer of ``layers`` (T, H, W) with ``kernel`` (odd sides, centred).

    One FFT at the layer's own size: for a stationary random layer (snow) wrapping around the
    edges is as good as repeating them, and about half the work of padding.
    """
    t, h, w = layers.shape
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    ky, kx = np.nonzero(kernel)
    wrapped = np.zeros((h, w), np.float32)
    np.add.at(wrapped, ((ky - ry) % h, (kx - rx) % w), kernel[ky, kx].astype(np.float32))
    spectrum = scipy.fft.rfft2(layers, s=(h, w)) * scipy.fft.rfft2(wrapped)
    return scipy.fft.irfft2(spectrum, s=(h, w)).astype(np.float32)


@checked
def snow(frames: np.ndarray, *, mean: float, std: float, zoom: float, threshold: float, radius: float, sigma: float,
         image_weight: float, rng: np.random.Generator) -> np.ndarray:
    """Falling snow: flakes streaked by the wind over a whitened scene (ImageNet-C's ``snow``).

    Per frame, a Gaussian field (``mean``, ``std``) is magnified by ``zoom`` (flake size, px at
    224 px; at least 1 px), zeroed below ``threshold``, and motion-blurred along one wind angle
    per clip, uniform in -135..-45 deg (ImageMagick's line kernel, ``radius`` and ``sigma`` px at
    224 px); the flakes and their point mirror are added to the frame, which is first whitened:
    ``image_weight * x + (1 - image_weight) * max(x, 1.5 * grey(x) + 0.5)`` (x in [0, 1]).
    As the reference, the flake layer is rounded to 8 bits before it is added.
    """
    t, h, w, _ = frames.shape
    s = reference_scale(frames)
    angle = rng.uniform(-135, -45)  # the wind: one per clip, drawn first so it does not depend on the frame count
    rows, ys = clipped_zoom_matrix(h, zoom * s)
    cols, xs = clipped_zoom_matrix(w, zoom * s)
    # only the magnified centre of ImageNet-C's full-frame field is ever used: draw just that
    field = rng.normal(mean, std, size=(t, ys.stop - ys.start, xs.stop - xs.start)).astype(np.float32)
    layer = rows @ field @ cols.T                                                    # (T, H, W)
    layer[layer < threshold] = 0
    np.clip(layer, 0, 1, out=layer)
    layer = _wrapped_convolve(layer, motion_kernel(radius * s, sigma * s, angle))
    layer *= 255
    np.rint(layer, out=layer)                                                         # 8-bit flakes, 0-255
    layer += layer[:, ::-1, ::-1]                                                     # the flakes and their mirror
    # channels first, so that per-pixel planes broadcast over whole rows (numpy is slow broadcasting over 3 values)
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)          # (T, 3, H, W)
    grey = GREY[0] * x[:, 0] + GREY[1] * x[:, 1] + GREY[2] * x[:, 2]
    # image_weight * x + (1 - image_weight) * max(x, lift) = x + (1 - image_weight) * max(lift - x, 0)
    lift = np.subtract((1.5 * grey + 127.5)[:, None], x)
    np.maximum(lift, 0, out=lift)
    lift *= 1 - image_weight
    x += lift
    x += layer[:, None]
    return np.ascontiguousarray(scratch_to_uint8(x).transpose(0, 2, 3, 1))


# --------------------------------------------------------------------------- frost


def _branches(x, y, angle, length, bright, spread, points: int):
    """Side branches of segments: at ``points - 1`` points along each, one to either side at the ``spread``
    angles, 0.45 of the remaining length long and 0.8 as bright. Returns (x, y, angle, length, bright) arrays."""
    f = np.arange(1, points) / points                                          # (P,)
    along = f * length[:, None]                                                # (N, P)
    px, py = x[:, None] + along * np.cos(angle)[:, None], y[:, None] + along * np.sin(angle)[:, None]
    rest = 0.45 * (length[:, None] - along)
    shape = px.shape
    out = [(px, py, angle[:, None] + sign * spread[:, k][:, None], rest, np.broadcast_to(0.8 * bright[:, None], shape))
           for k, sign in enumerate((-1, 1))]
    return [np.concatenate([np.broadcast_to(side[i], shape).ravel() for side in out]) for i in range(5)]


def frost_texture(h: int, w: int, *, scale: float, rng: np.random.Generator) -> np.ndarray:
    """A procedural frost texture, float32 ``(h, w, 3)`` in 0-255: a substitute for ImageNet-C's frost photographs.

    ImageNet-C overlays crops of five photographs of frost on glass, which cannot be shipped
    here. This draws ice the way it grows on a cold pane: dendrites (a straight stem with side
    branches at 40-70 deg, and their own shorter branches) seeded at random, over a smooth haze
    of rime, in a pale blue-white. Its overall level is drawn uniformly over the range of the
    photographs' crops, so it varies from clip to clip as the reference's random choice of
    photograph does; level, spread and tint were fitted to the photographs (docs/PERFORMANCE.md,
    "ImageNet-C parity"). ``scale`` is pixels per 224-px pixel (crystal sizes are px at 224 px).
    """
    seeds = rng.poisson(h * w / (scale**2 * 110.0))
    x, y = rng.uniform(0, w, seeds), rng.uniform(0, h, seeds)
    angle = rng.uniform(0, 2 * np.pi, seeds)
    length = rng.uniform(6, 32, seeds) * scale
    bright = rng.uniform(80, 255, seeds)
    spread = np.deg2rad(rng.uniform(40, 70, (seeds, 2)))
    stems = [x, y, angle, length, bright]
    first = _branches(*stems, spread, points=6)
    second = _branches(*first, np.deg2rad(rng.uniform(40, 70, (first[0].size, 2))), points=4)
    x, y, angle, length, bright = (np.concatenate(parts) for parts in zip(stems, first, second))
    # rasterise every segment at one-pixel steps, the brightest crossing kept
    steps = np.ceil(length).astype(int) + 1
    segment = np.repeat(np.arange(x.size), steps)
    f = (np.arange(segment.size) - np.repeat(np.cumsum(steps) - steps, steps)) / np.repeat(steps - 1, steps).clip(1)
    cols = np.rint(x[segment] + f * length[segment] * np.cos(angle[segment])).astype(int)
    rows = np.rint(y[segment] + f * length[segment] * np.sin(angle[segment])).astype(int)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    canvas = np.zeros(h * w, np.float32)
    np.maximum.at(canvas, rows[inside] * w + cols[inside], bright[segment][inside].astype(np.float32) / 255)
    crystals = gaussian_filter(canvas.reshape(h, w), 0.6 * scale)
    haze = gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), 10 * scale)
    haze /= max(float(haze.std()), 1e-6)
    level = rng.uniform(FROST_LEVELS[0], FROST_LEVELS[1])
    luminance = crystals - crystals.mean() + 0.08 * haze
    luminance *= FROST_STD / max(float(luminance.std()), 1e-6)
    return np.clip((level + luminance)[..., None] * FROST_TINT, 0, 255)


FROST_LEVELS = (110.0, 225.0)  # blue-channel level: the range of ImageNet-C's crops of its photographs (mean 165)
FROST_STD = 26.0               # the photographs' typical spread of levels within one crop
FROST_TINT = np.array([0.80, 0.93, 1.0], np.float32)  # pale blue-white, the photographs' mean colour ratio


@checked
def frost(frames: np.ndarray, *, image_weight: float, frost_weight: float, rng: np.random.Generator) -> np.ndarray:
    """Frost on the lens: ``image_weight * x + frost_weight * frost``, clipped (ImageNet-C's ``frost``).

    ``frost`` is :func:`frost_texture`, a procedural substitute for ImageNet-C's photographs of
    frost (not shipped here), drawn once per clip: the ice does not move. The blend and its table
    are ImageNet-C's; how the substitute's damage compares with the photographs', per severity,
    is measured in docs/PERFORMANCE.md ("ImageNet-C parity").
    """
    t, h, w, _ = frames.shape
    texture = frost_texture(h, w, scale=reference_scale(frames), rng=rng)
    x = frames.astype(np.float32)
    x *= image_weight
    x += frost_weight * texture
    return scratch_to_uint8(x)


# --------------------------------------------------------------------------- spatter


def _canny(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """Edges of a uint8 (H, W) image as ``cv2.Canny(image, low, high)``: Sobel (edges repeated), L1 magnitude,
    thinning across the gradient (OpenCV's sector tests and tie rules), 8-connected hysteresis."""
    x = image.astype(np.float32)
    gx = correlate(x, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32), mode="nearest")
    gy = correlate(x, np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32), mode="nearest")
    magnitude = np.abs(gx) + np.abs(gy)
    h, w = image.shape
    padded = np.pad(magnitude, 1)

    def at(dy, dx):
        return padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    ax, ay = np.abs(gx), np.abs(gy)
    tan22 = np.float32(0.4142135623730950)
    flat = ay < tan22 * ax                       # gradient near horizontal: compare left and right
    steep = ay > (tan22 + 2) * ax                # near vertical: compare above and below
    s = np.where(gx * gy < 0, -1, 1)             # diagonal: which diagonal the gradient runs along
    diagonal = np.where(s > 0, (magnitude > at(-1, -1)) & (magnitude > at(1, 1)),
                        (magnitude > at(-1, 1)) & (magnitude > at(1, -1)))
    keep = np.where(flat, (magnitude > at(0, -1)) & (magnitude >= at(0, 1)),
                    np.where(steep, (magnitude > at(-1, 0)) & (magnitude >= at(1, 0)), diagonal))
    weak = keep & (magnitude > np.floor(low))
    regions, _ = label(weak, structure=np.ones((3, 3)))
    strong = np.unique(regions[weak & (magnitude > np.floor(high))])
    return np.isin(regions, strong[strong > 0])


# OpenCV's 5x5 chamfer mask for DIST_L2: axial 1, diagonal 1.4, knight's move 2.1969
_CHAMFER = [((dy, dx), 1.0) for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0))] + \
           [((dy, dx), 1.4) for dy in (-1, 1) for dx in (-1, 1)] + \
           [((dy, dx), 2.1969) for dy, dx in ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1))]


def _chamfer_distance(edges: np.ndarray, cap: float) -> np.ndarray:
    """Distance to the nearest edge pixel as ``cv2.distanceTransform(~edges, DIST_L2, 5)``, capped at ``cap``.

    The 5x5 chamfer metric (shortest paths of OpenCV's mask moves) by relaxation: each pass
    extends paths by one move, so ``cap`` passes settle every distance up to ``cap``.
    """
    h, w = edges.shape
    dist = np.where(edges, 0.0, np.inf).astype(np.float32)
    for _ in range(int(np.ceil(cap)) + 1):
        padded = np.pad(dist, 2, constant_values=np.inf)
        best = dist.copy()
        for (dy, dx), weight in _CHAMFER:
            np.minimum(best, padded[2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w] + np.float32(weight), out=best)
        if np.array_equal(best, dist):
            break
        dist = best
    return np.minimum(dist, cap)


def _equalize(image: np.ndarray) -> np.ndarray:
    """Histogram equalisation of a uint8 image, as ``cv2.equalizeHist``."""
    hist = np.bincount(image.ravel(), minlength=256)
    first = int(np.flatnonzero(hist)[0])
    if hist[first] == image.size:
        return image.copy()
    scale = 255.0 / (image.size - hist[first])
    lut = np.rint((np.cumsum(hist) - hist[first]) * scale)
    lut[: first + 1] = 0
    return np.clip(lut, 0, 255).astype(np.uint8)[image]


def _water(liquid: np.ndarray, scale: float) -> np.ndarray:
    """ImageNet-C's glossy water-drop shading, float32 (H, W) in [0, 1], from the thresholded liquid layer."""
    liquid8 = (np.clip(liquid, 0, 1) * 255).astype(np.uint8)
    edges = _canny(liquid8, 50, 150)
    dist = _chamfer_distance(edges, 20 * scale)                      # cv2.threshold(..., THRESH_TRUNC) at 20 px
    dist = uniform_filter(dist, 3, mode="mirror").astype(np.uint8)  # cv2.blur 3x3, then truncated to uint8
    dist = _equalize(dist).astype(np.float32)
    emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)
    dist = np.clip(np.rint(correlate(dist, emboss, mode="mirror")), 0, 255)
    dist = np.rint(uniform_filter(dist, 3, mode="mirror"))           # cv2.blur on uint8 rounds
    shade = liquid8 * dist
    return shade / max(float(shade.max()), 1e-12)


@checked
def spatter(frames: np.ndarray, *, mean: float, std: float, sigma: float, threshold: float, kind: str,
            opacity: float | None = None, mud_sigma: float | None = None, rng: np.random.Generator) -> np.ndarray:
    """Drops on the lens (ImageNet-C's ``spatter``): glossy pale-turquoise water, or opaque mud.

    A Gaussian field (``mean``, ``std``) smoothed by ``sigma`` px (at 224 px) and zeroed below
    ``threshold`` gives the drops, once per clip (they stay on the lens). ``kind='water'``: the
    drops' embossed rim shading (ImageNet-C's Canny / distance / equalisation / emboss chain,
    reimplemented without OpenCV) times ``opacity`` is added in colour (175, 238, 238).
    ``kind='mud'``: the drop mask, blurred by ``mud_sigma`` px (at 224 px) and kept where
    above 0.8, replaces the scene by mud brown (63, 42, 20). Unused parameters are None.
    """
    t, h, w, _ = frames.shape
    s = reference_scale(frames)
    liquid = gaussian_filter(rng.normal(mean, std, size=(h, w)), sigma * s, mode="nearest")
    liquid[liquid < threshold] = 0
    x = frames.astype(np.float32)
    if kind == "water":
        x += (opacity * _water(liquid, s))[..., None] * np.array([175, 238, 238], np.float32)
        return to_uint8(x)
    if kind != "mud":
        raise ValueError(f"spatter's kind is 'water' or 'mud'; got {kind!r}.")
    mask = gaussian_filter((liquid > threshold).astype(np.float32), mud_sigma * s, mode="nearest")
    mask[mask < 0.8] = 0
    x *= (1 - mask)[..., None]
    x += mask[..., None] * np.array([63, 42, 20], np.float32)
    return to_uint8(x)
