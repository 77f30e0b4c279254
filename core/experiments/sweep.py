"""The sweep: run or continue one, batch by batch, and store every clip x condition x head.

Each clip is decoded once; each checkpoint encodes its clean audio and video once per batch; a
corruption of one modality recomputes only that branch and fuses with the cached other one. One
worker thread prepares the next condition's inputs while the current one encodes and writes.
"""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import torch

from core import corruptions
from core.datasets import DatasetError, Sample, Unreadable, unreadable_sentence
from core.experiments.batch import (
    Batch, SweepModel, corrupt_view, load_models, sweep_conditions, sweep_dataset, sweep_key, sweep_samples,
    view_inputs,
)
from core.experiments.config import ExperimentConfig, ExperimentError
from core.inference import HEADS, WINDOW_S, encode, head_probabilities, heads, limited_threads
from core.media import Clip, MediaError, load_clip, pad_clip
from core.models import ModelError
from core.results import CLEAN, ResultsDB, ResultsError, condition_label

Progress = Callable[[int, int, str], None]
_WORKERS = 1  # threads preparing inputs ahead of the encoders


def run_experiment(config: ExperimentConfig, *, db: ResultsDB | str | Path | None = None,
                   progress: Progress | None = None, reuse_embeddings: bool = True, threads: int | None = 1,
                   device: str = "auto") -> int:
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
    try:
        handle = db if isinstance(db, ResultsDB) else ResultsDB(db)
    except ResultsError as exc:
        raise ExperimentError(str(exc)) from exc
    try:
        with limited_threads(threads):
            return _run(config, handle, progress or (lambda *_: None), reuse_embeddings, device)
    except (DatasetError, ModelError, MediaError, ResultsError) as exc:
        raise ExperimentError(str(exc)) from exc
    finally:
        if handle is not db:
            handle.close()


@torch.inference_mode()
def _run(config: ExperimentConfig, db: ResultsDB, progress: Progress, reuse: bool, device: str) -> int:
    checkpoints = load_models(config.checkpoints, device=device)
    dataset = sweep_dataset(config)
    samples, skipped = sweep_samples(config, checkpoints, dataset)
    conditions = sweep_conditions(config)
    stored = {**config.to_dict(), "data_layout": dataset.description, "checkpoints": [str(c.path) for c in checkpoints],
              "corruptions": list(config.corruptions or corruptions.names()),
              "data": str(Path(config.data).resolve())}
    eid, _ = db.start_experiment(
        key=sweep_key(stored, checkpoints, samples), name=config.name or Path(config.data).name, config=stored,
        checkpoints=[{"name": c.name, "path": c.path, "fusion": getattr(c.model, "fusion", c.model.format),
                      "classes": c.classes, "fingerprint": c.fingerprint, "format": c.model.format,
                      "native_heads": sorted(c.model.native_heads)} for c in checkpoints],
        clips=[(str(s.source), s.label) for s in samples], conditions=conditions)
    ids = db.condition_ids(eid)
    done = db.done_clips(eid)
    unreadable = db.skipped_clips(eid)  # decoded before and failed: not decoded again
    labels = [[ck.classes.index(s.label) for s in samples] for ck in checkpoints]
    total = len(checkpoints) * len(conditions) * len(samples)
    per_clip = len(checkpoints) * len(conditions)  # clip-conditions a skipped clip accounts for
    count = sum(len(v) for v in done.values()) + per_clip * len(unreadable)
    left_out = "".join(f"; {n} clip(s) labelled '{label}' left out (not a class of every model)"
                       for label, n in skipped.items())
    listed = f"; {unreadable_sentence(dataset.skipped)}" if dataset.skipped else ""
    progress(count, total, f"experiment {eid} ({dataset.description}): {count} of {total} clip-conditions already "
                           f"stored{left_out}{listed}")
    clock = [time.perf_counter()]

    def store(corruption: str, severity: int, indices: list[int], rows: list[tuple], n: int) -> None:
        nonlocal count
        now = time.perf_counter()
        db.write_predictions(eid, rows, seconds=now - clock[0])
        clock[0] = now
        count += n
        progress(count, total, f"{condition_label(corruption, severity)}, clips {indices[0] + 1}-{indices[-1] + 1}")

    # One worker thread corrupts and preprocesses the next condition while this one encodes and writes.
    pool = ThreadPoolExecutor(max_workers=_WORKERS)
    try:
        for start in range(0, len(samples), config.batch_size):
            indices = [i for i in range(start, min(start + config.batch_size, len(samples))) if i not in unreadable]
            if not _pending(indices, conditions, len(checkpoints), ids, done):
                continue
            decoded = {i: _decode(samples[i]) for i in indices}
            bad = {i: c.reason for i, c in decoded.items() if isinstance(c, Unreadable)}
            if bad:
                db.skip_clips(eid, bad)
                unreadable.update(bad)
                count += per_clip * len(bad)
                progress(count, total, unreadable_sentence([decoded[i] for i in bad]))
                indices = [i for i in indices if i not in bad]
            pending = _pending(indices, conditions, len(checkpoints), ids, done)
            if pending:
                batch = Batch([decoded[i] for i in indices], indices, checkpoints, [samples[i].name for i in indices])
                _run_batch(batch, pending, checkpoints, config, reuse, pool,
                           lambda c, s, k, out: _rows(ids[(k, c, s)], indices, labels[k], out,
                                                      checkpoints[k].model), store)
    finally:  # on Ctrl-C, do not wait for inputs prepared ahead
        pool.shutdown(wait=True, cancel_futures=True)
    if len(unreadable) == len(samples):
        first = samples[min(unreadable)].source
        raise ExperimentError(f"None of the {len(samples)} clips could be decoded; the first, '{first}': "
                              f"{unreadable[min(unreadable)]}")
    db.finish_experiment(eid)
    return eid


def _pending(indices: list[int], conditions, n_models: int, ids: dict, done: dict) -> list[tuple]:
    """The conditions with work left on these clips: ``(corruption, severity, modality, [model indices])``."""
    if not indices:
        return []
    pending = [(c, s, m, [k for k in range(n_models) if not set(indices) <= done.get(ids[(k, c, s)], set())])
               for c, s, m in conditions]
    return [p for p in pending if p[3]]


def _run_batch(batch: Batch, pending: list[tuple], checkpoints: list[SweepModel], config: ExperimentConfig,
               reuse: bool, pool: ThreadPoolExecutor, make_rows: Callable, store: Callable) -> None:
    """Every pending condition of one batch: inputs prepared one step ahead in ``pool``, then encode and store."""
    # clean comes first: every checkpoint with work left in the batch needs its clean encodings
    needed = sorted({k for p in pending for k in p[3]})
    steps = [(CLEAN, 0, "none", needed)] + [p for p in pending if p[0] != CLEAN]
    write_clean = pending[0][3] if pending[0][0] == CLEAN else []
    state: dict = {}

    def prepare(step):
        return _prepare(batch, step, [checkpoints[k] for k in step[3]], config, reuse, state)

    queue = deque(pool.submit(prepare, step) for step in steps[:2])
    for j, (corruption, severity, modality, ks) in enumerate(steps):
        inputs = queue.popleft().result()
        if j + 2 < len(steps):
            queue.append(pool.submit(prepare, steps[j + 2]))
        writes = write_clean if corruption == CLEAN else ks
        rows = []
        for k in ks:
            out = _outputs(checkpoints[k], batch, inputs, modality)
            if k in writes:
                rows += make_rows(corruption, severity, k, out)
        if rows:
            store(corruption, severity, batch.indices_in_data, rows, len(writes) * len(batch.clips))


def _prepare(batch: Batch, step: tuple, checkpoints: list[SweepModel], config: ExperimentConfig, reuse: bool,
             state: dict) -> dict:
    """Model inputs of one condition, per (branch, preprocessing spec); runs in the worker thread."""
    corruption, severity, modality, _ = step
    if corruption == CLEAN:
        view, seen, presence, branches = batch.seen, True, batch.clips, ("audio", "video")
    else:
        key = (corruption, _params_key(corruption, severity))
        if key[1] is not None and state.get("key") == key:
            view, seen = state["view"]  # a deterministic corruption with the same parameters: same output
        else:
            view, seen = corrupt_view(batch, corruption, severity, config)
            state.update(key=key, view=(view, seen))
        presence = view
        branches = ("audio", "video") if modality == "audiovisual" or not reuse else (modality,)
    inputs = {}
    for ck in checkpoints:
        for modality in branches:
            spec = ck.model.video if modality == "video" else ck.model.audio
            if (modality, spec) not in inputs:
                inputs[(modality, spec)] = view_inputs(batch, ck.model, modality, view, seen, presence)
    return inputs


def _params_key(name: str, severity: int) -> str | None:
    """Equal for two severities of a deterministic corruption with the same parameters (mute, video_off)."""
    c = corruptions.get(name)
    return None if c.stochastic else repr(sorted(c.params(severity).items()))


def _decode(sample: Sample) -> Clip | Unreadable:
    """The clip padded to one window, or, for a file that cannot be decoded, why."""
    try:
        clip = load_clip(sample.source)
    except MediaError as exc:
        return Unreadable(sample.source, str(exc))
    return pad_clip(clip, WINDOW_S) if clip.duration < WINDOW_S else clip


def _outputs(ck: SweepModel, batch: Batch, inputs: dict, modality: str):
    """The model's output for one condition: encode the branches given, reuse the clean encodings for the rest."""
    model = ck.model
    branches = {}
    for name, spec in (("audio", model.audio), ("video", model.video)):
        if (name, spec) in inputs:
            x, mask = inputs[(name, spec)]
            branches[name] = (encode(model, name, x, mask), mask)
    if modality == "none":
        batch.clean[ck.name] = branches
    branches = {**batch.clean[ck.name], **branches}
    (a, am), (v, vm) = branches["audio"], branches["video"]
    return heads(model, a, v, am, vm), am, vm


def _rows(condition_id: int, indices: list[int], labels: list[int], result, model) -> list[tuple]:
    out, am, vm = result
    weights = None if out.weights is None else out.weights.numpy()  # (B, 2)
    probabilities = head_probabilities(model, out.logits)
    rows = []
    for head in HEADS:
        probs = probabilities[head]  # (B, K)
        pred = probs.argmax(axis=1)
        for j, i in enumerate(indices):
            wa, wv = (weights[j] if weights is not None and head == "fused" else (None, None))
            rows.append((condition_id, i, head, int(pred[j]), int(pred[j] == labels[i]), probs[j],
                         int(am[j]), int(vm[j]), wa, wv))
    return rows
