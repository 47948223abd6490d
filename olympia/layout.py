"""Where everything lives in a store or release: paths, shard naming, size caps, format version.

Declared once here (LeRobot's utils.py is the model) and imported by the store, the release
builder, the labels side and `model/lift`, which reads a release through these names only.

    README.md                                        dataset card
    data/clips/{split}-{index:05d}-of-{count:05d}.parquet
    data/qa/{split}-{index:05d}-of-{count:05d}.parquet
    meta/info.json        meta/splits.json      meta/stats.json      meta/vocabulary.json
    meta/quarantine.json  meta/labels_report.json|md
    plots/*.png
"""
from __future__ import annotations

from pathlib import Path

FORMAT_VERSION = "2.0"          # of the clip shards and meta/info.json (bumped on any change)
                                # 2.0: typed keypoints (list<fixed_size_list<float32, 51>>), a
                                # split column, row groups capped by bytes; 1.0 (binary keypoints,
                                # 2 clips per row group) is still read
CODEBASE = "olympia"            # meta/info.json "codebase"

CLIPS_DIR = "data/clips"
QA_DIR = "data/qa"
SHARD_PATTERN = "{split}-{index:05d}-of-{count:05d}.parquet"
INFO_PATH = "meta/info.json"
SPLITS_PATH = "meta/splits.json"
QUARANTINE_PATH = "meta/quarantine.json"
STATS_PATH = "meta/stats.json"
VOCABULARY_PATH = "meta/vocabulary.json"
LABELS_REPORT_JSON_PATH = "meta/labels_report.json"
LABELS_REPORT_MD_PATH = "meta/labels_report.md"
CARD_PATH = "README.md"
LICENSE_PATH = "LICENSE.md"       # only when the clips do not share one known licence (card.card_license)
PLOTS_DIR = "plots"

SHARD_MAX_BYTES = 128 << 20     # cap on raw keypoint bytes per clip shard (Hub-friendly file sizes)
ROW_GROUP_MAX_ROWS = 256        # clips per row group at most, and at most ROW_GROUP_MAX_BYTES of
ROW_GROUP_MAX_BYTES = 1 << 20   # raw keypoints (a longer clip gets a row group of its own). A random
                                # access views its clip's floats on the mmapped page without decoding
                                # the row group (olympia.parquet_pages), so row groups can be larger
                                # than format 1.0's 2 clips: metadata reads touch 10-100x fewer groups
                                # (100,000 tiny clips: metadata() 2.9 s at 64 clips a group, 0.96 s at 256)
QA_ROWS_PER_SHARD = 100_000     # QA rows per data/qa shard


def shard_name(split: str, index: int, count: int) -> str:
    """File name of shard `index` of `count` in a split, e.g. train-00000-of-00003.parquet."""
    return SHARD_PATTERN.format(split=split, index=index, count=count)


def clip_shard_path(split: str, index: int, count: int) -> str:
    """Release-relative path of a clip shard."""
    return f"{CLIPS_DIR}/{shard_name(split, index, count)}"


def qa_shard_path(split: str, index: int, count: int) -> str:
    """Release-relative path of a QA shard."""
    return f"{QA_DIR}/{shard_name(split, index, count)}"


def shard_split(path: str | Path) -> str:
    """The split a shard belongs to, from its file name."""
    return Path(path).name.split("-", 1)[0]


def shard_files(root: str | Path, directory: str, split: str | None = None) -> list[Path]:
    """Shards of a release directory (CLIPS_DIR or QA_DIR), sorted; one split or all."""
    return sorted(Path(root, directory).glob(f"{split or '*'}-*-of-*.parquet"))
