"""avlab's own checkpoints behind the model interface: separable branches, native heads, embeddings."""
from __future__ import annotations

from pathlib import Path

import torch

from core.models.checkpoint import WEIGHTS_FILE, LoadedCheckpoint, load_checkpoint
from core.models.fusion import AVModel
from core.models.interface import HEADS, AVClassifier, Encoded, Outputs, content_hash


class AvlabModel(AVClassifier):
    """An :class:`AVModel` (encoders, fusion, three heads) as an :class:`AVClassifier`.

    ``encode`` runs one encoder + projection on the clips whose modality is present
    (the others get zeros, masked in ``fuse``); ``fuse`` runs the heads and the fusion.
    """

    format = "avlab"
    separable = True
    has_embeddings = True
    native_heads = frozenset(HEADS)

    def __init__(self, model: AVModel, classes, *, name: str = "model", source: Path | None = None,
                 metadata: dict | None = None, fingerprint: str = ""):
        self.model = model.eval()
        self.classes = tuple(classes)
        self.video, self.audio = model.preprocessing
        self.name, self.source, self.metadata, self.fingerprint = name, source, metadata or {}, fingerprint
        self.device = next(model.parameters()).device
        self.fusion = model.config.fusion

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "AvlabModel":
        """Load an avlab checkpoint folder (``model.safetensors`` + ``config.json``); raises ModelError."""
        folder = Path(path)
        loaded: LoadedCheckpoint = load_checkpoint(folder)
        return cls(loaded.model, loaded.classes, name=folder.name, source=folder, metadata=loaded.metadata,
                   fingerprint=content_hash(folder / WEIGHTS_FILE))

    def describe(self) -> dict:
        return super().describe() | {"fusion": self.fusion}

    def to(self, device) -> "AvlabModel":
        self.model.to(device)
        return super().to(device)

    def encode(self, modality: str, x: torch.Tensor, mask: torch.Tensor) -> Encoded:
        model = self.model
        fn, encoder = ((model.encode_audio, model.audio_encoder) if modality == "audio"
                       else (model.encode_video, model.video_encoder))
        present = mask > 0
        b = x.shape[0]
        if not bool(present.any()):  # a branch absent from the whole batch is skipped
            return Encoded(x.new_zeros(b, model.config.embed_dim), x.new_zeros(b, 1, encoder.out_dim))
        if bool(present.all()):
            return Encoded(*fn(x))
        emb, tokens = fn(x[present])  # (P, E), (P, L, D)
        full_emb, full_tokens = emb.new_zeros(b, emb.shape[1]), tokens.new_zeros(b, *tokens.shape[1:])
        full_emb[present], full_tokens[present] = emb, tokens
        return Encoded(full_emb, full_tokens)

    def fuse(self, audio: Encoded, video: Encoded, audio_mask: torch.Tensor, video_mask: torch.Tensor) -> Outputs:
        out = self.model.fuse(audio.embedding, audio.tokens, video.embedding, video.tokens,
                              audio_mask=audio_mask, video_mask=video_mask)
        return Outputs(
            logits={"audio": out.audio_logits.float(), "video": out.video_logits.float(),
                    "fused": out.fused_logits.float()},
            weights=None if out.weights is None else out.weights.float(),
            embeddings={"audio": out.audio_embedding.float(), "video": out.video_embedding.float(),
                        "fused": out.fused_embedding.float()})


__all__ = ["AvlabModel"]
