"""The model interface: what any audio-visual classifier gives the lab.

After FiftyOne's ``Model`` (a model states what it needs and returns predictions
for a batch) and torchvision's weights metadata (a model carries its own
preprocessing and classes). Every model in avlab, built here or brought by a
user in any format (:mod:`core.models.loaders`), is an :class:`AVClassifier`:

- ``classes``: class names in logit order;
- ``video`` / ``audio``: how a :class:`core.media.Clip` becomes its inputs
  (:class:`VideoPreprocessing`: frames, size, mean, std; :class:`AudioPreprocessing`:
  sample rate, window length, representation);
- ``encode(modality, x, mask)`` then ``fuse(audio, video, audio_mask, video_mask)``
  give the audio-only, video-only and fused logits, the modality weights and the
  embeddings where the model has them.

A model whose branches really are separate (``separable = True``: the built-in
models, the zero-shot pipeline) encodes each modality apart, so a corruption of one
modality re-encodes that branch only. Any other model is run whole inside ``fuse``:
its "encoding" of a branch is the branch's input tensor, so the same caching code
serves every model. A model without unimodal heads gets its audio-only and
video-only rows *by ablation*: the whole model is fed the clip with the other
modality zeroed (in its normalised input space) and masked; ``native_heads`` says
which heads are the model's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, NamedTuple

import torch

from core.metrics import head_answers  # noqa: F401 - the rule belongs with the scores; importable from here
from core.models.preprocessing import AudioPreprocessing, VideoPreprocessing
from core.trust.calibration import FILE as CALIBRATION_FILE
from core.trust.ood import FILE as OOD_FILE

HEADS = ("audio", "video", "fused")
MODALITIES = ("audio", "video")


class ModelError(ValueError):
    """A model cannot be found, loaded or run; the message names the file and the field."""


class Encoded(NamedTuple):
    """One branch of a batch after ``encode``: embedding (B, E) (or the input itself) and tokens (B, L, D)."""

    embedding: torch.Tensor
    tokens: torch.Tensor


@dataclass
class Outputs:
    """What ``fuse`` returns for a batch of B clips.

    ``logits``: head -> (B, K) float32 (softmax gives the class probabilities);
    ``weights``: (B, 2) audio, video modality weights, or None; ``embeddings``:
    name ("audio", "video", "fused") -> (B, E) for the models that expose them.
    """

    logits: dict[str, torch.Tensor]
    weights: torch.Tensor | None = None
    embeddings: dict[str, torch.Tensor] = field(default_factory=dict)


class AVClassifier:
    """Base of every model in the lab; subclasses set the attributes and override ``run`` or ``encode``/``fuse``.

    Attributes
    ----------
    name : str  short name shown in pickers and tables
    format : str  the loader that made it ("avlab", "torchscript", "torch-export", "onnx", "python", "zero-shot")
    source : Path  the file or folder it was loaded from
    classes : tuple[str, ...]  class names in logit order
    video, audio : VideoPreprocessing, AudioPreprocessing
    native_heads : frozenset of HEADS the model computes itself; the others are ablations
    separable : bool  True when ``encode`` runs a real per-modality encoder
    has_embeddings : bool  True when ``Outputs.embeddings`` holds audio, video and fused embeddings
    fingerprint : str  content hash of the model's files (16 hex digits), stored with results
    temperatures : head -> T, temperature scaling applied to that head's logits (empty: uncalibrated);
        read by :func:`core.models.load_model` from ``calibration.json`` beside the model
    trust_notes : sentences on trust files found beside the model but not used (stale, unreadable)
    trust_folder : the folder where the model's trust files (``calibration.json``, ``ood.npz``) live
    trust_prefix : their name prefix ("" in a model's own folder; ``"model."`` beside ``model.avlab.json``)
    """

    name: str = "model"
    format: str = "python"
    source: Path | None = None
    classes: tuple[str, ...] = ()
    video: VideoPreprocessing = VideoPreprocessing()
    audio: AudioPreprocessing = AudioPreprocessing()
    native_heads: frozenset = frozenset(HEADS)
    separable: bool = False
    has_embeddings: bool = False
    fingerprint: str = ""
    device: torch.device = torch.device("cpu")
    temperatures: Mapping[str, float] = MappingProxyType({})
    trust_notes: tuple[str, ...] = ()
    trust_folder: Path | None = None
    trust_prefix: str = ""

    # -- description
    def describe(self) -> dict:
        """JSON-ready summary: name, format, source, classes, native and ablated heads, inputs."""
        return {"name": self.name, "format": self.format, "source": str(self.source or ""),
                "fingerprint": self.fingerprint, "classes": list(self.classes),
                "native_heads": [h for h in HEADS if h in self.native_heads],
                "ablated_heads": [h for h in HEADS if h not in self.native_heads],
                "video": self.video.to_dict(), "audio": self.audio.to_dict(),
                "temperatures": dict(self.temperatures) or None}

    def head_kind(self, head: str) -> str:
        """"native" or "ablation" (the whole model with the other modality zeroed and masked)."""
        return "native" if head in self.native_heads else "ablation"

    def to(self, device: torch.device | str) -> "AVClassifier":
        """Move the model's weights to ``device``; returns self."""
        self.device = torch.device(device)
        return self

    # -- inference (called by core.inference only, under torch.inference_mode)
    def encode(self, modality: str, x: torch.Tensor, mask: torch.Tensor) -> Encoded:
        """One branch of a batch. ``x``: video (B, 3, T, S, S) or audio (B, N) / (B, 1, F, T) float32,
        already zeroed where ``mask`` (B,) is 0. Default: the input itself (the model runs whole in ``fuse``)."""
        return Encoded(x, x.new_zeros(x.shape[0], 1, 1))

    def fuse(self, audio: Encoded, video: Encoded, audio_mask: torch.Tensor, video_mask: torch.Tensor) -> Outputs:
        """The three heads from two encoded branches. Default: ``run`` on the inputs; heads the model lacks
        come from running it again with the other modality zeroed (ablation)."""
        a, v = audio.embedding, video.embedding
        out = self.run(v, a, video_mask, audio_mask)
        logits = dict(out)
        if "audio" not in logits:
            logits["audio"] = self.run(torch.zeros_like(v), a, torch.zeros_like(video_mask), audio_mask)["fused"]
        if "video" not in logits:
            logits["video"] = self.run(v, torch.zeros_like(a), video_mask, torch.zeros_like(audio_mask))["fused"]
        return Outputs(logits={h: logits[h].float() for h in HEADS})

    def run(self, video: torch.Tensor, audio: torch.Tensor, video_mask: torch.Tensor,
            audio_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """The whole model on one batch: head -> logits (B, K); at least "fused"."""
        raise NotImplementedError(f"{type(self).__name__} implements neither run nor encode/fuse.")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 300 characters), or its type's name: for one-sentence errors."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


TRUST_FILES = (CALIBRATION_FILE, OOD_FILE)
"""Files fitted for a model and kept beside it; not part of its fingerprint."""


def content_hash(*paths: Path) -> str:
    """sha256 (first 16 hex digits) of the files' bytes (folders: every file under them, with its relative path,
    except :data:`TRUST_FILES`)."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        files = (sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith(TRUST_FILES))
                 if path.is_dir() else [path])
        for f in files:
            if path.is_dir():
                digest.update(str(f.relative_to(path)).encode())
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


__all__ = ["HEADS", "MODALITIES", "ModelError", "Encoded", "Outputs", "AVClassifier", "content_hash", "first_line",
           "head_answers", "TRUST_FILES"]
