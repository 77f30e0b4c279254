"""Classification metrics shared by training, evaluation and sweeps.

Everything takes integer labels ``y_true`` ``(n,)`` and class probabilities
``probs`` ``(n, k)``; no scikit-learn needed, so the numbers are easy to audit.
"""
from __future__ import annotations

import numpy as np

ECE_BINS = 15


def head_answers(head: str, audio_present, video_present):
    """Whether ``head`` answers (bool, or a numpy bool array for arrays of presence flags).

    A head abstains without its input, so it is never scored on a clip it did not receive: the audio head
    without audio, the video head without video (absent, muted to exact zeros, or black), the fused head with
    neither. An abstaining head has no label ("no input"); accuracy counts the clips a head answered and
    coverage is the share it answered (selective classification, Geifman & El-Yaniv, NeurIPS 2017).
    """
    if head == "audio":
        return audio_present
    if head == "video":
        return video_present
    if isinstance(audio_present, bool) and isinstance(video_present, bool):
        return audio_present or video_present
    return np.logical_or(audio_present, video_present)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``(k, k)``: rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def precision_recall_f1(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from a confusion matrix (0 where undefined)."""
    tp = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def reliability(y_true: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """A reliability diagram's bins (DeGroot & Fienberg 1983; Guo et al. 2017): ``bins`` equal-width
    confidence bins, the ones :func:`expected_calibration_error` weighs.

    Returns ``{"lower", "upper", "confidence", "accuracy", "count"}``, each (bins,): the bin's edges, the
    mean confidence and the accuracy of its clips (NaN where empty), and how many clips fall in it.
    """
    y_true, probs = np.asarray(y_true, np.int64), np.asarray(probs, np.float64)
    confidence = probs.max(axis=1) if probs.size else np.zeros(0)
    correct = probs.argmax(axis=1) == y_true if probs.size else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct.astype(float), minlength=bins) / count
    return {"lower": edges[:-1], "upper": edges[1:], "confidence": mean_conf, "accuracy": accuracy, "count": count}


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over the :func:`reliability` bins
    (Naeini et al. 2015; Guo et al. 2017)."""
    b = reliability(y_true, probs, bins)
    filled = b["count"] > 0
    if not filled.any():
        return 0.0
    weights = b["count"][filled] / b["count"].sum()
    return float(np.sum(weights * np.abs(b["accuracy"][filled] - b["confidence"][filled])))


def classification_report(y_true, probs, classes) -> dict:
    """Accuracy, macro precision/recall/F1, ECE, per-class accuracy and the confusion matrix.

    Only classes present in ``y_true`` count in the macro averages, so a subset of a
    data set is scored fairly.
    """
    y_true = np.asarray(y_true, np.int64)
    probs = np.asarray(probs, np.float64)
    k = len(classes)
    y_pred = probs.argmax(axis=1)
    matrix = confusion_matrix(y_true, y_pred, k)
    precision, recall, f1 = precision_recall_f1(matrix)
    present = matrix.sum(axis=1) > 0
    return {
        "n": int(y_true.size),
        "accuracy": float((y_pred == y_true).mean()) if y_true.size else float("nan"),
        "macro_precision": float(precision[present].mean()) if present.any() else float("nan"),
        "macro_recall": float(recall[present].mean()) if present.any() else float("nan"),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "ece": expected_calibration_error(y_true, probs) if y_true.size else float("nan"),
        "per_class_accuracy": {c: float(recall[i]) for i, c in enumerate(classes) if present[i]},
        "confusion_matrix": matrix.tolist(),
    }
