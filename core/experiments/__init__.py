"""Robustness sweeps: checkpoints x a data set x corruptions x severities (clean always), one seed.

    python -m core.experiments run --checkpoint checkpoints/modality_attention --data sample_data \\
        --corruptions mute,gaussian_blur,audio_gaussian_noise --severities 1,3,5
    python -m core.experiments run --suite imagenet-c --data sample_data   # a published protocol (`suites` lists them)
    python -m core.experiments run --backend ray [--address auto|ray://HOST:10001] [--workers N] ...   # docs/RAY.md
    python -m core.experiments list | show ID [--reference NAME] | export ID --format csv|parquet [--table summary] | delete ID
    python -m core.experiments compare ID ID ...    # leaderboard across sweeps, on the conditions they all measured

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

Backends: ``local`` (this process, the default) or ``ray`` (``run --backend ray [--address ...]``: CPU
tasks decode and corrupt, model actors encode, on a local Ray or an existing cluster; docs/RAY.md). Both
run the same per-batch work and give byte-identical rows; the driver alone writes the database, and a
row already stored is never written twice, so a sweep killed anywhere (driver or worker) resumes.

Layout: :mod:`.config` (:class:`ExperimentConfig`, :class:`ExperimentError`, :data:`FRAME_LOCAL`,
corruption selection), :mod:`.batch` (checkpoints, clips, conditions, a sweep's identity; one
batch of clips and its model inputs), :mod:`.work` (one batch's steps, in the pieces both backends run),
:mod:`.plan` (the experiment, its jobs left and the driver's writer), :mod:`.sweep` (:func:`run_experiment`,
the local backend), :mod:`.ray_backend` (the Ray backend, also for ``core.evaluate`` and embeddings),
:mod:`.cli` (:func:`main`; ``__main__`` runs it).
"""
# FRAME_MODES and Progress stay importable from here, as before, though not in __all__
from core.experiments.config import (  # noqa: F401
    FRAME_LOCAL, FRAME_MODES, ExperimentConfig, ExperimentError, select_corruptions,
)
from core.experiments.sweep import Progress, run_experiment  # noqa: F401
from core.experiments.cli import main

__all__ = ["ExperimentConfig", "ExperimentError", "FRAME_LOCAL", "run_experiment", "select_corruptions", "main"]
