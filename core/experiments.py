"""Robustness sweeps: checkpoints x a data set x corruptions x severities (clean always), one seed.

    python -m core.experiments run --checkpoint checkpoints/modality_attention --data sample_data \\
        --corruptions mute,gaussian_blur,audio_gaussian_noise --severities 1,3,5
    python -m core.experiments list | show ID [--baseline NAME] | export ID --format csv|parquet | delete ID

Results go to the results database (:mod:`core.results`; ``--db`` or ``$AVLAB_DB``, default
``results/avlab.db``). A sweep is identified by its config (checkpoint weights and clips
included), so running the same config again continues where a stopped run left off.

Fast by construction: each clip is decoded once; each checkpoint encodes its clean audio and
video once per batch of clips; an audio corruption recomputes only the audio branch and fuses
with the cached video outputs (and the converse), audio-visual ones recompute both; clips go
through the encoders in batches. With ``frames="seen"`` (the default), corruptions that treat
each frame on its own (:data:`FRAME_LOCAL`) are applied to just the frames the model samples,
a tenth of an 80-frame clip; temporal ones always see the whole clip. Each corrupted clip is
made once and shared by every checkpoint. Randomness is per (seed, clip, corruption, severity).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from core import corruptions
from core.corruptions import SEVERITIES
from core.datasets import DatasetError, Sample, load_dataset
from core.inference import HEADS, WINDOW_S, default_checkpoint
from core.media import Clip, MediaError, load_clip, pad_clip
from core.models import CheckpointError, audio_input, audio_present, load_checkpoint, video_input, video_present
from core.models.preprocessing import sample_indices
from core.results import CLEAN, ResultsDB, ResultsError, condition_label

Progress = Callable[[int, int, str], None]
_WORKERS = 1  # threads preparing inputs ahead of the encoders
FRAME_MODES = ("seen", "all")
# Video corruptions that change each frame on its own (clip-level draws, such as fog's map, the
# occlusion patch or the motion angle, come first and do not depend on the frame count), so
# corrupting only the sampled frames gives the frames the model would see. Noise and av_rain's
# streaks are drawn per frame: a different but equally distributed realisation. smoke drifts by a
# fixed number of pixels per frame, so on the sampled frames it drifts ten times slower; its
# per-frame density is the same. Temporal corruptions (frame_drop, frame_freeze, black_frames,
# video_off) and av_desync always get the whole clip.
FRAME_LOCAL = frozenset({
    "gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "defocus_blur", "motion_blur", "zoom_blur",
    "fog", "brightness", "contrast", "pixelate", "jpeg_compression", "occlusion", "av_rain", "smoke",
})


class ExperimentError(ValueError):
    """A sweep cannot be set up or run; the message is one plain sentence."""


@dataclass(frozen=True)
class ExperimentConfig:
    """What a sweep computes; stored with its results.

    Attributes
    ----------
    checkpoints : tuple of str
        Checkpoint folders; empty means the default checkpoint (``checkpoints/DEFAULT``).
    data : str
        A folder with ``manifest.csv``, a manifest, or a folder per class.
    split : str or None
        Keep only this split (``test``); None keeps every clip.
    corruptions : tuple of str
        Registry keys; empty means every registered corruption.
    severities : tuple of int
        Severities 1-5 run for each corruption; ``clean`` is always included.
    seed : int
        Seed of the corruptions' randomness.
    batch_size : int
        Clips per encoder batch (also the unit a stopped sweep may lose).
    frames : {'seen', 'all'}
        Corrupt only the frames the model samples (frame-local corruptions), or every frame.
    limit : int or None
        Only the first ``limit`` clips (quick looks).
    name : str
        A label for lists; not part of the sweep's identity.
    """

    checkpoints: tuple[str, ...] = ()
    data: str = "sample_data"
    split: str | None = None
    corruptions: tuple[str, ...] = ()
    severities: tuple[int, ...] = SEVERITIES
    seed: int = 0
    batch_size: int = 16
    frames: str = "seen"
    limit: int | None = None
    name: str = ""

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("checkpoints", tuple(str(c) for c in _as_list(self.checkpoints)))
        set_("corruptions", tuple(_as_list(self.corruptions)))
        set_("severities", tuple(int(s) for s in _as_list(self.severities)))
        for name in self.corruptions:
            if name not in corruptions.REGISTRY:
                raise ExperimentError(f"There is no corruption called '{name}'; see `python -m core.corruptions` "
                                      f"or corruptions.names() for the {len(corruptions.REGISTRY)} registered ones.")
        if len(set(self.corruptions)) != len(self.corruptions) or len(set(self.severities)) != len(self.severities):
            raise ExperimentError("Each corruption and each severity may be listed only once.")
        if not self.severities or any(not 1 <= s <= 5 for s in self.severities):
            raise ExperimentError(f"Severities must be integers from 1 to 5; got {list(self.severities)}.")
        if self.frames not in FRAME_MODES:
            raise ExperimentError(f"frames must be 'seen' or 'all', not '{self.frames}'.")
        if int(self.batch_size) < 1 or (self.limit is not None and int(self.limit) < 1):
            raise ExperimentError("batch_size and limit must be positive integers.")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ExperimentError(f"The experiment config has unknown field(s) {', '.join(sorted(unknown))}.")
        return cls(**d)

    @classmethod
    def from_file(cls, path: str | Path) -> "ExperimentConfig":
        """Read a JSON or YAML config file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ExperimentError(f"The experiment config '{path}' could not be read ({exc}).") from exc
        if not isinstance(data, dict):
            raise ExperimentError(f"The experiment config '{path}' must hold a mapping of fields.")
        return cls.from_dict(data)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def select_corruptions(spec: str) -> tuple[str, ...]:
    """``"all"``, a modality (``audio``, ``video``, ``audiovisual``), or comma-separated names."""
    if spec == "all":
        return tuple(corruptions.names())
    if spec in corruptions.MODALITIES:
        return tuple(corruptions.names(spec))
    return tuple(_as_list(spec))


# --------------------------------------------------------------------------- setting up


@dataclass
class _Checkpoint:
    name: str
    path: Path
    model: torch.nn.Module
    classes: list[str]
    fingerprint: str

    @property
    def num_frames(self) -> int:
        return self.model.preprocessing[0].num_frames


def _load_checkpoints(paths: Sequence[str]) -> list[_Checkpoint]:
    out, seen = [], {}
    if not paths:
        try:
            paths = [str(default_checkpoint())]
        except OSError as exc:
            raise ExperimentError("No checkpoint was given and checkpoints/DEFAULT cannot be read; "
                                  "pass --checkpoint DIR.") from exc
    for p in paths:
        path = Path(p).resolve()
        loaded = load_checkpoint(path)
        name = path.name if path.name not in seen else f"{path.name}#{seen[path.name] + 1}"
        seen[path.name] = seen.get(path.name, 0) + 1
        digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()[:16]
        out.append(_Checkpoint(name, path, loaded.model.eval(), list(loaded.classes), digest))
    return out


def _samples(config: ExperimentConfig, checkpoints: list[_Checkpoint]) -> list[Sample]:
    samples = list(load_dataset(config.data, split=config.split).standard().samples)[: config.limit]
    if not samples:
        raise ExperimentError(f"The data set at '{config.data}' has no single-label clips to sweep.")
    for ck in checkpoints:
        unknown = sorted({s.label for s in samples} - set(ck.classes))
        if unknown:
            raise ExperimentError(f"The data set has classes checkpoint '{ck.name}' does not know: "
                                  f"{', '.join(unknown)}.")
    return samples


def _conditions(config: ExperimentConfig) -> list[tuple[str, int, str]]:
    names = config.corruptions or tuple(corruptions.names())
    return [(CLEAN, 0, "none")] + [(n, s, corruptions.get(n).modality) for n in names for s in config.severities]


def _key(config: dict, checkpoints: list[_Checkpoint], samples: list[Sample]) -> str:
    """The sweep's identity: config (name aside), checkpoint weights and the clips (path, label, size)."""
    ident = {k: v for k, v in config.items() if k not in ("name", "checkpoints")}
    ident["checkpoints"] = [c.fingerprint for c in checkpoints]
    ident["clips"] = [(str(s.path), s.label, s.path.stat().st_size) for s in samples]
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- one batch of clips


class _Batch:
    """Decoded clips of one batch, the frames each checkpoint samples, and their clean encodings."""

    def __init__(self, clips: list[Clip], indices: list[int], checkpoints: list[_Checkpoint]):
        self.clips = clips
        self.indices_in_data = indices
        counts = sorted({ck.num_frames for ck in checkpoints})
        # per clip: indices into the full clip of each frame count, and their union (the "seen" frames)
        self.indices = [{n: sample_indices(c.frames.shape[0], n) for n in counts} if c.has_video else {}
                        for c in clips]
        self.seen_idx = [np.unique(np.concatenate(list(ix.values()))) if ix else None for ix in self.indices]
        self.seen = [c.replace(frames=c.frames[s]) if s is not None else c for c, s in zip(clips, self.seen_idx)]
        self.clean: dict[str, dict] = {}  # checkpoint name -> {"audio"|"video": (emb, tokens, mask)}

    def frames_for(self, view: list[Clip], seen: bool, i: int, num_frames: int) -> np.ndarray:
        """The ``num_frames`` frames a checkpoint samples from clip ``i`` of a (possibly corrupted) view."""
        frames = view[i].frames
        if not self.indices[i] or frames.shape[0] == 0:
            return frames
        idx = self.indices[i][num_frames]
        return frames[np.searchsorted(self.seen_idx[i], idx)] if seen else frames[idx]


def _encode(fn, x: torch.Tensor, mask: torch.Tensor, dim: int, token_dim: int):
    """Encode the clips whose modality is present; missing ones get zeros (``fuse`` masks them anyway)."""
    present = mask > 0
    b = x.shape[0]
    if not bool(present.any()):
        return x.new_zeros(b, dim), x.new_zeros(b, 1, token_dim)
    if bool(present.all()):
        return fn(x)
    emb, tokens = fn(x[present])  # (P, E), (P, L, D)
    full_emb, full_tokens = emb.new_zeros(b, emb.shape[1]), tokens.new_zeros(b, *tokens.shape[1:])
    full_emb[present], full_tokens[present] = emb, tokens
    return full_emb, full_tokens


def _video_inputs(batch: _Batch, view: list[Clip], seen: bool, spec, presence: list[Clip]):
    """Video tensor (B, 3, T, S, S) and mask (B,) of a view; presence is judged on all frames held."""
    mask = torch.tensor([float(video_present(c.frames)) for c in presence])
    x = torch.stack([video_input(batch.frames_for(view, seen, i, spec.num_frames), c.fps, spec) if m
                     else torch.zeros(spec.input_shape()) for i, (c, m) in enumerate(zip(view, mask))])
    return x, mask


def _audio_inputs(view: list[Clip], spec):
    """Audio tensor (B, N) or (B, 1, F, T) and mask (B,) of a view."""
    mask = torch.tensor([float(audio_present(c.audio)) for c in view])
    xs = [audio_input(c.audio, c.sr, spec) for c in view]
    return torch.stack([a if m else torch.zeros_like(a) for a, m in zip(xs, mask)]), mask


def _corrupt(batch: _Batch, name: str, severity: int, config: ExperimentConfig):
    """The corrupted view of a batch and whether it holds only the sampled frames."""
    c = corruptions.get(name)
    seed, indices = config.seed, batch.indices_in_data
    seen = config.frames == "seen" and name in FRAME_LOCAL
    source = batch.seen if seen else batch.clips
    out = [c.apply(clip, severity, rng=np.random.default_rng([seed, i, zlib.crc32(name.encode()), severity]))
           for clip, i in zip(source, indices)]
    return out, seen


# --------------------------------------------------------------------------- the sweep


def run_experiment(config: ExperimentConfig, *, db: ResultsDB | str | Path | None = None,
                   progress: Progress | None = None, reuse_embeddings: bool = True, threads: int | None = 1) -> int:
    """Run (or continue) a sweep and store every clip x condition x head; return the experiment id.

    Parameters
    ----------
    config : ExperimentConfig
    db : ResultsDB, path or None
        The results database (default :func:`core.results.default_db_path`).
    progress : callable ``(done, total, message)``, optional
        Called after every stored chunk; ``done`` and ``total`` count clip-conditions per checkpoint.
    reuse_embeddings : bool
        Recompute only the corrupted branch (default); False recomputes both (for benchmarks).
    threads : int or None
        Threads for torch and for numpy's BLAS during the sweep (None leaves them). One is the
        default: the sweep's many small operations ran several times slower with two threads on
        a shared two-core machine (see docs/PERFORMANCE.md).

    Raises
    ------
    ExperimentError
        Bad config, data set, checkpoint or clip (``DatasetError``, ``CheckpointError`` and
        ``MediaError`` are turned into it), or a results database that cannot be used.
    """
    try:
        handle = db if isinstance(db, ResultsDB) else ResultsDB(db)
    except ResultsError as exc:
        raise ExperimentError(str(exc)) from exc
    try:
        with _limited_threads(threads):
            return _run(config, handle, progress or (lambda *_: None), reuse_embeddings)
    except (DatasetError, CheckpointError, MediaError, ResultsError) as exc:
        raise ExperimentError(str(exc)) from exc
    finally:
        if handle is not db:
            handle.close()


@contextmanager
def _limited_threads(threads: int | None):
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


@torch.inference_mode()
def _run(config: ExperimentConfig, db: ResultsDB, progress: Progress, reuse: bool) -> int:
    checkpoints = _load_checkpoints(config.checkpoints)
    samples = _samples(config, checkpoints)
    conditions = _conditions(config)
    stored = {**config.to_dict(), "checkpoints": [str(c.path) for c in checkpoints],
              "corruptions": list(config.corruptions or corruptions.names()),
              "data": str(Path(config.data).resolve())}
    eid, _ = db.start_experiment(
        key=_key(stored, checkpoints, samples), name=config.name or Path(config.data).name, config=stored,
        checkpoints=[{"name": c.name, "path": c.path, "fusion": c.model.config.fusion, "classes": c.classes,
                      "fingerprint": c.fingerprint} for c in checkpoints],
        clips=[(s.path, s.label) for s in samples], conditions=conditions)
    ids = db.condition_ids(eid)
    done = db.done_clips(eid)
    labels = [[ck.classes.index(s.label) for s in samples] for ck in checkpoints]
    total = len(checkpoints) * len(conditions) * len(samples)
    count = sum(len(v) for v in done.values())
    progress(count, total, f"experiment {eid}: {count} of {total} clip-conditions already stored")
    clock = [time.perf_counter()]

    def store(corruption: str, severity: int, indices: list[int], rows: list[tuple], n: int) -> None:
        nonlocal count
        now = time.perf_counter()
        db.write_predictions(eid, rows, seconds=now - clock[0])
        clock[0] = now
        count += n
        progress(count, total, f"{condition_label(corruption, severity)}, clips {indices[0] + 1}-{indices[-1] + 1}")

    # One worker thread corrupts and preprocesses the next condition while this one encodes and writes.
    pool = ThreadPoolExecutor(max_workers=_WORKERS)
    try:
        for start in range(0, len(samples), config.batch_size):
            indices = list(range(start, min(start + config.batch_size, len(samples))))
            pending = [(c, s, m, [k for k in range(len(checkpoints))
                                  if not set(indices) <= done.get(ids[(k, c, s)], set())])
                       for c, s, m in conditions]
            pending = [p for p in pending if p[3]]
            if pending:
                batch = _Batch([_decode(samples[i]) for i in indices], indices, checkpoints)
                _run_batch(batch, pending, checkpoints, config, reuse, pool,
                           lambda c, s, k, out: _rows(ids[(k, c, s)], indices, labels[k], out), store)
    finally:  # on Ctrl-C, do not wait for inputs prepared ahead
        pool.shutdown(wait=True, cancel_futures=True)
    db.finish_experiment(eid)
    return eid


def _run_batch(batch: _Batch, pending: list[tuple], checkpoints: list[_Checkpoint], config: ExperimentConfig,
               reuse: bool, pool: ThreadPoolExecutor, make_rows: Callable, store: Callable) -> None:
    """Every pending condition of one batch: inputs prepared one step ahead in ``pool``, then encode and store."""
    # clean comes first: every checkpoint with work left in the batch needs its clean encodings
    needed = sorted({k for p in pending for k in p[3]})
    steps = [(CLEAN, 0, "none", needed)] + [p for p in pending if p[0] != CLEAN]
    write_clean = pending[0][3] if pending[0][0] == CLEAN else []
    state: dict = {}

    def prepare(step):
        return _prepare(batch, step, [checkpoints[k] for k in step[3]], config, reuse, state)

    queue = deque(pool.submit(prepare, step) for step in steps[:2])
    for j, (corruption, severity, modality, ks) in enumerate(steps):
        inputs = queue.popleft().result()
        if j + 2 < len(steps):
            queue.append(pool.submit(prepare, steps[j + 2]))
        writes = write_clean if corruption == CLEAN else ks
        rows = []
        for k in ks:
            out = _outputs(checkpoints[k], batch, inputs, modality)
            if k in writes:
                rows += make_rows(corruption, severity, k, out)
        if rows:
            store(corruption, severity, batch.indices_in_data, rows, len(writes) * len(batch.clips))


def _prepare(batch: _Batch, step: tuple, checkpoints: list[_Checkpoint], config: ExperimentConfig, reuse: bool,
             state: dict) -> dict:
    """Model inputs of one condition, per (branch, preprocessing spec); runs in the worker thread."""
    corruption, severity, modality, _ = step
    if corruption == CLEAN:
        view, seen, presence, branches = batch.seen, True, batch.clips, ("audio", "video")
    else:
        key = (corruption, _params_key(corruption, severity))
        if key[1] is not None and state.get("key") == key:
            view, seen = state["view"]  # a deterministic corruption with the same parameters: same output
        else:
            view, seen = _corrupt(batch, corruption, severity, config)
            state.update(key=key, view=(view, seen))
        presence = view
        branches = ("audio", "video") if modality == "audiovisual" or not reuse else (modality,)
    inputs = {}
    for ck in checkpoints:
        vspec, aspec = ck.model.preprocessing
        if "video" in branches and ("video", vspec) not in inputs:
            inputs[("video", vspec)] = _video_inputs(batch, view, seen, vspec, presence)
        if "audio" in branches and ("audio", aspec) not in inputs:
            inputs[("audio", aspec)] = _audio_inputs(view, aspec)
    return inputs


def _params_key(name: str, severity: int) -> str | None:
    """Equal for two severities of a deterministic corruption with the same parameters (mute, video_off)."""
    c = corruptions.get(name)
    return None if c.stochastic else repr(sorted(c.params(severity).items()))


def _decode(sample: Sample) -> Clip:
    try:
        clip = load_clip(sample.path)
    except MediaError as exc:
        raise ExperimentError(f"The clip '{sample.path}' could not be read: {exc}") from exc
    return pad_clip(clip, WINDOW_S) if clip.duration < WINDOW_S else clip


def _outputs(ck: _Checkpoint, batch: _Batch, inputs: dict, modality: str):
    """The model's output for one condition: encode the branches given, reuse the clean encodings for the rest."""
    model = ck.model
    vspec, aspec = model.preprocessing
    branches = {}
    for name, spec, fn, token_dim in (("audio", aspec, model.encode_audio, model.audio_encoder.out_dim),
                                      ("video", vspec, model.encode_video, model.video_encoder.out_dim)):
        if (name, spec) in inputs:
            x, mask = inputs[(name, spec)]
            branches[name] = (*_encode(fn, x, mask, model.config.embed_dim, token_dim), mask)
    if modality == "none":
        batch.clean[ck.name] = branches
    branches = {**batch.clean[ck.name], **branches}
    (a, at, am), (v, vt, vm) = branches["audio"], branches["video"]
    return model.fuse(a, at, v, vt, audio_mask=am, video_mask=vm), am, vm


def _rows(condition_id: int, indices: list[int], labels: list[int], result) -> list[tuple]:
    out, am, vm = result
    weights = None if out.weights is None else out.weights.numpy()  # (B, 2)
    rows = []
    for head in HEADS:
        probs = getattr(out, f"{head}_logits").softmax(dim=1).numpy()  # (B, K)
        pred = probs.argmax(axis=1)
        for j, i in enumerate(indices):
            wa, wv = (weights[j] if weights is not None and head == "fused" else (None, None))
            rows.append((condition_id, i, head, int(pred[j]), int(pred[j] == labels[i]), probs[j],
                         int(am[j]), int(vm[j]), wa, wv))
    return rows


# --------------------------------------------------------------------------- command line


def _print_table(df, floats: str = "{:.3f}") -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_columns", 30):
        print(df.to_string(index=False, float_format=lambda x: floats.format(x)))


def _cmd_run(args) -> int:
    from tqdm import tqdm

    base = ExperimentConfig.from_file(args.config).to_dict() if args.config else {}
    flags = {"checkpoints": args.checkpoint, "data": args.data, "split": args.split,
             "corruptions": select_corruptions(args.corruptions) if args.corruptions else None,
             "severities": args.severities, "seed": args.seed, "batch_size": args.batch_size,
             "frames": args.frames, "limit": args.limit, "name": args.name}
    config = ExperimentConfig.from_dict({**base, **{k: v for k, v in flags.items() if v is not None}})
    bar = tqdm(total=0, unit="clip-cond", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)

    def report(done: int, total: int, message: str) -> None:
        bar.total, bar.n = total, done
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    started = time.perf_counter()
    try:
        eid = run_experiment(config, db=args.db, progress=report, reuse_embeddings=not args.no_reuse,
                             threads=args.threads)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    print(f"experiment {eid} complete in {seconds:.1f} s; `python -m core.experiments show {eid}` for the results")
    return 0


def _cmd_show(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        exp = db.get_experiment(args.id)
        summary = db.summary(args.id, baseline=args.baseline)
        weights = db.modality_weights(args.id)
        if args.json:
            print(json.dumps({"experiment": exp | {"clips": len(exp["clips"])},
                              "summary": json.loads(summary.to_json(orient="records")),
                              "conditions": json.loads(db.condition_metrics(args.id).to_json(orient="records")),
                              "modality_weights": json.loads(weights.to_json(orient="records"))}))
            return 0
    print(f"experiment {exp['id']} '{exp['name']}': {len(exp['checkpoints'])} checkpoint(s) x "
          f"{len(exp['clips'])} clips "
          f"x {len(exp['conditions'])} conditions; {100 * exp['progress']:.0f} % done, {exp['seconds']:.0f} s computed")
    print(f"config: {json.dumps(exp['config'])}\n")
    _print_table(summary)
    everyday = weights[weights["condition"].isin([CLEAN, *(f"{n}:{s}" for n in ("mute", "gaussian_blur")
                                                         for s in corruptions.SEVERITIES)])]
    if not everyday.empty and everyday["weight_audio"].notna().any():
        print("\nmean modality weights (normal / muted / blurred):")
        _print_table(everyday.drop(columns=["corruption", "severity"]))
    return 0


def _cmd_list(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        table = db.list_experiments()
    if table.empty:
        print("no experiments yet")
    else:
        _print_table(table, "{:.2f}")
    return 0


def _cmd_export(args) -> int:
    out = Path(args.out or f"experiment_{args.id}.{args.format}")
    with ResultsDB(args.db, create=False) as db:
        path = db.export(args.id, out, format=args.format)
    print(f"wrote {path}")
    return 0


def _cmd_delete(args) -> int:
    with ResultsDB(args.db, create=False) as db:
        db.delete_experiment(args.id)
    print(f"deleted experiment {args.id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.experiments", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="results database (default $AVLAB_DB or results/avlab.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run or continue a sweep")
    run.add_argument("--config", help="JSON or YAML file with ExperimentConfig fields (flags override it)")
    run.add_argument("--checkpoint", action="append", help="checkpoint folder (repeat for several; default: DEFAULT)")
    run.add_argument("--data", help="folder with manifest.csv, or a folder per class (default sample_data)")
    run.add_argument("--split", help="only this split (train, val, test)")
    run.add_argument("--corruptions", help="'all' (default), a modality (audio, video, audiovisual) or names a,b,c")
    run.add_argument("--severities", help="comma-separated severities 1-5 (default all five)")
    run.add_argument("--seed", type=int)
    run.add_argument("--batch-size", type=int)
    run.add_argument("--frames", choices=FRAME_MODES, help="corrupt only the sampled frames (seen) or all frames")
    run.add_argument("--limit", type=int, help="only the first N clips")
    run.add_argument("--name", help="a label for `list`")
    run.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    run.add_argument("--no-reuse", action="store_true", help="recompute both branches for every condition")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    show = sub.add_parser("show", help="robustness summary of an experiment")
    show.add_argument("id", type=int)
    show.add_argument("--baseline", help="checkpoint name the mCE is relative to (default the first)")
    show.add_argument("--json", action="store_true", help="everything as one JSON object")
    sub.add_parser("list", help="the experiments in the database")
    export = sub.add_parser("export", help="per-clip rows to CSV or Parquet")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", help="output file (default experiment_ID.FORMAT)")
    delete = sub.add_parser("delete", help="remove an experiment and its rows")
    delete.add_argument("id", type=int)
    args = parser.parse_args(argv)
    if getattr(args, "severities", None):
        args.severities = _as_list(args.severities)
    commands = {"run": _cmd_run, "show": _cmd_show, "list": _cmd_list, "export": _cmd_export, "delete": _cmd_delete}
    try:
        return commands[args.command](args)
    except (ExperimentError, ResultsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: everything stored so far is kept; run the same command again to continue.",
              file=sys.stderr)
        return 130


__all__ = ["ExperimentConfig", "ExperimentError", "FRAME_LOCAL", "run_experiment", "select_corruptions", "main"]

if __name__ == "__main__":
    sys.exit(main())
