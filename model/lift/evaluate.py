"""Evaluation of a checkpoint on a release split (method.md §8, §9).

Every report puts the model beside two references computed on the same questions: the
training-free rep counter (olympia.counting) for counting, and the single-class baseline
when its checkpoint is given (Table 4). Layout of the per-source table follows the paper's
Table 3: source, detection accuracy, OBO, MAE (plus relative MAE and sample counts).
"""
from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from lift import metrics
from lift.data import ClassSpace, MotionImageCache, QADataset, iterate_batches
from lift.loss import get_loss


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def predict_probs(model, data: QADataset, cache: MotionImageCache, *, batch_size: int = 64,
                  device: torch.device | None = None, loss_name: str = "softmax_ce", amp: bool = True,
                  progress: bool = False, desc: str = "evaluating") -> tuple[np.ndarray, float]:
    """Softmax probabilities (N, V) for every row of `data`, in row order, and the mean loss."""
    device = device or next(model.parameters()).device
    loss_fn = get_loss(loss_name)
    model.eval()
    probs = np.zeros((len(data), data.n_classes), np.float32)
    total, n = 0.0, 0
    for batch in tqdm(iterate_batches(data, cache, batch_size, shuffle=False), desc=desc, unit="batch",
                      total=-(-len(data) // batch_size), disable=not progress, leave=False):
        b = to_device(batch, device)
        with autocast(device, amp):
            logits = model(b["input_ids"], b["attention_mask"], b["pixel_values"], b["pixel_mask"])
        logits = logits.float()
        total += float(loss_fn(logits, b["targets"])) * len(logits)
        n += len(logits)
        probs[batch["index"].numpy()] = torch.softmax(logits, dim=-1).cpu().numpy()
    return probs, total / max(n, 1)


def sample_scores(probs: np.ndarray, data: QADataset, space: ClassSpace, tau: float = metrics.TAU) -> pd.DataFrame:
    """One row per QA sample: task, source, label, reps, and its score (detection accuracy for
    identify; predicted count and error for count)."""
    qa = data.qa
    out = qa[["qa_id", "clip_id", "task", "source", "label", "reps"]].copy()
    out["label_words"] = out["label"].str.split().str.len()
    is_count = data.is_count
    out["detection"] = np.nan
    out["pred_count"] = np.nan
    ident = np.flatnonzero(~is_count)
    if space.mode == "single_class":
        gt = [t[0] if t else -1 for t in data.target_sets(ident)]
        pred = np.argmax(probs[ident][:, space.word_classes], axis=1)
        out.loc[ident, "detection"] = (space.word_classes[pred] == np.array(gt)).astype(float)
    else:
        out.loc[ident, "detection"] = metrics.per_sample_partial_credit(probs[ident], data.target_sets(ident), tau)
    cnt = np.flatnonzero(is_count)
    if len(cnt) and len(space.integer_classes):
        out.loc[cnt, "pred_count"] = metrics.count_from_probs(probs[cnt], space.integer_classes, space.integer_values)
    return out


def summarize(scores: pd.DataFrame) -> dict:
    """Detection accuracy, OBO, MAE, relative MAE over a set of sample scores."""
    det = scores.loc[scores["task"] == "identify", "detection"].dropna()
    cnt = scores[(scores["task"] == "count") & scores["reps"].notna()]
    pred, gt = cnt["pred_count"].to_numpy(float), cnt["reps"].to_numpy(float)
    return {"detection": float(det.mean()) if len(det) else float("nan"),
            "obo": metrics.off_by_one(pred, gt), "mae": metrics.mae(pred, gt),
            "relative_mae": metrics.relative_mae(pred, gt),
            "n_identify": int(len(det)), "n_count": int(len(cnt))}


def per_group(scores: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = [{by: key, **summarize(group)} for key, group in scores.groupby(by, sort=True)]
    return pd.DataFrame(rows)
