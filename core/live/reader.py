"""Reading a live source into the ring buffer: one thread per input, reconnecting with backoff.

A stream that drops (a read error, a read that waits past its timeout, the end of a live stream)
is an event, ``stream dropped``; the reader then reconnects after 0.5, 1, 2, 4, 8, 10, 10 ... s
(exponential backoff capped at :data:`BACKOFF_MAX_S`; one client, so no jitter is needed) and says
``stream resumed`` when data flows again. A replayed file is paced at its real rate (times
``speed``) by its timestamps; at its end it loops or the reader finishes.

Times: each connection's stream timestamps are shifted onto the monitor's session clock (seconds
since it started): a live connection's first frame is placed at the moment it arrived, a replayed
file continues where the previous pass ended. A timestamp that jumps (back by more than 1 s, or
ahead by more than :data:`JUMP_S`) within a connection (a sender restarted behind a UDP socket that
stayed open, a timestamp wrap) starts a new timeline like a reconnection.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import av

from core.live.buffer import RingBuffer
from core.live.sources import Input, Source, open_input
from core.media.decode import choose_stream

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 10.0
JUMP_S = 10.0


def backoff(attempt: int, *, initial: float = BACKOFF_INITIAL_S, maximum: float = BACKOFF_MAX_S) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (0, 1, ...): ``initial * 2**attempt``, capped."""
    return min(maximum, initial * 2.0 ** attempt)


@dataclass(frozen=True)
class Event:
    """Something that happened to the source: ``kind`` is ``connected``, ``stream dropped``,
    ``stream resumed``, ``unavailable`` (cannot connect; retrying), ``discontinuity``, ``ended``
    (a replayed file's end), ``failed`` (a file that cannot be read), or one of the alert
    dispatcher's (``clip not saved``, ``webhook failed``). ``time``: session seconds."""

    kind: str
    message: str
    time: float

    def to_dict(self) -> dict:
        return {"type": "event", "event": self.kind, "message": self.message, "time": round(self.time, 3)}


class Reader:
    """Reads ``source`` into ``buffer`` on background threads; events go to :attr:`events`.

    Parameters
    ----------
    clock : callable giving session seconds (monotonic).
    open_timeout, read_timeout : seconds PyAV waits to open the source, and for each read.
    """

    def __init__(self, source: Source, buffer: RingBuffer, clock, *, open_timeout: float = 10.0,
                 read_timeout: float = 3.0):
        self.source, self.buffer, self.clock = source, buffer, clock
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.events: queue.Queue[Event] = queue.Queue()
        self.stopping = threading.Event()
        self.position = 0.0  # session time the data has reached (a replay's events are placed there)
        self.threads = [threading.Thread(target=self._run, args=(item,), name=f"avlab-live-read-{i}", daemon=True)
                        for i, item in enumerate(source.inputs)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the threads to stop; wait up to ``timeout`` s (a read in progress ends within its timeout)."""
        self.stopping.set()
        with self.buffer.cond:
            self.buffer.cond.notify_all()
        for thread in self.threads:
            thread.join(timeout)

    @property
    def finished(self) -> bool:
        """Whether every input has stopped (a replay ended, a file failed, or :meth:`stop`)."""
        return not any(t.is_alive() for t in self.threads)

    def event(self, kind: str, message: str) -> None:
        """Report an event (any thread); it wakes the monitor."""
        self.events.put(Event(kind, message, self.clock() if self.source.live else self.position))
        with self.buffer.cond:
            self.buffer.cond.notify_all()

    # ------------------------------------------------------------------ one input
    def _run(self, item: Input) -> None:
        attempt, connected, end, shift = 0, False, 0.0, None
        label = self.source.label if len(self.source.inputs) == 1 else item.target
        looping = not self.source.live and self.source.loop
        while not self.stopping.is_set():
            try:
                container = open_input(item, open_timeout=self.open_timeout, read_timeout=self.read_timeout)
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                if not self.source.live:
                    self.event("failed", f"{label} could not be read: {_reason(exc)}")
                    return
                delay = backoff(attempt)
                attempt += 1
                why = f"no data for {self.open_timeout:g} s" if isinstance(exc, av.error.ExitError) else _reason(exc)
                self.event("unavailable", f"{label} cannot be reached ({why}); retrying in {delay:g} s")
                self.stopping.wait(delay)
                continue
            attempt = 0
            with container:
                # a looping replay keeps its tracks: the next pass continues their timeline
                reason, end, shift = self._pump(container, item, end, connected, label, shift if looping else None)
                connected = True
            if looping and reason is None and not self.stopping.is_set():
                continue
            # the tracks stay: the monitor still cuts the windows the data completed (a reconnection replaces them)
            if self.stopping.is_set():
                return
            if not self.source.live:
                if reason is None:
                    self.event("ended", f"the end of {label}")
                else:
                    self.event("failed", f"{label} could not be read to its end: {reason}")
                return
            delay = backoff(0)
            self.event("stream dropped", f"{label}: {reason or 'the stream ended'}; reconnecting in {delay:g} s")
            self.stopping.wait(delay)

    def _pump(self, container, item: Input, end: float, resumed: bool, label: str,
              carry: float | None) -> tuple[str | None, float, float | None]:
        """Demux and decode until the end, an error or :meth:`stop`.

        ``end``: session time the data so far reached; ``carry``: the shift of a looping replay's tracks,
        whose timestamps this pass continues (None: a new timeline). Returns (why it stopped, None at
        the end of the input; the session time the data reached; the shift).
        """
        streams = {}
        for kind, candidates in (("video", container.streams.video), ("audio", container.streams.audio)):
            chosen, _, _ = choose_stream(candidates)
            if chosen is not None and kind in item.kinds:
                streams[kind] = chosen
        if not streams:
            return "it has neither audio nor video", end, None
        for stream in streams.values():
            if stream.type == "video":
                stream.thread_type = "AUTO"
        rates = {k: float(s.average_rate or s.guessed_rate or 25) for k, s in streams.items() if k == "video"}
        missing = [k for k in item.kinds if k not in streams]
        if missing:
            self.buffer.detach(missing)
        shift, moved, last, paced = None, 0.0, {}, None
        try:
            for packet in container.demux(*streams.values()):
                if self.stopping.is_set():
                    return None, end, shift
                kind = packet.stream.type
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # a damaged packet of a live stream: skip it, keep the connection
                for frame in frames:
                    if frame.time is None:
                        continue
                    if shift is None and carry is not None:  # the next pass of a loop: move its timestamps on
                        shift, moved = carry, end - carry - frame.time
                        paced = (time.monotonic(), frame.time + moved)
                    if moved:
                        frame.pts += int(round(moved / frame.time_base))
                    t = frame.time
                    if shift is None or (kind in last and not -1.0 <= t - last[kind] <= JUMP_S):
                        if shift is not None:
                            self.event("discontinuity", f"{label}: the timestamps jumped by {t - last[kind]:+.1f} s; "
                                                         f"a new timeline starts")
                        start = self.clock() if self.source.live else end
                        shift, last, paced = start - t, {}, (time.monotonic(), t)
                        for k, s in streams.items():
                            self.buffer.attach(k, s, shift, start)
                        self.event("stream resumed" if resumed else "connected",
                                   f"{label}: {' and '.join(sorted(streams))} from {start:.1f} s")
                        resumed = True
                    last[kind] = t
                    if not self.source.live:
                        wait = paced[0] + (t - paced[1]) / self.source.speed - time.monotonic()
                        if wait > 0 and self.stopping.wait(wait):
                            return None, end, shift
                    self.buffer.add(kind, frame)
                    seconds = frame.samples / frame.sample_rate if kind == "audio" else 1.0 / rates[kind]
                    end = max(end, t + shift + seconds)
                    self.position = end
        except av.error.FFmpegError as exc:  # PyAV's read timeout interrupts the read: an ExitError
            return (f"no data for {self.read_timeout:g} s" if isinstance(exc, av.error.ExitError) else _reason(exc),
                    end, shift)
        return None, end, shift


def _reason(exc: Exception) -> str:
    """A short reason from PyAV's error text (its strerror, without the URL it repeats)."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '", 1)[0].strip() or type(exc).__name__


__all__ = ["BACKOFF_INITIAL_S", "BACKOFF_MAX_S", "JUMP_S", "Event", "Reader", "backoff"]
