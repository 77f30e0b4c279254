"""ui.session: the helpers other pages use to open a clip on the Predict page or in the Corruption Lab."""
from __future__ import annotations

import streamlit as st

from ui import session


def test_open_in_lab_sets_the_clip_and_corruptions_and_switches_page(sample_clip, monkeypatch):
    switched = []
    monkeypatch.setattr(st, "switch_page", switched.append)
    st.session_state["lab_toggle_mute"] = True  # a Lab widget left from an earlier visit
    session.open_in_lab(sample_clip, [("gaussian_blur", 4)], seed=7)
    assert switched == [session.LAB_PAGE]
    assert session.current_clip().path == str(sample_clip) and session.current_clip().key.startswith("file:")
    assert session.corruptions() == (("gaussian_blur", 4),) and session.seed() == 7
    assert "lab_toggle_mute" not in st.session_state  # the Lab re-reads the shared state


def test_open_clip_goes_to_predict_and_keeps_corruptions(sample_clip, monkeypatch):
    switched = []
    monkeypatch.setattr(st, "switch_page", switched.append)
    session.set_corruptions([("mute", 1)])
    session.open_clip(sample_clip, label="fan_fault")
    assert switched == [session.PREDICT_PAGE]
    assert session.current_clip().label == "fan_fault" and session.corruptions() == (("mute", 1),)


def test_upload_refs_are_keyed_on_content():
    a, b = session.upload_ref("a.mp4", b"xyz"), session.upload_ref("b.mp4", b"xyz")
    assert a.key == b.key != session.upload_ref("a.mp4", b"xyzw").key
