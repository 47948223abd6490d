"""Losses (method.md §3).

The paper's loss: ŷ = softmax(z) over the whole vocabulary and L = −Σ_j y_j log ŷ_j with y the
weighted multi-hot target (word weights from vocabulary.json; for a counting question the
one-hot integer class). Averaged over the batch. ViltForQuestionAnswering's BCE (sigmoid per
class, scaled by the number of classes as ViLT does) stays available as "bce".
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def weighted_softmax_ce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_j y_j log softmax(z)_j. targets: (B, V) non-negative weights."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(targets.float() * logp).sum(dim=-1).mean()


def vilt_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ViltForQuestionAnswering's loss: BCE-with-logits on the targets, times the class count."""
    t = targets.float().clamp(0, 1)
    return F.binary_cross_entropy_with_logits(logits.float(), t) * t.shape[1]


LOSSES = {"softmax_ce": weighted_softmax_ce, "bce": vilt_bce}


def get_loss(name: str):
    from olympia.errors import ConfigError
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name]
