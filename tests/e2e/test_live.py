"""The Live page in a real browser: replay a sample clip and watch the fused timeline grow."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
# The shared dashboard server is started after collection and inherits this: the monitor's events go to a
# scratch database, not to results/live.sqlite.
os.environ.setdefault("AVLAB_LIVE_DB", str(Path(tempfile.gettempdir()) / "avlab-e2e-live.sqlite"))

# points on the fused head's timeline (the chart whose subplot titles include "Fused")
POINTS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(
      e => e.layout && (e.layout.annotations || []).some(a => a.text === 'Fused'));
  return plot ? plot.data[0].x.length : 0;
}"""


def test_live_page_replays_a_clip_and_the_timeline_grows(page, app_url):
    if not list((ROOT / "checkpoints").glob("*/config.json")):
        pytest.skip("No checkpoint under checkpoints/ to predict with.")
    page.goto(app_url)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Live", exact=True).click()
    page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
    wait_idle(page)
    for key, value in (("live_window", "2"), ("live_stride", "0.5")):  # a first window after 2 s of the clip
        field = page.locator(f".st-key-{key} input")
        field.fill(value)
        field.press("Enter")
        wait_idle(page)
    page.locator(".st-key-live_start button").click()
    page.wait_for_function(f"({POINTS})() >= 2", timeout=60_000)
    first = page.evaluate(POINTS)
    page.wait_for_function(f"({POINTS})() > {first}", timeout=30_000)  # the timeline grows as the clip plays
    assert page.locator("[data-testid='stMetric']").count() == 3
    screenshot(page, "live")
    page.locator(".st-key-live_stop button").click()
    page.get_by_text(" · stopped · ").first.wait_for(timeout=30_000)
