"""Pose quality on Fit3D: each video's MediaPipe landmarks paired with its motion capture.

Shared by `olympia pose-eval`, benchmarks/bench_pose_quality.py and the regressor fit:
- `pair_video`: the video's landmarks on the pose path's 25 fps timeline (cached,
  olympia.pose.landmarks), its mocap resampled to 25 fps (olympia.timebase) in the camera's
  frame (olympia.pose.mocap), and the time offset between them, estimated twice
  (lowest PA-MPJPE, and cross-correlation of motion signals) rather than assumed;
- `skeleton`: the H36M-17 skeleton of a pair under a mapping (table, a regressor) or MotionBERT;
- `leave_one_subject_out`: the regressor recipe fitted without each subject, judged on it.

Regenerate the packaged regressor (olympia/pose/data/mediapipe_h36m_regressor.json):
    python -m olympia.pose.quality ../shared/realdata/fit3d/train
"""
from __future__ import annotations

import argparse
import datetime
from dataclasses import dataclass

import numpy as np

from olympia.pose.calibration import (ITERATIONS, REGRESSOR_PATH, RIDGE, LandmarkRegressor,
                                      fit_regressor, load_regressor, regressor_document, regressor_json_text,
                                      table_weights)
from olympia.io import atomic_write_text
from olympia.pose.evaluate import PoseEvaluation, estimate_offset, evaluate_pose, overlap, signal_offset
from olympia.pose.landmarks import LandmarkTrack, video_landmarks
from olympia.pose.mocap import Fit3DVideo, find_fit3d_videos, mocap_in_camera, read_mocap
from olympia.skeleton import camera_to_z_up

MAX_OFFSET = 12   # frames at 25 fps searched either way (0.48 s); Fit3D is synchronised: 0


@dataclass
class VideoPair:
    name: str                  # s03/65906101/warmup_7 for a Fit3D take, else the video path
    subject: str | None        # Fit3D subject (folds of the regressor), None elsewhere
    track: LandmarkTrack
    mocap: np.ndarray          # (T', 17, 3) metres, 25 fps; camera frame turned z-up if a camera was given
    rotation: str              # "given" (mocap in the camera frame) or "sequence" (fitted, see evaluate)
    offset: int                # landmarks frame i <-> mocap frame i + offset (lowest PA-MPJPE)
    signal_offset: int         # the same by cross-correlating motion signals (a check)
    signal_correlation: float

    @property
    def landmarks(self) -> np.ndarray:
        """(T, 33, 3) world landmarks turned z-up (camera-aligned, like the mocap)."""
        return camera_to_z_up(self.track.world[..., :3]).astype(np.float64)

    def aligned(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame-paired (landmarks, mocap) over the overlap at `offset`."""
        sp, sr = overlap(len(self.track.world), len(self.mocap), self.offset)
        return self.landmarks[sp], self.mocap[sr]


def pair_video(video, mocap, camera=None, *, cache_dir=None, offset: int | None = None,
               start_frame: int = 0, end_frame: int | None = None, name: str | None = None,
               subject: str | None = None) -> VideoPair:
    """Landmarks of a video's frames [start_frame, end_frame) (25 fps) + its mocap (a Fit3D
    joints file or a 25 fps .npy starting with the video; put in the camera's frame when a
    Fit3D camera file is given). offset None: estimated (table mapping)."""
    track = video_landmarks(video, cache_dir=cache_dir, start_frame=start_frame, end_frame=end_frame)
    if camera is not None:
        ref = mocap_in_camera(mocap, camera, track.fps)
    else:
        ref = read_mocap(mocap, track.fps).astype(np.float64)
    ref = ref[start_frame:]   # mocap frame start_frame + i is the excerpt's frame i
    table = LandmarkRegressor(table_weights()).apply(camera_to_z_up(track.world[..., :3]))
    best, _ = estimate_offset(table, ref, MAX_OFFSET)
    sig, corr = signal_offset(table, ref, MAX_OFFSET)
    return VideoPair(name or str(video), subject, track, ref, "given" if camera is not None else "sequence",
                     best if offset is None else int(offset), sig, corr)


def pair_fit3d(take: Fit3DVideo, cache_dir=None, offset: int | None = None,
               start_frame: int = 0, end_frame: int | None = None) -> VideoPair:
    return pair_video(take.video, take.joints, take.camera_parameters, cache_dir=cache_dir,
                      offset=offset, start_frame=start_frame, end_frame=end_frame,
                      name=take.name, subject=take.subject)


def skeleton(pair: VideoPair, mapping: LandmarkRegressor | None = None,
             motionbert=None) -> np.ndarray:
    """(T, 17, 3) video skeleton, z up: the regressor's (None: table) or, when `motionbert`
    (a MotionBERTBackend) is given, MotionBERT lifting the table's 2D joints."""
    if motionbert is not None:
        from olympia.pose.mediapipe_backend import landmarks_to_result
        det = landmarks_to_result(pair.track.world, pair.track.image, pair.track.fps,
                                  pair.track.image_size, "mediapipe", pair.track.version)
        return motionbert.lift(det.keypoints_2d, pair.track.image_size).astype(np.float64)
    return (mapping or LandmarkRegressor(table_weights())).apply(pair.landmarks).astype(np.float64)


def evaluate_pair(pair: VideoPair, mapping: LandmarkRegressor | None = None,
                  motionbert=None) -> PoseEvaluation:
    return evaluate_pose(skeleton(pair, mapping, motionbert), pair.mocap, offset=pair.offset,
                         rotation=pair.rotation)


def fit_pairs(pairs: list[VideoPair], ridge: float = RIDGE, iterations: int = ITERATIONS) -> np.ndarray:
    lms, mocaps = zip(*(p.aligned() for p in pairs))
    return fit_regressor(list(lms), list(mocaps), ridge=ridge, iterations=iterations)


def mean_errors(pairs: list[VideoPair], mapping: LandmarkRegressor | None) -> dict:
    evals = [evaluate_pair(p, mapping) for p in pairs]
    return {"pa_mpjpe_mm": round(1000 * float(np.mean([e.pa_mpjpe for e in evals])), 1),
            "mpjpe_mm": round(1000 * float(np.mean([e.mpjpe for e in evals])), 1)}


def leave_one_subject_out(pairs: list[VideoPair], ridge: float = RIDGE,
                          iterations: int = ITERATIONS) -> dict:
    """{subject: {fitted_on, weights, table, calibrated}}: the recipe fitted on every other
    subject and judged on this one (mean over its videos)."""
    folds = {}
    for subject in sorted({p.subject for p in pairs if p.subject}):
        train = [p for p in pairs if p.subject != subject]
        test = [p for p in pairs if p.subject == subject]
        if not train:
            continue
        weights = fit_pairs(train, ridge, iterations)
        folds[subject] = {"fitted_on": [p.name for p in train], "weights": weights,
                          "table": mean_errors(test, None),
                          "calibrated": mean_errors(test, LandmarkRegressor(weights))}
    return folds


def fitted_on(regressor: LandmarkRegressor) -> set[str]:
    """Names of the videos a regressor was fitted on (its provenance)."""
    return {v["video"] if isinstance(v, dict) else str(v)
            for v in regressor.provenance.get("fitted_on", [])}


def held_out_regressor(pair: VideoPair, path=None) -> tuple[LandmarkRegressor, str]:
    """The regressor to judge a pair with honestly: the packaged one unless it was fitted on
    this video's subject, then the fold fitted without that subject. Returns (regressor, which)."""
    main = load_regressor(str(path) if path else None)
    subjects = {name.split("/")[0] for name in fitted_on(main)}
    if pair.subject is None or pair.subject not in subjects:
        return main, "packaged"
    return load_regressor(str(path) if path else None, pair.subject), f"fitted without {pair.subject}"


def write_regressor(root, out=REGRESSOR_PATH, cache_dir="work/cache/pose") -> dict:
    """Fit the regressor on every Fit3D video under root (+ leave-one-subject-out folds)."""
    import mediapipe
    pairs = [pair_fit3d(t, cache_dir) for t in find_fit3d_videos(root)]
    if not pairs:
        raise SystemExit(f"no Fit3D videos under {root} (expected <subject>/videos/<camera>/<action>.mp4)")
    weights = fit_pairs(pairs)
    provenance = {
        "fitted_on": [{"video": p.name, "frames": len(p.aligned()[0]), "offset": p.offset}
                      for p in pairs],
        "data": "Fit3D (Fieraru et al., CVPR 2021; fit3d.imar.ro, research licence): videos "
                "(50 fps, 900x900) and joints3d_25 motion capture mapped with fit3d25",
        "frames": "the pose path's: 25 fps timeline, shorter side <= 720 px, MediaPipe "
                  f"{mediapipe.__version__} full, video mode; mocap resampled to 25 fps",
        "recipe": {"ridge": RIDGE, "iterations": ITERATIONS, "prior": "the table mapping",
                   "loss": "per-frame similarity-aligned joint error (PA-MPJPE)"},
        "date": datetime.date.today().isoformat(),
        "command": "python -m olympia.pose.quality " + str(root),
        "training_fit": mean_errors(pairs, LandmarkRegressor(weights)),
    }
    doc = regressor_document(weights, provenance, leave_one_subject_out(pairs))
    atomic_write_text(out, regressor_json_text(doc))
    return doc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="Fit3D root holding <subject>/videos/<camera>/<action>.mp4")
    ap.add_argument("--out", default=str(REGRESSOR_PATH))
    ap.add_argument("--cache-dir", default="work/cache/pose")
    args = ap.parse_args(argv)
    doc = write_regressor(args.root, args.out, args.cache_dir)
    for subject, fold in doc["held_out"].items():
        print(f"held-out {subject}: PA-MPJPE table {fold['table']['pa_mpjpe_mm']} mm -> "
              f"calibrated {fold['calibrated']['pa_mpjpe_mm']} mm")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
