"""Why does the video branch not learn the valve lever? A diagnostic, not part of the product.

Trains the ``small3d`` encoder + one linear layer on video alone and prints, per epoch,
the validation accuracy and the lever accuracy (valve_open vs not, on valve clips).

    # (a) open vs closed only, freshly rendered frames (no MP4), N clips per class
    python docs/diagnostics/video_lever.py valve-binary --clips 300
    # (b) all 7 classes from the decoded MP4s of a factory-av folder (what phase I sees)
    python docs/diagnostics/video_lever.py real-7class --data data/factory-av [--oversample-valves 2]
    # (c) the same with a fifth stage, or with targets spread over what video cannot tell apart
    python docs/diagnostics/video_lever.py real-7class --oversample-valves 2 --widths 16,32,64,128,128
    python docs/diagnostics/video_lever.py real-7class --oversample-valves 2 --soft-groups

Figures measured with it: docs/diagnostics/README.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.datasets import load_dataset  # noqa: E402
from core.media import load_clip  # noqa: E402
from core.models.encoders import build_encoder  # noqa: E402
from core.models.preprocessing import sample_indices  # noqa: E402
from core.synth import CLASSES, SEED_BASES, generate_clip  # noqa: E402


def _resize(frames: np.ndarray, size: int) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255  # (T, 3, H, W)
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return (x * 255).round().to(torch.uint8)


def rendered_valves(split: str, clips: int, num_frames: int, size: int):
    """Open and closed valves rendered from seeds outside the data sets' ranges (half a million up)."""
    xs, ys = [], []
    for i in range(clips):
        for label in ("valve_closed", "valve_open"):
            seed = SEED_BASES[split] + 500_000 + 2 * i + (label == "valve_open")
            clip, _ = generate_clip(label, split=split, seed=seed, duration=num_frames / 16)
            xs.append(_resize(clip.frames, size))
            ys.append(CLASSES.index(label))
    return torch.stack(xs), torch.tensor(ys)


def decoded_split(data: str, split: str, num_frames: int, size: int):
    xs, ys = [], []
    for s in load_dataset(data, split=split).standard().samples:
        frames = load_clip(s.path).frames
        xs.append(_resize(frames[sample_indices(len(frames), num_frames)], size))
        ys.append(CLASSES.index(s.label))
    return torch.stack(xs), torch.tensor(ys)


def oversample_valves(x: torch.Tensor, y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each valve clip k times, each valve_open clip 2k times (factory-av has two closed-looking classes)."""
    if k <= 1:
        return x, y
    repeats = torch.ones_like(y)
    repeats[torch.isin(y, torch.tensor([CLASSES.index("valve_closed"), CLASSES.index("valve_leak")]))] = k
    repeats[y == CLASSES.index("valve_open")] = 2 * k
    return x.repeat_interleave(repeats, dim=0), y.repeat_interleave(repeats)


def _jitter(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """(B, T, 3, S, S): a quarter turn, a mirror and a colour-channel permutation (as core.training)."""
    x = torch.rot90(x, int(rng.integers(4)), dims=(3, 4))
    if rng.random() < 0.5:
        x = x.flip(4)
    return x[:, :, torch.from_numpy(rng.permutation(3))]


def _as_input(x: torch.Tensor) -> torch.Tensor:
    return (x.float() / 255).permute(0, 2, 1, 3, 4)  # (B, 3, T, S, S); small3d normalises each frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("valve-binary", "real-7class"))
    parser.add_argument("--clips", type=int, default=300, help="valve-binary: training clips per class")
    parser.add_argument("--data", default="data/factory-av", help="real-7class: the factory-av folder")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--widths", default="16,32,64,128", help="small3d stage widths")
    parser.add_argument("--soft-groups", action="store_true",
                        help="spread each target over the classes video cannot tell apart (fan, closed-looking valve, pump)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--oversample-valves", type=int, default=1, metavar="K",
                        help="repeat each valve clip K times per epoch, valve_open clips 2K (open:closed 1:1)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    if args.task == "valve-binary":
        (xtr, ytr), (xva, yva) = (rendered_valves(s, n, args.frames, args.size) for s, n in
                                  (("train", args.clips), ("val", 300)))
    else:
        (xtr, ytr), (xva, yva) = (decoded_split(args.data, s, args.frames, args.size) for s in ("train", "val"))
    xtr, ytr = oversample_valves(xtr, ytr, args.oversample_valves)
    encoder = build_encoder("small3d", num_frames=args.frames, size=args.size,
                            widths=tuple(int(w) for w in args.widths.split(",")))
    head = nn.Linear(encoder.out_dim, len(CLASSES))
    params = [*encoder.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, 2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=args.epochs * ((len(ytr) + 31) // 32))
    open_, valves = CLASSES.index("valve_open"), torch.tensor([CLASSES.index(c) for c in CLASSES if "valve" in c])
    groups = torch.zeros(len(CLASSES), len(CLASSES))  # row y: the classes that look like y, equally
    for same in (("fan_normal", "fan_fault"), ("valve_closed", "valve_leak"), ("pump_normal", "pump_cavitation"),
                 ("valve_open",)):
        for a in same:
            for b in same:
                groups[CLASSES.index(a), CLASSES.index(b)] = 1 / len(same)
    for epoch in range(args.epochs):
        started, losses = time.perf_counter(), []
        encoder.train()
        for idx in torch.randperm(len(ytr)).split(32):
            targets = (groups[ytr[idx]] if args.soft_groups else F.one_hot(ytr[idx], len(CLASSES)).float())
            logits = head(encoder(_as_input(_jitter(xtr[idx], rng)))[0])
            loss = -(targets * F.log_softmax(logits, 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        encoder.eval()
        with torch.no_grad():
            pred = torch.cat([head(encoder(_as_input(x))[0]).argmax(1) for x in xva.split(64)])
        on_valves = torch.isin(yva, valves)
        lever = ((pred[on_valves] == open_) == (yva[on_valves] == open_)).float().mean().item()
        print(f"epoch {epoch + 1:2d}  loss {np.mean(losses):.3f}  val {(pred == yva).float().mean():.3f}  "
              f"lever {lever:.3f}  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
