"""Predictions the Corruption Lab is likely to ask for next, computed while the user looks at the page.

After the Lab shows a clip under its corruptions, a background worker computes the same clip one everyday
toggle away (mute, blur, noise switched on or off) and with each applied corruption at its other severities
(the nearest first) through :func:`ui.analysis.predict`, so the branch caches already hold them when a toggle
or the slider moves: the change then costs a cache hit and a fusion instead of corrupting and re-encoding
(docs/PERFORMANCE.md, In the browser). One worker per server process;
a newer request replaces the jobs of an older one, so it never falls behind a user.
"""
from __future__ import annotations

import logging
import queue
import threading

from core import corruptions
from ui import analysis

_jobs: queue.Queue = queue.Queue()
_state = {"generation": 0, "worker": None, "busy": False}
_lock = threading.Lock()


def neighbours(steps: tuple[tuple[str, int], ...], *, toggles: bool = False) -> list[tuple[tuple[str, int], ...]]:
    """The corruption lists one slider move away: each multi-level step at each of its other severities, the
    nearest severities first (3 -> 2, 4, 1, 5); with ``toggles``, first those one everyday toggle away
    (:func:`ui.widgets.toggled`)."""
    out = []
    if toggles:
        from ui.widgets import toggled

        out += toggled(steps)
    for distance in range(1, 5):
        for i, (name, severity) in enumerate(steps):
            levels = corruptions.levels(name)
            if len(levels) < 2:
                continue
            for other in (severity - distance, severity + distance):
                if other in levels:
                    out.append(tuple((n, other if j == i else s) for j, (n, s) in enumerate(steps)))
    return out


def prefetch(info, ref, steps, seed: int) -> int:
    """Queue the predictions of :func:`neighbours` of ``steps`` for the worker (dropping any older queue);
    returns how many. The worker gets the calling script's run context, so it reaches the caches as the page
    does (no "missing ScriptRunContext" warnings)."""
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    wanted = neighbours(tuple(steps), toggles=True)
    with _lock:
        _state["generation"] += 1
        generation = _state["generation"]
        for alternative in wanted:
            _jobs.put((generation, info, ref, alternative, seed))
        if _state["worker"] is None or not _state["worker"].is_alive():
            worker = threading.Thread(target=_work, name="avlab-lab-prefetch", daemon=True)
            if (ctx := get_script_run_ctx()) is not None:
                add_script_run_ctx(worker, ctx)
            _state["worker"] = worker
            worker.start()
    return len(wanted)


def _work() -> None:
    while True:
        generation, info, ref, steps, seed = _jobs.get()
        try:
            if generation != _state["generation"]:
                continue  # a newer page run asked for other neighbours
            _state["busy"] = True
            analysis.predict(info, ref, steps, seed)
        except Exception:  # a prefetch that fails costs nothing: the page computes it when asked
            logging.getLogger("avlab").debug("prefetch of %s failed", steps, exc_info=True)
        finally:
            _state["busy"] = False
            _jobs.task_done()


def wait(timeout: float = 60.0) -> bool:
    """Block until the queue is worked off (tests and benchmarks); False on timeout."""
    done = threading.Event()

    def join():
        _jobs.join()
        done.set()

    threading.Thread(target=join, daemon=True).start()
    return done.wait(timeout)


__all__ = ["neighbours", "prefetch", "wait"]
