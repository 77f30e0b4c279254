"""Decode and encode audio-visual clips with PyAV.

A :class:`Clip` is the one in-memory form every other module works on:
``frames`` uint8 ``(T, H, W, 3)`` upright at a constant rate and ``audio`` float32 mono at
16 kHz, both on one timeline. Anything that goes wrong with a file is a :class:`MediaError`
carrying one plain sentence a user can act on.

Modules: :mod:`.decode` (files to clips: stream choice, timeline), :mod:`.picture` (rotation,
alpha, constant frame rate), :mod:`.sound` (audio placement, DC offset, downmix), :mod:`.encode`
(clips to browser-playable MP4), :mod:`.windows` (fixed-length windows for a model), :mod:`.pair` (a clip
kept as two files, audio and video, and how a source is named).
"""
from .clip import SAMPLE_RATE, Clip, MediaError, no_audio, no_video
from .decode import DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION_S, DEFAULT_MAX_SIDE, decoding_notes, load_clip
from .encode import clip_to_mp4_bytes, write_clip
from .pair import PAIR_TOLERANCE_S, SEPARATOR, Pair, as_source, source_files, source_name
from .picture import BACKGROUND
from .windows import Window, pad_clip, sliding_windows, window_starts

__all__ = ["SAMPLE_RATE", "BACKGROUND", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DURATION_S", "DEFAULT_MAX_SIDE",
           "PAIR_TOLERANCE_S", "SEPARATOR", "Pair", "as_source", "source_files", "source_name",
           "Clip", "MediaError", "Window", "clip_to_mp4_bytes", "decoding_notes", "load_clip", "no_audio", "no_video",
           "pad_clip", "sliding_windows", "window_starts", "write_clip"]
