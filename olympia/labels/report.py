"""Curator report: what normalization did, what the vocabulary holds, what needs a curator.

Written into every release as meta/labels_report.json and .md, and printed by
`olympia labels report`. Also normalizes the class names of the public sources (MM-Fit,
RepCount, UI-PRMD, Countix, InfiniteRep), from annotations/labels/source_class_names.yaml or,
with a realdata folder, from the real files themselves.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import yaml

from olympia.errors import LabelError
from olympia.io import read_json
from olympia.labels.normalize import explain_label
from olympia.labels.rules import SOURCE_CLASS_NAMES_YAML
from olympia.labels.vocabulary import INTEGER, UNCATEGORIZED, Vocabulary, WordCategories, load_word_categories

MAX_EXAMPLES = 50


# --------------------------------------------------------------------------- source class names

def source_class_names(path: Path | None = None) -> dict[str, list[str]]:
    """Class names per source as listed in annotations/labels/source_class_names.yaml."""
    data = yaml.safe_load(Path(path or SOURCE_CLASS_NAMES_YAML).read_text(encoding="utf-8")) or {}
    out = {}
    for source, names in data.items():
        if isinstance(names, dict):  # uiprmd: {m01: deep squat, ...}
            out[source] = [str(names[k]) for k in sorted(names)]
        else:
            out[source] = [str(n) for n in names]
    return out


def uiprmd_movement_names(path: Path | None = None) -> dict[str, str]:
    data = yaml.safe_load(Path(path or SOURCE_CLASS_NAMES_YAML).read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (data.get("uiprmd") or {}).items()}


def realdata_class_names(realdata: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Class names read from the real release files under `realdata` (../shared/realdata).
    Returns (names per source, notes about what could not be read)."""
    realdata = Path(realdata)
    names: dict[str, list[str]] = {}
    notes: list[str] = []
    mmfit = set()
    for f in sorted(realdata.glob("mmfit/w*/w*_labels.csv")):
        with f.open(newline="") as fh:
            mmfit.update(row[3].strip() for row in csv.reader(fh) if len(row) >= 4)
    names["mmfit"] = sorted(mmfit)
    repcount = set()
    for f in sorted(realdata.glob("repcount/annotation_*.csv")):
        with f.open(newline="") as fh:
            repcount.update(r["type"].strip() for r in csv.DictReader(fh) if r.get("type"))
    classes_txt = realdata / "repcount" / "classes.txt"
    if classes_txt.is_file():
        repcount.update(l.strip() for l in classes_txt.read_text().splitlines() if l.strip())
    names["repcount"] = sorted(repcount)
    movements = uiprmd_movement_names()
    present = sorted({f.name[:3] for f in realdata.glob("uiprmd/m??_s??_e??_*.txt")})
    names["uiprmd"] = [movements[m] for m in sorted(movements)]
    if present:
        notes.append(f"uiprmd: files present for {', '.join(present)}; names of m01..m10 from "
                     "source-formats.md / annotations/labels/source_class_names.yaml")
    countix = realdata / "countix" / "countix_test.csv"
    if countix.is_file():
        with countix.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if "class" in (reader.fieldnames or ()):
                names["countix"] = sorted({r["class"].strip() for r in reader if r.get("class")})
            else:
                names["countix"] = source_class_names().get("countix", [])
                notes.append(f"countix: {countix.name} has no `class` column (columns: "
                             f"{', '.join(reader.fieldnames or ())}); using the Kinetics class "
                             "names listed in source_class_names.yaml")
    infinite = set()
    for f in sorted(realdata.glob("infiniterep/*_params.json")):
        infinite.add(str(read_json(f, "InfiniteRep params")["params"]["exercise"]))
    if infinite:
        names["infiniterep"] = sorted(infinite)
    return names, notes


def normalize_names(names_by_source: dict[str, list[str]]) -> list[dict]:
    """One row per (source, raw name): the normalized label or the error."""
    rows = []
    for source in sorted(names_by_source):
        for raw in names_by_source[source]:
            try:
                tr = explain_label(raw)
                rows.append({"source": source, "raw": raw, "label": tr.label,
                             "corrections": [f"{c.word} -> {c.replacement} ({c.kind})" for c in tr.corrections]})
            except LabelError as exc:
                rows.append({"source": source, "raw": raw, "label": None, "error": str(exc)})
    return rows


# --------------------------------------------------------------------------- one label

def label_words_report(label: str, categories: WordCategories | None = None) -> dict:
    """What a normalized label means to the vocabulary (for `olympia labels normalize --explain`):
    each word's category and weight, the uncategorized words (weight 0: no identification
    signal), and warnings for numbers, which a curator should look at."""
    categories = categories or load_word_categories()
    words = [{"word": w, "category": categories.category(w),
              "weight": categories.weights.get(categories.category(w), 0.0)} for w in label.split()]
    warnings = []
    numbers = [w["word"] for w in words if w["word"].isdigit()]
    if numbers and len(numbers) == sum(w["word"] not in "+&" for w in words):
        warnings.append("the label is only numbers: no exercise name (a count or a title "
                        "decoration not in annotations/labels/decorations.yaml?)")
    else:
        for w in words:
            if w["category"] == INTEGER:
                warnings.append(f"{w['word']} is also the rep-count class {w['word']}: an exercise "
                                "name with a count in it teaches the model that count")
    return {"words": words, "uncategorized": [w["word"] for w in words if w["category"] == UNCATEGORIZED],
            "warnings": warnings}


# --------------------------------------------------------------------------- release report

def build_labels_report(*, clip_labels: list[tuple[str, str, str]], vocab: Vocabulary,
                        qa_counts: dict[str, dict[str, int]], rejected: list[dict],
                        counting: dict, rules: dict,
                        source_names: dict[str, list[str]] | None = None) -> dict:
    """clip_labels: (clip_id, label_raw, label) of every clip that got QA pairs."""
    raw_counts = Counter(raw for _, raw, _ in clip_labels)
    label_counts = Counter(label for _, _, label in clip_labels)
    word_clips: Counter = Counter()
    for label, n in label_counts.items():
        for w in dict.fromkeys(label.split()):
            word_clips[w] += n
    categories = {c.token: c.category for c in vocab.classes}
    per_category = Counter(c.category for c in vocab.classes)
    uncategorized = [{"word": w, "clips": word_clips[w],
                      "labels": sorted(l for l in label_counts if w in l.split())[:5]}
                     for w in sorted(word_clips, key=lambda w: (-word_clips[w], w))
                     if categories.get(w) == UNCATEGORIZED]
    corrections: Counter = Counter()
    expansions: Counter = Counter()
    decorations: Counter = Counter()
    non_ascii = []
    examples = []
    for raw in sorted(raw_counts, key=lambda r: (-raw_counts[r], r)):
        tr = explain_label(raw)
        for c in tr.corrections:
            corrections[(c.word, c.replacement, c.kind)] += raw_counts[raw]
        for short, long in tr.expansions:
            expansions[(short, long)] += raw_counts[raw]
        for deco in tr.decorations:
            decorations[deco] += raw_counts[raw]
        if tr.removed_characters:
            non_ascii.append({"raw": raw, "label": tr.label, "removed": tr.removed_characters,
                              "clips": raw_counts[raw]})
        if raw != tr.label and len(examples) < MAX_EXAMPLES:
            examples.append({"raw": raw, "label": tr.label, "clips": raw_counts[raw]})
    numbers = [{"number": w, "clips": word_clips[w],
                "labels": sorted(l for l in label_counts if w in l.split())[:5]}
               for w in sorted(word_clips, key=lambda w: (-word_clips[w], w))
               if w.isdigit() and not 1 <= int(w) <= vocab.max_count]
    zero_target = sorted(l for l in label_counts
                         if all(vocab.classes[vocab.index(w)].weight == 0 for w in l.split()))
    return {
        "rules": rules,
        "counts": {"clips": len(clip_labels) + len(rejected), "clips_with_qa": len(clip_labels),
                   "rejected_labels": len(rejected), "distinct_raw_labels": len(raw_counts),
                   "distinct_labels": len(label_counts), "qa_pairs": qa_counts},
        "vocabulary": {"size": len(vocab), "words": len(vocab) - vocab.max_count,
                       "per_category": {k: per_category[k] for k in sorted(per_category)},
                       "category_weights": dict(sorted(vocab.categories.items()))},
        "uncategorized_words": uncategorized,
        "corrections": [{"word": w, "replacement": r, "kind": k, "clips": n}
                        for (w, r, k), n in sorted(corrections.items(), key=lambda x: (-x[1], x[0]))],
        "abbreviations_expanded": [{"abbreviation": a, "expansion": e, "clips": n}
                                   for (a, e), n in sorted(expansions.items(), key=lambda x: (-x[1], x[0]))],
        "decorations_removed": [{"decoration": d, "clips": n}
                                for d, n in sorted(decorations.items(), key=lambda x: (-x[1], x[0]))],
        "examples": examples,
        "non_ascii_labels": non_ascii,
        "zero_weight_labels": zero_target,
        "label_numbers_outside_range": numbers,
        "rejected": rejected,
        "counting": counting,
        "source_class_names": normalize_names(source_names if source_names is not None
                                              else source_class_names()),
    }


def _table(header: list[str], rows: list[list]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    esc = lambda v: str(v).replace("|", "\\|")
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(esc(v) for v in r) + " |" for r in rows] + [""])


def render_report_markdown(report: dict) -> str:
    c, v, r = report["counts"], report["vocabulary"], report["rules"]
    lines = ["# Labels report", "",
             f"{c['clips']} clips, {c['distinct_raw_labels']} distinct raw labels -> "
             f"{c['distinct_labels']} normalized labels; {c['rejected_labels']} rejected.",
             f"Vocabulary: {v['size']} classes ({v['words']} words + {r['max_count']} integers).",
             f"Rules: rep counts above {r['max_count']} -> `{r['over_max']}`; reps 0 or null -> no "
             f"counting questions; uncategorized weight {r['uncategorized_weight']}; raw labels "
             f"longer than {r['max_label_chars']} characters are rejected.", "",
             "## QA pairs", ""]
    lines += _table(["split", "identify", "count"],
                    [[s, q.get("identify", 0), q.get("count", 0)] for s, q in sorted(c["qa_pairs"].items())])
    lines += ["## Vocabulary per category", ""]
    lines += _table(["category", "classes", "weight"],
                    [[k, n, v["category_weights"].get(k, "")] for k, n in v["per_category"].items()])
    lines += ["## Uncategorized words (add them to annotations/vocabulary.yaml)", ""]
    lines += _table(["word", "clips", "in labels"],
                    [[u["word"], u["clips"], "; ".join(u["labels"])] for u in report["uncategorized_words"]])
    lines += ["## Spelling corrections applied", ""]
    lines += _table(["word", "replacement", "kind", "clips"],
                    [[x["word"], x["replacement"], x["kind"], x["clips"]] for x in report["corrections"]])
    lines += ["## Abbreviations expanded", ""]
    lines += _table(["abbreviation", "expansion", "clips"],
                    [[x["abbreviation"], x["expansion"], x["clips"]] for x in report["abbreviations_expanded"]])
    lines += ["## Title decorations removed (sets, reps, durations)", ""]
    lines += _table(["decoration", "clips"],
                    [[x["decoration"], x["clips"]] for x in report.get("decorations_removed", [])])
    lines += ["## Before -> after (most frequent first)", ""]
    lines += _table(["raw", "normalized", "clips"], [[x["raw"], x["label"], x["clips"]] for x in report["examples"]])
    lines += ["## Labels with non-ASCII characters removed", ""]
    lines += _table(["raw", "normalized", "removed", "clips"],
                    [[x["raw"], x["label"], x["removed"], x["clips"]] for x in report["non_ascii_labels"]])
    lines += [f"## Numbers in labels outside 1-{r['max_count']} (kept as uncategorized words, "
              "not integer classes)", ""]
    lines += _table(["number", "clips", "in labels"],
                    [[x["number"], x["clips"], "; ".join(x["labels"])]
                     for x in report.get("label_numbers_outside_range", [])])
    lines += ["## Labels whose every word weighs 0 (no identification signal)", ""]
    lines += _table(["label"], [[l] for l in report["zero_weight_labels"]])
    lines += ["## Rejected labels (clips kept out of the QA shards)", ""]
    lines += _table(["clip", "label_raw", "reason"],
                    [[x["clip_id"], x["label_raw"], x["reason"]] for x in report["rejected"]])
    lines += ["## Counting", ""]
    k = report["counting"]
    lines += [f"- clips with reps null (no counting questions): {k['null_reps']}",
              f"- clips with reps 0 (no counting questions): {len(k['zero_reps'])}",
              f"- clips with reps above {r['max_count']} ({r['over_max']}): {len(k['over_max'])}", ""]
    lines += ["## Class names of the public sources", ""]
    lines += _table(["source", "raw", "normalized", "corrections"],
                    [[x["source"], x["raw"], x.get("label") or f"ERROR: {x.get('error')}",
                      "; ".join(x.get("corrections", []))] for x in report["source_class_names"]])
    return "\n".join(lines).rstrip() + "\n"

