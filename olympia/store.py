"""Parquet keypoint store: sharded, validated, atomic writes; random access and streaming reads.

Layout (Hugging Face style, paths in olympia.layout):
    data/clips/{split}-{i:05d}-of-{n:05d}.parquet   clips, sorted by id within a split
    meta/info.json                                   format, schema, counts, sha256 per file
    meta/splits.json                                 clip id -> split and the mode used
    meta/quarantine.json                             every rejected item and why

Atomicity, locking and never deleting a user's files: olympia.swap (a locked staging folder
swapped in with two renames; readers recover an interrupted swap). Integrity: every file's
sha256 and size in meta/info.json, and Parquet page checksums verified on every read.
"""
from __future__ import annotations

import json
import sys
from collections import Counter, OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from olympia.errors import ClipValidationError, OlympiaError, StoreIntegrityError
from olympia.io import atomic_write_json, read_json, sha256_file
from olympia.layout import (CLIPS_DIR, CODEBASE, FORMAT_VERSION, INFO_PATH, QUARANTINE_PATH, ROW_GROUP_ROWS,
                            SHARD_MAX_BYTES, SHARD_PATTERN, SPLITS_PATH, clip_shard_path, shard_split)
from olympia.schema import CLIP_ARROW_SCHEMA, METADATA_COLUMNS, Clip, Rejected, clip_json_schema, validate_clip
from olympia.skeleton import CHAIN_NAMES, H36M_JOINTS, KINEMATIC_CHAINS, N_JOINTS
from olympia.splits import DEFAULT_RATIOS, SPLITS, assign_splits
from olympia.swap import recover, replacing
from olympia.timebase import FPS

BYTES_PER_FRAME = N_JOINTS * 3 * 4


@dataclass
class StoreReport:
    path: Path
    n_clips: int
    split_counts: dict
    rejected: list[Rejected] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        splits = ", ".join(f"{k} {v}" for k, v in self.split_counts.items())
        return f"{self.n_clips} clips ({splits}); {len(self.rejected)} quarantined -> {self.path}"


# ---------------------------------------------------------------------------------- writing

def prepare_clips(items: Iterable[Clip | Rejected], progress: bool = False,
                  desc: str = "validating clips") -> tuple[list[Clip], list[Rejected]]:
    """Validate, drop duplicates into the quarantine. Nothing is lost silently.

    Labels are normalized once, at ingest (adapters, pose path, demo); the store only checks
    that every clip carries one (validate_clip)."""
    clips, rejected, seen = [], [], {}
    for item in tqdm(items, desc=desc, unit="clip", disable=not progress, file=sys.stderr):
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        try:
            validate_clip(item)
            _check_label_normalized(item)
        except ClipValidationError as exc:
            rejected.append(Rejected(item.source, item.provenance.get("source_file") or item.id,
                                     getattr(exc, "field", "label"), str(exc), item.id))
            continue
        if item.id in seen:
            rejected.append(Rejected(item.source, item.provenance.get("source_file") or item.id, "id",
                                     f"duplicate clip id {item.id!r} (first from "
                                     f"{seen[item.id]}); ids must be unique", item.id))
            continue
        seen[item.id] = item.provenance.get("source_file") or item.source
        clips.append(item)
    return clips, rejected


def _check_label_normalized(clip: Clip) -> None:
    """The label must be the normalizer's output: it is the answer of every QA pair."""
    from olympia.labels import normalize_label  # imported late: spaCy loads on first use
    from olympia.errors import LabelError

    try:
        expected = normalize_label(clip.label)
    except LabelError as exc:
        raise ClipValidationError(clip.id, "label", str(exc)) from None
    if expected != clip.label:
        raise ClipValidationError(clip.id, "label", f"{clip.label!r} is not normalized ("
                                  f"normalize_label gives {expected!r}); labels are normalized at "
                                  "ingest: re-run the adapter or pose step that made the clip")


def clips_metadata(clips: list[Clip]) -> pd.DataFrame:
    """Metadata of in-memory clips (no keypoints) as a DataFrame, in the schema's columns."""
    rows = []
    for c in clips:
        row = c.to_row()
        row.pop("keypoints"), row.pop("frame_confidence")
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(METADATA_COLUMNS))
    df["reps"] = df["reps"].astype("Int64")
    return df


def _shard_plan(clips: list[Clip], max_bytes: int) -> list[list[Clip]]:
    shards, current, size = [], [], 0
    for c in clips:
        nbytes = c.n_frames * BYTES_PER_FRAME
        if current and size + nbytes > max_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(c)
        size += nbytes
    if current:
        shards.append(current)
    return shards


def _write_shard(clips: list[Clip], path: Path) -> None:
    rows = [c.to_row() for c in clips]
    table = pa.Table.from_pylist(rows, schema=CLIP_ARROW_SCHEMA)
    pq.write_table(
        table, path, row_group_size=ROW_GROUP_ROWS,
        # Keypoints stay uncompressed: sensor noise leaves zstd ~14% (measured on the demo),
        # not worth the decode cost on random access. Everything else is zstd.
        compression={name: ("none" if name == "keypoints" else "zstd") for name in CLIP_ARROW_SCHEMA.names},
        use_dictionary=["source", "subject", "camera", "split_group", "label_raw", "label",
                        "pose_estimator", "pose_estimator_version"],
        write_statistics=["id", "source", "n_frames", "reps"],
        write_page_checksum=True,      # a damaged page is detected on read, not decoded as data
    )


def write_store(
    out_dir: str | Path,
    items: Iterable[Clip | Rejected],
    *,
    splits: dict[str, str] | None = None,
    split_mode: str = "group",
    seed: int = 0,
    ratios=DEFAULT_RATIOS,
    shard_max_bytes: int = SHARD_MAX_BYTES,
    progress: bool = True,
    extras: Callable[[Path, pd.DataFrame], dict] | None = None,
    fingerprint: str | None = None,
    force: bool = False,
) -> StoreReport:
    """Validate `items` and write them as a store at `out_dir`, atomically.

    splits: explicit clip id -> split (e.g. official splits); clips it misses fall back to
    `split_mode` ("group": leak-free by split_group, "clip": the paper's random 80/10/10).
    extras(staging_dir, clips_meta) may add files (QA shards, card, plots); they are hashed
    into info.json with the rest. Returns a StoreReport; rejected items are in
    meta/quarantine.json and the report, never dropped. `out_dir` must be absent, empty or a
    store holding only its own files, unless `force` (olympia.swap.check_replaceable).
    """
    out_dir = Path(out_dir)
    with replacing(out_dir, force=force) as staging:
        clips, rejected = prepare_clips(items, progress=progress)
        meta = clips_metadata(clips)
        assignment = assign_splits(meta, split_mode, seed, ratios) if len(meta) else {}
        if splits:
            assignment.update({k: v for k, v in splits.items() if k in assignment})
        meta["split"] = meta["id"].map(assignment)
        _write_shards(staging, clips, assignment, shard_max_bytes, progress)
        atomic_write_json(staging / SPLITS_PATH,
                          {"mode": "explicit+" + split_mode if splits else split_mode, "seed": seed,
                           "ratios": list(ratios), "assignment": dict(sorted(assignment.items()))})
        atomic_write_json(staging / QUARANTINE_PATH, [r.__dict__ for r in rejected])
        extra_info = extras(staging, meta) if extras else {}
        counts = meta["split"].value_counts().reindex(list(SPLITS), fill_value=0)
        info = _info(staging, meta, counts, rejected, extra_info, split_mode, fingerprint)
        atomic_write_json(staging / INFO_PATH, info)
    return StoreReport(out_dir, len(clips), {s: int(counts[s]) for s in SPLITS}, rejected,
                       sorted(info["files"]))


def _write_shards(staging: Path, clips: list[Clip], assignment: dict, shard_max_bytes: int,
                  progress: bool) -> None:
    (staging / CLIPS_DIR).mkdir(parents=True)
    jobs = []
    for split in SPLITS:
        members = sorted((c for c in clips if assignment[c.id] == split), key=lambda c: c.id)
        plan = _shard_plan(members, shard_max_bytes)
        jobs += [(shard, staging / clip_shard_path(split, i, len(plan))) for i, shard in enumerate(plan)]
    for shard, path in tqdm(jobs, desc="writing shards", unit="shard", disable=not progress, file=sys.stderr):
        _write_shard(shard, path)


def _info(root: Path, meta: pd.DataFrame, counts, rejected, extra_info, split_mode, fingerprint) -> dict:
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == INFO_PATH:
            continue
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return {
        "codebase": CODEBASE,
        "format_version": FORMAT_VERSION,
        "fps": FPS,
        "joint_names": list(H36M_JOINTS),
        "kinematic_chains": {n: list(c) for n, c in zip(CHAIN_NAMES, KINEMATIC_CHAINS)},
        "axes": "metres, right-handed, z up",
        "clip_schema": clip_json_schema(),
        "clips_path_pattern": f"{CLIPS_DIR}/{SHARD_PATTERN}",
        "row_group_rows": ROW_GROUP_ROWS,
        "split_mode": split_mode,
        "counts": {
            "clips": int(len(meta)),
            "frames": int(meta["n_frames"].sum()) if len(meta) else 0,
            "splits": {s: int(counts[s]) for s in SPLITS},
            "sources": {k: int(v) for k, v in sorted(Counter(meta["source"]).items())},
            "quarantined": len(rejected),
        },
        "files": files,
        "build_fingerprint": fingerprint,
        "extras": extra_info,
    }


# ---------------------------------------------------------------------------------- reading

def load_info(root: str | Path) -> dict:
    path = Path(root) / INFO_PATH
    if not path.is_file():
        raise StoreIntegrityError(f"{path} is missing: {root} is not an Olympia store "
                                  "(build one with `olympia build` or `olympia ingest`)")
    try:
        return read_json(path, "store info")
    except OlympiaError as exc:
        raise StoreIntegrityError(f"{exc}; rebuild the store") from None


def integrity_problems(root: str | Path, info: dict, *, full: bool = True, strays: bool = True) -> list[str]:
    """Every mismatch of a store against its meta/info.json, one line each: missing,
    truncated or altered files (sha256 when `full`), and files it does not list (`strays`)."""
    root, out = Path(root), []
    for rel, entry in info["files"].items():
        path = root / rel
        if not path.is_file():
            out.append(f"{path} is listed in {INFO_PATH} but missing; restore it or rebuild the store")
        elif path.stat().st_size != entry["bytes"]:
            out.append(f"{path} has {path.stat().st_size} bytes, {INFO_PATH} says {entry['bytes']} "
                       "(truncated or altered); rebuild or re-download it")
        elif full and sha256_file(path) != entry["sha256"]:
            out.append(f"{path} does not match its sha256 in {INFO_PATH} (altered or corrupt); "
                       "rebuild or re-download it")
    if strays:
        listed = set(info["files"]) | {INFO_PATH}
        out += [f"{p} is not part of the store (not in {INFO_PATH}); remove it or rebuild"
                for p in sorted(root.rglob("*"))
                if p.is_file() and p.relative_to(root).as_posix() not in listed]
    return out


class ClipStore:
    """Read access to a store or release: metadata, random access by id, streaming."""

    def __init__(self, root: str | Path, verify: bool = False, cache_row_groups: int = 4):
        self.root = Path(root)
        recover(self.root)
        self.info = load_info(self.root)
        self._check_files(full=verify)
        self.clip_files = sorted(f for f in self.info["files"] if f.startswith(CLIPS_DIR + "/"))
        self._files: dict[str, pq.ParquetFile] = {}
        self._index: pd.DataFrame | None = None
        self._where: dict[str, tuple[str, int, int]] | None = None
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_row_groups

    # -- integrity
    def _check_files(self, full: bool) -> None:
        problems = self.problems(full=full, strays=False)
        if problems:
            raise StoreIntegrityError(problems[0] if len(problems) == 1 else
                                      f"{len(problems)} problems in {self.root}:\n" + "\n".join(problems))

    def problems(self, full: bool = True, strays: bool = True) -> list[str]:
        """See `integrity_problems`."""
        return integrity_problems(self.root, self.info, full=full, strays=strays)

    def verify(self) -> None:
        """Check every file against meta/info.json; raises naming every bad or stray file."""
        problems = self.problems()
        if problems:
            raise StoreIntegrityError(f"{len(problems)} problem(s) in {self.root}:\n" + "\n".join(problems))

    @contextmanager
    def _reading(self, rel: str):
        """A damaged shard (bad page checksum, unreadable bytes) becomes the store's integrity
        error naming the shard, not a raw Arrow/OS error."""
        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            raise StoreIntegrityError(f"{self.root / rel} is damaged ({exc}); run `olympia verify "
                                      f"{self.root}` and rebuild or re-download it") from None

    # -- index and metadata
    def _file(self, rel: str) -> pq.ParquetFile:
        if rel not in self._files:
            with self._reading(rel):
                self._files[rel] = pq.ParquetFile(self.root / rel, memory_map=True,
                                                  page_checksum_verification=True)
        return self._files[rel]

    @property
    def index(self) -> pd.DataFrame:
        """id -> (file, row group, row within group, split), in storage order."""
        if self._index is None:
            parts = []
            for rel in self.clip_files:
                pf = self._file(rel)
                with self._reading(rel):
                    ids = pf.read(columns=["id"]).column("id").to_pylist()
                sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
                rg = np.repeat(np.arange(len(sizes)), sizes)
                row = np.concatenate([np.arange(n) for n in sizes]) if sizes else np.array([], int)
                parts.append(pd.DataFrame({"id": ids, "file": rel, "row_group": rg, "row": row,
                                           "split": shard_split(rel)}))
            self._index = (pd.concat(parts, ignore_index=True) if parts else
                           pd.DataFrame(columns=["id", "file", "row_group", "row", "split"])).set_index("id")
        return self._index

    @property
    def ids(self) -> list[str]:
        return list(self.index.index)

    def __len__(self) -> int:
        return self.info["counts"]["clips"]

    def files_for(self, split: str | None) -> list[str]:
        return [f for f in self.clip_files if split is None or shard_split(f) == split]

    def metadata(self, columns=None, split: str | None = None) -> pd.DataFrame:
        """Clip metadata without keypoints (column projection), with a `split` column."""
        cols = list(columns or METADATA_COLUMNS)
        frames = []
        for rel in self.files_for(split):
            with self._reading(rel):
                df = self._file(rel).read(columns=cols).to_pandas()
            df["split"] = shard_split(rel)
            frames.append(df)
        if not frames:
            return pd.DataFrame(columns=cols + ["split"])
        return pd.concat(frames, ignore_index=True)

    # -- random access
    def _row_group(self, rel: str, rg: int, columns: tuple[str, ...]) -> pa.Table:
        key = (rel, rg, columns)
        table = self._cache.get(key)
        if table is None:
            with self._reading(rel):
                table = self._file(rel).read_row_group(rg, columns=list(columns))
            self._cache[key] = table
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return table

    def _locate(self, clip_id: str) -> tuple[str, int, int]:
        if self._where is None:
            idx = self.index
            self._where = dict(zip(idx.index, zip(idx["file"], idx["row_group"].astype(int).tolist(),
                                                  idx["row"].astype(int).tolist())))
        try:
            return self._where[clip_id]
        except KeyError:
            raise KeyError(f"no clip {clip_id!r} in {self.root}") from None

    def keypoints(self, clip_id: str) -> np.ndarray:
        """(T, 17, 3) float32 view on the decoded row group (zero-copy from Arrow)."""
        rel, rg, row = self._locate(clip_id)
        table = self._row_group(rel, rg, ("keypoints",))
        return binary_row_as_array(table.column("keypoints"), row)

    def get(self, clip_id: str) -> Clip:
        rel, rg, row = self._locate(clip_id)
        table = self._row_group(rel, rg, tuple(CLIP_ARROW_SCHEMA.names))
        return row_to_clip(table.slice(row, 1).to_pylist()[0], table, row)

    def iter_clips(self, split: str | None = None, batch_rows: int = 64) -> Iterator[Clip]:
        """Stream clips shard by shard, a few row groups in memory at a time."""
        for rel in self.files_for(split):
            batches = self._file(rel).iter_batches(batch_size=batch_rows)
            while True:
                with self._reading(rel):
                    batch = next(batches, None)
                if batch is None:
                    break
                table = pa.Table.from_batches([batch])
                kp = table.column("keypoints")
                for i, row in enumerate(table.drop_columns(["keypoints"]).to_pylist()):
                    row["keypoints"] = binary_row_as_array(kp, i)
                    yield row_to_clip(row)


def binary_row_as_array(column: pa.ChunkedArray, row: int) -> np.ndarray:
    """Row `row` of the binary keypoints column as a read-only (T, 17, 3) float32 view (no copy)."""
    for chunk in column.chunks:
        if row < len(chunk):
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1,
                                    offset=chunk.offset * 4)
            data = chunk.buffers()[2]
            view = np.frombuffer(data, dtype="<f4", count=(offsets[row + 1] - offsets[row]) // 4,
                                 offset=int(offsets[row])).reshape(-1, N_JOINTS, 3)
            view.flags.writeable = False  # shared with the row-group cache: copy before editing
            return view
        row -= len(chunk)
    raise IndexError(row)


def row_to_clip(row: dict, table: pa.Table | None = None, index: int | None = None) -> Clip:
    kp = row["keypoints"]
    if table is not None:
        kp = binary_row_as_array(table.column("keypoints"), index)
    elif isinstance(kp, bytes):
        kp = np.frombuffer(kp, dtype="<f4")
    conf = row.get("frame_confidence")
    return Clip(
        id=row["id"], source=row["source"], subject=row["subject"], camera=row["camera"],
        split_group=row["split_group"], label_raw=row["label_raw"], label=row["label"],
        reps=row["reps"], rep_bounds=row["rep_bounds"] or [], fps=row["fps"],
        source_fps=row["source_fps"], keypoints=np.asarray(kp, np.float32).reshape(-1, N_JOINTS, 3),
        frame_confidence=None if conf is None else np.asarray(conf, np.float32),
        pose_estimator=row["pose_estimator"], pose_estimator_version=row["pose_estimator_version"],
        provenance=row["provenance"], gap_filled_fraction=row["gap_filled_fraction"],
        extra=json.loads(row["extra"] or "{}"),
    )
