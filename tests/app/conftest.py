"""Fixtures for the AppTest suites: the shipped checkpoints (whatever exists) and sample clips."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "checkpoints"
SAMPLES = ROOT / "sample_data"


@pytest.fixture(autouse=True)
def no_shipped_results(tmp_path_factory, monkeypatch):
    """Each test sees only the results it makes: the shipped results database is hidden (a path that does
    not exist) unless a test points it at one of its own with :func:`use_shipped`."""
    use_shipped(monkeypatch, tmp_path_factory.mktemp("no_shipped") / "results.db")
    monkeypatch.setenv("AVLAB_WARM_UMAP", "0")  # no UMAP compiling behind every test (ui.embeddings)


def use_shipped(monkeypatch, path) -> None:
    """Make ``path`` the shipped results database for this test (opened read-only, as the real one)."""
    import core.results.database
    import ui.robustness

    monkeypatch.setattr(core.results.database, "SHIPPED_DB", Path(path))
    monkeypatch.setattr(ui.robustness, "SHIPPED_DB", Path(path))


def app(page: str | None = None) -> AppTest:
    """The whole app (frame + navigation); ``page`` switches to one of its pages."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    if page is not None:
        at.switch_page(page).run()
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    found = sorted(p.parent for p in CHECKPOINTS.glob("*/config.json") if (p.parent / "model.safetensors").exists())
    if not found:
        pytest.skip("No checkpoint under checkpoints/ (train one, or copy one there) to drive the pages with.")
    return found[0]


@pytest.fixture()
def two_checkpoints(checkpoint, tmp_path, monkeypatch) -> Path:
    """A checkpoints folder holding the real checkpoint twice (as ``first`` and ``second``)."""
    import ui.models

    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        shutil.copy(checkpoint / "config.json", tmp_path / name / "config.json")
        (tmp_path / name / "model.safetensors").symlink_to(checkpoint / "model.safetensors")
    (tmp_path / "DEFAULT").write_text("first\n")
    monkeypatch.setattr(ui.models, "CHECKPOINTS", tmp_path)
    return tmp_path


def _sample(long: bool) -> Path:
    from core.datasets import load_dataset

    if not (SAMPLES / "manifest.csv").exists():
        pytest.skip("sample_data/manifest.csv is missing; generate it with python -m core.synth.")
    data = load_dataset(SAMPLES)
    return next(s.path for s in data.samples if s.is_long == long)


@pytest.fixture(scope="session")
def sample_clip() -> Path:
    return _sample(long=False)


@pytest.fixture(scope="session")
def long_clip() -> Path:
    return _sample(long=True)
