"""The Live page's parts: the source picker, the rules, and a monitor thread per browser session.

The monitor (:class:`core.live.Monitor`) runs on a background thread of the server and writes into a
:class:`core.live.History`; the page draws that history every second (``st.fragment(run_every=...)``).
The thread stops with the Stop button, at the end of a replayed file, or when the browser session
has been gone for :data:`GRACE_S` seconds (closed tab, lost connection).
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from core.live import (
    ClassRule, HealthRule, History, LiveError, Monitor, capture_devices, no_device_sentence, parse_source, rules_yaml,
)
from core.live.alerts import default_db_path
from ui import access
from ui.data import current_dataset

RUN_KEY = "live_run"
RUNS: "weakref.WeakSet[LiveRun]" = weakref.WeakSet()  # every session's runs, to stop them all (tests, shutdown)
GRACE_S = 10.0
KINDS = ("Sample clip replayed", "Stream URL", "Capture device")
FAULT_WORDS = ("fault", "leak", "cavitation")


@dataclass
class LiveRun:
    """One monitor thread of a browser session and what it has seen."""

    monitor: Monitor
    label: str
    history: History = field(default_factory=History)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    done: bool = False
    started: float = field(default_factory=time.time)
    threads: list = field(default_factory=list)

    @property
    def running(self) -> bool:
        return not self.done

    def __hash__(self) -> int:  # by identity, for RUNS
        return id(self)


def _session_alive():
    """A function telling whether this browser session is still connected (always true outside a server)."""
    from streamlit.runtime import exists, get_instance
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not exists():
        return lambda: True
    runtime, session_id = get_instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def _work(run: LiveRun) -> None:
    try:
        for item in run.monitor.run(run.stop):
            run.history.add(item)
    except Exception as exc:  # the thread's last line of defence: one sentence on the page, the traceback in the log
        logging.getLogger("avlab").exception("live monitor failed")
        run.error = f"The monitor stopped ({type(exc).__name__}: {exc})."
    finally:
        run.done = True
        run.stop.set()


def _watch(run: LiveRun, alive) -> None:
    gone_since = None
    while not run.stop.wait(1.0):
        if alive():
            gone_since = None
        elif gone_since is None:
            gone_since = time.monotonic()
        elif time.monotonic() - gone_since >= GRACE_S:
            run.stop.set()


def current_run() -> LiveRun | None:
    return st.session_state.get(RUN_KEY)


def start(source, predictor, *, window: float, stride: float, rules) -> LiveRun:
    """Stop this session's monitor, if any, and start one on ``source`` on a background thread, its alerts in
    :func:`alerts_db`. Raises LiveError (a rule naming a class the model lacks)."""
    monitor = Monitor(source, predictor, window=window, stride=stride, rules=rules, alerts_db=alerts_db())
    stop()
    run = LiveRun(monitor, source.label)
    run.threads = [threading.Thread(target=_work, args=(run,), name="avlab-live-monitor", daemon=True),
                   threading.Thread(target=_watch, args=(run, _session_alive()), name="avlab-live-watch", daemon=True)]
    for thread in run.threads:
        thread.start()
    RUNS.add(run)
    st.session_state[RUN_KEY] = run
    return run


def stop_all(timeout: float = 10.0) -> None:
    """Stop every session's monitor and wait up to ``timeout`` s for their threads."""
    runs = list(RUNS)
    for run in runs:
        run.stop.set()
    for run in runs:
        for thread in run.threads:
            thread.join(timeout)


def stop() -> None:
    """Ask this session's monitor to stop (it finishes its current read within a few seconds)."""
    run = current_run()
    if run is not None:
        run.stop.set()


def source_picker():
    """Radio (sample replayed, URL, device) and its input; the :class:`core.live.Source`, or None with a
    sentence shown."""
    kind = st.radio("Source", KINDS, key="live_kind", horizontal=True)
    try:
        if kind == KINDS[0]:
            data = current_dataset()
            samples = sorted((s for s in (data.samples if data else ()) if s.path.exists()),
                             key=lambda s: (not s.is_long, s.path.name))
            if not samples:
                st.info("The data source has no clips to replay.")
                return None
            names = {s.path.name: s.path for s in samples}
            left, right = st.columns([3, 1])
            name = left.selectbox("Clip (replayed at its real rate)", list(names), key="live_sample",
                                  help="The long timeline clips change state part-way, like a machine that fails.")
            loop = right.toggle("Loop", value=True, key="live_loop")
            return parse_source(str(names[name]), loop=loop)
        if kind == KINDS[1]:
            url = st.text_input("Stream URL", key="live_url", placeholder="rtsp://camera/stream, udp://0.0.0.0:5000, "
                                "http://host:8080/live.ts, srt://host:9000")
            if refusal := access.live_refusal(url):  # before anything looks for the file or device
                st.error(refusal)
                return None
            return parse_source(url) if url.strip() else None
        if access.restricted():  # neither this server's devices nor their names are shown
            st.info(access.DEVICES_REFUSED)
            return None
        devices = capture_devices()
        if not devices:
            st.info(no_device_sentence())
            return None
        return parse_source(st.selectbox("Capture device", ["device", *devices], key="live_device",
                                         help="'device' takes the first camera and microphone found."))
    except LiveError as exc:
        st.error(str(exc))
        return None


def rules_editor(classes) -> list:
    """The alert rules, set on the page: one class rule and one health rule per sense."""
    faults = [c for c in classes if any(w in c for w in FAULT_WORDS)]
    with st.expander("Alert rules", expanded=False):
        picked = st.multiselect("Alert when any of these classes…", list(classes), default=faults, key="live_classes")
        left, mid, right = st.columns(3)
        p = left.slider("…reaches fused probability", 0.05, 1.0, 0.8, 0.05, key="live_probability")
        k = int(mid.number_input("…in consecutive windows", 1, 60, 3, key="live_windows"))
        t = float(right.number_input("Alert when a sense is unhealthy for (s)", 1.0, 600.0, 10.0, 1.0,
                                     key="live_unhealthy"))
        rules = [ClassRule("machine fault", tuple(picked), p, k)] if picked else []
        rules += [HealthRule("microphone unhealthy", "audio", t), HealthRule("camera unhealthy", "video", t)]
        st.caption("The same rules as a file for `python -m core.live SOURCE --rules FILE`:")
        st.code(rules_yaml(rules), language="yaml")
    return rules


def alerts_db() -> Path:
    return default_db_path()


def padding_note(window: float) -> str | None:
    """A sentence on the padding of windows shorter than the model's, or None."""
    from core.inference import padding_share

    share = padding_share(window)
    if share < 0.01:
        return None
    return (f"{share:.0%} of each {window:g} s window the model sees is padding, so its predictions rest on less "
            f"evidence (shorter windows answer sooner).")


def level_meter(dbfs: float | None) -> None:
    """A bar from -60 dBFS (empty) to 0 dBFS (full) with the level in words."""
    if dbfs is None:
        st.progress(0.0, text="Level: no sound in the stream")
        return
    st.progress(min(1.0, max(0.0, (dbfs + 60.0) / 60.0)), text=f"Level {dbfs:.0f} dBFS")


def alert_list(alerts, *, limit: int = 10) -> None:
    """The newest alerts, each with its saved clip playable and a button that opens it in the Corruption Lab."""
    from ui import session

    if not alerts:
        st.caption("No alerts yet.")
        return
    for alert in alerts[:limit]:
        with st.container(border=True):
            st.markdown(f"**{alert.rule}** · {alert.time[:19].replace('T', ' ')} UTC · {alert.session_time:.0f} s "
                        f"into the run")
            st.caption(alert.message)
            if alert.clip_saved and alert.clip and Path(alert.clip).is_file():
                st.video(alert.clip, format="video/mp4")
                if st.button("Open in the Corruption Lab", key=f"live_lab_{alert.id}",
                             help="The clip of the windows that raised this alert, as the current clip of the Lab."):
                    session.open_in_lab(alert.clip)
            else:
                st.caption("Saving its clip…")
