"""Parquet keypoint store: round trip, random access, projection, integrity, atomicity."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import make_clip
from olympia.errors import StoreIntegrityError
from olympia.io import sha256_file
from olympia.schema import METADATA_COLUMNS, Rejected
from olympia.store import ROW_GROUP_ROWS, ClipStore, write_store


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
        assert all(md.row_group(i).num_rows <= ROW_GROUP_ROWS for i in range(md.num_row_groups))


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
    lambda i, t, reps, subject, label, cam: make_clip(i, n_frames=t, reps=reps if reps <= t else None,
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
