"""Fusion methods (one registry) and the audio-visual model that uses them.

:class:`AVModel` = two encoders -> a projection + LayerNorm per modality ->
unimodal heads (FC 128, ReLU, dropout) and a fusion module -> fused head.
Every forward returns audio-only, video-only and fused logits, the three
embeddings, and per-clip modality weights where the fusion has them.

A missing modality is an explicit mask (1 present, 0 missing): its embedding
and tokens are zeroed, its unimodal logits are zero (uniform probabilities),
the fusion is told through the mask, and a clip with neither gets uniform
fused probabilities.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.models.encoders import ENCODERS, build_encoder, encoder_preprocessing
from core.models.preprocessing import AudioPreprocessing, VideoPreprocessing


# ----------------------------------------------------------------------------- config

@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild an :class:`AVModel` (weights aside)."""

    video_encoder: str = "small3d"
    audio_encoder: str = "mel_cnn"
    video_kwargs: Mapping[str, Any] = field(default_factory=dict)
    audio_kwargs: Mapping[str, Any] = field(default_factory=dict)
    fusion: str = "modality_attention"
    fusion_kwargs: Mapping[str, Any] = field(default_factory=dict)
    num_classes: int = 7
    embed_dim: int = 128
    hidden: int = 128
    dropout: float = 0.3

    def __post_init__(self):
        # Keep kwargs as their JSON form (tuples -> lists) so a saved config compares equal to its source.
        for name in ("video_kwargs", "audio_kwargs", "fusion_kwargs"):
            try:
                object.__setattr__(self, name, json.loads(json.dumps(dict(getattr(self, name)))))
            except TypeError as exc:
                raise ValueError(f"{name} must hold JSON values only ({exc}).") from exc
        for name, modality in ((self.video_encoder, "video"), (self.audio_encoder, "audio")):
            if name not in ENCODERS:
                raise ValueError(f"There is no encoder called {name!r}; choose one of {sorted(ENCODERS)}.")
            if ENCODERS[name].modality != modality:
                raise ValueError(f"{name!r} is a {ENCODERS[name].modality} encoder, not a {modality} one.")
        if self.fusion not in FUSIONS:
            raise ValueError(f"There is no fusion called {self.fusion!r}; choose one of {sorted(FUSIONS)}.")
        if self.num_classes < 2:
            raise ValueError(f"A classifier needs at least 2 classes, not {self.num_classes}.")

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    @property
    def preprocessing(self) -> tuple[VideoPreprocessing, AudioPreprocessing]:
        """(video, audio) preprocessing its encoders declare, without building them."""
        return (encoder_preprocessing(self.video_encoder, **self.video_kwargs),
                encoder_preprocessing(self.audio_encoder, **self.audio_kwargs))

    def to_dict(self) -> dict:
        return {f.name: (dict(getattr(self, f.name)) if f.name.endswith("kwargs") else getattr(self, f.name))
                for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"The model config has unknown field(s) {sorted(unknown)}.")
        return cls(**{k: (dict(v) if k.endswith("kwargs") else v) for k, v in d.items()})


# ----------------------------------------------------------------------------- heads

class Classifier(nn.Module):
    """FC ``hidden``, ReLU, dropout, linear: the published classifier."""

    def __init__(self, in_dim: int, hidden: int, num_classes: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(F.relu(self.fc1(x))))  # (B, K)


class FusionResult(NamedTuple):
    embedding: torch.Tensor  # (B, out_dim)
    weights: torch.Tensor | None = None  # (B, 2) audio, video
    logits: torch.Tensor | None = None  # (B, K) when the fusion decides without a fused head


class Fusion(nn.Module):
    """Base for fusions. Inputs are already masked; masks are float (B,), 1 present."""

    out_dim: int = 0
    uses_head: bool = True  # False when the fusion produces logits itself

    def init_from_heads(self, model: "AVModel") -> None:
        """Hook the training code calls after phase I; a no-op unless a fusion needs it."""

    def forward(self, a, a_tokens, v, v_tokens, a_mask, v_mask, a_logits, v_logits) -> FusionResult:
        raise NotImplementedError


FUSIONS: dict[str, Callable[..., Fusion]] = {}


def _register(name: str):
    def wrap(cls):
        FUSIONS[name] = cls
        return cls
    return wrap


def build_fusion(name: str, *, embed_dim: int, audio_token_dim: int, video_token_dim: int,
                 num_classes: int, dropout: float, **kwargs) -> Fusion:
    """Build a registered fusion; ``kwargs`` are the fusion's own options."""
    if name not in FUSIONS:
        raise ValueError(f"There is no fusion called {name!r}; choose one of {sorted(FUSIONS)}.")
    return FUSIONS[name](embed_dim=embed_dim, audio_token_dim=audio_token_dim, video_token_dim=video_token_dim,
                         num_classes=num_classes, dropout=dropout, **kwargs)


@_register("concat")
class ConcatFusion(Fusion):
    """MAiVAR's dominant-head fusion: concatenate, then the fused head (initialised from the video head)."""

    def __init__(self, *, embed_dim: int, **_):
        super().__init__()
        self.embed_dim = embed_dim
        self.out_dim = 2 * embed_dim

    def forward(self, a, a_tokens, v, v_tokens, a_mask, v_mask, a_logits, v_logits) -> FusionResult:
        return FusionResult(torch.cat([a, v], dim=1))  # (B, 2E) audio first

    @torch.no_grad()
    def init_from_heads(self, model: "AVModel") -> None:
        init_from_video_head(model)


def init_from_video_head(model: "AVModel") -> None:
    """Dominant-head initialisation: copy the trained video head into the concat fused head.

    The video half of the first layer gets the video head's weights and the
    audio half zeros, so before fusion training the fused head answers exactly
    as the video head does.
    """
    if not isinstance(model.fusion, ConcatFusion):
        raise ValueError("The dominant-head initialisation applies to the 'concat' fusion only.")
    e, fused, video = model.config.embed_dim, model.fused_head, model.video_head
    with torch.no_grad():
        fused.fc1.weight.zero_()
        fused.fc1.weight[:, e:].copy_(video.fc1.weight)  # (hidden, E) video half
        fused.fc1.bias.copy_(video.fc1.bias)
        fused.fc2.weight.copy_(video.fc2.weight)
        fused.fc2.bias.copy_(video.fc2.bias)


@_register("weighted_sum")
class WeightedSumFusion(Fusion):
    """Element-wise weighted sum with trainable per-dimension vectors (two-phase DCASE work)."""

    def __init__(self, *, embed_dim: int, **_):
        super().__init__()
        self.audio_weight = nn.Parameter(torch.full((embed_dim,), 0.5))
        self.video_weight = nn.Parameter(torch.full((embed_dim,), 0.5))
        self.out_dim = embed_dim

    def forward(self, a, a_tokens, v, v_tokens, a_mask, v_mask, a_logits, v_logits) -> FusionResult:
        return FusionResult(self.audio_weight * a + self.video_weight * v)  # (B, E)


@_register("modality_attention")
class ModalityAttentionFusion(Fusion):
    """``[w_a, w_v] = softmax([Wa.a, Wv.v])``; fused = w_a a + w_v v; weights reported per clip."""

    def __init__(self, *, embed_dim: int, **_):
        super().__init__()
        self.audio_score = nn.Linear(embed_dim, 1)
        self.video_score = nn.Linear(embed_dim, 1)
        self.out_dim = embed_dim

    def forward(self, a, a_tokens, v, v_tokens, a_mask, v_mask, a_logits, v_logits) -> FusionResult:
        scores = torch.cat([self.audio_score(a), self.video_score(v)], dim=1)  # (B, 2)
        present = torch.stack([a_mask, v_mask], dim=1) > 0  # (B, 2)
        # A missing modality gets no weight; with neither present both scores are equal (0.5/0.5).
        scores = scores.masked_fill(~present, float("-inf"))
        scores = torch.where(present.any(dim=1, keepdim=True), scores, torch.zeros_like(scores))
        w = scores.softmax(dim=1)  # (B, 2)
        return FusionResult(w[:, :1] * a + w[:, 1:] * v, weights=w)  # (B, E), (B, 2)


@_register("cross_attention")
class CrossAttentionFusion(Fusion):
    """Project both token sequences to a shared space, attend both ways, fuse with a feed-forward net.

    Audio tokens query the video tokens and vice versa; each attended sequence
    is added to its queries, normalised and mean-pooled; an FFN fuses the two.
    Attention to a missing modality contributes nothing (masked to zero).
    """

    def __init__(self, *, embed_dim: int, audio_token_dim: int, video_token_dim: int, dropout: float,
                 num_heads: int = 4, dim: int | None = None, **_):
        super().__init__()
        d = dim or embed_dim
        self.audio_proj = nn.Sequential(nn.Linear(audio_token_dim, d), nn.LayerNorm(d))
        self.video_proj = nn.Sequential(nn.Linear(video_token_dim, d), nn.LayerNorm(d))
        self.audio_to_video = nn.MultiheadAttention(d, num_heads, dropout=dropout, batch_first=True)
        self.video_to_audio = nn.MultiheadAttention(d, num_heads, dropout=dropout, batch_first=True)
        self.audio_norm = nn.LayerNorm(d)
        self.video_norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, d))
        self.out_dim = d

    def forward(self, a, a_tokens, v, v_tokens, a_mask, v_mask, a_logits, v_logits) -> FusionResult:
        qa = self.audio_proj(a_tokens)  # (B, La, d)
        qv = self.video_proj(v_tokens)  # (B, Lv, d)
        # Whole-modality masks: zeroing the attended values equals masking every key,
        # without the NaN a fully masked softmax row gives.
        att_a, _ = self.audio_to_video(qa, qv, qv, need_weights=False)  # (B, La, d)
        att_v, _ = self.video_to_audio(qv, qa, qa, need_weights=False)  # (B, Lv, d)
        att_a = att_a * v_mask[:, None, None]
        att_v = att_v * a_mask[:, None, None]
        pa = self.audio_norm(qa + att_a).mean(dim=1) * a_mask[:, None]  # (B, d)
        pv = self.video_norm(qv + att_v).mean(dim=1) * v_mask[:, None]  # (B, d)
        return FusionResult(self.ffn(torch.cat([pa, pv], dim=1)))  # (B, d)


@_register("late")
class LateFusion(Fusion):
    """Average of the unimodal heads' probabilities over the modalities present."""

    uses_head = False

    def __init__(self, *, embed_dim: int, **_):
        super().__init__()
        self.out_dim = 2 * embed_dim

    def forward(self, a, a_tokens, v, v_tokens, a_mask, v_mask, a_logits, v_logits) -> FusionResult:
        m = torch.stack([a_mask, v_mask], dim=1)  # (B, 2)
        count = m.sum(dim=1, keepdim=True)  # (B, 1)
        w = torch.where(count > 0, m / count.clamp_min(1), torch.full_like(m, 0.5))  # (B, 2)
        probs = w[:, :1] * a_logits.softmax(dim=1) + w[:, 1:] * v_logits.softmax(dim=1)  # (B, K)
        logits = torch.where(count > 0, probs.clamp_min(1e-12).log(), torch.zeros_like(probs))
        return FusionResult(torch.cat([a, v], dim=1), weights=w, logits=logits)


# ----------------------------------------------------------------------------- model

@dataclass
class AVOutput:
    """What every model returns; weights are (audio, video) per clip, or None."""

    audio_logits: torch.Tensor  # (B, K)
    video_logits: torch.Tensor  # (B, K)
    fused_logits: torch.Tensor  # (B, K)
    audio_embedding: torch.Tensor  # (B, E)
    video_embedding: torch.Tensor  # (B, E)
    fused_embedding: torch.Tensor  # (B, F)
    weights: torch.Tensor | None = None  # (B, 2)


class AVModel(nn.Module):
    """Two encoders, per-modality projection + LayerNorm, unimodal heads, a fusion and a fused head."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.video_encoder = build_encoder(config.video_encoder, **config.video_kwargs)
        self.audio_encoder = build_encoder(config.audio_encoder, **config.audio_kwargs)
        e = config.embed_dim
        # LayerNorm on embeddings before fusion, as the fan/valve work recommends.
        self.video_proj = nn.Sequential(nn.Linear(self.video_encoder.out_dim, e), nn.LayerNorm(e))
        self.audio_proj = nn.Sequential(nn.Linear(self.audio_encoder.out_dim, e), nn.LayerNorm(e))
        self.video_head = Classifier(e, config.hidden, config.num_classes, config.dropout)
        self.audio_head = Classifier(e, config.hidden, config.num_classes, config.dropout)
        self.fusion = build_fusion(config.fusion, embed_dim=e, audio_token_dim=self.audio_encoder.out_dim,
                                   video_token_dim=self.video_encoder.out_dim, num_classes=config.num_classes,
                                   dropout=config.dropout, **config.fusion_kwargs)
        self.fused_head = (Classifier(self.fusion.out_dim, config.hidden, config.num_classes, config.dropout)
                           if self.fusion.uses_head else None)
        self._encoders_frozen = False

    # -- description
    @property
    def preprocessing(self) -> tuple[VideoPreprocessing, AudioPreprocessing]:
        return self.video_encoder.preprocessing, self.audio_encoder.preprocessing

    def rebuild_config(self) -> ModelConfig:
        """This model's config with encoder kwargs that rebuild it without any pretrained files."""
        return ModelConfig.from_dict({**self.config.to_dict(),
                                      "video_kwargs": self.video_encoder.rebuild_kwargs(),
                                      "audio_kwargs": self.audio_encoder.rebuild_kwargs()})

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # -- forward, split so sweeps can cache one branch
    def encode_video(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, T, S, S) -> embedding (B, E) after projection + LayerNorm, tokens (B, Lv, Dv)."""
        emb, tokens = self.video_encoder(video)
        return self.video_proj(emb), tokens

    def encode_audio(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N) or (B, 1, n_bins, n_frames) -> embedding (B, E), tokens (B, La, Da)."""
        emb, tokens = self.audio_encoder(audio)
        return self.audio_proj(emb), tokens

    def encode(self, video: torch.Tensor, audio: torch.Tensor, video_mask: torch.Tensor | None = None,
               audio_mask: torch.Tensor | None = None):
        """(audio_emb, audio_tokens, video_emb, video_tokens); a branch absent from the whole batch is skipped."""
        a, at = self._encode_or_skip(self.encode_audio, self.audio_encoder, audio, audio_mask)
        v, vt = self._encode_or_skip(self.encode_video, self.video_encoder, video, video_mask)
        return a, at, v, vt

    def _encode_or_skip(self, fn, encoder, x, mask):
        if mask is not None and not bool(mask.any()):
            b = x.shape[0]
            return x.new_zeros(b, self.config.embed_dim), x.new_zeros(b, 1, encoder.out_dim)
        return fn(x)

    def fuse(self, audio_emb, audio_tokens, video_emb, video_tokens, *,
             audio_mask: torch.Tensor | None = None, video_mask: torch.Tensor | None = None) -> AVOutput:
        """Heads and fusion on (possibly cached) embeddings; masks are (B,), 1 present, 0 missing."""
        b = audio_emb.shape[0]
        am = audio_emb.new_ones(b) if audio_mask is None else audio_mask.to(audio_emb.dtype)
        vm = video_emb.new_ones(b) if video_mask is None else video_mask.to(video_emb.dtype)
        a = audio_emb * am[:, None]  # (B, E)
        v = video_emb * vm[:, None]  # (B, E)
        at = audio_tokens * am[:, None, None]  # (B, La, Da)
        vt = video_tokens * vm[:, None, None]  # (B, Lv, Dv)
        a_logits = self.audio_head(a) * am[:, None]  # (B, K); a missing modality says "uniform"
        v_logits = self.video_head(v) * vm[:, None]  # (B, K)
        res = self.fusion(a, at, v, vt, am, vm, a_logits, v_logits)
        fused = res.logits if res.logits is not None else self.fused_head(res.embedding)  # (B, K)
        fused = fused * torch.maximum(am, vm)[:, None]  # neither present: uniform
        return AVOutput(a_logits, v_logits, fused, a, v, res.embedding, res.weights)

    def forward(self, video: torch.Tensor, audio: torch.Tensor, video_mask: torch.Tensor | None = None,
                audio_mask: torch.Tensor | None = None) -> AVOutput:
        a, at, v, vt = self.encode(video, audio, video_mask, audio_mask)
        return self.fuse(a, at, v, vt, audio_mask=audio_mask, video_mask=video_mask)

    # -- two-phase training
    def phase_one_parameters(self) -> list[nn.Parameter]:
        """Encoders, projections and unimodal heads (phase I: train each modality alone)."""
        mods = (self.video_encoder, self.audio_encoder, self.video_proj, self.audio_proj,
                self.video_head, self.audio_head)
        return [p for m in mods for p in m.parameters()]

    def phase_two_parameters(self) -> list[nn.Parameter]:
        """Fusion and fused head (phase II: encoders frozen)."""
        mods = [self.fusion] + ([self.fused_head] if self.fused_head is not None else [])
        return [p for m in mods for p in m.parameters()]

    def freeze_encoders(self) -> None:
        """Stop gradients into encoders and projections and keep their BatchNorm statistics fixed."""
        self._encoders_frozen = True
        for m in (self.video_encoder, self.audio_encoder, self.video_proj, self.audio_proj):
            m.requires_grad_(False)
            m.eval()

    def train(self, mode: bool = True) -> "AVModel":
        super().train(mode)
        if self._encoders_frozen:
            for m in (self.video_encoder, self.audio_encoder, self.video_proj, self.audio_proj):
                m.eval()
        return self


__all__ = ["ModelConfig", "Classifier", "FusionResult", "Fusion", "FUSIONS",
           "build_fusion", "init_from_video_head", "AVOutput", "AVModel", "ConcatFusion",
           "WeightedSumFusion", "ModalityAttentionFusion", "CrossAttentionFusion", "LateFusion"]
