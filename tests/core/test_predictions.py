"""core.predictions: a timeline's decision as segments of windows that agree, with their numbers."""
from __future__ import annotations

import numpy as np
import pytest

from core.predictions import ClipPrediction, Prediction, WindowPrediction

CLASSES = ("normal", "fault")


def _prediction(p_fault: float, weights=(0.6, 0.4), *, audio=True, video=True) -> Prediction:
    p = np.array([1 - p_fault, p_fault], np.float32)
    return Prediction(classes=CLASSES, probs={h: p for h in ("audio", "video", "fused")}, weights=weights,
                      present={"audio": audio, "video": video})


def _timeline(p_fault, weights=None, stride=1.0, window=5.0) -> ClipPrediction:
    weights = weights or [(0.6, 0.4)] * len(p_fault)
    windows = tuple(WindowPrediction(i * stride, i * stride + window, False, _prediction(p, w))
                    for i, (p, w) in enumerate(zip(p_fault, weights)))
    mean = _prediction(float(np.mean(p_fault)))
    return ClipPrediction(overall=mean, windows=windows)


def test_a_state_change_is_two_segments_split_between_the_window_centres():
    # 10 windows of 5 s every 1 s (0-14 s): the first 4 say normal (centres 2.5-5.5 s), the next 6 fault
    p = [0.1, 0.2, 0.1, 0.3, 0.9, 0.8, 0.9, 0.7, 0.9, 0.8]
    w = [(0.8, 0.2)] * 4 + [(0.3, 0.7)] * 6
    result = _timeline(p, w)
    first, second = result.segments()
    assert (first.start, first.end, first.label, first.windows) == (0.0, 6.0, "normal", 4)  # (5.5 + 6.5) / 2
    assert (second.start, second.end, second.label, second.windows) == (6.0, 14.0, "fault", 6)
    assert first.probability == pytest.approx(np.mean([0.9, 0.8, 0.9, 0.7]))
    assert second.probability == pytest.approx(np.mean([0.9, 0.8, 0.9, 0.7, 0.9, 0.8]))
    assert first.weights == pytest.approx((0.8, 0.2)) and second.weights == pytest.approx((0.3, 0.7))
    # the mean over all ten windows mixes both states (fault 57 %); the decision says both
    assert result.overall.top("fused") == ("fault", pytest.approx(0.57))
    assert result.decision() == "normal 0–6 s (82%), then fault 6–14 s (83%)"
    assert result.to_dict()["segments"][1] == {"start": 6.0, "end": 14.0, "label": "fault",
                                               "probability": pytest.approx(0.8333, abs=1e-4), "windows": 6,
                                               "modality_weights": {"audio": 0.3, "video": 0.7}}
    assert result.to_dict()["windows"][0]["modality_weights"] == {"audio": 0.8, "video": 0.2}


def test_one_state_is_one_segment_and_one_window_has_no_timeline():
    steady = _timeline([0.9] * 5)
    (only,) = steady.segments()
    assert (only.start, only.end, only.windows) == (0.0, 9.0, 5)
    assert steady.decision() == "fault (90%) in all 5 windows"
    single = ClipPrediction(overall=_prediction(0.75), windows=())
    assert single.segments() == () and single.decision() == "fault 75%"


def test_a_head_without_input_is_a_segment_of_its_own():
    windows = tuple(WindowPrediction(float(i), i + 5.0, False, _prediction(0.9, audio=i < 2)) for i in range(4))
    result = ClipPrediction(overall=_prediction(0.9), windows=windows)
    segments = result.segments("audio")
    assert [s.label for s in segments] == ["fault", None] and segments[1].start == pytest.approx(4.0)
    assert result.decision("audio") == "fault 0–4 s (90%), then no input 4–8 s"
