"""`olympia pose-eval`: a video's skeleton against its motion capture (olympia.pose.evaluate)."""
from __future__ import annotations

from pathlib import Path

import click

from olympia.errors import OlympiaError

FIT3D = "../shared/realdata/fit3d/train"


def _evaluators(backend: str, mapping: str, checkpoint, config: str, pair, held_out: bool):
    """[(column name, kwargs of quality.evaluate_pair)] for the chosen backend and mapping."""
    from olympia.pose.calibration import load_regressor
    from olympia.pose.quality import held_out_regressor
    if backend == "motionbert":
        from olympia.pose.motionbert_backend import MotionBERTBackend
        return [("motionbert", {"motionbert": MotionBERTBackend(checkpoint=checkpoint, config=config)})]
    columns = []
    if mapping in ("table", "both"):
        columns.append(("table", {"mapping": None}))
    if mapping in ("calibrated", "both"):
        regressor = held_out_regressor(pair)[0] if held_out else load_regressor()
        columns.append(("calibrated", {"mapping": regressor}))
    return columns


def _training_note(pair, held_out: bool) -> str:
    from olympia.pose.calibration import load_regressor
    from olympia.pose.quality import fitted_on, held_out_regressor
    if held_out:
        return f"calibrated: {held_out_regressor(pair)[1]} regressor"
    if pair.name in fitted_on(load_regressor()):
        return (f"note: {pair.name} is in the packaged regressor's training set; add --held-out "
                "for the weights fitted without its subject")
    return ""


def _print_pair(pair, results: dict) -> None:
    from olympia.skeleton import H36M_JOINTS
    first = next(iter(results.values()))
    click.echo(f"{pair.name}: {first.n_compared} frames compared at 25 fps, offset {pair.offset} "
               f"(motion-signal check {pair.signal_offset}, r = {pair.signal_correlation:.3f}), "
               f"{first.n_undetected} without a person; MPJPE orientation: {pair.rotation}")
    names = list(results)
    click.echo(f"{'joint':12s}" + "".join(f"{n + ' MPJPE':>18s}{n + ' PA':>16s}" for n in names))
    for j, joint in enumerate(H36M_JOINTS):
        click.echo(f"{joint:12s}" + "".join(f"{1000 * r.per_joint_mpjpe[j]:18.1f}"
                                             f"{1000 * r.per_joint_pa_mpjpe[j]:16.1f}"
                                             for r in results.values()))
    click.echo(f"{'mean (mm)':12s}" + "".join(f"{1000 * r.mpjpe:18.1f}{1000 * r.pa_mpjpe:16.1f}"
                                              for r in results.values()))


def _frame_range(text: str | None) -> tuple[int, int | None]:
    if not text:
        return 0, None
    try:
        start, end = (int(v) for v in text.split(":"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give START:END frames, e.g. 100:175", param_hint="--frames") from None
    if not 0 <= start < end:
        raise click.BadParameter(f"{text!r}: need 0 <= START < END", param_hint="--frames")
    return start, end


@click.command("pose-eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("videos", metavar="VIDEO...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mocap", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Reference joints: Fit3D joints3d_25 .json/.json.gz (50 fps) or a (T, 17, 3) "
                   ".npy at 25 fps. Default: found from a Fit3D video's layout.")
@click.option("--camera", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Fit3D camera_parameters JSON: MPJPE in the camera's frame. Without one, one "
                   "rotation is fitted over the sequence. Default: found from the layout.")
@click.option("--backend", type=click.Choice(["mediapipe", "motionbert"]), default="mediapipe",
              show_default=True)
@click.option("--mapping", type=click.Choice(["both", "calibrated", "table"]), default="both",
              show_default=True, help="MediaPipe landmark -> H36M mapping(s) to evaluate.")
@click.option("--held-out", is_flag=True,
              help="Judge the calibrated mapping with the regressor fitted without the video's "
                   "Fit3D subject (honest figures on the subjects it was fitted on).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="MotionBERT checkpoint (default: $OLYMPIA_MOTIONBERT_CHECKPOINT).")
@click.option("--motionbert-config", type=click.Choice(["lite", "base", "tiny", "auto"]),
              default="lite", show_default=True)
@click.option("--offset", type=int, default=None,
              help="Frames (25 fps) with video frame i = mocap frame i + OFFSET; default: estimated.")
@click.option("--frames", "frame_range", metavar="START:END", default=None,
              help="Evaluate only video frames [START, END) of the 25 fps timeline.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("work/cache/pose"), show_default=True,
              help="Landmark cache: re-runs and other mappings need no MediaPipe work.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every figure (per video, per joint) as JSON.")
def pose_eval(videos, mocap, camera, backend, mapping, held_out, checkpoint, motionbert_config,
              offset, frame_range, cache_dir, no_cache, json_out):
    """Compare the skeleton of each VIDEO (the pose path: 25 fps, MediaPipe, then a landmark
    mapping or MotionBERT) with its motion capture: time offset (estimated, checked by
    cross-correlation), MPJPE after root alignment, PA-MPJPE (per-frame similarity
    alignment) and per-joint errors, in millimetres. A Fit3D video finds its mocap and camera
    from the layout <subject>/videos/<camera>/<action>.mp4.

    \b
    Examples:
      olympia pose-eval ../shared/realdata/fit3d/train/s04/videos/65906101/warmup_7.mp4
      olympia pose-eval ../shared/realdata/fit3d/train/s03/videos/*/*.mp4 --held-out
      olympia pose-eval ../shared/realdata/fit3d/train/s03/videos/65906101LF/dumbbell_biceps_curls.mp4 \\
          --frames 100:175 --held-out --json work/curls-eval.json
      olympia pose-eval ../shared/realdata/fit3d/train/s04/videos/60457274/warmup_7.mp4 \\
          --mocap ../shared/realdata/fit3d/train/s04/joints3d_25/warmup_7.json.gz --mapping table
      olympia pose-eval ../shared/realdata/fit3d/train/s03/videos/65906101LF/warmup_7.mp4 \\
          --backend motionbert --checkpoint ckpt/best_epoch.bin
    """
    from olympia.pose.mocap import fit3d_video
    from olympia.pose.quality import evaluate_pair, pair_fit3d, pair_video
    if mocap is not None and len(videos) > 1:
        raise click.UsageError("--mocap describes one take: give one VIDEO with it")
    cache = None if no_cache else str(cache_dir)
    start, end = _frame_range(frame_range)
    if backend == "motionbert":   # refuse once, before any video is decoded
        from olympia.pose.motionbert_backend import resolve_checkpoint
        checkpoint = resolve_checkpoint(checkpoint)
    report, failed = {}, 0
    for video in videos:
        try:
            if mocap is None:
                pair = pair_fit3d(fit3d_video(video), cache, offset, start, end)
            else:
                pair = pair_video(video, mocap, camera, cache_dir=cache, offset=offset,
                                  start_frame=start, end_frame=end)
            results = {name: evaluate_pair(pair, **kw)
                       for name, kw in _evaluators(backend, mapping, checkpoint,
                                                           motionbert_config, pair, held_out)}
        except (OlympiaError, ValueError) as exc:   # one bad video is reported, the others go on
            failed += 1
            message = str(exc) if str(video) in str(exc) else f"{video}: {exc}"
            click.secho(f"error: {message}", fg="red", err=True)
            continue
        _print_pair(pair, results)
        if note := (_training_note(pair, held_out) if "calibrated" in results else ""):
            click.echo(note)
        click.echo("")
        report[pair.name] = {"offset": pair.offset, "signal_offset": pair.signal_offset,
                             "signal_correlation": round(pair.signal_correlation, 4),
                             **{k: r.as_dict() for k, r in results.items()}}
    if json_out:
        from olympia.io import atomic_write_json
        atomic_write_json(json_out, report)
    if len(report) > 1:
        for name in next(iter(report.values())):
            if isinstance(report[next(iter(report))][name], dict):
                pa = [v[name]["pa_mpjpe_mm"] for v in report.values()]
                mp = [v[name]["mpjpe_mm"] for v in report.values()]
                click.echo(f"mean over {len(report)} videos, {name}: MPJPE {sum(mp) / len(mp):.1f} mm, "
                           f"PA-MPJPE {sum(pa) / len(pa):.1f} mm")
    if failed:
        raise SystemExit(2)
