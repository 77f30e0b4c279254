"""The work of one batch of a sweep, in the pieces both backends run (local threads, Ray tasks and actors).

One batch of clips is worked through in *steps*: clean first (every model with work left in the batch
needs its clean encodings), then each condition with work left. A step is
``(corruption, severity, modality, models, writes)``: the models whose outputs it computes and those
whose rows it stores (a clean step computes the clean encodings of models whose clean rows are already
stored, and stores nothing for them).

* CPU side, :func:`decode_sample` and :func:`condition_inputs`: decode a clip; corrupt a batch's view and
  make each model's input tensors (by its :class:`ModelSpec`, no weights needed).
* Model side, :func:`condition_outputs` and :func:`prediction_rows`: encode the branches a step changed
  (the clean encodings of the batch are reused for the others), fuse, and turn the heads' outputs into the
  rows the results database stores, with the clip's out-of-distribution score.

The local backend (:mod:`core.experiments.sweep`) runs them in this process, the Ray backend
(:mod:`core.experiments.ray_backend`) in CPU tasks and model actors; the same functions on the same
inputs give the same bytes.
"""
from __future__ import annotations

from typing import Sequence

from core import corruptions
from core.datasets import Sample, Unreadable
from core.experiments.batch import Batch, ModelSpec, SweepModel, corrupt_view, view_inputs
from core.experiments.config import ExperimentConfig
from core.inference import HEADS, WINDOW_S, encode, head_probabilities, heads
from core.media import Clip, MediaError, load_clip, pad_clip
from core.results import CLEAN


def decode_sample(sample: Sample) -> Clip | Unreadable:
    """The clip padded to one window, or, for a file that cannot be decoded, why."""
    try:
        clip = load_clip(sample.source)
    except MediaError as exc:
        return Unreadable(sample.source, str(exc))  # a pair is named by both files
    return pad_clip(clip, WINDOW_S) if clip.duration < WINDOW_S else clip


def pending_conditions(indices: list[int], conditions, n_models: int, ids: dict, done: dict) -> list[tuple]:
    """The conditions with work left on these clips: ``(corruption, severity, modality, [model indices])``."""
    if not indices:
        return []
    pending = [(c, s, m, [k for k in range(n_models) if not set(indices) <= done.get(ids[(k, c, s)], set())])
               for c, s, m in conditions]
    return [p for p in pending if p[3]]


def batch_steps(pending: list[tuple]) -> list[tuple]:
    """The steps of one batch: ``(corruption, severity, modality, models, writes)``, clean first.

    ``pending`` is :func:`pending_conditions`' list; clean computes the encodings of every model with work
    left in the batch and stores the clean rows of those whose clean rows are not stored yet.
    """
    needed = sorted({k for p in pending for k in p[3]})
    write_clean = list(pending[0][3]) if pending and pending[0][0] == CLEAN else []
    return [(CLEAN, 0, "none", needed, write_clean)] + [(c, s, m, list(ks), list(ks))
                                                         for c, s, m, ks in pending if c != CLEAN]


def params_key(name: str, severity: int) -> str | None:
    """Equal for two severities of a deterministic corruption with the same parameters (mute, video_off)."""
    c = corruptions.get(name)
    return None if c.stochastic else repr(sorted(c.params(severity).items()))


def condition_inputs(batch: Batch, step: tuple, specs: Sequence[ModelSpec], config: ExperimentConfig,
                     reuse: bool, state: dict | None = None) -> dict:
    """The model inputs of one step, per ``(branch, preprocessing)``: ``{(modality, spec): (x, mask)}``.

    Parameters
    ----------
    batch : the decoded clips
    step : a :func:`batch_steps` step (its corruption, severity and modality are read)
    specs : the step's models' :class:`ModelSpec` (one input per distinct preprocessing)
    config : the sweep's config (seed, frame mode)
    reuse : only the corrupted modality's branch (True), or both (False: recompute everything)
    state : optional dict kept across the steps of one batch: a deterministic corruption with the same
        parameters as the previous step's reuses its corrupted view

    Returns
    -------
    dict
        ``x``: video (B, 3, T, S, S) or audio (B, N) / (B, 1, F, T) float32; ``mask``: (B,) float32.
    """
    corruption, severity, modality = step[:3]
    state = {} if state is None else state
    if corruption == CLEAN:
        view, seen, presence, branches = batch.seen, True, batch.clips, ("audio", "video")
    else:
        key = (corruption, params_key(corruption, severity))
        if key[1] is not None and state.get("key") == key:
            view, seen = state["view"]  # a deterministic corruption with the same parameters: same output
        else:
            view, seen = corrupt_view(batch, corruption, severity, config)
            state.update(key=key, view=(view, seen))
        presence = view
        branches = ("audio", "video") if modality == "audiovisual" or not reuse else (modality,)
    out = {}
    for spec in specs:
        for branch in branches:
            pre = spec.video if branch == "video" else spec.audio
            if (branch, pre) not in out:
                out[(branch, pre)] = view_inputs(batch, spec, branch, view, seen, presence)
    return out


def condition_outputs(ck: SweepModel, clean: dict, inputs: dict, modality: str):
    """One model's output for one step: encode the branches in ``inputs``, reuse the clean ones for the rest.

    ``clean`` holds the batch's clean encodings per model name; a clean step (``modality == "none"``) fills
    it. Returns ``(core.models.Outputs, audio_mask (B,), video_mask (B,))``.
    """
    model = ck.model
    branches = {}
    for name, spec in (("audio", model.audio), ("video", model.video)):
        if (name, spec) in inputs:
            x, mask = inputs[(name, spec)]
            branches[name] = (encode(model, name, x, mask), mask)
    if modality == "none":
        clean[ck.name] = branches
    branches = {**clean[ck.name], **branches}
    (a, am), (v, vm) = branches["audio"], branches["video"]
    return heads(model, a, v, am, vm), am, vm


def ood_scores(ck: SweepModel, out, audio_mask, video_mask) -> list[float | None]:
    """Each clip's out-of-distribution score (:meth:`core.trust.ood.OODDetector.score`, unrounded), or None
    where the model has no detector or the clip had no usable input (as :class:`core.inference.Predictor`
    judges a prediction)."""
    present = {"audio": audio_mask.numpy() > 0, "video": video_mask.numpy() > 0}
    if ck.detector is None:
        return [None] * len(present["audio"])
    scores = ck.detector.score({h: out.logits[h].float().numpy() for h in out.logits},
                               {k: v.numpy() for k, v in out.embeddings.items()}, present)
    return [float(s) if a or v else None for s, a, v in zip(scores, present["audio"], present["video"])]


def prediction_rows(condition_id: int, indices: list[int], labels: list[int], result, ck: SweepModel) -> list[tuple]:
    """The rows :meth:`core.results.ResultsDB.write_predictions` stores for one model under one condition.

    ``result`` is :func:`condition_outputs`' output for the clips at ``indices`` (positions in the sweep's
    clip list; ``labels`` are class indices of every clip of the sweep, in the model's class order). Per clip
    and head: the predicted class, whether it is right, the full probabilities (float32, the model's
    temperatures applied), whether each modality was present, the modality weights (fused rows) and the
    clip's OOD score (on every head's row).
    """
    out, am, vm = result
    weights = None if out.weights is None else out.weights.numpy()  # (B, 2)
    probabilities = head_probabilities(ck.model, out.logits)
    scores = ood_scores(ck, out, am, vm)
    rows = []
    for head in HEADS:
        probs = probabilities[head]  # (B, K)
        pred = probs.argmax(axis=1)
        for j, i in enumerate(indices):
            wa, wv = (weights[j] if weights is not None and head == "fused" else (None, None))
            rows.append((condition_id, i, head, int(pred[j]), int(pred[j] == labels[i]), probs[j],
                         int(am[j]), int(vm[j]), wa, wv, scores[j]))
    return rows


def step_rows(models: Sequence[SweepModel], clean: dict, inputs: dict, step: tuple, targets: dict) -> list[tuple]:
    """Every row one step stores: for each of the step's models, its outputs, and its rows when it writes.

    ``targets`` maps each model index of ``step[4]`` (those that write) to ``(condition_id, indices, labels)``;
    the clean encodings of every model of ``step[3]`` are in ``clean`` afterwards (a clean step fills them).
    """
    rows = []
    for k in step[3]:
        result = condition_outputs(models[k], clean, inputs, step[2])
        if k in targets:
            rows += prediction_rows(*targets[k], result, models[k])
    return rows


__all__ = ["decode_sample", "pending_conditions", "batch_steps", "params_key", "condition_inputs",
           "condition_outputs", "ood_scores", "prediction_rows", "step_rows"]
