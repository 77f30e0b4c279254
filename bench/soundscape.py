"""Time the synthetic sounds and READ's / AVRobustBench's corruptions, split into their halves.

    OMP_NUM_THREADS=1 python bench/soundscape.py [--runs 7] [--severity 3]

On bench/corruptions.py's clip (5 s, 80 frames of 160x160, 16 kHz): each synthetic sound
(``core.corruptions.soundscape``) for 5 s; then each READ audio corruption and each co-occurring
corruption whole, and its visual and audio halves alone. Medians of CPU time (``process_time``:
what the work costs, little moved by other jobs on a shared machine) and of wall-clock time, and
the CPU time's ratio to the baseline of bench/corruptions.py (frames -> float32 -> uint8) measured
in the same run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corruptions import make_clip  # noqa: E402  (bench/corruptions.py's clip)

from core import corruptions  # noqa: E402
from core.corruptions import soundscape  # noqa: E402

READ = ["read_gaussian_noise", "traffic", "audio_crowd", "read_rain", "thunder", "read_wind"]
AVROBUSTBENCH = ["av_gaussian_noise", "av_impulse_noise", "av_shot_noise", "av_speckle_noise", "compression",
                 "av_snow", "av_frost", "av_spatter", "av_wind", "avrobust_rain", "underwater", "concert",
                 "avrobust_smoke", "av_crowd", "interference"]


def medians(fn, runs: int) -> tuple[float, float]:
    """Median CPU and wall-clock milliseconds of ``fn()`` over ``runs`` runs after a warm-up."""
    fn()
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return 1000 * statistics.median(cpu), 1000 * statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--severity", type=int, default=3)
    args = parser.parse_args()
    clip = make_clip()
    base, base_wall = medians(lambda: np.clip(clip.frames.astype(np.float32), 0, 255).astype(np.uint8), args.runs)
    print(f"severity {args.severity}, median of {args.runs} runs; baseline (frames -> float32 -> uint8): "
          f"{base:.1f} ms CPU, {base_wall:.1f} ms wall\n")
    print(f"{'what':34s} {'CPU ms':>8s} {'wall ms':>8s} {'CPU x baseline':>15s}")

    def row(what, fn):
        cpu, wall = medians(fn, args.runs)
        print(f"{what:34s} {cpu:8.1f} {wall:8.1f} {cpu / base:15.1f}")

    n = clip.audio.size
    for name, make in soundscape.SOUNDS.items():
        row(f"sound {name}", lambda: make(n, sr=clip.sr, rng=np.random.default_rng(0)))
    seeds = iter(range(10**6))
    for name in READ + AVROBUSTBENCH:
        row(name, lambda: corruptions.apply(clip, name, args.severity, rng=np.random.default_rng(next(seeds))))
        if corruptions.get(name).modality == "audiovisual":
            row("  visual half", lambda: corruptions.apply(clip.replace(audio=np.zeros(0, np.float32)), name,
                                                           args.severity, rng=np.random.default_rng(next(seeds))))
            row("  audio half", lambda: corruptions.apply(clip.replace(frames=np.zeros((0, 0, 0, 3), np.uint8)),
                                                          name, args.severity, rng=np.random.default_rng(next(seeds))))


if __name__ == "__main__":
    main()
