"""olympia.video.damage and the decode of olympia.video.ffmpeg_ops on files damaged here with
real ffmpeg (bytes overwritten with a fixed seed): where the file is damaged, against the frames
whose picture differs from the intact file's (decoded by ffmpeg alone), and the pose stage
that keeps it (olympia.pose.parallel)."""
from __future__ import annotations

import shutil
from dataclasses import replace

import ffmpeg
import numpy as np
import pytest
from factories import overwrite_bytes, packet_bytes

from olympia.pose.cache import PoseCache
from olympia.pose.mediapipe_backend import MediaPipeBackend
from olympia.pose.parallel import PoseTask, run_pose_task
from olympia.video.damage import EARLY_S, DecodedStream, damaged_stretches, lost_frames, stretches_in_seconds
from olympia.video.ffmpeg_ops import KEPT_ERROR_LINES, iter_frames, probe

GOP = 50        # the clip's keyframe interval: keyframes at frames 0, 50, 100, 150


def _encode(stream, path, **x264):
    params = ":".join(f"{k}={v}" for k, v in {"threads": 1, **x264}.items())
    stream.output(str(path), vcodec="libx264", pix_fmt="yuv420p", preset="ultrafast",
                  movflags="+faststart", **{"x264-params": params}).overwrite_output().run(quiet=True)
    return path


def _differing_frames(intact, damaged) -> np.ndarray:
    """Frames of the 25 fps timeline whose picture differs (mean |luma| > 0.5 of 255)."""
    def gray(path):
        raw, _ = (ffmpeg.input(str(path)).video.filter("fps", 25).filter("scale", 160, -2)
                  .output("pipe:", format="rawvideo", pix_fmt="gray").run(capture_stdout=True, quiet=True))
        return np.frombuffer(raw, np.uint8).astype(np.float32)
    a, b = gray(intact), gray(damaged)
    n = probe(intact).frames_at()
    assert a.size == b.size
    return np.flatnonzero(np.abs(a - b).reshape(n, -1).mean(axis=1) > 0.5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """8 s of a moving test picture, 320x240 at 25 fps, a keyframe every 2 s; and a copy with
    100 bytes of the packets of frames [70, 80) overwritten (inside the keyframe interval
    [50, 100))."""
    root = tmp_path_factory.mktemp("damage")
    intact = _encode(ffmpeg.input("testsrc2=size=320x240:rate=25:d=8", f="lavfi"), root / "intact.mp4",
                     keyint=GOP, **{"min-keyint": GOP, "scenecut": 0})
    damaged = overwrite_bytes(intact, root / "damaged.mp4", packet_bytes(intact, 70, 80), 100)
    return intact, damaged


def test_an_intact_file_decodes_without_an_error_line_and_has_no_damage(clip):
    intact, _ = clip
    heard: list[str] = []
    assert sum(1 for _ in iter_frames(intact, errors=heard)) == 200 and heard == []
    assert damaged_stretches(intact, probe(intact)) == []


def test_a_file_damaged_mid_gop_is_damaged_from_its_first_bad_frame_to_the_next_keyframe(clip):
    intact, damaged = clip
    heard: list[str] = []
    assert sum(1 for _ in iter_frames(damaged, errors=heard)) == 200    # decodes to the end, exit 0
    assert heard and all(line.startswith("[h264 @") for line in heard)
    differ = _differing_frames(intact, damaged)
    # the damage is in frames 70-79 and what is predicted from them; the keyframe at 100 ends it
    assert 70 <= differ.min() and differ.max() < 100
    [(a, b)] = damaged_stretches(damaged, probe(damaged))
    assert b == 100
    assert a <= differ.min() and differ.min() - a <= (EARLY_S + 0.5) * 25   # not far before it


def test_a_range_is_told_on_its_own_frames(clip):
    """A segment: ffprobe seeks to the keyframe before it and decodes past its end."""
    _, damaged = clip
    info = probe(damaged)
    [(a, b)] = damaged_stretches(damaged, info)
    assert damaged_stretches(damaged, info, start_frame=a + 5, end_frame=120) == [(a + 5, 100)]
    assert damaged_stretches(damaged, info, start_frame=100, end_frame=200) == []   # after the keyframe
    assert damaged_stretches(damaged, info, start_frame=0, end_frame=40) == []


def test_each_error_damages_to_the_first_keyframe_past_the_reordering_delay():
    """Keyframes at 0, 2 and 4 s; frames every 0.04 s; a reordering delay of 0.12 s."""
    frames = [(round(i * 0.04, 2), i % 50 == 0, 0) for i in range(150)]
    stream = DecodedStream(frames, lost=[], origin=0.0, reorder_s=0.12)
    stream.frames[60] = (2.4, False, 2)         # an error at 2.4 s: damaged to the keyframe at 4 s
    assert stretches_in_seconds(stream) == [(2.4 - 0.12 - EARLY_S, 4.0)]
    stream.frames[98] = (3.92, False, 1)        # 3.92 + 0.12 > 4: told of a frame after the keyframe
    assert stretches_in_seconds(stream) == [(2.4 - 0.12 - EARLY_S, np.inf)]
    lost = DecodedStream(frames[:60], lost=[1.0], origin=0.0, reorder_s=0.12)  # a packet gave no frame
    assert stretches_in_seconds(lost) == [(1.0 - 0.12 - EARLY_S, 2.0)]
    assert stretches_in_seconds(lost, trust_from=1.5) == []     # before the first keyframe of a seek


def test_a_packet_without_a_decoded_frame_is_lost():
    assert lost_frames([0.0, 0.04, 0.08, 0.12], [0.0, 0.04, 0.12], 0.04) == [0.08]
    assert lost_frames([0.0, 0.04], [0.005, 0.04], 0.04) == []        # within a quarter frame
    assert lost_frames([0.0, 0.04], [], 0.04) == [0.0, 0.04]


@pytest.mark.timeout(120)
def test_a_decode_printing_more_error_lines_than_a_pipe_holds_finishes(tmp_path):
    """One slice per macroblock: every damaged frame prints dozens of error lines. Read after
    the frames, ffmpeg filled the 64 KiB stderr pipe and both processes waited: a hang."""
    intact = _encode(ffmpeg.input("testsrc2=size=160x120:rate=25:d=120", f="lavfi"), tmp_path / "long.mp4",
                     **{"slice-max-mbs": 1, "keyint": 250})
    size = intact.stat().st_size
    damaged = overwrite_bytes(intact, tmp_path / "bad.mp4", [(size // 5, 3 * size // 5)], 20000, seed=1)
    _, err = (ffmpeg.input(str(damaged)).output("-", format="null")
              .global_args("-loglevel", "error").run(capture_stderr=True))
    assert len(err) > 65536                         # more than the pipe holds, and ffmpeg exits 0
    heard: list[str] = []
    assert sum(1 for _ in iter_frames(damaged, errors=heard)) == 3000
    assert len(heard) == KEPT_ERROR_LINES


def test_the_audited_fit3d_file_is_damaged_where_its_picture_differs(realdata, tmp_path):
    """The audit: a faststart copy of Fit3D s04 warmup_7 (900x900, 50 fps, keyframes at 0 and 5 s)
    with 3,000 bytes of its middle third overwritten. ffmpeg prints 150+ errors and exits 0."""
    src = realdata("fit3d", "train", "s04", "videos", "58860488", "warmup_7.mp4")
    intact = tmp_path / "warmup_7.mp4"
    ffmpeg.input(str(src)).output(str(intact), c="copy", movflags="+faststart").run(quiet=True)
    size = intact.stat().st_size
    damaged = overwrite_bytes(intact, tmp_path / "corrupt.mp4", [(size // 3, 2 * size // 3)], 3000)
    differ = _differing_frames(intact, damaged)
    assert len(differ) > 50
    [(a, b)] = damaged_stretches(damaged, probe(damaged))
    assert a <= differ.min() and differ.min() - a <= (EARLY_S + 0.5) * 25
    assert b == 205 and differ.max() == 204         # to the end: the keyframe at 5 s was hit too
    assert damaged_stretches(intact, probe(intact)) == []


def test_the_pose_stage_keeps_the_damage_and_checks_an_older_cache_entry_once(clip, tmp_path, monkeypatch):
    intact, damaged = clip
    task = PoseTask(str(damaged), cache_dir=str(tmp_path / "cache"))
    first = run_pose_task(task)
    assert first.ok, first.error
    [(a, b)] = damaged_stretches(damaged, probe(damaged))
    assert np.array_equal(np.flatnonzero(first.result.damaged), np.arange(a, b))
    # an intact file's fresh entry says so: no damage (checked), not None (not checked)
    whole = run_pose_task(replace(task, video=str(shutil.copy(intact, tmp_path / "intact.mp4"))))
    assert whole.result.damaged is not None and not whole.result.damaged.any()
    # an entry written before the check has no `damaged`: the next run checks the file (no pose)
    cache = PoseCache(task.cache_dir)
    [entry] = [p for p in (tmp_path / "cache" / "pose").rglob("*.npz") if cache.get(p.stem).damaged.any()]
    cache.put(entry.stem, replace(first.result, damaged=None))
    assert cache.get(entry.stem).damaged is None
    calls = []
    monkeypatch.setattr(MediaPipeBackend, "estimate", lambda *a, **k: calls.append(1))
    again = run_pose_task(task)
    assert again.cached and calls == []
    assert np.array_equal(again.result.damaged, first.result.damaged)
    assert np.array_equal(cache.get(entry.stem).damaged, first.result.damaged)     # kept


def test_a_file_cut_short_is_posed_as_far_as_it_goes_and_says_where_it_ends(clip, tmp_path):
    """A faststart file cut off where frame 100's packet starts (a download that did not
    finish): its header still gives 8 s (200 frames). The 100 frames it holds are posed (before:
    the whole file was refused, "decoded 100 frames for range [0, 200)"); the rest hold no
    person, and the note and the refusal say where the file ends and the fix."""
    from olympia.pose.runs import pose_runs, refusal
    intact, _ = clip
    [(cut, _)] = packet_bytes(intact, 100, 101)
    short = tmp_path / "short.mp4"
    short.write_bytes(intact.read_bytes()[:cut])
    out = run_pose_task(PoseTask(str(short)))
    assert out.ok, out.error
    res = out.result
    assert res.n_frames == 200 and res.extra["decoded_frames"] == 100
    assert not res.detected[100:].any() and np.isnan(res.keypoints[100:]).all()
    runs = pose_runs(res)                  # a test picture: nobody in the 100 frames either
    assert runs.runs == [] and runs.notes() == [
        "frames [0, 200) (0.0-8.0 s): the file ends at 4.0 s of the 8.0 s its header gives (cut short: "
        "a download or copy that did not finish): re-download or re-export it; no person detected on "
        f"100 of 200 frames (mean brightness {np.mean(res.brightness[:100]):.0f}/255)"]
    assert refusal(res, runs).endswith("(and the file ends at 4.0 s of the 8.0 s its header gives: cut short; "
                                       "re-download or re-export it)")
