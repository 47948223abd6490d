"""The one segment type and the one rep-bounds rule (hand-computed cases)."""
import numpy as np
import pytest

from olympia.segment import Segment, check_rep_bounds


def test_rep_bounds_rule():
    np.testing.assert_array_equal(check_rep_bounds([[0, 10], [10, 20]], 20, reps=2), [[0, 10], [10, 20]])
    assert check_rep_bounds([], 5).shape == (0, 2)          # unknown bounds are valid
    with pytest.raises(ValueError, match="rep 1 has start 12 >= end 12"):
        check_rep_bounds([[0, 10], [12, 12]], 20)
    with pytest.raises(ValueError, match=r"in \[0, 20\]"):
        check_rep_bounds([[0, 10], [10, 21]], 20)
    with pytest.raises(ValueError, match="overlap"):
        check_rep_bounds([[0, 10], [9, 15]], 20)
    with pytest.raises(ValueError, match="2 rep bound pairs but reps = 3"):
        check_rep_bounds([[0, 10], [10, 20]], 20, reps=3)
    with pytest.raises(ValueError, match="integer pairs"):
        check_rep_bounds([[0, "a"]], 20)


def test_rep_length_and_count_rules():
    """0.2 s is the shortest rep: 5 frames at 25 fps, 10 at 50; 500 reps in 21 frames and counts
    beyond int32 (the stored type) are refused; without fps only the order rules apply."""
    from olympia.segment import INT32_MAX, check_rep_count, min_rep_frames
    assert (min_rep_frames(25.0), min_rep_frames(50.0), min_rep_frames(6.0)) == (5, 10, 2)
    check_rep_bounds([[0, 5], [5, 10]], 10, reps=2, fps=25.0)
    with pytest.raises(ValueError, match=r"rep 1 \[5, 9\) lasts 4 frame\(s\) at 25 fps"):
        check_rep_bounds([[0, 5], [5, 9]], 10, fps=25.0)
    check_rep_bounds([[0, 5], [5, 9]], 10)
    with pytest.raises(ValueError, match="500 reps cannot fit in 21 frames"):
        check_rep_count(500, 21, 25.0)
    check_rep_count(4, 21, 25.0)                             # 4 × 5 = 20 frames
    with pytest.raises(ValueError, match="int32"):
        check_rep_count(3_000_000_000, 10**10, 25.0)
    assert INT32_MAX == 2_147_483_647


def test_clip_validation_refuses_impossible_counts():
    from factories import make_clip
    from olympia.errors import ClipValidationError
    from olympia.schema import validate_clip
    clip = make_clip(0, n_frames=21, reps=None)
    clip.reps = 500
    with pytest.raises(ClipValidationError, match="field 'reps'.*500 reps cannot fit in 21 frames"):
        validate_clip(clip)
    clip.reps = 3_000_000_000
    with pytest.raises(ClipValidationError, match="field 'reps'.*int32"):
        validate_clip(clip)
    clip.reps = 4
    validate_clip(clip)


def test_segment_native_frames_to_the_25fps_timeline():
    # a RepCount-style set: frames 60..240 of a 30 fps video, reps at native frames
    seg = Segment("v.mp4", 60, 240, fps=30.0, reps=2, rep_bounds=[[60, 150], [150, 240]])
    at25 = seg.at_fps(25.0)
    assert (at25.start_frame, at25.end_frame, at25.fps) == (50, 200, 25.0)     # 2 s .. 8 s
    assert at25.rep_bounds == [[50, 125], [125, 200]]
    np.testing.assert_array_equal(at25.clip_rep_bounds(), [[0, 75], [75, 150]])
    assert (at25.start_s, at25.end_s) == (2.0, 8.0)


def test_open_end_takes_the_video_length():
    seg = Segment("v.mp4", 0, None, fps=50.0).at_fps(25.0, video_frames=300)
    assert (seg.start_frame, seg.end_frame, seg.n_frames) == (0, 300, 300)


def test_json_round_trip_and_unknown_keys():
    seg = Segment("v.mp4", 10, 20, label_raw="Squats", reps=1, rep_bounds=[[10, 20]],
                  provenance={"source_file": "v.mp4"}, extra={"k": 1})
    assert Segment.from_json(seg.to_json()) == seg
    with pytest.raises(ValueError, match="unknown segment keys"):
        Segment.from_json({**seg.to_json(), "surprise": 1})
    assert seg.name == "v-10-20"
