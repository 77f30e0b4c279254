"""The two phases: unimodal branches (phase I, cached), then the fusion on frozen encoders from embedding banks
(phase II); validation through the one inference path."""
from __future__ import annotations

import copy
import hashlib
import json
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from core.metrics import classification_report
from core.models import AVModel, AvlabModel
from core.training.config import ROOT, TrainingConfig
from core.training.data import Augmenter, Example, batches, jitter, make_batch
from core.training.targets import BRANCHES, class_weights, masked_loss, mix, soft_cross_entropy



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
        top, targets = probs[h].argmax(1), spread[h].cpu().numpy()[y]  # (N,), (N, K)
        loss = -(targets * np.log(np.clip(probs[h], 1e-8, 1.0))).sum(1).mean()
        scores[h] = (float((top == y).mean()), float((targets[np.arange(len(y)), top] > 0).mean()), float(loss))
    return scores


def _step_batch(model, batch, rng, config):
    video, audio, vmask, amask = make_batch(model, [jitter(e, rng, config) for e in batch])
    mixup_alpha = config.mixup_alpha
    targets = F.one_hot(torch.tensor([e.label for e in batch]), model.config.num_classes).float()
    if mixup_alpha > 0 and len(batch) > 1:
        lam = float(rng.beta(mixup_alpha, mixup_alpha))
        perm = torch.from_numpy(rng.permutation(len(batch)))
        video, audio, targets = mix(video, perm, lam), mix(audio, perm, lam), mix(targets, perm, lam)
        vmask, amask = vmask | vmask[perm], amask | amask[perm]
    dev = next(model.parameters()).device
    return video.to(dev), audio.to(dev), vmask.to(dev), amask.to(dev), targets.to(dev)


def train_phase_one(model, config, train, val, rng, log, spread: dict[str, torch.Tensor]) -> dict:
    """Both unimodal branches, each kept at its own best validation epoch.

    ``spread``: branch -> ``confusable_targets`` matrix (identity where nothing is confusable).
    """
    opt = torch.optim.AdamW(model.phase_one_parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.phase1_epochs)
    dev = next(model.parameters()).device
    weight = class_weights(train, model.config.num_classes, config.class_weighting)
    weight = None if weight is None else weight.to(dev)
    spread = {b: t.to(dev) for b, t in spread.items()}
    best = {b: ((-1.0, -np.inf), None, 0, 0.0) for b in BRANCHES}  # (group accuracy, -loss), state, epoch, accuracy
    for epoch in range(config.phase1_epochs):
        model.train()
        losses = []
        for batch in tqdm(list(batches(train, config.batch_size, rng)), desc=f"phase I epoch {epoch + 1}",
                          leave=False, file=sys.stderr):
            video, audio, vmask, amask, targets = _step_batch(model, batch, rng, config)
            a, _ = model.encode_audio(audio)
            v, _ = model.encode_video(video)
            loss_a = masked_loss(model.audio_head(a), targets @ spread["audio"], amask, weight)
            loss_v = masked_loss(model.video_head(v), targets @ spread["video"], vmask, weight)
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
    state = {k: v.contiguous().cpu() for b in BRANCHES for k, v in _branch_state(model, b).items()}
    save_file(state, str(weights))
    info.write_text(json.dumps(result))
    return result


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
            dev = next(model.parameters()).device
            a, at = model.encode_audio(audio.to(dev))
            v, vt = model.encode_video(video.to(dev))
            vmask, amask = vmask.to(dev), amask.to(dev)
            for key, value in zip(chunk, (a, at, v, vt, amask, vmask)):
                chunk[key].append(value)
        for key in parts:
            parts[key].append(torch.cat(chunk[key]))
    stacked = {k: torch.stack(v) for k, v in parts.items()}
    return EmbeddingBank(stacked["a"], stacked["at"], stacked["v"], stacked["vt"], stacked["am"], stacked["vm"],
                         torch.tensor([e.label for e in examples], device=stacked["a"].device))


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
    dev = next(model.parameters()).device
    weight = class_weights(train, model.config.num_classes, config.class_weighting)
    weight = None if weight is None else weight.to(dev)
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
            drop = torch.from_numpy(rng.random(len(idx)) < config.modality_dropout).to(dev)
            drop_audio = torch.from_numpy(rng.random(len(idx)) < 0.5).to(dev)
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
