"""Cached work behind the pages: decoded clips, corrupted clips, branch embeddings, predictions,
previews and audio-images. Every cache is keyed on hashable arguments (the clip key is path +
mtime or a content hash); the ``_ref`` arguments only say where to read the clip from.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from core import representations
from core.corruptions import FRAME_LOCAL, FRAMEWISE, apply_many, clip_seed
from core.corruptions import get as get_corruption
from core.inference import Branch, ClipPrediction, split_steps
from core.media import Clip, MediaError, clip_to_mp4_bytes, load_clip
from ui.limits import TTL_S, MiB, clip_cache
from ui.models import ModelChoice, predictor
from ui.session import ClipRef

Steps = tuple[tuple[str, int], ...]
# Containers and codecs a browser plays as they are; anything else is re-encoded.
_PLAYABLE = {("mov,mp4,m4a,3gp,3g2,mj2", "h264", "aac"), ("mov,mp4,m4a,3gp,3g2,mj2", "h264", None)}


# The model sees 112 px and 5 s windows; these bounds keep a cached clip under ~300 MB.
MAX_SIDE = 320
MAX_SECONDS = 60.0
PROBE_SECONDS = 0.5  # decoded to learn a file's container, codecs and rotation (~30x faster than the whole clip)


@clip_cache("decoded")
def decoded(clip_key: str, _ref: ClipRef) -> Clip:
    """The decoded clip (raises ``MediaError`` with one sentence for a bad or too long file)."""
    return load_clip(_ref.source, max_side=MAX_SIDE, max_duration=MAX_SECONDS)


@clip_cache("corrupted_audio")
def corrupted_audio(clip_key: str, steps: Steps, seed: int, _ref: ClipRef) -> np.ndarray:
    """The waveform after the audio (and audio-visual) steps; (N,) float32."""
    clip = decoded(clip_key, _ref)
    if not steps:
        return clip.audio
    return apply_many(clip, list(steps), seed=clip_seed(seed, _ref.name)).audio


@clip_cache("corrupted_frames")
def corrupted_frames(clip_key: str, steps: Steps, seed: int, _ref: ClipRef) -> np.ndarray:
    """The frames after the video (and audio-visual) steps; (T, H, W, 3) uint8."""
    clip = decoded(clip_key, _ref)
    if not steps:
        return clip.frames
    return apply_many(clip, list(steps), seed=clip_seed(seed, _ref.name)).frames


def corrupted(ref: ClipRef, steps: Steps = (), seed: int = 0) -> Clip:
    """The whole corrupted clip, assembled from the per-modality caches."""
    clip = decoded(ref.key, ref)
    if not steps:
        return clip
    audio_steps, video_steps = split_steps(steps)
    return clip.replace(audio=corrupted_audio(ref.key, audio_steps, seed_for(audio_steps, seed), ref),
                        frames=corrupted_frames(ref.key, video_steps, seed_for(video_steps, seed), ref))


@clip_cache("branch")
def branch(ckpt_key: str, clip_key: str, modality: str, steps: Steps, seed: int, window: float, stride: float,
           _ckpt_path: str, _ref: ClipRef) -> Branch:
    """One branch's embeddings for a clip; ``steps`` are only those touching this modality."""
    clip = decoded(clip_key, _ref)
    model = predictor(ckpt_key, _ckpt_path)
    if modality == "audio":
        clip = clip.replace(audio=corrupted_audio(clip_key, steps, seed, _ref))
    elif steps and all(n in FRAMEWISE or n in FRAME_LOCAL for n, _ in steps) and \
            (view := model.sampled_view(clip)) is not None:
        # the frames the model samples, corrupted as a sweep corrupts them (exact for FRAMEWISE), 10x less work
        clip = view.replace(frames=apply_many(view, list(steps), seed=clip_seed(seed, _ref.name)).frames)
    else:
        clip = clip.replace(frames=corrupted_frames(clip_key, steps, seed, _ref))
    return model.encode_branch(clip, modality, window=window, stride=stride)


def seed_for(steps: Steps, seed: int) -> int:
    """The seed when a step draws random numbers, else 0 (so a seed change reuses the cache)."""
    return seed if any(get_corruption(n).stochastic for n, _ in steps) else 0


def predict(info: ModelChoice, ref: ClipRef, steps: Steps = (), seed: int = 0, *,
            window: float = 5.0, stride: float = 1.0) -> ClipPrediction:
    """The three heads' predictions; a change of audio corruptions re-encodes the audio branch only."""
    audio_steps, video_steps = split_steps(steps)
    a = branch(info.key, ref.key, "audio", audio_steps, seed_for(audio_steps, seed), window, stride, info.path, ref)
    v = branch(info.key, ref.key, "video", video_steps, seed_for(video_steps, seed), window, stride, info.path, ref)
    return predictor(info.key, info.path).fuse(a, v)


@clip_cache("media_info")
def media_info(clip_key: str, _ref: ClipRef) -> dict:
    """The file's ``Clip.metadata`` (container, codecs, display rotation, ...) from its first
    :data:`PROBE_SECONDS` only: what deciding how to play it needs. Raises ``MediaError``."""
    return load_clip(_ref.source, max_side=MAX_SIDE, max_duration=PROBE_SECONDS, truncate=True).metadata


def _playable(meta: dict) -> bool:
    # a rotated file is re-encoded upright, so the preview is the picture the model gets, whatever the browser
    return (meta.get("container"), meta.get("video_codec"), meta.get("audio_codec")) in _PLAYABLE \
        and not meta.get("rotation")


@clip_cache("preview_mp4")
def preview_mp4(clip_key: str, steps: Steps, seed: int, _ref: ClipRef) -> bytes:
    """Bytes a browser plays, for every page that plays a clip or a data set's file: the file itself when it
    is H.264 MP4 (AAC or no audio) without a display rotation; else (HEVC, VP9, Matroska, a rotated or a
    corrupted clip) an H.264/AAC MP4 of the decoded clip. Raises ``MediaError`` for a file that cannot be
    decoded."""
    if not steps:
        try:
            playable = _playable(media_info(clip_key, _ref))
        except MediaError:
            playable = False  # decoding the whole clip below says why, in its own words
        if playable:
            return _ref.data if _ref.data is not None else open(_ref.path, "rb").read()
    return clip_to_mp4_bytes(corrupted(_ref, steps, seed))


@clip_cache("audio_image")
def audio_image(clip_key: str, steps: Steps, seed: int, name: str, params: tuple, size: int,
                _ref: ClipRef) -> np.ndarray:
    """A representation of the (corrupted) audio as a uint8 RGB image (size x 2*size)."""
    clip = decoded(clip_key, _ref)
    y = corrupted_audio(clip_key, split_steps(steps)[0], seed, _ref) if steps else clip.audio
    return representations.to_image(name, y, clip.sr, size=(size, 2 * size), **dict(params))


@clip_cache("representation")
def representation(clip_key: str, steps: Steps, seed: int, name: str, params: tuple, _ref: ClipRef):
    """A representation of the (corrupted) audio with its axes (:class:`core.representations.Representation`),
    for the readable figure."""
    y = corrupted_audio(clip_key, split_steps(steps)[0], seed, _ref) if steps else decoded(clip_key, _ref).audio
    return representations.compute(name, y, decoded(clip_key, _ref).sr, **dict(params))


@st.cache_data(show_spinner=False, max_entries=128, max_size=32 * MiB, ttl=TTL_S)
def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 RGB image as PNG bytes, for a download button."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@clip_cache("model_frames")
def model_frames(clip_key: str, steps: Steps, seed: int, num_frames: int, size: int, _ref: ClipRef) -> np.ndarray:
    """The frames the video encoder sees (uniform sampling, resized, not normalised): (T, S, S, 3) uint8."""
    import torch
    import torch.nn.functional as F

    from core.models.preprocessing import sample_indices

    frames = corrupted_frames(clip_key, split_steps(steps)[1], seed, _ref) if steps else decoded(clip_key, _ref).frames
    if frames.shape[0] == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    picked = frames[sample_indices(frames.shape[0], num_frames)]
    x = torch.from_numpy(np.ascontiguousarray(picked)).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()  # (T, S, S, 3)
