"""`olympia view`: a release as a self-contained static site (docs/viewer.md).

The site is written into a staging folder beside --out and swapped in at the end under a lock
(olympia.swap), so --out is always a complete site (the previous one until the swap) and a
second writer fails at once. Same release -> same bytes.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from olympia.errors import OlympiaError, OutputFolderError
from olympia.io import json_text, read_json
from olympia.layout import QUARANTINE_PATH
from olympia.splits import SPLITS
from olympia.store import ClipStore
from olympia.swap import replacing
from olympia.viewer import export

MARKER = "olympia-viewer.json"     # names a folder as viewer output: a rebuild may replace it
VIEWER_FORMAT = 1
STATIC_FILES = ("index.html", "viewer.css", "loader.js", "skeleton.js", "charts.js", "table.js",
                "clip.js", "app.js")


@dataclass
class SiteReport:
    path: Path
    clips: int
    quarantined: int
    files: int
    bytes: int
    seconds: float

    def summary(self) -> str:
        return (f"{self.clips} clips, {self.quarantined} quarantined -> {self.path}/index.html "
                f"({self.files} files, {self.bytes / 1e6:.1f} MB, {self.seconds:.1f} s)")


def check_out_dir(out: Path, release: Path, force: bool = False) -> None:
    """Refuse an --out whose replacement could lose something that is not a viewer site.

    olympia.swap's own rule knows stores, not sites: this check runs first, then the swap is
    forced."""
    out_abs, release_abs = out.resolve(), release.resolve()
    if out.is_symlink():
        raise OutputFolderError(f"--out {out} is a symbolic link; give the folder it points to")
    if out_abs == release_abs or out_abs in release_abs.parents:
        raise OutputFolderError(f"--out {out} holds the release {release}: replacing it would delete the "
                          "release; choose another folder")
    if release_abs in out_abs.parents:
        raise OutputFolderError(f"--out {out} is inside the release {release}: the site would change the "
                          "release; choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file, not a folder; choose a folder")
    if not out.is_dir() or not any(out.iterdir()) or (out / MARKER).is_file():
        return
    if not force:
        raise OutputFolderError(f"--out {out} is not empty and is not an `olympia view` site (no {MARKER}): "
                          "replacing it would delete its contents. Choose a new or empty folder, or "
                          "pass --force to replace it")
    if out_abs in (Path("/"), Path.home().resolve()) or out_abs in Path.cwd().resolve().parents \
            or out_abs == Path.cwd().resolve():
        raise OutputFolderError(f"--out {out} is /, your home or holds the working directory; even with "
                          "--force the viewer will not replace it")


def _write(root: Path, rel: str, data: bytes) -> int:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def _ordered_splits(meta: pd.DataFrame) -> list[str]:
    present = set(meta["split"]) if len(meta) else set()
    return [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))


def release_name(store: ClipStore) -> str:
    """The card's release name, or the folder's name for a plain store."""
    return (store.info.get("extras") or {}).get("release") or store.root.resolve().name


def summary_payload(store: ClipStore, meta: pd.DataFrame, quarantine: list[dict], plots: list[str],
                    dictionaries: dict, rows_per_block: int) -> dict:
    info, extras = store.info, store.info.get("extras") or {}
    by_source: dict[str, int] = {}
    for entry in quarantine:
        by_source[str(entry.get("source", ""))] = by_source.get(str(entry.get("source", "")), 0) + 1
    reps = meta["reps"].dropna()
    return {
        "release": {"name": release_name(store),
                    "format_version": info.get("format_version"), "olympia_version": extras.get("olympia_version"),
                    "split_mode": info.get("split_mode"), "sources_skipped": extras.get("sources_skipped") or {}},
        "counts": {"clips": int(len(meta)), "frames": int(meta["n_frames"].sum()) if len(meta) else 0,
                   "quarantined": len(quarantine),
                   "splits": {s: int(n) for s, n in meta["split"].value_counts().sort_index().items()},
                   "by_source_split": export.counts_by_source_split(meta, dictionaries["split"])},
        "dictionaries": dictionaries,
        "rows": {"total": int(len(meta)), "block_size": rows_per_block,
                 "blocks": len(export.blocks(len(meta), rows_per_block))},
        "quarantine": {"total": len(quarantine), "block_size": rows_per_block,
                       "blocks": len(export.blocks(len(quarantine), rows_per_block)),
                       "by_source": dict(sorted(by_source.items()))},
        "reps": {"min": int(reps.min()) if len(reps) else None, "max": int(reps.max()) if len(reps) else None},
        "plots": plots,
        "skeleton": export.skeleton_payload(),
    }


def _write_clips(store: ClipStore, meta: pd.DataFrame, root: Path, progress: bool) -> int:
    """One data script per clip, in storage order (the store's row-group cache then hits)."""
    records = {row["id"]: row for row in meta.to_dict("records")}
    keys: dict[str, str] = {}
    total = 0
    for clip_id in tqdm(store.ids, desc="viewer: clips", unit="clip", disable=not progress, file=sys.stderr):
        key = export.clip_key(clip_id)
        if key in keys:   # 64-bit hash: never seen, but a silent overwrite would show the wrong clip
            raise OlympiaError(f"clips {keys[key]!r} and {clip_id!r} hash to the same viewer file {key}")
        keys[key] = clip_id
        payload = {"meta": export.clip_record(records[clip_id]),
                   "keypoints": export.encode_keypoints(store.keypoints(clip_id))}
        total += _write(root, f"data/{key}.js", export.data_script(key, payload))
    return total


def build_site(release: str | Path, out: str | Path, *, force: bool = False, progress: bool = True,
               rows_per_block: int = export.ROWS_PER_BLOCK) -> SiteReport:
    """Write the viewer site of `release` into `out` (replaced atomically; see check_out_dir)."""
    t0 = time.perf_counter()
    release, out = Path(release), Path(out)
    store = ClipStore(release)
    check_out_dir(out, release, force)
    meta = store.metadata().sort_values("id", kind="stable").reset_index(drop=True)
    qpath = release / QUARANTINE_PATH
    quarantine = read_json(qpath, "quarantine list") if qpath.is_file() else []
    plots = sorted(Path(f).name for f in store.info.get("files", {})
                   if f.startswith("plots/") and f.endswith(".png"))
    dictionaries = {"source": sorted(set(meta["source"])), "split": _ordered_splits(meta),
                    "label": sorted(set(meta["label"]))}
    with replacing(out, force=True) as root:
        static = resources.files("olympia.viewer") / "static"
        for name in STATIC_FILES:
            _write(root, name if name == "index.html" else f"assets/{name}", (static / name).read_bytes())
        for name in plots:
            _write(root, f"plots/{name}", (release / "plots" / name).read_bytes())
        _write(root, "data/summary.js", export.data_script(
            "summary", summary_payload(store, meta, quarantine, plots, dictionaries, rows_per_block)))
        for i, part in enumerate(export.blocks(len(meta), rows_per_block)):
            key = export.block_key("rows", i)
            _write(root, f"data/{key}.js", export.data_script(key, export.table_rows(meta.iloc[part], dictionaries)))
        for i, part in enumerate(export.blocks(len(quarantine), rows_per_block)):
            key = export.block_key("quarantine", i)
            _write(root, f"data/{key}.js", export.data_script(key, {"entries": quarantine[part]}))
        _write_clips(store, meta, root, progress)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in files)
        _write(root, MARKER, json_text({"generator": "olympia view", "viewer_format": VIEWER_FORMAT,
                                        "release": release_name(store),
                                        "clips": int(len(meta)), "quarantined": len(quarantine),
                                        "files": len(files) + 1, "bytes": size}).encode())
    return SiteReport(out, int(len(meta)), len(quarantine), len(files) + 1,
                      size + (out / MARKER).stat().st_size, time.perf_counter() - t0)
