"""The leaderboard across sweeps: the models of several stored experiments, on what they all measured.

Two sweeps share a leaderboard when they measured the same clips the same way
(:func:`core.results.references.comparable`: data set, split, clips and labels, corruption seed, frame
mode, clip limit) under the same suite; rows are then matched by condition, and only the conditions
every sweep has count (a sweep of severities 1-5 against one of 3 and 5 compares on clean, 3 and 5).
An experiment that cannot be compared with the first one is left out with one sentence saying why.

    from core.results import ResultsDB, compare
    with ResultsDB() as db:
        result = compare(db, [3, 5, 8])
    result.table          # one row per experiment x model (fused head by default), best mPC first
    result.notes          # sentences: experiments and conditions left out
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.results import references
from core.results.robustness import robustness_metrics
from core.results.schema import CLEAN, HEADS, ResultsError

COLUMNS = ["experiment", "checkpoint", "fusion", "clean_accuracy", "mpc", "rpc", "mce", "relative_mce", "alpha", "rho",
           "corruptions", "mce_corruptions", "conditions", "suite", "reference", "model_hash"]


@dataclass(frozen=True)
class Comparison:
    """A leaderboard across experiments.

    Attributes
    ----------
    table : DataFrame, one row per experiment x model: :data:`COLUMNS` (accuracies as fractions; ``mce`` and
        ``relative_mce`` against ``reference``; ``conditions``: how many conditions counted, clean included),
        best mPC first
    experiments : the ids compared (those left out are not here)
    conditions : the condition labels counted (``clean``, ``gaussian_blur:3``, ...)
    notes : one sentence per experiment left out and for conditions left out
    """

    table: pd.DataFrame
    experiments: tuple[int, ...]
    conditions: tuple[str, ...]
    notes: tuple[str, ...]


def why_not_comparable(a: dict, b: dict) -> str | None:
    """None when experiments ``a`` and ``b`` (:meth:`ResultsDB.get_experiment`) can share a leaderboard, else why
    not, in words: :func:`references.comparable`, another suite, or no corrupted condition in common."""
    why = references.comparable(a, b)
    if why:
        return why
    suites = a["config"].get("suite", "avlab"), b["config"].get("suite", "avlab")
    if suites[0] != suites[1]:
        return f"experiments {a['id']} and {b['id']} follow different suites ({suites[0]!r} and {suites[1]!r})"
    if not set(a["conditions"]) & set(b["conditions"]) - {CLEAN}:
        return f"experiments {a['id']} and {b['id']} share no corrupted condition"
    return None


def compare(db, ids, *, reference: str | None = None, head: str = "fused") -> Comparison:
    """Compare the models of stored experiments ``ids`` (the first is the anchor) on their common conditions.

    Parameters
    ----------
    db : ResultsDB
    ids : experiment ids, at least two
    reference : the mCE's reference model by name (a model of one of the experiments, or ``imagenet-c``);
        default the suite's reference, else the anchor's first model
    head : "fused" (default), "audio" or "video"

    Raises
    ------
    ResultsError
        Fewer than two experiments, an unknown id, a reference none of them has, or no two comparable
        (the sentence says why).
    """
    ids = list(dict.fromkeys(int(i) for i in ids))
    if len(ids) < 2:
        raise ResultsError("Comparing needs at least two experiments; `list` shows their ids.")
    if head not in HEADS:
        raise ResultsError(f"There is no head '{head}'; choose one of {', '.join(HEADS)}.")
    experiments = [db.get_experiment(i) for i in ids]
    anchor, kept, notes = experiments[0], [experiments[0]], []
    for other in experiments[1:]:
        why = why_not_comparable(anchor, other)
        if why:
            notes.append(f"Experiment {other['id']} is left out: {why}.")
        else:
            kept.append(other)
    if len(kept) < 2:
        raise ResultsError(f"These experiments cannot be compared: {why_not_comparable(anchor, experiments[1])}.")
    common = [c for c in anchor["conditions"] if all(c in e["conditions"] for e in kept)]
    dropped = list(dict.fromkeys(c for e in kept for c in e["conditions"] if c not in common))
    if dropped:
        notes.append(f"Only the {len(common)} conditions every compared sweep has count; left out "
                     f"{len(dropped)} measured by some only ({', '.join(dropped[:6])}{', ...' if len(dropped) > 6 else ''}).")
    metrics = {}
    for e in kept:
        m = db.condition_metrics(e["id"])
        metrics[e["id"]] = m[m["condition"].isin(common) & (m["head"] == head)]
    suite = anchor["config"].get("suite", "avlab")
    choice = reference or references.default_reference(suite) or anchor["checkpoints"][0]["name"]
    ref = _reference(kept, metrics, choice, head)
    rows = []
    for e in kept:
        for ck in e["checkpoints"]:
            rows.append({"experiment": e["id"], "checkpoint": ck["name"], "fusion": ck["fusion"],
                         **robustness_metrics(metrics[e["id"]], ck["name"], head, ref), "conditions": len(common),
                         "suite": suite, "reference": choice, "model_hash": ck["fingerprint"]})
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["mpc", "clean_accuracy"], ascending=False,
                                                             na_position="last", kind="stable")
    return Comparison(table.reset_index(drop=True), tuple(e["id"] for e in kept), tuple(common), tuple(notes))


def _reference(kept: list[dict], metrics: dict, name: str, head: str) -> references.Reference:
    """The mCE reference ``name`` from the compared experiments' common conditions, or AlexNet's errors."""
    if name == references.IMAGENET_C:
        return references.alexnet()
    for e in kept:
        if name in [c["name"] for c in e["checkpoints"]]:
            return references.from_metrics(metrics[e["id"]], name, head, source=f"experiment {e['id']}")
    known = ", ".join(dict.fromkeys([c["name"] for e in kept for c in e["checkpoints"]] + [references.IMAGENET_C]))
    raise ResultsError(f"'{name}' is a model of none of the compared experiments; choose one of {known}.")


__all__ = ["Comparison", "COLUMNS", "compare", "why_not_comparable"]
