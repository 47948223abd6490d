"""Replacing an output folder: never a user's files, one writer at a time, readers that never
touch a live writer's staging, and a reader caught between the writer's two renames."""
from __future__ import annotations

import os
import threading
import time

import pytest
from click.testing import CliRunner

from factories import make_clip
from olympia.errors import OutputFolderError, StoreIntegrityError
from olympia.store import ClipStore, write_store
from olympia.swap import lock_path, previous_path, replacing


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work")
    with pytest.raises(OutputFolderError, match="thesis.*not an Olympia store.*--force"):
        write_store(out, [make_clip(0)], progress=False)
    assert (out / "chapter1.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".thesis.lock", "thesis"]   # no staging left


def test_force_replaces_it(tmp_path):
    out = tmp_path / "scratch"
    out.mkdir()
    (out / "old.txt").write_text("x")
    write_store(out, [make_clip(0)], progress=False, force=True)
    assert not (out / "old.txt").exists() and ClipStore(out).ids == ["test:c0000"]


def test_a_store_with_a_users_file_inside_is_refused_naming_it(tmp_path):
    out = tmp_path / "store"
    write_store(out, [make_clip(0)], progress=False)
    (out / "notes.md").write_text("my notes")
    with pytest.raises(OutputFolderError, match="notes.md"):
        write_store(out, [make_clip(1)], progress=False)
    assert (out / "notes.md").exists() and ClipStore(out).ids == ["test:c0000"]


def test_empty_folder_and_own_store_are_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    write_store(tmp_path / "empty", [make_clip(0)], progress=False)
    write_store(tmp_path / "empty", [make_clip(1)], progress=False)     # a store of ours: replaced
    assert ClipStore(tmp_path / "empty").ids == ["test:c0001"]


def test_a_symlinked_output_is_replaced_without_touching_its_target(tmp_path):
    real = tmp_path / "real"
    write_store(real, [make_clip(0)], progress=False)
    link = tmp_path / "link"
    link.symlink_to(real)
    write_store(link, [make_clip(1)], progress=False)
    assert ClipStore(real).ids == ["test:c0000"]           # the link was replaced, not what it points to
    assert ClipStore(link).ids == ["test:c0001"] and not link.is_symlink()


def test_a_second_writer_fails_clearly(tmp_path):
    out = tmp_path / "release"
    with replacing(out):
        with pytest.raises(OutputFolderError, match="being written by another olympia process"):
            write_store(out, [make_clip(0)], progress=False)


def test_a_reader_never_deletes_a_live_writers_staging(tmp_path):
    out = tmp_path / "release"
    write_store(out, [make_clip(0)], progress=False)
    with replacing(out, force=True) as staging:
        # a writer in another PID namespace: its staging names a PID that is dead here
        foreign = tmp_path / ".release.staging-999999999-abcd"
        foreign.mkdir()
        ClipStore(out)                       # a reader runs recovery while the writers work
        assert staging.is_dir() and foreign.is_dir()
    foreign.rmdir()


def test_dead_writers_staging_is_cleared(tmp_path):
    out = tmp_path / "release"
    write_store(out, [make_clip(0)], progress=False)
    dead = tmp_path / ".release.staging-12345-dead"
    dead.mkdir()
    ClipStore(out)                           # nobody holds the lock: the staging is debris
    assert not dead.exists()


def test_a_reader_between_the_two_renames_waits_for_the_writer(tmp_path, monkeypatch):
    import olympia.swap as swap
    out = tmp_path / "release"
    write_store(out, [make_clip(0)], progress=False)
    between, reader_started, result = threading.Event(), threading.Event(), {}

    def slow_swap(staging, target):          # the real renames, with a pause between them
        os.rename(target, previous_path(target))
        between.set()
        reader_started.wait(5)
        time.sleep(0.3)
        os.rename(staging, target)
        swap.shutil.rmtree(previous_path(target))
    monkeypatch.setattr(swap, "_swap", slow_swap)

    def write():
        try:
            write_store(out, [make_clip(1)], progress=False)
        except Exception as exc:             # on the old code: ENOTEMPTY, the reader renamed back
            result["writer"] = exc
    writer = threading.Thread(target=write)
    writer.start()
    assert between.wait(30)
    reader_started.set()
    result["ids"] = ClipStore(out).ids       # arrives with `release` missing: must wait
    writer.join(30)
    assert "writer" not in result
    assert result["ids"] == ["test:c0001"]


def test_interrupted_swap_is_recovered_by_verify(tmp_path):
    from olympia.cli.build import verify
    out = tmp_path / "release"
    write_store(out, [make_clip(0)], progress=False)
    os.rename(out, previous_path(out))       # killed between the two renames
    res = CliRunner().invoke(verify, [str(out)])
    assert res.exit_code == 0, res.output
    assert "1 clips" in res.output and out.is_dir()


def test_verify_reports_every_problem_in_one_run(tmp_path):
    from olympia.cli.build import verify
    out = tmp_path / "release"
    write_store(out, [make_clip(i) for i in range(6)], progress=False)
    shards = sorted((out / "data/clips").glob("*.parquet"))
    (out / "data/clips/train-00009-of-00009.parquet").write_bytes(b"PAR1")       # stray shard
    data = bytearray(shards[0].read_bytes())
    data[200] ^= 1
    shards[0].write_bytes(bytes(data))                                            # altered, same size
    (out / "meta/splits.json").unlink()                                           # missing
    res = CliRunner().invoke(verify, [str(out)])
    assert res.exit_code == 1
    fails = [ln for ln in res.output.splitlines() if ln.startswith("FAIL")]
    assert len(fails) == 3
    assert any("train-00009-of-00009.parquet is not part of the store" in ln for ln in fails)
    assert any(shards[0].name in ln and "sha256" in ln for ln in fails)
    assert any("splits.json" in ln and "missing" in ln for ln in fails)


def test_a_damaged_page_is_an_integrity_error_naming_the_shard(tmp_path):
    out = tmp_path / "release"
    write_store(out, [make_clip(i, n_frames=200) for i in range(3)], progress=False)
    store = ClipStore(out)
    cid = store.ids[0]
    kp = store.keypoints(cid).tobytes()
    shard = out / store.index.loc[cid, "file"]
    data = bytearray(shard.read_bytes())
    data[data.find(kp[:64]) + 100] ^= 0xFF                 # inside the clip's keypoints page
    shard.write_bytes(bytes(data))
    with pytest.raises(StoreIntegrityError, match=f"{shard.name} is damaged.*CRC"):
        ClipStore(out).keypoints(cid)                       # size unchanged: only the checksum sees it


def test_lock_file_lives_beside_the_output(tmp_path):
    write_store(tmp_path / "s", [make_clip(0)], progress=False)
    assert lock_path(tmp_path / "s") == tmp_path / ".s.lock"
