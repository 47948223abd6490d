"""Fault injection: every adapter × every fault kind on its raw fixture (tests/raw_fixtures.py).

One file of the fixture (TARGETS) is damaged; the run must complete, every item of the other
files must still come out, and the damaged file's items must each be in (a fault the adapter
can absorb: a NaN frame is gap-filled) or quarantined naming the file, with in + out adding up.
The expected counts per (adapter, fault) come from the fixture's layout (see EXPECT); the
clips also pass the store's validation (`prepare_clips`), as a build would run them.
"""
from __future__ import annotations

import builtins
import io
import json
import os
from pathlib import Path

import pytest

from olympia.adapters import ADAPTERS
from olympia.schema import Rejected
from olympia.store import prepare_clips
from tests import raw_fixtures as rf

# adapter -> (damaged file relative to its raw dir, ids it yields when intact)
TARGETS = {
    "fit3d": ("train/s03/joints3d_25/squat.json", {"fit3d:s03:squat"}),
    "mmfit": ("w01/w01_labels.csv", {"mmfit:w01:1:squats", "mmfit:w01:2:lunges"}),
    "kimore": ("CG/Expert/E_ID1/Es1/Raw/JointPositionE_ID1.csv",
               {"kimore:cg-expert:e_id1:es1:jointpositione_id1"}),
    "uiprmd": ("Segmented Movements/Kinect/Positions/m05_s01_e02_positions.txt",
               {"uiprmd:kinect:m05:s01:e02"}),
    "infiniterep": ("InfinityAI_InfiniteRep_squat_v1.0/data/000001.json", {"infiniterep:squat:000001"}),
    "visionfit": ("0b0e0f00-0000-4000-8000-000000000001/labels.json",
                  {"visionfit:0b0e0f00-0000-4000-8000-000000000001"}),
    "repcount": ("annotation/valid.csv", {"repcount:valid:val3"}),
    "uco": ("data/S02/elbow_flexion_left/cam0.avi", {"uco:s02:elbow_flexion_left:cam0"}),
}
FAULTS = ("empty", "truncated", "binary", "wrong_columns", "nan_inf", "huge_ints", "wrong_types",
          "permission", "directory", "symlink_loop")
CONTENT = {"wrong_columns", "nan_inf", "huge_ints", "wrong_types"}

# (target items still in, quarantine entries). Defaults: (0, 1), the file out as one entry.
EXPECT = {
    # an Infinity coordinate in one frame is a gap: filled (1 frame of 100+)
    ("fit3d", "nan_inf"): (1, 0), ("kimore", "nan_inf"): (1, 0), ("uiprmd", "nan_inf"): (1, 0),
    # MM-Fit's labels CSV holds 2 sets; a damaged row 2 is one entry, row 1 stays in; cut in
    # half, the file ends after row 1 (18 of 36 bytes): row 2 is simply not there
    ("mmfit", "truncated"): (1, 0), ("mmfit", "wrong_columns"): (1, 1), ("mmfit", "nan_inf"): (1, 1),
    ("mmfit", "huge_ints"): (1, 1), ("mmfit", "wrong_types"): (1, 1),
    # listing a video reads none of its bytes: the pose path decodes (and reports) it
    ("uco", "empty"): (1, 0), ("uco", "truncated"): (1, 0), ("uco", "binary"): (1, 0),
    ("uco", "permission"): (1, 0),
}
# the cell a content fault changes: CSV column of the middle data row, or a JSON location
CSV_CELL = {"mmfit": 2, "kimore": 0, "uiprmd": 0, "repcount": 3}
JSON_CELL = {
    "fit3d": lambda doc: (doc["joints3d_25"][60][3], 0),
    "infiniterep": lambda doc: (doc["images"][5], "rep_count"),
    "visionfit": lambda doc: (doc["images"][5], "rep_count_from_start"),
}
VALUES = {"nan_inf": (float("inf"), "inf"), "huge_ints": (3_000_000_000, "3000000000"),
          "wrong_types": ("abc", "abc")}


def _cases():
    for name in sorted(ADAPTERS):
        for fault in FAULTS:
            if name == "uco" and fault in CONTENT:
                continue            # a video's content is the pose path's business
            yield name, fault


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    """Each adapter's items on its intact fixture: the ids every faulted run must keep."""
    out = {}
    for name in ADAPTERS:
        raw = tmp_path_factory.mktemp(f"base_{name}")
        rf.WRITERS[name](raw)
        ids, rejected = _run(name, raw)
        assert not rejected, [r.message for r in rejected]
        assert TARGETS[name][1] <= ids
        out[name] = ids
    return out


def _run(name: str, raw: Path) -> tuple[set[str], list[Rejected]]:
    a = ADAPTERS[name]
    if a.list_clips is not None:
        clips, rejected = prepare_clips(a.iter_clips(raw))
        return {c.id for c in clips}, rejected
    items = list(a.iter_segments(raw))
    return {s.clip_id for s in items if not isinstance(s, Rejected)}, [r for r in items if isinstance(r, Rejected)]


def _middle_row(lines: list[str]) -> int:
    data = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(",type")]
    return data[len(data) // 2]


def damage(name: str, path: Path, fault: str, monkeypatch) -> None:
    data = path.read_bytes()
    if fault == "empty":
        path.write_bytes(b"")
    elif fault == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif fault == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00" * 64)
    elif fault == "directory":
        path.unlink()
        path.mkdir()
    elif fault == "symlink_loop":
        path.unlink()
        path.symlink_to(path.name)                       # points at itself: ELOOP on open
    elif fault == "permission":
        # running as root, chmod 000 would not stop a read: refuse opening this path instead
        denied = os.path.realpath(path)

        def guard(opener):
            def open_(file, *args, **kwargs):
                if isinstance(file, (str, bytes, os.PathLike)) and os.path.realpath(os.fsdecode(file)) == denied:
                    raise PermissionError(13, "Permission denied", os.fsdecode(file))
                return opener(file, *args, **kwargs)
            return open_
        monkeypatch.setattr(builtins, "open", guard(builtins.open))
        monkeypatch.setattr(io, "open", guard(io.open))
    elif path.suffix == ".json":
        doc = json.loads(data)
        if fault == "wrong_columns":
            doc = [1, 2, 3]                              # valid JSON, not the source's structure
        else:
            container, key = JSON_CELL[name](doc)
            container[key] = VALUES[fault][0]
        path.write_text(json.dumps(doc))                 # inf is written as Infinity
    else:
        lines = data.decode().splitlines()
        i = _middle_row(lines)
        cells = lines[i].rstrip(",").split(",")
        if fault == "wrong_columns":
            cells += ["1.5", "2.5"]
        else:
            cells[CSV_CELL[name]] = VALUES[fault][1]
        lines[i] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name,fault", list(_cases()))
def test_one_bad_file_never_stops_a_run(name, fault, baselines, tmp_path, monkeypatch):
    raw = tmp_path / name
    rf.WRITERS[name](raw)
    rel, target_ids = TARGETS[name]
    target = raw / rel
    damage(name, target, fault, monkeypatch)
    ids, rejected = _run(name, raw)                      # completes: no exception escapes
    others = baselines[name] - target_ids
    assert others <= ids, f"good items lost: {others - ids}"
    in_expected, out_expected = EXPECT.get((name, fault), (0, 1))
    assert len(ids & target_ids) == in_expected and len(ids) == len(others) + in_expected
    assert len(rejected) == out_expected, [(r.where, r.message) for r in rejected]
    for r in rejected:                                   # each names the damaged file (and the fix)
        assert target.name in r.where and r.source == name and r.message
        assert str(raw) not in r.where + r.message       # relative to RAW_DIR: releases stay portable
