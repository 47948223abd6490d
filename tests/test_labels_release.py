"""Label artifacts of a release, the real source class names, and the `olympia labels` CLI."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from olympia.errors import LabelError
from olympia.labels import Vocabulary, normalize_label, read_qa
from olympia.labels.qa import QA_ARROW_SCHEMA
from olympia.labels.release import write_label_artifacts
from olympia.labels.report import realdata_class_names

REPO = Path(__file__).resolve().parents[1]


def _clips() -> pd.DataFrame:
    """Clips as the store holds them: labels normalized at ingest (method.md §2 by hand)."""
    return pd.DataFrame({
        "id": ["b:2", "a:1", "c:3", "d:4", "f:6"],
        "split": ["val", "train", "train", "test", "test"],
        "source": ["mmfit", "mmfit", "repcount", "repcount", "x"],
        "label_raw": ["bicep_curls", "squats", "squant", "1-Leg RDL (L)", "pommelhorse"],
        "label": ["biceps curl", "squat", "squat", "single leg romanian deadlift left", "pommel horse"],
        "reps": pd.array([10, None, 45, 0, 7], dtype="Int32"),
        "n_frames": [100] * 5,
    })


# the emoji label was quarantined at ingest; the release builder passes such clips on
REJECTED = [{"clip_id": "e:5", "label_raw": "\U0001f525", "reason": "label normalizes to nothing"}]


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    return root, write_label_artifacts(root, _clips(), rejected_labels=REJECTED)


def test_files_and_return_value(built):
    root, result = built
    assert sorted(_tree(root)) == [
        "data/qa/test-00000-of-00001.parquet", "data/qa/train-00000-of-00001.parquet",
        "data/qa/val-00000-of-00001.parquet", "meta/labels_report.json", "meta/labels_report.md",
        "meta/vocabulary.json", "plots/label_length.png", "plots/words_per_category.png"]
    # by hand: 5 clips with a label (the emoji one is rejected), 10 identify each = 50;
    # counting only for b:2 (10 reps) and f:6 (7 reps): null, 45 (> 30) and 0 get none -> 20
    assert result["n_qa"] == 70
    # words: biceps curl | squat | squat | single leg romanian deadlift left | pommel horse
    assert result["vocab_size"] == 10 + 30
    assert "plots/label_length.png" in result["card_markdown"]
    assert result["plots"] == ["plots/label_length.png", "plots/words_per_category.png"]
    for rel in result["plots"]:
        assert (root / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(result["files"]) == sorted(p for p in _tree(root) if not p.startswith("plots/"))
    # label lengths by hand: biceps curl 2, squat 1, single leg romanian deadlift left 5, pommel horse 2
    assert result["label_lengths"] == {"1": 1, "2": 2, "5": 1}
    assert result["words_per_category"]["integer"] == 30 and sum(result["words_per_category"].values()) == 40
    assert result["rejected_labels"] == 1
    assert result["qa_pairs"] == {"test": {"count": 10, "identify": 20}, "train": {"identify": 20},
                                  "val": {"count": 10, "identify": 10}}
    json.dumps({k: v for k, v in result.items() if k != "card_markdown"})   # info.json-safe


def test_qa_rows_stay_in_their_clip_split(built):
    root, _ = built
    clips = _clips().set_index("id")
    qa = read_qa(root).to_pandas()
    assert len(qa) == 70
    for row in qa.itertuples():
        assert row.split == clips.loc[row.clip_id, "split"]
        assert row.qa_id == f"{row.clip_id}#{row.task}#{row.variant}"
        assert row.prompt == f"Q: {row.question} A:"
    for f in (root / "data/qa").glob("*.parquet"):
        split = f.name.split("-")[0]
        assert set(pq.read_table(f).column("split").to_pylist()) == {split}
        assert pq.read_schema(f).remove_metadata().equals(QA_ARROW_SCHEMA.remove_metadata())
    assert "e:5" not in set(qa["clip_id"])
    counts = qa[qa.task == "count"]
    assert set(counts.clip_id) == {"b:2", "f:6"}
    assert set(counts[counts.clip_id == "b:2"].answer) == {"10"}


def test_targets_match_vocabulary(built):
    root, _ = built
    vocab = Vocabulary.load(root / "meta/vocabulary.json")
    qa = read_qa(root, split="val").to_pandas()
    ident = qa[qa.task == "identify"].iloc[0]
    assert ident.answer == "biceps curl"
    assert [vocab.tokens[i] for i in ident.target_indices] == ["biceps", "curl"]
    assert vocab.single_class_labels[ident.label_class] == "biceps curl"
    count = qa[qa.task == "count"].iloc[0]
    count_class = int(count.count_class)        # pandas reads the nullable int32 column as float
    assert vocab.tokens[count_class] == "10" and list(count.target_indices) == [count_class]
    assert count.question == "How many biceps curls were done?"


def test_report_lists_corrections_rejections_and_counting(built):
    root, _ = built
    rep = json.loads((root / "meta/labels_report.json").read_text())
    fixes = {(c["word"], c["replacement"]) for c in rep["corrections"]}
    assert {("bicep", "biceps"), ("squant", "squat"), ("pommelhorse", "pommel horse")} <= fixes
    assert [r["clip_id"] for r in rep["rejected"]] == ["e:5"]
    assert rep["counting"] == {"null_reps": 1, "zero_reps": ["d:4"], "over_max": ["c:3"]}
    assert rep["vocabulary"]["per_category"]["integer"] == 30
    md = (root / "meta/labels_report.md").read_text()
    assert "## Uncategorized words" in md and "| squant | squat | table | 1 |" in md


def test_numbers_outside_1_to_30_are_listed_in_the_report(tmp_path):
    clips = pd.DataFrame({"id": ["n:1", "n:2"], "split": ["train", "train"], "source": ["x", "x"],
                          "label_raw": ["100 jumping jacks", "30 second plank"],
                          "label": ["100 jumping jack", "30 second plank"],
                          "reps": pd.array([1, 1], dtype="Int32"), "n_frames": [10, 10]})
    write_label_artifacts(tmp_path, clips)
    rep = json.loads((tmp_path / "meta/labels_report.json").read_text())
    assert rep["label_numbers_outside_range"] == [{"number": "100", "clips": 1, "labels": ["100 jumping jack"]}]
    vocab = Vocabulary.load(tmp_path / "meta/vocabulary.json")
    assert vocab.classes[vocab.index("100")].category == "uncategorized"
    assert vocab.classes[vocab.index("30")].category == "integer"


def test_byte_identical_for_the_same_input(built, tmp_path):
    root, _ = built
    shuffled = _clips().sample(frac=1.0, random_state=3)   # row order must not matter
    write_label_artifacts(tmp_path, shuffled, rejected_labels=REJECTED)
    assert _tree(tmp_path) == _tree(root)


def test_base_vocabulary_keeps_indices(built, tmp_path):
    root, _ = built
    base = Vocabulary.load(root / "meta/vocabulary.json")
    new = pd.DataFrame({"id": ["z:1"], "split": ["test"], "source": ["uiprmd"],
                        "label_raw": ["deep squat"], "label": ["deep squat"], "reps": pd.array([10], dtype="Int32"),
                        "n_frames": [50]})
    write_label_artifacts(tmp_path, new, base_vocabulary=base)
    extended = Vocabulary.load(tmp_path / "meta/vocabulary.json")
    assert extended.tokens[:len(base)] == base.tokens
    assert extended.tokens[len(base):] == ["deep"]


def test_missing_columns_are_an_error(tmp_path):
    with pytest.raises(LabelError, match="lacks columns"):
        write_label_artifacts(tmp_path, _clips().drop(columns=["reps"]))


# --------------------------------------------------------------------------- real class names

def test_mmfit_real_names(realdata):
    names, _ = realdata_class_names(realdata("."))
    got = {raw: normalize_label(raw) for raw in names["mmfit"]}
    # the paper's MM-Fit list (method.md §1), in our normal form
    assert got == {
        "squats": "squat", "pushups": "pushup", "dumbbell_shoulder_press": "dumbbell shoulder press",
        "lunges": "lunge", "dumbbell_rows": "dumbbell row", "situps": "situp",
        "tricep_extensions": "triceps extension", "bicep_curls": "biceps curl",
        "lateral_shoulder_raises": "lateral shoulder raise", "jumping_jacks": "jumping jack"}


def test_repcount_inconsistent_spellings_collapse(realdata):
    names, _ = realdata_class_names(realdata("."))
    got = {raw: normalize_label(raw) for raw in names["repcount"]}
    assert got["bench_pressing"] == got["benchpressing"] == "bench press"      # gerund -> verb
    assert got["pull_up"] == got["pullups"] == "pullup"
    assert got["push_up"] == got["pushups"] == "pushup"
    assert got["jump_jack"] == got["jumpjacks"] == got["jumping_jack"] == "jumping jack"
    assert got["front_raise"] == got["frontraise"] == "front raise"
    assert got["squant"] == got["squat"] == "squat"
    assert got["pommelhorse"] == "pommel horse" and got["battle_rope"] == "battle rope"


def test_uiprmd_and_countix_names(realdata):
    names, notes = realdata_class_names(realdata("."))
    got = [normalize_label(n) for n in names["uiprmd"]]
    assert len(got) == 10
    assert got[0] == "deep squat" and got[2] == "inline lunge"
    assert got[8] == "standing shoulder internal external rotation"
    assert got[9] == "standing shoulder scaption"
    assert any("countix" in n and "no `class` column" in n for n in notes)
    assert normalize_label("mountain climber (exercise)") == "mountain climber exercise"


# --------------------------------------------------------------------------- CLI

def test_cli_normalize_and_errors():
    from olympia.cli.labels import labels
    runner = CliRunner()
    out = runner.invoke(labels, ["normalize", "Alt. DB Curls", "1-Leg RDL (L)"])
    assert out.exit_code == 0
    assert out.output.splitlines() == ["Alt. DB Curls\talternating dumbbell curl",
                                       "1-Leg RDL (L)\tsingle leg romanian deadlift left"]
    bad = runner.invoke(labels, ["normalize", "squats", "!!!"])
    assert bad.exit_code == 2 and "squats\tsquat" in bad.output
    explained = runner.invoke(labels, ["normalize", "--explain", "bicep_curls"])
    assert "spelling: bicep -> biceps (table)" in explained.output


def test_cli_explain_marks_uncategorized_words_and_warns_on_numbers():
    from olympia.cli.labels import labels
    runner = CliRunner()
    out = runner.invoke(labels, ["normalize", "--explain", "Calf Raises - 20 reps", "zottman curls"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[:3] == ["Calf Raises - 20 reps\tcalf raise", "  decoration removed: '20 reps'",
                         "  words: calf (body_part 1), raise (core_action 1)"]      # vocabulary.yaml
    assert "  words: zottman (UNCATEGORIZED 0), curl (core_action 1)" in lines
    assert any(l.startswith("  uncategorized (weight 0") and "zottman" in l for l in lines)
    only = runner.invoke(labels, ["normalize", "--explain", "20"])
    assert "warning: the label is only numbers" in only.output
    count = runner.invoke(labels, ["normalize", "--explain", "squat 12"])
    assert "warning: 12 is also the rep-count class 12" in count.output
    data = json.loads(runner.invoke(labels, ["normalize", "--json", "Push-ups x12"]).output)
    assert data["label"] == "pushup" and data["decorations"] == ["x12"] and data["uncategorized"] == []


def test_cli_report(realdata, built):
    from olympia.cli.labels import labels
    runner = CliRunner()
    out = runner.invoke(labels, ["report", "--realdata", str(realdata("."))])
    assert out.exit_code == 0, out.output
    assert "| repcount | squant | squat | squant -> squat (table) |" in out.output
    rel = runner.invoke(labels, ["report", "--release", str(built[0])])
    assert rel.output.startswith("# Labels report")
    missing = runner.invoke(labels, ["report", "--release", str(built[0] / "nope")])
    assert missing.exit_code != 0


def test_cli_extend_appends_classes(built, tmp_path):
    from olympia.cli.labels import labels
    base = built[0] / "meta/vocabulary.json"
    out = CliRunner().invoke(labels, ["extend", str(base), "Deep Squats", "hurdle step",
                                      "--out", str(tmp_path / "v.json")])
    assert out.exit_code == 0, out.output
    old, new = Vocabulary.load(base), Vocabulary.load(tmp_path / "v.json")
    assert new.tokens[:len(old)] == old.tokens
    assert new.tokens[len(old):] == ["deep", "hurdle", "step"]      # sorted, squat already known
    assert new.single_class_labels[len(old.single_class_labels):] == ("deep squat", "hurdle step")
    assert "hurdle:noun_variation" in out.output and "step:core_action" in out.output   # vocabulary.yaml


@pytest.mark.parametrize("args", [[], ["normalize"], ["report"], ["extend"]])
def test_cli_help_has_examples(args):
    from olympia.cli.labels import labels
    out = CliRunner().invoke(labels, args + ["--help"])
    assert out.exit_code == 0 and "Examples:" in out.output
