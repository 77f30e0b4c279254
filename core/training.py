"""Two-phase training of an AV fusion model; ``python -m core.training --config FILE``.

Phase I trains each encoder with its own head on its own modality (both branches in
one loop, each with its own early stopping). Phase II freezes the encoders and trains
the fusion and the fused head. Options: class weighting, mixup, sliding-window
augmentation of long clips, modality dropout and corruption augmentation drawn from
the corruption registry (the robust variants).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from tqdm import tqdm

from core import corruptions
from core.datasets import Dataset, Sample, load_dataset
from core.media import Clip, load_clip, sliding_windows
from core.metrics import classification_report
from core.models import AVModel, AvlabModel, ModelConfig, save_checkpoint
from core.models.preprocessing import batch_inputs, sample_indices

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class TrainingConfig:
    """Everything one training run depends on; stored in the checkpoint."""

    name: str
    model: dict
    data: str = "data/factory-av"
    generate: dict = field(default_factory=lambda: {"train": 100, "val": 30, "test": 30, "long_train": 14})
    out: str = ""
    seed: int = 0
    batch_size: int = 32
    phase1_epochs: int = 25
    phase2_epochs: int = 15
    lr: float = 2e-3
    fusion_lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    class_weighting: bool = False
    mixup_alpha: float = 0.0
    gain_jitter_db: float = 6.0
    flip: bool = True
    window_stride: float = 1.25
    modality_dropout: float = 0.0
    corruption_prob: float = 0.0
    corruption_names: tuple[str, ...] = ()
    phase1_repeat: dict = field(default_factory=dict)  # class -> times its examples appear per phase-I epoch
    phase1_confusable: dict = field(default_factory=dict)  # branch -> groups of classes it cannot tell apart
    augment_copies: int = 4
    dtype: str = "float16"
    threads: int = 2
    phase1_cache: str = "runs/phase1"

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainingConfig":
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"The training config {path} is not a mapping of keys to values.")
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"The training config {path} has unknown key(s) {sorted(unknown)}.")
        missing = {"name", "model"} - set(raw)
        if missing:
            raise ValueError(f"The training config {path} lacks the key(s) {sorted(missing)}.")
        if "corruption_names" in raw:
            raw["corruption_names"] = tuple(raw["corruption_names"])
        return cls(**raw)

    @property
    def out_dir(self) -> Path:
        return ROOT / (self.out or f"checkpoints/{self.name}")  # an absolute ``out`` stays as it is

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["corruption_names"] = list(self.corruption_names)
        return d


# ----------------------------------------------------------------------------- data


@dataclass
class Example:
    """One training example: the frames the model samples, the audio, the label index."""

    frames: np.ndarray  # (num_frames, H, W, 3) uint8, already sampled TSN-style
    fps: float  # effective frame rate of the sampled frames
    audio: np.ndarray  # (N,) float32
    label: int


def ensure_data(config: TrainingConfig) -> Dataset:
    """The training data set; generated with core.synth when the folder has none."""
    root = ROOT / config.data
    if not (root / "manifest.csv").is_file():
        from core.synth import write_dataset

        for split in ("train", "val", "test"):
            write_dataset(root, split=split, per_class=config.generate[split],
                          long=config.generate.get(f"long_{split}", 0), workers=config.threads)
    dataset = load_dataset(root)
    _check_generated_counts(dataset, config)
    return dataset


def _check_generated_counts(dataset: Dataset, config: TrainingConfig) -> None:
    """Refuse a factory-av folder generated with other clip counts than the config asks for (a stale one).

    A folder not made by core.synth (rows without seeds) is taken as it is.
    """
    if not dataset.samples or any(s.seed is None for s in dataset.samples):
        return
    for split in ("train", "val", "test"):
        if split not in config.generate:
            continue
        samples = [s for s in dataset.samples if s.split == split]
        want = (config.generate[split] * len(dataset.classes), config.generate.get(f"long_{split}", 0))
        have = (sum(not s.is_long for s in samples), sum(s.is_long for s in samples))
        if have != want:
            raise ValueError(
                f"{config.data} holds {have[0]} standard and {have[1]} long {split} clips, but the config "
                f"generates {want[0]} and {want[1]}: delete the folder (or regenerate the split with "
                f"python -m core.synth) so that it matches.")


def _example(clip: Clip, label: int, num_frames: int) -> Example:
    picked = clip.frames[sample_indices(clip.frames.shape[0], num_frames)] if clip.has_video else clip.frames
    fps = clip.fps * num_frames / max(1, clip.frames.shape[0]) if clip.has_video else 0.0
    return Example(frames=np.ascontiguousarray(picked), fps=fps, audio=clip.audio, label=label)


@functools.lru_cache(maxsize=4)
def _cached_examples(samples: tuple[Sample, ...], classes: tuple[str, ...], num_frames: int,
                     window_stride: float | None, desc: str) -> tuple[Example, ...]:
    """Several configs trained in one process decode the data set once."""
    return tuple(examples_for(list(samples), classes, num_frames=num_frames, window_stride=window_stride, desc=desc))


def examples_for(samples: list[Sample], classes: tuple[str, ...], *, num_frames: int,
                 window_stride: float | None, desc: str) -> list[Example]:
    """Decode each sample once; long clips become 5 s windows lying inside one segment."""
    index = {c: i for i, c in enumerate(classes)}
    out: list[Example] = []
    for sample in tqdm(samples, desc=f"decode {desc}", leave=False, file=sys.stderr):
        clip = load_clip(sample.path)
        if not sample.is_long:
            out.append(_example(clip, index[sample.label], num_frames))
            continue
        if window_stride is None:
            continue
        for window in sliding_windows(clip, window=5.0, stride=window_stride):
            for start, end, label in sample.segments:
                if start <= window.start and window.end <= end + 1e-6:
                    out.append(_example(window.clip, index[label], num_frames))
    return out


class Augmenter:
    """Random corruptions from the registry for the robust variants (seeded)."""

    def __init__(self, config: "TrainingConfig", rng: np.random.Generator):
        self.rng = rng
        self.names = list(config.corruption_names) or corruptions.names()

    def corrupt(self, ex: Example) -> tuple[np.ndarray, np.ndarray]:
        """(frames, audio) of ``ex`` under one random corruption at a random severity."""
        name = self.names[self.rng.integers(len(self.names))]
        clip = Clip(frames=ex.frames, fps=ex.fps, audio=ex.audio, duration=ex.audio.size / 16_000)
        clip = corruptions.apply(clip, name, int(self.rng.integers(1, 6)), rng=self.rng)
        return clip.frames, clip.audio


def make_batch(model: AVModel, items: list[tuple[np.ndarray, float, np.ndarray]]):
    """(frames, fps, audio) triples to (video, audio, video_mask, audio_mask) tensors, masks boolean."""
    clips = [Clip(frames=f, fps=fps, audio=a, duration=a.size / 16_000) for f, fps, a in items]
    video, audio, vmask, amask = batch_inputs(clips, model)
    return video, audio, vmask.bool(), amask.bool()


def batches(examples: list[Example], batch_size: int, rng: np.random.Generator | None) -> Iterator[list[Example]]:
    order = rng.permutation(len(examples)) if rng is not None else np.arange(len(examples))
    for i in range(0, len(order), batch_size):
        yield [examples[j] for j in order[i:i + batch_size]]


# ----------------------------------------------------------------------------- loss


def repeat_classes(examples: list[Example], times: list[int]) -> list[Example]:
    """Each example ``times[its label]`` times: oversampling for phase I (``times`` from ``repeat_counts``).

    factory-av's video branch must learn the valve lever from valve_open against two
    closed-looking classes; repeating the valve clips (valve_open twice as often) gives it
    balanced, more frequent evidence (docs/diagnostics/README.md).
    """
    return [e for e in examples for _ in range(times[e.label])]


def repeat_counts(classes: tuple[str, ...], repeat: dict) -> list[int]:
    """Per class, how many times its examples appear per phase-I epoch; a bad ``phase1_repeat`` is refused."""
    if not isinstance(repeat, dict):
        raise ValueError("phase1_repeat must map class names to whole numbers of at least 1.")
    unknown = set(repeat) - set(classes)
    if unknown:
        raise ValueError(f"phase1_repeat names class(es) {sorted(unknown)} that the data set does not have.")
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in repeat.values()):
        raise ValueError("phase1_repeat counts must be whole numbers of at least 1.")
    return [repeat.get(c, 1) for c in classes]


TIE_BREAK = 0.2  # extra target of the first class of a group of confusable classes


def confusable_targets(classes: tuple[str, ...], groups) -> torch.Tensor:
    """(K, K) matrix whose row y spreads class y's target over y's group.

    A branch that cannot tell some classes apart by design (factory-av's video cannot
    hear a leak; its audio cannot see the lever) gets one target for all of them, so
    its phase-I loss stops pulling its embedding towards differences it cannot see
    (docs/diagnostics/README.md). One-hot targets times this matrix: the spread targets.
    The first class of a group gets ``TIE_BREAK`` more than the others, so that the head's
    top class is that one every time rather than a coin flip per clip.
    """
    spread = torch.eye(len(classes))
    seen: set[str] = set()
    for group in groups or ():
        group = list(group)
        unknown = set(group) - set(classes)
        if unknown:
            raise ValueError(f"phase1_confusable names class(es) {sorted(unknown)} that the data set does not have.")
        if seen & set(group) or len(set(group)) != len(group):
            raise ValueError("phase1_confusable lists a class in more than one group of a branch.")
        seen |= set(group)
        idx = [classes.index(c) for c in group]
        for i in idx:
            spread[i] = 0.0
            spread[i, idx] = (1.0 - TIE_BREAK) / len(idx)
            spread[i, idx[0]] += TIE_BREAK
    return spread


def _confusable_for_branches(classes: tuple[str, ...], confusable: dict) -> dict[str, torch.Tensor]:
    if not isinstance(confusable, dict):
        raise ValueError("phase1_confusable must map a branch (audio, video) to lists of classes.")
    unknown = set(confusable) - set(BRANCHES)
    if unknown:
        raise ValueError(f"phase1_confusable has key(s) {sorted(unknown)}; use the branches {list(BRANCHES)}.")
    return {b: confusable_targets(classes, confusable.get(b)) for b in BRANCHES}


def _class_weights(examples: list[Example], k: int, enabled: bool) -> torch.Tensor | None:
    if not enabled:
        return None
    counts = np.bincount([e.label for e in examples], minlength=k).astype(float)
    return torch.tensor(counts.sum() / (k * np.maximum(counts, 1)), dtype=torch.float32)


def soft_cross_entropy(logits, targets, weight=None) -> torch.Tensor:
    """Cross-entropy against soft targets (mixup); ``weight`` per class."""
    logp = F.log_softmax(logits, dim=1)  # (B, K)
    if weight is not None:
        targets = targets * weight[None, :]
    return -(targets * logp).sum(dim=1).mean()


def _mix(x: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * x + (1 - lam) * x[perm]


# ----------------------------------------------------------------------------- evaluation


@torch.inference_mode()
def predict_examples(model: AVModel, examples: list[Example], batch_size: int = 64) -> dict[str, np.ndarray]:
    """Probabilities of each head for the examples, plus modality weights where the model has them.

    Validation goes through the one inference path (:func:`core.inference.encode` / ``heads``).
    """
    from core.inference import encode, heads

    model.eval()
    wrapped = AvlabModel(model, [str(k) for k in range(model.config.num_classes)])
    out: dict[str, list] = {"audio": [], "video": [], "fused": [], "weights": []}
    with torch.no_grad():
        for batch in batches(examples, batch_size, None):
            video, audio, vmask, amask = make_batch(model, [(e.frames, e.fps, e.audio) for e in batch])
            am, vm = amask.float(), vmask.float()
            res = heads(wrapped, encode(wrapped, "audio", audio, am), encode(wrapped, "video", video, vm), am, vm)
            for head in ("audio", "video", "fused"):
                out[head].append(res.logits[head].softmax(1).numpy())
            if res.weights is not None:
                out["weights"].append(res.weights.numpy())
    return {k: np.concatenate(v) for k, v in out.items() if v}


def head_reports(model: AVModel, examples: list[Example], classes) -> dict:
    probs = predict_examples(model, examples)
    y = np.array([e.label for e in examples])
    return {head: classification_report(y, probs[head], classes) for head in ("audio", "video", "fused")}


# ----------------------------------------------------------------------------- phases


BRANCHES = {"audio": ("audio_encoder", "audio_proj", "audio_head"),
            "video": ("video_encoder", "video_proj", "video_head")}


def _branch_state(model: AVModel, branch: str) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.split(".")[0] in BRANCHES[branch]}


def _val_scores(model, examples, heads, spread: dict) -> dict[str, tuple[float, float, float]]:
    """Per head: accuracy, accuracy over groups and the loss against the spread targets.

    With ``spread`` (head -> ``confusable_targets``) a top class in the true class's group
    counts as right: what the branch can be asked to see.
    """
    probs = predict_examples(model, examples)
    y = np.array([e.label for e in examples])
    scores = {}
    for h in heads:
        top, targets = probs[h].argmax(1), spread[h].numpy()[y]  # (N,), (N, K)
        loss = -(targets * np.log(np.clip(probs[h], 1e-8, 1.0))).sum(1).mean()
        scores[h] = (float((top == y).mean()), float((targets[np.arange(len(y)), top] > 0).mean()), float(loss))
    return scores


def _jitter(ex: Example, rng, config) -> tuple[np.ndarray, float, np.ndarray]:
    """Label-preserving jitter of one example.

    Audio: a random gain. Video: the dihedral group of the square (mirror images and
    quarter turns keep the lever parallel or perpendicular to its pipe) and a random
    permutation of the colour channels (factory-av colours are random by design).
    """
    frames, audio = ex.frames, ex.audio
    if config.gain_jitter_db:
        gain = 10 ** (rng.uniform(-config.gain_jitter_db, config.gain_jitter_db) / 20)
        audio = np.clip(audio * gain, -1.0, 1.0).astype(np.float32)
    if config.flip and frames.shape[0]:
        if rng.random() < 0.5:
            frames = frames[:, :, ::-1]
        frames = np.rot90(frames, k=int(rng.integers(4)), axes=(1, 2))
        frames = np.ascontiguousarray(frames[..., rng.permutation(3)])
    return frames, ex.fps, audio


def _step_batch(model, batch, rng, config):
    video, audio, vmask, amask = make_batch(model, [_jitter(e, rng, config) for e in batch])
    mixup_alpha = config.mixup_alpha
    targets = F.one_hot(torch.tensor([e.label for e in batch]), model.config.num_classes).float()
    if mixup_alpha > 0 and len(batch) > 1:
        lam = float(rng.beta(mixup_alpha, mixup_alpha))
        perm = torch.from_numpy(rng.permutation(len(batch)))
        video, audio, targets = _mix(video, perm, lam), _mix(audio, perm, lam), _mix(targets, perm, lam)
        vmask, amask = vmask | vmask[perm], amask | amask[perm]
    return video, audio, vmask, amask, targets


def train_phase_one(model, config, train, val, rng, log, spread: dict[str, torch.Tensor]) -> dict:
    """Both unimodal branches, each kept at its own best validation epoch.

    ``spread``: branch -> ``confusable_targets`` matrix (identity where nothing is confusable).
    """
    opt = torch.optim.AdamW(model.phase_one_parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.phase1_epochs)
    weight = _class_weights(train, model.config.num_classes, config.class_weighting)
    best = {b: ((-1.0, -np.inf), None, 0, 0.0) for b in BRANCHES}  # (group accuracy, -loss), state, epoch, accuracy
    for epoch in range(config.phase1_epochs):
        model.train()
        losses = []
        for batch in tqdm(list(batches(train, config.batch_size, rng)), desc=f"phase I epoch {epoch + 1}",
                          leave=False, file=sys.stderr):
            video, audio, vmask, amask, targets = _step_batch(model, batch, rng, config)
            a, _ = model.encode_audio(audio)
            v, _ = model.encode_video(video)
            loss_a = _masked_loss(model.audio_head(a), targets @ spread["audio"], amask, weight)
            loss_v = _masked_loss(model.video_head(v), targets @ spread["video"], vmask, weight)
            opt.zero_grad()
            (loss_a + loss_v).backward()
            opt.step()
            losses.append((loss_a + loss_v).item())
        sched.step()
        scores = _val_scores(model, val, BRANCHES, spread)
        for b, (acc, group_acc, loss) in scores.items():
            if (group_acc, -loss) > best[b][0]:  # the best accuracy over groups; the lower loss among equals
                best[b] = ((group_acc, -loss), _branch_state(model, b), epoch, acc)
        log(f"phase I  epoch {epoch + 1:2d}  loss {np.mean(losses):.3f}  "
            + "  ".join(f"val {b} {a:.3f} (groups {g:.3f}, loss {l:.3f})" for b, (a, g, l) in scores.items()))
        if all(epoch - best[b][2] >= config.patience for b in BRANCHES):
            log("phase I  early stop: neither branch improved")
            break
    for b in BRANCHES:
        model.load_state_dict(best[b][1], strict=False)
    return {b: {"val_accuracy": best[b][3], "val_group_accuracy": best[b][0][0], "epoch": best[b][2] + 1}
            for b in BRANCHES}


PHASE_ONE_FIELDS = ("seed", "batch_size", "phase1_epochs", "lr", "weight_decay", "patience", "class_weighting",
                    "mixup_alpha", "window_stride", "gain_jitter_db", "flip", "phase1_repeat",
                    "phase1_confusable")
BRANCH_MODEL_FIELDS = ("video_encoder", "audio_encoder", "video_kwargs", "audio_kwargs", "num_classes",
                       "embed_dim", "hidden", "dropout")


def phase_one_key(config: "TrainingConfig", model: AVModel, manifest_digest: str) -> str:
    """What phase I depends on: checkpoints that share it (one per fusion) train it once."""
    model_dict = model.config.to_dict()
    key = {"model": {f: model_dict[f] for f in BRANCH_MODEL_FIELDS},
           "training": {f: getattr(config, f) for f in PHASE_ONE_FIELDS}, "data": manifest_digest}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def phase_one_cached(model, config, train, val, manifest_digest, log, spread: dict[str, torch.Tensor]) -> dict:
    """Phase I, or its stored result when the same branches were trained on the same data before."""
    from safetensors.torch import load_file, save_file

    folder = ROOT / config.phase1_cache / phase_one_key(config, model, manifest_digest)
    weights, info = folder / "branches.safetensors", folder / "phase1.json"
    if weights.is_file() and info.is_file():
        model.load_state_dict(load_file(str(weights)), strict=False)
        log(f"phase I: reusing the unimodal branches stored in {folder}")
        return json.loads(info.read_text())
    torch.manual_seed(config.seed)
    result = train_phase_one(model, config, train, val, np.random.default_rng([config.seed, 1]), log, spread)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for b in BRANCHES for k, v in _branch_state(model, b).items()}
    save_file(state, str(weights))
    info.write_text(json.dumps(result))
    return result


def _masked_loss(logits, targets, mask, weight):
    if not bool(mask.any()):
        return logits.sum() * 0.0
    return soft_cross_entropy(logits[mask], targets[mask], weight)


@dataclass
class EmbeddingBank:
    """Frozen-encoder outputs of the training examples; copy 0 is clean, copies 1.. corrupted."""

    audio: torch.Tensor  # (copies, N, E)
    audio_tokens: torch.Tensor  # (copies, N, La, Da)
    video: torch.Tensor  # (copies, N, E)
    video_tokens: torch.Tensor  # (copies, N, Lv, Dv)
    audio_mask: torch.Tensor  # (copies, N) bool
    video_mask: torch.Tensor  # (copies, N) bool
    labels: torch.Tensor  # (N,)


@torch.inference_mode()
def build_bank(model: AVModel, examples: list[Example], *, copies: int, augment: "Augmenter | None",
               batch_size: int = 64, desc: str = "bank") -> EmbeddingBank:
    """Encode every example once per copy, so phase II costs no encoder passes per epoch."""
    model.eval()
    parts: dict[str, list] = {k: [] for k in ("a", "at", "v", "vt", "am", "vm")}
    for copy_index in range(copies):
        chunk: dict[str, list] = {k: [] for k in parts}
        for batch in tqdm(list(batches(examples, batch_size, None)), desc=f"{desc} copy {copy_index}",
                          leave=False, file=sys.stderr):
            pairs = [augment.corrupt(e) if copy_index else (e.frames, e.audio) for e in batch]
            video, audio, vmask, amask = make_batch(model, [(f, e.fps, a) for (f, a), e in zip(pairs, batch)])
            a, at = model.encode_audio(audio)
            v, vt = model.encode_video(video)
            for key, value in zip(chunk, (a, at, v, vt, amask, vmask)):
                chunk[key].append(value)
        for key in parts:
            parts[key].append(torch.cat(chunk[key]))
    stacked = {k: torch.stack(v) for k, v in parts.items()}
    return EmbeddingBank(stacked["a"], stacked["at"], stacked["v"], stacked["vt"], stacked["am"], stacked["vm"],
                         torch.tensor([e.label for e in examples]))


def _fuse_bank(model, bank, idx, audio_copy, video_copy, audio_mask, video_mask):
    return model.fuse(bank.audio[audio_copy, idx], bank.audio_tokens[audio_copy, idx],
                      bank.video[video_copy, idx], bank.video_tokens[video_copy, idx],
                      audio_mask=audio_mask, video_mask=video_mask)


@torch.inference_mode()
def _bank_accuracy(model, bank: EmbeddingBank) -> float:
    model.eval()
    idx = torch.arange(bank.labels.shape[0])
    zero = torch.zeros_like(idx)
    out = _fuse_bank(model, bank, idx, zero, zero, bank.audio_mask[0], bank.video_mask[0])
    return float((out.fused_logits.argmax(1) == bank.labels).float().mean())


def _draw_copies(rng, n: int, copies: int, prob: float) -> torch.Tensor:
    """Per example: the clean copy, or with ``prob`` one of the corrupted copies."""
    if copies == 1:
        return torch.zeros(n, dtype=torch.long)
    corrupted = rng.random(n) < prob
    return torch.from_numpy(np.where(corrupted, rng.integers(1, copies, n), 0))


def train_phase_two(model, config, train, val, rng, log) -> dict:
    """The fusion and fused head on frozen encoders, from banks of encoder outputs."""
    model.freeze_encoders()
    model.fusion.init_from_heads(model)
    params = model.phase_two_parameters()
    augment = Augmenter(config, rng)
    copies = 1 + (config.augment_copies if config.corruption_prob else 0)
    bank = build_bank(model, train, copies=copies, augment=augment, desc="phase II train bank")
    val_bank = build_bank(model, val, copies=1, augment=None, desc="phase II val bank")
    if not params:
        log("phase II: this fusion has no parameters to train (late fusion)")
        return {"val_accuracy": _bank_accuracy(model, val_bank), "epoch": 0}
    opt = torch.optim.AdamW(params, lr=config.fusion_lr, weight_decay=config.weight_decay)
    weight = _class_weights(train, model.config.num_classes, config.class_weighting)
    n, k = len(train), model.config.num_classes
    best = (-1.0, copy.deepcopy(model.state_dict()), 0)
    for epoch in range(config.phase2_epochs):
        model.train()
        losses = []
        for idx in torch.from_numpy(rng.permutation(n)).split(config.batch_size):
            audio_copy = _draw_copies(rng, len(idx), copies, config.corruption_prob)
            video_copy = _draw_copies(rng, len(idx), copies, config.corruption_prob)
            audio_mask = bank.audio_mask[audio_copy, idx].clone()
            video_mask = bank.video_mask[video_copy, idx].clone()
            drop = torch.from_numpy(rng.random(len(idx)) < config.modality_dropout)
            drop_audio = torch.from_numpy(rng.random(len(idx)) < 0.5)
            audio_mask &= ~(drop & drop_audio)
            video_mask &= ~(drop & ~drop_audio)
            out = _fuse_bank(model, bank, idx, audio_copy, video_copy, audio_mask, video_mask)
            targets = F.one_hot(bank.labels[idx], k).float()
            loss = soft_cross_entropy(out.fused_logits, targets, weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        acc = _bank_accuracy(model, val_bank)
        if acc > best[0]:
            best = (acc, copy.deepcopy(model.state_dict()), epoch)
        log(f"phase II epoch {epoch + 1:2d}  loss {np.mean(losses):.3f}  val fused {acc:.3f}")
        if epoch - best[2] >= config.patience:
            log("phase II early stop")
            break
    model.load_state_dict(best[1])
    return {"val_accuracy": best[0], "epoch": best[2] + 1}


# ----------------------------------------------------------------------------- run


def _manifest_digest(dataset: Dataset) -> str:
    manifest = dataset.root / "manifest.csv"
    return hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.is_file() else ""


def train(config: TrainingConfig, *, log=print) -> Path:
    """Train, evaluate on the test split, save the checkpoint folder; returns its path."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    dataset = ensure_data(config)
    classes = dataset.classes
    spread = _confusable_for_branches(classes, config.phase1_confusable)  # a bad config fails before decoding
    repeat_times = repeat_counts(classes, config.phase1_repeat)
    model_config = ModelConfig.from_dict({**config.model, "num_classes": len(classes)})
    model = AVModel(model_config)
    num_frames = model.preprocessing[0].num_frames
    started = time.perf_counter()
    train_set = list(_cached_examples(dataset.split("train").samples, classes, num_frames, config.window_stride, "train"))
    val_set = list(_cached_examples(dataset.split("val").standard().samples, classes, num_frames, None, "val"))
    test_set = list(_cached_examples(dataset.split("test").standard().samples, classes, num_frames, None, "test"))
    log(f"data: {len(train_set)} train examples, {len(val_set)} val, {len(test_set)} test "
        f"({time.perf_counter() - started:.0f} s to decode)")
    digest = _manifest_digest(dataset)
    phase1 = phase_one_cached(model, config, repeat_classes(train_set, repeat_times), val_set,
                              digest, log, spread)
    torch.manual_seed(config.seed + 2)
    phase2 = train_phase_two(model, config, train_set, val_set, np.random.default_rng([config.seed, 2]), log)
    metrics = {"test": head_reports(model, test_set, classes), "val": head_reports(model, val_set, classes),
               "phase1": phase1, "phase2": phase2, "train_seconds": round(time.perf_counter() - started, 1)}
    provenance = {"data": config.data, "manifest_sha256": digest,
                  "generator": "core.synth (factory-av)", "train_examples": len(train_set),
                  "val_clips": len(val_set), "test_clips": len(test_set), "seed": config.seed,
                  "torch": torch.__version__}
    out = config.out_dir
    save_checkpoint(out, model, classes=list(classes), training_config=config.to_dict(), metrics=metrics,
                    provenance=provenance, dtype=config.dtype)
    from core.evaluate import evaluate, write_card
    from core.inference import Predictor

    write_card(out, evaluate(Predictor.load(out), dataset.split("test"), progress=False), config.data, "test")
    test = metrics["test"]
    log(f"test accuracy: audio {test['audio']['accuracy']:.3f}  video {test['video']['accuracy']:.3f}  "
        f"fused {test['fused']['accuracy']:.3f}  -> {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.training", description="Two-phase training of an AV fusion model.")
    parser.add_argument("--config", required=True, action="append",
                        help="YAML training config (repeat to train several in turn)")
    parser.add_argument("--out", help="checkpoint folder (overrides the config; only with one --config)")
    args = parser.parse_args(argv)
    try:
        configs = [TrainingConfig.from_file(path) for path in args.config]
        for config in configs:
            if args.out:
                config = dataclasses.replace(config, out=str(Path(args.out).resolve()))
            train(config)
    except (ValueError, OSError, yaml.YAMLError) as exc:  # DatasetError, MediaError, CheckpointError included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
