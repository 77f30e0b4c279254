"""The results shipped with avlab: a sweep of every shipped checkpoint on the sample clips.

    python -m core.experiments.shipped [--severities 1,3,5] [--out sample_data/results.db]

Runs the ``avlab`` suite (every corruption of it, at ``--severities``: 1, 3 and 5 by default, which keeps the
file under 5 MB; all five make it ~6 MB, seed 0) for every checkpoint under
``checkpoints/`` on ``sample_data/`` (its single-label clips), into a fresh database that is then compacted
(VACUUM, no WAL) and put in place at :data:`core.results.SHIPPED_DB`, which the Robustness, Report and Home
pages open read-only beside the user's own results. Paths are stored relative to the repository root, so a
clone elsewhere opens the clips and models it names. Reproducible: the same checkpoints, clips, corruption
revision and seed give the same rows. How it was made is recorded in the sweep's config (``shipped``) and in
docs/shipped_results.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from core import corruptions
from core.corruptions import suites
from core.experiments.config import ExperimentConfig, ExperimentError
from core.experiments.sweep import run_experiment
from core.models import CHECKPOINTS
from core.results import SHIPPED_DB, ResultsDB

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "python -m core.experiments.shipped"
NAME = "shipped: every checkpoint on the sample clips"


def shipped_checkpoints() -> list[str]:
    """Every shipped checkpoint folder, relative to the repository root (the default first)."""
    default = (CHECKPOINTS / "DEFAULT").read_text().strip() if (CHECKPOINTS / "DEFAULT").is_file() else None
    found = sorted(p.parent.name for p in CHECKPOINTS.glob("*/config.json"))
    found.sort(key=lambda n: n != default)
    return [os.path.relpath(CHECKPOINTS / n, ROOT) for n in found]


def config(severities=(1, 3, 5)) -> ExperimentConfig:
    """The shipped sweep: the avlab suite's corruptions at ``severities``, seed 0, every shipped checkpoint."""
    suite = suites.suite("avlab")
    return ExperimentConfig(checkpoints=shipped_checkpoints(), data="sample_data", suite="avlab",
                            corruptions=[n for n in suite.corruptions if n in corruptions.REGISTRY],
                            severities=tuple(severities), seed=0, name=NAME)


def build(out: Path = SHIPPED_DB, *, severities=(1, 3, 5), progress=None) -> Path:
    """Run the shipped sweep into a temporary database, compact it and move it to ``out``; returns ``out``."""
    cwd = Path.cwd()
    os.chdir(ROOT)  # paths in the database relative to the repository root
    try:
        with tempfile.TemporaryDirectory(dir=out.parent) as folder:
            work = Path(folder) / "shipped.db"
            started = time.time()
            eid = run_experiment(config(severities), db=work, progress=progress)
            with ResultsDB(work) as db:
                stored = db.get_experiment(eid)["config"]
                stored["shipped"] = {"command": f"{COMMAND} --severities {','.join(map(str, severities))}",
                                     "made": time.strftime("%Y-%m-%d", time.gmtime(started)),
                                     "corruptions_revision": corruptions.REVISION,
                                     "seconds": round(time.time() - started)}
                with db.transaction() as con:
                    con.execute("UPDATE experiments SET config = ? WHERE id = ?", (json.dumps(stored), eid))
            con = sqlite3.connect(str(work), isolation_level=None)
            con.execute("PRAGMA journal_mode = DELETE")  # one file, read without a -wal beside it
            con.execute("VACUUM")
            con.close()
            work.replace(out)
    finally:
        os.chdir(cwd)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--severities", default="1,3,5", help="comma-separated, 1-5 (default 1,3,5)")
    parser.add_argument("--out", default=str(SHIPPED_DB), help=f"where to put it (default {SHIPPED_DB})")
    args = parser.parse_args(argv)
    try:
        severities = tuple(int(s) for s in args.severities.split(","))

        def progress(done, total, message):
            print(f"\r{done}/{total} {message[:60]:<60}", end="", file=sys.stderr, flush=True)

        out = build(Path(args.out), severities=severities, progress=progress)
    except (ExperimentError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\nwrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
