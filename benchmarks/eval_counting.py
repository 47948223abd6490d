"""Rep counting and set detection measured on the real data in ../shared/realdata.

    .venv/bin/python benchmarks/eval_counting.py                    # counting, every source
    .venv/bin/python benchmarks/eval_counting.py --sets --lso       # + set detection, + LSO check
    .venv/bin/python benchmarks/eval_counting.py --start-pose-ceiling  # + told the annotators' start pose
    options: --realdata DIR (../shared/realdata)  --work DIR (work/eval-counting: pose cache,
             assembled videos)  --no-video (mocap only)  --json FILE (all figures)

Counting sources (what is measured, against which truth):
- fit3d_cut:   Fit3D motion capture (50 -> 25 fps) between the first and last annotated rep
               boundary; truth len(rep_ann[action]) - 1, boundaries rep_ann.
- fit3d_uncut: the whole capture (idle, walking in, getting into position); same truth.
- fit3d_video: the Fit3D videos through the MediaPipe pose path (whole videos = uncut);
               truth: the motion capture's annotation of the same action.
- visionfit:   the VisionFit job's video through MediaPipe; truth job.json num_reps.
- infiniterep: the occluded sit-up video (truth params num_reps = 14, recounted by eye) and the
               leg-raise video (no label shipped here: 6, counted by eye).
- countix:     the Countix clip's two annotated segments (MediaPipe), truth the annotation.
- pushup:      the side-view push-up video (MediaPipe); truth 11, counted by eye.
MM-Fit ships no pose here and KIMORE / UI-PRMD no per-set counts: not measured.
Metrics: exact, OBO (|pred - gt| <= 1), MAE, normalised MAE (mean |pred - gt| / gt); where
rep boundaries are annotated, the share of annotated boundaries with a predicted one within
0.3 s, and the share of reps whose start and end both are.

Rep boundaries (printed with the counts): by boundary type (the set's first start, between
reps, its last end) the share within 0.3 s and the median signed offset (predicted - annotated)
of the nearest predicted boundary; per Fit3D exercise the share within 0.3 s of the boundaries
placed by the counter and by the previous rule (`previous_bounds`: the middle of the counted
signal's trough, on the same reps). Rep confidence: how well it tells the counted reps that
match an annotated rep (IoU >= 0.5) from those that do not, as AUROC (0.5: no better than
chance; 1: every matching rep is more confident than every other); the same for the reps with
both ends within 0.3 s of an annotated boundary.

Start-pose ceiling (--start-pose-ceiling): the Fit3D captures counted again with the start
pose's phase taken from the annotation (the cycle's phase closest to the median pose at the
annotated boundaries): what the boundary rule reaches when it need not estimate that pose.
Beside it, the same told the pose the other subjects' annotators cut the same exercise at
(leave the subject out): what a per-exercise start-pose table learnt from Fit3D would reach.

Set detection (--sets): every uncut capture alone (one set each); each subject's captures
joined with 10 s of held pose between them; a long video assembled with ffmpeg from the real
clips with held frames and a black stretch between them, posed with MediaPipe and searched
as `olympia videos sets` does (olympia.pose.workout.sets_in_pose: the usable runs, then the
sets in each). Precision and recall at IoU >= 0.5, and OBO of the matched sets' reps. Walking:
every uncut capture alone again with the root subtracted (as MediaPipe gives the pose: only
the feet tell walking), and how much of the root's travel the feet's path covers in the
steps around the sets (`feet_against_root`).

Leave-subjects-out (--lso): three parameters of the counter tuned on a grid on subjects
s03 + s04, reported on s05 + s07 beside the defaults; the same for the three parameters of the
rep boundaries (tuned on the boundaries within 0.3 s, cut and uncut), both ways round, and
for the two of the start pose's phase (timing weight 0 included: the phase from the pose alone)
and for the passing rest (0 included: every rest cut in its middle).
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import reference_counter  # noqa: E402

import olympia.counting as counting  # noqa: E402
import olympia.periodicity as periodicity  # noqa: E402
import olympia.rep_bounds as rep_bounds  # noqa: E402
import olympia.rep_bounds_estimate as rep_bounds_estimate  # noqa: E402
import olympia.rep_peaks as rep_peaks  # noqa: E402
import olympia.rep_signals as rep_signals  # noqa: E402
from olympia.sets import detect_sets, foot_path  # noqa: E402
from olympia.skeleton import to_h36m  # noqa: E402
from olympia.timebase import FPS, rescale_frames, resample_to_fps  # noqa: E402

FIT3D_FPS = 50.0
BOUNDARY_TOL = 0.3 * FPS          # frames
HOLD_S = 10.0                     # rest between joined captures


@dataclass
class Case:
    source: str                 # fit3d_cut, fit3d_uncut, fit3d_video, ...
    name: str                   # subject/action or file
    keypoints: np.ndarray       # (T, 17, 3) at 25 fps, NaN where no person
    reps: int                   # ground-truth count
    boundaries: np.ndarray | None = None   # annotated rep boundaries (frames at 25 fps) or None
    subject: str = ""
    extra: dict = field(default_factory=dict)


# -- loading --------------------------------------------------------------------------------

def load_fit3d_joints(path: Path) -> np.ndarray:
    """Fit3D joints3d_25 (.json or the gzip-compressed copy in realdata) -> (T, 17, 3) at 50 fps."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        kp = np.asarray(json.load(f)["joints3d_25"], dtype=np.float64)
    return to_h36m(kp, "fit3d25")


def fit3d_cases(realdata: Path) -> list[Case]:
    """fit3d_uncut and fit3d_cut cases for every annotated (subject, action)."""
    cases = []
    for subject_dir in sorted((realdata / "fit3d" / "train").glob("s*")):
        ann = json.loads((subject_dir / "rep_ann.json").read_text())
        for action, bounds in sorted(ann.items()):
            files = list((subject_dir / "joints3d_25").glob(f"{action}.json*"))
            if not files:
                continue
            kp = resample_to_fps(load_fit3d_joints(files[0]), FIT3D_FPS, FPS)
            b = rescale_frames(bounds, FIT3D_FPS, FPS, len(kp))
            name, subject = f"{subject_dir.name}/{action}", subject_dir.name
            cases.append(Case("fit3d_uncut", name, kp, len(b) - 1, b, subject, {"action": action}))
            cases.append(Case("fit3d_cut", name, kp[b[0]:b[-1]], len(b) - 1, b - b[0], subject,
                              {"action": action}))
    return cases


def kimore_cases(realdata: Path) -> list[Case]:
    """The KIMORE captures counted by eye (KIMORE_BY_EYE), read by the kimore adapter."""
    from olympia.adapters import kimore
    root = realdata / "kimore"
    if not root.exists():
        return []
    clips = [clip for item in kimore.list_clips(root) for clip in kimore.read(root, item)]
    return [Case("kimore", clip.id, clip.keypoints, KIMORE_BY_EYE[clip.id.rsplit(":", 1)[1]],
                 extra={"truth": "counted by eye"})
            for clip in clips if clip.id.rsplit(":", 1)[1] in KIMORE_BY_EYE]


def uiprmd_cases(realdata: Path) -> list[Case]:
    """UI-PRMD's release (both systems): the authors segmented one repetition per file, so each
    file is 1 rep. Files the adapter quarantines (a marker lost in most frames) are left out."""
    from olympia.adapters import uiprmd
    from olympia.errors import OlympiaError
    root = realdata / "uiprmd_release"
    if not root.exists():
        return []
    cases = []
    for item in uiprmd.list_clips(root):
        try:
            clips = list(uiprmd.read(root, item))
        except (ValueError, OlympiaError):
            continue
        cases += [Case("uiprmd", clip.id, clip.keypoints, 1, extra={"truth": "one repetition per file"})
                  for clip in clips]
    return cases


def video_pose(video: Path, cache_dir: Path):
    """The video's PoseResult through the MediaPipe pose path, 25 fps (cached)."""
    from olympia.pose.parallel import PoseTask, run_pose_task
    outcome = run_pose_task(PoseTask(str(video), cache_dir=str(cache_dir)))
    if not outcome.ok:
        raise RuntimeError(f"{video}: {outcome.error}")
    return outcome.result


def video_keypoints(video: Path, cache_dir: Path) -> np.ndarray:
    """(T, 17, 3) at 25 fps through the MediaPipe pose path, NaN where no person (cached)."""
    return video_pose(video, cache_dir).keypoints


# Counted by eye from contact sheets of the videos (docs/counting.md, "Ground truth").
BY_EYE = {"videos/pushup_test_fitness-action-eval.mp4": ("pushup", 11),
          "infiniterep/fitness-basic_000000.mp4": ("infiniterep", 6)}
COUNTIX_SEGMENTS = [(0.0, 5.0, 2), (6.04, 9.73, 3)]   # seconds into the clip (PROVENANCE.md)
# KIMORE's flat exports (Kinect v2, no counts shipped), counted by eye from the wrists' heights:
# arm lifts (one rep: up and down) and lateral tilts (one rep: to one side and the other, as
# Fit3D counts alternating sides). Subject A's tilts are not scored: the capture starts tilted,
# 5 tilts one way and 4 and a half the other.
KIMORE_BY_EYE = {"jointpositionexercise1-2": 5, "jointpositionexercise1": 4, "jointpositionexercise2-2": 5}


def video_cases(realdata: Path, cache_dir: Path) -> list[Case]:
    cases = []
    for video in sorted((realdata / "fit3d" / "train").glob("s*/videos/*/*.mp4")):
        subject, camera, action = video.parts[-4], video.parts[-2], video.stem
        ann = json.loads((video.parents[2] / "rep_ann.json").read_text())
        if action in ann:
            kp = video_keypoints(video, cache_dir)
            b = rescale_frames(ann[action], FIT3D_FPS, FPS, len(kp))
            cases.append(Case("fit3d_video", f"{subject}/{camera}/{action}", kp, len(b) - 1, b, subject))
    for job in sorted((realdata / "visionfit").glob("*/job.json")):
        reps = int(json.loads(job.read_text())["params"]["num_reps"])
        cases.append(Case("visionfit", job.parent.name, video_keypoints(job.parent / "video.mp4", cache_dir), reps))
    situp = realdata / "infiniterep" / "fitness-occlusion_00004_situp.mp4"
    params = realdata / "infiniterep" / "fitness-occlusion_00004_params.json"
    if situp.exists() and params.exists():
        reps = int(json.loads(params.read_text())["params"]["num_reps"])
        cases.append(Case("infiniterep", situp.name, video_keypoints(situp, cache_dir), reps))
    for rel, (source, reps) in BY_EYE.items():
        if (realdata / rel).exists():
            cases.append(Case(source, Path(rel).name, video_keypoints(realdata / rel, cache_dir), reps,
                              extra={"truth": "counted by eye"}))
    countix = realdata / "videos" / "countix_4-YmQKoHYmw.mp4"
    if countix.exists():
        kp = video_keypoints(countix, cache_dir)
        for i, (a, b, reps) in enumerate(COUNTIX_SEGMENTS):
            cases.append(Case("countix", f"{countix.name}#{i}", kp[round(a * FPS):round(b * FPS)], reps))
    return cases


# -- counting metrics -----------------------------------------------------------------------

def count_metrics(truth: list[int], pred: list[int]) -> dict:
    t, p = np.asarray(truth, float), np.asarray(pred, float)
    err = np.abs(p - t)
    return {"n": len(t), "exact": float(np.mean(err == 0)), "obo": float(np.mean(err <= 1)),
            "mae": float(err.mean()), "nmae": float(np.mean(err / t))}


def boundary_metrics(cases: list[Case], results) -> dict | None:
    """Share of annotated boundaries with a predicted one within 0.3 s; share of annotated
    reps with both their start and end matched so."""
    hits, reps_ok, n_reps = [], 0, 0
    for case, res in zip(cases, results):
        if case.boundaries is None:
            continue
        pred = np.unique(res.rep_bounds) if len(res.rep_bounds) else np.zeros(0)
        ok = [bool(len(pred)) and np.abs(pred - b).min() <= BOUNDARY_TOL for b in case.boundaries]
        hits += ok
        reps_ok += sum(a and b for a, b in zip(ok[:-1], ok[1:]))
        n_reps += len(ok) - 1
    if not hits:
        return None
    return {"boundaries": float(np.mean(hits)), "reps": reps_ok / n_reps}



BOUNDARY_KINDS = ("first", "inner", "last")


def boundary_offsets(case: Case, bounds: np.ndarray) -> list[tuple[str, float]]:
    """(kind, signed offset in frames of the nearest predicted boundary) per annotated boundary."""
    pred = np.unique(bounds) if len(bounds) else np.zeros(0)
    out = []
    for i, b in enumerate(case.boundaries):
        kind = "first" if i == 0 else "last" if i == len(case.boundaries) - 1 else "inner"
        out.append((kind, float(pred[np.argmin(np.abs(pred - b))] - b) if len(pred) else float("nan")))
    return out


def boundary_hits(case: Case, bounds: np.ndarray) -> list[tuple[str, bool]]:
    """(kind, within 0.3 s) per annotated boundary (`boundary_offsets`)."""
    return [(kind, abs(o) <= BOUNDARY_TOL) for kind, o in boundary_offsets(case, bounds)]


def edges_given(per_case: list[list[tuple[str, bool]]]) -> float:
    """The share of reps within 0.3 s were every set's first start and last end right (per case
    the `boundary_hits`): what the boundaries between reps alone allow."""
    hits = [[ok or kind != "inner" for kind, ok in case] for case in per_case]
    return sum(a and b for h in hits for a, b in zip(h[:-1], h[1:])) / max(1, sum(len(h) - 1 for h in hits))


def previous_bounds(case: Case, res) -> np.ndarray:
    """The rule the start-pose boundaries replaced, on the same reps: each rep from the middle
    of the counted signal's rest (its trough within 10% of the rise) before its peak to the one
    after it (rep_bounds.rest_band_bounds on the counted signal)."""
    if res.count < 2 or res.span is None:
        return res.rep_bounds
    a, b = res.span
    xs = periodicity.pose_features(case.keypoints)[a:b]
    names, directions = rep_signals.candidate_directions(xs)
    s = (xs - xs.mean(axis=0)) @ directions[:, names.index(res.signal)]
    sign = rep_peaks.away_from_rest(s, res.period_frames)
    return rep_bounds.rest_band_bounds(sign * s, res.peaks - a, res.period_frames) + a


def auroc(positive, score) -> float:
    """Area under the ROC curve of `score` for the boolean labels `positive` (Mann-Whitney U over
    the pairs, ties count half); NaN without both labels."""
    from scipy.stats import rankdata
    y, ranks = np.asarray(positive, bool), rankdata(score)
    n1, n0 = int(y.sum()), int((~y).sum())
    if not n1 or not n0:
        return float("nan")
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def confidence_report(pairs) -> dict:
    """Per-rep confidence against whether the rep matches an annotated one (IoU >= 0.5)."""
    match, ends, conf = [], [], []
    for case, res in pairs:
        truth = list(zip(case.boundaries[:-1], case.boundaries[1:]))
        for rep, c in zip(res.rep_bounds, res.confidence):
            match.append(max(iou(rep, t) for t in truth) >= 0.5)
            ends.append(all(np.abs(case.boundaries - e).min() <= BOUNDARY_TOL for e in rep))
            conf.append(float(c))
    match, conf = np.asarray(match, bool), np.asarray(conf)
    return {"auroc": auroc(match, conf), "auroc_ends_within": auroc(ends, conf),
            "matching": int(match.sum()), "other": int((~match).sum()),
            "median_matching": float(np.median(conf[match])) if match.any() else float("nan"),
            "median_other": float(np.median(conf[~match])) if (~match).any() else float("nan")}


def boundary_report(cases: list[Case], results) -> dict:
    """Per source with annotated boundaries: by boundary type, the share within 0.3 s and the
    median signed offset; per exercise (Fit3D), the share within 0.3 s now and before."""
    report = {}
    for source in dict.fromkeys(c.source for c in cases if c.boundaries is not None):
        pairs = [(c, r) for c, r in zip(cases, results) if c.source == source and c.boundaries is not None]
        kinds = {k: [] for k in BOUNDARY_KINDS}
        exercises: dict[str, list] = {}
        for case, res in pairs:
            now = boundary_offsets(case, res.rep_bounds)
            before = boundary_offsets(case, previous_bounds(case, res))
            for kind, off in now:
                kinds[kind].append(off)
            row = exercises.setdefault(case.extra.get("action", case.name.split("/")[-1]), [[], []])
            row[0] += [abs(o) <= BOUNDARY_TOL for _, o in now]
            row[1] += [abs(o) <= BOUNDARY_TOL for _, o in before]
        report[source] = {
            "by_kind": {k: {"n": len(v), "within": float(np.mean(np.abs(v) <= BOUNDARY_TOL)),
                            "median_offset_frames": float(np.nanmedian(v))} for k, v in kinds.items() if v},
            "by_exercise": {e: {"n": len(v[0]), "within": float(np.mean(v[0])), "before": float(np.mean(v[1]))}
                            for e, v in sorted(exercises.items())},
            "confidence": confidence_report(pairs),
            "reps_edges_given": edges_given([boundary_hits(c, r.rep_bounds) for c, r in pairs])}
    return report


def evaluate_counting(cases: list[Case]) -> dict:
    table = {}
    for source in dict.fromkeys(c.source for c in cases):
        group = [c for c in cases if c.source == source]
        t0 = time.perf_counter()
        results = [counting.count_reps(c.keypoints) for c in group]
        seconds = time.perf_counter() - t0
        before = [reference_counter.count_reps(np.nan_to_num(c.keypoints)) for c in group]
        truth = [c.reps for c in group]
        table[source] = {"before": count_metrics(truth, before),
                         "after": count_metrics(truth, [r.count for r in results]),
                         "boundaries": boundary_metrics(group, results),
                         "ms_per_clip": 1000 * seconds / len(group),
                         "misses": [(c.name, c.reps, r.count) for c, r in zip(group, results) if r.count != c.reps],
                         "results": results}
    return table


def evaluate_windows(cases: list[Case], lengths=(1, 2, 3)) -> dict:
    """Every window of 1, 2 and 3 annotated reps cut at the annotated boundaries of the Fit3D
    captures (a source of single repetitions, or of short sets): exact and OBO per length."""
    out = {}
    for k in lengths:
        truth, counted = [], []
        for c in (c for c in cases if c.source == "fit3d_uncut"):
            b = c.boundaries
            for i in range(len(b) - k):
                truth.append(k)
                counted.append(counting.count_reps(c.keypoints[b[i]:b[i + k]]).count)
        out[k] = count_metrics(truth, counted)
    return out


CUT_TO_SET = {"fit3d_cut": True, "fit3d_video": False}   # clips cut at the annotated set, or whole captures


def evaluate_estimated_bounds(cases: list[Case]) -> dict:
    """`estimate_rep_bounds` with the annotated count (the rep bounds of a source that gives
    only a count, item 5), told whether the clip was cut at its set: the share of annotated
    boundaries (reps) within 0.3 s, and of the boundaries between reps alone (a cut clip's first
    and last boundaries are its edges, which the estimate then keeps by construction)."""
    out = {}
    for source, cut_to_set in CUT_TO_SET.items():
        group = [c for c in cases if c.source == source and c.boundaries is not None and c.reps]
        if not group:
            continue
        est = [rep_bounds_estimate.estimate_rep_bounds(c.keypoints, reps=c.reps, cut_to_set=cut_to_set) for c in group]
        inner = [o for c, e in zip(group, est) for kind, o in boundary_offsets(c, e.rep_bounds) if kind == "inner"]
        out[source] = {**boundary_metrics(group, est), "clips": len(group), "cut_to_set": cut_to_set,
                       "inner": float(np.mean(np.abs(inner) <= BOUNDARY_TOL)),
                       "methods": dict(Counter(e.method for e in est))}
    return out


def evaluate_counted_cut(cases: list[Case]) -> dict | None:
    """`count_reps(cut_to_set=True)` (`olympia count --cut`) on the captures cut at their
    annotated set, the count its own: exact counts, and the share of annotated boundaries
    (reps, boundaries between reps) within 0.3 s."""
    group = [c for c in cases if c.source == "fit3d_cut"]
    if not group:
        return None
    results = [counting.count_reps(c.keypoints, cut_to_set=True) for c in group]
    inner = [o for c, r in zip(group, results) for kind, o in boundary_offsets(c, r.rep_bounds) if kind == "inner"]
    return {**boundary_metrics(group, results), "clips": len(group),
            "exact": float(np.mean([r.count == c.reps for c, r in zip(group, results)])),
            "inner": float(np.mean(np.abs(inner) <= BOUNDARY_TOL))}


def scale_free(x: np.ndarray) -> np.ndarray:
    """Pose features (..., 3J), centred joints, divided by the mean joint distance from the
    centroid: one subject's pose comparable with another's of a different size."""
    p = x.reshape(*x.shape[:-1], -1, 3)
    return x / np.linalg.norm(p, axis=-1).mean(axis=-1)[..., None]


def boundary_pose(case: Case, scaled: bool = False) -> np.ndarray:
    """The median pose (pose features, `scale_free` if `scaled`) at `case`'s annotated boundaries."""
    x = periodicity.pose_features(case.keypoints)
    x = scale_free(x) if scaled else x
    return np.median(x[np.minimum(case.boundaries, len(x) - 1)], axis=0)


@contextlib.contextmanager
def told_start_pose(template: np.ndarray, scaled: bool = False):
    """While open, the counter's start pose is `template`: the phase of the rep cycle closest to
    it (`scale_free` poses if `scaled`) replaces `start_pose_phase` (the rest of the boundary rule,
    the count and the set's edges stay the counter's)."""
    saved = rep_bounds.start_pose_phase

    def phase(xs, cycle, peaks, period, clip_edges):
        return int(np.argmin(np.linalg.norm((scale_free(cycle) if scaled else cycle) - template, axis=1)))

    rep_bounds.start_pose_phase = phase
    try:
        yield
    finally:
        rep_bounds.start_pose_phase = saved


def others_start_pose(case: Case, group: list[Case]) -> np.ndarray | None:
    """The start pose the other subjects' annotators used for `case`'s exercise: the mean of their
    captures' `boundary_pose` (scale-free), None where no other subject did the exercise."""
    poses = [boundary_pose(c, scaled=True) for c in group
             if c.extra.get("action") == case.extra.get("action") and c.subject != case.subject]
    return np.mean(poses, axis=0) if poses else None


def _told_scores(group: list[Case], templates: list, scaled: bool = False) -> dict:
    results = []
    for case, template in zip(group, templates):
        with (told_start_pose(template, scaled) if template is not None else contextlib.nullcontext()):
            results.append(counting.count_reps(case.keypoints))
    per_case = [boundary_hits(c, r.rep_bounds) for c, r in zip(group, results)]
    kinds = [k for ks in per_case for k in ks]
    return {**boundary_metrics(group, results), "clips": len(group), "reps_edges_given": edges_given(per_case),
            "told": sum(t is not None for t in templates),
            "exact": float(np.mean([r.count == c.reps for c, r in zip(group, results)])),
            **{kind: float(np.mean([ok for k, ok in kinds if k == kind])) for kind in ("first", "inner", "last")}}


def evaluate_annotated_start_pose(cases: list[Case]) -> dict:
    """Per Fit3D source: the reps (boundaries) within 0.3 s when the counter is told the
    annotators' start pose (`told_start_pose` with the capture's own `boundary_pose`): how far
    estimating that pose is from the whole gap to the annotation, and what is left to the set's
    edges and the counts. Beside it (key "others"), the start pose a per-exercise convention
    learnt from the annotation would give, leaving the subject out: the other subjects' boundary
    pose for the same exercise (`others_start_pose`; scale-free, and so the capture's own
    scale-free pose too, key "own_scale_free")."""
    out = {}
    for source in ("fit3d_cut", "fit3d_uncut"):
        group = [c for c in cases if c.source == source]
        out[source] = _told_scores(group, [boundary_pose(c) for c in group])
        out[source]["own_scale_free"] = _told_scores(group, [boundary_pose(c, True) for c in group], True)
        out[source]["others"] = _told_scores(group, [others_start_pose(c, group) for c in group], True)
    return out


# -- set detection --------------------------------------------------------------------------

def iou(a, b) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def match_sets(pred, truth) -> dict:
    """Greedy one-to-one matching at IoU >= 0.5 of predicted sets to true (start, end, reps)."""
    used, pairs = set(), []
    for t in truth:
        scored = [(iou((p.start_frame, p.end_frame), t[:2]), i) for i, p in enumerate(pred) if i not in used]
        best = max(scored, default=(0.0, -1))
        if best[0] >= 0.5:
            used.add(best[1])
            pairs.append((t, pred[best[1]]))
    return {"tp": len(pairs), "n_pred": len(pred), "n_true": len(truth),
            "obo_hits": sum(abs(p.reps - t[2]) <= 1 for t, p in pairs),
            "exact_hits": sum(p.reps == t[2] for t, p in pairs)}


def summarize_sets(counts: list[dict]) -> dict:
    tp = sum(c["tp"] for c in counts)
    return {"precision": tp / max(1, sum(c["n_pred"] for c in counts)),
            "recall": tp / max(1, sum(c["n_true"] for c in counts)),
            "reps_obo": sum(c["obo_hits"] for c in counts) / max(1, tp),
            "reps_exact": sum(c["exact_hits"] for c in counts) / max(1, tp),
            "sets": sum(c["n_true"] for c in counts)}


def evaluate_sets_mocap(cases: list[Case]) -> dict:
    uncut = [c for c in cases if c.source == "fit3d_uncut"]
    alone = [match_sets(detect_sets(c.keypoints).sets, [(c.boundaries[0], c.boundaries[-1], c.reps)])
             for c in uncut]
    joined, frames, seconds = [], 0, 0.0
    hold = int(HOLD_S * FPS)
    for subject in sorted({c.subject for c in uncut}):
        parts, truth, offset = [], [], 0
        for c in (c for c in uncut if c.subject == subject):
            truth.append((offset + c.boundaries[0], offset + c.boundaries[-1], c.reps))
            parts += [c.keypoints, np.repeat(c.keypoints[-1:], hold, axis=0)]
            offset += len(c.keypoints) + hold
        kp = np.concatenate(parts)
        t0 = time.perf_counter()
        joined.append(match_sets(detect_sets(kp).sets, truth))
        seconds += time.perf_counter() - t0
        frames += len(kp)
    # as MediaPipe gives them: every joint relative to the root, so only the feet tell walking
    centred = [match_sets(detect_sets(c.keypoints - c.keypoints[:, :1]).sets,
                          [(c.boundaries[0], c.boundaries[-1], c.reps)]) for c in uncut]
    return {"uncut_alone": summarize_sets(alone), "uncut_alone_root_centred": summarize_sets(centred),
            "joined_with_rests": {**summarize_sets(joined), "frames_per_s": frames / seconds},
            "walking_steps_by_the_feet": feet_against_root(uncut)}


def feet_against_root(uncut: list[Case], window: int = int(FPS), moving: float = 0.5) -> dict:
    """How much of the root's travel the feet's path (`olympia.sets.foot_path`, from the pose
    relative to the root) covers, over the 1 s windows outside the annotated set (stepping in,
    getting down to the floor, stepping off) where the root moves faster than `moving` m/s."""
    ratios = []
    for c in uncut:
        root, feet = c.keypoints[:, 0, :2].astype(np.float64), foot_path(c.keypoints)
        by_root = np.linalg.norm(root[window:] - root[:-window], axis=1) * FPS / window
        by_feet = np.linalg.norm(feet[window:] - feet[:-window], axis=1) * FPS / window
        start = np.arange(len(by_root))
        outside = (start + window <= c.boundaries[0]) | (start >= c.boundaries[-1])
        keep = outside & (by_root > moving)
        ratios += list(by_feet[keep] / by_root[keep])
    q = np.percentile(ratios, [25, 50, 75]) if ratios else [np.nan] * 3
    return {"windows": len(ratios), "feet_over_root_median": float(q[1]),
            "feet_over_root_iqr": [float(q[0]), float(q[2])]}


# The long video: real clips, each followed by a rest (its last frame held) or a black stretch.
LONG_VIDEO = [  # (path under realdata, rest after it (s), kind of rest)
    ("videos/pushup_test_fitness-action-eval.mp4", 10, "hold"),
    ("fit3d/train/s03/videos/65906101LF/dumbbell_biceps_curls.mp4", 5, "black"),
    ("infiniterep/fitness-basic_000000.mp4", 8, "hold"),
    ("fit3d/train/s04/videos/58860488/warmup_17.mp4", 8, "hold"),
    ("infiniterep/fitness-occlusion_00004_situp.mp4", 8, "hold"),
    ("fit3d/train/s03/videos/58860488RB/warmup_7.mp4", 6, "hold"),
]


def assemble_long_video(realdata: Path, out: Path) -> tuple[Path, list[tuple[int, int, int]]]:
    """LONG_VIDEO's clips, each made 640x640 at 25 fps with its rest appended (tpad), then
    joined (concat demuxer, no re-encode); returns the video and the true sets (start, end,
    reps) on its 25 fps timeline, offsets from each piece's counted frames."""
    out.parent.mkdir(parents=True, exist_ok=True)
    truth, offset, pieces = [], 0, []
    for i, (rel, rest_s, kind) in enumerate(LONG_VIDEO):
        piece = out.parent / f"{out.stem}-{i}.mp4"
        pad = "tpad=stop_mode=clone" if kind == "hold" else "tpad=stop_mode=add:color=black"
        if not piece.exists():
            _ffmpeg(["-i", str(realdata / rel), "-an", "-vf",
                     f"fps=25,scale=640:640:force_original_aspect_ratio=decrease,"
                     f"pad=640:640:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,{pad}:stop_duration={rest_s}",
                     "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"], piece)
        n_piece = _count_frames(piece)
        a, b, reps = _set_in_clip(realdata, rel, n_piece - int(round(rest_s * FPS)))
        truth.append((offset + a, offset + b, reps))
        offset += n_piece
        pieces.append(piece)
    if not out.exists():
        listing = out.with_suffix(".txt")
        listing.write_text("".join(f"file '{p.resolve()}'\n" for p in pieces))
        _ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy"], out)
    return out, truth


def _ffmpeg(args: list[str], out: Path) -> None:
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(tmp)], check=True)
    tmp.rename(out)


def _count_frames(path: Path) -> int:
    res = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True)
    return int(res.stdout.strip())


def _set_in_clip(realdata: Path, rel: str, n: int) -> tuple[int, int, int]:
    """The true set of a clip: Fit3D's annotated span, else the whole clip with its count."""
    if rel.startswith("fit3d"):
        subject, action = rel.split("/")[2], Path(rel).stem
        b = rescale_frames(json.loads((realdata / "fit3d/train" / subject / "rep_ann.json").read_text())[action],
                           FIT3D_FPS, FPS, n)
        return int(b[0]), int(b[-1]), len(b) - 1
    if "situp" in rel:
        return 0, n, 14
    return 0, n, dict(BY_EYE)[rel][1]


def evaluate_long_video(realdata: Path, work: Path) -> dict:
    from olympia.pose.workout import sets_in_pose
    video, truth = assemble_long_video(realdata, work / "long_workout.mp4")
    pose = video_pose(video, work / "pose-cache")
    t0 = time.perf_counter()
    det, _ = sets_in_pose(pose)        # what `olympia videos sets` does after posing: runs, then sets
    seconds = time.perf_counter() - t0
    return {**summarize_sets([match_sets(det.sets, truth)]), "frames": pose.n_frames,
            "frames_per_s": pose.n_frames / seconds, "truth": truth,
            "found": [s.to_json() for s in det.sets],
            "unusable": [u.describe() for u in det.unusable]}


# -- leave subjects out ---------------------------------------------------------------------

GRID = {"MIN_RECURRENCE": (0.5, 0.6, 0.7), "HARMONIC_FRACTION": (0.8, 0.85, 0.9),
        "MIN_PROMINENCE": (0.2, 0.3, 0.4)}


@contextlib.contextmanager
def parameters(**values):
    """Set counter constants (in every module that reads them) for the duration."""
    saved = {}
    for name, value in values.items():
        for module in (periodicity, counting, rep_bounds):
            if hasattr(module, name):
                saved[(module, name)] = getattr(module, name)
                setattr(module, name, value)
    try:
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)


def _score(cases: list[Case]) -> dict:
    return count_metrics([c.reps for c in cases], [counting.count_reps(c.keypoints).count for c in cases])


def leave_subjects_out(cases: list[Case], train=("s03", "s04")) -> dict:
    mocap = [c for c in cases if c.source in ("fit3d_cut", "fit3d_uncut")]
    tune = [c for c in mocap if c.subject in train]
    test = [c for c in mocap if c.subject not in train]
    best = None
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values))
        with parameters(**setting):
            m = _score(tune)
        key = (m["obo"], m["exact"], -m["mae"])
        if best is None or key > best[0]:
            best = (key, setting, m)
    with parameters(**best[1]):
        tuned = _score(test)
    return {"train_subjects": list(train), "test_subjects": sorted({c.subject for c in test}),
            "grid": {k: list(v) for k, v in GRID.items()}, "chosen": best[1], "train": best[2],
            "test_tuned": tuned, "test_defaults": _score(test)}



BOUNDS_GRID = {"START_POSE_BAND": (0.2, 0.3, 0.4), "SET_EDGE_BAND": (0.1, 0.2, 0.3),
               "BOUND_REACH": (0.25, 0.35, 0.5)}
# the start pose's phase from the set's timing (TIMING_WEIGHT 0: from the edges' pose alone)
PHASE_GRID = {"SPAN_OVERSHOOT": (0.2, 0.3, 0.4), "TIMING_WEIGHT": (0.0, 0.25, 0.5, 1.0)}
# a rest between reps this short (periods) is cut at its end (0: every rest in its middle)
PASSING_GRID = {"PASSING_REST": (0.0, 0.1, 0.15, 0.2, 0.25)}


def _bounds_within(items, setting: dict) -> float:
    """Share of annotated boundaries within 0.3 s with the boundary parameters `setting`, on
    (case, features of the set, result) triples: the counts, peaks and periods are fixed."""
    hits = []
    with parameters(**setting):
        for case, xs, res in items:
            if res.count >= 2:
                edges = (res.span[0] == 0, res.span[1] == len(case.keypoints))
                bounds = rep_bounds.start_pose_bounds(xs, res.peaks - res.span[0], res.period_frames,
                                                      edges)[0] + res.span[0]
            else:
                bounds = res.rep_bounds
            hits += [abs(o) <= BOUNDARY_TOL for _, o in boundary_offsets(case, bounds)]
    return float(np.mean(hits))


def leave_subjects_out_bounds(cases: list[Case], results, grid_values: dict = BOUNDS_GRID) -> dict:
    """The boundary parameters chosen on a grid on two subjects (share within 0.3 s, mean of
    cut and uncut), reported on the other two, both ways round, beside the defaults."""
    items = {}
    for case, res in zip(cases, results):
        if case.source in ("fit3d_cut", "fit3d_uncut") and res.span is not None:
            xs = periodicity.pose_features(case.keypoints)[res.span[0]:res.span[1]]
            items.setdefault((case.source, case.subject), []).append((case, xs, res))
    defaults = {name: getattr(rep_bounds, name) for name in grid_values}
    subjects = sorted({s for _, s in items})
    out = []
    for design in (tuple(subjects[:2]), tuple(subjects[2:])):
        test = tuple(s for s in subjects if s not in design)

        def score(setting, group):
            return {src: _bounds_within([t for s in group for t in items.get((src, s), [])], setting)
                    for src in ("fit3d_cut", "fit3d_uncut")}
        grid = [dict(zip(grid_values, v)) for v in itertools.product(*grid_values.values())]
        scored = [(sum(score(g, design).values()), g) for g in grid]
        best = max(scored, key=lambda t: t[0])[1]
        out.append({"design_subjects": list(design), "test_subjects": list(test), "chosen": best,
                    "design": score(best, design), "test_chosen": score(best, test),
                    "test_defaults": score(defaults, test)})
    return {"grid": {k: list(v) for k, v in grid_values.items()}, "defaults": defaults, "folds": out}


# -- report ---------------------------------------------------------------------------------

def _row(name: str, r: dict) -> str:
    b, a = r["before"], r["after"]
    bounds = r["boundaries"]
    bnd = f"{bounds['boundaries']:.2f} / {bounds['reps']:.2f}" if bounds else "-"
    return (f"| {name} | {a['n']} | {b['exact']:.2f} / {b['obo']:.2f} / {b['mae']:.2f} / {b['nmae']:.3f} | "
            f"{a['exact']:.2f} / {a['obo']:.2f} / {a['mae']:.2f} / {a['nmae']:.3f} | {bnd} | {r['ms_per_clip']:.0f} |")



def print_boundary_report(report: dict) -> None:
    for source, r in report.items():
        kinds = "; ".join(f"{k} {v['within']:.2f} (median offset {v['median_offset_frames']:+.1f} frames, n {v['n']})"
                          for k, v in r["by_kind"].items())
        print(f"boundaries within 0.3 s, {source}: {kinds}; reps {r['reps_edges_given']:.3f} "
              f"were every first start and last end right")
        c = r["confidence"]
        print(f"rep confidence, {source}: AUROC {c['auroc']:.3f} ({c['matching']} reps matching an annotated rep "
              f"at IoU >= 0.5, median confidence {c['median_matching']:.2f}; {c['other']} not, {c['median_other']:.2f}); "
              f"AUROC {c['auroc_ends_within']:.3f} for both ends within 0.3 s of annotated boundaries")
    fit3d = [s for s in ("fit3d_cut", "fit3d_uncut") if s in report]
    if fit3d:
        print("| exercise | " + " | ".join(f"{s}: before / after" for s in fit3d) + " |")
        print("|---|" + "---|" * len(fit3d))
        for exercise in report[fit3d[0]]["by_exercise"]:
            cells = [report[s]["by_exercise"].get(exercise) for s in fit3d]
            print(f"| {exercise} | " + " | ".join(f"{c['before']:.2f} / {c['within']:.2f}" if c else "-"
                                                   for c in cells) + " |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    ap.add_argument("--work", type=Path, default=REPO / "work" / "eval-counting")
    ap.add_argument("--no-video", action="store_true", help="motion capture only (no MediaPipe)")
    ap.add_argument("--sets", action="store_true", help="also evaluate set detection")
    ap.add_argument("--lso", action="store_true", help="also run the leave-subjects-out check")
    ap.add_argument("--start-pose-ceiling", action="store_true",
                    help="also count Fit3D with the annotators' start pose (a ceiling for estimating it)")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    args = ap.parse_args(argv)
    if not (args.realdata / "fit3d").exists():
        print(f"no real data at {args.realdata} (../shared/realdata); nothing to measure")
        return 1
    cases = fit3d_cases(args.realdata) + kimore_cases(args.realdata) + uiprmd_cases(args.realdata)
    if not args.no_video:
        cases += video_cases(args.realdata, args.work / "pose-cache")
    report = {"counting": evaluate_counting(cases)}
    print("| source | clips | before: exact / OBO / MAE / nMAE | after: exact / OBO / MAE / nMAE | "
          "boundaries / reps within 0.3 s | ms per clip |")
    print("|---|---|---|---|---|---|")
    for source, r in report["counting"].items():
        print(_row(source, r))
    for source, r in report["counting"].items():
        if r["misses"]:
            print(f"  {source} misses (name, truth, counted): {r['misses']}")
    results = {source: r.pop("results") for source, r in report["counting"].items()}
    ordered = [res for source in results for res in results[source]]
    by_source = [c for source in results for c in cases if c.source == source]
    report["boundaries"] = boundary_report(by_source, ordered)
    print_boundary_report(report["boundaries"])
    report["estimated_bounds"] = evaluate_estimated_bounds(cases)
    for source, r in report["estimated_bounds"].items():
        print(f"estimate_rep_bounds with the annotated count, {source} ({r['clips']} clips, "
              f"cut_to_set={r['cut_to_set']}, {r['methods']}): "
              f"boundaries {r['boundaries']:.3f}, reps {r['reps']:.3f}, between reps {r['inner']:.3f} within 0.3 s")
    report["windows"] = evaluate_windows(cases)
    for k, m in report["windows"].items():
        print(f"Fit3D windows of {k} annotated rep(s), cut at the annotation ({m['n']}): exact {m['exact']:.3f}, "
              f"OBO {m['obo']:.3f}, MAE {m['mae']:.3f}")
    report["counted_cut"] = evaluate_counted_cut(cases)
    if report["counted_cut"]:
        r = report["counted_cut"]
        print(f"count_reps told the clip is cut at its set (olympia count --cut), fit3d_cut ({r['clips']} clips, "
              f"exact {r['exact']:.2f}): boundaries {r['boundaries']:.3f}, reps {r['reps']:.3f}, "
              f"between reps {r['inner']:.3f} within 0.3 s")
    if args.start_pose_ceiling:
        report["annotated_start_pose"] = evaluate_annotated_start_pose(cases)
        for source, r in report["annotated_start_pose"].items():
            print(f"told the annotators' start pose, {source} ({r['clips']} clips, exact {r['exact']:.2f}): "
                  f"boundaries {r['boundaries']:.3f}, reps {r['reps']:.3f} within 0.3 s; "
                  f"first / between reps / last {r['first']:.2f} / {r['inner']:.2f} / {r['last']:.2f}; "
                  f"reps {r['reps_edges_given']:.3f} were every first start and last end right")
            o, own = r["others"], r["own_scale_free"]
            print(f"  told the other subjects' start pose for the exercise (leave the subject out; scale-free, "
                  f"{o['told']} told): reps {o['reps']:.3f} within 0.3 s, boundaries {o['boundaries']:.3f} "
                  f"(the capture's own, scale-free: reps {own['reps']:.3f})")
    if args.sets:
        report["sets_mocap"] = evaluate_sets_mocap(cases)
        print("sets, motion capture:", json.dumps(report["sets_mocap"]))
        if not args.no_video:
            report["sets_long_video"] = evaluate_long_video(args.realdata, args.work)
            lv = report["sets_long_video"]
            print("sets, assembled long video:", json.dumps({k: v for k, v in lv.items() if k not in ("found", "truth")}))
            print("  truth:", lv["truth"])
            print("  found:", [(s["start_frame"], s["end_frame"], s["reps"]) for s in lv["found"]])
    if args.lso:
        report["leave_subjects_out"] = leave_subjects_out(cases)
        print("leave subjects out:", json.dumps(report["leave_subjects_out"]))
        report["leave_subjects_out_bounds"] = leave_subjects_out_bounds(by_source, ordered)
        print("leave subjects out, rep boundaries:", json.dumps(report["leave_subjects_out_bounds"]))
        report["leave_subjects_out_phase"] = leave_subjects_out_bounds(by_source, ordered, PHASE_GRID)
        print("leave subjects out, start pose's phase:", json.dumps(report["leave_subjects_out_phase"]))
        report["leave_subjects_out_passing"] = leave_subjects_out_bounds(by_source, ordered, PASSING_GRID)
        print("leave subjects out, passes:", json.dumps(report["leave_subjects_out_passing"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
