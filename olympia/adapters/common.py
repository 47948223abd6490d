"""Shared pieces of the source adapters: the `Adapter` declaration, clip assembly (gap filling,
plausibility checks, resampling to 25 fps with olympia.timebase) and quarantine records.
Video-only sources yield `olympia.segment.Segment` work items for the pose path
(`olympia pose --segments FILE`); axis rotations live in olympia.skeleton.

Plausibility checks exist because several facts about the sources are uncertain (units, which
side is left, which axis is up). They measure the data and warn or fail WITH the numbers:
  - bone-length stability over time (mocap bones do not stretch),
  - left/right limb-length symmetry,
  - stature in metres (a unit error shows up as 100x or 1000x),
  - the body upright in the z-up frame (head above ankles in most frames).
"""
from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Union

import numpy as np

from olympia.errors import LabelError, LayoutError, SourceFormatError
from olympia.gaps import GapPolicy, fill_gaps
from olympia.schema import Clip, Rejected
from olympia.segment import INT32_MAX, Segment, check_rep_bounds
from olympia.skeleton import (BONES, HEAD, L_ANKLE, L_HIP, L_KNEE, LEFT_ARM, LEFT_LEG, NECK,
                              R_ANKLE, R_HIP, R_KNEE, RIGHT_ARM, RIGHT_LEG, ROOT, SPINE,
                              SYMMETRIC_BONES, THORAX, bone_lengths)
from olympia.timebase import FPS, rescale_rep_bounds, resample_to_fps

log = logging.getLogger("olympia.adapters")


# --------------------------------------------------------------------------- declaration
@dataclass(frozen=True)
class Item:
    """One unit of an adapter's work: a file, or one row (set) of a file. Whatever goes wrong
    while reading it becomes ONE quarantine entry naming `path` (and `row`); the run goes on."""

    path: Path                     # the file the item reads (named in its quarantine entry)
    row: int | None = None         # 1-based line/row in that file, when the item is one row
    clip_id: str | None = None     # the clip it becomes, when known before reading
    data: Any = None               # what the reader needs beyond the path (parsed cells, ...)


Output = Union[Clip, Segment, Rejected, Item]


@dataclass(frozen=True)
class Adapter:
    """One source dataset, declared once. Discovery (`list_clips` / `list_segments`) only
    lists files; `read` turns one Item into clips, segments, quarantine records or sub-items
    (rows of a file). `run` is the one place where a failing item is caught."""

    name: str                      # registry key, also the clip-id prefix
    title: str                     # human name of the dataset
    citation: str                  # how to cite it
    license: str                   # license as the owners state it
    homepage: str                  # where users obtain it
    layout: str                    # expected on-disk layout under RAW_DIR (glob-like)
    native_fps: float | None       # fps of the raw keypoints / videos (None: read per file)
    joint_set: str | None          # olympia.skeleton.JOINT_SETS key (or the adapter's own table)
    read: Callable[[Path, Item], Iterable[Output]]          # one item -> outputs
    list_clips: Callable[[Path], Iterable[Item]] | None = None     # 3D items (None: video-only)
    list_segments: Callable[[Path], Iterable[Item]] | None = None  # items for the pose path
    role: str = "train"            # "train" or "evaluation"
    clips_cut_at_sets: bool = False  # each clip is a set whose start and end the source annotated:
    #                                  rep bounds estimated from its count cover the clip
    verified: str = ""             # what was checked on the data, and how

    @property
    def kind(self) -> str:
        """'clips' when the source ships 3D skeletons, 'segments' when only videos."""
        return "clips" if self.list_clips is not None else "segments"

    def iter_clips(self, raw_dir: Path) -> Iterator[Clip | Rejected]:
        """Every 3D clip of RAW_DIR and a Rejected per bad item (LayoutError: no such layout)."""
        return self.run(Path(raw_dir), self.list_clips) if self.list_clips else iter(())

    def iter_segments(self, raw_dir: Path) -> Iterator[Segment | Rejected]:
        """Every video segment for the pose path and a Rejected per bad item."""
        return self.run(Path(raw_dir), self.list_segments) if self.list_segments else iter(())

    def run(self, raw_dir: Path, lister: Callable[[Path], Iterable[Item]]) -> Iterator:
        for item in lister(raw_dir):
            yield from run_item(self, raw_dir, item)

    def clips(self, raw_dir: Path) -> Iterator[Clip | Rejected]:
        """What a release build takes from this source: its clips, one Rejected per video
        segment still waiting for the pose path (each named, with the commands), and one
        Rejected for a RAW_DIR without the layout (the build goes on)."""
        raw_dir = Path(raw_dir)
        try:
            yield from self.iter_clips(raw_dir)
            if self.list_segments is not None:
                for seg in self.iter_segments(raw_dir):
                    yield seg if isinstance(seg, Rejected) else pending_pose_path(self, raw_dir, seg)
        except LayoutError as exc:   # named by the folder's name: no absolute path in a release
            yield Rejected(self.name, f"{raw_dir.name}/", "layout", str(exc).replace(str(raw_dir), raw_dir.name))


def pending_pose_path(adapter: Adapter, raw_dir: Path, seg: Segment) -> Rejected:
    where = seg.provenance.get("source_file") or seg.video
    row = seg.extra.get("csv_row")
    return Rejected(adapter.name, where if row is None else f"{seg.extra.get('csv', where)}, row {row}",
                    "video", f"video segment {seg.clip_id} has no 3D skeleton yet: run "
                    f"olympia ingest {adapter.name} RAW_DIR --out STORE (writes its segments JSON), "
                    "then olympia pose --segments SEGMENTS.json, and add the pose store to the recipe",
                    clip_id=seg.clip_id)


# --------------------------------------------------------------------------- the runner
# A hint per failure kind: what the curator should do about a file that fails this way.
_FIXES: tuple[tuple[type, str], ...] = (
    (PermissionError, "the file is not readable by this user: fix its permissions (chmod a+r)"),
    (IsADirectoryError, "a folder stands where a file is expected: remove or rename it"),
    (FileNotFoundError, "the file is missing or a broken link: restore it"),
    (EOFError, "the file is truncated: download it again"),
    (zlib.error, "the compressed file is corrupt: download it again"),
    (OSError, "the file cannot be read (a link loop, a device error): replace it with the file"),
    (UnicodeError, "not a text file (binary content): replace it with the release's file"),
    (OverflowError, "a number is out of range: correct the cell"),
    (RecursionError, "the JSON nests too deeply: not a release file"),
    ((ValueError, TypeError, KeyError, IndexError, AttributeError, SourceFormatError, csv.Error),
     "fix the file or remove it; formats: olympia sources, docs/adapters.md"),
)


def run_item(adapter: Adapter, raw_dir: Path, item: Item) -> Iterator:
    """Read one item under the per-item guard: its outputs, or ONE Rejected naming its file,
    row and the fix when anything fails (partial outputs of a failed item are dropped, so every
    item is either in or out). Sub-items (rows) are run the same way, each on its own."""
    try:
        out = list(adapter.read(raw_dir, item))
    except Exception as exc:   # noqa: BLE001 - the per-item boundary: one bad item never stops a run
        out = [item_failure(adapter.name, item, exc)]
    for o in out:
        if isinstance(o, Item):
            yield from run_item(adapter, raw_dir, o)
        elif isinstance(o, Rejected):
            yield relative_to_raw(o, raw_dir)
        else:
            yield o


def relative_to_raw(r: Rejected, raw_dir: Path) -> Rejected:
    """The entry with RAW_DIR's path taken out of `where` and the message: a release's
    quarantine is the same whatever folder the raw files sit in (files named as in the release)."""
    root = f"{raw_dir}/"
    return dataclasses.replace(r, where=r.where.removeprefix(root), message=r.message.replace(root, ""))


def item_failure(source: str, item: Item, exc: BaseException) -> Rejected:
    """The quarantine entry of an item whose reading raised `exc`: what failed and the fix."""
    fix = next((f for types, f in _FIXES if isinstance(exc, types)), None)
    if isinstance(exc, OSError) and exc.strerror:       # the path is in `where` already
        text = f"{type(exc).__name__}: {exc.strerror}"
    else:
        text = str(exc)
        for prefix in (f"{item.path}, row {item.row}: ", f"{item.path}: "):
            text = text.removeprefix(prefix)
        if isinstance(exc, UnicodeError) or not isinstance(exc, (ValueError, SourceFormatError)):
            text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if fix is None:   # not a data problem: a bug in the adapter; still one item, but say so
        log.error("%s: unexpected %s reading %s", source, type(exc).__name__, item.path, exc_info=exc)
        fix = "unexpected error in the adapter: please report it with this file"
    return rejected(source, item.path, f"{text} ({fix})", row=item.row,
                    field_=getattr(exc, "field", "") or "", clip_id=item.clip_id)


def read_text(path: Path) -> str:
    """A text file's content; `.gz` files are decompressed transparently."""
    path = Path(path)
    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read()
    return path.read_text(encoding="utf-8")


def load_json(path: Path, what: str) -> Any:
    """Parse a JSON (or .json.gz) file; invalid JSON raises SourceFormatError naming the file."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(path, f"{what} is not valid JSON ({exc}); fix or regenerate it") from None


def stem_of(path: Path) -> str:
    """File name without `.gz` and its format suffix: squat.json.gz -> squat."""
    name = Path(path).name.removesuffix(".gz")
    return name.rsplit(".", 1)[0] if "." in name else name


def int_cell(value, what: str, *, lo: int = 0, hi: int = INT32_MAX) -> int:
    """A CSV/JSON cell as an integer in [lo, hi] ('95.0' accepted); ValueError naming it."""
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    try:
        f = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not np.isfinite(f) or f != int(f):
        raise ValueError(f"{what} {value!r} is not a whole number")
    if not lo <= f <= hi:
        raise ValueError(f"{what} {int(f)} is outside [{lo}, {hi}]")
    return int(f)


def require_path(path: Path, what: str) -> Path:
    """Raise LayoutError naming the missing expected path."""
    if not path.exists():
        raise LayoutError(f"expected {what} at {path} (not found); check RAW_DIR points at the "
                          "unpacked release root (see `olympia sources`)")
    return path


def require_glob(raw_dir: Path, pattern: str, adapter: str) -> list[Path]:
    """Files under raw_dir matching pattern, sorted; LayoutError naming the pattern if none."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise LayoutError(f"{adapter}: RAW_DIR {raw_dir} is not a directory")
    found = sorted(raw_dir.glob(pattern))
    if not found:
        raise LayoutError(f"{adapter}: expected files matching {raw_dir / pattern} (none found); "
                          f"RAW_DIR must be the unpacked release root (see `olympia sources`)")
    return found


def provenance(path: Path, raw_dir: Path, license_: str, *, hashed: bool = True) -> dict:
    """source_file (relative to RAW_DIR), license and, when `hashed`, the file's sha256. A video
    handed to the pose path is not hashed here: the pose stage hashes it when it poses it
    (memoized in its cache), so listing a source's segments reads no video bytes."""
    from olympia.io import sha256_file
    out = {"source_file": Path(path).relative_to(raw_dir).as_posix(), "license": license_}
    if hashed:
        out["sha256"] = sha256_file(path)
    return out


def rejected(source: str, path: Path | str, message: str, *, row: int | None = None,
             field_: str = "", clip_id: str | None = None) -> Rejected:
    """A quarantine record naming the file (and row); a message that already starts with the
    file's name (SourceFormatError) does not repeat it."""
    where = str(path) if row is None else f"{path}, row {row}"
    message = str(message).removeprefix(f"{path}: ")
    return Rejected(source=source, where=where, field=field_, message=message, clip_id=clip_id)


# --------------------------------------------------------------------------- gaps
# Mocap and Kinect gaps (untracked joints) are filled whatever their length, as long as they
# are at most 20 % of the frames (olympia.gaps; the pose path also limits the run length).
GAPS = GapPolicy(max_gap=None, max_filled_fraction=0.2)


def fill_missing_frames(keypoints: np.ndarray, gaps: GapPolicy = GAPS) -> tuple[np.ndarray, float]:
    """(filled float32 keypoints, fraction of frames filled); ValueError naming the count and
    the first bad frame when more than the policy allows are missing."""
    fill = fill_gaps(keypoints, gaps.max_gap)
    bad = fill.filled | fill.missing
    if fill.missing.any() or fill.filled_fraction > gaps.max_filled_fraction:
        raise ValueError(f"{int(bad.sum())} of {len(bad)} frames hold NaN/missing joints "
                         f"(first: frame {int(np.argmax(bad))}); more than "
                         f"{gaps.max_filled_fraction:.0%} cannot be gap-filled")
    return fill.keypoints, fill.filled_fraction


# --------------------------------------------------------------------------- plausibility
@dataclass(frozen=True)
class PlausibilityLimits:
    """Thresholds of `check_plausibility` (warn / fail)."""

    bone_cv_warn: float = 0.10        # std/median of a bone's length over time
    bone_cv_fail: float = 0.60
    asym_warn: float = 0.15           # |left/right - 1| of paired limb bones
    asym_fail: float = 0.60
    stature_min: float = 1.0          # metres; outside [min, max] fails (units are wrong)
    stature_max: float = 2.3
    upright_warn: float = 0.5         # fraction of frames with head above ankles
    upright_fail: float = 0.1
    root_speed_fail: float = 15.0     # m/s between two frames: faster than a sprinter (12 m/s) is
    #                                   a corrupt frame or a wrong frame rate (real data: <= 3.9)


def stature(keypoints: np.ndarray) -> float:
    """Pose-independent standing-height proxy in the keypoints' units: median over time of
    head->neck->thorax->spine->root plus the mean of the two legs (hip->knee->ankle), plus
    10% for the part above the head joint and below the ankle (H36M proportions)."""
    bl = bone_lengths(keypoints)
    idx = {b: i for i, b in enumerate(BONES)}
    trunk = sum(bl[:, idx[b]] for b in ((ROOT, SPINE), (SPINE, THORAX), (THORAX, NECK), (NECK, HEAD)))
    leg_r = bl[:, idx[(R_HIP, R_KNEE)]] + bl[:, idx[(R_KNEE, R_ANKLE)]]
    leg_l = bl[:, idx[(L_HIP, L_KNEE)]] + bl[:, idx[(L_KNEE, L_ANKLE)]]
    return float(np.median(trunk + (leg_r + leg_l) / 2) * 1.10)


def plausibility_numbers(keypoints: np.ndarray, fps: float | None = None) -> dict:
    """Measured numbers (no judgement): see check_plausibility. With `fps`, also the root's
    fastest frame-to-frame speed (m/s, in the keypoints' units per second)."""
    kp = np.asarray(keypoints, np.float64)
    bl = bone_lengths(kp).astype(np.float64)
    med = np.median(bl, axis=0)
    cv = bl.std(axis=0) / np.maximum(med, 1e-9)
    idx = {b: i for i, b in enumerate(BONES)}
    asym = [abs(med[idx[l]] / max(med[idx[r]], 1e-9) - 1) for l, r in SYMMETRIC_BONES]
    ankles_z = kp[:, [R_ANKLE, L_ANKLE], 2].mean(axis=1)
    upright = float((kp[:, HEAD, 2] > ankles_z).mean())
    out = {"bone_cv_max": float(cv.max()), "bone_cv_worst": [int(x) for x in BONES[int(cv.argmax())]],
           "asymmetry_max": float(max(asym)), "stature": stature(kp),
           "upright_fraction": upright}
    if fps is not None and len(kp) > 1:
        speed = np.linalg.norm(np.diff(kp[:, ROOT], axis=0), axis=-1) * fps
        out["root_speed_max"], out["root_speed_frame"] = float(speed.max()), int(speed.argmax())
    return out


def plausibility_summary(clips: Iterable[Clip]) -> dict:
    """Per-source figures over clips: (median, min, max) of stature (m), worst bone-length
    variation, left/right asymmetry, upright fraction, left/right consistency (where the
    adapter measured it) and gap-filled fraction; the number of clips with warnings by kind."""
    cols: dict[str, list[float]] = {k: [] for k in ("stature_m", "bone_cv", "asymmetry", "upright",
                                                    "left_right_consistency", "gap_filled")}
    kinds: dict[str, int] = {}
    n = warned = 0
    for c in clips:
        n += 1
        p = plausibility_numbers(c.keypoints)
        for key, value in (("stature_m", p["stature"]), ("bone_cv", p["bone_cv_max"]),
                           ("asymmetry", p["asymmetry_max"]), ("upright", p["upright_fraction"]),
                           ("left_right_consistency", c.extra.get("left_right_consistency")),
                           ("gap_filled", c.gap_filled_fraction)):
            if value is not None and np.isfinite(value):
                cols[key].append(float(value))
        warnings = c.extra.get("plausibility_warnings") or []
        warned += bool(warnings)
        for w in warnings:
            kind = ("bone length" if "length varies" in w else "asymmetry" if "limb lengths" in w
                    else "upright" if "head above" in w else "other")
            kinds[kind] = kinds.get(kind, 0) + 1
    if not n:
        return {}
    out = {k: (float(np.median(v)), float(min(v)), float(max(v))) for k, v in cols.items() if v}
    return {"clips": n, **out, "warnings": warned, "warning_kinds": kinds}


def check_plausibility(keypoints: np.ndarray, where: str,
                       limits: PlausibilityLimits = PlausibilityLimits(),
                       fps: float | None = None) -> list[str]:
    """Return warnings; raise SourceFormatError (with the numbers) when a check fails."""
    n = plausibility_numbers(keypoints, fps)
    warn, fail = [], []

    def judge(value, w, f, text):
        (fail if value > f else warn if value > w else []).append(text)

    judge(n["bone_cv_max"], limits.bone_cv_warn, limits.bone_cv_fail,
          f"bone {n['bone_cv_worst']} length varies by {n['bone_cv_max']:.1%} over time")
    judge(n["asymmetry_max"], limits.asym_warn, limits.asym_fail,
          f"left/right limb lengths differ by {n['asymmetry_max']:.1%}")
    if not limits.stature_min <= n["stature"] <= limits.stature_max:
        fail.append(f"standing height {n['stature']:.3g} is not in [{limits.stature_min}, "
                    f"{limits.stature_max}] m (wrong units? cm would read ~170, mm ~1700)")
    if n.get("root_speed_max", 0.0) > limits.root_speed_fail:
        f = n["root_speed_frame"]
        fail.append(f"the root moves {n['root_speed_max']:.3g} m/s between frames {f} and {f + 1} "
                    f"(over {limits.root_speed_fail:g} m/s: a corrupt frame or a wrong frame rate)")
    up = n["upright_fraction"]
    if up < limits.upright_fail:
        fail.append(f"head above ankles in only {up:.0%} of frames: the up axis is not +z")
    elif up < limits.upright_warn:
        warn.append(f"head above ankles in only {up:.0%} of frames (lying exercise, or wrong up axis)")
    if fail:
        raise SourceFormatError(where, "implausible skeleton: " + "; ".join(fail + warn))
    for w in warn:
        log.info("%s: %s", where, w)   # kept in extra; `olympia ingest` counts them
    return warn


def left_right_consistency(keypoints: np.ndarray, *forwards: np.ndarray) -> float:
    """Fraction of frames whose left hip lies on the subject's anatomical left.

    The left side is up × forward in a right-handed frame. Up is the world's +z or the spine
    (root -> thorax); forward is each given facing direction per frame (T, 3): heel -> toe,
    nose - thorax (default: H36M neck - thorax). Per frame the best-conditioned pair (the
    largest |up × forward| of unit vectors) decides, so the test holds standing (feet flat),
    bent over (the spine along the toes) and lying (push-ups: the spine, the nose down).
    On the 187 real Fit3D sequences (toes and nose given) the lowest fraction is 0.82 (a mule
    kick, on all fours); any single pair reads 0.43-0.56 on some sequence. 1.0: labels consistent; 0.0: mirrored.
    """
    kp = np.nan_to_num(np.asarray(keypoints, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    finite = np.isfinite(np.asarray(keypoints, np.float64)).all(axis=(1, 2))   # gaps do not vote
    forwards = forwards or (kp[:, NECK] - kp[:, THORAX],)
    spine = kp[:, THORAX] - kp[:, ROOT]
    hips = kp[:, L_HIP] - kp[:, R_HIP]
    best_norm = np.zeros(len(kp))
    side = np.zeros(len(kp))
    for up in (np.broadcast_to([0.0, 0.0, 1.0], kp[:, ROOT].shape), spine):
        for fwd in forwards:
            fwd = np.asarray(fwd, np.float64)
            finite &= np.isfinite(fwd).all(axis=1)
            left = np.cross(_unit(up), _unit(np.nan_to_num(fwd, nan=0.0, posinf=0.0, neginf=0.0)))
            norm = np.linalg.norm(left, axis=1)
            better = norm > best_norm
            best_norm[better], side[better] = norm[better], np.einsum("ti,ti->t", hips, left)[better]
    valid = (best_norm > 1e-3) & finite
    return float((side[valid] > 0).mean()) if valid.any() else float("nan")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def flexion_angles(keypoints: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """Per frame, degrees, for each side: hip (trunk-up vs thigh), knee (thigh vs shank),
    shoulder (trunk-down vs upper arm), elbow (upper arm vs forearm). Keys ("knee", "left")...
    What moves in an exercise is the joint whose angle spans the widest range."""
    kp = np.asarray(keypoints, np.float64)
    down = kp[:, ROOT] - kp[:, THORAX]

    def angle(a, b, c):   # at b, between b->a and b->c
        u, v = a - b, c - b
        cos = np.einsum("ti,ti->t", u, v) / np.maximum(np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1), 1e-9)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

    out = {}
    for side, (hip, knee, ankle), (sho, elb, wri) in (("left", LEFT_LEG, LEFT_ARM), ("right", RIGHT_LEG, RIGHT_ARM)):
        out[("hip", side)] = angle(kp[:, hip] - down, kp[:, hip], kp[:, knee])
        out[("knee", side)] = angle(kp[:, hip], kp[:, knee], kp[:, ankle])
        out[("shoulder", side)] = angle(kp[:, sho] + down, kp[:, sho], kp[:, elb])
        out[("elbow", side)] = angle(kp[:, sho], kp[:, elb], kp[:, wri])
    return out


def detect_units(keypoints: np.ndarray, limits: PlausibilityLimits = PlausibilityLimits()) -> float:
    """Scale factor (1, 0.01 or 0.001) that brings the stature into metres, or raise ValueError."""
    s = stature(keypoints)
    for scale in (1.0, 0.01, 0.001):
        if limits.stature_min <= s * scale <= limits.stature_max:
            return scale
    raise ValueError(f"standing height {s:.4g} fits none of m / cm / mm")


def detect_up_axis(keypoints: np.ndarray) -> np.ndarray:
    """Rotation matrix sending the axis along which the head sits above the ankles (median over
    frames, sign included) to +z. Chosen among the 6 signed axes; a proper rotation."""
    kp = np.asarray(keypoints, np.float64)
    v = np.median(kp[:, HEAD] - kp[:, [R_ANKLE, L_ANKLE]].mean(axis=1), axis=0)
    axis = int(np.argmax(np.abs(v)))
    sign = 1.0 if v[axis] > 0 else -1.0
    up = np.zeros(3)
    up[axis] = sign
    if axis == 2:
        return np.diag([1.0, sign, sign])           # identity or 180° about x
    # rotate `up` onto z about the axis perpendicular to both (a 90° rotation)
    k = np.cross(up, [0.0, 0.0, 1.0])
    k /= np.linalg.norm(k)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + kx + kx @ kx                 # Rodrigues with sin=1, cos=0


# --------------------------------------------------------------------------- clip assembly
def finish_clip(adapter: Adapter, *, path: Path, raw_dir: Path, clip_id: str, subject: str,
                label_raw: str, keypoints: np.ndarray, src_fps: float, reps: int | None,
                rep_bounds=(), camera: str | None = None, split_group: str = "",
                extra: dict | None = None, label: str = "", prov: dict | None = None,
                limits: PlausibilityLimits = PlausibilityLimits(),
                gaps: GapPolicy = GAPS, gap_filled: float = 0.0,
                pose_estimator: str = "mocap") -> Clip | Rejected:
    """H36M keypoints (T, 17, 3) at src_fps, metres, z up -> a 25-fps Clip with its normalized
    label (`label`, else normalize_label(label_raw)), or a Rejected record naming the file and
    what is wrong (a label with no words, NaN frames, bounds outside the set, implausible
    skeleton). `gap_filled`: fraction of frames the adapter already filled (e.g. per marker);
    `pose_estimator`: what measured the joints (mocap, kinect_v2, rgbd, synthetic)."""
    where = str(path)
    from olympia.labels import normalize_label   # imported late: pandas and spaCy load on use
    try:
        label = label or normalize_label(label_raw)
    except LabelError as exc:
        return Rejected(adapter.name, where, "label_raw", str(exc), clip_id=clip_id)
    try:
        kp = np.asarray(keypoints, np.float64)
        if kp.ndim != 3 or kp.shape[1:] != (17, 3) or kp.shape[0] < 2:
            raise ValueError(f"need (T >= 2, 17, 3) keypoints, got {kp.shape}")
    except ValueError as exc:
        return Rejected(adapter.name, where, "keypoints", str(exc), clip_id=clip_id)
    try:
        rb = check_rep_bounds(rep_bounds, kp.shape[0], reps, fps=src_fps)
    except ValueError as exc:
        return Rejected(adapter.name, where, "rep_bounds" if len(rep_bounds) else "reps", str(exc),
                        clip_id=clip_id)
    try:
        kp, gap = fill_missing_frames(kp, gaps)
        warnings = check_plausibility(kp, where, limits, fps=src_fps)
        out = resample_to_fps(kp, src_fps)
        rb25 = rescale_rep_bounds(rb, src_fps, out.shape[0])
    except (ValueError, SourceFormatError) as exc:
        msg = str(exc).removeprefix(f"{where}: ")
        return Rejected(adapter.name, where, "keypoints", msg, clip_id=clip_id)
    # a measure that could not be taken (NaN: e.g. no usable frame to tell left from right) is
    # left out rather than written as JSON's non-standard NaN
    extra = {k: v for k, v in (extra or {}).items() if not (isinstance(v, float) and not np.isfinite(v))}
    if warnings:
        extra["plausibility_warnings"] = warnings
    if not len(rb25) and reps != 0:
        rb25 = estimated_rep_bounds(out, reps, extra, cut_to_set=adapter.clips_cut_at_sets)
    return Clip(id=clip_id, source=adapter.name, subject=str(subject), label_raw=label_raw,
                label=label, keypoints=out, reps=reps, rep_bounds=rb25, camera=camera,
                split_group=split_group, source_fps=float(src_fps), pose_estimator=pose_estimator,
                provenance=prov or provenance(path, raw_dir, adapter.license),
                gap_filled_fraction=max(gap, gap_filled), extra=extra)


def estimated_rep_bounds(keypoints: np.ndarray, reps: int | None, extra: dict,
                         cut_to_set: bool = False) -> np.ndarray:
    """Rep bounds for a clip whose source gives none (a count only: MM-Fit; no count: KIMORE,
    Fit3D's unannotated walk_the_box), from the counter (olympia.rep_bounds_estimate.estimate_rep_bounds,
    docs/counting.md), flagged in `extra`: rep_bounds_estimated = the method ("counter",
    "forced", "even"), rep_bounds_confidence per rep. A known count is kept; an unknown one
    stays null (reps_estimated records the counter's count, never a training target). No
    bounds when the counter finds no repetition or its bounds break the rep rule. `cut_to_set`:
    the source cut the clip at its annotated set (Adapter.clips_cut_at_sets)."""
    from olympia.rep_bounds_estimate import estimate_rep_bounds   # imported late: scipy loads on use

    est = estimate_rep_bounds(keypoints, reps=reps, fps=FPS, cut_to_set=cut_to_set)
    try:
        rb = check_rep_bounds(est.rep_bounds, len(keypoints), reps, fps=FPS)
    except ValueError as exc:
        log.info("estimated rep bounds dropped: %s", exc)
        return np.zeros((0, 2), np.int64)
    if est.method == "none" or not len(rb):
        return np.zeros((0, 2), np.int64)
    extra["rep_bounds_estimated"] = est.method
    extra["rep_bounds_confidence"] = np.round(est.confidence, 3).tolist()
    if reps is None:
        extra["reps_estimated"] = int(len(rb))
    return rb
