"""What each branch is asked to learn: oversampling, confusable-class targets, class weights, losses."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.training.data import Example

BRANCHES = {"audio": ("audio_encoder", "audio_proj", "audio_head"),
            "video": ("video_encoder", "video_proj", "video_head")}


def repeat_classes(examples: list[Example], times: list[int]) -> list[Example]:
    """Each example ``times[its label]`` times: oversampling for phase I (``times`` from ``repeat_counts``).

    factory-av's video branch must learn the valve lever from valve_open against two
    closed-looking classes; repeating the valve clips (valve_open twice as often) gives it
    balanced, more frequent evidence (docs/diagnostics/README.md).
    """
    return [e for e in examples for _ in range(times[e.label])]


def repeat_counts(classes: tuple[str, ...], repeat: dict) -> list[int]:
    """Per class, how many times its examples appear per phase-I epoch; a bad ``phase1_repeat`` is refused."""
    if not isinstance(repeat, dict):
        raise ValueError("phase1_repeat must map class names to whole numbers of at least 1.")
    unknown = set(repeat) - set(classes)
    if unknown:
        raise ValueError(f"phase1_repeat names class(es) {sorted(unknown)} that the data set does not have.")
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in repeat.values()):
        raise ValueError("phase1_repeat counts must be whole numbers of at least 1.")
    return [repeat.get(c, 1) for c in classes]


TIE_BREAK = 0.2  # extra target of the first class of a group of confusable classes


def confusable_targets(classes: tuple[str, ...], groups) -> torch.Tensor:
    """(K, K) matrix whose row y spreads class y's target over y's group.

    A branch that cannot tell some classes apart by design (factory-av's video cannot
    hear a leak; its audio cannot see the lever) gets one target for all of them, so
    its phase-I loss stops pulling its embedding towards differences it cannot see
    (docs/diagnostics/README.md). One-hot targets times this matrix: the spread targets.
    The first class of a group gets ``TIE_BREAK`` more than the others, so that the head's
    top class is that one every time rather than a coin flip per clip.
    """
    spread = torch.eye(len(classes))
    seen: set[str] = set()
    for group in groups or ():
        group = list(group)
        unknown = set(group) - set(classes)
        if unknown:
            raise ValueError(f"phase1_confusable names class(es) {sorted(unknown)} that the data set does not have.")
        if seen & set(group) or len(set(group)) != len(group):
            raise ValueError("phase1_confusable lists a class in more than one group of a branch.")
        seen |= set(group)
        idx = [classes.index(c) for c in group]
        for i in idx:
            spread[i] = 0.0
            spread[i, idx] = (1.0 - TIE_BREAK) / len(idx)
            spread[i, idx[0]] += TIE_BREAK
    return spread


def confusable_for_branches(classes: tuple[str, ...], confusable: dict) -> dict[str, torch.Tensor]:
    if not isinstance(confusable, dict):
        raise ValueError("phase1_confusable must map a branch (audio, video) to lists of classes.")
    unknown = set(confusable) - set(BRANCHES)
    if unknown:
        raise ValueError(f"phase1_confusable has key(s) {sorted(unknown)}; use the branches {list(BRANCHES)}.")
    return {b: confusable_targets(classes, confusable.get(b)) for b in BRANCHES}


def class_weights(examples: list[Example], k: int, enabled: bool) -> torch.Tensor | None:
    if not enabled:
        return None
    counts = np.bincount([e.label for e in examples], minlength=k).astype(float)
    return torch.tensor(counts.sum() / (k * np.maximum(counts, 1)), dtype=torch.float32)


def soft_cross_entropy(logits, targets, weight=None) -> torch.Tensor:
    """Cross-entropy against soft targets (mixup); ``weight`` per class."""
    logp = F.log_softmax(logits, dim=1)  # (B, K)
    if weight is not None:
        targets = targets * weight[None, :]
    return -(targets * logp).sum(dim=1).mean()


def mix(x: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * x + (1 - lam) * x[perm]


def masked_loss(logits, targets, mask, weight):
    if not bool(mask.any()):
        return logits.sum() * 0.0
    return soft_cross_entropy(logits[mask], targets[mask], weight)
