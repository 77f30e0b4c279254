"""AppTest of the Corruption Lab: toggles, the registry picker, severities, state shared with other pages."""
from __future__ import annotations

from tests.app.conftest import app, errors

PAGE = "pages/corruption_lab.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_lab_loads_with_no_corruption(checkpoint):
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert list(_metrics(at)) == ["Audio only", "Video only", "Fused"]
    assert any("corruptions: none" in h.value for h in at.subheader)
    assert len(at.get("video")) == 2  # original and corrupted both play


def test_toggling_mute_removes_the_audio_input(checkpoint):
    at = app(PAGE)
    at.toggle(key="lab_toggle_mute").set_value(True).run()
    assert not at.exception and not errors(at)
    metrics = _metrics(at)
    assert metrics["Audio only (missing)"] == "no input"
    assert not at.metric[0].delta  # an abstaining head has no change to show
    assert "Video only" in metrics  # the video branch is untouched
    # ... so its change is zero: said as "no change", with neither arrow nor colour (not a green "+0.0%")
    from streamlit.proto.Metric_pb2 import Metric

    video = at.metric[1]
    assert video.delta.startswith("no change (") and video.proto.direction == Metric.MetricDirection.NONE
    assert video.proto.color == Metric.MetricColor.GRAY
    assert at.session_state["avlab_corruptions"] == (("mute", 1),)


def test_severity_slider_changes_the_corrupted_prediction(checkpoint):
    at = app(PAGE)
    at.multiselect(key="lab_picked").set_value(["audio_gaussian_noise", "gaussian_blur"]).run()
    assert [s.key for s in at.slider] == ["lab_sev_audio_gaussian_noise", "lab_sev_gaussian_blur"]
    before = at.session_state["avlab_corruptions"]
    at.slider(key="lab_sev_audio_gaussian_noise").set_value(5).run()
    assert not at.exception and not errors(at)
    assert before == (("audio_gaussian_noise", 3), ("gaussian_blur", 3))
    assert at.session_state["avlab_corruptions"] == (("audio_gaussian_noise", 5), ("gaussian_blur", 3))
    assert any("audio_gaussian_noise 5, gaussian_blur 3" in h.value for h in at.subheader)


def test_lab_opens_with_corruptions_set_by_another_page(checkpoint, sample_clip):
    # What ui.session.open_in_lab stores before switching page.
    from ui.session import sample_ref

    at = app()
    at.session_state["avlab_clip"] = sample_ref(sample_clip)
    at.session_state["avlab_corruptions"] = (("gaussian_blur", 4), ("mute", 1))
    at.switch_page(PAGE).run()
    assert not at.exception and not errors(at)
    assert at.toggle(key="lab_toggle_blur").value and at.toggle(key="lab_toggle_mute").value
    assert at.slider(key="lab_sev_gaussian_blur").value == 4
    assert at.session_state["avlab_corruptions"] == (("gaussian_blur", 4), ("mute", 1))
    assert any(f"Current clip: **{sample_clip.name}**" in c.value for c in at.caption)


def test_mute_with_noise_still_means_no_audio(checkpoint):
    at = app(PAGE)
    at.toggle(key="lab_toggle_mute").set_value(True).run()
    at.toggle(key="lab_toggle_noise").set_value(True).run()
    assert not at.exception and not errors(at)
    assert at.session_state["avlab_corruptions"] == (("audio_gaussian_noise", 3), ("mute", 1))
    assert at.metric[0].label == "Audio only (missing)"


def test_non_media_upload_in_the_lab_gives_one_sentence(checkpoint):
    at = app(PAGE)
    at.file_uploader(key="lab_upload").set_value(("data.wav", b"RIFF\x00\x00junk", "audio/wav")).run()
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].endswith(".") and "Traceback" not in errors(at)[0]


def test_one_level_corruptions_get_no_severity_slider(checkpoint, sample_clip):
    """mute and video_off have one level: no slider, applied at severity 1, even when another page asked
    for mute:3 (the drill-down of a sweep stored before single levels were declared)."""
    from ui.session import sample_ref

    at = app()
    at.session_state["avlab_clip"] = sample_ref(sample_clip)
    at.session_state["avlab_corruptions"] = (("mute", 3),)
    at.switch_page(PAGE).run()
    at.multiselect(key="lab_picked").set_value(["video_off", "gaussian_blur"]).run()
    assert not at.exception and not errors(at)
    assert at.toggle(key="lab_toggle_mute").value
    assert [s.key for s in at.slider] == ["lab_sev_gaussian_blur"]
    assert at.session_state["avlab_corruptions"] == (("gaussian_blur", 3), ("mute", 1), ("video_off", 1))


def test_the_lab_offers_any_corruption_of_any_suite(checkpoint):
    from core import corruptions
    from core.corruptions import suites

    at = app(PAGE)
    at.selectbox(key="lab_suite").set_value("read").run()
    assert at.multiselect(key="lab_picked").options == [
        f"{corruptions.label(n)} ({corruptions.get(n).modality})" for n in suites.suite("read").corruptions]
    audio = suites.suite("read").corruptions[15]  # READ's first audio corruption
    at.multiselect(key="lab_picked").set_value([audio]).run()
    at.slider(key=f"lab_sev_{audio}").set_value(5).run()
    assert not at.exception and not errors(at)
    assert at.session_state["avlab_corruptions"] == ((audio, 5),)
    # switching the suite keeps what is applied, and offers it
    at.selectbox(key="lab_suite").set_value("imagenet-c").run()
    assert at.session_state["avlab_corruptions"] == ((audio, 5),) and not at.exception


def test_a_change_written_as_zero_has_no_arrow():
    from ui.widgets import change_delta

    assert change_delta("+0.0%", "fan_fault") == {"delta": "no change (fan_fault)", "delta_color": "off",
                                                  "delta_arrow": "off"}
    assert change_delta("-0 points", "under Mute")["delta"] == "no change (under Mute)"
    assert change_delta("+0.1%", "fan_fault") == {"delta": "+0.1% fan_fault"}
    assert change_delta("-12 points", "under Mute") == {"delta": "-12 points under Mute"}


def test_picking_a_sample_after_an_upload_empties_the_uploader(checkpoint, sample_clip):
    at = app(PAGE)
    at.file_uploader(key="lab_upload").set_value((sample_clip.name, sample_clip.read_bytes(), "video/mp4")).run()
    assert at.session_state["avlab_clip"].key.startswith("upload:")
    other = next(o for o in at.selectbox(key="lab_sample").options if o != sample_clip.name)
    at.selectbox(key="lab_sample").set_value(other).run()
    assert not at.exception and not errors(at)
    assert at.session_state["avlab_clip"].name == other
    # the uploader that held the file's chip is replaced by an empty one
    assert [u.key for u in at.file_uploader] == ["lab_upload_1"] and at.file_uploader[0].value is None


def test_the_other_severities_are_computed_in_the_background_so_a_slider_move_hits_the_cache(checkpoint,
                                                                                           monkeypatch):
    from core.inference import Predictor
    from ui import prefetch

    assert prefetch.neighbours((("gaussian_blur", 3), ("mute", 1))) == [
        (("gaussian_blur", 2), ("mute", 1)), (("gaussian_blur", 4), ("mute", 1)),
        (("gaussian_blur", 1), ("mute", 1)), (("gaussian_blur", 5), ("mute", 1))]
    from ui.widgets import toggled

    # one toggle away, as the controls order them (a dead microphone last)
    assert toggled((("gaussian_blur", 4),)) == [(("gaussian_blur", 4), ("mute", 1)), (),
                                                (("gaussian_blur", 4), ("audio_gaussian_noise", 3))]
    at = app(PAGE)
    at.toggle(key="lab_toggle_blur").set_value(True).run()  # gaussian_blur at 3
    assert prefetch.wait(120)
    encoded = []
    original = Predictor.encode_branch

    def counting(self, clip, modality, **kwargs):
        encoded.append(modality)
        return original(self, clip, modality, **kwargs)

    monkeypatch.setattr(Predictor, "encode_branch", counting)
    at.slider(key="lab_sev_gaussian_blur").set_value(5).run()
    assert not at.exception and not errors(at)
    assert any("gaussian_blur 5" in h.value for h in at.subheader)
    assert encoded == []  # severity 5 was encoded while the page waited: the move only fused cached branches
    assert prefetch.wait(120)
    at.toggle(key="lab_toggle_noise").set_value(True).run()  # one toggle away from blur 5: prefetched too
    assert any("gaussian_blur 5, audio_gaussian_noise 3" in h.value for h in at.subheader)
    assert encoded == []
