"""core.media: decoding every container we promise, encoding for the browser, windows, bad input."""
from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from core import media
from core.media import Clip, MediaError, load_clip, sliding_windows, write_clip

FPS = 16
SIZE = 64
SECONDS = 1.0
TONE_HZ = 440.0


def _frames(n: int = int(FPS * SECONDS), h: int = SIZE, w: int = SIZE) -> np.ndarray:
    """A bright square moving left to right on a dark background."""
    frames = np.full((n, h, w, 3), 30, np.uint8)
    for i in range(n):
        x = int(i * (w - 16) / max(1, n - 1))
        frames[i, h // 2 - 8 : h // 2 + 8, x : x + 16] = (220, 180, 40)
    return frames


def _tone(sr: int, seconds: float = SECONDS) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.4 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def _encode(path, *, vcodec=None, acodec=None, sr=16_000, channels=1, fmt=None, seconds=SECONDS,
            size=(SIZE, SIZE), options=None):
    """Write a test file with PyAV directly (independent of write_clip)."""
    with av.open(str(path), "w", format=fmt) as out:
        vs = as_ = None
        if vcodec:
            vs = out.add_stream(vcodec, rate=FPS, options=options or {})
            vs.width, vs.height = size[1], size[0]
            vs.pix_fmt = "yuvj420p" if vcodec == "mjpeg" else "yuv420p"
        if acodec:
            as_ = out.add_stream(acodec, rate=sr, options={"strict": "experimental"})
            as_.layout = "stereo" if channels == 2 else "mono"
        if vs is not None:
            for i, rgb in enumerate(_frames(int(FPS * seconds), *size)):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                out.mux(vs.encode(frame))
            out.mux(vs.encode(None))
        if as_ is not None:
            y = _tone(sr, seconds)
            samples = np.ascontiguousarray(np.repeat(y, channels)[None, :])  # packed, interleaved
            layout = "stereo" if channels == 2 else "mono"
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout=layout)
            frame.sample_rate = sr
            frame.pts = 0
            out.mux(as_.encode(frame))
            out.mux(as_.encode(None))
    return path


def _dominant_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)])


AV_CASES = [
    ("h264_aac.mp4", dict(vcodec="libx264", acodec="aac")),
    ("hevc_aac.mp4", dict(vcodec="libx265", acodec="aac")),
    ("mpeg4_aac.mov", dict(vcodec="mpeg4", acodec="aac")),
    ("vp9_opus.webm", dict(vcodec="libvpx-vp9", acodec="libopus", sr=48_000)),
    ("vp8_vorbis.mkv", dict(vcodec="libvpx", acodec="vorbis", sr=44_100, channels=2)),
    ("av1_opus.mkv", dict(vcodec="libsvtav1", acodec="libopus", sr=48_000)),
    ("mjpeg_pcm.avi", dict(vcodec="mjpeg", acodec="pcm_s16le", sr=22_050, channels=2)),
]


@pytest.mark.parametrize("name,kw", AV_CASES, ids=[c[0] for c in AV_CASES])
def test_decodes_audio_visual_containers(tmp_path, name, kw):
    try:
        path = _encode(tmp_path / name, **kw)
    except av.error.FFmpegError as exc:  # an encoder this FFmpeg build lacks is not our decoder's fault
        pytest.skip(f"cannot encode the test file: {exc}")
    clip = load_clip(path)
    assert clip.has_video and clip.has_audio
    assert clip.frames.dtype == np.uint8 and clip.frames.shape[1:] == (SIZE, SIZE, 3)
    assert clip.fps == pytest.approx(FPS)
    assert clip.frames.shape[0] == pytest.approx(FPS * SECONDS, abs=1)
    assert clip.audio.dtype == np.float32 and clip.sr == 16_000
    assert clip.audio.size == int(round(clip.duration * 16_000))
    assert clip.duration == pytest.approx(SECONDS, abs=0.07)
    assert _dominant_hz(clip.audio, clip.sr) == pytest.approx(TONE_HZ, abs=5)
    # The moving square really is decoded: its centre moves right.
    first, last = (clip.frames[i, :, :, 0] > 120 for i in (0, -1))
    assert np.nonzero(first)[1].mean() < np.nonzero(last)[1].mean() - 20
    meta = clip.metadata
    assert meta["video_codec"] and meta["audio_codec"] and meta["width"] == SIZE
    assert meta["sample_rate"] == kw.get("sr", 16_000)
    assert meta["channels"] == kw.get("channels", 1)


AUDIO_CASES = [
    ("tone.wav", dict(acodec="pcm_s16le", sr=44_100)),
    ("tone.mp3", dict(acodec="mp3", sr=44_100)),
    ("tone.flac", dict(acodec="flac", sr=22_050)),
    ("tone.ogg", dict(acodec="libopus", sr=48_000)),
]


@pytest.mark.parametrize("name,kw", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_audio_only_files_are_clips_without_video(tmp_path, name, kw):
    clip = load_clip(_encode(tmp_path / name, **kw))
    assert clip.has_audio and not clip.has_video
    assert clip.frames.shape == (0, 0, 0, 3) and clip.fps == 0.0
    assert clip.duration == pytest.approx(SECONDS, abs=0.06)
    assert _dominant_hz(clip.audio, clip.sr) == pytest.approx(TONE_HZ, abs=5)


def test_video_only_file_is_a_clip_without_audio(tmp_path):
    clip = load_clip(_encode(tmp_path / "silent.mp4", vcodec="libx264"))
    assert clip.has_video and not clip.has_audio
    assert clip.audio.shape == (0,)
    assert clip.duration == pytest.approx(SECONDS)


def test_path_bytes_and_file_object_give_the_same_clip(tmp_path):
    path = _encode(tmp_path / "a.mp4", vcodec="libx264", acodec="aac")
    by_path = load_clip(path)
    by_bytes = load_clip(path.read_bytes())
    with open(path, "rb") as f:
        by_file = load_clip(f)
    for other in (by_bytes, by_file):
        np.testing.assert_array_equal(by_path.frames, other.frames)
        np.testing.assert_array_equal(by_path.audio, other.audio)


def test_large_frames_are_downscaled_while_decoding(tmp_path):
    path = _encode(tmp_path / "big.mp4", vcodec="libx264", size=(120, 200))
    clip = load_clip(path, max_side=100)
    assert clip.frames.shape[1:3] == (60, 100)
    assert clip.metadata["width"] == 200 and clip.metadata["height"] == 120
    assert load_clip(path, max_side=None).frames.shape[1:3] == (120, 200)


def test_long_clips_are_refused_or_truncated(tmp_path):
    path = _encode(tmp_path / "long.mp4", vcodec="libx264", acodec="aac", seconds=3.0)
    with pytest.raises(MediaError, match="limit"):
        load_clip(path, max_duration=1.0)
    clip = load_clip(path, max_duration=1.0, truncate=True)
    assert clip.duration == pytest.approx(1.0)
    assert clip.frames.shape[0] == FPS and clip.audio.size == 16_000


def test_oversized_file_is_refused(tmp_path):
    path = _encode(tmp_path / "a.mp4", vcodec="libx264")
    with pytest.raises(MediaError, match="limit"):
        load_clip(path, max_bytes=100)


def _damaged(tmp_path) -> bytes:
    data = _encode(tmp_path / "ok.mp4", vcodec="libx264", acodec="aac", seconds=3.0).read_bytes()
    return data[: len(data) // 3]


@pytest.mark.parametrize("make,match", [
    (lambda tmp: b"", "empty"),
    (lambda tmp: b"just some text, certainly not a video\n" * 20, "not a recognised"),
    (lambda tmp: bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a recognised"),
    (_damaged, "damaged or truncated"),
])
def test_bad_input_is_one_plain_sentence(tmp_path, make, match):
    with pytest.raises(MediaError, match=match) as info:
        load_clip(make(tmp_path))
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message and "Errno" not in message


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(MediaError, match="No file"):
        load_clip(tmp_path / "nope.mp4")
    with pytest.raises(MediaError, match="Cannot read"):
        load_clip(12345)


def test_file_without_audio_or_video_is_refused(tmp_path):
    path = tmp_path / "subs.mkv"
    with av.open(str(path), "w") as out:
        out.add_stream("subrip")
    with pytest.raises(MediaError):
        load_clip(path)


def test_unsupported_codec_is_named(tmp_path):
    path = _encode(tmp_path / "v.mkv", vcodec="libx264")
    data = path.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    (tmp_path / "unknown.mkv").write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/AVC"))
    with pytest.raises(MediaError, match="not supported"):
        load_clip(tmp_path / "unknown.mkv")


# ----------------------------------------------------------------------------- encoding


def _clip(seconds=1.0, size=(48, 64)) -> Clip:
    return Clip(frames=_frames(int(FPS * seconds), *size), fps=FPS, audio=_tone(16_000, seconds),
                duration=seconds)


def test_write_clip_is_browser_playable_mp4(tmp_path):
    path = tmp_path / "out.mp4"
    write_clip(_clip(), path)
    data = path.read_bytes()
    assert data[4:8] == b"ftyp"
    assert data.find(b"moov") < data.find(b"mdat"), "index must be at the front (faststart)"
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert c.streams.audio[0].codec_context.name == "aac"


def test_write_then_load_round_trip_keeps_content():
    clip = _clip(seconds=2.0)
    back = load_clip(media.clip_to_mp4_bytes(clip))
    assert back.frames.shape == clip.frames.shape
    assert back.duration == pytest.approx(2.0)
    assert np.abs(back.frames.astype(int) - clip.frames.astype(int)).mean() < 6
    assert np.corrcoef(back.audio[1000:15000], clip.audio[1000:15000])[0, 1] > 0.99


def test_write_odd_sizes_and_single_modalities(tmp_path):
    odd = _clip(size=(37, 53))
    assert load_clip(media.clip_to_mp4_bytes(odd)).frames.shape[1:3] == (36, 52)
    video_only = odd.replace(audio=media.no_audio())
    assert not load_clip(media.clip_to_mp4_bytes(video_only)).has_audio
    audio_only = odd.replace(frames=media.no_video(), fps=0.0)
    assert not load_clip(media.clip_to_mp4_bytes(audio_only)).has_video
    with pytest.raises(MediaError):
        write_clip(audio_only.replace(audio=media.no_audio()), io.BytesIO())


def test_fractional_frame_rate_survives(tmp_path):
    clip = _clip().replace(fps=float(Fraction(30000, 1001)))
    back = load_clip(media.clip_to_mp4_bytes(clip))
    assert back.fps == pytest.approx(29.97, abs=0.01)


# ----------------------------------------------------------------------------- windows


def test_sliding_windows_cover_the_clip_with_start_times():
    clip = _clip(seconds=12.0, size=(8, 8))
    windows = sliding_windows(clip, window=5.0, stride=1.25)
    starts = [w.start for w in windows]
    assert starts[:3] == [0.0, 1.25, 2.5]
    assert windows[-1].end == pytest.approx(12.0)
    for w in windows:
        assert not w.padded
        assert w.clip.frames.shape[0] == 5 * FPS and w.clip.audio.size == 5 * 16_000
    # Window content comes from the right place in the clip.
    second = windows[1]
    np.testing.assert_array_equal(second.clip.frames[0], clip.frames[int(1.25 * FPS)])


def test_short_clip_gives_one_padded_window():
    clip = _clip(seconds=2.0, size=(8, 8))
    (window,) = sliding_windows(clip, window=5.0, stride=0.25)
    assert window.padded and window.start == 0.0
    assert window.clip.frames.shape[0] == 5 * FPS and window.clip.audio.size == 5 * 16_000
    np.testing.assert_array_equal(window.clip.frames[-1], clip.frames[-1])
    assert not window.clip.audio[2 * 16_000 :].any()


def test_bad_window_parameters():
    with pytest.raises(ValueError):
        sliding_windows(_clip(), window=5.0, stride=0)
