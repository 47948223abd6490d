"""DSTformer, the dual-stream spatio-temporal transformer of MotionBERT (Zhu et al., ICCV 2023).

Written from the paper's description (§3.2, Fig. 2): a 2D pose sequence (B, T, 17, 3) of
(x, y, confidence) is embedded per joint, given a spatial (per-joint) and a temporal (per-frame)
position embedding, then passed through `depth` dual-stream layers. Each layer runs two
branches on the same input — spatial-then-temporal (S-T) and temporal-then-spatial (T-S) —
and fuses them with per-token adaptive weights (a softmax over a linear map of both branch
outputs). A final LayerNorm, a tanh "pre-logits" layer to the motion representation and a
linear head give (B, T, 17, 3).

Spatial attention attends over the 17 joints of one frame; temporal attention attends over the
T frames of one joint. Parameter names mirror the official checkpoints so that their
state dicts load strictly (see checkpoint.py). Pure torch, no I/O.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from olympia.io import read_json


@dataclass(frozen=True)
class DSTformerConfig:
    """Hyper-parameters of a DSTformer (names as in MotionBERT's YAML configs)."""

    dim_feat: int = 256        # token width inside the transformer
    dim_rep: int = 512         # width of the motion representation (pre_logits output)
    depth: int = 5             # number of dual-stream layers (S-T block + T-S block each)
    num_heads: int = 8         # attention heads (not recoverable from weights)
    mlp_ratio: float = 4.0     # MLP hidden width = int(dim_feat * mlp_ratio)
    maxlen: int = 243          # longest clip the temporal embedding covers (frames)
    num_joints: int = 17       # Human3.6M-17
    dim_in: int = 3            # x, y, confidence
    dim_out: int = 3           # x, y, z
    att_fuse: bool = True      # adaptive fusion of the two streams (else their mean)
    norm_eps: float = 1e-6     # LayerNorm epsilon of the released models

    def __post_init__(self):
        if self.dim_feat % self.num_heads:
            raise ValueError(f"dim_feat {self.dim_feat} is not divisible by num_heads {self.num_heads}")

    def to_dict(self) -> dict:
        return asdict(self)


# MB_ft_h36m_global_lite.yaml: the released "lite" 3D-pose model (16,001,549 parameters).
LITE = DSTformerConfig(dim_feat=256, dim_rep=512, depth=5, num_heads=8, mlp_ratio=4, maxlen=243)
# MB_ft_h36m.yaml / MB_ft_h36m_global.yaml: the full-size model.
BASE = DSTformerConfig(dim_feat=512, dim_rep=512, depth=5, num_heads=8, mlp_ratio=2, maxlen=243)
# The tiny model of the spec's test vectors (../shared/spec/motionbert/).
TINY = DSTformerConfig(dim_feat=32, dim_rep=64, depth=2, num_heads=4, mlp_ratio=2, maxlen=81)


def config_from_json(path: str | Path, name: str = "tiny") -> DSTformerConfig:
    """Read one entry ("tiny" or "lite_shape") of dstformer_vectors.json into a config."""
    entry = read_json(path, "DSTformer vectors file")[name]
    return replace(DSTformerConfig(), **entry["config"])


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over joints ("spatial") or over frames ("temporal").

    Tokens arrive as (B*T, J, C) in both modes; temporal mode regroups them per joint.
    """

    def __init__(self, dim: int, num_heads: int, mode: str):
        super().__init__()
        if mode not in ("spatial", "temporal"):
            raise ValueError(f"attention mode must be 'spatial' or 'temporal', got {mode!r}")
        self.num_heads, self.mode = num_heads, mode
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        bt, joints, dim = x.shape
        heads, head_dim = self.num_heads, dim // self.num_heads
        # (3, B*T, heads, J, head_dim)
        q, k, v = self.qkv(x).reshape(bt, joints, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        if self.mode == "spatial":
            out = self._attend(q, k, v)                                  # (B*T, h, J, d)
            out = out.transpose(1, 2)                                    # (B*T, J, h, d)
        else:
            # (B*T, h, J, d) -> (B, h, J, T, d): sequences run along time for each joint.
            def per_joint(t):
                return t.reshape(-1, frames, heads, joints, head_dim).permute(0, 2, 3, 1, 4)
            out = self._attend(per_joint(q), per_joint(k), per_joint(v))  # (B, h, J, T, d)
            out = out.permute(0, 3, 2, 1, 4)                             # (B, T, J, h, d)
        return self.proj(out.reshape(bt, joints, dim))

    def _attend(self, q, k, v):
        weights = (q @ k.transpose(-2, -1)) * self.scale
        return weights.softmax(dim=-1) @ v


class FeedForward(nn.Module):
    """Two-layer MLP with GELU (the transformer's position-wise feed-forward)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DualStreamBlock(nn.Module):
    """One pre-norm spatial sub-layer and one temporal sub-layer, in the given order.

    order "st": spatial attention + MLP, then temporal attention + MLP; "ts": the reverse.
    Both orders own the same set of parameters (norm1/attn/norm2/mlp for _s and _t).
    """

    def __init__(self, cfg: DSTformerConfig, order: str):
        super().__init__()
        if order not in ("st", "ts"):
            raise ValueError(f"block order must be 'st' or 'ts', got {order!r}")
        dim, hidden = cfg.dim_feat, int(cfg.dim_feat * cfg.mlp_ratio)
        self.order = order
        self.norm1_s = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.norm1_t = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.attn_s = MultiHeadAttention(dim, cfg.num_heads, "spatial")
        self.attn_t = MultiHeadAttention(dim, cfg.num_heads, "temporal")
        self.norm2_s = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.norm2_t = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.mlp_s = FeedForward(dim, hidden)
        self.mlp_t = FeedForward(dim, hidden)

    def _spatial(self, x, frames):
        x = x + self.attn_s(self.norm1_s(x), frames)
        return x + self.mlp_s(self.norm2_s(x))

    def _temporal(self, x, frames):
        x = x + self.attn_t(self.norm1_t(x), frames)
        return x + self.mlp_t(self.norm2_t(x))

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        if self.order == "st":
            return self._temporal(self._spatial(x, frames), frames)
        return self._spatial(self._temporal(x, frames), frames)


class PreLogits(nn.Module):
    """Linear + tanh to the motion representation (the checkpoint names it pre_logits.fc)."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.fc = nn.Linear(dim_in, dim_out)

    def forward(self, x):
        return torch.tanh(self.fc(x))


class DSTformer(nn.Module):
    """(B, T, 17, 3) normalized 2D keypoints + confidence -> (B, T, 17, 3) 3D pose.

    T may be anything from 1 to cfg.maxlen; the temporal embedding is cut to T.
    Training-time dropout / drop-path of the original are omitted: they are identity in eval,
    and this class is used for inference only.
    """

    def __init__(self, cfg: DSTformerConfig = LITE):
        super().__init__()
        self.cfg = cfg
        dim = cfg.dim_feat
        self.joints_embed = nn.Linear(cfg.dim_in, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_joints, dim))
        self.temp_embed = nn.Parameter(torch.zeros(1, cfg.maxlen, 1, dim))
        self.blocks_st = nn.ModuleList(DualStreamBlock(cfg, "st") for _ in range(cfg.depth))
        self.blocks_ts = nn.ModuleList(DualStreamBlock(cfg, "ts") for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(dim, eps=cfg.norm_eps)
        self.pre_logits = PreLogits(dim, cfg.dim_rep)
        self.head = nn.Linear(cfg.dim_rep, cfg.dim_out)
        if cfg.att_fuse:
            self.ts_attn = nn.ModuleList(nn.Linear(2 * dim, 2) for _ in range(cfg.depth))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, std: float = 0.02) -> None:
        """Initialization as the paper's code base does it (only matters for training or tests):
        truncated-normal embeddings and linear weights, zero biases, unit LayerNorms, and fusion
        layers that start as an even 50/50 mix of the two streams."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=std)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.pos_embed, std=std)
        nn.init.trunc_normal_(self.temp_embed, std=std)
        if self.cfg.att_fuse:
            for fuse in self.ts_attn:
                nn.init.zeros_(fuse.weight)
                nn.init.constant_(fuse.bias, 0.5)

    def forward(self, x: torch.Tensor, return_rep: bool = False) -> torch.Tensor:
        batch, frames, joints, channels = x.shape
        if joints != self.cfg.num_joints or channels != self.cfg.dim_in:
            raise ValueError(f"DSTformer expects (B, T, {self.cfg.num_joints}, {self.cfg.dim_in}) "
                             f"input, got {tuple(x.shape)}")
        if not 1 <= frames <= self.cfg.maxlen:
            raise ValueError(f"clip of {frames} frames: DSTformer handles 1..{self.cfg.maxlen} "
                             "frames per clip; cut longer sequences into windows")
        h = self.joints_embed(x) + self.pos_embed                    # (B, T, J, C)
        h = h + self.temp_embed[:, :frames]
        h = h.reshape(batch * frames, joints, -1)                    # tokens grouped per frame
        for idx in range(self.cfg.depth):
            h_st = self.blocks_st[idx](h, frames)
            h_ts = self.blocks_ts[idx](h, frames)
            h = self._fuse(idx, h_st, h_ts)
        h = self.norm(h).reshape(batch, frames, joints, -1)
        rep = self.pre_logits(h)
        return rep if return_rep else self.head(rep)

    def _fuse(self, idx: int, h_st: torch.Tensor, h_ts: torch.Tensor) -> torch.Tensor:
        if not self.cfg.att_fuse:
            return (h_st + h_ts) * 0.5
        alpha = self.ts_attn[idx](torch.cat([h_st, h_ts], dim=-1)).softmax(dim=-1)
        return h_st * alpha[..., 0:1] + h_ts * alpha[..., 1:2]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["DSTformer", "DSTformerConfig", "LITE", "BASE", "TINY", "config_from_json",
           "count_parameters"]
