"""AppTest of the Live page: a replayed sample's heads, timeline and gauges every second; an alert's clip
opened in the Corruption Lab; a machine without capture devices says so."""
from __future__ import annotations

import shutil
import time

import pytest

from tests.app.conftest import app, errors

PAGE = "pages/live.py"


@pytest.fixture()
def alerts_db(tmp_path, monkeypatch):
    """A scratch alerts database; every monitor the test started is stopped at its end."""
    from ui.live import stop_all

    path = tmp_path / "live.sqlite"
    monkeypatch.setenv("AVLAB_LIVE_DB", str(path))
    yield path
    stop_all()


def _windows(at) -> int:
    status = next((c.value for c in at.caption if " windows · model " in c.value), "")
    return int(status.split(" windows · ")[0].rsplit(" · ", 1)[-1]) if status else 0


def _timeline_points(at) -> int:
    import json

    chart = next(c for c in at.get("plotly_chart") if "Fused" in c.proto.spec)
    return len(json.loads(chart.proto.spec)["data"][0]["x"])


def test_replayed_sample_shows_the_heads_and_a_growing_timeline(checkpoint, sample_clip, alerts_db):
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert at.radio(key="live_kind").options == ["Sample clip replayed", "Stream URL", "Capture device"]
    at.selectbox(key="live_sample").set_value(sample_clip.name).run()
    at.button(key="live_start").click().run()  # 5 s windows every second: the first after 5 s of the clip
    assert not at.exception and not errors(at)
    counts = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(counts) < 2 or counts[-1] <= counts[0]):
        time.sleep(1.0)  # the monitor runs on its own thread at the clip's real rate
        at.run()
        if _windows(at):
            counts.append(_timeline_points(at))
    assert not at.exception and not errors(at)
    assert counts and counts[-1] > counts[0] >= 1, counts  # the timeline grows
    assert [m.label for m in at.metric] == ["Audio only", "Video only", "Fused"]
    assert at.metric[2].value.startswith(sample_clip.name.rsplit("_", 1)[0])  # the fused head knows the class
    assert any(p.value and "dBFS" in (p.proto.text or "") for p in at.get("progress"))  # the level meter
    at.button(key="live_stop").click().run()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(" · stopped · " in c.value for c in at.caption):
        time.sleep(0.5)
        at.run()
    assert any(" · stopped · " in c.value for c in at.caption)


def test_an_alerts_clip_opens_in_the_corruption_lab(checkpoint, sample_clip, alerts_db):
    from core.live import AlertStore

    store = AlertStore(alerts_db)
    alert = store.add_alert(session_time=15.0, rule="machine fault", kind="class",
                            message="machine fault: pump_cavitation at 98% (fused) for 3 windows", source="test",
                            model="m", probabilities={}, health={}, clip_start=8.0, clip_end=15.0)
    store.clips_dir.mkdir()
    shutil.copy(sample_clip, alert.clip)
    store.mark_saved(alert.id)
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert "machine fault: pump_cavitation at 98% (fused) for 3 windows" in [c.value for c in at.caption]
    at.button(key=f"live_lab_{alert.id}").click().run()
    assert not at.exception and not errors(at)
    assert at.session_state["avlab_clip"].path == alert.clip
    assert at.title[0].value == "Corruption Lab"


def test_capture_device_without_devices_says_so(checkpoint, alerts_db):
    from core.live import capture_devices, no_device_sentence

    if capture_devices():
        pytest.skip("this machine has a capture device")
    at = app(PAGE)
    at.radio(key="live_kind").set_value("Capture device").run()
    assert not at.exception
    assert no_device_sentence() in [i.value for i in at.info]
    assert at.button(key="live_start").disabled
