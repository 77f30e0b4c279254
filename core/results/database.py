"""The connection to a results file: open, create and migrate it, write a sweep's rows, read them back.

WAL mode lets the dashboard read while a sweep writes; every write is one transaction, so a
killed sweep leaves whole rows or none, and concurrent writers wait for each other (busy
timeout). Metrics are computed from the stored rows, so a resumed sweep reports the same
numbers as an uninterrupted one.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from core.metrics import head_answers
from core.results import schema
from core.results.analysis import EXPORT_FORMATS, Analysis, export_frame  # noqa: F401  (importable from here)
from core.results.schema import APPLICATION_ID, HEADS, ResultsError, condition_label, parse_condition

DB_ENV = "AVLAB_DB"
DEFAULT_DB = Path(__file__).resolve().parents[2] / "results" / "avlab.db"
SHIPPED_ENV = "AVLAB_SHIPPED_DB"
SHIPPED_DB = Path(os.environ.get(SHIPPED_ENV) or Path(__file__).resolve().parents[2] / "sample_data" / "results.db")
"""The results shipped with avlab (a sweep of every shipped checkpoint on the sample clips; how it was made is
in ``docs/shipped_results.md``): always opened read-only. ``$AVLAB_SHIPPED_DB`` names another file (a path
that does not exist: none), e.g. for a dashboard that should start from an empty slate."""


def is_shipped(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the shipped results database (:data:`SHIPPED_DB`)."""
    return Path(path).resolve() == SHIPPED_DB.resolve()


def default_db_path() -> Path:
    """``$AVLAB_DB`` if set, else ``results/avlab.db`` under the repository root."""
    return Path(os.environ[DB_ENV]) if os.environ.get(DB_ENV) else DEFAULT_DB


class ResultsDB(Analysis):
    """A connection to the results database; create, migrate and check it on opening.

    Parameters
    ----------
    path : path, optional
        The database file; default :func:`default_db_path`.
    create : bool
        Create the file (and its folder) when it does not exist; else a missing file is an error.
    timeout : float
        Seconds a writer waits for another one before giving up.
    read_only : bool, optional
        Open the file as it is, never writing to it (no migration, no journal files beside it; a write is a
        :class:`ResultsError`). Default: only for :data:`SHIPPED_DB`.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True, timeout: float = 60.0,
                 read_only: bool | None = None):
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = is_shipped(self.path) if read_only is None else bool(read_only)
        if not self.path.exists():
            if not create or self.read_only:
                raise ResultsError(f"There is no results database at '{self.path}'; run a sweep first.")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.path.is_dir():
            raise ResultsError(f"'{self.path}' is a folder, not a results database file.")
        try:
            if self.read_only:  # immutable: SQLite neither locks nor writes a journal beside the file
                self.con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                                           isolation_level=None)
                if self._versions() != (APPLICATION_ID, schema.SCHEMA_VERSION):
                    raise ResultsError(f"'{self.path}' holds results of schema {self._versions()[1]}, and this "
                                       f"avlab reads {schema.SCHEMA_VERSION} read-only; rebuild it (docs/shipped_results.md).")
                return
            self.con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self.con.execute("PRAGMA foreign_keys = ON")
            self._check_and_migrate()
            self.con.execute("PRAGMA journal_mode = WAL")
            self.con.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise ResultsError(f"'{self.path}' is not a results database (SQLite says: {exc}).") from exc

    def _check_and_migrate(self) -> None:
        # the version and migrations are read through their module, so raising the one and adding to the
        # other (a future release, or a test) is seen here
        if self._versions() == (APPLICATION_ID, schema.SCHEMA_VERSION):
            return  # the common case: readers take no write lock
        with self.transaction():
            app, version = self._versions()
            tables = self.con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app != APPLICATION_ID and (app != 0 or tables or version):
                raise ResultsError(f"'{self.path}' is an SQLite database of another program, not avlab results.")
            if version > schema.SCHEMA_VERSION:
                raise ResultsError(f"'{self.path}' has results schema version {version}; this avlab reads up to "
                                   f"{schema.SCHEMA_VERSION}. Update avlab.")
            while version < schema.SCHEMA_VERSION:
                schema.MIGRATIONS[version](self.con)
                version += 1
            self.con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.con.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")

    def _versions(self) -> tuple[int, int]:
        return (self.con.execute("PRAGMA application_id").fetchone()[0],
                self.con.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self):
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any exception."""
        if self.read_only:
            raise ResultsError(f"'{self.path}' is opened read-only (the shipped results are never changed); "
                               f"write sweeps to {default_db_path()}.")
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ writing (sweeps)

    def start_experiment(self, *, key: str, name: str, config: dict, checkpoints: Sequence[dict],
                         clips: Sequence[tuple[str, str]],
                         conditions: Sequence[tuple[str, int, str]]) -> tuple[int, bool]:
        """The experiment with this key, created with its checkpoints, clips and conditions if new.

        ``checkpoints`` are dicts with name, path, fusion, classes, fingerprint (and optionally format,
        default "avlab", native_heads, default all three, and ood: the detector's ``{"method", "threshold",
        "sources"}``, default None); ``clips`` are
        (path, label); ``conditions`` are (corruption, severity, modality), ``("clean", 0, "none")``
        first. Returns ``(id, created)``.
        """
        with self.transaction() as con:
            row = con.execute("SELECT id FROM experiments WHERE key = ?", (key,)).fetchone()
            if row:
                return int(row[0]), False
            eid = con.execute("INSERT INTO experiments (key, name, config, created) VALUES (?, ?, ?, ?)",
                              (key, name, json.dumps(config), time.time())).lastrowid
            con.executemany("INSERT INTO checkpoints (experiment_id, idx, name, path, fusion, classes, fingerprint, "
                            "format, native_heads, ood) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(eid, i, c["name"], str(c["path"]), c["fusion"], json.dumps(list(c["classes"])),
                              c["fingerprint"], c.get("format", "avlab"), json.dumps(list(c.get("native_heads", HEADS))),
                              None if c.get("ood") is None else json.dumps(c["ood"]))
                             for i, c in enumerate(checkpoints)])
            con.executemany("INSERT INTO clips (experiment_id, idx, path, label) VALUES (?, ?, ?, ?)",
                            [(eid, i, str(p), label) for i, (p, label) in enumerate(clips)])
            con.executemany("INSERT INTO conditions (experiment_id, checkpoint_idx, corruption, severity, modality) "
                            "VALUES (?, ?, ?, ?, ?)",
                            [(eid, k, c, s, m) for k in range(len(checkpoints)) for c, s, m in conditions])
            return int(eid), True

    def condition_ids(self, experiment_id: int) -> dict[tuple[int, str, int], int]:
        """(checkpoint index, corruption, severity) -> condition id."""
        rows = self.con.execute("SELECT checkpoint_idx, corruption, severity, id FROM conditions "
                                "WHERE experiment_id = ?", (experiment_id,))
        return {(k, c, s): i for k, c, s, i in rows}

    def done_clips(self, experiment_id: int) -> dict[int, set[int]]:
        """Condition id -> the clip indices whose rows are stored (what a resumed sweep skips)."""
        done: dict[int, set[int]] = {}
        rows = self.con.execute(
            "SELECT p.condition_id, p.clip_idx FROM predictions p JOIN conditions c ON c.id = p.condition_id "
            "WHERE c.experiment_id = ? AND p.head = 'fused'", (experiment_id,))
        for cid, clip in rows:
            done.setdefault(cid, set()).add(clip)
        return done

    def skipped_clips(self, experiment_id: int) -> dict[int, str]:
        """Clip index -> the one-sentence reason its file could not be decoded (what a resumed sweep skips)."""
        rows = self.con.execute("SELECT idx, skipped FROM clips WHERE experiment_id = ? AND skipped IS NOT NULL",
                                (experiment_id,))
        return {int(i): str(reason) for i, reason in rows}

    def skip_clips(self, experiment_id: int, reasons: dict[int, str]) -> None:
        """Record clips whose files could not be decoded (clip index -> one-sentence reason).

        They get no prediction rows; every condition is complete without them, and a continued sweep
        does not decode them again (a repaired file has another size, which makes another sweep).
        """
        with self.transaction() as con:
            con.executemany("UPDATE clips SET skipped = ? WHERE experiment_id = ? AND idx = ?",
                            [(str(reason), experiment_id, int(i)) for i, reason in reasons.items()])
            con.execute("UPDATE conditions SET complete = (n_done >= ?) WHERE experiment_id = ?",
                        (self._n_scored(experiment_id), experiment_id))

    def _n_scored(self, experiment_id: int) -> int:
        """The clips of an experiment that are not skipped: what a complete condition holds."""
        return self.con.execute("SELECT count(*) FROM clips WHERE experiment_id = ? AND skipped IS NULL",
                                (experiment_id,)).fetchone()[0]

    def write_predictions(self, experiment_id: int, rows: Iterable[tuple], *, seconds: float = 0.0) -> None:
        """Store prediction rows in one transaction and update the conditions they complete.

        Each row is ``(condition_id, clip_idx, head, predicted, correct, probs (K,) float32,
        audio_present, video_present, weight_audio or None, weight_video or None[, ood_score or None])``.
        A row already stored (same condition, clip and head) is left as it is, so two writers of the same
        rows, or a retried task, do no harm: each row is stored once.
        """
        rows = [(int(r[0]), int(r[1]), r[2], int(r[3]), int(r[4]), np.asarray(r[5], "<f4").tobytes(), int(r[6]),
                 int(r[7]), *(None if x is None else float(x) for x in (*r[8:10], r[10] if len(r) > 10 else None)))
                for r in rows]
        touched = sorted({r[0] for r in rows})
        with self.transaction() as con:
            con.executemany("INSERT OR IGNORE INTO predictions (condition_id, clip_idx, head, predicted, correct, "
                            "probs, audio_present, video_present, weight_audio, weight_video, ood_score) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            n_clips = self._n_scored(experiment_id)
            for cid in touched:
                n = con.execute("SELECT count(*) FROM predictions WHERE condition_id = ? AND head = 'fused'",
                                (cid,)).fetchone()[0]
                con.execute("UPDATE conditions SET n_done = ?, complete = ? WHERE id = ?", (n, int(n >= n_clips), cid))
            con.execute("UPDATE experiments SET seconds = seconds + ?, updated = ? WHERE id = ?",
                        (seconds, time.time(), experiment_id))

    def finish_experiment(self, experiment_id: int) -> bool:
        """Mark the experiment finished if every condition is complete; return whether it is."""
        with self.transaction() as con:
            left = con.execute("SELECT count(*) FROM conditions WHERE experiment_id = ? AND complete = 0",
                               (experiment_id,)).fetchone()[0]
            if not left:
                con.execute("UPDATE experiments SET finished = coalesce(finished, ?) WHERE id = ?",
                            (time.time(), experiment_id))
        return not left

    def delete_experiment(self, experiment_id: int) -> None:
        """Remove an experiment and everything stored for it."""
        self.get_experiment(experiment_id)
        with self.transaction() as con:
            con.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))

    # ------------------------------------------------------------------ reading

    def list_experiments(self) -> pd.DataFrame:
        """One row per experiment: id, name, created, finished, progress (0-1), checkpoints, clips, conditions,
        and ``skipped``, the clips whose files could not be decoded (progress counts the others)."""
        rows = self.con.execute("""
            SELECT e.id, e.name, e.created, e.finished, e.seconds,
                   (SELECT group_concat(name, ', ') FROM checkpoints WHERE experiment_id = e.id),
                   (SELECT count(*) FROM clips WHERE experiment_id = e.id),
                   (SELECT count(*) FROM conditions WHERE experiment_id = e.id),
                   (SELECT coalesce(sum(n_done), 0) FROM conditions WHERE experiment_id = e.id),
                   (SELECT count(*) FROM clips WHERE experiment_id = e.id AND skipped IS NOT NULL)
            FROM experiments e ORDER BY e.id""").fetchall()
        out = pd.DataFrame(rows, columns=["id", "name", "created", "finished", "seconds", "checkpoints", "clips",
                                          "conditions", "done", "skipped"])
        out["progress"] = out["done"] / ((out["clips"] - out["skipped"]) * out["conditions"]).where(lambda s: s > 0)
        for col in ("created", "finished"):  # whole seconds: what a person reads (not ...:12.123456768)
            out[col] = pd.to_datetime(out[col], unit="s").dt.floor("s")
        return out.drop(columns="done")

    def get_experiment(self, experiment_id: int) -> dict:
        """The experiment's config, checkpoints (name, path, fusion, classes, fingerprint, format, native_heads,
        ood), clips (path, label), conditions, progress (``done`` of ``total`` clip-conditions, the time rows were
        last written, ``updated``, in seconds since the epoch or None), and ``skipped``: the clips whose files
        could not be decoded (path, label, reason), left out of every condition."""
        row = self.con.execute("SELECT id, name, config, created, finished, seconds, updated FROM experiments "
                               "WHERE id = ?", (int(experiment_id),)).fetchone()
        if row is None:
            raise ResultsError(f"There is no experiment {experiment_id} in '{self.path}'; `list` shows the ids.")
        checkpoints = [{"name": n, "path": p, "fusion": f, "classes": json.loads(c), "fingerprint": fp,
                        "format": fmt, "native_heads": json.loads(nh), "ood": None if ood is None else json.loads(ood)}
                       for n, p, f, c, fp, fmt, nh, ood in self.con.execute(
                           "SELECT name, path, fusion, classes, fingerprint, format, native_heads, ood FROM checkpoints "
                           "WHERE experiment_id = ? ORDER BY idx", (row[0],))]
        clips = self.con.execute("SELECT path, label, skipped FROM clips WHERE experiment_id = ? ORDER BY idx",
                                 (row[0],)).fetchall()
        conds = self.con.execute("SELECT checkpoint_idx, corruption, severity, modality, n_done, complete "
                                 "FROM conditions WHERE experiment_id = ? ORDER BY id", (row[0],)).fetchall()
        done = sum(c[4] for c in conds)
        skipped = [{"path": p, "label": l, "reason": r} for p, l, r in clips if r is not None]
        return {"id": row[0], "name": row[1], "config": json.loads(row[2]), "created": row[3], "finished": row[4],
                "seconds": row[5], "updated": row[6], "done": done, "total": (len(clips) - len(skipped)) * len(conds),
                "checkpoints": checkpoints, "clips": [{"path": p, "label": l} for p, l, _ in clips],
                "skipped": skipped, "conditions": [condition_label(c, s) for k, c, s, *_ in conds if k == 0],
                "progress": done / max(1, (len(clips) - len(skipped)) * len(conds)),
                "complete": bool(conds) and all(c[5] for c in conds)}

    def _rows(self, experiment_id: int, where: str = "", params: tuple = ()) -> pd.DataFrame:
        """Stored prediction rows joined with their condition, checkpoint and clip."""
        self.get_experiment(experiment_id)
        rows = self.con.execute(f"""
            SELECT k.name, c.checkpoint_idx, c.corruption, c.severity, c.modality, p.clip_idx, l.path, l.label,
                   p.head, p.predicted, p.correct, p.probs, p.audio_present, p.video_present,
                   p.weight_audio, p.weight_video, p.ood_score
            FROM predictions p JOIN conditions c ON c.id = p.condition_id
            JOIN checkpoints k ON k.experiment_id = c.experiment_id AND k.idx = c.checkpoint_idx
            JOIN clips l ON l.experiment_id = c.experiment_id AND l.idx = p.clip_idx
            WHERE c.experiment_id = ? {where}
            ORDER BY c.checkpoint_idx, c.id, p.head, p.clip_idx""", (experiment_id, *params)).fetchall()
        columns = ["checkpoint", "checkpoint_idx", "corruption", "severity", "modality", "clip_idx", "clip_path",
                   "label", "head", "predicted", "correct", "probs", "audio_present", "video_present",
                   "weight_audio", "weight_video", "ood_score"]
        df = pd.DataFrame(rows, columns=columns).astype({"ood_score": float})
        df["probs"] = [np.frombuffer(b, "<f4") for b in df["probs"]]
        df.insert(4, "condition", [condition_label(c, s) for c, s in zip(df["corruption"], df["severity"])])
        df["answered"] = [bool(head_answers(h, bool(a), bool(v)))
                          for h, a, v in zip(df["head"], df["audio_present"], df["video_present"])]
        return df

    def predictions(self, experiment_id: int, checkpoint: str | None = None,
                    condition: str | tuple | None = None) -> pd.DataFrame:
        """Per-clip rows (clip path, label, head, predicted class, correct, confidence, probabilities, weights)."""
        where, params = "", ()
        if checkpoint is not None:
            where, params = " AND k.name = ?", (checkpoint,)
        if condition is not None:
            corruption, severity = parse_condition(condition)
            where, params = where + " AND c.corruption = ? AND c.severity = ?", (*params, corruption, severity)
        df = self._rows(experiment_id, where, params)
        classes = {c["name"]: c["classes"] for c in self.get_experiment(experiment_id)["checkpoints"]}
        df["predicted_class"] = [classes[k][i] for k, i in zip(df["checkpoint"], df["predicted"])]
        df["confidence"] = [float(p.max()) for p in df["probs"]]
        df["correct"] = df["correct"].astype(bool) & df["answered"]  # an abstaining head is never right
        return df.drop(columns=["checkpoint_idx"])
