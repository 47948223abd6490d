"""A small synthetic release in the published layout, for tests and benchmarks.

Three exercises with distinct motions (squat, arm raise, jumping jack), 2-8 repetitions each
at known periods. Clips go through olympia.store.write_store; the label side (QA shards and
meta/vocabulary.json, formats of docs/architecture.md) is written by the `extras` hook here,
standing in for the labels engineer's writer so the trainer can be tested on its own.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from olympia.schema import Clip, make_clip_id

REST_POSE = np.array([
    [0, 0, 1.0], [-0.1, 0, 1.0], [-0.1, 0, 0.55], [-0.1, 0, 0.1], [0.1, 0, 1.0], [0.1, 0, 0.55],
    [0.1, 0, 0.1], [0, 0, 1.25], [0, 0, 1.5], [0, 0, 1.6], [0, 0, 1.7], [0.18, 0, 1.45],
    [0.18, 0, 1.2], [0.18, 0, 0.95], [-0.18, 0, 1.45], [-0.18, 0, 1.2], [-0.18, 0, 0.95]], np.float32)
UPPER = [0, 1, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
EXERCISES = ("squat", "arm raise", "jumping jack")
UNSEEN_EXERCISES = ("knee raise",)   # for zero-/few-shot tests: "knee" is not a word of EXERCISES
WORDS = {"squat": ("core_action", 1.0), "arm": ("body_part", 0.5), "raise": ("core_action", 1.0),
         "jumping": ("spatial_adjective", 1.0), "jack": ("core_action", 1.0), "knee": ("body_part", 0.5)}
MAX_COUNT = 30


def exercise_skeleton(exercise: str, reps: int, period: float, rng: np.random.Generator,
                      lead_in: int = 10, noise: float = 0.01) -> np.ndarray:
    """(T, 17, 3) float32: `reps` repetitions of `exercise`, each `period` frames long."""
    t = np.arange(int(round(reps * period)) + 2 * lead_in, dtype=np.float32)
    phase = np.clip((t - lead_in) / period, 0, reps)
    s = ((1 - np.cos(2 * np.pi * phase)) / 2).astype(np.float32)          # 0 at rest, 1 mid-rep
    kp = np.repeat(REST_POSE[None], len(t), axis=0)
    if exercise == "squat":
        kp[:, UPPER, 2] -= 0.4 * s[:, None]
        kp[:, [2, 5], 1] += 0.3 * s[:, None]
        kp[:, [2, 5], 2] -= 0.2 * s[:, None]
    elif exercise == "arm raise":
        kp[:, [12, 15], 2] += 0.3 * s[:, None]
        kp[:, [13, 16], 2] += 0.7 * s[:, None]
    elif exercise == "knee raise":
        kp[:, [2], 2] += 0.45 * s[:, None]
        kp[:, [2], 1] += 0.35 * s[:, None]
        kp[:, [3], 2] += 0.35 * s[:, None]
    elif exercise == "jumping jack":
        sign = np.where(REST_POSE[:, 0] >= 0, 1.0, -1.0).astype(np.float32)
        for j, dx, dz in ((13, 0.5, 0.6), (16, 0.5, 0.6), (12, 0.25, 0.3), (15, 0.25, 0.3), (3, 0.2, 0), (6, 0.2, 0)):
            kp[:, j, 0] += sign[j] * dx * s
            kp[:, j, 2] += dz * s
    else:
        raise ValueError(f"unknown synthetic exercise {exercise!r}")
    kp += rng.normal(0, noise, kp.shape).astype(np.float32)
    kp[:, :, 0] += rng.uniform(-1, 1)                                      # where the person stands
    return kp


def synthetic_clips(n_clips: int, seed: int = 0, min_reps: int = 2, max_reps: int = 8,
                    exercises=EXERCISES, source: str = "synthetic"):
    rng = np.random.default_rng(seed)
    for i in range(n_clips):
        exercise = exercises[i % len(exercises)]
        reps = int(rng.integers(min_reps, max_reps + 1))
        period = float(rng.uniform(25, 45))
        yield Clip(id=make_clip_id(source, f"s{i:04d}"), source=source, subject=f"s{i:04d}",
                   label_raw=exercise, label=exercise, keypoints=exercise_skeleton(exercise, reps, period, rng),
                   reps=reps, pose_estimator="synthetic",
                   provenance={"source_file": "", "sha256": "", "license": "CC0-1.0"})


def vocabulary(exercises=EXERCISES) -> dict:
    words = dict.fromkeys(w for e in exercises for w in e.split())
    classes = [{"index": i, "token": w, "category": WORDS[w][0], "weight": WORDS[w][1]} for i, w in enumerate(words)]
    classes += [{"index": len(classes) + k, "token": str(k + 1), "category": "integer", "weight": 1.0}
                for k in range(MAX_COUNT)]
    return {"format_version": 1, "uncategorized_weight": 0.0,
            "categories": {"core_action": 1.0, "spatial_adjective": 1.0, "body_part": 0.5, "integer": 1.0},
            "classes": classes, "max_count": MAX_COUNT, "single_class_labels": list(exercises)}


IDENTIFY = ("What exercise is being performed?", "Name this exercise:")
COUNT = ("How many {exercise}s were done?", "Count the number of {exercise}s in this video.")

QA_SCHEMA = pa.schema([
    ("qa_id", pa.string()), ("clip_id", pa.string()), ("split", pa.string()), ("task", pa.string()),
    ("variant", pa.int32()), ("question", pa.string()), ("prompt", pa.string()), ("answer", pa.string()),
    ("target_indices", pa.list_(pa.int32())), ("target_weights", pa.list_(pa.float32())),
    ("count_class", pa.int32()), ("label_class", pa.int32())])


def qa_rows(meta, vocab: dict) -> list[dict]:
    index = {c["token"]: c["index"] for c in vocab["classes"]}
    weight = {c["token"]: c["weight"] for c in vocab["classes"]}
    labels = vocab["single_class_labels"]
    rows = []
    for r in meta.itertuples():
        words = r.label.split()
        tgt = [(index[w], weight[w]) for w in dict.fromkeys(words) if weight[w] > 0]
        for v, q in enumerate(IDENTIFY):
            rows.append({"qa_id": f"{r.id}#identify#{v}", "clip_id": r.id, "split": r.split, "task": "identify",
                         "variant": v, "question": q, "prompt": f"Q: {q} A:", "answer": r.label,
                         "target_indices": [i for i, _ in tgt], "target_weights": [w for _, w in tgt],
                         "count_class": None, "label_class": labels.index(r.label)})
        for v, q in enumerate(COUNT):
            q = q.format(exercise=r.label)
            cc = index[str(min(int(r.reps), MAX_COUNT))]
            rows.append({"qa_id": f"{r.id}#count#{v}", "clip_id": r.id, "split": r.split, "task": "count",
                         "variant": v, "question": q, "prompt": f"Q: {q} A:", "answer": str(r.reps),
                         "target_indices": [cc], "target_weights": [1.0], "count_class": cc,
                         "label_class": labels.index(r.label)})
    return rows


def write_label_side(staging: Path, meta, exercises=EXERCISES) -> dict:
    """The `extras` hook of write_store: meta/vocabulary.json and data/qa/{split}-*.parquet."""
    vocab = vocabulary(exercises)
    (staging / "meta").mkdir(parents=True, exist_ok=True)
    (staging / "meta" / "vocabulary.json").write_text(json.dumps(vocab, indent=1))
    (staging / "data" / "qa").mkdir(parents=True, exist_ok=True)
    rows = qa_rows(meta, vocab)
    for split in sorted(set(meta["split"])):
        part = [r for r in rows if r["split"] == split]
        pq.write_table(pa.Table.from_pylist(part, schema=QA_SCHEMA), staging / "data" / "qa" / f"{split}-00000-of-00001.parquet")
    return {}


def write_synthetic_release(out_dir, n_clips: int = 30, seed: int = 0, progress: bool = False,
                            exercises=EXERCISES, source: str = "synthetic"):
    """Write the synthetic release to out_dir (clip-level random 80/10/10 split)."""
    from functools import partial
    from olympia.store import write_store
    return write_store(out_dir, synthetic_clips(n_clips, seed, exercises=exercises, source=source),
                       split_mode="clip", seed=seed, progress=progress,
                       extras=partial(write_label_side, exercises=exercises))
