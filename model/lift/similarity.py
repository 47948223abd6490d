"""Self-similarity counting (`lift train --count-head similarity`, a RepNet-style option; the
paper's count is one of the integer classes, lift.metrics.count_from_probs).

The density head (lift.density) reads a rep density off ViLT's patch tokens, which attend to the
question: it learns how long each exercise's rep takes on the training subjects and counts a
new subject's reps at that tempo (docs/lift.md, counting). This head does not see the question
or the tokens. It embeds each image column of the motion image (one pose, 12.5 per second on
the native axis), compares every column with the columns up to `max_offset` before and after it
(a band of the temporal self-similarity matrix, as RepNet counts from), and a small temporal
convolution turns each column's row of similarities into a rep density. A column whose pose
recurs k columns later lies in a rep k columns long, whatever the exercise, so the count is
learnt from how the motion repeats rather than from what it is.

The count is the density's sum over the clip's columns; the loss is lift.density's, per image
column (its `patch` is 1). Pure: torch on tensors, no file I/O.
"""
from __future__ import annotations

import torch
from torch import nn

from olympia.motion_image import IMAGE_ROWS

MAX_OFFSET = 256      # columns compared before and after each column: 20.48 s on the native axis
INITIAL_LOG_DENSITY = -3.38   # softplus(-3.38) = 1/30
DILATIONS = (1, 2, 4)       # the density's temporal convolutions (kernel 5): it sees 29 columns (2.3 s) around a column
ROW_STEP = 8          # every 8th row of the motion image: 40 points along the body chains, 120 numbers a pose


def similarity_band(embedding: torch.Tensor, valid: torch.Tensor, max_offset: int,
                    temperature: torch.Tensor) -> torch.Tensor:
    """(B, 2K + 1, W): for each column i and offset k in [-K, K], exp(-d(i, i+k) / (τ m)) with d
    the squared distance of the two columns' embeddings over D and m the clip's mean d over its
    band, and 0 where i + k lies outside the clip (before its start, past its end, or in a column
    that `valid` marks as padding) or i itself is padding. Dividing by m makes the band the same
    for a motion and the same motion at a tenth of its size: a push-up seen from the side moves
    the pose less than a squat, and recurs as sharply. embedding: (B, D, W); valid: (B, W)."""
    b, d, w = embedding.shape
    e = embedding.transpose(1, 2)                                                  # (B, W, D)
    dist = torch.cdist(e, e).pow(2) / d                                            # (B, W, W)
    offsets = torch.arange(-max_offset, max_offset + 1, device=e.device)           # (2K + 1,)
    cols = torch.arange(w, device=e.device)
    j = cols[:, None] + offsets[None, :]                                           # (W, 2K + 1)
    inside = (j >= 0) & (j < w)
    jc = j.clamp(0, w - 1)
    band = dist.gather(2, jc[None].expand(b, -1, -1))                              # (B, W, 2K + 1)
    ok = inside[None] & (valid[:, :, None] > 0) & (valid[:, jc] > 0)
    scale = (band * ok).sum(dim=(1, 2)) / ok.sum(dim=(1, 2)).clamp(min=1)          # (B,) the clip's mean
    sim = torch.exp(-band / (temperature * scale.clamp(min=1e-6)[:, None, None])) * ok
    return sim.transpose(1, 2)


class SimilarityHead(nn.Module):
    """Rep density per image column from the motion image's own self-similarity.

    Embedding: every ROW_STEP-th row of the motion image's 320 (3 channels each) through
    Conv1d(k=3) - GELU - Conv1d(k=1) along time, then LayerNorm per column. Similarities: the
    band of `similarity_band` (relative to the clip's mean distance) with a learnt temperature. Density: Conv1d(2K + 1 -> h, k=5) -
    GELU, then Conv1d(h, h, k=5) - GELU at each further dilation of DILATIONS, then
    Conv1d(h -> 1) - softplus, zero outside the clip. Runs in float32 whatever autocast says:
    squared distances lose too much in bfloat16."""

    def __init__(self, dim: int = 64, hidden: int = 64, max_offset: int = MAX_OFFSET, row_step: int = ROW_STEP):
        super().__init__()
        self.max_offset, self.row_step = max_offset, row_step
        n_in = 3 * len(range(0, IMAGE_ROWS, row_step))
        self.embed = nn.Sequential(nn.Conv1d(n_in, dim, 3, padding=1), nn.GELU(), nn.Conv1d(dim, dim, 1))
        self.norm = nn.LayerNorm(dim)
        self.log_temperature = nn.Parameter(torch.zeros(()))
        layers, n = [], 2 * max_offset + 1
        for dilation in DILATIONS:
            layers += [nn.Conv1d(n, hidden, 5, padding=2 * dilation, dilation=dilation), nn.GELU()]
            n = hidden
        self.density = nn.Sequential(*layers, nn.Conv1d(hidden, 1, 1))
        with torch.no_grad():     # start at one rep per 30 columns (2.4 s on the native axis), not 0.69 a column
            self.density[-1].bias.fill_(INITIAL_LOG_DENSITY)

    def forward(self, pixel_values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """pixel_values (B, 3, H >= 320, W), valid (B, W): which columns hold the clip.
        Returns the density (B, W), zero where valid is 0."""
        with torch.autocast(device_type=pixel_values.device.type, enabled=False):
            v = valid.float()
            x = pixel_values[:, :, :IMAGE_ROWS:self.row_step].float()               # (B, 3, 40, W)
            x = x.reshape(x.shape[0], -1, x.shape[-1]) * v[:, None]
            e = self.norm(self.embed(x).transpose(1, 2)).transpose(1, 2)            # (B, D, W)
            sim = similarity_band(e, v, self.max_offset, self.log_temperature.exp())
            return nn.functional.softplus(self.density(sim).squeeze(1)) * v
