"""AppTest smoke test of the frame and the home page."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_home_page_lists_sample_clips():
    at = _app().run()
    assert not at.exception
    assert at.title[0].value == "avlab"
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) >= 21
    assert "fan_normal" in at.selectbox(key="home_class").options


def test_bad_data_source_shows_one_plain_error(tmp_path):
    at = _app().run()
    at.text_input(key="data_source").input(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"No data set was found at '{tmp_path / 'nowhere'}'."]
