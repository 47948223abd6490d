"""`olympia labels`: normalize exercise names and print the curator report."""
from __future__ import annotations

import json
from pathlib import Path

import click

from olympia.errors import LabelError


@click.group()
def labels():
    """Exercise labels: normalization (method.md §2), vocabulary and curator report.

    \b
    Examples:
      olympia labels normalize "Alt. DB Curls" "1-Leg RDL (L)"
      olympia labels normalize --explain "squant"
      olympia labels report --realdata ../shared/realdata
      olympia labels report --release dist/olympia-demo
      olympia labels extend dist/olympia-demo/meta/vocabulary.json "deep squat" --out vocab.json
    """


@labels.command()
@click.argument("text", nargs=-1, required=True)
@click.option("--explain", is_flag=True,
              help="Also show removed decorations, corrections, expansions and removed characters, "
                   "each word's category and weight, uncategorized words and warnings.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per label (with everything --explain shows).")
def normalize(text, explain, as_json):
    """Normalize one or more raw exercise labels (one result per line: raw<TAB>normalized).

    A label that cannot be normalized prints an error line and the exit code is 2;
    the other labels are still printed. With --explain, words in no category of
    annotations/vocabulary.yaml are marked UNCATEGORIZED (weight 0) and labels made of numbers
    only, or holding a rep-count class (1-30), get a warning.

    \b
    Examples:
      olympia labels normalize "Push-ups + knee drive"      # -> pushup + knee drive
      olympia labels normalize dumbbell_shoulder_press bench_pressing
      olympia labels normalize --explain "Calf Raises - 20 reps"   # decoration removed
      olympia labels normalize --explain "bicep_curls"      # shows bicep -> biceps (table)
    """
    from olympia.labels import explain_label
    from olympia.labels.report import label_words_report

    failed = False
    for raw in text:
        try:
            tr = explain_label(raw)
        except LabelError as exc:
            failed = True
            click.secho(f"error: {exc}", fg="red", err=True)
            continue
        words = label_words_report(tr.label) if (explain or as_json) else None
        if as_json:
            click.echo(json.dumps({"raw": raw, "label": tr.label, "removed": tr.removed_characters,
                                   "decorations": list(tr.decorations),
                                   "corrections": [vars(c) for c in tr.corrections],
                                   "expansions": [list(e) for e in tr.expansions], **words}))
            continue
        click.echo(f"{raw}\t{tr.label}")
        if explain:
            _explain_lines(tr, words)
    if failed:
        raise SystemExit(2)


def _explain_lines(tr, words: dict) -> None:
    for deco in tr.decorations:
        click.echo(f"  decoration removed: {deco!r}")
    for c in tr.corrections:
        click.echo(f"  spelling: {c.word} -> {c.replacement} ({c.kind})")
    for short, long in tr.expansions:
        click.echo(f"  abbreviation: {short} -> {long}")
    if tr.removed_characters:
        click.echo(f"  removed non-ASCII: {tr.removed_characters!r}")
    click.echo("  words: " + ", ".join(
        f"{w['word']} ({'UNCATEGORIZED' if w['word'] in words['uncategorized'] else w['category']} {w['weight']:g})"
        for w in words["words"]))
    if words["uncategorized"]:
        click.secho(f"  uncategorized (weight 0, no identification signal): {', '.join(words['uncategorized'])}"
                    " -> add to a category in annotations/vocabulary.yaml", fg="yellow")
    for warning in words["warnings"]:
        click.secho(f"  warning: {warning}", fg="yellow")


@labels.command()
@click.option("--release", "release", type=click.Path(path_type=Path, file_okay=False),
              help="A built release: print its meta/labels_report.md.")
@click.option("--realdata", type=click.Path(path_type=Path, file_okay=False),
              help="Read class names from the real source files here (e.g. ../shared/realdata) "
                   "instead of annotations/labels/source_class_names.yaml.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of Markdown.")
def report(release, realdata, as_json):
    """Curator report. With --release: the release's labels report (vocabulary per category,
    uncategorized words, corrections, before -> after). Otherwise: how the class names of the
    public sources (MM-Fit, RepCount, UI-PRMD, Countix, InfiniteRep) normalize.

    \b
    Examples:
      olympia labels report                                # names from source_class_names.yaml
      olympia labels report --realdata ../shared/realdata  # names read from the real files
      olympia labels report --release dist/olympia-demo --json
    """
    from olympia.labels.report import normalize_names, realdata_class_names, source_class_names

    if release is not None:
        from olympia.layout import LABELS_REPORT_JSON_PATH, LABELS_REPORT_MD_PATH

        path = release / (LABELS_REPORT_JSON_PATH if as_json else LABELS_REPORT_MD_PATH)
        if not path.is_file():
            raise LabelError(f"{path} is missing; fix: build the release first "
                             "(make dataset) or point --release at a built release")
        click.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    notes: list[str] = []
    if realdata is not None:
        names, notes = realdata_class_names(realdata)
    else:
        names = source_class_names()
    rows = normalize_names(names)
    if as_json:
        click.echo(json.dumps({"notes": notes, "names": rows}, indent=1))
        return
    click.echo("| source | raw | normalized | corrections |\n|---|---|---|---|")
    for r in rows:
        label = r["label"] if r["label"] is not None else f"ERROR: {r['error']}"
        click.echo(f"| {r['source']} | {r['raw']} | {label} | {'; '.join(r.get('corrections', []))} |")
    for n in notes:
        click.echo(f"\nnote: {n}")


@labels.command()
@click.argument("base", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("raw_labels", nargs=-1, required=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the extended vocabulary.json.")
def extend(base, raw_labels, out_path):
    """Extend a release's vocabulary for a zero-/few-shot source: the words and whole labels of
    RAW_LABELS (normalized first) are APPENDED after the existing classes, so every index of
    BASE keeps its meaning and a model trained on BASE can be evaluated with the new file.

    \b
    Examples:
      olympia labels extend dist/olympia-demo/meta/vocabulary.json \\
          "deep squat" "hurdle step" "inline lunge" --out work/uiprmd_vocabulary.json
    """
    from olympia.labels import Vocabulary, label_words, normalize_label

    vocab = Vocabulary.load(base)
    labels = [normalize_label(r) for r in raw_labels]
    bigger = vocab.extend(labels=labels)
    bigger.save(out_path)
    new = bigger.tokens[len(vocab):]
    click.echo(f"{len(vocab)} -> {len(bigger)} classes; appended: {', '.join(new) or '(none)'}")
    for label in labels:
        cats = ", ".join(f"{w}:{bigger.classes[bigger.index(w)].category}" for w in label_words(label))
        click.echo(f"  {label}\t{cats}")
