"""A clip kept as two files, the picture in one and the sound in the other, and how such a source is named.

Some data sets ship audio and video apart: DCASE 2021 Task 1B (TAU Urban Audio-Visual Scenes 2021:
``audio/*.wav`` beside ``video/*.mp4``) and CREMA-D (``AudioWAV/*.wav`` beside ``VideoFlash/*.flv``).
:func:`core.media.load_clip` decodes a :class:`Pair` into one :class:`~core.media.Clip`: frames from the
video file, sound from the audio file, each on its own timeline from its own first timestamp, their
durations checked against each other (:data:`PAIR_TOLERANCE_S`).

Where a source must be stored as text (the results database, the dashboard's session), a pair is written
``"<video path> + <audio path>"`` (:data:`SEPARATOR`) and read back by :func:`as_source`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SEPARATOR = " + "
"""Between the two paths of a pair written as text, and between the two file names of its name."""

PAIR_TOLERANCE_S = 0.5
"""The most (seconds) the audio file may last longer or shorter than the video file for the two to be
taken as one recording; within it the sound is cut or padded with silence to the video's length."""


@dataclass(frozen=True)
class Pair:
    """The two files of one clip: ``video`` (its picture is used, any sound track in it is not) and ``audio``.

    ``name`` (``"a.flv + a.wav"``) is what pages and reports show, and what seeds a corrupted pair
    (:func:`core.corruptions.clip_seed` of the name, as for a single file's name).
    """

    video: Path
    audio: Path

    def __post_init__(self):
        object.__setattr__(self, "video", Path(self.video))
        object.__setattr__(self, "audio", Path(self.audio))

    @property
    def name(self) -> str:
        return f"{self.video.name}{SEPARATOR}{self.audio.name}"

    @property
    def files(self) -> tuple[Path, Path]:
        return self.video, self.audio

    def __str__(self) -> str:
        return f"{self.video}{SEPARATOR}{self.audio}"


def as_source(value) -> Path | Pair:
    """A single file's path or a :class:`Pair`, from a path, a pair, or a pair's text form (``str(pair)``).

    Text naming an existing file is that file, even if its name contains :data:`SEPARATOR`; otherwise text
    holding the separator is read as a pair (split where the left part is an existing file, else at the first
    separator), so a pair stored in the results database reopens as a pair.
    """
    if isinstance(value, Pair):
        return value
    text = os.fspath(value)
    path = Path(text)
    if SEPARATOR not in text or path.exists():
        return path
    cuts = [i for i in range(len(text)) if text.startswith(SEPARATOR, i)]
    cut = next((i for i in cuts if Path(text[:i]).is_file()), cuts[0])
    return Pair(text[:cut], text[cut + len(SEPARATOR):])


def source_name(value) -> str:
    """What a clip's source is called on a page: the file name, or ``"a.flv + a.wav"`` for a pair."""
    return as_source(value).name


def source_files(value) -> tuple[Path, ...]:
    """The file(s) of a source: one path, or a pair's video and audio file."""
    source = as_source(value)
    return source.files if isinstance(source, Pair) else (source,)
