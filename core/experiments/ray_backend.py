"""Sweeps, evaluations and embeddings on Ray: CPU tasks decode and corrupt, model actors run inference.

    python -m core.experiments run --backend ray                      # a local Ray on this machine's cores
    python -m core.experiments run --backend ray --address auto       # the cluster this node belongs to
    python -m core.experiments run --backend ray --address ray://head:10001 --workers 8

A sweep on Ray runs the same work as the local backend (:mod:`core.experiments.work`), split where it
scales: a CPU task (``num_cpus=1``) decodes each batch of clips, one CPU task per step corrupts that
batch and makes the models' input tensors, and model actors (each loads the sweep's models once;
``num_gpus=1`` when the cluster has GPUs) encode, fuse and turn the outputs into rows. The batches and
steps are those of the local backend and the same functions run on the same inputs, so the stored
probabilities are the same bytes (tested on the CPU). The driver, this process, plans the sweep, submits
only the jobs whose rows are not stored (:mod:`core.experiments.plan`) and is the only writer of the
results database; nothing on the cluster opens it.

Failures: Ray retries a task whose worker died (``max_retries``) and restarts a dead model actor and
re-runs its calls (``max_restarts``, ``max_task_retries``; Ray's "at-least-once" actor tasks, see Ray's
docs, "Actor Fault Tolerance"); a restarted actor re-encodes the batch's clean clips it lost. Rows arrive
once per call, and a row already stored is never stored twice, so a driver killed mid-write loses at most
the transaction it was writing and the same command continues the sweep.

The clips, the models and this code must be readable at the same paths on every node (shared storage),
and every node needs the packages of ``requirements.txt`` and the same ``ray``: docs/RAY.md.
"""
from __future__ import annotations

import os
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch

from core.datasets import DatasetError, Unreadable
from core.experiments.batch import Batch, ModelSpec, load_models
from core.experiments.config import ExperimentConfig, ExperimentError
from core.experiments.plan import Plan, Progress, Writer, make_plan
from core.experiments.work import batch_steps, condition_inputs, decode_sample, step_rows
from core.inference import limited_threads
from core.media import MediaError
from core.models import ModelError
from core.results import CLEAN, ResultsDB

RETRIES = 4  # task retries and actor restarts before a failure stops the sweep
STEPS_PER_WORKER = 3  # steps in flight per model actor: one running, the next ones' inputs being prepared
CLEAN_KEPT = 4  # batches whose clean encodings an actor keeps


class RayUnavailable(ExperimentError):
    """Ray is not installed, or the cluster cannot be reached; the message is one sentence."""


def require_ray():
    """The ``ray`` module, or RayUnavailable saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable("The ray backend needs Ray: pip install ray==2.60.0 (pinned in requirements-dev.txt), "
                             "or run with --backend local.") from None
    return ray


def connect(address: str | None = None):
    """``(ray, started)``: Ray initialised for this process, and whether this call started it.

    ``address``: None or ``"local"`` starts a Ray on this machine (unless one is initialised already, as a
    test does); ``"auto"`` joins the cluster this node belongs to; ``"ray://host:10001"`` connects a client
    to a remote head; ``"host:6379"`` joins a cluster by its GCS address. Raises RayUnavailable.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray, False
    if str(address or "").startswith("ray://"):
        import importlib.util

        if importlib.util.find_spec("grpc") is None:
            raise RayUnavailable(f"Connecting to {address} needs Ray Client: pip install \"ray[client]==2.60.0\" on "
                                 f"this machine (or run the command on the cluster's head with --address auto).")
    try:
        if address in (None, "", "local"):
            ray.init(include_dashboard=False, log_to_driver=False, logging_level="warning")
        else:
            ray.init(address=address, log_to_driver=False, logging_level="warning")
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        raise RayUnavailable(f"Could not reach a Ray cluster at '{address}' ({str(exc).splitlines()[0]}); start "
                             f"one with `ray start --head` or check the address (docs/RAY.md).") from exc
    return ray, True


def use_gpu(ray, device: str) -> bool:
    """Whether model actors take a GPU: the cluster has one and ``device`` is not ``cpu``."""
    gpus = ray.cluster_resources().get("GPU", 0)
    if device in ("cuda", "mps") and not gpus:
        raise ExperimentError(f"--device {device} asks for a GPU, and the Ray cluster has none; use --device auto "
                              f"or cpu.")
    return bool(gpus) and device != "cpu"


def actor_options(gpu: bool) -> dict:
    """``ray.remote`` options of a model actor: restarted and its calls retried after a crash; one GPU each where
    the cluster has GPUs (Ray then also holds a CPU for it). A CPU actor names no resource at all: Ray then
    needs a CPU to place it and holds none while it runs (any resource named would make it hold one), so the
    decode and corrupt tasks get every core and two drivers' actors cannot starve each other's tasks."""
    return {"max_restarts": RETRIES, "max_task_retries": RETRIES, **({"num_gpus": 1} if gpu else {})}


def default_workers(ray, gpu: bool) -> int:
    """Model actors when none are asked for: one per GPU, else half the cluster's CPUs (the other half decode
    and corrupt), at least one."""
    resources = ray.cluster_resources()
    return max(1, int(resources.get("GPU", 0)) if gpu else int(resources.get("CPU", 1)) // 2)


def _unwrap(ray, exc: BaseException) -> BaseException:
    """A Ray error as the sentence a user can act on: the worker's own error, or what Ray says died."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, (ExperimentError, ModelError, DatasetError, MediaError)):
        return ExperimentError(str(cause))
    if isinstance(exc, ray.exceptions.RayActorError):
        return ExperimentError(f"A model worker died {RETRIES + 1} times ({str(exc).splitlines()[0]}); "
                               f"everything stored so far is kept, run the same command again to continue.")
    return exc


# --------------------------------------------------------------------------- the pieces that run on the cluster

def decode_batch(samples, indices: list[int], specs: Sequence[ModelSpec]):
    """CPU task: one batch's clips decoded (``(Batch or None, {clip index: Unreadable})``, two returns)."""
    decoded = {i: decode_sample(s) for i, s in zip(indices, samples)}
    bad = {i: c for i, c in decoded.items() if isinstance(c, Unreadable)}
    keep = [j for j, i in enumerate(indices) if i not in bad]
    if not keep:
        return None, bad
    return Batch([decoded[indices[j]] for j in keep], [indices[j] for j in keep], specs,
                 [samples[j].name for j in keep]), bad


def step_inputs(batch: Batch, step: tuple, specs: Sequence[ModelSpec], config: ExperimentConfig, reuse: bool):
    """CPU task: one step's model inputs (:func:`core.experiments.work.condition_inputs`)."""
    with limited_threads(1):
        return condition_inputs(batch, step, [specs[k] for k in step[3]], config, reuse)


class SweepWorker:
    """Model actor: the sweep's models, loaded once, turn one step's inputs into rows.

    Parameters
    ----------
    paths : the models' files or folders (the same paths as the driver's: shared storage)
    fingerprints : their content hashes on the driver; a worker whose copy differs refuses to run
    device : where the models run ("auto": the GPU Ray gave this actor, if any)
    threads : torch / BLAS threads (1, as the local backend's default)
    """

    def __init__(self, paths: list[str], fingerprints: list[str], device: str, threads: int | None):
        self.threads = threads
        with limited_threads(threads):
            self.models = load_models(paths, device=device)
        for model, expected in zip(self.models, fingerprints):
            if model.fingerprint != expected:
                raise ExperimentError(f"The model at {model.path} on a Ray worker is not the driver's (content hash "
                                      f"{model.fingerprint}, expected {expected}); put the models on storage every "
                                      f"node reads (docs/RAY.md).")
        self.clean: OrderedDict = OrderedDict()  # batch key -> model name -> clean encodings

    def pid(self) -> int:
        return os.getpid()

    def device(self) -> str:
        return str(self.models[0].model.device)

    @torch.inference_mode()
    def run(self, key, clean_box: list, step: tuple, inputs: dict, targets: dict) -> list[tuple]:
        """The rows of one step (:func:`core.experiments.work.step_rows`); the batch's clean encodings are kept
        under ``key``, and recomputed from ``clean_box[0]`` (the clean step's inputs) when this actor lost them
        (it was restarted) or never had them."""
        import ray

        clean = self.clean.setdefault(key, {})
        self.clean.move_to_end(key)
        while len(self.clean) > CLEAN_KEPT:
            self.clean.popitem(last=False)
        with limited_threads(self.threads):
            missing = [k for k in step[3] if self.models[k].name not in clean] if step[0] != CLEAN else []
            if missing:
                step_rows(self.models, clean, ray.get(clean_box[0]), (CLEAN, 0, "none", missing, []), {})
            return step_rows(self.models, clean, inputs, step, targets)


@dataclass
class _Batch:
    """A batch in flight on the driver: its clips, decode results, steps left and calls outstanding."""

    key: int
    indices: list[int]
    batch_ref: object
    actor: object
    steps: deque | None = None  # None until decoded
    clean_ref: object = None
    outstanding: int = 0
    labels: dict = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.steps is not None and not self.steps and not self.outstanding


class RayBackend:
    """Runs sweeps on Ray (:func:`core.experiments.run_experiment` with ``backend=RayBackend(...)`` or
    ``backend="ray"``).

    Parameters
    ----------
    address : None (a local Ray, or the one this process initialised), ``auto``, ``ray://host:10001``
    workers : model actors; None: :func:`default_workers`

    The model actors of the last sweep stay up while the backend lives and are reused by a sweep of the
    same models (``actors`` lists them; :meth:`close` ends them).
    """

    def __init__(self, address: str | None = None, workers: int | None = None):
        if workers is not None and int(workers) < 1:
            raise ExperimentError("--workers must be at least 1.")
        self.address, self.workers = address, workers
        self.actors: list = []
        self._actors_key = None
        self._started = False

    def close(self) -> None:
        """End the model actors, and the local Ray when this backend started it."""
        self.actors, self._actors_key = [], None
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def _workers(self, ray, plan: Plan, device: str, threads: int | None) -> list:
        gpu = use_gpu(ray, device)
        n = self.workers or default_workers(ray, gpu)
        key = ([str(m.path) for m in plan.models], [m.fingerprint for m in plan.models], device, threads, n, gpu)
        if key != self._actors_key:
            self.actors = []  # dropping the handles ends the old actors
            actor = ray.remote(**actor_options(gpu))(SweepWorker)
            self.actors = [actor.remote(key[0], key[1], device if gpu or device != "auto" else "cpu", threads)
                           for _ in range(n)]
            self._actors_key = key
        return self.actors

    def run(self, config: ExperimentConfig, db: ResultsDB, progress: Progress, *, reuse: bool = True,
            device: str = "auto", threads: int | None = 1) -> int:
        """Run (or continue) the sweep on Ray; return its experiment id (see :func:`run_experiment`)."""
        ray, started = connect(self.address)
        self._started = self._started or started
        try:
            with torch.inference_mode():
                plan = make_plan(config, db, device="cpu")  # the driver's copies: names, specs, hashes, labels
            writer = Writer(db, plan, progress)
            batches = plan.batches()
            if batches:
                self._sweep(ray, plan, writer, batches, reuse, device, threads)
            return writer.finish()
        except ray.exceptions.RayError as exc:
            raise _unwrap(ray, exc) from exc

    def _sweep(self, ray, plan: Plan, writer: Writer, batches: list[list[int]], reuse: bool, device: str,
               threads: int | None) -> None:
        actors = self._workers(ray, plan, device, threads)
        decode = ray.remote(num_cpus=1, num_returns=2, max_retries=RETRIES)(decode_batch)
        prepare = ray.remote(num_cpus=1, max_retries=RETRIES)(step_inputs)
        specs = [m.spec for m in plan.models]
        cap = STEPS_PER_WORKER * len(actors)
        todo = deque(enumerate(batches))
        open_: list[_Batch] = []
        decoding: dict = {}  # the decode's "bad clips" ref -> its batch
        running: dict = {}  # an actor call's ref -> (batch, step)
        while todo or open_:
            while todo and len(open_) <= len(actors):  # decode one batch per actor ahead
                j, indices = todo.popleft()
                batch_ref, bad_ref = decode.remote([plan.samples[i] for i in indices], indices, specs)
                b = _Batch(j, indices, batch_ref, actors[j % len(actors)])
                open_.append(b)
                decoding[bad_ref] = b
            for b in open_:  # oldest batch first, so rows arrive in the local backend's order
                while b.steps and len(running) < cap:
                    step = b.steps.popleft()
                    inputs_ref = prepare.remote(b.batch_ref, step, specs, plan.config, reuse)
                    if step[0] == CLEAN:
                        b.clean_ref = inputs_ref
                    targets = {k: (plan.ids[(k, step[0], step[1])], b.indices, b.labels[k]) for k in step[4]}
                    running[b.actor.run.remote(b.key, [b.clean_ref], step, inputs_ref, targets)] = (b, step)
                    b.outstanding += 1
            ready, _ = ray.wait(list(decoding) + list(running), num_returns=1)
            for ref in ready:
                if ref in decoding:
                    b = decoding.pop(ref)
                    bad = ray.get(ref)
                    if bad:
                        writer.skipped({i: u.reason for i, u in bad.items()}, bad.values())
                        b.indices = [i for i in b.indices if i not in bad]
                    b.labels = {k: {i: plan.labels[k][i] for i in b.indices} for k in range(len(plan.models))}
                    b.steps = deque(batch_steps(plan.pending(b.indices)) if plan.pending(b.indices) else ())
                else:
                    b, step = running.pop(ref)
                    rows = ray.get(ref)
                    b.outstanding -= 1
                    if rows:
                        writer.rows(step[0], step[1], b.indices, rows, len(step[4]) * len(b.indices))
            open_ = [b for b in open_ if not b.finished]  # their object refs go, and Ray frees the objects


# --------------------------------------------------------------------------- evaluate and embeddings on Ray

def decode_clips(sources: list, steps: list, seed: int) -> list:
    """CPU task: clips decoded and corrupted as :class:`core.inference.ClipSet` does (an Unreadable in place of
    a file that cannot be decoded)."""
    from core.inference import ClipSet

    data = ClipSet(sources, steps, seed)
    return [data[i] for i in range(len(data))]


class PredictWorker:
    """Model actor for ``core.evaluate`` and embeddings: a :class:`core.inference.Predictor`, loaded once."""

    def __init__(self, spec: str, fingerprint: str, device: str, threads: int | None):
        from core.inference import Predictor

        self.predictor = Predictor.load(spec, device=device, threads=threads)
        if self.predictor.model.fingerprint != fingerprint:
            raise ExperimentError(f"The model at {spec} on a Ray worker is not the driver's; put the models on "
                                  f"storage every node reads (docs/RAY.md).")

    @torch.inference_mode()
    def predict(self, items: list) -> list:
        """:meth:`Predictor.predict_batch` of the decoded clips, an Unreadable kept in its place."""
        clips = [c for c in items if not isinstance(c, Unreadable)]
        preds = iter(self.predictor.predict_batch(clips) if clips else ())
        return [c if isinstance(c, Unreadable) else next(preds) for c in items]


def predict_batches(predictor, sources: Sequence, *, steps=(), seed: int = 0, batch_size: int = 16,
                    address: str | None = None, workers: int | None = None, device: str = "auto") -> Iterator[list]:
    """Per batch of ``sources`` (in order), a list with a :class:`core.inference.Prediction` per clip, or the
    clip's :class:`core.datasets.Unreadable`: :func:`core.inference.clip_batches` + ``predict_batch`` on Ray.

    Clips are decoded and corrupted (``steps``, seeded by :func:`core.corruptions.clip_seed` of ``seed``) in CPU
    tasks and predicted by model actors that load ``predictor``'s model from its files (``model.source``, on
    storage every node reads); the predictions equal ``predictor.predict_batch``'s. Raises ExperimentError.
    """
    model = predictor.model
    if model.source is None:
        raise ExperimentError("Only a model loaded from files can run on Ray (its workers load it from them).")
    ray, started = connect(address)
    try:
        gpu = use_gpu(ray, device)
        n = workers or default_workers(ray, gpu)
        key = (ray.get_runtime_context().get_job_id(), str(model.source), model.fingerprint, device,
               predictor.threads or 1, n, gpu)
        if _PREDICTORS.get("key") != key:  # actors are kept for the next call on the same model (a calibration
            _PREDICTORS.clear()  # predicts the same clips under several conditions)
            actor = ray.remote(**actor_options(gpu))(PredictWorker)
            _PREDICTORS.update(key=key, actors=[actor.remote(str(model.source), model.fingerprint,
                                                             device if gpu or device != "auto" else "cpu",
                                                             predictor.threads or 1) for _ in range(n)])
        actors = _PREDICTORS["actors"]
        decode = ray.remote(num_cpus=1, max_retries=RETRIES)(decode_clips)
        chunks = [list(sources[i:i + batch_size]) for i in range(0, len(sources), batch_size)]
        queue: deque = deque()
        for j, chunk in enumerate(chunks):
            queue.append(actors[j % n].predict.remote(decode.remote(chunk, list(steps), seed)))
            if len(queue) > 2 * n:
                yield ray.get(queue.popleft())
        while queue:
            yield ray.get(queue.popleft())
    except ray.exceptions.RayError as exc:
        raise _unwrap(ray, exc) from exc
    finally:
        if started:
            _PREDICTORS.clear()
            ray.shutdown()


_PREDICTORS: dict = {}  # the model actors of the last predict_batches call, and what they hold


__all__ = ["RayBackend", "RayUnavailable", "SweepWorker", "PredictWorker", "connect", "require_ray", "use_gpu",
           "actor_options", "default_workers", "decode_batch", "step_inputs", "decode_clips", "predict_batches", "RETRIES"]
