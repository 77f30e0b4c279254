"""Branch-level inference (Predictor.encode_branch / fuse) equals Predictor.predict, and ui/analysis.py re-encodes
only the branch a corruption touches."""
from __future__ import annotations

import numpy as np
import pytest

from core.corruptions import apply_many, clip_seed
from core.inference import FRAMEWISE, HEADS, Predictor, split_steps
from core.media import load_clip


def choice(checkpoint, tag: str):
    """The picker's entry for a checkpoint, with a key of its own (a fresh cache)."""
    from dataclasses import replace

    from ui.models import models

    (found,) = [c for c in models() if c.path == str(checkpoint)]
    return replace(found, key=f"{found.key}-{tag}|cpu")


@pytest.fixture(scope="module")
def predictor(checkpoint):
    return Predictor.load(checkpoint)


@pytest.mark.parametrize("steps", [(), (("mute", 1),), (("video_off", 1), ("mute", 1)), (("gaussian_blur", 3),)])
def test_branches_fused_equal_a_full_forward(predictor, sample_clip, steps):
    clip = apply_many(load_clip(sample_clip), list(steps), seed=0)
    full = predictor.predict(clip)
    split = predictor.fuse(predictor.encode_branch(clip, "audio"), predictor.encode_branch(clip, "video"))
    assert split.windows == () and split.overall.present == full.overall.present
    for head in HEADS:
        np.testing.assert_allclose(split.overall.probs[head], full.overall.probs[head], atol=1e-6)
    assert (split.overall.weights is None) == (full.overall.weights is None)


def test_branches_give_the_same_timeline_for_a_long_clip(predictor, long_clip):
    clip = load_clip(long_clip)
    full = predictor.predict(clip, stride=4.0)
    split = predictor.fuse(predictor.encode_branch(clip, "audio", stride=4.0),
                           predictor.encode_branch(clip, "video", stride=4.0))
    assert [w.start for w in split.windows] == [w.start for w in full.windows] and len(full.windows) > 1
    for a, b in zip(split.windows, full.windows):
        np.testing.assert_allclose(a.prediction.probs["fused"], b.prediction.probs["fused"], atol=1e-6)


def test_split_steps_keeps_order_and_sends_audiovisual_to_both():
    steps = (("audio_gaussian_noise", 2), ("gaussian_blur", 3), ("av_desync", 1), ("mute", 1))
    audio, video = split_steps(steps)
    assert audio == (("audio_gaussian_noise", 2), ("av_desync", 1), ("mute", 1))
    assert video == (("gaussian_blur", 3), ("av_desync", 1))


def test_an_audio_corruption_change_re_encodes_only_the_audio_branch(checkpoint, sample_clip, monkeypatch):
    import ui.analysis as analysis
    from ui.session import sample_ref

    calls = []
    real = Predictor.encode_branch
    monkeypatch.setattr(Predictor, "encode_branch",
                        lambda p, clip, modality, **kw: calls.append(modality) or real(p, clip, modality, **kw))
    analysis.branch.clear()
    info = choice(checkpoint, "test")
    ref = sample_ref(sample_clip)
    clean = analysis.predict(info, ref)
    assert sorted(calls) == ["audio", "video"]
    for severity in (2, 5):
        calls.clear()
        noisy = analysis.predict(info, ref, (("audio_gaussian_noise", severity),), seed=1)
        assert calls == ["audio"]
    np.testing.assert_allclose(noisy.overall.probs["video"], clean.overall.probs["video"])
    assert not np.allclose(noisy.overall.probs["audio"], clean.overall.probs["audio"])
    calls.clear()
    analysis.predict(info, ref, (("audio_gaussian_noise", 5),), seed=1)  # the same again: all cached
    assert calls == []


@pytest.mark.parametrize("name", sorted(FRAMEWISE))
def test_framewise_corruptions_on_the_sampled_frames_are_exact(predictor, sample_clip, name):
    from core.models.preprocessing import sample_indices

    clip = load_clip(sample_clip)
    view = predictor.sampled_view(clip)
    idx = sample_indices(clip.frames.shape[0], view.frames.shape[0])
    for severity in (1, 3, 5):
        full = apply_many(clip, [(name, severity)], seed=0).frames[idx]
        np.testing.assert_array_equal(apply_many(view, [(name, severity)], seed=0).frames, full)


def test_a_blur_change_in_the_lab_equals_a_full_forward(checkpoint, sample_clip):
    import ui.analysis as analysis
    from ui.session import sample_ref

    info = choice(checkpoint, "blur")
    steps = (("gaussian_blur", 5), ("audio_gaussian_noise", 2))
    fast = analysis.predict(info, sample_ref(sample_clip), steps, seed=3).overall
    full = Predictor.load(checkpoint).predict(
        apply_many(load_clip(sample_clip), list(steps), seed=clip_seed(3, sample_clip))).overall
    for head in HEADS:
        np.testing.assert_allclose(fast.probs[head], full.probs[head], atol=1e-5)


@pytest.mark.parametrize("condition", [("gaussian_noise", 3), ("audio_gaussian_noise", 4), ("fog", 2)])
def test_the_lab_shows_exactly_the_probabilities_a_sweep_stored(checkpoint, tmp_path, condition):
    """One seeding rule (corruptions.clip_seed): the drill-down reopens the input that was scored."""
    import ui.analysis as analysis
    from core.experiments import ExperimentConfig, run_experiment
    from core.results import ResultsDB
    from ui.session import sample_ref

    name, severity = condition
    eid = run_experiment(ExperimentConfig(checkpoints=[str(checkpoint)], data="sample_data", corruptions=[name],
                                          severities=[severity], seed=7, limit=2), db=tmp_path / "r.db")
    with ResultsDB(tmp_path / "r.db", create=False) as db:
        rows = db.predictions(eid, condition=f"{name}:{severity}")
    info = choice(checkpoint, f"sweep-{name}")
    for path in rows["clip_path"].unique():
        shown = analysis.predict(info, sample_ref(path), ((name, severity),), seed=7).overall
        for head in HEADS:
            (stored,) = rows[(rows["clip_path"] == path) & (rows["head"] == head)]["probs"]
            np.testing.assert_allclose(shown.probs[head], stored, atol=1e-5, err_msg=f"{path} {head}")
