"""The prediction pages in a real browser: upload an mp4, see the three heads, toggle mute in the
Corruption Lab and see the audio-only head lose its input; two sessions at once do not interfere."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
METRIC = "[data-testid='stMetric']"


def _sample(name_part: str) -> Path:
    found = sorted((ROOT / "sample_data").rglob(f"{name_part}*.mp4"))
    if not found:
        pytest.skip("sample_data has no sample clips; generate them with python -m core.synth.")
    return found[0]


def _checkpoint_or_skip():
    if not list((ROOT / "checkpoints").glob("*/config.json")):
        pytest.skip("No checkpoint under checkpoints/ to predict with.")


def _metrics(page) -> list[str]:
    return [m.inner_text().replace("\n", " ") for m in page.locator(METRIC).all()]


def _rendered(page, charts: bool) -> None:
    """Idle, and the charts drawn: plotly.js is loaded, parsed and drawn on the browser's main thread,
    which holds back an upload started before it is done (seconds on a busy machine)."""
    wait_idle(page)
    if charts:
        page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=60_000)


def _open(page, url: str, nav_label: str) -> None:
    page.goto(url)
    wait_idle(page)
    _go(page, nav_label)


def _go(page, nav_label: str) -> None:
    """Client-side navigation keeps the session (a page.goto would start a new one)."""
    page.locator("[data-testid='stSidebarNav']").get_by_text(nav_label, exact=True).click()
    page.get_by_role("heading", name=nav_label).wait_for(timeout=60_000)
    _rendered(page, charts=nav_label in ("Predict", "Corruption Lab"))


def _upload(page, prefix: str, path: Path) -> float:
    """Seconds from choosing the file to the page idle with the three heads of *this* clip (conservative:
    metrics of the previous clip stay on screen while the script reruns, so wait for the run's end)."""
    started = time.perf_counter()
    # the uploader's key gains a number each time a sample pick empties it (ui.widgets.upload_key)
    page.locator(f"[class*='st-key-{prefix}_upload'] input[type='file']").set_input_files(str(path))
    page.get_by_text(f"Current clip: {path.name}").wait_for(timeout=60_000)
    wait_idle(page)
    page.locator(METRIC).nth(2).wait_for(timeout=60_000)
    return time.perf_counter() - started


def _toggle(page, label: str, expect: str) -> float:
    """Seconds from the click to ``expect`` on screen (the preview may still be re-encoding)."""
    started = time.perf_counter()
    page.get_by_text(label, exact=True).click()
    page.get_by_text(expect).first.wait_for(timeout=60_000)
    seconds = time.perf_counter() - started
    wait_idle(page)
    return seconds


def test_upload_predict_then_mute_in_the_lab(page, app_url):
    _checkpoint_or_skip()
    clip = _sample("fan_fault")
    _open(page, app_url, "Predict")
    seconds = _upload(page, "predict", clip)
    print(f"\n[e2e] 5 s upload -> three predictions on screen: {seconds:.2f} s")
    heads = _metrics(page)
    assert [h.split(" ")[0] for h in heads] == ["Audio", "Video", "Fused"]
    assert page.locator("video").count() == 1
    screenshot(page, "predict")

    _go(page, "Corruption Lab")
    page.get_by_text(f"Current clip: {clip.name}").wait_for()  # the upload is shared across pages
    before = _metrics(page)[0]
    assert "missing" not in before
    seconds = _toggle(page, "Mute (microphone dead)", "Audio only (missing)")
    print(f"[e2e] mute toggle -> updated predictions: {seconds:.2f} s")
    after = _metrics(page)[0]
    assert after != before and "no input" in after
    assert page.locator("video").count() == 2 and page.locator("audio").count() == 2
    screenshot(page, "corruption_lab_mute")

    _go(page, "Audio-images")
    page.get_by_text(f"Current clip: {clip.name}").wait_for()
    assert page.get_by_text("Corruptions: mute 1").is_visible()
    # the figures (and their 18 PNG downloads) are drawn after the page's first lines: wait for them
    expect(page.locator("[data-testid='stDownloadButton']")).to_have_count(18, timeout=60_000)
    screenshot(page, "audio_images")


def test_two_sessions_at_once_do_not_interfere(browser, app_url):
    _checkpoint_or_skip()
    clip_a, clip_b = _sample("fan_fault"), _sample("valve_leak")
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        a, b = (c.new_page() for c in contexts)
        _open(a, app_url, "Corruption Lab")
        _open(b, app_url, "Corruption Lab")
        # Interleave: both sessions act before either result is checked.
        a.locator(".st-key-lab_upload input[type='file']").set_input_files(str(clip_a))
        b.locator(".st-key-lab_upload input[type='file']").set_input_files(str(clip_b))
        for p, clip in ((a, clip_a), (b, clip_b)):
            p.get_by_text(f"Current clip: {clip.name}").wait_for(timeout=60_000)
            wait_idle(p)
        a.get_by_text("Mute (microphone dead)", exact=True).click()
        b.get_by_text("Blur (dirty lens)", exact=True).click()
        a.get_by_text("Audio only (missing)").first.wait_for(timeout=60_000)
        b.get_by_text("gaussian_blur 3").first.wait_for(timeout=60_000)
        wait_idle(a)
        wait_idle(b)
        assert a.get_by_text(f"Current clip: {clip_a.name}").is_visible()
        assert b.get_by_text(f"Current clip: {clip_b.name}").is_visible()
        assert "mute 1" in a.locator("h3").all_inner_texts()[0] and "gaussian_blur" not in a.content()
        assert b.get_by_text("Audio only (missing)").count() == 0
        screenshot(a, "two_sessions_a")
        screenshot(b, "two_sessions_b")
    finally:
        for c in contexts:
            c.close()
