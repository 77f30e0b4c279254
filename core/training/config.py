"""The training config: everything one run depends on, stored in the checkpoint."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPLITS = {"train": "train", "val": "val", "test": "test"}


@dataclass(frozen=True)
class TrainingConfig:
    """Everything one training run depends on; stored in the checkpoint."""

    name: str
    model: dict
    data: str = "data/factory-av"
    layout: str | None = None  # the data set's layout (core.datasets.LAYOUTS); None: recognised from its files
    fold: int | None = None  # the official fold, where the layout has folds (UCF101 1-3)
    data_classes: tuple[str, ...] | str | None = None  # a class subset (a list, or a text file of one class a line)
    splits: dict = field(default_factory=lambda: dict(SPLITS))  # train/val/test -> the data set's split names
    generate: dict = field(default_factory=lambda: {"train": 100, "val": 30, "test": 30, "long_train": 14})
    out: str = ""
    seed: int = 0
    batch_size: int = 32
    phase1_epochs: int = 25
    phase2_epochs: int = 15
    lr: float = 2e-3
    fusion_lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    class_weighting: bool = False
    mixup_alpha: float = 0.0
    gain_jitter_db: float = 6.0
    flip: bool = True
    window_stride: float = 1.25
    modality_dropout: float = 0.0
    corruption_prob: float = 0.0
    corruption_names: tuple[str, ...] = ()
    phase1_repeat: dict = field(default_factory=dict)  # class -> times its examples appear per phase-I epoch
    phase1_confusable: dict = field(default_factory=dict)  # branch -> groups of classes it cannot tell apart
    augment_copies: int = 4
    dtype: str = "float16"
    threads: int = 2
    phase1_cache: str = "runs/phase1"

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainingConfig":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"The training config {path} is not a mapping of keys to values.")
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"The training config {path} has unknown key(s) {sorted(unknown)}.")
        missing = {"name", "model"} - set(raw)
        if missing:
            raise ValueError(f"The training config {path} lacks the key(s) {sorted(missing)}.")
        if "corruption_names" in raw:
            raw["corruption_names"] = tuple(raw["corruption_names"])
        if isinstance(raw.get("data_classes"), list):
            raw["data_classes"] = tuple(raw["data_classes"])
        splits = raw.get("splits") or {}
        if not isinstance(splits, dict) or set(splits) - set(SPLITS):
            raise ValueError(f"The training config {path}: splits maps train, val and test to the data set's split "
                             f"names (e.g. {{val: test}} for UCF101, which has no validation split); got {splits!r}.")
        raw["splits"] = {**SPLITS, **{k: str(v) for k, v in splits.items()}}
        return cls(**raw)

    @property
    def out_dir(self) -> Path:
        return ROOT / (self.out or f"checkpoints/{self.name}")  # an absolute ``out`` stays as it is

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["corruption_names"] = list(self.corruption_names)
        if isinstance(self.data_classes, tuple):
            d["data_classes"] = list(self.data_classes)
        return d
