"""Atomic writes: complete or absent, umask modes, no temp files left, errors name the file."""
import json
import os
import stat

import numpy as np
import pyarrow as pa
import pytest

from olympia.errors import SourceFormatError
from olympia.io import (atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_parquet,
                        atomic_write_text, json_text, read_json)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        import olympia.io as io_mod
        io_mod._UMASK = None
        p = atomic_write_text(tmp_path / "a.txt", "hello")
        assert _mode(p) == 0o644              # not mkstemp's 0600
        os.umask(0o027)
        io_mod._UMASK = None
        q = atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
        assert _mode(q) == 0o640
    finally:
        os.umask(old)
        io_mod._UMASK = None
    assert (tmp_path / "a.txt").read_text() == "hello"


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "data.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"v": 2, "half')
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


def test_json_text_is_stable_and_converts_numpy(tmp_path):
    obj = {"b": np.int64(3), "a": np.float32(0.5), "c": np.arange(3), "p": tmp_path / "x"}
    assert json_text(obj) == json_text(dict(reversed(list(obj.items()))))
    assert json.loads(json_text(obj)) == {"a": 0.5, "b": 3, "c": [0, 1, 2], "p": (tmp_path / "x").as_posix()}


def test_parquet_round_trip(tmp_path):
    import pyarrow.parquet as pq
    table = pa.table({"x": [1, 2, 3]})
    path = atomic_write_parquet(table, tmp_path / "d" / "t.parquet")
    assert pq.read_table(path).column("x").to_pylist() == [1, 2, 3]
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(path) == 0o666 & ~umask


@pytest.mark.parametrize("content, message", [
    (None, "not found"), ('{"a": ', "not valid JSON"), (b"\xff\xfe\x00", "cannot read")])
def test_read_json_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(SourceFormatError, match=message) as err:
        read_json(path, "segments file")
    assert str(path) in str(err.value)


def test_read_json_deep_nesting_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SourceFormatError, match="not valid JSON"):
        read_json(path)
