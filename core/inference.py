"""The one inference path: clips in, the three heads' probabilities out, for any model in the lab.

Every caller that needs a prediction (the Predict and Lab pages, sweeps, embeddings,
``core.evaluate``, ``core.predict``, training validation) comes here. This module owns

- inputs: a clip becomes the model's tensors as the model declares (``model.video``,
  ``model.audio``); a modality absent, muted (exact zeros) or black is masked;
- branches: :func:`encode` runs one modality of a batch, :func:`heads` fuses two encoded
  branches into the audio-only, video-only and fused heads, so a corruption of one
  modality re-encodes that branch only (the Lab's cache, the sweep's clean encodings);
- device and threads: arguments, never a side effect of loading a model; mixed precision
  (bfloat16 autocast) on a CUDA GPU;
- windows: a clip up to one window (5 s) is one prediction (shorter clips are padded),
  a longer one a timeline of windows averaged overall;
- trust: the model's temperatures (calibration) and its out-of-distribution verdict on every
  prediction. The prediction types themselves live in :mod:`core.predictions`.
"""
from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import torch

from core.corruptions import FRAMEWISE  # noqa: F401 - importable from here, as before
from core.corruptions import get as get_corruption
from core.datasets import Unreadable
from core.media import Clip, pad_clip, sliding_windows
from core.models import (
    CHECKPOINTS, HEADS, AVClassifier, AvlabModel, Encoded, LoadedCheckpoint, ModelError, Outputs, default_checkpoint,
    load_model, resolve_device,
)
from core.models.preprocessing import modality_inputs, sample_indices
from core.predictions import WINDOW_S, Branch, ClipPrediction, Prediction, WindowPrediction  # noqa: F401 - re-exported
from core.trust.ood import for_model as ood_for_model
from core.trust.ood import ood_result


# ----------------------------------------------------------------------------- the primitives

def inputs(model: AVClassifier, clips: list[Clip], modality: str, *, frames: list[np.ndarray] | None = None,
           presence: list[Clip] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One modality of a batch as the model's input tensor and mask.

    Parameters
    ----------
    clips : the clips (one window each).
    modality : "audio" or "video".
    frames : optional, per clip, the frames to feed instead of ``clip.frames`` (the sweep passes the
        sampled frames only).
    presence : optional, the clips whose content decides presence (default ``clips``).

    Returns
    -------
    x : video (B, 3, T, S, S) float32 normalised, or audio (B, N) / (B, 1, F, T) float32; zeros where masked
    mask : (B,) float32, 1 present, 0 missing (absent stream, exact-zero audio, all-black video)
    """
    return modality_inputs(clips, modality, model.video if modality == "video" else model.audio, frames=frames,
                           presence=presence)


def _autocast(model: AVClassifier):
    if model.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def encode(model: AVClassifier, modality: str, x: torch.Tensor, mask: torch.Tensor) -> Encoded:
    """``model.encode`` on the model's device (bfloat16 autocast on CUDA); the result stays there."""
    with _autocast(model):
        return model.encode(modality, x.to(model.device), mask.to(model.device))


@torch.inference_mode()
def heads(model: AVClassifier, audio: Encoded, video: Encoded, audio_mask: torch.Tensor,
          video_mask: torch.Tensor) -> Outputs:
    """``model.fuse`` of two encoded branches; logits, weights and embeddings float32 on the CPU.

    Raises ModelError when the model raises or returns the wrong shapes.
    """
    dev = model.device
    with _autocast(model):
        out = model.fuse(Encoded(*(t.to(dev) for t in audio)), Encoded(*(t.to(dev) for t in video)),
                         audio_mask.to(dev), video_mask.to(dev))
    k = len(model.classes)
    for head in HEADS:
        t = out.logits.get(head)
        if t is None or t.ndim != 2 or t.shape[1] != k:
            raise ModelError(f"The model {model.name} gave {head} logits of shape "
                             f"{None if t is None else tuple(t.shape)}; it lists {k} classes.")
    return Outputs(logits={h: out.logits[h].float().cpu() for h in HEADS},
                   weights=None if out.weights is None else out.weights.float().cpu(),
                   embeddings={k: v.float().cpu() for k, v in out.embeddings.items()})


def head_probabilities(model: AVClassifier, logits: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """head -> (B, K) float32 class probabilities: ``softmax(logits / T)`` with the model's temperature for
    that head (temperature scaling, Guo et al. 2017; T = 1 when the model is uncalibrated)."""
    return {h: (logits[h].float() / float(model.temperatures.get(h, 1.0))).softmax(dim=1).numpy() for h in HEADS}


def predictions(model: AVClassifier, out: Outputs, audio_mask: torch.Tensor, video_mask: torch.Tensor
                ) -> list[Prediction]:
    """One :class:`Prediction` per row of ``heads``' outputs."""
    logits = {h: out.logits[h].float().numpy() for h in HEADS}  # (B, K) each
    probs = head_probabilities(model, out.logits)
    weights = None if out.weights is None else out.weights.numpy()  # (B, 2)
    embeddings = {k: v.numpy() for k, v in out.embeddings.items()}
    kinds = {h: model.head_kind(h) for h in HEADS}
    return [Prediction(
        classes=tuple(model.classes),
        probs={h: probs[h][i] for h in HEADS},
        weights=None if weights is None else (float(weights[i, 0]), float(weights[i, 1])),
        present={"audio": bool(audio_mask[i]), "video": bool(video_mask[i])},
        embeddings={k: v[i] for k, v in embeddings.items()},
        head_kinds=kinds,
        logits={h: logits[h][i] for h in HEADS},
    ) for i in range(len(audio_mask))]


@contextlib.contextmanager
def limited_threads(threads: int | None):
    """torch's and numpy's BLAS thread counts set to ``threads`` inside the block (None: left as they are)."""
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


def windows(clip: Clip, *, window: float = WINDOW_S, stride: float = 1.0):
    """The clips the model sees, with (start, end, padded): one padded window for short clips."""
    if clip.duration <= window + 1e-6:
        one = pad_clip(clip, WINDOW_S) if clip.duration < WINDOW_S else clip
        return [one], [0.0], [clip.duration], [clip.duration < WINDOW_S - 1e-6]
    parts = sliding_windows(clip, window=window, stride=stride)
    clips = [pad_clip(w.clip, WINDOW_S) if w.clip.duration < WINDOW_S else w.clip for w in parts]
    return clips, [w.start for w in parts], [w.end for w in parts], [w.padded for w in parts]


def padding_share(seconds: float) -> float:
    """Share (0-1) of one model window (``WINDOW_S`` seconds) that a ``seconds``-long clip leaves as padding."""
    return max(0.0, 1.0 - max(0.0, seconds) / WINDOW_S)


def mean_prediction(preds: list[Prediction]) -> Prediction:
    """The mean of several windows' predictions (probabilities, weights, embeddings); present if in any."""
    first = preds[0]
    weights = None
    if first.weights is not None:
        weights = tuple(float(x) for x in np.mean([p.weights for p in preds], axis=0))
    return Prediction(
        classes=first.classes,
        probs={h: np.mean([p.probs[h] for p in preds], axis=0) for h in HEADS},
        weights=weights,
        present={m: any(p.present[m] for p in preds) for m in ("audio", "video")},
        embeddings={k: np.mean([p.embeddings[k] for p in preds], axis=0) for k in first.embeddings},
        head_kinds=first.head_kinds,
        logits={h: np.mean([p.logits[h] for p in preds], axis=0) for h in first.logits},
    )


# ----------------------------------------------------------------------------- the predictor

class Predictor:
    """A loaded model ready to predict clips.

    Parameters
    ----------
    model : AVClassifier (any format; see :func:`core.models.load_model`), or a LoadedCheckpoint
    device : "auto", "cpu", "cuda", "mps" or None (None: where the model already is)
    threads : torch / BLAS threads during predictions (None: leave them)
    """

    def __init__(self, model: AVClassifier | LoadedCheckpoint, *, device: str | None = None,
                 threads: int | None = None):
        if isinstance(model, LoadedCheckpoint):
            model = AvlabModel(model.model, model.classes, metadata=model.metadata)
        if device is not None:
            model.to(resolve_device(device))
        self.model = model
        self.classes = tuple(model.classes)
        self.threads = threads
        self.ood, note = ood_for_model(model)
        if note and note not in model.trust_notes:
            model.trust_notes = (*model.trust_notes, note)

    def judged(self, preds: list[Prediction]) -> list[Prediction]:
        """``preds`` with their out-of-distribution verdicts (unchanged when the model has no detector)."""
        if self.ood is None:
            return preds
        # a clip with no usable input has nothing to be familiar or not: its heads abstain
        return [dataclasses.replace(p, out_of_distribution=ood_result(self.ood, p)) if any(p.present.values()) else p
                for p in preds]

    @classmethod
    def load(cls, spec: str | Path | None = None, *, device: str | None = "auto",
             threads: int | None = None) -> "Predictor":
        """Load a model SPEC (checkpoint folder, file or folder with a sidecar; None: the shipped default) onto
        ``device`` ("auto": the GPU when there is one). Raises ModelError."""
        return cls(load_model(spec, device=device or "auto"), threads=threads)

    def predict_batch(self, clips: list[Clip]) -> list[Prediction]:
        """One prediction per clip; each clip is one 5 s window (shorter clips are padded)."""
        clips = [pad_clip(c, WINDOW_S) if c.duration < WINDOW_S else c for c in clips]
        with limited_threads(self.threads):
            xa, am = inputs(self.model, clips, "audio")
            xv, vm = inputs(self.model, clips, "video")
            out = heads(self.model, encode(self.model, "audio", xa, am), encode(self.model, "video", xv, vm), am, vm)
        return self.judged(predictions(self.model, out, am, vm))

    def predict(self, clip: Clip, *, window: float = WINDOW_S, stride: float = 1.0,
                batch_size: int = 16) -> ClipPrediction:
        """Predict a clip of any length: one window, or a timeline of windows averaged overall."""
        if clip.duration <= window + 1e-6:
            (single,) = self.predict_batch([clip])
            return ClipPrediction(overall=single, windows=(), padding=padding_share(clip.duration))
        parts = sliding_windows(clip, window=window, stride=stride)
        preds: list[Prediction] = []
        for i in range(0, len(parts), batch_size):
            preds += self.predict_batch([w.clip for w in parts[i:i + batch_size]])
        return ClipPrediction(overall=self.judged([mean_prediction(preds)])[0], windows=tuple(
            WindowPrediction(w.start, w.end, w.padded, p) for w, p in zip(parts, preds)))

    # -- branch by branch, for caches that keep one modality while the other changes
    def sampled_view(self, clip: Clip) -> Clip | None:
        """The frames the video input samples from a one-window clip, as a clip (None for longer clips)."""
        if clip.duration > WINDOW_S + 1e-6 or not clip.has_video:
            return None
        (one,), *_ = windows(clip)
        picked = one.frames[sample_indices(one.frames.shape[0], self.model.video.num_frames)]
        return one.replace(frames=picked, duration=WINDOW_S)

    def encode_branch(self, clip: Clip, modality: str, *, window: float = WINDOW_S, stride: float = 1.0,
                      batch_size: int = 16) -> Branch:
        """Encode one modality of ``clip`` window by window, as :meth:`predict` would."""
        clips, starts, ends, padded = windows(clip, window=window, stride=stride)
        embeddings, tokens, masks = [], [], []
        with limited_threads(self.threads):
            for i in range(0, len(clips), batch_size):
                x, mask = inputs(self.model, clips[i:i + batch_size], modality)
                enc = encode(self.model, modality, x, mask)
                embeddings.append(enc.embedding.float().cpu().numpy())
                tokens.append(enc.tokens.float().cpu().numpy())
                masks.append(mask.numpy())
        return Branch(modality, np.concatenate(embeddings), _concat_tokens(tokens), np.concatenate(masks),
                      tuple(starts), tuple(ends), tuple(padded))

    def fuse(self, audio: Branch, video: Branch) -> ClipPrediction:
        """Heads and fusion on cached branches: the whole clip and, for long clips, its timeline."""
        if audio.starts != video.starts:
            raise ValueError("The audio and video branches were encoded with different windows.")
        am, vm = torch.from_numpy(audio.mask), torch.from_numpy(video.mask)
        with limited_threads(self.threads):
            out = heads(self.model, Encoded(torch.from_numpy(audio.embedding), torch.from_numpy(audio.tokens)),
                        Encoded(torch.from_numpy(video.embedding), torch.from_numpy(video.tokens)), am, vm)
        preds = self.judged(predictions(self.model, out, am, vm))
        if len(preds) == 1:  # a clip no longer than one window: no timeline
            return ClipPrediction(overall=preds[0], windows=(), padding=padding_share(audio.ends[0] - audio.starts[0]))
        return ClipPrediction(overall=self.judged([mean_prediction(preds)])[0], windows=tuple(
            WindowPrediction(s, e, p, pred) for s, e, p, pred in zip(audio.starts, audio.ends, audio.padded, preds)))


def _concat_tokens(parts: list[np.ndarray]) -> np.ndarray:
    # A skipped batch has one zero token; pad it to the others' length (masked out anyway).
    length = max(p.shape[1] for p in parts)
    return np.concatenate([p if p.shape[1] == length else
                           np.pad(p, ((0, 0), (0, length - p.shape[1]), *[(0, 0)] * (p.ndim - 2))) for p in parts])


class ClipSet(torch.utils.data.Dataset):
    """Clips decoded (and corrupted by the one seeding rule) on demand: the dataset of :func:`clip_batches`.

    ``paths``: each a file or a :class:`core.media.Pair` of video and audio files (``Sample.source``, or its text).

    A file that cannot be decoded (a :class:`core.media.MediaError`) gives an :class:`Unreadable` in its
    place, so one bad file in a data set is named and the run goes on.
    """

    def __init__(self, paths, steps=(), seed: int = 0, decode=None):
        from core.media import load_clip

        self.paths, self.steps, self.seed, self.decode = list(paths), list(steps), seed, decode or load_clip

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Clip | Unreadable:
        from core.corruptions import apply_many, clip_seed
        from core.media import MediaError, as_source

        source = as_source(self.paths[i])  # a pair may arrive as its text, "video + audio"
        try:
            clip = self.decode(source)
        except MediaError as exc:
            return Unreadable(source, str(exc))
        clip = pad_clip(clip, WINDOW_S) if clip.duration < WINDOW_S else clip
        # a pair is seeded by its name, "a.flv + a.wav", as the Lab and sweeps seed it
        return apply_many(clip, self.steps, seed=clip_seed(self.seed, source.name)) if self.steps else clip


def default_workers(model: AVClassifier) -> int:
    """DataLoader workers that decode and corrupt: none on the CPU (they would compete with the model for the
    cores), up to 4 when the model runs on a GPU, so the GPU is fed."""
    import os

    return 0 if model.device.type == "cpu" else min(4, os.cpu_count() or 1)


def clip_batches(paths, *, steps=(), seed: int = 0, batch_size: int = 16, workers: int = 0, decode=None):
    """Lists of decoded clips (padded to one window; corrupted with ``steps`` seeded by
    :func:`core.corruptions.clip_seed`), decoded in ``workers`` DataLoader worker processes (0: in this one;
    ``decode``, default :func:`core.media.load_clip`, is then a module-level function, so it pickles).

    A file that cannot be decoded is an :class:`Unreadable` at its place in the list (order kept): the
    caller names it, counts it and goes on.
    """
    data = ClipSet(paths, steps, seed, decode)
    # workers start from a fresh server process, not a fork of this one: a fork of a process with threads (the
    # dashboard's server, torch's pools) can inherit a held lock and hang; ``decode`` must then be picklable
    context = "forkserver" if workers else None
    return torch.utils.data.DataLoader(data, batch_size=batch_size, num_workers=workers, collate_fn=list,
                                       shuffle=False, persistent_workers=False, multiprocessing_context=context)


def split_steps(steps) -> tuple[tuple, tuple]:
    """The corruption steps that touch the audio, and those that touch the video (order kept)."""
    audio = tuple((n, s) for n, s in steps if get_corruption(n).modality in ("audio", "audiovisual"))
    video = tuple((n, s) for n, s in steps if get_corruption(n).modality in ("video", "audiovisual"))
    return audio, video


__all__ = ["HEADS", "WINDOW_S", "CHECKPOINTS", "FRAMEWISE", "default_checkpoint", "Prediction", "WindowPrediction",
           "ClipPrediction", "Branch", "Predictor", "inputs", "encode", "heads", "predictions", "limited_threads",
           "windows", "mean_prediction", "split_steps", "ClipSet", "clip_batches", "default_workers", "Unreadable"]
