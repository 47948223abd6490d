"""Adapters on fixture releases written in each source's exact on-disk layout
(tests/raw_fixtures.py): one shared parametrized test for every adapter, then short
per-adapter checks against the fixtures' known truth."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from olympia.adapters import ADAPTERS, configured_sources
from olympia.labels import normalize_label
from olympia.schema import Clip, Rejected, validate_clip
from olympia.segment import Segment
from olympia.skeleton import HEAD, L_ANKLE, R_ANKLE, bone_lengths
from olympia.timebase import FPS, rescale_rep_bounds, resample_to_fps
from olympia.video.segments import load_segments_json, write_segments_json
from tests import raw_fixtures as rf

CLIP_SOURCES = sorted(n for n, a in ADAPTERS.items() if a.iter_clips is not None)
SEGMENT_SOURCES = sorted(n for n, a in ADAPTERS.items() if a.iter_segments is not None)
EXPECTED = {"fit3d", "mmfit", "uco", "infiniterep", "repcount", "uiprmd", "kimore"}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return rf.write_all(tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="module")
def items(raw):
    return {n: list(ADAPTERS[n].iter_clips(raw[n])) for n in CLIP_SOURCES}


def _clips(items, name):
    return [c for c in items[name] if isinstance(c, Clip)]


# ------------------------------------------------------------------------- shared test
def test_registry_declares_every_source():
    assert set(ADAPTERS) == EXPECTED
    for name, a in ADAPTERS.items():
        assert a.name == name
        assert a.citation and a.license and a.homepage.startswith("http") and a.layout
        assert a.iter_clips is not None or a.iter_segments is not None
        assert a.native_fps is None or a.native_fps > 0


@pytest.mark.parametrize("name", CLIP_SOURCES)
def test_clip_adapter_contract(name, items, raw):
    out = items[name]
    assert not [r for r in out if isinstance(r, Rejected)], [r.message for r in out if isinstance(r, Rejected)]
    clips = _clips(items, name)
    assert 2 <= len(clips) <= 5
    assert len({c.id for c in clips}) == len(clips)
    for c in clips:
        assert c.source == name and c.id.startswith(f"{name}:")
        assert c.keypoints.dtype == np.float32 and c.keypoints.ndim == 3 and c.keypoints.shape[1:] == (17, 3)
        assert c.fps == FPS == 25.0 and c.source_fps == ADAPTERS[name].native_fps
        assert np.isfinite(c.keypoints).all()
        if c.reps is not None and len(c.rep_bounds):
            assert len(c.rep_bounds) == c.reps
            assert c.rep_bounds.min() >= 0 and c.rep_bounds.max() <= c.n_frames
        assert c.split_group and c.split_group.startswith(f"{name}:")
        prov = c.provenance
        assert (raw[name] / prov["source_file"]).is_file() and len(prov["sha256"]) == 64
        assert prov["license"] == ADAPTERS[name].license
        json.dumps(c.extra)
        assert c.label == normalize_label(c.label_raw)      # labels are normalized at ingest
        validate_clip(c)
        # metres, z up: the body stands between 1.0 and 2.3 m and the head is above the ankles
        assert (c.keypoints[:, HEAD, 2] > c.keypoints[:, [R_ANKLE, L_ANKLE], 2].mean(1)).mean() > 0.9


@pytest.mark.parametrize("name", CLIP_SOURCES)
def test_store_round_trip_and_no_group_in_two_splits(name, items, tmp_path):
    from olympia.store import ClipStore, write_store
    clips = _clips(items, name)
    report = write_store(tmp_path / "store", clips, progress=False)
    assert report.n_clips == len(clips) and not report.rejected
    store = ClipStore(tmp_path / "store")
    meta = store.metadata()
    assert meta.groupby("split_group")["split"].nunique().max() == 1
    for c in clips:
        back = store.get(c.id)
        np.testing.assert_array_equal(back.keypoints, c.keypoints)
        assert back.reps == c.reps and back.rep_bounds.tolist() == c.rep_bounds.tolist()
        assert back.provenance == c.provenance and back.split_group == c.split_group


@pytest.mark.parametrize("name", SEGMENT_SOURCES)
def test_segment_adapter_contract(name, raw, tmp_path):
    segs = [s for s in ADAPTERS[name].iter_segments(raw[name])]
    assert segs and all(isinstance(s, Segment) for s in segs)
    assert len({s.clip_id for s in segs}) == len(segs)
    for s in segs:
        assert Path(s.video).is_file() and s.source == name and s.split_group
        assert s.provenance == {"source_file": Path(s.video).relative_to(raw[name].resolve()).as_posix(),
                                "license": ADAPTERS[name].license}     # hashed by the pose stage
        if s.reps is not None and s.rep_bounds:
            assert len(s.rep_bounds) == s.reps
    path = write_segments_json(segs, tmp_path / "segments.json")
    assert load_segments_json(path) == segs


# ------------------------------------------------------------------------- common helpers
def test_resample_is_linear_in_time_and_bounds_follow():
    t = np.arange(11, dtype=np.float32)                 # 11 frames at 50 fps = 0.2 s
    kp = np.broadcast_to(t[:, None, None], (11, 17, 3))
    out = resample_to_fps(kp, 50.0)
    assert out.shape == (6, 17, 3)                      # floor(10 * 25 / 50) + 1
    np.testing.assert_allclose(out[:, 0, 0], [0, 2, 4, 6, 8, 10])
    out30 = resample_to_fps(np.broadcast_to(t[:, None, None], (11, 17, 3)), 30.0)
    np.testing.assert_allclose(out30[:, 0, 0], [0, 1.2, 2.4, 3.6, 4.8, 6.0, 7.2, 8.4, 9.6])
    assert rescale_rep_bounds([[0, 30], [30, 60]], 30.0, 51).tolist() == [[0, 25], [25, 50]]
    with pytest.raises(ValueError, match="shorter than one frame"):
        rescale_rep_bounds([[11, 12]], 50.0, 100)  # 5.5 -> 6, 6 -> 6


def test_configured_sources_env_wins_and_skips_say_why(tmp_path):
    (tmp_path / "pipelines").mkdir()
    cfg = tmp_path / "pipelines" / "sources.yaml"
    (tmp_path / "raw_mmfit").mkdir()
    cfg.write_text("sources:\n  mmfit: {env: X_MMFIT, path: raw_mmfit}\n  fit3d: {env: X_FIT3D}\n"
                   "  kimore: {env: X_KIMORE, path: /nonexistent/kimore}\n")
    found, skipped = configured_sources(cfg, environ={"X_FIT3D": str(tmp_path)})
    assert dict(found) == {"mmfit": tmp_path / "raw_mmfit", "fit3d": tmp_path}
    reasons = dict(skipped)
    assert "does not exist" in reasons["kimore"] and "X_KIMORE" not in reasons["kimore"]
    assert "OLYMPIA_RAW_UCO not set" in reasons["uco"]
    assert set(reasons) == EXPECTED - {"mmfit", "fit3d"}


def test_repo_sources_yaml_names_every_adapter():
    found, skipped = configured_sources(Path(__file__).parents[1] / "pipelines" / "sources.yaml", environ={})
    assert not found and {s for s, _ in skipped} == EXPECTED


# ------------------------------------------------------------------------- per adapter
def test_fit3d_clips_cover_annotated_reps_and_keep_warmup_names(items):
    clips = {c.id: c for c in _clips(items, "fit3d")}
    squat = clips["fit3d:s03:squat"]
    assert squat.reps == 3 and squat.n_frames == 150                 # 3 × 2 s at 25 fps
    assert squat.rep_bounds.tolist() == [[0, 50], [50, 100], [100, 150]]
    assert squat.camera is None and squat.extra["cameras"] == ["50591643", "58860488"]
    assert clips["fit3d:s03:warmup_7"].label == "warmup7"
    assert clips["fit3d:s03:walk_the_box"].reps is None
    # left leg of H36M (4-6) is the body's left (+x); Fit3D stores it at indices 1-3
    body = rf.squat_body(150, 25.0)
    np.testing.assert_allclose(squat.keypoints, body, atol=2e-3)
    assert squat.extra["left_right_consistency"] == 1.0


def test_mmfit_sets_units_axes_and_official_split(items):
    clips = {c.id: c for c in _clips(items, "mmfit")}
    c = clips["mmfit:w01:1:squats"]
    assert c.extra["unit_scale"] == 0.001 and c.extra["mmfit_split"] == "train"
    assert clips["mmfit:w09:1:squats"].extra["mmfit_split"] == "test"
    assert c.reps == 3 and c.n_frames == 150 and len(c.rep_bounds) == 0      # 180 rows at 30 fps
    assert abs(bone_lengths(c.keypoints)[:, 1].mean() - rf.THIGH) < 1e-3      # r thigh in metres
    # H36M left hip is the body's left in the fixture: lies on the subject's left
    assert c.extra["left_right_consistency"] == 1.0
    assert clips["mmfit:w09:1:squats"].gap_filled_fraction > 0                # one zeroed joint


def test_uiprmd_chaining_recovers_absolute_positions(raw):
    from olympia.adapters import uiprmd
    truth = rf.write_uiprmd(raw["uiprmd"].parent / "uiprmd_truth")
    base = raw["uiprmd"].parent / "uiprmd_truth" / "Segmented Movements" / "Vicon"
    pos = uiprmd.read_matrix(base / "Positions" / "m01_s01_e01_positions.txt")
    ang = uiprmd.read_matrix(base / "Angles" / "m01_s01_e01_angles.txt")
    np.testing.assert_allclose(uiprmd.chain_positions(pos, ang), truth[(1, 1, 1, False)]["world_cm"], atol=1e-3)


def test_uiprmd_clip_is_one_rep_in_metres(items):
    c = next(c for c in _clips(items, "uiprmd") if c.id == "uiprmd:m01:s01:e01")
    assert c.reps == 1 and c.rep_bounds.tolist() == [[0, c.n_frames]] and c.label_raw == "deep squat"
    np.testing.assert_allclose(c.keypoints[:, R_ANKLE], resample_to_fps(rf.squat_body(45, 30.0), 30.0)[:, R_ANKLE],
                               atol=1e-4)


def test_kimore_reads_100_and_75_column_files_without_reps(items):
    clips = {c.extra["exercise"]: c for c in _clips(items, "kimore")}
    assert set(clips) == {"Es1", "Es3", "Es5"}
    assert clips["Es5"].label_raw == "squatting" and all(c.reps is None for c in clips.values())
    kp = clips["Es1"].keypoints
    body = resample_to_fps(rf.squat_body(90, 30.0), 30.0)
    np.testing.assert_allclose(kp - kp[:1, :1], body - body[:1, :1], atol=1e-4)


def test_infiniterep_lifts_with_the_estimated_focal_length(items):
    clips = _clips(items, "infiniterep")
    for c in clips:
        assert abs(c.extra["focal_px"] - rf.INFINITEREP_FOCAL) / rf.INFINITEREP_FOCAL < 0.02
        assert c.reps == 3 and c.rep_bounds.tolist() == [[0, 50], [50, 100], [100, 150]]
        assert c.label_raw == "squat" and c.source_fps == 24.0
    thigh = bone_lengths(clips[1].keypoints)[:, 1]
    assert abs(np.median(thigh) - rf.THIGH) < 0.01 and thigh.std() < 0.005


def test_infiniterep_video_without_json_goes_to_the_pose_path(raw):
    segs = list(ADAPTERS["infiniterep"].iter_segments(raw["infiniterep"]))
    assert [s.clip_id for s in segs] == ["infiniterep:legraise:000000"]


def test_infiniterep_rep_bounds_from_fractional_counts():
    from olympia.adapters.infiniterep import rep_bounds_from_counts
    counts = [0.2, 0.6, 0.9, 1.1, 1.5, 1.99, 2.0, 2.4, 2.8, 3.0]
    assert rep_bounds_from_counts(counts).tolist() == [[0, 3], [3, 6], [6, 9]]


def test_repcount_segments_clean_classes_and_keep_bounds(raw):
    segs = {s.clip_id: s for s in ADAPTERS["repcount"].iter_segments(raw["repcount"])}
    s = segs["repcount:train:stu1_10"]
    assert s.label_raw == "squat" and s.extra["type_raw"] == "squant"
    assert s.reps == 3 and s.rep_bounds == [[0, 40], [40, 85], [85, 130]]        # "40.0" parsed
    assert segs["repcount:train:train12"].label_raw == "pull_up"
    assert segs["repcount:valid:val3"].extra["repcount_split"] == "valid"
    assert segs["repcount:test:test8"].extra["paper_excluded"] is True


def test_uco_segments_per_camera_with_side_and_four_reps(raw):
    segs = list(ADAPTERS["uco"].iter_segments(raw["uco"]))
    assert len(segs) == 6 and {s.camera for s in segs} == {"0", "1"}
    s = next(s for s in segs if s.clip_id == "uco:s01:knee_extension_right:cam1")
    assert s.reps == 4 and s.extra["side"] == "right" and s.label_raw == "knee extension right"
    assert s.extra["p3d_rows"] == 20 and s.extra["marker_check"] == "ok" and s.split_group == "uco:S01"


# ------------------------------------------------------------------------- CLI
def test_cli_ingest_writes_a_store_and_segments(raw, tmp_path):
    from click.testing import CliRunner
    from olympia.cli import main
    from olympia.store import ClipStore
    r = CliRunner().invoke(main, ["ingest", "uiprmd", str(raw["uiprmd"]), "--out", str(tmp_path / "s"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert len(ClipStore(tmp_path / "s")) == 4
    r = CliRunner().invoke(main, ["ingest", "repcount", str(raw["repcount"]), "--out", str(tmp_path / "rc")])
    assert r.exit_code == 0, r.output
    assert len(load_segments_json(tmp_path / "rc" / "segments.json")) == 5
    r = CliRunner().invoke(main, ["ingest", "fit3d", str(tmp_path), "--out", str(tmp_path / "f")])
    assert r.exit_code == 2 and "joints3d_25" in r.output


def test_cli_sources_lists_layouts_and_help_has_examples():
    from click.testing import CliRunner
    from olympia.cli import main
    r = CliRunner().invoke(main, ["sources"])
    assert r.exit_code == 0 and "train/<subject>/joints3d_25/<action>.json" in r.output
    assert "CC BY 4.0" in r.output
    for cmd in ("ingest", "sources"):
        assert "Examples:" in CliRunner().invoke(main, [cmd, "--help"]).output


# ------------------------------------------------------------------------- hand-computed checks
def test_uiprmd_chain_by_hand_three_joints_and_a_collar():
    """waist at (1, 2, 3) turned 90° about z; spine 10 cm along x, turned 90° about x; chest
    10 cm along y, turned 90° about y; neck 1 cm along z; left collar 5 cm along x.
      spine = waist + Rz90·(10,0,0)                 = (1, 12, 3)
      chest = spine + Rz90·Rx90·(0,10,0)            = (1, 12, 13)
      neck  = chest + Rz90·Rx90·Ry90·(0,0,1)        = (1, 13, 13)
      collar (authors' rule: the chest's OWN E)     = chest + Ry90·(5,0,0) = (1, 12, 8)
    """
    from olympia.adapters import uiprmd
    pos, ang = np.zeros((1, 22, 3)), np.zeros((1, 22, 3))
    pos[0, 0], ang[0, 0] = (1, 2, 3), (0, 0, 90)
    pos[0, 1], ang[0, 1] = (10, 0, 0), (90, 0, 0)
    pos[0, 2], ang[0, 2] = (0, 10, 0), (0, 90, 0)
    pos[0, 3] = (0, 0, 1)
    pos[0, 6] = (5, 0, 0)
    out = uiprmd.chain_positions(pos.reshape(1, 66), ang.reshape(1, 66))[0]
    np.testing.assert_allclose(out[[0, 1, 2, 3, 6]], [(1, 2, 3), (1, 12, 3), (1, 12, 13), (1, 13, 13),
                                                      (1, 12, 8)], atol=1e-9)
    # E = Rz·Rx·Ry: (90°, 90°, 0) sends x to y (Ry: x -> -z, then Rx: -z -> y); Rz·Ry·Rx would give -z
    np.testing.assert_allclose(uiprmd.euler_matrix(np.array([90.0, 90.0, 0.0])) @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_fit3d_file_in_the_other_left_right_convention_is_flagged(tmp_path, caplog):
    """A joints file whose indices 1-3 hold the RIGHT leg (plain H36M order, the opposite of the
    documented Fit3D convention) comes out mirrored: consistency 0 and a warning with the number."""
    rf.write_fit3d(tmp_path)
    path = tmp_path / "train" / "s04" / "joints3d_25" / "squat.json"
    kp = np.asarray(json.loads(path.read_text())["joints3d_25"])
    swap = list(range(25))
    swap[1:4], swap[4:7], swap[11:14], swap[14:17] = [4, 5, 6], [1, 2, 3], [14, 15, 16], [11, 12, 13]
    path.write_text(json.dumps({"joints3d_25": kp[:, swap].tolist()}))
    with caplog.at_level("WARNING", logger="olympia.adapters"):
        clips = {c.id: c for c in ADAPTERS["fit3d"].iter_clips(tmp_path) if isinstance(c, Clip)}
    assert clips["fit3d:s04:squat"].extra["left_right_consistency"] == 0.0
    assert clips["fit3d:s03:squat"].extra["left_right_consistency"] == 1.0
    assert any("s04" in r.getMessage() and "mirrored" in r.getMessage() for r in caplog.records)


def test_no_clip_id_in_two_splits(items, tmp_path):
    from olympia.store import ClipStore, write_store
    clips = [c for n in CLIP_SOURCES for c in _clips(items, n)]
    write_store(tmp_path / "all", clips, progress=False)
    meta = ClipStore(tmp_path / "all").metadata(columns=["id", "split", "split_group"])
    assert len(meta) == len(clips) and meta["id"].is_unique
    assert meta.groupby("split_group")["split"].nunique().max() == 1


def test_cli_ingest_quarantines_bad_files_and_goes_on(tmp_path):
    """The installed `olympia` command (subprocess): one corrupt KIMORE file is quarantined with
    its file and row named, the two good files become clips, exit code 0."""
    import os
    import shutil
    import subprocess
    import sys
    from olympia.store import ClipStore
    raw = tmp_path / "kimore"
    rf.write_kimore(raw)
    f = next((raw / "CG/Expert/E_ID1/Es1/Raw").glob("JointPosition*.csv"))
    lines = f.read_text().splitlines()
    lines[4] += ",0.5"                                              # row 5: an extra column
    f.write_text("\n".join(lines) + "\n")
    exe = shutil.which("olympia", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-c", "from olympia.cli import main; main()"]
    r = subprocess.run(cmd + ["ingest", "kimore", str(raw), "--out", str(tmp_path / "store"), "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "quarantined [kimore]" in r.stdout and "JointPositionE_ID1.csv" in r.stdout
    assert len(ClipStore(tmp_path / "store")) == 2
    q = json.loads((tmp_path / "store" / "meta" / "quarantine.json").read_text())
    text = json.dumps(q)
    assert "Es1/Raw/JointPositionE_ID1.csv" in text and "row 5: 101 columns where earlier rows have 100" in text


def test_listing_a_video_source_reads_no_video_bytes(raw, monkeypatch):
    """A build counts a video-only source's pending segments (Adapter.clips): that must not
    sha256 every video; the pose stage hashes a video when it poses it."""
    import olympia.io
    hashed = []
    monkeypatch.setattr(olympia.io, "sha256_file", lambda path, *a: hashed.append(path) or "0" * 64)
    [pending] = list(ADAPTERS["repcount"].clips(raw["repcount"]))
    assert isinstance(pending, Rejected) and pending.message.startswith("5 video segment(s)")
    assert hashed == []


def test_adapters_import_without_docstrings():
    """`python -OO` strips docstrings: no adapter may build a field from one."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-OO", "-c", "import olympia.adapters as a; "
                        "assert a.ADAPTERS['fit3d'].verified"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
