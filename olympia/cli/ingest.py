"""`olympia ingest` (raw source -> clip store / pose-path segments) and `olympia sources`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from olympia.adapters import ADAPTERS
from olympia.io import atomic_write_json
from olympia.schema import Rejected
from olympia.segment import Segment
from olympia.video.segments import write_segments_json

# official split name in the source -> Olympia split
_OFFICIAL = {"train": "train", "val": "validation", "valid": "validation", "test": "test",
             "unseen": "test"}


def _official_splits(clips) -> dict[str, str]:
    out = {}
    for c in clips:
        name = c.extra.get("mmfit_split") or c.extra.get("repcount_split")
        if name in _OFFICIAL:
            out[c.id] = _OFFICIAL[name]
    return out


@click.command()
@click.argument("source", type=click.Choice(sorted(ADAPTERS)))
@click.argument("raw_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Clip store directory (replaced atomically).")
@click.option("--segments-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where video-only sources write their pose-path segments JSON "
                   "[default: OUT/segments.json, OUT being --out].")
@click.option("--split-mode", type=click.Choice(["group", "clip"]), default="group", show_default=True,
              help="group: leak-free by subject/source video; clip: random 80/10/10.")
@click.option("--official-splits", is_flag=True,
              help="Use the source's official split where it has one (MM-Fit w-split; unseen -> test).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def ingest(source, raw_dir, out_dir, segments_out, split_mode, official_splits, quiet):
    """Read one source's raw release in RAW_DIR and write its canonical clips to the store --out.

    3D sources (fit3d, mmfit, infiniterep, uiprmd, kimore) become clip shards (H36M-17,
    25 fps). Video-only sources (uco, repcount, and InfiniteRep videos without labels) become
    segments for `olympia pose --segments FILE`. Bad files are quarantined and listed;
    the rest goes on. RAW_DIR is the folder the source's layout starts from, as `olympia
    sources` shows it (for Fit3D the folder that holds train/).

    \b
    Examples:
      olympia ingest fit3d /data/fit3d --out work/stores/fit3d
      olympia ingest mmfit /data/mm-fit --out work/stores/mmfit --official-splits
      olympia ingest repcount /data/LLSP --out work/stores/repcount
      olympia pose --segments work/stores/repcount/segments.json --out work/stores/repcount-video
    """
    adapter = ADAPTERS[source]
    segments_path = segments_out or out_dir / "segments.json"
    rejected: list[Rejected] = []
    if adapter.iter_segments is not None and (adapter.kind == "segments" or _has_videos_only(source, raw_dir)):
        segments = []
        for item in adapter.iter_segments(raw_dir):
            (segments if isinstance(item, Segment) else rejected).append(item)
        if segments:
            write_segments_json(segments, segments_path)
            click.echo(f"{len(segments)} video segments -> {segments_path} "
                       f"(next: olympia pose --segments {segments_path})")
        if adapter.kind == "segments":
            _report_rejected(rejected, out_dir / "segments_rejected.json")
            return
    from olympia.store import write_store

    items = list(adapter.iter_clips(raw_dir))
    splits = _official_splits([c for c in items if not isinstance(c, Rejected)]) if official_splits else None
    report = write_store(out_dir, items + rejected, splits=splits, split_mode=split_mode,
                         progress=not quiet)
    click.echo(report.summary())
    for item in report.rejected[:20]:
        click.echo(f"  quarantined [{item.source}] {item.where}: {item.message}")
    if len(report.rejected) > 20:
        click.echo(f"  ... {len(report.rejected) - 20} more in {out_dir}/meta/quarantine.json")


def _has_videos_only(source: str, raw_dir: Path) -> bool:
    return source == "infiniterep" and any(not p.with_suffix(".json").exists()
                                           for p in raw_dir.glob("*/data/*.mp4"))


def _report_rejected(rejected: list[Rejected], path: Path) -> None:
    if not rejected:
        return
    atomic_write_json(path, [r.__dict__ for r in rejected], indent=1)
    click.echo(f"{len(rejected)} rejected -> {path}")
    for item in rejected[:20]:
        click.echo(f"  rejected [{item.source}] {item.where}: {item.message}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def sources(as_json):
    """List the source adapters: citation, license, homepage, expected layout, fps, joint set.

    \b
    Examples:
      olympia sources
      olympia sources --json | jq '.[].layout'
    """
    rows = [{"name": a.name, "title": a.title, "kind": a.kind, "role": a.role,
             "citation": a.citation, "license": a.license, "homepage": a.homepage,
             "layout": a.layout, "native_fps": a.native_fps, "joint_set": a.joint_set,
             "verified": a.verified} for a in ADAPTERS.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        fps = f"{r['native_fps']:g} fps" if r["native_fps"] else "fps from video"
        click.echo(f"{r['name']} — {r['title']} ({r['kind']}, {r['role']}, {fps}, joints: {r['joint_set'] or 'pose path'})")
        click.echo(f"    layout:   RAW_DIR/{r['layout']}")
        click.echo(f"    license:  {r['license']}")
        click.echo(f"    homepage: {r['homepage']}")
        click.echo(f"    cite:     {r['citation']}")
