"""`olympia build` and `olympia verify`."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from olympia.errors import ConfigError
from olympia.recipe import build_from_recipe, load_recipe
from olympia.store import integrity_problems, load_info
from olympia.swap import recover

DEFAULT_RECIPE = "pipelines/release.yaml"


def default_recipe() -> Path:
    """pipelines/release.yaml of the project this package belongs to (found from the package's
    location, so `olympia build` works from any directory), not of the current directory."""
    import olympia

    path = Path(olympia.__file__).resolve().parents[1] / DEFAULT_RECIPE
    if not path.is_file():
        raise ConfigError(f"no default recipe: {path} does not exist (olympia is installed without "
                          "its project folder); fix: pass --recipe path/to/release.yaml")
    return path


def engine_options(command):
    """--engine, --ray-address, --ray-cpus, --ray-gpus (olympia build, pose, videos sets)."""
    for option in reversed([
        click.option("--engine", "engine_kind", type=click.Choice(["local", "ray"]), default="local",
                     show_default=True, help="Where the work runs: local processes, or a Ray cluster."),
        click.option("--ray-address", default=None, metavar="ADDR",
                     help="Ray cluster to use (default: $RAY_ADDRESS, else a local instance on 127.0.0.1)."),
        click.option("--ray-cpus", type=float, default=1.0, show_default=True, help="CPUs per Ray task."),
        click.option("--ray-gpus", type=float, default=0.0, show_default=True,
                     help="GPUs per Ray task (MotionBERT on GPU workers)."),
    ]):
        command = option(command)
    return command


def make_engine(engine_kind: str, ray_address, ray_cpus: float, ray_gpus: float, workers: int | None,
                start_method: str = "spawn"):
    """The Engine the options describe (Ray is imported only when the work starts)."""
    from olympia.engine import Engine

    if engine_kind == "ray":
        return Engine(kind="ray", ray_address=ray_address, num_cpus=ray_cpus, num_gpus=ray_gpus)
    return Engine(workers=workers, start_method=start_method)


@click.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("dist/olympia-demo"),
              show_default=True, help="Release directory (replaced atomically).")
@click.option("--recipe", type=click.Path(path_type=Path), default=None,
              help="Release recipe (YAML): demo size, split mode, sources config. "
                   f"[default: the project's {DEFAULT_RECIPE}, from any directory]")
@click.option("--clips", type=int, default=None, help="Override the demo size (7618 = Olympia scale).")
@click.option("--split-mode", type=click.Choice(["group", "clip"]), default=None,
              help="group: leak-free by subject/video (default); clip: the paper's random 80/10/10.")
@click.option("--force", is_flag=True,
              help="Rebuild even when inputs are unchanged, and replace --out even when it is not an "
                   "Olympia release (a folder with other files in it is refused otherwise).")
@click.option("--allow-unlabeled", is_flag=True,
              help="Keep clips labelled 'unlabeled' (whole videos posed without an exercise name).")
@click.option("--workers", type=int, default=2, show_default=True,
              help="Local processes for the work units (--engine local).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@engine_options
def build(out_dir, recipe, clips, split_mode, force, allow_unlabeled, workers, quiet, engine_kind, ray_address,
          ray_cpus, ray_gpus):
    """Build a release (clip shards, QA shards, splits, meta, card, plots).

    \b
    Examples:
      olympia build                                   # = make dataset (from any directory)
      olympia build --out dist/olympia-full --clips 7618
      olympia build --split-mode clip --force         # the paper's split protocol
      olympia build --recipe pipelines/release.yaml --out dist/olympia-demo
      olympia build --engine ray --ray-address 10.0.0.5:6379   # work units on a Ray cluster
    """
    r = load_recipe(recipe or default_recipe())
    if clips is not None and r.demo is not None:
        r.demo.n_clips = clips
    if split_mode:
        r.release.split_mode = split_mode
    r.release.allow_unlabeled = r.release.allow_unlabeled or allow_unlabeled
    started = time.perf_counter()
    engine = make_engine(engine_kind, ray_address, ray_cpus, ray_gpus, workers, start_method="fork")
    report = build_from_recipe(r, out_dir, force=force, workers=workers, progress=not quiet, engine=engine)
    if report is not None:
        click.echo(report.summary())
        click.echo(f"built in {time.perf_counter() - started:.1f} s", err=True)   # a log, not the release
        for item in report.rejected[:20]:
            click.echo(f"  quarantined [{item.source}] {item.where}: {item.message}")
        if len(report.rejected) > 20:
            click.echo(f"  ... {len(report.rejected) - 20} more in {out_dir}/meta/quarantine.json")


@click.command()
@click.argument("release", type=click.Path(file_okay=False, path_type=Path))
def verify(release):
    """Check every file of a release or store against meta/info.json: missing, truncated or
    altered files (sha256) and files it does not list. Prints every problem; exits 1 if any.

    \b
    Examples:
      olympia verify dist/olympia-demo
    """
    recover(release)                    # a build interrupted during its final swap, as ClipStore does
    info = load_info(release)
    problems = integrity_problems(release, info)
    for line in problems:
        click.echo(f"FAIL {line}")
    if problems:
        click.echo(f"{release}: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{release}: {len(info['files'])} files match meta/info.json; {info['counts']['clips']} clips")
