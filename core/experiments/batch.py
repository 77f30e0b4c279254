"""What a sweep runs on, and one batch of its clips.

The checkpoints, clips and conditions of a sweep and its identity (config, checkpoint weights,
clips); then a batch of decoded clips, the frames each checkpoint samples, their clean encodings,
corrupted views and the model inputs made from them.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from core import corruptions
from core.datasets import Sample, load_dataset
from core.experiments.config import FRAME_LOCAL, ExperimentConfig, ExperimentError
from core.inference import default_checkpoint
from core.media import Clip
from core.models import audio_input, audio_present, load_checkpoint, video_input, video_present
from core.models.preprocessing import sample_indices
from core.results import CLEAN


@dataclass
class _Checkpoint:
    name: str
    path: Path
    model: torch.nn.Module
    classes: list[str]
    fingerprint: str

    @property
    def num_frames(self) -> int:
        return self.model.preprocessing[0].num_frames


def _load_checkpoints(paths: Sequence[str]) -> list[_Checkpoint]:
    out, seen = [], {}
    if not paths:
        try:
            paths = [str(default_checkpoint())]
        except OSError as exc:
            raise ExperimentError("No checkpoint was given and checkpoints/DEFAULT cannot be read; "
                                  "pass --checkpoint DIR.") from exc
    for p in paths:
        path = Path(p).resolve()
        loaded = load_checkpoint(path)
        name = path.name if path.name not in seen else f"{path.name}#{seen[path.name] + 1}"
        seen[path.name] = seen.get(path.name, 0) + 1
        digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()[:16]
        out.append(_Checkpoint(name, path, loaded.model.eval(), list(loaded.classes), digest))
    return out


def _samples(config: ExperimentConfig, checkpoints: list[_Checkpoint]) -> list[Sample]:
    samples = list(load_dataset(config.data, split=config.split).standard().samples)[: config.limit]
    if not samples:
        raise ExperimentError(f"The data set at '{config.data}' has no single-label clips to sweep.")
    for ck in checkpoints:
        unknown = sorted({s.label for s in samples} - set(ck.classes))
        if unknown:
            raise ExperimentError(f"The data set has classes checkpoint '{ck.name}' does not know: "
                                  f"{', '.join(unknown)}.")
    return samples


def _conditions(config: ExperimentConfig) -> list[tuple[str, int, str]]:
    names = config.corruptions or tuple(corruptions.names())
    return [(CLEAN, 0, "none")] + [(n, s, corruptions.get(n).modality) for n in names for s in config.severities]


def _key(config: dict, checkpoints: list[_Checkpoint], samples: list[Sample]) -> str:
    """The sweep's identity: config (name aside), checkpoint weights and the clips (path, label, size)."""
    ident = {k: v for k, v in config.items() if k not in ("name", "checkpoints")}
    ident["checkpoints"] = [c.fingerprint for c in checkpoints]
    ident["clips"] = [(str(s.path), s.label, s.path.stat().st_size) for s in samples]
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- one batch of clips


class _Batch:
    """Decoded clips of one batch, the frames each checkpoint samples, and their clean encodings."""

    def __init__(self, clips: list[Clip], indices: list[int], checkpoints: list[_Checkpoint]):
        self.clips = clips
        self.indices_in_data = indices
        counts = sorted({ck.num_frames for ck in checkpoints})
        # per clip: indices into the full clip of each frame count, and their union (the "seen" frames)
        self.indices = [{n: sample_indices(c.frames.shape[0], n) for n in counts} if c.has_video else {}
                        for c in clips]
        self.seen_idx = [np.unique(np.concatenate(list(ix.values()))) if ix else None for ix in self.indices]
        self.seen = [c.replace(frames=c.frames[s]) if s is not None else c for c, s in zip(clips, self.seen_idx)]
        self.clean: dict[str, dict] = {}  # checkpoint name -> {"audio"|"video": (emb, tokens, mask)}

    def frames_for(self, view: list[Clip], seen: bool, i: int, num_frames: int) -> np.ndarray:
        """The ``num_frames`` frames a checkpoint samples from clip ``i`` of a (possibly corrupted) view."""
        frames = view[i].frames
        if not self.indices[i] or frames.shape[0] == 0:
            return frames
        idx = self.indices[i][num_frames]
        return frames[np.searchsorted(self.seen_idx[i], idx)] if seen else frames[idx]


def _encode(fn, x: torch.Tensor, mask: torch.Tensor, dim: int, token_dim: int):
    """Encode the clips whose modality is present; missing ones get zeros (``fuse`` masks them anyway)."""
    present = mask > 0
    b = x.shape[0]
    if not bool(present.any()):
        return x.new_zeros(b, dim), x.new_zeros(b, 1, token_dim)
    if bool(present.all()):
        return fn(x)
    emb, tokens = fn(x[present])  # (P, E), (P, L, D)
    full_emb, full_tokens = emb.new_zeros(b, emb.shape[1]), tokens.new_zeros(b, *tokens.shape[1:])
    full_emb[present], full_tokens[present] = emb, tokens
    return full_emb, full_tokens


def _video_inputs(batch: _Batch, view: list[Clip], seen: bool, spec, presence: list[Clip]):
    """Video tensor (B, 3, T, S, S) and mask (B,) of a view; presence is judged on all frames held."""
    mask = torch.tensor([float(video_present(c.frames)) for c in presence])
    x = torch.stack([video_input(batch.frames_for(view, seen, i, spec.num_frames), c.fps, spec) if m
                     else torch.zeros(spec.input_shape()) for i, (c, m) in enumerate(zip(view, mask))])
    return x, mask


def _audio_inputs(view: list[Clip], spec):
    """Audio tensor (B, N) or (B, 1, F, T) and mask (B,) of a view."""
    mask = torch.tensor([float(audio_present(c.audio)) for c in view])
    xs = [audio_input(c.audio, c.sr, spec) for c in view]
    return torch.stack([a if m else torch.zeros_like(a) for a, m in zip(xs, mask)]), mask


def _corrupt(batch: _Batch, name: str, severity: int, config: ExperimentConfig):
    """The corrupted view of a batch and whether it holds only the sampled frames."""
    c = corruptions.get(name)
    seed, indices = config.seed, batch.indices_in_data
    seen = config.frames == "seen" and name in FRAME_LOCAL
    source = batch.seen if seen else batch.clips
    out = [c.apply(clip, severity, rng=np.random.default_rng([seed, i, zlib.crc32(name.encode()), severity]))
           for clip, i in zip(source, indices)]
    return out, seen
