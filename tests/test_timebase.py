"""The one timebase: hand-computed frame mappings (method.md §5: everything at 25 fps)."""
import numpy as np
import pytest

from olympia import timebase as tb


def test_fps_is_the_papers_25():
    assert tb.FPS == 25.0


def test_seconds_and_frames():
    assert tb.frame_to_seconds(50) == 2.0
    assert tb.seconds_to_frame(2.0) == 50
    assert tb.seconds_to_frame(0.04) == 1          # one frame = 40 ms
    assert tb.seconds_to_frame(3.0, fps=30) == 90
    assert tb.duration_seconds(1280) == 51.2       # the motion image's longest clip


def test_resampled_length_covers_the_same_span():
    # 101 frames at 50 fps span 2 s -> 51 frames at 25 fps (0, 0.04, ..., 2.0 s)
    assert tb.resampled_length(101, 50.0) == 51
    assert tb.resampled_length(100, 50.0) == 50    # span 1.98 s: last frame at 1.96 s
    assert tb.resampled_length(31, 30.0) == 26     # 1 s at 30 fps -> 26 frames at 25
    assert tb.resampled_length(0, 30.0) == 0


def test_resample_is_linear_in_time():
    x = np.arange(7, dtype=np.float64).reshape(7, 1, 1)      # value = source frame index
    out = tb.resample_to_fps(x, src_fps=50.0)                 # 7 frames at 50 -> 4 at 25
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [0, 2, 4, 6])
    out = tb.resample_to_fps(x, src_fps=10.0)                 # upsampling: 0.4 source frames per frame
    np.testing.assert_allclose(out[:4, 0, 0], [0, 0.4, 0.8, 1.2], atol=1e-6)
    assert out.shape[0] == 16                                 # floor(6 * 2.5) + 1


def test_resample_to_length_keeps_both_ends():
    x = np.arange(11, dtype=np.float64).reshape(11, 1)
    np.testing.assert_allclose(tb.resample_to_length(x, 6)[:, 0], [0, 2, 4, 6, 8, 10])


def test_rescale_frames_matches_resampling():
    # frame 100 at 50 fps is 2.0 s = frame 50 at 25 fps
    assert tb.rescale_frames([100], 50.0).tolist() == [50]
    assert tb.rescale_frames([45], 30.0).tolist() == [38]       # 1.5 s -> 37.5 -> round half even 38
    assert tb.rescale_frames([1000], 50.0, n_dst=40).tolist() == [40]


def test_rescale_rep_bounds_rejects_a_collapsed_rep():
    np.testing.assert_array_equal(tb.rescale_rep_bounds([[0, 100], [100, 200]], 100.0, 60),
                                  [[0, 25], [25, 50]])
    with pytest.raises(ValueError, match="rep 0"):
        tb.rescale_rep_bounds([[11, 12]], 100.0, 60)   # 110-120 ms -> frames 2.75, 3.0 -> both 3


def test_label_studio_range_convention():
    # Label Studio: 1-based, inclusive; a one-frame region has start == end
    assert tb.ls_range_to_frames(1, 1) == (0, 1)
    assert tb.ls_range_to_frames(251, 1000) == (250, 1000)
    assert tb.frames_to_ls_range(250, 1000) == {"start": 251, "end": 1000}
