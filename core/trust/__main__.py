"""Fit out-of-distribution detectors: ``python -m core.trust fit (--model SPEC | --shipped) --data DIR``.

Class statistics come from the ``train`` split of DIR, standardisation and the 95th-percentile
threshold from its ``val`` split; the detector is written beside the model (``ood.npz`` in a
checkpoint folder or a folder with ``avlab.json``, ``NAME.ood.npz`` beside ``NAME.avlab.json``) with the
model's fingerprint.
``--shipped`` fits every checkpoint under ``checkpoints/``, decoding each clip once for all.
"""
from __future__ import annotations

import argparse
import sys

from core.datasets import DatasetError, add_data_arguments, load_dataset
from core.models.interface import ModelError, first_line
from core.trust.ood import METHODS, OODError, features, fit_features, location


def _progress(label: str):
    def report(done: int, total: int) -> None:
        if done == total or done % 64 == 0:
            print(f"  {label}: {done}/{total} clips", file=sys.stderr, flush=True)
    return report


def fit_command(args) -> int:
    from core.inference import Predictor
    from core.zoo import checkpoint_dirs

    specs = [str(p) for p in checkpoint_dirs()] if args.shipped else [args.model]
    try:
        train = load_dataset(args.data, args.layout, args.train_split, fold=args.fold).standard()
        val = load_dataset(args.data, args.layout, args.val_split, fold=args.fold).standard()
        print(f"{args.data}: {train.description}, {len(train)} {args.train_split} and {len(val)} {args.val_split} "
              "clips", file=sys.stderr)
        predictors = [Predictor.load(s, device=args.device) for s in specs]
    except (DatasetError, ModelError) as exc:
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 2
    tr = features(predictors, [s.source for s in train.samples], labels=[s.label for s in train.samples],
                  progress=_progress(args.train_split))
    va = features(predictors, [s.source for s in val.samples], labels=[s.label for s in val.samples],
                  progress=_progress(args.val_split))
    for spec, predictor, t, v in zip(specs, predictors, tr, va):
        try:
            detector = fit_features(predictor.model, t, v, method=args.method, fitted={
                "data": args.data, "layout": train.description, "train_split": args.train_split,
                "val_split": args.val_split})
        except OODError as exc:
            print(f"error: {predictor.model.name}: {first_line(exc)}", file=sys.stderr)
            return 2
        path = detector.save(*location(predictor.model))
        print(f"{predictor.model.name:<28} {detector.method:<20} threshold {detector.threshold:6.3f}  "
              f"{path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.trust", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit", help="fit a model's out-of-distribution detector and write it beside the model")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="model SPEC (checkpoint folder, model file or folder with a sidecar)")
    which.add_argument("--shipped", action="store_true", help="every checkpoint under checkpoints/")
    add_data_arguments(p, data_required=True, data_help="data set with train and val splits (any layout "
                                                        "core.datasets reads; see --layout)")
    p.add_argument("--train-split", default="train", help="split for the class statistics (default: train)")
    p.add_argument("--val-split", default="val", help="split for standardisation and threshold (default: val)")
    p.add_argument("--method", choices=list(METHODS), default=None,
                   help="default: mahalanobis, or energy for a model without embeddings")
    p.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, mps")
    args = parser.parse_args(argv)
    return fit_command(args)


if __name__ == "__main__":
    sys.exit(main())
