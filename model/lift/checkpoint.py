"""Checkpoint directory: everything needed to predict, self-contained.

    config.json     LiftConfig, checkpoint_version, and what it was trained on (release path,
                    its meta/info.json format_version, counts and build_fingerprint)
    classes.json    the output classes: an olympia.labels.Vocabulary (format of
                    meta/vocabulary.json; the single-class baseline's adds "mode")
    tokenizer.json  the question tokenizer
    model.pt        best weights (lowest validation loss)
    last.pt         latest weights + optimizer + epoch + early-stopping state + RNG (resume)

CHECKPOINT_VERSION is bumped whenever a file's content changes meaning; a checkpoint of
another version is refused with the command that makes a new one.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from olympia.errors import ConfigError
from olympia.io import atomic_path, atomic_write_json, read_json
from olympia.labels.vocabulary import Vocabulary

from lift.configs import LiftConfig
from lift.model import LiftModel
from lift.tokenizer import load_tokenizer, save_tokenizer

CHECKPOINT_VERSION = 2     # 2: classes.json is a Vocabulary; 1 (no version key): lift's own ClassSpace
CONFIG_FILE, CLASSES_FILE, MODEL_FILE, LAST_FILE = "config.json", "classes.json", "model.pt", "last.pt"


def atomic_torch_save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_tensors(path: Path, device="cpu", what: str = "weights"):
    """torch.load with weights_only=True: tensors, numbers, strings and containers only, never
    code. A file holding anything else (a crafted pickle, a checkpoint of another program) or
    an unreadable one is refused with one line naming it and the fix."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ConfigError(f"{path}: refused to load the LiFT {what}: it holds objects beyond tensors and numbers "
                          f"({str(exc).splitlines()[0][:80]}...), which could run code; delete it (or pass "
                          "--no-resume to lift train) and retrain") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable LiFT {what} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:100]}); delete it (or pass --no-resume) and retrain") from None


def save_checkpoint(out_dir, model: LiftModel, config: LiftConfig, vocab: Vocabulary, tokenizer,
                    extra: dict | None = None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / CONFIG_FILE, {"checkpoint_version": CHECKPOINT_VERSION, "config": config.to_dict(),
                                          "text_vocab_size": model.vilt.config.vocab_size,
                                          "n_classes": model.n_classes, "vilt_config": model.vilt.config.to_dict(),
                                          **(extra or {})})
    atomic_write_json(out / CLASSES_FILE, vocab.to_json())
    save_tokenizer(tokenizer, out)
    atomic_torch_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out / MODEL_FILE)
    return out


def check_version(path) -> dict:
    """config.json of a checkpoint directory, refused unless it is of CHECKPOINT_VERSION."""
    path = Path(path)
    meta = read_json(path / CONFIG_FILE, "LiFT checkpoint config")
    version = meta.get("checkpoint_version", 1)
    if version != CHECKPOINT_VERSION:
        raise ConfigError(f"{path} is a LiFT checkpoint of format {version}; this lift reads format "
                          f"{CHECKPOINT_VERSION}: retrain it (lift train --out {path} --no-resume)")
    return meta


def load_checkpoint(path, device: str = "cpu"):
    """(model in eval mode, tokenizer, Vocabulary, LiftConfig, config.json dict) from a checkpoint dir."""
    path = Path(path)
    if not (path / MODEL_FILE).is_file() or not (path / CONFIG_FILE).is_file():
        raise ConfigError(f"{path} is not a LiFT checkpoint (no {MODEL_FILE} / {CONFIG_FILE}); "
                          "train one with `lift train --out DIR` and pass DIR")
    meta = check_version(path)
    try:
        config = LiftConfig.from_dict(meta["config"])
    except ConfigError as exc:
        raise ConfigError(f"{path / CONFIG_FILE}: {exc}") from None
    vocab = Vocabulary.from_json(read_json(path / CLASSES_FILE, "LiFT checkpoint classes"),
                                 where=str(path / CLASSES_FILE))
    tokenizer = load_tokenizer(path)
    vilt = None
    if meta.get("vilt_config"):      # the exact ViLT (a pretrained one may differ from vilt_config's defaults)
        from transformers import ViltConfig, ViltModel
        vilt = ViltModel(ViltConfig.from_dict(meta["vilt_config"]))
        if config.model.patch_shape is not None:
            from lift.model import set_patch_shape
            set_patch_shape(vilt, config.model.patch_shape)
    model = LiftModel.build(config.model, meta["text_vocab_size"], meta["n_classes"], vilt=vilt)
    try:
        model.load_state_dict(load_tensors(path / MODEL_FILE, "cpu", "weights"))
    except RuntimeError as exc:     # wrong shapes / keys: not the weights this config.json describes
        raise ConfigError(f"{path / MODEL_FILE} does not match {path / CONFIG_FILE} ({str(exc).splitlines()[0][:100]}); "
                          "retrain the checkpoint") from None
    return model.to(device).eval(), tokenizer, vocab, config, meta
