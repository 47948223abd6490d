"""`olympia ingest` (raw source -> clip store / pose-path segments) and `olympia sources`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from olympia.adapters import ADAPTERS
from olympia.adapters.common import plausibility_summary
from olympia.io import atomic_write_json
from olympia.schema import Rejected
from olympia.segment import Segment
from olympia.video.segments import write_segments_json

# official split name in the source -> Olympia split
_OFFICIAL = {"train": "train", "val": "validation", "valid": "validation", "test": "test",
             "unseen": "test"}
SHOWN = 20   # quarantine entries printed; all of them are in the store's meta/quarantine.json


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
              help="Clip store directory (replaced atomically; must be absent, empty or a store).")
@click.option("--segments-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the pose-path segments JSON goes [default: OUT/segments.json for video-only "
                   "sources, OUT.segments.json beside the store otherwise; OUT being --out].")
@click.option("--split-mode", type=click.Choice(["group", "clip"]), default="group", show_default=True,
              help="group: leak-free by subject/source video; clip: random 80/10/10.")
@click.option("--official-splits", is_flag=True,
              help="Use the source's official split where it has one (MM-Fit w-split; unseen -> test).")
@click.option("--force", is_flag=True,
              help="Replace --out even when it is a folder that is not an Olympia store.")
@click.option("--strict", is_flag=True,
              help="Any quarantined item is an error: exit 1 and write nothing (CI for curators).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def ingest(source, raw_dir, out_dir, segments_out, split_mode, official_splits, force, strict, quiet):
    """Read one source's raw release in RAW_DIR and write its canonical clips to the store --out.

    3D sources (fit3d, mmfit, infiniterep, visionfit, uiprmd, kimore) become clip shards
    (H36M-17, 25 fps) and a per-source plausibility summary is printed. Video-only sources (uco,
    repcount, and InfiniteRep videos without labels) become segments for
    `olympia pose --segments FILE`. Bad files and rows are quarantined one by one and listed;
    the rest goes on. Exit status: 0 when clips (or segments) were written, 1 when none was
    (or, with --strict, when anything was quarantined), 2 for a wrong RAW_DIR layout or an
    --out folder that holds other files. RAW_DIR is the folder the source's layout starts
    from, as `olympia sources` shows it (for Fit3D the folder that holds train/).

    \b
    Examples:
      olympia ingest fit3d /data/fit3d --out work/stores/fit3d
      olympia ingest uiprmd /data/UI-PRMD --out work/stores/uiprmd --strict
      olympia ingest mmfit /data/mm-fit --out work/stores/mmfit --official-splits
      olympia ingest repcount /data/LLSP --out work/stores/repcount
      olympia pose --segments work/stores/repcount/segments.json --out work/stores/repcount-video
    """
    adapter = ADAPTERS[source]
    rejected: list[Rejected] = []
    n_segments = 0
    if adapter.list_segments is not None:
        default = out_dir / "segments.json" if adapter.kind == "segments" else \
            out_dir.with_name(f"{out_dir.name}.segments.json")   # outside the store it replaces
        n_segments = _write_segments(adapter, raw_dir, segments_out or default, rejected, strict)
        if adapter.kind == "segments":
            _report_rejected(rejected, out_dir / "segments_rejected.json")
            _exit_status(n_segments, rejected, strict, "video segments")
            return
    from olympia.store import prepare_clips, write_store

    clips, invalid = prepare_clips(adapter.iter_clips(raw_dir), progress=not quiet,
                                   desc=f"reading {source}")
    rejected += invalid
    if strict and rejected:
        _print_rejected(rejected, None)
        click.echo(f"--strict: {len(rejected)} item(s) quarantined; nothing written to {out_dir}")
        sys.exit(1)
    if not clips:
        _print_rejected(rejected, None)
        _exit_status(n_segments, rejected, strict, "clips" if not n_segments else "video segments")
        return
    splits = _official_splits(clips) if official_splits else None
    report = write_store(out_dir, clips + rejected, splits=splits, split_mode=split_mode,
                         progress=not quiet, force=force)
    click.echo(report.summary())
    click.echo(_format_summary(source, plausibility_summary(clips)))
    _print_rejected(report.rejected, out_dir)


def _write_segments(adapter, raw_dir: Path, path: Path, rejected: list, strict: bool) -> int:
    segments = []
    for item in adapter.iter_segments(raw_dir):
        (segments if isinstance(item, Segment) else rejected).append(item)
    if segments and not (strict and rejected):
        write_segments_json(segments, path)
        click.echo(f"{len(segments)} video segments -> {path} (next: olympia pose --segments {path})")
    return len(segments)


def _exit_status(n_written: int, rejected: list, strict: bool, what: str) -> None:
    if strict and rejected:
        click.echo(f"--strict: {len(rejected)} item(s) quarantined")
        sys.exit(1)
    if not n_written:
        click.echo(f"no {what} produced ({len(rejected)} quarantined): see the reasons above")
        sys.exit(1)


def _format_summary(source: str, s: dict) -> str:
    """One block of plausibility figures for a source (see plausibility_summary)."""
    if not s:
        return f"plausibility [{source}]: no clips"
    lines = [f"plausibility [{source}] over {s['clips']} clips (median [min, max]):"]
    for key, (label, unit) in {"stature_m": ("stature", "m"), "bone_cv": ("bone-length variation", ""),
                               "asymmetry": ("left/right limb asymmetry", ""),
                               "upright": ("head above ankles", ""),
                               "left_right_consistency": ("left/right consistency (toes/nose)", ""),
                               "gap_filled": ("gap-filled frames", "")}.items():
        if key in s:
            med, lo, hi = s[key]
            fmt = "{:.2f}" if unit else "{:.1%}"
            lines.append(f"  {label}: {fmt.format(med)} [{fmt.format(lo)}, {fmt.format(hi)}]"
                         + (f" {unit}" if unit else ""))
    if s.get("warnings"):
        lines.append(f"  warnings: {s['warnings']} clips ({', '.join(f'{k} {v}' for k, v in s['warning_kinds'].items())})")
    return "\n".join(lines)


def _print_rejected(rejected: list[Rejected], out_dir: Path | None) -> None:
    for item in rejected[:SHOWN]:
        click.echo(f"  quarantined [{item.source}] {item.where}: {item.message}")
    if len(rejected) > SHOWN:
        where = f"{out_dir}/meta/quarantine.json" if out_dir else "the output above"
        click.echo(f"  ... {len(rejected) - SHOWN} more in {where}")


def _report_rejected(rejected: list[Rejected], path: Path) -> None:
    if not rejected:
        return
    atomic_write_json(path, [r.__dict__ for r in rejected], indent=1)
    click.echo(f"{len(rejected)} rejected -> {path}")
    for item in rejected[:SHOWN]:
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
        fps = f"{r['native_fps']:g} fps" if r["native_fps"] else "fps per file"
        click.echo(f"{r['name']} — {r['title']} ({r['kind']}, {r['role']}, {fps}, joints: {r['joint_set'] or 'pose path'})")
        click.echo(f"    layout:   RAW_DIR/{r['layout']}")
        click.echo(f"    license:  {r['license']}")
        click.echo(f"    homepage: {r['homepage']}")
        click.echo(f"    cite:     {r['citation']}")
