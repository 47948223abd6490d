"""A release's questions as training samples (method.md §3, §4).

A sample is one QA row: its tokenized prompt, its target in the model's classes (CSR: the
non-zeros of the weighted multi-hot target, or the one integer class of a count) and the
position of its clip's motion image. Questions are tokenized once per distinct prompt.

Only a published release is read, through the labels package: `olympia.labels.read_qa`
(data/qa shards) and `Vocabulary.of_release` (meta/vocabulary.json); clip metadata and
keypoints through `olympia.store.ClipStore`.
"""
from __future__ import annotations

import hashlib

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from olympia.errors import ConfigError, StoreIntegrityError
from olympia.labels.qa import read_qa
from olympia.labels.vocabulary import SINGLE_CLASS, Vocabulary
from olympia.recut import rep_windows, window_clip_id
from olympia.store import ClipStore, integrity_problems, load_info

from lift.images import MotionImageCache, StreamingImages, Windows
from lift.tokenizer import encode

DRAW_GROUP = "draw_group"    # QA column of re-cut rows: "<clip id>#<window reps>" (see draw_groups)
QA_COLUMNS = ["qa_id", "clip_id", "split", "task", "variant", "prompt", "answer",
              "target_indices", "target_weights", "count_class", "label_class"]
CLIP_COLUMNS = ["id", "source", "reps", "label", "n_frames"]


def verify_release(release) -> None:
    """Every file of the release against its sha256 in meta/info.json, once, before a run reads
    it (issue 11 item 7): a flipped byte in a shard would otherwise train or score on altered
    data, or fail hours later in a loader. Raises StoreIntegrityError in one line naming the
    first damaged file and the fix."""
    problems = integrity_problems(release, load_info(release), full=True, strays=False)
    if problems:
        more = (f" ({len(problems) - 1} more problem(s): `olympia verify {release}` lists them)"
                if len(problems) > 1 else "")
        raise StoreIntegrityError(f"release {release} failed its integrity check: {problems[0]}{more}")


def load_qa(release, split: str | None = None) -> pd.DataFrame:
    """The QA rows the trainer uses, of one split, of several joined by "+" ("train+validation":
    `lift train --train-on-validation`), or all (None)."""
    if split is not None and "+" in split:
        return pd.concat([load_qa(release, part) for part in split.split("+")], ignore_index=True)
    return read_qa(release, split, columns=QA_COLUMNS).to_pandas()


def release_questions(release, split: str = "train") -> list[str]:
    """Question and answer texts of a split (or splits joined by "+"), the corpus the WordPiece
    tokenizer is trained on."""
    qa = pd.concat([read_qa(release, part, columns=["prompt", "answer"]).to_pandas() for part in split.split("+")],
                   ignore_index=True)
    return list(dict.fromkeys(qa["prompt"].astype(str).tolist() + qa["answer"].astype(str).tolist()))


def target_rows(qa: pd.DataFrame, vocab: Vocabulary, release_vocab: Vocabulary
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR targets (indptr, indices, weights) of each QA row in `vocab`'s class indices.

    The QA shards index `release_vocab`; the two are matched by token, so a checkpoint trained
    on one release evaluates on another. Release classes unknown to `vocab` raise (extend
    first: Vocabulary.including)."""
    if vocab.mode == SINGLE_CLASS:
        lengths, tokens = _label_targets(qa, vocab, release_vocab)
        weights = np.ones(len(tokens), np.float32)
    else:
        release_tokens = release_vocab.tokens
        lengths = qa["target_indices"].map(len).to_numpy(np.int64)
        tokens = [release_tokens[j] for row in qa["target_indices"] for j in row]
        weights = np.concatenate([np.zeros(0, np.float32), *qa["target_weights"]]).astype(np.float32)
    unknown = sorted({t for t in tokens if t not in vocab})
    if unknown:
        raise ConfigError(f"release classes {unknown[:10]} are not classes of the model; "
                          "extend the vocabulary first (lift evaluate --extend-vocabulary)")
    indices = np.array([vocab.index(t) for t in tokens], np.int64)
    return np.concatenate([[0], np.cumsum(lengths)]), indices, weights


def _label_targets(qa: pd.DataFrame, vocab: Vocabulary, release_vocab: Vocabulary) -> tuple[np.ndarray, list[str]]:
    """Single-class targets (the Table 4 baseline): an identify row's whole label, none when the
    label is not a class of the model (scored as a miss); a count row's integer class."""
    labels, release_tokens = release_vocab.single_class_labels, release_vocab.tokens
    tokens = [release_tokens[int(cc)] if task == "count" else labels[int(lc)]
              for task, lc, cc in zip(qa["task"], qa["label_class"], qa["count_class"])]
    has = [task == "count" or t in vocab for task, t in zip(qa["task"], tokens)]
    return np.array(has, np.int64), [t for t, h in zip(tokens, has) if h]


@dataclass
class QADataset:
    """The QA rows of one split, tokenized, with CSR targets and per-row clip positions."""

    qa: pd.DataFrame                 # the rows (plus clip metadata columns: source, reps, label)
    input_ids: np.ndarray            # (N, L) int32
    attention_mask: np.ndarray       # (N, L) uint8
    indptr: np.ndarray               # CSR targets over the model's classes
    indices: np.ndarray
    weights: np.ndarray
    clip_pos: np.ndarray             # (N,) position of the row's clip in the MotionImageCache
    n_classes: int
    rep_spans: np.ndarray | None = None  # (N,) object: per count row its reps' (R, 2) spans in image columns
                                         # (lift.density; None for other rows, or when not asked for)

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
                         self.clip_pos[rows], self.n_classes, None if self.rep_spans is None else self.rep_spans[rows])

    def target_sets(self, rows=None) -> list[list[int]]:
        rows = range(len(self)) if rows is None else rows
        return [self.indices[self.indptr[i]:self.indptr[i + 1]].tolist() for i in rows]


def build_dataset(qa: pd.DataFrame, clip_meta: pd.DataFrame, cache, tokenizer, vocab: Vocabulary,
                  release_vocab: Vocabulary, max_tokens: int, count_sigma: float = 0.0,
                  windows: Windows | None = None, rep_targets: bool = False) -> QADataset:
    """Join QA rows with clip metadata and the cache; tokenize each distinct prompt once.
    count_sigma > 0 spreads each count target over neighbouring integers (smooth_count_targets).
    rep_targets: the count rows' rep spans in image columns (clip_rep_spans; clip_meta then
    needs rep_bounds), the rep-density head's targets."""
    qa = qa.merge(clip_meta[CLIP_COLUMNS].rename(columns={"id": "clip_id"}),
                  on="clip_id", how="left", validate="many_to_one")
    missing = qa["source"].isna()
    if missing.any():
        raise StoreIntegrityError(f"QA row {qa.loc[missing, 'qa_id'].iloc[0]!r} names clip "
                                  f"{qa.loc[missing, 'clip_id'].iloc[0]!r} that has no keypoints in the release")
    prompts, inverse = np.unique(qa["prompt"].to_numpy().astype(str), return_inverse=True)
    ids, mask = encode(tokenizer, prompts.tolist(), max_tokens)
    indptr, indices, weights = target_rows(qa, vocab, release_vocab)
    if count_sigma > 0:
        indptr, indices, weights = smooth_count_targets(indptr, indices, weights, (qa["task"] == "count").to_numpy(),
                                                        vocab, count_sigma)
    clip_pos = cache.positions(qa["clip_id"].tolist())
    spans = None
    if rep_targets:
        per_clip = clip_rep_spans(clip_meta, cache, sorted(set(qa.loc[qa["task"] == "count", "clip_id"])), windows)
        spans = np.empty(len(qa), object)
        spans[:] = [per_clip.get(c) if t == "count" else None for c, t in zip(qa["clip_id"], qa["task"])]
    return QADataset(qa.reset_index(drop=True), ids[inverse], mask[inverse], indptr, indices, weights,
                     clip_pos, len(vocab), spans)


def clip_rep_spans(clip_meta: pd.DataFrame, cache, clip_ids, windows: Windows | None) -> dict[str, np.ndarray]:
    """Clip id -> its annotated reps' spans in its motion image's columns (lift.density), for the
    clips (or windows of clips, whose metadata rows carry the parent's rep_bounds) that have
    rep bounds whose count matches the clip's reps; the others get no density target."""
    from lift.density import rep_spans_in_columns
    meta = clip_meta.drop_duplicates("id").set_index("id")
    widths = cache.widths[cache.positions(list(clip_ids))] if len(clip_ids) else []
    out = {}
    for cid, width in zip(clip_ids, widths):
        bounds = meta.at[cid, "rep_bounds"] if "rep_bounds" in meta.columns else None
        if bounds is None or not len(bounds):
            continue
        window = (windows or {}).get(cid)
        start, end = (int(window[1]), int(window[2])) if window else (0, int(meta.at[cid, "n_frames"]))
        spans = rep_spans_in_columns(bounds, int(width), start, end)
        reps = meta.at[cid, "reps"]
        if reps == reps and reps is not None and len(spans) == int(reps):
            out[cid] = spans
    return out


def smooth_count_targets(indptr, indices, weights, is_count: np.ndarray, vocab: Vocabulary, sigma: float):
    """Count targets spread over neighbouring integers: the one-hot class of n becomes weights
    ∝ exp(-(k - n)² / 2σ²) over the integer classes k within 3σ, summing to 1.

    The paper's count is one of 30 classes under a cross-entropy that ignores their order:
    answering 4 for 5 costs as much as answering 30. Smoothed targets make near misses cheaper
    than far ones (an ordinal-aware loss within the paper's softmax cross-entropy); the count is
    still read as the most confident integer class."""
    ints, values = vocab.integer_indices(), vocab.integer_values().astype(float)
    value_of = dict(zip(ints.tolist(), values.tolist()))
    out_ptr, out_idx, out_w = [0], [], []
    for row in range(len(indptr) - 1):
        lo, hi = indptr[row], indptr[row + 1]
        if is_count[row] and hi - lo == 1 and int(indices[lo]) in value_of:
            n = value_of[int(indices[lo])]
            near = np.abs(values - n) <= 3 * sigma
            w = np.exp(-((values[near] - n) ** 2) / (2 * sigma ** 2))
            out_idx.append(ints[near])
            out_w.append((w / w.sum()).astype(np.float32))
        else:
            out_idx.append(indices[lo:hi])
            out_w.append(weights[lo:hi])
        out_ptr.append(out_ptr[-1] + len(out_idx[-1]))
    return (np.asarray(out_ptr, np.int64), np.concatenate([np.zeros(0, np.int64), *out_idx]).astype(np.int64),
            np.concatenate([np.zeros(0, np.float32), *out_w]).astype(np.float32))


@dataclass(frozen=True)
class Recut:
    """Which windows of each clip's annotated reps stand in for it (olympia.recut.rep_windows)."""

    min_reps: int = 2                # shortest window, in reps
    max_reps: int = 8                # longest window (capped by the clip's own reps)
    per_count: int | None = 1        # windows per length per clip; None = every window
    speeds: tuple = (1.0,)           # each window also played at these speeds (tempo augmentation; training)
    margin: float = 0.0              # each window also cut with up to this share of a rep's frames more
                                     # before and after it (context that is no rep of the window; training)
    mirror: bool = False             # each window also mirrored, left and right swapped (training)


def window_margins(rep_bounds, window, n_frames: int, margin: float, key: str) -> tuple[int, int]:
    """(first, end) frames of `window` (olympia.recut.RepWindow) widened by a margin before and
    after: up to `margin` × the length of its first (last) rep, a share drawn from a hash of
    `key` (the same every run), and never past the parent clip's frames [0, n_frames).

    Re-cut windows start and end on rep bounds, so a model can learn that a window starts at the
    start of a rep from where it is in the image instead of what the pose does (docs/lift.md,
    phase head). The margin frames belong to no rep of the window: a rep cut by the window's
    edge is not the window's (lift.density.rep_spans_in_columns), and the count stays."""
    rb = np.asarray([list(b) for b in rep_bounds], np.int64).reshape(-1, 2)
    digest = hashlib.sha256(key.encode()).digest()
    u_before, u_after = digest[0] / 255.0, digest[1] / 255.0
    first, last = rb[window.first], rb[window.first + window.reps - 1]
    before = int(round(u_before * margin * (first[1] - first[0])))
    after = int(round(u_after * margin * (last[1] - last[0])))
    return max(0, window.start - before), min(int(n_frames), window.end + after)


def recut_rows(qa: pd.DataFrame, clip_meta: pd.DataFrame, release_vocab: Vocabulary, recut: Recut
               ) -> tuple[pd.DataFrame, pd.DataFrame, Windows]:
    """The QA rows of clips with rep bounds replaced by those of their windows (see Recut):
    (QA rows, metadata rows of the windows, windows). A window asks its clip's questions; its
    count questions answer the window's reps. Clips without rep bounds, or with fewer reps than
    min_reps, keep their rows. Windows inherit the clip's split by construction: only the rows
    of the split being read are re-cut."""
    meta = clip_meta.set_index("id")
    windows: Windows = {}
    parts, meta_rows = [], []
    for cid, rows in qa.groupby("clip_id", sort=True):
        bounds = meta.at[cid, "rep_bounds"]
        found = (rep_windows(bounds, int(meta.at[cid, "n_frames"]),
                             min_reps=recut.min_reps, max_reps=recut.max_reps, per_count=recut.per_count, key=cid)
                 if bounds is not None and len(bounds) else [])
        if not found:
            parts.append(rows.assign(**{DRAW_GROUP: cid}))
            continue
        is_count = (rows["task"] == "count").to_numpy()
        cuts = [(w, "", w.start, w.end) for w in found]
        if recut.margin > 0:
            cuts += [(w, "+m", *window_margins(bounds, w, int(meta.at[cid, "n_frames"]), recut.margin,
                                                 window_clip_id(cid, w))) for w in found]
        flips = (False, True) if recut.mirror else (False,)
        for (w, tag, start, end), speed, flip in [(c, v, f) for c in cuts for v in recut.speeds for f in flips]:
            wid = window_clip_id(cid, w) + tag + ("" if speed == 1.0 else f"@{speed:g}x") + ("~mirror" if flip else "")
            windows[wid] = ((cid, start, end, float(speed), True) if flip else
                            (cid, start, end) if speed == 1.0 else (cid, start, end, float(speed)))
            keep = rows if str(w.reps) in release_vocab else rows[~is_count]   # beyond max_count: no count question
            k = keep["task"].to_numpy() == "count"
            j = release_vocab.index(str(w.reps)) if k.any() else -1
            parts.append(keep.assign(
                clip_id=wid, qa_id=[f"{wid}#{t}#{v}" for t, v in zip(keep["task"], keep["variant"])],
                **{DRAW_GROUP: f"{cid}#{w.reps}"},
                answer=np.where(k, str(w.reps), keep["answer"].to_numpy()),
                count_class=np.where(k, j, keep["count_class"].to_numpy()),
                target_indices=[[j] if c else t for c, t in zip(k, keep["target_indices"])],
                target_weights=[[1.0] if c else t for c, t in zip(k, keep["target_weights"])]))
            meta_rows.append({**meta.loc[cid].to_dict(), "id": wid, "reps": w.reps,
                              "n_frames": max(2, round((end - start) / speed))})
    out = pd.concat(parts, ignore_index=True) if parts else qa.iloc[:0]
    return out, pd.DataFrame(meta_rows, columns=["id", *meta.columns]), windows


REPLAY_OF = "replay_of"     # a replayed row's column: the qa_id of the row it asks again


def replay_rows(qa: pd.DataFrame, clip_meta: pd.DataFrame, windows: Windows, speeds
                ) -> tuple[pd.DataFrame, pd.DataFrame, Windows]:
    """Test-time tempo (`lift evaluate --replay-speeds`): every QA row asked again of its clip
    (or window) played at each of `speeds` (resampled in time, lift.images.window_frames), so
    the answers can be averaged over tempos. Returns (the rows and their replays, the replays'
    metadata rows, the replays' windows). Every row gets REPLAY_OF: its own qa_id, or for a
    replay the qa_id it asks again; a replay's clip id and qa_id carry "@<speed>x~replay"."""
    qa = qa.assign(**{REPLAY_OF: qa["qa_id"]})
    meta = clip_meta.drop_duplicates("id").set_index("id")
    parts, meta_rows, found = [qa], [], {}
    for speed in [float(v) for v in speeds if float(v) != 1.0]:
        if not speed > 0:
            raise ConfigError(f"replay speeds must be > 0, got {speed:g}")
        tag = f"@{speed:g}x~replay"
        for cid in sorted(set(qa["clip_id"])):
            parent, start, end, *rest = windows.get(cid, (cid, 0, int(meta.at[cid, "n_frames"])))
            played = (rest[0] if rest else 1.0) * speed
            found[cid + tag] = (parent, start, end, played, *rest[1:])
            meta_rows.append({**meta.loc[cid].to_dict(), "id": cid + tag,
                              "n_frames": max(2, round((end - start) / played))})
        parts.append(qa.assign(clip_id=qa["clip_id"] + tag, qa_id=qa["qa_id"] + tag))
    return pd.concat(parts, ignore_index=True), pd.DataFrame(meta_rows, columns=["id", *meta.columns]), found


def sample_questions(data: QADataset, per_clip: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices holding `per_clip` randomly drawn questions of each task for every clip.

    The release asks ~10 variants of each question per clip; they share one motion image, so
    an epoch over all of them is ~10 passes over the same clips. Drawing a few per epoch
    gives early stopping a finer grain on a small release at the same cost per sample."""
    if per_clip < 1:
        raise ConfigError(f"questions_per_clip must be >= 1, got {per_clip}")
    order = rng.permutation(len(data))
    key = pd.DataFrame({"clip": draw_groups(data)[order], "count": data.is_count[order]})
    keep = key.groupby(["clip", "count"], sort=False).cumcount().to_numpy() < per_clip
    return np.sort(order[keep])


def draw_groups(data: QADataset) -> np.ndarray:
    """What sample_questions draws per: the clip, or for windows cut from a clip (recut_rows)
    the clip and the window's length. A 5-rep set has four 2-rep windows but one 5-rep window;
    drawing per length makes every count equally likely in an epoch, and the windows vary
    from epoch to epoch (all windows of every length otherwise teach a prior for short sets)."""
    if DRAW_GROUP in data.qa:
        return data.qa[DRAW_GROUP].to_numpy()
    return data.clip_pos


@dataclass
class ReleaseSplits:
    """Everything the trainer needs from a release, for the requested splits."""

    release: Path
    release_vocab: Vocabulary        # meta/vocabulary.json: what the QA shards index
    vocab: Vocabulary                # the model's classes (release_vocab, a checkpoint's, or single-class)
    cache: MotionImageCache | StreamingImages
    splits: dict[str, QADataset]
    clip_meta: pd.DataFrame          # stored clips, and the windows cut from them (recut)
    windows: Windows = field(default_factory=dict)   # window id -> (clip id, first frame, end frame)


def load_release(release, tokenizer, vocab: Vocabulary | None, splits=("train", "validation", "test"),
                 target_mode: str = "multi_class", max_tokens: int = 40, workers: int = 2,
                 progress: bool = True, sources: list[str] | None = None, stream: bool = False,
                 recut: dict[str, Recut] | None = None, time_axis: str = "native",
                 count_sigma: dict[str, float] | None = None, rep_targets: bool = False,
                 replay: dict[str, tuple] | None = None) -> ReleaseSplits:
    """Read a published release: vocabulary, QA rows of `splits` ("all": every split), clip
    metadata, and the motion images of the clips those rows ask about. `vocab` None = the
    release's own (as `target_mode` says). stream: compute images from the shards as batches
    need them (bounded memory) instead of once up front. recut: per split, clips with rep
    bounds are replaced by windows of their reps (recut_rows). time_axis: see
    lift.images.clip_image_chw. count_sigma: per split, smoothed count targets. rep_targets: the
    count rows' rep spans (targets of the rep-density head, lift.density)."""
    release = Path(release)
    release_vocab = Vocabulary.of_release(release)
    vocab = vocab or model_vocabulary(release_vocab, target_mode)
    recut = recut or {}
    clip_meta = ClipStore(release).metadata(columns=CLIP_COLUMNS + (["rep_bounds"] if recut or rep_targets else []))
    qa_all = {s: load_qa(release, None if s == "all" else s) for s in splits}
    if sources:
        keep = set(clip_meta.loc[clip_meta["source"].isin(sources), "id"])
        qa_all = {s: q[q["clip_id"].isin(keep)].reset_index(drop=True) for s, q in qa_all.items()}
    windows: Windows = {}
    for s in [s for s in splits if s in recut]:
        qa_all[s], window_meta, found = recut_rows(qa_all[s], clip_meta, release_vocab, recut[s])
        clip_meta = pd.concat([clip_meta, window_meta], ignore_index=True).drop_duplicates("id")
        windows.update(found)
    for s in [s for s in splits if (replay or {}).get(s)]:
        qa_all[s], replay_meta, found = replay_rows(qa_all[s], clip_meta, windows, replay[s])
        clip_meta = pd.concat([clip_meta, replay_meta], ignore_index=True).drop_duplicates("id")
        windows.update(found)
    wanted = sorted(set().union(*(set(q["clip_id"]) for q in qa_all.values()))) if qa_all else []
    cache = (StreamingImages(release, clip_meta, wanted, windows=windows, time_axis=time_axis) if stream
             else MotionImageCache.build(release, wanted, workers=workers, progress=progress, windows=windows,
                                         time_axis=time_axis))
    datasets = {s: build_dataset(q, clip_meta, cache, tokenizer, vocab, release_vocab, max_tokens,
                                 count_sigma=(count_sigma or {}).get(s, 0.0), windows=windows,
                                 rep_targets=rep_targets)
                for s, q in qa_all.items()}
    return ReleaseSplits(release, release_vocab, vocab, cache, datasets, clip_meta, windows)


def model_vocabulary(release_vocab: Vocabulary, target_mode: str) -> Vocabulary:
    """The classes a new model predicts: the release's words + integers (multi_class), or one
    class per whole label + the integers (single_class, the Table 4 baseline)."""
    if target_mode == "multi_class":
        return release_vocab
    if target_mode == SINGLE_CLASS:
        return release_vocab.single_class()
    raise ConfigError(f"unknown target mode {target_mode!r}; use multi_class or single_class")
