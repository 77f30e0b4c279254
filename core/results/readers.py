"""Module-level readers: one call on a database path (or an open :class:`ResultsDB`, or the default).

A path is opened read-only in spirit (``create=False``: a missing file is an
error, never a new empty one) and closed again after the call.
"""
from __future__ import annotations

import pandas as pd

from core.results.database import ResultsDB


def _reader(db) -> ResultsDB:
    return db if isinstance(db, ResultsDB) else ResultsDB(db, create=False)


def _read(method: str, db, *args, **kwargs):
    handle = _reader(db)
    try:
        return getattr(handle, method)(*args, **kwargs)
    finally:
        if handle is not db:
            handle.close()


def list_experiments(*, db=None) -> pd.DataFrame:
    """:meth:`ResultsDB.list_experiments` on the database at ``db`` (a path, a ResultsDB or the default)."""
    return _read("list_experiments", db)


def get_experiment(experiment_id: int, *, db=None) -> dict:
    """:meth:`ResultsDB.get_experiment` on the database at ``db``."""
    return _read("get_experiment", db, experiment_id)


def condition_metrics(experiment_id: int, *, db=None) -> pd.DataFrame:
    """:meth:`ResultsDB.condition_metrics` on the database at ``db``."""
    return _read("condition_metrics", db, experiment_id)


def summary(experiment_id: int, *, reference: str | None = None, baseline: str | None = None, db=None
            ) -> pd.DataFrame:
    """:meth:`ResultsDB.summary` on the database at ``db`` (``baseline`` is ``reference``'s older name)."""
    return _read("summary", db, experiment_id, reference=reference or baseline)


def modality_weights(experiment_id: int, *, db=None) -> pd.DataFrame:
    """:meth:`ResultsDB.modality_weights` on the database at ``db``."""
    return _read("modality_weights", db, experiment_id)


def predictions(experiment_id: int, checkpoint: str | None = None, condition: str | tuple | None = None, *,
                db=None) -> pd.DataFrame:
    """:meth:`ResultsDB.predictions` on the database at ``db``."""
    return _read("predictions", db, experiment_id, checkpoint, condition)
