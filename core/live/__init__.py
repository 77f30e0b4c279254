"""Live monitoring: watch a running machine, see the three heads move, get an alert.

A live source (a stream URL, a capture device, or a file replayed at its real rate;
:mod:`.sources`) is read into a ring buffer of synchronised audio and video (:mod:`.buffer`,
decoded by core.media's own sinks) by reader threads that reconnect with backoff when the stream
drops (:mod:`.reader`). Every stride the :class:`Monitor` predicts the last window through the one
inference path (:mod:`core.inference`), measures each sense's health (:mod:`.health`), evaluates
the alert rules (:mod:`.rules`), and stores alerts with the clip that raised them (:mod:`.alerts`).
``python -m core.live SOURCE`` is the command line (:mod:`.cli`); :mod:`.figures` draws the
dashboard's rolling timelines and gauges.
"""
import importlib

_HOMES = {
    "alerts": ("DB_ENV", "Alert", "AlertStore", "default_db_path", "post_json"),
    "buffer": ("RingBuffer", "Snapshot"),
    "health": ("HealthTracker", "WindowHealth", "measure", "sentences"),
    "monitor": ("History", "LiveWindow", "Monitor"),
    "reader": ("Event", "Reader", "backoff"),
    "rules": ("ClassRule", "HealthRule", "RuleBook", "load_rules", "parse_rules", "rules_yaml"),
    "sources": ("LiveError", "Source", "capture_devices", "no_device_sentence", "parse_source"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}
__all__ = list(_HOME)


def __getattr__(name: str):
    # imported on first use (PEP 562): the alerts store and the sources do not pull in torch
    if name not in _HOME:
        raise AttributeError(f"module 'core.live' has no attribute '{name}'")
    return getattr(importlib.import_module(f"core.live.{_HOME[name]}"), name)
