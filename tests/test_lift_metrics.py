"""LiFT metrics and loss on hand-computed cases (method.md §3, §8)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lift.loss import vilt_bce, weighted_softmax_ce
from lift.metrics import (count_from_probs, exact_match_accuracy, mae, off_by_one, partial_credit_accuracy,
                          per_sample_partial_credit, relative_mae)


def test_partial_credit_hand_computed():
    probs = np.array([[0.50, 0.30, 0.10, 0.06, 0.04],    # P = {0,1,2,3}
                      [0.90, 0.04, 0.03, 0.02, 0.01],    # P = {0}
                      [0.20, 0.20, 0.20, 0.20, 0.20]])   # P = all
    targets = [{0, 4}, {1, 2}, {3}]
    # sample 0: |{0}|/2 = 0.5; sample 1: 0/2 = 0; sample 2: 1/1 = 1 -> mean 0.5
    assert partial_credit_accuracy(probs, targets) == pytest.approx(0.5)
    np.testing.assert_allclose(per_sample_partial_credit(probs, targets), [0.5, 0.0, 1.0])


def test_partial_credit_tie_at_tau_counts_as_predicted():
    probs = np.array([[0.05, 0.95 - 1e-9, 1e-9]])        # exactly tau for class 0: ŷ ≥ τ
    assert partial_credit_accuracy(probs, [{0}], tau=0.05) == 1.0
    probs = np.array([[0.0499999, 0.9500001, 0.0]])
    assert partial_credit_accuracy(probs, [{0}], tau=0.05) == 0.0


def test_partial_credit_empty_prediction_scores_zero():
    probs = np.full((1, 40), 1 / 40)                      # 0.025 < τ everywhere: P = ∅
    assert partial_credit_accuracy(probs, [{3, 7}]) == 0.0


def test_partial_credit_empty_ground_truth_is_skipped_and_empty_input_is_nan():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert partial_credit_accuracy(probs, [set(), {1}]) == 1.0
    assert math.isnan(partial_credit_accuracy(probs, [set(), set()]))
    assert math.isnan(partial_credit_accuracy(np.zeros((0, 3)), []))
    with pytest.raises(ValueError):
        partial_credit_accuracy(probs, [{0}])


def test_obo_and_mae_hand_computed():
    pred, gt = [3, 5, 10, 0], [4, 5, 7, 2]
    # errors 1, 0, 3, 2 -> OBO 2/4, MAE 6/4
    assert off_by_one(pred, gt) == 0.5
    assert mae(pred, gt) == 1.5
    assert math.isnan(off_by_one([], [])) and math.isnan(mae([], []))
    with pytest.raises(ValueError):
        mae([1, 2], [1])


def test_relative_mae_skips_zero_ground_truth():
    # |3-4|/4 = 0.25, |10-5|/5 = 1.0; the gt = 0 sample has no relative error
    assert relative_mae([3, 10, 2], [4, 5, 0]) == pytest.approx(0.625)
    assert math.isnan(relative_mae([1, 2], [0, 0]))
    assert math.isnan(relative_mae([], []))


def test_count_is_the_most_confident_integer_class():
    # classes: 0 "squat", 1 "1", 2 "2", 3 "3"; the word has the highest probability overall
    probs = np.array([[0.7, 0.05, 0.2, 0.05], [0.1, 0.1, 0.1, 0.7]])
    assert count_from_probs(probs, np.array([1, 2, 3]), np.array([1, 2, 3])).tolist() == [2, 3]


def test_exact_match():
    assert exact_match_accuracy([1, 2, 3], [1, 0, 3]) == pytest.approx(2 / 3)


def test_weighted_softmax_ce_hand_computed():
    logits = torch.tensor([[0.0, math.log(2.0), math.log(3.0)]])   # softmax = [1/6, 2/6, 3/6]
    y = torch.tensor([[1.0, 0.5, 0.0]])
    expected = -(1.0 * math.log(1 / 6) + 0.5 * math.log(2 / 6))
    assert float(weighted_softmax_ce(logits, y)) == pytest.approx(expected, rel=1e-6)
    # batch mean
    both = weighted_softmax_ce(torch.cat([logits, logits]), torch.tensor([[1.0, 0.5, 0.0], [0.0, 0.0, 1.0]]))
    assert float(both) == pytest.approx((expected - math.log(3 / 6)) / 2, rel=1e-6)


def test_bce_option_matches_vilt_formula():
    logits, y = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    sig = 1 / (1 + math.exp(-2.0))
    per_class = [-math.log(0.5), -math.log(1 - sig)]
    assert float(vilt_bce(logits, y)) == pytest.approx(sum(per_class) / 2 * 2, rel=1e-6)


def test_word_precision_hand_computed():
    from lift.metrics import per_sample_word_precision
    probs = np.array([[0.5, 0.3, 0.1, 0.06, 0.04], [0.02] * 5])
    # P = {0,1,2,3}, G = {0,4}: 1/4; P = ∅: 0; G = ∅: NaN
    out = per_sample_word_precision(np.vstack([probs, probs[:1]]), [{0, 4}, {1}, set()])
    assert out[0] == 0.25 and out[1] == 0.0 and math.isnan(out[2])


def test_table3_per_source_rows_and_overall_hand_computed():
    import pandas as pd
    from lift.evaluate import table3
    nan = float("nan")
    scores = pd.DataFrame([
        # source, task, detection, word_precision, pred_count, reps
        ("a", "identify", 1.0, 1.0, nan, 4), ("a", "identify", 0.5, 0.5, nan, 5),
        ("a", "count", nan, nan, 3, 4), ("a", "count", nan, nan, 5, 5),
        ("b", "identify", 0.0, 0.0, nan, 6), ("b", "count", nan, nan, 10, 6)],
        columns=["source", "task", "detection", "word_precision", "pred_count", "reps"])
    counter = pd.DataFrame([("a", 4, 4), ("a", 5, 7), ("b", 6, 6)], columns=["source", "reps", "pred_count"])
    t = table3(scores, counter).set_index("source")
    assert list(t.index) == ["a", "b", "all"]
    # a: detection (1 + .5)/2, errors 1, 0 -> OBO 1, MAE .5; b: 0, error 4 -> OBO 0, MAE 4
    assert t.loc["a", "detection"] == 0.75 and t.loc["a", "obo"] == 1.0 and t.loc["a", "mae"] == 0.5
    assert t.loc["b", "detection"] == 0.0 and t.loc["b", "obo"] == 0.0 and t.loc["b", "mae"] == 4.0
    assert t.loc["all", "detection"] == pytest.approx(0.5) and t.loc["all", "mae"] == pytest.approx(5 / 3)
    assert t.loc["all", "obo"] == pytest.approx(2 / 3)
    # counter errors a: 0, 2 -> OBO .5, MAE 1; b: 0; all: OBO 2/3, MAE 2/3
    assert t.loc["a", "counter_obo"] == 0.5 and t.loc["a", "counter_mae"] == 1.0
    assert t.loc["all", "counter_mae"] == pytest.approx(2 / 3) and t.loc["b", "counter_obo"] == 1.0
    assert t.loc["a", "relative_mae"] == pytest.approx((1 / 4 + 0) / 2)
