"""Evaluation metrics of the paper (method.md §8), plus relative MAE.

All functions take numpy arrays and return Python floats; an empty input gives NaN (there is
nothing to average), never an exception, so per-group reports with empty groups still print.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

TAU = 0.05  # confidence threshold for a predicted word (method.md §8)


def predicted_words(probs_row: np.ndarray, tau: float = TAU) -> set[int]:
    """P = {j : ŷ_j >= tau}. Ties at tau count as predicted (the paper writes ŷ_j ≥ τ)."""
    return set(np.flatnonzero(np.asarray(probs_row) >= tau).tolist())


def partial_credit_accuracy(probs: np.ndarray, targets: Sequence[Iterable[int]], tau: float = TAU) -> float:
    """Mean over samples of |P ∩ G| / |G| (method.md §8).

    probs: (N, V) softmax probabilities. targets: per sample the set of ground-truth class
    indices G. Samples with an empty G have no defined accuracy and are skipped; if every
    sample is skipped (or N = 0) the result is NaN. An empty P scores 0.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or len(probs) != len(targets):
        raise ValueError(f"probs must be (N, V) with N = len(targets) = {len(targets)}, got {probs.shape}")
    scores = per_sample_partial_credit(probs, targets, tau)
    scores = scores[~np.isnan(scores)]
    return float(scores.mean()) if scores.size else float("nan")


def per_sample_partial_credit(probs: np.ndarray, targets: Sequence[Iterable[int]], tau: float = TAU) -> np.ndarray:
    """|P ∩ G| / |G| per sample, NaN where G is empty."""
    out = np.full(len(targets), np.nan)
    for i, g in enumerate(targets):
        g = set(int(j) for j in g)
        if g:
            out[i] = len(predicted_words(probs[i], tau) & g) / len(g)
    return out


def per_sample_word_precision(probs: np.ndarray, targets: Sequence[Iterable[int]], tau: float = TAU) -> np.ndarray:
    """|P ∩ G| / |P| per sample (0 when P is empty, NaN when G is empty). Not in the paper:
    partial credit ignores extra predicted words, so a model spreading mass over many words
    scores well; this column makes that visible."""
    out = np.full(len(targets), np.nan)
    for i, g in enumerate(targets):
        g = set(int(j) for j in g)
        if g:
            p = predicted_words(probs[i], tau)
            out[i] = len(p & g) / len(p) if p else 0.0
    return out


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64).ravel(), np.asarray(gt, dtype=np.float64).ravel()
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt must have the same length, got {pred.size} and {gt.size}")
    return pred, gt


def off_by_one(pred, gt) -> float:
    """OBO: fraction of samples with |pred - gt| <= 1."""
    pred, gt = _pair(pred, gt)
    return float((np.abs(pred - gt) <= 1).mean()) if pred.size else float("nan")


def mae(pred, gt) -> float:
    """Absolute mean error, mean |gt - pred| in repetitions (the paper's eq. 2)."""
    pred, gt = _pair(pred, gt)
    return float(np.abs(pred - gt).mean()) if pred.size else float("nan")


def relative_mae(pred, gt) -> float:
    """Mean |pred - gt| / gt, the normalized MAE that TransRAC and PoseRAC report.

    Undefined for gt = 0, so those samples are left out (a zero-rep clip has no relative
    error); NaN when no sample has gt > 0. Use `mae` for a figure that covers every sample.
    """
    pred, gt = _pair(pred, gt)
    keep = gt > 0
    if not keep.any():
        return float("nan")
    return float((np.abs(pred[keep] - gt[keep]) / gt[keep]).mean())


def count_from_probs(probs: np.ndarray, integer_classes: np.ndarray, integer_values: np.ndarray) -> np.ndarray:
    """The count is the most confident integer class (method.md §8): argmax over the integer
    columns only, mapped to its integer value. probs: (N, V); returns (N,) int."""
    probs = np.asarray(probs)
    if len(integer_classes) == 0:
        raise ValueError("the vocabulary has no integer classes; cannot read a count")
    best = np.argmax(probs[:, integer_classes], axis=1)
    return np.asarray(integer_values)[best].astype(np.int64)


def exact_match_accuracy(pred_class, gt_class) -> float:
    """All-or-nothing accuracy of the single-class baseline (Table 4)."""
    pred, gt = _pair(pred_class, gt_class)
    return float((pred == gt).mean()) if pred.size else float("nan")
