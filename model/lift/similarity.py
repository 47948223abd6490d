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
column (its `patch` is 1).

`--count-head period` (RepNet's own output): the same similarities give, per column, a
distribution over the length of the rep holding it (PERIODS, in columns, and "in no rep"), and
the density is 1 / the length (`period_density`). The length is a column's own property, read from how
far ahead and behind its pose recurs; the density head's sum instead learns how much mass a
column gets from how many returns of the pose its band holds, which a long set's first and last
reps hold more of than any training window's did (docs/lift.md: the 6-rep windows counted low).
Trained on each column's annotated rep length (`period_loss`) beside the density loss.

How a column's distribution over lengths becomes its density (`period_density`): "mean", the
expected 1 / length, or "median" (the default since 2026-12-04), the share of the column in a
rep over the median length. A compound rep (the curl trifecta: three curls, each back in the
start pose) puts some probability on a part of its rep as the length, and 1 / length weighs that
part's short length three times: 10 % of the mass on a third of the length makes the expected
density 1.2 / length, a 5-rep window counted 6. The median moves only when half the mass does
(docs/lift.md, "The rep length's reading"). Training is the same for both (its density loss
reads the expectation); the reading is the checkpoint's `period_reading`, or
`lift evaluate --period-reading`.
Pure: torch on tensors, no file I/O.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from olympia.motion_image import IMAGE_ROWS

MAX_OFFSET = 256      # columns compared before and after each column: 20.48 s on the native axis
INITIAL_LOG_DENSITY = -3.38   # softplus(-3.38) = 1/30
DILATIONS = (1, 2, 4)       # the density's temporal convolutions (kernel 5): it sees 29 columns (2.3 s) around a column
ROW_STEP = 8          # every 8th row of the motion image: 40 points along the body chains, 120 numbers a pose
PERIODS = torch.logspace(math.log10(4.0), math.log10(256.0), 49)   # rep lengths in columns (0.32-20.5 s), 9% apart
PERIOD_SIGMA = math.log(256.0 / 4.0) / 48   # a column's target: Gaussian in log length, one grid step wide
IN_NO_REP = 0.5 / 256  # a column with less rep mass than this lies in no rep (before or after the set)
PERIOD_WEIGHT = 1.0    # the length's cross-entropy beside the density loss (--count-head period)
PERIOD_READINGS = ("median", "mean")   # a column's density from its length distribution (period_density)


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


def period_density(logits: torch.Tensor, reading: str = "median") -> torch.Tensor:
    """(B, W) rep density from the length logits (B, W, len(PERIODS) + 1), the last class "in no
    rep". "mean": E[1 / length] ("in no rep" counts 0). "median": (1 - p(in no rep)) / the median
    length of the rest, interpolated in log length within its grid step (each step spreads its
    probability evenly over [log L - h/2, log L + h/2), h the step). All the mass on one length
    L gives 1 / L under either reading."""
    if reading not in PERIOD_READINGS:
        raise ValueError(f"period reading must be one of {PERIOD_READINGS}, got {reading!r}")
    p = torch.softmax(logits.float(), dim=-1)
    grid = PERIODS.to(p.device)
    if reading == "mean":
        return p[..., :-1] @ (1.0 / grid)
    in_rep = 1.0 - p[..., -1]
    q = p[..., :-1] / in_rep.clamp(min=1e-12)[..., None]          # the length, given a rep
    cdf = torch.cumsum(q, dim=-1)
    k = (cdf < 0.5).sum(dim=-1).clamp(max=len(grid) - 1)           # the step holding the median
    qk = q.gather(-1, k[..., None])[..., 0]
    below = cdf.gather(-1, k[..., None])[..., 0] - qk
    log_grid = torch.log(grid)
    h = log_grid[1] - log_grid[0]
    share = ((0.5 - below) / qk.clamp(min=1e-12)).clamp(0.0, 1.0)
    return in_rep * torch.exp(-(log_grid[k] - h / 2 + h * share))


def period_targets(column_mass: torch.Tensor) -> torch.Tensor:
    """(B, W, len(PERIODS) + 1) soft targets from the annotated rep mass per image column (B, W)
    (lift.density.rep_column_mass: 1 / L inside a rep L columns long): a Gaussian over log
    length around -log(mass), one grid step wide, or all on the last class ("in no rep") where
    the mass is under IN_NO_REP."""
    m = column_mass.float()
    log_len = -torch.log(m.clamp(min=1e-6))                                     # (B, W)
    grid = torch.log(PERIODS.to(m.device))                                      # (K,)
    w = torch.exp(-0.5 * ((log_len[..., None] - grid) / PERIOD_SIGMA) ** 2)
    w = w / w.sum(dim=-1, keepdim=True).clamp(min=1e-12)
    none = (m < IN_NO_REP)[..., None].float()
    return torch.cat([w * (1 - none), none], dim=-1)


def period_loss(logits: torch.Tensor, valid: torch.Tensor, target_columns: torch.Tensor,
                has_reps: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the period logits (B, W, K + 1) against `period_targets`, averaged over
    the clip's columns and the rows with rep targets (zero when none has)."""
    if not bool(has_reps.any()):
        return logits.sum() * 0.0
    w = logits.shape[1]
    t = target_columns.float()
    t = torch.nn.functional.pad(t, (0, max(0, w - t.shape[1])))[:, :w]
    ce = -(period_targets(t) * torch.log_softmax(logits.float(), dim=-1)).sum(dim=-1)   # (B, W)
    v = valid.float()
    per_row = (ce * v).sum(dim=1) / v.sum(dim=1).clamp(min=1)
    return per_row[has_reps].mean()


class SimilarityHead(nn.Module):
    """Rep density per image column from the motion image's own self-similarity.

    Embedding: every ROW_STEP-th row of the motion image's 320 (3 channels each) through
    Conv1d(k=3) - GELU - Conv1d(k=1) along time, then LayerNorm per column. Similarities: the
    band of `similarity_band` (relative to the clip's mean distance) with a learnt temperature. Density: Conv1d(2K + 1 -> h, k=5) -
    GELU, then Conv1d(h, h, k=5) - GELU at each further dilation of DILATIONS, then
    Conv1d(h -> 1) - softplus, zero outside the clip. `periods`: Conv1d(h -> len(PERIODS) + 1)
    logits instead, and the density is 1 / the length that `reading` reads off their softmax
    (period_density; "in no rep" counts 0). Runs in float32 whatever autocast says: squared
    distances lose too much in bfloat16."""

    def __init__(self, dim: int = 64, hidden: int = 64, max_offset: int = MAX_OFFSET, row_step: int = ROW_STEP,
                 periods: bool = False, reading: str = "median"):
        super().__init__()
        if reading not in PERIOD_READINGS:
            raise ValueError(f"period reading must be one of {PERIOD_READINGS}, got {reading!r}")
        self.reading = reading
        self.max_offset, self.row_step = max_offset, row_step
        n_in = 3 * len(range(0, IMAGE_ROWS, row_step))
        self.embed = nn.Sequential(nn.Conv1d(n_in, dim, 3, padding=1), nn.GELU(), nn.Conv1d(dim, dim, 1))
        self.norm = nn.LayerNorm(dim)
        self.log_temperature = nn.Parameter(torch.zeros(()))
        layers, n = [], 2 * max_offset + 1
        for dilation in DILATIONS:
            layers += [nn.Conv1d(n, hidden, 5, padding=2 * dilation, dilation=dilation), nn.GELU()]
            n = hidden
        self.periods = periods
        self.density = nn.Sequential(*layers, nn.Conv1d(hidden, len(PERIODS) + 1 if periods else 1, 1))
        with torch.no_grad():     # start at one rep per 30 columns (2.4 s on the native axis), not 0.69 a column
            if periods:           # (the length's logits start flat: E[1 / length] = 1/17)
                self.density[-1].bias.zero_()
            else:
                self.density[-1].bias.fill_(INITIAL_LOG_DENSITY)

    def forward(self, pixel_values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """pixel_values (B, 3, H >= 320, W), valid (B, W): which columns hold the clip.
        Returns the density (B, W), zero where valid is 0; with `periods` (density, the length
        logits (B, W, len(PERIODS) + 1))."""
        with torch.autocast(device_type=pixel_values.device.type, enabled=False):
            v = valid.float()
            x = pixel_values[:, :, :IMAGE_ROWS:self.row_step].float()               # (B, 3, 40, W)
            x = x.reshape(x.shape[0], -1, x.shape[-1]) * v[:, None]
            e = self.norm(self.embed(x).transpose(1, 2)).transpose(1, 2)            # (B, D, W)
            sim = similarity_band(e, v, self.max_offset, self.log_temperature.exp())
            if not self.periods:
                return nn.functional.softplus(self.density(sim).squeeze(1)) * v
            logits = self.density(sim).transpose(1, 2)                              # (B, W, K + 1)
            return period_density(logits, self.reading) * v, logits
