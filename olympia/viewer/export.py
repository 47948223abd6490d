"""What the viewer site reads: a release's metadata, quarantine and keypoints as data scripts.

A page opened from disk (file://) may not fetch() local files, so every data file is a script
that hands its payload to the page: `OV.register("<key>", <json>);`, loaded on demand by
injecting <script src="data/<key>.js">. Payloads are compact, sorted-key JSON, so the same
release gives the same bytes. Keys (docs/viewer.md has the sizes):

    summary                      release name, counts per source x split, dictionaries, skeleton
    rows/rows-NNNNN              ROWS_PER_BLOCK table rows, columnar (sorted by clip id)
    quarantine/quarantine-NNNNN  ROWS_PER_BLOCK entries of meta/quarantine.json
    clips/HH/HHHHHHHHHHHHHHHH    one clip: its metadata and keypoints (see `encode_keypoints`)
"""
from __future__ import annotations

import base64
import json
import math
import zlib
from typing import Any

import numpy as np
import pandas as pd

from olympia.errors import StoreIntegrityError
from olympia.skeleton import (BONES, CHAIN_NAMES, H36M_JOINTS, KINEMATIC_CHAINS, L_ANKLE, L_ELBOW,
                              L_HIP, L_KNEE, L_SHOULDER, L_WRIST, N_JOINTS, R_ANKLE, R_ELBOW, R_HIP,
                              R_KNEE, R_SHOULDER, R_WRIST)
from olympia.timebase import FPS

ROWS_PER_BLOCK = 1000        # table rows (and quarantine entries) per data script
KEYPOINT_SCALE = 0.001       # keypoints are stored in integer millimetres (error <= 0.5 mm)
LEFT_JOINTS = (L_HIP, L_KNEE, L_ANKLE, L_SHOULDER, L_ELBOW, L_WRIST)
RIGHT_JOINTS = (R_HIP, R_KNEE, R_ANKLE, R_SHOULDER, R_ELBOW, R_WRIST)
_FNV64_OFFSET, _FNV64_PRIME = 0xCBF29CE484222325, 0x100000001B3


def data_script(key: str, payload: Any) -> bytes:
    """The bytes of data/<key>.js: one registration call with stable compact JSON."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f"OV.register({json.dumps(key)},{text});\n".encode("utf-8")


def clip_key(clip_id: str) -> str:
    """Data key of a clip: clips/<2 hex>/<16 hex> from the 64-bit FNV-1a hash of its UTF-8 id.

    A hash, not the id, names the file: ids hold ':' (not portable in file names) and a release
    may hold 100,000 clips (256 folders keep each folder small). static/loader.js computes the
    same hash, so a link to #/clip/<id> needs no lookup table."""
    h = _FNV64_OFFSET
    for byte in clip_id.encode("utf-8"):
        h = ((h ^ byte) * _FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    hexa = f"{h:016x}"
    return f"clips/{hexa[:2]}/{hexa}"


def block_key(kind: str, index: int) -> str:
    """Key of block `index` of a kind ("rows" or "quarantine"): rows/rows-00003."""
    return f"{kind}/{kind}-{index:05d}"


# ---------------------------------------------------------------------------------- keypoints

def encode_keypoints(keypoints: np.ndarray) -> dict:
    """(T, 17, 3) metres -> {"frames", "first", "dtype", "deltas"}: integer millimetres, the
    first frame as 51 integers, then per channel (joint-major x, y, z) the T-1 frame-to-frame
    differences as little-endian int16 (int32 if a step exceeds 32.767 m), zlib-compressed,
    base64. Measured on the demo (600 clips, 590 frames on average): 27 KB per clip against
    118 KB of float32; zlib level 4 is both smaller and 4x faster there than 6 or 9."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (N_JOINTS, 3) or len(kp) < 1:
        raise StoreIntegrityError(f"keypoints must be (T, {N_JOINTS}, 3), got {kp.shape}")
    if not np.isfinite(kp).all():
        raise StoreIntegrityError("keypoints hold NaN/inf; a release never should (olympia verify)")
    mm = np.rint(kp / KEYPOINT_SCALE).astype(np.int64).reshape(len(kp), N_JOINTS * 3)
    deltas = np.diff(mm, axis=0).T                       # (51, T-1): each channel's steps together
    small = deltas.size == 0 or np.abs(deltas).max() <= 32767
    packed = np.ascontiguousarray(deltas, dtype="<i2" if small else "<i4").tobytes()
    return {"frames": int(len(kp)), "first": mm[0].tolist(), "dtype": "int16" if small else "int32",
            "scale": KEYPOINT_SCALE, "deltas": base64.b64encode(zlib.compress(packed, 4)).decode("ascii")}


def decode_keypoints(encoded: dict) -> np.ndarray:
    """Inverse of `encode_keypoints` (what static/loader.js does): (T, 17, 3) float32 metres."""
    n = encoded["frames"]
    dtype = "<i2" if encoded["dtype"] == "int16" else "<i4"
    deltas = np.frombuffer(zlib.decompress(base64.b64decode(encoded["deltas"])), dtype=dtype)
    deltas = deltas.astype(np.int64).reshape(N_JOINTS * 3, n - 1).T
    mm = np.concatenate([np.asarray(encoded["first"], np.int64)[None], deltas]).cumsum(axis=0)
    return (mm * encoded["scale"]).astype(np.float32).reshape(n, N_JOINTS, 3)


# ---------------------------------------------------------------------------------- metadata

def _plain(value: Any) -> Any:
    """A pandas/numpy cell as plain JSON (NA -> None, arrays -> lists, floats rounded)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)        # float32 columns: 0.1 not 0.10000000149011612
    return value


def clip_record(row: dict) -> dict:
    """Everything the clip view shows about one clip (a metadata row as a dict; no keypoints)."""
    rec = {name: _plain(value) for name, value in row.items() if name != "extra"}
    try:
        rec["extra"] = json.loads(row.get("extra") or "{}")
    except json.JSONDecodeError:
        rec["extra"] = {"unparsed": row.get("extra")}
    return rec


def table_rows(meta: pd.DataFrame, dictionaries: dict[str, list[str]]) -> dict:
    """Columnar table rows: id, subject, reps, n_frames as values; source, split, label as
    indices into `dictionaries` (shared by all blocks, in the summary)."""
    index = {name: {v: i for i, v in enumerate(values)} for name, values in dictionaries.items()}
    out = {"id": meta["id"].tolist(), "subject": meta["subject"].astype(str).tolist(),
           "reps": [_plain(v) for v in meta["reps"]], "n_frames": [int(v) for v in meta["n_frames"]]}
    for name in dictionaries:
        out[name] = [index[name][v] for v in meta[name]]
    return out


def blocks(n: int, size: int = ROWS_PER_BLOCK) -> list[slice]:
    """Slices cutting n items into blocks of `size` (none for n = 0)."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def counts_by_source_split(meta: pd.DataFrame, splits: list[str]) -> dict:
    """{source: {split: clips}} with every split present (zeros included)."""
    table = {}
    for source, group in meta.groupby("source", sort=True):
        counts = group["split"].value_counts()
        table[str(source)] = {s: int(counts.get(s, 0)) for s in splits}
    return table


def skeleton_payload() -> dict:
    """Joint names, bones, chains and sides from olympia.skeleton (the page has no copy)."""
    side = ["left" if j in LEFT_JOINTS else "right" if j in RIGHT_JOINTS else "centre"
            for j in range(N_JOINTS)]
    return {"joints": list(H36M_JOINTS), "bones": [list(b) for b in BONES], "side": side,
            "chains": [list(c) for c in KINEMATIC_CHAINS], "chain_names": list(CHAIN_NAMES), "fps": FPS}
