"""olympia.pose.blazepose: MediaPipe Pose's models run with LiteRT, the graph's steps in numpy.

The numbers come from the graph config that mediapipe 0.10.21 ships (expanded from
pose_landmark_cpu.binarypb: anchors, region rule, filters) or are computed by hand; the last
tests run both runtimes on a real video and require the same landmarks.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from olympia.errors import ConfigError
from olympia.pose.blazepose import (
    BlazePose,
    OneEuro,
    Region,
    model_paths,
    refine_from_heatmap,
    ssd_anchor_centres,
)


def test_anchors_follow_the_detector_config():
    # SsdAnchors: 224 input, strides 8, 16, 32, 32, 32, one aspect ratio + the interpolated one;
    # the three stride-32 layers share one 7x7 grid: 28*28*2 + 14*14*2 + 7*7*6 = 2254 boxes
    a = ssd_anchor_centres()
    assert a.shape == (2254, 2)
    assert np.allclose(a[0], [0.5 / 28, 0.5 / 28]) and np.allclose(a[1], a[0])
    assert np.allclose(a[2], [1.5 / 28, 0.5 / 28])
    assert np.allclose(a[1568], [0.5 / 14, 0.5 / 14])               # first stride-16 cell
    assert np.allclose(a[1960:1966], [0.5 / 7, 0.5 / 7])            # 6 boxes in a stride-32 cell
    assert np.allclose(a[1966], [1.5 / 7, 0.5 / 7])
    assert np.allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_region_from_the_hip_centre_and_the_scale_point():
    # 200 x 100 frame, hips at the centre (100, 50) px; scale point 20 px straight up: an upright
    # body, rotation 0; box = 2 x 20 = 40 px, x 1.25 = 50 px
    up = Region.from_points((0.5, 0.5), (0.5, 0.3), 200, 100)
    assert (up.cx, up.cy, up.side) == pytest.approx((100.0, 50.0, 50.0))
    assert up.rotation == pytest.approx(0.0)
    # scale point 20 px to the right: the body lies along +x, the crop turns by +90 degrees
    right = Region.from_points((0.5, 0.5), (0.6, 0.5), 200, 100)
    assert right.side == pytest.approx(50.0) and right.rotation == pytest.approx(math.pi / 2)
    # the crop's top centre is the direction of the scale point in both
    assert up.project(np.array([[0.5, 0.0]])) == pytest.approx(np.array([[100.0, 25.0]]))
    assert right.project(np.array([[0.5, 0.0]])) == pytest.approx(np.array([[125.0, 50.0]]))


def test_the_crop_puts_the_scale_point_at_the_top():
    frame = np.zeros((100, 200, 3), np.uint8)
    cv2.circle(frame, (125, 50), 3, (255, 255, 255), -1)            # 25 px right of the hips
    region = Region.from_points((0.5, 0.5), (0.6, 0.5), 200, 100)
    tracker = BlazePose.__new__(BlazePose)
    tracker._cv2 = cv2
    crop = tracker.crop(frame, region, 64)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    # 25 px of a 50 px region = half the crop above its centre: row ~0, column ~32
    assert abs(xs.mean() - 32) <= 1.5 and ys.mean() <= 3


def test_heatmap_refinement_by_hand():
    heat = np.full((64, 64, 3), -20.0, np.float32)
    heat[10:13, 20:23, 0] = 10.0            # a sure 3x3 blob centred on row 11, column 21
    heat[40, 40, 1] = 0.0                   # sigmoid 0.5 at most: just enough
    heat[5, 5, 2] = -1.0                    # sigmoid 0.27: not sure, left alone
    xy = np.array([[21.9 / 64, 12.4 / 64], [41.0 / 64, 39.0 / 64], [5.0 / 64, 5.0 / 64]])
    out = refine_from_heatmap(xy, heat)
    assert out[0] == pytest.approx([21 / 64, 11 / 64], abs=1e-6)
    assert out[1] == pytest.approx([40 / 64, 40 / 64], abs=1e-4)
    assert np.array_equal(out[2], xy[2])
    outside = np.array([[-0.1, 0.5], [1.2, 0.5], [0.0, 0.0], [0.0, 0.0]])
    heat4 = np.concatenate([heat, heat[..., :1]], axis=2)
    assert np.array_equal(refine_from_heatmap(outside, heat4)[:2], outside[:2])


def test_one_euro_filter_by_hand():
    f = OneEuro(min_cutoff=1.0, beta=0.0, frequency=30.0)
    assert f(np.array([0.0]))[0] == 0.0                      # the first value passes
    alpha = 1 / (1 + 30 / (2 * math.pi))                    # cutoff 1 Hz at 30 Hz: 0.1731
    assert f(np.array([1.0]))[0] == pytest.approx(alpha)
    assert f(np.array([1.0]))[0] == pytest.approx(alpha + (1 - alpha) * alpha)
    f.reset()
    assert f(np.array([5.0]))[0] == 5.0
    # beta raises the cutoff with speed: a fast move is followed more closely
    slow, fast = OneEuro(0.1, 0.0, frequency=30.0), OneEuro(0.1, 40.0, frequency=30.0)
    for g in (slow, fast):
        g(np.array([0.0]))
    assert fast(np.array([1.0]))[0] > 5 * slow(np.array([1.0]))[0]


def test_an_unknown_or_missing_model_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown pose model"):
        model_paths("huge")
    detector, landmark = model_paths("full")
    assert detector.name == "pose_detection.tflite" and landmark.name == "pose_landmark_full.tflite"


def _graph_and_litert(frames):
    import mediapipe as mp
    graph = []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                enable_segmentation=False) as pose:
        for frame in frames:
            res = pose.process(frame)
            graph.append(None if res.pose_landmarks is None else (
                np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_world_landmarks.landmark]),
                np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark])))
    tracker = BlazePose()
    return graph, [tracker.process(f) for f in frames]


def test_litert_gives_the_graphs_landmarks_on_a_real_video(realdata):
    from olympia.video.ffmpeg_ops import iter_frames
    video = realdata("videos", "pushup_test_fitness-action-eval.mp4")
    frames = [f.copy() for _, f in zip(range(60), iter_frames(video))]
    height, width = frames[0].shape[:2]
    graph, litert = _graph_and_litert(frames)
    assert [g is None for g in graph] == [x is None for x in litert]
    pairs = [(g, x) for g, x in zip(graph, litert) if g is not None]
    assert len(pairs) >= 55
    pixels = np.array([np.linalg.norm((g[1][:, :2] - x[1][:, :2]) * [width, height], axis=1)
                       for g, x in pairs])
    world_mm = np.array([np.linalg.norm(g[0][:, :3] - x[0][:, :3], axis=1) for g, x in pairs]) * 1000
    visibility = np.array([np.abs(g[0][:, 3] - x[0][:, 3]) for g, x in pairs])
    # the first frame comes from the detector: same to a fraction of a pixel; tracking and
    # smoothing then keep the two within a pixel (measured: median 0.13 px, 0.4 mm)
    assert pixels[0].max() < 0.5
    assert np.median(pixels) < 0.5 and np.percentile(pixels, 95) < 3.0
    assert np.median(world_mm) < 2.0 and np.percentile(world_mm, 95) < 10.0
    assert visibility.max() < 0.02


def test_the_model_without_its_mask_gives_the_same_four_outputs(realdata):
    from ai_edge_litert.interpreter import Interpreter

    from olympia.pose.blazepose import without_segmentation
    from olympia.video.ffmpeg_ops import iter_frames
    _, landmark = model_paths("full")
    video = realdata("videos", "pushup_test_fitness-action-eval.mp4")
    frame = next(iter(iter_frames(video)))
    tracker = BlazePose()
    crop = tracker.crop(frame, tracker.detect(frame))[None].astype(np.float32) / 255
    outputs = []
    for kwargs in ({"model_path": str(landmark)}, {"model_content": without_segmentation(landmark)}):
        interpreter = Interpreter(num_threads=1, **kwargs)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], crop)
        interpreter.invoke()
        outputs.append({tuple(o["shape"][1:]): interpreter.get_tensor(o["index"])
                        for o in interpreter.get_output_details()})
    full, pruned = outputs
    assert set(full) - set(pruned) == {(256, 256, 1)}                # only the mask is gone
    assert set(pruned) == {(195,), (1,), (64, 64, 39), (117,)}
    for shape, value in pruned.items():
        assert np.array_equal(value, full[shape]), shape             # bit for bit
    assert full[(1,)].item() > 0.9                                   # and a person was seen


def test_each_frame_gives_the_graphs_landmarks_from_the_graphs_region(realdata):
    """Open loop: every frame gets the graph's region (its ROI_FROM_LANDMARKS of the frame
    before) and goes through `BlazePose.process`, smoothing on, on the close-up whose region
    reaches far past the frame (the hardest case for the crop). Closed loop the two trackers
    agree as closely on steady footage (the push-up test above) but drift apart on hard clips,
    where sub-pixel differences grow (docs/video.md)."""
    from mediapipe.python.solution_base import SolutionBase
    from mediapipe.python.solutions import pose as mp_pose

    from olympia.video.ffmpeg_ops import iter_frames
    video = realdata("videos", "countix_4-YmQKoHYmw.mp4")
    frames = [f.copy() for _, f in zip(range(25), iter_frames(video))]
    height, width = frames[0].shape[:2]
    graph = SolutionBase(
        binary_graph_path=mp_pose._BINARYPB_FILE_PATH,
        side_inputs={"model_complexity": 1, "smooth_landmarks": True, "enable_segmentation": False,
                     "smooth_segmentation": False, "use_prev_landmarks": True},
        outputs=["pose_landmarks", "pose_world_landmarks", "pose_rect_from_landmarks"])
    tracker = BlazePose()
    pixels, world_mm, visibility = [], [], []
    with graph:
        for frame in frames:
            out = graph.process({"image": frame})
            image = np.array([(p.x, p.y) for p in out.pose_landmarks.landmark])
            world = np.array([(p.x, p.y, p.z, p.visibility) for p in out.pose_world_landmarks.landmark])
            mine_world, mine_image = tracker.process(frame)
            pixels.append(np.abs((mine_image[:, :2] - image) * [width, height]).max())
            world_mm.append(1000 * np.abs(mine_world[:, :3] - world[:, :3]).max())
            visibility.append(np.abs(mine_world[:, 3] - world[:, 3]).max())
            rect = out.pose_rect_from_landmarks
            assert rect.width * width == pytest.approx(rect.height * height, rel=1e-4)   # square
            tracker.region = Region(rect.x_center * width, rect.y_center * height, rect.width * width,
                                    rect.rotation)
    # measured: <= 0.06 px, <= 0.6 mm; the first frame is the detector's region, not the graph's
    assert max(pixels) < 0.3, pixels
    assert max(world_mm) < 2.0, world_mm
    assert max(visibility) < 1e-3, visibility
