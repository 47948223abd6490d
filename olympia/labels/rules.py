"""The label rules as data: annotations/labels/*.yaml and annotations/vocabulary.yaml.

Curators edit the YAML files; this module only reads them into one frozen `LabelRules`.
The directory can be overridden with OLYMPIA_LABEL_RULES (a folder holding the same files).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from olympia.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
ANNOTATIONS = REPO / "annotations"
RULES_DIR = ANNOTATIONS / "labels"
VOCABULARY_YAML = ANNOTATIONS / "vocabulary.yaml"
QUESTIONS_YAML = ANNOTATIONS / "questions.yaml"
SOURCE_CLASS_NAMES_YAML = RULES_DIR / "source_class_names.yaml"


@dataclass(frozen=True)
class Decoration:
    """A set/rep/time decoration of a video title ("x12", "3x10", "30s"), removed first."""
    name: str                                    # what it is, shown by --explain
    pattern: re.Pattern                          # matched on the lowercased ASCII text


@dataclass(frozen=True)
class LabelRules:
    decorations: tuple[Decoration, ...]         # removed before everything else (decorations.yaml)
    abbreviations: dict[str, tuple[str, ...]]   # token -> expansion words
    posture_letters: frozenset[str]             # single letters kept as words (w raise)
    posture_phrases: tuple[tuple[str, ...], ...]  # phrases in which l/r stay letters (l sit)
    numbers: dict[str, str]                      # "1" -> "single" before a limb word
    limb_words: frozenset[str]                   # words that trigger the numeric rewrite
    number_suffix_words: frozenset[str]          # "warmup 7" -> "warmup7"
    protected: frozenset[str]                    # never singularized (anatomical + invariant)
    irregular_plurals: dict[str, str]            # men -> man
    hyphen_particles: frozenset[str]             # push-up: right sides that glue
    phrases: dict[tuple[str, ...], tuple[str, ...]]  # push up -> pushup
    corrections: dict[str, tuple[str, ...]]      # explicit spelling rewrites
    known_words: frozenset[str]                  # never auto-corrected
    auto_correct: bool                           # automatic edit-distance-1 correction on/off
    auto_min_length: int                         # shorter words are never auto-corrected
    auto_min_log_prob: float                     # words at least this frequent are real words
    vocabulary_words: frozenset[str]             # every word listed in vocabulary.yaml
    body_parts: frozenset[str]                   # the body_part category (protected too)
    verb_suffixes: tuple[str, ...]               # gerund endings turned into the verb (verb_forms.yaml)
    verb_targets: frozenset[str]                 # vocabulary words a gerund may become
    verb_keep: frozenset[str]                    # -ing words that stay as written


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"label rule file {path} is missing; restore it from git or point "
                          "OLYMPIA_LABEL_RULES at a folder holding the rule files")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}); fix the file") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    _refuse_yaml_booleans(path, data)
    return data


def _refuse_yaml_booleans(path: Path, node) -> None:
    """A word list holding true/false is a word YAML 1.1 read as a boolean (on, off, yes, no):
    it would silently become the word "true"."""
    if isinstance(node, dict):
        for value in node.values():
            _refuse_yaml_booleans(path, value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, bool):
                raise ConfigError(f"{path}: a list holds {item!r}, which YAML read from on/off/yes/no; "
                                  "fix: quote the word (\"on\")")
            _refuse_yaml_booleans(path, item)


def _words(value: str) -> tuple[str, ...]:
    return tuple(str(value).lower().split())


def rules_dir() -> Path:
    return Path(os.environ.get("OLYMPIA_LABEL_RULES", RULES_DIR))


def _decorations(path: Path) -> tuple[Decoration, ...]:
    out = []
    for i, entry in enumerate(_read_yaml(path).get("patterns") or ()):
        name = str(entry.get("name") or f"pattern {i + 1}")
        try:
            pattern = re.compile(str(entry["pattern"]))
        except (KeyError, re.error) as exc:
            raise ConfigError(f"{path}: {name!r} needs a valid `pattern` ({exc}); fix the file") from exc
        for example in entry.get("examples") or ():
            if not pattern.search(str(example).lower()):
                raise ConfigError(f"{path}: pattern {name!r} does not match its example {example!r}; "
                                  "fix the pattern or the example")
        out.append(Decoration(name, pattern))
    return tuple(out)


def load_label_rules(directory: Path | None = None, vocabulary_yaml: Path | None = None) -> LabelRules:
    """Read every rule file once (the normalizer caches the result)."""
    d = Path(directory) if directory is not None else rules_dir()
    verbs = _read_yaml(d / "verb_forms.yaml")
    abbr = _read_yaml(d / "abbreviations.yaml").get("abbreviations") or {}
    posture = _read_yaml(d / "posture.yaml")
    numeric = _read_yaml(d / "numeric.yaml")
    protected = _read_yaml(d / "protected.yaml")
    compounds = _read_yaml(d / "compounds.yaml")
    corr = _read_yaml(d / "corrections.yaml")
    vocab = _read_yaml(Path(vocabulary_yaml) if vocabulary_yaml else VOCABULARY_YAML)

    vocab_words: set[str] = set()
    body_parts: set[str] = set()
    verb_targets: set[str] = set()
    verb_categories = {str(c) for c in verbs.get("into_categories") or ()}
    for name, cat in (vocab.get("categories") or {}).items():
        words = {str(w).lower() for w in (cat or {}).get("words") or ()}
        vocab_words |= words
        if name == "body_part":
            body_parts = words
        if name in verb_categories:
            verb_targets |= words
    auto = corr.get("auto") or {}
    return LabelRules(
        decorations=_decorations(d / "decorations.yaml"),
        abbreviations={str(k).lower(): _words(v) for k, v in abbr.items()},
        posture_letters=frozenset(str(x).lower() for x in posture.get("posture_letters") or ()),
        posture_phrases=tuple(_words(p) for p in posture.get("posture_phrases") or ()),
        numbers={str(k).lower(): str(v).lower() for k, v in (numeric.get("numbers") or {}).items()},
        limb_words=frozenset(str(x).lower() for x in numeric.get("limb_words") or ()),
        number_suffix_words=frozenset(str(x).lower() for x in numeric.get("number_suffix_words") or ()),
        protected=frozenset(str(x).lower() for key in ("anatomical", "invariant")
                            for x in protected.get(key) or ()) | body_parts,
        irregular_plurals={str(k).lower(): str(v).lower()
                           for k, v in (protected.get("irregular_plurals") or {}).items()},
        hyphen_particles=frozenset(str(x).lower() for x in compounds.get("hyphen_particles") or ()),
        phrases={_words(k): _words(v) for k, v in (compounds.get("phrases") or {}).items()},
        corrections={str(k).lower(): _words(v) for k, v in (corr.get("corrections") or {}).items()},
        known_words=frozenset(str(x).lower() for x in corr.get("known_words") or ()),
        auto_correct=bool(auto.get("enabled", True)),
        auto_min_length=int(auto.get("min_length", 4)),
        auto_min_log_prob=float(auto.get("min_log_prob", -16.0)),
        vocabulary_words=frozenset(vocab_words),
        body_parts=frozenset(body_parts),
        verb_suffixes=tuple(str(x).lower() for x in verbs.get("suffixes") or ()),
        verb_targets=frozenset(verb_targets),
        verb_keep=frozenset(str(x).lower() for x in verbs.get("keep") or ()),
    )
