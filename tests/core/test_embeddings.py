"""core.embeddings: known answers for the separation scores, maps of clusters that must stay apart,
balanced selection, and extraction with an untrained model on a few sample clips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import embeddings as emb
from core.datasets import Sample

ROOT = Path(__file__).resolve().parents[2]


def _clusters(n_per=20, k=3, dim=16, spread=0.1, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 10
    labels = np.repeat([f"c{i}" for i in range(k)], n_per)
    x = centres[np.repeat(np.arange(k), n_per)] + rng.normal(size=(k * n_per, dim)) * spread
    return x.astype(np.float32), labels


def test_separation_of_far_apart_clusters_is_perfect():
    x, y = _clusters()
    s = emb.separation(x, y)
    assert s["knn_accuracy"] == 1.0 and s["silhouette"] > 0.95


def test_separation_of_shuffled_labels_is_near_chance():
    x, y = _clusters(n_per=40)
    shuffled = np.random.default_rng(1).permutation(y)
    s = emb.separation(x, shuffled)
    assert s["knn_accuracy"] < 0.6 and s["silhouette"] < 0.1


def test_separation_knn_by_hand_and_undefined_cases():
    # points on a line: a at 0, 1, 2 and 12.5 (an outlier among the b's); b at 10, 11, 12, 13
    x = np.array([[0.0], [1.0], [2.0], [12.5], [10.0], [11.0], [12.0], [13.0]])
    y = ["a", "a", "a", "a", "b", "b", "b", "b"]
    # k=1: 12.5 (nearest 12 or 13), 12 (nearest 12.5) and 13 (nearest 12.5) are wrong
    assert emb.separation(x, y, k=1)["knn_accuracy"] == pytest.approx(5 / 8)
    # k=3: only 12.5 is wrong (12, 13, 11: all b); 12 votes a, b, b and 13 votes a, b, b (right)
    s = emb.separation(x, y, k=3)
    assert s["knn_accuracy"] == pytest.approx(7 / 8) and s["k"] == 3 and s["measure"] == "leave-one-out 3-NN accuracy"
    assert s["smallest_class"] == 4 and "smallest class has 4 clips" in s["warning"]
    assert np.isnan(emb.separation(x, ["a"] * 8)["knn_accuracy"])  # one class: nothing to separate
    assert np.isnan(emb.separation(x[:2], y[:2])["silhouette"])


def test_k_stays_below_the_smallest_class_so_separate_clusters_score_100_percent():
    """Seven perfectly separate clusters of 3 clips: 5-NN would count 2 clips of the class and 3 of others
    (the issue's 52 %); k is capped at 3 - 1 = 2, and the warning says the classes are small."""
    x, y = _clusters(n_per=3, k=7, spread=0.01)
    s = emb.separation(x, y)
    assert s["k"] == 2 and s["knn_accuracy"] == 1.0 and s["silhouette"] > 0.95
    assert s["measure"] == "leave-one-out 2-NN accuracy"
    assert s["warning"].startswith("The smallest class has 3 clips") and "one clip moves the accuracy by 4.8 points" \
        in s["warning"]
    uncapped = emb.separation(x, y, k=5)
    assert uncapped["k"] == 2  # the requested 5 is capped as well
    big = emb.separation(*_clusters(n_per=6, k=7, spread=0.01))
    assert big["k"] == 5 and big["warning"] is None and big["knn_accuracy"] == 1.0


def test_a_class_of_one_clip_has_no_knn_accuracy_and_a_warning_saying_why():
    x, y = _clusters(n_per=4, k=3)
    y = ["lonely", *y[1:]]
    s = emb.separation(x, y)
    assert s["k"] == 0 and np.isnan(s["knn_accuracy"]) and not np.isnan(s["silhouette"])
    assert s["warning"].startswith("A class with a single clip (lonely)")


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])  # umap's first call compiles (~20 s)
def test_maps_keep_clusters_apart_and_are_deterministic(method):
    x, y = _clusters(n_per=15)
    xy = emb.project(x, method, seed=0)
    assert xy.shape == (45, 2) and xy.dtype == np.float32
    assert emb.separation(xy, y)["knn_accuracy"] == 1.0
    np.testing.assert_allclose(emb.project(x, method, seed=0), xy)


def test_pca_map_of_a_line_keeps_its_order_and_tiny_sets_do_not_fail():
    x = np.outer(np.arange(10.0), np.ones(4)).astype(np.float32)
    first = emb.project(x, "pca")[:, 0]
    assert np.all(np.diff(first) > 0) or np.all(np.diff(first) < 0)
    assert emb.project(x[:2], "umap").shape == (2, 2)
    assert emb.project(np.zeros((5, 3)), "tsne").shape == (5, 2)
    with pytest.raises(ValueError, match="one of"):
        emb.project(x, "lda")


def test_project_pair_puts_both_sets_in_one_space():
    x, _ = _clusters(n_per=10)
    a, b = emb.project_pair(x, x + 0.01, "pca")
    assert a.shape == b.shape == (30, 2)
    assert np.abs(a - b).max() < 0.1  # barely moved clips stay put


def test_select_keeps_every_class_when_cut_down():
    samples = [Sample(Path(f"{c}{i}.mp4"), c, split="test" if i % 2 else "train") for c in "abc" for i in range(10)]
    samples.append(Sample(Path("long.mp4"), "a", segments=((0, 5, "a"), (5, 10, "b"))))
    picked = emb.select(samples, limit=6)
    assert len(picked) == 6 and sorted({s.label for s in picked}) == ["a", "b", "c"]
    assert picked == sorted(picked, key=samples.index)  # data-set order kept
    assert all(s.split == "test" for s in emb.select(samples, split="test"))
    assert len(emb.select(samples)) == 30  # the timeline clip is left out


@pytest.fixture(scope="module")
def tiny():
    import torch

    from core.datasets import load_dataset
    from core.inference import Predictor
    from core.models import AVModel, LoadedCheckpoint, ModelConfig

    if not (ROOT / "sample_data" / "manifest.csv").exists():
        pytest.skip("sample_data/manifest.csv is missing; generate it with python -m core.synth.")
    data = load_dataset(ROOT / "sample_data")
    torch.manual_seed(0)
    model = AVModel(ModelConfig(num_classes=len(data.classes), video_kwargs={"num_frames": 4, "size": 32}))
    predictor = Predictor(LoadedCheckpoint(model=model.eval(), config=model.config, classes=list(data.classes),
                                           metadata={}))
    return predictor, emb.select(data.samples, limit=3)


def test_extract_gives_three_embeddings_and_a_corruption_moves_only_its_branch(tiny):
    predictor, samples = tiny
    clean = emb.extract(predictor, samples, batch_size=2)
    assert len(clean) == 3 and clean.condition == "clean"
    assert {h: v.shape[0] for h, v in clean.embeddings.items()} == {"audio": 3, "video": 3, "fused": 3}
    assert clean.probs["fused"].shape == (3, len(predictor.classes)) and clean.present.all()
    blurred = emb.extract(predictor, samples, corruption=("gaussian_blur", 5))
    assert blurred.condition == "gaussian_blur:5"
    np.testing.assert_allclose(blurred.embeddings["audio"], clean.embeddings["audio"], atol=1e-5)
    assert np.abs(blurred.embeddings["video"] - clean.embeddings["video"]).max() > 1e-3
    muted = emb.extract(predictor, samples, corruption=("mute", 1))
    assert not muted.present[:, 0].any() and muted.present[:, 1].all()
    assert list(clean.predicted("fused")) == [predictor.classes[i] for i in clean.probs["fused"].argmax(1)]


def test_duplicates_finds_exact_and_float_noise_copies_only():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 16)).astype(np.float32)
    x[5] = x[1]  # an exact copy
    x[7] = x[1] * (1 + 1e-7)  # the same input encoded in a batch of another size
    x[6] = x[2] + 1e-3  # a different clip, close by
    assert list(emb.duplicates(x)) == [0, 1, 2, 3, 4, 1, 6, 1]
    assert list(emb.duplicates(np.zeros((4, 3)))) == [0, 0, 0, 0]
    assert list(emb.duplicates(np.zeros((0, 3)))) == []


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_identical_inputs_land_on_one_point_and_distinct_ones_still_spread(method):
    """Muted clips share one audio embedding: one point, not a smear over the map."""
    x, y = _clusters(n_per=15)
    muted = np.tile(np.linspace(-1, 1, 16, dtype=np.float32), (12, 1))  # (12, 16) one embedding, 12 times
    muted[::2] *= np.float32(1 + 1e-7)  # as a batch of another size computes it
    xy = emb.project(np.concatenate([x, muted]), method, seed=0)
    assert xy.shape == (57, 2)
    assert np.abs(xy[45:] - xy[45]).max() == 0.0  # exactly the same coordinates
    assert len({tuple(p) for p in xy[:45]}) == 45  # the distinct clips stay distinct ...
    assert emb.separation(xy[:45], y)["knn_accuracy"] == 1.0  # ... and keep their clusters
    alone = np.ptp(xy[:45], axis=0).max()
    assert alone > 0 and np.isfinite(xy).all()


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_all_identical_embeddings_are_one_point(method):
    xy = emb.project(np.ones((20, 8), np.float32), method)
    assert xy.shape == (20, 2) and np.abs(xy).max() == 0.0
    pair_clean, pair_muted = emb.project_pair(_clusters(n_per=5)[0], np.ones((15, 16), np.float32), method)
    assert np.abs(pair_muted - pair_muted[0]).max() == 0.0 and len({tuple(p) for p in pair_clean}) == 15


def test_extract_leaves_out_an_undecodable_clip_and_names_it(tiny, tmp_path):
    predictor, samples = tiny
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(samples[0].path.read_bytes()[:500])
    mixed = [samples[0], Sample(broken, samples[1].label), *samples[1:]]
    clean = emb.extract(predictor, samples, batch_size=2)
    got = emb.extract(predictor, mixed, batch_size=2)
    assert [Path(u.path).name for u in got.skipped] == ["broken.mp4"] and got.skipped[0].reason.endswith(".")
    assert got.paths == clean.paths and got.labels == clean.labels and len(got) == 3 and not clean.skipped
    for head in ("audio", "video", "fused"):
        np.testing.assert_allclose(got.embeddings[head], clean.embeddings[head], atol=1e-5)
    with pytest.raises(ValueError, match="None of the 1 clips could be decoded"):
        emb.extract(predictor, [Sample(broken, "x")])
