"""`olympia` command line. Subcommands load lazily so `olympia --help` stays fast
(torch and mediapipe are imported only by the commands that need them).

Each area owns one module under olympia/cli/; register its command in COMMANDS.
"""
from __future__ import annotations

import importlib
import sys

import click

from olympia.errors import OlympiaError

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "build": "olympia.cli.build:build",
    "verify": "olympia.cli.build:verify",
    "labels": "olympia.cli.labels:labels",
    "ingest": "olympia.cli.ingest:ingest",
    "sources": "olympia.cli.ingest:sources",
    "videos": "olympia.cli.video:videos",
    "pose": "olympia.cli.video:pose",
    "pose-eval": "olympia.cli.pose_eval:pose_eval",
    "annotate": "olympia.cli.annotate:annotate",
    "count": "olympia.cli.count:count",
    "show": "olympia.cli.show:show",
    "view": "olympia.cli.view:view",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


class DomainErrorGroup(click.Group):
    """A command group that prints a domain error (OlympiaError) as one line and exits 2:
    the library raises errors naming the file/row/clip and the fix, never a traceback here.
    Shared with the `lift` command."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OlympiaError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)


class OlympiaCLI(DomainErrorGroup, LazyGroup):
    pass


@click.group(cls=OlympiaCLI, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="olympia")
def main():
    """Olympia: build one fitness-motion dataset of 3D skeleton clips with language labels.

    \b
    Examples:
      olympia build --out dist/olympia-demo          # embedded demo release
      olympia verify dist/olympia-demo               # check every file against meta/info.json
      olympia ingest mmfit /data/mm-fit --out work/stores/mmfit
      olympia labels normalize "Alt. DB Curls"
      olympia pose clip.mp4 --backend mediapipe --out work/stores/videos
      olympia annotate serve
      olympia count dist/olympia-demo
      olympia videos sets workout.mp4 --json          # the sets in a long video: frames, reps
      olympia show dist/olympia-demo --sample 3       # clips as PNGs: skeletons, reps, motion image
      olympia view dist/olympia-demo --out work/site  # browse a release in a browser (static site)
    """


if __name__ == "__main__":
    main()
