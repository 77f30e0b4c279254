"""core.experiments.ray_backend: a sweep on a local Ray (2 CPUs, started here and stopped after) stores the local
backend's rows byte for byte; a model worker SIGKILLed mid-sweep is restarted and the sweep finishes; a driver
SIGKILLed mid-write loses only that transaction and the same sweep continues to the exact rows; evaluate runs on
the same backend. Skipped only where ray cannot be imported (requirements-dev.txt installs it)."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-dev.txt)")

from core.experiments import ExperimentConfig, run_experiment  # noqa: E402
from core.experiments.ray_backend import RayBackend  # noqa: E402
from core.results import ResultsDB  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# the shipped default model (it has an out-of-distribution detector, so OOD scores are compared too) on four
# sample clips, two corruptions: 3 conditions x 4 clips x 3 heads = 36 rows, in two batches of two clips
CONFIG = ExperimentConfig(data=str(ROOT / "sample_data"), corruptions=("gaussian_blur", "audio_gaussian_noise"),
                          severities=(2,), limit=4, batch_size=2)
N_ROWS = 3 * 4 * 3
ROWS = "SELECT condition_id, clip_idx, head, predicted, correct, probs, audio_present, video_present, weight_audio, " \
       "weight_video, ood_score FROM predictions ORDER BY condition_id, clip_idx, head"


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def backend(cluster):
    """One model actor, kept between the tests of this module (its models are loaded once)."""
    b = RayBackend(workers=1)
    yield b
    b.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The local backend's rows of the same sweep."""
    path = tmp_path_factory.mktemp("local") / "local.db"
    run_experiment(CONFIG, db=path, device="cpu")
    with ResultsDB(path) as db:
        return db.con.execute(ROWS).fetchall()


def _rows(path) -> list[tuple]:
    with ResultsDB(path) as db:
        return db.con.execute(ROWS).fetchall()


def test_a_sweep_on_ray_stores_the_local_backends_rows_byte_for_byte(backend, local, tmp_path):
    path = tmp_path / "ray.db"
    seen = []
    eid = run_experiment(CONFIG, db=path, device="cpu", backend=backend, progress=lambda *a: seen.append(a[:2]))
    rows = _rows(path)
    assert len(rows) == len(local) == N_ROWS
    assert rows == local  # probabilities (float32 BLOBs), weights and OOD scores: the same bytes
    assert all(r[10] is not None for r in rows)  # the default model has a detector: every row has its score
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    with ResultsDB(path) as db:
        assert db.get_experiment(eid)["complete"]
        assert db.get_experiment(eid)["checkpoints"][0]["ood"]["method"]
    # nothing left to do: the plan submits no job, and the same id comes back
    assert run_experiment(CONFIG, db=path, device="cpu", backend=backend) == eid
    assert _rows(path) == local


def _actor_processes() -> list[int]:
    """Processes of the sweep's model actors (Ray titles them ``ray::SweepWorker...``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and title.startswith(b"ray::SweepWorker"):
            found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_sweep_is_restarted_and_the_sweep_finishes(backend, local, tmp_path):
    path = tmp_path / "killed_worker.db"
    killed = []

    def kill_after_the_first_write(done, total, message):
        if done and not killed:  # steps of both batches are queued on the actor: SIGKILL it now
            (pid,) = _actor_processes()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    run_experiment(CONFIG, db=path, device="cpu", backend=backend, progress=kill_after_the_first_write)
    assert killed
    rows = _rows(path)
    assert rows == local  # every row, once, the same bytes: the restarted actor re-encoded the clean clips
    assert _actor_processes() and killed[0] not in _actor_processes()


DRIVER = """
import json, os, signal, sys
from core.experiments import ExperimentConfig, run_experiment
from core.experiments.ray_backend import RayBackend
from core.results import ResultsDB
db = ResultsDB(sys.argv[2])
writes = []
def progress(done, total, message):
    print(done, message, file=sys.stderr, flush=True)
    writes.append(done)
    if len(writes) == 3:  # two steps stored: SIGKILL this driver inside the next write, before its COMMIT
        db.con.set_trace_callback(lambda sql: os.kill(os.getpid(), signal.SIGKILL)
                                  if sql.lstrip().startswith("UPDATE conditions") else None)
run_experiment(ExperimentConfig.from_dict(json.loads(sys.argv[1])), db=db, device="cpu",
               backend=RayBackend(address=sys.argv[3], workers=1), progress=progress)
"""


def test_a_driver_killed_mid_write_resumes_to_the_exact_rows(cluster, backend, local, tmp_path):
    path = tmp_path / "killed_driver.db"
    try:
        proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(CONFIG.to_dict()), str(path), cluster],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                              timeout=300)  # generous: it took up to ~130 s on a 2-core machine at load 13
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the driver did not finish: {exc.stdout} {exc.stderr}")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    with ResultsDB(path) as db:  # two steps of two clips x 3 heads; the third write was rolled back
        assert db.con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 2 * 2 * 3
        assert not db.get_experiment(1)["complete"]
    assert run_experiment(CONFIG, db=path, device="cpu", backend=backend) == 1
    rows = _rows(path)
    assert len(rows) == N_ROWS and len({r[:3] for r in rows}) == N_ROWS  # exact, no duplicates
    assert rows == local


def test_evaluate_and_embeddings_on_ray_equal_the_local_path(cluster):
    from core.datasets import load_dataset
    from core.embeddings import extract
    from core.evaluate import evaluate
    from core.inference import Predictor

    predictor = Predictor.load(None, device="cpu", threads=1)
    full = load_dataset(ROOT / "sample_data")
    dataset = dataclasses.replace(full, samples=full.standard().samples[:6])  # two batches of four and two
    here = evaluate(predictor, dataset, progress=False, corrupt=[("gaussian_blur", 2)], batch_size=4)
    there = evaluate(predictor, dataset, progress=False, corrupt=[("gaussian_blur", 2)], batch_size=4, backend="ray")
    assert here["n"] == 6 and {k: v for k, v in there.items() if k != "seconds"} == \
        {k: v for k, v in here.items() if k != "seconds"}
    a = extract(predictor, dataset.samples, batch_size=4)
    b = extract(predictor, dataset.samples, batch_size=4, backend="ray")  # the same model actor, kept
    for head in a.embeddings:
        np.testing.assert_array_equal(a.embeddings[head], b.embeddings[head])
        np.testing.assert_array_equal(a.probs[head], b.probs[head])
