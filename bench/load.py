"""The dashboard under load: N real browser sessions against one ``streamlit run`` (issue 20).

    python bench/load.py --sessions 1 3 5 --seconds 180 [--out load.json]
    python bench/load.py --sessions 5 --seconds 1800 --out soak.json      # the 30-minute run

Starts ``streamlit run app.py`` on 127.0.0.1 (OMP_NUM_THREADS=1 unless set), then drives N sessions at once,
each in its own context of one Debian Chromium (Playwright, ``/usr/bin/chromium``; never a downloaded
browser). Each session uploads its own clip (a different sample clip per session) in the Corruption Lab,
then, until the time is up, loops: toggles Blur, moves its severity slider up and down, toggles Noise and
Mute, turns them off again, and every other loop opens every page of the app. Measured per interaction:

- ``upload``: choosing the file -> the Lab names the clip and its script is idle (predictions and previews);
- ``toggle`` / ``slider``: the click or key -> the subheader lists the new corruptions (drawn right after
  the new predictions are computed, before the previews are re-encoded);
- ``page:<title>``: the click in the navigation -> the page's title shown and the script idle;

as median and 95th percentile over all sessions, with the errors seen (an exception box or an ``st.error``
on any page), and the server's resident memory (VmRSS of the streamlit process) and the load average
every ``--sample`` seconds. One run per N, each against a fresh server.

Goals (issue 20, this 2-core machine, the default model): at 5 sessions p95 of a toggle <= 2 s, no error on
any page, memory flat after warm-up over a 30-minute run (within 300 MB).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, _free_port  # noqa: E402

PAGES = ["Home", "Predict", "Corruption Lab", "Audio-images", "Embeddings", "Robustness", "Report", "Live"]
SUBHEADER = "h3"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
LAB = "Corruption Lab"


def sample_clips(n: int) -> list[Path]:
    """``n`` different single-label sample clips (one per session)."""
    from core.datasets import load_dataset

    clips = [s.path for s in load_dataset(ROOT / "sample_data").samples if not s.is_long]
    return [clips[(i * 5) % len(clips)] for i in range(n)]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.1)  # polling the health endpoint until the server answers
        if proc.poll() is not None:
            raise SystemExit(f"streamlit exited early: {log.read_text()[-2000:]}")
    raise SystemExit("streamlit did not answer its health check within 120 s")


class Session:
    """One browser session's script and its measurements."""

    def __init__(self, index: int, page, url: str, clip: Path, deadline: float, record):
        self.index, self.page, self.url, self.clip, self.deadline = index, page, url, clip, deadline
        self.record = record
        self.on = {"gaussian_blur": None, "audio_gaussian_noise": None, "mute": None}  # name -> severity

    def applied(self) -> str:
        """The Lab's subheader for the current corruptions (ui.widgets.corruption_controls: everyday order,
        mute last)."""
        steps = [f"{n} {s}" for n, s in self.on.items() if s is not None]
        return ", ".join(steps) or "none"

    async def idle(self, timeout_ms: int = 120_000) -> None:
        await self.page.wait_for_selector(IDLE, timeout=timeout_ms)

    async def predictions(self, timeout_ms: int = 120_000) -> None:
        """Until the Lab's subheader names the current corruptions (the new predictions are computed)."""
        text = f"(corruptions: {self.applied()})"
        await self.page.wait_for_function(
            "t => [...document.querySelectorAll('h3')].some(h => h.innerText.includes(t))", arg=text,
            timeout=timeout_ms, polling=50)

    async def errors(self, where: str) -> None:
        for element in await self.page.locator(ERRORS).all():
            self.record("error", 0.0, where=where, text=(await element.inner_text())[:300])

    async def go(self, title: str) -> float:
        started = time.perf_counter()
        await self.page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
        await self.page.get_by_role("heading", name=title if title != "Home" else "avlab").first.wait_for(
            timeout=120_000)
        await self.idle()
        return time.perf_counter() - started

    async def upload(self) -> None:
        started = time.perf_counter()
        await self.page.locator("[class*='st-key-lab_upload'] input[type='file']").set_input_files(str(self.clip))
        await self.page.get_by_text(f"Current clip: {self.clip.name}").wait_for(timeout=120_000)
        await self.idle()  # the subheader does not name the clip: the whole run, previews included
        await self.predictions()
        self.record("upload", time.perf_counter() - started)

    async def toggle(self, label: str, name: str) -> None:
        self.on[name] = None if self.on[name] is not None else (3 if name != "mute" else 1)
        started = time.perf_counter()
        await self.page.get_by_text(label, exact=True).click()
        await self.predictions()
        self.record("toggle", time.perf_counter() - started)
        await self.idle()

    async def slide(self, name: str, label: str, key: str) -> None:
        self.on[name] += 1 if key == "ArrowRight" else -1
        thumb = self.page.locator("[data-testid='stSlider']").filter(has_text=label).get_by_role("slider")
        started = time.perf_counter()
        await thumb.focus()
        await thumb.press(key)
        await self.predictions()
        self.record("slider", time.perf_counter() - started)
        await self.idle()

    async def run(self) -> None:
        await self.page.goto(self.url)
        await self.idle(300_000)
        await self.go(LAB)
        await self.upload()
        loop = 0
        while time.perf_counter() < self.deadline:
            await self.toggle("Blur (dirty lens)", "gaussian_blur")
            await self.slide("gaussian_blur", "Gaussian Blur severity", "ArrowRight")
            await self.slide("gaussian_blur", "Gaussian Blur severity", "ArrowLeft")
            await self.toggle("Noise (noisy microphone)", "audio_gaussian_noise")
            await self.toggle("Mute (microphone dead)", "mute")
            await self.errors(LAB)
            for label, name in (("Mute (microphone dead)", "mute"), ("Noise (noisy microphone)",
                                                                     "audio_gaussian_noise"),
                                ("Blur (dirty lens)", "gaussian_blur")):
                await self.toggle(label, name)
            if loop % 2 == 1:
                for title in PAGES:
                    if time.perf_counter() >= self.deadline:
                        break
                    self.record(f"page:{title}", await self.go(title))
                    await self.errors(title)
                if time.perf_counter() < self.deadline:
                    await self.go(LAB)
                    await self.predictions()
            loop += 1


async def drive(url: str, sessions: int, seconds: float, clips: list[Path], record) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        deadline = time.perf_counter() + seconds
        contexts = [await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(sessions)]
        runs = []
        for i, context in enumerate(contexts):
            page = await context.new_page()
            session = Session(i, page, url, clips[i], deadline,
                              lambda kind, s, i=i, **kw: record(kind, s, session=i, **kw))
            runs.append(session.run())
        results = await asyncio.gather(*runs, return_exceptions=True)
        for i, result in enumerate(results):
            if isinstance(result, BaseException):
                record("error", 0.0, session=i, where="driver", text=f"{type(result).__name__}: {result}"[:300])
        for context in contexts:
            await context.close()
        await browser.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def one_run(sessions: int, seconds: float, sample_s: float, log_dir: Path) -> dict:
    log_dir.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(log_dir / f"streamlit-{sessions}.log")
    events: list[dict] = []
    memory: list[dict] = []
    began = time.perf_counter()

    def record(kind: str, s: float, **kw) -> None:
        events.append({"kind": kind, "seconds": round(s, 4), "t": round(time.perf_counter() - began, 2), **kw})

    async def sample() -> None:
        while True:
            memory.append({"t": round(time.perf_counter() - began, 1), "rss_mb": round(rss_mb(proc.pid), 1),
                           "load1": os.getloadavg()[0]})
            await asyncio.sleep(sample_s)  # the sampling period, not a wait on the page

    async def main() -> None:
        sampler = asyncio.create_task(sample())
        try:
            await drive(url, sessions, seconds, sample_clips(sessions), record)
        finally:
            sampler.cancel()

    try:
        asyncio.run(main())
    finally:
        memory.append({"t": round(time.perf_counter() - began, 1), "rss_mb": round(rss_mb(proc.pid), 1),
                       "load1": os.getloadavg()[0]})
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"sessions": sessions, "seconds": seconds, "events": events, "memory": memory,
            "omp_threads": os.environ.get("OMP_NUM_THREADS", "1")}


def summary(run: dict, warmup_s: float) -> str:
    """A markdown table of one run: per interaction n, median, p95; errors; memory and load."""
    kinds: dict[str, list[float]] = {}
    for e in run["events"]:
        if e["kind"] != "error":
            kinds.setdefault(e["kind"] if not e["kind"].startswith("page:") else e["kind"], []).append(e["seconds"])
    errors = [e for e in run["events"] if e["kind"] == "error"]
    lines = [f"### {run['sessions']} session{'s' if run['sessions'] != 1 else ''}, {run['seconds']:.0f} s",
             "", "| interaction | n | median (s) | p95 (s) |", "| --- | ---: | ---: | ---: |"]
    order = ["upload", "toggle", "slider"] + [f"page:{p}" for p in PAGES]
    for kind in order + sorted(k for k in kinds if k not in order):
        if kind in kinds:
            v = kinds[kind]
            lines.append(f"| {kind} | {len(v)} | {statistics.median(v):.2f} | {percentile(v, 0.95):.2f} |")
    mem = run["memory"]
    after = [m for m in mem if m["t"] >= warmup_s] or mem
    rss = [m["rss_mb"] for m in after]
    loads = [m["load1"] for m in mem]
    lines += ["", f"Errors: {len(errors)}" + ("" if not errors else ": " + "; ".join(
        f"session {e.get('session')} on {e.get('where')}: {e.get('text')!r}" for e in errors[:8])),
              f"Server RSS: {mem[0]['rss_mb']:.0f} MB at start, {max(m['rss_mb'] for m in mem):.0f} MB peak; after "
              f"{warmup_s:.0f} s of warm-up {min(rss):.0f}-{max(rss):.0f} MB (spread {max(rss) - min(rss):.0f} MB, "
              f"{len(after)} samples), {mem[-1]['rss_mb']:.0f} MB at the end.",
              f"Load average (1 min) during the run: median {statistics.median(loads):.1f}, max {max(loads):.1f} "
              f"({os.cpu_count()} cores); OMP_NUM_THREADS={run['omp_threads']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the sessions run (per N)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds left out of the memory spread (default: a fifth of the run, at most 300)")
    parser.add_argument("--out", type=Path, help="write every event and memory sample as JSON")
    parser.add_argument("--logs", type=Path, default=ROOT / "logs" / "load")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Debian's Chromium is needed at {CHROMIUM}: apt-get install chromium")
    warmup = args.warmup if args.warmup is not None else min(300.0, args.seconds / 5)
    runs = []
    for n in args.sessions:
        run = one_run(n, args.seconds, args.sample, args.logs)
        runs.append(run)
        print(summary(run, warmup), flush=True)
        print(flush=True)
        if args.out:
            args.out.write_text(json.dumps(runs))


if __name__ == "__main__":
    main()
