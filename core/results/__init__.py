"""The results database of robustness sweeps: one SQLite file, and this package its only writer.

Tables: ``experiments``, their ``checkpoints`` and ``clips``, the ``conditions`` each checkpoint
is evaluated under, and per clip x condition x head the ``predictions`` (see :mod:`.schema`).

WAL mode lets the dashboard read while a sweep writes; every write is one transaction, so a
killed sweep leaves whole rows or none, and concurrent writers wait for each other (busy
timeout). Metrics are computed from the stored rows, so a resumed sweep reports the same
numbers as an uninterrupted one. Anything wrong with the file is a :class:`ResultsError`.

Layout: :mod:`.schema` (tables, migrations, condition labels, the error), :mod:`.database`
(:class:`ResultsDB`: writing and reading), :mod:`.robustness` (mPC, mCE, fusion gain and
fallback gaps for the summary), :mod:`.readers` (one-call readers on a path), :mod:`.comparison` (the
leaderboard across sweeps, on the conditions they all measured).
"""
# APPLICATION_ID and EXPORT_FORMATS stay importable from here, as before, though not in __all__
from core.results.schema import (  # noqa: F401
    APPLICATION_ID, CLEAN, HEADS, MIGRATIONS, SCHEMA_VERSION, ResultsError, condition_label, parse_condition,
)
from core.results.database import (  # noqa: F401
    DB_ENV, DEFAULT_DB, EXPORT_FORMATS, SHIPPED_DB, ResultsDB, default_db_path, export_frame, is_shipped,
)
from core.results.readers import (
    condition_metrics, get_experiment, list_experiments, modality_weights, predictions, summary,
)
from core.results.comparison import Comparison, compare

__all__ = ["ResultsDB", "ResultsError", "SCHEMA_VERSION", "MIGRATIONS", "HEADS", "CLEAN", "DB_ENV", "DEFAULT_DB",
           "SHIPPED_DB", "is_shipped", "default_db_path", "condition_label", "parse_condition", "list_experiments", "get_experiment",
           "condition_metrics", "summary", "modality_weights", "predictions", "export_frame", "compare", "Comparison"]
