"""Decode speed of core.media.load_clip against the ffmpeg command-line tool, and generator throughput.

    python bench/media.py [--runs 7] [--clips 12]

Prints medians of several runs and the ratio load_clip / ffmpeg CLI on the same 10 s 640x360
H.264+AAC file (ffmpeg decodes it to raw RGB frames + 16 kHz mono PCM, the practical limit).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.media import Clip, load_clip, write_clip  # noqa: E402


def make_test_file(path: Path, *, seconds=10.0, fps=30.0, height=360, width=640) -> Path:
    """A 10 s 640x360 clip with moving gradients and a chord, so the encoder has real work."""
    n = int(seconds * fps)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((n, height, width, 3), np.uint8)
    for i in range(n):
        frames[i, ..., 0] = (xx + 4 * i) % 256
        frames[i, ..., 1] = (yy + 2 * i) % 256
        frames[i, ..., 2] = ((xx + yy) / 4 + i) % 256
    t = np.arange(int(seconds * 16_000)) / 16_000
    audio = (0.2 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 330 * t))).astype(np.float32)
    write_clip(Clip(frames=frames, fps=fps, audio=audio, duration=seconds), path)
    return path


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ffmpeg_decode(path: Path) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path),
         "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null",
         "-map", "0:a", "-f", "f32le", "-ac", "1", "-ar", "16000", "-y", "/dev/null"],
        check=True,
    )


def generator_throughput(per_class: int, workers: int) -> float:
    """Clips per second of ``write_dataset`` (render + encode + manifest), as the CLI runs it."""
    from core.synth import CLASSES, write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_dataset(tmp, split="test", per_class=per_class, workers=workers, progress=False)
        return per_class * len(CLASSES) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--per-class", type=int, default=3, help="generator clips per class")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = make_test_file(Path(tmp) / "bench_640x360_10s.mp4")
        load_clip(path, max_side=None)  # warm-up
        ours = median_time(lambda: load_clip(path, max_side=None), args.runs)
        print(f"load_clip 10 s 640x360 (full size):   median {ours * 1000:7.1f} ms over {args.runs} runs")
        if shutil.which("ffmpeg"):
            ffmpeg_decode(path)
            theirs = median_time(lambda: ffmpeg_decode(path), args.runs)
            print(f"ffmpeg CLI to raw RGB + PCM:           median {theirs * 1000:7.1f} ms over {args.runs} runs")
            print(f"ratio load_clip / ffmpeg CLI:          {ours / theirs:.2f}x  (goal <= 1.5x)")
        else:
            print("ffmpeg CLI not found (apt-get install ffmpeg); ratio not measured")
        scaled = median_time(lambda: load_clip(path), args.runs)
        print(f"load_clip downscaled to 480 px (default): median {scaled * 1000:7.1f} ms")
    for workers in (1, 2):
        rate = generator_throughput(args.per_class, workers)
        print(f"factory-av generator, {workers} worker(s): {rate:.2f} clips/s over {7 * args.per_class} clips (goal >= 3)")


if __name__ == "__main__":
    main()
