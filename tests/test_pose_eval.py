"""Pose quality against motion capture: metrics on hand-computed cases, the landmark regressor
(file, model, fit), and one real Fit3D excerpt where the calibrated mapping must beat the table
on a subject it was not fitted on."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import shared_path

from olympia.cli import main
from olympia.pose.calibration import (REGRESSOR_PATH, LandmarkRegressor, fit_regressor,
                                      load_regressor, table_weights)
from olympia.pose.evaluate import (estimate_offset, evaluate_pose, mpjpe, pa_mpjpe,
                                   signal_offset, similarity_transforms)
from olympia.skeleton import H36M_JOINTS, L_WRIST, MEDIAPIPE33, R_HIP, ROOT


def rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def skeletons(t=30, seed=0):
    """(t, 17, 3) non-planar point sets that move from frame to frame."""
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=0.3, size=(17, 3))
    wave = np.sin(np.arange(t) / 4.0)[:, None, None] * rng.normal(scale=0.1, size=(1, 17, 3))
    return base + wave


# --- metrics, by hand ----------------------------------------------------------------------------

def test_a_rotated_scaled_translated_copy_has_pa_mpjpe_zero_but_not_mpjpe():
    ref = skeletons()
    r = rotation([1, 2, 3], 0.7)
    pred = 1.3 * ref @ r.T + np.array([0.5, -2.0, 1.0])
    assert pa_mpjpe(pred, ref) == pytest.approx(0.0, abs=1e-9)
    assert mpjpe(pred, ref) > 0.05
    s, rot, t = similarity_transforms(pred, ref)      # recovers the inverse transform
    assert s == pytest.approx(np.full(len(ref), 1 / 1.3))
    assert rot[0] == pytest.approx(r.T)


def test_known_offsets_give_known_mpjpe():
    ref = skeletons()
    shifted = ref + np.array([0.3, -0.1, 2.0])        # a translation vanishes with the root
    assert mpjpe(shifted, ref) == pytest.approx(0.0, abs=1e-12)
    moved = ref.copy()
    moved[:, L_WRIST] += [0.0, 0.034, 0.0]             # one joint 34 mm off: 34 / 17 = 2 mm
    assert mpjpe(moved, ref) == pytest.approx(0.002)
    every = ref.copy()
    every[:, 1:] += [0.0, 0.0, 0.017]                  # 16 non-root joints 17 mm off: 16 mm
    assert mpjpe(every, ref) == pytest.approx(0.016)
    ev = evaluate_pose(moved, ref, offset=0)
    assert ev.per_joint_mpjpe[L_WRIST] == pytest.approx(0.034)
    assert np.delete(ev.per_joint_mpjpe, L_WRIST) == pytest.approx(np.zeros(16), abs=1e-12)


def test_pa_mpjpe_never_uses_a_reflection():
    ref = skeletons()
    mirrored = ref * np.array([-1.0, 1.0, 1.0])        # a mirror image is no similarity
    assert pa_mpjpe(mirrored, ref) > 0.01


def test_two_points_pa_mpjpe_by_hand():
    # Two joints, target at +-1 on x; estimate at +-2 on y: rotation + scale 1/2 make it exact.
    ref = np.array([[[-1.0, 0, 0], [1.0, 0, 0]]])
    pred = np.array([[[0, -2.0, 0], [0, 2.0, 0]]])
    assert pa_mpjpe(pred, ref) == pytest.approx(0.0, abs=1e-12)
    # A third joint at the origin of the target but 0.3 above the line in the estimate.
    # Centred estimate: (0, -2, -0.1), (0, 2, -0.1), (0, 0, 0.2); cross-covariance has one
    # singular value 4/3 (y -> x); variance 8.06/3, so scale s = 4/8.06. Residuals: the ends
    # miss by (1 - 2s) along x and 0.1·s across it, the middle joint by 0.2·s.
    ref3 = np.concatenate([ref, [[[0.0, 0.0, 0.0]]]], axis=1)
    pred3 = np.concatenate([pred, [[[0.0, 0.0, 0.3]]]], axis=1)
    s = 4 / 8.06
    ends = np.hypot(1 - 2 * s, 0.1 * s)
    assert pa_mpjpe(pred3, ref3) == pytest.approx((2 * ends + 0.2 * s) / 3, rel=1e-9)


def test_sequence_rotation_aligns_a_camera_turned_copy_for_mpjpe():
    ref = skeletons()
    pred = ref @ rotation([0, 0, 1], 0.9).T
    assert evaluate_pose(pred, ref, offset=0, rotation="given").mpjpe > 0.05
    assert evaluate_pose(pred, ref, offset=0, rotation="sequence").mpjpe == pytest.approx(0, abs=1e-9)


def test_time_offset_is_found_and_undetected_frames_are_left_out():
    ref = skeletons(t=80, seed=3)
    pred = ref[5:65].copy()                           # pred[i] = ref[i + 5]
    pred[10:14] = np.nan                              # no person on 4 frames
    assert estimate_offset(pred, ref, max_offset=10)[0] == 5
    assert signal_offset(pred, ref, max_offset=10)[0] == 5
    ev = evaluate_pose(pred, ref)
    assert (ev.offset, ev.n_compared, ev.n_undetected) == (5, 56, 4)
    assert ev.pa_mpjpe == pytest.approx(0.0, abs=1e-9)


# --- the landmark regressor ----------------------------------------------------------------------

def test_packaged_regressor_loads_with_its_provenance_and_held_out_folds():
    reg = load_regressor()
    assert reg.weights.shape == (17, 33)
    assert reg.weights.sum(axis=1) == pytest.approx(np.ones(17), abs=1e-3)
    doc = json.loads(REGRESSOR_PATH.read_text())
    assert doc["landmarks"] == list(MEDIAPIPE33) and doc["joints"] == list(H36M_JOINTS)
    assert {v["video"].split("/")[0] for v in doc["provenance"]["fitted_on"]} == {"s03", "s04"}
    for subject, fold in doc["held_out"].items():      # each fold was fitted without its subject
        assert not any(v.startswith(subject + "/") for v in fold["fitted_on"])
        assert fold["calibrated"]["pa_mpjpe_mm"] < fold["table"]["pa_mpjpe_mm"]
        assert load_regressor(None, subject).weights.shape == (17, 33)


def test_regressor_maps_known_inputs():
    reg = load_regressor()
    # every landmark at one point: every joint there (rows sum to 1)
    same = np.tile([[[0.1, -0.2, 0.3]]], (1, 33, 1))
    assert reg.apply(same)[0] == pytest.approx(np.tile([0.1, -0.2, 0.3], (17, 1)), abs=1e-4)
    # the table as a regressor: root = mid-hips, r_hip = right_hip
    lm = np.zeros((1, 33, 3))
    lm[0, MEDIAPIPE33.index("left_hip")] = [1.0, 0, 0]
    lm[0, MEDIAPIPE33.index("right_hip")] = [-1.0, 0, 2.0]
    out = LandmarkRegressor(table_weights()).apply(lm)[0]
    assert out[ROOT] == pytest.approx([0.0, 0.0, 1.0])
    assert out[R_HIP] == pytest.approx([-1.0, 0.0, 2.0])
    # commutes with rotation, scale and translation (camera and body size do not matter)
    lm = np.random.default_rng(1).normal(size=(4, 33, 3))
    r, s, t = rotation([1, -1, 2], 1.1), 0.8, np.array([3.0, 1.0, -2.0])
    assert reg.apply(s * lm @ r.T + t) == pytest.approx(s * reg.apply(lm) @ r.T + t, abs=1e-5)
    assert np.isnan(reg.apply(np.full((1, 33, 3), np.nan))).all()


def test_fit_recovers_a_known_mapping_through_per_frame_similarities():
    rng = np.random.default_rng(7)
    truth = table_weights() + rng.normal(scale=0.05, size=(17, 33))
    truth += (1 - truth.sum(axis=1, keepdims=True)) / 33          # rows sum to 1
    lm = rng.normal(scale=0.4, size=(400, 33, 3))
    joints = np.einsum("jk,tkc->tjc", truth, lm)
    # each frame seen by the mocap in another pose of the camera, at another scale
    rots = np.stack([rotation(rng.normal(size=3), rng.uniform(0, np.pi)) for _ in range(400)])
    mocap = rng.uniform(0.5, 1.5, size=(400, 1, 1)) * np.einsum("tij,tkj->tki", rots, joints) \
        + rng.normal(size=(400, 1, 3))
    fitted = LandmarkRegressor(fit_regressor([lm], [mocap], ridge=1e-8, iterations=30))
    # Up to a similarity the mapping is recovered, on landmarks it never saw (weights are
    # identifiable only up to a·W + (1 - a)·1c': a scaled, shifted copy of the same skeleton).
    fresh = rng.normal(scale=0.4, size=(50, 33, 3))
    expected = np.einsum("jk,tkc->tjc", truth, fresh)
    assert pa_mpjpe(fitted.apply(fresh), expected) < 1e-4
    assert pa_mpjpe(LandmarkRegressor(table_weights()).apply(fresh), expected) > 0.05


def test_backend_version_names_the_mapping():
    pytest.importorskip("mediapipe")
    from olympia.pose.mediapipe_backend import DEFAULT_MAPPING, MediaPipeBackend
    table = MediaPipeBackend(mapping="table")
    calibrated = MediaPipeBackend(mapping="calibrated")
    assert table.version == table.detector_version           # old table caches stay valid
    assert calibrated.version == f"{table.detector_version}+{load_regressor().version}"
    assert MediaPipeBackend().version == calibrated.version and DEFAULT_MAPPING == "calibrated"


def test_cli_help_has_examples_with_real_paths():
    r = CliRunner().invoke(main, ["pose-eval", "--help"])
    assert r.exit_code == 0
    assert "olympia pose-eval ../shared/realdata/fit3d/train/s04/videos/65906101/warmup_7.mp4" in r.output


# --- real Fit3D video --------------------------------------------------------------------------

# 3 s of subject s03's biceps curls (camera 65906101): s03 is held out from the fold used here
# (fitted on s04's warm-ups only), and curls are an action s04 never did.
CURLS = "fit3d/train/s03/videos/65906101LF/dumbbell_biceps_curls.mp4"
EXCERPT = (100, 175)


@pytest.fixture(scope="module")
def curls_eval(tmp_path_factory):
    video = shared_path("realdata", CURLS)
    tmp = tmp_path_factory.mktemp("pose_eval")
    r = CliRunner().invoke(main, ["pose-eval", str(video), "--frames", f"{EXCERPT[0]}:{EXCERPT[1]}",
                                  "--held-out", "--json", str(tmp / "eval.json"),
                                  "--cache-dir", str(tmp / "cache")])
    assert r.exit_code == 0, r.output
    return video, tmp, r.output, json.loads((tmp / "eval.json").read_text())


def test_calibrated_mapping_beats_the_table_on_a_held_out_subject(curls_eval):
    _, _, output, report = curls_eval
    res = report["s03/65906101/dumbbell_biceps_curls"]
    assert "fitted without s03" in output
    # Fit3D's videos and mocap share one timeline: no offset (the signal check within a frame)
    assert res["offset"] == 0 and abs(res["signal_offset"]) <= 1
    assert res["table"]["frames"] == EXCERPT[1] - EXCERPT[0]
    table, calibrated = res["table"]["pa_mpjpe_mm"], res["calibrated"]["pa_mpjpe_mm"]
    assert calibrated < table
    assert calibrated <= 55.0                       # the target
    assert res["calibrated"]["mpjpe_mm"] < res["table"]["mpjpe_mm"]


def test_mocap_projects_onto_mediapipe_2d_with_the_camera_convention(curls_eval):
    from olympia.pose.landmarks import video_landmarks
    from olympia.pose.mediapipe_backend import landmarks_to_result
    from olympia.pose.mocap import fit3d_video, read_fit3d_camera, read_mocap
    video, tmp, _, _ = curls_eval
    track = video_landmarks(video, cache_dir=tmp / "cache", start_frame=EXCERPT[0],
                            end_frame=EXCERPT[1])                       # cached by the CLI run
    take = fit3d_video(video)
    cam = read_fit3d_camera(take.camera_parameters)
    world = read_mocap(take.joints)[EXCERPT[0]:EXCERPT[1]]
    pixels = cam.project(cam.world_to_camera(world)) * (track.image_size[0] / 900)
    mp2d = landmarks_to_result(track.world, track.image, 25.0, track.image_size, "mediapipe",
                               "v").keypoints_2d[..., :2]
    # joints are not landmarks (a few cm apart) and lens distortion is ignored: within 30 px
    # of 720; R·X + T instead of R·(X - T) lands hundreds of pixels away
    assert np.linalg.norm(pixels - mp2d, axis=-1).mean() < 30
