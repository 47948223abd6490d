"""RepCount-A (TransRAC, CVPR 2022; evaluation, few-shot): YouTube/student videos with
per-repetition boundaries. No skeletons: every video goes to the pose path as a Segment.

Layout (official LLSP release):
    <root>/annotation/{train,valid,test}.csv      (`val.csv` also accepted)
    <root>/video/{train,valid,test}/<name>.mp4
CSV header `,type,name,count,L1..Ln`: type = exercise class, name = video file, count = reps,
L cells = frame indices (native fps) in start/end pairs per rep, blank after the last rep,
sometimes float strings ("95.0", parsed as int(float(v)) like the official loader).
Rows with an empty or non-numeric count or non-numeric L cells are Rejected naming file and
row (real: train.csv line 587, stu6_44.mp4, no count). When only the L pairs are inconsistent
(odd number of cells, an empty pair such as [1186, 1186], overlap, or a count that disagrees
with the number of pairs: real train.csv line 403, test118.mp4, count 6 but 5 pairs) the count
stays the ground truth, rep_bounds are left empty and extra["rep_bounds_dropped"] says why.
tests/test_adapters_real.py reads every row of the real CSVs and checks this.
Class names are cleaned (CLASS_ALIASES: frontraise -> front_raise, pullups -> pull_up, ...);
label_raw is the cleaned class, extra["type_raw"] the cell as written. Pommel horse is kept
but flagged extra["paper_excluded"] (method.md §1: "pommel horse excluded").
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from olympia.adapters.common import (Adapter, Item, int_cell, provenance, read_text, rejected,
                                     require_path)
from olympia.errors import LayoutError
from olympia.schema import Rejected, make_clip_id
from olympia.segment import Segment, check_rep_bounds

NAME = "repcount"
LICENSE = "RepCount terms (research use, svip-lab)"
SPLITS = {"train": ("train",), "valid": ("valid", "val"), "test": ("test",)}
CLASS_ALIASES = {
    "frontraise": "front_raise", "front_raise": "front_raise",
    "pullups": "pull_up", "pull_up": "pull_up",
    "squant": "squat", "squat": "squat",
    "benchpressing": "bench_pressing", "bench_pressing": "bench_pressing",
    "jumpjacks": "jump_jack", "jump_jack": "jump_jack", "jumping_jack": "jump_jack",
    "pushups": "push_up", "push_up": "push_up",
    "situp": "situp", "battle_rope": "battle_rope", "pommelhorse": "pommelhorse",
    "others": "others",
}
PAPER_EXCLUDED = {"pommelhorse"}


def clean_class(raw: str) -> str:
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    return CLASS_ALIASES.get(key, key)


def parse_row(row: dict, n: int) -> tuple[int, list[list[int]], str]:
    """-> (count, [[start, end), ...], problem). ValueError when the count itself is unusable;
    when only the L cells are inconsistent with it, pairs = [] and problem says why (the count
    stays the ground truth, as in the official evaluation)."""
    count_cell = (row.get("count") or "").strip()
    if not count_cell:
        raise ValueError("empty count cell (the official loader skips such rows)")
    count = int_cell(count_cell, "count")
    cells = [(row.get(f"L{i}") or "").strip() for i in range(1, n + 1)]
    last = max((i for i, c in enumerate(cells) if c), default=-1)
    try:
        frames = [int_cell(c, f"L{i + 1}") if c else None for i, c in enumerate(cells[: last + 1])]
    except ValueError as exc:
        raise ValueError(f"non-numeric L cell ({exc})")
    if None in frames:
        return count, [], "blank L cell before the last filled one"
    if len(frames) % 2:
        return count, [], f"{len(frames)} L cells: not start/end pairs"
    pairs = [frames[i:i + 2] for i in range(0, len(frames), 2)]
    try:  # the video's length is not known here: the pose path checks the bounds against it
        check_rep_bounds(pairs, max(frames, default=0))
    except ValueError as exc:
        return count, [], f"L1..L{len(frames)}: {exc}"
    if len(pairs) != count:
        return count, [], f"count {count} but {len(pairs)} start/end pairs in L1..L{len(frames)}"
    return count, pairs, ""


def _annotation_files(raw_dir: Path) -> list[tuple[str, str, Path]]:
    ann = require_path(raw_dir / "annotation", "the annotation folder")
    out = []
    for split, names in SPLITS.items():
        for name in names:
            if (ann / f"{name}.csv").exists() or (ann / f"{name}.csv").is_symlink():
                out.append((split, name, ann / f"{name}.csv"))
                break
    if not out:
        raise LayoutError(f"{NAME}: expected {ann}/train.csv, valid.csv or test.csv (none found)")
    return out


def list_segments(raw_dir: Path) -> Iterator[Item]:
    for split, folder, path in _annotation_files(raw_dir):
        yield Item(path, data=(split, folder))


def read(raw_dir: Path, item: Item):
    """A split's CSV -> one sub-item per data row (each quarantined on its own)."""
    if item.row is not None:
        yield _row_segment(raw_dir, item)
        return
    split, folder = item.data
    rows = list(csv.reader(io.StringIO(read_text(item.path), newline="")))
    header = rows[0] if rows else []
    if not {"type", "name", "count"} <= set(header):
        raise ValueError(f"header {header[:5]} lacks type,name,count: not a RepCount CSV")
    n_l = sum(1 for h in header if h.startswith("L") and h[1:].isdigit())
    if not any(rows[1:]):
        raise ValueError("no data row under the header (a truncated or emptied CSV)")
    for line, cells in enumerate(rows[1:], start=2):     # row numbers as in the file (header = 1)
        if not cells:
            continue
        name = cells[header.index("name")].strip() if len(cells) > header.index("name") else ""
        yield Item(item.path, row=line, clip_id=make_clip_id(NAME, split, Path(name).stem or f"row{line}"),
                   data=(split, folder, header, n_l, cells))


def _row_segment(raw_dir: Path, item: Item) -> Segment | Rejected:
    split, folder, header, n_l, cells = item.data
    if len(cells) > len(header):
        raise ValueError(f"{len(cells) - len(header)} cells beyond the header")
    row = dict(zip(header, cells))
    name = (row.get("name") or "").strip()
    try:
        count, pairs, problem = parse_row(row, n_l)
    except ValueError as exc:
        return rejected(NAME, item.path, f"{name}: {exc}", row=item.row, field_="reps", clip_id=item.clip_id)
    video_dir = raw_dir / "video" / folder
    video = video_dir / name
    # a name cell is a file name: "../x.mp4" or an absolute path must not reach outside RAW_DIR
    if not name or Path(name).name != name or not video.resolve().is_relative_to(video_dir.resolve()):
        return rejected(NAME, item.path, f"name {name!r} is not a video file name inside {video_dir}",
                        row=item.row, field_="video", clip_id=item.clip_id)
    if not video.is_file():
        return rejected(NAME, item.path, f"video {video} not found", row=item.row, field_="video",
                        clip_id=item.clip_id)
    cls = clean_class(row.get("type") or "")
    return Segment(
        str(video.resolve()), 0, None, fps=None, label_raw=cls, reps=count, rep_bounds=pairs,
        clip_id=item.clip_id, source=NAME, subject=Path(name).stem,
        split_group=f"{NAME}:{Path(name).stem}", provenance=provenance(video, raw_dir, LICENSE, hashed=False),
        extra={"repcount_split": split, "type_raw": row.get("type"), "csv": item.path.name,
               "csv_row": item.row, "paper_excluded": cls in PAPER_EXCLUDED,
               **({"rep_bounds_dropped": problem} if problem else {})})


ADAPTER = Adapter(
    name=NAME, title="RepCount-A",
    citation="Hu et al., TransRAC: Encoding Multi-scale Temporal Correlation with Transformers "
             "for Repetitive Action Counting, CVPR 2022",
    license=LICENSE, homepage="https://svip-lab.github.io/dataset/RepCount_dataset.html",
    layout="annotation/{train,valid,test}.csv + video/{train,valid,test}/<name>.mp4",
    native_fps=None, joint_set=None, role="evaluation", read=read, list_segments=list_segments,
    verified="every row of the 3 real CSVs read; counts checked against the L pairs")
