"""core.datasets layouts: tiny copies of each published data set, loaded with exact labels, splits and folds;
broken index files named by file and line; separate audio and video files in sync; the default model evaluated
and a sweep run on copies."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from core.datasets import LAYOUTS, DatasetError, load_dataset, recognise, unreadable_sentence
from core.media import Clip, MediaError, Pair, load_clip, write_clip
from tests.core.layout_copies import (
    CLASSES, make_crema_d, make_dcase, make_kinetics, make_mimii, make_ucf101, make_vggsound, sample_clips, write_wav,
)

if not (Path(__file__).resolve().parents[2] / "sample_data" / "manifest.csv").is_file():
    pytest.skip("sample_data is missing; generate it with python -m core.synth.", allow_module_level=True)


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    root = tmp_path_factory.mktemp("UCF101")
    return root, make_ucf101(root)


@pytest.fixture(scope="module")
def dcase(tmp_path_factory):
    root = tmp_path_factory.mktemp("TAU-urban-audio-visual-scenes-2021-development")
    return root, make_dcase(root)


def _by_name(dataset, root):
    return {s.path.relative_to(root).as_posix(): (s.label, s.split) for s in dataset.samples}


# ----------------------------------------------------------------------------- each layout, loaded exactly

def test_ucf101_three_official_folds(ucf):
    root, expected = ucf
    assert recognise(root) == "ucf101"
    for fold in (1, 2, 3):
        ds = load_dataset(root, fold=fold)
        assert (ds.layout, ds.fold, ds.skipped) == ("ucf101", fold, ())
        assert ds.classes == tuple(sorted(CLASSES))
        want = {f"UCF-101/{rel}": (lab, split) for split in ("train", "test") for rel, lab in expected[fold][split].items()}
        assert _by_name(ds, root) == want
    test = load_dataset(root, "ucf101", "test", fold=2)
    assert {s.params["group"] for s in test.samples} == {2} and len(test) == 3
    with pytest.raises(DatasetError, match="folds 1, 2 and 3; there is no fold 4"):
        load_dataset(root, fold=4)


def test_ucf101_broken_lists_name_the_file_and_line_and_the_other_clips_load(tmp_path):
    make_ucf101(tmp_path)
    lists = tmp_path / "ucfTrainTestlist"
    test = lists / "testlist01.txt"
    test.write_bytes(test.read_bytes() + b"fan_fault/v_fan_fault_g09_c01.avi\r\npump_normal/v_pump_normal_g01_c01.avi\r\n")
    ds = load_dataset(tmp_path, split="test")
    assert len(ds) == 3  # the three clips of group 1 that are there
    assert [u.reason for u in ds.skipped] == [
        "ucfTrainTestlist/testlist01.txt line 4 names fan_fault/v_fan_fault_g09_c01.avi, which is not on disk.",
        "ucfTrainTestlist/testlist01.txt line 5 names pump_normal/v_pump_normal_g01_c01.avi, whose class pump_normal "
        "is not in classInd.txt."]
    assert unreadable_sentence(ds.skipped).startswith(
        "2 clips named in the data set's index files were left out: ucfTrainTestlist/testlist01.txt line 4 names")
    assert load_dataset(tmp_path, split="train").skipped == ()  # each split reports its own lines


def test_kinetics_annotations_both_downloader_arrangements_missing_clips_and_class_subsets(tmp_path):
    made = make_kinetics(tmp_path)
    ds = load_dataset(tmp_path)
    assert ds.layout == "kinetics" and ds.fold is None
    assert {s.params["youtube_id"]: (s.label, s.split) for s in ds.samples} == made["clips"]
    assert [u.reason for u in ds.skipped] == [
        f"annotations/train.csv line {made['missing_line']} names gone0000000 (gone0000000_000900_000910), which is "
        "not on disk."]
    # Kinetics-Sounds style: a class list beside the data, or passed in
    (tmp_path / "sounds.txt").write_text("# the classes with sound\nfan_normal\nvalve_open\n")
    (tmp_path / "avlab-data.json").write_text(json.dumps({"classes": "sounds.txt"}))
    subset = load_dataset(tmp_path)
    assert subset.classes == ("fan_normal", "valve_open") and {s.label for s in subset.samples} == set(subset.classes)
    assert subset.skipped == ()  # the missing clip is a fan_fault one
    assert len(load_dataset(tmp_path, classes=["fan_fault"])) == 3
    # another downloader's names: the pattern is configurable
    for clip in list(tmp_path.rglob("*.mp4")):
        clip.rename(clip.with_name(clip.name.split("_0")[0] + ".mp4"))
    renamed = load_dataset(tmp_path, pattern="{youtube_id}", classes=list(CLASSES))
    assert len(renamed) == len(made["clips"])
    with pytest.raises(DatasetError, match="None of the clips the kinetics index lists is on disk"):
        load_dataset(tmp_path, classes=list(CLASSES))


def test_vggsound_csv_without_header_and_quoted_labels(tmp_path):
    expected = make_vggsound(tmp_path)
    ds = load_dataset(tmp_path)
    assert ds.layout == "vggsound"
    assert {s.params["youtube_id"]: (s.label, s.split) for s in ds.samples} == expected
    assert "fan, faulty" in ds.classes and {s.split for s in ds.samples} == {"train", "test"}


def test_dcase2021_1b_pairs_from_meta_and_the_fold1_setup(dcase):
    root, expected = dcase
    ds = load_dataset(root)
    assert (ds.layout, ds.fold, ds.skipped) == ("dcase2021-1b", 1, ())
    got = {s.path.stem: (s.label, s.split) for s in ds.samples}
    assert got == {name: (label, split) for name, (label, split, _) in expected.items()}
    for s in ds.samples:
        assert isinstance(s.source, Pair) and s.audio_path == root / "audio" / f"{s.path.stem}.wav"
        assert s.name == f"{s.path.stem}.mp4 + {s.path.stem}.wav"
        assert s.params["identifier"].startswith("lisbon-")
    with pytest.raises(DatasetError, match="one official fold"):
        load_dataset(root, fold=2)


def test_dcase_unknown_scene_label_and_missing_file_are_named_by_line(tmp_path):
    expected = make_dcase(tmp_path)
    first = next(iter(expected))
    (tmp_path / "audio" / f"{first}.wav").unlink()
    setup = tmp_path / "evaluation_setup" / "fold1_evaluate.csv"
    setup.write_text(setup.read_text() + f"audio/{first}.wav\tvideo/{first}.mp4\tbeach\n")
    ds = load_dataset(tmp_path)
    n_eval = sum(split == "test" for _, split, _ in expected.values())
    assert [u.reason for u in ds.skipped] == [
        f"evaluation_setup/fold1_train.csv line 2 names audio/{first}.wav, which is not on disk.",
        f"evaluation_setup/fold1_evaluate.csv line {n_eval + 2} gives video/{first}.mp4 the scene label 'beach', "
        "which meta.csv does not have."]
    assert len(ds) == len(expected) - 1


def test_crema_d_pairs_labels_from_the_third_field(tmp_path):
    expected = make_crema_d(tmp_path)
    (tmp_path / "AudioWAV" / "1099_DFA_SAD_XX.wav").write_bytes((tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav").read_bytes())
    (tmp_path / "AudioWAV" / "1098_DFA_BOR_XX.wav").write_bytes(b"")
    ds = load_dataset(tmp_path)
    assert ds.layout == "crema-d" and ds.classes == ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
    assert {s.path.stem: s.label for s in ds.samples} == expected
    assert all(s.path.suffix == ".flv" and s.audio_path.suffix == ".wav" for s in ds.samples)
    assert [u.reason for u in ds.skipped] == [
        "AudioWAV/1098_DFA_BOR_XX.wav does not follow <actor>_<sentence>_<emotion>_<level>: its third field 'BOR' "
        "is not one of ANG, DIS, FEA, HAP, NEU, SAD.",
        "AudioWAV/1099_DFA_SAD_XX.wav has no video file of the same name in VideoFlash/."]
    assert {s.params["actor"] for s in ds.samples} == {str(1001 + i) for i in range(6)}


def test_mimii_labels_baseline_splits_and_eight_channel_audio(tmp_path):
    expected = make_mimii(tmp_path)
    ds = load_dataset(tmp_path)
    assert ds.layout == "mimii"
    assert _by_name(ds, tmp_path) == expected
    assert {s.params["snr_db"] for s in ds.samples} == {6, -6}
    clip = load_clip(ds.samples[0].path)
    assert not clip.has_video and clip.audio.shape == (16_000,) and clip.metadata["channels"] == 8


def test_manifest_audio_path_and_video_path_columns(tmp_path):
    s = sample_clips()[0]
    write_clip(load_clip(s.path).replace(audio=np.zeros(0, np.float32)), tmp_path / "v.mp4")
    write_wav(tmp_path / "a.wav", np.zeros(16_000 * 5))
    (tmp_path / "manifest.csv").write_text("video_path,audio_path,label,split\nv.mp4,a.wav,fan_normal,test\n"
                                           ",a.wav,fan_normal,test\n")
    pair, sound = load_dataset(tmp_path).samples
    assert pair.source == Pair(tmp_path / "v.mp4", tmp_path / "a.wav") and sound.source == tmp_path / "a.wav"
    (tmp_path / "a.wav").unlink()
    with pytest.raises(DatasetError, match="missing file"):
        load_dataset(tmp_path)


def test_forced_layout_and_unknown_names(ucf, tmp_path):
    root, _ = ucf
    with pytest.raises(DatasetError, match="no Kinetics annotation CSV"):
        load_dataset(root, "kinetics")
    with pytest.raises(DatasetError, match="There is no data set layout called 'ucf'"):
        load_dataset(root, "ucf")
    with pytest.raises(DatasetError, match="has no official folds"):
        load_dataset(root, "folders", fold=1)
    assert load_dataset(root / "UCF-101", "folders").layout == "folders"  # the videos alone: a folder per class
    assert set(LAYOUTS) == {"manifest", "ucf101", "dcase2021-1b", "vggsound", "kinetics", "crema-d", "mimii", "folders"}


# ----------------------------------------------------------------------------- separate files stay in sync

def _flash_and_click(tmp_path, *, audio_seconds: float, sr: int = 48_000):
    """A 4 s video, white at exactly 2.0 s (frame 50 at 25 fps), no sound; a stereo WAV, a click at exactly 2.0 s."""
    frames = np.zeros((100, 32, 32, 3), np.uint8)
    frames[50] = 255
    write_clip(Clip(frames=frames, fps=25.0, audio=np.zeros(0, np.float32), duration=4.0), tmp_path / "flash.mp4")
    y = np.zeros((int(audio_seconds * sr), 2), np.float32)
    y[2 * sr: 2 * sr + 48] = 0.9
    return Pair(tmp_path / "flash.mp4", write_wav(tmp_path / "click.wav", y, sr))


def test_a_flash_and_a_click_at_the_same_time_in_two_files_come_out_together(tmp_path):
    clip = load_clip(_flash_and_click(tmp_path, audio_seconds=4.2))
    flash = int(np.argmax(clip.frames.mean(axis=(1, 2, 3)))) / clip.fps
    click = int(np.argmax(np.abs(clip.audio))) / clip.sr
    assert flash == 2.0 and abs(click - flash) <= 1 / clip.fps
    assert clip.duration == 4.0 and clip.audio.shape == (64_000,)  # the sound cut to the picture's length
    meta = clip.metadata
    assert meta["video_source"] == str(tmp_path / "flash.mp4") and meta["audio_source"] == str(tmp_path / "click.wav")
    assert (meta["audio_duration"], meta["video_duration"], meta["container"]) == (4.2, 4.0, "mov,mp4,m4a,3gp,3g2,mj2 + wav")


def test_pair_durations_too_far_apart_are_not_one_recording(tmp_path):
    with pytest.raises(MediaError, match=r"The video file flash.mp4 lasts 4.00 s and the audio file click.wav "
                                         r"5.20 s: more than 0.5 s apart, so they are not one recording."):
        load_clip(_flash_and_click(tmp_path, audio_seconds=5.2))
    with pytest.raises(MediaError, match=r"No file named .* was found \(the audio file nowhere.wav of the pair\)"):
        load_clip(Pair(tmp_path / "flash.mp4", tmp_path / "nowhere.wav"))


# ----------------------------------------------------------------------------- evaluate and sweep on copies

def test_evaluate_the_default_model_on_ucf101_and_dcase_copies_as_on_the_files(ucf, dcase, capsys):
    from core.evaluate import main
    from core.inference import Predictor

    predictor = Predictor.load(None, device="cpu")
    root, _ = ucf
    assert main(["--data", str(root), "--fold", "2", "--split", "test", "--json", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["layout"], result["fold"], result["n"], result["n_skipped"]) == ("ucf101", 2, 3, 0)
    # the pairs (each clip's picture from its MP4, its sound from a WAV of it) score as the original files
    droot, expected = dcase
    ds = load_dataset(droot, split="test")
    pairs = [p.probs["fused"] for p in predictor.predict_batch([load_clip(s.source) for s in ds.samples])]
    files = [p.probs["fused"] for p in predictor.predict_batch([load_clip(expected[s.path.stem][2]) for s in ds.samples])]
    np.testing.assert_allclose(pairs, files, atol=2e-3)
    assert main(["--data", str(droot), "--layout", "dcase2021-1b", "--split", "test", "--device", "cpu"]) == 0
    assert capsys.readouterr().out.startswith(f"3 clips from {droot} (dcase2021-1b, fold 1) with ")


def test_two_corruption_sweep_on_the_dcase_pairs(dcase, tmp_path):
    from core.corruptions import apply_many, clip_seed
    from core.experiments import ExperimentConfig, run_experiment
    from core.inference import Predictor
    from core.results import ResultsDB

    root, _ = dcase
    config = ExperimentConfig(data=str(root), split="test", corruptions=("mute", "audio_gaussian_noise"),
                              severities=(3,), seed=5, batch_size=4)
    eid = run_experiment(config, db=tmp_path / "r.db", device="cpu")
    with ResultsDB(tmp_path / "r.db") as db:
        rows = db.predictions(eid)
        exp = db.get_experiment(eid)
    assert exp["config"]["data_layout"] == "dcase2021-1b, fold 1" and not exp["skipped"]
    noisy = rows[(rows["condition"] == "audio_gaussian_noise:3") & (rows["head"] == "audio")].sort_values("clip_idx")
    assert len(noisy) == 3 and all(" + " in p for p in noisy["clip_path"])
    # the stored rows are the pair's clip corrupted by the one seeding rule, on the pair's name
    predictor = Predictor.load(None, device="cpu")
    samples = load_dataset(root, split="test").samples
    clips = [apply_many(load_clip(s.source), [("audio_gaussian_noise", 3)], seed=clip_seed(5, s.name)) for s in samples]
    want = np.stack([p.probs["audio"] for p in predictor.predict_batch(clips)])
    np.testing.assert_allclose(np.stack(noisy["probs"]), want, atol=2e-3)


def test_a_training_config_points_at_a_layout(ucf, tmp_path):
    from core.training import TrainingConfig, ensure_data
    from core.training.data import split_for

    root, expected = ucf
    (tmp_path / "ucf.yaml").write_text(f"name: ucf\ndata: {root}\nfold: 2\nsplits: {{val: test}}\n"
                                       "model: {fusion: concat}\n")
    config = TrainingConfig.from_file(tmp_path / "ucf.yaml")
    assert config.splits == {"train": "train", "val": "test", "test": "test"}
    dataset = ensure_data(config)  # read as it ships: nothing generated
    assert (dataset.layout, dataset.fold) == ("ucf101", 2) and not (root / "manifest.csv").exists()
    assert len(split_for(dataset, config, "val")) == len(expected[2]["test"])
    with pytest.raises(ValueError, match=r"has no clips in the 'val' split that the config uses for val; its splits "
                                         r"are 'test', 'train' \(map another with splits: \{val: \.\.\.\}\)"):
        split_for(dataset, dataclasses.replace(config, splits={"train": "train", "val": "val", "test": "test"}), "val")
