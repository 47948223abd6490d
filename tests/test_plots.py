"""Plots that don't mislead: true bin widths, integer epochs, n per point, a legend and axis
names on `olympia show`. Expected geometry is computed by hand from the inputs."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from factories import make_clip
from olympia import plots


@pytest.fixture
def captured(monkeypatch):
    """Figures handed to plots.save / plt.close instead of being written and closed."""
    figs = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figs.append(fig))
    yield figs
    for f in figs:
        plt.close(f)


def test_duration_histogram_bars_have_the_true_bin_widths():
    hist = {"bins": [0, 5, 10, 20, 10_000], "counts": [5, 10, 10, 3]}
    fig, ax = plt.subplots()
    plots.draw_duration_histogram(ax, hist, window_s=15)
    bars = [(p.get_x(), p.get_width(), p.get_height()) for p in ax.patches]
    # 5 clips over 5 s, 10 over 5 s, 10 over 10 s: heights 1, 2, 1 clips per second; the open
    # bin above 20 s has no width and is not drawn
    assert bars == [(0, 5, 1.0), (5, 5, 2.0), (10, 10, 1.0)]
    assert "3 longer than 20 s" in ax.get_title()
    assert sorted(t.get_text() for t in ax.texts if t.get_text().isdigit()) == ["10", "10", "5"]
    plt.close(fig)


def test_release_duration_bins_no_longer_make_a_false_peak():
    """The demo's real histogram (bins of release.DURATION_BINS_S): drawn equal, 20-30 s (179
    clips) towered over 15-20 s (105); per second of duration 15-20 s is the densest."""
    from olympia.release import DURATION_BINS_S
    counts = [1, 55, 90, 105, 179, 155, 10, 5, 0, 0, 0]
    fig, ax = plt.subplots()
    plots.draw_duration_histogram(ax, {"bins": DURATION_BINS_S, "counts": counts})
    heights = {p.get_x(): p.get_height() for p in ax.patches}
    assert heights[15] == pytest.approx(105 / 5) and heights[20] == pytest.approx(179 / 10)
    assert max(heights, key=heights.get) == 15
    plt.close(fig)


def test_clip_sheet_names_its_panels_and_has_a_left_right_legend(captured, tmp_path):
    mocap = make_clip(0, n_frames=60, reps=2)
    plots.clip_sheet(mocap, tmp_path / "a.png")
    video = make_clip(1, n_frames=60, reps=2)
    video.pose_estimator, video.frame_confidence = "mediapipe", np.ones(60, np.float32)
    plots.clip_sheet(video, tmp_path / "b.png")
    for fig, first, second in ((captured[0], "x–z plane", "y–z plane"),
                               (captured[1], "as the camera sees it", "from the camera's right")):
        labels = [ax.get_ylabel() for ax in fig.axes]
        assert any(l.startswith(first) and l.endswith("z (m)") for l in labels), labels
        assert any(l.startswith(second) for l in labels), labels
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert legend == ["person's left side", "person's right side", "trunk and head"]
        colours = {tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
                   for ax in fig.axes[:16] for line in ax.get_lines()}
        assert {"#d8643b", "#3b7dd8", "#555555"} <= colours


def test_learning_curve_epochs_are_integers(monkeypatch, tmp_path):
    from lift.train import plot_learning_curve
    closed = []
    monkeypatch.setattr(plt, "close", lambda fig=None: closed.append(fig))
    df = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.5, 2.2], "val_loss": [3.1, 2.7, 2.6],
                       "val_detection": [0.3, 0.4, 0.5], "val_obo": [0.2, 0.3, 0.35]})
    plot_learning_curve(df, tmp_path / "lc.png")
    fig = closed[0]
    fig.canvas.draw()
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks == [1, 2, 3], ticks              # not 1.0, 1.25, 1.5, ...
    monkeypatch.undo()
    plt.close("all")


def test_by_rep_count_points_carry_their_n(monkeypatch, tmp_path):
    from lift.evaluate import plot_breakdowns
    closed = []
    monkeypatch.setattr(plt, "close", lambda fig=None: closed.append(fig))
    by_reps = pd.DataFrame({"reps": [3, 8, 15], "obo": [0.9, 0.5, 1.0], "mae": [0.2, 1.5, 0.0],
                            "n_count": [120, 30, 2]})
    plot_breakdowns(by_reps, pd.DataFrame(), pd.DataFrame(), tmp_path)
    texts = [[t.get_text() for t in ax.texts] for ax in closed[0].axes]
    assert texts == [["n=120", "n=30", "n=2"]] * 2
    monkeypatch.undo()
    plt.close("all")


def test_sets_timeline_draws_each_set_and_stretch_at_its_frames():
    """Two sets and a gap on a 120 s timeline (seconds): set bars from start to end frame / 25,
    a tick where each rep after the first starts, `number: reps` above; the gap below with
    its reason's first clause; on a 45-minute timeline the same frames in minutes."""
    from olympia.sets import ExerciseSet, Unusable
    sets = [ExerciseSet(250, 1000, 3, [[250, 500], [500, 750], [750, 1000]], 0.9, 250.0),
            ExerciseSet(2000, 2500, 2, [[2000, 2250], [2250, 2500]], 0.4, 250.0)]
    gap = [Unusable(1200, 1450, "no person detected (mean brightness 3/255: too dark)")]
    fig, ax = plt.subplots()
    plots.draw_sets_timeline(ax, sets, gap, 3000, "workout.mp4")
    bars = [(round(p.get_x(), 6), round(p.get_width(), 6)) for p in ax.patches]
    assert bars == [(10.0, 30.0), (80.0, 20.0), (48.0, 10.0)]          # 250 / 25 = 10 s, ...
    ticks = sorted(round(float(x), 6) for c in ax.collections for seg in c.get_segments() for x in {seg[0][0]})
    assert ticks == [20.0, 30.0, 90.0]                                  # 500, 750 and 2250 / 25
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["1: 3", "2: 2", "no person detected"]
    assert ax.get_xlim() == (0.0, 120.0) and ax.get_xlabel() == "time (s)"
    assert ax.get_title() == "workout.mp4: 2 set(s), 5 reps; 1 stretch(es) left out"
    assert ax.patches[0].get_alpha() > ax.patches[1].get_alpha()        # the surer set is darker
    plt.close(fig)
    # 45 minutes: minutes; 2 s reps (0.07% of the timeline, under TICKED_REP) get no ticks, 30 s
    # reps do; the two labels 0.73 min apart (< 3% of 45 min) take two rows
    quick = [[16600 + 50 * i, 16650 + 50 * i] for i in range(10)]
    fig, ax = plt.subplots()
    plots.draw_sets_timeline(ax, [ExerciseSet(15000, 16500, 2, [[15000, 15750], [15750, 16500]], 1.0, 750.0),
                                  ExerciseSet(16600, 17100, 10, quick, 1.0, 50.0)], [], 67500, "long.mp4")
    assert [(round(p.get_x(), 6), round(p.get_width(), 6)) for p in ax.patches] == [(10.0, 1.0), (11.066667, 0.333333)]
    assert ax.get_xlabel() == "time (min)"
    assert [round(float(seg[0][0]), 6) for c in ax.collections for seg in c.get_segments()] == [10.5]
    assert [round(t.get_position()[1], 6) for t in ax.texts] == [0.93, 1.03]
    plt.close(fig)


def test_count_plot_draws_each_rep_at_its_frames_and_the_store_bounds_dashed():
    """Two reps of 50 frames in a 110-frame clip (25 fps): the set shaded from 0 to 4.4 s, the
    reps from 0 to 2 s and 2 to 4 s, the surer one darker, numbered with its confidence; the
    store's boundaries (5, 52, 98 frames) dashed at 0.2, 2.08 and 3.92 s; the trace and one dot
    per peak; the title gives the count and the period (50 / 25 = 2 s)."""
    from olympia.counting import CountResult
    res = CountResult(2, 50.0, np.array([25, 75]), np.array([[0, 50], [50, 100]]), np.array([0.9, 0.3]),
                      (0, 110), "left_arm")
    trace = np.sin(np.arange(110) * 2 * np.pi / 50)
    fig, ax = plt.subplots()
    plots.draw_count(ax, trace, res, "curls.npy", np.array([[5, 52], [52, 98]]), "store")
    spans = [(round(p.get_x(), 6), round(p.get_width(), 6)) for p in ax.patches]
    assert spans == [(0.0, 4.4), (0.0, 2.0), (2.0, 2.0)]
    assert ax.patches[1].get_alpha() > ax.patches[2].get_alpha()
    assert [t.get_text() for t in ax.texts] == ["1\n0.90", "2\n0.30"]
    dashed = sorted(round(float(seg[0][0]), 6) for c in ax.collections for seg in c.get_segments())
    assert dashed == [0.2, 2.08, 3.92]
    line, dots = ax.lines
    assert len(line.get_xdata()) == 110 and list(dots.get_xdata()) == [1.0, 3.0]
    assert ax.get_title() == "curls.npy: 2 reps, period 2.00 s"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "counted signal (left_arm)" and labels[-1] == "store rep boundaries"
    plt.close(fig)
    # nothing counted: no reps, no dashed lines, no period in the title
    fig, ax = plt.subplots()
    plots.draw_count(ax, np.zeros(40), CountResult(0, None, np.zeros(0, np.int64)), "still.npy")
    assert not ax.patches and not ax.collections and ax.get_title() == "still.npy: 0 reps"
    plt.close(fig)
