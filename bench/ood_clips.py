"""Clips that are not factory-av, made locally, for measuring out-of-distribution detection.

    python bench/ood_clips.py --out data/ood

writes 5 s MP4s and ``manifest.csv`` (``path,label,family,description``; ``label`` is the family)
in seven families, each deterministic (seeded), nothing downloaded:

- ``test_pattern``: ffmpeg test sources (testsrc, testsrc2, smptebars, smptehdbars, mandelbrot,
  life, rgbtestsrc, cellauto) with sine tones (220-3000 Hz, steady or beeping);
- ``speech``: espeak-ng sentences (several voices, speeds) over an ffmpeg source or a still;
- ``noise``: white, pink or brown noise (ffmpeg ``anoisesrc``) over noise, a still or a source;
- ``music``: synthesised chord progressions, drum patterns and both together (numpy);
- ``pasted_speech``: factory-av clips (test seeds far from the test split's) with speech mixed in
  0-10 dB above the clip's level;
- ``pasted_shape``: factory-av clips with a big saturated disc or square (40-55 % of the frame)
  moving across the picture;
- ``pasted_music``: factory-av clips with a drum pattern or chords mixed in 0-10 dB above the clip.

Requires the ``ffmpeg`` and ``espeak-ng`` programs (``apt-get install -y espeak-ng``).
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

SR = 16_000
SECONDS = 5.0
SIZES = [("320x240", 25), ("160x160", 16), ("640x360", 30)]
PATTERNS = ["testsrc", "testsrc2", "smptebars", "smptehdbars", "mandelbrot", "life", "rgbtestsrc", "cellauto"]
TONES = ["sine=frequency=440", "sine=frequency=1000:beep_factor=4", "sine=frequency=220", "sine=frequency=3000"]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog, and then it runs away.",
    "Please remember to switch off the lights before you leave the office tonight.",
    "Good morning everyone, today we will talk about the weather in the mountains.",
    "One, two, three, four, five, six, seven, eight, nine, ten.",
    "Can you hear me now? I am testing the microphone in the meeting room.",
    "The train to London leaves from platform nine at half past seven.",
    "Attention please, the museum will close in fifteen minutes.",
    "I would like a cup of coffee with milk and two sugars, thank you.",
]
VOICES = ["en", "en-us", "en+f3", "en-us+m3", "de", "fr", "es", "en+f2"]
NOISE_COLOURS = ["white", "pink", "brown"]
STILLS = ["gradients=speed=0.00001", "color=c=0x3050a0", "pal75bars", "colorspectrum"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _lavfi_video(source: str, size: str, fps: int) -> list[str]:
    sep = ":" if "=" in source else "="
    return ["-f", "lavfi", "-i", f"{source}{sep}size={size}:rate={fps}"]


def _mux(video: list[str], audio: list[str], out: Path, vfilter: str | None = None) -> None:
    """Video input args + audio input args -> a 5 s H.264/AAC MP4 (16 kHz mono audio)."""
    vf = ["-vf", vfilter] if vfilter else []
    _ffmpeg(*video, *audio, "-t", f"{SECONDS}", *vf, "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", str(SR), "-ac", "1", "-shortest", str(out))


def _wav(y: np.ndarray, path: Path) -> Path:
    from scipy.io import wavfile

    wavfile.write(path, SR, (np.clip(y, -1, 1) * 32767).astype(np.int16))
    return path


def speech(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    """espeak-ng speech at 16 kHz, float32, cut or zero-padded to 5 s, peak 0.9."""
    import librosa

    wav = tmp / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True,
                   capture_output=True)
    y, _ = librosa.load(wav, sr=SR, mono=True)
    y = np.pad(y, (0, max(0, int(SR * SECONDS) - len(y))))[: int(SR * SECONDS)]
    return (0.9 * y / max(np.abs(y).max(), 1e-6)).astype(np.float32)


# ----------------------------------------------------------------------------- music-like synthesis

def _envelope(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / SR
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay)


def chords(rng: np.random.Generator) -> np.ndarray:
    """Four triads (a pop progression in a random key), 1.25 s each, harmonic tones with a piano-like envelope."""
    root = 48 + int(rng.integers(0, 12))  # MIDI note
    progression = [(0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)]
    n = int(SR * SECONDS / 4)
    y = []
    for chord in progression:
        part = np.zeros(n)
        for step in chord:
            f = 440.0 * 2 ** ((root + step - 69) / 12)
            t = np.arange(n) / SR
            tone = sum(np.sin(2 * np.pi * f * h * t) / h ** 1.5 for h in range(1, 6))
            part += tone * _envelope(n, 0.01, float(rng.uniform(0.4, 1.0)))
        y.append(part)
    y = np.concatenate(y)
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def drums(rng: np.random.Generator) -> np.ndarray:
    """Kick on beats 1 and 3, snare on 2 and 4, hi-hat on eighths, at 90-140 bpm."""
    n = int(SR * SECONDS)
    y = np.zeros(n)
    beat = 60.0 / float(rng.uniform(90, 140))
    t = np.arange(int(0.3 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 * t + 100 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.12)
    snare = (rng.normal(size=t.size) * 0.6 + np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.08)
    hat = np.diff(rng.normal(size=t.size + 1)) * np.exp(-t / 0.02) * 0.3
    i = 0
    while (start := int(i * beat / 2 * SR)) < n:
        sounds = [hat] + ([kick] if i % 4 == 0 else []) + ([snare] if i % 4 == 2 else [])
        for s in sounds:
            m = min(len(s), n - start)
            y[start:start + m] += s[:m]
        i += 1
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


# ----------------------------------------------------------------------------- pasted into factory-av

def factory_clip(i: int):
    """A factory-av clip of class ``i % 7`` from test seeds 500,000 on (never in a generated test split)."""
    from core.synth.generator import generate_clip
    from core.synth.spec import CLASSES, seed_range

    clip, _ = generate_clip(CLASSES[i % len(CLASSES)], split="test", seed=seed_range("test").start + 500_000 + i)
    return clip, CLASSES[i % len(CLASSES)]


def _mix(base: np.ndarray, foreign: np.ndarray, gain_db: float) -> np.ndarray:
    """``foreign`` scaled to ``gain_db`` above ``base``'s RMS, added; peak-limited to 0.99."""
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)) + 1e-9)  # noqa: E731
    foreign = foreign[: len(base)]
    foreign = np.pad(foreign, (0, len(base) - len(foreign)))
    y = base + foreign * rms(base) / rms(foreign) * 10 ** (gain_db / 20)
    return (y / max(1.0, np.abs(y).max() / 0.99)).astype(np.float32)


def moving_shape(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A saturated disc or square, 40-55 % of the frame's side, crossing the picture in a straight line."""
    t_, h, w, _ = frames.shape
    size = float(rng.uniform(0.40, 0.55)) * min(h, w)
    colour = np.array(rng.permutation([255, int(rng.integers(0, 80)), int(rng.integers(0, 255))]), np.uint8)
    start, end = rng.uniform(0, 1, 2) * [w, h], rng.uniform(0, 1, 2) * [w, h]
    yy, xx = np.mgrid[0:h, 0:w]
    disc = bool(rng.integers(0, 2))
    out = frames.copy()
    for k in range(t_):
        cx, cy = start + (end - start) * k / max(t_ - 1, 1)
        inside = ((xx - cx) ** 2 + (yy - cy) ** 2 <= (size / 2) ** 2) if disc else \
            (np.abs(xx - cx) <= size / 2) & (np.abs(yy - cy) <= size / 2)
        out[k][inside] = colour
    return out


# ----------------------------------------------------------------------------- the set

def make(out: Path) -> Path:
    """Write every family into ``out`` and its ``manifest.csv``; returns the manifest's path."""
    from core.media import write_clip

    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed: apt-get install -y espeak-ng")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    rng = np.random.default_rng(15)

    def add(family: str, name: str, description: str) -> Path:
        (out / family).mkdir(exist_ok=True)
        rows.append({"path": f"{family}/{name}.mp4", "label": family, "family": family, "description": description})
        return out / family / f"{name}.mp4"

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for i, pattern in enumerate(PATTERNS):
            for j in range(2):
                tone = TONES[(i + j) % len(TONES)]
                size, fps = SIZES[(i + j) % len(SIZES)]
                path = add("test_pattern", f"{pattern}_{j}", f"{pattern} {size}@{fps} + {tone}")
                _mux(_lavfi_video(pattern, size, fps), ["-f", "lavfi", "-i", f"{tone}:sample_rate={SR}"], path)
        for i, text in enumerate(SENTENCES):
            for j in range(2):
                voice, speed = VOICES[(i + 3 * j) % len(VOICES)], int(rng.integers(130, 190))
                still = STILLS[(i + j) % len(STILLS)] if j == 0 else PATTERNS[(i + j) % len(PATTERNS)]
                size, fps = SIZES[(i + j) % len(SIZES)]
                wav = _wav(speech(text, voice, speed, tmp) * float(rng.uniform(0.3, 1.0)), tmp / "a.wav")
                path = add("speech", f"speech_{i}_{j}", f"espeak-ng {voice} {speed} wpm over {still}: {text}")
                _mux(_lavfi_video(still, size, fps), ["-i", str(wav)], path)
        for i in range(12):
            colour = NOISE_COLOURS[i % 3]
            amp = float(rng.uniform(0.05, 0.5))
            size, fps = SIZES[i % len(SIZES)]
            video, vf = [(STILLS[i % len(STILLS)], None), ("color=c=gray", "noise=alls=60:allf=t"),
                         (PATTERNS[i % len(PATTERNS)], None)][i % 3]
            path = add("noise", f"noise_{i}", f"{colour} noise amplitude {amp:.2f} over {video}{' + ' + vf if vf else ''}")
            _mux(_lavfi_video(video, size, fps),
                 ["-f", "lavfi", "-i", f"anoisesrc=color={colour}:amplitude={amp:.3f}:sample_rate={SR}:seed={i}"],
                 path, vf)
        for i in range(15):
            kind = ["chords", "drums", "chords+drums"][i % 3]
            y = {"chords": lambda: chords(rng), "drums": lambda: drums(rng),
                 "chords+drums": lambda: 0.5 * chords(rng) + 0.5 * drums(rng)}[kind]()
            video = (PATTERNS + STILLS)[i % (len(PATTERNS) + len(STILLS))]
            size, fps = SIZES[i % len(SIZES)]
            path = add("music", f"music_{i}", f"synthesised {kind} over {video}")
            _mux(_lavfi_video(video, size, fps), ["-i", str(_wav(y * float(rng.uniform(0.3, 1.0)), tmp / "m.wav"))],
                 path)
        for i in range(14):
            clip, label = factory_clip(i)
            text, voice = SENTENCES[i % len(SENTENCES)], VOICES[i % len(VOICES)]
            gain = float(rng.uniform(0, 10))
            y = _mix(clip.audio, speech(text, voice, int(rng.integers(130, 190)), tmp), gain)
            write_clip(clip.replace(audio=y), add("pasted_speech", f"pasted_speech_{i}",
                                                  f"{label} + espeak-ng {voice} speech {gain:+.1f} dB"))
        for i in range(14):
            clip, label = factory_clip(100 + i)
            write_clip(clip.replace(frames=moving_shape(clip.frames, rng)),
                       add("pasted_shape", f"pasted_shape_{i}", f"{label} + a big moving shape"))
        for i in range(14):
            clip, label = factory_clip(200 + i)
            kind = ["drums", "chords"][i % 2]
            gain = float(rng.uniform(0, 10))
            y = _mix(clip.audio, drums(rng) if kind == "drums" else chords(rng), gain)
            write_clip(clip.replace(audio=y), add("pasted_music", f"pasted_music_{i}", f"{label} + {kind} {gain:+.1f} dB"))
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "label", "family", "description"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/ood")
    args = parser.parse_args()
    manifest = make(Path(args.out))
    print(f"wrote {manifest}")


if __name__ == "__main__":
    main()
