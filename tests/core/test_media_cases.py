"""core.media on clips as phones, editors and players make them: rotation, A/V timing, variable frame
rate, stream choice, downmix, DC offset, alpha. The shared media cases (tests/data/media-cases, with the
right value for each in its README) and, for each kind, files written here in several containers."""
from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from core import corruptions
from core.media import BACKGROUND, clip_to_mp4_bytes, load_clip

CASES = Path(__file__).resolve().parents[1] / "data" / "media-cases"
SR = 48_000


def _flash_span(clip) -> tuple[float, float]:
    """(first, end) seconds of the frames that are mostly white."""
    bright = np.flatnonzero(clip.frames.reshape(clip.frames.shape[0], -1).mean(axis=1) > 200)
    return bright[0] / clip.fps, (bright[-1] + 1) / clip.fps


def _tone_span(clip, level: float = 0.05) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(clip.audio) > level)
    return loud[0] / clip.sr, (loud[-1] + 1) / clip.sr


def _red_block(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the red pixels."""
    rows, cols = np.nonzero((frame[..., 0] > 180) & (frame[..., 1] < 90) & (frame[..., 2] < 90))
    return rows.min(), rows.max(), cols.min(), cols.max()


# ----------------------------------------------------------------------------- the shared cases

def test_rotated_phone_clip_is_upright_with_its_display_size():
    clip = load_clip(CASES / "01_rotated_portrait.mp4")
    assert clip.frames.shape == (50, 160, 120, 3)
    top, bottom, left, right = _red_block(clip.frames[0])
    assert (top, left) == (0, 0) and bottom < 42 and right < 42
    assert (clip.metadata["width"], clip.metadata["height"]) == (120, 160)
    assert clip.metadata["rotation"] in (90, 270)


def test_rotated_clip_keeps_its_picture_through_a_corruption_and_the_preview():
    clip = load_clip(CASES / "01_rotated_portrait.mp4")
    blurred = corruptions.apply(clip, "gaussian_blur", 2, rng=np.random.default_rng(0))
    for shown in (blurred, load_clip(clip_to_mp4_bytes(clip)), load_clip(clip_to_mp4_bytes(blurred))):
        assert shown.frames.shape[1:3] == (160, 120)
        top, _, left, _ = _red_block(shown.frames[0])
        assert top <= 2 and left <= 2


@pytest.mark.parametrize("name", ["02_audio_starts_1s_late.mp4", "02b_audio_starts_1s_late.mkv",
                                  "02c_control_in_sync.mp4"])
def test_late_audio_stays_in_sync_with_the_picture(name):
    clip = load_clip(CASES / name)
    assert clip.duration == pytest.approx(4.0, abs=0.01)
    assert _flash_span(clip) == pytest.approx((2.0, 2.2), abs=1e-6)
    start, end = _tone_span(clip)
    assert start == pytest.approx(2.0, abs=1 / clip.fps) and end == pytest.approx(2.2, abs=1 / clip.fps)
    assert np.abs(clip.audio[: int(1.9 * clip.sr)]).max() < 0.01  # silence before the burst


def test_late_audio_files_decode_like_the_control():
    control = load_clip(CASES / "02c_control_in_sync.mp4")
    for name in ("02_audio_starts_1s_late.mp4", "02b_audio_starts_1s_late.mkv"):
        late = load_clip(CASES / name)
        assert late.frames.shape == control.frames.shape
        assert late.audio.size == control.audio.size
        assert late.metadata["audio_offset"] == pytest.approx(1.0, abs=0.03)


def test_variable_frame_rate_frames_are_placed_by_their_timestamps():
    clip = load_clip(CASES / "03_vfr.mp4")
    assert clip.duration == pytest.approx(4.0, abs=1e-6)
    assert clip.fps == 30.0 and clip.metadata["variable_frame_rate"] is True
    assert _flash_span(clip) == pytest.approx((3.0, 3.2), abs=1e-6)
    assert _tone_span(clip)[0] == pytest.approx(3.0, abs=1 / clip.fps)
    # frames sampled uniformly for a model spread over time: the middle of 9 samples is at 2.0 s
    picked = np.linspace(0, clip.frames.shape[0] - 1, 9).round().astype(int)
    assert picked[4] / clip.fps == pytest.approx(2.0, abs=0.05)


def test_hevc_decodes():
    clip = load_clip(CASES / "13b_hevc.mp4")
    assert clip.metadata["video_codec"] == "hevc" and clip.frames.shape == (50, 240, 320, 3)
    assert clip.frames.std() > 5  # a picture, not a black box


def test_alpha_is_composited_over_the_documented_background():
    clip = load_clip(CASES / "14b_alpha_png.mov")
    with av.open(str(CASES / "14b_alpha_png.mov")) as c:
        rgba = next(c.decode(video=0)).to_ndarray(format="rgba")
    hidden = rgba[..., 3] == 0
    assert hidden.any() and (rgba[hidden][:, 0] > 200).any()  # the file hides red under alpha 0
    assert (clip.frames[0][hidden] == BACKGROUND).all()
    shown = rgba[..., 3] == 255
    assert (clip.frames[0][shown] == rgba[shown][:, :3]).all()


# ----------------------------------------------------------------------------- the same kinds, written here

def _picture(h: int = 48, w: int = 64) -> np.ndarray:
    img = np.full((h, w, 3), 40, np.uint8)
    img[:10, :12] = (255, 0, 0)  # red block at the top-left corner
    return img


def _write(path, *, fmt, rotation=None, frame_times=None, fps=25, audio=(), audio_start=0.0,
           video_start=0.0, sr=SR, flash=None):
    """A file written with PyAV: frames at ``frame_times`` (s, default constant ``fps`` over 2 s),
    white from ``flash`` seconds on for 0.2 s; each entry of ``audio`` is ``(y (C, N), default)``."""
    frame_times = np.arange(50) / fps if frame_times is None else np.asarray(frame_times)
    with av.open(str(path), "w", format=fmt) as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            vs.set_display_rotation(rotation)
        tracks = []
        for y, default in audio:
            a = out.add_stream("pcm_s16le" if fmt in ("matroska", "wav") else "aac", rate=sr)
            a.layout = "stereo" if y.shape[0] == 2 else "mono"
            a.disposition = av.stream.Disposition.default if default else 0
            tracks.append((a, y))
        vs.disposition = av.stream.Disposition.default
        for t in frame_times:
            img = _picture()
            if flash is not None and flash <= t < flash + 0.2:
                img[:] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(round((t + video_start) * 1000)), Fraction(1, 1000)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        for a, y in tracks:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y.T.reshape(1, -1)), format="flt",
                                               layout="stereo" if y.shape[0] == 2 else "mono")
            frame.sample_rate, frame.pts, frame.time_base = sr, int(round(audio_start * sr)), Fraction(1, sr)
            out.mux(a.encode(frame))
            out.mux(a.encode(None))
    return path


def _burst(seconds: float, at: float, sr: int = SR, hz: float = 1000.0) -> np.ndarray:
    y = np.zeros((1, int(seconds * sr)), np.float32)
    t = np.arange(int(0.2 * sr)) / sr
    y[0, int(at * sr): int(at * sr) + t.size] = 0.5 * np.sin(2 * np.pi * hz * t)
    return y


@pytest.mark.parametrize("fmt,ext", [("mp4", "mp4"), ("matroska", "mkv")])
@pytest.mark.parametrize("rotation,corner", [(90, "bottom-left"), (-90, "top-right"), (180, "bottom-right"),
                                             (0, "top-left")])
def test_every_display_rotation_in_every_container(tmp_path, fmt, ext, rotation, corner):
    clip = load_clip(_write(tmp_path / f"r.{ext}", fmt=fmt, rotation=rotation))
    turned = rotation % 180 != 0
    assert clip.frames.shape[1:3] == ((64, 48) if turned else (48, 64))
    assert (clip.metadata["width"], clip.metadata["height"]) == ((48, 64) if turned else (64, 48))
    top, bottom, left, right = _red_block(clip.frames[0])
    h, w = clip.frames.shape[1:3]
    at = ("top" if top == 0 else "bottom" if bottom == h - 1 else "?") + "-" + \
         ("left" if left == 0 else "right" if right == w - 1 else "?")
    # ffmpeg's autorotate is the reference: the same file through the ffmpeg command line
    if shutil.which("ffmpeg"):
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / f"r.{ext}"), "-frames:v", "1",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
        reference = np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        assert _red_block(reference) == (top, bottom, left, right)
    assert at == corner


@pytest.mark.parametrize("fmt,ext", [("mp4", "mp4"), ("matroska", "mkv")])
@pytest.mark.parametrize("offset", [1.0, -1.0])
def test_audio_starting_late_or_early_stays_in_sync(tmp_path, fmt, ext, offset):
    """Audio starting 1 s after the video, or video starting 1 s after the audio: the tone and the
    flash are at the same moment of the clip."""
    audio_start, video_start = (offset, 0.0) if offset > 0 else (0.0, -offset)
    # the burst is at 2.0 s of the file's timeline in both streams
    path = _write(tmp_path / f"s.{ext}", fmt=fmt, frame_times=np.arange(100) / 25 + 0.0, flash=2.0 - video_start,
                  audio=[(_burst(4.0 - audio_start, 2.0 - audio_start), True)], audio_start=audio_start,
                  video_start=video_start)
    clip = load_clip(path)
    flash_start, _ = _flash_span(clip)
    tone_start, _ = _tone_span(clip)
    assert tone_start == pytest.approx(flash_start, abs=1 / 25)
    assert flash_start == pytest.approx(2.0, abs=1e-6)  # time 0 is the earlier stream's start
    assert clip.duration == pytest.approx(4.0 + max(0.0, -offset), abs=0.01)


def test_gap_in_the_audio_timestamps_becomes_silence(tmp_path):
    path = tmp_path / "gap.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        a = out.add_stream("pcm_s16le", rate=SR)
        a.layout = "mono"
        for start, hz in ((0.0, 440.0), (2.0, 1000.0)):  # 1 s of sound, 1 s gap, 1 s of sound
            t = np.arange(SR) / SR
            frame = av.AudioFrame.from_ndarray((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)[None],
                                               format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = SR, int(start * SR), Fraction(1, SR)
            out.mux(a.encode(frame))
        out.mux(a.encode(None))
    clip = load_clip(path)
    assert clip.duration == pytest.approx(3.0, abs=0.01)
    second = clip.audio[int(2.05 * clip.sr): int(2.95 * clip.sr)]
    spectrum = np.abs(np.fft.rfft(second))
    assert np.fft.rfftfreq(second.size, 1 / clip.sr)[spectrum.argmax()] == pytest.approx(1000, abs=2)
    assert np.abs(clip.audio[int(1.05 * clip.sr): int(1.95 * clip.sr)]).max() < 1e-3


@pytest.mark.parametrize("fmt,ext", [("mp4", "mp4"), ("matroska", "mkv")])
def test_variable_frame_rate_in_every_container(tmp_path, fmt, ext):
    """10 frames at 5 fps, then 60 at 30 fps; the flash is at 3.0 s."""
    times = np.concatenate([np.arange(10) / 5, 2.0 + np.arange(60) / 30])
    clip = load_clip(_write(tmp_path / f"v.{ext}", fmt=fmt, frame_times=times, fps=30, flash=3.0))
    assert clip.fps == pytest.approx(30.0) and clip.duration == pytest.approx(4.0, abs=0.04)
    assert _flash_span(clip) == pytest.approx((3.0, 3.2), abs=1 / 30 + 1e-6)
    # nearest earlier frame: the output frame at 0.3 s shows the input frame of 0.2 s
    assert (clip.frames[9] == clip.frames[6]).all()


def test_default_audio_track_is_used_and_the_choice_reported(tmp_path):
    quiet = _burst(2.0, 0.5, hz=440.0)
    chosen = _burst(2.0, 1.0, hz=1000.0)
    clip = load_clip(_write(tmp_path / "tracks.mkv", fmt="matroska",
                            audio=[(quiet, False), (chosen, True)]))
    assert clip.metadata["audio_stream"] == 2 and clip.metadata["other_audio_streams"] == 1
    assert _tone_span(clip)[0] == pytest.approx(1.0, abs=0.01)
    without_default = load_clip(_write(tmp_path / "first.mkv", fmt="matroska", audio=[(quiet, False), (chosen, False)]))
    assert without_default.metadata["audio_stream"] == 1
    assert _tone_span(without_default)[0] == pytest.approx(0.5, abs=0.01)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line to attach cover art")
@pytest.mark.parametrize("ext,codec", [("mp3", "libmp3lame"), ("m4a", "aac"), ("flac", "flac")])
def test_cover_art_makes_an_audio_file_audio_only(tmp_path, ext, codec):
    from PIL import Image

    Image.fromarray(_picture()).save(tmp_path / "cover.png")
    wav = tmp_path / "a.wav"
    with av.open(str(wav), "w", format="wav") as out:
        a = out.add_stream("pcm_s16le", rate=SR)
        a.layout = "mono"
        frame = av.AudioFrame.from_ndarray(_burst(2.0, 1.0), format="flt", layout="mono")
        frame.sample_rate = SR
        out.mux(a.encode(frame))
        out.mux(a.encode(None))
    target = tmp_path / f"song.{ext}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-i", str(tmp_path / "cover.png"), "-map", "0",
                    "-map", "1", "-c:a", codec, "-c:v", "png" if ext != "mp3" else "mjpeg",
                    "-disposition:v", "attached_pic", str(target)], check=True)
    clip = load_clip(target)
    assert not clip.has_video and clip.has_audio
    assert clip.metadata["attached_pictures"] == 1
    assert clip.duration == pytest.approx(2.0, abs=0.06)


def _wav(path, y: np.ndarray, sr: int = SR):
    with av.open(str(path), "w", format="wav") as out:
        a = out.add_stream("pcm_f32le", rate=sr)
        a.layout = "stereo" if y.shape[0] == 2 else "mono"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y.T.reshape(1, -1)), format="flt",
                                           layout=a.layout.name)
        frame.sample_rate = sr
        out.mux(a.encode(frame))
        out.mux(a.encode(None))
    return path


def test_stereo_in_opposite_phase_is_not_silence(tmp_path):
    y = _burst(2.0, 0.5)[0]
    clip = load_clip(_wav(tmp_path / "phase.wav", np.stack([y, -y])))
    assert np.abs(clip.audio).max() == pytest.approx(0.5, abs=0.02)
    assert clip.metadata["downmix"].startswith("louder channel")
    normal = load_clip(_wav(tmp_path / "same.wav", np.stack([y, 0.5 * y])))
    assert normal.metadata["downmix"] == "mean of 2 channels"
    assert np.abs(normal.audio).max() == pytest.approx(0.375, abs=0.02)


def test_dc_offset_is_removed(tmp_path):
    y = _burst(2.0, 0.5)[0] * 0.5
    clean = load_clip(_wav(tmp_path / "clean.wav", y[None]))
    offset = load_clip(_wav(tmp_path / "dc.wav", (y + 0.3)[None]))
    assert abs(float(offset.audio.mean())) < 1e-4
    assert np.abs(offset.audio - clean.audio).max() < 1e-3


def test_dc_offset_does_not_change_predictions(tmp_path):
    from core.inference import Predictor

    y = _burst(5.0, 1.0, sr=16_000)[0] * 0.5
    predictor = Predictor.load(None, device="cpu")
    clean = predictor.predict(load_clip(_wav(tmp_path / "clean.wav", y[None], 16_000))).overall
    offset = predictor.predict(load_clip(_wav(tmp_path / "dc.wav", (y + 0.25)[None], 16_000))).overall
    for head in ("audio", "fused"):
        np.testing.assert_allclose(offset.probs[head], clean.probs[head], atol=1e-4)


# ----------------------------------------------------------------------------- through core.predict and the page

def _predict_json(capsys, path) -> dict:
    import json

    from core.predict import main

    assert main([str(path), "--json", "--device", "cpu"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name,duration,size", [
    ("01_rotated_portrait.mp4", 2.0, (120, 160)), ("02_audio_starts_1s_late.mp4", 4.0, (160, 120)),
    ("02b_audio_starts_1s_late.mkv", 4.0, (160, 120)), ("03_vfr.mp4", 4.0, (160, 120)),
    ("13b_hevc.mp4", 2.0, (320, 240)), ("14b_alpha_png.mov", 2.0, (160, 120))])
def test_core_predict_reports_the_decoded_values(capsys, name, duration, size):
    out = _predict_json(capsys, CASES / name)
    assert out["duration"] == pytest.approx(duration, abs=0.01)
    assert (out["media"]["width"], out["media"]["height"]) == size
    assert out["padding"] == pytest.approx(1 - duration / 5.0, abs=0.01)


def test_a_short_sound_says_how_much_of_the_window_is_padding(tmp_path, capsys):
    from core.predict import main

    click = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(480) / 16_000)).astype(np.float32)[None]
    path = _wav(tmp_path / "click.wav", click, 16_000)
    out = _predict_json(capsys, path)
    assert out["duration"] == pytest.approx(0.03, abs=1e-3)
    assert out["padding"] == pytest.approx(1 - 0.03 / 5.0, abs=1e-3)
    assert main([str(path), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "Only 0.03 s of the 5 s window the model sees is the clip: 99% is padding" in text


def test_decoding_notes_name_the_stream_choice_and_the_offset(tmp_path):
    from core.media import decoding_notes

    clip = load_clip(_write(tmp_path / "tracks.mkv", fmt="matroska",
                            audio=[(_burst(2.0, 0.5), False), (_burst(2.0, 1.0), True)]))
    (note,) = decoding_notes(clip.metadata)
    assert note == ("Used video stream 0 and audio stream 2 (the default, else the first); the file has "
                    "1 other audio stream, left out.")
    late = decoding_notes(load_clip(CASES / "02_audio_starts_1s_late.mp4").metadata)
    assert late == ["The audio starts 0.98 s after the picture; both are kept in sync on one timeline."]
    assert decoding_notes(load_clip(CASES / "02c_control_in_sync.mp4").metadata) == []
