"""The reference errors an mCE is normalised by: a model of the sweep, another stored sweep, or AlexNet.

ImageNet-C's mean Corruption Error (Hendrycks & Dietterich, ICLR 2019, section 3) divides a model's
top-1 errors by a reference model's, per corruption *c* and summed over severities *s*:

    CE_c = sum_s E_{s,c} / sum_s E^ref_{s,c},            mCE = mean_c CE_c
    relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^ref_{s,c} - E^ref_clean)

Errors are looked up by corruption **name**, never by position in a list (forks of the reference
code that zip a list of names with a list of errors in another order silently misattribute them).
A corruption the reference has no error for does not enter the mean; ``mce_corruptions`` counts
those that did.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import pandas as pd

from core.results.schema import CLEAN

IMAGENET_C = "imagenet-c"

# AlexNet's top-1 errors on ImageNet-C, per corruption and severity 1-5 (their per-corruption means are
# the values of hendrycks/robustness, e.g. 0.886428 for gaussian_noise; per-severity values as published in
# timm's `imagenetc_alexnet_error_rates_list`, github.com/huggingface/pytorch-image-models).
ALEXNET_ERRORS: Mapping[str, tuple[float, ...]] = MappingProxyType({
    "gaussian_noise": (0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": (0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": (0.78374, 0.89808, 0.9487, 0.9872, 0.99548),
    "defocus_blur": (0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": (0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": (0.5843, 0.70048, 0.82108, 0.8975, 0.92638),
    "zoom_blur": (0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": (0.71726, 0.88392, 0.86468, 0.9187, 0.94952),
    "frost": (0.6139, 0.79734, 0.8879, 0.89942, 0.9343),
    "fog": (0.67474, 0.7605, 0.84378, 0.8726, 0.945),
    "brightness": (0.4514, 0.48502, 0.54048, 0.62166, 0.7244),
    "contrast": (0.64548, 0.7615, 0.88874, 0.9776, 0.9927),
    "elastic_transform": (0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": (0.52218, 0.5462, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": (0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
})
# AlexNet's clean top-1 error on the ImageNet validation set: torchvision's AlexNet_Weights.IMAGENET1K_V1
# reports acc@1 56.522 %.
ALEXNET_CLEAN_ERROR = 1 - 0.56522


@dataclass(frozen=True)
class Reference:
    """Top-1 errors of the model an mCE is relative to.

    Attributes
    ----------
    name : str
        How tables name it: a checkpoint name, or ``imagenet-c`` (AlexNet's published errors).
    errors : mapping
        ``{corruption: {severity: error}}``, errors as fractions in [0, 1].
    clean_error : float
        Its error on clean inputs (NaN when unknown; relative mCE is then NaN).
    source : str
        Where the numbers come from (an experiment id, or the publication).
    """

    name: str
    errors: Mapping[str, Mapping[int, float]] = field(repr=False)
    clean_error: float = float("nan")
    source: str = ""

    def corruption_errors(self, errors: Mapping[str, Mapping[int, float]], clean_error: float) -> dict[str, tuple]:
        """``{corruption: (CE, relative CE)}`` of a model's errors against this reference, by name.

        Only the severities both have count; a corruption the reference lacks is left out, and a
        CE whose denominator is 0 (the reference never erred, or never lost accuracy) is NaN.
        """
        out = {}
        for name, mine in errors.items():
            ref = self.errors.get(name)
            common = sorted(set(mine) & set(ref or ()))
            if not common:
                continue
            ref_sum = sum(ref[s] for s in common)
            ref_rise = sum(ref[s] - self.clean_error for s in common)
            ce = sum(mine[s] for s in common) / ref_sum if ref_sum > 0 else float("nan")
            rce = (sum(mine[s] - clean_error for s in common) / ref_rise
                   if ref_rise > 0 and clean_error == clean_error else float("nan"))
            out[name] = (ce, rce)
        return out


def alexnet() -> Reference:
    """AlexNet on ImageNet-C, the normalisation of every published ImageNet-C mCE (the 15 corruptions)."""
    return Reference(IMAGENET_C, {n: dict(zip(range(1, 6), e)) for n, e in ALEXNET_ERRORS.items()},
                     ALEXNET_CLEAN_ERROR, "AlexNet's published ImageNet-C errors (Hendrycks & Dietterich, 2019)")


def from_metrics(metrics: pd.DataFrame, checkpoint: str, head: str, *, source: str = "") -> Reference:
    """The reference errors of ``checkpoint``'s ``head`` from condition metrics (:meth:`ResultsDB.condition_metrics`)."""
    mine = metrics[(metrics["checkpoint"] == checkpoint) & (metrics["head"] == head)]
    clean = mine.loc[mine["corruption"] == CLEAN, "accuracy"]
    errors: dict[str, dict[int, float]] = {}
    for row in mine[mine["corruption"] != CLEAN].itertuples():
        if row.accuracy == row.accuracy:  # a head that answered nothing has no error
            errors.setdefault(row.corruption, {})[int(row.severity)] = 1 - float(row.accuracy)
    return Reference(checkpoint, errors, 1 - float(clean.iloc[0]) if len(clean) else float("nan"), source)


def default_reference(suite: str) -> str | None:
    """The suite's own mCE reference (``imagenet-c`` for ImageNet-C), or None (then the sweep's first model)."""
    from core.corruptions import suites

    return suites.SUITES[suite].reference if suite in suites.SUITES else None


# What must be equal for two sweeps' numbers to be set side by side, and how a difference is said.
_SAME = {"data": "data set", "split": "split", "seed": "corruption seed", "frames": "frame mode",
         "limit": "clip limit"}


def comparable(a: dict, b: dict) -> str | None:
    """None when experiments ``a`` and ``b`` (:meth:`ResultsDB.get_experiment`) measured the same clips the
    same way (data set, split, clips and labels, seed, frame mode), else why not, in words."""
    for key, words in _SAME.items():
        if a["config"].get(key) != b["config"].get(key):
            return (f"experiments {a['id']} and {b['id']} differ in their {words} "
                    f"({a['config'].get(key)!r} and {b['config'].get(key)!r})")
    if a["clips"] != b["clips"]:
        return f"experiments {a['id']} and {b['id']} scored different clips"
    return None


def resolve(db, experiment: dict, name: str, metrics: pd.DataFrame):
    """A function ``head -> Reference`` for the reference model ``name`` of ``experiment``'s mCE.

    ``name`` is a checkpoint of the experiment, ``imagenet-c``, or a checkpoint of another comparable
    experiment in ``db`` (the most recent one; its results are read, not recomputed).

    Raises
    ------
    ResultsError
        When ``name`` is none of these.
    """
    from core.results.schema import ResultsError

    if name == IMAGENET_C:
        table = alexnet()
        return lambda head: table
    if name in [k["name"] for k in experiment["checkpoints"]]:
        return lambda head: from_metrics(metrics, name, head, source=f"experiment {experiment['id']}")
    reasons = []
    for other_id in db.list_experiments()["id"].iloc[::-1]:
        if int(other_id) == experiment["id"]:
            continue
        other = db.get_experiment(int(other_id))
        if name not in [k["name"] for k in other["checkpoints"]]:
            continue
        why = comparable(experiment, other)
        if why is None:
            theirs = db.condition_metrics(int(other_id))
            return lambda head: from_metrics(theirs, name, head, source=f"experiment {other['id']}")
        reasons.append(why)
    known = ", ".join([k["name"] for k in experiment["checkpoints"]] + [IMAGENET_C])
    if reasons:
        raise ResultsError(f"'{name}' cannot be the reference: {reasons[0]}; choose one of {known}.")
    raise ResultsError(f"There are no stored results of '{name}' to compare with; choose one of {known}, or sweep "
                       f"'{name}' on the same clips first (`python -m core.experiments run --model {name} ...`).")
