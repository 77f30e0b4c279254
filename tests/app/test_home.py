"""AppTest smoke test of the frame and the home page."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_home_page_lists_sample_clips():
    at = _app().run()
    assert not at.exception
    assert at.title[0].value == "avlab"
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) >= 21
    # every class on show at once (pills), not one behind a closed box
    assert at.pills(key="home_class").options == ["fan_fault", "fan_normal", "pump_cavitation", "pump_normal",
                                                  "valve_closed", "valve_leak", "valve_open"]


def test_bad_data_source_shows_one_plain_error(tmp_path):
    at = _app().run()
    at.text_input(key="data_source").input(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"No data set was found at '{tmp_path / 'nowhere'}'."]


MEDIA_CASES = [ROOT / "tests" / "data" / "media-cases", ROOT / ".." / "shared" / "media-cases"]


def test_home_previews_play_in_a_browser_hevc_reencoded_h264_as_it_is(tmp_path, monkeypatch):
    """HEVC (many browsers show a black box) is re-encoded to H.264; an H.264 MP4 is passed through byte for
    byte; a file that cannot be decoded is named."""
    import io

    import av
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    hevc = next((c / "13b_hevc.mp4" for c in MEDIA_CASES if (c / "13b_hevc.mp4").is_file()), None)
    if hevc is None:
        pytest.skip("media-cases/13b_hevc.mp4 is missing from tests/data and ../shared.")
    h264 = next((ROOT / "sample_data").rglob("fan_normal_*.mp4"), None)
    if h264 is None:
        pytest.skip("sample_data is missing; generate it with python -m core.synth.")
    (tmp_path / "fan").mkdir()
    shutil.copy(h264, tmp_path / "fan" / "a_h264.mp4")
    shutil.copy(hevc, tmp_path / "fan" / "b_hevc.mp4")
    (tmp_path / "fan" / "c_broken.mp4").write_bytes(h264.read_bytes()[:500])
    played = []  # the bytes handed to st.video / st.audio, in order
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        played.append((mimetype, path_or_data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    at = _app()
    at.session_state["data_source"] = str(tmp_path)
    at.run()
    assert not at.exception and not at.error
    assert [m for m, _ in played] == ["video/mp4", "video/mp4"] and len(at.get("video")) == 2
    assert played[0][1] == (tmp_path / "fan" / "a_h264.mp4").read_bytes()
    with av.open(io.BytesIO(played[1][1])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert next(container.decode(stream)).to_ndarray(format="rgb24").mean() > 5  # a picture, not black
    with av.open(str(hevc)) as container:
        assert container.streams.video[0].codec_context.name == "hevc"  # the case is what it claims
    assert [w.value for w in at.warning] == [f"c_broken.mp4 could not be decoded: {_reason(tmp_path / 'fan' / 'c_broken.mp4')}"]


def _reason(path) -> str:
    from core.media import MediaError, load_clip

    try:
        load_clip(path)
    except MediaError as exc:
        return str(exc)
    raise AssertionError(f"{path} decodes")


def test_a_published_layout_as_the_data_source_pairs_shown_with_both_files(tmp_path):
    """A TAU Urban Audio-Visual Scenes copy (audio and video in separate files) is recognised from its index
    files; the table and the players name both files of each clip."""
    from tests.core.layout_copies import make_dcase, sample_clips

    if not (ROOT / "sample_data" / "manifest.csv").exists():
        pytest.skip("sample_data is missing; generate it with python -m core.synth.")
    clips = [s for s in sample_clips() if s.label == "fan_normal"][:2]
    expected = make_dcase(tmp_path, clips)
    at = _app()
    at.session_state["data_source"] = str(tmp_path)
    at.run()
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Read as **dcase2021-1b, fold 1** (TAU Urban Audio-Visual Scenes 2021") for c in captions)
    table = at.dataframe[0].value
    assert list(table["clip"]) == [f"{name}.mp4 + {name}.wav" for name in expected]
    assert list(table["audio file"]) == [str(tmp_path / "audio" / f"{name}.wav") for name in expected]
    assert [c for c in captions if " + " in c] == [f"{name}.mp4 + {name}.wav" for name in expected]
    assert len(at.get("video")) == 2


def test_start_here_names_the_default_model_with_its_measured_accuracy_and_links_every_page():
    from core.models import CHECKPOINTS, read_metadata

    default = (CHECKPOINTS / "DEFAULT").read_text().strip()
    test = read_metadata(CHECKPOINTS / default)["metrics"]["test"]
    at = _app().run()
    assert not at.exception
    text = [m.value for m in at.markdown]
    (card,) = [t for t in text if t.startswith(f"**{default}**: ")]
    assert f"{read_metadata(CHECKPOINTS / default)['model']['fusion']} fusion" in card
    (scores,) = [t for t in text if t.startswith("On ") and "test clips" in t]
    fused = int(np.floor(100 * test["fused"]["accuracy"] + 0.5))
    assert f"On {test['fused']['n']} factory-av test clips its fused head is right {fused}% of the time" in scores
    assert len(at.get("page_link")) == 6


def test_a_clip_on_home_opens_in_predict():
    at = _app().run()
    at.pills(key="home_class").set_value("valve_leak").run()
    at.button(key="home_open_1").click().run()
    assert not at.exception
    assert any(t.value == "Predict" for t in at.title)
    opened = at.session_state["avlab_clip"]
    assert opened.label == "valve_leak" and opened.name.startswith("valve_leak_")


def test_the_headline_comes_from_the_shipped_results_and_says_how_they_were_made(tmp_path, monkeypatch):
    """A small stand-in for sample_data/results.db: Home states its best model's numbers, the Robustness page
    opens it (read-only: no journal file appears beside it) and says how it was made."""
    from core import report
    from core.experiments import ExperimentConfig, run_experiment
    from core.models import CHECKPOINTS
    from tests.app.conftest import use_shipped

    checkpoint = sorted(p.parent for p in CHECKPOINTS.glob("*/config.json"))[0]
    shipped = tmp_path / "shipped.db"
    run_experiment(ExperimentConfig(checkpoints=[str(checkpoint)], data=str(ROOT / "sample_data"),
                                    corruptions=["mute", "gaussian_blur"], severities=[5], limit=7), db=shipped)
    monkeypatch.setenv("AVLAB_DB", str(tmp_path / "mine.db"))  # the user's own: none yet
    use_shipped(monkeypatch, shipped)
    board = report.build(1, db=shipped).tables["leaderboard"].iloc[0]
    at = _app().run()
    assert not at.exception
    mpc = int(np.floor(100 * board["mpc"] + 0.5))
    assert any(f"**{board['checkpoint']}** ({board['fusion']} fusion): fused head keeps {mpc}% accuracy" in m.value
               for m in at.markdown)
    assert any(c.value.startswith("Shipped results (sample_data/results.db, read-only)") for c in at.caption)
    at.switch_page("pages/robustness.py").run()
    assert not at.exception and not at.error
    assert not [i.value for i in at.info if "No sweep is stored" in i.value]
    assert any(c.value.startswith("Shipped results") for c in at.caption)
    assert not (tmp_path / "shipped.db-wal").exists() and not (tmp_path / "mine.db").exists()
