"""PyTorch access to a release: one item per clip, variable-length clips padded per batch.

    from torch.utils.data import DataLoader
    from olympia.torch import ClipDataset, pad_collate

    train = ClipDataset("dist/olympia-demo", split="train", motion_image=True)
    item = train[0]        # keypoints (T, 17, 3), label, reps, rep_bounds (R, 2), motion_image
    batch = next(iter(DataLoader(train, batch_size=8, shuffle=True, collate_fn=pad_collate)))

Reads the clip shards through `olympia.store.ClipStore` (random access decodes about one row
group per clip) and needs nothing but the release folder. The motion image is the paper's
(method.md §6: 5 chains x 64 points, time halved, zero-padded to 384 x 640), channel first, as
`olympia.motion_image.padded_motion_image` makes it; the LiFT trainer additionally centres it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from olympia.io import read_json
from olympia.layout import VOCABULARY_PATH
from olympia.motion_image import padded_motion_image
from olympia.store import ClipStore

UNKNOWN_REPS = -1     # `reps` in a collated batch when a clip has no count (KIMORE)
_COLUMNS = ["id", "source", "subject", "label_raw", "label", "reps", "rep_bounds", "n_frames"]


class ClipDataset(Dataset):
    """The clips of a release (or clip store) as a map-style PyTorch dataset.

    An item is a dict: `id`, `source`, `subject`, `label_raw`, `label` (str), `label_class`
    (int: the label's index in meta/vocabulary.json `single_class_labels`, -1 without one),
    `reps` (int, or None when unknown), `n_frames` (int), `keypoints` (float32 tensor
    (T, 17, 3): metres, z up, Human3.6M-17 order, 25 fps), `rep_bounds` (int64 tensor (R, 2),
    [start, end) frames of each repetition) and, with `motion_image=True`, `motion_image`
    (float32 (3, 384, 640)) and `motion_image_mask` (bool (384, 640), True on real pixels).
    """

    def __init__(self, release: str | Path, split: str | None = None, *, motion_image: bool = False,
                 sources: Iterable[str] | None = None, transform: Callable[[dict], dict] | None = None):
        self.release = Path(release)
        self.split = split                      # train / validation / test; None: every clip
        self.motion_image = motion_image        # add the padded motion image and its mask
        self.transform = transform              # applied to each item dict last
        self._store: ClipStore | None = ClipStore(self.release)
        meta = self._store.metadata(columns=_COLUMNS, split=split)
        if sources is not None:
            meta = meta[meta["source"].isin(set(sources))]
        self.meta = meta.reset_index(drop=True)   # one row per item, in storage order
        self.label_classes = _label_classes(self.release)

    @property
    def store(self) -> ClipStore:
        if self._store is None:                 # reopened in each DataLoader worker
            self._store = ClipStore(self.release)
        return self._store

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_store": None}   # open Parquet files do not travel to workers

    def __len__(self) -> int:
        return len(self.meta)

    def __repr__(self) -> str:
        return (f"ClipDataset({str(self.release)!r}, split={self.split!r}: {len(self)} clips, "
                f"{self.meta['label'].nunique()} labels, motion_image={self.motion_image})")

    def __getitem__(self, index: int) -> dict:
        row = self.meta.iloc[index]
        keypoints = np.array(self.store.keypoints(row["id"]), dtype=np.float32)  # the store's view is read-only
        bounds = np.array([list(b) for b in row["rep_bounds"]], dtype=np.int64).reshape(-1, 2)
        reps = None if pd.isna(row["reps"]) else int(row["reps"])
        item = {"id": row["id"], "source": row["source"], "subject": row["subject"],
                "label_raw": row["label_raw"], "label": row["label"],
                "label_class": self.label_classes.get(row["label"], -1), "reps": reps,
                "n_frames": int(row["n_frames"]), "keypoints": torch.from_numpy(keypoints),
                "rep_bounds": torch.from_numpy(bounds)}
        if self.motion_image:
            image, mask, _ = padded_motion_image(keypoints)
            item["motion_image"] = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
            item["motion_image_mask"] = torch.from_numpy(mask.copy())
        return self.transform(item) if self.transform else item


def _label_classes(release: Path) -> dict[str, int]:
    path = release / VOCABULARY_PATH
    if not path.is_file():                      # a clip store, not a release
        return {}
    labels = read_json(path, "release vocabulary").get("single_class_labels") or []
    return {label: i for i, label in enumerate(labels)}


def pad_collate(items: list[dict]) -> dict:
    """A batch of ClipDataset items: `keypoints` zero-padded to (B, T_max, 17, 3) with
    `frame_mask` (B, T_max) True on real frames; `reps` (B,) with UNKNOWN_REPS for unknown
    counts; `label_class`, `n_frames` (B,); `rep_bounds` stays a list of (R_i, 2) tensors;
    strings stay lists; motion images are stacked (they share one padded size)."""
    lengths = [int(it["keypoints"].shape[0]) for it in items]
    keypoints = torch.zeros((len(items), max(lengths), *items[0]["keypoints"].shape[1:]), dtype=torch.float32)
    frame_mask = torch.zeros((len(items), max(lengths)), dtype=torch.bool)
    for i, it in enumerate(items):
        keypoints[i, :lengths[i]] = it["keypoints"]
        frame_mask[i, :lengths[i]] = True
    batch = {key: [it[key] for it in items] for key in ("id", "source", "subject", "label_raw", "label", "rep_bounds")}
    batch.update(keypoints=keypoints, frame_mask=frame_mask, n_frames=torch.tensor(lengths),
                 reps=torch.tensor([UNKNOWN_REPS if it["reps"] is None else it["reps"] for it in items]),
                 label_class=torch.tensor([it["label_class"] for it in items]))
    if "motion_image" in items[0]:
        batch["motion_image"] = torch.stack([it["motion_image"] for it in items])
        batch["motion_image_mask"] = torch.stack([it["motion_image_mask"] for it in items])
    return batch


__all__ = ["ClipDataset", "UNKNOWN_REPS", "pad_collate"]
