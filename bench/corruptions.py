"""Time every registered corruption on a factory-av-sized clip: 5 s, 160x160, 16 fps, 16 kHz mono.

    OMP_NUM_THREADS=1 python bench/corruptions.py [--runs 7] [--severity 3] [--names snow frost ...] [--clock cpu]

Prints the median of several runs per corruption (``corruptions.apply`` at one severity,
fresh rng each run) and its ratio to a baseline measured in the same run: one copy of
the frames converted to float32 and back (the least any per-pixel corruption must do).
Goal: every corruption at most 100 ms median (the Corruption Lab recomputes on each
slider move). ``--clock cpu`` times the CPU this process uses (``time.process_time``)
instead of the wall clock: on a shared machine other jobs then barely move the figures.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import corruptions  # noqa: E402
from core.media import Clip  # noqa: E402

GOAL_MS = 100.0


def make_clip(seconds=5.0, fps=16.0, side=160, sr=16_000) -> Clip:
    """Moving gradients and texture, a tone plus noise: a stand-in for a factory-av clip."""
    rng = np.random.default_rng(0)
    t = int(seconds * fps)
    yy, xx = np.mgrid[0:side, 0:side]
    texture = rng.integers(0, 40, (side, side, 3))
    frames = np.stack([np.stack([(xx + 3 * i) % 200, (yy * 2 + i) % 200, ((xx + yy) // 2 + i) % 200], -1) + texture
                       for i in range(t)]).astype(np.uint8)
    n = int(seconds * sr)
    y = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / sr) + 0.05 * rng.standard_normal(n)
    return Clip(frames=frames, fps=fps, audio=y.astype(np.float32), sr=sr, duration=seconds)


def median_ms(fn, runs: int, clock=time.perf_counter) -> float:
    fn()  # warm caches (tables, FFT plans)
    times = []
    for _ in range(runs):
        start = clock()
        fn()
        times.append(clock() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--names", nargs="+", default=None, help="only these corruptions (default: all registered)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: elapsed time; cpu: this process's CPU time (steadier on a shared machine)")
    args = parser.parse_args()
    clip = make_clip()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    baseline = median_ms(lambda: np.clip(clip.frames.astype(np.float32), 0, 255).astype(np.uint8), args.runs, clock)
    print(f"clip: {clip.frames.shape} uint8 at {clip.fps:g} fps, {clip.audio.size} samples at {clip.sr} Hz; "
          f"severity {args.severity}, median of {args.runs} runs, {args.clock} clock")
    print(f"baseline (frames -> float32 -> uint8): {baseline:.1f} ms\n")
    print(f"{'corruption':22s} {'modality':12s} {'median ms':>10s} {'x baseline':>11s}  goal")
    over = []
    for name in args.names or corruptions.names():
        seeds = iter(range(10**6))
        ms = median_ms(lambda: corruptions.apply(clip, name, args.severity, rng=np.random.default_rng(next(seeds))),
                       args.runs, clock)
        ok = ms <= GOAL_MS
        over += [] if ok else [name]
        print(f"{name:22s} {corruptions.get(name).modality:12s} {ms:10.1f} {ms / baseline:11.1f}  "
              f"{'ok' if ok else 'OVER'}")
    print(f"\nover {GOAL_MS:.0f} ms: {', '.join(over) if over else 'none'}")


if __name__ == "__main__":
    main()
