"""factory-av generator: what the clips mean, measured on the arrays they hold."""
from __future__ import annotations

import csv
import json
import math
from functools import lru_cache

import numpy as np
import pytest
from scipy import signal, stats

from core.media import load_clip
from core.synth import (CLASSES, SEED_BASES, SPLITS, SynthError, generate_clip, generate_long_clip, merge_manifest,
                        read_manifest, seed_range)
from core.synth.__main__ import main
from core.synth.audio import active_dbfs, dbfs, render_audio
from core.synth.params import AUDIO_RANGES, VIDEO_RANGES, luma, sample_scene
from core.synth.spec import FPS, SIZE, SR
from core.synth.video import PARTS, part_ids, pump_lowest_frames, pump_rod_offsets

TEST = SEED_BASES["test"]


@lru_cache(maxsize=None)
def clip_of(label: str, seed: int):
    return generate_clip(label, split="test", seed=seed)


def band_fraction(y: np.ndarray, lo: float, hi: float) -> float:
    f, p = signal.welch(y, SR, nperseg=1024)
    band = (f >= lo) & (f <= hi)
    return float(p[band].sum() / p.sum())


# --------------------------------------------------------------------------- API, seeds


def test_classes_splits_and_disjoint_seed_ranges():
    assert CLASSES == ("fan_normal", "fan_fault", "valve_closed", "valve_open", "valve_leak",
                       "pump_normal", "pump_cavitation")
    assert SPLITS == ("train", "val", "test")
    ranges = [set(seed_range(s)[::997]) | {seed_range(s).start, seed_range(s).stop - 1} for s in SPLITS]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not ranges[i] & ranges[j]
            assert seed_range(SPLITS[i]).stop <= seed_range(SPLITS[j]).start


def test_bad_seed_label_or_split_is_refused():
    with pytest.raises(SynthError, match="not a test seed"):
        generate_clip("fan_normal", split="test", seed=5)
    with pytest.raises(SynthError, match="Unknown label"):
        generate_clip("fan_broken", split="test", seed=TEST)
    with pytest.raises(SynthError, match="Unknown split"):
        generate_clip("fan_normal", split="dev", seed=TEST)


def test_same_split_and_seed_is_bit_identical_and_seeds_differ():
    a, pa = generate_clip("pump_cavitation", split="val", seed=1_000_123)
    b, pb = generate_clip("pump_cavitation", split="val", seed=1_000_123)
    c, _ = generate_clip("pump_cavitation", split="val", seed=1_000_124)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio) and pa == pb
    assert not np.array_equal(a.frames, c.frames) and not np.array_equal(a.audio, c.audio)


@pytest.mark.parametrize("label", CLASSES)
def test_clip_format_and_no_clipping(label):
    clip, params = clip_of(label, TEST + 1)
    assert clip.frames.shape == (80, SIZE, SIZE, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == FPS and clip.duration == 5.0 and clip.sr == SR
    assert clip.audio.shape == (5 * SR,) and clip.audio.dtype == np.float32
    assert np.abs(clip.audio).max() <= 1.0
    assert -6.0 <= params["audio"]["gain_db"] <= 6.0
    json.dumps(params)  # the manifest stores it


# --------------------------------------------------------------------------- ceilings


@pytest.mark.parametrize("pair", [("fan_normal", "fan_fault"), ("valve_closed", "valve_leak"),
                                  ("pump_normal", "pump_cavitation")])
def test_video_alone_cannot_separate_the_audio_only_pairs(pair):
    (a, pa), (b, pb) = clip_of(pair[0], TEST + 2), clip_of(pair[1], TEST + 2)
    assert pa["video"] == pb["video"]
    assert np.array_equal(a.frames, b.frames)
    assert not np.allclose(a.audio, b.audio)


def test_open_and_closed_valves_differ_only_around_the_lever():
    (closed, pc), (opened, po) = clip_of("valve_closed", TEST + 3), clip_of("valve_open", TEST + 3)
    assert pc["video"] == po["video"]
    ids = part_ids(pc["video"], n_frames=1)[0]
    changed = np.abs(closed.frames[0].astype(int) - opened.frames[0].astype(int)).max(axis=-1) > 30
    assert changed.any()
    lever = np.isin(ids, [PARTS["lever"], PARTS["knob"]]) | np.isin(
        part_ids(po["video"], n_frames=1, lever_open=np.ones(1, bool))[0], [PARTS["lever"], PARTS["knob"]])
    near = signal.convolve2d(lever, np.ones((9, 9)), mode="same") > 0  # shake and outlines move edges a little
    assert changed[~near].mean() < 0.002


def test_audio_alone_cannot_separate_open_from_leak():
    (a, pa), (b, pb) = clip_of("valve_open", TEST + 4), clip_of("valve_leak", TEST + 4)
    assert pa["audio"] == pb["audio"]
    assert np.array_equal(a.audio, b.audio)


# --------------------------------------------------------------------------- audio meaning


@pytest.mark.parametrize("seed", [TEST + 5, TEST + 6, TEST + 7])
def test_hiss_band_present_in_open_and_leak_absent_in_closed(seed):
    closed = band_fraction(clip_of("valve_closed", seed)[0].audio, 2000, 6000)
    assert closed < 0.25  # pink ambience puts at most ~18 % of its power there
    for label in ("valve_open", "valve_leak"):
        assert band_fraction(clip_of(label, seed)[0].audio, 2000, 6000) > 0.5


@pytest.mark.parametrize("seed", [TEST + 5, TEST + 6, TEST + 7])
def test_bearing_fault_adds_a_whine_and_clicks(seed):
    def whine_db(y):  # strongest line in 2-5 kHz over the band's median level
        f, p = signal.welch(y, SR, nperseg=4096)
        band = (f >= 2000) & (f <= 5000)
        return 10 * np.log10(p[band].max() / np.median(p[band]))

    def impulsiveness(y):  # kurtosis above the whine band: clicks are broadband, noise is Gaussian
        z = signal.sosfiltfilt(signal.butter(6, 5500, "highpass", fs=SR, output="sos"), y)
        return stats.kurtosis(z[SR // 10: -SR // 10], fisher=False)

    normal, fault = clip_of("fan_normal", seed)[0].audio, clip_of("fan_fault", seed)[0].audio
    assert whine_db(normal) < 12 < 25 < whine_db(fault)
    assert impulsiveness(normal) < 4.5 < 6 < impulsiveness(fault)


@pytest.mark.parametrize("seed", [TEST + 5, TEST + 6])
def test_component_levels_match_the_spec(seed):
    for label in CLASSES:
        clip, params = clip_of(label, seed)
        a = params["audio"]
        rng = np.random.default_rng(0)
        _, parts = render_audio(a, segments=[(0, 5 * SR, label)], n_samples=5 * SR, rng=rng)
        r = AUDIO_RANGES
        y, _ = parts["ambience"]
        assert r["ambience_dbfs"][0] <= dbfs(y) <= r["ambience_dbfs"][1]
        assert dbfs(y) == pytest.approx(a["ambience"]["level_dbfs"], abs=0.01)
        if "hum" in parts:
            assert r["hum_dbfs"][0] <= dbfs(parts["hum"][0]) <= r["hum_dbfs"][1]
        if "fault" in parts:
            y, clicks = parts["fault"]
            whine = dbfs(y[~clicks])
            click = 10 * np.log10(max(np.mean(y[clicks] ** 2) - 10 ** (whine / 10), 1e-12))
            together = 10 * np.log10(10 ** (whine / 10) + 10 ** (click / 10))
            below = dbfs(parts["hum"][0]) - together
            assert -0.5 <= below <= 10.5
        if "hiss" in parts:
            assert r["hiss_dbfs"][0] <= dbfs(parts["hiss"][0]) <= r["hiss_dbfs"][1]
        if "thumps" in parts:
            thump = active_dbfs(*parts["thumps"])
            assert r["thump_dbfs"][0] <= thump <= r["thump_dbfs"][1]
        if "cavitation" in parts:
            below = thump - active_dbfs(*parts["cavitation"])
            assert 6 - 0.01 <= below <= 16 + 0.01
        assert np.abs(clip.audio).max() <= 1.0


@pytest.mark.parametrize("label,seed", [("pump_normal", TEST + 12), ("pump_cavitation", TEST + 13),
                                        ("pump_normal", TEST + 14)])
def test_thumps_fall_on_the_frames_where_the_rod_is_lowest(label, seed):
    clip, params = clip_of(label, seed)
    pump = params["video"]["pump"]
    # Rod position measured on the pixels: the top of rod + head, larger y = lower.
    ids = part_ids(params["video"], n_frames=80)
    rows = np.arange(SIZE)[None, :, None]
    moving = np.isin(ids, [PARTS["rod"], PARTS["head"]])
    top = np.where(moving, rows, SIZE).min(axis=(1, 2)).astype(float)
    np.testing.assert_allclose(np.diff(top), np.diff(pump_rod_offsets(pump, n_frames=80)), atol=1.01)
    lowest = [n for n in range(80) if top[n] >= top[max(n - 1, 0)] and top[n] >= top[min(n + 1, 79)]
              and top[n] > np.median(top)]
    # Thump onsets measured on the audio: frames whose low-band energy jumps.
    low = signal.sosfilt(signal.butter(4, 200, "lowpass", fs=SR, output="sos"), clip.audio.astype(float))
    energy = (low.reshape(80, SR // FPS) ** 2).sum(axis=1)
    onsets = [n for n in range(80) if energy[n] > 20 * np.median(energy) and (n == 0 or energy[n] > 3 * energy[n - 1])]
    expected = pump_lowest_frames(pump, n_frames=80)
    assert len(onsets) == len(expected) == len(params["audio"]["thumps"]["frames"])
    for n in onsets:
        assert min(abs(n - m) for m in lowest) <= 1


# --------------------------------------------------------------------------- video meaning


def orientation_deg(mask: np.ndarray) -> float:
    """Principal axis of a binary mask from its second moments, degrees in [0, 180)."""
    y, x = np.nonzero(mask)
    x, y = x - x.mean(), y - y.mean()
    return math.degrees(0.5 * math.atan2(2 * (x * y).mean(), (x * x).mean() - (y * y).mean())) % 180


@pytest.mark.parametrize("seed", range(TEST + 20, TEST + 30))
def test_lever_orientation_measured_on_pixels_matches_the_label(seed):
    params = sample_scene("valve", np.random.default_rng(seed))
    video = params["video"]
    assert video["valve"]["lever_len"] >= video["valve"]["pipe_w"]
    for open_ in (False, True):
        ids = part_ids(video, n_frames=1, lever_open=np.array([open_]))[0]
        pipe, lever = orientation_deg(ids == PARTS["pipe"]), orientation_deg(ids == PARTS["lever"])
        diff = abs((lever - pipe + 90) % 180 - 90)  # 0 = parallel, 90 = perpendicular
        if open_:
            assert diff <= 12
        else:
            assert diff >= 78


def test_nuisance_parameters_stay_in_the_spec_ranges():
    distractors = 0
    n = 300
    for i in range(n):
        machine = ("fan", "valve", "pump")[i % 3]
        v = sample_scene(machine, np.random.default_rng(i))["video"]
        assert all(abs(c - SIZE / 2) <= 0.15 * SIZE + 1e-6 for c in v["centre"])
        assert 0.7 <= v["scale"] <= 1.1
        assert 0 <= v["shake_px"] <= 2 and 0 <= v["flicker"]["amp"] <= 0.1 and 0 <= v["noise_sigma"] <= 3
        distractors += v["distractor"] is not None
        bg = [luma(c) for c in v["background"]["colours"]]
        for part, colour in v["colours"].items():
            assert min(abs(luma(colour) - b) for b in bg) >= 0.25, part
        if machine == "fan":
            assert 3 <= v["fan"]["blades"] <= 6 and 0.5 <= v["fan"]["rev_hz"] <= 2.0
        elif machine == "valve":
            assert abs(v["valve"]["jitter_deg"]) <= VIDEO_RANGES["lever_jitter_deg"]
        else:
            assert 0.5 <= v["pump"]["stroke_hz"] <= 2.0 and 0.15 * SIZE <= v["pump"]["stroke_px"] <= 0.3 * SIZE
    assert 0.2 < distractors / n < 0.4


def test_frames_show_the_background_contrast_and_motion():
    clip, params = clip_of("fan_normal", TEST + 15)
    ids = part_ids(params["video"], n_frames=80)
    assert (ids[0] != ids[1]).any()  # the fan turns
    y = clip.frames.astype(float) @ [0.299, 0.587, 0.114] / 255
    blade, bg = ids == PARTS["blade"], ids == PARTS["background"]
    # shake moves the picture by up to 2 px, so compare interiors only
    inner = lambda m: signal.convolve2d(m, np.ones((5, 5)), mode="same") >= 25  # noqa: E731
    diffs = [abs(np.median(y[n][inner(blade[n])]) - np.median(y[n][inner(bg[n])])) for n in range(0, 80, 10)]
    assert min(diffs) >= 0.25 * 0.85  # 25 % contrast, less at most the 10 % flicker and some noise


# --------------------------------------------------------------------------- long clips


@pytest.mark.parametrize("transition", [("valve_closed", "valve_leak"), ("valve_open", "valve_closed")])
def test_long_clip_changes_state_once_between_30_and_70_percent(transition):
    clip, params = generate_long_clip(split="test", seed=TEST + 40, transition=transition)
    segments = params["segments"]
    assert 12 <= clip.duration <= 30 and clip.frames.shape[0] == round(clip.duration * FPS)
    assert clip.audio.shape[0] == round(clip.duration * SR)
    assert [s[2] for s in segments] == list(transition)
    assert segments[0][0] == 0 and segments[0][1] == segments[1][0] and segments[1][1] == clip.duration
    change = segments[0][1]
    assert 0.3 * clip.duration - 1 / FPS <= change <= 0.7 * clip.duration + 1 / FPS
    before = clip.segment(0, change - 0.1).audio
    after = clip.segment(change + 0.1, clip.duration).audio
    hiss = [band_fraction(y, 2000, 6000) > 0.5 for y in (before, after)]
    assert hiss == [t != "valve_closed" for t in transition]
    ids = part_ids(params["video"], n_frames=1, lever_open=np.array([transition[0] == "valve_open"]))[0]
    assert (ids == PARTS["lever"]).any()


def test_long_clip_keeps_machine_and_nuisances_across_the_change():
    clip, params = generate_long_clip(split="test", seed=TEST + 41, transition=("fan_normal", "fan_fault"))
    change = int(params["change_s"] * FPS)
    a = clip.frames[change - 3: change].astype(float).mean()
    b = clip.frames[change: change + 3].astype(float).mean()
    assert abs(a - b) < 5  # the picture does not jump at the change
    whine = lambda y: band_fraction(y, params["audio"]["fault"]["whine_hz"] - 30,  # noqa: E731
                                    params["audio"]["fault"]["whine_hz"] + 30)
    before = clip.segment(0, params["change_s"] - 0.1).audio
    after = clip.segment(params["change_s"] + 0.1, clip.duration).audio
    assert whine(before) < 1e-3 < whine(after)


# --------------------------------------------------------------------------- CLI, manifest


def test_cli_writes_a_merged_manifest_that_load_clip_reads(tmp_path):
    assert main(["--out", str(tmp_path), "--split", "test", "--per-class", "1", "--quiet"]) == 0
    assert main(["--out", str(tmp_path), "--split", "val", "--per-class", "0", "--long", "1", "--seed-offset", "7",
                 "--workers", "2", "--quiet"]) == 0
    with open(tmp_path / "manifest.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["path", "label", "split", "seed", "duration", "segments", "params"]
    assert len(rows) == 8 and len({r["path"] for r in rows}) == 8
    assert {r["split"] for r in rows} == {"test", "val"}
    for row in rows:
        assert not row["path"].startswith("/") and (tmp_path / row["path"]).is_file()
        assert int(row["seed"]) in seed_range(row["split"])
        json.loads(row["params"])
    val = [r for r in rows if r["split"] == "val"]
    assert sorted(int(r["seed"]) for r in val) == [1_000_007]
    standard = next(r for r in rows if r["label"] == "valve_open")
    clip = load_clip(tmp_path / standard["path"])
    assert clip.fps == pytest.approx(16) and clip.size == (160, 160)
    assert clip.duration == pytest.approx(5.0, abs=0.07) and clip.has_audio
    long = next(r for r in rows if r["segments"])
    segments = json.loads(long["segments"])
    assert long["label"] == f"{segments[0][2]}->{segments[1][2]}"
    clip = load_clip(tmp_path / long["path"])
    assert clip.duration == pytest.approx(float(long["duration"]), abs=0.07) and clip.duration >= 12
    # writing the same split again replaces rows instead of duplicating them
    again = read_manifest(tmp_path / "manifest.csv")
    merge_manifest(tmp_path, again[:3])
    assert len(read_manifest(tmp_path / "manifest.csv")) == 8
    assert not list(tmp_path.glob(".*tmp*"))


def test_cli_refuses_an_offset_past_the_split_range(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--split", "train", "--per-class", "1",
                 "--seed-offset", "999999", "--quiet"]) == 2
    assert "seed range" in capsys.readouterr().err
