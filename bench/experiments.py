"""Time a full robustness sweep and the speed-up of embedding reuse, in one run.

    python bench/experiments.py --data DIR [--split test] [--checkpoint DIR] [--compare-clips 8]

The full sweep: every clip of the data set (the factory-av test split for the quoted figure),
every registered corruption at severities 1-5 (single-level ones once) plus clean, the default checkpoint, into a fresh
temporary database. Then, on the first ``--compare-clips`` clips and every corruption at
severity 3, the same sweep with embedding reuse and with both branches recomputed, back to
back. Goal: the full sweep in at most 10 minutes.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import corruptions  # noqa: E402
from core.experiments import ExperimentConfig, run_experiment  # noqa: E402
from core.results import ResultsDB  # noqa: E402

GOAL_S = 600.0


def timed_sweep(config: ExperimentConfig, db: Path, *, reuse: bool = True,
                threads: int = 1, device: str = "cpu") -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of all threads, clip-conditions, experiment id) of one sweep into ``db``."""
    total = []
    start, cpu = time.perf_counter(), time.process_time()
    eid = run_experiment(config, db=db, reuse_embeddings=reuse, threads=threads, device=device,
                         progress=lambda done, n, message: total.append(n))
    return time.perf_counter() - start, time.process_time() - cpu, total[-1], eid


def _grid_text(severities) -> str:
    """'29 corruptions x 5 severities + 2 single-level': the conditions a sweep of every corruption runs."""
    names = corruptions.names()
    single = sum(len(corruptions.levels(n)) == 1 for n in names)
    many = f"{len(names) - single} corruptions x {len(severities)} severit{'y' if len(severities) == 1 else 'ies'}"
    return many + (f" + {single} single-level" if single else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sample_data", help="data set (the factory-av test split for the goal)")
    parser.add_argument("--split", default=None)
    parser.add_argument("--model", "--checkpoint", dest="checkpoint", action="append",
                        help="model SPEC (default: checkpoints/DEFAULT)")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps")
    parser.add_argument("--limit", type=int, help="only the first N clips of the full sweep")
    parser.add_argument("--compare-clips", type=int, default=8, help="clips in the reuse comparison")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-full", action="store_true", help="only the reuse comparison")
    args = parser.parse_args()
    base = dict(checkpoints=args.checkpoint or (), data=args.data, split=args.split)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_full:
            config = ExperimentConfig(**base, limit=args.limit)
            seconds, cpu, n, eid = timed_sweep(config, Path(tmp) / "full.db", threads=args.threads,
                                               device=args.device)
            with ResultsDB(Path(tmp) / "full.db") as db:
                exp = db.get_experiment(eid)
                start = time.perf_counter()
                db.summary(eid)
                summary_s = time.perf_counter() - start
            clips, conditions = len(exp["clips"]), len(exp["conditions"])
            print(f"full sweep: {len(exp['checkpoints'])} checkpoint x {clips} clips x {conditions} conditions "
                  f"({_grid_text(corruptions.SEVERITIES)} + clean) = {n} clip-conditions")
            print(f"  {seconds:.1f} s wall ({cpu:.1f} s CPU), {n / seconds:.1f} clip-conditions/s "
                  f"({1000 * cpu / n:.1f} ms CPU each), {'ok' if seconds <= GOAL_S else 'OVER'} (goal {GOAL_S:.0f} s); "
                  f"summary from the rows: {summary_s:.2f} s")
        compare = dict(base, corruptions=tuple(corruptions.names()), severities=(3,), limit=args.compare_clips)
        config = ExperimentConfig(**compare)
        reuse_s, reuse_cpu, n, _ = timed_sweep(config, Path(tmp) / "reuse.db", reuse=True, threads=args.threads,
                                               device=args.device)
        both_s, both_cpu, _, _ = timed_sweep(config, Path(tmp) / "both.db", reuse=False, threads=args.threads,
                                             device=args.device)
        print(f"embedding reuse ({args.compare_clips} clips x {_grid_text((3,))} + "
              f"clean = {n} clip-conditions, checkpoint load and decoding included):")
        print(f"  reuse {reuse_s:.1f} s wall / {reuse_cpu:.1f} s CPU ({n / reuse_s:.1f}/s); both branches recomputed "
              f"{both_s:.1f} s wall / {both_cpu:.1f} s CPU ({n / both_s:.1f}/s); "
              f"speed-up x{both_s / reuse_s:.2f} wall, x{both_cpu / reuse_cpu:.2f} CPU")


if __name__ == "__main__":
    main()
