"""Where the time of Kinetics-C's codec corruptions goes: the encode against the whole corruption.

    OMP_NUM_THREADS=1 python bench/codec.py [--runs 5] [--severity 3]

On bench/corruptions.py's clip (5 s, 80 frames of 160x160, 16 fps). For each codec corruption:
its median (``corruptions.apply``, fresh rng each run); then for each encoder the published
settings use (libx264 / libx265, preset medium, one thread) the median of
``core.corruptions.transcode.encode`` alone (RGB -> yuv420p and the encode) at the CRFs the
corruptions use, next to faster presets for comparison (which would change the damage: see
docs/PERFORMANCE.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corruptions import make_clip, median_ms  # noqa: E402
from core import corruptions  # noqa: E402
from core.corruptions import codec, transcode  # noqa: E402

NAMES = ("packet_loss", "bit_error", "h264_crf", "h265_crf", "frame_rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--severity", type=int, default=3)
    args = parser.parse_args()
    clip = make_clip()
    baseline = median_ms(lambda: np.clip(clip.frames.astype(np.float32), 0, 255).astype(np.uint8), args.runs)
    print(f"clip: {clip.frames.shape} uint8 at {clip.fps:g} fps; severity {args.severity}, median of {args.runs} runs")
    print(f"baseline (frames -> float32 -> uint8): {baseline:.1f} ms\n")
    print(f"{'corruption':14s} {'median ms':>10s} {'x baseline':>11s}")
    for name in NAMES:
        seeds = iter(range(10**6))
        ms = median_ms(lambda: corruptions.apply(clip, name, args.severity, rng=np.random.default_rng(next(seeds))),
                       args.runs)
        print(f"{name:14s} {ms:10.1f} {ms / baseline:11.1f}")
    h264_crf = corruptions.get("h264_crf").params(args.severity)["crf"]
    h265_crf = corruptions.get("h265_crf").params(args.severity)["crf"]
    print(f"\nencode alone (80 frames, one thread)     {'median ms':>10s}")
    encoders = (("libx264", (codec.X264_DEFAULT_CRF, h264_crf)), ("libx265", (codec.X265_DEFAULT_CRF, h265_crf)))
    for encoder, crfs in encoders:
        for crf in dict.fromkeys(crfs):
            for preset in ("medium", "veryfast", "ultrafast"):
                options = {"crf": str(crf), "preset": preset}
                if encoder == "libx265":
                    options["x265-params"] = codec.X265_PARAMS
                ms = median_ms(lambda: transcode.encode(clip.frames, encoder, clip.fps, options), args.runs)
                print(f"{encoder} CRF {crf:<3d} preset {preset:10s} {ms:14.1f}"
                      f"{'  (as published)' if preset == codec.PRESET else ''}")


if __name__ == "__main__":
    main()
