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
from olympia.segment import check_rep_bounds
from olympia.skeleton import N_JOINTS
from olympia.timebase import FPS

UNLABELED = "unlabeled"   # label of clips posed without an exercise name (refused by release builds)

_PROVENANCE_TYPE = pa.struct([
    ("source_file", pa.string()), ("sha256", pa.string()), ("license", pa.string()),
])


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
    FieldSpec("keypoints", pa.binary(),
              {"type": "string", "contentEncoding": "base64", "contentMediaType": "application/x-float32le"},
              False,
              "T×17×3 little-endian float32 bytes, row-major (metres, z up, H36M-17 order): "
              "`np.frombuffer(b, '<f4').reshape(n_frames, 17, 3)` reads it without a copy."),
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

    def __post_init__(self):
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.rep_bounds = np.asarray(self.rep_bounds, dtype=np.int64).reshape(-1, 2)
        if not self.split_group:
            self.split_group = f"{self.source}:{self.subject}"

    @property
    def n_frames(self) -> int:
        return int(self.keypoints.shape[0]) if self.keypoints.ndim >= 1 else 0

    def to_row(self) -> dict:
        """Plain dict in CLIP_FIELDS order (keypoints flattened) for the Arrow writer."""
        conf = self.frame_confidence
        return {
            "id": self.id, "source": self.source, "subject": str(self.subject),
            "camera": None if self.camera is None else str(self.camera),
            "split_group": self.split_group, "label_raw": self.label_raw, "label": self.label,
            "reps": None if self.reps is None else int(self.reps),
            "rep_bounds": self.rep_bounds.astype(np.int32).tolist(), "fps": float(self.fps),
            "source_fps": float(self.source_fps), "n_frames": self.n_frames,
            "keypoints": np.ascontiguousarray(self.keypoints, dtype="<f4").tobytes(),
            "frame_confidence": None if conf is None else np.asarray(conf, np.float32),
            "pose_estimator": self.pose_estimator,
            "pose_estimator_version": self.pose_estimator_version,
            "provenance": dict(self.provenance), "gap_filled_fraction": float(self.gap_filled_fraction),
            "extra": json.dumps(self.extra, sort_keys=True, default=str),
        }


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
    if clip.reps is not None and (int(clip.reps) != clip.reps or clip.reps < 0):
        bad("reps", f"must be a non-negative integer or null, got {clip.reps!r}")
    try:
        check_rep_bounds(clip.rep_bounds, clip.n_frames, clip.reps)
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

Invariants checked on write beyond the types: `keypoints` finite with shape
(`n_frames`, 17, 3) and `n_frames` >= 2; `rep_bounds` increasing, inside [0, `n_frames`], one per
repetition when `reps` is known; `fps` = 25; `id` unique within a store.
"""


if __name__ == "__main__":  # regenerate the derived files (see clip_schema_doc)
    import sys

    what = sys.argv[1] if len(sys.argv) > 1 else "json"
    print(clip_schema_doc() if what == "markdown" else json.dumps(clip_json_schema(), indent=2), end="\n")
