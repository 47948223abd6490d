"""Checkpoint directory: everything needed to predict, self-contained.

    config.json     LiftConfig + what it was trained on
    classes.json    the output classes (ClassSpace: tokens, categories, weights, mode)
    tokenizer.json  the question tokenizer
    model.pt        best weights (lowest validation loss)
    last.pt         latest weights + optimizer + epoch + early-stopping state + RNG (resume)
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from olympia.errors import ConfigError

from lift.configs import LiftConfig
from lift.data import ClassSpace
from lift.model import LiftModel
from lift.tokenizer import load_tokenizer, save_tokenizer

CONFIG_FILE, CLASSES_FILE, MODEL_FILE, LAST_FILE = "config.json", "classes.json", "model.pt", "last.pt"


def _atomic_json(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(out_dir, model: LiftModel, config: LiftConfig, space: ClassSpace, tokenizer,
                    extra: dict | None = None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_json({"config": config.to_dict(), "text_vocab_size": model.vilt.config.vocab_size,
                  "n_classes": model.n_classes, **(extra or {})}, out / CONFIG_FILE)
    _atomic_json(space.to_dict(), out / CLASSES_FILE)
    save_tokenizer(tokenizer, out)
    atomic_torch_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out / MODEL_FILE)
    return out


def load_checkpoint(path, device: str = "cpu"):
    """(model in eval mode, tokenizer, ClassSpace, LiftConfig, config.json dict) from a checkpoint dir."""
    path = Path(path)
    if not (path / MODEL_FILE).is_file() or not (path / CONFIG_FILE).is_file():
        raise ConfigError(f"{path} is not a LiFT checkpoint (no {MODEL_FILE} / {CONFIG_FILE}); "
                          "train one with `lift train --out DIR` and pass DIR")
    meta = json.loads((path / CONFIG_FILE).read_text())
    config = LiftConfig.from_dict(meta["config"])
    space = ClassSpace.from_dict(json.loads((path / CLASSES_FILE).read_text()))
    tokenizer = load_tokenizer(path)
    model = LiftModel.build(config.model, meta["text_vocab_size"], meta["n_classes"])
    model.load_state_dict(torch.load(path / MODEL_FILE, map_location="cpu", weights_only=True))
    return model.to(device).eval(), tokenizer, space, config, meta
