"""Reading and writing MotionBERT checkpoints in the official format.

The official training script saves
    torch.save({"epoch": int, "lr": float, "optimizer": optimizer.state_dict(),
                "model_pos": model.state_dict(), "min_loss": float}, path)
from a `torch.nn.DataParallel` model, so every `model_pos` key starts with `module.`.
The released 3D-pose checkpoints (e.g. `FT_MB_lite_MB_ft_h36m_global_lite/best_epoch.bin`) follow
this format; `min_loss` may be a numpy scalar. Weights cannot be downloaded here: the path always
comes from configuration.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from olympia.errors import ConfigError
from olympia.io import atomic_path
from olympia.pose.motionbert.model import DSTformer, DSTformerConfig, LITE

STATE_KEY = "model_pos"
PREFIX = "module."
WEIGHTS_URL_HINT = ("download the checkpoint by hand from the MotionBERT README "
                    "(github.com/Walter0807/MotionBERT, 3D pose 'MB-lite' or 'MB-ft-h36m') "
                    "and point the configuration at the .bin file")


def _numpy_safe_globals() -> list:
    """numpy objects that old checkpoints pickle (a float64 min_loss, arrays in optimizer state);
    allowing them keeps torch.load in its safe weights_only mode."""
    core = np.core.multiarray
    dtype_classes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    return [core.scalar, core._reconstruct, np.ndarray, np.dtype, *dtype_classes]


def read_checkpoint(path: str | Path, *, trusted: bool = False) -> dict:
    """The raw checkpoint dict. Loads with weights_only=True (no code execution) unless
    `trusted`, which falls back to a full unpickle for files that need it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"MotionBERT checkpoint {str(path)!r} does not exist; {WEIGHTS_URL_HINT}")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trusted:
            raise ConfigError(
                f"MotionBERT checkpoint {str(path)!r} holds objects beyond tensors and numbers, so it "
                f"was not unpickled ({str(exc).splitlines()[0][:120]}); if you trust its source, load "
                "it with trusted=True") from exc
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError) as exc:
        raise ConfigError(f"MotionBERT checkpoint {str(path)!r} is not a readable torch file "
                          f"({exc}); re-download it") from exc
    if not isinstance(ckpt, dict):
        raise ConfigError(f"MotionBERT checkpoint {str(path)!r} holds a {type(ckpt).__name__}, "
                          f"not the official dict with a {STATE_KEY!r} entry")
    return ckpt


def model_state(ckpt: dict, path: str | Path = "<checkpoint>") -> dict[str, torch.Tensor]:
    """`model_pos` with the DataParallel `module.` prefix stripped (plain state dicts pass)."""
    if STATE_KEY in ckpt:
        state = ckpt[STATE_KEY]
    elif all(isinstance(v, torch.Tensor) for v in ckpt.values()) and ckpt:
        state = ckpt  # a bare state dict
    else:
        raise ConfigError(f"MotionBERT checkpoint {str(path)!r} has no {STATE_KEY!r} entry "
                          f"(found keys {sorted(ckpt)[:8]}); expected the official 3D-pose format")
    return {k.removeprefix(PREFIX): v for k, v in state.items()}


def infer_config(state: dict[str, torch.Tensor], num_heads: int = 8) -> DSTformerConfig:
    """Read the model size off a (prefix-stripped) state dict. Heads are not stored in the
    weights, so `num_heads` must be given (8 in every released model)."""
    try:
        _, maxlen, _, dim_feat = state["temp_embed"].shape
        dim_rep = state["pre_logits.fc.weight"].shape[0]
        hidden = state["blocks_st.0.mlp_s.fc1.weight"].shape[0]
        depth = len({k.split(".")[1] for k in state if k.startswith("blocks_st.")})
        return DSTformerConfig(
            dim_feat=dim_feat, dim_rep=dim_rep, depth=depth, num_heads=num_heads,
            mlp_ratio=hidden / dim_feat, maxlen=maxlen, num_joints=state["pos_embed"].shape[1],
            dim_in=state["joints_embed.weight"].shape[1], dim_out=state["head.weight"].shape[0],
            att_fuse=any(k.startswith("ts_attn.") for k in state))
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"state dict is not a DSTformer (missing or odd {exc})") from exc


def _mismatch_message(path, model: DSTformer, state: dict) -> str:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    parts = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                        ("shape mismatches", shapes)):
        if keys:
            shown = ", ".join(keys[:6]) + (f", ... ({len(keys)} in all)" if len(keys) > 6 else "")
            parts.append(f"{label}: {shown}")
    hint = ""
    try:
        found = infer_config(state, model.cfg.num_heads)
        hint = (f"; the checkpoint looks like dim_feat={found.dim_feat}, dim_rep={found.dim_rep}, "
                f"depth={found.depth}, mlp_ratio={found.mlp_ratio:g}, maxlen={found.maxlen} — "
                "pass the matching DSTformerConfig (LITE for MB-lite, BASE for the full model)")
    except ConfigError:
        pass
    return (f"MotionBERT checkpoint {str(path)!r} does not fit the configured DSTformer "
            f"(dim_feat={model.cfg.dim_feat}, depth={model.cfg.depth}): " + "; ".join(parts) + hint)


def load_dstformer(path: str | Path, config: DSTformerConfig = LITE, *, trusted: bool = False,
                   device: str | torch.device = "cpu") -> DSTformer:
    """Build a DSTformer from `config`, load the checkpoint strictly, return it in eval mode."""
    state = model_state(read_checkpoint(path, trusted=trusted), path)
    model = DSTformer(config)
    expected = model.state_dict()
    if set(expected) != set(state) or any(expected[k].shape != state[k].shape for k in expected):
        raise ConfigError(_mismatch_message(path, model, state))
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def save_checkpoint(model: DSTformer, path: str | Path, *, epoch: int = 0, lr: float = 0.0,
                    min_loss: float = 0.0, optimizer: dict | None = None) -> Path:
    """Write `model` in the official format (module.-prefixed `model_pos`), atomically."""
    path = Path(path)
    state = {PREFIX + k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"epoch": epoch, "lr": lr, "optimizer": optimizer or {"state": {}, "param_groups": []},
               STATE_KEY: state, "min_loss": min_loss}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path
