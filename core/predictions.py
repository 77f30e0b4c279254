"""What a prediction is: each head's probabilities for a clip or a window, and what to trust in them.

Made by :mod:`core.inference` (the one inference path) and importable from there as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.metrics import head_answers
from core.models.interface import HEADS

WINDOW_S = 5.0
"""Seconds of clip a model sees at once; shorter clips are padded, longer ones cut into windows."""


@dataclass(frozen=True)
class Prediction:
    """Class probabilities of each head for one clip (or window).

    ``probs``: head -> (K,) float; ``weights``: (audio, video) modality weights where the model
    has them; ``present``: modality -> seen by the model (not missing, muted or black);
    ``head_kinds``: head -> "native" or "ablation" (the whole model with the other modality masked).
    """

    classes: tuple[str, ...]
    probs: dict[str, np.ndarray]
    weights: tuple[float, float] | None
    present: dict[str, bool]
    embeddings: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    head_kinds: dict[str, str] = field(default_factory=lambda: {h: "native" for h in HEADS}, compare=False)
    logits: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    """head -> (K,) float32 raw logits, before any temperature (for energy scores and calibration)."""
    out_of_distribution: dict | None = field(default=None, compare=False)
    """``{"score", "threshold", "unfamiliar", "method"}`` when the model has a fitted detector
    (:mod:`core.trust.ood`), else None."""

    def top(self, head: str) -> tuple[str, float]:
        """The head's most probable class and its probability, whether or not the head answered."""
        i = int(np.argmax(self.probs[head]))
        return self.classes[i], float(self.probs[head][i])

    def answered(self, head: str) -> bool:
        """False when the head abstains: it did not receive its input (:func:`core.models.head_answers`)."""
        return bool(head_answers(head, self.present["audio"], self.present["video"]))

    def label(self, head: str) -> str | None:
        """The head's answer: its top class, or None when it abstains ("no input")."""
        return self.top(head)[0] if self.answered(head) else None

    def to_dict(self) -> dict:
        return {
            head: {"label": self.label(head), "probability": round(self.top(head)[1], 4) if self.answered(head)
                   else None,
                   "probabilities": {c: round(float(p), 4) for c, p in zip(self.classes, self.probs[head])},
                   "answered": self.answered(head), "kind": self.head_kinds[head]}
            for head in HEADS
        } | {"modality_weights": None if self.weights is None or not self.answered("fused") else
             {"audio": round(self.weights[0], 4), "video": round(self.weights[1], 4)},
             "present": self.present, "out_of_distribution": self.out_of_distribution}

    def unfamiliar_note(self) -> str | None:
        """One sentence when the clip is unlike the model's training data, else None."""
        ood = self.out_of_distribution
        if not ood or not ood["unfamiliar"]:
            return None
        return (f"This clip is unlike anything the model was trained on (unfamiliarity {ood['score']:.1f}, above the "
                f"{ood['threshold']:.1f} that 95% of its validation clips stay under): its labels are a guess "
                f"among classes that may not apply.")


@dataclass(frozen=True)
class WindowPrediction:
    start: float
    end: float
    padded: bool
    prediction: Prediction


@dataclass(frozen=True)
class ClipPrediction:
    """The whole clip (mean over windows for long clips) and, for long clips, the timeline."""

    overall: Prediction
    windows: tuple[WindowPrediction, ...]
    padding: float = 0.0
    """Share (0-1) of the model's one window that is padding, for a clip shorter than the window."""

    def padding_note(self) -> str | None:
        """One sentence saying how much of the window is padding, or None when under 1 %."""
        if self.padding < 0.01:
            return None
        real = (1.0 - self.padding) * WINDOW_S
        return (f"Only {real:.2g} s of the {WINDOW_S:g} s window the model sees is the clip: {self.padding:.0%} is "
                f"padding (silence and the last frame repeated), so this prediction rests on little evidence."
                if self.padding >= 0.5 else
                f"{self.padding:.0%} of the {WINDOW_S:g} s window the model sees is padding "
                f"(silence and the last frame repeated); the clip is {real:.2g} s.")

    def to_dict(self) -> dict:
        return self.overall.to_dict() | {"padding": round(self.padding, 4), "windows": [
            {"start": w.start, "end": w.end, "padded": w.padded,
             **{h: w.prediction.label(h) for h in HEADS},
             "out_of_distribution": w.prediction.out_of_distribution,
             "probabilities": {h: [round(float(p), 4) for p in w.prediction.probs[h]] for h in HEADS}}
            for w in self.windows]}


@dataclass(frozen=True)
class Branch:
    """One modality's encodings for every window of a clip (numpy, so a cache pickles it cheaply)."""

    modality: str
    embedding: np.ndarray  # (W, E), or the input tensors of a model that runs whole
    tokens: np.ndarray  # (W, L, D)
    mask: np.ndarray  # (W,) 1 present, 0 missing
    starts: tuple[float, ...]
    ends: tuple[float, ...]
    padded: tuple[bool, ...]


__all__ = ["WINDOW_S", "Prediction", "WindowPrediction", "ClipPrediction", "Branch"]
