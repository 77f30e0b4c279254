"""Calibration of a model's heads on clean and corrupted clips, without and with its temperatures.

    python bench/calibration.py [--model SPEC] --data DIR [--split test] [--severity 3] [--per-class N]
                                [--corruptions all|a,b] [--seed 0]

For clean clips and every corruption (at ``--severity``, single-level ones at 1), predicts the clips once
through the one inference path and scores the raw logits twice: uncalibrated (T = 1) and with the
temperatures in the model's calibration.json (temperature scaling, fitted on the validation split). Prints
ECE per head (15 bins, on the clips each head answered), the fused Brier score and NLL, and the means over
the corruptions: the figures in docs/trust.md come from this script.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import corruptions  # noqa: E402
from core.datasets import Dataset, load_dataset  # noqa: E402
from core.evaluate import predict_dataset  # noqa: E402
from core.inference import HEADS, Predictor  # noqa: E402
from core.trust.calibration import calibration_scores, softmax  # noqa: E402


def limited(dataset: Dataset, per_class: int | None) -> Dataset:
    """At most ``per_class`` single-label clips of each class, in manifest order."""
    if not per_class:
        return dataset
    kept, seen = [], {}
    for s in dataset.standard().samples:
        if seen.get(s.label, 0) < per_class:
            kept.append(s)
            seen[s.label] = seen.get(s.label, 0) + 1
    return Dataset(dataset.root, tuple(kept), dataset.classes)


def scores(outcome, temperatures: dict) -> dict:
    """head -> {"uncalibrated": {...}, "calibrated": {...}} on the clips the head answered."""
    out = {}
    for h in HEADS:
        keep = outcome.answered[h]
        z, y = outcome.logits[h][keep], outcome.y[keep]
        out[h] = {"uncalibrated": calibration_scores(y, softmax(z)),
                  "calibrated": calibration_scores(y, softmax(z, temperatures.get(h, 1.0))),
                  "coverage": float(keep.mean())}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model SPEC (default: the shipped default)")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--per-class", type=int, help="at most this many clips per class")
    parser.add_argument("--corruptions", default="all", help="all, or a comma-separated list")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corrupted-fit", action="store_true",
                        help="score with the temperatures fitted on clean + corrupted clips (calibration.json's "
                             "'corrupted', Tomani et al. 2021) instead of the applied clean fit")
    args = parser.parse_args()
    predictor = Predictor.load(args.model, device="cpu")
    temperatures = dict(predictor.model.temperatures)
    if args.corrupted_fit:
        from core.trust.calibration import Calibration

        model = predictor.model
        stored, _ = Calibration.load(model.trust_folder, model.fingerprint, prefix=model.trust_prefix)
        if stored is None or not stored.corrupted:
            parser.error("the model has no fit on corrupted clips (core.evaluate --calibrate --calibrate-corrupted)")
        temperatures = dict(stored.corrupted)
    dataset = limited(load_dataset(args.data, split=args.split), args.per_class)
    names = list(corruptions.names()) if args.corruptions == "all" else args.corruptions.split(",")
    print(f"{predictor.model.name}: temperatures {temperatures or 'none (uncalibrated)'}; "
          f"{len(dataset.standard())} clips of {args.data} ({args.split}); severity {args.severity}")
    print("| condition | fused ECE T=1 | fused ECE calibrated | audio ECE T=1 → cal. | video ECE T=1 → cal. "
          "| fused Brier T=1 → cal. | fused NLL T=1 → cal. |")
    print("|---|---|---|---|---|---|---|")
    rows = {}
    for name in ["clean", *names]:
        steps = [] if name == "clean" else [(name, args.severity if args.severity in corruptions.levels(name) else 1)]
        rows[name] = scores(predict_dataset(predictor, dataset, progress=False, corrupt=steps, seed=args.seed),
                            temperatures)
        print(_row(name, rows[name]), flush=True)
    corrupted = [rows[n] for n in names]
    mean = {h: {kind: {k: float(np.nanmean([r[h][kind][k] for r in corrupted])) for k in ("ece", "brier", "nll")}
                for kind in ("uncalibrated", "calibrated")} for h in HEADS}
    print(_row(f"mean over {len(names)} corruptions", mean))
    return 0


def _row(name: str, r: dict) -> str:
    def pair(h, k):
        u, c = r[h]["uncalibrated"][k], r[h]["calibrated"][k]
        return "n/a (no input)" if u != u else f"{u:.3f} → {c:.3f}"

    f = r["fused"]
    return (f"| {name} | {f['uncalibrated']['ece']:.3f} | {f['calibrated']['ece']:.3f} | {pair('audio', 'ece')} | "
            f"{pair('video', 'ece')} | {pair('fused', 'brier')} | {pair('fused', 'nll')} |")


if __name__ == "__main__":
    sys.exit(main())
