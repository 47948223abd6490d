"""`olympia videos ...` (download, normalize, cut, probe, sets) and `olympia pose`."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from olympia.cli.build import engine_options, make_engine
from olympia.errors import OlympiaError
from olympia.timebase import FPS

_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("videos")
def videos():
    """Video sources: download with yt-dlp, normalize to 25 fps H.264, cut annotated clips.

    \b
    Examples:
      olympia videos download annotations/sources.yaml --out work/videos
      olympia videos normalize work/videos/*.mp4 --out work/normalized
      olympia videos cut --segments work/segments.json --out work/clips
      olympia videos probe work/videos/creator1.mp4
    """


QUARANTINE_FILE = "quarantine.json"


def _quarantine(out_dir: Path, failed: dict[str, str], succeeded: list[str]) -> None:
    """OUT/quarantine.json: output name -> the input and why no output was written. Entries of
    outputs written now are dropped; the file disappears when nothing is left in it."""
    from olympia.io import atomic_write_json, read_json
    path = out_dir / QUARANTINE_FILE
    entries = read_json(path, "quarantine file") if path.is_file() else {}
    entries = {k: v for k, v in entries.items() if k not in succeeded}
    entries.update(failed)
    if entries:
        atomic_write_json(path, dict(sorted(entries.items())), indent=1)
    elif path.is_file():
        path.unlink()


def _report(failures: list[str], done: int, what: str) -> None:
    for line in failures:
        click.secho(f"error: {line}", fg="red", err=True)
    click.echo(f"{done} {what}, {len(failures)} failed")
    if failures:
        raise SystemExit(1)


@videos.command("download")
@click.argument("manifest", type=_EXISTING)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for videos, info JSON, archive.txt and downloads.json.")
@click.option("--only", multiple=True, help="Download only these manifest ids (repeatable).")
@click.option("--retries", type=int, default=3, show_default=True)
@click.option("--max-height", type=int, default=720, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def download(manifest, out_dir, only, retries, max_height, quiet):
    """Download every video of a sources MANIFEST (yt-dlp, <= 720p mp4).

    Finished videos (in downloads.json with their file intact) are skipped; a failing URL is
    reported and the others go on (exit code 1 if any failed).

    \b
    Examples:
      olympia videos download annotations/sources.yaml --out work/videos
      olympia videos download annotations/sources.yaml --out work/videos --only infinity-basic-000000
    """
    from olympia.video.download import download_sources, load_sources
    sources = load_sources(manifest)
    if only:
        unknown = set(only) - {s.id for s in sources}
        if unknown:
            raise click.BadParameter(f"not in {manifest}: {sorted(unknown)}", param_hint="--only")
        sources = [s for s in sources if s.id in only]
    outcomes = download_sources(sources, out_dir, progress=not quiet, retries=retries,
                                max_height=max_height)
    for o in outcomes:
        if o.ok:
            state = "already done" if o.skipped else "downloaded"
            click.echo(f"{o.source.id}: {state} {o.path} sha256={o.sha256[:12]}")
    _report([o.error for o in outcomes if not o.ok], sum(o.ok for o in outcomes), "videos ready")


@videos.command("normalize")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--fps", type=float, default=FPS, show_default=True)
@click.option("--max-height", type=int, default=720, show_default=True)
def normalize(sources, out_dir, fps, max_height):
    """Re-encode videos as constant 25 fps H.264 mp4 (rotation applied), one per SOURCE.

    Writes OUT/<stem>.mp4 atomically, after checking it has a video stream and the frame
    count the input's duration promises; a bad input is reported, recorded in
    OUT/quarantine.json, and the rest go on.

    \b
    Examples:
      olympia videos normalize raw/phone.mov raw/gym.webm --out work/normalized
      olympia videos normalize work/videos/*.mp4 --out work/normalized --max-height 480
    """
    from tqdm import tqdm

    from olympia.video.ffmpeg_ops import normalize_video
    failures, written, refused = [], [], {}
    for src in tqdm(sources, desc="normalize", unit="video"):
        name = f"{src.stem}.mp4"
        try:
            normalize_video(src, out_dir / name, fps=fps, max_height=max_height)
            written.append(name)
        except OlympiaError as exc:
            failures.append(str(exc))
            refused[name] = {"source": str(src), "reason": str(exc)}
    _quarantine(out_dir, refused, written)
    _report(failures, len(written), "videos normalized")


@videos.command("cut")
@click.argument("video", required=False, type=click.Path(path_type=Path))
@click.option("--segments", "segments_file", type=_EXISTING,
              help="Segments JSON (the adapters' work items or a simple list, see docs/video.md).")
@click.option("--start", "start_frame", type=int, help="First frame (25 fps) when cutting VIDEO.")
@click.option("--end", "end_frame", type=int, help="End frame, exclusive (25 fps).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def cut(video, segments_file, start_frame, end_frame, out_dir):
    """Cut clips [start, end) frame-accurately, from a segments file or one VIDEO range.

    With VIDEO and --segments, only the segments whose video has VIDEO's file name are cut, and
    they are cut from VIDEO (e.g. segments annotated on raw/abc.mp4, cut from the normalized
    copy). Frames are on the 25 fps timeline; OUT/<clip id>.mp4 per segment, checked for a
    video stream and exactly end - start frames; refused cuts are listed in OUT/quarantine.json.

    \b
    Examples:
      olympia videos cut --segments work/segments.json --out work/clips
      olympia videos cut work/normalized/abc.mp4 --segments work/segments.json --out work/clips
      olympia videos cut work/normalized/creator1.mp4 --start 250 --end 1000 --out work/clips
    """
    from dataclasses import replace

    from olympia.segment import Segment
    from olympia.video.ffmpeg_ops import cut_clip
    from olympia.video.segments import load_any_segments
    if segments_file:
        segments = load_any_segments(segments_file)
        if video is not None:
            segments = [replace(s, video=str(video)) for s in segments
                        if Path(s.video).name == video.name]
            if not segments:
                raise click.BadParameter(f"no segment in {segments_file} is on a video named "
                                         f"{video.name!r}", param_hint="VIDEO")
    elif video is not None and start_frame is not None and end_frame is not None:
        segments = [Segment(str(video), start_frame, end_frame)]
    else:
        raise click.UsageError("give --segments FILE, or VIDEO with --start and --end")
    from tqdm import tqdm
    failures, written, refused = [], [], {}
    for seg in tqdm(segments, desc="cut", unit="clip"):
        name = seg.name.replace(":", "_")
        try:
            cut_clip(seg.video, out_dir / f"{name}.mp4", seg.start_frame, seg.end_frame)
            written.append(f"{name}.mp4")
        except OlympiaError as exc:
            failures.append(f"{name}: {exc}")
            refused[f"{name}.mp4"] = {"source": f"{seg.video} frames [{seg.start_frame}, "
                                                f"{seg.end_frame})", "reason": str(exc)}
    _quarantine(out_dir, refused, written)
    _report(failures, len(written), "clips cut")


@videos.command("probe")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def probe_cmd(paths):
    """Print what ffprobe says about each video, one JSON object per line.

    \b
    Examples:
      olympia videos probe work/videos/creator1.mp4
    """
    from olympia.video.ffmpeg_ops import probe
    failures = []
    for path in paths:
        try:
            click.echo(json.dumps(asdict(probe(path))))
        except OlympiaError as exc:
            failures.append(str(exc))
    _report(failures, len(paths) - len(failures), "videos probed")


@videos.command("sets")
@click.argument("video", type=_EXISTING)
@click.option("--json", "as_json", is_flag=True,
              help="Print only a JSON list of the sets on stdout (notes go to stderr).")
@click.option("--backend", type=click.Choice(["mediapipe", "motionbert"]), default="mediapipe",
              show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Pose cache (default: $OLYMPIA_POSE_CACHE or ~/.cache/olympia/pose).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the pose cache.")
@click.option("--pose-stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="MediaPipe: pose every Nth frame and interpolate the rest (2: 1.6x the "
                   "frames/s, hard clips count worse; docs/video.md, Benchmark).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the sets and the stretches left out on the video's timeline (PNG).")
@engine_options
def sets_cmd(video, as_json, backend, cache_dir, no_cache, pose_stride, quiet, plot_path, engine_kind,
             ray_address, ray_cpus, ray_gpus):
    """Find the exercise sets in a (long) workout VIDEO: periodic stretches separated by rest
    (walking is periodic too: a stretch where the feet carry the body faster than 0.8 m/s is
    reported as walking, not a set).

    For each set: start_frame, end_frame (25 fps timeline, half-open), reps, rep_bounds (one
    [start, end) per rep) and confidence. Frames are streamed from ffmpeg through the pose
    model (bounded memory) and the pose is cached. Stretches that cannot be used (no person,
    too dark, a camera cut, another person) are one `note:` line each on stderr; a video with
    nothing usable is one error line (exit code 2). Locally the video is posed in this
    process; `--engine ray` runs the whole job as one task on a Ray cluster.

    \b
    Examples:
      olympia videos sets work/videos/25fps/creator1.mp4
      olympia videos sets workout.mp4 --json
      olympia videos sets workout.mp4 --plot workout_sets.png
      olympia videos sets tripod_workout.mp4 --pose-stride 2   # 1.6x faster, well-framed video only
      olympia videos sets /data/workout.mp4 --json --engine ray --ray-address auto
    """
    from olympia.errors import VideoError
    from olympia.pose.cache import default_cache_dir
    from olympia.pose.parallel import PoseTask, for_remote, run_items
    from olympia.pose.workout import WorkoutOutcome, WorkoutTask, find_sets
    cache = None if no_cache else str(cache_dir or default_cache_dir())
    engine = make_engine(engine_kind, ray_address, ray_cpus, ray_gpus, workers=1)
    pose = PoseTask(str(video), backend=backend, cache_dir=cache, stride=pose_stride)
    pose.pose_stride()      # a stride the backend cannot take is a usage error, before any work
    task = WorkoutTask(for_remote(pose) if engine.kind == "ray" else pose)
    [out] = run_items(find_sets, [task], engine=engine, progress=None if not quiet else False, desc="sets",
                      failed=lambda t, error: WorkoutOutcome(t, error=f"{video}: set detection failed ({error})"))
    if not out.ok:          # one line says why: the stretches' notes would repeat it
        raise VideoError(out.error)
    for note in out.notes():
        click.echo(f"note: {video}: {note}", err=True)
    if plot_path:
        from olympia.plots import sets_timeline
        sets_timeline(plot_path, out.sets, out.unusable, out.n_frames, Path(video).name)
        click.echo(f"plot: {plot_path}", err=True)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in out.sets]))
        return
    click.echo(f"{video}: {len(out.sets)} set(s) in {out.n_frames / FPS:.1f} s "
               f"({out.n_frames} frames at {FPS:g} fps)")
    for i, s in enumerate(out.sets, 1):
        click.echo(f"  set {i}\tframes [{s.start_frame}, {s.end_frame})\t"
                   f"{s.start_frame / FPS:.1f}-{s.end_frame / FPS:.1f} s\t{s.reps} reps\t"
                   f"confidence {s.confidence:.2f}")


@click.command("pose")
@click.argument("videos_in", metavar="VIDEO...", nargs=-1, type=click.Path(path_type=Path))
@click.option("--backend", type=click.Choice(["mediapipe", "motionbert"]), default="mediapipe",
              show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Store directory to write (olympia.store layout).")
@click.option("--segments", "segments_file", type=_EXISTING,
              help="Segments JSON: one clip per segment instead of one per video.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Pose cache; re-runs only process what changed (default: $OLYMPIA_POSE_CACHE "
                   "or ~/.cache/olympia/pose, shared with count, videos sets and predict).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the pose cache.")
@click.option("--pose-stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="MediaPipe: pose every Nth frame and interpolate the rest (2: 1.6x the "
                   "frames/s, hard clips count worse; docs/video.md, Benchmark).")
@click.option("--workers", type=int, default=None, help="Processes (default: one per core).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MotionBERT checkpoint (default: $OLYMPIA_MOTIONBERT_CHECKPOINT).")
@click.option("--motionbert-config", type=click.Choice(["lite", "base", "tiny", "auto"]),
              default="lite", show_default=True)
@click.option("--mapping", type=click.Choice(["calibrated", "table"]), default="calibrated",
              show_default=True, help="MediaPipe landmark -> H36M joint mapping (docs/video.md).")
@click.option("--mediapipe-runtime", "runtime", type=click.Choice(["litert", "graph"]), default="litert",
              show_default=True,
              help="litert: MediaPipe's models run directly, half the CPU a frame, the graph's "
                   "landmarks frame by frame; graph: mp.solutions.pose itself (docs/video.md, Runtime).")
@click.option("--source", default="video", show_default=True, help="clip.source of the clips.")
@click.option("--license", "license_", default="unknown", show_default=True,
              help="License recorded in each clip's provenance.")
@click.option("--label", default="unlabeled", show_default=True,
              help="label_raw for whole videos (segments carry their own).")
@click.option("--max-gap", type=int, default=12, show_default=True,
              help="Longest run of frames without a person that is interpolated.")
@click.option("--max-filled-fraction", type=float, default=0.2, show_default=True,
              help="Clips with more interpolated frames are quarantined.")
@click.option("--force", is_flag=True,
              help="Replace --out even when it is not empty and not an Olympia store.")
@click.option("--strict", is_flag=True,
              help="Any quarantined item is an error: exit 1 and write nothing (CI for curators).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@engine_options
def pose(videos_in, backend, out_dir, segments_file, cache_dir, no_cache, pose_stride, workers, checkpoint,
         motionbert_config, mapping, runtime, source, license_, label, max_gap, max_filled_fraction, force,
         strict, quiet, engine_kind, ray_address, ray_cpus, ray_gpus):
    """3D pose (H36M-17, 25 fps) of each VIDEO, or of each segment, written as a clip store.

    A video is split into its usable runs (one clip each); every stretch left out (no person,
    too dark, a camera cut, a frozen picture) is one `note:` line on stderr. Bad items
    (corrupt, audio-only, a directory, no person, too dark, range outside the video) are one
    `quarantined:` line each and listed in OUT/meta/quarantine.json; the rest are written.
    OUT must be absent, empty or an Olympia store (replaced whole), unless --force.

    Exit status, as `olympia ingest`: 0 when clips were written (some items may be quarantined:
    their lines say why), 1 when none was (OUT is then left as it was) or, with --strict, when
    any item was quarantined (nothing written), 2 for a usage error, an OUT folder that holds
    other files or a missing MotionBERT checkpoint.

    \b
    Examples:
      olympia pose clip.mp4 --backend mediapipe --out work/stores/videos
      olympia pose gym_cam/*.mp4 --pose-stride 2 --out work/stores/gym   # every other frame posed
      olympia pose clip.mp4 --mediapipe-runtime graph --out work/stores/ref   # mp.solutions.pose
      olympia pose --segments work/segments.json --out work/stores/opensource --source opensource
      OLYMPIA_MOTIONBERT_CHECKPOINT=ckpt/best_epoch.bin olympia pose a.mp4 --backend motionbert --out work/stores/mb
      olympia pose --segments work/segments.json --out work/stores/v --engine ray --ray-gpus 1 --backend motionbert
    """
    from olympia.gaps import GapPolicy
    from olympia.pose.cache import default_cache_dir
    from olympia.pose.parallel import PoseTask
    from olympia.pose.pipeline import PoseJob, pose_items
    from olympia.store import prepare_clips, write_store
    from olympia.swap import check_replaceable
    from olympia.video.segments import load_any_segments
    if not videos_in and not segments_file:
        raise click.UsageError("give VIDEO... or --segments FILE")
    check_replaceable(out_dir, force)   # before the pose work, not after it
    PoseTask("", backend=backend, stride=pose_stride).pose_stride()   # a usage error before any work
    options = {"mapping": mapping, "runtime": runtime}
    if backend == "motionbert":
        from olympia.pose.motionbert_backend import resolve_checkpoint
        options = {"checkpoint": resolve_checkpoint(str(checkpoint) if checkpoint else None),
                   "config": motionbert_config}
    segments = load_any_segments(segments_file) if segments_file else None
    job = PoseJob(backend=backend, backend_options=options, source=source, license=license_,
                  default_label=label,
                  cache_dir=None if no_cache else str(cache_dir or default_cache_dir()),
                  workers=workers, gaps=GapPolicy(max_gap, max_filled_fraction), stride=pose_stride,
                  engine=make_engine(engine_kind, ray_address, ray_cpus, ray_gpus, workers))
    items = pose_items([str(v) for v in videos_in], segments, job, progress=not quiet,
                       on_note=lambda line: click.echo(f"note: {line}", err=True))
    clips, rejected = prepare_clips(items)      # as write_store will: a clip it refuses is no clip
    if not clips or (strict and rejected):
        _print_quarantined(rejected)
        if clips:
            click.echo(f"--strict: {len(rejected)} item(s) quarantined; nothing written to {out_dir}")
        else:
            click.echo(f"no clip to write ({len(rejected)} quarantined: see the reasons above); "
                       f"nothing written to {out_dir}")
        raise SystemExit(1)
    report = write_store(out_dir, items, progress=not quiet, force=force)
    _print_quarantined(report.rejected)
    click.echo(report.summary())


def _print_quarantined(rejected) -> None:
    for rej in rejected:
        click.secho(f"quarantined: {rej.where}: {rej.field}: {rej.message}", fg="yellow", err=True)
