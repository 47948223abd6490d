"""The label rules as data: annotations/labels/*.yaml and annotations/vocabulary.yaml.

Curators edit the YAML files; this module only reads them into one frozen `LabelRules`.
The directory can be overridden with OLYMPIA_LABEL_RULES (a folder holding the same files).
"""
from __future__ import annotations

import os
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
class LabelRules:
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
    return data


def _words(value: str) -> tuple[str, ...]:
    return tuple(str(value).lower().split())


def rules_dir() -> Path:
    return Path(os.environ.get("OLYMPIA_LABEL_RULES", RULES_DIR))


def load_label_rules(directory: Path | None = None, vocabulary_yaml: Path | None = None) -> LabelRules:
    """Read every rule file once (the normalizer caches the result)."""
    d = Path(directory) if directory is not None else rules_dir()
    abbr = _read_yaml(d / "abbreviations.yaml").get("abbreviations") or {}
    posture = _read_yaml(d / "posture.yaml")
    numeric = _read_yaml(d / "numeric.yaml")
    protected = _read_yaml(d / "protected.yaml")
    compounds = _read_yaml(d / "compounds.yaml")
    corr = _read_yaml(d / "corrections.yaml")
    vocab = _read_yaml(Path(vocabulary_yaml) if vocabulary_yaml else VOCABULARY_YAML)

    vocab_words: set[str] = set()
    body_parts: set[str] = set()
    for name, cat in (vocab.get("categories") or {}).items():
        words = {str(w).lower() for w in (cat or {}).get("words") or ()}
        vocab_words |= words
        if name == "body_part":
            body_parts = words
    auto = corr.get("auto") or {}
    return LabelRules(
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
    )
