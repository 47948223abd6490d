"""The one canonical clip schema. Declared once here; the Arrow schema, the JSON Schema in
`schemas/clip.schema.json` and the field table in docs/ are all derived from CLIP_FIELDS.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from olympia.errors import ClipValidationError
from olympia.layout import FORMAT_VERSION
from olympia.segment import INT32_MAX, check_rep_bounds, check_rep_count
from olympia.skeleton import N_JOINTS
from olympia.splits import SPLITS
from olympia.timebase import FPS

UNLABELED = "unlabeled"   # label of clips posed without an exercise name (refused by release builds)

_PROVENANCE_TYPE = pa.struct([
    ("source_file", pa.string()), ("sha256", pa.string()), ("license", pa.string()),
])


FRAME_VALUES = N_JOINTS * 3     # floats per frame: 17 joints x (x, y, z)


def _required_list(value_type: pa.DataType, size: int = -1) -> pa.DataType:
    """A list whose items are declared non-null: no Parquet definition level per float, and
    every reader (Arrow, HF datasets, polars, DuckDB) sees a plain array of arrays."""
    return pa.list_(pa.field("item", value_type, nullable=False), size)


# Measured against binary bytes, a flat list and (T, 17, 3) nesting in
# benchmarks/measure_keypoint_format.py: HF `datasets` reads (T, 51) rows 18x faster than
# (T, 17, 3) ones, the file is 3.7 % smaller, and Olympia reads either with zero copy.
KEYPOINTS_TYPE = _required_list(_required_list(pa.float32(), FRAME_VALUES))


@dataclass(frozen=True)
class FieldSpec:
    name: str
    arrow: pa.DataType
    json: dict
    nullable: bool
    doc: str


CLIP_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", pa.string(), {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._:-]*$"}, False,
              "Deterministic, unique clip id: `<source>:<parts...>` (see `make_clip_id`)."),
    FieldSpec("source", pa.string(), {"type": "string"}, False, "Source dataset key (adapter name)."),
    FieldSpec("subject", pa.string(), {"type": "string"}, False, "Subject / performer id within the source."),
    FieldSpec("camera", pa.string(), {"type": ["string", "null"]}, True, "Camera id, null when camera-independent."),
    FieldSpec("split_group", pa.string(), {"type": "string"}, False,
              "Group for leak-free splits: the same person or source video never spans splits."),
    FieldSpec("split", pa.string(), {"type": "string", "enum": list(SPLITS)}, False,
              "The split the clip is in (also the shard's file name prefix), assigned when the store is written."),
    FieldSpec("label_raw", pa.string(), {"type": "string"}, False, "Exercise label exactly as the source wrote it."),
    FieldSpec("label", pa.string(), {"type": "string", "minLength": 1}, False, "Normalized label (method.md §2)."),
    FieldSpec("reps", pa.int32(), {"type": ["integer", "null"], "minimum": 0}, True,
              "Repetition count; null when the source has none (KIMORE)."),
    FieldSpec("rep_bounds", pa.list_(pa.list_(pa.int32(), 2)),
              {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}},
              False, "Per repetition [start, end) frame indices; empty when unknown."),
    FieldSpec("fps", pa.float32(), {"type": "number", "const": FPS}, False, "Frames per second (always 25)."),
    FieldSpec("source_fps", pa.float32(), {"type": "number", "exclusiveMinimum": 0}, False, "Native fps before resampling."),
    FieldSpec("n_frames", pa.int32(), {"type": "integer", "minimum": 2}, False, "T, the number of frames."),
    FieldSpec("keypoints", KEYPOINTS_TYPE,
              {"type": "array", "minItems": 2, "items": {"type": "array", "items": {"type": "number"},
                                                         "minItems": FRAME_VALUES, "maxItems": FRAME_VALUES}},
              False,
              f"T frames x {FRAME_VALUES} float32: joint-major x, y, z of the 17 H36M joints (metres, z up); "
              "`np.asarray(frames, np.float32).reshape(n_frames, 17, 3)` gives (T, 17, 3)."),
    FieldSpec("frame_confidence", pa.list_(pa.float32()), {"type": ["array", "null"], "items": {"type": "number"}}, True,
              "Per-frame pose confidence in [0, 1] (video sources); null for mocap."),
    FieldSpec("pose_estimator", pa.string(), {"type": "string"}, False,
              "What produced the 3D keypoints: mocap, mediapipe, motionbert, synthetic, ..."),
    FieldSpec("pose_estimator_version", pa.string(), {"type": "string"}, False, "Version of that estimator."),
    FieldSpec("provenance", _PROVENANCE_TYPE,
              {"type": "object", "required": ["source_file", "sha256", "license"],
               "properties": {"source_file": {"type": "string"}, "sha256": {"type": "string"},
                              "license": {"type": "string"}}}, False,
              "Source file (relative to the raw root), its sha256, and the source's license."),
    FieldSpec("gap_filled_fraction", pa.float32(), {"type": "number", "minimum": 0, "maximum": 1}, False,
              "Fraction of frames whose keypoints were interpolated over a detection gap."),
    FieldSpec("extra", pa.string(), {"type": "string"}, False,
              "Source-specific metadata as a JSON object string (e.g. official split, side)."),
)

CLIP_ARROW_SCHEMA = pa.schema([pa.field(f.name, f.arrow, nullable=f.nullable) for f in CLIP_FIELDS],
                              metadata={b"olympia_format_version": FORMAT_VERSION.encode()})
METADATA_COLUMNS = tuple(f.name for f in CLIP_FIELDS if f.name not in ("keypoints", "frame_confidence"))
ARRAY_COLUMNS = ("keypoints", "frame_confidence")

_ID_SAFE = re.compile(r"[^a-z0-9._-]+")


def make_clip_id(source: str, *parts: Any) -> str:
    """Deterministic readable id, e.g. make_clip_id("fit3d", "s03", "squat") -> "fit3d:s03:squat"."""
    cleaned = [_ID_SAFE.sub("-", str(p).lower()).strip("-") for p in (source, *parts)]
    return ":".join(c for c in cleaned if c)


@dataclass
class Clip:
    """One exercise set as a 3D skeleton sequence (the canonical record)."""

    id: str
    source: str
    subject: str
    label_raw: str
    keypoints: np.ndarray                      # (T, 17, 3) float32
    reps: int | None
    rep_bounds: np.ndarray | list = field(default_factory=list)  # (R, 2) int, [start, end)
    label: str = ""                            # filled by the label normalizer at build time
    camera: str | None = None
    split_group: str = ""                      # defaults to "<source>:<subject>"
    fps: float = FPS
    source_fps: float = FPS
    frame_confidence: np.ndarray | None = None  # (T,) float32
    pose_estimator: str = "mocap"
    pose_estimator_version: str = ""
    provenance: dict = field(default_factory=lambda: {"source_file": "", "sha256": "", "license": ""})
    gap_filled_fraction: float = 0.0
    extra: dict = field(default_factory=dict)
    split: str | None = None                   # assigned by the store when it writes the clip

    def __post_init__(self):
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.rep_bounds = np.asarray(self.rep_bounds, dtype=np.int64).reshape(-1, 2)
        if not self.split_group:
            self.split_group = f"{self.source}:{self.subject}"

    @property
    def n_frames(self) -> int:
        return int(self.keypoints.shape[0]) if self.keypoints.ndim >= 1 else 0

    def to_row(self) -> dict:
        """The metadata columns (CLIP_FIELDS order, no arrays) as plain Python values; the
        store builds the keypoints and frame_confidence columns from numpy (keypoints_column)."""
        return {
            "id": self.id, "source": self.source, "subject": str(self.subject),
            "camera": None if self.camera is None else str(self.camera),
            "split_group": self.split_group, "split": self.split, "label_raw": self.label_raw,
            "label": self.label, "reps": None if self.reps is None else int(self.reps),
            "rep_bounds": self.rep_bounds.astype(np.int32).tolist(), "fps": float(self.fps),
            "source_fps": float(self.source_fps), "n_frames": self.n_frames,
            "pose_estimator": self.pose_estimator,
            "pose_estimator_version": self.pose_estimator_version,
            "provenance": dict(self.provenance), "gap_filled_fraction": float(self.gap_filled_fraction),
            "extra": json.dumps(self.extra, sort_keys=True, default=str),
        }


def keypoints_column(keypoints: list[np.ndarray]) -> pa.Array:
    """(T, 17, 3) arrays -> the keypoints column (KEYPOINTS_TYPE), built from one float32 buffer."""
    lengths = np.array([len(k) for k in keypoints], dtype=np.int64)
    offsets = np.zeros(len(keypoints) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = (np.concatenate([np.ascontiguousarray(k, "<f4").reshape(-1) for k in keypoints])
            if keypoints else np.zeros(0, np.float32))
    frames = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), type=KEYPOINTS_TYPE.value_type)
    return pa.ListArray.from_arrays(pa.array(offsets), frames, type=KEYPOINTS_TYPE)


def confidence_column(clips: list["Clip"]) -> pa.Array:
    """frame_confidence as list<float32> (null for mocap clips)."""
    return pa.array([None if c.frame_confidence is None else np.asarray(c.frame_confidence, np.float32)
                     for c in clips], CLIP_ARROW_SCHEMA.field("frame_confidence").type)


@dataclass
class Rejected:
    """An item that could not become a valid clip: reported in the quarantine, never dropped."""

    source: str
    where: str             # file (and row) or clip id
    field: str             # the offending field, or "" when the whole item failed
    message: str           # what is wrong and how to fix it
    clip_id: str | None = None


def validate_clip(clip: Clip) -> None:
    """Raise ClipValidationError naming the clip and field for anything the schema forbids."""
    cid = clip.id or "<no id>"

    def bad(field_name, message):
        raise ClipValidationError(cid, field_name, message)

    if not clip.id or make_clip_id(*clip.id.split(":")) != clip.id:
        bad("id", "must be non-empty, lowercase [a-z0-9._-] parts joined by ':' (use make_clip_id)")
    for name in ("source", "subject", "label_raw", "label"):
        if not str(getattr(clip, name) or "").strip():
            bad(name, "must be a non-empty string")
    kp = clip.keypoints
    if kp.ndim != 3 or kp.shape[1:] != (N_JOINTS, 3):
        bad("keypoints", f"shape must be (T, {N_JOINTS}, 3), got {tuple(kp.shape)}")
    if kp.shape[0] < 2:
        bad("keypoints", f"need T >= 2 frames, got {kp.shape[0]}")
    if not np.isfinite(kp).all():
        frames = np.unique(np.nonzero(~np.isfinite(kp))[0])
        bad("keypoints", f"{frames.size} frame(s) hold NaN/inf (first: frame {int(frames[0])}); "
                         "fill gaps before writing or quarantine the clip")
    if abs(clip.fps - FPS) > 1e-6:
        bad("fps", f"must be {FPS} (resample before writing), got {clip.fps}")
    if not clip.source_fps > 0:
        bad("source_fps", f"must be > 0, got {clip.source_fps}")
    if kp.shape[0] > INT32_MAX:
        bad("n_frames", f"{kp.shape[0]} frames exceed the stored int32 range")
    if clip.reps is not None:
        try:
            whole = int(clip.reps) == clip.reps
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole or clip.reps < 0:
            bad("reps", f"must be a non-negative integer or null, got {clip.reps!r}")
        try:
            check_rep_count(clip.reps, clip.n_frames, clip.fps)
        except ValueError as exc:
            bad("reps", str(exc))
    try:
        check_rep_bounds(clip.rep_bounds, clip.n_frames, clip.reps, fps=clip.fps)
    except ValueError as exc:
        bad("rep_bounds", str(exc))
    conf = clip.frame_confidence
    if conf is not None:
        conf = np.asarray(conf)
        if conf.shape != (kp.shape[0],):
            bad("frame_confidence", f"shape must be ({kp.shape[0]},), got {conf.shape}")
        if not (np.isfinite(conf).all() and (conf >= 0).all() and (conf <= 1).all()):
            bad("frame_confidence", "values must lie in [0, 1]")
    if not 0.0 <= clip.gap_filled_fraction <= 1.0:
        bad("gap_filled_fraction", f"must lie in [0, 1], got {clip.gap_filled_fraction}")
    missing = {"source_file", "sha256", "license"} - set(clip.provenance)
    if missing:
        bad("provenance", f"missing keys {sorted(missing)}")


def clip_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of one clip row, derived from CLIP_FIELDS."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://olympia.dataset/schemas/clip.schema.json",
        "title": "Olympia clip",
        "description": f"One row of data/clips/*.parquet (format {FORMAT_VERSION}).",
        "type": "object",
        "required": [f.name for f in CLIP_FIELDS],
        "additionalProperties": False,
        "properties": {f.name: {**f.json, "description": f.doc} for f in CLIP_FIELDS},
    }


def clip_fields_markdown() -> str:
    """Markdown table of the schema, for the dataset card and docs."""
    lines = ["| field | type | nullable | description |", "|---|---|---|---|"]
    lines += [f"| `{f.name}` | `{f.arrow}` | {'yes' if f.nullable else 'no'} | {f.doc} |" for f in CLIP_FIELDS]
    return "\n".join(lines)


def clip_schema_doc() -> str:
    """docs/clip-schema.md: the field table plus how the keypoints are stored."""
    return f"""# Clip schema (format {FORMAT_VERSION})

Generated from `olympia/schema.py` (`python -m olympia.schema markdown > docs/clip-schema.md`);
the same declaration gives the Arrow schema of `data/clips/*.parquet` and
`schemas/clip.schema.json` (`python -m olympia.schema json > schemas/clip.schema.json`).
Every clip is validated against it on write: a clip that fails goes to `meta/quarantine.json`
with the field and the reason, and the build goes on.

{clip_fields_markdown()}

Keypoints are typed arrays: Hugging Face `datasets` gives `(n_frames, 51)` float32 with
`with_format("numpy")` or `("torch")` (`.reshape(-1, 17, 3)` for joints x xyz), polars an
`Array(Float32, 51)` list and DuckDB `FLOAT[][]`. Format 1.0 stores (keypoints as
little-endian float32 bytes) are still read by `ClipStore`.

Invariants checked on write beyond the types: `keypoints` finite with shape
(`n_frames`, 17, 3) and `n_frames` >= 2; `rep_bounds` increasing, inside [0, `n_frames`], one per
repetition when `reps` is known; `fps` = 25; `id` unique within a store.
"""


if __name__ == "__main__":  # regenerate the derived files (see clip_schema_doc)
    import sys

    what = sys.argv[1] if len(sys.argv) > 1 else "json"
    print(clip_schema_doc() if what == "markdown" else json.dumps(clip_json_schema(), indent=2), end="\n")
