"""AppTest of the Embeddings page: three maps with a separation score each, a corruption comparison,
and a chosen point opening its clip."""
from __future__ import annotations

from tests.app.conftest import app, errors

PAGE = "pages/embeddings.py"


def test_embeddings_page_shows_three_maps_with_scores(checkpoint):
    at = app(PAGE)
    at.radio(key="emb_method").set_value("pca").run()
    assert not at.exception and not errors(at)
    assert [m.label.split(":")[0] for m in at.metric] == ["Audio only", "Video only", "Fused"]
    assert all(m.value.endswith("%") or m.value == "n/a" for m in at.metric)
    assert any("21 clips" in c.value for c in at.caption)
    # 3 clips per class: k is capped at 2 (a 5-NN vote would count 3 clips of other classes), and a warning
    # says the measure is rough
    assert all("(2-NN accuracy)" in m.label for m in at.metric)
    assert any("leave-one-out 2-NN accuracy (k below the smallest class, 3 clips) and silhouette" in c.value
               for c in at.caption)
    assert [w.value for w in at.warning if w.value.startswith("The smallest class has 3 clips")]


def test_a_corruption_moves_the_clips_and_a_chosen_point_opens_its_clip(checkpoint, sample_clip):
    at = app(PAGE)
    at.radio(key="emb_method").set_value("pca").run()
    at.selectbox(key="emb_corruption").set_value("mute").run()
    assert not at.exception and not errors(at)
    audio, video, _ = at.metric
    assert "under Mute" in audio.delta and "links" not in audio.delta
    assert any("clean → Mute" in c.value for c in at.caption)
    # a click on a corrupted point (the plotly selection callback stores it) opens the Corruption Lab muted
    at.session_state["avlab_embeddings_open"] = {"path": str(sample_clip), "label": "x", "condition": "mute:1",
                                                 "seed": 3}
    at.run()
    assert not at.exception
    assert at.session_state["avlab_clip"].path == str(sample_clip)
    assert at.session_state["avlab_corruptions"] == (("mute", 1),) and at.session_state["avlab_seed"] == 3
    assert any(t.value == "Corruption Lab" for t in at.title)


def test_muted_clips_are_one_point_and_the_caption_says_so(checkpoint):
    at = app(PAGE)
    at.radio(key="emb_method").set_value("tsne").run()
    at.selectbox(key="emb_corruption").set_value("mute").run()
    assert not at.exception and not errors(at)
    notes = [c.value for c in at.caption if "have the same embedding" in c.value]
    assert len(notes) == 1 and notes[0].startswith("Audio only, Mute") and "all 21 clips" in notes[0]
    import base64
    import json

    import numpy as np

    def values(v):  # plotly sends numeric arrays as base64 typed arrays
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]) if isinstance(v, dict) else np.asarray(v)

    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    # every muted clip's cross on the audio panel (the first) sits at one place; the clean circles do not
    points = {symbol: [(x, y) for t in figure["data"] if t.get("xaxis", "x") == "x"
                       and t.get("marker", {}).get("symbol") == symbol for x, y in zip(values(t["x"]), values(t["y"]))]
              for symbol in ("x", "circle")}
    assert len(points["x"]) == 21 and len(set(points["x"])) == 1
    assert len(points["circle"]) == 21 and len(set(points["circle"])) == 21


def test_a_clip_that_cannot_be_decoded_is_named_under_the_maps(checkpoint, sample_clip, tmp_path):
    import shutil

    from core.datasets import load_dataset

    data = load_dataset(sample_clip.parents[1])
    for sample in [s for s in data.samples if not s.is_long][:6]:
        (tmp_path / sample.label).mkdir(exist_ok=True)
        shutil.copy(sample.path, tmp_path / sample.label / sample.path.name)
    label = data.samples[0].label
    (tmp_path / label / "broken.mp4").write_bytes(sample_clip.read_bytes()[:500])
    at = app(PAGE)
    at.session_state["data_source"] = str(tmp_path)  # the sidebar's data source field
    at.radio(key="emb_method").set_value("pca").run()
    assert not at.exception and not errors(at)
    assert any(c.value.startswith("6 clips") for c in at.caption)
    assert any(c.value.startswith("1 clip could not be decoded and was left out: broken.mp4 (") for c in at.caption)


def test_a_one_level_corruption_offers_no_severity(checkpoint):
    at = app(PAGE)
    at.radio(key="emb_method").set_value("pca").run()
    at.selectbox(key="emb_corruption").set_value("gaussian_blur").run()
    assert at.slider(key="emb_severity").value == 3 and not at.slider(key="emb_severity").disabled
    at.selectbox(key="emb_corruption").set_value("mute").run()  # on or off: nothing to choose
    assert not at.exception and not errors(at)
    assert not [s for s in at.slider if s.key == "emb_severity"]
    assert "Mute has one level." in [c.value for c in at.caption]


def test_umap_compiles_once_per_server_in_a_background_thread(monkeypatch):
    import threading

    import ui.embeddings as page

    seen = []
    done = threading.Event()

    def project(x, method, *, seed=0):
        seen.append((x.shape, method, threading.current_thread().name))
        done.set()

    monkeypatch.setattr(page.emb, "project", project)
    monkeypatch.setattr(page, "_warm", {"umap": False, "started": False})
    monkeypatch.setenv("AVLAB_WARM_UMAP", "1")
    page.warm_umap_in_background()
    page.warm_umap_in_background()  # once per server process
    assert done.wait(30)
    (call,) = seen
    assert call == ((60, 16), "umap", "avlab-umap-warm-up")
    for thread in threading.enumerate():
        if thread.name == "avlab-umap-warm-up":
            thread.join(10)
    assert page._warm["umap"]
    monkeypatch.setattr(page, "_warm", {"umap": False, "started": False})
    monkeypatch.setenv("AVLAB_WARM_UMAP", "0")
    page.warm_umap_in_background()
    assert not page._warm["started"]


def test_while_umap_compiles_pca_stands_in_and_says_so(checkpoint, monkeypatch):
    import ui.embeddings as page

    monkeypatch.setattr(page, "_warm", {"umap": False, "started": True})  # the warm-up is compiling
    project = page.emb.project  # UMAP itself is tested in tests/core; here a stand-in that needs no compiling

    def fake(x, method, *, seed=0):
        return project(x, "pca", seed=seed)[:, ::-1].copy() if method == "umap" else project(x, method, seed=seed)

    monkeypatch.setattr(page.emb, "project", fake)
    at = app(PAGE)
    at.radio(key="emb_method").set_value("pca").run()
    pca = at.get("plotly_chart")[0].proto.spec
    at.radio(key="emb_method").set_value("umap").run()
    assert not at.exception and not errors(at)
    assert [i.value for i in at.info if i.value.startswith("UMAP is compiling its code")]
    assert at.get("plotly_chart")[0].proto.spec == pca  # the PCA map, as it was
    page._warm["umap"] = True  # compiled: the next run draws UMAP
    at.run()
    assert not [i.value for i in at.info if i.value.startswith("UMAP is compiling")]
    assert at.get("plotly_chart")[0].proto.spec != pca
