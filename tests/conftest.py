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
