"""olympia.pose.runs on hand-made pose results: where a video splits and why a video is refused.
(The same on real video, through MediaPipe: test_pose_pipeline.py and test_video_sets.py.)"""
from __future__ import annotations

import numpy as np

from olympia.pose.base import PoseResult
from olympia.pose.runs import camera_cuts, dark_gaps, frozen_stretches, pose_runs, refusal, tracking_jumps
from olympia.pose.workout import sets_in_pose

W, H = 640, 480


def result(n=200, missing=(), root_x=None, height=0.6, brightness=120.0):
    """A standing person: 3D body, and 2D joints spread over `height` of the picture around
    root_x (pixels, per frame); `missing` frames have no person."""
    body = np.zeros((n, 17, 3), np.float32)
    body[:, :, 2] = np.linspace(0.0, 1.7, 17)
    root_x = np.full(n, W / 2) if root_x is None else np.asarray(root_x, float)
    kp2d = np.zeros((n, 17, 3), np.float32)
    kp2d[:, :, 0] = root_x[:, None] + np.linspace(-20, 20, 17)
    kp2d[:, :, 1] = H / 2 + np.linspace(-height / 2, height / 2, 17) * H
    kp2d[:, :, 2] = 0.9
    conf = np.ones(n, np.float32)
    for t in missing:
        body[t], kp2d[t], conf[t] = np.nan, np.nan, 0.0
    return PoseResult(keypoints=body, confidence=conf, fps=25.0, backend="mediapipe", version="v",
                      keypoints_2d=kp2d, image_size=(W, H),
                      brightness=np.broadcast_to(np.float32(brightness), (n,)).copy())


def test_ends_are_trimmed_short_gaps_bridged_long_gaps_split():
    r = result(300, missing=[*range(0, 10), *range(100, 112), *range(200, 216), *range(290, 300)])
    runs = pose_runs(r)
    assert runs.runs == [(10, 200), (216, 290)]          # 12 frames bridged, 16 split
    assert [(u.start_frame, u.end_frame) for u in runs.unusable] == [(0, 10), (200, 216), (290, 300)]
    assert runs.notes()[1] == "frames [200, 216) (8.0-8.6 s): no person detected (mean brightness 120/255)"


def test_notes_of_a_segment_are_told_in_frames_of_the_video():
    """A segment starting at frame 100 of its video: the stretch [200, 216) of the segment is
    [300, 316) of the video, 12.0-12.64 s."""
    r = result(300, missing=range(200, 216))
    assert pose_runs(r).notes(offset=100) == [
        "frames [300, 316) (12.0-12.6 s): no person detected (mean brightness 120/255)"]


def test_dark_gaps_is_the_brightness_where_no_person_is_found_when_too_dark():
    """The frames without a person are measured alone: a lit person (200/255) and dark frames
    in between (10/255) is dark where the person is lost, mean brightness 10."""
    r = result(100, missing=range(40, 60), brightness=200.0)
    r.brightness[40:60] = 10.0
    assert dark_gaps(r, 0, 100) == 10.0
    assert dark_gaps(r, 0, 50) == 10.0                       # frames 40-49 only
    assert dark_gaps(r, 60, 100) is None                     # a person on every frame
    assert dark_gaps(result(100, missing=range(40, 60), brightness=120.0), 0, 100) is None   # lit
    r.brightness = None                                      # a cache entry without brightness
    assert dark_gaps(r, 0, 100) is None


def test_a_run_shorter_than_two_seconds_is_not_usable_and_says_so():
    r = result(200, missing=range(60, 100))               # runs of 60 and 100 frames
    runs = pose_runs(r, min_frames=80)
    assert runs.runs == [(100, 200)]
    # the short run and the gap after it touch: one line
    assert runs.notes() == ["frames [0, 100) (0.0-4.0 s): no person detected on 40 of 100 frames "
                            "(mean brightness 120/255); a person seen for at most 2.4 s at a time"]
    alone = pose_runs(result(180), min_frames=190)
    assert alone.notes() == ["frames [0, 180) (0.0-7.2 s): a person for only 7.2 s (a usable "
                             "stretch needs 7.6 s)"]


def test_a_jump_of_the_tracked_person_splits_the_run():
    # frames 0-119 one person at x=160, then the tracker is on another one at x=480 (a side-by-
    # side pair, or a camera cut): 320 px in one frame = 0.5 of the picture's width.
    x = np.where(np.arange(240) < 120, 160.0, 480.0)
    r = result(240, root_x=x)
    assert tracking_jumps(r) == [120]
    runs = pose_runs(r)
    assert runs.runs == [(0, 120), (120, 240)]
    assert runs.notes() == ["frames [119, 121) (4.8-4.8 s): the tracked person jumps (another "
                            "person?) between these frames: split there"]
    # walking across the picture at 2 m/s (~25 px a frame here) is no jump; nor is a squat
    walk = result(240, root_x=100 + 2.0 * np.arange(240))
    assert tracking_jumps(walk) == []


def test_a_camera_cut_splits_the_run_and_camera_shake_does_not():
    # mean |luma change| a frame: 3 with peaks of 27 (the real push-up video's handheld camera),
    # then 150 at frame 80 (a cut between two real clips measured 153)
    change = np.full(160, 3.0, np.float32)
    change[[20, 50, 120]] = 27.0
    change[80] = 150.0
    r = result(160)
    r.frame_change = change
    assert camera_cuts(r) == [80]
    runs = pose_runs(r)
    assert runs.runs == [(0, 80), (80, 160)]
    assert runs.notes() == ["frames [79, 81) (3.2-3.2 s): a camera cut between these frames: split there"]
    # a flash to black and back (8 frames without a person) is bridged, not cut
    blink = result(160, missing=range(40, 48))
    blink.frame_change = change.copy()
    blink.frame_change[[40, 48]] = 200.0
    assert camera_cuts(blink) == [80] and pose_runs(blink).runs == [(0, 80), (80, 160)]


def test_a_flickering_detection_in_the_dark_is_one_line_and_the_refusal_says_too_dark():
    flicker = [t for t in range(300) if t % 30 >= 8]          # seen 8 frames in 30
    dark = result(300, missing=flicker, brightness=12.0)
    runs = pose_runs(dark)
    assert runs.runs == [] and len(runs.notes()) == 1
    assert runs.notes()[0] == ("frames [0, 300) (0.0-12.0 s): no person detected on 220 of 300 "
                               "frames (mean brightness 12/255: too dark); a person seen for at "
                               "most 0.3 s at a time")
    assert refusal(dark, runs) == ("too dark: a person is detected on only 80 of 300 frames (mean "
                                   "brightness 12/255); film with more light or brighten the video")


def test_a_sudden_change_of_size_is_a_jump():
    r = result(100)
    r.keypoints_2d[50:, :, 1] = H / 2 + (r.keypoints_2d[50:, :, 1] - H / 2) * 0.4   # 0.6 -> 0.24 tall
    assert tracking_jumps(r) == [50]


def test_refusal_names_the_reason():
    dark = result(100, missing=range(100), brightness=9.0)
    assert refusal(dark, pose_runs(dark)) == ("no person detected on any of 100 frames: too dark "
                                              "(mean brightness 9/255); film with more light or "
                                              "brighten the video")
    empty = result(100, missing=range(100), brightness=130.0)
    assert refusal(empty, pose_runs(empty)).startswith("no person detected on any of 100 frames "
                                                       "(mean brightness 130/255)")
    flicker = [t for t in range(200) if t % 40 >= 20]        # seen 0.8 s, gone 0.8 s, ...
    small = result(200, missing=flicker, height=0.08)
    assert pose_runs(small).runs == []
    assert refusal(small, pose_runs(small)).startswith("person too small: detected on 100 of 200 "
                                                       "frames at a median 8% of the picture's height")
    brief = result(200, missing=flicker)
    assert "never long enough without a break (longest 0.8 s" in refusal(brief, pose_runs(brief))


def test_the_reported_13_frame_gap_splits_instead_of_refusing():
    """The issue's symptom: a subject out of frame for 13 frames (0.52 s) gave no count at all
    ("longest gap 13 frames > max_gap 12"); now both sides are runs, the gap one note."""
    r = result(250, missing=range(120, 133))
    runs = pose_runs(r)
    assert runs.runs == [(0, 120), (133, 250)]
    assert runs.notes() == ["frames [120, 133) (4.8-5.3 s): no person detected (mean brightness 120/255)"]


# -- a frozen picture -------------------------------------------------------------------------
# Mean |luma change| a frame as measured (benchmarks/measure_frame_change.py): live footage 0.5
# (sensor noise; its stillest 13 frames change by 0.108 or more each), a held H.264 frame 0.002,
# and 0.3 on the one frame where a keyframe re-encodes the held picture.

def change_of(n, held=(), value=0.002):
    change = np.full(n, 0.5, np.float32)
    change[0] = 0.0                     # the first frame has no previous one
    change[list(held)] = value
    return change


def test_a_frozen_picture_is_13_or_more_frames_that_do_not_change():
    change = change_of(400, held=[*range(20, 32), *range(100, 200)])   # 12 frames, then 100
    change[150] = 0.3                   # a keyframe inside the held stretch does not end it
    change[250:350:2] = 0.0             # a 12.5 fps source repeats every other frame: live
    assert frozen_stretches(change) == [(100, 200)]
    # held from the start: frame 0 is the picture, frames 1-20 repeat it
    assert frozen_stretches(change_of(100, held=range(1, 21), value=0.001)) == [(1, 21)]
    assert frozen_stretches(None) == []         # no frame change measured (an older cache entry)


def test_a_frozen_picture_splits_the_run_and_a_black_one_is_no_person():
    r = result(400, missing=range(300, 340))            # a black screen, 40 frames
    r.frame_change = change_of(400, held=[*range(100, 200), *range(300, 340)], value=0.0)
    runs = pose_runs(r)
    assert runs.runs == [(0, 100), (200, 300), (340, 400)]
    assert pose_runs(r, max_gap=120).runs == [(0, 100), (200, 400)]   # the gap bridged, the freeze not
    assert runs.notes() == [
        ("frames [100, 200) (4.0-8.0 s): picture frozen (median change 0.000/255 a frame; "
         "the pose's jitter there is no motion)"),
        "frames [300, 340) (12.0-13.6 s): no person detected (mean brightness 120/255)"]
    still = result(200)                                  # a still picture of a person, nothing else
    still.frame_change = change_of(200, held=range(1, 200))
    assert refusal(still, pose_runs(still)).startswith("picture frozen on 199 of 200 frames")


def test_pose_jitter_on_a_held_last_frame_is_no_set():
    """5 curls (2 s each), then the last frame held for 8 s while the leg keypoints jump between
    two positions 12 cm apart every 0.8 s (the estimator's jitter on an unchanging picture,
    here made to repeat): without the frozen-picture rule the jitter was a second set of 5."""
    stand = np.zeros((17, 3), np.float32)
    stand[:, 2] = np.linspace(0.1, 1.7, 17)
    t = np.arange(450)
    kp = np.repeat(stand[None], len(t), axis=0)
    curl = 0.45 * (1 - np.cos(2 * np.pi * np.minimum(t, 249) / 50)) / 2
    kp[:, [12, 13, 15, 16], 2] += curl[:, None]
    kp[250:, [2, 3, 5, 6], 1] += 0.06 * np.sign(np.sin(2 * np.pi * (t[250:] - 250) / 40))[:, None]
    r = PoseResult(keypoints=kp, confidence=np.ones(450, np.float32), fps=25.0, backend="mediapipe",
                   version="v", frame_change=change_of(450, held=range(250, 450)))
    found, why_none = sets_in_pose(r)
    assert why_none == "" and [(s.reps, s.end_frame <= 250) for s in found.sets] == [(5, True)]
    assert [u.describe() for u in found.unusable] == [
        ("frames [250, 450) (10.0-18.0 s): picture frozen (median change 0.002/255 a frame; "
         "the pose's jitter there is no motion)")]


# -- a damaged file ----------------------------------------------------------------------------
# PoseResult.damaged: the frames the decoder could not decode cleanly (olympia.video.damage; on
# real files: tests/test_video_damage.py and test_video_sets.py).
DAMAGED = ("the file is damaged here (the decoder could not decode the video cleanly; the picture "
           "is broken until the next keyframe): re-download or re-export it")


def damaged(r: PoseResult, frames) -> PoseResult:
    r.damaged = np.zeros(r.n_frames, bool)
    r.damaged[list(frames)] = True
    return r


def test_a_damaged_stretch_splits_the_run_and_is_never_bridged():
    """The pose there is not missing but wrong (a person found in the decoder's guess): 10
    frames, fewer than the gap rule bridges, still split."""
    r = damaged(result(300), range(120, 130))
    runs = pose_runs(r)
    assert runs.runs == [(0, 120), (130, 300)]
    assert pose_runs(r, max_gap=120).runs == [(0, 120), (130, 300)]
    assert runs.notes() == [f"frames [120, 130) (4.8-5.2 s): {DAMAGED}"]
    assert pose_runs(damaged(result(300), [])).runs == [(0, 300)]
    assert pose_runs(result(300)).runs == [(0, 300)]        # not checked (damaged None): none


def test_damage_beside_frames_without_a_person_is_one_line_naming_both():
    r = damaged(result(300, missing=range(100, 140)), range(130, 180))
    runs = pose_runs(r)
    assert runs.runs == [(0, 100), (180, 300)]
    assert runs.notes() == [
        "frames [100, 180) (4.0-7.2 s): the file is damaged here on 50 of 80 frames (the decoder "
        "could not decode the video cleanly; the picture is broken until the next keyframe): "
        "re-download or re-export it; no person detected on 30 of 80 frames (mean brightness 120/255)"]


def test_a_file_damaged_on_most_frames_is_refused_for_it():
    r = damaged(result(200), range(30, 200))        # 1.2 s undamaged: too short for a set
    runs = pose_runs(r)
    assert runs.runs == []
    assert refusal(r, runs) == ("the file is damaged on 170 of 200 frames (from 1.2 s: the decoder "
                                "could not decode the video cleanly): re-download or re-export it")


def test_a_stretch_merged_with_a_cut_beside_it_stays_out_of_the_runs():
    """Two cuts 10 frames apart (frames 100 and 110): the 10 frames between are too short to
    use. The cuts' frame pairs [99, 101) and [109, 111) merge with them into one note, which
    must not take in frame 99 of the run before or frame 110 of the run after: [100, 110)."""
    change = np.full(300, 3.0, np.float32)
    change[[100, 110]] = 150.0
    r = result(300)
    r.frame_change = change
    assert camera_cuts(r) == [100, 110]
    runs = pose_runs(r)
    assert runs.runs == [(0, 100), (110, 300)]
    assert [(u.start_frame, u.end_frame) for u in runs.unusable] == [(100, 110)]
    assert runs.notes()[0].startswith("frames [100, 110) (4.0-4.4 s): a person seen for at most 0.4 s")
