"""Selective prediction: how accurate a head is when its least confident answers are set aside.

The risk-coverage curve (Geifman & El-Yaniv, NeurIPS 2017, "Selective Classification for Deep Neural
Networks") sorts clips by confidence (the top-class probability, their "softmax response") and, for each
coverage c = k / N, gives the accuracy on the k most confident clips. AURC, the area under the
risk-coverage curve, is the mean selective risk (1 - accuracy) over k = 1..N (Geifman et al., ICLR 2019,
"Bias-Reduced Uncertainty Estimation for Deep Neural Classifiers"): lower is better.

Clips a head abstained on (no input) are never answered: its curve ends at its coverage, and N counts
every clip, so a head that abstains on half the clips cannot claim 100 % coverage.
"""
from __future__ import annotations

import numpy as np


def risk_coverage(confidence: np.ndarray, correct: np.ndarray, answered: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(coverage, accuracy)``, each (M,) float64 for M answered clips, most confident first.

    ``confidence``: (N,) top-class probabilities; ``correct``: (N,) bool; ``answered``: (N,) bool (default
    all). ``coverage[k-1] = k / N``; ``accuracy[k-1]`` is the accuracy of the k most confident answers
    (ties broken by the clip's order, stable).
    """
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, bool)
    answered = np.ones_like(correct) if answered is None else np.asarray(answered, bool)
    n = confidence.size
    order = np.argsort(-confidence[answered], kind="stable")
    hits = correct[answered][order]
    k = np.arange(1, hits.size + 1)
    return k / max(n, 1), np.cumsum(hits) / k


def aurc(confidence: np.ndarray, correct: np.ndarray, answered: np.ndarray | None = None) -> float:
    """Area under the risk-coverage curve: the mean selective risk over the answered clips (NaN for none)."""
    _, accuracy = risk_coverage(confidence, correct, answered)
    return float(np.mean(1.0 - accuracy)) if accuracy.size else float("nan")


def accuracy_at_coverage(confidence: np.ndarray, correct: np.ndarray, coverage: float,
                         answered: np.ndarray | None = None) -> float:
    """Accuracy on the most confident ``coverage`` share of all clips: NaN when the head answered fewer, or when
    there are too few clips to set any aside (``ceil(coverage * N) == N``: it would be the plain accuracy)."""
    covered, accuracy = risk_coverage(confidence, correct, answered)
    n = np.asarray(confidence).size
    k = int(np.ceil(coverage * max(n, 1) - 1e-9))
    if k < 1 or k > accuracy.size or (coverage < 1 and k >= n):
        return float("nan")
    return float(accuracy[k - 1])


def selective_scores(probs: np.ndarray, predicted: np.ndarray, y_true: np.ndarray, answered: np.ndarray
                     ) -> dict[str, float]:
    """``{"aurc", "accuracy_at_90"}`` of one head on N clips: (N, K) probabilities, (N,) predicted and true
    class indices, (N,) answered flags."""
    confidence = np.asarray(probs).max(axis=1) if len(probs) else np.zeros(0)
    correct = np.asarray(predicted) == np.asarray(y_true)
    return {"aurc": aurc(confidence, correct, answered),
            "accuracy_at_90": accuracy_at_coverage(confidence, correct, 0.9, answered)}
