"""olympia.recut: sets cut at annotated rep boundaries. Expected windows worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from olympia.recut import RepWindow, recut_clip, rep_windows, window_clip_id
from olympia.schema import Clip, validate_clip
from olympia.store import ClipStore, write_store

FIVE = [[0, 10], [10, 20], [20, 30], [30, 40], [40, 50]]     # 5 reps of 10 frames, no gaps


def test_every_window_of_2_to_8_reps_of_a_five_rep_set():
    w = rep_windows(FIVE, 50, min_reps=2, max_reps=8, per_count=None)
    # n = 2: firsts 0..3; n = 3: 0..2; n = 4: 0..1; n = 5: 0 (the whole set); nothing above 5
    assert [(x.reps, x.first) for x in w] == [(2, 0), (2, 1), (2, 2), (2, 3), (3, 0), (3, 1), (3, 2),
                                             (4, 0), (4, 1), (5, 0)]
    assert RepWindow(1, 3, 10, 40) in w          # reps 1, 2, 3 = frames 10..40
    assert w[-1] == RepWindow(0, 5, 0, 50)


def test_one_window_per_count_spans_exactly_its_reps_and_is_deterministic():
    w = rep_windows(FIVE, 50, per_count=1, key="fit3d:s07:squat")
    assert [x.reps for x in w] == [2, 3, 4, 5]
    for x in w:
        assert (x.start, x.end) == (FIVE[x.first][0], FIVE[x.first + x.reps - 1][1])
    assert w == rep_windows(FIVE, 50, per_count=1, key="fit3d:s07:squat")
    # the first rep is spread by the key: over many clips, 2-rep windows do not all start at rep 0
    firsts = {rep_windows(FIVE, 50, per_count=1, key=f"c{i}")[0].first for i in range(40)}
    assert firsts == {0, 1, 2, 3}


def test_two_windows_per_count_take_distinct_spread_starts():
    w = [x for x in rep_windows(FIVE, 50, per_count=2, key="k") if x.reps == 2]
    assert len(w) == 2 and abs(w[0].first - w[1].first) == 2     # 4 starts, 2 picks: 2 apart
    assert [x.reps for x in rep_windows(FIVE, 50, per_count=2, key="k")].count(5) == 1


def test_gaps_between_reps_stay_inside_the_window_and_bounds_are_checked():
    w = rep_windows([[5, 10], [12, 20], [25, 30]], 40, per_count=None, min_reps=2)
    assert (w[0].start, w[0].end) == (5, 20) and (w[-1].start, w[-1].end) == (5, 30)
    assert rep_windows([], 40) == []                                     # unknown bounds: nothing
    with pytest.raises(ValueError, match="overlap"):
        rep_windows([[0, 10], [5, 20]], 40)
    with pytest.raises(ValueError, match="min_reps"):
        rep_windows(FIVE, 50, min_reps=3, max_reps=2)


def _clip(cid="fit3d:s07:squat", bounds=FIVE, n=55):
    kp = np.arange(n * 17 * 3, dtype=np.float32).reshape(n, 17, 3) / 1000
    return Clip(id=cid, source="fit3d", subject="s07", label_raw="squat", label="squat", keypoints=kp,
                reps=len(bounds), rep_bounds=bounds, provenance={"source_file": "f", "sha256": "0", "license": "x"})


def test_recut_clip_slices_keypoints_and_rebases_rep_bounds():
    parent = _clip()
    cuts = recut_clip(parent, per_count=None)
    assert len(cuts) == 10
    c = next(c for c in cuts if c.id == "fit3d:s07:squat:reps1-4")
    assert c.reps == 3 and c.n_frames == 30
    np.testing.assert_array_equal(c.keypoints, parent.keypoints[10:40])
    np.testing.assert_array_equal(c.rep_bounds, [[0, 10], [10, 20], [20, 30]])
    assert (c.subject, c.split_group, c.label) == ("s07", "fit3d:s07", "squat")
    assert c.extra["recut_from"] == parent.id and c.extra["recut_frames"] == [10, 40]
    assert window_clip_id(parent.id, RepWindow(1, 3, 10, 40)) == c.id
    for c in cuts:
        validate_clip(c)                      # every cut is a valid canonical clip
    assert recut_clip(_clip(bounds=[])) == [] and recut_clip(_clip(bounds=[[0, 10]])) == []


def test_recut_clips_of_a_test_subject_stay_in_test(tmp_path):
    clips = [_clip(f"fit3d:{s}:squat") for s in ("s03", "s05", "s04", "s07")]
    for c, s in zip(clips, ("s03", "s05", "s04", "s07")):
        c.subject, c.split_group = s, f"fit3d:{s}"
    splits = {"fit3d:s03:squat": "train", "fit3d:s05:squat": "train", "fit3d:s04:squat": "validation",
              "fit3d:s07:squat": "test"}
    cuts = [x for c in clips for x in recut_clip(c)]
    write_store(tmp_path / "s", cuts, splits={x.id: splits[x.extra["recut_from"]] for x in cuts}, progress=False)
    meta = ClipStore(tmp_path / "s").metadata(columns=["id", "subject", "split"])
    assert meta.groupby("subject")["split"].nunique().max() == 1
    assert set(meta.loc[meta["subject"] == "s07", "split"]) == {"test"}
