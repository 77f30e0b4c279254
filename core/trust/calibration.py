"""Calibration: temperature scaling per head, and the scores that say how well probabilities are calibrated.

Temperature scaling (Guo et al., ICML 2017, "On Calibration of Modern Neural Networks") divides a
head's logits by one scalar ``T > 0`` fitted to minimise the negative log-likelihood on held-out
clips; the argmax, so the accuracy, is unchanged. Each head of a model gets its own ``T``, stored in
``calibration.json`` in the model's folder with the fingerprint of the model it was fitted for, so
a file left beside a changed model is ignored (with the reason). Fitting on corrupted clips as well
(Tomani et al., CVPR 2021, "Post-hoc Calibration of Neural Networks by g-Layer Fitting" /
"Towards Trustworthy Predictions from Deep Neural Networks with Fast Adversarial Calibration") is a
second fit stored beside the clean one (``"corrupted"``) for comparison; the clean fit is applied.

Scores (per head, on the clips the head answered):

- ECE, expected calibration error with 15 equal-width confidence bins (Naeini et al., AAAI 2015;
  Guo et al. 2017) — :func:`core.metrics.expected_calibration_error`;
- Brier score, the mean over clips of the squared distance between the probability vector and the
  one-hot label, summed over classes (Brier 1950; ``sklearn.metrics.brier_score_loss``);
- NLL, the mean negative log-likelihood of the true class (``sklearn.metrics.log_loss``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.metrics import brier_score_loss, log_loss

from core.metrics import expected_calibration_error

FILE = "calibration.json"
T_RANGE = (0.05, 20.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, K) logits -> (N, K) float64 probabilities of ``softmax(logits / temperature)``."""
    return np.exp(log_softmax(np.asarray(logits, np.float64) / temperature, axis=-1))


def fit_temperature(logits: np.ndarray, y_true: np.ndarray) -> float:
    """The temperature minimising the NLL of ``softmax(logits / T)`` on (N, K) logits and (N,) labels.

    Bounded search on ``log T`` over :data:`T_RANGE`; raises ``ValueError`` without clips.
    """
    logits, y_true = np.asarray(logits, np.float64), np.asarray(y_true, np.int64)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[0] != y_true.size:
        raise ValueError("Temperature scaling needs at least one clip with logits and a label.")

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(y_true.size), y_true].mean())

    best = minimize_scalar(nll, bounds=tuple(np.log(T_RANGE)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))


def calibration_scores(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """``{"ece", "brier", "nll"}`` of (N, K) probabilities against (N,) integer labels (NaN without clips)."""
    y_true, probs = np.asarray(y_true, np.int64), np.asarray(probs, np.float64)
    if y_true.size == 0:
        return {"ece": float("nan"), "brier": float("nan"), "nll": float("nan")}
    labels = list(range(probs.shape[1]))
    probs = probs / probs.sum(axis=1, keepdims=True)
    return {"ece": expected_calibration_error(y_true, probs),
            "brier": float(brier_score_loss(y_true, probs, labels=labels)),
            "nll": float(log_loss(y_true, np.clip(probs, 1e-12, 1.0), labels=labels))}


@dataclass(frozen=True)
class Calibration:
    """Per-head temperatures fitted for one model.

    Attributes
    ----------
    temperatures : head -> T (> 0), applied as ``softmax(logits / T)``
    fingerprint : the model's :attr:`AVClassifier.fingerprint` when fitted
    fitted_on : where: ``{"data", "split", "n", "corrupted"}``
    before, after : head -> calibration scores on the fitting clips without / with the temperature
    corrupted : head -> T fitted on corrupted clips as well (shown beside the clean fit, not applied), or {}
    """

    temperatures: dict[str, float]
    fingerprint: str = ""
    fitted_on: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    corrupted: dict = field(default_factory=dict)

    def save(self, folder: str | Path, prefix: str = "") -> Path:
        path = Path(folder) / f"{prefix}{FILE}"
        path.write_text(json.dumps({"method": "temperature scaling (Guo et al., 2017)", **self.__dict__},
                                   indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path, fingerprint: str | None = None, prefix: str = ""
             ) -> tuple["Calibration | None", str | None]:
        """``(calibration, None)``, or ``(None, reason)`` when ``folder/<prefix>calibration.json`` is missing,
        unreadable or was fitted for another model (``fingerprint`` differs)."""
        path = Path(folder) / f"{prefix}{FILE}"
        if not path.is_file():
            return None, None
        try:
            data = json.loads(path.read_text())
            temps = {str(h): float(t) for h, t in data["temperatures"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, f"{path} is not a calibration file avlab can read; probabilities are uncalibrated."
        if not all(t > 0 and np.isfinite(t) for t in temps.values()):
            return None, f"{path} holds a temperature that is not a positive number; probabilities are uncalibrated."
        if fingerprint and data.get("fingerprint") and data["fingerprint"] != fingerprint:
            return None, (f"{path} was fitted for another version of this model; probabilities are uncalibrated "
                          "until it is fitted again (python -m core.evaluate --calibrate).")
        return cls(temps, data.get("fingerprint", ""), data.get("fitted_on", {}), data.get("before", {}),
                   data.get("after", {}), data.get("corrupted", {})), None


def fit_calibration(logits: dict[str, np.ndarray], y_true: np.ndarray, answered: dict[str, np.ndarray], *,
                    fingerprint: str = "", fitted_on: dict | None = None,
                    corrupted: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Calibration:
    """One temperature per head from held-out clips.

    Parameters
    ----------
    logits : head -> (N, K) raw logits
    y_true : (N,) integer labels
    answered : head -> (N,) bool, the clips the head answered (it abstains without its input)
    corrupted : head -> (logits, labels) of clean plus corrupted clips, for the second fit
    """
    temps, before, after, extra = {}, {}, {}, {}
    for head, z in logits.items():
        keep = np.asarray(answered[head], bool)
        if not keep.any():
            continue
        t = fit_temperature(z[keep], y_true[keep])
        temps[head] = round(t, 4)
        before[head] = calibration_scores(y_true[keep], softmax(z[keep]))
        after[head] = calibration_scores(y_true[keep], softmax(z[keep], t))
        if corrupted and head in corrupted:
            extra[head] = round(fit_temperature(*corrupted[head]), 4)
    return Calibration(temps, fingerprint, fitted_on or {}, before, after, extra)
