"""Soak test of the live monitor (not CI): memory, keeping up with the stride, capture-to-prediction lag.

    OMP_NUM_THREADS=1 python bench/live_soak.py --minutes 10 [--source stream|replay] [--out soak.json]

Streams a long sample clip (a state change every pass, so the alert path runs too) in a loop from
the ``ffmpeg`` CLI as HTTP MPEG-TS on 127.0.0.1 (``--source stream``, the default; ``-re``: real
time) or replays it in a loop (``--source replay``), and runs :class:`core.live.Monitor` on it with
the default model on the CPU and ``examples/live_rules.yaml``. Reports

- memory: the process's resident set size (``/proc/self/status`` VmRSS) every ``--sample-every``
  seconds; the spread (max - min) and drift (last - first) after the first minute (goal: within
  +-50 MB);
- keeping up: each window's processing time (cut, predict, health, rules) against the stride, and
  the windows skipped because the monitor fell behind (goal: every window within its stride, none
  skipped);
- lag: from the arrival of the data that completed a window (the reader's receipt of the frame, as
  the capture time of a real-time source) to its prediction: median and p95.
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.inference import Predictor  # noqa: E402
from core.live import Alert, Event, LiveWindow, Monitor, load_rules, parse_source  # noqa: E402

CLIP = ROOT / "sample_data" / "test" / "long_pump_normal-pump_cavitation_2000023.mp4"


def rss_mb() -> float:
    """Resident set size of this process (MB), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sender(clip: Path, url: str) -> subprocess.Popen:
    """``ffmpeg -re -stream_loop -1`` of ``clip`` as MPEG-TS (H.264 + AAC) served once at ``url``."""
    return subprocess.Popen(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                             "-i", str(clip), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
                             "-g", "16", "-c:a", "aac", "-f", "mpegts", "-listen", "1", url],
                            stdin=subprocess.DEVNULL)


def pct(values, q) -> float | None:
    return round(float(np.percentile(values, q)), 4) if len(values) else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--source", choices=("stream", "replay"), default="stream")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--model", default=None, help="model SPEC (default: the shipped default)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--stride", type=float, default=1.0)
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    predictor = Predictor.load(args.model, device="cpu", threads=args.threads)
    proc = None
    if args.source == "stream":
        url = f"http://127.0.0.1:{free_port()}"
        proc = sender(args.clip, url)
        source = parse_source(url)
    else:
        source = parse_source(str(args.clip), loop=True)
    tmp = tempfile.TemporaryDirectory()
    monitor = Monitor(source, predictor, window=args.window, stride=args.stride,
                      rules=load_rules(ROOT / "examples" / "live_rules.yaml"), alerts_db=Path(tmp.name) / "soak.sqlite")
    stop = threading.Event()
    timer = threading.Timer(args.minutes * 60.0, stop.set)
    started = time.monotonic()
    memory: list[tuple[float, float]] = [(0.0, rss_mb())]
    processing, lags, skipped, alerts, events, ends = [], [], 0, 0, [], []
    timer.start()
    next_sample = args.sample_every
    try:
        for item in monitor.run(stop):
            now = time.monotonic() - started
            if now >= next_sample:
                memory.append((round(now, 1), rss_mb()))
                next_sample += args.sample_every
            if isinstance(item, LiveWindow):
                processing.append(item.processing)
                ends.append(item.end)
                skipped += item.skipped
                if item.lag is not None:
                    lags.append(item.lag)
            elif isinstance(item, Alert):
                alerts += 1
            elif isinstance(item, Event):
                events.append(f"{item.time:.1f} s {item.kind}: {item.message}")
    finally:
        timer.cancel()
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        tmp.cleanup()
    # while the monitor ran, from its second minute on (the first fills the buffers and torch's caches)
    settled = [m for t, m in memory if t >= 60.0] or [m for _, m in memory]
    stopped = rss_mb()
    result = {
        "minutes": args.minutes, "source": args.source, "clip": args.clip.name, "model": predictor.model.name,
        "threads": args.threads, "window": args.window, "stride": args.stride, "windows": len(processing),
        "expected_windows": int((ends[-1] - ends[0]) / args.stride) + 1 if ends else 0,
        "skipped": skipped, "alerts": alerts, "events": events,
        "processing_s": {"median": pct(processing, 50), "p95": pct(processing, 95),
                         "max": round(max(processing), 4) if processing else None,
                         "within_stride": round(float(np.mean(np.asarray(processing) < args.stride)), 4)
                         if processing else None},
        "lag_s": {"median": pct(lags, 50), "p95": pct(lags, 95), "max": round(max(lags), 4) if lags else None},
        "rss_mb": {"start": round(memory[0][1], 1), "after_1_min": round(settled[0], 1), "end": round(memory[-1][1], 1),
                   "after_stop": round(stopped, 1),
                   "spread_after_1_min": round(max(settled) - min(settled), 1),
                   "drift_after_1_min": round(settled[-1] - settled[0], 1), "samples": memory},
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
