"""olympia.torch: a release as a PyTorch dataset; values checked against the store and by hand."""
from __future__ import annotations

import json

import numpy as np
import torch
from torch.utils.data import DataLoader

from factories import make_clip
from olympia.motion_image import PAD_HEIGHT, PAD_WIDTH, motion_image
from olympia.store import ClipStore, write_store
from olympia.torch import UNKNOWN_REPS, ClipDataset, pad_collate


def test_items_hold_keypoints_label_reps_and_bounds(demo_release):
    store = ClipStore(demo_release)
    train = ClipDataset(demo_release, split="train")
    assert len(train) == len(store.metadata(split="train")) and "train" in repr(train)
    item = train[0]
    clip = store.get(item["id"])
    assert item["keypoints"].dtype == torch.float32 and tuple(item["keypoints"].shape) == (clip.n_frames, 17, 3)
    np.testing.assert_array_equal(item["keypoints"].numpy(), clip.keypoints)
    assert item["label"] == clip.label and item["reps"] == clip.reps and item["n_frames"] == clip.n_frames
    assert item["rep_bounds"].dtype == torch.int64
    np.testing.assert_array_equal(item["rep_bounds"].numpy(), np.asarray(clip.rep_bounds).reshape(-1, 2))
    assert item["rep_bounds"].shape[0] == clip.reps                      # the demo knows every rep
    vocab = json.loads((demo_release / "meta/vocabulary.json").read_text())
    assert vocab["single_class_labels"][item["label_class"]] == clip.label
    assert "motion_image" not in item


def test_motion_image_is_the_padded_paper_image_channel_first(demo_release):
    item = ClipDataset(demo_release, split="test", motion_image=True)[0]
    assert tuple(item["motion_image"].shape) == (3, PAD_HEIGHT, PAD_WIDTH) == (3, 384, 640)
    width = -(-item["n_frames"] // 2)                                    # ceil(T / 2) columns
    expected = motion_image(item["keypoints"].numpy())
    np.testing.assert_allclose(item["motion_image"][:, :320, :width].numpy(), expected.transpose(2, 0, 1))
    assert item["motion_image_mask"].sum().item() == 320 * width
    assert not item["motion_image"][:, :, width:].any()


def test_a_dataloader_pads_a_batch_with_workers(demo_release):
    ds = ClipDataset(demo_release, split="train", motion_image=True)
    batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=pad_collate, num_workers=2)))
    lengths = [ds[i]["n_frames"] for i in range(4)]
    assert tuple(batch["keypoints"].shape) == (4, max(lengths), 17, 3)
    assert batch["frame_mask"].sum(1).tolist() == lengths == batch["n_frames"].tolist()
    assert not batch["keypoints"][~batch["frame_mask"]].any()            # padding is zero
    assert tuple(batch["motion_image"].shape) == (4, 3, 384, 640)
    assert batch["id"] == [ds[i]["id"] for i in range(4)] and len(batch["rep_bounds"]) == 4


def test_a_clip_store_without_vocabulary_and_unknown_reps(tmp_path):
    write_store(tmp_path / "s", [make_clip(0, n_frames=30, reps=None), make_clip(1, n_frames=20, reps=2)],
                progress=False)
    ds = ClipDataset(tmp_path / "s", sources=["test"])
    items = sorted((ds[i] for i in range(len(ds))), key=lambda it: it["id"])
    assert items[0]["reps"] is None and tuple(items[0]["rep_bounds"].shape) == (0, 2)
    assert items[0]["label_class"] == -1                               # a store has no vocabulary
    batch = pad_collate(items)
    assert batch["reps"].tolist() == [UNKNOWN_REPS, 2] and batch["keypoints"].shape[1] == 30
    assert len(ClipDataset(tmp_path / "s", sources=["other"])) == 0


def test_transform_is_applied_last(demo_release):
    ds = ClipDataset(demo_release, split="validation", transform=lambda it: {**it, "x": it["keypoints"][:, 0]})
    assert tuple(ds[0]["x"].shape) == (ds[0]["n_frames"], 3)
