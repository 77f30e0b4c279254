"""Write a factory-av data set: ``python -m core.synth --out DIR --split train --per-class N``."""
from __future__ import annotations

import argparse
import sys
import time

from .generator import write_dataset
from .spec import SPLITS, SynthError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.synth", description=__doc__)
    parser.add_argument("--out", required=True, help="folder for the MP4s and manifest.csv (merged if present)")
    parser.add_argument("--split", required=True, choices=SPLITS)
    parser.add_argument("--per-class", type=int, required=True, help="standard 5 s clips per class")
    parser.add_argument("--long", type=int, default=0, help="long clips with one state change")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering in parallel")
    parser.add_argument("--seed-offset", type=int, default=0, help="first seed, counted from the split's base")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        manifest = write_dataset(args.out, split=args.split, per_class=args.per_class, long=args.long,
                                 workers=args.workers, progress=not args.quiet, seed_offset=args.seed_offset)
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = args.per_class * 7 + args.long
    seconds = time.perf_counter() - start
    if not args.quiet:
        print(f"{n} clips in {seconds:.1f} s ({n / max(seconds, 1e-9):.2f} clips/s); manifest: {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
