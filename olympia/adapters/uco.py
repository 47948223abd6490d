"""UCO Physical Rehabilitation (AVAuco/ucophyrehab): 27 subjects, 16 activities (8 exercises ×
left/right), 4 slow repetitions each, 5 RGB cameras (1280×720).

Layout (README, medium confidence):
    <root>/data/<subject>/<activity>/cam{0-4}.avi, cam{0-4}_p2d.txt, p3d.txt
The marker ground truth covers only the working limb (shoulder/elbow/wrist or hip/knee/ankle),
so full-body skeletons come from the video pose path: this adapter emits one Segment
per (subject, activity, camera) — the whole video, label = the activity folder name with
underscores as spaces, reps = 4 without per-rep bounds, side parsed from the name into
extra["side"]. p3d.txt / cam*_p2d.txt are used only for checks: their row counts are recorded
(extra["p3d_rows"], extra["p2d_rows"]) so the pose path can compare them with the video's
frame count; a marker file that is not numeric rows of numbers is reported in
extra["marker_check"], never used as a skeleton. Frame rate: not documented, read from the
video by the pose path.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from olympia.adapters.common import Adapter, Item, provenance, require_glob
from olympia.schema import make_clip_id
from olympia.segment import Segment

NAME = "uco"
LICENSE = "UCO Physical Rehabilitation terms (research use, AVA group, Universidad de Córdoba)"
REPS = 4
_SIDE = re.compile(r"(?:^|[_\s-])(left|right|l|r)(?:$|[_\s-])", re.IGNORECASE)


def side_of(activity: str) -> str | None:
    m = _SIDE.search(activity)
    return None if m is None else {"l": "left", "r": "right"}.get(m.group(1).lower(), m.group(1).lower())


def count_numeric_rows(path: Path) -> tuple[int | None, str]:
    """(rows, "ok") for a whitespace-separated numeric file, (None, reason) otherwise."""
    if not path.exists():
        return None, "absent"
    try:
        lines = [l for l in path.read_text().splitlines() if l.strip()]
        widths = {len(l.split()) for l in lines}
        for l in lines:
            [float(v) for v in l.split()]
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"{path.name}: not numeric rows ({exc})"
    except OSError as exc:          # a marker file only serves checks: report, do not fail the video
        return None, f"{path.name}: unreadable ({type(exc).__name__}: {exc})"
    if len(widths) > 1:
        return len(lines), f"{path.name}: rows of differing widths {sorted(widths)}"
    return len(lines), "ok"


def list_segments(raw_dir: Path) -> Iterator[Item]:
    for video in require_glob(raw_dir, "data/*/*/cam[0-9].avi", NAME):
        yield Item(video, clip_id=make_clip_id(NAME, video.parent.parent.name, video.parent.name,
                                               f"cam{video.stem[3:]}"))


def read(raw_dir: Path, item: Item):
    video = item.path
    if not video.is_file():   # listing reads no video bytes, but a folder or a dead link is no video
        raise ValueError(f"{video.name} is not a readable file (a folder, or a broken or looping link)")
    activity_dir = video.parent
    subject, activity, camera = activity_dir.parent.name, activity_dir.name, video.stem[3:]
    p3d_rows, p3d_check = count_numeric_rows(activity_dir / "p3d.txt")
    p2d_rows, p2d_check = count_numeric_rows(activity_dir / f"{video.stem}_p2d.txt")
    yield Segment(
        str(video.resolve()), 0, None, fps=None, label_raw=activity.replace("_", " "), reps=REPS,
        clip_id=item.clip_id, source=NAME, subject=subject, camera=camera,
        split_group=f"{NAME}:{subject}", provenance=provenance(video, raw_dir, LICENSE, hashed=False),
        extra={"activity": activity, "side": side_of(activity), "p3d_rows": p3d_rows,
               "p2d_rows": p2d_rows,
               "marker_check": "; ".join(c for c in (p3d_check, p2d_check) if c not in ("ok", "absent")) or "ok"})


ADAPTER = Adapter(
    name=NAME, title="UCO Physical Rehabilitation",
    citation="Aguilar-Ortega et al., UCO Physical Rehabilitation: New Dataset and Study of "
             "Human Pose Estimation Methods on Physical Rehabilitation Exercises, Sensors 23(21) 2023",
    license=LICENSE, homepage="https://github.com/AVAuco/ucophyrehab",
    layout="data/<subject>/<activity>/cam{0-4}.avi (+ cam{0-4}_p2d.txt, p3d.txt)",
    native_fps=None, joint_set=None, read=read, list_segments=list_segments,
    verified="layout from the README only (no real file here); marker files row-counted for checks")
