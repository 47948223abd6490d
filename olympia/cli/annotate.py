"""`olympia annotate`: the Label Studio round trip (serve, push, pull)."""
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
@_server_options
def push(collection, videos_root, annotations_dir, url_prefix, url, config_path):
    """Create or update the collection's project: one task per normalized video.

    Existing segments in annotations/<collection>.json are shown as pre-annotations.
    Pushing again updates changed tasks and never touches annotators' work.

    \b
    Examples:
      olympia annotate push demo
      olympia annotate push demo --videos /data/normalized --url http://127.0.0.1:8090
    """
    from olympia.annotate.config import load_config
    from olympia.annotate.project import push as push_project

    cfg = load_config(url=url, config_path=config_path)
    report = push_project(cfg, collection, videos_root=videos_root, annotations_dir=annotations_dir,
                          url_prefix=url_prefix)
    click.echo(report.summary())
    click.echo(f"open {cfg.url}/projects/{report.project_id}/data")


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

