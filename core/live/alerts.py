"""Where alerts go: an SQLite file of their own, the clip that raised each one as MP4, and a webhook.

The database (default ``results/live.sqlite``, or ``$AVLAB_LIVE_DB``) is in WAL mode and every
alert or event is one committed transaction, so a monitor killed at any moment leaves whole rows;
the dashboard reads it while a monitor writes. Clips are written beside it
(``<db stem>_clips/alert-<id>.mp4``, H.264 + AAC by :func:`core.media.write_clip`) by a
background thread, so a slow disk or webhook never delays a window; the row says whether its clip
was saved. A webhook gets the alert as a JSON POST (timeout :data:`WEBHOOK_TIMEOUT_S`); a failure
is an event, never an error of the monitor.
"""
from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from core.media import MediaError, write_clip

DB_ENV = "AVLAB_LIVE_DB"
DEFAULT_DB = Path(__file__).resolve().parents[2] / "results" / "live.sqlite"
WEBHOOK_TIMEOUT_S = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,            -- UTC, ISO 8601
    session_time REAL NOT NULL,    -- seconds since the monitor started
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,            -- class or health
    message TEXT NOT NULL,
    source TEXT NOT NULL,
    model TEXT NOT NULL,
    probabilities TEXT NOT NULL,   -- JSON: head -> {class: probability} of the window that fired
    health TEXT NOT NULL,          -- JSON: the flagged conditions, sense -> {condition: seconds}
    clip_start REAL NOT NULL,      -- session seconds spanned by the saved clip
    clip_end REAL NOT NULL,
    clip TEXT,                     -- path of the MP4
    clip_saved INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    session_time REAL NOT NULL,
    event TEXT NOT NULL,
    message TEXT NOT NULL,
    source TEXT NOT NULL
);
"""


def default_db_path() -> Path:
    """``$AVLAB_LIVE_DB`` if set, else ``results/live.sqlite`` under the repository root."""
    return Path(os.environ[DB_ENV]) if os.environ.get(DB_ENV) else DEFAULT_DB


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Alert:
    """A stored alert (one row of ``alerts``)."""

    id: int
    time: str
    session_time: float
    rule: str
    kind: str
    message: str
    source: str
    model: str
    probabilities: dict
    health: dict
    clip_start: float
    clip_end: float
    clip: str | None
    clip_saved: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "time": self.time, "session_time": round(self.session_time, 3), "rule": self.rule,
                "kind": self.kind, "message": self.message, "source": self.source, "model": self.model,
                "probabilities": self.probabilities, "health": self.health,
                "clip_start": round(self.clip_start, 3), "clip_end": round(self.clip_end, 3), "clip": self.clip}


class AlertStore:
    """The alerts database: create it (WAL), add alerts and events, read them back.

    One store per thread (SQLite connections stay in the thread that made them).
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_db_path()
        if self.path.is_dir():
            raise ValueError(f"'{self.path}' is a folder, not an alerts database file.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.executescript(_SCHEMA)

    @property
    def clips_dir(self) -> Path:
        return self.path.parent / f"{self.path.stem}_clips"

    def add_alert(self, *, session_time: float, rule: str, kind: str, message: str, source: str, model: str,
                  probabilities: dict, health: dict, clip_start: float, clip_end: float) -> Alert:
        """Store an alert (one transaction) and name the file its clip will be written to."""
        now = utc_now()
        with self.con:
            cur = self.con.execute(
                "INSERT INTO alerts (time, session_time, rule, kind, message, source, model, probabilities, health, "
                "clip_start, clip_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, session_time, rule, kind, message, source, model, json.dumps(probabilities),
                 json.dumps(health), clip_start, clip_end))
            alert_id = int(cur.lastrowid)
            clip = str(self.clips_dir / f"alert-{alert_id}.mp4")
            self.con.execute("UPDATE alerts SET clip = ? WHERE id = ?", (clip, alert_id))
        return Alert(alert_id, now, session_time, rule, kind, message, source, model, probabilities, health,
                     clip_start, clip_end, clip, False)

    def mark_saved(self, alert_id: int) -> None:
        with self.con:
            self.con.execute("UPDATE alerts SET clip_saved = 1 WHERE id = ?", (alert_id,))

    def add_event(self, *, session_time: float, event: str, message: str, source: str) -> None:
        with self.con:
            self.con.execute("INSERT INTO events (time, session_time, event, message, source) VALUES (?, ?, ?, ?, ?)",
                             (utc_now(), session_time, event, message, source))

    def alerts(self, limit: int = 50) -> list[Alert]:
        """The newest alerts first."""
        rows = self.con.execute("SELECT id, time, session_time, rule, kind, message, source, model, probabilities, "
                                "health, clip_start, clip_end, clip, clip_saved FROM alerts ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
        return [Alert(*r[:8], json.loads(r[8]), json.loads(r[9]), r[10], r[11], r[12], bool(r[13])) for r in rows]

    def events(self, limit: int = 50) -> list[dict]:
        rows = self.con.execute("SELECT time, session_time, event, message, source FROM events ORDER BY id DESC "
                                "LIMIT ?", (limit,)).fetchall()
        return [dict(zip(("time", "session_time", "event", "message", "source"), r)) for r in rows]

    def close(self) -> None:
        self.con.close()


def post_json(url: str, payload: dict, *, timeout: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST ``payload`` as JSON to ``url``; the HTTP status. Raises OSError (urllib's errors) on failure."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "avlab-live"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


class Dispatcher:
    """A background thread that writes alert clips (marking their rows saved) and posts webhooks.

    ``report(kind, message)`` is called (from that thread) for what went wrong: a clip that could not
    be written, a webhook that failed.
    """

    def __init__(self, db_path: Path, *, webhook: str | None = None, report=None):
        self.db_path, self.webhook, self.report = db_path, webhook, report or (lambda kind, message: None)
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="avlab-live-alerts", daemon=True)
        self.thread.start()

    def submit(self, alert: Alert, clip) -> None:
        self.jobs.put((alert, clip))

    def close(self, timeout: float = 30.0) -> None:
        """Finish the pending jobs (at most ``timeout`` s) and stop."""
        self.jobs.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        store = None
        while (job := self.jobs.get()) is not None:
            alert, clip = job
            if store is None:
                store = AlertStore(self.db_path)
            try:
                Path(alert.clip).parent.mkdir(parents=True, exist_ok=True)
                partial = alert.clip + ".part"
                write_clip(clip, partial)
                os.replace(partial, alert.clip)
                store.mark_saved(alert.id)
            except (MediaError, OSError) as exc:
                self.report("clip not saved", f"the clip of alert {alert.id} could not be saved: {exc}")
            if self.webhook:
                try:
                    post_json(self.webhook, {"event": "alert", **alert.to_dict()})
                except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts are OSErrors
                    self.report("webhook failed", f"the webhook {self.webhook} did not take alert {alert.id}: {exc}")
        if store is not None:
            store.close()


__all__ = ["DB_ENV", "DEFAULT_DB", "WEBHOOK_TIMEOUT_S", "Alert", "AlertStore", "Dispatcher", "default_db_path",
           "post_json", "utc_now"]
