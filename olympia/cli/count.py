"""`olympia count`: the training-free repetition counter (olympia.counting) on the command line."""
from __future__ import annotations

import json
import re
from pathlib import Path

import click
import numpy as np

from olympia.errors import OlympiaError
from olympia.pose.inputs import iter_skeletons, run_offset
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
@click.option("--backend", type=click.Choice(["mediapipe", "motionbert"]), default="mediapipe",
              show_default=True, help="Pose backend for video inputs (olympia.pose).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Pose cache for video inputs: a second count of the same video reads the pose "
                   "from it instead of running the backend again (default: $OLYMPIA_POSE_CACHE or "
                   "~/.cache/olympia/pose, shared with pose, videos sets and predict).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the pose cache.")
@click.option("--with-truth", is_flag=True,
              help="Add the ground-truth rep count as a third column (store/release inputs; empty "
                   "for a video or .npy, which carry none).")
@click.option("--reps", "per_rep", is_flag=True,
              help="After each count line, one line per rep: start and end frame (25 fps, "
                   "[start, end); a video's frames, also where it is split into runs), seconds and "
                   "confidence (0-1: the rep's size against the set's, how "
                   "well it repeats, how close its bounds come to the start pose; at most about 0.5 "
                   "when the start pose recurs mid-rep and the bounds may lie half a rep off).")
@click.option("--cut", "cut_to_set", is_flag=True,
              help="Each input is one set cut where its first rep starts and its last rep ends (a "
                   "dataset's labelled set, a clip you trimmed): the reps cover it, the first from "
                   "frame 0, the last to the end. Without it the set's edges are estimated and idle "
                   "frames before and after the set stay out of the reps. Counts are the same.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list (one object per input or clip: input, count, truth, "
                   "period_frames, reps [{start_frame, end_frame, confidence}], frames as --reps "
                   "gives them) and nothing else; it always holds the reps, so --reps adds nothing.")
@click.option("--plot", "plot_to", type=click.Path(path_type=Path), default=None,
              help="Draw each count (PNG): the counted signal, the set, each rep's span with its "
                   "number and confidence, and a store's own rep boundaries as dashed lines. "
                   "PATH.png for one input (a video's further runs go beside it as PATH_2.png, ...); "
                   "any other PATH is a directory, one <clip>.png per clip (two inputs of the same "
                   "name: <clip>_2.png, ...). Each file written is named on stderr.")
def count(inputs, backend, cache_dir, no_cache, with_truth, per_rep, cut_to_set, as_json, plot_to):
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
      olympia count my_set.mp4 --json      # through the video pose path (MediaPipe), cached
      olympia count squat.npy --plot squat.png           # see where the reps were cut
      olympia count dist/olympia-demo --plot count-plots/  # one PNG per clip, with the store's bounds
    """
    from olympia.counting import count_reps
    from olympia.pose.cache import default_cache_dir
    cache = None if no_cache else (cache_dir or default_cache_dir())
    single = plot_to is not None and plot_to.suffix.lower() == ".png"
    if single and (len(inputs) > 1 or Path(inputs[0]).is_dir()):
        raise click.UsageError(f"--plot {plot_to} draws one input; for several inputs or a store give a "
                               "directory (one PNG per clip), e.g. --plot count-plots/")
    if plot_to is not None and not single and plot_to.exists() and not plot_to.is_dir():
        raise click.UsageError(f"--plot {plot_to} is a file: give a directory for one PNG per clip, or "
                               "a path ending in .png for one input")
    failed, items, drawn, written = 0, [], 0, set()
    for raw in inputs:
        try:
            store_bounds = _store_rep_bounds(Path(raw)) if plot_to is not None else {}
            for name, kp, truth in iter_skeletons([raw], backend, cache_dir=cache):
                problem = skeleton_problem(kp)
                if problem:
                    failed += 1
                    click.secho(f"error: {name}: {problem}", fg="red", err=True)
                    continue
                res = count_reps(kp, cut_to_set=cut_to_set)
                offset = run_offset(name)
                if plot_to is not None:
                    drawn += 1
                    path = (_numbered(plot_to, drawn) if single else
                            _unused(plot_to / f"{_file_stem(name)}.png", written))
                    written.add(path)
                    _draw(path, name, kp, res, *store_bounds.get(name, (None, "")), offset=offset)
                    click.echo(f"plot: {path}", err=True)
                note = walking_note(kp, res)
                if note:                    # a note, not an error: the count stands
                    click.secho(f"note: {name}: {note}", fg="yellow", err=True)
                if as_json:
                    items.append(_as_json(name, res, truth, offset))
                    continue
                line = f"{name}\t{res.count}"
                if with_truth:
                    line += f"\t{'' if truth is None else truth}"
                click.echo(line)
                if per_rep:
                    for i, ((a, b), c) in enumerate(zip(res.rep_bounds + offset, res.confidence), 1):
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


def _store_rep_bounds(path: Path) -> dict:
    """{clip id: (rep_bounds (R, 2), "store" or "store (estimated)")} of a store directory with
    rep bounds, {} for any other input."""
    if not path.is_dir():
        return {}
    from olympia.store import ClipStore
    meta = ClipStore(path).metadata(columns=["id", "rep_bounds", "extra"])
    out = {}
    for cid, bounds, extra in zip(meta["id"], meta["rep_bounds"], meta["extra"]):
        if bounds is not None and len(bounds):
            estimated = "rep_bounds_estimated" in json.loads(extra or "{}")
            out[cid] = (np.stack(list(bounds)).astype(np.int64), "store (estimated)" if estimated else "store")
    return out


def _draw(path: Path, name: str, keypoints, res, truth_bounds, truth_label: str, offset: int = 0) -> None:
    from olympia.periodicity import pose_features
    from olympia.plots import count_plot
    from olympia.rep_signals import counted_trace
    trace = counted_trace(pose_features(keypoints), res.signal, res.span, res.peaks)
    path.parent.mkdir(parents=True, exist_ok=True)
    count_plot(path, trace, res, name, truth_bounds, truth_label, offset=offset)


def _file_stem(name: str) -> str:
    """A clip's name as a file name: its last path part, `:`, `#` and other odd characters as `_`
    (as `olympia show` names its sheets), without a .npy suffix (squat.npy -> squat,
    set.mp4#frames=0-900 -> set.mp4_frames_0-900, demo:c0001 -> demo_c0001)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)
    return stem[:-4] if stem.endswith(".npy") else stem


def _unused(path: Path, written: set) -> Path:
    """`path`, or <stem>_2.png, _3.png, ... when this run already wrote it (two inputs of the
    same name: every VisionFit sample is a video.mp4; views of one exercise from two cameras)."""
    k = 1
    while (found := _numbered(path, k)) in written:
        k += 1
    return found


def _numbered(path: Path, k: int) -> Path:
    """PATH.png for the first plot, PATH_2.png, PATH_3.png, ... for a video's further runs."""
    return path if k == 1 else path.with_name(f"{path.stem}_{k}{path.suffix}")


def _as_json(name: str, res, truth, offset: int = 0) -> dict:
    return {"input": name, "count": res.count, "truth": truth,
            "period_frames": None if res.period_frames is None else round(float(res.period_frames), 1),
            "reps": [{"start_frame": int(a) + offset, "end_frame": int(b) + offset,
                      "confidence": round(float(c), 3)}
                     for (a, b), c in zip(res.rep_bounds, res.confidence)]}
