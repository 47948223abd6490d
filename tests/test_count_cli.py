"""`olympia count` error handling: a bad skeleton (NaN, inf, no frames) gives one error line,
the other inputs are still counted, and the exit code is non-zero at the end."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from olympia.cli import main
from olympia.cli.count import skeleton_problem


def _periodic(reps: int, period: int = 30) -> np.ndarray:
    t = np.arange(reps * period + 20)
    kp = np.zeros((len(t), 17, 3), np.float32)
    kp[:, :, 2] = 1.0 + 0.3 * np.clip(np.sin(np.pi * (t - 10) / period), 0, None)[:, None] ** 2 * (t >= 10)[:, None]
    return kp


def _curls(reps: int, period: int = 40) -> np.ndarray:
    """20 still frames, `reps` curls of `period` frames (both wrists rise 0.5 m and fall), 20 still."""
    t = np.arange(20 + reps * period + 20)
    lift = (1 - np.cos(2 * np.pi * np.clip((t - 20) / period, 0, reps))) / 2
    kp = np.zeros((len(t), 17, 3), np.float32)
    kp[:, :, 2] = np.linspace(0.1, 1.7, 17)
    kp[:, [13, 16], 2] += 0.5 * lift[:, None].astype(np.float32)
    return kp


@pytest.mark.parametrize("bad,why", [(np.full((40, 17, 3), np.nan, np.float32), "NaN/inf"),
                                     (np.full((40, 17, 3), np.inf, np.float32), "NaN/inf"),
                                     (np.zeros((0, 17, 3), np.float32), "at least 2 frames")])
def test_count_goes_on_past_a_bad_skeleton(tmp_path, bad, why):
    a, b, c = tmp_path / "a.npy", tmp_path / "bad.npy", tmp_path / "c.npy"
    np.save(a, _periodic(3))
    np.save(b, bad)
    np.save(c, _periodic(5))
    res = CliRunner().invoke(main, ["count", str(a), str(b), str(c)])
    assert res.exit_code == 2
    counted = [line.split("\t")[0] for line in res.output.splitlines() if "\t" in line]
    assert counted == [str(a), str(c)]
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad.npy" in errors[0] and why in errors[0]
    assert "Traceback" not in res.output


def test_skeleton_problem_names_the_first_bad_frame():
    kp = np.zeros((10, 17, 3), np.float32)
    assert skeleton_problem(kp) is None
    kp[4, 3, 1] = np.nan
    kp[7, 0, 0] = np.inf
    assert skeleton_problem(kp) == ("2 of 10 frames hold NaN/inf (first: frame 4); fill the gaps "
                                    "(olympia.gaps) or cut them out")
    assert "got shape (1, 17, 3)" in skeleton_problem(kp[:1])


def test_count_cut_covers_the_input_with_its_reps(tmp_path):
    """`--cut`: the input is one set trimmed at its reps, so the first rep starts at frame 0 and
    the last ends at the input's last frame."""
    import json
    path = tmp_path / "set.npy"
    kp = _curls(4)
    np.save(path, kp)
    plain = json.loads(CliRunner().invoke(main, ["count", str(path), "--json"]).output)[0]
    res = CliRunner().invoke(main, ["count", str(path), "--json", "--cut"])
    assert res.exit_code == 0, res.output
    cut = json.loads(res.output)[0]
    assert plain["count"] == cut["count"] == 4
    assert abs(plain["reps"][0]["start_frame"] - 20) <= 3 and abs(plain["reps"][-1]["end_frame"] - 180) <= 3
    assert cut["reps"][0]["start_frame"] == 0 and cut["reps"][-1]["end_frame"] == len(kp)


def test_count_notes_walking_and_still_counts(tmp_path):
    """A skeleton walking on its hips at 1.3 m/s (MediaPipe's landmarks, a treadmill) is
    periodic, so it is counted (the counter is blind to the exercise: 12 gait cycles), with a
    note on stderr that the feet carry the body at walking speed (1.04-1.3 m/s by hand,
    tests/test_sets.py); curls in place get no note; stdout stays `<path><TAB><count>`."""
    from factories import walking_on_the_hips
    walk, curls = tmp_path / "walk.npy", tmp_path / "curls.npy"
    np.save(walk, walking_on_the_hips(12, 27, 1.3, seed=7))
    np.save(curls, _curls(6))
    res = CliRunner().invoke(main, ["count", str(walk), str(curls)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(walk), str(curls)]
    assert abs(int(lines[0].split("\t")[1]) - 12) <= 1 and lines[1].split("\t")[1] == "6"
    [note] = res.stderr.splitlines()
    assert note.startswith(f"note: {walk}: the body travels 1.") and "walking" in note
    as_json = CliRunner().invoke(main, ["count", str(walk), "--json"])
    assert json.loads(as_json.stdout)[0]["count"] == int(lines[0].split("\t")[1])
    assert "walking" in as_json.stderr


def test_count_plot_writes_one_png_and_names_it_on_stderr(tmp_path):
    """`--plot set.png` on one skeleton: a PNG is written and named on stderr; stdout is the
    count line as without it, and with --json still JSON only."""
    path, png = tmp_path / "set.npy", tmp_path / "plots" / "set.png"
    np.save(path, _curls(4))
    res = CliRunner().invoke(main, ["count", str(path), "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert res.stdout == f"{path}\t4\n" and res.stderr == f"plot: {png}\n"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png.unlink()
    res = CliRunner().invoke(main, ["count", str(path), "--json", "--plot", str(png)])
    assert json.loads(res.stdout)[0]["count"] == 4 and png.exists()


def test_count_plot_of_a_store_draws_each_clip_with_its_rep_bounds(tmp_path, monkeypatch):
    """A store: one PNG per clip in the directory, each drawn with that clip's own rep
    bounds from the store (dashed); a single .png for a store is refused with the fix."""
    from factories import make_clip

    import olympia.plots
    from olympia.store import write_store
    clips = []
    for i, reps in enumerate((3, 5)):
        clip = make_clip(i, n_frames=len(_curls(reps)), reps=reps)
        clip.keypoints = _curls(reps)
        clip.rep_bounds = np.array([[20 + 40 * k, 60 + 40 * k] for k in range(reps)])
        clips.append(clip)
    write_store(tmp_path / "store", clips, progress=False)
    drawn = {}
    real = olympia.plots.count_plot
    def spy(path, trace, res, title, truth_bounds=None, truth_label="annotated", fps=25.0, offset=0):
        drawn[title] = (truth_bounds.tolist(), truth_label, res.count, offset)
        real(path, trace, res, title, truth_bounds, truth_label, fps, offset)
    monkeypatch.setattr(olympia.plots, "count_plot", spy)
    out = tmp_path / "plots"
    res = CliRunner().invoke(main, ["count", str(tmp_path / "store"), "--plot", str(out)])
    assert res.exit_code == 0, res.output
    # named as `olympia show` names its sheets: the id with `:` as `_`
    assert sorted(p.name for p in out.iterdir()) == ["test_c0000.png", "test_c0001.png"]
    for clip in clips:
        assert drawn[clip.id] == (clip.rep_bounds.tolist(), "store", clip.reps, 0)
    refused = CliRunner().invoke(main, ["count", str(tmp_path / "store"), "--plot", str(tmp_path / "x.png")])
    assert refused.exit_code == 2 and "give a directory" in refused.output and not (tmp_path / "x.png").exists()
    (tmp_path / "notes.txt").write_text("mine")           # an existing file is not taken for a directory
    refused = CliRunner().invoke(main, ["count", str(tmp_path / "store"), "--plot", str(tmp_path / "notes.txt")])
    assert refused.exit_code == 2 and "is a file" in refused.output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_plot_file_names_from_clip_names():
    from olympia.cli.count import _file_stem
    assert _file_stem("work/sets/squat.npy") == "squat"
    assert _file_stem("work/v/set.mp4#frames=0-900") == "set.mp4_frames_0-900"
    assert _file_stem("demo:c0001") == "demo_c0001"


def test_count_plot_keeps_both_inputs_of_the_same_name(tmp_path):
    """Two inputs with one file name (every VisionFit sample is a video.mp4; one exercise from
    two cameras): both PNGs are kept, the second as <name>_2.png, not drawn over the first."""
    a, b = tmp_path / "cam1" / "set.npy", tmp_path / "cam2" / "set.npy"
    for path, reps in ((a, 3), (b, 5)):
        path.parent.mkdir()
        np.save(path, _curls(reps))
    out = tmp_path / "plots"
    res = CliRunner().invoke(main, ["count", str(a), str(b), "--plot", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stderr.splitlines() == [f"plot: {out / 'set.png'}", f"plot: {out / 'set_2.png'}"]
    assert sorted(p.name for p in out.iterdir()) == ["set.png", "set_2.png"]


def test_a_video_runs_frames_are_the_videos():
    """A video split into runs is counted per run, named <path>#frames=<a>-<b>; its reps are
    reported on the video's timeline (from frame a), as `olympia videos sets` reports sets."""
    from olympia.pose.inputs import run_offset
    assert run_offset("work/v/set.mp4#frames=125-250") == 125
    assert run_offset("work/v/set.mp4") == 0 and run_offset("demo:c0001") == 0


def test_an_unknown_pose_backend_is_a_usage_error(tmp_path):
    path = tmp_path / "set.npy"
    np.save(path, _curls(3))
    res = CliRunner().invoke(main, ["count", str(path), "--backend", "foo"])
    assert res.exit_code == 2 and "Invalid value for '--backend'" in res.output
    assert "input(s) failed" not in res.output and str(path) not in res.stdout
