"""Bad input: each corruption becomes a Rejected record naming the file (and row) while the
other records of the same release still come through; a wrong layout names the missing path."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from olympia.adapters import ADAPTERS
from olympia.errors import LayoutError, SourceFormatError
from olympia.schema import Clip, Rejected
from olympia.segment import Segment
from olympia.video.segments import load_segments_json
from tests import raw_fixtures as rf


def _split(items):
    items = list(items)
    return ([i for i in items if isinstance(i, (Clip, Segment))],
            [i for i in items if isinstance(i, Rejected)])


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_wrong_layout_names_the_expected_path(name, tmp_path):
    (tmp_path / "README.txt").write_text("not a release")
    a = ADAPTERS[name]
    with pytest.raises(LayoutError, match="expected"):
        list(a.iter_clips(tmp_path) if a.list_clips else a.iter_segments(tmp_path))


def test_fit3d_truncated_json_bounds_outside_and_mm_units(tmp_path):
    rf.write_fit3d(tmp_path)
    s03 = tmp_path / "train" / "s03"
    text = (s03 / "joints3d_25" / "squat.json").read_text()
    (s03 / "joints3d_25" / "squat.json").write_text(text[: len(text) // 2])        # truncated
    ann = json.loads((s03 / "rep_ann.json").read_text())
    ann["warmup_7"] = [10, 60, 5000]                                                # past the end
    (s03 / "rep_ann.json").write_text(json.dumps(ann))
    s04 = tmp_path / "train" / "s04" / "joints3d_25" / "squat.json.gz"
    doc = json.loads(gzip.decompress(s04.read_bytes()))
    s04.write_bytes(gzip.compress(json.dumps({"joints3d_25": (np.asarray(doc["joints3d_25"]) * 1000).tolist()}).encode()))  # mm
    good, bad = _split(ADAPTERS["fit3d"].iter_clips(tmp_path))
    assert [c.id for c in good] == ["fit3d:s03:walk_the_box"]
    msgs = {r.clip_id: (r.where, r.message) for r in bad}
    assert msgs["fit3d:s03:squat"][0].endswith("squat.json") and "not valid JSON" in msgs["fit3d:s03:squat"][1]
    assert msgs["fit3d:s03:warmup_7"][0].endswith("rep_ann.json") and "5000" in msgs["fit3d:s03:warmup_7"][1]
    assert "standing height 1.79e+03" in msgs["fit3d:s04:squat"][1]


def test_fit3d_nan_frames_are_filled_or_rejected_with_counts(tmp_path):
    rf.write_fit3d(tmp_path)
    d = tmp_path / "train" / "s03" / "joints3d_25"
    few = json.loads((d / "squat.json").read_text())
    kp = np.asarray(few["joints3d_25"])
    kp[50] = np.nan                                                  # one frame: interpolated
    (d / "squat.json").write_text(json.dumps({"joints3d_25": kp.tolist()}).replace("NaN", "NaN"))
    many = np.asarray(json.loads((d / "warmup_7.json").read_text())["joints3d_25"])
    many[20:150] = np.nan                                            # most frames: rejected
    (d / "warmup_7.json").write_text(json.dumps({"joints3d_25": many.tolist()}))
    good, bad = _split(ADAPTERS["fit3d"].iter_clips(tmp_path))
    squat = next(c for c in good if c.id == "fit3d:s03:squat")
    assert 0 < squat.gap_filled_fraction < 0.02 and np.isfinite(squat.keypoints).all()
    (r,) = [r for r in bad if r.clip_id == "fit3d:s03:warmup_7"]
    assert "frames hold NaN" in r.message and "first: frame 10" in r.message


def test_mmfit_bad_rows_and_zero_length_sets(tmp_path):
    rf.write_mmfit(tmp_path)
    labels = tmp_path / "w01" / "w01_labels.csv"
    labels.write_text(labels.read_text() + "700,800,5\n900,900,3,squats\n1,2,3,squats,extra\n"
                      "5000,5100,4,squats\n")
    good, bad = _split(ADAPTERS["mmfit"].iter_clips(tmp_path))
    assert len(good) == 3                                            # the fixture's sets survive
    where = sorted(r.where.rsplit(", ", 1)[1] for r in bad)
    assert where == ["row 3", "row 4", "row 5", "row 6"]
    text = " | ".join(r.message for r in bad)
    assert "got 3" in text and "got 5" in text and "start < end" in text and "select 0 rows" in text


def test_a_label_with_no_words_is_quarantined_naming_the_file(tmp_path):
    rf.write_mmfit(tmp_path)
    labels = tmp_path / "w01" / "w01_labels.csv"
    labels.write_text(labels.read_text().replace("lunges", "!!!"))
    good, bad = _split(ADAPTERS["mmfit"].iter_clips(tmp_path))
    assert sorted(c.label for c in good) == ["squat", "squat"]
    [r] = bad
    assert r.where.endswith("w01_pose_3d.npy") and r.field == "label_raw"
    assert "'!!!' normalizes to nothing" in r.message


def test_mmfit_binary_labels_and_wrong_pose_shape(tmp_path):
    rf.write_mmfit(tmp_path)
    (tmp_path / "w01" / "w01_labels.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    np.save(tmp_path / "w09" / "w09_pose_3d.npy", np.zeros((3, 10, 34)))
    good, bad = _split(ADAPTERS["mmfit"].iter_clips(tmp_path))
    assert not good
    msgs = [r.message for r in bad]
    assert any("binary" in m for m in msgs) and any("(3, 10, 34)" in m for m in msgs)


def test_kimore_row_with_missing_column_and_binary_csv(tmp_path):
    rf.write_kimore(tmp_path)
    f = next((tmp_path / "CG/Expert/E_ID1/Es1/Raw").glob("JointPosition*.csv"))
    lines = f.read_text().splitlines()
    lines[24 + 6] = ",".join(lines[24 + 6].rstrip(",").split(",")[:-1])   # row 31: 99 columns
    f.write_text("\n".join(lines) + "\n")
    g = next((tmp_path / "GPP/Stroke/S_ID2/Es3/Raw").glob("JointPosition*.csv"))
    g.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe")
    good, bad = _split(ADAPTERS["kimore"].iter_clips(tmp_path))
    assert [c.extra["exercise"] for c in good] == ["Es5"]
    msgs = {r.where.split("/")[-3]: r.message for r in bad}           # .../Es1/Raw/JointPosition*.csv
    assert msgs["Es1"].startswith("row 31: 99 columns where earlier rows have 100 (fix the file")
    assert "binary" in msgs["Es3"] or "columns" in msgs["Es3"]


def test_uiprmd_missing_angles_and_short_row(tmp_path):
    rf.write_uiprmd(tmp_path)
    base = tmp_path / "Segmented Movements" / "Kinect"
    (base / "Angles" / "m01_s02_e01_angles.txt").unlink()
    p = base / "Positions" / "m05_s01_e02_positions.txt"
    lines = p.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:65])
    p.write_text("\n".join(lines) + "\n")
    good, bad = _split(ADAPTERS["uiprmd"].iter_clips(tmp_path))
    assert sorted(c.id for c in good) == ["uiprmd:kinect:m01:s01:e01", "uiprmd:kinect:m01:s01:e01:inc",
                                          "uiprmd:vicon:m01:s01:e01", "uiprmd:vicon:m01:s01:e01:inc"]
    msgs = {r.where.rsplit("/", 1)[1]: r.message for r in bad}
    assert "m01_s02_e01_angles.txt is missing" in msgs["m01_s02_e01_positions.txt"]
    assert msgs["m05_s01_e02_positions.txt"].startswith("row 3: 65 columns, expected 66 (22 joints × 3)")


def test_infiniterep_truncated_json_and_decreasing_counts(tmp_path):
    rf.write_infiniterep(tmp_path)
    d = tmp_path / "InfinityAI_InfiniteRep_squat_v1.0" / "data"
    text = (d / "000000.json").read_text()
    (d / "000000.json").write_text(text[:1000])
    doc = json.loads((d / "000001.json").read_text())
    doc["images"][40]["rep_count"] = 0.0
    doc["images"][60]["rep_count"] = 0.5                    # goes back below 1
    (d / "000001.json").write_text(json.dumps(doc))
    good, bad = _split(ADAPTERS["infiniterep"].iter_clips(tmp_path))
    assert not good and len(bad) == 2
    assert "not valid JSON" in bad[0].message and bad[0].where.endswith("000000.json")
    assert "decreases" in bad[1].message


def test_repcount_bad_rows_missing_video_and_not_a_repcount_csv(tmp_path):
    rf.write_repcount(tmp_path)
    train = tmp_path / "annotation" / "train.csv"
    train.write_text(train.read_text() + "2,squat,gone.mp4,1,0,10,,,,,,\n"
                     "3,squat,stu1_10.mp4,,,,,,,,,\n4,squat,stu1_10.mp4,1,0,x,,,,,,\n"
                     "5,squat,stu1_10.mp4,1,0,10,,,,,,,,,\n")
    (tmp_path / "annotation" / "test.csv").write_text("a,b\n1,2\n")
    good, bad = _split(ADAPTERS["repcount"].iter_segments(tmp_path))
    assert {s.clip_id for s in good} == {"repcount:train:stu1_10", "repcount:train:train12",
                                         "repcount:valid:val3"}
    msgs = {r.where.rsplit("/", 1)[1]: r.message for r in bad}
    assert "gone.mp4 not found" in msgs["train.csv, row 4"]
    assert "empty count" in msgs["train.csv, row 5"]
    assert "non-numeric L cell" in msgs["train.csv, row 6"]
    assert "cells beyond the header" in msgs["train.csv, row 7"]
    assert "not a RepCount CSV" in msgs["test.csv"]


def test_uco_marker_file_that_is_not_numbers_is_reported(tmp_path):
    rf.write_uco(tmp_path)
    (tmp_path / "data" / "S02" / "elbow_flexion_left" / "p3d.txt").write_text("<html>oops</html>\n")
    segs = [s for s in ADAPTERS["uco"].iter_segments(tmp_path) if s.subject == "S02"]
    assert segs and all("p3d.txt: not numeric rows" in s.extra["marker_check"] for s in segs)


def test_segments_json_rejects_unknown_format(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"format_version": 99, "segments": []}))
    with pytest.raises(SourceFormatError, match="format_version"):
        load_segments_json(p)
    p.write_text('{"format_version": 1, "segments": [')
    with pytest.raises(SourceFormatError, match="not valid JSON"):
        load_segments_json(p)


def test_fit3d_json_that_is_not_a_joints_file_and_too_few_boundaries(tmp_path):
    rf.write_fit3d(tmp_path)
    s03 = tmp_path / "train" / "s03"
    cam = s03 / "camera_parameters" / "58860488" / "squat.json"
    (s03 / "joints3d_25" / "squat.json").write_text(cam.read_text())      # camera JSON, joints name
    ann = json.loads((s03 / "rep_ann.json").read_text())
    ann["warmup_7"] = [10]                                                 # one boundary: zero reps
    (s03 / "rep_ann.json").write_text(json.dumps(ann))
    good, bad = _split(ADAPTERS["fit3d"].iter_clips(tmp_path))
    assert {c.id for c in good} == {"fit3d:s03:walk_the_box", "fit3d:s04:squat"}
    msgs = {r.clip_id: r.message for r in bad}
    assert "no 'joints3d_25' key" in msgs["fit3d:s03:squat"]
    assert "boundaries [10] must be >= 2 increasing frames" in msgs["fit3d:s03:warmup_7"]


def test_infiniterep_single_frame_set_is_rejected(tmp_path):
    rf.write_infiniterep(tmp_path)
    d = tmp_path / "InfinityAI_InfiniteRep_squat_v1.0" / "data"
    doc = json.loads((d / "000001.json").read_text())
    doc["images"], doc["annotations"] = doc["images"][:1], doc["annotations"][:1]
    (d / "000001.json").write_text(json.dumps(doc))
    good, bad = _split(ADAPTERS["infiniterep"].iter_clips(tmp_path))
    assert [c.id for c in good] == ["infiniterep:squat:000000"]
    assert bad[0].where.endswith("000001.json") and "1 images; a set needs at least 2 frames" in bad[0].message


def test_kinect_corrupt_repetition_and_collapsed_track_are_quarantined(tmp_path):
    """UI-PRMD Kinect: a repetition whose thigh changes length from frame to frame (as the full
    release's corrupt m03_s04_e09, a bone varying by 96 %) fails the bone-length check; a
    KIMORE track at half scale (standing height 1.794 / 2 = 0.897 m, a collapsed track) fails the stature check."""
    rf.write_uiprmd(tmp_path / "uiprmd")
    pos = tmp_path / "uiprmd/Segmented Movements/Kinect/Positions/m05_s01_e02_positions.txt"
    rows = np.loadtxt(pos, delimiter=",")
    shin = slice(3 * 19, 3 * 19 + 3)      # right lower leg = the knee, its offset from the hip (cm)
    rows[::10, shin] *= 30.0                                  # one frame in ten: the thigh 30x
    np.savetxt(pos, rows, fmt="%.6f", delimiter=",")
    bad = [r for r in ADAPTERS["uiprmd"].iter_clips(tmp_path / "uiprmd") if isinstance(r, Rejected)]
    assert [r.where for r in bad] == ["Segmented Movements/Kinect/Positions/m05_s01_e02_positions.txt"]
    assert "implausible skeleton: bone [1, 2] length varies by" in bad[0].message

    rf.write_kimore(tmp_path / "kimore")
    f = next((tmp_path / "kimore/CG/Expert/E_ID1/Es5/Raw").glob("JointPosition*.csv"))
    half = [",".join(f"{float(v) * 0.5:.6f}" if v else "" for v in line.split(","))
            for line in f.read_text().splitlines()]
    f.write_text("\n".join(half) + "\n")
    bad = [r for r in ADAPTERS["kimore"].iter_clips(tmp_path / "kimore") if isinstance(r, Rejected)]
    assert len(bad) == 1 and bad[0].where.endswith("Es5/Raw/JointPositionE_ID1.csv")
    assert "standing height 0.897 is not in [1.0, 2.3] m" in bad[0].message   # 1.794 m / 2


def test_repcount_name_cell_cannot_point_outside_raw_dir(tmp_path):
    """A `name` cell is a file name inside video/<split>/: '../' or an absolute path is refused
    even when the file it names exists."""
    rf.write_repcount(tmp_path / "rc")
    (tmp_path / "secret.mp4").write_bytes(b"x")
    train = tmp_path / "rc" / "annotation" / "train.csv"
    train.write_text(train.read_text() + "2,squat,../../../secret.mp4,1,0,10,,,,,,\n"
                     f"3,squat,{tmp_path / 'secret.mp4'},1,0,10,,,,,,\n")
    good, bad = _split(ADAPTERS["repcount"].iter_segments(tmp_path / "rc"))
    assert all("secret" not in s.video for s in good) and len(good) == 5
    assert [(r.where, r.field) for r in bad] == [("annotation/train.csv, row 4", "video"),
                                                 ("annotation/train.csv, row 5", "video")]
    assert all("is not a video file name inside" in r.message for r in bad)
