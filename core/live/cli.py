"""Watch a live source: ``python -m core.live SOURCE [--model SPEC] [--rules FILE] [--json] ...``.

Prints one line per window (the three heads, modality weights, the lag, what is wrong with a
sense) or one JSON object per line, and the events (stream dropped, resumed) and alerts as they
happen. Runs until stopped: Ctrl-C (SIGINT) or SIGTERM end it with exit code 0, as does the end of
a replayed file (unless ``--loop``). Bad input: exit code 2 and one plain sentence on stderr.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys

from core.inference import Predictor
from core.live.alerts import Alert, default_db_path
from core.live.monitor import LiveWindow, Monitor
from core.live.reader import Event
from core.live.rules import load_rules
from core.live.sources import LiveError, parse_source
from core.models import HEADS, ModelError

EXIT_BAD_INPUT = 2


def window_line(item: LiveWindow) -> str:
    """One line for a window, plus an indented line per note (a sense unhealthy, an unfamiliar scene)."""
    pred = item.prediction
    heads = "  ".join(f"{h} {pred.label(h) or 'no input':<16}"
                      + (f"{pred.top(h)[1]:4.0%}" if pred.answered(h) else "    ") for h in HEADS)
    weights = (f"  weights a {pred.weights[0]:.2f} v {pred.weights[1]:.2f}"
               if pred.weights is not None and pred.answered("fused") else "")
    lag = f"  lag {item.lag:.2f} s" if item.lag is not None else ""
    skipped = f"  ({item.skipped} window{'s' if item.skipped > 1 else ''} skipped)" if item.skipped else ""
    return "\n".join([f"{item.end:8.1f} s  {heads}{weights}{lag}{skipped}"] +
                     [f"{'':10}  {note}" for note in item.notes()])


def print_item(item, as_json: bool) -> None:
    if as_json:
        print(json.dumps(item.to_dict() if not isinstance(item, Alert) else {"type": "alert", **item.to_dict()}),
              flush=True)
    elif isinstance(item, LiveWindow):
        print(window_line(item), flush=True)
    elif isinstance(item, Event):
        print(f"{item.time:8.1f} s  event  {item.kind}: {item.message}", flush=True)
    elif isinstance(item, Alert):
        print(f"{item.session_time:8.1f} s  ALERT  {item.message}  (clip {item.clip})", flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.live", description=__doc__.splitlines()[0])
    parser.add_argument("source", help="stream URL (rtsp://, rtmp://, srt://, udp://, http://), a file to replay "
                                       "(file://PATH or a path), 'device', or v4l2:/dev/videoN[+alsa:NAME]")
    parser.add_argument("--model", "--checkpoint", dest="model", metavar="SPEC",
                        help="checkpoint folder, or model file / folder with its avlab.json sidecar "
                             "(default: the shipped default)")
    parser.add_argument("--device", default="auto", help="auto (the GPU when there is one; default), cpu, cuda, mps")
    parser.add_argument("--rules", metavar="FILE", help="alert rules (YAML; see examples/live_rules.yaml)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of each window (default 5)")
    parser.add_argument("--stride", type=float, default=1.0, help="seconds between windows (default 1)")
    parser.add_argument("--alerts-db", metavar="PATH", default=None,
                        help=f"alerts database (default $AVLAB_LIVE_DB or {default_db_path()})")
    parser.add_argument("--webhook", metavar="URL", help="POST every alert to this URL as JSON")
    parser.add_argument("--replay", action="store_true", help="SOURCE is a file, replayed at its real rate")
    parser.add_argument("--loop", action="store_true", help="replay the file again and again")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed (default 1: real time)")
    parser.add_argument("--max-side", type=int, default=320, help="keep frames at most this many pixels wide/high")
    parser.add_argument("--read-timeout", type=float, default=3.0,
                        help="seconds without data before a stream counts as dropped (default 3)")
    args = parser.parse_args(argv)
    try:
        source = parse_source(args.source, replay=args.replay, loop=args.loop, speed=args.speed)
        rules = load_rules(args.rules) if args.rules else []
        predictor = Predictor.load(args.model, device=args.device)
        monitor = Monitor(source, predictor, window=args.window, stride=args.stride, rules=rules,
                          alerts_db=args.alerts_db, webhook=args.webhook, max_side=args.max_side,
                          read_timeout=args.read_timeout)
    except (LiveError, ModelError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # Ctrl-C and a polite kill end the monitor cleanly (exit 0), also where the shell started it with SIGINT
    # ignored (a background job of a script)
    handlers = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _watch(monitor, predictor, source, rules, args)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _watch(monitor: Monitor, predictor, source, rules, args) -> int:
    model = predictor.model
    header = {"type": "started", "source": source.label, "kind": source.kind, "model": model.describe(),
              "classes": list(predictor.classes), "window": args.window, "stride": args.stride,
              "rules": [r.describe() for r in rules], "alerts_db": str(monitor.alerts_db)}
    if args.json:
        print(json.dumps(header), flush=True)
    else:
        print(f"watching {source.label} ({source.kind}) with {model.name}: {args.window:g} s windows every "
              f"{args.stride:g} s; {len(rules)} rule{'s' if len(rules) != 1 else ''}; alerts in {monitor.alerts_db}",
              flush=True)
    failed = None
    try:
        for item in monitor.run():
            print_item(item, args.json)
            if isinstance(item, Event) and item.kind == "failed":
                failed = item.message
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # the reader of our output went away (| head)
        return 0
    if failed:
        print(f"error: {failed}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
