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
from olympia.layout import (CLIPS_DIR, CODEBASE, FORMAT_VERSION, INFO_PATH, QUARANTINE_PATH, ROW_GROUP_MAX_BYTES,
                            ROW_GROUP_MAX_ROWS, SHARD_MAX_BYTES, SHARD_PATTERN, SPLITS_PATH, clip_shard_path,
                            shard_split)
from olympia.engine import Engine
from olympia.parquet_pages import FloatPages, PageChecksumError, PageFormatError
from olympia.schema import (CLIP_ARROW_SCHEMA, FRAME_VALUES, METADATA_COLUMNS, Clip, Rejected, clip_json_schema,
                            validate_clip)
from olympia.spill import BuildCache, ShardJob, Unit, merge_spills, shard_plan
from olympia.skeleton import CHAIN_NAMES, H36M_JOINTS, KINEMATIC_CHAINS, N_JOINTS
from olympia.splits import DEFAULT_RATIOS, SPLITS, assign_splits
from olympia.swap import recover, replacing
from olympia.timebase import FPS



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
    """Validate in-memory items as a store write would (schema, normalized label, unique id):
    (valid clips, rejected items in stream order). Holds every clip: write_store streams."""
    from tqdm import tqdm

    clips, rejected, seen = [], [], {}
    for item in tqdm(items, desc=desc, unit="clip", disable=not progress, file=sys.stderr):
        if not isinstance(item, Rejected):
            try:
                validate_clip(item)
                _check_label_normalized(item)
            except ClipValidationError as exc:
                item = Rejected(item.source, item.provenance.get("source_file") or item.id,
                                getattr(exc, "field", "label"), str(exc), item.id)
        if isinstance(item, Rejected):
            rejected.append(item)
        elif item.id in seen:
            rejected.append(Rejected(item.source, item.provenance.get("source_file") or item.id, "id",
                                     f"duplicate clip id {item.id!r} (first from {seen[item.id]}); ids must "
                                     "be unique", item.id))
        else:
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


# Keypoints are uncompressed, PLAIN and in one data page per row group, so a reader views a
# clip's floats on the mmapped page (olympia.parquet_pages); sensor noise left zstd only ~14%
# of their size (measured on the demo). Everything else is zstd.
PARQUET_OPTIONS = dict(
    compression={name: ("none" if name == "keypoints" else "zstd") for name in CLIP_ARROW_SCHEMA.names},
    use_dictionary=["source", "subject", "camera", "split_group", "split", "label_raw", "label",
                    "pose_estimator", "pose_estimator_version"],
    write_statistics=["id", "source", "split", "n_frames", "reps"],
    data_page_size=1 << 30,        # a page ends with its row group (which ROW_GROUP_MAX_BYTES caps)
    write_page_checksum=True,      # a damaged page is detected on read, not decoded as data
)


def _items_unit(items: Iterable[Clip | Rejected]) -> Iterable[Clip | Rejected]:
    return items


def write_store(
    out_dir: str | Path,
    items: Iterable[Clip | Rejected] = (),
    *,
    units: list[Unit] | None = None,
    engine: Engine | None = None,
    transform: Callable | None = None,
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
    """Validate the clips and write them as a store at `out_dir`, atomically, in bounded memory.

    The clips come from `items` (an iterable, run in this process) or from `units` (work
    units, each run by a worker of `engine`: see olympia.spill); `transform` is applied to
    every item first (picklable, runs in the workers). splits: explicit clip id -> split (e.g.
    official splits); clips it misses fall back to `split_mode` ("group": leak-free by
    split_group, "clip": the paper's random 80/10/10). extras(staging_dir, clips_meta) may add
    files (QA shards, card, plots); they are hashed into info.json with the rest;
    clips_meta (stream order) has attrs["joint_stats"], the streamed keypoint statistics, and
    `staged_clips(staging_dir, ids)` reads clips back from the written shards. With a
    `fingerprint`, a killed build resumes from the units and shards it finished. Returns a
    StoreReport; rejected items are in meta/quarantine.json and the report, never dropped.
    `out_dir` must be absent, empty or a store holding only its own files, unless `force`.
    """
    out_dir = Path(out_dir)
    if units is None:               # an iterable is consumed here, in this process
        units, engine = [Unit("items", _items_unit, (items,))], None
    cache = None
    try:
        with replacing(out_dir, force=force) as staging:
            cache = BuildCache(out_dir, fingerprint)
            spills = cache.spill_units(units, engine, transform, _check_label_normalized, progress)
            table, rejected, joints = merge_spills(spills, units)
            meta = table.select([c for c in METADATA_COLUMNS if c != "split"]).to_pandas()
            meta["reps"] = meta["reps"].astype("Int64")
            assignment = assign_splits(meta, split_mode, seed, ratios) if len(meta) else {}
            if splits:
                assignment.update({k: v for k, v in splits.items() if k in assignment})
            meta.insert(meta.columns.get_loc("split_group") + 1, "split", meta["id"].map(assignment))
            hashes = _write_shards(staging, table, meta["split"].tolist(), shard_max_bytes, engine, cache, progress)
            atomic_write_json(staging / SPLITS_PATH,
                              {"mode": "explicit+" + split_mode if splits else split_mode, "seed": seed,
                               "ratios": list(ratios), "assignment": dict(sorted(assignment.items()))})
            atomic_write_json(staging / QUARANTINE_PATH, [r.__dict__ for r in rejected])
            meta.attrs["joint_stats"] = joints.result()
            extra_info = extras(staging, meta) if extras else {}
            counts = meta["split"].value_counts().reindex(list(SPLITS), fill_value=0)
            info = _info(staging, meta, counts, rejected, extra_info, split_mode, fingerprint, hashes)
            atomic_write_json(staging / INFO_PATH, info)
    except BaseException:
        if cache is not None and not fingerprint:
            cache.remove()          # nothing to resume without a fingerprint: leave no spill files
        raise
    cache.remove()                  # the release is in place: nothing left to resume
    return StoreReport(out_dir, len(meta), {s: int(counts[s]) for s in SPLITS}, rejected,
                       sorted(info["files"]))


def staged_clips(root: Path, ids: list[str]) -> list[Clip]:
    """Clips `ids` (in that order) from the clip shards under `root` (e.g. a staging folder
    before its info.json exists), reading only the row groups whose id range holds them."""
    found: dict[str, Clip] = {}
    for shard in sorted((Path(root) / CLIPS_DIR).glob("*.parquet")):
        table = pq.read_table(shard, filters=[("id", "in", list(ids))])
        kp = table.column("keypoints")
        for i, row in enumerate(table.drop_columns(["keypoints"]).to_pylist()):
            found[row["id"]] = row_to_clip(row, np.array(keypoints_row(kp, i)))
    return [found[i] for i in ids if i in found]


def _write_shards(staging: Path, table: pa.Table, split_of: list[str], shard_max_bytes: int,
                  engine: Engine | None, cache: BuildCache, progress: bool) -> dict[str, str]:
    """Shards of every split (clips sorted by id, capped by bytes), written by the engine's
    workers from the spill files; returns {relative path: sha256}."""
    (staging / CLIPS_DIR).mkdir(parents=True)
    jobs = []
    ids = table.column("id").to_pylist()
    for split in SPLITS:
        members = sorted((i for i, s in enumerate(split_of) if s == split), key=ids.__getitem__)
        rows = table.take(pa.array(members, pa.int64())) if members else table.slice(0, 0)
        plan = shard_plan(rows.column("n_frames").to_pylist(), shard_max_bytes)
        for i, (start, stop) in enumerate(plan):
            rel = clip_shard_path(split, i, len(plan))
            jobs.append((rel, ShardJob("", split, rows.slice(start, stop - start))))
    return cache.write_shards(staging, jobs, engine, progress)


def _info(root: Path, meta: pd.DataFrame, counts, rejected, extra_info, split_mode, fingerprint,
          hashes: dict[str, str]) -> dict:
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == INFO_PATH:
            continue
        files[rel] = {"sha256": hashes.get(rel) or sha256_file(path), "bytes": path.stat().st_size}
    return {
        "codebase": CODEBASE,
        "format_version": FORMAT_VERSION,
        "fps": FPS,
        "joint_names": list(H36M_JOINTS),
        "kinematic_chains": {n: list(c) for n, c in zip(CHAIN_NAMES, KINEMATIC_CHAINS)},
        "axes": "metres, right-handed, z up",
        "clip_schema": clip_json_schema(),
        "clips_path_pattern": f"{CLIPS_DIR}/{SHARD_PATTERN}",
        "row_groups": {"max_clips": ROW_GROUP_MAX_ROWS, "max_keypoint_bytes": ROW_GROUP_MAX_BYTES},
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
    """Read access to a store or release: metadata, random access by id, streaming.

    Reads format 2.0 (typed keypoints, viewed on the mmapped data page without a copy) and
    format 1.0 (keypoints as float32 bytes, viewed on the decoded row group)."""

    def __init__(self, root: str | Path, verify: bool = False, cache_row_groups: int = 4):
        self.root = Path(root)
        recover(self.root)
        self.info = load_info(self.root)
        self._check_files(full=verify)
        self.clip_files = sorted(f for f in self.info["files"] if f.startswith(CLIPS_DIR + "/"))
        self._files: dict[str, pq.ParquetFile] = {}
        self._pages: dict[str, FloatPages] = {}
        self._binary: dict[str, bool] = {}
        self._chunks: dict[tuple[str, int], object] = {}
        self._index: pd.DataFrame | None = None
        self._where: dict[str, tuple[str, int, int, int, int]] | None = None
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
        except (pa.ArrowException, OSError, PageChecksumError) as exc:
            raise StoreIntegrityError(f"{self.root / rel} is damaged ({exc}); run `olympia verify "
                                      f"{self.root}` and rebuild or re-download it") from None

    # -- index and metadata
    def _file(self, rel: str) -> pq.ParquetFile:
        if rel not in self._files:
            with self._reading(rel):
                self._files[rel] = pq.ParquetFile(self.root / rel, memory_map=True,
                                                  page_checksum_verification=True)
        return self._files[rel]

    def _binary_keypoints(self, rel: str) -> bool:
        """Format 1.0 shard: keypoints stored as float32 bytes."""
        if rel not in self._binary:
            self._binary[rel] = pa.types.is_binary(self._file(rel).schema_arrow.field("keypoints").type)
        return self._binary[rel]

    @property
    def index(self) -> pd.DataFrame:
        """id -> (file, row group, row within group, split, n_frames), in storage order."""
        if self._index is None:
            parts = []
            for rel in self.clip_files:
                pf = self._file(rel)
                with self._reading(rel):
                    table = pf.read(columns=["id", "n_frames"])
                sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
                rg = np.repeat(np.arange(len(sizes)), sizes)
                row = np.concatenate([np.arange(n) for n in sizes]) if sizes else np.array([], int)
                parts.append(pd.DataFrame({"id": table.column("id").to_pylist(), "file": rel, "row_group": rg,
                                           "row": row, "split": shard_split(rel),
                                           "n_frames": table.column("n_frames").to_numpy()}))
            self._index = (pd.concat(parts, ignore_index=True) if parts else
                           pd.DataFrame(columns=["id", "file", "row_group", "row", "split", "n_frames"])
                           ).set_index("id")
        return self._index

    @property
    def ids(self) -> list[str]:
        return list(self.index.index)

    def __len__(self) -> int:
        return self.info["counts"]["clips"]

    def files_for(self, split: str | None) -> list[str]:
        return [f for f in self.clip_files if split is None or shard_split(f) == split]

    def metadata(self, columns=None, split: str | None = None) -> pd.DataFrame:
        """Clip metadata without keypoints (only those columns are read), with a `split` column."""
        cols = list(columns or METADATA_COLUMNS)
        cols += [] if "split" in cols else ["split"]
        frames = []
        for rel in self.files_for(split):
            pf = self._file(rel)
            stored = [c for c in cols if c in pf.schema_arrow.names]
            with self._reading(rel):
                df = pf.read(columns=stored).to_pandas()
            if "split" not in stored:                   # format 1.0: the split is in the file name
                df["split"] = shard_split(rel)
            frames.append(df[cols])
        if not frames:
            return pd.DataFrame(columns=cols)
        return pd.concat(frames, ignore_index=True)

    # -- random access
    def _row_group(self, rel: str, rg: int, columns: tuple[str, ...]) -> pa.Table:
        key = (rel, rg, columns)
        table = self._cache.get(key)
        if table is None:
            with self._reading(rel):
                table = self._file(rel).read_row_group(rg, columns=list(columns), use_threads=False)
            self._cache[key] = table
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return table

    def _locate(self, clip_id: str) -> tuple[str, int, int, int, int]:
        """(file, row group, row, first float of the clip in its row group, n_frames)."""
        if self._where is None:
            idx = self.index
            frames = idx["n_frames"].to_numpy(np.int64)
            groups = idx["file"].astype(str) + "#" + idx["row_group"].astype(str)
            ends = pd.Series(frames * FRAME_VALUES).groupby(groups.to_numpy(), sort=False).cumsum().to_numpy()
            starts = ends - frames * FRAME_VALUES
            self._where = dict(zip(idx.index, zip(idx["file"], idx["row_group"].astype(int).tolist(),
                                                  idx["row"].astype(int).tolist(), starts.tolist(),
                                                  frames.tolist())))
        try:
            return self._where[clip_id]
        except KeyError:
            raise KeyError(f"no clip {clip_id!r} in {self.root}") from None

    def _page_view(self, rel: str, rg: int, start: int, n_frames: int) -> np.ndarray | None:
        """The clip's floats viewed on the mmapped page, or None outside the page layout."""
        chunk = self._chunks.get((rel, rg))
        if chunk is None:
            pf = self._file(rel)
            chunk = self._chunks[(rel, rg)] = pf.metadata.row_group(rg).column(
                pf.schema_arrow.get_field_index("keypoints"))
        if rel not in self._pages:
            self._pages[rel] = FloatPages(self.root / rel)
        try:
            with self._reading(rel):
                return self._pages[rel].view(chunk, start, n_frames * FRAME_VALUES).reshape(n_frames, N_JOINTS, 3)
        except PageFormatError:
            return None

    def keypoints(self, clip_id: str) -> np.ndarray:
        """(T, 17, 3) float32, read-only, zero-copy: a view on the mmapped Parquet page (format
        2.0) or on the decoded Arrow buffer (format 1.0, or a page outside the usual layout)."""
        rel, rg, row, start, n_frames = self._locate(clip_id)
        if not self._binary_keypoints(rel):
            view = self._page_view(rel, rg, start, n_frames)
            if view is not None:
                return view
        table = self._row_group(rel, rg, ("keypoints",))
        return keypoints_row(table.column("keypoints"), row)

    def get(self, clip_id: str) -> Clip:
        rel, rg, row, _, _ = self._locate(clip_id)
        table = self._row_group(rel, rg, self._row_columns(rel))
        return row_to_clip(table.slice(row, 1).to_pylist()[0], self.keypoints(clip_id), shard_split(rel))

    def _row_columns(self, rel: str) -> tuple[str, ...]:
        return tuple(n for n in self._file(rel).schema_arrow.names if n != "keypoints")

    def iter_clips(self, split: str | None = None, batch_rows: int = 64) -> Iterator[Clip]:
        """Stream clips shard by shard, one row group's metadata in memory at a time (keypoints
        are views on the mapped pages); `batch_rows` is kept for callers of format 1.0 days."""
        for rel in self.files_for(split):
            pf = self._file(rel)
            columns = list(self._row_columns(rel)) + (["keypoints"] if self._binary_keypoints(rel) else [])
            for rg in range(pf.num_row_groups):
                with self._reading(rel):
                    table = pf.read_row_group(rg, columns=columns, use_threads=False)
                rows = table.drop_columns([c for c in ("keypoints",) if c in table.column_names]).to_pylist()
                start = 0
                for i, row in enumerate(rows):
                    kp = (keypoints_row(table.column("keypoints"), i) if "keypoints" in columns else
                          self._page_view(rel, rg, start, row["n_frames"]))
                    if kp is None:
                        kp = keypoints_row(self._row_group(rel, rg, ("keypoints",)).column("keypoints"), i)
                    start += row["n_frames"] * FRAME_VALUES
                    yield row_to_clip(row, kp, shard_split(rel))


def keypoints_row(column: pa.ChunkedArray, row: int) -> np.ndarray:
    """Row `row` of a keypoints column (typed or format 1.0 bytes) as a read-only (T, 17, 3)
    float32 view on the Arrow buffer (no copy)."""
    for chunk in column.chunks:
        if row < len(chunk):
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1,
                                    offset=chunk.offset * 4)
            if pa.types.is_binary(chunk.type):
                data, start, stop = chunk.buffers()[2], offsets[row] // 4, offsets[row + 1] // 4
            else:                    # list<fixed_size_list<float32, 51>>: frames -> floats
                frames = chunk.values
                data = frames.values.buffers()[1]
                start = (offsets[row] + frames.offset) * FRAME_VALUES + frames.values.offset
                stop = start + (offsets[row + 1] - offsets[row]) * FRAME_VALUES
            view = np.frombuffer(data, dtype="<f4", count=int(stop - start),
                                 offset=int(start) * 4).reshape(-1, N_JOINTS, 3)
            view.flags.writeable = False  # shared with the row-group cache: copy before editing
            return view
        row -= len(chunk)
    raise IndexError(row)


binary_row_as_array = keypoints_row   # the format 1.0 name


def row_to_clip(row: dict, keypoints: np.ndarray, split: str | None = None) -> Clip:
    """A Clip from a row's metadata columns and its (T, 17, 3) keypoints."""
    conf = row.get("frame_confidence")
    return Clip(
        id=row["id"], source=row["source"], subject=row["subject"], camera=row["camera"],
        split_group=row["split_group"], label_raw=row["label_raw"], label=row["label"],
        reps=row["reps"], rep_bounds=row["rep_bounds"] or [], fps=row["fps"],
        source_fps=row["source_fps"], keypoints=keypoints,
        frame_confidence=None if conf is None else np.asarray(conf, np.float32),
        pose_estimator=row["pose_estimator"], pose_estimator_version=row["pose_estimator_version"],
        provenance=row["provenance"], gap_filled_fraction=row["gap_filled_fraction"],
        extra=json.loads(row["extra"] or "{}"), split=row.get("split") or split,
    )
