"""ffmpeg_ops: probe, normalize (25 fps CFR, rotation, 720p), frame-accurate cut, bad input.

Synthetic videos carry their own frame number in the picture (left half: 20 + 4*(n mod 50),
right half: 20 + 20*floor(n/50) as luma), so a decoded frame tells which source frame it is.
"""
from __future__ import annotations

import os

import ffmpeg
import numpy as np
import pytest

from olympia.errors import VideoError
from olympia.video.ffmpeg_ops import (cut_clip, frame_size, iter_frames, normalize_video, probe,
                                      require_video)

NUMBERED = ("if(lt(X,W/2),20+4*mod(N,50),20+20*floor(N/50))")


def make_numbered(path, fps=25, seconds=12, size="64x48", vcodec="libx264", **out):
    src = ffmpeg.input(f"color=c=black:s={size}:r={fps}:d={seconds}", f="lavfi")
    src = src.filter("geq", lum=NUMBERED, cb=128, cr=128)
    src.output(str(path), vcodec=vcodec, pix_fmt="yuv420p", crf=8, g=50, **out) \
        .overwrite_output().run(quiet=True)
    return path


def frame_number(frame: np.ndarray) -> int:
    """Inverse of NUMBERED for a decoded RGB frame (BT.601 limited range: Y = 16 + 219 G/255)."""
    y = frame[:, :, 1].astype(float) * 219 / 255 + 16
    w = frame.shape[1]
    low = (y[:, 2:w // 2 - 2].mean() - 20) / 4
    high = (y[:, w // 2 + 2:-2].mean() - 20) / 20
    return int(round(high)) * 50 + int(round(low))


@pytest.fixture(scope="module")
def numbered25(tmp_path_factory):
    return make_numbered(tmp_path_factory.mktemp("v") / "n25.mp4")


def numbers(path, **kw):
    return [frame_number(f) for f in iter_frames(path, **kw)]


def test_probe_real_video_matches_provenance(realdata):
    # PROVENANCE.md: 1920x1080, 60 fps, 831 frames, 13.85 s, with an audio track.
    info = probe(realdata("videos", "pushup_test_fitness-action-eval.mp4"))
    assert (info.width, info.height, info.n_frames) == (1920, 1080, 831)
    assert info.fps == pytest.approx(60.0) and info.duration == pytest.approx(13.85, abs=0.01)
    assert info.codec == "h264" and info.has_video and info.has_audio
    assert not info.variable_frame_rate and info.rotation == 0
    assert info.frames_at(25.0) == 346  # 13.85 s * 25


def test_cut_is_frame_accurate_on_the_25fps_timeline(numbered25, tmp_path):
    assert numbers(numbered25, start_frame=0, end_frame=5) == [0, 1, 2, 3, 4]
    for start, end in [(3, 7), (100, 110), (251, 260), (299, 300)]:  # seek path from frame 51
        assert numbers(numbered25, start_frame=start, end_frame=end) == list(range(start, end))
        out = cut_clip(numbered25, tmp_path / f"c{start}.mp4", start, end)
        assert probe(out).n_frames == end - start
        assert numbers(out) == list(range(start, end))


def test_non_25fps_source_maps_frames_by_time(tmp_path):
    # 30 fps source: 25 fps frame i shows the source frame on screen at i/25 s = frame 1.2 i.
    src = make_numbered(tmp_path / "n30.mp4", fps=30, seconds=6)
    got = numbers(src, start_frame=100, end_frame=105)
    assert got == [120, 121, 122, 124, 125]  # 1.2 * [100..104] = 120, 121.2, 122.4, 123.6, 124.8
    out = normalize_video(src, tmp_path / "norm.mp4")
    info = probe(out)
    assert info.fps == pytest.approx(25.0) and info.n_frames == 150 and not info.variable_frame_rate
    assert numbers(out, start_frame=100, end_frame=105) == got
    # normalize and cut in one pass: frames [100, 105) of the 25 fps timeline, nothing else
    part = normalize_video(src, tmp_path / "part.mp4", start_frame=100, end_frame=105)
    assert probe(part).n_frames == 5 and numbers(part) == got


def test_normalize_downscales_to_720_lines_and_drops_audio(tmp_path):
    src = tmp_path / "big.mp4"
    video = ffmpeg.input("testsrc=size=1920x1080:rate=50:d=1", f="lavfi")
    audio = ffmpeg.input("sine=d=1", f="lavfi")
    ffmpeg.output(video, audio, str(src), vcodec="libx264", preset="ultrafast",
                  pix_fmt="yuv420p").overwrite_output().run(quiet=True)
    assert probe(src).has_audio
    info = probe(normalize_video(src, tmp_path / "p.mp4"))
    assert (info.width, info.height) == (1280, 720)
    assert info.fps == pytest.approx(25.0) and info.n_frames == 25
    assert info.codec == "h264" and not info.has_audio
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.mp4", "p.mp4"]  # no temp files


def test_rotated_phone_video_is_turned_upright(tmp_path):
    # A phone stores landscape pixels plus a rotation tag; players show it portrait.
    raw = make_numbered(tmp_path / "raw.mp4", seconds=2, size="96x64")
    rotated = tmp_path / "rot.mp4"
    ffmpeg.input(str(raw)).output(str(rotated), c="copy", **{"metadata:s:v:0": "rotate=90"}) \
        .overwrite_output().run(quiet=True)
    info = probe(rotated)
    assert info.rotation in (90, 270) and (info.width, info.height) == (96, 64)
    assert info.display_size == (64, 96) and frame_size(info) == (64, 96)
    frames = list(iter_frames(rotated))
    assert frames[0].shape == (96, 64, 3) and len(frames) == 50
    out = probe(normalize_video(rotated, tmp_path / "up.mp4"))
    assert (out.width, out.height, out.rotation) == (64, 96, 0)


def test_portrait_phone_video_keeps_720_on_its_shorter_side(tmp_path):
    # 1920x1080 pixels tagged rotate=90 (a phone held upright): shown 1080x1920, so "720p"
    # means 720x1280, not 404x720.
    raw = tmp_path / "raw.mp4"
    ffmpeg.input("testsrc=size=1920x1080:rate=25:d=0.2", f="lavfi").output(
        str(raw), vcodec="libx264", preset="ultrafast", pix_fmt="yuv420p").overwrite_output().run(quiet=True)
    phone = tmp_path / "phone.mp4"
    ffmpeg.input(str(raw)).output(str(phone), c="copy", **{"metadata:s:v:0": "rotate=90"}) \
        .overwrite_output().run(quiet=True)
    info = probe(phone)
    assert info.display_size == (1080, 1920) and frame_size(info) == (720, 1280)
    out = probe(normalize_video(phone, tmp_path / "up.mp4"))
    assert (out.width, out.height, out.rotation, out.n_frames) == (720, 1280, 0, 5)
    assert next(iter_frames(phone)).shape == (1280, 720, 3)


def test_variable_frame_rate_is_detected_and_resampled(tmp_path):
    # Drop frames irregularly from a 50 fps source: timestamps stay, spacing varies.
    src = ffmpeg.input("color=c=gray:s=64x48:r=50:d=4", f="lavfi") \
        .filter("select", "not(between(n,20,59))*not(mod(n,3))+between(n,20,59)")
    vfr = tmp_path / "vfr.mp4"
    src.output(str(vfr), vcodec="libx264", pix_fmt="yuv420p", fps_mode="vfr") \
        .overwrite_output().run(quiet=True)
    assert probe(vfr).variable_frame_rate
    out = probe(normalize_video(vfr, tmp_path / "cfr.mp4"))
    assert not out.variable_frame_rate and out.fps == pytest.approx(25.0)
    assert abs(out.n_frames - 100) <= 1  # 4 s at 25 fps


def test_range_outside_the_video_names_file_and_length(numbered25, tmp_path):
    with pytest.raises(VideoError, match=r"n25\.mp4.*\[290, 310\).*300 frames"):
        cut_clip(numbered25, tmp_path / "x.mp4", 290, 310)
    with pytest.raises(VideoError, match="start_frame < end_frame"):
        cut_clip(numbered25, tmp_path / "x.mp4", 20, 20)
    with pytest.raises(VideoError, match="outside"):
        list(iter_frames(numbered25, start_frame=0, end_frame=301))
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("kind", ["missing", "empty", "corrupt", "truncated", "audio"])
def test_bad_files_raise_video_error_naming_the_file(kind, tmp_path, numbered25):
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(os.urandom(4096))
    elif kind == "truncated":  # first 2 KB of a real mp4: the index (moov) is cut off
        path.write_bytes(numbered25.read_bytes()[:2048])
    elif kind == "audio":
        path = tmp_path / "audio.m4a"
        ffmpeg.input("sine=d=1", f="lavfi").output(str(path)).overwrite_output().run(quiet=True)
    with pytest.raises(VideoError) as err:
        require_video(path)
    assert path.name in str(err.value)
    with pytest.raises(VideoError):
        normalize_video(path, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_a_directory_is_told_as_a_directory_with_the_fix(tmp_path):
    """A folder given as a video (even one named like a video) exists: it is not "no such file"
    but a directory, and the fix is the video files in it; other non-files are named too."""
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    with pytest.raises(VideoError) as err:
        require_video(folder)
    assert str(err.value) == (f"{folder}: is a directory, not a video file; give the video files in "
                              f"it (e.g. {folder}/*.mp4)")
    with pytest.raises(VideoError, match="gone.mp4: no such file; check the path"):
        probe(tmp_path / "gone.mp4")
    with pytest.raises(VideoError, match="not a regular file"):
        probe("/dev/null")


def test_zero_length_video_stream_is_refused(tmp_path):
    path = tmp_path / "zero.mp4"
    ffmpeg.input("color=c=black:s=64x48:r=25:d=1", f="lavfi").output(
        str(path), vcodec="libx264", frames=0).overwrite_output().run(quiet=True)
    with pytest.raises(VideoError, match="zero.mp4"):
        require_video(path)


# --- paths that look like options, outputs that are checked (issue "Trustworthy builds") ------

def test_a_path_starting_with_a_dash_is_a_file_not_an_option(tmp_path, monkeypatch):
    """`-y.mp4` given relative: ffprobe read it as the option -y (the previous code failed with
    "Missing argument for option 'y.mp4'"); now every path is passed as file:<absolute>."""
    monkeypatch.chdir(tmp_path)
    make_numbered(tmp_path / "-y.mp4", seconds=2)
    make_numbered(tmp_path / "http:x.mp4", seconds=2)
    for name in ("-y.mp4", "http:x.mp4"):
        assert probe(name).n_frames == 50
        normalize_video(name, f"-norm-{name}")
        assert probe(f"-norm-{name}").n_frames == 50
        cut_clip(name, f"--cut-{name}", 10, 20)
        assert numbers(f"--cut-{name}") == list(range(10, 20))
        assert numbers(name, start_frame=5, end_frame=8) == [5, 6, 7]


def test_an_input_shorter_than_one_output_frame_leaves_no_video(tmp_path):
    # One frame at 60 fps lasts 1/60 s, less than one 25 fps frame: ffmpeg wrote an mp4 with no
    # video stream, which the previous code put under the final name.
    one = tmp_path / "one.mp4"
    ffmpeg.input("testsrc=size=64x48:rate=60", f="lavfi").output(
        str(one), vcodec="libx264", pix_fmt="yuv420p", frames=1).overwrite_output().run(quiet=True)
    with pytest.raises(VideoError, match=r"one\.mp4: normalize produced no video frames"):
        normalize_video(one, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists() and list(tmp_path.iterdir()) == [one]


def test_a_truncated_input_is_refused_not_shortened(tmp_path):
    # moov at the front (faststart), media data cut at 40%: ffprobe still says 100 frames, and
    # the previous code silently wrote a 17-frame video (a 7-frame cut for [10, 90)).
    full = tmp_path / "full.mp4"
    ffmpeg.input("testsrc=size=320x240:rate=25:d=4", f="lavfi").output(
        str(full), vcodec="libx264", pix_fmt="yuv420p", movflags="+faststart"
    ).overwrite_output().run(quiet=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 4 // 10])
    assert probe(cut).n_frames == 100
    with pytest.raises(VideoError, match=r"cut\.mp4: normalize produced \d+ frames, expected 100"):
        normalize_video(cut, tmp_path / "n.mp4")
    with pytest.raises(VideoError, match=r"cut produced \d+ frames, expected 80.*truncated"):
        cut_clip(cut, tmp_path / "c.mp4", 10, 90)
    assert not (tmp_path / "n.mp4").exists() and not (tmp_path / "c.mp4").exists()
