"""The training-free rep counter on synthetic skeletons whose rep count and period are known."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from olympia.counting import count_reps, estimate_period, motion_signal

STAND = np.zeros((17, 3), np.float32)
STAND[:, 2] = np.linspace(0.1, 1.7, 17)


def periodic_skeleton(reps: int, period: int, joints=(13, 16), amplitude=0.5, rest=12, noise=0.01, seed=0):
    """Rest, then `reps` raised-cosine repetitions of `period` frames on `joints`' z, then rest."""
    rng = np.random.default_rng(seed)
    t = np.arange(reps * period + 2 * rest)
    phase = np.clip((t - rest) / period, 0, reps)
    s = (1 - np.cos(2 * np.pi * phase)) / 2
    kp = np.repeat(STAND[None], len(t), axis=0)
    kp[:, list(joints), 2] += amplitude * s[:, None]
    return kp + rng.normal(0, noise, kp.shape).astype(np.float32)


@pytest.mark.parametrize("reps,period", [(1, 40), (2, 30), (5, 25), (8, 50), (12, 20), (20, 15), (4, 120)])
def test_counts_known_repetitions(reps, period):
    assert count_reps(periodic_skeleton(reps, period, seed=reps)).count == reps


@pytest.mark.parametrize("period", [15, 30, 60])
def test_period_estimate_matches_the_true_period(period):
    s = motion_signal(periodic_skeleton(8, period, rest=0))
    assert estimate_period(s) == pytest.approx(period, abs=1.5)


def test_count_ignores_where_the_motion_is():
    # a squat-like whole-body vertical motion, not only the wrists
    kp = periodic_skeleton(6, 35, joints=tuple(range(17)), amplitude=-0.3, seed=3)
    assert count_reps(kp).count == 6


def test_still_skeleton_counts_zero():
    kp = np.repeat(STAND[None], 100, axis=0)
    res = count_reps(kp)
    assert res.count == 0 and res.period_frames is None


def test_pose_jitter_alone_counts_zero():
    rng = np.random.default_rng(0)
    kp = np.repeat(STAND[None], 200, axis=0) + rng.normal(0, 0.01, (200, 17, 3)).astype(np.float32)
    res = count_reps(kp)
    assert res.count == 0 and res.period_frames is None


def test_rejects_wrong_shape():
    with pytest.raises(ValueError, match="T, J, 3"):
        count_reps(np.zeros((10, 51)))


def test_cli_counts_npy_files(tmp_path):
    from olympia.cli import main
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, periodic_skeleton(3, 30))
    np.save(b, periodic_skeleton(7, 25))
    res = CliRunner().invoke(main, ["count", str(a), str(b)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [f"{a}\t3", f"{b}\t7"]


def test_cli_reports_a_bad_input_and_keeps_going(tmp_path):
    from olympia.cli import main
    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, periodic_skeleton(4, 30))
    np.save(bad, np.zeros((10, 5)))
    res = CliRunner().invoke(main, ["count", str(bad), str(good)])
    assert res.exit_code == 2
    assert f"{good}\t4" in res.output and "bad.npy" in res.output and "(T, 17, 3)" in res.output


def test_cli_help_has_examples():
    from olympia.cli import main
    res = CliRunner().invoke(main, ["count", "--help"])
    assert res.exit_code == 0 and "Examples:" in res.output
