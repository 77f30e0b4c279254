"""Browser tests: `streamlit run app.py` on a free local port, driven by Playwright in Debian's Chromium.

Skips with a clear message where Chromium is absent (install it with `apt-get install chromium`);
`.ci/run` installs it, so CI always runs these.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AVLAB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
# Flags that keep Chromium off the network (this machine has none) and quiet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--no-zygote"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


# A watchdog: Chromium started from a SCHED_FIFO 99 test process (see tests/conftest.py, normal_scheduling)
# spun for good and starved the machine. A browser test still running after 10 minutes ends the run with
# every thread's stack on stderr instead of hanging CI ("thread": SIGALRM may reach another thread than
# the one waiting).
E2E_TIMEOUT_S = int(os.environ.get("AVLAB_E2E_TIMEOUT", "600"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S, method="thread"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(log_path: Path, env: dict | None = None):
    """`streamlit run app.py` on a free port; yields its URL once its health check answers."""
    port = _free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)  # polling the server's health endpoint, not waiting on the page
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early: {log_path.read_text()[-2000:]}")
        else:
            pytest.fail("streamlit did not answer its health check within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url(browser, tmp_path_factory):
    """A live dashboard for the whole session (cold start to the first idle page measured and printed)."""
    started = time.perf_counter()
    with streamlit_server(tmp_path_factory.mktemp("streamlit") / "streamlit.log") as url:
        print(f"\n[e2e] streamlit server healthy after {time.perf_counter() - started:.1f} s")
        context = browser.new_context()
        try:
            first = context.new_page()
            first.goto(url)
            wait_idle(first, timeout_ms=120_000)  # includes loading + warming up the model (sidebar spinner)
        finally:
            context.close()
        cold = time.perf_counter() - started
        print(f"[e2e] cold start of streamlit run app.py to the first idle page: {cold:.1f} s (goal <= 15 s)")
        assert cold < 60, f"the dashboard took {cold:.0f} s to start; something is wrong"
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Browser tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script (never sleep)."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # Streamlit's running indicators animate forever; without this the capture can wait on them.
    page.screenshot(path=str(path), full_page=True, animations="disabled", timeout=30_000)
    return path
