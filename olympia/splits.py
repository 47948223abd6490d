"""Train/validation/test assignment.

Two modes, both deterministic for a given seed:
- "clip": the paper's protocol (method.md §7): clips shuffled and cut 80/10/10. Kept for
  reproduction; it lets the same person or source video appear in train and test.
- "group" (default for releases): whole `split_group`s (subject / source video) are assigned,
  so no person or video spans two splits; groups are shuffled and filled greedily towards the
  ratios by clip count, separately within each source (the stratum of a group is the source of
  most of its clips), so every source with enough groups has train, validation and test clips
  of its own (a release of Fit3D's 4 subjects plus UI-PRMD's 2 would otherwise cut the groups
  in one queue and leave validation 2 clips of KIMORE).
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:                 # the schema imports SPLITS: no pandas import at schema import
    import pandas as pd

SPLITS = ("train", "validation", "test")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)
SPLIT_MODES = ("group", "clip")


def _stable_order(keys: list[str], seed: int) -> list[str]:
    """Sort keys by a seeded hash: a shuffle that does not depend on input order."""
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).hexdigest())


def _cut(counts: list[int], ratios) -> list[int]:
    """Split index (0/1/2) per item, filling splits in order towards their target totals."""
    total = sum(counts)
    targets = np.cumsum(ratios) * total
    out, running = [], 0
    for n in counts:
        mid = running + n / 2  # place the item where its centre falls
        out.append(int(np.searchsorted(targets, mid, side="right")))
        running += n
    return _no_empty_split([min(i, len(ratios) - 1) for i in out], ratios)


def _no_empty_split(index: list[int], ratios) -> list[int]:
    """With few groups, rounding can leave validation or test empty (6 subjects: 4.8/0.6/0.6).
    Every split with a positive ratio gets at least one item when there are enough items: it
    takes the item nearest to it from the split that has the most."""
    for k, ratio in enumerate(ratios):
        if ratio <= 0 or k in index or len(index) < sum(r > 0 for r in ratios):
            continue
        donor = max(range(len(ratios)), key=index.count)
        if index.count(donor) < 2:
            continue
        positions = [j for j, i in enumerate(index) if i == donor]
        index[positions[-1] if donor < k else positions[0]] = k
    return index


def assign_splits(meta: pd.DataFrame, mode: str = "group", seed: int = 0,
                  ratios=DEFAULT_RATIOS) -> dict[str, str]:
    """Map clip id -> split name. `meta` needs columns `id` and `split_group` (and `source`,
    which stratifies group mode by source when present)."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"unknown split mode {mode!r}; choose one of {SPLIT_MODES}")
    if abs(sum(ratios) - 1.0) > 1e-9 or len(ratios) != len(SPLITS):
        raise ValueError(f"ratios must be three numbers summing to 1, got {ratios}")
    if mode == "clip":
        order = _stable_order(list(meta["id"]), seed)
        return {cid: SPLITS[i] for cid, i in zip(order, _cut([1] * len(order), ratios))}
    group_split: dict[str, int] = {}
    for groups in _strata(meta).values():
        order = _stable_order(list(groups), seed)
        group_split.update(zip(order, _cut([groups[g] for g in order], ratios)))
    return {cid: SPLITS[group_split[g]] for cid, g in zip(meta["id"], meta["split_group"])}


def _strata(meta: pd.DataFrame) -> dict[str, dict[str, int]]:
    """{stratum: {group: clips}}: a group's stratum is the source of most of its clips (ties:
    the first source by name), so a group that spans sources is still assigned once."""
    if "source" not in meta.columns:
        return {"": meta.groupby("split_group")["id"].count().to_dict()}
    counts = meta.groupby(["split_group", "source"])["id"].count().reset_index()
    counts = counts.sort_values(["split_group", "id", "source"], ascending=[True, False, True])
    primary = counts.drop_duplicates("split_group").set_index("split_group")["source"]
    sizes = meta.groupby("split_group")["id"].count()
    strata: dict[str, dict[str, int]] = {}
    for group, n in sizes.items():
        strata.setdefault(primary[group], {})[group] = int(n)
    return strata
