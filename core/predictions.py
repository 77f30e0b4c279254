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
class Segment:
    """A run of consecutive windows in which one head gives the same answer: a part of a timeline's decision.

    ``start`` and ``end`` in seconds: the clip's start (first segment), the clip's end (last segment), else
    halfway between the centres of the last window of one run and the first of the next; ``label`` None
    where the head has no input; ``probability``: the mean of the label's probability over the run's windows;
    ``weights``: the mean (audio, video) modality weights over them, None where the model has none."""

    start: float
    end: float
    label: str | None
    probability: float
    windows: int
    weights: tuple[float, float] | None

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "label": self.label,
                "probability": round(self.probability, 4), "windows": self.windows,
                "modality_weights": None if self.weights is None else
                {"audio": round(self.weights[0], 4), "video": round(self.weights[1], 4)}}


def _seconds(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


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

    def segments(self, head: str = "fused") -> tuple[Segment, ...]:
        """The timeline as ``head`` decides it: consecutive windows with the same answer merged into one
        :class:`Segment` each (empty for a clip of one window). A clip whose state changes gets one segment per
        state where the model follows it, instead of one mean over both states."""
        if not self.windows:
            return ()
        windows = sorted(self.windows, key=lambda w: w.start)
        labels = [w.prediction.label(head) for w in windows]
        centres = [(w.start + w.end) / 2 for w in windows]
        out, first = [], 0
        for i in range(1, len(windows) + 1):
            if i < len(windows) and labels[i] == labels[first]:
                continue
            run = windows[first:i]
            label = labels[first]
            k = run[0].prediction.classes.index(label) if label is not None else None
            weights = [w.prediction.weights for w in run if w.prediction.weights is not None and w.prediction.answered(head)]
            out.append(Segment(
                start=windows[0].start if first == 0 else (centres[first - 1] + centres[first]) / 2,
                end=windows[-1].end if i == len(windows) else (centres[i - 1] + centres[i]) / 2,
                label=label, probability=float(np.mean([w.prediction.probs[head][k] for w in run])) if k is not None
                else float("nan"), windows=len(run),
                weights=tuple(float(x) for x in np.mean(weights, axis=0)) if weights else None))
            first = i
        return tuple(out)

    def decision(self, head: str = "fused") -> str:
        """The head's decision in words: "fan_fault 91%" for one window; for a timeline its segments, e.g.
        "fan_normal 0-12 s (95%), then fan_fault 12-26.5 s (88%)", or "fan_normal (95%) in all 23 windows"."""
        parts = self.segments(head)
        if not parts:
            label, p = self.overall.top(head)
            return f"{label} {p:.0%}" if self.overall.answered(head) else "no input"
        if len(parts) == 1:
            only = parts[0]
            return f"{only.label or 'no input'} ({only.probability:.0%}) in all {only.windows} windows" \
                if only.label else f"no input in all {only.windows} windows"
        return ", then ".join(
            f"{s.label or 'no input'} {_seconds(s.start)}–{_seconds(s.end)} s"
            + (f" ({s.probability:.0%})" if s.label else "") for s in parts)

    def to_dict(self) -> dict:
        return self.overall.to_dict() | {"padding": round(self.padding, 4),
                                         "segments": [s.to_dict() for s in self.segments()], "windows": [
            {"start": w.start, "end": w.end, "padded": w.padded,
             **{h: w.prediction.label(h) for h in HEADS},
             "out_of_distribution": w.prediction.out_of_distribution,
             "modality_weights": None if w.prediction.weights is None or not w.prediction.answered("fused") else
             {"audio": round(w.prediction.weights[0], 4), "video": round(w.prediction.weights[1], 4)},
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


__all__ = ["WINDOW_S", "Prediction", "WindowPrediction", "Segment", "ClipPrediction", "Branch"]
