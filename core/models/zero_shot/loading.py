"""Reading a zero-shot sidecar: the two pretrained models, CLIP's image settings, the prompts, the weights."""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from core.models.interface import MODALITIES, AVClassifier, content_hash, first_line
from core.models.preprocessing import AudioPreprocessing, VideoPreprocessing
from core.models.sidecar import Sidecar
from core.models.zero_shot.model import DEFAULT_WEIGHTS, ZeroShotModel

DEFAULT_TEMPLATES = {"video": "a photo of {label}", "audio": "the sound of {label}"}
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FIELDS = {"video": "image_text_model", "audio": "audio_text_model"}


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
                                  f"({type(exc).__name__}: {first_line(exc)})") from exc
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
                                  f"{first_line(exc)})") from exc
    if not isinstance(config, config_cls):
        raise sidecar.fail(field, f"names {ref}, a '{getattr(config, 'model_type', '?')}' model; it must be a "
                                  f"{kind} model ({config_cls.__name__})")
    try:
        model = model_cls.from_pretrained(ref, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001
        raise sidecar.fail(field, f"names {ref}, whose {kind} weights cannot be loaded ({type(exc).__name__}: "
                                  f"{first_line(exc)})") from exc
    return model.eval()


def _pretrained_part(sidecar: Sidecar, field: str, ref: str, cls, what: str):
    try:
        return cls.from_pretrained(ref)
    except Exception as exc:  # noqa: BLE001
        raise sidecar.fail(field, f"names {ref}, whose {what} cannot be loaded ({type(exc).__name__}: "
                                  f"{first_line(exc)})") from exc


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
                                               f"({type(exc).__name__}: {first_line(exc)})") from exc
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
                                  f"({type(exc).__name__}: {first_line(exc)})") from exc
    emb = F.normalize(out.pooler_output.float(), dim=-1)  # (sum of prompts, D)
    rows, start = [], 0
    for per_class in prompts:
        rows.append(F.normalize(emb[start:start + len(per_class)].mean(dim=0), dim=-1))
        start += len(per_class)
    return torch.stack(rows)  # (K, D)




__all__ = ["DEFAULT_TEMPLATES", "DEFAULT_WEIGHTS", "ZeroShotModel", "load_zero_shot", "prompt_texts"]
