"""seqkit.metrics: hand-worked intent metrics; slot F1 against a transcription of conlleval."""
import doctest
import random

import numpy as np
import pytest

from seqkit import metrics
from seqkit.metrics import (
    accuracy,
    confusion_matrix,
    exact_match,
    macro_f1,
    per_class_scores,
    slot_scores,
    spans,
)


def test_doctests():
    assert doctest.testmod(metrics).failed == 0


def test_intent_metrics_by_hand():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "c", "c"]
    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert confusion_matrix(y_true, y_pred).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    scores = per_class_scores(y_true, y_pred)
    # a: P 2/2, R 2/3; b: P 1/2, R 1/2; c: P 1/2, R 1/1.
    assert scores["a"]["precision"] == 1.0 and scores["a"]["recall"] == pytest.approx(2 / 3)
    assert scores["b"]["f1"] == pytest.approx(0.5)
    assert scores["c"]["f1"] == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert scores["a"]["support"] == 3
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # A class only predicted (never true) counts with F1 0, as in scikit-learn.
    assert macro_f1(["a", "a"], ["a", "z"]) == pytest.approx((2 / 3 + 0) / 2)
    assert "precision" in metrics.format_class_table(scores)
    with pytest.raises(ValueError, match="different lengths"):
        accuracy(["a"], [])


def test_spans_conlleval_rules():
    assert spans(["B-x", "I-x", "O", "B-y"]) == [("x", 0, 1), ("y", 3, 3)]
    assert spans(["I-x", "I-x"]) == [("x", 0, 1)]             # I- without B- starts a chunk
    assert spans(["B-x", "I-y"]) == [("x", 0, 0), ("y", 1, 1)]  # a type change splits
    assert spans(["B-x", "B-x"]) == [("x", 0, 0), ("x", 1, 1)]
    assert spans(["O", "O"]) == []
    assert spans(["S-x", "B-y", "E-y"]) == [("x", 0, 0), ("y", 1, 2)]  # IOBES


def test_slot_scores_by_hand():
    gold = [["B-city", "I-city", "O", "B-date"], ["O", "B-x"]]
    pred = [["B-city", "O", "O", "B-date"], ["O", "I-x"]]
    # gold chunks: city(0,1), date(3,3), x(1,1); predicted: city(0,0) (wrong end),
    # date(3,3), x(1,1) (I- after O starts a chunk: correct, as in conlleval).
    scores = slot_scores(gold, pred)
    assert (scores["gold"], scores["predicted"], scores["correct"]) == (3, 3, 2)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert slot_scores([["O"]], [["O"]])["f1"] == 0.0
    with pytest.raises(ValueError, match="Sentence 0"):
        slot_scores([["O"]], [["O", "O"]])


def _conlleval_counts(gold, predicted):
    """A line-by-line transcription of conlleval's counting loop (in_correct state)."""
    correct_chunks = found_correct = found_guessed = 0
    for g_tags, p_tags in zip(gold, predicted):
        in_correct = False
        last_c, last_c_type, last_g, last_g_type = "O", "", "O", ""
        for c_tag, g_tag in list(zip(g_tags, p_tags)) + [("O", "O")]:
            correct, correct_type = metrics._split_tag(c_tag)
            guessed, guessed_type = metrics._split_tag(g_tag)
            end_c = metrics._chunk_ends(last_c, correct, last_c_type, correct_type)
            end_g = metrics._chunk_ends(last_g, guessed, last_g_type, guessed_type)
            start_c = metrics._chunk_starts(last_c, correct, last_c_type, correct_type)
            start_g = metrics._chunk_starts(last_g, guessed, last_g_type, guessed_type)
            if in_correct:
                if end_c and end_g and last_g_type == last_c_type:
                    in_correct = False
                    correct_chunks += 1
                elif end_c != end_g or guessed_type != correct_type:
                    in_correct = False
            if start_c and start_g and guessed_type == correct_type:
                in_correct = True
            found_correct += start_c
            found_guessed += start_g
            last_c, last_c_type, last_g, last_g_type = correct, correct_type, guessed, guessed_type
    return correct_chunks, found_correct, found_guessed


def test_slot_scores_match_conlleval_loop():
    rng = random.Random(0)
    tags = ["O", "B-a", "I-a", "B-b", "I-b"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 8))] for _ in range(3000)]
    pred = [[t if rng.random() < 0.6 else rng.choice(tags) for t in g] for g in gold]
    correct, found_gold, found_pred = _conlleval_counts(gold, pred)
    scores = slot_scores(gold, pred)
    assert (scores["correct"], scores["gold"], scores["predicted"]) == (
        correct, found_gold, found_pred)


def test_exact_match():
    assert exact_match(["a", "a", "b"], ["a", "a", "a"],
                       [["O"], ["B-x"], ["O"]], [["O"], ["O"], ["O"]]) == pytest.approx(1 / 3)


def test_plot_confusion_matrix(tmp_path):
    pytest.importorskip("matplotlib")
    path = metrics.plot_confusion_matrix(np.array([[3, 1], [0, 2]]), ["a", "b"],
                                         str(tmp_path / "cm.png"))
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------
# Forecast metrics: hand-derived values
# --------------------------------------------------------------------------
def test_seasonal_naive_scale_is_the_in_sample_seasonal_mae():
    history = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 0.0], [6.0, 0.0]])
    # season 2: |2-1|, |6-3| -> 2.0; the constant channel -> 0.
    np.testing.assert_allclose(metrics.seasonal_naive_scale(history, 2), [2.0, 0.0])
    with pytest.raises(ValueError, match="season=4"):
        metrics.seasonal_naive_scale(history, 4)


def test_mase_averages_per_channel_ratios_and_skips_zero_scales():
    prediction = np.zeros((2, 3, 2))
    target = np.stack([np.ones((2, 3)), 3 * np.ones((2, 3))], axis=-1)
    # channel MAEs 1 and 3, scales 2 and 3 -> mean(0.5, 1.0)
    assert metrics.mase(prediction, target, np.array([2.0, 3.0])) == pytest.approx(0.75)
    assert metrics.mase(prediction, target, np.array([2.0, 0.0])) == pytest.approx(0.5)
    assert np.isnan(metrics.mase(prediction, target, np.zeros(2)))


def test_smape_is_m4s_definition_with_zero_over_zero_as_zero():
    # 200*|3-1|/(3+1) = 100, 200*|-1-1|/(1+1) = 200, 0/0 -> 0
    assert metrics.smape(np.array([1.0, 1.0, 0.0]), np.array([3.0, -1.0, 0.0])) \
        == pytest.approx(100.0)


def test_per_step_errors_average_over_windows_and_channels():
    prediction = np.zeros((2, 2, 1))
    target = np.array([[[1.0], [2.0]], [[3.0], [-2.0]]])
    out = metrics.per_step_errors(prediction, target)
    assert out["mse"] == pytest.approx([5.0, 4.0]) and out["mae"] == pytest.approx([2.0, 2.0])


# --------------------------------------------------------------------------- quantiles
def _pinball_by_hand(forecast, target, q):
    """The textbook pinball loss, one element at a time."""
    total = 0.0
    for f, y in zip(forecast.ravel(), target.ravel()):
        total += q * (y - f) if y >= f else (1 - q) * (f - y)
    return total / target.size


def test_pinball_loss_matches_the_elementwise_definition():
    rng = np.random.default_rng(0)
    target = rng.standard_normal((5, 4, 2))
    levels = [0.1, 0.5, 0.9]
    forecast = target[..., None] + rng.standard_normal((5, 4, 2, 3))
    loss = metrics.pinball_loss(forecast, target, levels)
    expected = [_pinball_by_hand(forecast[..., j], target, q) for j, q in enumerate(levels)]
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    # At q = 0.5 it is half the absolute error.
    assert loss[1] == pytest.approx(0.5 * np.abs(forecast[..., 1] - target).mean())


def test_weighted_quantile_loss_hand_computed():
    # y = [1, -3]; q=0.2 forecasts [2, -1] (both above: (1-q)*|e|): 0.8*1 + 0.8*2 = 2.4
    #              q=0.5 forecasts [0, -3]: 0.5*1 + 0 = 0.5
    # wQL_q = 2 * sum / sum|y| = 2 * sum / 4
    target = np.array([1.0, -3.0])
    forecast = np.array([[2.0, 0.0], [-1.0, -3.0]])
    out = metrics.weighted_quantile_loss(forecast, target, [0.2, 0.5])
    assert out["per_quantile"] == pytest.approx([2 * 2.4 / 4, 2 * 0.5 / 4])
    assert out["mean"] == pytest.approx((1.2 + 0.25) / 2)
    assert np.isnan(metrics.weighted_quantile_loss(forecast, np.zeros(2), [0.2, 0.5])["mean"])
    with pytest.raises(ValueError, match="quantile_forecast, target: expected shapes"):
        metrics.weighted_quantile_loss(forecast[:, :1], target, [0.2, 0.5])


def test_interval_coverage_hand_computed():
    # Levels 0.05 .. 0.95: intervals 90% (0.05, 0.95) and 80% (0.1, 0.9).
    levels = [0.05, 0.1, 0.5, 0.9, 0.95]
    forecast = np.tile(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), (5, 1))
    target = np.array([-2.5, -1.5, 0.0, 1.0, 2.0])
    # 90%: -1.5, 0, 1, 2 inside (ends count) -> 4/5; 80%: 0 and 1 -> 2/5.
    assert metrics.interval_coverage(forecast, target, levels) == {"90": 0.8, "80": 0.4}
    assert metrics.central_intervals(levels) == [(0, 4, 0.9), (1, 3, 0.8)]
    assert metrics.central_intervals([0.25, 0.5, 0.9]) == []


@pytest.mark.parametrize("levels", [[0.1, 0.9], [0.5, 0.1], [0.0, 0.5], [0.5, 1.0], [],
                                    [0.1, 0.5, 0.5]])
def test_check_quantiles_refuses_bad_levels(levels):
    with pytest.raises(ValueError, match=r"--quantiles: expected increasing levels strictly "
                                         r"between 0 and 1 that include 0.5"):
        metrics.check_quantiles(levels, "--quantiles")


def test_residual_quantiles_are_empirical_quantiles_clipped_at_the_median():
    rng = np.random.default_rng(1)
    target = rng.standard_normal((400, 3, 2)) + np.array([0.0, 0.5])   # 2nd target biased
    target[:, :, 1] += 10.0                                           # far above: all r > 0
    prediction = np.zeros_like(target)
    levels = [0.1, 0.5, 0.9]
    offsets = metrics.residual_quantiles(prediction, target, levels)
    assert offsets.shape == (3, 2, 3)
    residual = target - prediction
    for h in range(3):
        # Unbiased target: the plain empirical quantiles, median offset 0.
        r = residual[:, h, 0]
        np.testing.assert_allclose(offsets[h, 0], [np.quantile(r, 0.1), 0.0,
                                                   np.quantile(r, 0.9)])
        # Every residual positive: the 0.1 offset would sit above the median; clipped to 0.
        r = residual[:, h, 1]
        np.testing.assert_allclose(offsets[h, 1], [0.0, 0.0, np.quantile(r, 0.9)])
    assert np.all(np.diff(offsets, axis=-1) >= 0)
