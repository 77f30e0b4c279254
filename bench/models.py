"""Predict latency for one decoded 5 s clip, per shipped checkpoint and for the paper configuration.

    python bench/models.py [--runs 15] [--threads 2] [--device auto|cpu|cuda] [--throughput]

Times Predictor.predict_batch([clip]) (preprocessing + both encoders + fusion + three heads)
on a decoded factory-av sample clip: median of several runs after a warm-up. The paper
configuration (R3D-18 + Wav2Vec2 + cross-attention) is timed with freshly initialised
weights (no paper checkpoint is shipped), in its small and Base-sized audio configs. The
ratio column is against the default checkpoint measured in the same run. ``--throughput`` also
times batches of 32 clips (clips/s) for the default and the paper configuration (Base): what a GPU
is for.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.inference import CHECKPOINTS, Predictor, default_checkpoint  # noqa: E402
from core.media import load_clip  # noqa: E402
from core.models import AVModel, LoadedCheckpoint, ModelConfig  # noqa: E402
from core.zoo import checkpoint_dirs  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "test" / "valve_leak_2000004.mp4"


def median_ms(predictor: Predictor, clip, runs: int) -> float:
    predictor.predict_batch([clip])  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        predictor.predict_batch([clip])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def paper_predictor(audio_size: str, device: str) -> Predictor:
    config = ModelConfig(video_encoder="r3d_18", audio_encoder="wav2vec2", audio_kwargs={"size": audio_size},
                         fusion="cross_attention")
    model = AVModel(config).eval()
    return Predictor(LoadedCheckpoint(model=model, config=config, classes=[str(i) for i in range(7)], metadata={}),
                     device=device)


def clips_per_second(predictor: Predictor, clip, batch: int, runs: int) -> float:
    clips = [clip] * batch
    predictor.predict_batch(clips)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        predictor.predict_batch(clips)
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps")
    parser.add_argument("--throughput", action="store_true", help="also clips/s at batch 32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clip = load_clip(SAMPLE)
    default = default_checkpoint().name
    results = {}
    for folder in checkpoint_dirs(CHECKPOINTS):
        results[folder.name] = median_ms(Predictor.load(folder, device=args.device), clip, args.runs)
    for size in ("small", "base"):
        results[f"paper r3d_18+wav2vec2({size})+cross_attention"] = median_ms(paper_predictor(size, args.device),
                                                                                clip, max(3, args.runs // 3))
    base = results.get(default) or next(iter(results.values()))
    print(f"predict latency on {args.device}, one decoded 5 s clip, {args.threads} threads (median):")
    for name, ms in results.items():
        flag = " (default)" if name == default else ""
        print(f"  {name + flag:<52} {ms:8.1f} ms   {ms / base:6.2f}x default")
    if args.throughput:
        print("throughput at batch 32 (median of 3):")
        for name, predictor in ((default, Predictor.load(default_checkpoint(), device=args.device)),
                                ("paper r3d_18+wav2vec2(base)+cross_attention", paper_predictor("base", args.device))):
            print(f"  {name:<52} {clips_per_second(predictor, clip, 32, 3):8.1f} clips/s")


if __name__ == "__main__":
    main()
