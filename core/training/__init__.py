"""Two-phase training of an AV fusion model; ``python -m core.training --config FILE``.

Phase I trains each encoder with its own head on its own modality (both branches in
one loop, each with its own early stopping). Phase II freezes the encoders and trains
the fusion and the fused head. Options: class weighting, mixup, sliding-window
augmentation of long clips, modality dropout and corruption augmentation drawn from
the corruption registry (the robust variants).

Layout: :mod:`.config` (:class:`TrainingConfig`), :mod:`.data` (examples, batches, augmentation),
:mod:`.targets` (oversampling, confusable-class targets, losses), :mod:`.phases` (phase I and II,
validation), :mod:`.run` (:func:`train`, :func:`main`).
"""
from core.training.config import ROOT, TrainingConfig
from core.training.data import Augmenter, Example, batches, cached_examples, ensure_data, examples_for, make_batch
from core.training.phases import (
    EmbeddingBank, build_bank, head_reports, phase_one_cached, phase_one_key, predict_examples, train_phase_one,
    train_phase_two,
)
from core.training.run import main, train
from core.training.targets import (
    BRANCHES, TIE_BREAK, confusable_targets, repeat_classes, repeat_counts, soft_cross_entropy,
)

__all__ = ["ROOT", "TrainingConfig", "Augmenter", "Example", "batches", "cached_examples", "ensure_data",
           "examples_for", "make_batch", "EmbeddingBank", "build_bank", "head_reports", "phase_one_cached",
           "phase_one_key", "predict_examples", "train_phase_one", "train_phase_two", "main", "train", "BRANCHES",
           "TIE_BREAK", "confusable_targets", "repeat_classes", "repeat_counts", "soft_cross_entropy"]
