"""Real-world clips in a real browser: a rotated phone clip, HEVC, alpha and variable frame rate each
play on the Predict page, upright and at their decoded size, with what decoding did said beside them."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.test_predict_lab import ROOT, _checkpoint_or_skip, _open, _upload

pytestmark = pytest.mark.e2e
CASES = ROOT / "tests" / "data" / "media-cases"
# file -> (videoWidth, videoHeight, duration s, a sentence the page shows)
EXPECTED = {
    "01_rotated_portrait.mp4": (120, 160, 2.0, "Stored rotated (90°); shown and analysed upright."),
    "13b_hevc.mp4": (320, 240, 2.0, None),
    "14b_alpha_png.mov": (160, 120, 2.0, None),
    "03_vfr.mp4": (160, 120, 4.0, "Variable frame rate: frames placed by their timestamps at a constant rate."),
}


def test_real_world_clips_play_upright_in_the_browser(page, app_url):
    _checkpoint_or_skip()
    _open(page, app_url, "Predict")
    for name, (width, height, duration, note) in EXPECTED.items():
        _upload(page, "predict", CASES / name)
        page.get_by_text(f"Current clip: {name}").wait_for(timeout=60_000)
        video = page.locator("video").first
        video.wait_for(timeout=60_000)
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function(f"v => v.currentTime > 0.2 && v.videoWidth === {width} && v.videoHeight === {height}",
                               arg=video.element_handle(), timeout=30_000)
        assert video.evaluate("v => v.duration") == pytest.approx(duration, abs=0.1)
        if note:
            assert page.get_by_text(note).is_visible()
        if name == "03_vfr.mp4":  # a flash and a tone: nothing like a factory, and the page says so
            assert page.get_by_text("This clip is unlike anything the model was trained on").is_visible()
        screenshot(page, f"media_case_{name.split('.')[0]}")
