"""Skeleton constants and joint-set converters, checked against the spec by hand."""
import numpy as np
import pytest

from olympia.skeleton import (BONES, H36M_JOINTS, JOINT_SETS, KINEMATIC_CHAINS, MEDIAPIPE33, bone_lengths,
                              to_h36m)


def test_h36m_order_and_chains_match_method_md():
    assert H36M_JOINTS[:7] == ("root", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle")
    assert H36M_JOINTS[11] == "l_shoulder" and H36M_JOINTS[14] == "r_shoulder" and len(H36M_JOINTS) == 17
    assert KINEMATIC_CHAINS == ((0, 7, 8, 9, 10), (0, 4, 5, 6), (0, 1, 2, 3), (8, 11, 12, 13), (8, 14, 15, 16))
    assert len(BONES) == 16


def one_hot_frames(n_joints):
    """Joint i at (i, 10*i, 100*i): every output is traceable to its sources."""
    i = np.arange(n_joints, dtype=np.float32)
    return np.stack([i, 10 * i, 100 * i], -1)[None]


def test_mediapipe_synthesis_per_method_md_5():
    out = to_h36m(one_hot_frames(33), "mediapipe33")[0, :, 0]   # x = source index
    mid_hips, mid_shoulders = (23 + 24) / 2, (11 + 12) / 2
    assert out[0] == mid_hips and out[8] == mid_shoulders
    assert out[7] == pytest.approx((mid_hips + mid_shoulders) / 2)   # spine = mid(root, thorax)
    assert out[9] == 0 and out[10] == (2 + 5) / 2                   # nose; mid-eyes
    assert list(out[[1, 2, 3, 4, 5, 6]]) == [24, 26, 28, 23, 25, 27]
    assert list(out[[11, 12, 13, 14, 15, 16]]) == [11, 13, 15, 12, 14, 16]
    assert MEDIAPIPE33[23] == "left_hip"


def test_coco_matches_motionbert_coco2h36m():
    out = to_h36m(one_hot_frames(17), "coco17")[0, :, 0]
    assert list(out[[1, 2, 3, 4, 5, 6]]) == [12, 14, 16, 11, 13, 15]
    assert list(out[[11, 12, 13, 14, 15, 16]]) == [5, 7, 9, 6, 8, 10]
    assert out[0] == 11.5 and out[8] == 5.5 and out[7] == 8.5 and out[9] == 0 and out[10] == 1.5


def test_fit3d_legs_swapped_and_mmfit_arms_mirrored():
    fit = to_h36m(one_hot_frames(25), "fit3d25")[0, :, 0]
    assert list(fit[[1, 2, 3, 4, 5, 6]]) == [4, 5, 6, 1, 2, 3]      # Fit3D 1-3 = left leg
    mm = to_h36m(one_hot_frames(17), "mmfit17")[0, :, 0]
    assert list(mm[[11, 12, 13, 14, 15, 16]]) == [14, 15, 16, 11, 12, 13]  # MM-Fit 11-13 = right arm
    kin = to_h36m(one_hot_frames(25), "kinect_v2_25")[0, :, 0]
    assert list(kin[[0, 7, 8, 9, 10]]) == [0, 1, 20, 2, 3]


def test_nan_propagates_only_to_joints_built_from_it():
    kp = one_hot_frames(33).copy()
    kp[0, 15] = np.nan                       # left wrist lost
    out = to_h36m(kp, "mediapipe33")[0]
    assert np.isnan(out[13]).all() and np.isfinite(np.delete(out, 13, 0)).all()


def test_wrong_joint_count_is_a_clear_error():
    with pytest.raises(ValueError, match="mediapipe33: expected"):
        to_h36m(np.zeros((4, 17, 3)), "mediapipe33")


def test_every_table_maps_all_17_joints():
    for js in JOINT_SETS.values():
        assert len(js.to_h36m) == 17
        assert np.allclose(js.matrix.sum(1), 1.0)   # each H36M joint is a mean of sources


def test_bone_lengths_by_hand():
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, 1] = (3, 4, 0)                         # root -> r_hip = 5
    assert bone_lengths(kp)[0, 0] == pytest.approx(5.0)


def test_joint_names_are_the_indices_of_h36m_joints():
    import olympia.skeleton as sk
    for i, name in enumerate(H36M_JOINTS):
        assert getattr(sk, name.upper()) == i
    assert not hasattr(sk, "JOINT_INDEX")      # one way to name a joint


def test_rotations_to_z_up_are_proper_and_send_up_to_z():
    from olympia.skeleton import CAMERA_TO_Z_UP, Y_UP_TO_Z_UP, camera_to_z_up, rotate
    for m in (CAMERA_TO_Z_UP, Y_UP_TO_Z_UP):
        assert np.linalg.det(m) == pytest.approx(1.0)
    np.testing.assert_array_equal(rotate([0, 1, 0], Y_UP_TO_Z_UP), [0, 0, 1])        # y up -> z up
    np.testing.assert_array_equal(camera_to_z_up([[0, -1, 0], [0, 0, 1], [1, 0, 0]]),  # y down: up
                                  [[0, 0, 1], [0, 1, 0], [1, 0, 0]])                 # z forward -> y
    assert np.isnan(camera_to_z_up([np.nan, 0, 0])[0])


def test_mediapipe_and_coco_share_one_synthesis():
    mp, coco = JOINT_SETS["mediapipe33"], JOINT_SETS["coco17"]
    assert mp.to_h36m == coco.to_h36m and mp.to_h36m[10] == ("left_eye", "right_eye")


def test_mirror_swaps_sides_and_reflects_x():
    from olympia.skeleton import L_WRIST, R_WRIST, HEAD, L_KNEE, R_KNEE, mirror
    rng = np.random.default_rng(0)
    kp = rng.normal(0, 0.5, (4, 17, 3)).astype(np.float32)
    m = mirror(kp)
    # the left wrist of the mirror image is where the right wrist was, reflected in x
    np.testing.assert_array_equal(m[:, L_WRIST], kp[:, R_WRIST] * np.array([-1, 1, 1], np.float32))
    np.testing.assert_array_equal(m[:, R_KNEE], kp[:, L_KNEE] * np.array([-1, 1, 1], np.float32))
    np.testing.assert_array_equal(m[:, HEAD], kp[:, HEAD] * np.array([-1, 1, 1], np.float32))   # on the midline
    np.testing.assert_array_equal(mirror(m), kp)
    # a mirror image: the same bones, the left ones now the right ones
    np.testing.assert_allclose(np.sort(bone_lengths(m), axis=-1), np.sort(bone_lengths(kp), axis=-1), rtol=1e-6)


def test_a_left_right_symmetric_pose_is_its_own_mirror_image():
    from olympia.skeleton import LEFT_ARM, LEFT_LEG, RIGHT_ARM, RIGHT_LEG, mirror
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = np.linspace(0.0, 1.7, 17)
    for left, right in zip(LEFT_LEG + LEFT_ARM, RIGHT_LEG + RIGHT_ARM):
        kp[left] = (0.2, 0.1, 0.3 + left / 20)
        kp[right] = (-0.2, 0.1, 0.3 + left / 20)
    np.testing.assert_array_equal(mirror(kp), kp)
