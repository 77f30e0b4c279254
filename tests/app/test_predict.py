"""AppTest of the Predict page: load, upload, long clips, bad files, checkpoint switch."""
from __future__ import annotations

import pytest

import numpy as np

from tests.app.conftest import app, errors

PAGE = "pages/predict.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_predict_page_loads_with_a_sample_and_shows_three_heads(checkpoint):
    at = app(PAGE)
    assert not at.exception and not errors(at)
    assert [m.label for m in at.metric] == ["Audio only", "Video only", "Fused"]
    assert any(h.value.startswith("Decision: ") for h in at.subheader)
    assert "50 MB" in at.file_uploader(key="predict_upload").label


def test_upload_a_sample_predicts_it(checkpoint, sample_clip):
    at = app(PAGE)
    at.file_uploader(key="predict_upload").set_value((sample_clip.name, sample_clip.read_bytes(), "video/mp4")).run()
    assert not at.exception and not errors(at)
    assert any(f"Current clip: **{sample_clip.name}**" in c.value for c in at.caption)
    assert len(at.metric) == 3
    assert at.session_state["avlab_clip"].key.startswith("upload:")


def test_long_clip_shows_a_timeline_with_adjustable_windows(checkpoint, long_clip):
    at = app(PAGE)
    at.selectbox(key="predict_sample").set_value(long_clip.name).run()
    assert not at.exception and not errors(at)
    assert any(h.value == "Timeline" for h in at.subheader)
    # the decision is the timeline's segments, one per state, not one mean over both states
    import re

    from core.datasets import load_dataset

    (start, change, first), (_, end, second) = next(s for s in load_dataset(long_clip.parents[1]).samples
                                                     if s.path.name == long_clip.name).segments
    (decision,) = [h.value for h in at.subheader if h.value.startswith("Decision: ")]
    said = re.fullmatch(r"Decision: (\w+) 0–([\d.]+) s \(\d+%\), then (\w+) ([\d.]+)–([\d.]+) s \(\d+%\)", decision)
    assert said, decision
    assert (said[1], said[3]) == (first, second) and abs(float(said[2]) - change) <= 2.5
    assert float(said[5]) == pytest.approx(end, abs=0.1)
    assert any("One mean over all" in c.value and "mixing the clip's states" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert {"fused probability", "audio weight", "video weight"} <= set(table.columns)
    assert all(v.endswith("%") for v in table["audio weight"])
    windows = len(table)
    at.slider(key="predict_stride").set_value(2.0).run()
    assert not at.exception
    assert 0 < len(at.dataframe[0].value) < windows


def test_non_media_upload_gives_one_sentence_and_the_page_keeps_working(checkpoint, sample_clip):
    at = app(PAGE)
    at.file_uploader(key="predict_upload").set_value(("notes.mp4", b"just some text, not a video", "video/mp4")).run()
    assert not at.exception
    assert errors(at) == ["The file is not a recognised audio or video format."]
    assert not at.metric
    at.selectbox(key="predict_sample").set_value(sample_clip.name).run()
    assert not at.exception and not errors(at)
    assert len(at.metric) == 3


def test_switching_checkpoint_predicts_with_the_other_one(two_checkpoints):
    at = app()
    box = at.selectbox(key="checkpoint")  # the sidebar picker, on the first page AppTest runs through app.py
    assert box.options == ["first", "second"]  # the default first, by name (a whole title is cut off)
    (details,) = [c.value for c in at.sidebar.caption if " classes · " in c.value]  # the details under the box
    fmt, fusion, classes, heads, accuracy = details.split(" · ")
    assert (box.value, fmt, classes, heads) == ("first", "avlab", "7 classes", "all heads native")
    from core.models import read_metadata

    assert fusion == read_metadata(two_checkpoints / "first")["model"]["fusion"]
    assert accuracy.startswith("fused test acc.")
    box.set_value("second").run()
    assert not at.exception and not errors(at)
    # AppTest runs a switched-to page without the frame, so carry the choice as the picker would.
    at.switch_page(PAGE)
    at.session_state["checkpoint"] = "second"
    at.run()
    assert not at.exception and not errors(at)
    assert any("model second" in c.value for c in at.caption)
    assert len(at.metric) == 3


def test_a_broken_checkpoint_is_one_sentence_not_a_traceback(checkpoint, tmp_path, monkeypatch):
    import shutil

    import ui.models

    (tmp_path / "broken").mkdir()
    shutil.copy(checkpoint / "config.json", tmp_path / "broken" / "config.json")
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"not safetensors")
    monkeypatch.setattr(ui.models, "CHECKPOINTS", tmp_path)
    at = app(PAGE)
    assert not at.exception and not at.metric
    assert len(errors(at)) == 1 and "damaged" in errors(at)[0] and "\n" not in errors(at)[0]


def test_audio_only_and_video_only_uploads(checkpoint, sample_clip):
    import io
    import wave

    from core.media import clip_to_mp4_bytes, load_clip, no_audio

    clip = load_clip(sample_clip)
    pcm = io.BytesIO()
    with wave.open(pcm, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(clip.sr)
        w.writeframes((clip.audio * 32767).astype("<i2").tobytes())
    silent_film = clip_to_mp4_bytes(clip.replace(audio=no_audio()))
    at = app(PAGE)
    at.file_uploader(key="predict_upload").set_value(("hum.wav", pcm.getvalue(), "audio/wav")).run()
    assert not at.exception and not errors(at)
    assert [m.label for m in at.metric] == ["Audio only", "Video only (missing)", "Fused"]
    assert len(at.get("audio")) == 1 and not at.get("video")  # an audio player for an audio-only clip
    at.file_uploader(key="predict_upload").set_value(("film.mp4", silent_film, "video/mp4")).run()
    assert not at.exception and not errors(at)
    assert [m.label for m in at.metric] == ["Audio only (missing)", "Video only", "Fused"]
    assert at.metric[0].value == "no input"


def test_no_checkpoint_at_all_is_one_sentence(tmp_path, monkeypatch, sample_clip):
    import ui.models

    monkeypatch.setattr(ui.models, "CHECKPOINTS", tmp_path)
    at = app()
    assert not at.exception and "No model was found" in at.warning[0].value
    at.switch_page(PAGE).run()
    assert not at.exception and not at.metric
    assert errors(at) == ["No model is available, so there is nothing to predict with; train one first."]


def test_rotated_and_short_uploads_say_what_decoding_did(checkpoint):
    import io
    import wave

    from core.media import load_clip
    from tests.core.test_media_cases import CASES

    at = app(PAGE)
    rotated = (CASES / "01_rotated_portrait.mp4").read_bytes()
    at.file_uploader(key="predict_upload").set_value(("phone.mp4", rotated, "video/mp4")).run()
    assert not at.exception and not errors(at)
    assert any(c.value == "Stored rotated (90°); shown and analysed upright." for c in at.caption)
    warnings = [w.value for w in at.warning]
    assert ("Only 2 s of the 5 s window the model sees is the clip: 60% is padding (silence and the last frame "
            "repeated), so this prediction rests on little evidence.") in warnings
    # a test card with a tone is nothing like a factory: the page says so next to the decision
    assert warnings[0].startswith("This clip is unlike anything the model was trained on (unfamiliarity ")
    from ui import analysis

    ref = at.session_state["avlab_clip"]
    preview = load_clip(analysis.preview_mp4(ref.key, (), 0, ref))  # the bytes the page plays
    assert preview.frames.shape[1:3] == (160, 120)  # upright, as the model gets it
    pcm = io.BytesIO()
    with wave.open(pcm, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16_000)
        w.writeframes((np.sin(np.arange(480) / 3) * 8000).astype("<i2").tobytes())
    at.file_uploader(key="predict_upload").set_value(("click.wav", pcm.getvalue(), "audio/wav")).run()
    assert not at.exception and not errors(at)
    assert ("Only 0.03 s of the 5 s window the model sees is the clip: 99% is padding (silence and the last frame "
            "repeated), so this prediction rests on little evidence.") in [w.value for w in at.warning]


def test_a_factory_sample_is_familiar_and_says_nothing(checkpoint, sample_clip):
    at = app(PAGE)
    at.file_uploader(key="predict_upload").set_value((sample_clip.name, sample_clip.read_bytes(), "video/mp4")).run()
    assert not at.exception and not errors(at)
    assert not [w.value for w in at.warning if "unlike anything" in w.value]


def test_a_silent_file_gets_no_answer_no_bars_no_weights_and_says_why(checkpoint):
    import io
    import wave

    pcm = io.BytesIO()
    with wave.open(pcm, "wb") as w:  # 5 s of silence with a DC offset: no sound at all
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16_000)
        w.writeframes(np.full(80_000, 3000, "<i2").tobytes())
    at = app(PAGE)
    at.file_uploader(key="predict_upload").set_value(("dc.wav", pcm.getvalue(), "audio/wav")).run()
    assert not at.exception and not errors(at)
    assert [m.value for m in at.metric] == ["no input"] * 3
    assert any(s.value == "Decision: no input" for s in at.subheader)
    assert not [w.value for w in at.warning if "unlike anything" in w.value]  # nothing to be unfamiliar about
    captions = [c.value for c in at.caption]
    assert any(c.startswith("No input reached the model, so there are no modality weights.") for c in captions)
    assert any(c.startswith("The audio track is silent") for c in captions)
    chart = at.get("plotly_chart")[0].proto.spec
    assert '"type":"bar"' not in chart.replace(" ", "")  # no bars drawn for heads that did not answer
