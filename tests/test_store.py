"""Parquet keypoint store: round trip, random access, projection, integrity, atomicity."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import make_clip
from olympia.errors import StoreIntegrityError
from olympia.io import sha256_file
from olympia.schema import METADATA_COLUMNS, Rejected
from olympia.layout import ROW_GROUP_MAX_BYTES, ROW_GROUP_MAX_ROWS
from olympia.segment import min_rep_frames
from olympia.store import ClipStore, write_store


def test_round_trip_random_access_and_streaming(tmp_path):
    clips = [make_clip(i, n_frames=10 + i) for i in range(12)]
    report = write_store(tmp_path / "s", clips, progress=False)
    assert report.n_clips == 12 and not report.rejected
    store = ClipStore(tmp_path / "s")
    assert sorted(store.ids) == sorted(c.id for c in clips)
    for c in clips:
        got = store.get(c.id)
        np.testing.assert_array_equal(got.keypoints, c.keypoints)
        np.testing.assert_array_equal(got.rep_bounds, c.rep_bounds)
        assert (got.label, got.reps, got.subject, got.provenance) == (c.label, c.reps, c.subject, c.provenance)
        np.testing.assert_array_equal(store.keypoints(c.id), c.keypoints)
    streamed = {c.id: c for c in store.iter_clips()}
    assert set(streamed) == {c.id for c in clips}
    np.testing.assert_array_equal(streamed[clips[3].id].keypoints, clips[3].keypoints)


def test_keypoints_are_zero_copy_views(tmp_path):
    write_store(tmp_path / "s", [make_clip(0)], progress=False)
    kp = ClipStore(tmp_path / "s").keypoints("test:c0000")
    assert kp.dtype == np.float32 and kp.shape == (20, 17, 3)
    assert not kp.flags.owndata and not kp.flags.writeable  # a view on the Arrow buffer


def test_keypoint_views_share_the_mapped_page_no_copy_per_read(tmp_path):
    write_store(tmp_path / "s", [make_clip(i, n_frames=30 + i) for i in range(6)], progress=False)
    store = ClipStore(tmp_path / "s")
    a, b = store.keypoints("test:c0003"), ClipStore(tmp_path / "s").keypoints("test:c0003")
    np.testing.assert_array_equal(a, make_clip(3, n_frames=33).keypoints)
    assert np.shares_memory(a, store.keypoints("test:c0003"))     # the same bytes, read twice
    assert not np.shares_memory(a, b)                              # another store: its own map
    neighbour = store.keypoints("test:c0004")                       # same row group, next floats
    assert neighbour.__array_interface__["data"][0] - a.__array_interface__["data"][0] == 33 * 204


def test_keypoints_column_is_typed_for_any_parquet_reader(tmp_path):
    """pyarrow and pandas see (n_frames, 51) float32 arrays and the split column, no bytes."""
    clips = [make_clip(i, n_frames=10 + i) for i in range(4)]
    write_store(tmp_path / "s", clips, progress=False)
    by_id = {c.id: c for c in clips}
    for shard in (tmp_path / "s/data/clips").glob("*.parquet"):
        table = pq.read_table(shard)
        frames = table.schema.field("keypoints").type                # list<fixed_size_list<float32, 51>>
        assert pa.types.is_list(frames) and pa.types.is_fixed_size_list(frames.value_type)
        assert frames.value_type.list_size == 51 and frames.value_type.value_type == pa.float32()
        df = table.to_pandas()
        assert (df["split"] == shard.name.split("-")[0]).all()
        for row in df.itertuples():
            frames = np.stack(row.keypoints)
            assert frames.shape == (row.n_frames, 51) and frames.dtype == np.float32
            np.testing.assert_array_equal(frames.reshape(-1, 17, 3), by_id[row.id].keypoints)


def test_row_groups_are_capped_by_clips_and_by_keypoint_bytes(tmp_path):
    # 300 clips of 10 frames (2,040 B each; 256 of them 522,240 B): the 256-clip cap, 256 + 44.
    # 70 clips of 100 frames (20,400 B): 1 MiB / 20,400 B = 51.4, so 51 + 19.
    # 2 clips of 3,000 frames (612,000 B each): one per group.
    write_store(tmp_path / "a", [make_clip(i, n_frames=10, subject="x") for i in range(300)], progress=False)
    write_store(tmp_path / "c", [make_clip(i, n_frames=100, subject="x") for i in range(70)], progress=False)
    write_store(tmp_path / "b", [make_clip(i, n_frames=3000, reps=None, subject="x") for i in range(2)],
                progress=False)
    for name, expected in (("a", [ROW_GROUP_MAX_ROWS, 44]), ("c", [51, 19]), ("b", [1, 1])):
        [shard] = (tmp_path / name / "data/clips").glob("*.parquet")
        md = pq.ParquetFile(shard).metadata
        assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == expected
    assert 2 * 3000 * 204 > ROW_GROUP_MAX_BYTES >= 3000 * 204
    store = ClipStore(tmp_path / "a")
    np.testing.assert_array_equal(store.keypoints("test:c0299"), make_clip(299, n_frames=10).keypoints)


def write_format_1_store(out, clips):
    """A store exactly as format 1.0 wrote it: keypoints as float32 bytes, no split column, row
    groups of 2 clips, the split in the shard name, info.json listing every file."""
    from olympia.io import atomic_write_json
    from olympia.schema import CLIP_ARROW_SCHEMA

    schema = pa.schema([pa.field("keypoints", pa.binary(), nullable=False) if f.name == "keypoints" else f
                        for f in CLIP_ARROW_SCHEMA if f.name != "split"], metadata={b"olympia_format_version": b"1.0"})
    rows = [{**c.to_row(), "keypoints": c.keypoints.astype("<f4").tobytes(),
             "frame_confidence": c.frame_confidence} for c in sorted(clips, key=lambda c: c.id)]
    (out / "data/clips").mkdir(parents=True)
    (out / "meta").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / "data/clips/train-00000-of-00001.parquet",
                   row_group_size=2, compression="zstd", write_page_checksum=True)
    atomic_write_json(out / "meta/splits.json", {"mode": "group", "assignment": {c.id: "train" for c in clips}})
    files = {p.relative_to(out).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in sorted(out.rglob("*")) if p.is_file()}
    atomic_write_json(out / "meta/info.json", {"codebase": "olympia", "format_version": "1.0", "fps": 25.0,
                                               "counts": {"clips": len(clips)}, "files": files})


def test_format_1_0_stores_are_still_read(tmp_path):
    clips = [make_clip(i, n_frames=12 + i) for i in range(5)]
    clips[2].frame_confidence = np.linspace(0, 1, clips[2].n_frames, dtype=np.float32)
    write_format_1_store(tmp_path / "old", clips)
    store = ClipStore(tmp_path / "old", verify=True)
    assert store.ids == sorted(c.id for c in clips)
    for c in clips:
        kp = store.keypoints(c.id)
        np.testing.assert_array_equal(kp, c.keypoints)
        assert not kp.flags.owndata and not kp.flags.writeable            # a view on the Arrow buffer
        got = store.get(c.id)
        assert (got.split, got.reps, got.label) == ("train", c.reps, c.label)
    np.testing.assert_array_equal(store.get(clips[2].id).frame_confidence, clips[2].frame_confidence)
    assert [c.id for c in store.iter_clips()] == store.ids
    meta = store.metadata(columns=["id", "n_frames"])
    assert list(meta.columns) == ["id", "n_frames", "split"] and set(meta["split"]) == {"train"}


def test_metadata_projection_has_no_keypoints(tmp_path):
    write_store(tmp_path / "s", [make_clip(i) for i in range(3)], progress=False)
    meta = ClipStore(tmp_path / "s").metadata()
    assert "keypoints" not in meta.columns and set(METADATA_COLUMNS) <= set(meta.columns)
    assert set(meta["split"]) <= {"train", "validation", "test"}


def test_shard_names_size_cap_and_row_groups(tmp_path):
    clips = [make_clip(i, n_frames=100, subject="same") for i in range(30)]
    # 100 frames * 204 B = 20,400 B per clip; cap 50,000 B -> 2 clips per shard -> 15 shards.
    write_store(tmp_path / "s", clips, shard_max_bytes=50_000, progress=False)
    files = sorted(p.name for p in (tmp_path / "s/data/clips").iterdir())
    assert len(files) == 15
    assert files[0] == "train-00000-of-00015.parquet" and files[-1] == "train-00014-of-00015.parquet"
    for f in (tmp_path / "s/data/clips").iterdir():
        md = pq.ParquetFile(f).metadata
        assert all(md.row_group(i).num_rows <= ROW_GROUP_MAX_ROWS for i in range(md.num_row_groups))


def test_info_json_lists_every_file_with_sha256(tmp_path):
    write_store(tmp_path / "s", [make_clip(i) for i in range(5)], progress=False)
    info = json.loads((tmp_path / "s/meta/info.json").read_text())
    on_disk = {p.relative_to(tmp_path / "s").as_posix() for p in (tmp_path / "s").rglob("*") if p.is_file()}
    assert set(info["files"]) == on_disk - {"meta/info.json"}
    for rel, entry in info["files"].items():
        assert entry["sha256"] == sha256_file(tmp_path / "s" / rel)
    assert info["counts"]["clips"] == 5 and info["fps"] == 25.0
    assert info["joint_names"][0] == "root" and len(info["kinematic_chains"]) == 5


def test_same_input_gives_byte_identical_shards(tmp_path):
    clips = lambda: [make_clip(i) for i in range(10)]  # noqa: E731
    write_store(tmp_path / "a", clips(), progress=False)
    write_store(tmp_path / "b", clips(), progress=False)
    a = json.loads((tmp_path / "a/meta/info.json").read_text())["files"]
    b = json.loads((tmp_path / "b/meta/info.json").read_text())["files"]
    assert a == b


@pytest.mark.parametrize("mutate, field", [
    (lambda c: c.keypoints.__setitem__((3, 5, 1), np.nan), "keypoints"),
    (lambda c: setattr(c, "keypoints", np.zeros((20, 16, 3), np.float32)), "keypoints"),
    (lambda c: setattr(c, "keypoints", np.zeros((1, 17, 3), np.float32)), "keypoints"),
    (lambda c: setattr(c, "rep_bounds", np.array([[0, 10], [10, 99]])), "rep_bounds"),
    (lambda c: setattr(c, "rep_bounds", np.array([[10, 20], [0, 10]])), "rep_bounds"),
    (lambda c: setattr(c, "rep_bounds", np.array([[5, 5], [6, 9]])), "rep_bounds"),
    (lambda c: setattr(c, "reps", 3), "rep_bounds"),
    (lambda c: setattr(c, "fps", 30.0), "fps"),
])
def test_bad_clips_are_quarantined_and_the_build_goes_on(tmp_path, mutate, field):
    good = [make_clip(i) for i in range(4)]
    bad = make_clip(99)
    mutate(bad)
    report = write_store(tmp_path / "s", [*good, bad], progress=False)
    assert report.n_clips == 4
    [rej] = report.rejected
    assert rej.clip_id == "test:c0099" and rej.field == field and "test:c0099" in rej.message
    quarantine = json.loads((tmp_path / "s/meta/quarantine.json").read_text())
    assert quarantine[0]["clip_id"] == "test:c0099"


def test_duplicate_ids_and_adapter_rejections_are_reported(tmp_path):
    items = [make_clip(1), make_clip(1), Rejected("mmfit", "w00_labels.csv, row 3", "reps", "not an integer")]
    report = write_store(tmp_path / "s", items, progress=False)
    assert report.n_clips == 1
    assert [r.field for r in report.rejected] == ["id", "reps"]  # in stream order
    assert "duplicate clip id 'test:c0001'" in report.rejected[0].message


def test_store_only_validates_labels_normalized_at_ingest(tmp_path):
    # method.md §2: "Squats" is normalized to "squat" at ingest; the store does not do it
    raw = make_clip(2, label="squat")
    raw.label = "Squats"
    empty = make_clip(3)
    empty.label = ""
    report = write_store(tmp_path / "s", [make_clip(1), raw, empty], progress=False)
    assert report.n_clips == 1
    by_id = {r.clip_id: r for r in report.rejected}
    assert by_id["test:c0002"].field == "label" and "'squat'" in by_id["test:c0002"].message
    assert "re-run the adapter" in by_id["test:c0002"].message
    assert by_id["test:c0003"].field == "label"


def test_deleted_truncated_or_altered_shard_is_named(tmp_path):
    write_store(tmp_path / "s", [make_clip(i) for i in range(5)], progress=False)
    shard = next((tmp_path / "s/data/clips").glob("train-*.parquet"))
    data = shard.read_bytes()
    shard.write_bytes(data[:-100])
    with pytest.raises(StoreIntegrityError, match=shard.name + ".*truncated"):
        ClipStore(tmp_path / "s")
    shard.write_bytes(data[:50] + bytes([data[50] ^ 1]) + data[51:])  # same size, one bit flipped
    ClipStore(tmp_path / "s")  # size check passes...
    with pytest.raises(StoreIntegrityError, match=shard.name + ".*sha256"):
        ClipStore(tmp_path / "s").verify()  # ...the sha256 check names the file
    shard.unlink()
    with pytest.raises(StoreIntegrityError, match=shard.name + ".*missing"):
        ClipStore(tmp_path / "s")


def test_not_a_store(tmp_path):
    with pytest.raises(StoreIntegrityError, match="not an Olympia store"):
        ClipStore(tmp_path)


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from factories import make_clip
    from olympia.store import write_store
    def slow():
        for i in range(1000):
            time.sleep(0.01)
            yield make_clip(i, subject="new")
    write_store({out!r}, slow(), progress=False)
""")


def test_kill_9_mid_build_leaves_previous_release_intact(tmp_path):
    out = tmp_path / "release"
    write_store(out, [make_clip(i) for i in range(6)], progress=False)
    before = (out / "meta/info.json").read_bytes()
    script = KILL_SCRIPT.format(tests=os.path.dirname(__file__), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script])
    time.sleep(2.5)
    assert proc.poll() is None, "the slow build should still be running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = ClipStore(out, verify=True)
    assert (out / "meta/info.json").read_bytes() == before and len(store.ids) == 6
    write_store(out, [make_clip(i) for i in range(3)], progress=False)  # next build cleans up
    assert not list(tmp_path.glob(".release.staging-*"))


def test_interrupted_swap_is_recovered(tmp_path):
    out = tmp_path / "release"
    write_store(out, [make_clip(0)], progress=False)
    os.rename(out, tmp_path / "release.previous")   # as if killed between the two renames
    assert ClipStore(out).ids == ["test:c0000"]


clip_strategy = st.builds(
    lambda i, t, reps, subject, label, cam: make_clip(i, n_frames=t, reps=reps if reps * min_rep_frames(25.0) <= t else None,
                                                      subject=subject, label=label, camera=cam),
    st.integers(0, 10_000), st.integers(2, 60), st.integers(0, 8),
    st.text("abc123", min_size=1, max_size=4), st.sampled_from(["squat", "single arm row", "pushup"]),
    st.one_of(st.none(), st.sampled_from(["50591643", "cam0"])))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(clip_strategy, min_size=1, max_size=8, unique_by=lambda c: c.id))
def test_property_round_trip(tmp_path_factory, clips):
    out = tmp_path_factory.mktemp("prop") / "s"
    write_store(out, clips, progress=False)
    store = ClipStore(out, verify=True)
    assert len(store.ids) == len(clips)
    for c in clips:
        got = store.get(c.id)
        np.testing.assert_array_equal(got.keypoints, c.keypoints)
        np.testing.assert_array_equal(got.rep_bounds, c.rep_bounds)
        assert (got.reps, got.camera, got.subject, got.label) == (c.reps, c.camera, c.subject, c.label)


def logged_clips(log: str, start: int, stop: int, fail_at: int | None = None, killed_at: int | None = None):
    """A work unit's clips; each run is logged. It can fail half-way (an error: the unit is
    quarantined) or be killed half-way (KeyboardInterrupt stands for the signal: the run dies)."""
    with open(log, "a") as f:
        f.write(f"{start}\n")
    for i in range(start, stop):
        if i == fail_at:
            raise RuntimeError(f"input {i} is unreadable")
        if i == killed_at:
            raise KeyboardInterrupt
        yield make_clip(i, subject=f"s{i // 3}")


def test_units_stream_in_order_a_failing_unit_is_quarantined_duplicates_too(tmp_path):
    from olympia.spill import Unit

    log = str(tmp_path / "runs.log")
    units = [Unit("a", logged_clips, (log, 0, 4), source="test"),
             Unit("b", logged_clips, (log, 4, 8, 6), source="test"),      # fails on its third clip
             Unit("c", logged_clips, (log, 2, 5), source="test")]         # 2, 3, 4 repeat earlier ids
    report = write_store(tmp_path / "s", units=units, progress=False)
    assert sorted(ClipStore(tmp_path / "s").ids) == [f"test:c000{i}" for i in range(5)]   # a, then c's 4
    assert [(r.field, r.clip_id or r.where) for r in report.rejected] == [
        ("", "b"), ("id", "test:c0002"), ("id", "test:c0003")]
    assert "input 6 is unreadable" in report.rejected[0].message
    assert "duplicate clip id 'test:c0003' (first from file3.json)" in report.rejected[2].message
    assert not (tmp_path / ".s.build").exists()                          # no spill files left


def test_a_build_with_a_fingerprint_resumes_from_finished_units(tmp_path):
    from olympia.spill import Unit

    log = tmp_path / "runs.log"
    good = [Unit(f"u{i}", logged_clips, (str(log), 3 * i, 3 * i + 3)) for i in range(3)]
    with pytest.raises(KeyboardInterrupt):                               # killed in its last unit
        write_store(tmp_path / "s", units=[*good, Unit("u3", logged_clips, (str(log), 9, 12, None, 10))],
                    fingerprint="f1", progress=False)
    assert not (tmp_path / "s").exists() and len(list((tmp_path / ".s.build").glob("unit-*.pickle"))) == 3
    log.write_text("")
    report = write_store(tmp_path / "s", units=[*good, Unit("u3", logged_clips, (str(log), 9, 12))],
                         fingerprint="f1", progress=False)
    assert report.n_clips == 12 and log.read_text().split() == ["9"]    # only the unfinished unit ran
    assert not (tmp_path / ".s.build").exists()
    fresh = write_store(tmp_path / "t", units=[*good, Unit("u3", logged_clips, (str(log), 9, 12))], progress=False)
    a = json.loads((tmp_path / "s/meta/info.json").read_text())["files"]
    b = json.loads((tmp_path / "t/meta/info.json").read_text())["files"]
    assert a == b and fresh.n_clips == 12                               # resumed = built in one go


def test_shards_finished_before_a_kill_are_not_rewritten(tmp_path):
    from olympia.spill import Unit

    log = tmp_path / "runs.log"
    units = [Unit(f"u{i}", logged_clips, (str(log), 3 * i, 3 * i + 3)) for i in range(3)]

    def dies_after_the_shards(staging, meta):
        raise KeyboardInterrupt                                      # killed while writing the card

    with pytest.raises(KeyboardInterrupt):
        write_store(tmp_path / "s", units=units, fingerprint="f1", progress=False, extras=dies_after_the_shards)
    cached = {(p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / ".s.build").glob("shard-*.parquet")}
    assert len(cached) == 3 and not (tmp_path / "s").exists()         # train, validation, test
    log.write_text("")
    write_store(tmp_path / "s", units=units, fingerprint="f1", progress=False)
    assert log.read_text() == ""                                     # no unit ran again
    written = {(p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "s/data/clips").glob("*.parquet")}
    assert written == cached                                         # the same files, linked, not rewritten
