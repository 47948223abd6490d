"""Pose quality against motion capture on Fit3D videos (issue 12, part 6): the table mapping
(before) against the calibrated landmark regressor (after), judged on held-out subjects.

For every video under the Fit3D root (<subject>/videos/<camera>/<action>.mp4): MediaPipe's
landmarks on the pose path's 25 fps timeline (cached in work/cache/pose: a re-run does no
MediaPipe work), the mocap resampled to 25 fps and put in the camera's frame, the time offset
(estimated, and checked by cross-correlating motion signals), then MPJPE after root alignment
and PA-MPJPE (per-frame similarity alignment), per video and per joint.

Held out: a video of a subject the packaged regressor was fitted on is judged with the fold
fitted without that subject (stored in the regressor file, refitted here as a check); any other
subject is judged with the packaged regressor. Target: mean held-out PA-MPJPE <= 55 mm for
every held-out subject. MotionBERT is added when OLYMPIA_MOTIONBERT_CHECKPOINT is set.

Usage: python benchmarks/bench_pose_quality.py [--root FIT3D_TRAIN] [--json OUT]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from olympia.pose.calibration import load_regressor
from olympia.pose.mocap import find_fit3d_videos
from olympia.pose.quality import (evaluate_pair, held_out_regressor, leave_one_subject_out,
                                  pair_fit3d)
from olympia.skeleton import H36M_JOINTS

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OLYMPIA_SHARED", REPO.parent / "shared"))
FIT3D = SHARED / "realdata" / "fit3d" / "train"
TARGET_MM = 55.0


def motionbert_backend():
    path = os.environ.get("OLYMPIA_MOTIONBERT_CHECKPOINT")
    if not path:
        return None
    from olympia.pose.motionbert_backend import MotionBERTBackend
    return MotionBERTBackend(checkpoint=path, config=os.environ.get("OLYMPIA_MOTIONBERT_CONFIG", "lite"))


def video_table(pairs, motionbert) -> dict:
    """Per-video evaluations: {name: {column: PoseEvaluation}}, printed as it goes."""
    rows = {}
    head = f"{'video':34s} {'frames':>6s} {'off':>3s} {'sig':>3s} {'r':>5s}  {'table MPJPE/PA':>15s}  " \
           f"{'calibrated MPJPE/PA':>20s}  {'calibrated with':22s}"
    print(head + ("  motionbert MPJPE/PA" if motionbert else ""))
    for pair in pairs:
        regressor, which = held_out_regressor(pair)
        cols = {"table": evaluate_pair(pair), "calibrated": evaluate_pair(pair, regressor)}
        if motionbert is not None:
            cols["motionbert"] = evaluate_pair(pair, motionbert=motionbert)
        rows[pair.name] = cols
        t, c = cols["table"], cols["calibrated"]
        line = (f"{pair.name:34s} {t.n_compared:6d} {pair.offset:3d} {pair.signal_offset:3d} "
                f"{pair.signal_correlation:5.3f}  {1000 * t.mpjpe:6.1f} / {1000 * t.pa_mpjpe:5.1f}  "
                f"{1000 * c.mpjpe:11.1f} / {1000 * c.pa_mpjpe:5.1f}  {which:22s}")
        if motionbert is not None:
            m = cols["motionbert"]
            line += f"  {1000 * m.mpjpe:9.1f} / {1000 * m.pa_mpjpe:5.1f}"
        print(line, flush=True)
    return rows


def joint_table(subject: str, rows: dict) -> None:
    names = [n for n in rows if n.startswith(subject + "/")]
    cols = list(next(iter(rows.values())))
    print(f"\nper joint, subject {subject} held out ({len(names)} videos), mm: MPJPE / PA-MPJPE")
    print(f"{'joint':12s}" + "".join(f"{c:>22s}" for c in cols))
    for j, joint in enumerate(H36M_JOINTS):
        cells = []
        for c in cols:
            mp = np.mean([rows[n][c].per_joint_mpjpe[j] for n in names]) * 1000
            pa = np.mean([rows[n][c].per_joint_pa_mpjpe[j] for n in names]) * 1000
            cells.append(f"{mp:13.1f} / {pa:5.1f}")
        print(f"{joint:12s}" + "".join(f"{x:>22s}" for x in cells))


def refit_check(pairs) -> None:
    """The recipe refitted here must give the stored folds back (same landmarks, same code)."""
    folds = leave_one_subject_out(pairs)
    for subject, fold in folds.items():
        try:
            stored = load_regressor(None, subject).weights
        except Exception as exc:  # noqa: BLE001 - a subject the file has no fold for
            print(f"refit without {subject}: no stored fold ({exc})")
            continue
        diff = np.abs(fold["weights"] - stored).max()
        print(f"refit without {subject}: max |weight - stored| = {diff:.2e}; "
              f"PA-MPJPE {fold['table']['pa_mpjpe_mm']} -> {fold['calibrated']['pa_mpjpe_mm']} mm")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=FIT3D, help="Fit3D train folder with videos")
    ap.add_argument("--cache-dir", default=str(REPO / "work" / "cache" / "pose"))
    args = ap.parse_args()
    takes = find_fit3d_videos(args.root) if args.root.is_dir() else []
    if not takes:
        print(f"SKIP bench_pose_quality: no Fit3D videos under {args.root} (../shared absent?)")
        return 0
    print(f"{len(takes)} Fit3D videos under {args.root}; MediaPipe landmarks cached in {args.cache_dir}")
    pairs = [pair_fit3d(t, args.cache_dir) for t in takes]
    rows = video_table(pairs, motionbert_backend())
    packaged = load_regressor()
    print(f"\npackaged regressor {packaged.version}, fitted on "
          f"{len(packaged.provenance.get('fitted_on', []))} videos "
          f"({packaged.provenance.get('date', '?')}); training fit "
          f"{packaged.provenance.get('training_fit')}")
    verdicts = []
    for subject in sorted({p.subject for p in pairs}):
        joint_table(subject, rows)
        names = [n for n in rows if n.startswith(subject + "/")]
        before = np.mean([rows[n]["table"].pa_mpjpe for n in names]) * 1000
        after = np.mean([rows[n]["calibrated"].pa_mpjpe for n in names]) * 1000
        mp_before = np.mean([rows[n]["table"].mpjpe for n in names]) * 1000
        mp_after = np.mean([rows[n]["calibrated"].mpjpe for n in names]) * 1000
        verdicts.append((subject, before, after, mp_before, mp_after))
    print()
    if len({p.subject for p in pairs}) > 1:
        refit_check(pairs)
    for subject, before, after, mp_before, mp_after in verdicts:
        ok = after <= TARGET_MM
        print(f"{'PASS' if ok else 'FAIL'} pose quality, subject {subject} held out: PA-MPJPE "
              f"table {before:.1f} mm -> calibrated {after:.1f} mm (target <= {TARGET_MM:g}); "
              f"MPJPE {mp_before:.1f} -> {mp_after:.1f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
