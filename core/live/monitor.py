"""The live monitor: every stride, predict the last window of a source, check its health and the rules.

    from core.inference import Predictor
    from core.live import Monitor, parse_source

    monitor = Monitor(parse_source("udp://127.0.0.1:5000"), Predictor.load(None), rules=rules)
    for item in monitor.run(stop_event):    # LiveWindow, Event or Alert, as they happen
        print(item.to_dict())

Windows sit on a grid in session time: the first ends one window after a connection's first data,
the next ``stride`` later, and so on. A monitor that falls behind (a window took longer than its
stride) jumps to the newest whole window and counts the ones it skipped. Every prediction goes
through :meth:`core.inference.Predictor.predict` (the one inference path: temperatures, abstaining
heads, the out-of-distribution verdict).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from core.live.alerts import Alert, AlertStore, Dispatcher, default_db_path
from core.live.buffer import RingBuffer
from core.live.health import HealthTracker, WindowHealth, measure, sentences
from core.live.reader import Event, Reader
from core.live.rules import ClassRule, RuleBook, check_classes, longest_clip
from core.live.sources import LiveError, Source
from core.media import SAMPLE_RATE, Clip
from core.models.interface import HEADS
from core.predictions import WINDOW_S, Prediction


@dataclass(frozen=True)
class LiveWindow:
    """One predicted window of a live source.

    ``start``, ``end``: session seconds; ``lag``: seconds from the arrival of the data that completed
    the window to its prediction (None when unknown); ``processing``: seconds to cut, predict and
    check it; ``skipped``: windows left out just before it because the monitor fell behind;
    ``flagged``: sense -> {condition: seconds it has lasted}; ``frame``: the window's last frame.
    """

    start: float
    end: float
    prediction: Prediction
    health: WindowHealth
    flagged: dict
    lag: float | None
    processing: float
    skipped: int = 0
    frame: np.ndarray | None = field(default=None, compare=False, repr=False)

    def notes(self) -> list[str]:
        """Sentences on what is wrong with the senses, and an unfamiliar scene."""
        notes = sentences(self.flagged)
        if self.prediction.out_of_distribution and self.prediction.out_of_distribution["unfamiliar"]:
            notes.append(f"unfamiliar scene (score {self.prediction.out_of_distribution['score']:.1f})")
        return notes

    def to_dict(self) -> dict:
        return {"type": "window", "start": round(self.start, 3), "end": round(self.end, 3),
                **self.prediction.to_dict(),
                "health": {"audio": self.health.audio, "video": self.health.video, "flagged": self.flagged,
                           "notes": self.notes()},
                "lag_s": None if self.lag is None else round(self.lag, 4), "processing_s": round(self.processing, 4),
                "skipped": self.skipped}


class Monitor:
    """Watch ``source`` with ``predictor``.

    Parameters
    ----------
    source : :class:`core.live.Source` (see :func:`core.live.parse_source`)
    predictor : :class:`core.inference.Predictor`
    window, stride : seconds of each window and between window ends (defaults 5 and 1).
    rules : class and health rules (:mod:`core.live.rules`); each fires once per episode.
    alerts_db : the alerts database file (default ``$AVLAB_LIVE_DB`` or ``results/live.sqlite``).
    webhook : optional URL every alert is POSTed to as JSON.
    max_side : frames are kept downscaled to this longer side (pixels).
    open_timeout, read_timeout : seconds to wait for the source to open, and for each read.

    Raises LiveError (bad window or stride, a rule naming a class the model lacks).
    """

    def __init__(self, source: Source, predictor, *, window: float = WINDOW_S, stride: float = 1.0, rules=(),
                 alerts_db: str | Path | None = None, webhook: str | None = None, max_side: int | None = 320,
                 open_timeout: float = 10.0, read_timeout: float = 3.0):
        if not (window > 0 and stride > 0) or math.isinf(window) or math.isinf(stride):
            raise LiveError("Window and stride must be positive numbers of seconds.")
        self.source, self.predictor, self.window, self.stride = source, predictor, float(window), float(stride)
        self.rules = list(rules)
        check_classes(self.rules, predictor.classes)
        self.alerts_db = Path(alerts_db) if alerts_db is not None else default_db_path()
        self.webhook, self.max_side = webhook, max_side
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        # what an alert saves (the windows that raised it), the window being cut and a margin
        self.capacity = longest_clip(self.rules, self.window, self.stride) + 2 * self.stride + 2.0

    def run(self, stop: threading.Event | None = None) -> Iterator[LiveWindow | Event | Alert]:
        """Windows, events and alerts as they happen, until ``stop`` is set or a replayed file ends.

        Stopping (``stop``, or closing the generator, e.g. on KeyboardInterrupt) stops the readers and
        finishes writing the pending alert clips.
        """
        stop = stop or threading.Event()
        started = time.monotonic()
        buffer = RingBuffer(self.capacity, max_side=self.max_side)
        reader = Reader(self.source, buffer, lambda: time.monotonic() - started, open_timeout=self.open_timeout,
                        read_timeout=self.read_timeout)
        store = AlertStore(self.alerts_db)
        dispatcher = Dispatcher(store.path, webhook=self.webhook, report=reader.event)
        book, tracker = RuleBook(self.rules, self.window, self.stride), HealthTracker()
        self.warm_up()
        reader.start()
        next_end: float | None = None
        try:
            while not stop.is_set():
                yield from self._events(reader, store)
                with buffer.cond:
                    ready, covered = buffer.ready_at(self.window), buffer.covered()
                    if next_end is None or (ready is not None and next_end < ready - 1e-6):
                        next_end = ready  # a new timeline (first data, a reconnection): a whole window first
                    if ready is None or next_end is None or covered < next_end - 1e-6:
                        if reader.finished and reader.events.empty():
                            break
                        buffer.cond.wait(0.25)
                        continue
                skipped = int(math.floor((covered - next_end) / self.stride + 1e-6))
                end = next_end + skipped * self.stride
                next_end = end + self.stride
                item = self._predict(buffer, tracker, end, skipped)
                yield item
                for firing in book.update(item.prediction, item.flagged, end):
                    yield self._alert(firing, item, buffer, store, dispatcher)
        finally:
            reader.stop(timeout=self.read_timeout + 1.0)
            dispatcher.close()
            for _ in self._events(reader, store):
                pass
            store.close()

    def warm_up(self) -> None:
        """One prediction of a blank second (JIT, allocations), so the first window keeps to its stride."""
        blank = Clip(frames=np.zeros((8, 32, 32, 3), np.uint8), fps=8.0, audio=np.full(SAMPLE_RATE, 1e-3, np.float32),
                     duration=1.0)
        self.predictor.predict(blank)

    def _events(self, reader: Reader, store: AlertStore) -> Iterator[Event]:
        while not reader.events.empty():
            event = reader.events.get_nowait()
            store.add_event(session_time=event.time, event=event.kind, message=event.message, source=self.source.label)
            yield event

    def _predict(self, buffer: RingBuffer, tracker: HealthTracker, end: float, skipped: int) -> LiveWindow:
        began = time.monotonic()
        snap = buffer.window(end - self.window, end)
        prediction = self.predictor.predict(snap.clip, window=WINDOW_S, stride=self.stride).overall
        health = measure(snap.clip, snap.raw_audio, kinds=snap.kinds)
        flagged = tracker.update(health, end)
        if health.video is not None:
            health.video["sharpness_reference"] = tracker.sharpness_reference
        done = time.monotonic()
        frame = snap.clip.frames[-1].copy() if snap.clip.has_video else None
        return LiveWindow(snap.start, snap.end, prediction, health, flagged,
                          None if snap.arrived is None else max(0.0, done - snap.arrived), done - began, skipped, frame)

    def _alert(self, firing, item: LiveWindow, buffer: RingBuffer, store: AlertStore, dispatcher: Dispatcher) -> Alert:
        pred = item.prediction
        probabilities = {h: {c: round(float(p), 4) for c, p in zip(pred.classes, pred.probs[h])}
                         for h in HEADS if pred.answered(h)}
        alert = store.add_alert(session_time=item.end, rule=firing.rule.name,
                                kind="class" if isinstance(firing.rule, ClassRule) else "health",
                                message=firing.message, source=self.source.label,
                                model=getattr(self.predictor.model, "name", "model"), probabilities=probabilities,
                                health=item.flagged, clip_start=firing.start, clip_end=firing.end)
        dispatcher.submit(alert, buffer.window(firing.start, firing.end).clip)
        return alert


class History:
    """The last ``span`` seconds of a monitor's output, for a dashboard that reads it from another thread."""

    def __init__(self, span: float = 300.0, max_events: int = 50):
        self.span = span
        self.lock = threading.Lock()
        self.windows: deque[LiveWindow] = deque()
        self.events: deque[Event] = deque(maxlen=max_events)
        self.alerts: deque[Alert] = deque(maxlen=max_events)
        self.frame: np.ndarray | None = None
        self.count = 0

    def add(self, item) -> None:
        with self.lock:
            if isinstance(item, LiveWindow):
                self.windows.append(item)
                self.count += 1
                if item.frame is not None:
                    self.frame = item.frame
                while self.windows and self.windows[0].end < item.end - self.span:
                    self.windows.popleft()
            elif isinstance(item, Event):
                self.events.append(item)
            elif isinstance(item, Alert):
                self.alerts.append(item)

    def snapshot(self) -> dict:
        """Copies of ``windows``, ``events``, ``alerts`` (lists, oldest first), the latest ``frame`` and ``count``."""
        with self.lock:
            return {"windows": list(self.windows), "events": list(self.events), "alerts": list(self.alerts),
                    "frame": self.frame, "count": self.count}


__all__ = ["LiveWindow", "Monitor", "History"]
