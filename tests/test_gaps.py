"""The one gap filler (olympia.gaps), checked against hand-computed values."""
from __future__ import annotations

import numpy as np

from olympia.gaps import fill_gaps, missing_runs


def ramp(t):
    """(t, 17, 3) keypoints whose every coordinate equals the frame index."""
    return np.repeat(np.arange(t, dtype=np.float32)[:, None, None], 17, 1).repeat(3, 2)


def test_missing_runs():
    m = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    assert missing_runs(m) == [(0, 2), (4, 5), (6, 9)]
    assert missing_runs(np.zeros(3, bool)) == []


def test_interior_gap_is_linear_between_neighbours():
    kp = ramp(10) * 2.0          # frame i holds 2i
    kp[3:6] = np.nan              # 3 missing frames between frame 2 (4.0) and frame 6 (12.0)
    fill = fill_gaps(kp, max_gap=3)
    np.testing.assert_allclose(fill.keypoints[3:6, 0, 0], [6.0, 8.0, 10.0])
    assert fill.filled.tolist() == [False] * 3 + [True] * 3 + [False] * 4
    assert fill.filled_fraction == 0.3 and not fill.missing.any()


def test_single_joint_nan_makes_the_frame_missing():
    kp = ramp(5)
    kp[2, 7, 1] = np.nan
    fill = fill_gaps(kp, max_gap=1)
    np.testing.assert_allclose(fill.keypoints[2], 2.0)  # mean of frames 1 and 3
    assert fill.filled.sum() == 1


def test_edges_hold_the_nearest_detected_frame():
    kp = ramp(8)
    kp[:2] = np.nan
    kp[6:] = np.nan
    fill = fill_gaps(kp, max_gap=2)
    np.testing.assert_allclose(fill.keypoints[:2, 3, 2], [2.0, 2.0])
    np.testing.assert_allclose(fill.keypoints[6:, 3, 2], [5.0, 5.0])
    assert fill.filled_fraction == 0.5


def test_runs_longer_than_max_gap_stay_missing():
    kp = ramp(20)
    kp[5:10] = np.nan            # 5 frames > max_gap 4
    kp[12:14] = np.nan           # 2 frames: filled
    fill = fill_gaps(kp, max_gap=4)
    assert fill.missing.sum() == 5 and np.isnan(fill.keypoints[5:10]).all()
    assert fill.filled.sum() == 2 and fill.longest_unfilled_run == 5


def test_all_missing_stays_missing():
    fill = fill_gaps(np.full((4, 17, 3), np.nan, np.float32))
    assert fill.missing.all() and not fill.filled.any()


def test_without_max_gap_every_run_is_filled_as_the_adapters_want():
    kp = ramp(10)[:, :2].astype(np.float64)    # (10, 2, 3) float64 in: float32 out
    kp[0] = np.nan                              # start: held from frame 1
    kp[3:8, 1, 0] = np.nan                      # 5 frames between frame 2 and frame 8
    fill = fill_gaps(kp, max_gap=None)
    assert fill.keypoints.dtype == np.float32 and not fill.missing.any()
    np.testing.assert_allclose(fill.keypoints[:, 0, 0], [1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert fill.filled.sum() == 6 and fill.filled_fraction == 0.6
