"""AppTest of the Audio-images page: every representation clean vs corrupted, parameters, PNG downloads."""
from __future__ import annotations

from core import representations
from tests.app.conftest import app, errors

PAGE = "pages/audio_images.py"


def test_every_representation_is_drawn_clean_and_corrupted(sample_clip):
    at = app(PAGE)
    assert not at.exception and not errors(at)
    downloads = [b.key for b in at.get("download_button")]
    assert len(downloads) == 2 * len(representations.names()) == 18
    for name in representations.names():
        assert f"img_dl_{name}_clean" in downloads and f"img_dl_{name}_corrupted" in downloads


def test_changing_a_parameter_and_a_bad_parameter(sample_clip):
    at = app(PAGE)
    at.number_input(key="img_mel_n_mels").set_value(64).run()
    assert not at.exception and not errors(at)
    at.number_input(key="img_cqt_fmin").set_value(7000.0).run()  # CQT bins above Nyquist: refused
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].endswith(".")
    assert len(at.get("download_button")) == 16  # the other eight still drawn


def test_corruptions_from_the_lab_apply_and_bad_uploads_are_one_sentence(checkpoint):
    at = app()
    at.session_state["avlab_corruptions"] = (("mute", 1),)
    at.switch_page(PAGE).run()
    assert not at.exception and not errors(at)
    assert any("Corruptions: mute 1" in c.value for c in at.caption)
    at.file_uploader(key="images_upload").set_value(("x.txt", b"hello", "text/plain")).run()
    assert not at.exception
    assert errors(at) == ["The file is not a recognised audio or video format."]


def test_the_readable_figure_shares_one_scale_and_shows_the_difference(sample_clip):
    """A low-pass filter removes the high bands: on the shared scale the corrupted panel is darker there and
    the difference panel is negative above the cut-off, near zero below it."""
    import json

    import numpy as np

    at = app()
    at.session_state["avlab_corruptions"] = (("lowpass", 5),)
    at.switch_page(PAGE).run()
    assert not at.exception and not errors(at)
    (chart,) = [c for c in at.get("plotly_chart") if c.key == "img_figure"]
    figure = json.loads(chart.proto.spec)
    clean, broken, diff = figure["data"]
    assert (clean["zmin"], clean["zmax"]) == (broken["zmin"], broken["zmax"])
    assert figure["layout"]["xaxis"]["title"]["text"] == "Time (s)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Frequency (Hz)"

    def values(v):  # plotly sends arrays as base64 typed arrays
        import base64

        if isinstance(v, dict):
            flat = np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"])
            return flat.reshape([int(s) for s in str(v["shape"]).split(",")]) if "shape" in v else flat
        return np.asarray(v, float)

    z, y = values(diff["z"]), values(diff["y"])
    assert np.median(z[y > 6000]) < -10 and abs(np.median(z[y < 300])) < 3
    assert any("share one colour scale on one absolute level scale" in c.value for c in at.caption)
