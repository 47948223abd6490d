"""Every adapter on every real release file in ../shared/realdata: the figures of docs/adapters.md.

    .venv/bin/python benchmarks/eval_real_sources.py [--realdata DIR] [--json FILE]

Per source (and per UI-PRMD system and execution): files, clips in, items quarantined and
their reasons, reps and frames, seconds; plausibility (stature, bone-length variation,
left/right asymmetry and consistency, gap-filled frames); Fit3D reps against rep_ann; the
VisionFit job's reps against job.json; UI-PRMD Vicon vs Kinect agreement on what moves
(olympia.adapters.uiprmd.system_agreement) per repetition captured by both. The tests read a
sample of the same files (tests/test_adapters_real.py); this reads all of them (~1 minute).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from olympia.adapters import ADAPTERS  # noqa: E402
from olympia.adapters.common import plausibility_summary  # noqa: E402
from olympia.adapters.uiprmd import system_agreement  # noqa: E402
from olympia.cli.ingest import _format_summary  # noqa: E402
from olympia.schema import Clip, Rejected, validate_clip  # noqa: E402

SOURCES = {"fit3d": "fit3d", "uiprmd": "uiprmd_release", "kimore": "kimore", "visionfit": "visionfit",
           "mmfit": "mmfit"}


def reason(r: Rejected) -> str:
    """A quarantine message without its numbers: what kind of problem."""
    m = r.message
    for key in ("is missing (expected beside", "marker CLAV", "marker LASI", "implausible skeleton",
                "not valid JSON", "columns"):
        if key in m:
            return key
    return m[:60]


def run_source(name: str, raw: Path) -> tuple[dict, list[Clip]]:
    t0 = time.perf_counter()
    out = list(ADAPTERS[name].iter_clips(raw))
    seconds = time.perf_counter() - t0
    clips = [c for c in out if isinstance(c, Clip)]
    rejected = [r for r in out if isinstance(r, Rejected)]
    for c in clips:
        validate_clip(c)
    fig = {"clips": len(clips), "quarantined": len(rejected), "seconds": round(seconds, 1),
           "reasons": dict(Counter(reason(r) for r in rejected)),
           "subjects": len({c.subject for c in clips}), "labels": len({c.label for c in clips}),
           "reps": int(sum(c.reps or 0 for c in clips)), "reps_unknown": sum(c.reps is None for c in clips),
           "frames": int(sum(c.n_frames for c in clips)),
           "rep_bounds_estimated": dict(Counter(c.extra.get("rep_bounds_estimated", "given")
                                                for c in clips if len(c.rep_bounds))),
           "plausibility": plausibility_summary(clips)}
    return fig, clips


def fit3d_truth(raw: Path, clips: list[Clip]) -> dict:
    ann = {s.name: json.loads((s / "rep_ann.json").read_text()) for s in (raw / "train").iterdir()}
    exact = checked = 0
    for c in clips:
        bounds = ann[c.subject].get(c.extra["action"])
        if bounds is not None:
            checked += 1
            exact += c.reps == len(bounds) - 1
    return {"annotated": checked, "reps_equal_rep_ann": exact}


def uiprmd_agreement(clips: list[Clip]) -> dict:
    by_id = {c.id: c for c in clips}
    rows = []
    for cid, c in by_id.items():
        other = by_id.get(cid.replace(":vicon:", ":kinect:"))
        if c.extra["system"] == "vicon" and other is not None:
            rows.append({"id": cid, "movement": c.extra["movement"], **system_agreement(c.keypoints, other.keypoints)})
    per_movement = defaultdict(lambda: [0, 0])
    for r in rows:
        per_movement[r["movement"]][0] += r["agree"]
        per_movement[r["movement"]][1] += 1
    one_sided = [r for r in rows if r["one_sided"]]
    return {"pairs": len(rows), "agree": sum(r["agree"] for r in rows),
            "r_same_over_0.7": sum(r["r_same"] > 0.7 for r in rows),
            "one_sided": len(one_sided), "one_sided_same_side_wins": sum(r["r_same"] > r["r_mirror"] for r in one_sided),
            "per_movement": {m: f"{a}/{n}" for m, (a, n) in sorted(per_movement.items())},
            "disagreements": [r for r in rows if not r["agree"]]}


def print_source(name: str, raw: Path, fig: dict) -> None:
    print(f"\n== {name} ({raw.name}): {fig['clips']} clips, {fig['quarantined']} quarantined "
          f"{fig['reasons'] or ''}, {fig['subjects']} subjects, {fig['labels']} labels, "
          f"{fig['reps']} reps ({fig['reps_unknown']} clips without a count), {fig['frames']} frames "
          f"at 25 fps, {fig['seconds']} s; rep bounds: {fig['rep_bounds_estimated']}")
    if fig["clips"]:
        print(_format_summary(name, fig["plausibility"]))
    for system, sub in fig.get("per_system", {}).items():
        print(_format_summary(f"{name} {system}", sub["plausibility"]))
    if "truth" in fig:
        print(f"  truth: {fig['truth']}")
    if "vicon_vs_kinect" in fig:
        a = fig["vicon_vs_kinect"]
        print(f"  Vicon vs Kinect, {a['pairs']} repetitions captured by both: agree {a['agree']}; "
              f"same-side angle curves r > 0.7: {a['r_same_over_0.7']}; one-sided movements "
              f"{a['one_sided']}, same side correlates better: {a['one_sided_same_side_wins']}")
        print(f"  per movement: {a['per_movement']}")
        for r in a["disagreements"]:
            print(f"    {r['id']}: {r['joint']} {r['side']} {r['range_deg']} deg, r_same {r['r_same']}, "
                  f"r_mirror {r['r_mirror']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    report = {}
    for name, folder in SOURCES.items():
        raw = args.realdata / folder
        if not raw.is_dir():
            print(f"{name}: {raw} absent, skipped")
            continue
        fig, clips = run_source(name, raw)
        if name == "fit3d":
            fig["truth"] = fit3d_truth(raw, clips)
        if name == "visionfit":
            fig["truth"] = [{"id": c.id, "reps": c.reps, "job_num_reps": c.extra.get("num_reps_params"),
                             "fps": c.source_fps} for c in clips]
        if name == "uiprmd":
            fig["per_system"] = {f"{s}{' incorrect' if inc else ''}": {
                "clips": sum(1 for c in clips if c.extra["system"] == s and c.extra["incorrect"] == inc),
                "plausibility": plausibility_summary(c for c in clips if c.extra["system"] == s
                                                     and c.extra["incorrect"] == inc)}
                for s in ("kinect", "vicon") for inc in (False, True)}
            fig["vicon_vs_kinect"] = uiprmd_agreement(clips)
        report[name] = fig
        print_source(name, raw, fig)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
