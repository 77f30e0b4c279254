"""The zero-shot model: CLIP frame embeddings and CLAP audio embeddings against the classes' prompt
embeddings, fused late (the rule in :mod:`core.models.zero_shot`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.models.interface import HEADS, MODALITIES, AVClassifier, Encoded, ModelError, Outputs, first_line
from core.models.preprocessing import AudioPreprocessing, VideoPreprocessing

IMAGE_BATCH = 64  # frames per CLIP forward pass
DEFAULT_WEIGHTS = (0.5, 0.5)  # audio, video


class ZeroShotModel(AVClassifier):
    """CLIP (video) + CLAP (audio) against the prompt embeddings of the classes, fused late.

    Built by :func:`load_zero_shot`; see the module docstring for the heads and the fusion rule.
    """

    format = "zero-shot"
    separable = True
    has_embeddings = True
    native_heads = frozenset(HEADS)

    def __init__(self, *, clip, clap, feature_extractor, video_text: torch.Tensor, audio_text: torch.Tensor,
                 classes, video: VideoPreprocessing, audio: AudioPreprocessing,
                 fusion_weights: tuple[float, float] = DEFAULT_WEIGHTS, interpolate_pos_encoding: bool = False,
                 prompts: dict[str, list[list[str]]] | None = None, models: dict[str, str] | None = None,
                 name: str = "zero-shot", source: Path | None = None, fingerprint: str = ""):
        self.clip, self.clap, self.feature_extractor = clip.eval(), clap.eval(), feature_extractor
        self.video_text = video_text  # (K, Dv) L2-normalised
        self.audio_text = audio_text  # (K, Da) L2-normalised
        self.classes = tuple(classes)
        self.video, self.audio = video, audio
        self.fusion_weights = (float(fusion_weights[0]), float(fusion_weights[1]))  # audio, video; sum 1
        self.interpolate_pos_encoding = interpolate_pos_encoding
        self.prompts = prompts or {}
        self.models = models or {}
        self.name, self.source, self.fingerprint = name, source, fingerprint
        self.device = next(clip.parameters()).device
        self.truncation = "fusion" if getattr(clap.config.audio_config, "enable_fusion", False) else "rand_trunc"

    def describe(self) -> dict:
        return super().describe() | {
            "fusion": "late: log_softmax(w_a * log_softmax(audio) + w_v * log_softmax(video))",
            "fusion_weights": {"audio": self.fusion_weights[0], "video": self.fusion_weights[1]},
            "image_text_model": self.models.get("video", ""), "audio_text_model": self.models.get("audio", ""),
            "prompts": {m: {c: texts for c, texts in zip(self.classes, self.prompts[m])} for m in self.prompts}}

    def to(self, device) -> "ZeroShotModel":
        device = torch.device(device)
        self.clip.to(device)
        self.clap.to(device)
        self.video_text, self.audio_text = self.video_text.to(device), self.audio_text.to(device)
        return super().to(device)

    # -- branches
    def encode(self, modality: str, x: torch.Tensor, mask: torch.Tensor) -> Encoded:
        """video (B, 3, T, S, S) -> (B, Dv), tokens (B, T, Dv); audio (B, N) -> (B, Da), tokens (B, 1, Da).

        Clips whose mask is 0 get zeros; a batch with no clip present skips the model."""
        if modality not in MODALITIES:
            raise ValueError(f"A modality is 'audio' or 'video'; got {modality!r}.")
        present = mask.to(x.device) > 0
        b = x.shape[0]
        if modality == "video":
            dim, length = self.video_text.shape[1], x.shape[2]
        else:
            dim, length = self.audio_text.shape[1], 1
        emb, tokens = x.new_zeros(b, dim, dtype=torch.float32), x.new_zeros(b, length, dim, dtype=torch.float32)
        if not bool(present.any()):
            return Encoded(emb, tokens)
        try:
            e, t = self._encode_video(x[present]) if modality == "video" else self._encode_audio(x[present])
        except Exception as exc:  # noqa: BLE001 - a checkpoint whose inputs do not fit what avlab feeds it
            what = f"{'CLIP' if modality == 'video' else 'CLAP'} ({self.models.get(modality, '?')})"
            raise ModelError(f"The zero-shot model {self.name}: {what} raised {type(exc).__name__} on {modality} "
                             f"of shape {tuple(x.shape)}: {first_line(exc)}") from exc
        emb[present], tokens[present] = e.to(emb.device), t.to(tokens.device)
        return Encoded(emb, tokens)

    def _encode_video(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, t, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w).to(self.device)  # (B*T, 3, S, S)
        parts = []
        for i in range(0, frames.shape[0], IMAGE_BATCH):
            out = self.clip.get_image_features(pixel_values=frames[i:i + IMAGE_BATCH],
                                               interpolate_pos_encoding=self.interpolate_pos_encoding)
            parts.append(out.pooler_output.float())
        per_frame = F.normalize(torch.cat(parts), dim=-1).view(b, t, -1)  # (B, T, Dv)
        return F.normalize(per_frame.mean(dim=1), dim=-1), per_frame  # (B, Dv), (B, T, Dv)

    def _encode_audio(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fe = self.feature_extractor
        waves = [np.asarray(w, dtype=np.float32) for w in x.detach().float().cpu().numpy()]  # B x (N,)
        state = np.random.get_state()
        np.random.seed(0)  # the extractor's crops of over-long audio: the same for every call
        try:
            feats = fe(waves, sampling_rate=fe.sampling_rate, truncation=self.truncation, return_tensors="pt")
        finally:
            np.random.set_state(state)
        is_longer = torch.tensor([[self._is_longer(len(w))] for w in waves], dtype=torch.bool)
        out = self.clap.get_audio_features(input_features=feats["input_features"].float().to(self.device),
                                           is_longer=is_longer.to(self.device))
        emb = F.normalize(out.pooler_output.float(), dim=-1)  # (B, Da)
        return emb, emb[:, None, :]

    def _is_longer(self, n: int) -> bool:
        """Whether CLAP's extractor treats ``n`` samples as longer than its input (as it does, minus the coin)."""
        fe = self.feature_extractor
        limit = int(fe.nb_max_samples)
        if n <= limit:
            return False
        return not (self.truncation == "fusion" and n // fe.hop_length == limit // fe.hop_length)

    # -- heads
    def fuse(self, audio: Encoded, video: Encoded, audio_mask: torch.Tensor, video_mask: torch.Tensor) -> Outputs:
        dev = video.embedding.device
        with torch.autocast(device_type=dev.type, enabled=False):
            am = audio_mask.to(dev).float()  # (B,)
            vm = video_mask.to(dev).float()
            a = audio.embedding.to(dev).float() * am[:, None]  # (B, Da)
            v = video.embedding.float() * vm[:, None]  # (B, Dv)
            a_logits = self.audio_scale().to(dev) * (a @ self.audio_text.to(dev).float().T) * am[:, None]  # (B, K)
            v_logits = self.video_scale().to(dev) * (v @ self.video_text.to(dev).float().T) * vm[:, None]  # (B, K)
            weights = fusion_weights(self.fusion_weights, am, vm)  # (B, 2)
            mixed = (weights[:, :1] * a_logits.log_softmax(dim=1)
                     + weights[:, 1:] * v_logits.log_softmax(dim=1))  # (B, K)
            fused = mixed.log_softmax(dim=1) * torch.maximum(am, vm)[:, None]  # neither present: uniform
        return Outputs(logits={"audio": a_logits, "video": v_logits, "fused": fused}, weights=weights,
                       embeddings={"audio": a, "video": v, "fused": torch.cat([a, v], dim=1)})

    def video_scale(self) -> torch.Tensor:
        """CLIP's temperature: exp(logit_scale)."""
        return self.clip.logit_scale.detach().float().exp()

    def audio_scale(self) -> torch.Tensor:
        """CLAP's audio-to-text temperature: exp(logit_scale_a)."""
        return self.clap.logit_scale_a.detach().float().exp()


def fusion_weights(base: tuple[float, float], audio_mask: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
    """Per-clip (audio, video) weights (B, 2): ``base`` with both present, 1/0 with one, ``base`` with none."""
    base_t = torch.tensor(base, dtype=torch.float32, device=audio_mask.device).expand(audio_mask.shape[0], 2)
    w = base_t * torch.stack([audio_mask, video_mask], dim=1).float()
    total = w.sum(dim=1, keepdim=True)
    return torch.where(total > 0, w / total.clamp_min(1e-12), base_t)
