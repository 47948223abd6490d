"""The label side of a release: vocabulary, QA shards, curator report, plots, card section.

`olympia.release.build_release` calls `write_label_artifacts(staging_dir, clips_meta)`.
Same input -> byte-identical files (sorted clips, per-clip deterministic QA, fixed Parquet
writer settings, PNGs without a Software/date stamp).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from olympia.errors import LabelError
from olympia.io import atomic_path, atomic_write_text
from olympia.labels.normalize import MAX_LABEL_CHARS
from olympia.labels.qa import DEFAULT_VARIANTS, load_question_templates, qa_rows_for_clip, write_qa_shards
from olympia.labels.report import build_labels_report, render_report_markdown
from olympia.labels.vocabulary import Vocabulary, load_word_categories
from olympia.layout import (LABELS_REPORT_JSON_PATH, LABELS_REPORT_MD_PATH, PLOTS_DIR, QA_ROWS_PER_SHARD,
                            VOCABULARY_PATH)

REQUIRED_COLUMNS = ("id", "split", "source", "label_raw", "label", "reps")
LABEL_LENGTH_PLOT = f"{PLOTS_DIR}/label_length.png"
WORDS_PER_CATEGORY_PLOT = f"{PLOTS_DIR}/words_per_category.png"


def write_label_artifacts(staging_dir: Path, clips_meta: pd.DataFrame, *,
                          base_vocabulary: Vocabulary | None = None,
                          n_variants: int = DEFAULT_VARIANTS, over_max: str = "skip",
                          uncategorized_weight: float | None = None,
                          rows_per_shard: int = QA_ROWS_PER_SHARD,
                          rejected_labels: list[dict] = ()) -> dict:
    """Write meta/vocabulary.json, data/qa/*.parquet, meta/labels_report.{json,md} and the two
    label plots under `staging_dir`. `base_vocabulary` (a previous release's) is extended
    instead of building a fresh one, so its class indices stay valid. `rejected_labels`
    ({clip_id, label_raw, reason}: clips quarantined at ingest for their label) go to the report.
    Returns (JSON-safe except card_markdown; the release builder merges it into info.json):
      n_qa                int, QA rows written
      qa_pairs            {split: {task: rows}}
      vocab_size          int, classes in meta/vocabulary.json (words + integers)
      words_per_category  {category: vocabulary classes}, integer included
      label_lengths       {"<words>": distinct normalized labels with that many words}
      rejected_labels     int, clips quarantined for their label (listed in the report)
      files               relative paths of the vocabulary, report and QA shards written
      plots               relative paths of the two label plots (for the dataset card)
      card_markdown       the card's labels section (links the plots)"""
    staging_dir = Path(staging_dir)
    missing = [c for c in REQUIRED_COLUMNS if c not in clips_meta.columns]
    if missing:
        raise LabelError(f"clips_meta lacks columns {missing}; fix: pass the store's metadata "
                         f"with columns {list(REQUIRED_COLUMNS)}")
    clips = clips_meta.sort_values("id", kind="stable").reset_index(drop=True)
    kept = _resolve_labels(clips)
    rejected = list(rejected_labels)
    categories = load_word_categories(uncategorized_weight=uncategorized_weight)
    labels = sorted({label for _, _, _, label, _ in kept})
    vocab = (base_vocabulary.extend(labels=labels, categories=categories) if base_vocabulary
             else Vocabulary.build(labels, categories))
    counting, tally = {"null_reps": 0, "zero_reps": [], "over_max": []}, Counter()
    qa_files = write_qa_shards(staging_dir, _qa_rows(kept, vocab, categories, n_variants, over_max, counting, tally),
                               rows_per_shard=rows_per_shard)      # streamed: no list of every row
    qa_counts: dict[str, dict[str, int]] = {}
    for (split, task), n in sorted(tally.items()):
        qa_counts.setdefault(split, {})[task] = n
    vocab.save(staging_dir / VOCABULARY_PATH)
    rules = {"max_count": vocab.max_count, "over_max": over_max, "n_variants": n_variants,
             "uncategorized_weight": vocab.categories.get("uncategorized", 0.0),
             "max_label_chars": MAX_LABEL_CHARS}
    report = build_labels_report(clip_labels=[(c, r, l) for c, _, r, l, _ in kept], vocab=vocab,
                                 qa_counts=qa_counts, rejected=rejected,
                                 counting=counting, rules=rules)
    atomic_write_text(staging_dir / LABELS_REPORT_JSON_PATH,
                      json.dumps(report, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    atomic_write_text(staging_dir / LABELS_REPORT_MD_PATH, render_report_markdown(report))
    label_lengths = [len(l.split()) for l in labels]
    per_category = report["vocabulary"]["per_category"]
    plots = write_label_plots(staging_dir, label_lengths, per_category)
    return {"n_qa": sum(tally.values()), "qa_pairs": qa_counts, "vocab_size": len(vocab),
            "words_per_category": dict(per_category),
            "label_lengths": {str(k): v for k, v in sorted(Counter(label_lengths).items())},
            "rejected_labels": len(rejected),
            "files": [VOCABULARY_PATH, LABELS_REPORT_JSON_PATH, LABELS_REPORT_MD_PATH]
            + [p.as_posix() for p in qa_files],
            "plots": plots, "card_markdown": card_markdown(report, sum(tally.values()))}


def _qa_rows(kept, vocab: Vocabulary, categories, n_variants: int, over_max: str, counting: dict,
             tally: Counter):
    """The QA rows of every kept clip, one clip at a time (a generator); fills the counting
    notes and the (split, task) -> rows tally as it goes."""
    templates = load_question_templates()
    for clip_id, split, _raw, label, reps in kept:
        for row in qa_rows_for_clip(clip_id, split, label, reps, vocab, templates,
                                    n_variants=n_variants, over_max=over_max, categories=categories):
            tally[(row["split"], row["task"])] += 1
            yield row
        _note_count(counting, clip_id, reps, vocab, over_max)


def _resolve_labels(clips: pd.DataFrame):
    """(clip_id, split, label_raw, label, reps) per clip. Labels were normalized at ingest and
    checked by the store, so the clip's label is the answer of its QA pairs as it is."""
    kept = []
    for rec in clips[list(REQUIRED_COLUMNS)].itertuples(index=False):
        reps = None if pd.isna(rec.reps) else int(rec.reps)
        kept.append((rec.id, rec.split, rec.label_raw, rec.label, reps))
    return kept


def _note_count(counting: dict, clip_id: str, reps, vocab: Vocabulary, over_max: str) -> None:
    if reps is None:
        counting["null_reps"] += 1
    elif reps == 0:
        counting["zero_reps"].append(clip_id)
    elif reps > vocab.max_count:
        counting["over_max"].append(clip_id)


def card_markdown(report: dict, n_qa: int) -> str:
    c, v, r = report["counts"], report["vocabulary"], report["rules"]
    per_cat = ", ".join(f"{k} {n}" for k, n in v["per_category"].items())
    unc = report["uncategorized_words"]
    return "\n".join([
        "## Labels and question-answer pairs", "",
        f"- {c['distinct_raw_labels']} distinct raw labels normalized to {c['distinct_labels']} "
        "labels (rules: docs/labels.md; data: annotations/labels/).",
        f"- Vocabulary: {v['size']} classes ({v['words']} words + integers 1-{r['max_count']}); "
        f"per category: {per_cat}. Stable indices in `meta/vocabulary.json`.",
        f"- {n_qa} QA pairs in `data/qa/` ({r['n_variants']} variants per task; rep counts above "
        f"{r['max_count']}: {r['over_max']}; reps 0 or unknown: identification only).",
        f"- {len(unc)} uncategorized words, {len(report['corrections'])} spelling corrections, "
        f"{c['rejected_labels']} rejected labels: see `meta/labels_report.md`.", "",
        f"![Words per label]({LABEL_LENGTH_PLOT})", "",
        f"![Vocabulary words per category]({WORDS_PER_CATEGORY_PLOT})", ""])


def write_label_plots(root: Path, label_lengths: list[int], per_category: dict[str, int]) -> list[str]:
    """Fig. 6a analogue: words per label, and vocabulary words per category. Returns the
    relative paths written (PNG bytes are deterministic: Agg, no Software/date metadata)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure   # no pyplot: no global backend or figure state

    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    counts = Counter(label_lengths)
    xs = list(range(1, max(counts, default=1) + 1))
    ax.bar(xs, [counts.get(x, 0) for x in xs], color="#4c72b0")
    ax.set_xlabel("words per normalized label")
    ax.set_ylabel("distinct labels")
    ax.set_title("Label length")
    ax.set_xticks(xs)
    fig.tight_layout()
    _save_png(fig, root / LABEL_LENGTH_PLOT)

    cats = [k for k in per_category if k != "integer"]
    fig = Figure(figsize=(7, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(cats, [per_category[k] for k in cats], color="#55a868")
    ax.invert_yaxis()
    ax.set_xlabel("vocabulary words")
    ax.set_title("Words per category")
    fig.tight_layout()
    _save_png(fig, root / WORDS_PER_CATEGORY_PLOT)
    return [LABEL_LENGTH_PLOT, WORDS_PER_CATEGORY_PLOT]


def _save_png(fig, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
