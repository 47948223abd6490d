"""Release -> training batches (method.md §3, §4, §6).

A batch is a dict of tensors:
  pixel_values (B, 3, 384, 640) float16   zero-padded motion images (x, y, z channels)
  pixel_mask   (B, 384, 640)    bool      True on real pixels
  input_ids    (B, 40)          int32     tokenized "Q: <question> A:"
  attention_mask (B, 40)        uint8
  targets      (B, V)           float32   weighted multi-hot (identify) / one-hot integer (count)
  index        (B,)             int64     row of the sample in its QADataset
Both tasks are in every batch: each epoch the identify rows and the count rows are shuffled
separately and dealt out evenly over the batches.

Throughput comes from doing the expensive work once: each clip's motion image is computed
once (by worker processes, one clip shard at a time) and kept as a compact float16 array;
every question about the clip reuses it. Questions are tokenized once. A batch is then a
handful of slice copies into a preallocated padded buffer, where only the columns the
previous occupant left behind are re-zeroed (no np.pad, no per-sample allocation).

Only a published release is read: data/clips/*.parquet (keypoints), data/qa/*.parquet and
meta/vocabulary.json.
"""
from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from olympia.errors import ConfigError, StoreIntegrityError
from olympia.motion_image import IMAGE_ROWS, motion_image, resample_time
from olympia.store import ClipStore

from lift.configs import IMAGE_HEIGHT, IMAGE_WIDTH
from lift.tokenizer import encode

VOCABULARY_PATH = "meta/vocabulary.json"
QA_DIR = "data/qa"
TASKS = ("identify", "count")


# --------------------------------------------------------------------------- class space
@dataclass
class ClassSpace:
    """The model's output classes: tokens with weights, and which of them are integers.

    mode "multi_class": the release vocabulary (words + integers 1..max_count).
    mode "single_class": the Table 4 baseline, one class per full label, then the integers.
    """

    tokens: list[str]
    weights: np.ndarray                   # (V,) loss weight of each class
    categories: list[str]
    mode: str = "multi_class"
    integer_classes: np.ndarray = field(init=False)   # indices of the integer classes
    integer_values: np.ndarray = field(init=False)    # their integer values

    def __post_init__(self):
        self.weights = np.asarray(self.weights, np.float32)
        ints = [(i, int(t)) for i, (t, c) in enumerate(zip(self.tokens, self.categories))
                if c == "integer" and t.isdigit()]
        self.integer_classes = np.array([i for i, _ in ints], np.int64)
        self.integer_values = np.array([v for _, v in ints], np.int64)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def word_classes(self) -> np.ndarray:
        return np.setdiff1d(np.arange(len(self)), self.integer_classes)

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def extended(self, tokens: list[str], category: str = "uncategorized", weight: float = 1.0) -> "ClassSpace":
        """A copy with `tokens` appended (stable indices: existing classes never move)."""
        new = [t for t in dict.fromkeys(tokens) if t not in self.index()]
        return ClassSpace(self.tokens + new, np.concatenate([self.weights, np.full(len(new), weight, np.float32)]),
                          self.categories + [category] * len(new), self.mode)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "classes": [
            {"index": i, "token": t, "category": c, "weight": float(w)}
            for i, (t, c, w) in enumerate(zip(self.tokens, self.categories, self.weights))]}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassSpace":
        classes = sorted(d["classes"], key=lambda c: c["index"])
        return cls([c["token"] for c in classes], [c["weight"] for c in classes],
                   [c["category"] for c in classes], d.get("mode", "multi_class"))

    @classmethod
    def from_vocabulary(cls, vocab: dict, mode: str = "multi_class") -> "ClassSpace":
        space = cls.from_dict({"classes": vocab["classes"]})
        if mode == "multi_class":
            return space
        if mode != "single_class":
            raise ConfigError(f"unknown target mode {mode!r}; use multi_class or single_class")
        labels = list(vocab["single_class_labels"])
        ints = [space.tokens[i] for i in space.integer_classes]
        return cls(labels + ints, [1.0] * (len(labels) + len(ints)),
                   ["label"] * len(labels) + ["integer"] * len(ints), "single_class")


def load_vocabulary(release) -> dict:
    path = Path(release) / VOCABULARY_PATH
    if not path.is_file():
        raise StoreIntegrityError(f"{path} is missing: {release} is not a published release with "
                                  "labels (build it with `olympia build`)")
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- QA rows
QA_COLUMNS = ["qa_id", "clip_id", "split", "task", "variant", "prompt", "answer",
              "target_indices", "target_weights", "count_class", "label_class"]


def load_qa(release, split: str | None = None) -> pd.DataFrame:
    """QA rows of a release (all splits, or one), from data/qa/*.parquet."""
    root = Path(release)
    files = sorted((root / QA_DIR).glob("*.parquet"))
    if split is not None:
        files = [f for f in files if f.name.startswith(f"{split}-")]
    if not files:
        raise StoreIntegrityError(f"{root / QA_DIR} has no {split or ''} QA shards: {release} is not a "
                                  "published release with questions (build it with `olympia build`)")
    frames = [pq.read_table(f).to_pandas() for f in files]
    qa = pd.concat(frames, ignore_index=True)
    missing = set(QA_COLUMNS) - set(qa.columns)
    if missing:
        raise StoreIntegrityError(f"{files[0]}: QA shard lacks columns {sorted(missing)}; "
                                  "rebuild the release with the current labels code")
    return qa


def target_rows(qa: pd.DataFrame, space: ClassSpace, vocab: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR targets (indptr, indices, weights) of each QA row in `space`'s class indices.

    The release vocabulary and `space` are matched by token, so a checkpoint trained on one
    release evaluates on another; release tokens unknown to `space` raise (extend first,
    see fewshot.extend_for_release)."""
    index = space.index()
    if space.mode == "single_class":
        int_pos = {c["index"]: index[c["token"]] for c in vocab["classes"] if c["token"] in index
                   and c.get("category") == "integer"}
        labels = list(vocab["single_class_labels"])
        rows = []
        for task, lc, cc in zip(qa["task"], qa["label_class"], qa["count_class"]):
            if task == "count":
                rows.append(([int_pos[int(cc)]], [1.0]))
            else:
                rows.append(([index[labels[int(lc)]]], [1.0]) if labels[int(lc)] in index else ([], []))
    else:
        release_tokens = {c["index"]: c["token"] for c in vocab["classes"]}
        unknown = {release_tokens[int(j)] for ti in qa["target_indices"] for j in ti
                   if release_tokens[int(j)] not in index}
        if unknown:
            raise ConfigError(f"release words {sorted(unknown)[:10]} are not classes of the model; "
                              "extend the vocabulary first (lift evaluate --extend-vocabulary)")
        rows = [([index[release_tokens[int(j)]] for j in ti], list(tw))
                for ti, tw in zip(qa["target_indices"], qa["target_weights"])]
    lengths = np.array([len(r[0]) for r in rows], np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.array([j for r in rows for j in r[0]], np.int64)
    weights = np.array([w for r in rows for w in r[1]], np.float32)
    return indptr, indices, weights


@dataclass
class QADataset:
    """The QA rows of one split, tokenized, with CSR targets and per-row clip positions."""

    qa: pd.DataFrame                 # the rows (plus clip metadata columns: source, reps, label)
    input_ids: np.ndarray            # (N, L) int32
    attention_mask: np.ndarray       # (N, L) uint8
    indptr: np.ndarray               # CSR targets over the class space
    indices: np.ndarray
    weights: np.ndarray
    clip_pos: np.ndarray             # (N,) position of the row's clip in the MotionImageCache
    n_classes: int

    def __len__(self) -> int:
        return len(self.qa)

    @property
    def is_count(self) -> np.ndarray:
        return (self.qa["task"] == "count").to_numpy()

    def take(self, rows) -> "QADataset":
        """A new dataset of the given rows (in that order), sharing the motion-image cache."""
        rows = np.asarray(rows, np.int64)
        lengths = self.indptr[rows + 1] - self.indptr[rows]
        pick = (np.concatenate([np.arange(self.indptr[r], self.indptr[r + 1]) for r in rows])
                if len(rows) else np.zeros(0, np.int64))
        return QADataset(self.qa.iloc[rows].reset_index(drop=True), self.input_ids[rows], self.attention_mask[rows],
                         np.concatenate([[0], np.cumsum(lengths)]), self.indices[pick], self.weights[pick],
                         self.clip_pos[rows], self.n_classes)

    def target_sets(self, rows=None) -> list[list[int]]:
        rows = range(len(self)) if rows is None else rows
        return [self.indices[self.indptr[i]:self.indptr[i + 1]].tolist() for i in rows]


def build_dataset(qa: pd.DataFrame, clip_meta: pd.DataFrame, cache: "MotionImageCache", tokenizer,
                  space: ClassSpace, vocab: dict, max_tokens: int) -> QADataset:
    """Join QA rows with clip metadata and the cache; tokenize each distinct prompt once."""
    qa = qa.merge(clip_meta[["id", "source", "reps", "label", "n_frames"]].rename(columns={"id": "clip_id"}),
                  on="clip_id", how="left", validate="many_to_one")
    missing = qa["source"].isna()
    if missing.any():
        raise StoreIntegrityError(f"QA row {qa.loc[missing, 'qa_id'].iloc[0]!r} names clip "
                                  f"{qa.loc[missing, 'clip_id'].iloc[0]!r} that has no keypoints in the release")
    prompts, inverse = np.unique(qa["prompt"].to_numpy().astype(str), return_inverse=True)
    ids, mask = encode(tokenizer, prompts.tolist(), max_tokens)
    indptr, indices, weights = target_rows(qa, space, vocab)
    clip_pos = cache.positions(qa["clip_id"].tolist())
    return QADataset(qa.reset_index(drop=True), ids[inverse], mask[inverse], indptr, indices, weights,
                     clip_pos, len(space))


# --------------------------------------------------------------------------- motion images
def normalize_image(img: np.ndarray) -> np.ndarray:
    """Centre each channel on the clip's mean position. The paper feeds raw coordinates; centring
    removes where in the room the person stands, which says nothing about the exercise."""
    return img - img.reshape(-1, 3).mean(axis=0)


def clip_image_chw(keypoints: np.ndarray, fps: float = 25.0) -> np.ndarray:
    """(3, 320, W) float16, W <= 640: the normalized motion image, channel first. Clips longer
    than 51.2 s are resampled in time to 640 columns (the rule of olympia.motion_image)."""
    img = normalize_image(motion_image(keypoints, fps=fps))
    if img.shape[1] > IMAGE_WIDTH:
        img = resample_time(img.transpose(1, 0, 2), IMAGE_WIDTH).transpose(1, 0, 2)
    return np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.float16)


def _shard_images(args) -> list[tuple[str, np.ndarray]]:
    """Worker: the images of `ids`, all stored in one clip shard (read row group by row group)."""
    release, ids = args
    store = ClipStore(release)
    return [(cid, clip_image_chw(store.keypoints(cid))) for cid in ids]


class MotionImageCache:
    """Each clip's motion image, once, as (3, 320, W) float16 in one flat array."""

    def __init__(self, ids: list[str], widths: np.ndarray, flat: np.ndarray):
        self.ids = list(ids)
        self.widths = np.asarray(widths, np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths * 3 * IMAGE_ROWS)])
        self.flat = flat
        self._pos = {cid: i for i, cid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, pos: int) -> np.ndarray:
        w = int(self.widths[pos])
        return self.flat[self.offsets[pos]:self.offsets[pos + 1]].reshape(3, IMAGE_ROWS, w)

    def positions(self, clip_ids) -> np.ndarray:
        try:
            return np.array([self._pos[c] for c in clip_ids], np.int64)
        except KeyError as exc:
            raise StoreIntegrityError(f"clip {exc.args[0]!r} is not in the motion-image cache") from None

    @classmethod
    def from_images(cls, items: list[tuple[str, np.ndarray]]) -> "MotionImageCache":
        ids = [cid for cid, _ in items]
        widths = np.array([img.shape[2] for _, img in items], np.int64)
        flat = np.concatenate([img.ravel() for _, img in items]) if items else np.zeros(0, np.float16)
        return cls(ids, widths, flat)

    @classmethod
    def build(cls, release, clip_ids=None, workers: int = 2, progress: bool = True) -> "MotionImageCache":
        """Compute the images of `clip_ids` (default: all) from the release's clip shards,
        one shard per task, in `workers` processes."""
        from tqdm import tqdm
        store = ClipStore(release)
        index = store.index
        if clip_ids is not None:
            missing = sorted(set(clip_ids) - set(index.index))
            if missing:
                raise StoreIntegrityError(f"{release}: clip {missing[0]!r} (and {len(missing) - 1} more) has "
                                          "questions but no keypoints; rebuild the release")
            index = index.loc[sorted(set(clip_ids))]
        jobs = [(str(store.root), group.index.tolist()) for _, group in index.groupby("file", sort=True)]
        items: list = []
        bar = tqdm(total=len(jobs), desc="motion images", unit="shard", disable=not progress)
        if workers > 1 and len(jobs) > 1:
            with mp.get_context("fork").Pool(min(workers, len(jobs))) as pool:
                for part in pool.imap_unordered(_shard_images, jobs):
                    items.extend(part)
                    bar.update()
        else:
            for job in jobs:
                items.extend(_shard_images(job))
                bar.update()
        bar.close()
        items.sort(key=lambda x: x[0])
        return cls.from_images(items)

    def save(self, path) -> None:
        import os
        path = Path(path)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.array(self.ids), widths=self.widths, flat=self.flat)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> "MotionImageCache":
        z = np.load(path, allow_pickle=False)
        return cls(z["ids"].tolist(), z["widths"], z["flat"])


class StreamingImages:
    """The MotionImageCache interface without holding every image: each image is computed
    from the clip shards when a batch asks for it (random access by id, 2-clip row groups),
    and the last `keep` images stay in a small LRU. Memory stays bounded whatever the release
    size; each worker process opens its own store. `lift train --stream` uses it."""

    def __init__(self, release, clip_meta: pd.DataFrame, clip_ids, keep: int = 256):
        meta = clip_meta.set_index("id").loc[list(clip_ids)]
        self.release, self.ids, self.keep = Path(release), list(meta.index), keep
        self.widths = np.minimum((meta["n_frames"].to_numpy(np.int64) + 1) // 2, IMAGE_WIDTH)
        self._pos = {cid: i for i, cid in enumerate(self.ids)}
        self._store, self._pid, self._lru = None, None, OrderedDict()

    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self):                      # a worker process opens its own files
        return {**self.__dict__, "_store": None, "_pid": None, "_lru": OrderedDict()}

    def image(self, pos: int) -> np.ndarray:
        img = self._lru.get(pos)
        if img is not None:
            self._lru.move_to_end(pos)
            return img
        if self._store is None or self._pid != os.getpid():
            self._store, self._pid = ClipStore(self.release), os.getpid()
        img = clip_image_chw(self._store.keypoints(self.ids[pos]))
        if img.shape[2] != self.widths[pos]:
            raise StoreIntegrityError(f"{self.release}: clip {self.ids[pos]!r} has {img.shape[2]} image "
                                      f"columns but n_frames says {self.widths[pos]}; rebuild the release")
        self._lru[pos] = img
        if len(self._lru) > self.keep:
            self._lru.popitem(last=False)
        return img

    positions = MotionImageCache.positions


# --------------------------------------------------------------------------- batches
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


def sample_questions(data: QADataset, per_clip: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices holding `per_clip` randomly drawn questions of each task for every clip.

    The release asks ~10 variants of each question per clip; they share one motion image, so
    an epoch over all of them is ~10 passes over the same clips. Drawing a few per epoch
    gives early stopping a finer grain on a small release at the same cost per sample."""
    if per_clip < 1:
        raise ConfigError(f"questions_per_clip must be >= 1, got {per_clip}")
    order = rng.permutation(len(data))
    key = pd.DataFrame({"clip": data.clip_pos[order], "count": data.is_count[order]})
    keep = key.groupby(["clip", "count"], sort=False).cumcount().to_numpy() < per_clip
    return np.sort(order[keep])


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
        return {"pixel_values": self.pixels[:b], "pixel_mask": self.mask[:b],
                "input_ids": torch.from_numpy(d.input_ids[rows]),
                "attention_mask": torch.from_numpy(d.attention_mask[rows]),
                "targets": self.targets[:b], "index": torch.from_numpy(np.asarray(rows, np.int64))}


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


# --------------------------------------------------------------------------- one-stop loading
@dataclass
class ReleaseSplits:
    """Everything the trainer needs from a release, for the requested splits."""

    release: Path
    vocab: dict
    space: ClassSpace
    cache: "MotionImageCache | StreamingImages"
    splits: dict[str, QADataset]
    clip_meta: pd.DataFrame


def load_release(release, tokenizer, space: ClassSpace | None, splits=("train", "validation", "test"),
                 target_mode: str = "multi_class", max_tokens: int = 40, workers: int = 2,
                 progress: bool = True, sources: list[str] | None = None, stream: bool = False) -> ReleaseSplits:
    """Read a published release: vocabulary, QA rows of `splits`, clip metadata, and the motion
    images of the clips those rows ask about. `space` None = the release's own vocabulary.
    stream: compute images from the shards as batches need them (bounded memory) instead of
    once up front."""
    release = Path(release)
    vocab = load_vocabulary(release)
    space = space or ClassSpace.from_vocabulary(vocab, target_mode)
    store = ClipStore(release)
    clip_meta = store.metadata(columns=["id", "source", "reps", "label", "n_frames"])
    qa_all = {s: load_qa(release, None if s == "all" else s) for s in splits}   # "all": every split
    if sources:
        keep = set(clip_meta.loc[clip_meta["source"].isin(sources), "id"])
        qa_all = {s: q[q["clip_id"].isin(keep)].reset_index(drop=True) for s, q in qa_all.items()}
    wanted = sorted(set().union(*(set(q["clip_id"]) for q in qa_all.values()))) if qa_all else []
    cache = (StreamingImages(release, clip_meta, wanted) if stream
             else MotionImageCache.build(release, wanted, workers=workers, progress=progress))
    datasets = {s: build_dataset(q, clip_meta, cache, tokenizer, space, vocab, max_tokens)
                for s, q in qa_all.items()}
    return ReleaseSplits(release, vocab, space, cache, datasets, clip_meta)


def release_questions(release, split: str = "train") -> list[str]:
    """Question and answer texts of a split, the corpus the WordPiece tokenizer is trained on."""
    qa = load_qa(release, split)
    return list(dict.fromkeys(qa["prompt"].astype(str).tolist() + qa["answer"].astype(str).tolist()))
