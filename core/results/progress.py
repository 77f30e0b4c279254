"""How far a stored sweep has come, read from the database while it is written (by any process, anywhere).

The driver of a sweep (local or Ray backend) writes its rows step by step and records, with each write,
the seconds spent since the previous one and the time (``experiments.seconds``, ``experiments.updated``).
From those alone a reader tells how many clip-conditions are done of how many, the sweep's rate, the time
left, and whether it is being written now or was stopped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

ACTIVE_S = 120.0  # a sweep with rows written this recently is taken to be running


@dataclass(frozen=True)
class SweepProgress:
    """One sweep's progress.

    Attributes
    ----------
    experiment_id : int
    done, total : clip-conditions stored, and of the whole sweep (clips that cannot be decoded left out)
    rate : clip-conditions per second of compute (``done / experiments.seconds``; NaN before any row)
    eta_s : seconds left at that rate (NaN when unknown)
    since_s : seconds since rows were last written, or since the sweep was created when it has none (NaN when
        unknown: rows stored before schema version 4)
    complete : every condition done
    running : rows were written in the last :data:`ACTIVE_S` seconds and some are still to come
    """

    experiment_id: int
    done: int
    total: int
    rate: float
    eta_s: float
    since_s: float
    complete: bool
    running: bool

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def sentence(self) -> str:
        """What a person needs to know, in one sentence."""
        done = f"{self.done:,} of {self.total:,} clip-conditions ({self.fraction:.0%})"
        if self.complete:
            return f"Sweep {self.experiment_id} is complete: {done}."
        pace = "" if self.rate != self.rate else f", {self.rate:.1f} per second"
        if self.running and not self.done:
            return f"Sweep {self.experiment_id} has started and has no rows yet (0 of {self.total:,} clip-conditions)."
        if self.running:
            left = "" if self.eta_s != self.eta_s else f", about {duration(self.eta_s)} left"
            return (f"Sweep {self.experiment_id} is being written: {done}{pace}{left} (last rows "
                    f"{duration(self.since_s)} ago).")
        quiet = "" if self.since_s != self.since_s else f"; nothing was written for {duration(self.since_s)}"
        return (f"Sweep {self.experiment_id} is stopped at {done}{quiet}; run the same sweep again to "
                f"continue it.")


def duration(seconds: float) -> str:
    """'45 s', '12 min', '3.5 h': a span as a person reads it."""
    if seconds < 90:
        return f"{max(0, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def sweep_progress(experiment: dict, *, now: float | None = None) -> SweepProgress:
    """The progress of ``experiment`` (:meth:`core.results.ResultsDB.get_experiment`) at ``now`` (default the
    current time, seconds since the epoch)."""
    now = time.time() if now is None else now
    done, total, seconds = int(experiment["done"]), int(experiment["total"]), float(experiment["seconds"] or 0)
    rate = done / seconds if done and seconds > 0 else float("nan")
    eta = (total - done) / rate if rate == rate and rate > 0 else float("nan")
    last = experiment.get("updated") or experiment.get("created")  # a sweep just started has no rows yet
    since = now - last if last else float("nan")
    complete = bool(experiment["complete"])
    running = not complete and since == since and since <= ACTIVE_S
    return SweepProgress(int(experiment["id"]), done, total, rate, eta, since, complete, running)


__all__ = ["ACTIVE_S", "SweepProgress", "sweep_progress", "duration"]
