"""Train LiFT on a published release (method.md §7). Reads top to bottom:

  seed -> tokenizer -> release data -> model -> Adam -> (resume) -> epochs:
      train one epoch (both tasks in every batch) -> validation loss and metrics ->
      metrics.csv / metrics.json / learning_curve.png -> last.pt (resume point) ->
      model.pt when validation loss improved -> early stop after `patience` bad epochs.

Output directory = the checkpoint (see lift.checkpoint for its files).
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from olympia.errors import ConfigError
from olympia.io import atomic_path, atomic_write_json, atomic_write_text, read_json
from olympia.layout import INFO_PATH

from lift import evaluate as ev
from lift.batches import iterate_batches
from lift.checkpoint import CONFIG_FILE, LAST_FILE, atomic_torch_save, check_version, load_tensors, save_checkpoint
from lift.configs import LiftConfig
from lift.samples import Recut, draw_groups, load_release, release_questions, sample_questions
from lift.loss import get_loss
from lift.model import COUNT_HEADS, REP_HEADS, LiftModel, n_parameters
from lift.tokenizer import TOKENIZER_FILE, load_tokenizer, train_wordpiece


def configure_threads(threads: int | None) -> int:
    """Set torch's CPU threads. None: every core, unless the machine is already busy (load
    average >= cores), then 1 — OpenMP threads that wait at each barrier for a sibling the OS
    has descheduled make every step several times slower than one thread alone."""
    import os
    if threads is None:
        cores = os.cpu_count() or 1
        busy = hasattr(os, "getloadavg") and os.getloadavg()[0] >= cores
        threads = 1 if busy else cores
    torch.set_num_threads(max(1, int(threads)))
    return torch.get_num_threads()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_tokenizer(config: LiftConfig, release, out_dir: Path):
    """Resume: the run's own tokenizer; else a local bert-base-uncased one; else train WordPiece."""
    if (out_dir / TOKENIZER_FILE).exists() and (out_dir / LAST_FILE).exists():
        return load_tokenizer(out_dir)
    if config.model.pretrained_tokenizer:
        return load_tokenizer(config.model.pretrained_tokenizer)
    return train_wordpiece(release_questions(release, training_splits(config.train)), config.model.wordpiece_vocab_size)


def make_model(config: LiftConfig, tokenizer, n_classes: int) -> LiftModel:
    if config.model.count_head not in COUNT_HEADS:
        raise ConfigError(f"unknown count head {config.model.count_head!r}; choose one of {list(COUNT_HEADS)}")
    if config.model.time_band and config.model.time_axis != "native":
        raise ConfigError("--time-band needs the native time axis (its clock counts 0.08 s per column); "
                          f"drop --time-axis {config.model.time_axis} or --time-band")
    vilt = None
    if config.model.pretrained_vilt:
        from transformers import ViltModel
        if config.model.patch_shape is not None:
            raise ConfigError(f"--patch {'x'.join(map(str, config.model.patch_shape))} trains the patch projection from "
                              "scratch; pretrained ViLT-B/32 has 32 x 32 patches (drop --patch or --pretrained-vilt)")
        path = Path(config.model.pretrained_vilt)
        if not path.is_dir():
            raise ConfigError(f"--pretrained-vilt {path} is not a directory with ViLT weights "
                              "(config.json + model.safetensors, e.g. dandelin/vilt-b32-mlm saved locally)")
        try:
            vilt = ViltModel.from_pretrained(path, add_pooling_layer=True, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--pretrained-vilt {path}: cannot load ViLT weights there ({str(exc).splitlines()[0][:120]}); "
                              "save dandelin/vilt-b32-mlm with save_pretrained and copy the directory") from None
        vilt.config.max_image_length = -1   # every patch of the motion image; no random patch sampling
        if vilt.config.vocab_size < tokenizer.get_vocab_size():
            raise ConfigError(f"{path}: ViLT text vocab ({vilt.config.vocab_size}) is smaller than the tokenizer's "
                              f"({tokenizer.get_vocab_size()}); pass the matching --tokenizer (bert-base-uncased)")
    return LiftModel.build(config.model, tokenizer.get_vocab_size(), n_classes, vilt=vilt)


def train(release, config: LiftConfig, out_dir, *, resume: bool = True, progress: bool = True) -> dict:
    """Train on `release` into the checkpoint directory `out_dir` (see the module doc); returns
    the summary also written to train_summary.json."""
    started = time.time()            # wall time of this invocation, data loading included
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tc = config.train
    seed_everything(tc.seed)
    device = ev.pick_device(tc.device)
    threads = configure_threads(tc.threads) if device.type == "cpu" else torch.get_num_threads()
    loss_fn = get_loss(tc.loss)

    tokenizer = make_tokenizer(config, release, out_dir)
    data, train_set, val_set = load_train_validation(release, config, tokenizer, progress)
    model = make_model(config, tokenizer, len(data.vocab)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
    state = {"epoch": 0, "best_val": math.inf, "bad_epochs": 0, "history": []}
    if resume and (out_dir / LAST_FILE).exists():
        state = resume_from(out_dir, model, optimizer, device, progress)
    if progress:
        print(f"LiFT {config.name}: {n_parameters(model) / 1e6:.2f} M parameters, {len(data.vocab)} classes, "
              f"{len(train_set)} train / {len(val_set)} validation questions, device {device}"
              + (f" ({threads} threads)" if device.type == "cpu" else ""))

    trained_on = release_record(release)
    while state["epoch"] < tc.max_epochs and state["bad_epochs"] < tc.patience:
        epoch = state["epoch"] + 1
        t0 = time.time()
        train_loss = train_one_epoch(model, optimizer, loss_fn, train_set, data.cache, config, device, epoch, progress)
        val_loss, val_metrics = validate(model, val_set, data, config, device, train_loss)
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "seconds": time.time() - t0,
               **val_metrics}
        state["history"].append(row)
        improved = row["val_loss"] < state["best_val"] - tc.min_delta
        if improved:
            state["best_val"], state["bad_epochs"] = row["val_loss"], 0
            save_checkpoint(out_dir, model, config, data.vocab, tokenizer,
                            extra={**trained_on, "epoch": epoch, "val_loss": row["val_loss"]})
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        save_resume_point(out_dir / LAST_FILE, model, optimizer, state)
        write_history(out_dir, state["history"])
        if progress:
            print(_epoch_line(row, improved))
    stopped = "early stop" if state["bad_epochs"] >= tc.patience else "max epochs"
    summary = {"epochs": state["epoch"], "best_val_loss": state["best_val"], "stopped_by": stopped,
               "seconds": time.time() - started, "threads": threads, "history": state["history"]}
    atomic_write_json(out_dir / "train_summary.json", summary)
    return summary


def load_train_validation(release, config: LiftConfig, tokenizer, progress: bool):
    """(ReleaseSplits, train set, validation set). With questions_per_clip, validation keeps one
    fixed draw, so its loss is comparable from epoch to epoch."""
    tc = config.train
    name = training_splits(tc)
    plan = recut_plan(tc)
    data = load_release(release, tokenizer, None, splits=(name,) if tc.train_on_validation else (name, "validation"),
                        target_mode=tc.targets, max_tokens=config.model.max_text_tokens, workers=tc.cache_workers,
                        progress=progress, stream=tc.stream, sources=tc.sources,
                        recut=plan and {name: plan["train"], "validation": plan["validation"]},
                        time_axis=config.model.time_axis, count_sigma={name: tc.count_sigma},
                        rep_targets=config.model.count_head in REP_HEADS)
    train_set = data.splits[name]
    # trained on the validation split too: no validation set, the training loss stands in for it
    val_set = train_set.take(np.zeros(0, np.int64)) if tc.train_on_validation else data.splits["validation"]
    if len(train_set) == 0:
        raise ConfigError(f"{release}: the train split has no questions; nothing to train on")
    if tc.questions_per_clip is not None and len(val_set):
        val_set = val_set.take(sample_questions(val_set, tc.questions_per_clip, np.random.default_rng(tc.seed)))
    return data, train_set, val_set


def training_splits(tc) -> str:
    """The split(s) the model trains on: "train", or with train_on_validation "train+validation"
    (lift.samples.load_qa), for a final model trained for a number of epochs chosen on validation."""
    return "train+validation" if tc.train_on_validation else "train"


def recut_plan(tc) -> dict[str, Recut] | None:
    """TrainConfig.recut -> the windows each split trains/validates on: every window (or
    recut_per_count of each length) for training, one of each length for validation, so early
    stopping sees the rep-diverse evaluation's distribution."""
    if not tc.recut:
        return None
    lo, hi = (int(x) for x in tc.recut)
    return {"train": Recut(lo, hi, tc.recut_per_count, speeds=(1.0, *(tc.recut_speeds or ())),
                           margin=tc.recut_margin, mirror=tc.recut_mirror),
            "validation": Recut(lo, hi, 1)}


def validate(model, val_set, data, config: LiftConfig, device, train_loss: float) -> tuple[float, dict]:
    """Validation loss and metrics ({"val_detection": ..., "val_obo": ...}); without a validation
    split the training loss stands in for the validation loss."""
    tc = config.train
    if not len(val_set):
        return train_loss, {}
    probs, val_loss, density_sum = ev.predict(model, val_set, data.cache, batch_size=tc.eval_batch_size,
                                              device=device, loss_name=tc.loss, amp=tc.amp,
                                              density_weight=tc.density_weight, cdf_weight=tc.density_cdf)
    scores = ev.summarize(ev.sample_scores(probs, val_set, data.vocab, density_sum=density_sum))
    return val_loss, {f"val_{k}": v for k, v in scores.items() if not k.startswith("n_")}


def train_one_epoch(model, optimizer, loss_fn, train_set, cache, config, device, epoch, progress) -> float:
    tc = config.train
    model.train()
    batches = iterate_batches(train_set, cache, tc.batch_size, shuffle=True, seed=tc.seed, epoch=epoch,
                              num_workers=tc.num_workers, max_batches=tc.max_steps_per_epoch,
                              questions_per_clip=tc.questions_per_clip)
    n = (len(train_set) if tc.questions_per_clip is None
         else 2 * tc.questions_per_clip * len(set(draw_groups(train_set).tolist())))
    total = min(tc.max_steps_per_epoch or 10**9, -(-n // tc.batch_size))
    losses = []
    bar = tqdm(batches, desc=f"epoch {epoch}", unit="batch", total=total, disable=not progress, leave=False)
    for batch in bar:
        b = ev.to_device(batch, device)
        with ev.autocast(device, tc.amp):
            loss, _, _ = ev.model_loss(model, b, loss_fn, tc.density_weight, tc.density_cdf)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    return float(np.mean(losses)) if losses else float("nan")


def save_resume_point(path: Path, model, optimizer, state: dict) -> None:
    """last.pt holds tensors, numbers, strings, lists and dicts only, so resuming can read it
    with torch.load(weights_only=True): the RNG states are stored as tensors, not as pickled
    numpy / Python objects."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
                       "rng": {"torch": torch.get_rng_state(),
                               "numpy": {"keys": torch.from_numpy(np.asarray(keys, np.int64)), "pos": int(pos),
                                         "has_gauss": int(has_gauss), "gauss": float(gauss)},
                               "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                                          "gauss": py_gauss}}}, path)


def resume_from(out_dir: Path, model, optimizer, device, progress: bool) -> dict:
    """Model, optimizer, RNG and early-stopping state of the last finished epoch (last.pt),
    read without unpickling code (lift.checkpoint.load_tensors)."""
    if (out_dir / CONFIG_FILE).exists():
        check_version(out_dir)
    blob = load_tensors(out_dir / LAST_FILE, device, "resume point")
    try:
        model.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
        rng = blob["rng"]
        torch.set_rng_state(rng["torch"].cpu())
        n = rng["numpy"]
        np.random.set_state(("MT19937", n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
        p = rng["python"]
        random.setstate((p["version"], tuple(int(x) for x in p["state"].tolist()), p["gauss"]))
        state = blob["state"]
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"{out_dir / LAST_FILE} is not a resume point of this lift ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:100]}); start over with --no-resume") from None
    if progress:
        print(f"resuming {out_dir} after epoch {state['epoch']} (best val loss {state['best_val']:.4f})")
    return state


def write_history(out_dir: Path, history: list[dict]) -> None:
    import pandas as pd
    df = pd.DataFrame(history)
    atomic_write_text(out_dir / "metrics.csv", df.to_csv(index=False))
    atomic_write_json(out_dir / "metrics.json", history)
    plot_learning_curve(df, out_dir / "learning_curve.png")


def plot_learning_curve(df, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
    a.plot(df["epoch"], df["train_loss"], "o-", label="train")
    a.plot(df["epoch"], df["val_loss"], "o-", label="validation")
    a.set(xlabel="epoch", ylabel="loss (weighted softmax CE)", title="LiFT loss")
    a.legend()
    for col, name in (("val_detection", "detection (partial credit)"), ("val_obo", "OBO")):
        if col in df:
            b.plot(df["epoch"], df[col], "o-", label=name)
    b.set(xlabel="epoch", ylim=(0, 1.02), title="validation metrics")
    if b.lines:
        b.legend()
    else:                                  # no validation split (or --train-on-validation)
        b.text(0.5, 0.5, "no validation set", ha="center", va="center", transform=b.transAxes)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def _epoch_line(row: dict, improved: bool) -> str:
    parts = [f"epoch {row['epoch']}", f"train {row['train_loss']:.4f}", f"val {row['val_loss']:.4f}"]
    for k in ("val_detection", "val_obo", "val_mae"):
        if k in row:
            parts.append(f"{k[4:]} {row[k]:.3f}")
    return "  ".join(parts) + f"  ({row['seconds']:.0f}s){'  *best' if improved else ''}"


def release_record(release) -> dict:
    """What a checkpoint records about the release it was trained on: its path, and from its
    meta/info.json the format version, counts and build fingerprint (the recipe's content hash,
    so a checkpoint can be matched to the exact build)."""
    from olympia.layout import VOCABULARY_PATH
    from olympia.io import sha256_file
    info = read_json(Path(release) / INFO_PATH, "release meta/info.json")
    return {"release": str(Path(release).resolve()),
            "release_info": {k: info.get(k) for k in ("format_version", "counts", "build_fingerprint")},
            "release_vocabulary_sha256": sha256_file(Path(release) / VOCABULARY_PATH)}
