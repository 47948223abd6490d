"""`olympia annotate`: the Label Studio round trip (serve, push, pull) and the suggestions report."""
from __future__ import annotations

from pathlib import Path

import click

from olympia.annotate.config import DEFAULT_URL

DEFAULT_VIDEOS = "work/videos/normalized"
DEFAULT_ANNOTATIONS = "annotations"


def _videos_option(f):
    return click.option("--videos", "videos_root", type=click.Path(file_okay=False, path_type=Path),
                        default=DEFAULT_VIDEOS, show_default=True,
                        help="Folder of normalized 25 fps videos; a collection lives in <videos>/<collection>/.")(f)


def _server_options(f):
    f = click.option("--url", default=None, help=f"Label Studio URL (else $OLYMPIA_LS_URL, the config file, {DEFAULT_URL}).")(f)
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Config file holding url/token (default ~/.config/olympia/labelstudio.toml). "
                             "The token itself comes from $OLYMPIA_LS_TOKEN or that file, never the command line.")(f)


@click.group()
def annotate():
    """Label Studio round trip: mark sets, exercise names and rep counts in long videos.

    \b
    Examples:
      olympia annotate serve                          # local server on 127.0.0.1:8080
      export OLYMPIA_LS_TOKEN=...                     # Account & Settings > Access Token
      olympia annotate push demo                      # tasks for work/videos/normalized/demo/*.mp4
      olympia annotate pull demo --clips work/clips   # annotations/demo.json + one clip per set
      olympia annotate push demo --suggest            # Olympia's sets as pre-annotations
      olympia annotate report demo                    # how many suggestions were accepted
    """


@annotate.command()
@_videos_option
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default="work/labelstudio",
              show_default=True, help="Label Studio database and uploads.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback by default).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
def serve(videos_root, data_dir, host, port):
    """Start a local Label Studio (from its own venv) serving the normalized videos.

    Runs in the foreground until Ctrl-C. Open the printed URL, sign up (the first account
    owns the server), then copy the access token from Account & Settings.

    \b
    Examples:
      olympia annotate serve
      olympia annotate serve --port 8090 --videos /data/olympia/normalized
    """
    from olympia.annotate.server import ServerSettings, run_server

    settings = ServerSettings(data_dir=data_dir, videos_root=videos_root, host=host, port=port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.secho(f"warning: binding to {host}: anyone who can reach this machine can reach the "
                    "login page and, once logged in, the videos", fg="yellow", err=True)
    click.echo(f"Label Studio on http://{host}:{port} (data {data_dir}, videos {videos_root}); Ctrl-C stops it")
    raise SystemExit(run_server(settings))


@annotate.command()
@click.argument("collection")
@_videos_option
@click.option("--annotations", "annotations_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_ANNOTATIONS, show_default=True,
              help="Folder of <collection>.json; its segments become pre-annotations.")
@click.option("--url-prefix", default=None,
              help="Serve videos from this URL prefix (+ path) instead of Label Studio's local storage.")
@click.option("--suggest", is_flag=True,
              help="Pre-annotate the videos without annotated sets with the sets Olympia finds "
                   "(pose, then set detection: boundaries and rep counts).")
@click.option("--checkpoint", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="With --suggest: a LiFT checkpoint whose top words name each set's exercise.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Pose cache for --suggest (default: $OLYMPIA_POSE_CACHE or ~/.cache/olympia/pose).")
@click.option("--workers", type=int, default=None, help="Pose processes for --suggest (default: one per core).")
@_server_options
def push(collection, videos_root, annotations_dir, url_prefix, suggest, checkpoint, cache_dir, workers,
         url, config_path):
    """Create or update the collection's project: one task per normalized video.

    Existing segments in annotations/<collection>.json are shown as pre-annotations; with
    --suggest, the other videos get the sets Olympia finds (model version olympia-sets-...,
    a score), which annotators accept or correct (`annotate report` shows how many were
    accepted). Pushing again updates changed tasks and never touches annotators' work.

    \b
    Examples:
      olympia annotate push demo
      olympia annotate push demo --suggest --checkpoint work/lift-small
      olympia annotate push demo --videos /data/normalized --url http://127.0.0.1:8090
    """
    from olympia.annotate.config import load_config
    from olympia.annotate.project import push as push_project

    if checkpoint is not None and not suggest:
        raise click.UsageError("--checkpoint names the sets that --suggest finds: add --suggest")
    cfg = load_config(url=url, config_path=config_path)
    suggester = _suggester(checkpoint, cache_dir, workers) if suggest else None
    report = push_project(cfg, collection, videos_root=videos_root, annotations_dir=annotations_dir,
                          url_prefix=url_prefix, suggest=suggester)
    if report.suggestions is not None:
        for rel in sorted(report.suggestions.notes):
            for note in report.suggestions.notes[rel]:
                click.echo(f"note: {rel}: {note}", err=True)
        for rel, problem in sorted(report.suggestions.problems.items()):
            click.secho(f"no suggestion for {rel}: {problem}", fg="yellow", err=True)
    click.echo(report.summary())
    click.echo(f"open {cfg.url}/projects/{report.project_id}/data")


TOP_WORDS = 4   # words of the LiFT answer that name a suggested set


def lift_namer(checkpoint: Path):
    """keypoints -> the LiFT checkpoint's most confident words (at most TOP_WORDS, each above
    its threshold), as an exercise name; `version` names the checkpoint."""
    from olympia.errors import ConfigError
    try:
        from lift.checkpoint import load_checkpoint
        from lift.predict import predict_skeleton
    except ImportError as exc:
        raise ConfigError(f"--checkpoint needs the LiFT package (model/lift) importable ({exc}); "
                          "install the project with `make env`") from None
    model, tokenizer, vocab, config, _ = load_checkpoint(checkpoint)

    def name(keypoints) -> str:
        words = predict_skeleton(model, tokenizer, vocab, keypoints,
                                 max_tokens=config.model.max_text_tokens)["words"]
        return " ".join(w for w, _ in words[:TOP_WORDS])
    name.version = f"lift:{Path(checkpoint).resolve().name}"
    return name


def _suggester(checkpoint, cache_dir, workers):
    from olympia.annotate.suggest import detect_suggestions
    from olympia.pose.cache import default_cache_dir
    namer = lift_namer(checkpoint) if checkpoint is not None else None
    cache = str(cache_dir or default_cache_dir())
    return lambda videos: detect_suggestions(videos, cache_dir=cache, workers=workers, namer=namer)


@annotate.command()
@click.argument("collection")
@_videos_option
@click.option("--annotations", "annotations_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_ANNOTATIONS, show_default=True, help="Where <collection>.json is written.")
@click.option("--clips", "clips_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cut one clip per set into this folder (frame-accurate, 25 fps).")
@_server_options
def pull(collection, videos_root, annotations_dir, clips_dir, url, config_path):
    """Export the project, validate every set, write annotations/<collection>.json.

    Ranges become 0-based half-open frames [start_frame, end_frame) and seconds (frame / 25).
    Every problem (overlap, missing name or rep count, reps not a positive integer, video moved)
    is listed with its task and region; those videos keep their previous annotations, and the
    command exits with status 2.

    \b
    Examples:
      olympia annotate pull demo
      olympia annotate pull demo --clips work/clips && git diff annotations/demo.json
    """
    from olympia.annotate.config import load_config
    from olympia.annotate.convert import AnnotationError, printable
    from olympia.annotate.export import pull as pull_project

    cfg = load_config(url=url, config_path=config_path)
    report = pull_project(cfg, collection, videos_root=videos_root, annotations_dir=annotations_dir,
                          clips_dir=clips_dir)
    click.echo(report.summary())
    for rel in report.orphans:
        click.echo(f"note: {printable(rel)} is in {report.path} but not in the Label Studio project (kept)")
    if report.problems:
        raise AnnotationError(report.problems, header=f"{len(report.kept)} video(s) kept their previous "
                                                      "annotations; fix these in Label Studio and pull again")


@annotate.command()
@click.argument("collection")
@click.option("--annotations", "annotations_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_ANNOTATIONS, show_default=True, help="Folder of <collection>.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def report(collection, annotations_dir, as_json):
    """How many of the machine's suggested sets annotators accepted unchanged.

    Reads annotations/<collection>.json as `annotate pull` wrote it after `push --suggest`:
    per set, accepted, edited (boundaries, name, reps) or added by the annotator; per video,
    the suggested sets they deleted. The acceptance rate (accepted / suggested) is the share
    of the annotation work the machine did.

    \b
    Examples:
      olympia annotate report demo
      olympia annotate report demo --json
    """
    import json

    from olympia.annotate.convert import check_collection, load_annotations
    from olympia.annotate.review import acceptance
    from olympia.errors import OlympiaError

    path = Path(annotations_dir) / f"{check_collection(collection)}.json"
    doc = load_annotations(path, collection)
    if doc is None:
        raise OlympiaError(f"{path} does not exist; run `olympia annotate pull {collection}` first")
    a = acceptance(doc)
    figures = {"collection": collection, "videos_reviewed": a.videos, "suggested": a.suggested,
               "accepted": a.accepted, "edited": a.edited, "rejected": a.rejected, "added": a.added,
               "edits": a.edits, "acceptance_rate": None if a.rate is None else round(a.rate, 4),
               "model_versions": sorted(a.model_versions)}
    if as_json:
        click.echo(json.dumps(figures))
        return
    if not a.suggested:
        click.echo(f"{path}: no reviewed suggestion yet (push with --suggest, annotate, pull)")
        return
    share = lambda n: f"{n:4d} ({n / a.suggested:.0%})"   # noqa: E731
    edits = ", ".join(f"{k} {v}" for k, v in a.edits.items() if v)
    click.echo(f"{path}: {a.suggested} set(s) suggested on {a.videos} video(s) "
               f"({', '.join(sorted(a.model_versions))})")
    click.echo(f"  accepted unchanged  {share(a.accepted)}")
    click.echo(f"  edited              {share(a.edited)}" + (f": {edits}" if edits else ""))
    click.echo(f"  deleted             {share(a.rejected)}")
    click.echo(f"  added by annotators {a.added:4d}")
    click.echo(f"acceptance rate: {a.rate:.0%} ({a.accepted} of {a.suggested} suggested sets accepted unchanged)")

