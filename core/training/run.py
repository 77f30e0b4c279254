"""A whole training run and its command line."""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from core.datasets import LAYOUTS, Dataset
from core.models import AVModel, ModelConfig, resolve_device, save_checkpoint
from core.training.config import TrainingConfig
from core.training.data import cached_examples, ensure_data, split_for
from core.training.phases import head_reports, phase_one_cached, train_phase_two
from core.training.targets import confusable_for_branches, repeat_classes, repeat_counts


def manifest_digest(dataset: Dataset) -> str:
    """A digest of the data set's index: its ``manifest.csv``, else its clips (name, label, split)."""
    manifest = dataset.root / "manifest.csv"
    if dataset.layout == "manifest" and manifest.is_file():
        return hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    listing = "\n".join(f"{s.name},{s.label},{s.split}" for s in dataset.samples)
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


def train(config: TrainingConfig, *, log=print, device: str = "cpu") -> Path:
    """Train, evaluate on the test split, save the checkpoint folder; returns its path.

    ``device``: "cpu" (default: the shipped checkpoints are trained there), "auto", "cuda" or "mps"; the
    model, its batches and the embedding banks live there, the checkpoint is saved from the CPU.
    Raises ValueError (DatasetError, MediaError, ModelError) with one sentence for a bad config or data.
    """
    target = resolve_device(device)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    dataset = ensure_data(config)
    classes = dataset.classes
    spread = confusable_for_branches(classes, config.phase1_confusable)  # a bad config fails before decoding
    repeat_times = repeat_counts(classes, config.phase1_repeat)
    model_config = ModelConfig.from_dict({**config.model, "num_classes": len(classes)})
    model = AVModel(model_config).to(target)
    num_frames = model.preprocessing[0].num_frames
    started = time.perf_counter()
    parts = {role: split_for(dataset, config, role) for role in ("train", "val", "test")}
    train_set = list(cached_examples(parts["train"].samples, classes, num_frames, config.window_stride, "train"))
    val_set = list(cached_examples(parts["val"].standard().samples, classes, num_frames, None, "val"))
    test_set = list(cached_examples(parts["test"].standard().samples, classes, num_frames, None, "test"))
    log(f"data: {len(train_set)} train examples, {len(val_set)} val, {len(test_set)} test "
        f"({time.perf_counter() - started:.0f} s to decode)")
    digest = manifest_digest(dataset)
    phase1 = phase_one_cached(model, config, repeat_classes(train_set, repeat_times), val_set,
                              digest, log, spread)
    torch.manual_seed(config.seed + 2)
    phase2 = train_phase_two(model, config, train_set, val_set, np.random.default_rng([config.seed, 2]), log)
    metrics = {"test": head_reports(model, test_set, classes), "val": head_reports(model, val_set, classes),
               "phase1": phase1, "phase2": phase2, "train_seconds": round(time.perf_counter() - started, 1)}
    synthetic = dataset.layout == "manifest" and all(s.seed is not None for s in dataset.samples)
    provenance = {"data": config.data, "manifest_sha256": digest, "layout": dataset.description,
                  "generator": "core.synth (factory-av)" if synthetic else dataset.layout,
                  "train_examples": len(train_set),
                  "val_clips": len(val_set), "test_clips": len(test_set), "seed": config.seed,
                  "torch": torch.__version__}
    out = config.out_dir
    save_checkpoint(out, model, classes=list(classes), training_config=config.to_dict(), metrics=metrics,
                    provenance=provenance, dtype=config.dtype)
    from core.evaluate import calibrate, evaluate, write_card
    from core.inference import Predictor

    # temperature scaling on the validation split, stored beside the weights; the card shows calibrated numbers
    splits = config.splits
    log(f"calibration: {calibrate(Predictor.load(out), parts['val'], data=config.data, split=splits['val'], progress=False)}")
    write_card(out, evaluate(Predictor.load(out), parts["test"], progress=False), config.data, splits["test"])
    test = metrics["test"]
    log(f"test accuracy: audio {test['audio']['accuracy']:.3f}  video {test['video']['accuracy']:.3f}  "
        f"fused {test['fused']['accuracy']:.3f}  -> {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.training", description="Two-phase training of an AV fusion model.")
    parser.add_argument("--config", required=True, action="append",
                        help="YAML training config (repeat to train several in turn)")
    parser.add_argument("--out", help="checkpoint folder (overrides the config; only with one --config)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto (the GPU when there is one), cuda, mps")
    parser.add_argument("--layout", choices=list(LAYOUTS), metavar="NAME",
                        help="read the config's data folder as this layout (overrides the config's layout; "
                             f"{', '.join(LAYOUTS)})")
    parser.add_argument("--fold", type=int, metavar="N", help="the official fold (overrides the config's fold)")
    args = parser.parse_args(argv)
    try:
        configs = [TrainingConfig.from_file(path) for path in args.config]
        for config in configs:
            if args.out:
                config = dataclasses.replace(config, out=str(Path(args.out).resolve()))
            if args.layout or args.fold is not None:
                config = dataclasses.replace(config, layout=args.layout or config.layout,
                                             fold=config.fold if args.fold is None else args.fold)
            train(config, device=args.device)
    except (ValueError, OSError, yaml.YAMLError) as exc:  # DatasetError, MediaError, CheckpointError included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
