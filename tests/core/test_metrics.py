"""core.metrics against values computed by hand on tiny cases."""
import numpy as np
import pytest

from core.metrics import classification_report, confusion_matrix, expected_calibration_error


def test_confusion_and_macro_scores_by_hand():
    y_true = np.array([0, 0, 1, 1, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 0]]  # predictions 0 1 1 1 0
    report = classification_report(y_true, probs, ["a", "b", "c"])
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report["accuracy"] == pytest.approx(3 / 5)
    # precision a = 1/2, b = 2/3, c = 0; recall a = 1/2, b = 1, c = 0
    assert report["macro_precision"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert report["macro_recall"] == pytest.approx((0.5 + 1 + 0) / 3)
    f1_b = 2 * (2 / 3) / (2 / 3 + 1)
    assert report["macro_f1"] == pytest.approx((0.5 + f1_b + 0) / 3)
    assert report["per_class_accuracy"] == {"a": 0.5, "b": 1.0, "c": 0.0}


def test_absent_classes_do_not_count_in_macro_averages():
    report = classification_report([0, 0], np.eye(3)[[0, 0]], ["a", "b", "c"])
    assert report["macro_f1"] == 1.0 and list(report["per_class_accuracy"]) == ["a"]


def test_ece_by_hand():
    # Two clips at confidence 0.9 (one right), two at 0.6 (both right).
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y_true = np.array([0, 1, 0, 0])
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert expected_calibration_error(y_true, probs) == pytest.approx(expected)
    assert expected_calibration_error(np.array([0]), np.array([[1.0, 0.0]])) == 0.0


def test_confusion_counts_repeated_pairs():
    assert confusion_matrix([1, 1, 1], [0, 0, 1], 2).tolist() == [[0, 0], [2, 1]]
