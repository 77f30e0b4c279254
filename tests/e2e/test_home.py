"""The home page in a real browser: lists the sample clips and plays them."""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.e2e


def test_home_lists_and_plays_sample_clips(page, app_url):
    started = time.perf_counter()
    page.goto(app_url)
    wait_idle(page)
    page.get_by_text("Timeline clips").wait_for(timeout=60_000)
    print(f"\n[e2e] home page usable after {time.perf_counter() - started:.2f} s")
    videos = page.locator("video")
    videos.nth(5).wait_for(timeout=30_000)  # three class samples + three timeline clips
    assert videos.count() == 6
    # The first sample really loads and plays in the browser (H.264/AAC MP4).
    first = videos.first
    first.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0.2 && v.videoWidth === 160", arg=first.element_handle(),
                           timeout=20_000)
    assert first.evaluate("v => v.duration") == pytest.approx(5.0, abs=0.1)
    screenshot(page, "home")
