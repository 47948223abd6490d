"""Weighted word vocabulary with stable class indices, and the training targets (method.md §3).

Classes are the distinct words of the normalized labels plus the integers 1..max_count (the
rep-count classes). Each word has a category and the category's weight (vocabulary.yaml).
Indices are stable: `Vocabulary.extend` appends, never reorders, so a model trained on one
release can be evaluated on another (zero-/few-shot sources extend the vocabulary of the
release the model was trained on).

The same class is the trainer's output space (model/lift): `word_indices` / `integer_indices`
split the logits, `including(other)` appends another release's unseen classes, and
`single_class()` is the Table 4 baseline's space (one class per whole label, then the
integers), a Vocabulary with mode "single_class".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import yaml

from olympia.errors import ConfigError, LabelError, StoreIntegrityError
from olympia.io import atomic_write_text
from olympia.labels.rules import VOCABULARY_YAML
from olympia.layout import VOCABULARY_PATH

FORMAT_VERSION = 1
MAX_COUNT = 30                      # integers 1..30 are classes (method.md §3)
UNCATEGORIZED = "uncategorized"
INTEGER = "integer"
OVER_MAX_RULES = ("skip", "clamp")  # what a rep count above max_count becomes (docs/labels.md)
MULTI_CLASS, SINGLE_CLASS = "multi_class", "single_class"   # Vocabulary.mode
LABEL = "label"                     # category of a whole-label class (single-class mode)


@dataclass(frozen=True)
class WordCategories:
    """Which category each word belongs to, and each category's weight (vocabulary.yaml)."""
    weights: dict[str, float]        # category -> weight, includes uncategorized and integer
    word_category: dict[str, str]    # word -> category (first listing in the file wins)
    max_count: int = MAX_COUNT

    def category(self, word: str) -> str:
        if word.isdigit() and 1 <= int(word) <= self.max_count and word == str(int(word)):
            return INTEGER
        return self.word_category.get(word, UNCATEGORIZED)


def load_word_categories(path: Path | None = None, *,
                         uncategorized_weight: float | None = None) -> WordCategories:
    """Read vocabulary.yaml. `uncategorized_weight` overrides the file (the paper gives 0.0 in
    Table 2 and 0.1 in its supplement; the project default is the file's 0.0)."""
    path = Path(path) if path is not None else VOCABULARY_YAML
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read vocabulary file {path}: {exc}; restore it from git") from exc
    weights: dict[str, float] = {}
    word_category: dict[str, str] = {}
    max_count = MAX_COUNT
    for name, cat in (data.get("categories") or {}).items():
        if "weight" not in (cat or {}):
            raise ConfigError(f"{path}: category {name!r} has no weight; add `weight: <0..1>`")
        weights[name] = float(cat["weight"])
        if name == INTEGER and cat.get("range"):
            max_count = int(cat["range"][1])
        for word in cat.get("words") or ():
            word_category.setdefault(str(word).lower(), name)
    weights.setdefault(UNCATEGORIZED, 0.0)
    weights.setdefault(INTEGER, 1.0)
    if uncategorized_weight is not None:
        weights[UNCATEGORIZED] = float(uncategorized_weight)
    return WordCategories(weights=weights, word_category=word_category, max_count=max_count)


@dataclass(frozen=True)
class VocabClass:
    index: int
    token: str
    category: str
    weight: float


@dataclass(frozen=True)
class Vocabulary:
    """Prediction classes (words + integers) and the whole-label classes of the baseline."""
    classes: tuple[VocabClass, ...]
    categories: dict[str, float]             # category -> weight
    max_count: int = MAX_COUNT
    single_class_labels: tuple[str, ...] = ()
    mode: str = MULTI_CLASS                  # single_class: classes are whole labels + integers
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _label_index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        index = {c.token: c.index for c in self.classes}
        if len(index) != len(self.classes) or [c.index for c in self.classes] != list(range(len(self.classes))):
            raise LabelError("vocabulary classes must have unique tokens and indices 0..n-1; "
                             "fix: rebuild meta/vocabulary.json with Vocabulary.save")
        if self.mode not in (MULTI_CLASS, SINGLE_CLASS):
            raise LabelError(f"vocabulary mode {self.mode!r}; use {MULTI_CLASS} or {SINGLE_CLASS}")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_label_index", {l: i for i, l in enumerate(self.single_class_labels)})

    # ----------------------------------------------------------------- construction
    @classmethod
    def build(cls, labels: Iterable[str], categories: WordCategories | None = None) -> "Vocabulary":
        """Fresh vocabulary: label words sorted alphabetically, then the integers 1..max_count;
        whole labels sorted for the single-class baseline."""
        categories = categories or load_word_categories()
        labels = sorted(set(labels))
        words = sorted({w for label in labels for w in label_words(label)}
                       - {str(n) for n in range(1, categories.max_count + 1)})
        tokens = words + [str(n) for n in range(1, categories.max_count + 1)]
        classes = tuple(_make_class(i, t, categories) for i, t in enumerate(tokens))
        return cls(classes=classes, categories=dict(categories.weights),
                   max_count=categories.max_count, single_class_labels=tuple(labels))

    def extend(self, words: Iterable[str] = (), labels: Iterable[str] = (),
               categories: WordCategories | None = None) -> "Vocabulary":
        """A new vocabulary with unseen words (and the words of unseen labels) appended after the
        existing classes, and unseen labels appended to `single_class_labels`. Existing indices
        never change. Weights of new words come from `categories` (default vocabulary.yaml)."""
        categories = categories or load_word_categories(
            uncategorized_weight=self.categories.get(UNCATEGORIZED))
        new_labels = [l for l in dict.fromkeys(labels) if l not in self._label_index]
        candidates = list(dict.fromkeys(list(words) + [w for l in new_labels for w in label_words(l)]))
        new_words = sorted(w for w in candidates if w not in self._index)
        classes = self.classes + tuple(_make_class(len(self.classes) + i, w, categories)
                                       for i, w in enumerate(new_words))
        return Vocabulary(classes=classes, categories=dict(self.categories), max_count=self.max_count,
                          single_class_labels=self.single_class_labels + tuple(sorted(new_labels)),
                          mode=self.mode)

    def including(self, other: "Vocabulary") -> "Vocabulary":
        """This vocabulary with the classes of `other` it lacks appended, in `other`'s order and
        with `other`'s category and weight, and `other`'s unseen single-class labels: a model
        trained on this vocabulary keeps its indices and gains rows for another release's words
        (zero-/few-shot, method.md §9). Returns self when nothing is new."""
        new = [c for c in other.classes if c.token not in self._index]
        labels = tuple(l for l in other.single_class_labels if l not in self._label_index)
        if not new and not labels:
            return self
        classes = self.classes + tuple(VocabClass(len(self.classes) + i, c.token, c.category, c.weight)
                                       for i, c in enumerate(new))
        categories = dict(self.categories)
        for name, weight in other.categories.items():
            categories.setdefault(name, weight)
        return Vocabulary(classes=classes, categories=categories,
                          max_count=self.max_count, single_class_labels=self.single_class_labels + labels,
                          mode=self.mode)

    def single_class(self) -> "Vocabulary":
        """The single-class baseline's classes (paper Table 4): one class per whole label, in
        `single_class_labels` order, then the integers 1..max_count; each of weight 1."""
        if self.mode == SINGLE_CLASS:
            return self
        tokens = list(self.single_class_labels) + [str(n) for n in range(1, self.max_count + 1)]
        classes = tuple(VocabClass(i, t, LABEL if i < len(self.single_class_labels) else INTEGER, 1.0)
                        for i, t in enumerate(tokens))
        return Vocabulary(classes=classes, categories={LABEL: 1.0, INTEGER: 1.0}, max_count=self.max_count,
                          single_class_labels=self.single_class_labels, mode=SINGLE_CLASS)

    # ----------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    @property
    def tokens(self) -> list[str]:
        return [c.token for c in self.classes]

    def weights(self) -> np.ndarray:
        return np.array([c.weight for c in self.classes], dtype=np.float32)

    def index(self, token: str) -> int:
        return _lookup(self._index, token, f"word {token!r} is not in the vocabulary ({len(self)} classes); "
                       "fix: extend it with Vocabulary.extend(words=[...]) for a new source")

    def integer_indices(self) -> np.ndarray:
        """Class index of the integers 1..max_count, in order (counting reads these logits)."""
        return np.array([self._index[str(n)] for n in range(1, self.max_count + 1)], dtype=np.int64)

    def integer_values(self) -> np.ndarray:
        """The counts the classes of `integer_indices` stand for: 1..max_count."""
        return np.arange(1, self.max_count + 1, dtype=np.int64)

    def word_indices(self) -> np.ndarray:
        """Class index of every class that is not an integer: the words (the whole labels in
        single-class mode), which identification reads."""
        return np.array([c.index for c in self.classes if c.category != INTEGER], dtype=np.int64)

    def label_index(self, label: str) -> int:
        return _lookup(self._label_index, label, f"label {label!r} is not among the "
                       f"{len(self.single_class_labels)} single-class labels; fix: Vocabulary.extend(labels=[...])")

    # ----------------------------------------------------------------- I/O
    def to_json(self) -> dict:
        """meta/vocabulary.json's content; a single-class vocabulary (written only into a LiFT
        checkpoint) adds "mode": "single_class"."""
        data = {
            "format_version": FORMAT_VERSION,
            "uncategorized_weight": self.categories.get(UNCATEGORIZED, 0.0),
            "categories": dict(self.categories),
            "classes": [{"index": c.index, "token": c.token, "category": c.category,
                         "weight": c.weight} for c in self.classes],
            "max_count": self.max_count,
            "single_class_labels": list(self.single_class_labels),
        }
        return data if self.mode == MULTI_CLASS else {**data, "mode": self.mode}

    @classmethod
    def from_json(cls, data: dict, where: str = "vocabulary") -> "Vocabulary":
        if data.get("format_version") != FORMAT_VERSION:
            raise LabelError(f"{where}: format_version {data.get('format_version')!r}, expected "
                             f"{FORMAT_VERSION}; fix: rebuild the release with this olympia version")
        try:
            classes = tuple(VocabClass(int(c["index"]), str(c["token"]), str(c["category"]),
                                       float(c["weight"])) for c in data["classes"])
            return cls(classes=classes, categories={k: float(v) for k, v in data["categories"].items()},
                       max_count=int(data["max_count"]),
                       single_class_labels=tuple(data.get("single_class_labels", ())),
                       mode=str(data.get("mode", MULTI_CLASS)))
        except (KeyError, TypeError, ValueError) as exc:
            raise LabelError(f"{where}: malformed vocabulary ({exc!r}); fix: rebuild it") from exc

    def save(self, path: Path) -> None:
        """Write meta/vocabulary.json atomically, byte-identical for the same vocabulary."""
        atomic_write_text(path, json.dumps(self.to_json(), indent=1, ensure_ascii=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise LabelError(f"cannot read vocabulary {path}: {exc}; fix: point at a release's "
                             "meta/vocabulary.json") from exc
        return cls.from_json(data, where=str(path))

    @classmethod
    def of_release(cls, root) -> "Vocabulary":
        """The vocabulary of a published release (its meta/vocabulary.json)."""
        path = Path(root) / VOCABULARY_PATH
        if not path.is_file():
            raise StoreIntegrityError(f"{path} is missing: {root} is not a published release with "
                                      "labels (build it with `olympia build`)")
        return cls.load(path)


def _lookup(index: dict[str, int], key: str, message: str) -> int:
    try:
        return index[key]
    except KeyError:
        raise LabelError(message) from None


def _make_class(index: int, token: str, categories: WordCategories) -> VocabClass:
    cat = categories.category(token)
    return VocabClass(index, token, cat, float(categories.weights.get(cat, 0.0)))


# --------------------------------------------------------------------------- targets

def label_words(label: str) -> tuple[str, ...]:
    """Distinct words of a normalized label, in order ("single leg single" -> single, leg)."""
    return tuple(dict.fromkeys(label.split()))


def sparse_target(vocab: Vocabulary, label: str) -> tuple[list[int], list[float]]:
    """Non-zeros of the weighted multi-hot target: (class indices ascending, weights).
    Words of weight 0 (uncategorized by default) are left out."""
    pairs = sorted((vocab.index(w), vocab.classes[vocab.index(w)].weight) for w in label_words(label))
    pairs = [(i, w) for i, w in pairs if w > 0]
    return [i for i, _ in pairs], [w for _, w in pairs]


def multi_hot_target(vocab: Vocabulary, label: str) -> np.ndarray:
    """y_j = weight(w_j) if word j is in the label else 0 (method.md §3), float32 (len(vocab),)."""
    y = np.zeros(len(vocab), dtype=np.float32)
    idx, w = sparse_target(vocab, label)
    y[idx] = w
    return y


def count_target(vocab: Vocabulary, reps, over_max: str = "skip") -> int | None:
    """Class index of the rep count, or None when the clip gets no counting target:
    reps unknown (null/NaN), reps < 1 (no class 0), or reps > max_count with over_max="skip".
    over_max="clamp" maps every count above max_count to the class max_count."""
    if over_max not in OVER_MAX_RULES:
        raise ConfigError(f"over_max={over_max!r}; use one of {OVER_MAX_RULES}")
    if reps is None or (np.ndim(reps) == 0 and pd.isna(reps)):
        return None
    try:
        n = int(reps)
    except (TypeError, ValueError):
        return None
    if n < 1:
        return None
    if n > vocab.max_count:
        if over_max == "skip":
            return None
        n = vocab.max_count
    return vocab.index(str(n))


def count_from_class(vocab: Vocabulary, index: int) -> int:
    """The rep count a predicted integer class stands for."""
    token = vocab.classes[index].token
    if vocab.classes[index].category != INTEGER:
        raise LabelError(f"class {index} ({token!r}) is not an integer class")
    return int(token)


def single_class_target(vocab: Vocabulary, label: str) -> int:
    """Whole label as one class (the paper's single-class baseline ablation)."""
    return vocab.label_index(label)
