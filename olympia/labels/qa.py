"""Question-answer pairs for the two tasks (method.md §4) and their Parquet shards.

Per clip: one identification question per variant and, when the clip has a countable rep
count, one counting question per variant; 10 variants per task -> 20 pairs per clip, the
paper's 152,360 pairs for 7,618 clips. Variant i is template i of annotations/questions.yaml.
With fewer variants than templates, the subset is drawn with a seed from the clip id, so the
pairs of a clip never depend on the other clips or on the run.
"""
from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from olympia.errors import ConfigError, StoreIntegrityError
from olympia.io import atomic_write_parquet
from olympia.labels.rules import QUESTIONS_YAML
from olympia.layout import QA_DIR, QA_ROWS_PER_SHARD, qa_shard_path, shard_files
from olympia.labels.vocabulary import (INTEGER, Vocabulary, WordCategories, count_target,
                                       load_word_categories, single_class_target, sparse_target)

TASKS = ("identify", "count")
DEFAULT_VARIANTS = 10
QA_ARROW_SCHEMA = pa.schema([
    pa.field("qa_id", pa.string(), nullable=False),        # <clip_id>#<task>#<variant>
    pa.field("clip_id", pa.string(), nullable=False),
    pa.field("split", pa.string(), nullable=False),
    pa.field("task", pa.string(), nullable=False),          # identify | count
    pa.field("variant", pa.int32(), nullable=False),        # template index in questions.yaml
    pa.field("question", pa.string(), nullable=False),
    pa.field("prompt", pa.string(), nullable=False),        # "Q: <question> A:"
    pa.field("answer", pa.string(), nullable=False),        # the label, or the count as digits
    pa.field("target_indices", pa.list_(pa.int32()), nullable=False),
    pa.field("target_weights", pa.list_(pa.float32()), nullable=False),
    pa.field("count_class", pa.int32(), nullable=True),     # vocabulary index of the count; null for identify
    pa.field("label_class", pa.int32(), nullable=False),    # index into single_class_labels
], metadata={b"olympia_qa_format_version": b"1"})
# Fixed writer settings: same rows -> same bytes (no timestamps in Parquet footers).
PARQUET_WRITE_OPTIONS = dict(compression="zstd", compression_level=3, use_dictionary=True,
                             write_statistics=True, version="2.6", data_page_version="1.0")


@dataclass(frozen=True)
class QuestionTemplates:
    identify: tuple[str, ...]
    count: tuple[str, ...]   # each holds "{exercise}", filled with the pluralized label


def load_question_templates(path: Path | None = None) -> QuestionTemplates:
    path = Path(path) if path is not None else QUESTIONS_YAML
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read question templates {path}: {exc}") from exc
    ident, count = tuple(data.get("identify") or ()), tuple(data.get("count") or ())
    if not ident or not count:
        raise ConfigError(f"{path}: needs non-empty `identify` and `count` lists")
    bad = [t for t in count if "{exercise}" not in t]
    if bad:
        raise ConfigError(f"{path}: count template {bad[0]!r} lacks {{exercise}}; add it")
    return QuestionTemplates(identify=ident, count=count)


def prompt(question: str) -> str:
    return f"Q: {question} A:"


@functools.lru_cache(maxsize=65536)
def _plural_word(word: str) -> str:
    return _inflect().plural_noun(word) or word


@functools.lru_cache(maxsize=1)
def _inflect():
    import inflect
    return inflect.engine()


_NO_PLURAL = ("spatial_adjective", "conjunction", INTEGER, "temporal_adverb", "body_part")


def pluralize_label(label: str, categories: WordCategories | None = None) -> str:
    """"single arm row" -> "single arm rows": the last word that names the movement (not a
    side, a conjunction, a number, a tempo or a body part) is pluralized; when there is none
    ("left right") the label is returned unchanged. Body parts already carry their number."""
    categories = categories or _default_categories()
    words = label.split()
    for i in range(len(words) - 1, -1, -1):
        w = words[i]
        if len(w) > 1 and not w.isdigit() and categories.category(w) not in _NO_PLURAL and w not in "+&":
            words[i] = _plural_word(w)
            return " ".join(words)
    return label


@functools.lru_cache(maxsize=1)
def _default_categories() -> WordCategories:
    return load_word_categories()


def variants_for(clip_id: str, task: str, n_templates: int, n_variants: int) -> list[int]:
    """Template indices a clip uses for a task: all of them when n_variants >= n_templates,
    else a subset drawn with a seed from sha256(clip_id, task) (stable across runs)."""
    if n_variants >= n_templates:
        return list(range(n_templates))
    seed = int.from_bytes(hashlib.sha256(f"{clip_id}#{task}".encode()).digest()[:8], "big")
    return sorted(random.Random(seed).sample(range(n_templates), n_variants))


def qa_rows_for_clip(clip_id: str, split: str, label: str, reps, vocab: Vocabulary,
                     templates: QuestionTemplates, *, n_variants: int = DEFAULT_VARIANTS,
                     over_max: str = "skip", categories: WordCategories | None = None) -> list[dict]:
    """QA rows of one clip (identify first, then count), in the QA_ARROW_SCHEMA columns."""
    idx, weights = sparse_target(vocab, label)
    label_class = single_class_target(vocab, label)
    rows = []
    for v in variants_for(clip_id, "identify", len(templates.identify), n_variants):
        q = templates.identify[v]
        rows.append(_row(clip_id, split, "identify", v, q, label, idx, weights, None, label_class))
    count_class = count_target(vocab, reps, over_max=over_max)
    if count_class is not None:
        answer = vocab.classes[count_class].token
        plural = pluralize_label(label, categories)
        for v in variants_for(clip_id, "count", len(templates.count), n_variants):
            q = templates.count[v].format(exercise=plural)
            rows.append(_row(clip_id, split, "count", v, q, answer, [count_class], [1.0],
                             count_class, label_class))
    return rows


def _row(clip_id, split, task, variant, question, answer, idx, weights, count_class, label_class):
    return {"qa_id": f"{clip_id}#{task}#{variant}", "clip_id": clip_id, "split": split,
            "task": task, "variant": variant, "question": question, "prompt": prompt(question),
            "answer": answer, "target_indices": list(idx), "target_weights": list(weights),
            "count_class": count_class, "label_class": label_class}


def write_qa_shards(root: Path, rows: Iterable[dict], *,
                    rows_per_shard: int = QA_ROWS_PER_SHARD, chunk_rows: int = 10_000) -> list[Path]:
    """Write rows (already in their final order) as data/qa/{split}-i-of-n.parquet under root,
    one shard set per split, splits in sorted order. Returns the relative paths written.

    Streams: rows become Arrow chunks of `chunk_rows` as they come, a split's shard is written
    once it holds `rows_per_shard` rows (as one table: the same bytes as writing all at once),
    and the shards are renamed to their -of-n names when the split's count is known. Memory
    holds at most one shard per split, whatever the number of clips."""
    pending: dict[str, list[dict]] = {}
    chunks: dict[str, list[pa.Table]] = {}
    done: dict[str, list[Path]] = {}

    def flush(split: str, final: bool) -> None:
        if pending.get(split):
            chunks.setdefault(split, []).append(pa.Table.from_pylist(pending.pop(split), schema=QA_ARROW_SCHEMA))
        held = sum(len(t) for t in chunks.get(split, []))
        if held and (final or held >= rows_per_shard):
            table = pa.concat_tables(chunks.pop(split)).combine_chunks()
            for start in range(0, len(table), rows_per_shard):
                if len(table) - start < rows_per_shard and not final:
                    chunks[split] = [table.slice(start)]
                    break
                part = root / QA_DIR / f".{split}-{len(done.get(split, [])):05d}.pending.parquet"
                atomic_write_parquet(table.slice(start, rows_per_shard), part, **PARQUET_WRITE_OPTIONS)
                done.setdefault(split, []).append(part)

    for row in rows:
        split = row["split"]
        pending.setdefault(split, []).append(row)
        if len(pending[split]) >= chunk_rows:
            flush(split, final=False)
    written = []
    for split in sorted(set(pending) | set(chunks) | set(done)):
        flush(split, final=True)
        parts = done.get(split, [])
        for i, part in enumerate(parts):
            rel = Path(qa_shard_path(split, i, len(parts)))
            part.rename(root / rel)
            written.append(rel)
    return written


def read_qa(root: Path, split: str | None = None, columns: Sequence[str] | None = None) -> pa.Table:
    """QA rows of a release (one split, or all), shards concatenated in name order, with
    `columns` (default: every column of QA_ARROW_SCHEMA) typed as that schema declares.
    No shard, or a shard without one of the columns: StoreIntegrityError naming the folder
    or the shard."""
    folder = Path(root) / QA_DIR
    files = shard_files(root, QA_DIR, split)
    if not files:
        raise StoreIntegrityError(f"{folder} has no {split + ' ' if split else ''}QA shards: {root} is not "
                                  "a published release with questions (build it with `olympia build`)")
    columns = list(columns or QA_ARROW_SCHEMA.names)
    unknown = [c for c in columns if c not in QA_ARROW_SCHEMA.names]
    if unknown:
        raise ConfigError(f"read_qa: {unknown} are not QA columns; choose from {QA_ARROW_SCHEMA.names}")
    schema = pa.schema([QA_ARROW_SCHEMA.field(c) for c in columns], metadata=QA_ARROW_SCHEMA.metadata)
    tables = []
    for path in files:
        missing = [c for c in columns if c not in pq.read_schema(path).names]
        if missing:
            raise StoreIntegrityError(f"{path}: QA shard lacks columns {missing}; rebuild the release "
                                      "with the current labels code")
        tables.append(pq.read_table(path, columns=columns).cast(schema))
    return pa.concat_tables(tables)
