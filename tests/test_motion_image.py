"""Motion image (method.md §6) on skeletons whose image is computed by hand."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from olympia.motion_image import IMAGE_ROWS, motion_image, pad_motion_image, smooth_and_downsample


def static_pose(t=4):
    """Every joint still; the left leg (chain 1: root, l_hip, l_knee, l_ankle) along +z."""
    kp = np.zeros((t, 17, 3), np.float32)
    kp[:, 4] = (0, 0, 3)   # l_hip
    kp[:, 5] = (0, 0, 6)   # l_knee
    kp[:, 6] = (0, 0, 9)   # l_ankle
    return kp


def test_shape_is_320_by_ceil_half_t():
    for t in (2, 3, 7, 50, 1280):
        img = motion_image(np.zeros((t, 17, 3), np.float32))
        assert img.shape == (320, math.ceil(t / 2), 3) and img.dtype == np.float32


def test_chain_points_evenly_spaced_by_hand():
    # Chain 1 = rows 64..127; 64 points over 3 segments of 3 m: point p sits at z = 9 p / 63.
    img = motion_image(static_pose())
    expected = np.array([9 * p / 63 for p in range(64)], np.float32)
    np.testing.assert_allclose(img[64:128, 0, 2], expected, atol=1e-5)
    assert np.all(img[64:128, :, :2] == 0)
    # Chain 0 (root, spine, thorax, neck, head) all at the origin -> rows 0..63 are zero.
    assert np.all(img[:64] == 0)


def test_temporal_smoothing_window_3_and_even_frames_by_hand():
    # root x(t) = t^2 for T = 5: S'[0] = (0+1)/2, S'[2] = (1+4+9)/3, S'[4] = (9+16)/2.
    kp = np.zeros((5, 17, 3), np.float32)
    kp[:, 0, 0] = np.arange(5) ** 2
    img = motion_image(kp)
    np.testing.assert_allclose(img[0, :, 0], [0.5, 14 / 3, 12.5], rtol=1e-6)
    # Row 64 (chain 1, point 0) is the root too.
    np.testing.assert_allclose(img[64, :, 0], [0.5, 14 / 3, 12.5], rtol=1e-6)


def test_chain_order_rows_match_the_paper():
    kp = np.zeros((2, 17, 3), np.float32)
    kp[:, 16] = (1, 2, 3)   # r_wrist: last joint of chain 4 (thorax, r_shoulder, r_elbow, r_wrist)
    img = motion_image(kp)
    np.testing.assert_allclose(img[319, 0], (1, 2, 3))
    kp = np.zeros((2, 17, 3), np.float32)
    kp[:, 3] = (4, 5, 6)    # r_ankle: last joint of chain 2 (root, r_hip, r_knee, r_ankle)
    np.testing.assert_allclose(motion_image(kp)[191, 0], (4, 5, 6))


def test_other_fps_resampled_to_25():
    kp = np.zeros((50, 17, 3), np.float32)   # 1 s at 50 fps -> 25 frames -> 13 columns
    assert motion_image(kp, fps=50.0).shape[1] == 13


def test_padding_and_mask():
    img = np.ones((320, 100, 3), np.float32)
    padded, mask, resampled = pad_motion_image(img)
    assert padded.shape == (384, 640, 3) and mask.shape == (384, 640)
    assert mask.sum() == 320 * 100 and mask[:320, :100].all()
    assert padded[320:].sum() == 0 and padded[:, 100:].sum() == 0 and not resampled


def test_clips_longer_than_51_2_s_are_resampled_to_640_columns():
    img = np.zeros((320, 1000, 3), np.float32)
    img[:, :, 0] = np.linspace(0, 1, 1000)      # a ramp in time keeps its endpoints
    padded, mask, resampled = pad_motion_image(img)
    assert resampled and mask[:320].all() and not mask[320:].any()
    np.testing.assert_allclose(padded[0, [0, 639], 0], [0, 1], atol=1e-6)
    np.testing.assert_allclose(np.diff(padded[0, :, 0]), 1 / 639, atol=1e-5)


def test_bad_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        motion_image(np.zeros((10, 16, 3)))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(2, 40), st.just(17), st.just(3)),
              elements=st.floats(-10, 10, width=32)),
       st.tuples(*[st.floats(-5, 5, width=32)] * 3))
def test_translation_equivariance(kp, shift):
    """Smoothing and chain interpolation are affine: shifting the skeleton shifts every pixel."""
    a = motion_image(kp)
    b = motion_image(kp + np.array(shift, np.float32))
    np.testing.assert_allclose(b - a, np.broadcast_to(np.array(shift, np.float32), a.shape), atol=2e-4)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 30), st.just(17), st.just(3)),
              elements=st.floats(-10, 10, width=32)))
def test_pixels_stay_inside_the_joint_range(kp):
    """Every pixel is a convex combination of (smoothed) joints: bounded by their min/max."""
    img = motion_image(kp)
    s = smooth_and_downsample(kp)
    assert img.shape[0] == IMAGE_ROWS
    assert (img.min(axis=(0, 1)) >= s.min(axis=(0, 1)) - 1e-4).all()
    assert (img.max(axis=(0, 1)) <= s.max(axis=(0, 1)) + 1e-4).all()


@pytest.mark.parametrize("n_frames, fps", [(2, 25.0), (101, 25.0), (1280, 25.0), (1500, 25.0), (90, 30.0)])
def test_padded_motion_image_writes_into_a_dirty_buffer(n_frames, fps):
    from olympia.motion_image import padded_motion_image

    kp = np.random.default_rng(n_frames).normal(size=(n_frames, 17, 3)).astype(np.float32)
    want, want_mask, want_resampled = pad_motion_image(motion_image(kp, fps))
    buf = np.full((384, 640, 3), 7.0, dtype=np.float32)      # left over from another clip
    got, mask, resampled = padded_motion_image(kp, fps, out=buf)
    assert got is buf and resampled == want_resampled == (n_frames > 1280)
    np.testing.assert_array_equal(mask, want_mask)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_out_buffer_that_cannot_be_flattened_is_still_filled():
    kp = np.random.default_rng(3).normal(size=(40, 17, 3)).astype(np.float32)
    buf = np.zeros((IMAGE_ROWS, 30, 6), dtype=np.float32)[:, :, ::2]   # strided channels
    got = motion_image(kp, out=buf)
    np.testing.assert_allclose(buf[:, :20], motion_image(kp), atol=1e-6)
    assert np.shares_memory(got, buf)


def test_zeroed_from_clears_only_the_previous_clip_columns():
    from olympia.motion_image import padded_motion_image

    rng = np.random.default_rng(5)
    long, short = (rng.normal(size=(n, 17, 3)).astype(np.float32) for n in (300, 101))
    buf = np.zeros((384, 640, 3), dtype=np.float32)
    padded_motion_image(long, out=buf, zeroed_from=0)                 # 150 columns written
    got, mask, _ = padded_motion_image(short, out=buf, zeroed_from=150)
    want, want_mask, _ = pad_motion_image(motion_image(short))
    np.testing.assert_allclose(got, want, atol=1e-6)                  # columns 51..149 cleared
    np.testing.assert_array_equal(mask, want_mask)
