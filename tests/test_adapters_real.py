"""Adapters on the real release files in ../shared/realdata (skipped with the reason when
absent). Never copied: tests build the release layout in tmp with symlinks."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from olympia.adapters import ADAPTERS, mmfit, repcount, uiprmd
from olympia.adapters.common import plausibility_numbers
from olympia.skeleton import bone_lengths
from olympia.io import sha256_file
from olympia.schema import Clip, Rejected
from olympia.segment import Segment
from tests import raw_fixtures as rf

UIPRMD_PAIRS = [f"m{m:02d}_s01_e01" for m in range(1, 6)]


# ------------------------------------------------------------------------- MM-Fit labels
def test_every_real_mmfit_labels_csv_parses(realdata):
    files = sorted(realdata("mmfit").glob("w*/w*_labels.csv"))
    assert len(files) == 21
    total = 0
    for path in files:
        rows, bad = mmfit.read_labels(path)
        assert not bad, [b.message for b in bad]
        with open(path, newline="") as f:                       # independent read of the same cells
            cells = [r for r in csv.reader(f) if r]
        assert [(int(a), int(b), int(c), d) for a, b, c, d in cells] == [r[:4] for r in rows]
        assert [r.line for r in rows] == list(range(1, len(cells) + 1))
        assert all(r.exercise in mmfit.EXERCISES and r.start < r.end and r.reps > 0 for r in rows)
        total += len(rows)
    assert total == 616


def test_real_mmfit_labels_become_clips_with_a_fixture_pose(realdata, tmp_path):
    """w00's real label rows drive the adapter over a synthetic pose_3d covering their frames."""
    w = tmp_path / "w00"
    w.mkdir()
    (w / "w00_labels.csv").symlink_to(realdata("mmfit", "w00", "w00_labels.csv"))
    rows, _ = mmfit.read_labels(w / "w00_labels.csv")
    n = max(r.end for r in rows) + 10
    body = rf.squat_body(n, 30.0) * 1000.0                     # mm, z up
    arr = np.zeros((3, n, 18))
    arr[:, :, 0] = np.arange(n)
    arr[:, :, 1:] = np.moveaxis(body[:, rf.MMFIT_FROM_H36M], -1, 0)
    np.save(w / "w00_pose_3d.npy", arr)
    out = list(ADAPTERS["mmfit"].iter_clips(tmp_path))
    clips = [c for c in out if isinstance(c, Clip)]
    assert len(clips) == len(rows) and not [r for r in out if isinstance(r, Rejected)]
    for c, (start, end, reps, ex, _line) in zip(clips, rows):
        assert c.reps == reps and c.label_raw == ex and c.extra["mmfit_split"] == "unseen"
        assert c.n_frames == (end - start) * 25 // 30 + 1


def test_real_non_pose_npy_named_pose_3d_is_rejected(realdata, tmp_path):
    """w00_sw_l_hr.npy (heart rate, (2050, 3)) under the pose name: quarantined, shape named."""
    w = tmp_path / "w00"
    w.mkdir()
    (w / "w00_labels.csv").symlink_to(realdata("mmfit", "w00", "w00_labels.csv"))
    (w / "w00_pose_3d.npy").symlink_to(realdata("mmfit", "w00", "w00_sw_l_hr.npy"))
    out = list(ADAPTERS["mmfit"].iter_clips(tmp_path))
    rows, _ = mmfit.read_labels(w / "w00_labels.csv")
    assert len(out) == len(rows) == 30 and all(isinstance(r, Rejected) for r in out)   # one per set
    assert [r.where.rsplit("row ", 1)[1] for r in out] == [str(r.line) for r in rows]
    assert all("w00_pose_3d.npy" in r.message and "(2050, 3)" in r.message for r in out)


# ------------------------------------------------------------------------- RepCount
@pytest.fixture
def repcount_raw(realdata, tmp_path):
    for split, name in (("train", "train"), ("val", "valid"), ("test", "test")):
        src = realdata("repcount", f"annotation_{split}.csv")
        (tmp_path / "annotation").mkdir(exist_ok=True)
        (tmp_path / "annotation" / f"{name}.csv").symlink_to(src)
        vdir = tmp_path / "video" / name
        vdir.mkdir(parents=True)
        with open(src, newline="") as f:
            for row in csv.DictReader(f):
                (vdir / row["name"]).write_bytes(b"")         # placeholder: segments only list videos
    return tmp_path


def test_every_real_repcount_row_is_read_and_counts_match_the_csv(repcount_raw, realdata):
    out = list(ADAPTERS["repcount"].iter_segments(repcount_raw))
    assert len(out) == 758 + 131 + 152                       # every data row of the three CSVs
    rejected = [r for r in out if isinstance(r, Rejected)]
    assert [(Path(r.where.split(",")[0]).name, r.where.split("row ")[1]) for r in rejected] == [("train.csv", "587")]
    assert "stu6_44.mp4: empty count" in rejected[0].message
    segs = {(s.extra["csv"], s.extra["csv_row"]): s for s in out if isinstance(s, Segment)}
    for name in ("train", "valid", "test"):
        with open(repcount_raw / "annotation" / f"{name}.csv", newline="") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                if not row["count"]:
                    continue
                s = segs[(f"{name}.csv", line)]
                assert s.reps == int(float(row["count"])) and Path(s.video).name == row["name"]
                assert s.label_raw in set(repcount.CLASS_ALIASES.values())
                if s.rep_bounds:
                    flat = [int(float(row[f"L{i}"])) for i in range(1, 2 * s.reps + 1)]
                    assert [v for b in s.rep_bounds for v in b] == flat
                    assert not (row.get(f"L{2 * s.reps + 1}") or "").strip()
                elif s.reps:
                    assert s.extra["rep_bounds_dropped"]
    dropped = {s.extra["csv_row"]: s.extra["rep_bounds_dropped"] for s in segs.values()
               if s.extra["csv"] == "train.csv" and not s.rep_bounds}
    assert dropped[403] == "count 6 but 5 start/end pairs in L1..L10"      # test118.mp4
    assert "start 1186 >= end 1186" in dropped[216]                         # stu6_5.mp4


def test_real_repcount_counts_agree_with_the_workoutdetector_merge(repcount_raw, realdata):
    """annotation.csv is an independent (cleaned) merge of the same labels: counts must agree."""
    merged = {}
    with open(realdata("repcount", "annotation.csv"), newline="") as f:
        for row in csv.DictReader(f):
            merged[(row["split"], row["name"])] = float(row["count"])
    split_of = {"train": "train", "valid": "val", "test": "test"}
    checked = 0
    for s in ADAPTERS["repcount"].iter_segments(repcount_raw):
        key = (split_of[s.extra["repcount_split"]], Path(s.video).name) if isinstance(s, Segment) else None
        if key in merged:
            assert s.reps == merged[key], key
            checked += 1
    assert checked > 800


# ------------------------------------------------------------------------- UI-PRMD
@pytest.fixture
def uiprmd_real(realdata):
    pairs = {}
    for stem in UIPRMD_PAIRS:
        pos = uiprmd.read_matrix(realdata("uiprmd", f"{stem}_positions.txt"))
        ang = uiprmd.read_matrix(realdata("uiprmd", f"{stem}_angles.txt"))
        pairs[stem] = (pos, ang)
    return pairs


def _chain_with(pos, ang, seq, collar_own=True):
    """Independent chaining with scipy: `seq` is the intrinsic axis order of E (e.g. 'ZXY'
    = Rz·Rx·Ry), angle columns are (x, y, z)."""
    from scipy.spatial.transform import Rotation
    t = pos.shape[0]
    a = ang.reshape(t, 22, 3)
    col = {"X": 0, "Y": 1, "Z": 2}
    e = Rotation.from_euler(seq, a[..., [col[c] for c in seq]].reshape(-1, 3), degrees=True) \
        .as_matrix().reshape(t, 22, 3, 3)
    off = pos.reshape(t, 22, 3)
    out, g = np.empty_like(off), np.empty_like(e)
    out[:, 0], g[:, 0] = off[:, 0], e[:, 0]
    for j in range(1, 22):
        p = rf.UIPRMD_PARENTS[j]
        frame = e[:, p] if (collar_own and j in (6, 10)) else g[:, p]
        out[:, j] = out[:, p] + np.einsum("tij,tj->ti", frame, off[:, j])
        g[:, j] = frame @ e[:, j]
    return out


def _ankle_motion(world):       # cm: mean std over time of both ankles (feet stay put)
    return float(world[:, [16, 20]].std(axis=0).mean())


def _arm_asymmetry(world):      # cm: wrist distance after mirroring x about the waist
    w = world[:, 0]
    left, right = world[:, 9] - w, (world[:, 13] - w) * [-1, 1, 1]
    return float(np.linalg.norm(left - right, axis=-1).mean())


def test_uiprmd_adapter_chain_equals_independent_scipy_chain(uiprmd_real):
    for pos, ang in uiprmd_real.values():
        np.testing.assert_allclose(uiprmd.chain_positions(pos, ang), _chain_with(pos, ang, "ZXY"), atol=1e-6)


def test_uiprmd_rotation_order_chosen_on_the_data(uiprmd_real):
    """Rz·Rx·Ry keeps the ankles still (< 3 cm); the public port's Rz·Ry·Rx and every other
    order move them at least twice as much; the authors' collar rule makes arms symmetric."""
    chosen = np.mean([_ankle_motion(_chain_with(p, a, "ZXY")) for p, a in uiprmd_real.values()])
    assert chosen < 3.0
    for seq in ("ZYX", "XYZ", "XZY", "YXZ", "YZX"):
        other = np.mean([_ankle_motion(_chain_with(p, a, seq)) for p, a in uiprmd_real.values()])
        assert other > 2 * chosen, (seq, other, chosen)
    own = np.mean([_arm_asymmetry(_chain_with(p, a, "ZXY")) for p, a in uiprmd_real.values()])
    full = np.mean([_arm_asymmetry(_chain_with(p, a, "ZXY", collar_own=False)) for p, a in uiprmd_real.values()])
    assert own < 0.5 * full


def test_uiprmd_units_up_axis_and_sides_on_the_data(uiprmd_real):
    for stem, (pos, ang) in uiprmd_real.items():
        world = uiprmd.chain_positions(pos, ang)                 # file units, y up
        assert (world[:, 4, 1] > world[:, 0, 1]).all(), stem      # head above waist: y is up
        assert 130 < world[:, 5, 1].max() - world[:, [16, 20], 1].min() < 180, stem   # cm
        fwd = world[:, [17, 21]].mean(1) - world[:, [16, 20]].mean(1)       # foot -> toes
        fwd[:, 1] = 0
        left_dir = np.cross([0.0, 1.0, 0.0], fwd)                # up × forward = left
        side = np.einsum("ti,ti->t", world[:, 14] - world[:, 18], left_dir)
        # left upper leg on the left; inline lunge (m03) puts the hips nearly in line: 98%
        assert (side > 0).mean() > 0.95 and np.median(side) > 10, stem


def test_real_uiprmd_files_become_plausible_clips(realdata, tmp_path):
    for stem in UIPRMD_PAIRS:
        for kind in ("positions", "angles"):
            (tmp_path / f"{stem}_{kind}.txt").symlink_to(realdata("uiprmd", f"{stem}_{kind}.txt"))
    out = list(ADAPTERS["uiprmd"].iter_clips(tmp_path))
    assert [c.id for c in out] == [f"uiprmd:kinect:m{m:02d}:s01:e01" for m in range(1, 6)]
    for c in out:
        assert isinstance(c, Clip) and c.reps == 1
        n = plausibility_numbers(c.keypoints)
        assert 1.45 < n["stature"] < 1.75 and n["upright_fraction"] == 1.0
        assert c.provenance["sha256"] == sha256_file(realdata("uiprmd", c.provenance["source_file"]))


# ------------------------------------------------------------------------- InfiniteRep
def test_infiniterep_mapping_uses_real_armature_names(realdata):
    import json
    from olympia.adapters.infiniterep import ARMATURE_JOINTS
    bones = json.loads(realdata("infiniterep", "armature_connections.json").read_text())
    names = {n for bone in bones for n in bone}
    assert len(names) == 55 and set(ARMATURE_JOINTS) <= names
    assert set(rf.ARMATURE_FROM_H36M) <= names


def test_real_infiniterep_video_becomes_a_segment_at_24_fps(realdata, tmp_path):
    import cv2
    d = tmp_path / "InfinityAI_InfiniteRep_legraise_v1.0" / "data"
    d.mkdir(parents=True)
    video = realdata("infiniterep", "fitness-basic_000000.mp4")
    (d / "000000.mp4").symlink_to(video)
    segs = list(ADAPTERS["infiniterep"].iter_segments(tmp_path))
    assert len(segs) == 1 and segs[0].label_raw == "legraise"
    assert segs[0].provenance["source_file"] == "InfinityAI_InfiniteRep_legraise_v1.0/data/000000.mp4"
    assert "sha256" not in segs[0].provenance       # the pose stage hashes the video it poses
    cap = cv2.VideoCapture(os.fspath(video))
    try:
        assert cap.get(cv2.CAP_PROP_FPS) == ADAPTERS["infiniterep"].native_fps == 24.0
    finally:
        cap.release()


def test_real_params_json_under_a_label_name_is_rejected(realdata, tmp_path):
    """A real Infinity AI *_params.json (generation parameters) placed where the COCO label file
    belongs: quarantined as 'not a COCO-style InfiniteRep file', naming the file."""
    d = tmp_path / "InfinityAI_InfiniteRep_situp_v1.0" / "data"
    d.mkdir(parents=True)
    (d / "000004.json").symlink_to(realdata("infiniterep", "fitness-occlusion_00004_params.json"))
    (out,) = list(ADAPTERS["infiniterep"].iter_clips(tmp_path))
    assert isinstance(out, Rejected) and out.where.endswith("000004.json")
    assert "not a COCO-style InfiniteRep file" in out.message


# ------------------------------------------------------------------------- the real release layouts
def _link_tree(src: Path, dst: Path, names) -> None:
    """dst/<name> -> src/<name> symlinks (the real files are never copied)."""
    for name in names:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).symlink_to(src / name)


def test_real_fit3d_sample_gz_reps_and_sides(realdata, tmp_path):
    """A sample of subject s03 in the release layout (.json.gz): reps = len(rep_ann) - 1, rep
    bounds = the annotated boundaries at 25 fps, the sides as labelled, a plausible stature.
    The whole set (187 sequences) is measured by benchmarks/eval_real_sources.py."""
    import gzip
    import json
    root = realdata("fit3d")
    actions = ("squat", "dumbbell_biceps_curls", "warmup_7", "walk_the_box")
    _link_tree(root, tmp_path, ["train/s03/rep_ann.json"] +
               [f"train/s03/joints3d_25/{a}.json.gz" for a in actions])
    ann = json.loads((root / "train/s03/rep_ann.json").read_text())
    clips = {c.id: c for c in ADAPTERS["fit3d"].iter_clips(tmp_path)}
    assert set(clips) == {f"fit3d:s03:{a}" for a in actions}
    for a in actions:
        c = clips[f"fit3d:s03:{a}"]
        assert isinstance(c, Clip), c
        n = plausibility_numbers(c.keypoints)
        assert 1.5 < n["stature"] < 2.0 and n["bone_cv_max"] < 0.1 and c.extra["left_right_consistency"] > 0.9
        if a in ann:
            b = np.asarray(ann[a])
            assert c.reps == len(b) - 1 and c.n_frames == (b[-1] - b[0] - 1) // 2 + 1
            np.testing.assert_allclose(c.rep_bounds[:, 0], (b[:-1] - b[0]) / 2, atol=0.51)   # 50 -> 25 fps
            assert "rep_bounds_estimated" not in c.extra
    raw = json.loads(gzip.decompress((root / "train/s03/joints3d_25/squat.json.gz").read_bytes()))
    assert len(raw["joints3d_25"][0]) == 25
    assert clips["fit3d:s03:walk_the_box"].reps is None     # no rep_ann entry: count unknown


UIPRMD_SAMPLE = ["m01_s02_e01", "m02_s03_e02", "m07_s02_e03"]


def test_real_uiprmd_release_both_systems_agree(realdata, tmp_path):
    """Vicon (117 columns, markers, mm, 100 Hz) and Kinect (66, chained, cm, 30 Hz) of the same
    repetitions, correct and incorrect, .gz: both become clips; Vicon is mocap-plausible; the
    two agree on what moves, on the same side (a squat, a hurdle step, a shoulder abduction)."""
    from olympia.adapters.uiprmd import system_agreement
    root = realdata("uiprmd_release")
    names = []
    for stem in UIPRMD_SAMPLE:
        for folder, inc in (("Segmented Movements", ""), ("Incorrect Segmented Movements", "_inc")):
            for system in ("Vicon", "Kinect"):
                names += [f"{folder}/{system}/Positions/{stem}_positions{inc}.txt.gz",
                          f"{folder}/{system}/Angles/{stem}_angles{inc}.txt.gz"]
    _link_tree(root, tmp_path, names)
    clips = {c.id: c for c in ADAPTERS["uiprmd"].iter_clips(tmp_path)}
    assert len(clips) == 12 and all(isinstance(c, Clip) for c in clips.values())
    for cid, c in clips.items():
        system = c.extra["system"]
        assert cid.startswith(f"uiprmd:{system}:") and c.extra["incorrect"] == cid.endswith(":inc")
        assert c.source_fps == {"vicon": 100.0, "kinect": 30.0}[system] and c.reps == 1
        n = plausibility_numbers(c.keypoints)
        assert 1.5 < n["stature"] < 1.9 and n["upright_fraction"] == 1.0
        assert c.extra["left_right_consistency"] > 0.95
        if system == "vicon":
            assert n["bone_cv_max"] < 0.2 and n["asymmetry_max"] < 0.17
            vs = system_agreement(c.keypoints, clips[cid.replace(":vicon:", ":kinect:")].keypoints)
            assert vs["agree"], (cid, vs)
    assert system_agreement(clips["uiprmd:vicon:m02:s03:e02"].keypoints,
                            clips["uiprmd:kinect:m02:s03:e02"].keypoints)["one_sided"]   # hurdle step


def test_real_uiprmd_vicon_file_missing_a_marker_is_quarantined(realdata, tmp_path):
    """m06_s03_e01: the clavicle marker is lost (zeros) in all 228 frames: no rule can fill it."""
    name = "Segmented Movements/Vicon/Positions/m06_s03_e01_positions.txt.gz"
    _link_tree(realdata("uiprmd_release"), tmp_path, [name])
    [r] = list(ADAPTERS["uiprmd"].iter_clips(tmp_path))
    assert isinstance(r, Rejected) and r.where.endswith("m06_s03_e01_positions.txt.gz")
    assert "marker CLAV (column 19-21) is missing in 228 of 228 frames" in r.message


def test_real_kimore_exports(realdata):
    """The 4 real Kinect exports (flat, named by exercise; 24-64 leading blank lines, trailing
    commas): 4 plausible clips of 2 people; no counts, so reps stay null."""
    clips = list(ADAPTERS["kimore"].iter_clips(realdata("kimore")))
    assert len(clips) == 4 and all(isinstance(c, Clip) for c in clips), clips
    assert {c.subject for c in clips} == {"flat/copy1", "flat/copy2"}
    assert {c.extra["exercise"] for c in clips} == {"Es1", "Es2"}
    for c in clips:
        n = plausibility_numbers(c.keypoints)
        # Kinect v2 joint lengths vary: the same person reads 1.36 and 1.51 m in two exercises
        assert c.reps is None and 1.3 < n["stature"] < 2.0 and n["upright_fraction"] == 1.0


def test_real_visionfit_job(realdata):
    """The real job: 6 fps and UPPERCUT-LEFT from job.json, 4 reps as job.json's num_reps (the
    labels end on 3.92), world coordinates used; the K-matrix back-projection of the image
    coordinates lands within 1 cm of them (PROVENANCE: 3-7 mm)."""
    import json
    from olympia.adapters.infiniterep import lift_3d, read_coco
    root = realdata("visionfit")
    [c] = list(ADAPTERS["visionfit"].iter_clips(root))
    job = json.loads(next(root.glob("*/job.json")).read_text())["params"]
    assert isinstance(c, Clip) and c.source_fps == job["frame_rate"] == 6
    assert c.reps == job["num_reps"] == 4 and c.label_raw == "uppercut left"
    coco = read_coco(next(root.glob("*/labels.json")))
    assert coco["counts"][-1] < 4 and coco["count_key"] == "rep_count_from_start"
    world, _ = lift_3d(coco)
    coco["world"] = None
    cam, how = lift_3d(coco)
    assert how["lifted_from"] == "image+depth+K"
    # the camera frame differs from the world by a rigid motion: compare bone lengths
    assert np.abs(bone_lengths(world) - bone_lengths(cam)).max() < 0.02
    # the generator's joints are near-rigid (upper arm 5.7 %); at 6 fps an uppercut turns the
    # forearm far between frames, and linear resampling to 25 fps shortens it mid-way (10 %)
    assert (bone_lengths(world).std(0) / bone_lengths(world).mean(0)).max() < 0.07
    n = plausibility_numbers(c.keypoints)
    assert 1.4 < n["stature"] < 1.9 and n["bone_cv_max"] < 0.12


def test_real_mmfit_labels_without_pose_are_reported_row_by_row(realdata, tmp_path):
    """The real release here ships labels but no pose_3d: every labelled set is one quarantine
    entry naming its row and the missing file (616 sets over 21 workouts)."""
    for w in sorted(p.name for p in realdata("mmfit").glob("w*")):
        _link_tree(realdata("mmfit"), tmp_path, [f"{w}/{w}_labels.csv"])
    out = list(ADAPTERS["mmfit"].iter_clips(tmp_path))
    assert len(out) == 616 and all(isinstance(r, Rejected) for r in out)
    assert all(", row " in r.where and "pose_3d.npy is missing" in r.message for r in out)
