"""Branch-level inference: encode the audio and the video branch apart, fuse later.

The Corruption Lab changes one modality at a time; encoding each branch on its own
lets a cache keep the clean video embeddings while only the audio branch is
recomputed after an audio corruption (and vice versa). The results equal
:meth:`core.inference.Predictor.predict` (tested in ``tests/app/test_branches.py``).

No streamlit here: ``ui/analysis.py`` wraps these in ``st.cache_data``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.corruptions import get as get_corruption
from core.inference import HEADS, WINDOW_S, ClipPrediction, Prediction, Predictor, WindowPrediction
from core.media import Clip, pad_clip, sliding_windows
from core.models import audio_input, audio_present, preprocessing_for, video_input, video_present
from core.models.preprocessing import sample_indices


@dataclass(frozen=True)
class Branch:
    """One modality's encoder outputs for every window of a clip (numpy, so it pickles cheaply)."""

    modality: str
    embedding: np.ndarray  # (W, E)
    tokens: np.ndarray  # (W, L, D)
    mask: np.ndarray  # (W,) 1 present, 0 missing
    starts: tuple[float, ...]
    ends: tuple[float, ...]
    padded: tuple[bool, ...]


# Video corruptions that treat each frame alone and draw no random numbers: applied to just the
# frames the encoder samples (8 of 80) they give exactly the same input, ~10x sooner.
# tests/app/test_branches.py checks that for every name here.
FRAMEWISE = frozenset({"gaussian_blur", "defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate",
                       "video_off"})


def sampled_view(predictor: Predictor, clip: Clip) -> Clip | None:
    """The frames the video encoder will sample from a one-window clip, as a clip (None for longer clips)."""
    if clip.duration > WINDOW_S + 1e-6 or not clip.has_video:
        return None
    (one,), *_ = windows(clip)
    picked = one.frames[sample_indices(one.frames.shape[0], preprocessing_for(predictor.model)[0].num_frames)]
    return one.replace(frames=picked, duration=WINDOW_S)


def windows(clip: Clip, *, window: float = WINDOW_S, stride: float = 1.0):
    """The clips the model sees, with (start, end, padded): one padded window for short clips."""
    if clip.duration <= window + 1e-6:
        one = pad_clip(clip, WINDOW_S) if clip.duration < WINDOW_S else clip
        return [one], [0.0], [clip.duration], [clip.duration < WINDOW_S - 1e-6]
    parts = sliding_windows(clip, window=window, stride=stride)
    clips = [pad_clip(w.clip, WINDOW_S) if w.clip.duration < WINDOW_S else w.clip for w in parts]
    return clips, [w.start for w in parts], [w.end for w in parts], [w.padded for w in parts]


@torch.inference_mode()
def encode_branch(predictor: Predictor, clip: Clip, modality: str, *, window: float = WINDOW_S,
                  stride: float = 1.0, batch_size: int = 16) -> Branch:
    """Encode one modality of ``clip`` window by window, as ``Predictor.predict`` would."""
    model = predictor.model
    vspec, aspec = preprocessing_for(model)
    clips, starts, ends, padded = windows(clip, window=window, stride=stride)
    if modality == "audio":
        present = [audio_present(c.audio) for c in clips]
        inputs = [audio_input(c.audio, c.sr, aspec) for c in clips]
        encode, encoder = model.encode_audio, model.audio_encoder
    elif modality == "video":
        present = [video_present(c.frames) for c in clips]
        inputs = [video_input(c.frames, c.fps, vspec) for c in clips]
        encode, encoder = model.encode_video, model.video_encoder
    else:
        raise ValueError(f"A branch is 'audio' or 'video'; got {modality!r}.")
    embeddings, tokens = [], []
    for i in range(0, len(clips), batch_size):
        x = torch.stack([t if p else torch.zeros_like(t)
                         for t, p in zip(inputs[i:i + batch_size], present[i:i + batch_size])])
        if any(present[i:i + batch_size]):
            emb, tok = encode(x)  # (B, E), (B, L, D)
        else:  # as AVModel.encode: a branch absent from the whole batch is skipped
            emb = x.new_zeros(x.shape[0], model.config.embed_dim)
            tok = x.new_zeros(x.shape[0], 1, encoder.out_dim)
        embeddings.append(emb.numpy())
        tokens.append(tok.numpy())
    return Branch(modality, np.concatenate(embeddings), _concat_tokens(tokens),
                  np.asarray(present, dtype=np.float32), tuple(starts), tuple(ends), tuple(padded))


def _concat_tokens(parts: list[np.ndarray]) -> np.ndarray:
    # A skipped batch has one zero token; pad it to the others' length (masked out anyway).
    length = max(p.shape[1] for p in parts)
    return np.concatenate([p if p.shape[1] == length else
                           np.pad(p, ((0, 0), (0, length - p.shape[1]), (0, 0))) for p in parts])


@torch.inference_mode()
def fuse(predictor: Predictor, audio: Branch, video: Branch) -> ClipPrediction:
    """Heads and fusion on cached branch outputs: the whole clip and, for long clips, its timeline."""
    if audio.starts != video.starts:
        raise ValueError("The audio and video branches were encoded with different windows.")
    model = predictor.model
    am, vm = torch.from_numpy(audio.mask), torch.from_numpy(video.mask)
    out = model.fuse(torch.from_numpy(audio.embedding), torch.from_numpy(audio.tokens),
                     torch.from_numpy(video.embedding), torch.from_numpy(video.tokens),
                     audio_mask=am, video_mask=vm)
    probs = {h: getattr(out, f"{h}_logits").softmax(dim=1).numpy() for h in HEADS}  # (W, K) each
    weights = None if out.weights is None else out.weights.numpy()  # (W, 2)
    preds = [Prediction(
        classes=predictor.classes,
        probs={h: probs[h][i] for h in HEADS},
        weights=None if weights is None else (float(weights[i, 0]), float(weights[i, 1])),
        present={"audio": bool(audio.mask[i]), "video": bool(video.mask[i])},
    ) for i in range(len(audio.starts))]
    if len(preds) == 1:  # a clip no longer than one window: no timeline
        return ClipPrediction(overall=preds[0], windows=())
    overall = Prediction(
        classes=predictor.classes,
        probs={h: probs[h].mean(axis=0) for h in HEADS},
        weights=None if weights is None else tuple(float(x) for x in weights.mean(axis=0)),
        present={"audio": bool(audio.mask.any()), "video": bool(video.mask.any())},
    )
    return ClipPrediction(overall=overall, windows=tuple(
        WindowPrediction(s, e, p, pred) for s, e, p, pred in zip(audio.starts, audio.ends, audio.padded, preds)))


def split_steps(steps) -> tuple[tuple, tuple]:
    """The corruption steps that touch the audio, and those that touch the video (order kept)."""
    audio = tuple((n, s) for n, s in steps if get_corruption(n).modality in ("audio", "audiovisual"))
    video = tuple((n, s) for n, s in steps if get_corruption(n).modality in ("video", "audiovisual"))
    return audio, video
