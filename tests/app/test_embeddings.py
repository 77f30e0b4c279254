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
