"""Robustness and Report in a real browser: run a small sweep on the sample clips from the page, see
the curves, download the HTML report, open it offline in Chromium and check that its charts render.

Runs its own dashboard with a fresh results database ($AVLAB_DB in a temporary folder) and no shipped results
($AVLAB_SHIPPED_DB names a file that does not exist).
"""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def robustness_url(browser, tmp_path_factory):
    from ui.models import models

    if not models():
        pytest.skip("No checkpoint under checkpoints/ to sweep with.")
    db = tmp_path_factory.mktemp("results") / "avlab.db"
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    # a fresh slate: no results of the user's, and no shipped ones either
    with streamlit_server(log, env={"AVLAB_DB": str(db), "AVLAB_SHIPPED_DB": str(db.parent / "none.db")}) as url:
        yield url


def _go(page, label: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=label).first.wait_for(timeout=60_000)
    wait_idle(page)


def test_sweep_from_the_page_then_download_and_open_the_report(browser, robustness_url, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(robustness_url)
        wait_idle(page, timeout_ms=120_000)
        _go(page, "Robustness")
        page.get_by_text("No sweep is stored").wait_for(timeout=30_000)
        page.locator(".st-key-rob_sweep_limit input").fill("7")
        started = time.perf_counter()
        page.get_by_role("button", name="Run sweep").click()
        page.get_by_role("heading", name="Accuracy against severity").wait_for(timeout=120_000)
        wait_idle(page, timeout_ms=120_000)
        print(f"\n[e2e] sweep of 7 clips x 10 conditions from the page: {time.perf_counter() - started:.1f} s")
        curves = page.locator(".st-key-rob_curves .main-svg").first
        curves.wait_for(timeout=60_000)
        assert page.locator(".st-key-rob_curves g.trace.scatter").count() >= 9  # 3 corruptions x 3 heads
        assert page.get_by_text("Sweep done: experiment 1.").count() == 1
        screenshot(page, "robustness")

        _go(page, "Report")
        page.get_by_text("Which fusion holds up best").or_(page.get_by_text("One fusion method was tested")) \
            .first.wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as download:
            page.locator(".st-key-report_html button").click()
        report = tmp_path / "report.html"
        download.value.save_as(report)
        screenshot(page, "report_page")
    finally:
        context.close()

    html = report.read_text()
    assert "https://cdn" not in html and '<script src="http' not in html
    charts = html.count("Plotly.newPlot")
    assert charts >= 4
    # Open it from disk with every network request refused and recorded: it must not need any.
    offline = browser.new_context(viewport={"width": 1300, "height": 900})
    requested: list[str] = []

    def refuse(route):
        if not route.request.url.startswith("file:"):
            requested.append(route.request.url)
            return route.abort()
        return route.continue_()

    offline.route("**/*", refuse)
    try:
        view = offline.new_page()
        view.goto(report.as_uri())
        view.locator(".js-plotly-plot .main-svg").nth(charts - 1).wait_for(timeout=60_000)
        assert view.locator(".js-plotly-plot").count() == charts
        assert view.locator(".js-plotly-plot g.trace").count() > charts  # drawn, not empty frames
        assert requested == []
        screenshot(view, "report_html_offline")
    finally:
        offline.close()
