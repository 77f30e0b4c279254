"""Evaluate a model on a data set: ``python -m core.evaluate [--model SPEC] --data DIR [--json]``.

Per-head accuracy and macro-F1 (plus precision, recall, ECE, per-class accuracy and the
confusion matrix in ``--json``). ``--card`` also writes the checkpoint's model card
(``MODEL_CARD.md``) from these numbers: model cards are generated here, never by hand.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core import corruptions
from core.datasets import (
    Dataset, DatasetError, Unreadable, add_data_arguments, load_dataset, split_by_classes, unreadable_sentence,
)
from core.inference import HEADS, Predictor, clip_batches, default_workers
from core.media import MediaError, Pair, as_source, load_clip
from core.metrics import classification_report
from core.models import ModelError, is_checkpoint, update_metadata
from core.trust.calibration import FILE as CALIBRATION_FILE
from core.trust.calibration import Calibration, calibration_scores, fit_calibration

CARD_FILE = "MODEL_CARD.md"


@functools.lru_cache(maxsize=512)
def _decoded(source, mtimes: tuple[float, ...]):
    """Decoded clips are reused when one process evaluates several checkpoints or conditions."""
    return load_clip(source)


def decoded_file(source):
    """The decoded clip of ``source`` (a file, or a :class:`core.media.Pair` of video and audio files), from the
    cache while its files are unchanged (picklable for workers)."""
    source = as_source(source)
    files = source.files if isinstance(source, Pair) else (source,)
    return _decoded(source, tuple(f.stat().st_mtime if f.exists() else 0.0 for f in files))


def parse_corruption(text: str) -> tuple[str, int]:
    """``NAME`` or ``NAME:SEVERITY`` (severity 1-5, default 3) to a checked pair."""
    name, _, severity = text.partition(":")
    corruptions.get(name)
    try:
        level = int(severity or 3)
    except ValueError:
        raise ValueError(f"The severity in '{text}' must be a whole number from 1 to 5.") from None
    corruptions.check_severity(level)
    return name, level


@dataclass
class Outcome:
    """What a model said about every decodable clip of a data set (raw material of reports and fits).

    ``y``: (N,) class indices; ``probs`` / ``logits``: head -> (N, K) (probabilities with the model's
    temperatures, raw logits); ``answered``: head -> (N,) bool (False where the head abstained).
    """

    y: np.ndarray
    probs: dict[str, np.ndarray]
    logits: dict[str, np.ndarray]
    answered: dict[str, np.ndarray]
    skipped: list[dict]
    unknown_labels: dict[str, int]
    seconds: float


def predict_dataset(predictor: Predictor, dataset: Dataset, *, batch_size: int = 16, progress: bool = True,
                    corrupt: list[tuple[str, int]] = (), seed: int = 0, workers: int | None = None,
                    backend: str = "local", address: str | None = None) -> Outcome:
    """Predict the data set's single-label clips (timeline clips are left out); see :func:`evaluate`.

    Raises
    ------
    DatasetError
        No single-label clip, none whose label the model knows, or none that can be decoded.
    """
    every = dataset.standard().samples
    if not every:
        raise DatasetError("The data set has no single-label clips to evaluate.")
    samples, unknown_labels = split_by_classes(every, predictor.classes)
    if not samples:
        raise DatasetError(f"None of the data set's labels ({', '.join(unknown_labels)}) is a class of the model "
                           f"({', '.join(predictor.classes)}); evaluate it on a data set of its classes.")
    index = {c: i for i, c in enumerate(predictor.classes)}
    probs, logits, answered = {h: [] for h in HEADS}, {h: [] for h in HEADS}, {h: [] for h in HEADS}
    started = time.perf_counter()
    if backend not in ("local", "ray"):
        raise ValueError(f"There is no backend '{backend}'; choose local or ray.")
    if backend == "ray":  # each batch comes back predicted: Predictions in the clips' places
        from core.experiments.ray_backend import predict_batches

        batches = predict_batches(predictor, [s.source for s in samples], steps=list(corrupt), seed=seed,
                                  batch_size=batch_size, address=address, workers=workers)
    else:
        workers = default_workers(predictor.model) if workers is None else workers
        batches = clip_batches([s.source for s in samples], steps=list(corrupt), seed=seed, batch_size=batch_size,
                               workers=workers, decode=decoded_file)
    scored, skipped = [], []  # the samples decoded and predicted; those that could not be decoded
    for batch in tqdm(batches, desc="evaluate", disable=not progress, file=sys.stderr):
        clips = []
        for item, sample in zip(batch, samples[len(scored) + len(skipped):]):
            if isinstance(item, Unreadable):
                skipped.append({**item.to_dict(), "label": sample.label})
            else:
                clips.append(item)
                scored.append(sample)
        for pred in (clips if backend == "ray" else predictor.predict_batch(clips)) if clips else ():
            for h in HEADS:
                probs[h].append(pred.probs[h])
                logits[h].append(pred.logits[h])
                answered[h].append(pred.answered(h))
    if not scored:
        raise DatasetError(f"None of the {len(samples)} clips could be decoded; the first, "
                           f"'{skipped[0]['path']}': {skipped[0]['reason']}")
    # clips the data set's index files name but that could not be loaded are reported with them
    listed = [u.to_dict() for u in dataset.skipped if u.label is None or u.label in index]
    return Outcome(np.array([index[s.label] for s in scored]), {h: np.stack(probs[h]) for h in HEADS},
                   {h: np.stack(logits[h]) for h in HEADS}, {h: np.array(answered[h], bool) for h in HEADS},
                   listed + skipped, unknown_labels, time.perf_counter() - started)


def evaluate(predictor: Predictor, dataset: Dataset, *, batch_size: int = 16, progress: bool = True,
             corrupt: list[tuple[str, int]] = (), seed: int = 0, workers: int | None = None,
             backend: str = "local", address: str | None = None) -> dict:
    """Per-head reports over the data set's single-label clips (timeline clips are left out).

    A head that abstains on a clip (no input: :func:`core.models.head_answers`) is not scored on it:
    each head's accuracy, F1 and calibration scores (ECE, Brier, NLL: :mod:`core.trust.calibration`) count
    the clips it answered, and ``coverage`` is the share it answered. ``corrupt`` applies those corruptions
    to every clip before predicting, seeded by the one rule (:func:`core.corruptions.clip_seed` of ``seed``
    and the clip's file name), as sweeps do. Clips whose label the model does not know are not scored (a
    model cannot be right about a class it lacks): they are counted per label in ``unknown_labels``. A file
    that cannot be decoded is left out and the run goes on: ``skipped`` lists each (``path``, ``label``,
    ``reason``: one sentence; a pair's ``path`` is ``"video + audio"``) and ``n_skipped`` counts them, with the
    clips the data set's index files name that could not be loaded (``from_index``: missing on disk, an unknown
    label; the reason names the file and line); ``n`` counts the clips scored. ``layout`` and ``fold`` say how
    the data set was read. ``workers``:
    DataLoader processes that decode and corrupt (None: :func:`core.inference.default_workers`, none on
    the CPU). ``backend="ray"`` decodes and corrupts in Ray CPU tasks and predicts in model actors (``workers``
    of them; :func:`core.experiments.ray_backend.predict_batches`) on a local Ray or the cluster at
    ``address``, for large data sets: the same predictions, so the same report.

    Raises
    ------
    DatasetError
        No single-label clip, none whose label the model knows, or none that can be decoded.
    """
    out = predict_dataset(predictor, dataset, batch_size=batch_size, progress=progress, corrupt=corrupt,
                          seed=seed, workers=workers, backend=backend, address=address)
    reports = {}
    for h in HEADS:
        keep = out.answered[h]
        reports[h] = {**classification_report(out.y[keep], out.probs[h][keep], predictor.classes),
                      **calibration_scores(out.y[keep], out.probs[h][keep]), "coverage": float(keep.mean())}
    return {
        "n": int(out.y.size),
        "accuracy": {h: reports[h]["accuracy"] for h in HEADS},
        "coverage": {h: reports[h]["coverage"] for h in HEADS},
        "macro_f1": {h: reports[h]["macro_f1"] for h in HEADS},
        "ece": {h: reports[h]["ece"] for h in HEADS},
        "heads": reports,
        "corruptions": [f"{n}:{k}" for n, k in corrupt],
        "unknown_labels": out.unknown_labels,
        "skipped": out.skipped,
        "n_skipped": len(out.skipped),
        "n_timeline_left_out": len(dataset.samples) - len(dataset.standard().samples),
        "layout": dataset.layout,
        "fold": dataset.fold,
        "head_kinds": {h: predictor.model.head_kind(h) for h in HEADS},
        "temperatures": dict(predictor.model.temperatures) or None,
        "seconds": round(out.seconds, 2),
    }


def calibrate(predictor: Predictor, dataset: Dataset, *, data: str = "", split: str | None = None,
              corrupted: bool = False, seed: int = 0, workers: int | None = None, progress: bool = True,
              backend: str = "local", address: str | None = None) -> Path:
    """Fit one temperature per head on ``dataset`` (raw logits, answered clips only) and write
    ``calibration.json`` into the model's folder; with ``corrupted`` also a fit on the clean clips plus the
    everyday corruptions at severity 3 (Tomani et al., CVPR 2021), stored for comparison. Returns the path.

    Raises DatasetError as :func:`evaluate`, ValueError when the model has no folder to write into."""
    model = predictor.model
    if model.trust_folder is None:
        raise ValueError("This model was not loaded from a folder, so there is nowhere to write its calibration.")
    on = {"workers": workers, "backend": backend, "address": address}
    clean = predict_dataset(predictor, dataset, progress=progress, seed=seed, **on)
    extra = None
    if corrupted:
        runs = [clean] + [predict_dataset(predictor, dataset, progress=progress, seed=seed, **on,
                                          corrupt=[(name, 3 if 3 in corruptions.levels(name) else 1)])
                          for name in corruptions.EVERYDAY.values()]
        extra = {h: (np.concatenate([r.logits[h][r.answered[h]] for r in runs]),
                     np.concatenate([r.y[r.answered[h]] for r in runs])) for h in HEADS}
    fitted = fit_calibration(clean.logits, clean.y, clean.answered, fingerprint=model.fingerprint,
                             fitted_on={"data": data, "split": split, "n": int(clean.y.size),
                                        "corrupted": sorted(corruptions.EVERYDAY.values()) if corrupted else []},
                             corrupted=extra)
    return fitted.save(model.trust_folder, model.trust_prefix)


def _no_nan(value):
    """``value`` with every NaN (a score over no clips, e.g. a head that abstained throughout) as None (JSON null)."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _phase_one_recipe(training: dict) -> str:
    """Card lines for the phase-I options that are set (oversampling, confusable classes)."""
    lines = ""
    if training.get("phase1_repeat"):
        lines += "- Phase I repeats per epoch: " + ", ".join(
            f"{c} x{n}" for c, n in training["phase1_repeat"].items()) + "\n"
    for branch, groups in (training.get("phase1_confusable") or {}).items():
        lines += (f"- Phase I: the {branch} head shares one target within " + "; ".join(" / ".join(g) for g in groups)
                  + " (classes it cannot tell apart by design; the first-listed is its top class)\n")
    return lines


def model_card(metadata: dict, result: dict, data: str, split: str | None = None) -> str:
    """Markdown model card from the checkpoint's metadata and an evaluation result."""
    model, training, prov = metadata["model"], metadata.get("training_config", {}), metadata.get("provenance", {})
    rows = "\n".join(
        f"| {h} | {_pct(result['heads'][h]['accuracy'])} | {_pct(result['heads'][h]['macro_precision'])} | "
        f"{_pct(result['heads'][h]['macro_recall'])} | {_pct(result['heads'][h]['macro_f1'])} | "
        f"{result['heads'][h]['ece']:.3f} |" for h in HEADS)
    per_class = "\n".join(
        f"| {c} | " + " | ".join(_pct(result['heads'][h]['per_class_accuracy'].get(c, float('nan'))) for h in HEADS) + " |"
        for c in metadata["classes"])
    return f"""# Model card: {training.get('name', Path(data).name)}

Generated by `python -m core.evaluate --checkpoint <this folder> --data {data}{f" --split {split}" if split else ""} --card`
from the stored weights; do not edit by hand.

## Model
- Video encoder: `{model['video_encoder']}`; audio encoder: `{model['audio_encoder']}`; fusion: `{model['fusion']}`
- Embedding size {model['embed_dim']}, classifier FC {model['hidden']} + ReLU + dropout {model['dropout']}
- Parameters: {metadata.get('parameter_count', 0):,}; stored as {metadata.get('dtype')}
- Input: {metadata['preprocessing']['video']['num_frames']} frames at {metadata['preprocessing']['video']['size']} px; \
audio {metadata['preprocessing']['audio']['seconds']} s at {metadata['preprocessing']['audio']['sr']} Hz \
({metadata['preprocessing']['audio']['representation'] or 'raw waveform'})

## Training
- Two phases: unimodal branches (up to {training.get('phase1_epochs')} epochs), then fusion with frozen encoders \
(up to {training.get('phase2_epochs')} epochs); seed {training.get('seed')}
- Modality dropout {training.get('modality_dropout')}, corruption augmentation probability {training.get('corruption_prob')}, \
mixup alpha {training.get('mixup_alpha')}, class weighting {training.get('class_weighting')}
{_phase_one_recipe(training)}- Data: `{prov.get('data')}` (manifest sha256 {prov.get('manifest_sha256')}), {prov.get('train_examples')} training examples

## Evaluation on `{data}`{f", split `{split}`" if split else ""} ({result['n']} clips)
{"" if not result.get("skipped") else chr(10) + unreadable_sentence(result["skipped"]) + chr(10)}
| head | accuracy | macro precision | macro recall | macro F1 | ECE |
|---|---|---|---|---|---|
{rows}

Per-class accuracy:

| class | audio | video | fused |
|---|---|---|---|
{per_class}

## Intended use and limits
Trained only on the synthetic factory-av benchmark (see `shared/specs/factory-av.md`): by design video alone
cannot exceed 57.1 % and audio alone 85.7 % there. It is a demonstration model for robustness experiments,
not a monitor for real machines.
"""


def write_card(path: str | Path, result: dict, data: str, split: str | None = None) -> Path:
    """Write MODEL_CARD.md and store the evaluation in the checkpoint's metadata."""
    folder = Path(path)
    metadata = update_metadata(folder, evaluation={"data": data, "split": split,
                                                   **{k: result[k] for k in ("n", "accuracy", "macro_f1")}})
    card = folder / CARD_FILE
    card.write_text(model_card(metadata, result, data, split), encoding="utf-8")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", "--checkpoint", dest="model", metavar="SPEC",
                        help="checkpoint folder, or model file / folder with its avlab.json sidecar "
                             "(default: the shipped default); --checkpoint is an alias")
    parser.add_argument("--device", default="auto", help="auto (the GPU when there is one; default), cpu, cuda, mps")
    add_data_arguments(parser, data_required=True)
    parser.add_argument("--split", help="only this split of the data set (train, val, test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--corruption", action="append", default=[], metavar="NAME[:SEVERITY]",
                        help="corrupt every clip first (repeat to stack), e.g. mute or gaussian_blur:5")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corruptions")
    parser.add_argument("--workers", type=int, help="processes that decode and corrupt (default: 0 on the CPU, "
                                                     "up to 4 with a GPU); with --backend ray, model actors")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local (default) or ray: decode in Ray CPU tasks, predict in model actors (docs/RAY.md)")
    parser.add_argument("--address", help="with --backend ray: auto, ray://HOST:10001 or HOST:PORT (default: a local "
                                          "Ray)")
    parser.add_argument("--card", action="store_true", help="write the checkpoint's MODEL_CARD.md (clean data only)")
    parser.add_argument("--calibrate", action="store_true",
                        help="fit one temperature per head on these clips (use the validation split) and write "
                             "calibration.json beside the model")
    parser.add_argument("--calibrate-corrupted", action="store_true",
                        help="with --calibrate: also fit on the clips under the everyday corruptions at severity 3 "
                             "(stored beside the clean fit for comparison, not applied)")
    args = parser.parse_args(argv)
    try:
        corrupt = [parse_corruption(c) for c in args.corruption]
        if args.card and corrupt:
            raise ValueError("A model card describes clean data; leave out --corruption with --card.")
        predictor = Predictor.load(args.model, device=args.device)
        if args.card and not is_checkpoint(Path(predictor.model.source or "")):
            raise ValueError("--card writes the model card of an avlab checkpoint folder; this model is a "
                             f"{predictor.model.format} model.")
        if args.calibrate:
            if corrupt or args.card:
                raise ValueError("--calibrate fits on clean clips; leave out --corruption and --card.")
            path = calibrate(predictor, load_dataset(args.data, args.layout, args.split, fold=args.fold),
                             data=args.data, split=args.split,
                             corrupted=args.calibrate_corrupted, seed=args.seed, workers=args.workers,
                             progress=not args.json, backend=args.backend, address=args.address)
            predictor = Predictor.load(args.model, device=args.device)  # with the temperatures just written
            fitted, _ = Calibration.load(path.parent, prefix=path.name[:-len(CALIBRATION_FILE)])
            clean = ", ".join(f"{h} {fitted.temperatures[h]:.3f}" for h in HEADS if h in fitted.temperatures)
            both = ", ".join(f"{h} {fitted.corrupted[h]:.3f}" for h in HEADS if h in fitted.corrupted)
            print(f"wrote {path}: temperatures {clean} (clean fit, applied)"
                  + (f"; fitted on clean and corrupted clips: {both} (for comparison)" if both else ""), file=sys.stderr)
        result = evaluate(predictor, load_dataset(args.data, args.layout, args.split, fold=args.fold),
                          progress=not args.json,
                          corrupt=corrupt, seed=args.seed, workers=args.workers, backend=args.backend,
                          address=args.address)
        if args.card:
            write_card(predictor.model.source, result, args.data, args.split)
    except (MediaError, ModelError, DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = predictor.model
    if args.json:
        print(json.dumps(_no_nan({"checkpoint": str(model.source), "model": model.describe(), "data": args.data,
                                  "split": args.split, **result}), allow_nan=False))
    else:
        layout = result["layout"] + (f", fold {result['fold']}" if result["fold"] is not None else "")
        print(f"{result['n']} clips from {args.data} ({layout}) with {model.name} ({model.format})"
              + (f" under {', '.join(result['corruptions'])}" if corrupt else ""))
        for h in HEADS:
            kind = "  (by ablation)" if result["head_kinds"][h] == "ablation" else ""
            if not result["coverage"][h]:
                print(f"  {h:<6} no input on any clip: the head abstained throughout{kind}")
                continue
            covered = f"   answered {_pct(result['coverage'][h])}" if result["coverage"][h] < 1 else ""
            print(f"  {h:<6} accuracy {_pct(result['accuracy'][h]):>8}   macro-F1 {_pct(result['macro_f1'][h]):>8}"
                  f"   ECE {result['ece'][h]:.3f}{covered}{kind}")
        for label, count in result["unknown_labels"].items():
            print(f"  not scored: {count} clip(s) labelled '{label}', a class the model does not have")
        if result["skipped"]:
            print(f"  not scored: {unreadable_sentence(result['skipped'])}")
        if result["n_timeline_left_out"]:
            print(f"  not scored: {result['n_timeline_left_out']} timeline clip(s) whose label changes over time "
                  "(see them in core.predict or the Predict page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
