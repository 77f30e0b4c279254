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
from core.live.alerts import DB_ENV, Alert, AlertStore, default_db_path, post_json
from core.live.buffer import RingBuffer, Snapshot
from core.live.health import HealthTracker, WindowHealth, measure, sentences
from core.live.monitor import History, LiveWindow, Monitor
from core.live.reader import Event, Reader, backoff
from core.live.rules import ClassRule, HealthRule, RuleBook, load_rules, parse_rules, rules_yaml
from core.live.sources import LiveError, Source, capture_devices, no_device_sentence, parse_source

__all__ = ["DB_ENV", "Alert", "AlertStore", "default_db_path", "post_json", "RingBuffer", "Snapshot",
           "HealthTracker", "WindowHealth", "measure", "sentences", "History", "LiveWindow", "Monitor", "Event",
           "Reader", "backoff", "ClassRule", "HealthRule", "RuleBook", "load_rules", "parse_rules", "rules_yaml",
           "LiveError", "Source", "capture_devices", "no_device_sentence", "parse_source"]
