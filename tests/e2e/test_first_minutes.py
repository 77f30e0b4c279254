"""A new user's first minutes in a real browser: Home's start-here path, a clip opened in Predict from Home,
and an upload replaced by a sample clip leaving no file behind in the uploader."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot, wait_idle
from tests.e2e.test_predict_lab import METRIC, _checkpoint_or_skip, _go, _sample

pytestmark = pytest.mark.e2e
CHIP = "[class*='st-key-predict_upload'] [data-testid='stFileChipName']"  # an uploaded file's name in the uploader


def test_home_opens_a_clip_in_predict_and_a_sample_pick_empties_the_uploader(page, app_url):
    _checkpoint_or_skip()
    page.goto(app_url)
    wait_idle(page, timeout_ms=120_000)
    page.get_by_role("heading", name="Start here").wait_for()
    assert page.get_by_text("On 210 factory-av test clips its fused head is right").count() == 1
    assert page.locator("[data-testid='stPageLink']").count() == 6
    screenshot(page, "home_start_here")
    page.locator("[data-testid='stButtonGroup']").get_by_text("valve_leak", exact=True).click()
    wait_idle(page)
    page.locator(".st-key-home_open_0 button").click()
    page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
    page.get_by_text("Current clip: valve_leak_").wait_for(timeout=60_000)
    wait_idle(page)
    page.locator(METRIC).nth(2).wait_for()

    clip = _sample("fan_fault")
    page.locator("[class*='st-key-predict_upload'] input[type='file']").set_input_files(str(clip))
    page.get_by_text(f"Current clip: {clip.name}").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator(CHIP).get_attribute("title") == clip.name  # the upload's chip
    page.locator(".st-key-predict_sample").click()
    page.get_by_role("option", name="pump_normal", exact=False).first.click()
    page.get_by_text("Current clip: pump_normal_").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator(CHIP).count() == 0  # no file left behind in the uploader
    screenshot(page, "predict_after_sample_pick")
    _go(page, "Corruption Lab")
    page.get_by_text("Current clip: pump_normal_").wait_for()
