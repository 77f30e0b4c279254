"""A user's own TorchScript model in a real browser: found through AVLAB_MODELS, picked in the sidebar,
run in the Corruption Lab, muted."""
from __future__ import annotations

import json

import pytest
import torch

from tests.core.test_loaders import CLASSES, TinyAV, example_inputs
from tests.e2e.conftest import screenshot, streamlit_server, wait_idle
from tests.e2e.test_predict_lab import METRIC, _go, _metrics, _toggle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def user_app(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("my_models")
    torch.jit.trace(TinyAV(1).eval(), example_inputs()).save(str(folder / "tiny.pt"))
    (folder / "tiny.avlab.json").write_text(json.dumps({
        "format": "torchscript", "classes": CLASSES, "outputs": ["fused"],
        "video": {"frames": 4, "size": 32, "mean": [0.45] * 3, "std": [0.225] * 3},
        "audio": {"sample_rate": 16000, "seconds": 5.0}}))
    log = tmp_path_factory.mktemp("streamlit_user") / "streamlit.log"
    with streamlit_server(log, env={"AVLAB_MODELS": str(folder)}) as url:
        yield url


def test_pick_a_torchscript_model_and_run_the_lab(browser, user_app):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(user_app)
        wait_idle(page, timeout_ms=120_000)
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name="tiny", exact=True).click()
        wait_idle(page)
        _go(page, "Corruption Lab")
        page.locator(METRIC).nth(2).wait_for(timeout=60_000)
        metrics = _metrics(page)
        assert "by ablation" in metrics[0] and "by ablation" in metrics[1] and "by ablation" not in metrics[2]
        assert page.get_by_text("model tiny").count() >= 1
        _toggle(page, "Mute (microphone dead)", "Audio only (missing)")
        assert "no input" in _metrics(page)[0] and "uniform" not in _metrics(page)[0]
        screenshot(page, "user_model_lab_muted")
    finally:
        context.close()
