"""core.access: which folders a served dashboard may read (symlinks, '..', prefix tricks), which models it may
load, and when it is restricted."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core import access
from core.datasets import Dataset, Sample, Unreadable
from core.media import Pair


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """root/ (a clip, a link to outside/, a link to a file outside), root2/, outside/."""
    for folder in ("root/sub", "root2", "outside"):
        (tmp_path / folder).mkdir(parents=True)
    for name in ("root/sub/a.mp4", "root2/b.mp4", "outside/secret.mp4"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "root" / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    (tmp_path / "root" / "secret_link.mp4").symlink_to(tmp_path / "outside" / "secret.mp4")
    (tmp_path / "alias").symlink_to(tmp_path / "root", target_is_directory=True)
    return tmp_path


def test_within_a_root_and_below_it(tree):
    roots = [tree / "root"]
    assert access.within(tree / "root", roots)
    assert access.within(tree / "root" / "sub" / "a.mp4", roots)
    assert access.within(tree / "root" / "not-yet-there", roots)  # need not exist
    assert not access.within(tree / "outside" / "secret.mp4", roots)
    assert not access.within(tree, roots)  # the root's parent


def test_a_prefix_of_a_name_is_not_a_parent(tree):
    assert not access.within(tree / "root2" / "b.mp4", [tree / "root"])
    assert not access.within(str(tree / "root") + "2", [str(tree / "root")])
    assert access.within(tree / "root2", [tree / "root", tree / "root2"])


def test_dot_dot_cannot_climb_out(tree):
    roots = [tree / "root"]
    assert not access.within(tree / "root" / ".." / "outside" / "secret.mp4", roots)
    assert not access.within(tree / "root" / "sub" / ".." / ".." / "root2", roots)
    assert access.within(tree / "root" / "sub" / ".." / "sub" / "a.mp4", roots)  # climbs, stays inside
    assert not access.within(f"{tree}/root/../root2/b.mp4", [f"{tree}/root"])


def test_symlinks_are_judged_by_where_they_point(tree):
    roots = [tree / "root"]
    assert not access.within(tree / "root" / "escape", roots)  # a folder link out of the root
    assert not access.within(tree / "root" / "escape" / "secret.mp4", roots)
    assert not access.within(tree / "root" / "secret_link.mp4", roots)  # a file link out of the root
    assert access.within(tree / "alias" / "sub" / "a.mp4", roots)  # a link from outside into the root
    assert access.within(tree / "root" / "sub", [tree / "alias"])  # a root named through a link


def test_no_roots_allow_nothing(tree):
    assert not access.within(tree / "root", [])


def test_roots_from_a_variable(tmp_path):
    value = os.pathsep.join([str(tmp_path / "a"), "", "  ", str(tmp_path / "b")])
    assert access.roots_from(value) == (tmp_path / "a", tmp_path / "b")
    assert access.roots_from("", [Path("/x")]) == (Path("/x"),)
    assert access.roots_from(None) == ()
    assert access.data_roots({}) == access.DEFAULT_DATA_ROOTS
    assert access.DEFAULT_DATA_ROOTS == (access.REPO / "sample_data", access.REPO / "results")
    assert access.data_roots({"AVLAB_DATA_ROOTS": str(tmp_path)}) == (tmp_path,)
    assert access.model_roots({"AVLAB_MODELS": str(tmp_path)}) == (access.SHIPPED_MODELS, tmp_path)


@pytest.mark.parametrize("address, loopback", [
    (None, False), ("", False), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("10.0.0.1", False),
    ("avlab.example.org", False), ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LOCALHOST", True),
])
def test_loopback_addresses(address, loopback):
    assert access.is_loopback(address) is loopback
    assert access.restricted(address, {}) is (not loopback)


def test_restrict_variable_turns_restriction_on_only():
    assert access.restricted("127.0.0.1", {"AVLAB_RESTRICT": "1"})
    assert access.restricted("127.0.0.1", {"AVLAB_RESTRICT": "yes"})
    assert not access.restricted("127.0.0.1", {"AVLAB_RESTRICT": "0"})
    assert access.restricted("0.0.0.0", {"AVLAB_RESTRICT": "0"})  # listening on every interface: always


def test_refusal_names_the_roots_not_the_path(tree):
    sentence = access.refusal([tree / "root"])
    assert sentence == (f"This server reads data only from its allowed folders ({tree / 'root'}); name a folder "
                        "inside one of them, or ask whoever runs the server to add yours to AVLAB_DATA_ROOTS.")
    assert "outside" not in sentence and "secret" not in sentence


def test_keep_within_drops_clips_and_entries_outside(tree):
    inside, link = tree / "root" / "sub" / "a.mp4", tree / "root" / "secret_link.mp4"
    outside = tree / "outside" / "secret.mp4"
    data = Dataset(root=tree / "root", classes=("a", "b"), samples=(
        Sample(inside, "a"), Sample(link, "b"), Sample(outside, "b"),
        Sample(inside, "a", audio_path=outside), Sample(inside, "b", audio_path=inside)),
        skipped=(Unreadable(outside, "gone"), Unreadable(Pair(inside, outside), "gone"), Unreadable(inside, "bad")))
    kept = access.keep_within(data, [tree / "root"])
    assert [(s.path, s.audio_path) for s in kept.samples] == [(inside, None), (inside, inside)]
    assert [u.path for u in kept.skipped] == [inside]
    assert kept.classes == data.classes and kept.root == data.root


def _python_model(folder: Path, entry: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "avlab.json").write_text(json.dumps({"format": "python", "classes": ["a", "b"], "entry": entry}))
    return folder


def test_a_python_model_is_loaded_only_from_the_model_roots(tree):
    models = tree / "models"
    (tree / "outside" / "code.py").write_text("raise SystemExit('never imported')\n")
    (models / "good").mkdir(parents=True)
    (models / "good" / "code.py").write_text("def build(raw):\n    return None\n")
    good = _python_model(models / "good", "code.py:build")
    climbing = _python_model(models / "climbing", "../../outside/code.py:build")
    (models / "linked").mkdir()
    (models / "linked" / "code.py").symlink_to(tree / "outside" / "code.py")
    linked = _python_model(models / "linked", "code.py:build")
    roots = [access.SHIPPED_MODELS, models]
    for restricted in (False, True):
        assert access.model_refusal(good, roots, restricted=restricted) is None
        for spec in (climbing, linked):
            sentence = access.model_refusal(spec, roots, restricted=restricted)
            assert sentence == (f"The model {spec.name} is not offered: its code would be read from outside the "
                                "folders models may be loaded from (the shipped checkpoints and AVLAB_MODELS).")
    # a python model anywhere else is refused as a whole
    elsewhere = _python_model(tree / "outside" / "m", "../code.py:build")
    assert access.model_refusal(elsewhere, roots, restricted=False) is not None


def test_other_formats_outside_the_roots_are_refused_only_when_restricted(tree):
    models = tree / "models"
    models.mkdir()
    (tree / "outside" / "net.onnx").write_bytes(b"onnx")
    (models / "net.avlab.json").write_text(json.dumps({"format": "onnx", "classes": ["a", "b"],
                                                       "file": "../outside/net.onnx"}))
    spec = models / "net.avlab.json"
    fmt, files = access.model_files(spec)
    assert fmt == "onnx" and models / "../outside/net.onnx" in files
    assert access.model_refusal(spec, [models], restricted=False) is None
    assert access.model_refusal(spec, [models], restricted=True) == (
        "The model net.avlab.json is not offered: its files would be read from outside the folders models may be "
        "loaded from (the shipped checkpoints and AVLAB_MODELS).")


def test_shipped_checkpoints_are_within_the_model_roots():
    found = sorted(p.parent for p in access.SHIPPED_MODELS.glob("*/config.json"))
    if not found:
        pytest.skip("no shipped checkpoint")
    assert access.model_refusal(found[0], access.model_roots({}), restricted=True) is None
