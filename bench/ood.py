"""Out-of-distribution detection, measured: AUROC, FPR at 95 % TPR and flagged shares of each method.

    python bench/ood.py --data data/trust-factory-av --ood data/ood [--all] [--corruption-clips 10] [--write]

For each model (the shipped default; ``--all``: every shipped checkpoint) and each method of
``core.trust.ood.METHODS``: a detector is fitted on the ``train`` split of ``--data`` (class
statistics) and its ``val`` split (standardisation, 95th-percentile threshold), then scores

- factory-av ``test`` clips against the non-factory clips of ``--ood`` (made by
  ``bench/ood_clips.py`` when the folder is missing): AUROC and FPR at 95 % TPR (scikit-learn's
  ``roc_auc_score`` / ``roc_curve``, the non-factory clips positive), the share of test clips
  flagged (goal <= 5 %) and of non-factory clips flagged (goal >= 90 %), per family too;
- for the default model, clean against corrupted test clips (``--corruption-clips`` per class)
  for every registered corruption at severity 3: is the corruption detected?

A model's stored ``ood.npz`` (``python -m core.trust fit``) is scored as well when present.
Features are cached under ``runs/trust/`` (keyed by model fingerprint, clips and corruption).
``--write`` puts the tables into ``docs/trust.md`` between its generated-block markers.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.trust.ood import DEFAULT_METHOD, METHODS, Features, features, fit_features, for_model  # noqa: E402

CACHE = Path("runs/trust")
DOC = Path("docs/trust.md")
BEGIN, END = "<!-- bench/ood.py: begin -->", "<!-- bench/ood.py: end -->"
SEVERITY = 3


# ----------------------------------------------------------------------------- features, cached

def _key(predictor, paths, steps) -> str:
    text = json.dumps([predictor.model.fingerprint, [str(p) for p in paths], list(steps)])
    return f"{predictor.model.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _save(path: Path, f: Features) -> None:
    arrays = {f"logits/{k}": v for k, v in f.logits.items()} | {f"emb/{k}": v for k, v in f.embeddings.items()} \
        | {f"present/{k}": v for k, v in f.present.items()}
    np.savez(path, labels=np.array(f.labels), paths=np.array(f.paths), **arrays)


def _load(path: Path) -> Features:
    with np.load(path) as d:
        part = lambda p: {k.split("/", 1)[1]: d[k] for k in d.files if k.startswith(p + "/")}  # noqa: E731
        return Features(part("logits"), part("emb"), part("present"), tuple(d["labels"].tolist()),
                        tuple(d["paths"].tolist()))


def cached_features(predictors, paths, labels=(), steps=(), name="") -> list[Features]:
    """:func:`core.trust.ood.features` for several models, each clip decoded once, cached per model."""
    CACHE.mkdir(parents=True, exist_ok=True)
    files = [CACHE / f"{_key(p, paths, steps)}.npz" for p in predictors]
    todo = [i for i, f in enumerate(files) if not f.is_file()]
    if todo:
        started = time.perf_counter()
        new = features([predictors[i] for i in todo], paths, labels=labels, steps=steps)
        for i, f in zip(todo, new):
            _save(files[i], f)
        print(f"  features {name}: {len(paths)} clips x {len(todo)} model(s) in {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
    return [_load(f) for f in files]


# ----------------------------------------------------------------------------- metrics

def auroc_fpr95(familiar: np.ndarray, unfamiliar: np.ndarray) -> tuple[float, float]:
    """AUROC (unfamiliar = positive, higher score = unfamiliar) and the share of familiar clips scored at or
    above the score that catches 95 % of the unfamiliar ones."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.r_[np.zeros(len(familiar)), np.ones(len(unfamiliar))]
    s = np.r_[familiar, unfamiliar]
    fpr, tpr, _ = roc_curve(y, s)
    return float(roc_auc_score(y, s)), float(fpr[np.argmax(tpr >= 0.95)])


def _score(det, f: Features) -> np.ndarray:
    return det.score(f.logits, f.embeddings, f.present)


def evaluate_methods(predictor, train, val, test, ood, families) -> list[dict]:
    rows = []
    candidates = [(m, fit_features(predictor.model, train, val, method=m)) for m in METHODS
                  if predictor.model.has_embeddings or m == "energy"]
    stored = _stored(predictor)
    if stored is not None:
        candidates.append((f"stored ood.npz ({stored.method})", stored))
    for name, det in candidates:
        s_test, s_ood = _score(det, test), _score(det, ood)
        auroc, fpr95 = auroc_fpr95(s_test, s_ood)
        rows.append({"model": predictor.model.name, "method": name, "auroc": auroc, "fpr95": fpr95,
                     "flagged_test": float(np.mean(s_test > det.threshold)),
                     "flagged_ood": float(np.mean(s_ood > det.threshold)),
                     "flagged_val": float(np.mean(_score(det, val) > det.threshold)),
                     "families": {fam: float(np.mean(s_ood[families == fam] > det.threshold))
                                  for fam in dict.fromkeys(families)},
                     "detector": det})
    return rows


def _stored(predictor):
    detector, reason = for_model(predictor.model)
    if reason:
        print(f"  {predictor.model.name}: stored ood.npz not used: {reason}", file=sys.stderr)
    return detector


def _accuracy(predictor, f: Features) -> float:
    """Fused-head accuracy of the clips in ``f`` (their labels against the argmax of the fused logits)."""
    guess = np.asarray(predictor.classes)[np.argmax(f.logits["fused"], axis=1)]
    return float(np.mean(guess == np.asarray(f.labels)))


def evaluate_corruptions(predictor, detectors: dict, test_paths, test_labels, clean: Features) -> list[dict]:
    from core import corruptions

    rows = []
    for name in corruptions.names():
        severity = SEVERITY if SEVERITY in corruptions.levels(name) else corruptions.levels(name)[0]
        (bad,) = cached_features([predictor], test_paths, test_labels, steps=[(name, severity)], name=name)
        row = {"corruption": name, "severity": severity, "modality": corruptions.get(name).modality,
               "audio_present": float(bad.present["audio"].mean()), "video_present": float(bad.present["video"].mean()),
               "accuracy": (_accuracy(predictor, clean), _accuracy(predictor, bad))}
        for method, det in detectors.items():
            s_clean, s_bad = _score(det, clean), _score(det, bad)
            row[method] = {"auroc": auroc_fpr95(s_clean, s_bad)[0], "flagged": float(np.mean(s_bad > det.threshold))}
        rows.append(row)
        print(f"  {name}:{severity} " + "  ".join(f"{m} AUROC {row[m]['auroc']:.3f} flagged {row[m]['flagged']:.0%}"
                                                   for m in detectors), file=sys.stderr, flush=True)
    return rows


# ----------------------------------------------------------------------------- tables

def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def method_table(rows: list[dict]) -> str:
    out = ["| model | method | AUROC | FPR at 95 % TPR | val flagged | test flagged (goal <= 5 %) | "
           "non-factory flagged (goal >= 90 %) |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['method']} | {r['auroc']:.3f} | {_pct(r['fpr95'])} % | "
                   f"{_pct(r['flagged_val'])} % | {_pct(r['flagged_test'])} % | {_pct(r['flagged_ood'])} % |")
    return "\n".join(out)


def mean_table(rows: list[dict]) -> str:
    """Each method's mean (and range) over the models, stored detectors left out."""
    out = ["| method | AUROC mean (min-max) | FPR at 95 % TPR mean | test flagged mean | non-factory flagged mean |",
           "|---|---:|---:|---:|---:|"]
    for m in dict.fromkeys(r["method"] for r in rows if not r["method"].startswith("stored")):
        rs = [r for r in rows if r["method"] == m]
        a = [r["auroc"] for r in rs]
        out.append(f"| {m} | {np.mean(a):.3f} ({min(a):.3f}-{max(a):.3f}) | {_pct(np.mean([r['fpr95'] for r in rs]))} % | "
                   f"{_pct(np.mean([r['flagged_test'] for r in rs]))} % | "
                   f"{_pct(np.mean([r['flagged_ood'] for r in rs]))} % |")
    return "\n".join(out)


def family_table(rows: list[dict], counts: dict) -> str:
    fams = list(counts)
    out = ["| method | " + " | ".join(f"{f} ({counts[f]})" for f in fams) + " |",
           "|---|" + "---:|" * len(fams)]
    for r in rows:
        out.append(f"| {r['method']} | " + " | ".join(_pct(r["families"][f]) for f in fams) + " |")
    return "\n".join(out)


def corruption_table(rows: list[dict], methods: list[str]) -> str:
    out = ["| corruption | modality | audio / video present | fused accuracy clean -> corrupted | "
           + " | ".join(f"{m}: AUROC, flagged" for m in methods) + " |",
           "|---|---|---|---|" + "---:|" * len(methods)]
    for r in rows:
        out.append(f"| {r['corruption']}:{r['severity']} | {r['modality']} | "
                   f"{_pct(r['audio_present'])} / {_pct(r['video_present'])} % | "
                   f"{_pct(r['accuracy'][0])} -> {_pct(r['accuracy'][1])} % | "
                   + " | ".join(f"{r[m]['auroc']:.3f}, {_pct(r[m]['flagged'])} %" for m in methods) + " |")
    means = {m: (np.mean([r[m]["auroc"] for r in rows]), np.mean([r[m]["flagged"] for r in rows])) for m in methods}
    out.append("| **mean** | | | | " + " | ".join(f"**{a:.3f}, {_pct(f)} %**" for a, f in means.values()) + " |")
    return "\n".join(out)


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.is_file() else f"# Trust\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    DOC.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}", encoding="utf-8")


# ----------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/trust-factory-av", help="factory-av with train, val, test splits")
    parser.add_argument("--ood", default="data/ood", help="non-factory clips (made when missing)")
    parser.add_argument("--all", action="store_true", help="every shipped checkpoint, not only the default")
    parser.add_argument("--corruption-clips", type=int, default=10, help="test clips per class for corruptions "
                        "(0: skip corruptions)")
    parser.add_argument("--write", action="store_true", help=f"write the tables into {DOC}")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from core.datasets import load_dataset
    from core.inference import Predictor
    from core.models import default_checkpoint
    from core.zoo import checkpoint_dirs

    started = time.perf_counter()
    if not (Path(args.ood) / "manifest.csv").is_file():
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ood_clips import make

        make(Path(args.ood))
    default = Path(default_checkpoint())
    specs = [d for d in checkpoint_dirs() if args.all] or [default]
    predictors = [Predictor.load(s, device="cpu") for s in specs]
    splits = {s: load_dataset(args.data, split=s).standard() for s in ("train", "val", "test")}
    ood_set = load_dataset(args.ood)
    feats = {s: cached_features(predictors, [x.path for x in d.samples], [x.label for x in d.samples], name=s)
             for s, d in splits.items()}
    ood = cached_features(predictors, [x.path for x in ood_set.samples], [x.label for x in ood_set.samples],
                          name="ood")
    families = np.array([x.label for x in ood_set.samples])
    counts = {f: int((families == f).sum()) for f in dict.fromkeys(families)}

    rows, default_rows = [], []
    for i, p in enumerate(predictors):
        r = evaluate_methods(p, feats["train"][i], feats["val"][i], feats["test"][i], ood[i], families)
        rows += r
        if Path(p.model.source).resolve() == default.resolve():
            default_rows, default_i = r, i
    print(method_table(rows))
    print(family_table(default_rows, counts))

    corr_block = ""
    if args.corruption_clips:
        d = default_rows
        per_class: dict[str, int] = {}
        chosen = []
        for x in splits["test"].samples:
            if per_class.get(x.label, 0) < args.corruption_clips:
                per_class[x.label] = per_class.get(x.label, 0) + 1
                chosen.append(x)
        paths, labels = [x.path for x in chosen], [x.label for x in chosen]
        p = predictors[default_i]
        (clean,) = cached_features([p], paths, labels, name="clean subset")
        methods = [DEFAULT_METHOD, "energy", "mahalanobis+energy", "knn"]
        dets = {r["method"]: r["detector"] for r in d if r["method"] in methods}
        corr = evaluate_corruptions(p, dets, paths, labels, clean)
        corr_block = (f"\n### Clean against corrupted test clips ({default.name})\n\n"
                      f"{len(paths)} test clips ({args.corruption_clips} per class), each corruption at severity "
                      f"{SEVERITY} (single-level ones at 1), seeded by the one rule; AUROC of clean vs corrupted, and "
                      f"the share of corrupted clips flagged. A source whose modality is absent (muted, black, "
                      f"off) is left out, so a missing input is not called unfamiliar.\n\n"
                      + corruption_table(corr, list(dets)))
        print(corr_block)
    sizes = "\n".join(f"| {d.name} | {(d / 'ood.npz').stat().st_size / 1024:.0f} KB |"
                      for d in checkpoint_dirs() if (d / "ood.npz").is_file())
    n = {s: len(feats[s][0]) for s in feats}
    block = (f"Generated by `python bench/ood.py --data {args.data} --ood {args.ood}{' --all' if args.all else ''} "
             f"--corruption-clips {args.corruption_clips} --write` on {time.strftime('%Y-%m-%d %H:%M')} "
             f"({time.perf_counter() - started:.0f} s on the CPU, features cached under {CACHE}/ where present); "
             f"do not edit by hand.\n\n"
             f"Data: factory-av train {n['train']} clips (class statistics), val {n['val']} (standardisation and "
             f"threshold), test {n['test']}; non-factory: {len(families)} clips in {len(counts)} families.\n\n"
             f"### Factory-av test against non-factory clips\n\n{method_table(rows)}\n\n"
             + (f"Mean over the {len(predictors)} checkpoints:\n\n{mean_table(rows)}\n\n" if len(predictors) > 1 else "")
             + f"### Share flagged per non-factory family ({default.name}, %)\n\n{family_table(default_rows, counts)}\n"
             f"{corr_block}\n\n### Stored detectors\n\n| checkpoint | ood.npz |\n|---|---:|\n{sizes}\n")
    if args.write:
        write_doc(block)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
