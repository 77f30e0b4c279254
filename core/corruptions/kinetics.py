"""Mini Kinetics-C's own spatial and temporal corruptions (Yi et al., 2021).

Source: github.com/Newbeeyoung/Video-Corruption-Robustness, ``create_mini_ssv2_c.py`` (``rain``,
the drops and their darkening) and ``create_mini_kinetics_c.py`` (``motion_blur`` over frames,
which overrides the SSv2 one, with 3-11 overlapping frames). Its shot noise, brightness, saturate
and fog use ImageNet-C's tables (the registered ``shot_noise``, ``brightness``, ``saturate``,
``fog``); its contrast has a milder table (``kinetics_contrast``, registered with ``video.contrast``).

Frames are uint8 ``(T, H, W, 3)``; lengths in the tables are pixels at 224 px (Kinetics-C's crop)
and scale with the frame's shorter side, as in avlab's ImageNet-C corruptions.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .video import REFERENCE_SIDE, check_frames

DROP_COLOUR = 220.0  # the drops' grey level (220, 220, 220)


def rain(frames: np.ndarray, *, area_per_drop: float, length: float, darken: float,
         rng: np.random.Generator) -> np.ndarray:
    """Rain on the lens, drawn anew on every frame (Kinetics-C's ``rain``).

    ``area // area_per_drop`` drops per frame, each a 1-px streak of grey 220 ``length`` px long (at
    224 px) with slant -1 (the reference draws every drop with its fixed slant), brightening the pixels
    under it by ``220 (1 - x/255)(1 - mean/255)``, the streaks blurred 3x3 and blended in by their own
    mask, then the frame's contrast scaled by ``darken`` around its mean.

    Parameters
    ----------
    frames : uint8 array (T, H, W, 3)
    area_per_drop : float
        Frame pixels per drop (770, 770, 770, 500, 400).
    length : float
        Drop length in px at 224 px (10, 30, 60, 60, 80).
    darken : float
        Contrast kept, in (0, 1] (0.8, 0.8, 0.7, 0.6, 0.5).
    rng : numpy.random.Generator

    Returns
    -------
    uint8 array (T, H, W, 3)
    """
    check_frames(frames)
    t, h, w, _ = frames.shape
    n = int(h * w // area_per_drop)
    size = max(1, min(int(round(length * min(h, w) / REFERENCE_SIDE)), h - 1))
    steps = np.arange(size + 1)
    mask = np.zeros((t, h, w), np.float32)
    for i in range(t):  # the reference draws a slant per frame that only moves where its drops start
        slant = int(rng.integers(-10, 10))
        x0 = rng.integers(min(slant, 0), max(w - max(slant, 0), min(slant, 0) + 1), size=n)
        y0 = rng.integers(0, max(1, h - size), size=n)
        ys = y0[:, None] + steps[None, :]
        xs = x0[:, None] - np.round(steps / size).astype(int)[None, :]  # slant -1 over the drop's length
        keep = (xs >= 0) & (xs < w) & (ys < h)
        mask[i, ys[keep], xs[keep]] = DROP_COLOUR
    image = frames.astype(np.float32)
    m = mask[..., None]
    level = image.mean(axis=(1, 2, 3), keepdims=True)
    lifted = image + np.floor(m * (1 - image / 255.0) * (1 - level / 255.0))  # uint8 in the reference
    # cv2.blur(3 x 3) with its default border (BORDER_REFLECT_101 = scipy's 'mirror'), kept as uint8
    blurred = np.floor(ndimage.uniform_filter(lifted, size=(1, 3, 3, 1), mode="mirror"))
    blended = (blurred * m / 255.0 + image * (1 - m / 255.0)) / 255.0
    means = blended.mean(axis=(1, 2), keepdims=True)
    return (np.clip((blended - means) * darken + means, 0, 1) * 255).astype(np.uint8)


def motion_blur(frames: np.ndarray, *, overlap: int, rng: np.random.Generator) -> np.ndarray:
    """Motion blur across time (Kinetics-C's ``motion_blur``): each frame the mean of the ``2 overlap``
    frames from ``i - overlap`` to ``i + overlap - 1``.

    The reference drops the first and last ``overlap`` frames (the clip gets shorter); here indices
    outside the clip are clamped to its first or last frame, so the frame count is kept.

    Parameters
    ----------
    frames : uint8 array (T, H, W, 3)
    overlap : int
        Frames on each side (3, 5, 7, 9, 11).
    rng : numpy.random.Generator
        Unused (deterministic); accepted like every corruption's.
    """
    check_frames(frames)
    # pad with the first and last frame; each window's sum is a difference of running sums, built frame by frame
    # (far faster than numpy's cumsum along time) in uint16: they wrap on long clips, but a window's sum (at most
    # 22 x 255) is below 2**16, so the wrapped difference is exact
    padded = np.concatenate([np.repeat(frames[:1], overlap, 0), frames, np.repeat(frames[-1:], overlap, 0)])
    csum = np.zeros((padded.shape[0] + 1, *frames.shape[1:]), np.uint16)
    for i, frame in enumerate(padded):
        np.add(csum[i], frame, out=csum[i + 1])
    window = csum[2 * overlap:2 * overlap + frames.shape[0]] - csum[:frames.shape[0]]
    return (window // (2 * overlap)).astype(np.uint8)  # the reference's float mean, truncated to uint8
