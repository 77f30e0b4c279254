"""core.datasets: manifest and folder-per-class loaders on a tiny data set the test builds."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, load_dataset
from core.media import Clip, load_clip, write_clip


def _write(path, value: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.full((8, 16, 16, 3), value, np.uint8)
    write_clip(Clip(frames=frames, fps=8.0, audio=np.zeros(16_000, np.float32), duration=1.0), path)
    return path


def test_folder_per_class_ucf101_layout(tmp_path):
    for label, value in (("open", 200), ("closed", 40)):
        for i in range(2):
            _write(tmp_path / label / f"{label}_{i}.mp4", value)
    (tmp_path / "open" / "notes.txt").write_text("not a clip")
    ds = load_dataset(tmp_path)
    assert ds.classes == ("closed", "open")
    assert len(ds) == 4 and {s.split for s in ds.samples} == {""}
    # The label comes from the folder and the file really is that class's clip.
    for s in ds.samples:
        mean = load_clip(s.path).frames.mean()
        assert (mean > 120) == (s.label == "open")


def test_folder_per_class_kinetics_layout_with_splits(tmp_path):
    _write(tmp_path / "train" / "a" / "1.mp4", 10)
    _write(tmp_path / "test" / "b" / "2.mp4", 10)
    ds = load_dataset(tmp_path)
    assert {(s.split, s.label) for s in ds.samples} == {("train", "a"), ("test", "b")}
    assert len(load_dataset(tmp_path, split="test")) == 1


def test_manifest_with_relative_paths_splits_and_segments(tmp_path):
    _write(tmp_path / "clips" / "x.mp4", 10)
    _write(tmp_path / "clips" / "y.mp4", 10)
    (tmp_path / "manifest.csv").write_text(
        "path,label,split,seed,params,segments\n"
        'clips/x.mp4,fan_normal,train,3,"{""blades"": 4}",\n'
        'clips/y.mp4,fan_normal,test,7,{},"[[0, 6.5, ""fan_normal""], [6.5, 12, ""fan_fault""]]"\n'
    )
    ds = load_dataset(tmp_path)
    assert ds.classes == ("fan_fault", "fan_normal")
    x, y = ds.samples
    assert x.path == tmp_path / "clips" / "x.mp4" and x.seed == 3 and x.params == {"blades": 4}
    assert not x.is_long and y.is_long and y.segments[1] == (6.5, 12.0, "fan_fault")
    assert len(ds.split("train")) == 1 and len(ds.long()) == 1 and len(ds.standard()) == 1
    assert load_dataset(tmp_path / "manifest.csv").samples == ds.samples


@pytest.mark.parametrize("content,match", [
    ("path,split\nx.mp4,train\n", "lacks label"),
    ("path,label\n", "lists no clips"),
    ("path,label\nmissing.mp4,a\n", "missing file"),
    ("path,label,seed\nx.mp4,a,notanumber\n", "malformed"),
])
def test_bad_manifests_are_plain_sentences(tmp_path, content, match):
    (tmp_path / "manifest.csv").write_text(content)
    with pytest.raises(DatasetError, match=match):
        load_dataset(tmp_path)


def test_missing_or_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match="No data set"):
        load_dataset(tmp_path / "absent")
    with pytest.raises(DatasetError, match="no manifest"):
        load_dataset(tmp_path)
    _write(tmp_path / "a" / "1.mp4", 10)
    with pytest.raises(DatasetError, match="no clips in the 'val' split"):
        load_dataset(tmp_path, split="val")


# the copy vendored under tests/data first, else ../shared/media-cases next to the repository
MEDIA_CASES = [Path(__file__).resolve().parents[1] / "data" / "media-cases",
               Path(__file__).resolve().parents[2] / ".." / "shared" / "media-cases"]


def test_spreadsheet_manifest_with_bom_crlf_spaces_and_non_ascii_paths(tmp_path):
    """A manifest saved by a spreadsheet program (byte-order mark, CRLF, 'clips ü/fan normal 1.mp4')."""
    case = next((c / "09_manifest_bom_crlf" for c in MEDIA_CASES if (c / "09_manifest_bom_crlf").is_dir()), None)
    if case is None:
        pytest.skip("media-cases/09_manifest_bom_crlf is missing from tests/data and ../shared.")
    shutil.copytree(case, tmp_path / "case")
    raw = (tmp_path / "case" / "manifest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the case really is what it claims
    ds = load_dataset(tmp_path / "case")
    assert len(ds) == 4 and ds.classes == ("fan_fault", "fan_normal")
    assert [s.label for s in ds.samples] == ["fan_normal", "fan_normal", "fan_fault", "fan_fault"]
    assert ds.samples[0].path == tmp_path / "case" / "clips ü" / "fan normal 1.mp4"
    assert all(load_clip(s.path).frames.shape[0] > 0 for s in ds.samples)


def test_manifest_header_padding_and_blank_rows_are_tolerated(tmp_path):
    _write(tmp_path / "x.mp4", 10)
    (tmp_path / "manifest.csv").write_bytes(b"\xef\xbb\xbfpath, label\r\nx.mp4,a\r\n,\r\n")
    ds = load_dataset(tmp_path)
    assert [(s.path.name, s.label) for s in ds.samples] == [("x.mp4", "a")]


def test_loaders_name_their_layout_and_splits_keep_it(tmp_path):
    from core.datasets import Dataset, Sample, Unreadable

    _write(tmp_path / "train" / "a" / "1.mp4", 10)
    assert load_dataset(tmp_path).layout == "folders"
    (tmp_path / "manifest.csv").write_text("path,label,split\ntrain/a/1.mp4,a,train\n")
    assert load_dataset(tmp_path).layout == "manifest" and load_dataset(tmp_path, "folders").layout == "folders"
    gone = Unreadable(tmp_path / "b.mp4", "list.txt line 2 names b.mp4, which is not on disk.", label="a",
                      split="test", from_index=True)
    ds = Dataset(tmp_path, (Sample(tmp_path / "x.mp4", "a", "train"), Sample(tmp_path / "y.mp4", "a", "test")),
                 ("a",), layout="ucf101", fold=2, skipped=(gone,))
    test = ds.split("test").standard()
    assert (test.layout, test.fold, test.skipped, len(test)) == ("ucf101", 2, (gone,), 1)
    assert ds.split("train").skipped == () and ds.description == "ucf101, fold 2"


def test_one_sentence_for_undecodable_clips_one_for_clips_the_index_names(tmp_path):
    from core.datasets import Unreadable, unreadable_sentence
    from core.media import Pair

    broken = Unreadable(Pair(tmp_path / "a.flv", tmp_path / "a.wav"), "The file is empty.")
    listed = [Unreadable(tmp_path / f"{i}.avi", f"testlist01.txt line {i} names {i}.avi, which is not on disk.",
                         from_index=True) for i in range(1, 6)]
    assert unreadable_sentence([broken, *listed]) == (
        "1 clip could not be decoded and was left out: a.flv + a.wav (The file is empty). "
        "5 clips named in the data set's index files were left out: testlist01.txt line 1 names 1.avi, which is not "
        "on disk; testlist01.txt line 2 names 2.avi, which is not on disk; testlist01.txt line 3 names 3.avi, which "
        "is not on disk; and 2 more.")
    assert broken.to_dict() == {"path": f"{tmp_path / 'a.flv'} + {tmp_path / 'a.wav'}", "reason": "The file is empty."}
