"""What a results file holds: the schema and its migrations, the names stored in it, the error type.

Tables (schema version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``):

* ``experiments``: one row per sweep; its config (JSON) and the key that makes a
  rerun of the same config continue it;
* ``checkpoints`` and ``clips`` of an experiment (per model: name, path, classes, content hash
  (``fingerprint``), ``format`` (avlab, torchscript, onnx, ...) and ``native_heads`` (JSON list; the
  other heads are ablations); path, label per clip, and ``skipped``: NULL, or the one-sentence reason
  the clip's file could not be decoded (it has no predictions; conditions are complete without it);
* ``conditions``: one row per checkpoint x (``clean`` or corruption x severity), with the
  number of clips done and a complete flag;
* ``predictions``: per clip x condition x head (audio, video, fused) the predicted class, the
  probabilities (float32 little-endian BLOB in the checkpoint's class order), correctness,
  whether each modality was present, the modality weights (fused rows, where the fusion has them) and
  ``ood_score``: the clip's out-of-distribution score under that condition (:mod:`core.trust.ood`; the same
  on the three heads' rows; NULL where the model has no detector, the clip had no usable input, or the row
  was stored before version 4), so every metric can be recomputed without the models;
* version 4 also adds ``checkpoints.ood`` (JSON ``{"method", "threshold", "sources"}`` of the detector the
  scores came from, or NULL) and ``experiments.updated`` (when rows were last written: live progress).

A stored row's key, ``(condition_id, clip_idx, head)``, is unique: a condition belongs to one experiment,
whose key hashes the model content hashes, the clips, the corruption seed and the corruptions' revision
(:func:`core.experiments.batch.sweep_key`), so it identifies one job of a sweep (model, clip, corruption,
severity, seed, revision); writing a row twice (a retried task) stores it once.
"""
from __future__ import annotations

import sqlite3

from core.models.interface import HEADS  # noqa: F401 - the one home of the head names

SCHEMA_VERSION = 4
APPLICATION_ID = 0x61766C62  # "avlb": tells our files from other SQLite databases
CLEAN = "clean"


class ResultsError(ValueError):
    """The results database cannot be used as asked; the message is one plain sentence."""


def condition_label(corruption: str, severity: int) -> str:
    """``"clean"`` or ``"gaussian_blur:3"``: the one string a condition is shown and selected by."""
    return CLEAN if corruption == CLEAN else f"{corruption}:{int(severity)}"


def parse_condition(label: str | tuple) -> tuple[str, int]:
    """A condition label or pair as ``(corruption, severity)``: ``"fog:3"`` -> ``("fog", 3)``.

    ``"clean"`` gives ``("clean", 0)``. Labels use the corruption's registry key; a bad label is a
    :class:`ResultsError`.
    """
    if isinstance(label, tuple):
        return str(label[0]), int(label[1]) if label[0] != CLEAN else 0
    if label == CLEAN:
        return CLEAN, 0
    name, _, severity = str(label).rpartition(":")
    if not name or not severity.isdigit():
        raise ResultsError(f"'{label}' is not a condition; use 'clean' or 'corruption:severity', e.g. 'mute:1'.")
    return name, int(severity)


# --------------------------------------------------------------------------- schema and migrations

_SCHEMA_V1 = """
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    seconds REAL NOT NULL DEFAULT 0
);
CREATE TABLE checkpoints (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    fusion TEXT NOT NULL,
    classes TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (experiment_id, idx)
);
CREATE TABLE clips (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (experiment_id, idx)
);
CREATE TABLE conditions (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    checkpoint_idx INTEGER NOT NULL,
    corruption TEXT NOT NULL,
    severity INTEGER NOT NULL,
    modality TEXT NOT NULL,
    n_done INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0,
    UNIQUE (experiment_id, checkpoint_idx, corruption, severity)
);
CREATE TABLE predictions (
    condition_id INTEGER NOT NULL REFERENCES conditions(id) ON DELETE CASCADE,
    clip_idx INTEGER NOT NULL,
    head TEXT NOT NULL,
    predicted INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    probs BLOB NOT NULL,
    audio_present INTEGER NOT NULL,
    video_present INTEGER NOT NULL,
    weight_audio REAL,
    weight_video REAL,
    PRIMARY KEY (condition_id, clip_idx, head)
) WITHOUT ROWID;
"""


def _execute_script(con: sqlite3.Connection, script: str) -> None:
    # not executescript(): it commits first, and a migration must stay inside its transaction
    for statement in filter(str.strip, script.split(";")):
        con.execute(statement)


# MIGRATIONS[v] brings a database from version v to v + 1 (inside one transaction); 0 is an empty file.
# Version 2: models of any format (the model interface) record their format and native heads.
_V2 = """
ALTER TABLE checkpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'avlab';
ALTER TABLE checkpoints ADD COLUMN native_heads TEXT NOT NULL DEFAULT '["audio", "video", "fused"]'
"""
# Version 3: a clip whose file cannot be decoded is skipped with its reason, and the sweep goes on.
_V3 = "ALTER TABLE clips ADD COLUMN skipped TEXT"
# Version 4: what every metric needs without the models (the OOD score beside the probabilities and weights),
# the detector it came from, and when an experiment was last written (live progress of a sweep run elsewhere).
_V4 = """
ALTER TABLE predictions ADD COLUMN ood_score REAL;
ALTER TABLE checkpoints ADD COLUMN ood TEXT;
ALTER TABLE experiments ADD COLUMN updated REAL
"""
MIGRATIONS = {0: lambda con: _execute_script(con, _SCHEMA_V1), 1: lambda con: _execute_script(con, _V2),
              2: lambda con: _execute_script(con, _V3), 3: lambda con: _execute_script(con, _V4)}
