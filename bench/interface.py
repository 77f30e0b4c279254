"""Predict latency of the shipped checkpoints: this tree against a baseline tree, in the same run.

    git worktree add /tmp/avlab-before 98a285d      # the code before the model interface
    python bench/interface.py --baseline /tmp/avlab-before [--rounds 5] [--runs 10] [--threads 2]

Each round times ``Predictor.load(folder).predict_batch([clip])`` for every shipped checkpoint in a
fresh process of each tree (the order of the two alternates between rounds, so drift of the machine
hits both alike), on the same decoded sample clip. Prints per checkpoint the median over all runs of
both trees and their ratio (this tree / baseline); the goal of the model interface is a ratio <= 1.10.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "test" / "valve_leak_2000004.mp4"
CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
from core.inference import Predictor
from core.media import load_clip
clip = load_clip(sys.argv[2])
out = {}
for folder in sys.argv[4:]:
    predictor = Predictor.load(folder)
    predictor.predict_batch([clip])  # warm-up
    times = []
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        predictor.predict_batch([clip])
        times.append(time.perf_counter() - start)
    out[folder] = times
print(json.dumps(out))
"""


def run_tree(tree: Path, folders: list[str], runs: int, threads: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(SAMPLE), str(runs), *folders],
                          cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a checkout of the baseline commit (git worktree add ...)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    folders = sorted(str(p.parent) for p in (ROOT / "checkpoints").glob("*/config.json"))
    trees = {"this": ROOT, "baseline": Path(args.baseline).resolve()}
    times = {t: {f: [] for f in folders} for t in trees}
    for r in range(args.rounds):
        for name in (("this", "baseline") if r % 2 == 0 else ("baseline", "this")):
            for folder, ts in run_tree(trees[name], folders, args.runs, args.threads).items():
                times[name][folder] += ts
    print(f"predict latency, one decoded 5 s clip, {args.threads} threads, median of "
          f"{args.rounds} x {args.runs} runs per tree:")
    print(f"  {'checkpoint':<28} {'this tree':>10} {'baseline':>10} {'ratio':>7}")
    for folder in folders:
        new, old = (1000 * statistics.median(times[t][folder]) for t in ("this", "baseline"))
        print(f"  {Path(folder).name:<28} {new:8.1f} ms {old:8.1f} ms {new / old:6.2f}x")


if __name__ == "__main__":
    main()
