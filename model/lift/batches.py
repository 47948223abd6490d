"""One epoch of a split as padded batches (method.md §4, §6).

A batch is a dict of tensors:
  pixel_values (B, 3, 384, 640) float16   zero-padded motion images (x, y, z channels)
  pixel_mask   (B, 384, 640)    bool      True on real pixels
  input_ids    (B, 40)          int32     tokenized "Q: <question> A:"
  attention_mask (B, 40)        uint8
  targets      (B, V)           float32   weighted multi-hot (identify) / one-hot integer (count)
  index        (B,)             int64     row of the sample in its QADataset
and, when the dataset carries rep spans (the rep-density head, lift.density):
  rep_mass     (B, 640)         float32   each rep's mass 1 spread over its image columns (0 elsewhere)
  has_reps     (B,)             bool      the row is a count question with rep spans
Both tasks are in every batch: each epoch the identify rows and the count rows are shuffled
separately and dealt out evenly over the batches.

A batch is a handful of slice copies from the motion-image cache into a preallocated padded
buffer, where only the columns the previous occupant left behind are re-zeroed (no np.pad, no
per-sample allocation).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from olympia.motion_image import IMAGE_ROWS

from lift.configs import IMAGE_HEIGHT, IMAGE_WIDTH
from lift.images import MotionImageCache
from lift.samples import QADataset, sample_questions


def epoch_batches(is_count: np.ndarray, batch_size: int, rng: np.random.Generator | None,
                  drop_last: bool = False, widths: np.ndarray | None = None,
                  pool_batches: int = 8) -> list[np.ndarray]:
    """Row indices per batch for one epoch, both tasks dealt evenly into every batch.

    rng None keeps the order (evaluation). With only one task present, batches hold that task.
    widths (per row, the motion image's columns) turns on length bucketing: rows are shuffled,
    cut into pools of `pool_batches` batches, sorted by width inside each pool, dealt into
    batches, and the batch order is shuffled again. A batch then holds clips of similar length,
    so the model (which crops to the batch's widest image) computes far fewer padding patches,
    while each batch is still a random draw of the split."""
    n = len(is_count)
    if n == 0:
        return []
    ident, count = np.flatnonzero(~is_count), np.flatnonzero(is_count)
    if rng is not None:
        ident, count = rng.permutation(ident), rng.permutation(count)
    n_batches = n // batch_size if drop_last and n >= batch_size else math.ceil(n / batch_size)
    # each task is dealt out separately, so both can round up in the same batch: one batch more
    # whenever that would overflow (e.g. 17 + 16 = 33 rows for batch size 32)
    while not drop_last and -(-len(ident) // n_batches) + -(-len(count) // n_batches) > batch_size:
        n_batches += 1
    if drop_last:
        keep_i = round(len(ident) * n_batches * batch_size / n)
        ident, count = ident[:keep_i], count[: n_batches * batch_size - keep_i]
    if widths is not None:
        n_pools = math.ceil(n_batches / pool_batches) if rng is not None else 1
        ident, count = (np.concatenate([p[np.argsort(widths[p], kind="stable")] for p in np.array_split(rows, n_pools)])
                        for rows in (ident, count))
    batches = [np.concatenate([a, b]) for a, b in
               zip(np.array_split(ident, n_batches), np.array_split(count, n_batches))]
    batches = [b for b in batches if len(b)]
    if widths is not None and rng is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


class BatchAssembler:
    """Turns row indices into a padded batch, reusing preallocated buffers.

    The returned tensors are views of those buffers: they are valid until the next call
    (clone them to keep them). Stale columns of the previous occupant are re-zeroed.
    """

    def __init__(self, data: QADataset, cache: MotionImageCache, batch_size: int):
        self.data, self.cache, self.capacity = data, cache, batch_size
        self.pixels = torch.zeros((batch_size, 3, IMAGE_HEIGHT, IMAGE_WIDTH), dtype=torch.float16)
        self.mask = torch.zeros((batch_size, IMAGE_HEIGHT, IMAGE_WIDTH), dtype=torch.bool)
        self.targets = torch.zeros((batch_size, data.n_classes), dtype=torch.float32)
        self._px, self._mk, self._tg = self.pixels.numpy(), self.mask.numpy(), self.targets.numpy()
        self._width = np.zeros(batch_size, np.int64)   # columns currently written per slot
        if data.rep_spans is not None:
            self.rep_mass = torch.zeros((batch_size, IMAGE_WIDTH), dtype=torch.float32)
            self.has_reps = torch.zeros(batch_size, dtype=torch.bool)

    def __call__(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        b = len(rows)
        if b > self.capacity:
            raise ValueError(f"batch of {b} rows exceeds the buffer capacity {self.capacity}")
        d, px, mk = self.data, self._px, self._mk
        for slot, row in enumerate(rows):
            pos = d.clip_pos[row]
            w, old = int(self.cache.widths[pos]), int(self._width[slot])
            px[slot, :, :IMAGE_ROWS, :w] = self.cache.image(pos)
            if old > w:
                px[slot, :, :IMAGE_ROWS, w:old] = 0
                mk[slot, :IMAGE_ROWS, w:old] = False
            if w > old:
                mk[slot, :IMAGE_ROWS, old:w] = True
            self._width[slot] = w
        tg = self._tg[:b]
        tg.fill(0.0)
        for slot, row in enumerate(rows):
            lo, hi = d.indptr[row], d.indptr[row + 1]
            tg[slot, d.indices[lo:hi]] = d.weights[lo:hi]
        batch = {"pixel_values": self.pixels[:b], "pixel_mask": self.mask[:b],
                 "input_ids": torch.from_numpy(d.input_ids[rows]),
                 "attention_mask": torch.from_numpy(d.attention_mask[rows]),
                 "targets": self.targets[:b], "index": torch.from_numpy(np.asarray(rows, np.int64))}
        if d.rep_spans is not None:
            batch.update(self._rep_targets(rows))
        return batch

    def _rep_targets(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        from lift.density import rep_column_mass
        b = len(rows)
        mass, has = self.rep_mass.numpy(), self.has_reps.numpy()
        mass[:b] = 0.0
        for slot, row in enumerate(rows):
            spans = self.data.rep_spans[row]
            has[slot] = spans is not None
            if spans is not None:
                mass[slot] = rep_column_mass(spans, IMAGE_WIDTH)
        return {"rep_mass": self.rep_mass[:b], "has_reps": self.has_reps[:b]}


class _EpochBatches(torch.utils.data.Dataset):
    """Map-style view of one epoch's batch plan, for DataLoader worker processes."""

    def __init__(self, data, cache, plan, batch_size):
        self.data, self.cache, self.plan, self.batch_size = data, cache, plan, batch_size
        self._assembler = None

    def __len__(self):
        return len(self.plan)

    def __getitem__(self, k):
        if self._assembler is None:      # built lazily inside each worker process
            self._assembler = BatchAssembler(self.data, self.cache, self.batch_size)
        batch = self._assembler(self.plan[k])
        return {key: v.clone() for key, v in batch.items()}   # leaves the worker; must own its memory


def iterate_batches(data: QADataset, cache: MotionImageCache, batch_size: int, *, shuffle: bool,
                    seed: int = 0, epoch: int = 0, num_workers: int = 0, max_batches: int | None = None,
                    drop_last: bool = False, questions_per_clip: int | None = None, bucket: bool = True):
    """Yield the batches of one epoch (see module doc). num_workers > 0 assembles batches in
    worker processes (torch DataLoader); 0 assembles them in this process into reused buffers.
    questions_per_clip: draw that many questions of each task per clip for this epoch (a new
    draw every epoch) instead of all of them. bucket: batch clips of similar length together
    (see epoch_batches); evaluation order does not matter since rows carry their index."""
    rng = np.random.default_rng([seed, epoch]) if shuffle else None
    widths = cache.widths[data.clip_pos] if bucket else None
    rows = (np.arange(len(data)) if questions_per_clip is None
            else sample_questions(data, questions_per_clip, rng or np.random.default_rng(seed)))
    plan = [rows[b] for b in epoch_batches(data.is_count[rows], batch_size, rng, drop_last=drop_last,
                                           widths=None if widths is None else widths[rows])]
    if max_batches is not None:
        plan = plan[:max_batches]
    if num_workers <= 0:
        assemble = BatchAssembler(data, cache, batch_size)
        for rows in plan:
            yield assemble(rows)
        return
    loader = torch.utils.data.DataLoader(_EpochBatches(data, cache, plan, batch_size), batch_size=None,
                                         shuffle=False, num_workers=num_workers,
                                         multiprocessing_context="fork", prefetch_factor=4)
    yield from loader
