"""MediaPipe Pose's models (BlazePose GHUM) run directly with LiteRT, without the graph runtime.

`mp.solutions.pose` takes ~22.5 ms of CPU a frame on this machine's cores: the landmark model
(~15.5 ms, of which ~6 ms compute a 256x256 segmentation mask that is then thrown away when
segmentation is off) and the graph runtime (image packets, protobuf landmark lists, ~70
calculators). This module runs the same two model files that mediapipe 0.10.21 ships
(`pose_detection.tflite`, `pose_landmark_full.tflite`, the latter without its segmentation head:
`without_segmentation`) with LiteRT's interpreter (XNNPACK, one thread) and does the graph's
work in numpy, step for step as that release's `pose_landmark_cpu` graph does it (its expanded
config, read from the installed package, gives every number below):

1. Detection, only when there is no region from the previous frame: the frame letterboxed to
   224x224 (zero border, values in [-1, 1]); 2254 SSD anchors (strides 8, 16, 32, 32, 32; fixed
   size; 2 anchors per cell, 6 on the merged stride-32 layers); boxes and 4 keypoints decoded
   at scale 224; score = sigmoid(clip(raw, +-100)) >= min_detection_confidence; weighted
   non-max suppression (IoU > 0.3) of the best detection; letterbox removed.
2. Region: centre = keypoint 0 (mid-hip), size = 2 x |keypoint 1 - keypoint 0| (pixels),
   rotation = 90 deg - atan2(-(dy), dx) normalised to [-pi, pi), square, scaled 1.25.
3. Landmarks: the region warped to 256x256 (bilinear, border replicated, values in [0, 1]);
   the pose flag > min_tracking_confidence or no pose; 39 landmarks (x, y, z / 256, sigmoid
   visibility); x, y refined from the 64x64 heatmap (9x9 sigmoid-weighted mean where its
   maximum >= 0.5, with the calculator's own index rules); projected into the frame by the
   region (z scaled by its width); world landmarks (metres) rotated by the region's rotation.
4. Smoothing (smooth_landmarks): visibility low-pass 0.1; one-euro filters, at the 30 Hz the
   legacy solution's timestamps simulate whatever the video's rate: landmarks in pixels
   (min cutoff 0.05, beta 80, value scale 1 / object size), world landmarks (0.1, 40, no value
   scaling); auxiliary landmarks 33-34 (0.01, 10) always, smoothing or not; all reset when the
   pose is lost.
5. Tracking: the next frame's region comes from the smoothed auxiliary landmarks 33 (centre)
   and 34 (size and rotation) as in step 2; a lost pose means detection on the next frame.

`BlazePose.process(frame)` returns what `mp.solutions.pose.Pose.process` returns, as arrays:
world (33, 4) and image (33, 4) landmarks (x, y, z, visibility), or None without a pose.
Agreement with the graph is measured, not assumed (tests/test_blazepose.py, docs/video.md).
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from olympia.errors import ConfigError

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
# The graph's config says kernel_size 7, but 0.10.21's calculator refines over a 9-cell window
# (+-4 cells): its landmarks match a 9-cell window to 0.0024 heatmap cells on a real frame and a
# 7-cell one only to 0.22 (the difference shows on diffuse heatmaps, i.e. uncertain joints)
HEATMAP_KERNEL = 9
HEATMAP_MIN_CONFIDENCE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25
SCORE_CLIP = 100.0
VISIBILITY_ALPHA = 0.1
SOLUTION_FPS = 1e6 / 33333     # the legacy solution's simulated timestamps: 33,333 us apart
MODELS = ("lite", "full", "heavy")


def mediapipe_modules() -> Path:
    """The installed mediapipe package's model folder, found without importing mediapipe
    (~0.8 s of start-up that this runtime does not need)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.origin:
        raise ConfigError("MediaPipe is not installed; install the pinned mediapipe==0.10.21 from "
                          "requirements.lock (`make env`): its package holds the pose models")
    return Path(spec.origin).resolve().parent / "modules"


def model_paths(model: str = "full") -> tuple[Path, Path]:
    """(detector, landmark model) files; ConfigError naming the fix when one is missing."""
    if model not in MODELS:
        raise ConfigError(f"unknown pose model {model!r}; choose one of {MODELS}")
    modules = mediapipe_modules()
    detector = modules / "pose_detection" / "pose_detection.tflite"
    landmark = modules / "pose_landmark" / f"pose_landmark_{model}.tflite"
    for path in (detector, landmark):
        if not path.is_file():
            raise ConfigError(f"{path} is missing: mediapipe 0.10.21 ships the detector and the "
                              "'full' landmark model; reinstall mediapipe==0.10.21 (`make env`), or "
                              "put the 'lite' / 'heavy' model file of the same release there")
    return detector, landmark


def litert_version() -> str:
    from importlib.metadata import version
    return version("ai-edge-litert")


def _interpreter(path: Path, content: bytes | None = None):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise ConfigError(f"LiteRT is unavailable ({exc}); install the pinned ai-edge-litert "
                          "from requirements.lock (`make env`)") from None
    if content is None:
        interpreter = Interpreter(model_path=str(path), num_threads=1)
    else:
        interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


@lru_cache(maxsize=4)
def without_segmentation(path: Path) -> bytes:
    """The landmark model without its segmentation head, as flatbuffer bytes (in memory; the
    file is not changed). The model computes a 256x256 person mask on every frame whatever
    `enable_segmentation` says; this pipeline never uses it. Kept: every operator that the other
    four outputs (landmarks, pose flag, heatmap, world landmarks) depend on, unchanged, so those
    outputs are bit-identical (tests/test_blazepose.py). Measured on one core: 17.4 -> 11.4 ms a
    frame, 286 of 332 operators."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema
    data = Path(path).read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    graph = model.subgraphs[0]
    keep = [int(t) for t in graph.outputs if tuple(graph.tensors[t].shape) != (1, LANDMARK_SIZE, LANDMARK_SIZE, 1)]
    if len(keep) != len(graph.outputs) - 1:
        raise ConfigError(f"{path}: expected one (1, 256, 256, 1) segmentation output among "
                          f"{[tuple(graph.tensors[t].shape) for t in graph.outputs]}; is this "
                          "MediaPipe's pose landmark model?")
    producer = {int(t): k for k, op in enumerate(graph.operators) for t in op.outputs}
    needed, stack = set(), list(keep)
    while stack:
        k = producer.get(stack.pop())
        if k is not None and k not in needed:
            needed.add(k)
            stack.extend(int(t) for t in graph.operators[k].inputs if t >= 0)
    graph.operators = [op for k, op in enumerate(graph.operators) if k in needed]
    graph.outputs = np.array(keep, np.int32)
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@lru_cache(maxsize=1)
def ssd_anchor_centres() -> np.ndarray:
    """(2254, 2) anchor centres (x, y) in [0, 1], in the detector's output order."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):   # the three stride-32 layers merge
        cells = math.ceil(DETECTOR_SIZE / stride)
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class Region:
    """A square, rotated region of the frame, in pixels (centre, side, rotation in radians,
    clockwise on screen)."""

    cx: float
    cy: float
    side: float
    rotation: float

    @classmethod
    def from_points(cls, centre, scale_point, width: int, height: int, scale: float = ROI_SCALE) -> Region:
        """MediaPipe's AlignmentPointsRects + RectTransformation(square_long, scale): points are
        normalised (x, y)."""
        cx, cy = centre[0] * width, centre[1] * height
        sx, sy = scale_point[0] * width, scale_point[1] * height
        box = 2.0 * math.hypot(sx - cx, sy - cy)
        rotation = normalize_radians(math.pi / 2 - math.atan2(-(sy - cy), sx - cx))
        return cls(cx, cy, box * scale, rotation)

    def project(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) crop-normalised points -> frame pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        d = (xy - 0.5) * self.side
        return np.stack([c * d[:, 0] - s * d[:, 1] + self.cx, s * d[:, 0] + c * d[:, 1] + self.cy], axis=1)


class OneEuro:
    """MediaPipe's one-euro filter, vectorised over an array of values (util/filtering)."""

    def __init__(self, min_cutoff: float, beta: float, derivate_cutoff: float = 1.0,
                 frequency: float = SOLUTION_FPS):
        self.min_cutoff, self.beta, self.dcutoff, self.frequency = min_cutoff, beta, derivate_cutoff, frequency
        self.reset()

    def reset(self) -> None:
        self.value = self.raw = self.dvalue = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.frequency)

    def __call__(self, value: np.ndarray, value_scale: float = 1.0) -> np.ndarray:
        value = np.asarray(value, np.float64)
        if self.value is None:
            self.value, self.raw, self.dvalue = value.copy(), value.copy(), np.zeros_like(value)
            return value
        dvalue = (value - self.raw) * value_scale * self.frequency
        a = self._alpha(self.dcutoff)
        self.dvalue = a * dvalue + (1 - a) * self.dvalue
        alpha = self._alpha(self.min_cutoff + self.beta * np.abs(self.dvalue))
        self.value = alpha * value + (1 - alpha) * self.value
        self.raw = value
        return self.value


class LowPass:
    def __init__(self, alpha: float):
        self.alpha = alpha
        self.value = None

    def reset(self) -> None:
        self.value = None

    def __call__(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, np.float64)
        self.value = value.copy() if self.value is None else self.alpha * value + (1 - self.alpha) * self.value
        return self.value


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """MediaPipe's RefineLandmarksFromHeatmap (a 9-cell window, min confidence 0.5), index rules
    included: centres truncate toward zero, a landmark is skipped when its column is outside
    the heatmap (its row is not checked; the window is clipped instead)."""
    rows, cols, n = heatmap.shape
    out = xy.copy()
    centre_col = (xy[:, 0] * cols).astype(np.int64)      # C++ static_cast<int>: toward zero
    centre_row = (xy[:, 1] * rows).astype(np.int64)
    half = (HEATMAP_KERNEL - 1) // 2
    offsets = np.arange(-half, half + 1)
    r = centre_row[:, None, None] + offsets[None, :, None]          # (n, 7, 1)
    c = centre_col[:, None, None] + offsets[None, None, :]          # (n, 1, 7)
    r, c = np.broadcast_arrays(r, c)
    valid = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    lm = np.broadcast_to(np.arange(n)[:, None, None], r.shape)
    conf = np.where(valid, sigmoid(heatmap[np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1), lm]), 0.0)
    total = conf.sum(axis=(1, 2))
    best = conf.max(axis=(1, 2))
    use = (centre_col >= 0) & (centre_col < cols) & (best >= HEATMAP_MIN_CONFIDENCE) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 0] = np.where(use, (conf * c).sum(axis=(1, 2)) / cols / total, xy[:, 0])
        out[:, 1] = np.where(use, (conf * r).sum(axis=(1, 2)) / rows / total, xy[:, 1])
    return out


class BlazePose:
    """One tracked person through a video's frames (RGB uint8), as `mp.solutions.pose.Pose`
    in video mode (static_image_mode=False, no segmentation)."""

    def __init__(self, model: str = "full", min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True):
        import cv2
        self._cv2 = cv2
        detector, landmark = model_paths(model)
        self.model = model
        self.min_detection = float(min_detection_confidence)
        self.min_tracking = float(min_tracking_confidence)
        self.smooth = bool(smooth_landmarks)
        self._det = _interpreter(detector)
        self._lm = _interpreter(landmark, without_segmentation(landmark))
        self._det_in = self._det.get_input_details()[0]["index"]
        outs = {tuple(o["shape"][1:]): o["index"] for o in self._det.get_output_details()}
        self._det_boxes, self._det_scores = outs[(2254, 12)], outs[(2254, 1)]
        self._lm_in = self._lm.get_input_details()[0]["index"]
        outs = {tuple(o["shape"][1:]): o["index"] for o in self._lm.get_output_details()}
        self._lm_points, self._lm_flag = outs[(195,)], outs[(1,)]
        self._lm_heatmap, self._lm_world = outs[(64, 64, 39)], outs[(117,)]
        self._filters = {"image": OneEuro(0.05, 80.0), "world": OneEuro(0.1, 40.0),
                         "aux": OneEuro(0.01, 10.0), "vis": LowPass(VISIBILITY_ALPHA)}
        self.region: Region | None = None   # from the previous frame's landmarks

    def reset(self) -> None:
        self.region = None
        for f in self._filters.values():
            f.reset()

    def crop(self, frame: np.ndarray, region: Region, size: int = LANDMARK_SIZE,
             border: int | None = None) -> np.ndarray:
        """The region as a size x size RGB image, built as the graph's ImageToTensor builds it:
        the rotated square's corners (cv2.boxPoints) mapped onto the crop's by a perspective
        transform, bilinear, border replicated by default. (The same mapping through
        cv2.warpAffine rounds differently: on a close-up whose region reaches far past the frame,
        4.4 px from the graph's landmarks on the first frame instead of 0.13.)"""
        cv2 = self._cv2
        box = cv2.boxPoints(((region.cx, region.cy), (region.side, region.side),
                             math.degrees(region.rotation))).astype(np.float32)
        corners = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
        return cv2.warpPerspective(frame, cv2.getPerspectiveTransform(box, corners), (size, size),
                                   flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE if border is None else border,
                                   borderValue=0)

    # -- detection ---------------------------------------------------------------------------
    def detect(self, frame: np.ndarray) -> Region | None:
        height, width = frame.shape[:2]
        side = max(width, height)               # the whole frame, letterboxed to a square
        pad_x, pad_y = (side - width) / 2, (side - height) / 2
        image = self.crop(frame, Region(width / 2, height / 2, side, 0.0), DETECTOR_SIZE,
                          border=self._cv2.BORDER_CONSTANT)
        self._det.set_tensor(self._det_in, (image.astype(np.float32) * np.float32(2 / 255) - 1)[None])
        self._det.invoke()
        raw = self._det.get_tensor(self._det_boxes)[0].astype(np.float64)
        scores = sigmoid(np.clip(self._det.get_tensor(self._det_scores)[0, :, 0].astype(np.float64),
                                 -SCORE_CLIP, SCORE_CLIP))
        keep = np.flatnonzero(scores >= self.min_detection)
        if keep.size == 0:
            return None
        anchors = ssd_anchor_centres()[keep]
        raw, scores = raw[keep], scores[keep]
        centre = raw[:, 0:2] / DETECTOR_SIZE + anchors
        size = raw[:, 2:4] / DETECTOR_SIZE
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)   # xmin, ymin, xmax, ymax
        points = raw[:, 4:12].reshape(-1, 4, 2) / DETECTOR_SIZE + anchors[:, None, :]
        top = int(np.argmax(scores))
        inter_w = np.clip(np.minimum(boxes[:, 2], boxes[top, 2]) - np.maximum(boxes[:, 0], boxes[top, 0]), 0, None)
        inter_h = np.clip(np.minimum(boxes[:, 3], boxes[top, 3]) - np.maximum(boxes[:, 1], boxes[top, 1]), 0, None)
        inter = inter_w * inter_h
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        union = areas + areas[top] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        members = iou > NMS_IOU
        members[top] = True
        w = scores[members]
        kp = (points[members] * w[:, None, None]).sum(axis=0) / w.sum()        # (4, 2) letterboxed
        # letterbox removal: back to the frame's normalised coordinates
        kp[:, 0] = (kp[:, 0] - pad_x / side) / (width / side)
        kp[:, 1] = (kp[:, 1] - pad_y / side) / (height / side)
        return Region.from_points(kp[0], kp[1], width, height)

    # -- landmarks ---------------------------------------------------------------------------
    def landmarks(self, frame: np.ndarray, region: Region):
        """Unsmoothed (image (39, 4) normalised x, y, z + visibility; world (33, 3)) or None."""
        height, width = frame.shape[:2]
        crop = self.crop(frame, region)
        self._lm.set_tensor(self._lm_in, (crop.astype(np.float32) * np.float32(1 / 255))[None])
        self._lm.invoke()
        flag = float(self._lm.get_tensor(self._lm_flag).reshape(-1)[0])
        if not flag > self.min_tracking:
            return None
        raw = self._lm.get_tensor(self._lm_points).reshape(39, 5).astype(np.float64)
        xy = refine_from_heatmap(raw[:, :2] / LANDMARK_SIZE, self._lm.get_tensor(self._lm_heatmap)[0])
        pixels = region.project(xy)
        image = np.empty((39, 4), np.float64)
        image[:, 0] = pixels[:, 0] / width
        image[:, 1] = pixels[:, 1] / height
        image[:, 2] = raw[:, 2] / LANDMARK_SIZE * region.side / width
        image[:, 3] = sigmoid(raw[:, 3])
        world_raw = self._lm.get_tensor(self._lm_world).reshape(39, 3)[:33].astype(np.float64)
        c, s = math.cos(region.rotation), math.sin(region.rotation)
        world = np.stack([c * world_raw[:, 0] - s * world_raw[:, 1], s * world_raw[:, 0] + c * world_raw[:, 1],
                          world_raw[:, 2]], axis=1)
        return image, world

    def process(self, frame: np.ndarray):
        """(world (33, 4), image (33, 4)) float32 for one RGB frame, or None (no pose)."""
        frame = np.ascontiguousarray(frame)
        height, width = frame.shape[:2]
        region = self.region or self.detect(frame)
        found = None if region is None else self.landmarks(frame, region)
        if found is None:
            self.reset()
            return None
        image, world = found
        aux = image[33:35]
        aux_box = 2.0 * math.hypot((aux[1, 0] - aux[0, 0]) * width, (aux[1, 1] - aux[0, 1]) * height)
        visibility = image[:33, 3]
        f = self._filters
        to_px = np.array([width, height, width], np.float64)
        scale = 1.0 / aux_box if aux_box > 1e-6 else None     # MediaPipe: no filtering below 1e-6
        if scale is not None:       # the auxiliary landmarks are smoothed even without smoothing
            aux = f["aux"](aux[:, :3] * to_px, scale) / to_px
        if self.smooth:
            visibility = f["vis"](visibility)
            if scale is not None:
                image = image.copy()
                image[:33, :3] = f["image"](image[:33, :3] * to_px, scale) / to_px
            world = f["world"](world)
        self.region = Region.from_points(aux[0, :2], aux[1, :2], width, height)
        out_world = np.column_stack([world, visibility]).astype(np.float32)
        out_image = np.column_stack([image[:33, :3], visibility]).astype(np.float32)
        return out_world, out_image
