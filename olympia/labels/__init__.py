"""Labels: normalizer, weighted vocabulary, targets and question-answer pairs (method.md §2-4).

What other areas import (names are the contract, see docs/labels.md):
  normalize_label(raw) -> str                  the store, adapters
  Vocabulary.load(path) / .extend(words=, labels=) / .index(token) / .integer_indices()
  multi_hot_target, sparse_target, count_target, count_from_class, single_class_target
  write_label_artifacts (olympia.labels.release) the release builder
"""
from olympia.labels.normalize import (MAX_LABEL_CHARS, Correction, LabelTrace, clear_caches,
                                      explain_label, normalize_label, singularize)
from olympia.labels.qa import (QA_ARROW_SCHEMA, QuestionTemplates, load_question_templates,
                               pluralize_label, prompt, qa_rows_for_clip, read_qa)
from olympia.labels.vocabulary import (MAX_COUNT, VocabClass, Vocabulary, WordCategories,
                                       count_from_class, count_target, label_words,
                                       load_word_categories, multi_hot_target,
                                       single_class_target, sparse_target)

__all__ = [
    "MAX_LABEL_CHARS", "Correction", "LabelTrace", "clear_caches", "explain_label",
    "normalize_label", "singularize",
    "QA_ARROW_SCHEMA", "QuestionTemplates", "load_question_templates", "pluralize_label",
    "prompt", "qa_rows_for_clip", "read_qa",
    "MAX_COUNT", "VocabClass", "Vocabulary", "WordCategories", "count_from_class", "count_target",
    "label_words", "load_word_categories", "multi_hot_target", "single_class_target",
    "sparse_target",
]
