"""core.experiments: sweeps on a tiny data set and model; kill and resume; shortcuts equal the long way; CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core import corruptions, figures
from core.experiments import ExperimentConfig, ExperimentError, main, run_experiment
from core.inference import Predictor
from core.media import Clip, load_clip, write_clip
from core.models import AVModel, ModelConfig, save_checkpoint
from core.results import ResultsDB

ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = ModelConfig(video_encoder="small3d", video_kwargs={"num_frames": 4, "size": 32, "widths": [4, 8]},
                         audio_encoder="mel_cnn", audio_kwargs={"widths": [4, 8, 8, 8], "out_dim": 16},
                         fusion="modality_attention", num_classes=2, embed_dim=16, hidden=16)
CORRUPTIONS = ("mute", "gaussian_blur", "audio_gaussian_noise", "av_rain")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Four 5 s clips of two classes (bright + 440 Hz, dark + 1.5 kHz) and an untrained tiny checkpoint."""
    root = tmp_path_factory.mktemp("tiny_sweep")
    rng = np.random.default_rng(0)
    t = np.arange(16_000 * 5) / 16_000
    rows = ["path,label,split"]
    for label, level, hz in (("bright", 200, 440.0), ("dark", 40, 1500.0)):
        for i in range(2):
            frames = np.clip(level + rng.normal(0, 30, (16, 32, 32, 3)), 0, 255).astype(np.uint8)
            audio = (0.3 * np.sin(2 * np.pi * hz * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)
            write_clip(Clip(frames=frames, fps=3.2, audio=audio, duration=5.0), root / f"{label}_{i}.mp4")
            rows.append(f"{label}_{i}.mp4,{label},test")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "ckpt", AVModel(TINY_MODEL).eval(), classes=["bright", "dark"], dtype="float32")
    return root, ckpt


def _config(tiny, **changes) -> ExperimentConfig:
    root, ckpt = tiny
    return ExperimentConfig.from_dict({"checkpoints": [str(ckpt)], "data": str(root), "corruptions": CORRUPTIONS,
                                       "severities": [1, 3], "batch_size": 2, **changes})


def _n_rows(config: ExperimentConfig, clips: int = 4) -> int:
    return (1 + len(corruptions.grid(config.corruptions, config.severities))) * clips * 3


def _probs(db_path, eid) -> pd.DataFrame:
    with ResultsDB(db_path) as db:
        rows = db.predictions(eid)
    return rows.set_index(["condition", "head", "clip_idx"]).sort_index()


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """An uninterrupted sweep to compare the others with."""
    path = tmp_path_factory.mktemp("ref") / "ref.db"
    eid = run_experiment(_config(tiny), db=path)
    return path, eid


def test_sweep_stores_every_row_and_clean_equals_the_predictor(tiny, reference):
    path, eid = reference
    rows = _probs(path, eid)
    assert len(rows) == _n_rows(_config(tiny)) and rows.index.is_unique
    clean = rows.loc["clean"].loc["fused"].sort_index()
    predictor = Predictor.load(tiny[1])
    clips = [load_clip(p) for p in clean["clip_path"]]
    expected = np.stack([p.probs["fused"] for p in predictor.predict_batch(clips)])
    np.testing.assert_allclose(np.stack(clean["probs"]), expected, atol=1e-5)
    muted = rows.loc["mute:1"]
    assert (muted["audio_present"] == 0).all() and (muted["video_present"] == 1).all()
    fused = muted.loc["fused"]
    assert (fused["weight_audio"] == 0).all() and (fused["weight_video"] == 1).all()
    assert rows.loc["clean"].loc["audio"]["weight_audio"].isna().all()  # weights live on fused rows
    with ResultsDB(path) as db:
        exp = db.get_experiment(eid)
        assert exp["complete"] and exp["config"]["corruptions"] == list(CORRUPTIONS)
        # mute has one level: swept once, at severity 1, one row per clip and head
        assert exp["conditions"][:3] == ["clean", "mute:1", "gaussian_blur:1"] and "mute:3" not in exp["conditions"]
    assert len(muted) == 4 * 3 and muted.index.is_unique


def test_killed_sweep_resumes_to_identical_results(tiny, reference, tmp_path):
    path = tmp_path / "killed.db"
    config = _config(tiny)
    # SIGKILL itself after three stored chunks: no cleanup, no except clause, a mid-run stop
    script = (
        "import json, os, signal, sys\n"
        "from core.experiments import ExperimentConfig, run_experiment\n"
        "calls = []\n"
        "def progress(done, total, message):\n"
        "    calls.append(done)\n"
        "    if len(calls) == 4:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "run_experiment(ExperimentConfig.from_dict(json.loads(sys.argv[1])), db=sys.argv[2], progress=progress)\n")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(config.to_dict()), str(path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    with ResultsDB(path) as db:
        stored = db.con.execute("SELECT count(*) FROM predictions").fetchone()[0]
        assert stored == 3 * 2 * 3  # three chunks of 2 clips x 3 heads, nothing half-written
        assert not db.get_experiment(1)["complete"]
    seen = []
    eid = run_experiment(config, db=path, progress=lambda done, total, message: seen.append((done, total)))
    assert eid == 1 and seen[0] == (6, 32) and seen[-1] == (32, 32)  # 8 conditions (mute once) x 4 clips
    resumed, ref = _probs(path, eid), _probs(*reference)
    assert len(resumed) == _n_rows(config) and resumed.index.is_unique
    np.testing.assert_array_equal(np.stack(resumed["probs"]), np.stack(ref["probs"]))
    with ResultsDB(path) as db, ResultsDB(reference[0]) as rdb:
        pd.testing.assert_frame_equal(db.condition_metrics(eid), rdb.condition_metrics(reference[1]))
        pd.testing.assert_frame_equal(db.summary(eid), rdb.summary(reference[1]))
        assert db.get_experiment(eid)["complete"]


def test_ctrl_c_keeps_what_was_stored_and_a_rerun_adds_nothing_twice(tiny, tmp_path):
    path = tmp_path / "ctrl_c.db"
    config = _config(tiny, corruptions=["mute"], severities=[1])

    def interrupt(done, total, message):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, db=path, progress=interrupt)
    assert run_experiment(config, db=path) == 1
    assert run_experiment(config, db=path) == 1  # finished: nothing to do
    assert run_experiment(_config(tiny, corruptions=["mute"], severities=[1], seed=1), db=path) == 2
    with ResultsDB(path) as db:
        assert db.con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 2 * _n_rows(config)


def test_single_level_corruptions_are_swept_once_at_severity_1(tiny, tmp_path):
    path = tmp_path / "once.db"
    eid = run_experiment(_config(tiny, corruptions=["mute", "video_off", "gaussian_blur"], severities=[2, 4]),
                         db=path)
    rows = _probs(path, eid)
    with ResultsDB(path) as db:
        assert db.get_experiment(eid)["conditions"] == ["clean", "mute:1", "video_off:1", "gaussian_blur:2",
                                                        "gaussian_blur:4"]
    for name in ("mute", "video_off"):
        mine = rows[rows["corruption"] == name]
        assert len(mine) == 4 * 3 and set(mine["severity"]) == {1}  # one row per clip and head
        assert mine.groupby(["clip_path", "head"]).size().eq(1).all()


def test_a_database_from_before_single_levels_reads_the_same_and_is_not_continued(tiny, reference, tmp_path,
                                                                                  monkeypatch):
    """A sweep stored when mute ran at every severity (revision 1): its numbers and figures equal today's
    sweep, and running the same config now starts a new experiment instead of mixing rows into it."""
    path = tmp_path / "old.db"
    with monkeypatch.context() as old:
        old.setattr(corruptions, "REVISION", 1)
        old.setattr(corruptions, "grid", lambda names, severities: [(n, s) for n in names for s in severities])
        eid = run_experiment(_config(tiny), db=path)
    with ResultsDB(path) as db, ResultsDB(reference[0]) as rdb:
        assert "mute:3" in db.get_experiment(eid)["conditions"]
        assert len(_probs(path, eid)) == _n_rows(_config(tiny)) + 4 * 3  # mute:3, the same rows as mute:1
        pd.testing.assert_frame_equal(db.summary(eid), rdb.summary(reference[1]))
        then, now = db.condition_metrics(eid), rdb.condition_metrics(reference[1])
        assert figures.severity_curves(then).to_json() == figures.severity_curves(now).to_json()
        assert figures.accuracy_grid(then, "ckpt").to_json() == figures.accuracy_grid(now, "ckpt").to_json()
    assert run_experiment(_config(tiny), db=path) == eid + 1
    with ResultsDB(path) as db:
        assert "mute:3" in db.get_experiment(eid)["conditions"]
        assert "mute:3" not in db.get_experiment(eid + 1)["conditions"]


def test_shortcuts_equal_the_long_way(tiny, reference, tmp_path):
    """Reusing the clean branch, and blurring only the sampled frames, give the same outputs as not doing so."""
    ref = _probs(*reference)
    path = tmp_path / "long.db"
    eid = run_experiment(_config(tiny, frames="all"), db=path, reuse_embeddings=False)
    slow = _probs(path, eid)
    for condition in ("clean", "gaussian_blur:3", "audio_gaussian_noise:1", "mute:1"):
        np.testing.assert_allclose(np.stack(slow.loc[condition]["probs"]), np.stack(ref.loc[condition]["probs"]),
                                   atol=1e-5, err_msg=condition)


def test_bad_configs_are_plain_errors(tiny, tmp_path):
    with pytest.raises(ExperimentError, match="no corruption called 'fogg'"):
        _config(tiny, corruptions=["fogg"])
    with pytest.raises(ExperimentError, match="from 1 to 5"):
        _config(tiny, severities=[0])
    with pytest.raises(ExperimentError, match="unknown field"):
        ExperimentConfig.from_dict({"sed": 1})
    (tmp_path / "other.csv").write_text("path,label\nx.mp4,cat\n")
    (tmp_path / "x.mp4").write_bytes(tiny[0].joinpath("bright_0.mp4").read_bytes())
    with pytest.raises(ExperimentError, match=r"None of the data set.s labels \(cat\) is a class of every model"):
        run_experiment(_config(tiny, data=str(tmp_path / "other.csv")), db=tmp_path / "r.db")
    yaml_file = tmp_path / "sweep.yaml"
    yaml_file.write_text("corruptions: [mute, fog]\nseverities: [2]\nseed: 7\n")
    loaded = ExperimentConfig.from_file(yaml_file)
    assert loaded.corruptions == ("mute", "fog") and loaded.severities == (2,) and loaded.seed == 7


def test_cli_run_list_show_export_delete(tiny, tmp_path, capsys):
    root, ckpt = tiny
    db = str(tmp_path / "cli.db")
    assert main(["--db", db, "run", "--checkpoint", str(ckpt), "--data", str(root), "--corruptions", "mute",
                 "--severities", "1", "--quiet"]) == 0
    assert "experiment 1 complete" in capsys.readouterr().out
    assert main(["--db", db, "list"]) == 0
    listed = capsys.readouterr().out
    assert "tiny_sweep" in listed
    # times to the second, as a person reads them (not 05:40:12.123456768)
    import re

    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s", listed) and not re.search(r":\d\d\.\d", listed)
    assert main(["--db", db, "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "mpc" in out and "normal / muted / blurred" in out
    assert main(["--db", db, "show", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {r["head"] for r in shown["summary"]} == {"audio", "video", "fused"}
    target = tmp_path / "rows.parquet"
    assert main(["--db", db, "export", "1", "--format", "parquet", "--out", str(target)]) == 0
    assert len(pd.read_parquet(target)) == 2 * 4 * 3
    assert main(["--db", db, "delete", "1"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "show", "1"]) == 2 and "no experiment 1" in capsys.readouterr().err
    assert main(["--db", db, "run", "--corruptions", "nope"]) == 2


def test_several_checkpoints_share_corrupted_clips_and_see_their_own_frames(tiny, tmp_path):
    """A second checkpoint sampling 6 frames (not 4): its seen-frame shortcut still equals the long way."""
    root, first = tiny
    torch.manual_seed(1)
    config6 = ModelConfig.from_dict({**TINY_MODEL.to_dict(),
                                     "video_kwargs": {**TINY_MODEL.video_kwargs, "num_frames": 6}})
    second = save_checkpoint(tmp_path / "six", AVModel(config6).eval(), classes=["bright", "dark"], dtype="float32")
    runs = {}
    for frames in ("seen", "all"):
        config = _config(tiny, checkpoints=[str(first), str(second)], corruptions=["gaussian_blur", "mute"],
                         severities=[2], frames=frames)
        eid = run_experiment(config, db=tmp_path / f"{frames}.db")
        runs[frames] = _probs(tmp_path / f"{frames}.db", eid)
        with ResultsDB(tmp_path / f"{frames}.db") as db:
            summary = db.summary(eid, baseline="six").set_index(["checkpoint", "head"])
        assert summary.loc[("six", "fused"), "mce"] == 1.0 and len(summary) == 6
    assert len(runs["seen"]) == 2 * 3 * 4 * 3
    for name in ("ckpt", "six"):
        seen, every = (runs[f][runs[f]["checkpoint"] == name] for f in ("seen", "all"))
        np.testing.assert_allclose(np.stack(seen.loc["gaussian_blur:2"]["probs"]),
                                   np.stack(every.loc["gaussian_blur:2"]["probs"]), atol=1e-5)


def test_an_undecodable_clip_is_skipped_named_and_not_retried(tiny, reference, tmp_path, monkeypatch):
    """A broken file third in the data set: the sweep goes on, stores why, and the others' rows equal the
    reference sweep's (corruptions are seeded by file name, so copies of the clips are corrupted alike)."""
    import shutil

    from core import report
    from core.experiments import work
    from core.media import MediaError

    root, _ = tiny
    data = tmp_path / "with_broken"
    data.mkdir()
    names = ["bright_0.mp4", "bright_1.mp4", "broken.mp4", "dark_0.mp4", "dark_1.mp4"]
    for name in names:
        if name != "broken.mp4":
            shutil.copy(root / name, data / name)
    (data / "broken.mp4").write_bytes((root / "dark_0.mp4").read_bytes()[:700])  # a truncated download
    labels = ["bright", "bright", "dark", "dark", "dark"]
    (data / "manifest.csv").write_text("path,label\n" + "".join(f"{n},{y}\n" for n, y in zip(names, labels)))
    with pytest.raises(MediaError) as info:
        load_clip(data / "broken.mp4")
    path = tmp_path / "broken.db"
    messages = []
    eid = run_experiment(_config(tiny, data=str(data)), db=path, progress=lambda d, t, m: messages.append((d, t, m)))
    assert messages[-1][0] == messages[-1][1]  # the progress reaches its total
    assert any(m.startswith("1 clip could not be decoded and was left out: broken.mp4 (") for *_, m in messages)
    with ResultsDB(path) as db:
        exp = db.get_experiment(eid)
        assert exp["skipped"] == [{"path": str(data / "broken.mp4"), "label": "dark", "reason": str(info.value)}]
        assert exp["complete"] and exp["progress"] == 1.0 and len(exp["clips"]) == 5
        listed = db.list_experiments().iloc[0]
        assert listed["skipped"] == 1 and listed["progress"] == 1.0
        assert db.skipped_clips(eid) == {2: str(info.value)}
        assert set(db.predictions(eid)["clip_idx"]) == {0, 1, 3, 4}
        metrics = db.condition_metrics(eid)
        assert set(metrics.loc[metrics["coverage"] > 0, "n"]) == {4}  # a muted head answers none
    rows, ref = _probs(path, eid), _probs(*reference)
    rows["clip"] = [Path(p).name for p in rows["clip_path"]]
    ref["clip"] = [Path(p).name for p in ref["clip_path"]]
    mine = rows.reset_index().set_index(["condition", "head", "clip"]).sort_index()
    theirs = ref.reset_index().set_index(["condition", "head", "clip"]).sort_index()
    assert list(mine.index) == list(theirs.index)
    # batches differ in size around the gap (one clip instead of two): equal up to float32 rounding
    np.testing.assert_allclose(np.stack(mine["probs"]), np.stack(theirs["probs"]), atol=1e-6)
    assert (mine["predicted"] == theirs["predicted"]).all()
    # a continued sweep does not decode the broken file again, and finishes at once
    decoded = []
    monkeypatch.setattr(work, "load_clip", lambda p, **kw: decoded.append(Path(p).name) or load_clip(p, **kw))
    assert run_experiment(_config(tiny, data=str(data)), db=path) == eid
    assert decoded == []
    # the report says it in one sentence, with the number stored
    text = "\n".join(report.build(eid, db=path).findings)
    assert f"**Clips left out:** 1 clip could not be decoded and was left out: broken.mp4 " \
           f"({str(info.value).rstrip('.')})." in text
    assert "every accuracy comes from 4 clips" in text


def test_a_data_set_whose_clips_all_fail_to_decode_is_one_sentence(tiny, tmp_path):
    data = tmp_path / "broken_only"
    data.mkdir()
    (data / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    (data / "manifest.csv").write_text("path,label\na.mp4,bright\n")
    with pytest.raises(ExperimentError, match=r"None of the 1 clips could be decoded; the first, '.*a\.mp4'"):
        run_experiment(_config(tiny, data=str(data)), db=tmp_path / "r.db")


def test_the_plan_submits_only_the_jobs_not_stored(tiny, tmp_path):
    """A job is one model's rows for one clip under one condition; a sweep stopped after one stored chunk plans
    exactly the others, each standing for (model hash, clip, corruption, severity, seed, corruption revision)."""
    from core.experiments.plan import Job, make_plan

    path = tmp_path / "plan.db"
    config = _config(tiny)

    def stop(done, total, message):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, db=path, progress=stop)
    with ResultsDB(path) as db:
        plan = make_plan(config, db, device="cpu")
        jobs = plan.jobs()
        assert plan.total == 8 * 4 and plan.stored() == 2 and len(jobs) == plan.total - 2
        assert Job(0, 0, "clean", 0) not in jobs and Job(0, 1, "clean", 0) not in jobs  # the chunk stored
        assert Job(0, 2, "clean", 0) in jobs and Job(0, 0, "mute", 1) in jobs
        keys = {plan.job_key(j) for j in jobs}
        assert len(keys) == len(jobs)
        assert plan.job_key(Job(0, 2, "gaussian_blur", 3)) == (
            plan.models[0].fingerprint, str(plan.samples[2].source), "gaussian_blur", 3, 0, corruptions.REVISION)
        assert plan.batches() == [[0, 1], [2, 3]]  # the first batch still has its corrupted conditions to do
    run_experiment(config, db=path)
    with ResultsDB(path) as db:
        assert make_plan(config, db, device="cpu").jobs() == []
        # rows carry an OOD score only where the model has a detector: this tiny model has none
        assert db.predictions(1)["ood_score"].isna().all()


def test_the_sweep_stores_the_predictors_ood_score(tmp_path):
    """The shipped default model has a detector: every row carries its clip's score, the one
    core.inference.Predictor gives (to its 4 decimals), and the detector is stored with the model."""
    config = ExperimentConfig(data=str(ROOT / "sample_data"), corruptions=("mute",), limit=3)
    eid = run_experiment(config, db=tmp_path / "ood.db", device="cpu")
    with ResultsDB(tmp_path / "ood.db") as db:
        rows = db.predictions(eid, condition="clean")
        detector = db.get_experiment(eid)["checkpoints"][0]["ood"]
    predictor = Predictor.load(None, device="cpu")
    fused = rows[rows["head"] == "fused"].sort_values("clip_idx")
    verdicts = [p.out_of_distribution for p in predictor.predict_batch([load_clip(p) for p in fused["clip_path"]])]
    assert [round(s, 4) for s in fused["ood_score"]] == [v["score"] for v in verdicts]
    assert detector == {"method": verdicts[0]["method"], "threshold": pytest.approx(verdicts[0]["threshold"], abs=1e-4),
                        "sources": detector["sources"]} and detector["sources"]
    assert (rows.groupby("clip_idx")["ood_score"].nunique() == 1).all()  # the same score on the three heads' rows


def test_the_progress_bar_shows_the_rate_and_time_left_of_this_run(capsys):
    import io
    import re
    import time

    from core.experiments.cli import progress_bar

    out = io.StringIO()
    bar, report = progress_bar(file=out)
    report(100, 400, "experiment 1: 100 of 400 clip-conditions already stored")
    time.sleep(0.6)
    report(130, 400, "clean, clips 1-2")
    bar.close()
    last = out.getvalue().rsplit("\r", 1)[-1]
    # 30 clip-conditions in ~0.6 s: the 100 stored before do not count in the rate, and 270 are left
    match = re.search(r"130/400 \[00:00<00:(\d\d), ([\d.]+)clip-cond/s, clean, clips 1-2\]", last)
    assert match, last
    rate = float(match.group(2))
    assert 25 < rate < 55 and abs(int(match.group(1)) - 270 / rate) <= 1.5


def test_cli_compare_and_the_backend_flags(tiny, tmp_path, capsys):
    root, ckpt = tiny
    db = str(tmp_path / "compare.db")
    for severities in ("1,3", "3"):
        assert main(["--db", db, "run", "--checkpoint", str(ckpt), "--data", str(root), "--corruptions",
                     "gaussian_blur", "--severities", severities, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "compare", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Only the 2 conditions every compared sweep has count; left out 1 measured by some only "
                          "(gaussian_blur:1).\nfused head of experiments 1, 2 on the 2 conditions they all measured")
    assert main(["--db", db, "compare", "1", "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["conditions"] == ["clean", "gaussian_blur:3"] and len(shown["leaderboard"]) == 2
    a, b = shown["leaderboard"]
    assert a["mpc"] == b["mpc"] and a["model_hash"] == b["model_hash"]  # the same model on the same clips
    assert main(["--db", db, "compare", "1"]) == 2 and "at least two" in capsys.readouterr().err
    assert main(["--db", db, "run", "--address", "auto"]) == 2
    assert "--address and --workers are for --backend ray" in capsys.readouterr().err
