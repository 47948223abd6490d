"""Embedded demo source: known labels, reps and boundaries; determinism; variation."""
import numpy as np

from olympia.demo import EXERCISES, DemoConfig, generate_demo
from olympia.schema import validate_clip
from olympia.skeleton import bone_lengths


def clips(n=60, **kw):
    out = list(generate_demo(DemoConfig(n_clips=n, **kw)))
    for c in out:
        c.label = "placeholder"   # normalization is the labels area's job; schema needs non-empty
    return out


def test_at_least_ten_exercises_with_known_labels():
    assert len(EXERCISES) >= 10
    keys = {e.key for e in EXERCISES}
    assert {"squat", "lunge", "pushup", "curl", "jumping_jack", "shoulder_press", "situp",
            "bent_over_row", "leg_raise", "lateral_raise"} <= keys


def test_clips_are_valid_and_rep_bounds_match_reps():
    for c in clips():
        validate_clip(c)
        assert c.reps == len(c.rep_bounds) and c.reps >= 3
        assert c.rep_bounds[0, 0] > 0                      # idle time before the first rep
        assert c.rep_bounds[-1, 1] < c.n_frames            # and after the last


def test_deterministic_and_parallel_equals_serial():
    a = list(generate_demo(DemoConfig(n_clips=12, seed=3)))
    b = list(generate_demo(DemoConfig(n_clips=12, seed=3), workers=2))
    assert [c.id for c in a] == [c.id for c in b]
    assert all(np.array_equal(x.keypoints, y.keypoints) for x, y in zip(a, b))
    c = list(generate_demo(DemoConfig(n_clips=12, seed=4)))
    assert not np.array_equal(a[0].keypoints, c[0].keypoints)


def test_bodies_are_plausible_and_bones_rigid_up_to_noise():
    for c in clips(30, noise_m=0.0):
        bl = bone_lengths(c.keypoints)
        assert (bl.std(0) < 1e-4).all(), c.id          # rigid bones without sensor noise
        height = c.extra["body_height_m"]
        assert 1.5 < height < 2.0
        assert c.keypoints[:, :, 2].min() >= -1e-6     # nothing below the floor


def test_variation_left_right_partial_reps_and_tempo():
    cs = clips(200)
    sides = {c.extra["side"] for c in cs if c.extra["exercise"] in ("lunge", "single_arm_row")}
    assert sides == {"l", "r"}
    assert any(("(L)" in c.label_raw or "left" in c.label_raw.lower()) for c in cs)
    rep_len = [np.diff(c.rep_bounds, axis=1).mean() for c in cs if c.extra["exercise"] == "squat"]
    assert max(rep_len) / min(rep_len) > 1.4                       # tempo varies
    yaw = [np.arctan2(*(c.keypoints[0, 4, :2] - c.keypoints[0, 1, :2])[::-1]) for c in cs[:20]]
    assert np.ptp(yaw) > 2                                         # world rotation varies


def test_motion_is_periodic_with_the_reps():
    """The root-relative wrist height of a curl peaks once per repetition."""
    c = next(c for c in clips(100, noise_m=0.0) if c.extra["exercise"] == "curl")
    wrist = c.keypoints[:, 13, 2] - c.keypoints[:, 0, 2]
    for start, end in c.rep_bounds:
        seg = wrist[start:end]
        assert seg.argmax() not in (0, len(seg) - 1)   # a peak inside every rep
