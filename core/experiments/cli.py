"""The command line: ``python -m core.experiments run|list|show|compare|export|delete|suites ...``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core import corruptions
from core.corruptions import suites
from core.experiments.config import FRAME_MODES, ExperimentConfig, ExperimentError, as_list, select_corruptions
from core.experiments.sweep import BACKENDS, run_experiment
from core.datasets import add_data_arguments, unreadable_sentence
from core.results import CLEAN, ResultsDB, ResultsError, compare


def _print_table(df, floats: str = "{:.3f}") -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_columns", 30):
        print(df.to_string(index=False, float_format=lambda x: floats.format(x)))


def progress_bar(*, quiet: bool = False, file=None):
    """``(bar, report)``: a tqdm bar on stderr and the ``progress(done, total, message)`` callback that drives it.

    The bar shows clip-conditions done of the total, the rate and the time left (ETA); clip-conditions already
    stored when a sweep continues are its starting point, so they do not inflate the rate.
    """
    from tqdm import tqdm

    bar = tqdm(total=0, unit="clip-cond", disable=quiet, file=file or sys.stderr, dynamic_ncols=True,
               mininterval=0.5)

    first = [True]

    def report(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.set_postfix_str(message, refresh=False)
        if first[0]:  # what is already stored: the bar's initial count, and the clock starts now
            first[0] = False
            bar.initial = bar.n = bar.last_print_n = done
            bar.start_t = bar.last_print_t = time.time()
            bar.refresh()
        else:
            bar.update(done - bar.n)

    return bar, report


def _cmd_run(args) -> int:
    base = ExperimentConfig.from_file(args.config).to_dict() if args.config else {}
    suite = args.suite or base.get("suite", "avlab")
    flags = {"checkpoints": args.checkpoint, "data": args.data, "layout": args.layout, "fold": args.fold,
             "split": args.split, "suite": args.suite,
             "corruptions": select_corruptions(args.corruptions, suite) if args.corruptions else None,
             "severities": args.severities, "seed": args.seed, "batch_size": args.batch_size,
             "frames": args.frames, "limit": args.limit, "name": args.name}
    config = ExperimentConfig.from_dict({**base, **{k: v for k, v in flags.items() if v is not None}})
    if args.backend == "local" and (args.address or args.workers):
        raise ExperimentError("--address and --workers are for --backend ray.")
    bar, report = progress_bar(quiet=args.quiet)
    started = time.perf_counter()
    try:
        eid = run_experiment(config, db=args.db, progress=report, reuse_embeddings=not args.no_reuse,
                             threads=args.threads, device=args.device, backend=args.backend, address=args.address,
                             workers=args.workers)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    print(f"experiment {eid} complete in {seconds:.1f} s; `python -m core.experiments show {eid}` for the results")
    return 0


def _cmd_show(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        exp = db.get_experiment(args.id)
        summary = db.summary(args.id, reference=args.reference)
        weights = db.modality_weights(args.id)
        if args.json:
            print(json.dumps({"experiment": exp | {"clips": len(exp["clips"])},
                              "summary": json.loads(summary.to_json(orient="records")),
                              "conditions": json.loads(db.condition_metrics(args.id).to_json(orient="records")),
                              "modality_weights": json.loads(weights.to_json(orient="records"))}))
            return 0
    print(f"experiment {exp['id']} '{exp['name']}': {len(exp['checkpoints'])} checkpoint(s) x "
          f"{len(exp['clips'])} clips "
          f"x {len(exp['conditions'])} conditions; {100 * exp['progress']:.0f} % done, {exp['seconds']:.0f} s computed")
    if exp["skipped"]:
        print(unreadable_sentence(exp["skipped"]))
    protocol = exp["config"].get("suite", "avlab")
    print(f"suite: {protocol} ({suites.SUITES[protocol].source if protocol in suites.SUITES else 'unknown'}); "
          f"mCE relative to {summary['reference'].iloc[0]}")
    print(f"config: {json.dumps(exp['config'])}\n")
    _print_table(summary)
    everyday = weights[weights["condition"].isin([CLEAN, *(f"{n}:{s}" for n, s in  # mute once, at 1
                                                         corruptions.grid(("mute", "gaussian_blur")))])]
    if not everyday.empty and everyday["weight_audio"].notna().any():
        print("\nmean modality weights (normal / muted / blurred):")
        _print_table(everyday.drop(columns=["corruption", "severity"]))
    return 0


def _cmd_list(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        table = db.list_experiments()
    if table.empty:
        print("no experiments yet")
    else:
        _print_table(table, "{:.2f}")
    return 0


def _cmd_export(args) -> int:
    out = Path(args.out or f"experiment_{args.id}{'_summary' if args.table == 'summary' else ''}.{args.format}")
    with ResultsDB(args.db, create=False) as db:
        path = db.export(args.id, out, format=args.format, table=args.table, reference=args.reference)
    print(f"wrote {path}")
    return 0


def _cmd_suites(args) -> int:
    if args.json:
        print(json.dumps([{"name": s.name, "title": s.title, "source": s.source, "protocol": s.protocol,
                           "corruptions": list(s.corruptions), "severities": list(s.severities),
                           "reference": s.reference, "held_out": list(s.held_out)} for s in suites.SUITES.values()]))
        return 0
    for s in suites.SUITES.values():
        print(f"{s.name}: {s.title}, {len(s.corruptions)} corruptions at severities "
              f"{','.join(map(str, s.severities))}, {len(s.conditions()) if not s.missing() else '?'} conditions"
              f"{' (default)' if s.name == 'avlab' else ''}\n  {s.protocol}\n  source: {s.source}\n"
              f"  {', '.join(s.corruptions)}\n")
    return 0


def _cmd_compare(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        result = compare(db, args.ids, reference=args.reference, head=args.head)
    if args.json:
        print(json.dumps({"experiments": list(result.experiments), "conditions": list(result.conditions),
                          "notes": list(result.notes), "leaderboard": json.loads(result.table.to_json(orient="records"))}))
        return 0
    for note in result.notes:
        print(note)
    print(f"{args.head} head of experiments {', '.join(map(str, result.experiments))} on the {len(result.conditions)} "
          f"conditions they all measured (suite {result.table['suite'].iloc[0]}; mCE relative to "
          f"{result.table['reference'].iloc[0]}):\n")
    _print_table(result.table.drop(columns=["suite", "reference"]))
    return 0


def _cmd_delete(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        db.delete_experiment(args.id)
    print(f"deleted experiment {args.id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from core import experiments  # the package's docstring describes the command

    parser = argparse.ArgumentParser(prog="python -m core.experiments",
                                     description=experiments.__doc__.splitlines()[0])
    parser.add_argument("--db", help="results database (default $AVLAB_DB or results/avlab.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run or continue a sweep")
    run.add_argument("--config", help="JSON or YAML file with ExperimentConfig fields (flags override it)")
    run.add_argument("--model", "--checkpoint", dest="checkpoint", action="append", metavar="SPEC",
                     help="checkpoint folder, or model file / folder with its avlab.json sidecar (repeat for several; "
                          "default: the shipped default); --checkpoint is an alias")
    add_data_arguments(run, data_help="the data set's folder: manifest.csv, a folder per class, or a published data "
                                      "set as it ships (see --layout; default sample_data)")
    run.add_argument("--split", help="only this split (train, val, test)")
    run.add_argument("--suite", choices=suites.names(),
                     help="a published protocol's corruptions and severities (default avlab; `suites` lists them)")
    run.add_argument("--corruptions", help="'all' (the suite's, default), a modality (audio, video, audiovisual) "
                                           "or names a,b,c")
    run.add_argument("--severities", help="comma-separated severities 1-5 (default the suite's: all five, "
                                          "5 for read)")
    run.add_argument("--seed", type=int)
    run.add_argument("--batch-size", type=int)
    run.add_argument("--frames", choices=FRAME_MODES, help="corrupt only the sampled frames (seen) or all frames")
    run.add_argument("--limit", type=int, help="only the first N clips")
    run.add_argument("--name", help="a label for `list`")
    run.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    run.add_argument("--device", default="auto", help="auto (the GPU when there is one; default), cpu, cuda or mps")
    run.add_argument("--no-reuse", action="store_true", help="recompute both branches for every condition")
    run.add_argument("--backend", choices=BACKENDS, default="local",
                     help="local (this process; default) or ray (CPU tasks decode and corrupt, model actors infer; "
                          "docs/RAY.md)")
    run.add_argument("--address", help="with --backend ray: auto (this node's cluster), ray://HOST:10001 or HOST:PORT; "
                                       "default: a local Ray on this machine")
    run.add_argument("--workers", type=int, help="with --backend ray: model actors (default one per GPU, else half "
                                                 "the cluster's CPUs)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    show = sub.add_parser("show", help="robustness summary of an experiment")
    show.add_argument("id", type=int)
    show.add_argument("--reference", "--baseline", dest="reference", metavar="NAME",
                      help="model the mCE is relative to: a checkpoint of this sweep or of a comparable stored one, "
                           "or imagenet-c (AlexNet's published errors); default the suite's, else the first model")
    show.add_argument("--json", action="store_true", help="everything as one JSON object")
    sub.add_parser("list", help="the experiments in the database")
    export = sub.add_parser("export", help="per-clip rows to CSV or Parquet")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", help="output file (default experiment_ID.FORMAT)")
    export.add_argument("--table", choices=("rows", "summary"), default="rows",
                        help="per-clip rows (default), or the robustness summary per model x head with its suite")
    export.add_argument("--reference", help="the summary's mCE reference (as in `show`)")
    compare_cmd = sub.add_parser("compare", help="leaderboard of the models of several sweeps, on the conditions "
                                                 "they all measured")
    compare_cmd.add_argument("ids", type=int, nargs="+", metavar="ID")
    compare_cmd.add_argument("--reference", help="the mCE reference: a model of one of them, or imagenet-c "
                                                 "(default: the suite's, else the first sweep's first model)")
    compare_cmd.add_argument("--head", choices=("audio", "video", "fused"), default="fused")
    compare_cmd.add_argument("--json", action="store_true")
    suites_cmd = sub.add_parser("suites", help="the published protocols a sweep can follow, with their sources")
    suites_cmd.add_argument("--json", action="store_true")
    delete = sub.add_parser("delete", help="remove an experiment and its rows")
    delete.add_argument("id", type=int)
    args = parser.parse_args(argv)
    if getattr(args, "severities", None):
        args.severities = as_list(args.severities)
    commands = {"run": _cmd_run, "show": _cmd_show, "list": _cmd_list, "export": _cmd_export, "delete": _cmd_delete,
                "suites": _cmd_suites, "compare": _cmd_compare}
    try:
        return commands[args.command](args)
    except (ExperimentError, ResultsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: everything stored so far is kept; run the same command again to continue.",
              file=sys.stderr)
        return 130
