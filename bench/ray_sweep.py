"""The same sweep on the local backend and on Ray with 1 and 2 model actors, medians and ratios in one run.

    OMP_NUM_THREADS=1 python bench/ray_sweep.py [--data sample_data] [--clips 16] [--repeats 3]
    python bench/ray_sweep.py --workers 1,2,4,8 --device auto      # a many-core machine with a GPU

Each backend runs the sweep ``--repeats`` times into a fresh database, in turn (local, Ray x1, Ray x2, local,
...), so the load of a shared machine falls on all of them alike; the figure is the median wall time and
its ratio to the local backend's. Ray starts once (``ray.init`` on this machine's cores, timed apart) and
each Ray backend is warmed up by one untimed sweep, so its model actors are loaded before the timed runs
(a long sweep pays that once). Every run's probabilities are checked equal to the first local run's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.experiments import ExperimentConfig, run_experiment  # noqa: E402
from core.results import ResultsDB  # noqa: E402

ROWS = "SELECT condition_id, clip_idx, head, probs FROM predictions ORDER BY condition_id, clip_idx, head"


def timed(config: ExperimentConfig, db: Path, backend, device: str) -> tuple[float, int, list]:
    """(wall seconds, clip-conditions, stored rows) of one sweep into a fresh database ``db``."""
    total = []
    start = time.perf_counter()
    run_experiment(config, db=db, backend=backend, device=device, progress=lambda done, n, message: total.append(n))
    seconds = time.perf_counter() - start
    with ResultsDB(db) as handle:
        rows = handle.con.execute(ROWS).fetchall()
    return seconds, total[-1], rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sample_data")
    parser.add_argument("--model", "--checkpoint", dest="checkpoint", action="append",
                        help="model SPEC (default: checkpoints/DEFAULT)")
    parser.add_argument("--clips", type=int, default=16, help="the first N clips")
    parser.add_argument("--corruptions", default="gaussian_blur,audio_gaussian_noise,fog,mute")
    parser.add_argument("--severities", default="3")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="model actors of each Ray run, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, or auto (the GPU when the cluster has one)")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray")
    args = parser.parse_args()

    import ray

    from core.experiments.ray_backend import RayBackend

    config = ExperimentConfig(checkpoints=tuple(args.checkpoint or ()), data=args.data, limit=args.clips,
                              corruptions=tuple(args.corruptions.split(",")),
                              severities=tuple(int(s) for s in args.severities.split(",")),
                              batch_size=args.batch_size)
    start = time.perf_counter()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False, logging_level="warning")
    init_s = time.perf_counter() - start
    backends = {"local": "local"} | {f"ray x{n}": RayBackend(workers=int(n)) for n in args.workers.split(",")}
    times: dict[str, list[float]] = {name: [] for name in backends}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, backend in backends.items():  # warm-up: load the actors' models, fill the OS caches
            start = time.perf_counter()
            seconds, n, rows = timed(config, Path(tmp) / f"warm {name}.db", backend, args.device)
            reference = reference or rows
            assert rows == reference, f"{name}: rows differ from the local backend's"
            print(f"warm-up {name}: {seconds:.1f} s", flush=True)
        for r in range(args.repeats):
            for name, backend in backends.items():
                seconds, n, rows = timed(config, Path(tmp) / f"{name} {r}.db", backend, args.device)
                assert rows == reference, f"{name}: rows differ from the local backend's"
                times[name].append(seconds)
    for backend in backends.values():
        if backend != "local":
            backend.close()
    ray.shutdown()
    load = os.getloadavg()[0]
    print(f"\nsweep: {n} clip-conditions ({args.clips} clips, {config.corruptions} at {config.severities} + clean, "
          f"batch {args.batch_size}), device {args.device}; ray.init on {args.num_cpus} CPUs: {init_s:.1f} s; "
          f"{args.repeats} timed runs each; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'backend':<10} {'median s':>9} {'clip-cond/s':>12} {'x local':>8}   runs")
    base = statistics.median(times["local"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<10} {median:>9.2f} {n / median:>12.1f} {base / median:>8.2f}   "
              + " ".join(f"{v:.1f}" for v in values))
    print("every run's stored probabilities equal the local backend's, byte for byte")


if __name__ == "__main__":
    main()
