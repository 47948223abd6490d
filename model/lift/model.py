"""LiFT model: ViLT (text + image patches, full attention) with a new classification head over
the release vocabulary (method.md §7). Pure: no file I/O here (see train.py / evaluate.py).

Images go in as tensors (B, 3, 384, 640) with a pixel mask (B, 384, 640); ViltImageProcessor
is not used because it would resize the motion image and break its time axis.
"""
from __future__ import annotations

import types

import torch
from torch import nn
from transformers import ViltConfig, ViltModel

from olympia.motion_image import IMAGE_ROWS

from lift.configs import ModelConfig
from lift.similarity import SimilarityHead

SECONDS_PER_COLUMN = 2 / 25    # the native motion image: one column per 2 frames at 25 fps
COUNT_HEADS = ("classes", "density", "phase", "similarity", "period")   # the count: an integer class
    # (paper), the sum of a rep density (lift.density; or from the motion's self-similarity,
    # lift.similarity, directly or as 1 / the rep length it gives each column) or the turns of a
    # rep phase (lift.phase)
REP_HEADS = ("density", "phase", "similarity", "period")  # count heads trained on the annotated rep bounds


def vilt_config(cfg: ModelConfig, text_vocab_size: int) -> ViltConfig:
    return ViltConfig(
        vocab_size=text_vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads, intermediate_size=cfg.intermediate_size,
        image_size=cfg.image_size, patch_size=cfg.patch_size, num_channels=3,
        max_position_embeddings=cfg.max_text_tokens, hidden_dropout_prob=cfg.hidden_dropout_prob,
        attention_probs_dropout_prob=cfg.hidden_dropout_prob, max_image_length=-1)


class ClassifierHead(nn.Module):
    """Same shape as ViltForQuestionAnswering's head: Linear(h, 2h) - LayerNorm - GELU - Linear(2h, V)."""

    def __init__(self, hidden: int, n_classes: int):
        super().__init__()
        self.pre = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.LayerNorm(2 * hidden), nn.GELU())
        self.out = nn.Linear(2 * hidden, n_classes)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.out(self.pre(pooled))

    def extend(self, n_new: int) -> None:
        """Append n_new output classes (vocabulary extension, method.md §9). Existing rows are
        kept exactly; new rows start at zero weight and the mean bias, so they are neither
        favoured nor impossible before fine-tuning."""
        old = self.out
        new = nn.Linear(old.in_features, old.out_features + n_new).to(old.weight.device, old.weight.dtype)
        with torch.no_grad():
            new.weight[: old.out_features] = old.weight
            new.weight[old.out_features:] = 0.0
            new.bias[: old.out_features] = old.bias
            new.bias[old.out_features:] = old.bias.mean()
        self.out = new


class DensityHead(nn.Module):
    """Rep density per patch column (lift.density): the final hidden states of a column's image
    patches, averaged over its valid patch rows, through Linear(h, h) - GELU - Linear(h, 1) -
    softplus (a density is non-negative). The image tokens attend to the question's tokens, so
    the density is conditioned on the exercise the counting question names."""

    def __init__(self, hidden: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, columns: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(self.mlp(columns).squeeze(-1))


class PhaseHead(nn.Module):
    """Rep phase per image column (lift.phase): a patch column's averaged final state (as for
    DensityHead) through Linear(h, h) - GELU - Linear(h, 3 × patch), read as, for each of the
    patch's image columns in order, (cos, sin) of the phase and the logit of "inside a rep"."""

    def __init__(self, hidden: int, patch: int):
        super().__init__()
        self.patch = patch
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 3 * patch))

    def forward(self, columns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, h) -> vectors (B, C × patch, 2), inside logits (B, C × patch)."""
        b, c, _ = columns.shape
        out = self.mlp(columns).reshape(b, c * self.patch, 3)
        return out[..., :2], out[..., 2]


def set_patch_shape(vilt: ViltModel, shape) -> None:
    """Make `vilt` cut its images into patches of shape (rows, columns) instead of square ones:
    a new patch projection (ViltEmbeddings.visual_embed reads the patch grid from its output and
    interpolates the position embeddings to it, so nothing else changes). The same number of
    pixels per patch keeps the token count and the cost: 64 x 16 instead of 32 x 32 gives one
    token per body chain (the motion image's chains are 64 rows each, method.md §6) per 16
    columns (1.28 s on the native axis) instead of two half chains per 2.56 s."""
    rows, cols = (int(v) for v in shape)
    embed = vilt.embeddings.patch_embeddings
    old = embed.projection
    embed.projection = nn.Conv2d(old.in_channels, old.out_channels, kernel_size=(rows, cols), stride=(rows, cols))
    embed.patch_size = (rows, cols)


class LiftModel(nn.Module):
    def __init__(self, vilt: ViltModel, n_classes: int, time_band: bool = False, count_head: str = "classes",
                 period_reading: str = "median"):
        super().__init__()
        if count_head not in COUNT_HEADS:
            raise ValueError(f"count_head must be one of {COUNT_HEADS}, got {count_head!r}")
        self.vilt = vilt
        rows, cols = vilt.embeddings.patch_embeddings.projection.kernel_size
        self.patch_shape = (int(rows), int(cols))   # (rows, columns) of an image patch
        self.head = ClassifierHead(vilt.config.hidden_size, n_classes)
        self.time_band = time_band
        self.count_head = count_head
        self.density = DensityHead(vilt.config.hidden_size) if count_head == "density" else None
        self.phase = PhaseHead(vilt.config.hidden_size, self.patch_shape[1]) if count_head == "phase" else None
        self.similarity = SimilarityHead(periods=count_head == "period", reading=period_reading) \
            if count_head in ("similarity", "period") else None
        if count_head in ("density", "phase"):
            keep_patch_index(vilt.embeddings)

    @classmethod
    def build(cls, cfg: ModelConfig, text_vocab_size: int, n_classes: int, vilt: ViltModel | None = None):
        """A fresh model; `vilt` lets the caller pass pretrained weights loaded from disk (square
        patches: a pretrained patch projection has no other shape)."""
        if vilt is None:
            vilt = ViltModel(vilt_config(cfg, text_vocab_size))
            if cfg.patch_shape is not None:
                set_patch_shape(vilt, cfg.patch_shape)
        elif cfg.patch_shape is not None and tuple(cfg.patch_shape) != tuple(vilt.embeddings.patch_embeddings.projection.kernel_size):
            from olympia.errors import ConfigError
            raise ConfigError(f"patch shape {list(cfg.patch_shape)} needs a model trained from scratch; the given ViLT "
                              f"has {list(vilt.embeddings.patch_embeddings.projection.kernel_size)} patches")
        return cls(vilt, n_classes, time_band=cfg.time_band, count_head=cfg.count_head,
                   period_reading=cfg.period_reading)

    @property
    def rep_patch(self) -> int:
        """Image columns per column of the density head's output (lift.density.density_loss)."""
        return 1 if self.similarity is not None else self.patch_shape[1]

    @property
    def n_classes(self) -> int:
        return self.head.out.out_features

    def forward(self, input_ids, attention_mask, pixel_values, pixel_mask, density: bool = False):
        """Logits (B, V). pixel_values may be fp16/uint8 from the loader; cast to the model's dtype here.
        density=True (a model with a rep head, REP_HEADS): (logits, rep output, valid), for
        count_head "density" the rep density per patch column of the cropped image (B, C) and
        which patch columns hold the clip (B, C); for "phase" ((cos, sin) per image column
        (B, W, 2), inside-a-rep logits (B, W)) and which image columns hold the clip (B, W); for
        "similarity" the rep density per image column (B, W) and which image columns hold the clip;
        for "period" (that density, the rep length's logits (B, W, K + 1)) and the same."""
        dtype = self.vilt.embeddings.patch_embeddings.projection.weight.dtype
        if self.time_band:
            pixel_values, pixel_mask = add_time_band(pixel_values, pixel_mask)
        pixel_values, pixel_mask = crop_to_content(pixel_values, pixel_mask, self.patch_shape)
        out = self.vilt(input_ids=input_ids.long(), attention_mask=attention_mask.long(),
                        pixel_values=pixel_values.to(dtype), pixel_mask=pixel_mask.long())
        logits = self.head(out.pooler_output)
        if not density:
            return logits
        if self.count_head not in REP_HEADS:
            raise ValueError("this model has no rep head (count_head 'classes')")
        if self.similarity is not None:
            valid = pixel_mask[:, :IMAGE_ROWS].any(dim=1).to(torch.float32)
            return logits, self.similarity(pixel_values, valid), valid
        columns, valid = patch_columns(out.last_hidden_state[:, input_ids.shape[1] + 1:],
                                       self.vilt.embeddings.patch_index, pixel_mask, self.patch_shape)
        if self.phase is not None:
            return logits, self.phase(columns), pixel_mask[:, :IMAGE_ROWS].any(dim=1).to(columns.dtype)
        return logits, self.density(columns) * valid, valid

    def rep_count(self, rep_out, valid) -> torch.Tensor:
        """(B,) the continuous count of forward(density=True)'s rep output: the density's sum, or
        the phase's turns (lift.phase.phase_count); for "period" the sum of its density."""
        if self.phase is not None:
            from lift.phase import phase_count
            return phase_count(rep_out[0], rep_out[1], valid)
        if self.count_head == "period":
            return rep_out[0].float().sum(dim=1)
        return rep_out.float().sum(dim=1)


def patch_columns(image_states: torch.Tensor, patch_index: torch.Tensor, pixel_mask: torch.Tensor, patch):
    """The image tokens' final states averaged over each patch column's valid patches: (B, C, h),
    and which columns hold the clip (B, C) float.

    ViltEmbeddings.visual_embed reorders the patches (valid ones first, and in random order for
    the batch's largest image, then padding patches drawn at random), so each token's (row,
    column) is read from the patch_index it returns (keep_patch_index). A patch is valid where
    the pixel mask, interpolated to the patch grid (nearest, as ViLT does), is set.
    image_states: the hidden states after the image's [CLS] token, one per patch_index row;
    patch: its side, or (rows, columns)."""
    rows, cols = _patch_rows_cols(patch)
    b, height, width = pixel_mask.shape[0], pixel_mask.shape[1] // rows, pixel_mask.shape[2] // cols
    grid = nn.functional.interpolate(pixel_mask[:, None].float(), size=(height, width))[:, 0]   # (B, H, W)
    row, col = patch_index[..., 0].long(), patch_index[..., 1].long()                            # (B, M)
    valid = grid[torch.arange(b, device=grid.device)[:, None], row, col].to(image_states.dtype)  # (B, M)
    sums = torch.zeros(b, width, image_states.shape[-1], dtype=image_states.dtype, device=image_states.device)
    sums = sums.scatter_add(1, col[..., None].expand_as(image_states), image_states * valid[..., None])
    counts = torch.zeros(b, width, dtype=image_states.dtype, device=image_states.device).scatter_add(1, col, valid)
    return sums / counts.clamp(min=1)[..., None], (counts > 0).to(image_states.dtype)


def _visual_embed_keeping_index(self, *args, **kwargs):
    """ViltEmbeddings.visual_embed, keeping the patch index it computes (ViltModel drops it)."""
    out = type(self).visual_embed(self, *args, **kwargs)
    self.patch_index = out[2][0]
    return out


def keep_patch_index(embeddings) -> None:
    """Make `embeddings` (a ViltEmbeddings) store each forward's patch index as .patch_index.
    Bound to the instance, so copy.deepcopy rebinds it to the copy; no weights change."""
    embeddings.visual_embed = types.MethodType(_visual_embed_keeping_index, embeddings)


def add_time_band(pixel_values: torch.Tensor, pixel_mask: torch.Tensor):
    """The motion image with a clock in its padding rows (320..383, two patch rows): every column
    of the clip holds its time since the start, in units of 10 s, in all three channels.

    ViLT interpolates its position embeddings to each image's valid patch grid, so a patch's
    position says where in the clip it lies as a fraction, never when: a 2-rep and an 8-rep
    set look alike but for how many patches they have, which softmax attention averages away.
    The band gives every column its absolute time, and the last one the set's duration, so
    count = duration / period is within reach (docs/lift.md, counting). Returns new tensors
    (the loader's buffers are left alone). Columns are the native 2 frames (0.08 s) each."""
    rows = torch.arange(pixel_mask.shape[1], device=pixel_mask.device) >= IMAGE_ROWS
    width = pixel_mask[:, :IMAGE_ROWS].any(dim=1).sum(dim=1)                          # (B,) clip columns
    cols = torch.arange(pixel_mask.shape[2], device=pixel_mask.device)
    inside = cols[None, :] < width[:, None]                                         # (B, W)
    clock = (cols.to(torch.float32) * SECONDS_PER_COLUMN / 10.0)[None, :] * inside  # (B, W)
    band = rows[None, :, None] & inside[:, None, :]                                 # (B, H, W)
    mask = pixel_mask | band
    values = torch.where(band[:, None], clock[:, None, None, :].to(pixel_values.dtype), pixel_values)
    return values, mask


def _patch_rows_cols(patch) -> tuple[int, int]:
    return (int(patch), int(patch)) if isinstance(patch, int) else (int(patch[0]), int(patch[1]))


def crop_to_content(pixel_values: torch.Tensor, pixel_mask: torch.Tensor, patch):
    """Drop the patch rows/columns that are padding in every image of the batch.

    Exact, not an approximation: ViLT interpolates its position embeddings to each image's
    valid patch grid and masks every padding patch out of attention, so whole-padding patches
    change nothing but cost time (the motion image fills 320 of 384 rows, and most clips are
    much shorter than 640 columns). Images start at the top-left corner (pad_motion_image).
    patch: its side, or (rows, columns)."""
    ph, pw = _patch_rows_cols(patch)
    rows = pixel_mask.any(dim=2).any(dim=0)
    cols = pixel_mask.any(dim=1).any(dim=0)
    if not rows.any():
        return pixel_values, pixel_mask
    h = -(-(int(rows.nonzero().max()) + 1) // ph) * ph
    w = -(-(int(cols.nonzero().max()) + 1) // pw) * pw
    return pixel_values[:, :, :h, :w], pixel_mask[:, :h, :w]


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
