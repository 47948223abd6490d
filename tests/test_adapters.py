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
from olympia.skeleton import HEAD, L_ANKLE, L_KNEE, NECK, R_ANKLE, SPINE, bone_lengths
from olympia.timebase import FPS, rescale_rep_bounds, resample_to_fps
from olympia.video.segments import load_segments_json, write_segments_json
from tests import raw_fixtures as rf

CLIP_SOURCES = sorted(n for n, a in ADAPTERS.items() if a.list_clips is not None)
SEGMENT_SOURCES = sorted(n for n, a in ADAPTERS.items() if a.list_segments is not None)
EXPECTED = {"fit3d", "mmfit", "uco", "infiniterep", "repcount", "uiprmd", "kimore", "visionfit"}
# sources whose frame rate is read per file (native_fps None): the rates their fixtures use
FILE_FPS = {"uiprmd": {30.0, 100.0}, "visionfit": {12.0}}
# what measured the joints (the card tells mocap, Kinect and synthetic clips apart by it)
POSE = {"fit3d": {"mocap"}, "mmfit": {"rgbd"}, "kimore": {"kinect_v2"}, "uiprmd": {"mocap", "kinect_v2"},
        "infiniterep": {"synthetic"}, "visionfit": {"synthetic"}}


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
        assert a.list_clips is not None or a.list_segments is not None
        assert a.native_fps is None or a.native_fps > 0


@pytest.mark.parametrize("name", CLIP_SOURCES)
def test_clip_adapter_contract(name, items, raw):
    out = items[name]
    assert not [r for r in out if isinstance(r, Rejected)], [r.message for r in out if isinstance(r, Rejected)]
    clips = _clips(items, name)
    assert 1 <= len(clips) <= 6
    assert len({c.id for c in clips}) == len(clips)
    for c in clips:
        assert c.source == name and c.id.startswith(f"{name}:")
        assert c.keypoints.dtype == np.float32 and c.keypoints.ndim == 3 and c.keypoints.shape[1:] == (17, 3)
        assert c.fps == FPS == 25.0
        assert c.source_fps in FILE_FPS.get(name, {ADAPTERS[name].native_fps})
        assert c.pose_estimator in POSE[name]
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
    assert c.reps == 3 and c.n_frames == 150                                 # 180 rows at 30 fps
    # MM-Fit gives a count only: bounds estimated by the counter, flagged; a 2 s squat = 50
    # frames, and the set starts at the clip's first frame, so reps 2 and 3 start 50 and 100
    # frames in. The clip is a labelled set (start and end frames), so its reps cover it.
    assert c.extra["rep_bounds_estimated"] in {"counter", "forced", "even"} and len(c.rep_bounds) == 3
    assert c.rep_bounds[0, 0] == 0 and c.rep_bounds[-1, 1] == c.n_frames
    np.testing.assert_allclose(c.rep_bounds[1:, 0], [50, 100], atol=3)
    assert abs(bone_lengths(c.keypoints)[:, 1].mean() - rf.THIGH) < 1e-3      # r thigh in metres
    # H36M left hip is the body's left in the fixture: lies on the subject's left
    assert c.extra["left_right_consistency"] == 1.0
    assert clips["mmfit:w09:1:squats"].gap_filled_fraction > 0                # one zeroed joint


def test_uiprmd_chaining_recovers_absolute_positions(raw):
    from olympia.adapters import uiprmd
    truth = rf.write_uiprmd(raw["uiprmd"].parent / "uiprmd_truth")
    base = raw["uiprmd"].parent / "uiprmd_truth" / "Segmented Movements" / "Kinect"
    pos = uiprmd.read_matrix(base / "Positions" / "m01_s01_e01_positions.txt")
    ang = uiprmd.read_matrix(base / "Angles" / "m01_s01_e01_angles.txt")
    np.testing.assert_allclose(uiprmd.chain_positions(pos, ang), truth[("kinect", 1, 1, 1, False)]["world_cm"],
                               atol=1e-3)


def test_uiprmd_kinect_clip_is_one_rep_in_metres(items):
    c = next(c for c in _clips(items, "uiprmd") if c.id == "uiprmd:kinect:m01:s01:e01")
    assert c.reps == 1 and c.rep_bounds.tolist() == [[0, c.n_frames]] and c.label_raw == "deep squat"
    assert c.extra["system"] == "kinect" and c.extra["incorrect"] is False and c.source_fps == 30.0
    np.testing.assert_allclose(c.keypoints[:, R_ANKLE], resample_to_fps(rf.squat_body(45, 30.0), 30.0)[:, R_ANKLE],
                               atol=1e-4)


def test_uiprmd_both_systems_correct_and_incorrect_with_one_split_group(items):
    clips = {c.id: c for c in _clips(items, "uiprmd")}
    assert set(clips) == {"uiprmd:kinect:m01:s01:e01", "uiprmd:kinect:m01:s02:e01",
                          "uiprmd:kinect:m05:s01:e02", "uiprmd:kinect:m01:s01:e01:inc",
                          "uiprmd:vicon:m01:s01:e01", "uiprmd:vicon:m01:s01:e01:inc"}
    inc = clips["uiprmd:vicon:m01:s01:e01:inc"]            # gzipped, in Incorrect Segmented Movements
    assert inc.extra["incorrect"] is True and inc.provenance["source_file"].endswith("_inc.txt.gz")
    assert {c.split_group for c in clips.values() if c.subject == "s01"} == {"uiprmd:s01"}
    assert {c.extra["system"]: c.pose_estimator for c in clips.values()} == {"vicon": "mocap", "kinect": "kinect_v2"}


def test_uiprmd_vicon_markers_give_the_body_at_25_fps(items, raw):
    """Markers placed on the body by the literature's rules (fixture, independent of the
    adapter): hips, knees, ankles, shoulders, elbows, wrists, thorax and head come back (mm
    -> m, 100 -> 25 fps, z up); the sides are consistent."""
    c = next(c for c in _clips(items, "uiprmd") if c.id == "uiprmd:vicon:m01:s01:e01")
    body = resample_to_fps(rf.squat_body(150, 100.0), 100.0)
    assert c.source_fps == 100.0 and c.n_frames == len(body) == 38
    joints = [j for j in range(17) if j not in (SPINE, NECK)]     # those two are the rule's midpoints
    np.testing.assert_allclose(c.keypoints[:, joints], body[:, joints], atol=1e-4)
    assert c.extra["left_right_consistency"] == 1.0 and c.extra["system"] == "vicon"


def test_uiprmd_vicon_missing_markers_are_filled_or_quarantined(tmp_path):
    """A needed marker lost in 10 % of the frames (zeros) is interpolated; one lost in 30 %
    quarantines the repetition naming the marker and the count."""
    from olympia.adapters.uiprmd import MARKERS
    body = rf.squat_body(200, 100.0)
    markers = rf.vicon_markers(body)
    d = tmp_path / "Segmented Movements" / "Vicon" / "Positions"
    few, many = markers.copy(), markers.copy()
    few[50:70, MARKERS.index("LKNE")] = 0.0
    many[20:80, MARKERS.index("CLAV")] = 0.0
    rf._write_rows(d / "m01_s01_e01_positions.txt", few.reshape(200, 117))
    rf._write_rows(d / "m01_s01_e02_positions.txt", many.reshape(200, 117))
    good, bad = [], []
    for x in ADAPTERS["uiprmd"].iter_clips(tmp_path):
        (good if isinstance(x, Clip) else bad).append(x)
    [c] = good
    assert c.gap_filled_fraction == pytest.approx(0.1)
    np.testing.assert_allclose(c.keypoints[:, L_KNEE], resample_to_fps(body, 100.0)[:, L_KNEE], atol=5e-3)  # linear over 0.2 s
    [r] = bad
    assert r.where.endswith("m01_s01_e02_positions.txt")
    assert "marker CLAV (column 19-21) is missing in 60 of 200 frames (first: frame 20)" in r.message


def test_kimore_reads_100_and_75_column_files_without_reps(items):
    clips = {c.extra["exercise"]: c for c in _clips(items, "kimore")}
    assert set(clips) == {"Es1", "Es3", "Es5"}
    assert clips["Es5"].label_raw == "squatting" and all(c.reps is None for c in clips.values())
    kp = clips["Es1"].keypoints
    body = resample_to_fps(rf.squat_body(90, 30.0), 30.0)
    np.testing.assert_allclose(kp - kp[:1, :1], body - body[:1, :1], atol=1e-4)


def test_kimore_flat_exports_with_the_real_quirks(tmp_path):
    """Files named by exercise (JointPositionExercise<k>[(n)].csv), 24 blank lines, a comma
    ending every row: exercise from the name, the copy suffix tells the people apart; no count,
    so reps stay null while the counter's bounds are kept, flagged (5 squats of 2 s in 10 s)."""
    rf.write_kimore_flat(tmp_path)
    clips = {c.id: c for c in ADAPTERS["kimore"].iter_clips(tmp_path)}
    assert all(isinstance(c, Clip) for c in clips.values()), clips
    c1 = clips["kimore:flat:copy1:es1:jointpositionexercise1"]
    assert c1.label_raw == "lifting of the arms" and c1.subject == "flat/copy1"
    assert clips["kimore:flat:copy1:es2:jointpositionexercise2"].split_group == c1.split_group
    assert clips["kimore:flat:copy2:es1:jointpositionexercise1-2"].subject == "flat/copy2"
    assert c1.n_frames == 250 and c1.reps is None
    assert c1.extra["reps_estimated"] == len(c1.rep_bounds) == 5 and c1.extra["rep_bounds_estimated"]


def test_infiniterep_lifts_with_the_estimated_focal_length(items):
    clips = _clips(items, "infiniterep")
    for c in clips:
        assert abs(c.extra["focal_px"] - rf.INFINITEREP_FOCAL) / rf.INFINITEREP_FOCAL < 0.02
        assert c.reps == 3 and c.rep_bounds.tolist() == [[0, 50], [50, 100], [100, 150]]
        assert c.label_raw == "squat" and c.source_fps == 24.0 and c.extra["left_right_consistency"] == 1.0
    thigh = bone_lengths(clips[1].keypoints)[:, 1]
    assert abs(np.median(thigh) - rf.THIGH) < 0.01 and thigh.std() < 0.005


def test_infiniterep_video_without_json_goes_to_the_pose_path(raw):
    segs = list(ADAPTERS["infiniterep"].iter_segments(raw["infiniterep"]))
    assert [s.clip_id for s in segs] == ["infiniterep:legraise:000000"]


def test_infiniterep_rep_bounds_from_fractional_counts():
    from olympia.adapters.infiniterep import rep_bounds_from_counts
    counts = [0.2, 0.6, 0.9, 1.1, 1.5, 1.99, 2.0, 2.4, 2.8, 3.0]
    assert rep_bounds_from_counts(counts).tolist() == [[0, 3], [3, 6], [6, 9]]


def test_rep_count_rule_at_the_end_of_a_set():
    """The count is sampled once per frame: a set that ends as its last rep completes can end
    on 3.92 (VisionFit, 6 fps, +0.105 per frame): 3.92 + 0.105 >= 4, so 4 reps; 2.5 at the end
    (a trimmed video) is 2. Rests between reps (flat counts) belong to no rep."""
    from olympia.adapters.infiniterep import count_reps
    up = [0.0, 0.0, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0, 1.3, 1.6, 1.9, 2.0, 2.3, 2.6, 2.9]
    reps, bounds = count_reps(up)            # ends on 2.9, rising 0.3 a frame: the 3rd rep counts
    assert reps == 3 and bounds.tolist() == [[1, 5], [7, 11], [11, 15]]
    reps, bounds = count_reps(up[:-2])       # ends on 2.3: the 3rd rep is under way, not done
    assert reps == 2 and bounds.tolist() == [[1, 5], [7, 11]]
    assert count_reps([0.0, 0.5, 1.0, 1.0, 1.0])[0] == 1    # ends at rest on a whole number


def test_visionfit_job_fps_exercise_world_coordinates_and_last_rep(raw, items):
    """The fixture job: 3 squats at 12 fps whose count ends on 2.958 (+1/24 a frame): 3 reps;
    the frame rate and exercise come from job.json; the world coordinates are the body."""
    [c] = _clips(items, "visionfit")
    assert c.label_raw == "squat" and c.source_fps == 12.0 and c.extra["fps_from"] == "params"
    assert c.reps == 3 and c.extra["num_reps_params"] == 3 and c.extra["lifted_from"] == "world"
    assert c.extra["left_right_consistency"] == 1.0
    assert c.rep_bounds.tolist() == [[0, 50], [50, 100], [100, 148]]       # 24-frame reps at 12 fps
    np.testing.assert_allclose(c.keypoints, resample_to_fps(rf.squat_body(72, 12.0), 12.0), atol=1e-5)


def test_infiniterep_frame_rate_from_params_and_back_projection_with_k(raw, tmp_path):
    """A NNNNNN_params.json beside the labels sets the frame rate (strings, as the real files);
    without world coordinates but with info.camera_K_matrix, the lift uses K exactly."""
    import shutil
    d = tmp_path / "InfinityAI_InfiniteRep_squat_v1.0" / "data"
    d.mkdir(parents=True)
    shutil.copy(raw["infiniterep"] / "InfinityAI_InfiniteRep_squat_v1.0" / "data" / "000000.json", d)
    doc = json.loads((d / "000000.json").read_text())
    doc["info"] = {"camera_K_matrix": [[rf.INFINITEREP_FOCAL, 0, 112.0], [0, rf.INFINITEREP_FOCAL, 112.0], [0, 0, 1]]}
    (d / "000000.json").write_text(json.dumps(doc))
    (d / "000000_params.json").write_text(json.dumps({"params": {"frame_rate": "30", "num_reps": "3"}}))
    [c] = list(ADAPTERS["infiniterep"].iter_clips(tmp_path))
    assert c.source_fps == 30.0 and c.extra["num_reps_params"] == 3
    assert c.extra["lifted_from"] == "image+depth+K" and c.extra["focal_px"] == rf.INFINITEREP_FOCAL
    thigh = bone_lengths(c.keypoints)[:, 1]
    assert abs(np.median(thigh) - rf.THIGH) < 1e-3


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
    assert len(ClipStore(tmp_path / "s")) == 6
    r = CliRunner().invoke(main, ["ingest", "repcount", str(raw["repcount"]), "--out", str(tmp_path / "rc")])
    assert r.exit_code == 0, r.output
    assert len(load_segments_json(tmp_path / "rc" / "segments.json")) == 5
    r = CliRunner().invoke(main, ["ingest", "fit3d", str(tmp_path), "--out", str(tmp_path / "f")])
    assert r.exit_code == 2 and "joints3d_25" in r.output


def test_cli_ingest_prints_plausibility_figures(raw, tmp_path):
    from click.testing import CliRunner
    from olympia.cli import main
    r = CliRunner().invoke(main, ["ingest", "fit3d", str(raw["fit3d"]), "--out", str(tmp_path / "s"), "--quiet"])
    assert r.exit_code == 0, r.output
    # the fixture body: trunk 0.25 + 0.25 + |(0, -.08, .10)| + |(0, .08, .13)| = 0.781 m, leg
    # 0.43 + 0.42 m, +10 %: 1.1 × 1.631 = 1.79 m; rigid bones; sides as labelled
    assert "plausibility [fit3d] over 4 clips" in r.output and "stature: 1.79 [1.79, 1.79] m" in r.output
    assert "left/right consistency (toes/nose): 100.0% [100.0%, 100.0%]" in r.output


def test_cli_ingest_exit_codes_strict_and_force(raw, tmp_path):
    """0 with clips; 1 when no clip comes out (all quarantined) or, with --strict, when any
    item is quarantined (then nothing is written); 2 when --out holds a user's files, unless --force."""
    import shutil
    from click.testing import CliRunner
    from olympia.cli import main
    from olympia.store import ClipStore
    bad = tmp_path / "kimore"
    shutil.copytree(raw["kimore"], bad)
    victim = next((bad / "GPP/Stroke/S_ID2/Es3/Raw").glob("JointPosition*.csv"))
    victim.write_text("not,a,kinect,file\n")
    run = lambda *args: CliRunner().invoke(main, ["ingest", "kimore", str(bad), *args, "--quiet"])  # noqa: E731
    r = run("--out", str(tmp_path / "strict"), "--strict")
    assert r.exit_code == 1 and "--strict: 1 item(s) quarantined" in r.output
    assert not (tmp_path / "strict").exists()
    r = run("--out", str(tmp_path / "lenient"))
    assert r.exit_code == 0 and len(ClipStore(tmp_path / "lenient")) == 2
    for f in bad.rglob("JointPosition*.csv"):
        f.write_text("not,a,kinect,file\n")
    r = run("--out", str(tmp_path / "none"))
    assert r.exit_code == 1 and "no clips produced (3 quarantined)" in r.output
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    r = CliRunner().invoke(main, ["ingest", "kimore", str(raw["kimore"]), "--out", str(user), "--quiet"])
    assert r.exit_code == 2 and "is not empty" in r.output and (user / "notes.txt").exists()
    r = CliRunner().invoke(main, ["ingest", "kimore", str(raw["kimore"]), "--out", str(user), "--quiet", "--force"])
    assert r.exit_code == 0 and len(ClipStore(user)) == 3


def test_cli_ingest_mixed_source_keeps_segments_beside_the_store(raw, tmp_path):
    """InfiniteRep with labelled and video-only folders: the segments JSON goes beside the
    store (the store's swap would delete it inside), and the command it suggests works on it."""
    from click.testing import CliRunner
    from olympia.cli import main
    from olympia.store import ClipStore
    out = tmp_path / "stores" / "infiniterep"
    r = CliRunner().invoke(main, ["ingest", "infiniterep", str(raw["infiniterep"]), "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    segments = tmp_path / "stores" / "infiniterep.segments.json"
    assert f"olympia pose --segments {segments}" in r.output
    assert [s.clip_id for s in load_segments_json(segments)] == ["infiniterep:legraise:000000"]
    assert len(ClipStore(out, verify=True)) == 2 and not ClipStore(out).problems()


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
    path = tmp_path / "train" / "s03" / "joints3d_25" / "squat.json"
    kp = np.asarray(json.loads(path.read_text())["joints3d_25"])
    swap = list(range(25))
    swap[1:4], swap[4:7], swap[11:14], swap[14:17] = [4, 5, 6], [1, 2, 3], [14, 15, 16], [11, 12, 13]
    path.write_text(json.dumps({"joints3d_25": kp[:, swap].tolist()}))
    with caplog.at_level("WARNING", logger="olympia.adapters"):
        clips = {c.id: c for c in ADAPTERS["fit3d"].iter_clips(tmp_path) if isinstance(c, Clip)}
    assert clips["fit3d:s03:squat"].extra["left_right_consistency"] == 0.0
    assert clips["fit3d:s04:squat"].extra["left_right_consistency"] == 1.0
    assert any("s03/joints3d_25/squat.json" in r.getMessage() and "mirrored" in r.getMessage()
               for r in caplog.records)


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
    lines[24 + 4] = lines[24 + 4].rstrip(",") + ",0.5"             # row 29 (after 24 blank lines): extra column
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
    assert "Es1/Raw/JointPositionE_ID1.csv" in text and "row 29: 101 columns where earlier rows have 100" in text


def test_listing_a_video_source_reads_no_video_bytes(raw, monkeypatch):
    """A build lists a video-only source's pending segments (Adapter.clips, one Rejected each): that must not
    sha256 every video; the pose stage hashes a video when it poses it."""
    import olympia.io
    hashed = []
    monkeypatch.setattr(olympia.io, "sha256_file", lambda path, *a: hashed.append(path) or "0" * 64)
    pending = list(ADAPTERS["repcount"].clips(raw["repcount"]))
    assert len(pending) == 5 and all(isinstance(p, Rejected) and p.field == "video" for p in pending)
    assert "olympia pose --segments" in pending[0].message and pending[0].where.endswith("train.csv, row 2")
    assert hashed == []


def test_adapters_import_without_docstrings():
    """`python -OO` strips docstrings: no adapter may build a field from one."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-OO", "-c", "import olympia.adapters as a; "
                        "assert a.ADAPTERS['fit3d'].verified"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
