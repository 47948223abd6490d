"""`olympia count`: the training-free repetition counter (olympia.counting) on the command line."""
from __future__ import annotations

import json

import click
import numpy as np

from olympia.errors import OlympiaError
from olympia.pose.inputs import iter_skeletons
from olympia.timebase import FPS


def skeleton_problem(keypoints) -> str | None:
    """Why a skeleton cannot be counted (or predicted on), or None: no frames, one frame, or
    NaN/inf values (naming the first bad frame). Checked per input so one bad file gives one
    error line and the others are still answered (also used by `lift predict`)."""
    kp = np.asarray(keypoints)
    if kp.ndim != 3 or kp.shape[0] < 2:
        return f"needs at least 2 frames of (T, J, 3) keypoints, got shape {kp.shape}"
    bad = ~np.isfinite(kp)
    if bad.any():
        frames = np.unique(np.nonzero(bad)[0])
        return (f"{frames.size} of {kp.shape[0]} frames hold NaN/inf (first: frame {int(frames[0])}); "
                "fill the gaps (olympia.gaps) or cut them out")
    return None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True)
@click.option("--backend", default="mediapipe", show_default=True,
              help="Pose backend for video inputs (olympia.pose).")
@click.option("--with-truth", is_flag=True,
              help="Add the ground-truth rep count as a third column (store/release inputs).")
@click.option("--reps", "per_rep", is_flag=True,
              help="After each count line, one line per rep: start and end frame (25 fps, "
                   "[start, end)), seconds and confidence (0-1: the rep's size against the set's, how "
                   "well it repeats, how close its bounds come to the start pose; at most about 0.5 "
                   "when the start pose recurs mid-rep and the bounds may lie half a rep off).")
@click.option("--cut", "cut_to_set", is_flag=True,
              help="Each input is one set cut where its first rep starts and its last rep ends (a "
                   "dataset's labelled set, a clip you trimmed): the reps cover it, the first from "
                   "frame 0, the last to the end. Without it the set's edges are estimated and idle "
                   "frames before and after the set stay out of the reps. Counts are the same.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list (one object per input or clip: input, count, truth, "
                   "period_frames, reps [{start_frame, end_frame, confidence}]) and nothing else.")
def count(inputs, backend, with_truth, per_rep, cut_to_set, as_json):
    """Count repetitions without training: a periodicity scan of the 3D skeleton finds the set
    and its period, the counted signal is the body part that repeats once per rep
    (olympia.counting). Prints `<path><TAB><count>` per input; a release or store directory
    prints one line per clip id.

    \b
    Examples:
      olympia count dist/olympia-demo
      olympia count dist/olympia-demo --with-truth | head
      olympia count squat.npy              # (T, 17, 3) H36M-17 skeleton at 25 fps
      olympia count squat.npy --reps       # and each rep's frames and confidence
      olympia count set_03.npy --reps --cut  # a set trimmed at its first and last rep
      olympia count my_set.mp4 --json      # through the video pose path (MediaPipe)
    """
    from olympia.counting import count_reps
    failed, items = 0, []
    for raw in inputs:
        try:
            for name, kp, truth in iter_skeletons([raw], backend):
                problem = skeleton_problem(kp)
                if problem:
                    failed += 1
                    click.secho(f"error: {name}: {problem}", fg="red", err=True)
                    continue
                res = count_reps(kp, cut_to_set=cut_to_set)
                note = walking_note(kp, res)
                if note:                    # a note, not an error: the count stands
                    click.secho(f"note: {name}: {note}", fg="yellow", err=True)
                if as_json:
                    items.append(_as_json(name, res, truth))
                    continue
                line = f"{name}\t{res.count}"
                if with_truth:
                    line += f"\t{'' if truth is None else truth}"
                click.echo(line)
                if per_rep:
                    for i, ((a, b), c) in enumerate(zip(res.rep_bounds, res.confidence), 1):
                        click.echo(f"\trep {i}\t[{a}, {b})\t{a / FPS:.2f}-{b / FPS:.2f} s\tconfidence {c:.2f}")
        except OlympiaError as exc:   # one bad input is reported, the others still count
            failed += 1
            click.secho(f"error: {exc}", fg="red", err=True)
    if as_json:
        click.echo(json.dumps(items, indent=1))
    if failed:
        click.secho(f"{failed} input(s) failed", fg="red", err=True)
        raise SystemExit(2)


def walking_note(keypoints, res) -> str | None:
    """One line when the body travels at walking speed over the counted reps
    (olympia.sets.body_speed above MAX_TRAVEL_M_S: by the root, or by the feet where the pose
    sits on the hips), else None. The counter is blind to the exercise: it counts steps."""
    from olympia.sets import MAX_TRAVEL_M_S, body_speed
    if not res.count or res.period_frames is None:
        return None
    a, b = int(res.rep_bounds[0, 0]), int(res.rep_bounds[-1, 1])
    speed = body_speed(np.asarray(keypoints)[a:b], float(res.period_frames))
    if speed <= MAX_TRAVEL_M_S:
        return None
    return (f"the body travels {speed:.1f} m/s over these reps: walking, not an exercise set? (a set "
            f"stays under {MAX_TRAVEL_M_S:g} m/s; `olympia videos sets` leaves walking out)")


def _as_json(name: str, res, truth) -> dict:
    return {"input": name, "count": res.count, "truth": truth,
            "period_frames": None if res.period_frames is None else round(float(res.period_frames), 1),
            "reps": [{"start_frame": int(a), "end_frame": int(b), "confidence": round(float(c), 3)}
                     for (a, b), c in zip(res.rep_bounds, res.confidence)]}
