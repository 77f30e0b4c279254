"""AppTest: the dashboard served to a team. A server listening on anything but loopback reads data only under
AVLAB_DATA_ROOTS and names nothing outside them; python models come only from AVLAB_MODELS; one session's
upload is cached in that session alone and goes when it leaves; caches are bounded; one upload limit."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from core.access import refusal
from tests.app.conftest import ROOT, SAMPLES, app, errors


def _set_option(key: str, value):
    old = config.get_option(key)
    config.set_option(key, value)
    return old


@pytest.fixture()
def served():
    """The server listening on every interface (Streamlit's default when server.address is unset)."""
    old = _set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", old)


@pytest.fixture()
def outside(tmp_path, sample_clip) -> Path:
    """A folder-per-class data set outside every root, its one clip named secret_*."""
    folder = tmp_path / "private" / "fan_fault"
    folder.mkdir(parents=True)
    shutil.copy(sample_clip, folder / "secret_meeting.mp4")
    return tmp_path / "private"


def _source_box():
    """The sidebar's data source box and the data set it gives, drawn in the main area (AppTest keeps no
    sidebar elements after a rerun of a multipage app)."""
    import streamlit as st

    from ui.data import current_dataset, data_source_box

    data_source_box()
    data = current_dataset()
    if data is not None:
        st.dataframe([{"clip": s.name} for s in data.samples], key="clips")


def _shown(at: AppTest) -> str:
    """Every text the run put on the page, the data frames' cells included."""
    texts = [e.value for kind in ("error", "warning", "info", "caption", "markdown", "text_input")
             for e in getattr(at, kind)]
    texts += [str(df.value.to_dict()) for df in at.dataframe]
    return "\n".join(map(str, texts))


def test_served_data_source_refuses_a_folder_outside_the_roots_in_one_sentence(served, outside):
    at = AppTest.from_function(_source_box, default_timeout=60).run()
    assert at.text_input(key="data_source").value == str(SAMPLES)  # the sample data: a default root
    for typed in (str(outside), str(outside / "fan_fault"), f"{SAMPLES}/../tests/data/media-cases",
                  str(SAMPLES) + "_copy"):
        at.text_input(key="data_source").input(typed).run()
        roots = tuple(str(p.resolve()) for p in (ROOT / "sample_data", ROOT / "results"))
        assert errors(at) == [refusal(roots)]  # one sentence naming the allowed folders
        shown = _shown(at)
        assert "secret" not in shown and "private" not in shown and "media-cases" not in shown
        assert at.text_input(key="data_source").value == str(SAMPLES)  # put back before any page read it
        assert at.session_state["data_source"] == str(SAMPLES)
        assert len(at.dataframe[0].value) >= 21  # the sample clips, read as before


def test_served_data_roots_keep_symlinked_clips_out(served, outside, tmp_path, monkeypatch, sample_clip):
    root = tmp_path / "team"
    (root / "fan_fault").mkdir(parents=True)
    shutil.copy(sample_clip, root / "fan_fault" / "shared_clip.mp4")
    (root / "fan_fault" / "linked_clip.mp4").symlink_to(outside / "fan_fault" / "secret_meeting.mp4")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("AVLAB_DATA_ROOTS", str(root))
    at = AppTest.from_function(_source_box, default_timeout=60).run()
    # the sample data is not a root now: the box starts on the first root
    assert at.text_input(key="data_source").value == str(root.resolve())
    assert [r["clip"] for r in at.dataframe[0].value.to_dict("records")] == ["shared_clip.mp4"]
    at.text_input(key="data_source").input(str(root / "escape")).run()  # a link inside the root, pointing out
    assert errors(at) == [refusal((str(root.resolve()),))] and "secret" not in _shown(at)


def test_local_server_reads_any_folder_as_before(outside):
    assert config.get_option("server.address") == "127.0.0.1"  # .streamlit/config.toml
    at = AppTest.from_function(_source_box, default_timeout=60).run()
    at.text_input(key="data_source").input(str(outside)).run()
    assert not errors(at)
    assert [r["clip"] for r in at.dataframe[0].value.to_dict("records")] == ["secret_meeting.mp4"]


def test_served_app_refuses_replaying_a_file_outside_and_opening_devices(checkpoint, served, outside):
    at = app("pages/live.py")
    at.radio(key="live_kind").set_value("Stream URL").run()
    at.text_input(key="live_url").input(str(outside / "fan_fault" / "secret_meeting.mp4")).run()
    assert not at.exception
    assert errors(at) == [refusal(tuple(str(p.resolve()) for p in (ROOT / "sample_data", ROOT / "results")))]
    at.text_input(key="live_url").input("file://" + str(outside / "nothing-here.mp4")).run()
    assert len(errors(at)) == 1 and "nothing-here" not in errors(at)[0]  # no hint whether it exists
    at.radio(key="live_kind").set_value("Capture device").run()
    assert [i.value for i in at.info][0] == (
        "This server does not open its own cameras and microphones for the people it serves; stream them instead "
        "(e.g. ffmpeg -f v4l2 -i CAMERA -f mpegts udp://127.0.0.1:5000) and watch that URL.")
    assert "/dev/" not in _shown(at)  # the server's devices are not listed


def test_served_lab_refuses_a_clip_from_outside(checkpoint, served, outside):
    from ui import session

    at = app()
    at.session_state["avlab_clip"] = session.sample_ref(outside / "fan_fault" / "secret_meeting.mp4")
    at.switch_page("pages/corruption_lab.py").run()  # as a sweep's drill-down would open it
    assert not at.exception
    assert errors(at) == [refusal(tuple(str(p.resolve()) for p in (ROOT / "sample_data", ROOT / "results")))]
    assert "secret" not in _shown(at)
    assert at.session_state["avlab_clip"].path.startswith(str(SAMPLES))  # a sample clip instead
    assert len(at.metric) == 3


@pytest.fixture()
def python_models(tmp_path, monkeypatch):
    """AVLAB_MODELS with a python model whose code lies outside it (climbing out with '..', or a symlink); the
    code would write a marker file if it were ever imported."""
    marker = tmp_path / "code-ran"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\ndef build(raw):\n    return None\n")
    models = tmp_path / "models"
    for name, entry in (("climbing", "../../elsewhere/evil.py:build"), ("linked", "evil.py:build")):
        (models / name).mkdir(parents=True)
        (models / name / "avlab.json").write_text(json.dumps({"format": "python", "classes": ["a", "b"],
                                                             "entry": entry}))
    (models / "linked" / "evil.py").symlink_to(outside / "evil.py")
    monkeypatch.setenv("AVLAB_MODELS", str(models))
    return models, marker


@pytest.mark.parametrize("restricted", [False, True])
def test_a_python_model_outside_avlab_models_is_never_offered_nor_run(checkpoint, python_models, restricted,
                                                                      monkeypatch):
    from core.models import ModelError
    from ui.models import predictor

    models, marker = python_models
    if restricted:
        monkeypatch.setenv("AVLAB_RESTRICT", "1")  # a proxy in front of a loopback server
    at = app()
    assert not at.exception
    options = at.selectbox(key="checkpoint").options
    assert "climbing" not in options and "linked" not in options and options  # the shipped ones stay
    refused = sorted(w.value for w in at.warning if "is not offered" in w.value)
    assert refused == [f"The model {n} is not offered: its code would be read from outside the folders models may be "
                       "loaded from (the shipped checkpoints and AVLAB_MODELS)." for n in ("climbing", "linked")]
    assert not any("elsewhere" in w.value or "evil" in w.value for w in at.warning)
    with pytest.raises(ModelError, match="is not offered"):
        predictor(f"{models / 'linked'}@0|cpu", str(models / "linked"))  # even asked for directly
    assert not marker.exists()


def test_the_upload_limit_is_one_number(checkpoint, sample_clip):
    old = _set_option("server.maxUploadSize", 1)
    try:
        at = app("pages/predict.py")
        assert "up to 1 MB" in at.file_uploader(key="predict_upload").label
        before = at.session_state["avlab_clip"].key
        at.file_uploader(key="predict_upload").set_value(("big.mp4", b"\0" * (2**20 + 1), "video/mp4")).run()
        assert errors(at) == ["File must be 1.0MB or smaller."]  # the sentence Streamlit's uploader shows
        assert at.session_state["avlab_clip"].key == before
        data = sample_clip.read_bytes()
        assert len(data) <= 2**20
        at.file_uploader(key="predict_upload").set_value(("ok.mp4", data, "video/mp4")).run()
        assert not errors(at) and at.session_state["avlab_clip"].key.startswith("upload:")
    finally:
        config.set_option("server.maxUploadSize", old)


@pytest.fixture()
def sessions(monkeypatch):
    """Two browser sessions for AppTest (which runs every app under one session id): the id session-scoped
    caches see is the one named in ``current``; and every decode of a whole clip, counted by source kind."""
    import streamlit.runtime.caching.cache_data_api as api

    import ui.analysis as analysis
    from core.media import load_clip

    current = {"id": "A"}
    monkeypatch.setattr(api, "get_session_id_or_throw", lambda: current["id"])
    decodes = []

    def counting(source, **kwargs):
        if kwargs.get("max_duration") == analysis.MAX_SECONDS:
            decodes.append("upload" if isinstance(source, (bytes, bytearray)) else "file")
        return load_clip(source, **kwargs)

    monkeypatch.setattr(analysis, "load_clip", counting)
    analysis.decoded.clear()
    yield current, decodes
    analysis.decoded.clear()


def test_an_upload_is_cached_in_its_own_session_and_freed_when_it_leaves(checkpoint, sample_clip, sessions):
    from streamlit.runtime.caching import clear_session_data_cache

    current, decodes = sessions
    data = sample_clip.read_bytes()
    a = app("pages/predict.py")
    a.file_uploader(key="predict_upload").set_value(("alice_private.mp4", data, "video/mp4")).run()
    assert not a.exception and len(a.metric) == 3 and decodes.count("upload") == 1
    current["id"] = "B"
    b = app("pages/predict.py")
    assert not b.session_state["avlab_clip"].key.startswith("upload:")  # B sees a sample, not A's upload
    assert "alice_private" not in _shown(b)
    b.file_uploader(key="predict_upload").set_value(("bob.mp4", data, "video/mp4")).run()
    assert decodes.count("upload") == 2  # the same bytes: B decodes its own, A's cache is not B's
    current["id"] = "A"
    a.run()
    assert decodes.count("upload") == 2 and "alice_private.mp4" in _shown(a)
    files = decodes.count("file")
    clear_session_data_cache("A")  # what Streamlit does when A's browser disconnects
    a.run()
    assert decodes.count("upload") == 3  # A's upload was freed with A
    current["id"] = "B"
    b.run()
    assert decodes.count("upload") == 3  # B's own is still there
    assert decodes.count("file") == files  # shared sample clips were never freed with a session


def test_a_clip_cache_evicts_beyond_its_byte_budget(monkeypatch):
    from ui import limits

    monkeypatch.setitem(limits.BUDGETS, "test_clips", limits.Budget(entries=100, bytes=3 * limits.MiB,
                                                                    session_entries=1, session_bytes=limits.MiB))
    computed = []

    @limits.clip_cache("test_clips")
    def frames(clip_key: str) -> np.ndarray:
        computed.append(clip_key)
        return np.zeros(limits.MiB - 4096, np.uint8)  # just under 1 MiB pickled

    for key in ("file:a", "file:b", "file:c"):
        frames(key)
    frames("file:a")  # the least recently used, read again: now the most recent
    assert computed == ["file:a", "file:b", "file:c"]
    frames("file:d")  # 4 MiB would exceed 3 MiB: b, the least recently used, goes
    frames("file:a"), frames("file:c"), frames("file:d")
    assert computed == ["file:a", "file:b", "file:c", "file:d"]
    frames("file:b")
    assert computed[-1] == "file:b" and len(computed) == 5
    frames.clear()


def test_every_cache_of_the_dashboard_is_bounded():
    """Each st.cache_data / st.cache_resource in ui/ has max_entries or ttl; each clip cache entries and bytes,
    shared and per session, with the figures of ui.limits (documented in docs/DEPLOY.md)."""
    import importlib
    import pkgutil

    from streamlit.runtime.caching.cache_utils import CachedFunc

    import ui
    from ui import limits

    found = {}
    for module in pkgutil.iter_modules(ui.__path__):
        mod = importlib.import_module(f"ui.{module.name}")
        for name, value in vars(mod).items():
            if isinstance(value, CachedFunc) and value.__module__ == mod.__name__:
                found[f"{mod.__name__}.{name}"] = value._info
            elif hasattr(value, "budget") and hasattr(value, "shared") and value.__module__ == mod.__name__:
                for part in (value.shared, value.own):
                    found[f"{mod.__name__}.{name}.{part._info.scope}"] = part._info
    assert len(found) >= 25
    unbounded = [n for n, info in found.items() if info.max_entries is None and info.ttl is None]
    assert unbounded == []
    clip_caches = [n for n in found if n.startswith("ui.analysis.") and n.endswith(".session")]
    assert len(clip_caches) == len(limits.BUDGETS) and all(found[n].max_size_bytes for n in clip_caches)
    decoded = found["ui.analysis.decoded.global"]
    assert (decoded.max_entries, decoded.max_size_bytes) == (8, 512 * 2**20)
