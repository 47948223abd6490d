"""`olympia view`: a release as a static site to browse (clips, skeletons, reps, quarantine)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("release", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the site (replaced atomically)  [default: work/view/<release name>]")
@click.option("--force", is_flag=True, help="Replace --out even if it is a non-empty folder that is not a viewer site.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def view(release, out_dir, force, quiet):
    """Write a self-contained static site to browse a release: the clip table (filter by
    source, split, label words and reps; sort; pages), per clip an animated 3D skeleton, its
    repetition spans, joint heights and motion image, and the quarantine with reasons.

    Nothing is fetched from the network: open index.html from disk, or serve the folder.
    Clip keypoints load only when a clip is opened (docs/viewer.md: layout and sizes).

    \b
    Examples:
      olympia view dist/olympia-demo                      # -> work/view/olympia-demo/index.html
      olympia view dist/olympia-demo --out work/site
      python -m http.server -d work/site 8000             # then http://localhost:8000/
      olympia view work/stores/videos --out work/site-videos --quiet
    """
    from olympia.viewer import build_site

    out_dir = out_dir or Path("work/view") / release.resolve().name
    report = build_site(release, out_dir, force=force, progress=not quiet)
    click.echo(report.summary())
