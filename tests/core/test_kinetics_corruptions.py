"""Kinetics-C's own corruptions: rain drawn per frame, motion blur across frames, its contrast table."""
from __future__ import annotations

import numpy as np
import pytest

from core import corruptions
from core.corruptions import kinetics


def _ramp(t=12, side=32) -> np.ndarray:
    """Frame i is uniformly grey level 10 i."""
    return np.repeat((10 * np.arange(t, dtype=np.uint8))[:, None, None, None], side * side * 3, axis=1) \
        .reshape(t, side, side, 3)


def test_motion_blur_is_the_mean_of_the_neighbouring_frames():
    frames = _ramp()
    out = kinetics.motion_blur(frames, overlap=3, rng=np.random.default_rng(0))
    assert out.shape == frames.shape and out.dtype == np.uint8
    # frame i: mean of frames i-3 .. i+2 = 10 i - 5 (the reference's truncation to uint8)
    assert [int(out[i, 0, 0, 0]) for i in range(3, 9)] == [10 * i - 5 for i in range(3, 9)]
    # at the edges the clip's first and last frames stand in for the missing ones: frame 0 is mean(0,0,0,0,10,20)
    assert int(out[0, 0, 0, 0]) == 5 and int(out[-1, 0, 0, 0]) == int((3 * 110 + 80 + 90 + 100) / 6)


def test_rain_draws_the_published_number_of_drops_and_darkens():
    rng = np.random.default_rng(0)
    frames = np.full((4, 224, 224, 3), 100, np.uint8)
    out = kinetics.rain(frames, area_per_drop=770, length=10, darken=1.0, rng=rng)
    assert out.shape == frames.shape and out.dtype == np.uint8
    streaks = (out[..., 0] > 100).sum(axis=(1, 2))
    # 224 * 224 // 770 = 65 drops of 11 px each, a few overlapping or cut at the border, on every frame
    assert all(500 <= n <= 65 * 11 for n in streaks)
    assert not np.array_equal(out[0], out[1])  # drawn anew on each frame
    darker = kinetics.rain(frames, area_per_drop=770, length=10, darken=0.5, rng=np.random.default_rng(0))
    assert out[..., 0].std() > darker[..., 0].std()  # contrast scaled down around the mean
    same = kinetics.rain(frames, area_per_drop=770, length=10, darken=1.0, rng=np.random.default_rng(0))
    assert np.array_equal(out, same)


def test_kinetics_contrast_uses_its_own_milder_table():
    assert corruptions.get("kinetics_contrast").params(5) == {"factor": 0.1}
    assert corruptions.get("contrast").params(5) == {"factor": 0.05}
    rng = np.random.default_rng(0)
    frames = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    mild = corruptions.get("kinetics_contrast").fn(frames, factor=0.5, rng=rng).astype(float)
    assert mild.std() == pytest.approx(0.5 * frames.std(), rel=0.05)
