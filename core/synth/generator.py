"""Make factory-av clips and write data sets of them with a merged ``manifest.csv``."""
from __future__ import annotations

import csv
import io
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from ..media import Clip, write_clip
from .audio import STATE_COMPONENTS, render_audio
from .params import sample_scene
from .spec import (CHANGE_FRACTION, CLASSES, CLIP_SECONDS, FPS, LONG_SECONDS, SEEDS_PER_SPLIT, SR, SPLITS,
                   TRANSITIONS, SynthError, check_seed, machine_of, seed_range)
from .video import pump_lowest_frames, render_video

MANIFEST = "manifest.csv"
COLUMNS = ("path", "label", "split", "seed", "duration", "segments", "params")
_SPLIT_CODES = {"train": 1, "val": 2, "test": 3}
_MAX_SECONDS = 60.0

try:  # a lock keeps two writers of one folder from losing each other's rows (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None


def _streams(split: str, seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams of one (split, seed): params, video noise, audio, timeline."""
    root = np.random.SeedSequence([_SPLIT_CODES[split], seed])
    names = ("params", "video", "audio", "timeline")
    return {name: np.random.default_rng(child) for name, child in zip(names, root.spawn(len(names)))}


def generate_clip(label: str, *, split: str, seed: int, duration: float = CLIP_SECONDS) -> tuple[Clip, dict]:
    """Render one clip of ``label``, a pure function of ``(split, seed)``.

    The states of one machine share every draw: ``valve_closed`` and ``valve_leak``
    with the same seed have identical frames, ``valve_closed`` and ``valve_open``
    differ only in the lever.

    Parameters
    ----------
    label : str
        One of :data:`CLASSES`.
    split : str
        ``'train'``, ``'val'`` or ``'test'``.
    seed : int
        A seed inside the split's range (:func:`seed_range`).
    duration : float
        Seconds, rounded to whole frames at 16 fps.

    Returns
    -------
    clip : Clip
        frames uint8 (T, 160, 160, 3) at 16 fps, audio float32 (T * 1000,) at 16 kHz.
    params : dict
        The sampled nuisance parameters (JSON-able).
    """
    machine = machine_of(label)
    seed = check_seed(split, seed)
    n_frames = _frames_of(duration)
    streams = _streams(split, seed)
    params = sample_scene(machine, streams["params"])
    params = _present_only(params, {label})
    clip = _render(params, [(0, n_frames, label)], streams, n_frames)
    clip = clip.replace(metadata={"source": "factory-av", "label": label, "split": split, "seed": seed})
    return clip, params


def generate_long_clip(*, split: str, seed: int, transition: tuple[str, str] | None = None) -> tuple[Clip, dict]:
    """Render a 12-30 s clip that changes state once, between 30 % and 70 % of its length.

    Parameters
    ----------
    split, seed
        As for :func:`generate_clip`.
    transition : (str, str), optional
        The two states, one of :data:`TRANSITIONS`; drawn from the seed when omitted.

    Returns
    -------
    clip : Clip
    params : dict
        Nuisance parameters plus ``transition``, ``change_s`` and ``segments``:
        ``[[start_s, end_s, label], ...]`` covering the clip.
    """
    seed = check_seed(split, seed)
    streams = _streams(split, seed)
    timeline = streams["timeline"]
    drawn = TRANSITIONS[int(timeline.integers(len(TRANSITIONS)))]
    transition = tuple(transition) if transition is not None else drawn
    if transition not in TRANSITIONS:
        raise SynthError(f"Unknown transition {transition}; choose one of {TRANSITIONS}.")
    machine = machine_of(transition[0])
    n_frames = _frames_of(timeline.uniform(*LONG_SECONDS))
    change = int(round(timeline.uniform(*CHANGE_FRACTION) * n_frames))
    params = _present_only(sample_scene(machine, streams["params"]), set(transition))
    segments = [(0, change, transition[0]), (change, n_frames, transition[1])]
    clip = _render(params, segments, streams, n_frames)
    params["transition"] = list(transition)
    params["change_s"] = change / FPS
    params["segments"] = [[s / FPS, e / FPS, label] for s, e, label in segments]
    label = f"{transition[0]}->{transition[1]}"
    clip = clip.replace(metadata={"source": "factory-av", "label": label, "split": split, "seed": seed,
                                  "segments": params["segments"]})
    return clip, params


def _frames_of(duration: float) -> int:
    if not 0 < duration <= _MAX_SECONDS:
        raise SynthError(f"A clip must last between 0 and {_MAX_SECONDS:.0f} s, not {duration} s.")
    return max(1, int(round(duration * FPS)))


def _present_only(params: dict, labels: set[str]) -> dict:
    """Drop the audio components none of ``labels`` contains (their draws stay consumed)."""
    keep = {"ambience", "gain_db_drawn"} | {c for label in labels for c in STATE_COMPONENTS[label]}
    params["audio"] = {k: v for k, v in params["audio"].items() if k in keep}
    return params


def _render(params: dict, segments: list[tuple[int, int, str]], streams: dict, n_frames: int) -> Clip:
    video = params["video"]
    lever_open = None
    if params["machine"] == "valve":
        lever_open = np.zeros(n_frames, bool)
        for start, end, label in segments:
            lever_open[start:end] = label == "valve_open"
    if "thumps" in params["audio"]:
        params["audio"]["thumps"]["frames"] = pump_lowest_frames(video["pump"], n_frames=n_frames)
    frames = render_video(video, n_frames=n_frames, rng=streams["video"], lever_open=lever_open)
    per_frame = SR // FPS
    audio, parts = render_audio(params["audio"], n_samples=n_frames * per_frame, rng=streams["audio"],
                                segments=[(s * per_frame, e * per_frame, label) for s, e, label in segments])
    params["audio"]["gain_db"] = parts["gain_db"]
    return Clip(frames=frames, fps=float(FPS), audio=audio, sr=SR, duration=n_frames / FPS)


# --------------------------------------------------------------------------- data sets


def dataset_jobs(*, split: str, per_class: int, long: int = 0, seed_offset: int = 0) -> list[dict]:
    """The clips a data set holds: label or transition, seed, relative path.

    Seeds run consecutively from the split's base plus ``seed_offset``: standard clips
    interleave the classes (seed ``base + offset + 7 * i + c``), long clips follow.
    """
    seeds = seed_range(split)
    if per_class < 0 or long < 0 or seed_offset < 0:
        raise SynthError("Clip counts and the seed offset cannot be negative.")
    total = per_class * len(CLASSES) + long
    if seed_offset + total > SEEDS_PER_SPLIT:
        raise SynthError(f"{total} clips from seed offset {seed_offset} overrun the {split} seed range.")
    jobs = []
    base = seeds.start + seed_offset
    for i in range(per_class):
        for c, label in enumerate(CLASSES):
            seed = base + i * len(CLASSES) + c
            jobs.append({"label": label, "seed": seed, "path": f"{split}/{label}_{seed:07d}.mp4"})
    for j in range(long):
        seed = base + per_class * len(CLASSES) + j
        a, b = TRANSITIONS[j % len(TRANSITIONS)]
        jobs.append({"transition": [a, b], "seed": seed, "path": f"{split}/long_{a}-{b}_{seed:07d}.mp4"})
    return jobs


def make_row(job: dict, *, out_dir: str | os.PathLike, split: str) -> dict:
    """Render and encode one job into ``out_dir``; the manifest row for it."""
    target = Path(out_dir) / job["path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    if "transition" in job:
        clip, params = generate_long_clip(split=split, seed=job["seed"], transition=tuple(job["transition"]))
        label = "->".join(job["transition"])
        segments = json.dumps(params["segments"])
    else:
        clip, params = generate_clip(job["label"], split=split, seed=job["seed"])
        label, segments = job["label"], ""
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.mp4")
    write_clip(clip, tmp)
    os.replace(tmp, target)
    return {"path": job["path"], "label": label, "split": split, "seed": job["seed"],
            "duration": f"{clip.duration:g}", "segments": segments,
            "params": json.dumps(params, separators=(",", ":"), sort_keys=True)}


def write_dataset(out_dir: str | os.PathLike, *, split: str, per_class: int, long: int = 0, workers: int = 1,
                  progress: bool = True, seed_offset: int = 0) -> Path:
    """Write ``per_class`` clips of every class (plus ``long`` long clips) of ``split`` as MP4s.

    Rows are merged into ``out_dir/manifest.csv`` (a row with the same path is
    replaced), so train, val and test can share one folder. The manifest is
    rewritten atomically (temporary file, then rename).

    Returns
    -------
    Path
        The manifest.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = dataset_jobs(split=split, per_class=per_class, long=long, seed_offset=seed_offset)
    rows: dict[str, dict] = {}
    bar = tqdm(total=len(jobs), desc=f"factory-av {split}", unit="clip", disable=not progress)
    with bar:
        if workers <= 1:
            for job in jobs:
                rows[job["path"]] = make_row(job, out_dir=out, split=split)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(make_row, job, out_dir=out, split=split) for job in jobs]
                for future in as_completed(futures):
                    row = future.result()
                    rows[row["path"]] = row
                    bar.update()
    return merge_manifest(out, [rows[job["path"]] for job in jobs])


def read_manifest(path: str | os.PathLike) -> list[dict]:
    """The rows of a manifest as dicts (all values strings); [] when there is none."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def merge_manifest(out_dir: str | os.PathLike, rows: list[dict]) -> Path:
    """Merge ``rows`` into ``out_dir/manifest.csv`` by path, atomically; the manifest's path."""
    out = Path(out_dir)
    target = out / MANIFEST
    # Lock the folder itself (no lock file left behind) while reading, merging and renaming.
    lock = os.open(out, os.O_RDONLY) if fcntl is not None else None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {row["path"]: row for row in read_manifest(target)}
        for row in rows:
            merged[row["path"]] = {k: row[k] for k in COLUMNS}
        order = {s: i for i, s in enumerate(SPLITS)}
        ordered = sorted(merged.values(), key=lambda r: (order.get(r["split"], 9), int(r["seed"])))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(ordered)
        tmp = out / f".{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(buffer.getvalue())
        os.replace(tmp, target)
    finally:
        if lock is not None:
            os.close(lock)
    return target
