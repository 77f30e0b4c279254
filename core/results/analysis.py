"""What the stored rows say: per-condition metrics, the robustness summary, modality weights, exports.

:class:`ResultsDB` inherits these from :class:`Analysis`; they only read, through ``_rows`` and
``get_experiment``, so every number is computed from the stored rows (a resumed sweep reports the same
numbers as an uninterrupted one).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.metrics import classification_report
from core.results import references
from core.results.robustness import fusion_metrics, robustness_metrics
from core.results.schema import HEADS, ResultsError, condition_label
from core.trust.calibration import calibration_scores
from core.trust.selective import selective_scores

EXPORT_FORMATS = ("csv", "parquet")


class Analysis:
    """Read-only views of a sweep's rows (mixed into :class:`core.results.ResultsDB`)."""

    def condition_metrics(self, experiment_id: int) -> pd.DataFrame:
        """One row per checkpoint x condition x head: n (clips the head answered), coverage (their share),
        accuracy, macro P/R/F1, ECE, Brier, NLL, per-class accuracy and confusion matrix over the answered clips
        (a head without its input abstains and is never scored: :func:`core.metrics.head_answers`; NaN when it
        answered none), selective prediction (AURC and the accuracy of the 90 % most confident answers:
        :mod:`core.trust.selective`), and for the fused head the fusion gain (fused minus the best unimodal
        head)."""
        df = self._rows(experiment_id)
        exp = self.get_experiment(experiment_id)
        index = {k["name"]: {c: i for i, c in enumerate(k["classes"])} for k in exp["checkpoints"]}
        out = []
        for (ckpt, cond, head), g in df.groupby(["checkpoint", "condition", "head"], sort=False):
            classes = exp["checkpoints"][int(g["checkpoint_idx"].iloc[0])]["classes"]
            keep = g["answered"].to_numpy(bool)
            y_all = np.array([index[ckpt][label] for label in g["label"]])
            y = y_all[keep]
            probs = np.stack(g["probs"].to_numpy())[keep] if keep.any() else np.zeros((0, len(classes)))
            report = classification_report(y, probs, classes)
            out.append({"checkpoint": ckpt, "condition": cond, "corruption": g["corruption"].iloc[0],
                        "severity": int(g["severity"].iloc[0]), "modality": g["modality"].iloc[0], "head": head,
                        **{k: report[k] for k in ("n", "accuracy", "macro_precision", "macro_recall", "macro_f1",
                                                  "per_class_accuracy", "confusion_matrix")},
                        "coverage": float(keep.mean()), **calibration_scores(y, probs),
                        **selective_scores(np.stack(g["probs"].to_numpy()), g["predicted"].to_numpy(), y_all, keep)})
        table = pd.DataFrame(out, columns=["checkpoint", "condition", "corruption", "severity", "modality", "head",
                                           "n", "accuracy", "macro_precision", "macro_recall", "macro_f1",
                                           "per_class_accuracy", "confusion_matrix", "coverage", "ece", "brier",
                                           "nll", "aurc", "accuracy_at_90"])
        acc = table.pivot_table(index=["checkpoint", "condition"], columns="head", values="accuracy")
        if not acc.empty and set(HEADS) <= set(acc.columns):
            gain = (acc["fused"] - acc[["audio", "video"]].max(axis=1)).rename("fusion_gain")
            table = table.join(gain, on=["checkpoint", "condition"])
            table.loc[table["head"] != "fused", "fusion_gain"] = np.nan
        else:
            table["fusion_gain"] = np.nan
        return table

    def summary(self, experiment_id: int, *, reference: str | None = None, baseline: str | None = None
                ) -> pd.DataFrame:
        """Robustness per checkpoint x head (``kind``: native, or ablation for a model without that head): clean
        accuracy, mPC, rPC, mCE, relative mCE, alpha, rho (:func:`core.results.robustness.robustness_metrics`),
        and for the fused head the fusion gain (clean and mean under corruption) and the fallback gaps; ``suite``
        and ``reference`` name the protocol and what the mCE is relative to.

        ``reference`` (``baseline`` is its older name) chooses the mCE's reference model by name: a checkpoint
        of this experiment; ``imagenet-c`` (AlexNet's published errors); or a checkpoint stored in another
        experiment of this database that measured the same clips the same way (:func:`references.comparable`).
        Default: the suite's reference (``imagenet-c`` for that suite), else the experiment's first checkpoint.
        Fallback gap: fused minus the surviving head's accuracy over the clip-conditions where only that
        modality was present (muted, black or absent).

        Raises
        ------
        ResultsError
            When ``reference`` names no such model, or none with comparable stored results.
        """
        metrics = self.condition_metrics(experiment_id)
        rows = self._rows(experiment_id)
        exp = self.get_experiment(experiment_id)
        names = [k["name"] for k in exp["checkpoints"]]
        native = {k["name"]: set(k["native_heads"]) for k in exp["checkpoints"]}
        suite = exp["config"].get("suite", "avlab")
        choice = reference or baseline or references.default_reference(suite) or names[0]
        reference_of = references.resolve(self, exp, choice, metrics)
        out = []
        for ckpt in names:
            for head in HEADS:
                out.append({"checkpoint": ckpt, "head": head,
                            "kind": "native" if head in native[ckpt] else "ablation",
                            **robustness_metrics(metrics, ckpt, head, reference_of(head)),
                            **fusion_metrics(metrics, rows, ckpt, head), "suite": suite, "reference": choice})
        return pd.DataFrame(out)

    def modality_weights(self, experiment_id: int) -> pd.DataFrame:
        """Mean (audio, video) modality weights per checkpoint x condition; NaN where the fusion has none."""
        self.get_experiment(experiment_id)
        rows = self.con.execute("""
            SELECT k.name, c.corruption, c.severity, avg(p.weight_audio), avg(p.weight_video), count(p.weight_audio)
            FROM conditions c JOIN checkpoints k ON k.experiment_id = c.experiment_id AND k.idx = c.checkpoint_idx
            JOIN predictions p ON p.condition_id = c.id AND p.head = 'fused'
            WHERE c.experiment_id = ? GROUP BY c.id ORDER BY c.checkpoint_idx, c.id""", (experiment_id,)).fetchall()
        df = pd.DataFrame(rows, columns=["checkpoint", "corruption", "severity", "weight_audio", "weight_video", "n"])
        df.insert(1, "condition", [condition_label(c, s) for c, s in zip(df["corruption"], df["severity"])])
        return df.astype({"weight_audio": float, "weight_video": float})

    def export(self, experiment_id: int, path: str | os.PathLike, *, format: str | None = None,
               table: str = "rows", reference: str | None = None) -> Path:
        """Write the per-clip rows (``table="rows"``: one ``prob_<class>`` column per class) or the robustness
        summary (``"summary"``: :meth:`summary` with ``reference``) to CSV or Parquet; both name the suite."""
        path = Path(path)
        format = format or path.suffix.lstrip(".")
        if format not in EXPORT_FORMATS:
            raise ResultsError(f"Cannot export to '{format}'; choose csv or parquet.")
        exp = self.get_experiment(experiment_id)
        if table == "summary":
            df = self.summary(experiment_id, reference=reference)
        else:
            df = export_frame(self.predictions(experiment_id), {c["name"]: c["classes"] for c in exp["checkpoints"]})
            df.insert(0, "suite", exp["config"].get("suite", "avlab"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if format == "csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
        return path


def export_frame(predictions: pd.DataFrame, classes: dict[str, list[str]]) -> pd.DataFrame:
    """The flat export table: ``predictions`` with the probabilities spread to ``prob_<class>`` columns.

    ``classes`` maps each checkpoint to its class list; a class a checkpoint lacks is NaN in its rows.
    """
    df = predictions.drop(columns=["probs"]).reset_index(drop=True)
    names = list(dict.fromkeys(c for cs in classes.values() for c in cs))
    spread = np.full((len(df), len(names)), np.nan, np.float32)
    column = {c: j for j, c in enumerate(names)}
    for i, (ckpt, probs) in enumerate(zip(df["checkpoint"], predictions["probs"])):
        spread[i, [column[c] for c in classes[ckpt]]] = probs
    return pd.concat([df, pd.DataFrame(spread, columns=[f"prob_{c}" for c in names])], axis=1)
