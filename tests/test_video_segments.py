"""Segments JSON files (olympia.video.segments): the three formats as `olympia.segment.Segment`s
on the 25 fps timeline, checked by hand against a generated 30 fps video."""
from __future__ import annotations

import json

import ffmpeg
import pytest

from olympia.errors import SourceFormatError
from olympia.segment import Segment
from olympia.video.segments import load_any_segments, load_segments_json, write_segments_json


@pytest.fixture(scope="module")
def video30(tmp_path_factory):
    """4 s at 30 fps (120 frames) = 100 frames on the 25 fps timeline."""
    path = tmp_path_factory.mktemp("v") / "set.mp4"
    ffmpeg.input("testsrc=size=64x48:rate=30:d=4", f="lavfi").output(
        str(path), vcodec="libx264", pix_fmt="yuv420p").overwrite_output().run(quiet=True)
    return path


def test_work_items_round_trip_and_reach_25fps_through_the_probe(video30, tmp_path):
    # native frames 60..120 of 30 fps = 2 s .. 4 s = 25 fps frames 50..100; reps at 60-90, 90-120
    seg = Segment(str(video30), 60, None, fps=None, label_raw="squat", reps=2,
                  rep_bounds=[[60, 90], [90, 120]], clip_id="src:a", source="src", subject="a",
                  split_group="src:a", provenance={"source_file": "set.mp4", "license": "x"})
    path = write_segments_json([seg], tmp_path / "segments.json")
    assert json.loads(path.read_text())["format_version"] == 2
    assert load_segments_json(path) == [seg]
    [at25] = load_any_segments(path)
    assert (at25.start_frame, at25.end_frame, at25.fps) == (50, 100, 25.0)
    assert at25.clip_rep_bounds().tolist() == [[0, 25], [25, 50]]
    assert (at25.clip_id, at25.source, at25.split_group) == ("src:a", "src", "src:a")


def test_former_work_items_are_still_read(video30, tmp_path):
    old = {"clip_id": "repcount:train:a", "source": "repcount", "subject": "a", "video": str(video30),
           "label_raw": "squat", "camera": None, "start_frame": 0, "end_frame": None,
           "start_s": None, "end_s": None, "reps": 1, "rep_bounds": [[30, 60]], "split_group": "",
           "provenance": {}, "extra": {}}
    in_seconds = dict(old, clip_id="repcount:train:b", start_frame=None, start_s=1.0, end_s=2.0,
                      rep_bounds=[])
    path = tmp_path / "v1.json"
    path.write_text(json.dumps({"format_version": 1, "segments": [old, in_seconds]}))
    a, b = load_any_segments(path)
    assert (a.start_frame, a.end_frame, a.rep_bounds) == (0, 100, [[25, 50]])   # 1 s .. 2 s
    assert a.split_group == "repcount:a"                                         # the former default
    assert (b.start_frame, b.end_frame) == (25, 50)


def test_an_unreadable_video_stays_an_item_the_pose_stage_rejects(tmp_path):
    seg = Segment(str(tmp_path / "gone.mp4"), 0, None, fps=None, clip_id="s:x", source="s")
    [item] = load_any_segments(write_segments_json([seg], tmp_path / "s.json"))
    assert (item.clip_id, item.start_frame, item.end_frame) == ("s:x", 0, 1)
    assert "no such file" in item.extra["segment_error"]
    with pytest.raises(ValueError, match="own rate"):
        seg.at_fps(25.0)


def test_simple_list_rep_bounds_are_relative_to_the_set(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"video": "a.mp4", "start_frame": 100, "end_frame": 200, "reps": 2,
                                 "rep_bounds": [[0, 50], [50, 100]], "clip_id": "a-1"}]))
    [seg] = load_any_segments(path)
    assert seg.video == str(tmp_path / "a.mp4") and seg.rep_bounds == [[100, 150], [150, 200]]
    assert seg.clip_rep_bounds().tolist() == [[0, 50], [50, 100]] and seg.name == "a-1"
    path.write_text(json.dumps([{"video": "a.mp4", "start_frame": 0, "end_frame": 9, "rep_bounds": [[1]]}]))
    with pytest.raises(SourceFormatError, match="row 0.*rep_bounds"):
        load_any_segments(path)


def test_unknown_format_version_names_the_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format_version": 3, "segments": []}))
    with pytest.raises(SourceFormatError, match="s.json.*format_version 2"):
        load_any_segments(path)
