"""Clips on their way to shards, in bounded memory on any engine.

A store is written in two passes so that no process ever holds the whole corpus:

1. Each work `Unit` (a chunk of demo clips, a source, a clip store) runs in a worker of any
   engine (`spill_unit`): its clips are validated as they come, their keypoints (and frame
   confidence) appended as raw float32 to the unit's spill file, and the unit returns its
   `UnitSpill`: the metadata rows (Arrow), each clip's place in the spill file, the rejected
   items with their stream positions, and partial joint statistics.
2. The driver merges the units in input order (duplicates quarantined as before), assigns the
   splits from the metadata alone, and shard writers (`write_spilled_shard`, again on any
   engine) read each shard's clips back from the spill files with pread, one row group at a
   time, and return the shard's sha256.

Spill files and finished shards live in a build cache beside the output (see store.py): a
killed run resumes from the units and shards that finished.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from olympia.engine import Engine, ItemFailure, map_items
from olympia.errors import ClipValidationError, OlympiaError
from olympia.io import atomic_path, atomic_write_bytes, atomic_write_text
from olympia.layout import ROW_GROUP_MAX_BYTES, ROW_GROUP_MAX_ROWS
from olympia.schema import (CLIP_ARROW_SCHEMA, FRAME_VALUES, METADATA_COLUMNS, Clip, Rejected, keypoints_column,
                            validate_clip)
from olympia.skeleton import H36M_JOINTS, N_JOINTS

BYTES_PER_FRAME = FRAME_VALUES * 4
UNIT_COLUMNS = [f for f in METADATA_COLUMNS if f != "split"]   # the split is assigned later
SPILL_SCHEMA = pa.schema([CLIP_ARROW_SCHEMA.field(n) for n in UNIT_COLUMNS]
                         + [pa.field("spill_offset", pa.int64()), pa.field("confidence_offset", pa.int64())])


@dataclass(frozen=True)
class Unit:
    """A piece of the input one worker turns into clips: `produce(*args)` yields Clip | Rejected.
    `produce` must be a picklable top-level function (it may run in another process or node)."""

    key: str                                     # stable and unique within a build (cache key part)
    produce: Callable[..., Iterable[Clip | Rejected]]
    args: tuple = ()
    source: str = ""                             # named in the quarantine if the whole unit fails


class JointStats:
    """Streaming per-joint mean/std of positions (absolute and root-relative), in float64;
    partial sums of units merge by addition (in input order: same bytes on any engine)."""

    def __init__(self):
        self.n = 0
        self.sum = np.zeros((2, N_JOINTS, 3))
        self.sq = np.zeros((2, N_JOINTS, 3))

    def add(self, kp: np.ndarray) -> None:
        kp = kp.astype(np.float64)
        rel = kp - kp[:, :1]
        for k, x in enumerate((kp, rel)):
            self.sum[k] += x.sum(0)
            self.sq[k] += (x * x).sum(0)
        self.n += len(kp)

    def merge(self, other: "JointStats", sign: int = 1) -> None:
        self.n += sign * other.n
        self.sum += sign * other.sum
        self.sq += sign * other.sq

    def result(self) -> dict:
        mean = self.sum / max(self.n, 1)
        std = np.sqrt(np.maximum(self.sq / max(self.n, 1) - mean**2, 0))
        r = lambda a: np.round(a, 6).tolist()  # noqa: E731
        return {"frames": self.n, "joints": list(H36M_JOINTS),
                "mean": r(mean[0]), "std": r(std[0]), "root_relative_mean": r(mean[1]),
                "root_relative_std": r(std[1])}


@dataclass
class UnitSpill:
    """What a unit leaves: its spill file, its valid clips' metadata, and its rejections."""

    path: str                                    # the spill file (raw float32)
    meta: pa.Table                               # SPILL_SCHEMA rows, in stream order
    rejected: list[tuple[int, Rejected]] = field(default_factory=list)  # (items before it, item)
    joints: JointStats = field(default_factory=JointStats)
    items: int = 0                               # items the unit produced (clips + rejected)


@dataclass(frozen=True)
class SpillJob:
    unit: Unit
    path: str                                    # where the unit's spill file goes
    transform: Callable | None = None            # per item, before validation (release rules)
    check: Callable | None = None                # per valid clip, may raise ClipValidationError


def spill_unit(job: SpillJob) -> UnitSpill:
    """Run one unit: validate its clips, spill their arrays, return the metadata (pure apart
    from the spill file, written atomically: a killed worker leaves no half file)."""
    rows, rejected, joints, items = [], [], JointStats(), 0
    with atomic_path(job.path) as tmp, open(tmp, "wb") as out:
        for item in job.unit.produce(*job.unit.args):
            if job.transform is not None:
                item = job.transform(item)
            items += 1
            if isinstance(item, Rejected):
                rejected.append((items - 1, item))
                continue
            try:
                validate_clip(item)
                if job.check is not None:
                    job.check(item)
            except ClipValidationError as exc:
                rejected.append((items - 1, Rejected(item.source, item.provenance.get("source_file") or item.id,
                                                     getattr(exc, "field", "label"), str(exc), item.id)))
                continue
            row = item.to_row()
            row["spill_offset"] = out.tell()
            out.write(np.ascontiguousarray(item.keypoints, "<f4").tobytes())
            row["confidence_offset"] = -1
            if item.frame_confidence is not None:
                row["confidence_offset"] = out.tell()
                out.write(np.ascontiguousarray(item.frame_confidence, "<f4").tobytes())
            rows.append((items - 1, row))
            joints.add(item.keypoints)
        out.flush()
        os.fsync(out.fileno())
    meta = pa.Table.from_pylist([r for _, r in rows], schema=SPILL_SCHEMA)
    meta = meta.append_column("position", pa.array([p for p, _ in rows], pa.int64()))
    return UnitSpill(job.path, meta, rejected, joints, items)


@dataclass(frozen=True)
class ShardJob:
    path: str                                    # where the shard goes
    split: str
    rows: pa.Table                               # UNIT_COLUMNS + spill_path/offsets, in shard order


def _read_floats(fd: int, offset: int, count: int) -> np.ndarray:
    data = os.pread(fd, count * 4, offset)
    if len(data) != count * 4:
        raise OSError(f"spill file is short at byte {offset}: rebuild (the cache is removed after each build)")
    return np.frombuffer(data, "<f4")


def write_spilled_shard(job: ShardJob) -> str:
    """Write one clip shard from the spill files, one row group in memory at a time; returns its
    sha256. Deterministic: the same rows give the same bytes in any process."""
    from olympia.store import PARQUET_OPTIONS   # the shard's writer settings live with the store

    fds: dict[str, int] = {}
    try:
        with atomic_path(job.path) as tmp, pq.ParquetWriter(tmp, CLIP_ARROW_SCHEMA, **PARQUET_OPTIONS) as writer:
            for start, stop in row_groups(job.rows.column("n_frames").to_pylist()):
                writer.write_table(_row_group_table(job, start, stop, fds), row_group_size=stop - start)
    finally:
        for fd in fds.values():
            os.close(fd)
    h = hashlib.sha256()
    with open(job.path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _row_group_table(job: ShardJob, start: int, stop: int, fds: dict[str, int]) -> pa.Table:
    rows = job.rows.slice(start, stop - start)
    kps, confs = [], []
    for path, kp_at, conf_at, n in zip(rows.column("spill_path").to_pylist(), rows.column("spill_offset").to_pylist(),
                                       rows.column("confidence_offset").to_pylist(), rows.column("n_frames").to_pylist()):
        if path not in fds:
            fds[path] = os.open(path, os.O_RDONLY)
        kps.append(_read_floats(fds[path], kp_at, n * FRAME_VALUES).reshape(n, N_JOINTS, 3))
        confs.append(None if conf_at < 0 else _read_floats(fds[path], conf_at, n))
    columns = {n: rows.column(n) for n in UNIT_COLUMNS}
    columns["split"] = pa.array([job.split] * len(rows), pa.string())
    columns["keypoints"] = keypoints_column(kps)
    columns["frame_confidence"] = pa.array(confs, CLIP_ARROW_SCHEMA.field("frame_confidence").type)
    return pa.Table.from_arrays([columns[n] for n in CLIP_ARROW_SCHEMA.names], schema=CLIP_ARROW_SCHEMA)


def row_groups(n_frames: list[int], max_rows: int = ROW_GROUP_MAX_ROWS,
               max_bytes: int = ROW_GROUP_MAX_BYTES) -> list[tuple[int, int]]:
    """[start, stop) of consecutive clips per row group: at most `max_rows` clips and
    `max_bytes` of raw keypoints (a larger clip gets a group of its own)."""
    out, start, size = [], 0, 0
    for i, n in enumerate(n_frames):
        nbytes = n * BYTES_PER_FRAME
        if i > start and (size + nbytes > max_bytes or i - start == max_rows):
            out.append((start, i))
            start, size = i, 0
        size += nbytes
    if start < len(n_frames):
        out.append((start, len(n_frames)))
    return out


def shard_plan(n_frames: list[int], max_bytes: int) -> list[tuple[int, int]]:
    """[start, stop) of consecutive clips per shard, at most `max_bytes` of raw keypoints each."""
    return row_groups(n_frames, max_rows=len(n_frames) + 1, max_bytes=max_bytes)


def read_spilled(path: str | Path, offset: int, n_frames: int) -> np.ndarray:
    """One clip's (T, 17, 3) keypoints from a spill file (for the release's example plots)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return _read_floats(fd, offset, n_frames * FRAME_VALUES).reshape(n_frames, N_JOINTS, 3)
    finally:
        os.close(fd)


def merge_spills(spills: list, units: list[Unit]) -> tuple[pa.Table, list[Rejected], JointStats]:
    """The units' clips in input order as one table (SPILL_SCHEMA + spill_path), every rejected
    item in stream order (a repeated id quarantined as a duplicate, its frames taken out of the
    joint statistics), and the statistics of the clips kept."""
    tables, rejected, joints, seen = [], [], JointStats(), {}
    for unit, spill in zip(units, spills):
        if isinstance(spill, ItemFailure):
            rejected.append(Rejected(unit.source or unit.key, unit.key, "",
                                     f"work unit {unit.key} failed ({spill.error}); its clips are missing: "
                                     "fix the input and build again (finished units are kept)"))
            continue
        joints.merge(spill.joints)
        meta = spill.meta
        ids, positions = meta.column("id").to_pylist(), meta.column("position").to_pylist()
        events = sorted([(p, 0, i) for i, p in enumerate(positions)] + [(p, 1, k) for k, (p, _) in enumerate(spill.rejected)])
        keep = []
        for _, is_rejected, k in events:
            if is_rejected:
                rejected.append(spill.rejected[k][1])
                continue
            where = meta.column("provenance")[k].as_py()["source_file"] or ids[k]
            if ids[k] in seen:
                rejected.append(Rejected(meta.column("source")[k].as_py(), where, "id",
                                         f"duplicate clip id {ids[k]!r} (first from {seen[ids[k]]}); "
                                         "ids must be unique", ids[k]))
                dup = JointStats()
                dup.add(read_spilled(spill.path, meta.column("spill_offset")[k].as_py(),
                                     meta.column("n_frames")[k].as_py()))
                joints.merge(dup, sign=-1)
                continue
            seen[ids[k]] = meta.column("provenance")[k].as_py()["source_file"] or meta.column("source")[k].as_py()
            keep.append(k)
        kept = meta.take(pa.array(keep, pa.int64())).drop_columns(["position"])
        tables.append(kept.append_column("spill_path", pa.array([spill.path] * len(keep), pa.string())))
    schema = SPILL_SCHEMA.append(pa.field("spill_path", pa.string()))
    return (pa.concat_tables(tables) if tables else schema.empty_table()), rejected, joints


class BuildCache:
    """Spill files and finished shards of one store build, in `.NAME.build/` beside the output.

    With a fingerprint (a hash of code and inputs, as recipe builds have), what a killed build
    finished is reused by the next one: a unit's spill and a shard are keyed by the fingerprint
    and what they hold. Without one, or when the fingerprint changed, it starts empty. The
    writer holds the output's lock (olympia.swap) while it uses the cache; it is removed once
    the new output is in place. On a cluster this folder must be on storage every node sees."""

    def __init__(self, target: Path, fingerprint: str | None):
        # absolute: workers of another engine may run in another folder
        self.dir = Path(os.path.abspath(target)).parent / f".{Path(target).name}.build"
        marker = self.dir / "fingerprint"
        if not fingerprint or not marker.is_file() or marker.read_text() != fingerprint:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fingerprint = fingerprint or secrets.token_hex(16)   # no fingerprint: nothing to reuse
        if fingerprint:
            atomic_write_text(marker, fingerprint)

    def key(self, *parts) -> str:
        return hashlib.sha256(json.dumps([self.fingerprint, *parts]).encode()).hexdigest()[:32]

    def spill_units(self, units: list[Unit], engine: Engine | None, transform, check,
                    progress: bool) -> list[UnitSpill | ItemFailure]:
        """Every unit's UnitSpill (or ItemFailure), in input order; finished ones are reused."""
        results: list = [None] * len(units)
        todo = []
        for i, unit in enumerate(units):
            key = self.key("unit", unit.key)
            done = self.dir / f"unit-{key}.pickle"
            if done.is_file():
                results[i] = pickle.loads(done.read_bytes())
            else:
                todo.append((i, done, SpillJob(unit, str(self.dir / f"unit-{key}.f32"), transform, check)))
        outcomes = map_items(spill_unit, [job for *_, job in todo], engine, progress=progress,
                             desc="clips (work units)")
        for (i, done, _), outcome in zip(todo, outcomes):
            if isinstance(outcome, UnitSpill):
                atomic_write_bytes(done, pickle.dumps(outcome))
            results[i] = outcome
        return results

    def write_shards(self, staging: Path, jobs: list[tuple[str, ShardJob]], engine: Engine | None,
                     progress: bool) -> dict[str, str]:
        """Write the shards not written yet (in the cache), link all into `staging`; returns
        {relative path: sha256}. A shard that cannot be written fails the build."""
        hashes, todo = {}, []
        cached = {}
        for rel, job in jobs:
            path = self.dir / f"shard-{self.key('shard', rel, job.rows.column('id').to_pylist())}.parquet"
            cached[rel] = path
            sha = path.with_suffix(".sha256")
            if path.is_file() and sha.is_file():
                hashes[rel] = sha.read_text()
            else:
                todo.append((rel, replace(job, path=str(path))))
        outcomes = map_items(write_spilled_shard, [job for _, job in todo], engine, progress=progress,
                             desc="writing shards")
        for (rel, job), outcome in zip(todo, outcomes):
            if isinstance(outcome, ItemFailure):
                raise OlympiaError(f"writing shard {rel} failed: {outcome.error}; the shards already "
                                   "written are kept and the next build resumes from them")
            atomic_write_text(Path(job.path).with_suffix(".sha256"), outcome)
            hashes[rel] = outcome
        for rel, _ in jobs:
            dest = staging / rel
            try:
                os.link(cached[rel], dest)          # no second copy of the bytes
            except OSError:
                shutil.copyfile(cached[rel], dest)
            os.chmod(dest, os.stat(cached[rel]).st_mode & 0o777)
        return hashes

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
