"""core.results: schema and migrations, bad files, concurrent writers, metrics by hand, export round trip."""
from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from core import results
from core.results import ResultsDB, ResultsError

CLASSES = ["a", "b"]
LABELS = ["a", "a", "b", "b"]
CONDITIONS = [("clean", 0, "none"), ("noise", 1, "audio"), ("noise", 2, "audio"), ("mute", 1, "audio")]


def _probs(pred: int, confidence: float = 0.8) -> np.ndarray:
    p = np.full(2, 1 - confidence, np.float32)
    p[pred] = confidence
    return p


def _experiment(db: ResultsDB, key: str = "k", checkpoints=("m1", "m2"), conditions=CONDITIONS) -> int:
    eid, created = db.start_experiment(
        key=key, name="hand", config={"seed": 0},
        checkpoints=[{"name": n, "path": f"/ck/{n}", "fusion": "modality_attention", "classes": CLASSES,
                      "fingerprint": n} for n in checkpoints],
        clips=[(f"/clips/{i}.mp4", label) for i, label in enumerate(LABELS)], conditions=conditions)
    assert created
    return eid


def _write(db: ResultsDB, eid: int, ckpt: int, corruption: str, severity: int, correct: dict[str, list[int]],
           *, audio_present=1, weights=(0.25, 0.75)) -> None:
    """Rows of one condition; ``correct[head]`` says per clip whether that head is right."""
    cid = db.condition_ids(eid)[(ckpt, corruption, severity)]
    rows = []
    for head, oks in correct.items():
        for i, ok in enumerate(oks):
            y = CLASSES.index(LABELS[i])
            pred = y if ok else 1 - y
            w = weights if head == "fused" else (None, None)
            rows.append((cid, i, head, pred, ok, _probs(pred), audio_present, 1, *w))
    db.write_predictions(eid, rows)


def _fill(db: ResultsDB, eid: int) -> None:
    """The hand-made rows of :func:`hand`."""
    # m1: clean audio 3/4, video 2/4, fused 4/4; noise:1 fused 3/4, noise:2 fused 1/4; mute fused 2/4, video 2/4
    _write(db, eid, 0, "clean", 0, {"audio": [1, 1, 1, 0], "video": [1, 0, 1, 0], "fused": [1, 1, 1, 1]})
    _write(db, eid, 0, "noise", 1, {"audio": [1, 1, 0, 0], "video": [1, 0, 1, 0], "fused": [1, 1, 1, 0]})
    _write(db, eid, 0, "noise", 2, {"audio": [0, 0, 0, 0], "video": [1, 0, 1, 0], "fused": [1, 0, 0, 0]})
    _write(db, eid, 0, "mute", 1, {"audio": [0, 1, 0, 1], "video": [1, 0, 1, 0], "fused": [1, 1, 0, 0]},
           audio_present=0, weights=(0.0, 1.0))
    # m2 (the baseline for mCE below): clean fused 2/4; noise:1 fused 2/4, noise:2 fused 0/4; mute fused 1/4
    _write(db, eid, 1, "clean", 0, {"audio": [1, 0, 1, 0], "video": [1, 1, 0, 0], "fused": [1, 1, 0, 0]})
    _write(db, eid, 1, "noise", 1, {"audio": [1, 0, 0, 0], "video": [1, 1, 0, 0], "fused": [1, 0, 1, 0]})
    _write(db, eid, 1, "noise", 2, {"audio": [0, 0, 0, 0], "video": [1, 1, 0, 0], "fused": [0, 0, 0, 0]})
    _write(db, eid, 1, "mute", 1, {"audio": [0, 0, 0, 0], "video": [1, 1, 0, 0], "fused": [1, 0, 0, 0]},
           audio_present=0, weights=(0.0, 1.0))


@pytest.fixture
def hand(tmp_path):
    """Two checkpoints; every accuracy below is a count of ones divided by 4."""
    db = ResultsDB(tmp_path / "r.db")
    eid = _experiment(db)
    _fill(db, eid)
    yield db, eid
    db.close()


def test_a_single_level_corruption_counts_once(hand, tmp_path):
    """A database from before single levels were declared holds mute at several severities: only its first
    counts in mPC and the CEs (sweeps made them identical; here mute:3 is made all wrong to tell)."""
    db, eid = hand
    with ResultsDB(tmp_path / "old.db") as old:
        oid = _experiment(old, conditions=CONDITIONS + [("mute", 3, "audio")])
        _fill(old, oid)
        for k in (0, 1):
            _write(old, oid, k, "mute", 3, {h: [0, 0, 0, 0] for h in ("audio", "video", "fused")}, audio_present=0)
        then, now = old.summary(oid, baseline="m2"), db.summary(eid, baseline="m2")
        pd.testing.assert_frame_equal(then, now)
        assert then.set_index(["checkpoint", "head"]).loc[("m1", "fused"), "mpc"] == pytest.approx(0.5)


def test_condition_metrics_by_hand(hand):
    db, eid = hand
    m = db.condition_metrics(eid).set_index(["checkpoint", "condition", "head"])
    assert len(m) == 2 * 4 * 3
    assert m.loc[("m1", "clean", "audio"), "accuracy"] == 0.75
    assert m.loc[("m1", "noise:2", "fused"), "accuracy"] == 0.25
    # m1 clean audio predicts a a b a for labels a a b b: F1(a) = 2 (2/3)(1) / (5/3) = 0.8, F1(b) = 2/3
    assert m.loc[("m1", "clean", "audio"), "macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m.loc[("m1", "clean", "audio"), "confusion_matrix"] == [[2, 0], [1, 1]]
    assert m.loc[("m1", "clean", "audio"), "per_class_accuracy"] == {"a": 1.0, "b": 0.5}
    # every prediction has confidence 0.8: ECE = |accuracy - 0.8|
    assert m.loc[("m1", "clean", "fused"), "ece"] == pytest.approx(0.2)
    assert m.loc[("m1", "clean", "fused"), "fusion_gain"] == pytest.approx(1.0 - 0.75)
    assert np.isnan(m.loc[("m1", "clean", "audio"), "fusion_gain"])


def test_summary_by_hand(hand):
    db, eid = hand
    s = db.summary(eid, baseline="m2").set_index(["checkpoint", "head"])
    fused = s.loc[("m1", "fused")]
    # mPC: noise mean (3/4 + 1/4) / 2 = 1/2, mute 2/4 -> 1/2; rPC = 1/2 / 1
    assert fused["clean_accuracy"] == 1.0
    assert fused["mpc"] == pytest.approx(0.5)
    assert fused["rpc"] == pytest.approx(0.5)
    # mCE vs m2: noise (1/4 + 3/4) / (2/4 + 4/4) = 2/3; mute (2/4) / (3/4) = 2/3
    assert fused["mce"] == pytest.approx(2 / 3)
    assert s.loc[("m2", "fused"), "mce"] == pytest.approx(1.0)
    # relative mCE: noise ((1/4 - 0) + (3/4 - 0)) / ((2/4 - 2/4) + (4/4 - 2/4)) = 2; mute (2/4) / (3/4 - 2/4) = 2
    assert fused["relative_mce"] == pytest.approx(2.0)
    # fusion gain: clean 1 - 3/4; under corruption noise:1 3/4 - 2/4, noise:2 1/4 - 2/4, mute 2/4 - 2/4
    assert fused["fusion_gain"] == pytest.approx(0.25)
    assert fused["fusion_gain_corrupted"] == pytest.approx(np.mean([np.mean([0.25, -0.25]), 0.0]))
    # fallback: with audio muted, fused 2/4 vs the surviving video head 2/4
    assert fused["fallback_gap_no_audio"] == pytest.approx(0.0)
    assert s.loc[("m2", "fused"), "fallback_gap_no_audio"] == pytest.approx(1 / 4 - 2 / 4)
    assert np.isnan(fused["fallback_gap_no_video"]) and np.isnan(s.loc[("m1", "audio"), "fusion_gain"])
    # the default baseline is the first checkpoint: m2 against m1 is the inverse, 1 / (2/3)
    default = db.summary(eid).set_index(["checkpoint", "head"])
    assert default.loc[("m1", "fused"), "mce"] == 1.0
    assert default.loc[("m2", "fused"), "mce"] == pytest.approx(1.5)
    with pytest.raises(ResultsError, match="no stored results of .nope."):
        db.summary(eid, baseline="nope")


def test_modality_weights_and_predictions(hand):
    db, eid = hand
    w = db.modality_weights(eid).set_index(["checkpoint", "condition"])
    assert tuple(w.loc[("m1", "clean"), ["weight_audio", "weight_video"]]) == (0.25, 0.75)
    assert tuple(w.loc[("m1", "mute:1"), ["weight_audio", "weight_video"]]) == (0.0, 1.0)
    rows = db.predictions(eid, "m1", "noise:2")
    assert len(rows) == 4 * 3 and set(rows["head"]) == {"audio", "video", "fused"}
    fused = rows[rows["head"] == "fused"].sort_values("clip_idx")
    assert list(fused["correct"]) == [True, False, False, False]
    assert list(fused["predicted_class"]) == ["a", "b", "a", "a"]
    assert list(fused["clip_path"]) == [f"/clips/{i}.mp4" for i in range(4)]
    assert db.predictions(eid, "m1", ("mute", 1))["audio_present"].eq(0).all()
    with pytest.raises(ResultsError, match="not a condition"):
        db.predictions(eid, "m1", "noise")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(hand, tmp_path, fmt):
    db, eid = hand
    path = db.export(eid, tmp_path / f"out.{fmt}")
    back = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
    rows = db.predictions(eid)
    assert len(back) == len(rows) == 2 * 4 * 4 * 3
    assert list(back["condition"]) == list(rows["condition"])
    assert list(back["correct"]) == list(rows["correct"])
    probs = back[["prob_a", "prob_b"]].to_numpy()
    np.testing.assert_allclose(probs, np.stack(rows["probs"]), rtol=1e-6)
    np.testing.assert_allclose(back["weight_audio"].to_numpy(float), rows["weight_audio"].to_numpy(float))
    with pytest.raises(ResultsError, match="csv or parquet"):
        db.export(eid, tmp_path / "out.xlsx")


def test_rows_are_stored_once_and_conditions_complete(hand):
    db, eid = hand
    before = db.con.execute("SELECT count(*) FROM predictions").fetchone()[0]
    _write(db, eid, 0, "clean", 0, {"audio": [0, 0, 0, 0], "video": [0, 0, 0, 0], "fused": [0, 0, 0, 0]})
    assert db.con.execute("SELECT count(*) FROM predictions").fetchone()[0] == before
    assert db.condition_metrics(eid).set_index(["checkpoint", "condition", "head"]).loc[
        ("m1", "clean", "fused"), "accuracy"] == 1.0  # the first write stays
    exp = db.get_experiment(eid)
    assert exp["progress"] == 1.0 and exp["complete"] and db.finish_experiment(eid)
    # same key: the existing experiment, not a new one
    again, created = db.start_experiment(key="k", name="x", config={}, checkpoints=[], clips=[], conditions=[])
    assert (again, created) == (eid, False)


def test_delete_and_list(hand):
    db, eid = hand
    other = _experiment(db, key="other", checkpoints=("m3",))
    table = db.list_experiments()
    assert list(table["id"]) == [eid, other]
    assert list(table["progress"]) == [1.0, 0.0]
    db.delete_experiment(eid)
    assert list(db.list_experiments()["id"]) == [other]
    assert db.con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0
    with pytest.raises(ResultsError, match="no experiment"):
        db.get_experiment(eid)


def test_bad_and_foreign_files_are_plain_errors(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello, this is not SQLite at all " * 20)
    with pytest.raises(ResultsError, match="not a results database"):
        ResultsDB(text)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(ResultsError, match="another program"):
        ResultsDB(foreign)
    with pytest.raises(ResultsError, match="no results database"):
        ResultsDB(tmp_path / "missing.db", create=False)
    with pytest.raises(ResultsError, match="folder"):
        ResultsDB(tmp_path)
    newer = tmp_path / "newer.db"
    ResultsDB(newer).close()
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {results.SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ResultsError, match="Update avlab"):
        ResultsDB(newer)


def test_wal_mode_and_migration_path(tmp_path, monkeypatch):
    path = tmp_path / "r.db"
    with ResultsDB(path) as db:
        assert db.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        _experiment(db)
    # a future version adds a column; opening a file of the current version migrates it in place, rows kept
    now = results.SCHEMA_VERSION
    monkeypatch.setattr(results.schema, "SCHEMA_VERSION", now + 1)
    monkeypatch.setitem(results.MIGRATIONS, now, lambda con: con.execute("ALTER TABLE experiments ADD COLUMN note TEXT"))
    with ResultsDB(path) as db:
        assert db.con.execute("PRAGMA user_version").fetchone()[0] == now + 1
        assert db.con.execute("SELECT name, note FROM experiments").fetchall() == [("hand", None)]


def test_a_version_1_file_gains_the_model_format_and_native_heads(tmp_path):
    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    results.MIGRATIONS[0](con)
    con.execute(f"PRAGMA application_id = {results.schema.APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.execute("INSERT INTO experiments (id, key, name, config, created) VALUES (1, 'k', 'old', '{}', 0)")
    con.execute("INSERT INTO checkpoints VALUES (1, 0, 'concat', 'checkpoints/concat', 'concat', '[\"a\", \"b\"]', "
                "'abc')")
    con.commit()
    con.close()
    with ResultsDB(path) as db:
        (ck,) = db.get_experiment(1)["checkpoints"]
    assert ck["format"] == "avlab" and ck["native_heads"] == ["audio", "video", "fused"] and ck["fingerprint"] == "abc"


def test_a_version_2_file_gains_skipped_clips(tmp_path):
    """Version 3: clips whose files cannot be decoded are recorded with their reason; conditions complete without
    them; progress and the listing count the others."""
    path = tmp_path / "v2.db"
    con = sqlite3.connect(path)
    results.MIGRATIONS[0](con)
    results.MIGRATIONS[1](con)
    con.execute(f"PRAGMA application_id = {results.schema.APPLICATION_ID}")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    with ResultsDB(path) as db:
        assert db.con.execute("PRAGMA user_version").fetchone()[0] == results.SCHEMA_VERSION >= 3
        eid = _experiment(db, checkpoints=("m1",))
        db.skip_clips(eid, {3: "The file is damaged or truncated, so it could not be decoded."})
        for corruption, severity, _ in CONDITIONS:
            _write(db, eid, 0, corruption, severity, {h: [1, 0, 1] for h in ("audio", "video", "fused")})
        assert db.finish_experiment(eid)
        exp = db.get_experiment(eid)
        assert exp["skipped"] == [{"path": "/clips/3.mp4", "label": "b",
                                   "reason": "The file is damaged or truncated, so it could not be decoded."}]
        assert exp["complete"] and exp["progress"] == 1.0 and len(exp["clips"]) == 4
        assert db.skipped_clips(eid) == {3: "The file is damaged or truncated, so it could not be decoded."}
        listed = db.list_experiments().iloc[0]
        assert listed["clips"] == 4 and listed["skipped"] == 1 and listed["progress"] == 1.0
        assert set(db.condition_metrics(eid)["n"]) == {3}
        # skipping after the rows were written completes the conditions too
        other = _experiment(db, key="k2", checkpoints=("m1",))
        for corruption, severity, _ in CONDITIONS:
            _write(db, other, 0, corruption, severity, {h: [1, 0, 1] for h in ("audio", "video", "fused")})
        assert not db.get_experiment(other)["complete"]
        db.skip_clips(other, {3: "The file is empty."})
        assert db.get_experiment(other)["complete"] and db.finish_experiment(other)


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(results.DB_ENV, raising=False)
    assert results.default_db_path() == results.DEFAULT_DB
    monkeypatch.setenv(results.DB_ENV, str(tmp_path / "x.db"))
    assert results.default_db_path() == tmp_path / "x.db"
    with pytest.raises(ResultsError):
        results.list_experiments()  # module-level readers never create a file


def test_two_writers_at_once_do_not_corrupt(tmp_path):
    path = tmp_path / "r.db"
    with ResultsDB(path) as db:
        ids = [_experiment(db, key=f"k{n}", checkpoints=("m",)) for n in range(2)]
    errors = []

    def writer(eid: int) -> None:
        try:
            with ResultsDB(path, timeout=30) as db:
                for corruption, severity, _ in CONDITIONS:
                    for _ in range(5):  # rewrites are ignored; the point is many competing transactions
                        _write(db, eid, 0, corruption, severity, {h: [1, 0, 1, 0] for h in ("audio", "video", "fused")})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(eid,)) for eid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with ResultsDB(path) as db:
        assert db.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for eid in ids:
            assert db.get_experiment(eid)["complete"]
        assert db.con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 2 * 4 * 4 * 3


def test_condition_labels():
    assert results.condition_label("clean", 0) == "clean"
    assert results.condition_label("gaussian_blur", 3) == "gaussian_blur:3"
    assert results.parse_condition("gaussian_blur:3") == ("gaussian_blur", 3)
    assert results.parse_condition(("clean", 0)) == ("clean", 0)


def test_a_version_3_file_gains_ood_scores_and_reads_as_before(tmp_path):
    """Version 4: an OOD score per row (NULL for rows stored before), the detector per model, the time rows were
    last written; a version-3 file keeps its rows and reads the same."""
    path = tmp_path / "v3.db"
    con = sqlite3.connect(path)
    for v in range(3):
        results.MIGRATIONS[v](con)
    con.execute(f"PRAGMA application_id = {results.schema.APPLICATION_ID}")
    con.execute("PRAGMA user_version = 3")
    con.execute("INSERT INTO experiments (id, key, name, config, created) VALUES (1, 'k', 'old', '{}', 0)")
    con.execute("INSERT INTO checkpoints VALUES (1, 0, 'm1', '/ck', 'concat', '[\"a\", \"b\"]', 'f', 'avlab', "
                "'[\"audio\", \"video\", \"fused\"]')")
    con.execute("INSERT INTO clips VALUES (1, 0, '/c.mp4', 'a', NULL)")
    con.execute("INSERT INTO conditions (id, experiment_id, checkpoint_idx, corruption, severity, modality, n_done, "
                "complete) VALUES (1, 1, 0, 'clean', 0, 'none', 1, 1)")
    for head in ("audio", "video", "fused"):
        con.execute("INSERT INTO predictions VALUES (1, 0, ?, 0, 1, ?, 1, 1, NULL, NULL)", (head, _probs(0).tobytes()))
    con.commit()
    con.close()
    with ResultsDB(path) as db:
        assert db.con.execute("PRAGMA user_version").fetchone()[0] == results.SCHEMA_VERSION == 4
        exp = db.get_experiment(1)
        assert exp["checkpoints"][0]["ood"] is None and exp["updated"] is None and exp["done"] == exp["total"] == 1
        rows = db.predictions(1)
        assert len(rows) == 3 and rows["ood_score"].isna().all() and rows["correct"].all()
        # a row written now carries its score, and the write time is recorded
        cid = db.condition_ids(1)[(0, "clean", 0)]
        db.write_predictions(1, [(cid, 1, "fused", 1, 0, _probs(1), 1, 1, None, None, 2.5)])
        assert db.con.execute("SELECT ood_score FROM predictions WHERE clip_idx = 1").fetchone() == (2.5,)
        assert db.get_experiment(1)["updated"] > 0


def _other(db: ResultsDB, key: str, config: dict, fused: dict, conditions) -> int:
    """Another experiment on the same four clips with one model, ``m3``; ``fused[condition]`` its right answers."""
    eid, _ = db.start_experiment(
        key=key, name=key, config=config, checkpoints=[{"name": "m3", "path": "/ck/m3", "fusion": "concat",
                                                        "classes": CLASSES, "fingerprint": "m3"}],
        clips=[(f"/clips/{i}.mp4", label) for i, label in enumerate(LABELS)], conditions=conditions)
    for (corruption, severity, modality) in conditions:
        oks = fused[f"{corruption}:{severity}" if corruption != "clean" else "clean"]
        _write(db, eid, 0, corruption, severity, {"audio": oks, "video": oks, "fused": oks},
               audio_present=int(corruption != "mute"))
    return eid


def test_the_leaderboard_across_sweeps_counts_the_conditions_all_of_them_measured(hand):
    db, eid = hand
    other = _other(db, "b", {"seed": 0}, {"clean": [1, 1, 1, 1], "noise:2": [1, 1, 0, 0], "mute:1": [1, 1, 1, 0],
                                          "noise:3": [0, 0, 0, 0]},
                   [("clean", 0, "none"), ("noise", 2, "audio"), ("mute", 1, "audio"), ("noise", 3, "audio")])
    result = results.compare(db, [eid, other], reference="m2")
    assert result.experiments == (eid, other) and result.conditions == ("clean", "noise:2", "mute:1")
    assert result.notes == ("Only the 3 conditions every compared sweep has count; left out 2 measured by some "
                            "only (noise:1, noise:3).",)
    board = result.table.set_index(["experiment", "checkpoint"])
    # m3: noise:2 2/4, mute 3/4 -> mPC 0.625; m1: noise:2 1/4, mute 2/4 -> 0.375; m2: 0/4 and 1/4 -> 0.125
    assert list(board.index) == [(other, "m3"), (eid, "m1"), (eid, "m2")]
    assert board.loc[(other, "m3"), "mpc"] == pytest.approx(0.625)
    assert board.loc[(eid, "m1"), "mpc"] == pytest.approx(0.375) and board.loc[(eid, "m1"), "rpc"] == 0.375
    # mCE against m2 on the common conditions: m1 (0.75 / 1 + 0.5 / 0.75) / 2, m3 (0.5 / 1 + 0.25 / 0.75) / 2
    assert board.loc[(eid, "m1"), "mce"] == pytest.approx((0.75 + 0.5 / 0.75) / 2)
    assert board.loc[(other, "m3"), "mce"] == pytest.approx((0.5 + 0.25 / 0.75) / 2)
    assert (board["conditions"] == 3).all() and set(board["reference"]) == {"m2"}


def test_sweeps_that_cannot_be_compared_are_named_in_one_sentence(hand):
    db, eid = hand
    rows = {"clean": [1, 1, 1, 1], "noise:2": [1, 0, 0, 0]}
    conditions = [("clean", 0, "none"), ("noise", 2, "audio")]
    seed = _other(db, "seed", {"seed": 1}, rows, conditions)
    suite = _other(db, "suite", {"seed": 0, "suite": "imagenet-c"}, rows, conditions)
    ok = _other(db, "ok", {"seed": 0}, rows, conditions)
    result = results.compare(db, [eid, seed, suite, ok])
    assert result.experiments == (eid, ok)
    assert result.notes[:2] == (
        f"Experiment {seed} is left out: experiments {eid} and {seed} differ in their corruption seed (0 and 1).",
        f"Experiment {suite} is left out: experiments {eid} and {suite} follow different suites ('avlab' and "
        f"'imagenet-c').")
    with pytest.raises(ResultsError, match=f"^These experiments cannot be compared: experiments {eid} and {seed} "
                                           f"differ in their corruption seed"):
        results.compare(db, [eid, seed])
    with pytest.raises(ResultsError, match="at least two"):
        results.compare(db, [eid])


def test_a_sweeps_progress_in_one_sentence():
    from core.results.progress import duration, sweep_progress

    exp = {"id": 3, "done": 300, "total": 1200, "seconds": 60.0, "updated": 1000.0, "created": 900.0,
           "complete": False}
    running = sweep_progress(exp, now=1005.0)
    assert running.running and running.rate == 5.0 and running.eta_s == 180.0 and running.fraction == 0.25
    assert running.sentence() == ("Sweep 3 is being written: 300 of 1,200 clip-conditions (25%), 5.0 per second, "
                                  "about 3 min left (last rows 5 s ago).")
    stopped = sweep_progress(exp, now=1000.0 + 2 * 3600)
    assert not stopped.running and stopped.sentence() == (
        "Sweep 3 is stopped at 300 of 1,200 clip-conditions (25%); nothing was written for 2.0 h; run the same "
        "sweep again to continue it.")
    done = sweep_progress(exp | {"done": 1200, "complete": True}, now=1005.0)
    assert done.sentence() == "Sweep 3 is complete: 1,200 of 1,200 clip-conditions (100%)."
    assert [duration(s) for s in (4.4, 89, 600, 5400)] == ["4 s", "89 s", "10 min", "1.5 h"]
