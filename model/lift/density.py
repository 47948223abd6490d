"""Rep-density counting (`lift train --count-head density`, a TransRAC-style option; the paper's
count is one of the integer classes, lift.metrics.count_from_probs).

The motion image's time axis is its columns, and ViLT's image tokens are 32-pixel patches, so
each patch column covers 32 image columns (2.56 s on the native axis). A small head on the final
hidden states of the image tokens predicts a non-negative rep density per patch column; the
count is its sum over the clip's columns. Training target: every annotated rep (the release's
rep_bounds, or a re-cut window's) puts mass 1 uniformly over its [start, end) frames, integrated
per image column (`rep_column_mass`) and then per patch column (`patch_column_mass`).

Pure: numpy / torch on arrays, no file I/O.
"""
from __future__ import annotations

import numpy as np
import torch


def rep_spans_in_columns(rep_bounds, n_columns: int, start: int, end: int) -> np.ndarray:
    """(R, 2) float spans, in image columns, of the reps lying wholly in frames [start, end).

    The motion image of frames [start, end) spans n_columns columns (12.5 per second on the
    native axis, any other count when resampled: the fit axis, long clips, tempo-augmented
    windows), so frame f sits at column (f - start) * n_columns / (end - start). A rep that
    straddles the window edge is not the window's (re-cut windows end at rep bounds)."""
    rb = np.asarray([list(b) for b in rep_bounds] if rep_bounds is not None else [], np.float64).reshape(-1, 2)
    inside = (rb[:, 0] >= start) & (rb[:, 1] <= end)
    if end <= start:
        return np.zeros((0, 2))
    return (rb[inside] - start) * (n_columns / (end - start))


def rep_column_mass(spans: np.ndarray, n_columns: int) -> np.ndarray:
    """(n_columns,) float32: each rep's mass 1 spread uniformly over its span [a, b) (in columns),
    integrated over each column [c, c + 1). Sums to the number of reps (spans inside the image)."""
    edges = np.arange(n_columns + 1, dtype=np.float64)
    out = np.zeros(n_columns, np.float64)
    for a, b in np.asarray(spans, np.float64).reshape(-1, 2):
        if b <= a:            # a zero-length rep: all its mass in the column it sits in
            out[min(int(a), n_columns - 1)] += 1.0
            continue
        cdf = np.clip((edges - a) / (b - a), 0.0, 1.0)
        out += np.diff(cdf)
    return out.astype(np.float32)


def patch_column_mass(column_mass: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, W) per image column -> (B, ceil(W / patch)) per patch column (zero-padded sums)."""
    b, w = column_mass.shape
    pad = -w % patch
    if pad:
        column_mass = torch.nn.functional.pad(column_mass, (0, pad))
    return column_mass.reshape(b, -1, patch).sum(dim=-1)


def density_loss(density: torch.Tensor, valid: torch.Tensor, target_columns: torch.Tensor, has_reps: torch.Tensor,
                 patch: int, cdf_weight: float = 0.0) -> torch.Tensor:
    """Mean over the rows with rep targets of Σ_c (d_c − t_c)² over the patch columns (TransRAC's
    density MSE, summed over the clip) plus |Σ_c d_c − Σ_c t_c| (the count error itself, robust
    to a wrong rep bound). density, valid: (B, C) from the model; target_columns: (B, ≥ C·patch
    or fewer) image-column masses; has_reps: (B,) bool. Zero when no row has targets.

    cdf_weight > 0 adds that times the mean over the clip's columns of |D_c − T_c|, D and T the
    cumulative sums of density and target (the 1-D earth mover's distance, in reps): the count
    so far must be right at every column, so each rep holds one rep of mass. The two terms
    above leave the mass free to move between reps (a density's squared error per column is
    ~1e-3): a head trained on them gave the middle reps of a set 1.1 and its first and last
    0.75, which sums right at the lengths it trained on and low on longer sets. With the term
    each rep holds about one rep at those lengths; longer sets stay low (docs/lift.md)."""
    if not bool(has_reps.any()):
        return density.sum() * 0.0
    target = patch_column_mass(target_columns.float(), patch)
    c = density.shape[1]
    target = torch.nn.functional.pad(target, (0, max(0, c - target.shape[1])))[:, :c]
    d = density.float() * valid
    sq = ((d - target) ** 2).sum(dim=1)
    count_err = (d.sum(dim=1) - target.sum(dim=1)).abs()
    loss = sq + count_err
    if cdf_weight > 0:
        v = valid.float()
        gap = (torch.cumsum(d, dim=1) - torch.cumsum(target * v, dim=1)).abs() * v
        loss = loss + cdf_weight * gap.sum(dim=1) / v.sum(dim=1).clamp(min=1)
    return loss[has_reps].mean()


def count_from_density(density_sum: np.ndarray, integer_values: np.ndarray) -> np.ndarray:
    """The count answer: the density's sum rounded to the nearest integer, clamped to the
    vocabulary's integer range (the classes the paper's head could answer)."""
    values = np.asarray(integer_values)
    lo, hi = int(values.min()), int(values.max())
    return np.clip(np.rint(np.asarray(density_sum, np.float64)), lo, hi).astype(np.int64)
