"""Keypoint column candidates, measured on the same demo clips (issue #15 item 1).

Not part of `make bench` (a one-off design measurement, kept so the choice can be re-checked):

    PYTHONPATH=$PWD .venv/bin/python benchmarks/measure_keypoint_format.py [n_clips]

For each candidate Arrow type of `keypoints` the same clips are written with the store's
Parquet options (row groups of 2 clips, keypoints uncompressed, page checksums), then:
random access + zero-copy view + padded motion image (what bench_core measures; the
candidates take turns, best window of each), the shard's size, a full scan, and what
Hugging Face `datasets` (with_format numpy / torch), polars and DuckDB make of the column.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from olympia.demo import DemoConfig, generate_demo
from olympia.motion_image import padded_motion_image
from olympia.parquet_pages import FloatPages

N_JOINTS = 17
F32 = pa.float32()

def required_list(value_type: pa.DataType, size: int = -1) -> pa.DataType:
    """A list whose items are declared non-null (no Parquet definition level per float)."""
    return pa.list_(pa.field("item", value_type, nullable=False), size)


CANDIDATES = {
    "binary (format 1.0)": pa.binary(),
    "list<float32> (flat)": required_list(F32),
    "list<fixed_size_list<float32, 51>>": pa.list_(pa.list_(F32, 51)),
    "same, items non-null": required_list(required_list(F32, 51)),
    "list<fixed_size_list<fixed_size_list<float32, 3>, 17>>": pa.list_(pa.list_(pa.list_(F32, 3), 17)),
    "same, items non-null ": required_list(required_list(required_list(F32, 3), 17)),
    "list<fixed_shape_tensor(float32, [17, 3])>": pa.list_(pa.fixed_shape_tensor(F32, [17, 3])),
}


def column(kps: list[np.ndarray], t: pa.DataType) -> pa.Array:
    if t == pa.binary():
        return pa.array([k.tobytes() for k in kps], pa.binary())
    flat = pa.array(np.concatenate([k.reshape(-1) for k in kps]), F32)
    offsets = pa.array(np.concatenate([[0], np.cumsum([len(k) for k in kps])]).astype(np.int32))
    value_type = t.value_type
    if pa.types.is_floating(value_type):
        return pa.ListArray.from_arrays(offsets * 51, flat, type=t)
    if isinstance(value_type, pa.FixedShapeTensorType):
        frames = pa.ExtensionArray.from_storage(value_type, pa.FixedSizeListArray.from_arrays(flat, 51))
    elif pa.types.is_fixed_size_list(value_type.value_type):
        joints = pa.FixedSizeListArray.from_arrays(flat, type=value_type.value_type)
        frames = pa.FixedSizeListArray.from_arrays(joints, type=value_type)
    else:
        frames = pa.FixedSizeListArray.from_arrays(flat, type=value_type)
    return pa.ListArray.from_arrays(offsets, frames, type=t)


def view(chunk: pa.Array, row: int, t: pa.DataType) -> np.ndarray:
    """Row `row` as a (T, 17, 3) float32 numpy view on the Arrow buffers (no copy)."""
    offsets = np.frombuffer(chunk.buffers()[1], np.int32, len(chunk) + 1, chunk.offset * 4)
    if t == pa.binary():
        return np.frombuffer(chunk.buffers()[2], "<f4", (offsets[row + 1] - offsets[row]) // 4,
                             int(offsets[row])).reshape(-1, N_JOINTS, 3)
    start, stop, values = int(offsets[row]), int(offsets[row + 1]), chunk.values
    if pa.types.is_floating(values.type):
        return np.frombuffer(values.buffers()[1], np.float32, stop - start,
                             (values.offset + start) * 4).reshape(-1, N_JOINTS, 3)
    while not pa.types.is_floating(values.type):          # down through the fixed-size lists
        storage = values.storage if isinstance(values, pa.ExtensionArray) else values
        size = storage.type.list_size
        start, stop = (start + storage.offset) * size, (stop + storage.offset) * size
        values = storage.values
    return np.frombuffer(values.buffers()[1], np.float32, stop - start,
                         (values.offset + start) * 4).reshape(-1, N_JOINTS, 3)


def write(path: Path, ids, kps, t: pa.DataType) -> None:
    table = pa.table({"id": pa.array(ids), "n_frames": pa.array([len(k) for k in kps], pa.int32()),
                      "keypoints": column(kps, t)})
    pq.write_table(table, path, row_group_size=2, data_page_size=64 << 20, compression={"id": "zstd", "n_frames": "zstd",
                                                              "keypoints": "none"},
                   use_dictionary=["id"], write_statistics=["id", "n_frames"], write_page_checksum=True)


def page_reader(path: Path, n_frames: list[int]):
    """Olympia's read of a typed column: floats viewed straight on the mmapped data page."""
    pf = pq.ParquetFile(path)
    pages = FloatPages(path)
    n_rg = pf.num_row_groups
    buf = np.zeros((384, 640, 3), np.float32)
    rng = np.random.default_rng(0)
    state = {"width": 0}

    def one():
        rg = int(rng.integers(n_rg))
        meta = pf.metadata.row_group(rg)
        floats = [n * 51 for n in n_frames[2 * rg: 2 * rg + meta.num_rows]]
        row = int(rng.integers(meta.num_rows))
        kp = pages.rows(meta.column(2), floats, row).reshape(-1, N_JOINTS, 3)
        _, mask, _ = padded_motion_image(kp, out=buf, zeroed_from=state["width"])
        state["width"] = int(mask[0].sum())
    return one


def reader(path: Path, t: pa.DataType):
    pf = pq.ParquetFile(path, memory_map=True, page_checksum_verification=True)
    n_rg = pf.num_row_groups
    buf = np.zeros((384, 640, 3), np.float32)
    rng = np.random.default_rng(0)
    state = {"width": 0}

    def one():
        rg = int(rng.integers(n_rg))
        chunk = pf.read_row_group(rg, columns=["keypoints"]).column(0).chunks[0]
        kp = view(chunk, int(rng.integers(len(chunk))), t)
        _, mask, _ = padded_motion_image(kp, out=buf, zeroed_from=state["width"])
        state["width"] = int(mask[0].sum())
    return one


def best_rate(fns: dict, rounds: int = 7, window: float = 0.4) -> dict:
    """Calls per CPU-second of each fn (process time, so the figure is the work's cost, not
    the share of a loaded machine it got): candidates take turns window by window, best
    window per candidate."""
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            n, t0 = 0, time.process_time()
            while time.process_time() - t0 < window:
                fn()
                n += 1
            best[name] = max(best[name], n / (time.process_time() - t0))
    return best


def hf_check(folder: Path) -> str:
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.load_dataset("parquet", data_files=str(folder / "*.parquet"), split="train",
                               cache_dir=str(folder / "hf-cache"))
    out = []
    for fmt in ("numpy", "torch"):
        kp = ds.with_format(fmt, columns=["keypoints"])[0]["keypoints"]
        out.append(f"{fmt}: {type(kp).__name__} {tuple(getattr(kp, 'shape', ()))} {getattr(kp, 'dtype', '')}")
    return f"feature {ds.features['keypoints']}; " + "; ".join(out)


def polars_check(path: Path) -> str:
    import polars as pl

    return str(pl.read_parquet(path, columns=["keypoints"]).schema["keypoints"])


def duckdb_check(path: Path) -> str:
    import duckdb

    return duckdb.sql(f"DESCRIBE SELECT keypoints FROM '{path}'").fetchall()[0][1]


def main(n_clips: int = 1000) -> None:
    clips = list(generate_demo(DemoConfig(n_clips=n_clips, clips_per_subject=10)))
    ids, kps = [c.id for c in clips], [c.keypoints for c in clips]
    raw = sum(k.nbytes for k in kps)
    tmp = Path(tempfile.mkdtemp(prefix="olympia-format-"))
    try:
        paths, write_s = {}, {}
        for i, (name, t) in enumerate(CANDIDATES.items()):
            (tmp / str(i)).mkdir()
            paths[name] = tmp / str(i) / "train-00000-of-00001.parquet"
            t0 = time.perf_counter()
            write(paths[name], ids, kps, t)
            write_s[name] = time.perf_counter() - t0
            first = pq.read_table(paths[name]).column("keypoints").chunks[0]
            np.testing.assert_array_equal(view(first, 0, t), kps[0])
            assert np.shares_memory(view(first, 0, t), np.frombuffer(first.buffers()[-1], np.uint8))
        readers = {name: reader(paths[name], t) for name, t in CANDIDATES.items()}
        n_frames = [len(k) for k in kps]
        direct = {name: page_reader(paths[name], n_frames) for name, t in CANDIDATES.items()
                  if t != pa.binary() and "tensor" not in name}
        rates = best_rate({**readers, **{("pages", k): v for k, v in direct.items()}})
        print(f"{n_clips} demo clips, {sum(len(k) for k in kps):,} frames, raw keypoints {raw / 1e6:.1f} MB")
        print("| keypoints type | random access + padded image, Arrow decode (clips per CPU-s) | "
              "same, zero-copy page view | file MB | write s | full scan s | HF datasets | polars | DuckDB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, t in CANDIDATES.items():
            t0 = time.perf_counter()
            pq.read_table(paths[name], columns=["keypoints"])
            scan = time.perf_counter() - t0
            checks = []
            for check in (hf_check, polars_check, duckdb_check):
                try:
                    checks.append(check(paths[name].parent if check is hf_check else paths[name]))
                except Exception as exc:  # noqa: BLE001 - a candidate a reader cannot load
                    checks.append(f"fails: {type(exc).__name__}: {str(exc)[:120]}")
            page = f"{rates[('pages', name)]:,.0f}" if ("pages", name) in rates else "n/a"
            print(f"| `{name}` | {rates[name]:,.0f} | {page} | {paths[name].stat().st_size / 1e6:.2f} | "
                  f"{write_s[name]:.2f} | {scan:.3f} | " + " | ".join(checks) + " |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
