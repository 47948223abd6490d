"""A small synthetic release in the published layout, for tests and benchmarks.

Three exercises with distinct motions (squat, arm raise, jumping jack), 2-8 repetitions each
at known periods. Clips go through olympia.store.write_store; the label side (QA shards and
meta/vocabulary.json) through the labels package's own writers, with the synthetic words'
categories and two question templates per task instead of the project's data files.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from olympia.labels.qa import QuestionTemplates, qa_rows_for_clip, write_qa_shards
from olympia.labels.vocabulary import INTEGER, UNCATEGORIZED, Vocabulary, WordCategories
from olympia.layout import VOCABULARY_PATH
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


def rep_bounds(reps: int, period: float, lead_in: int = 10) -> list[list[int]]:
    """[start, end) frames of each repetition of exercise_skeleton: rep i spans
    lead_in + [i, i + 1) * period (rounded)."""
    return [[lead_in + round(i * period), lead_in + round((i + 1) * period)] for i in range(reps)]


def synthetic_clips(n_clips: int, seed: int = 0, min_reps: int = 2, max_reps: int = 8,
                    exercises=EXERCISES, source: str = "synthetic"):
    rng = np.random.default_rng(seed)
    for i in range(n_clips):
        exercise = exercises[i % len(exercises)]
        reps = int(rng.integers(min_reps, max_reps + 1))
        period = float(rng.uniform(25, 45))
        yield Clip(id=make_clip_id(source, f"s{i:04d}"), source=source, subject=f"s{i:04d}",
                   label_raw=exercise, label=exercise, keypoints=exercise_skeleton(exercise, reps, period, rng),
                   reps=reps, rep_bounds=rep_bounds(reps, period), pose_estimator="synthetic",
                   provenance={"source_file": "", "sha256": "", "license": "CC0-1.0"})


def word_categories() -> WordCategories:
    """Categories and weights of the synthetic words (stand-in for annotations/vocabulary.yaml)."""
    weights = {cat: w for cat, w in WORDS.values()}
    return WordCategories(weights={**weights, UNCATEGORIZED: 0.0, INTEGER: 1.0},
                          word_category={word: cat for word, (cat, _) in WORDS.items()}, max_count=MAX_COUNT)


IDENTIFY = ("What exercise is being performed?", "Name this exercise:")
COUNT = ("How many {exercise} were done?", "Count the number of {exercise} in this video.")


def write_label_side(staging: Path, meta, exercises=EXERCISES) -> dict:
    """The `extras` hook of write_store: meta/vocabulary.json and data/qa/{split}-*.parquet,
    written by the labels package (Vocabulary, qa_rows_for_clip, write_qa_shards) with the
    synthetic words' categories and two question templates per task."""
    categories = word_categories()
    vocab = Vocabulary.build(exercises, categories)
    vocab.save(staging / VOCABULARY_PATH)
    templates = QuestionTemplates(identify=IDENTIFY, count=COUNT)
    rows = [row for r in meta.sort_values("id").itertuples()
            for row in qa_rows_for_clip(r.id, r.split, r.label, r.reps, vocab, templates, categories=categories)]
    write_qa_shards(staging, rows)
    return {}


def write_synthetic_release(out_dir, n_clips: int = 30, seed: int = 0, progress: bool = False,
                            exercises=EXERCISES, source: str = "synthetic"):
    """Write the synthetic release to out_dir (clip-level random 80/10/10 split). Its
    meta/info.json build_fingerprint is a hash of the arguments, as a recipe build records one."""
    from functools import partial
    from olympia.store import write_store
    fingerprint = hashlib.sha256(repr((n_clips, seed, tuple(exercises), source)).encode()).hexdigest()
    return write_store(out_dir, synthetic_clips(n_clips, seed, exercises=exercises, source=source),
                       split_mode="clip", seed=seed, progress=progress,
                       extras=partial(write_label_side, exercises=exercises), fingerprint=fingerprint)
