"""`olympia build` and `olympia verify`."""
from __future__ import annotations

from pathlib import Path

import click

from olympia.recipe import build_from_recipe, load_recipe
from olympia.store import ClipStore

DEFAULT_RECIPE = "pipelines/release.yaml"


@click.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("dist/olympia-demo"),
              show_default=True, help="Release directory (replaced atomically).")
@click.option("--recipe", type=click.Path(path_type=Path), default=Path(DEFAULT_RECIPE), show_default=True,
              help="Release recipe (YAML): demo size, split mode, sources config.")
@click.option("--clips", type=int, default=None, help="Override the demo size (7618 = Olympia scale).")
@click.option("--split-mode", type=click.Choice(["group", "clip"]), default=None,
              help="group: leak-free by subject/video (default); clip: the paper's random 80/10/10.")
@click.option("--force", is_flag=True, help="Rebuild even when inputs are unchanged.")
@click.option("--workers", type=int, default=2, show_default=True, help="Processes for clip generation.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def build(out_dir, recipe, clips, split_mode, force, workers, quiet):
    """Build a release (clip shards, QA shards, splits, meta, card, plots).

    \b
    Examples:
      olympia build                                   # = make dataset
      olympia build --out dist/olympia-full --clips 7618
      olympia build --split-mode clip --force         # the paper's split protocol
    """
    r = load_recipe(recipe)
    if clips is not None and r.demo is not None:
        r.demo.n_clips = clips
    if split_mode:
        r.release.split_mode = split_mode
    report = build_from_recipe(r, out_dir, force=force, workers=workers, progress=not quiet)
    if report is not None:
        click.echo(report.summary())
        for item in report.rejected[:20]:
            click.echo(f"  quarantined [{item.source}] {item.where}: {item.message}")
        if len(report.rejected) > 20:
            click.echo(f"  ... {len(report.rejected) - 20} more in {out_dir}/meta/quarantine.json")


@click.command()
@click.argument("release", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(release):
    """Check every file of a release against the sha256 in meta/info.json.

    \b
    Examples:
      olympia verify dist/olympia-demo
    """
    store = ClipStore(release)
    store.verify()
    n = len(store.info["files"])
    click.echo(f"{release}: {n} files match meta/info.json; {len(store)} clips")
