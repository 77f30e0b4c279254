"""The sweep: run or continue one, batch by batch, and store every clip x condition x head.

Each clip is decoded once; each checkpoint encodes its clean audio and video once per batch; a
corruption of one modality recomputes only that branch and fuses with the cached other one. Two
backends run the same work (:mod:`core.experiments.work`) from the same plan
(:mod:`core.experiments.plan`), and the driver alone writes the results: ``local`` (this process; one
worker thread prepares the next condition's inputs while the current one encodes and writes) and
``ray`` (:mod:`core.experiments.ray_backend`: CPU tasks decode and corrupt, model actors encode).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from core.datasets import DatasetError, Unreadable
from core.experiments.batch import Batch, SweepModel
from core.experiments.config import ExperimentConfig, ExperimentError
from core.experiments.plan import Plan, Progress, Writer, make_plan
from core.experiments.work import batch_steps, condition_inputs, decode_sample, step_rows
from core.inference import limited_threads
from core.media import MediaError
from core.models import ModelError
from core.results import ResultsDB, ResultsError

BACKENDS = ("local", "ray")
_WORKERS = 1  # threads preparing inputs ahead of the encoders


def run_experiment(config: ExperimentConfig, *, db: ResultsDB | str | Path | None = None,
                   progress: Progress | None = None, reuse_embeddings: bool = True, threads: int | None = 1,
                   device: str = "auto", backend=None, address: str | None = None,
                   workers: int | None = None) -> int:
    """Run (or continue) a sweep and store every clip x condition x head; return the experiment id.

    Parameters
    ----------
    config : ExperimentConfig
    db : ResultsDB, path or None
        The results database (default :func:`core.results.default_db_path`).
    progress : callable ``(done, total, message)``, optional
        Called after every stored chunk; ``done`` and ``total`` count clip-conditions per checkpoint.
    reuse_embeddings : bool
        Recompute only the corrupted branch (default); False recomputes both (for benchmarks).
    threads : int or None
        Threads for torch and for numpy's BLAS during the sweep (None leaves them). One is the
        default: the sweep's many small operations ran several times slower with two threads on
        a shared two-core machine (see docs/PERFORMANCE.md).
    device : "auto" (the GPU when there is one), "cpu", "cuda" or "mps"
        Where the models run (not part of the sweep's identity).
    backend : "local" (default), "ray", or a :class:`core.experiments.ray_backend.RayBackend`
        Where the work runs; the rows are the same bytes either way, and this process writes them.
    address : str, optional
        With ``backend="ray"``: the cluster (``auto``, ``ray://host:10001``); None starts a local Ray.
    workers : int, optional
        With ``backend="ray"``: model actors (default: one per GPU, else half the cluster's CPUs).

    A clip whose file cannot be decoded is skipped and the sweep goes on: the results database records it
    with its one-sentence reason (``get_experiment(...)["skipped"]``), it has no rows, and every condition
    is complete without it. A continued sweep does not decode it again (no retrying on every run, and
    the sweep can finish); a repaired file has another size, which makes it another sweep (the identity
    holds each clip's size), and deleting the experiment retries everything.

    Raises
    ------
    ExperimentError
        Bad config, data set or model (``DatasetError`` and ``ModelError`` are turned into it), no clip
        that can be decoded, or a results database that cannot be used.
    """
    backend = backend or "local"
    if isinstance(backend, str) and backend not in BACKENDS:
        raise ExperimentError(f"There is no backend '{backend}'; choose {' or '.join(BACKENDS)}.")
    own = backend == "ray"  # a backend made here is closed here (its actors, and a local Ray it started)
    if own:
        from core.experiments.ray_backend import RayBackend

        backend = RayBackend(address=address, workers=workers)
    try:
        handle = db if isinstance(db, ResultsDB) else ResultsDB(db)
    except ResultsError as exc:
        raise ExperimentError(str(exc)) from exc
    try:
        with limited_threads(threads):
            if backend == "local":
                return _run(config, handle, progress or (lambda *_: None), reuse_embeddings, device)
            return backend.run(config, handle, progress or (lambda *_: None), reuse=reuse_embeddings,
                               device=device, threads=threads)
    except (DatasetError, ModelError, MediaError, ResultsError) as exc:
        raise ExperimentError(str(exc)) from exc
    finally:
        if handle is not db:
            handle.close()
        if own:
            backend.close()


@torch.inference_mode()
def _run(config: ExperimentConfig, db: ResultsDB, progress: Progress, reuse: bool, device: str) -> int:
    plan = make_plan(config, db, device=device)
    writer = Writer(db, plan, progress)
    # One worker thread corrupts and preprocesses the next condition while this one encodes and writes.
    pool = ThreadPoolExecutor(max_workers=_WORKERS)
    try:
        for indices in plan.batches():
            decoded = {i: decode_sample(plan.samples[i]) for i in indices}
            bad = {i: c for i, c in decoded.items() if isinstance(c, Unreadable)}
            if bad:
                writer.skipped({i: c.reason for i, c in bad.items()}, bad.values())
                indices = [i for i in indices if i not in bad]
            pending = plan.pending(indices)
            if pending:
                batch = Batch([decoded[i] for i in indices], indices, plan.models,
                              [plan.samples[i].name for i in indices])
                _run_batch(batch, batch_steps(pending), plan, reuse, pool, writer)
    finally:  # on Ctrl-C, do not wait for inputs prepared ahead
        pool.shutdown(wait=True, cancel_futures=True)
    return writer.finish()


def _run_batch(batch: Batch, steps: list[tuple], plan: Plan, reuse: bool, pool: ThreadPoolExecutor,
               writer: Writer) -> None:
    """Every step of one batch: inputs prepared one step ahead in ``pool``, then encode and store."""
    models: list[SweepModel] = plan.models
    state: dict = {}

    def prepare(step):
        return condition_inputs(batch, step, [models[k].spec for k in step[3]], plan.config, reuse, state)

    clean: dict = {}  # model name -> the batch's clean encodings
    queue = deque(pool.submit(prepare, step) for step in steps[:2])
    for j, step in enumerate(steps):
        inputs = queue.popleft().result()
        if j + 2 < len(steps):
            queue.append(pool.submit(prepare, steps[j + 2]))
        targets = {k: (plan.ids[(k, step[0], step[1])], batch.indices_in_data, plan.labels[k]) for k in step[4]}
        rows = step_rows(models, clean, inputs, step, targets)
        if rows:
            writer.rows(step[0], step[1], batch.indices_in_data, rows, len(step[4]) * len(batch.clips))
