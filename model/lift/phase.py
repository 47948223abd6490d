"""Rep-phase counting (`lift train --count-head phase`, an option beside the paper's integer
class and the rep density, lift.density).

The density head (lift.density) has to learn how much of a rep a 2.56 s patch column holds,
which is the column's duration over the rep's period: a tempo, read from a few tokens. On a
subject whose reps are faster than the training subjects' it undercounts (docs/lift.md). The
phase head asks for something the pose itself shows: where in its rep each image column
(one frame pair, 0.08 s) is. From every patch column's final state it predicts, for each of
the patch's 32 image columns, a phase as a 2-vector (cos, sin of 2π × the fraction of the rep
done) and whether the column lies inside a rep. The count is how many turns the phase makes
over the columns inside reps, so a faster set simply turns faster.

Targets come from the same per-column rep mass as the density head's (`rep_column_mass`: a
rep of L columns puts 1/L in each): its running sum, taken at each column's middle, is the
number of reps done so far, and its fractional part is the phase; a column is inside a rep
where its mass is positive.

The count from phases (`phase_count`): the step between neighbouring columns is the wrapped
angle difference (so a wrap from 2π back to 0 is a small forward step, and jitter backwards
cancels); each column inside a rep takes the mean of its steps to its neighbours, and the
count is their sum over 2π. A rep of L columns then adds L × (2π/L) / 2π = 1, with no edge
loss of one step and whatever the length of the reps beside it.

Pure: torch on tensors, no file I/O.
"""
from __future__ import annotations

import math

import torch

TAU = 2 * math.pi


def phase_targets(column_mass: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(phase in [0, 1) (B, W), inside a rep (B, W) bool) from per-column rep masses (B, W)
    (lift.density.rep_column_mass). The phase of column c is the fractional part of the reps
    done at its middle: Σ_{c' < c} m_c' + m_c / 2."""
    m = column_mass.double()
    done = torch.cumsum(m, dim=1) - m / 2
    return torch.frac(done).float(), column_mass > 0


def wrapped(delta: torch.Tensor) -> torch.Tensor:
    """Angle differences wrapped into (-π, π] (differentiable)."""
    return torch.atan2(torch.sin(delta), torch.cos(delta))


def phase_count(vectors: torch.Tensor, inside_logits: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B,) continuous count: turns of the phase over the columns inside reps.

    vectors (B, W, 2): predicted (cos, sin) per image column (any length: only the angle is used);
    inside_logits (B, W): whether each column lies inside a rep; valid (B, W): columns that hold
    the clip. Each column's step is the mean wrapped angle step to its neighbours inside reps
    (a pair weighs the product of both columns' "inside", the sigmoid of the logits, so the count
    is differentiable); the count is Σ inside × step / 2π. A rep of L columns then adds exactly
    L × 2π/L, whatever the lengths of the reps beside it."""
    angle = torch.atan2(vectors[..., 1].float(), vectors[..., 0].float())
    inside = torch.sigmoid(inside_logits.float()) * valid.float()
    pair = inside[:, 1:] * inside[:, :-1]                                 # (B, W-1)
    step = pair * wrapped(angle[:, 1:] - angle[:, :-1])
    pad = torch.nn.functional.pad
    num = pad(step, (1, 0)) + pad(step, (0, 1))                           # the pairs left and right of each column
    den = pad(pair, (1, 0)) + pad(pair, (0, 1))
    return (inside * num / den.clamp(min=1e-6)).sum(dim=1) / TAU


def phase_loss(vectors: torch.Tensor, inside_logits: torch.Tensor, valid: torch.Tensor,
               target_columns: torch.Tensor, has_reps: torch.Tensor) -> torch.Tensor:
    """Mean over the rows with rep targets of: the squared distance of the predicted (cos, sin)
    to the target phase's unit vector, averaged over the columns inside reps; the binary cross
    entropy of "inside a rep", averaged over the clip's columns; and |count − reps|, the count
    error itself (phase_count; it trains the inside logits, not the angles). vectors (B, W, 2), inside_logits, valid (B, W) from the model;
    target_columns (B, ≥ W) per-column rep masses (the batch's rep_mass); has_reps (B,) bool."""
    if not bool(has_reps.any()):
        return vectors.sum() * 0.0 + inside_logits.sum() * 0.0
    w = vectors.shape[1]
    mass = torch.nn.functional.pad(target_columns.float(), (0, max(0, w - target_columns.shape[1])))[:, :w]
    phase, inside = phase_targets(mass)
    valid = valid.float()
    target = torch.stack([torch.cos(TAU * phase), torch.sin(TAU * phase)], dim=-1)
    inside_f = inside.float() * valid
    sq = ((vectors.float() - target) ** 2).sum(dim=-1)
    phase_term = (sq * inside_f).sum(dim=1) / inside_f.sum(dim=1).clamp(min=1.0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(inside_logits.float(), inside.float(), reduction="none")
    inside_term = (bce * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0)
    # the count error trains "inside a rep" only: through the angles its gradient grows as 1/|vector|,
    # which is large while the vectors are still near zero; the phase term trains the angles
    count_term = (phase_count(vectors.detach(), inside_logits, valid) - mass.sum(dim=1)).abs()
    return (phase_term + inside_term + count_term)[has_reps].mean()
