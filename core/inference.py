"""Predictions of a trained checkpoint: the three heads, modality weights, sliding-window timelines."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.media import Clip, pad_clip, sliding_windows
from core.models import CheckpointError, LoadedCheckpoint, batch_inputs, load_checkpoint

HEADS = ("audio", "video", "fused")
CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
WINDOW_S = 5.0


def default_checkpoint() -> Path:
    """The shipped default checkpoint, named in ``checkpoints/DEFAULT``."""
    marker = CHECKPOINTS / "DEFAULT"
    if not marker.is_file():
        raise CheckpointError("No default checkpoint is named in checkpoints/DEFAULT; pass --checkpoint.")
    return CHECKPOINTS / marker.read_text().strip()


@dataclass(frozen=True)
class Prediction:
    """Class probabilities of each head for one clip (or window)."""

    classes: tuple[str, ...]
    probs: dict[str, np.ndarray]  # head -> (K,)
    weights: tuple[float, float] | None  # (audio, video) where the fusion has them
    present: dict[str, bool]  # modality -> seen by the model (not missing, muted or black)
    embeddings: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    def top(self, head: str) -> tuple[str, float]:
        i = int(np.argmax(self.probs[head]))
        return self.classes[i], float(self.probs[head][i])

    def to_dict(self) -> dict:
        return {
            head: {"label": self.top(head)[0], "probability": round(self.top(head)[1], 4),
                   "probabilities": {c: round(float(p), 4) for c, p in zip(self.classes, self.probs[head])}}
            for head in HEADS
        } | {"modality_weights": None if self.weights is None else
             {"audio": round(self.weights[0], 4), "video": round(self.weights[1], 4)},
             "present": self.present}


@dataclass(frozen=True)
class WindowPrediction:
    start: float
    end: float
    padded: bool
    prediction: Prediction


@dataclass(frozen=True)
class ClipPrediction:
    """The whole clip (mean over windows for long clips) and, for long clips, the timeline."""

    overall: Prediction
    windows: tuple[WindowPrediction, ...]

    def to_dict(self) -> dict:
        return self.overall.to_dict() | {"windows": [
            {"start": w.start, "end": w.end, "padded": w.padded,
             **{h: w.prediction.top(h)[0] for h in HEADS},
             "probabilities": {h: [round(float(p), 4) for p in w.prediction.probs[h]] for h in HEADS}}
            for w in self.windows]}


class Predictor:
    """A loaded checkpoint ready to predict clips (eval mode, no gradients)."""

    def __init__(self, checkpoint: LoadedCheckpoint, *, threads: int | None = None):
        self.checkpoint = checkpoint
        self.model = checkpoint.model.eval()
        self.classes = tuple(checkpoint.classes)
        if threads:
            torch.set_num_threads(threads)

    @classmethod
    def load(cls, path: str | Path | None = None, **kwargs) -> "Predictor":
        return cls(load_checkpoint(path or default_checkpoint()), **kwargs)

    @torch.inference_mode()
    def predict_batch(self, clips: list[Clip]) -> list[Prediction]:
        """One prediction per clip; each clip is one 5 s window (shorter clips are padded)."""
        clips = [pad_clip(c, WINDOW_S) if c.duration < WINDOW_S else c for c in clips]
        video, audio, vmask, amask = batch_inputs(clips, self.model)
        out = self.model(video, audio, video_mask=vmask, audio_mask=amask)
        probs = {h: getattr(out, f"{h}_logits").softmax(dim=1).numpy() for h in HEADS}  # (B, K) each
        embeddings = {"audio": out.audio_embedding.numpy(), "video": out.video_embedding.numpy(),
                      "fused": out.fused_embedding.numpy()}
        weights = None if out.weights is None else out.weights.numpy()
        return [
            Prediction(
                classes=self.classes,
                probs={h: probs[h][i] for h in HEADS},
                weights=None if weights is None else (float(weights[i, 0]), float(weights[i, 1])),
                present={"audio": bool(amask[i]), "video": bool(vmask[i])},
                embeddings={k: v[i] for k, v in embeddings.items()},
            )
            for i in range(len(clips))
        ]

    def predict(self, clip: Clip, *, window: float = WINDOW_S, stride: float = 1.0,
                batch_size: int = 16) -> ClipPrediction:
        """Predict a clip of any length: one window, or a timeline of windows averaged overall."""
        if clip.duration <= window + 1e-6:
            (single,) = self.predict_batch([clip])
            return ClipPrediction(overall=single, windows=())
        windows = sliding_windows(clip, window=window, stride=stride)
        preds: list[Prediction] = []
        for i in range(0, len(windows), batch_size):
            preds += self.predict_batch([w.clip for w in windows[i:i + batch_size]])
        overall = _mean_prediction(preds)
        return ClipPrediction(overall=overall, windows=tuple(
            WindowPrediction(w.start, w.end, w.padded, p) for w, p in zip(windows, preds)))


def _mean_prediction(preds: list[Prediction]) -> Prediction:
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
    )
