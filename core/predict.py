"""Predict one clip: ``python -m core.predict CLIP [--audio FILE] [--model SPEC] [--device auto] [--json]``.

Prints the audio-only, video-only and fused heads' top classes and probabilities, the
modality weights where the fusion has them, and per-window results for clips longer
than one window. Bad input: exit code 2 and one plain sentence on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys

from core.inference import HEADS, Predictor
from core.media import MediaError, Pair, decoding_notes, load_clip
from core.models import ModelError

EXIT_BAD_INPUT = 2


def _report(result, model, path) -> str:
    overall = result.overall
    lines = [f"{path}  (model {model.name}, {model.format})"]
    for head in HEADS:
        label, p = overall.top(head)
        kind = "  by ablation" if overall.head_kinds[head] == "ablation" else ""
        answer = f"{label:<16} {p:6.1%}" if overall.answered(head) else f"{'no input':<16} {'':>6}"
        lines.append(f"  {head:<6} {answer}{kind}")
    if overall.weights is not None:
        lines.append(f"  modality weights  audio {overall.weights[0]:.2f}  video {overall.weights[1]:.2f}")
    if note := overall.unfamiliar_note():
        lines.append(f"  {note}")
    if note := result.padding_note():
        lines.append(f"  {note}")
    missing = [m for m, seen in overall.present.items() if not seen]
    if missing:
        lines.append(f"  missing or silent: {', '.join(missing)}")
    if result.windows:
        lines.append(f"  {len(result.windows)} windows:  start   audio            video            fused")
        for w in result.windows:
            tops = "  ".join(f"{w.prediction.label(h) or 'no input':<16}" for h in HEADS)
            lines.append(f"             {w.start:6.2f}s  {tops}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.predict", description=__doc__.splitlines()[0])
    parser.add_argument("clip", help="audio/video file (mp4, mov, webm, mkv, avi, wav, mp3, flac, ogg)")
    parser.add_argument("--audio", metavar="FILE",
                        help="the clip's sound kept in a file of its own (CLIP is then its video file): the two are "
                             "decoded as one clip, each from its own start, their durations checked")
    parser.add_argument("--model", "--checkpoint", dest="model", metavar="SPEC",
                        help="checkpoint folder, or model file / folder with its avlab.json sidecar "
                             "(default: the shipped default); --checkpoint is an alias")
    parser.add_argument("--device", default="auto", help="auto (the GPU when there is one; default), cpu, cuda, mps")
    parser.add_argument("--window", type=float, default=5.0, help="window length in seconds (long clips)")
    parser.add_argument("--stride", type=float, default=1.0, help="window stride in seconds (long clips)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        if args.window <= 0 or args.stride <= 0:
            raise ValueError("Window and stride must be positive numbers of seconds.")
        predictor = Predictor.load(args.model, device=args.device)
        source = Pair(args.clip, args.audio) if args.audio else args.clip
        clip = load_clip(source)
        result = predictor.predict(clip, window=args.window, stride=args.stride)
    except (MediaError, ModelError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        model = predictor.model
        print(json.dumps({"clip": str(source), "duration": round(clip.duration, 3), "classes": list(predictor.classes),
                          "model": model.describe(), "media": clip.metadata,
                          **result.to_dict()}))
    else:
        print(_report(result, predictor.model, source))
        for note in decoding_notes(clip.metadata):
            print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
