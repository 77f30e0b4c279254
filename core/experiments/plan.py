"""A sweep's plan: its experiment in the results database, the jobs left to do, and the one writer of rows.

Both backends start from :func:`make_plan` and store through :class:`Writer`, in the driver process:
only the driver writes the results database, whatever runs the work.

A *job* is one model's rows for one clip under one condition (:class:`Job`). Its key in the database,
``(condition id, clip index)`` with one row per head, is unique (the predictions table's primary key),
and the condition belongs to one experiment, whose key hashes the model content hashes, the clips
(path, label, size), the corruption seed and the revision of the corruptions' definitions
(:func:`core.experiments.batch.sweep_key`). So a job stands for (model content hash, clip, corruption,
severity, seed, corruption revision) (:meth:`Plan.job_key`); the plan submits only jobs whose rows are
not stored (a resumed sweep), and a row written twice (a retried task) is stored once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

from core import corruptions
from core.datasets import Sample, unreadable_sentence
from core.experiments.batch import (
    SweepModel, load_models, sweep_conditions, sweep_dataset, sweep_key, sweep_samples,
)
from core.experiments.config import ExperimentConfig, ExperimentError
from core.experiments.work import pending_conditions
from core.results import ResultsDB, condition_label

Progress = Callable[[int, int, str], None]


class Job(NamedTuple):
    """One model's rows (one per head) for one clip under one condition, by positions in the sweep."""

    checkpoint: int
    clip: int
    corruption: str
    severity: int


@dataclass
class Plan:
    """A sweep set up in the results database and what is left of it.

    Attributes
    ----------
    experiment_id : int
    config : the sweep's config
    models : the loaded models (the driver's copies)
    samples : the clips, in the sweep's order
    conditions : ``(corruption, severity, modality)``, clean first
    ids : ``(model index, corruption, severity)`` -> condition id
    done : condition id -> the clip indices whose rows are stored
    unreadable : clip index -> why its file could not be decoded (stored, not decoded again)
    labels : per model, every clip's class index in that model's class order
    message : what the first progress call says (stored so far, clips left out)
    """

    experiment_id: int
    config: ExperimentConfig
    models: list[SweepModel]
    samples: list[Sample]
    conditions: list[tuple[str, int, str]]
    ids: dict
    done: dict
    unreadable: dict
    labels: list[list[int]]
    message: str = ""

    @property
    def total(self) -> int:
        """Clip-conditions of the whole sweep, per model."""
        return len(self.models) * len(self.conditions) * len(self.samples)

    @property
    def per_clip(self) -> int:
        """Clip-conditions one clip accounts for (all of them when it cannot be decoded)."""
        return len(self.models) * len(self.conditions)

    def stored(self) -> int:
        """Clip-conditions done: rows stored, and clips that could not be decoded."""
        return sum(len(v) for v in self.done.values()) + self.per_clip * len(self.unreadable)

    def pending(self, indices: list[int]) -> list[tuple]:
        """The conditions with work left on these clips: ``(corruption, severity, modality, [model indices])``."""
        return pending_conditions(indices, self.conditions, len(self.models), self.ids, self.done)

    def batches(self) -> list[list[int]]:
        """Clip indices per batch (``config.batch_size`` consecutive clips, the undecodable ones left out) of
        the batches with work left; the same batches on every backend, so the same clips are encoded together."""
        out = []
        for start in range(0, len(self.samples), self.config.batch_size):
            indices = [i for i in range(start, min(start + self.config.batch_size, len(self.samples)))
                       if i not in self.unreadable]
            if self.pending(indices):
                out.append(indices)
        return out

    def jobs(self) -> list[Job]:
        """Every job whose rows are not stored yet (what a resumed sweep still submits)."""
        readable = [i for i in range(len(self.samples)) if i not in self.unreadable]
        return [Job(k, i, c, s) for k in range(len(self.models)) for c, s, _ in self.conditions
                for i in readable if i not in self.done.get(self.ids[(k, c, s)], ())]

    def job_key(self, job: Job) -> tuple:
        """What a job's stored rows stand for: ``(model content hash, clip, corruption, severity, seed,
        corruption revision)``."""
        return (self.models[job.checkpoint].fingerprint, str(self.samples[job.clip].source), job.corruption,
                job.severity, self.config.seed, corruptions.REVISION)


def make_plan(config: ExperimentConfig, db: ResultsDB, *, device: str = "auto") -> Plan:
    """Load the models and clips, create (or find) the sweep's experiment and read what is stored.

    Raises ExperimentError, DatasetError, ModelError or ResultsError.
    """
    models = load_models(config.checkpoints, device=device)
    dataset = sweep_dataset(config)
    samples, left_out = sweep_samples(config, models, dataset)
    conditions = sweep_conditions(config)
    stored = {**config.to_dict(), "data_layout": dataset.description, "checkpoints": [str(c.path) for c in models],
              "corruptions": list(config.corruptions or corruptions.names()),
              "data": str(Path(config.data).resolve())}
    eid, _ = db.start_experiment(key=sweep_key(stored, models, samples), name=config.name or Path(config.data).name,
                                 config=stored, checkpoints=[c.describe() for c in models],
                                 clips=[(str(s.source), s.label) for s in samples], conditions=conditions)
    plan = Plan(eid, config, models, samples, conditions, db.condition_ids(eid), db.done_clips(eid),
                db.skipped_clips(eid), [[ck.classes.index(s.label) for s in samples] for ck in models])
    count = plan.stored()
    left = "".join(f"; {n} clip(s) labelled '{label}' left out (not a class of every model)"
                   for label, n in left_out.items())
    listed = f"; {unreadable_sentence(dataset.skipped)}" if dataset.skipped else ""
    plan.message = (f"experiment {eid} ({dataset.description}): {count} of {plan.total} clip-conditions already "
                    f"stored{left}{listed}")
    return plan


class Writer:
    """The driver's one writer: stores rows and undecodable clips, counts progress, finishes the experiment."""

    def __init__(self, db: ResultsDB, plan: Plan, progress: Progress):
        self.db, self.plan, self.progress = db, plan, progress
        self.count = plan.stored()
        self.clock = time.perf_counter()
        progress(self.count, plan.total, plan.message)

    def rows(self, corruption: str, severity: int, indices: list[int], rows: list[tuple], n: int) -> None:
        """Store one step's rows (``n`` clip-conditions) in one transaction and report progress."""
        now = time.perf_counter()
        self.db.write_predictions(self.plan.experiment_id, rows, seconds=now - self.clock)
        self.clock = now
        self.count += n
        self.progress(self.count, self.plan.total,
                      f"{condition_label(corruption, severity)}, clips {indices[0] + 1}-{indices[-1] + 1}")

    def skipped(self, reasons: dict[int, str], sentences) -> None:
        """Record clips whose files could not be decoded (clip index -> reason); ``sentences``: their
        :class:`core.datasets.Unreadable` items, for the progress message."""
        self.db.skip_clips(self.plan.experiment_id, reasons)
        self.plan.unreadable.update(reasons)
        self.count += self.plan.per_clip * len(reasons)
        self.progress(self.count, self.plan.total, unreadable_sentence(list(sentences)))

    def finish(self) -> int:
        """Mark the experiment finished when complete; return its id. Raises ExperimentError when no clip
        could be decoded."""
        plan = self.plan
        if plan.samples and len(plan.unreadable) == len(plan.samples):
            first = plan.samples[min(plan.unreadable)].source
            raise ExperimentError(f"None of the {len(plan.samples)} clips could be decoded; the first, '{first}': "
                                  f"{plan.unreadable[min(plan.unreadable)]}")
        self.db.finish_experiment(plan.experiment_id)
        return plan.experiment_id


__all__ = ["Job", "Plan", "Writer", "make_plan", "Progress"]
