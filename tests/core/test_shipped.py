"""The shipped results (sample_data/results.db): opened read-only, and still the sweep its command makes:
every shipped checkpoint (the same weights), every single-label sample clip, the avlab suite at the current
corruption revision, complete, small."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core import corruptions
from core.corruptions import suites
from core.datasets import load_dataset
from core.experiments import shipped
from core.models import CHECKPOINTS
from core.models.interface import content_hash
from core.results import SHIPPED_DB, ResultsDB, ResultsError

ROOT = Path(__file__).resolve().parents[2]
REBUILD = f"rebuild it with `{shipped.COMMAND}` (docs/shipped_results.md)"


def test_a_read_only_database_is_read_as_it_is_and_refuses_writes(tmp_path):
    path = tmp_path / "r.db"
    with ResultsDB(path) as db:
        db.start_experiment(key="k", name="x", config={"seed": 0}, checkpoints=[], clips=[],
                            conditions=[("clean", 0, "none")])
    before = sorted(p.name for p in tmp_path.iterdir())
    with ResultsDB(path, read_only=True) as db:
        assert list(db.list_experiments()["id"]) == [1]
        with pytest.raises(ResultsError, match="read-only"):
            db.delete_experiment(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no journal, no lock file beside it
    with pytest.raises(ResultsError, match="There is no results database"):
        ResultsDB(tmp_path / "missing.db", read_only=True)


@pytest.fixture(scope="module")
def stored():
    if not SHIPPED_DB.is_file():
        pytest.skip(f"{SHIPPED_DB} is missing; {REBUILD}.")
    with ResultsDB(SHIPPED_DB) as db:
        assert db.read_only  # the shipped file is never opened for writing
        table = db.list_experiments()
        assert len(table) == 1, f"the shipped results hold one sweep; {REBUILD}"
        return db.get_experiment(int(table["id"].iloc[0]))


def test_the_shipped_results_are_the_sweep_their_command_makes_today(stored):
    made = stored["config"]["shipped"]
    assert made["command"].startswith(shipped.COMMAND)
    assert made["corruptions_revision"] == corruptions.REVISION, f"corruptions changed since; {REBUILD}"
    assert stored["config"]["suite"] == "avlab" and stored["complete"]
    assert set(stored["config"]["corruptions"]) == {n for n in suites.suite("avlab").corruptions
                                                    if n in corruptions.REGISTRY}
    weights = {c["name"]: c["fingerprint"] for c in stored["checkpoints"]}
    now = {p.parent.name: content_hash(p.parent / "model.safetensors") for p in CHECKPOINTS.glob("*/config.json")}
    assert weights == now, f"the shipped checkpoints changed since; {REBUILD}"
    clips = sorted(Path(c["path"] if isinstance(c, dict) else c[0]).name for c in stored["clips"])
    samples = sorted(s.path.name for s in load_dataset(ROOT / "sample_data").samples if not s.is_long)
    assert clips == samples
    assert not any(Path(c["path"] if isinstance(c, dict) else c[0]).is_absolute() for c in stored["clips"])


def test_the_shipped_file_is_small_and_one_file():
    if not SHIPPED_DB.is_file():
        pytest.skip(f"{SHIPPED_DB} is missing; {REBUILD}.")
    assert SHIPPED_DB.stat().st_size < 5e6
    con = sqlite3.connect(f"{SHIPPED_DB.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # readable without a -wal beside it
    con.close()
