"""Zero-shot audio-visual classification with the user's own labels: CLIP on the frames, CLAP on the sound.

No training: each class name becomes a text prompt, a pretrained image-text model
(CLIP, Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision") scores the sampled video frames against the prompts, a pretrained
audio-text model (CLAP: Wu et al. 2023, "Large-scale Contrastive Language-Audio
Pretraining with Feature Fusion and Keyword-to-Caption Augmentation" (LAION-CLAP);
Elizalde et al. 2023, "CLAP: Learning Audio Concepts from Natural Language
Supervision") scores the audio, and the two heads are fused late. Both models are
transformers' ``CLIPModel`` and ``ClapModel`` with their tokenizers, CLIP's image
processor settings and CLAP's ``ClapFeatureExtractor``.

The sidecar (``avlab.json`` in a folder)::

    {"format": "zero-shot", "classes": ["fan_normal", "fan_fault"],
     "image_text_model": "clip",                      # folder (relative to the sidecar, or absolute) or hub id
     "audio_text_model": "laion/clap-htsat-unfused",  # a hub id needs a machine with network (or the HF cache)
     "prompts": {"video": "a photo of {label}", "audio": ["the sound of {label}", "{label}"]},
     "fusion_weights": {"audio": 0.5, "video": 0.5},
     "video": {"frames": 8}, "audio": {"seconds": 5.0}}

- ``prompts`` (optional) is one of: a template (a string holding ``{label}``, or a list of
  them) used for both modalities; an object ``{"video": SPEC, "audio": SPEC}`` (either key
  may be left out) giving each modality its own SPEC; or an object mapping class names to
  prompt text (a string or a list), the same for both modalities. A SPEC is a template or
  such a class mapping; classes a mapping leaves out get the default template. Defaults:
  video ``"a photo of {label}"``, audio ``"the sound of {label}"``. ``{label}`` is the class
  name with underscores as spaces (``fan_fault`` -> ``fan fault``); it is also filled in
  class-mapping texts. Several texts for one class are a prompt ensemble (CLIP §3.1.4):
  the mean of their L2-normalised text embeddings, normalised again. An object whose keys
  are all "video"/"audio" is read per modality unless one of them is a class name.
- ``fusion_weights`` (optional): non-negative numbers for "audio" and "video" (both keys),
  not both zero; normalised to sum to 1. Default 0.5 / 0.5.
- ``video.frames`` (default 8) and ``audio.seconds`` (default 5.0) are read; the frame
  size, mean and std come from CLIP, the sample rate from CLAP's feature extractor
  (giving other values in the sidecar is an error).

Heads (B clips, K classes, T frames, D embedding sizes)
--------------------------------------------------------
- video: each of the T frames (B, 3, T, S, S) -> CLIP image embedding, L2-normalised,
  averaged over T and normalised again: ``v`` (B, Dv); logits ``exp(logit_scale) * v @ t_v.T``
  (B, K), ``t_v`` the normalised prompt embeddings (K, Dv): CLIP's ``logits_per_image``.
- audio: the waveform (B, N) at CLAP's rate (48 kHz for LAION's checkpoints) ->
  ``ClapFeatureExtractor`` (log-mel; CLAP's own repeat-padding to its 10 s input) ->
  CLAP audio embedding, normalised ``a`` (B, Da); logits ``exp(logit_scale_a) * a @ t_a.T``:
  CLAP's ``logits_per_audio``.
- fused (the rule): with ``w_a, w_v`` the sidecar's weights,
  ``fused = log_softmax(w_a * log_softmax(audio) + w_v * log_softmax(video))``: the weighted
  mean of the heads' log-probabilities, renormalised (a weighted product of experts; the
  weighted geometric mean of the two distributions). A clip missing a modality (mask 0)
  gets zero logits (uniform) on that head and the weights 1/0 to the other, so its fused
  head equals the other head; a clip missing both gets uniform fused probabilities. The
  per-clip weights actually used are reported as the modality weights (B, 2).
- embeddings: ``a`` (B, Da), ``v`` (B, Dv) (zeros where missing), fused = ``[a, v]`` (B, Da + Dv).
  Tokens: video the per-frame embeddings (B, T, Dv), audio the embedding as one token (B, 1, Da).

Preprocessing notes. avlab's :func:`core.models.preprocessing.video_input` resizes each
whole frame to S x S and normalises with CLIP's mean and std (rescale 1/255 first, as
CLIP's processor does). CLIP's own processor resizes the short side then centre-crops;
avlab *squashes* the frame instead (no crop, so nothing at the edges is lost; the aspect
ratio is not kept) and resamples bilinearly with antialiasing rather than bicubically.
When the processor's crop size differs from the checkpoint's ``image_size``, CLIP
interpolates its position embeddings. For CLAP, audio is fed at the feature extractor's
rate; a fused CLAP checkpoint (``enable_fusion``) is called with ``truncation="fusion"``
and an unfused one with ``"rand_trunc"``; ``is_longer`` is set from the real length (the
extractor would otherwise mark a random short clip as long, a training device), and the
extractor's random crops of over-long audio are drawn from a fixed seed, so a clip always
gets the same prediction.
"""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.models.interface import HEADS, MODALITIES, AVClassifier, Encoded, ModelError, Outputs, content_hash
from core.models.preprocessing import AudioPreprocessing, VideoPreprocessing
from core.models.sidecar import Sidecar

DEFAULT_TEMPLATES = {"video": "a photo of {label}", "audio": "the sound of {label}"}
DEFAULT_WEIGHTS = (0.5, 0.5)  # audio, video
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_BATCH = 64  # frames per CLIP forward pass
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FIELDS = {"video": "image_text_model", "audio": "audio_text_model"}


# ----------------------------------------------------------------------------- the model

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
                             f"of shape {tuple(x.shape)}: {_first(exc)}") from exc
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


# ----------------------------------------------------------------------------- loading

def load_zero_shot(sidecar: Sidecar, device: torch.device) -> AVClassifier:
    """The zero-shot model a ``"format": "zero-shot"`` sidecar describes, on ``device``.

    Raises
    ------
    ModelError
        One sentence naming the sidecar and the field: a model folder missing or not loadable,
        fewer than 2 classes, a bad ``prompts``, ``fusion_weights``, ``video`` or ``audio`` field.
    """
    device = torch.device(device)
    classes = tuple(sidecar.classes)
    if len(classes) < 2:
        raise sidecar.fail("classes", f"must list at least 2 distinct class names (got {list(classes)!r})")
    weights = _weights(sidecar)
    prompts = prompt_texts(sidecar)
    clip_ref, clip_path = _model_ref(sidecar, "image_text_model")
    clap_ref, clap_path = _model_ref(sidecar, "audio_text_model")

    clip, clip_tokenizer = _load_clip(sidecar, clip_ref)
    size, mean, std = _clip_image_spec(sidecar, clip_ref, clip)
    clap, clap_tokenizer, extractor = _load_clap(sidecar, clap_ref)

    video = VideoPreprocessing(num_frames=sidecar.video.num_frames, size=size, mean=mean, std=std)
    audio = AudioPreprocessing(sr=int(extractor.sampling_rate), seconds=sidecar.audio.seconds)
    _check_inputs(sidecar, video, audio)

    clip.to(device)
    clap.to(device)
    video_text = _text_embeddings(sidecar, "image_text_model", clip, clip_tokenizer, prompts["video"],
                                  _max_length(clip_tokenizer, clip.config.text_config.max_position_embeddings))
    text_cfg = clap.config.text_config
    audio_text = _text_embeddings(sidecar, "audio_text_model", clap, clap_tokenizer, prompts["audio"],
                                  _max_length(clap_tokenizer, text_cfg.max_position_embeddings
                                              - int(text_cfg.pad_token_id or 0) - 1))

    fingerprint = content_hash(sidecar.path, *(p for p in (clip_path, clap_path) if p is not None))
    hub = [ref for ref, p in ((clip_ref, clip_path), (clap_ref, clap_path)) if p is None]
    if hub:
        fingerprint = hashlib.sha256("|".join([fingerprint, *hub]).encode()).hexdigest()[:16]
    return ZeroShotModel(
        clip=clip, clap=clap, feature_extractor=extractor, video_text=video_text, audio_text=audio_text,
        classes=classes, video=video, audio=audio, fusion_weights=weights,
        interpolate_pos_encoding=size != int(clip.config.vision_config.image_size), prompts=prompts,
        models={"video": clip_ref, "audio": clap_ref}, name=sidecar.name, source=sidecar.model_path,
        fingerprint=fingerprint)


def _model_ref(sidecar: Sidecar, field: str) -> tuple[str, Path | None]:
    """(what from_pretrained gets, the local folder or None for a hub id); raises ModelError."""
    value = sidecar.raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise sidecar.fail(field, f"must name a local model folder or a Hugging Face hub id (got {value!r})")
    value = value.strip()
    path = Path(value).expanduser()
    local = (path if path.is_absolute() else sidecar.path.parent / path).resolve()
    if local.is_dir():
        return str(local), local
    if local.exists():
        raise sidecar.fail(field, f"names {local}, which is a file; it must be a model folder "
                                  f"(config.json, weights, tokenizer) saved with save_pretrained")
    if not path.is_absolute() and _HUB_ID.match(value) and ".." not in value:
        return value, None
    raise sidecar.fail(field, f"names {local}, which does not exist (nor is {value!r} a hub id like 'owner/name')")


def _load_clip(sidecar: Sidecar, ref: str):
    from transformers import AutoTokenizer, CLIPConfig, CLIPModel

    field = "image_text_model"
    model = _pretrained(sidecar, field, ref, CLIPModel, CLIPConfig, "CLIP")
    tokenizer = _pretrained_part(sidecar, field, ref, AutoTokenizer, "tokenizer")
    return model, tokenizer


def _load_clap(sidecar: Sidecar, ref: str):
    from transformers import AutoTokenizer, ClapConfig, ClapFeatureExtractor, ClapModel

    field = "audio_text_model"
    model = _pretrained(sidecar, field, ref, ClapModel, ClapConfig, "CLAP")
    tokenizer = _pretrained_part(sidecar, field, ref, AutoTokenizer, "tokenizer")
    mels = int(model.config.audio_config.num_mel_bins)
    try:
        extractor = ClapFeatureExtractor.from_pretrained(ref)
    except OSError:  # none saved with the model: CLAP's defaults (48 kHz, 10 s, 64 mel bins)
        extractor = ClapFeatureExtractor(feature_size=mels)
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds
        raise sidecar.fail(field, f"names {ref}, whose CLAP feature extractor cannot be loaded "
                                  f"({type(exc).__name__}: {_first(exc)})") from exc
    if int(extractor.feature_size) != mels:
        raise sidecar.fail(field, f"names {ref}, whose feature extractor makes {extractor.feature_size} mel bins "
                                  f"but whose CLAP audio model takes {mels}")
    return model, tokenizer, extractor


def _pretrained(sidecar: Sidecar, field: str, ref: str, model_cls, config_cls, kind: str):
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(ref)
    except Exception as exc:  # noqa: BLE001 - OSError, ValueError, hub errors
        raise sidecar.fail(field, f"names {ref}, which transformers cannot load ({type(exc).__name__}: "
                                  f"{_first(exc)})") from exc
    if not isinstance(config, config_cls):
        raise sidecar.fail(field, f"names {ref}, a '{getattr(config, 'model_type', '?')}' model; it must be a "
                                  f"{kind} model ({config_cls.__name__})")
    try:
        model = model_cls.from_pretrained(ref, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001
        raise sidecar.fail(field, f"names {ref}, whose {kind} weights cannot be loaded ({type(exc).__name__}: "
                                  f"{_first(exc)})") from exc
    return model.eval()


def _pretrained_part(sidecar: Sidecar, field: str, ref: str, cls, what: str):
    try:
        return cls.from_pretrained(ref)
    except Exception as exc:  # noqa: BLE001
        raise sidecar.fail(field, f"names {ref}, whose {what} cannot be loaded ({type(exc).__name__}: "
                                  f"{_first(exc)})") from exc


def _clip_image_spec(sidecar: Sidecar, ref: str, clip) -> tuple[int, tuple, tuple]:
    """(size, mean, std) of CLIP's input: the saved image processor's, else image_size and OpenAI's mean/std."""
    from transformers import AutoImageProcessor

    size, mean, std = int(clip.config.vision_config.image_size), OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    try:
        processor = AutoImageProcessor.from_pretrained(ref)
    except (OSError, ValueError):  # no preprocessor_config.json saved with the model
        return size, mean, std
    except Exception as exc:  # noqa: BLE001
        raise sidecar.fail("image_text_model", f"names {ref}, whose image processor cannot be loaded "
                                               f"({type(exc).__name__}: {_first(exc)})") from exc
    crop = _side(getattr(processor, "crop_size", None)) if getattr(processor, "do_center_crop", False) else None
    size = crop or _side(getattr(processor, "size", None)) or size
    if getattr(processor, "do_normalize", True):
        mean = tuple(float(m) for m in (getattr(processor, "image_mean", None) or mean))
        std = tuple(float(s) for s in (getattr(processor, "image_std", None) or std))
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    if len(mean) != 3 or len(std) != 3:
        raise sidecar.fail("image_text_model", f"names {ref}, whose image processor normalises {len(mean)} "
                                               f"channels; avlab feeds RGB")
    return int(size), mean, std


def _side(spec: Any) -> int | None:
    """The square side a processor's ``size`` / ``crop_size`` (dict or SizeDict) asks for."""
    if spec is None:
        return None
    if isinstance(spec, int):
        return spec
    get = spec.get if isinstance(spec, dict) else (lambda key: getattr(spec, key, None))
    return get("height") or get("shortest_edge") or get("width")


def _check_inputs(sidecar: Sidecar, video: VideoPreprocessing, audio: AudioPreprocessing) -> None:
    """A sidecar may leave out video.size/mean/std and audio.sample_rate; values it gives must be the models'."""
    v, a = sidecar.raw.get("video") or {}, sidecar.raw.get("audio") or {}
    if "size" in v and sidecar.video.size != video.size:
        raise sidecar.fail("video.size", f"is {sidecar.video.size}, but CLIP takes {video.size} x {video.size} "
                                         f"frames; leave it out")
    for key in ("mean", "std"):
        given, need = getattr(sidecar.video, key), getattr(video, key)
        if key in v and any(abs(g - n) > 1e-4 for g, n in zip(given, need)):
            raise sidecar.fail(f"video.{key}", f"is {list(given)}, but CLIP normalises with {list(need)}; "
                                               f"leave it out")
    if "sample_rate" in a and sidecar.audio.sr != audio.sr:
        raise sidecar.fail("audio.sample_rate", f"is {sidecar.audio.sr}, but CLAP takes audio at {audio.sr} Hz; "
                                                f"leave it out")


def _weights(sidecar: Sidecar) -> tuple[float, float]:
    """The sidecar's (audio, video) fusion weights, normalised to sum to 1."""
    raw = sidecar.raw.get("fusion_weights")
    if raw is None:
        return DEFAULT_WEIGHTS
    ok = isinstance(raw, dict) and set(raw) == {"audio", "video"} and all(
        isinstance(raw[k], (int, float)) and not isinstance(raw[k], bool) and math.isfinite(raw[k]) and raw[k] >= 0
        for k in ("audio", "video"))
    if not ok or raw["audio"] + raw["video"] <= 0:
        raise sidecar.fail("fusion_weights", f'must be {{"audio": W, "video": W}} with non-negative numbers, not '
                                             f"both zero (got {raw!r})")
    total = float(raw["audio"] + raw["video"])
    return float(raw["audio"]) / total, float(raw["video"]) / total


def prompt_texts(sidecar: Sidecar) -> dict[str, list[list[str]]]:
    """modality -> per class (logit order) the prompt texts (several: an ensemble); raises ModelError."""
    classes = list(sidecar.classes)
    raw = sidecar.raw.get("prompts")
    if raw is None:
        specs, fields = dict(DEFAULT_TEMPLATES), {m: "prompts" for m in MODALITIES}
    elif isinstance(raw, dict) and raw and set(raw) <= set(MODALITIES) and not set(raw) & set(classes):
        specs = {m: raw.get(m, DEFAULT_TEMPLATES[m]) for m in MODALITIES}
        fields = {m: f"prompts.{m}" for m in MODALITIES}
    else:
        specs, fields = {m: raw for m in MODALITIES}, {m: "prompts" for m in MODALITIES}
    return {m: _expand(sidecar, fields[m], specs[m], DEFAULT_TEMPLATES[m], classes) for m in MODALITIES}


def _expand(sidecar: Sidecar, field: str, spec: Any, default: str, classes: list[str]) -> list[list[str]]:
    def label(c: str) -> str:
        return c.replace("_", " ")

    def texts(value: Any, where: str, *, template: bool) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if (not isinstance(items, list) or not items
                or not all(isinstance(t, str) and t.strip() for t in items)):
            raise sidecar.fail(where, f"must be a text or a non-empty list of texts (got {value!r})")
        if template and not all("{label}" in t for t in items):
            raise sidecar.fail(where, f"must hold {{label}} where the class name goes (got {value!r})")
        return items

    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(classes))
        if unknown:
            raise sidecar.fail(field, f"maps {unknown}, which are not among the classes {classes}")
        return [[t.replace("{label}", label(c)) for t in
                 (texts(spec[c], f"{field}.{c}", template=False) if c in spec else [default])] for c in classes]
    templates = texts(spec, field, template=True)
    return [[t.replace("{label}", label(c)) for t in templates] for c in classes]


def _max_length(tokenizer, positions: int) -> int:
    limit = getattr(tokenizer, "model_max_length", None)
    return int(min(positions, limit)) if isinstance(limit, int) and limit > 0 else int(positions)


def _text_embeddings(sidecar: Sidecar, field: str, model, tokenizer, prompts: list[list[str]],
                     max_length: int) -> torch.Tensor:
    """(K, D): per class the mean of its prompts' L2-normalised text embeddings, normalised again."""
    flat = [t for per_class in prompts for t in per_class]
    device = next(model.parameters()).device
    try:
        tokens = tokenizer(flat, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            out = model.get_text_features(input_ids=tokens["input_ids"].to(device),
                                          attention_mask=tokens["attention_mask"].to(device))
    except Exception as exc:  # noqa: BLE001 - a tokenizer that does not fit its model
        raise sidecar.fail(field, f"names a model whose tokenizer and text encoder fail on the prompts "
                                  f"({type(exc).__name__}: {_first(exc)})") from exc
    emb = F.normalize(out.pooler_output.float(), dim=-1)  # (sum of prompts, D)
    rows, start = [], 0
    for per_class in prompts:
        rows.append(F.normalize(emb[start:start + len(per_class)].mean(dim=0), dim=-1))
        start += len(per_class)
    return torch.stack(rows)  # (K, D)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


__all__ = ["DEFAULT_TEMPLATES", "DEFAULT_WEIGHTS", "ZeroShotModel", "load_zero_shot", "prompt_texts",
           "fusion_weights"]
