"""Shared test configuration: keep torch to the machine's two cores and tests deterministic."""
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture()
def no_network(monkeypatch):
    """Nothing may reach the network (models and weights come from local files); use with
    ``pytestmark = pytest.mark.usefixtures("no_network")``."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a model tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def normal_scheduling():
    """Run as root, the SVT-AV1 encoder (test_media's AV1 file) switches the calling thread to SCHED_FIFO 99;
    every thread and process started later (Torch's pools, Streamlit, Chromium) would inherit it, and two
    busy real-time threads starve a two-core machine. Restore the normal policy after each test."""
    yield
    if hasattr(os, "sched_getscheduler") and os.sched_getscheduler(0) != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
