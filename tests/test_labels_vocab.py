"""Vocabulary, targets and QA pairs, checked by hand on small vocabularies."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from olympia.errors import ConfigError, LabelError
from olympia.labels import (Vocabulary, count_from_class, count_target, load_question_templates,
                            load_word_categories, multi_hot_target, pluralize_label,
                            qa_rows_for_clip, single_class_target, sparse_target)
from olympia.labels.qa import QuestionTemplates, variants_for

SMALL_YAML = {
    "categories": {
        "core_action": {"weight": 1.0, "words": ["squat", "row", "curl"]},
        "temporal_adverb": {"weight": 0.4, "words": ["slow"]},
        "equipment": {"weight": 0.1, "words": ["dumbbell"]},
        "uncategorized": {"weight": 0.0, "words": []},
        "integer": {"weight": 1.0, "range": [1, 5]},
    }
}


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "vocabulary.yaml"
    path.write_text(yaml.safe_dump(SMALL_YAML))
    cats = load_word_categories(path)
    # words sorted: dumbbell 0, foo 1, row 2, slow 3, squat 4; integers "1".."5" -> 5..9
    vocab = Vocabulary.build(["slow squat", "dumbbell row", "squat foo"], cats)
    return vocab, cats, path


def test_class_indices_words_then_integers(small):
    vocab, _, _ = small
    assert vocab.tokens == ["dumbbell", "foo", "row", "slow", "squat", "1", "2", "3", "4", "5"]
    assert [c.category for c in vocab.classes[:5]] == [
        "equipment", "uncategorized", "core_action", "temporal_adverb", "core_action"]
    assert vocab.integer_indices().tolist() == [5, 6, 7, 8, 9]
    assert vocab.single_class_labels == ("dumbbell row", "slow squat", "squat foo")


def test_weighted_multi_hot_by_hand(small):
    vocab, _, _ = small
    expected = np.zeros(10, dtype=np.float32)
    expected[3], expected[4] = 0.4, 1.0          # slow (temporal 0.4), squat (core 1.0)
    np.testing.assert_array_equal(multi_hot_target(vocab, "slow squat"), expected)
    assert sparse_target(vocab, "dumbbell row") == ([0, 2], [pytest.approx(0.1), 1.0])
    # "foo" is uncategorized, weight 0 -> not among the non-zeros
    assert sparse_target(vocab, "squat foo") == ([4], [1.0])
    with pytest.raises(LabelError, match="extend"):
        sparse_target(vocab, "squat bar")


def test_uncategorized_weight_is_configurable(small):
    _, _, path = small
    cats = load_word_categories(path, uncategorized_weight=0.1)
    vocab = Vocabulary.build(["squat foo"], cats)
    assert sparse_target(vocab, "squat foo") == ([0, 1], [pytest.approx(0.1), 1.0])  # foo 0, squat 1


def test_count_target_rules(small):
    vocab, _, _ = small
    assert count_target(vocab, 3) == 7
    assert count_target(vocab, np.int64(5)) == 9
    assert count_target(vocab, 0) is None          # no class 0
    assert count_target(vocab, None) is None
    assert count_target(vocab, pd.NA) is None
    assert count_target(vocab, float("nan")) is None
    assert count_target(vocab, 6) is None           # above max_count: skipped by default
    assert count_target(vocab, 6, over_max="clamp") == 9
    assert count_from_class(vocab, 7) == 3
    with pytest.raises(LabelError):
        count_from_class(vocab, 0)
    with pytest.raises(ConfigError):
        count_target(vocab, 3, over_max="round")


def test_single_class_target(small):
    vocab, _, _ = small
    assert single_class_target(vocab, "slow squat") == 1
    with pytest.raises(LabelError, match="single-class"):
        single_class_target(vocab, "curl")


def test_extend_appends_and_keeps_indices(small):
    vocab, cats, _ = small
    bigger = vocab.extend(words=["row", "curl"], labels=["curl", "slow squat"], categories=cats)
    assert bigger.tokens[:10] == vocab.tokens
    assert bigger.tokens[10:] == ["curl"]
    assert bigger.classes[10].category == "core_action"
    assert bigger.single_class_labels == vocab.single_class_labels + ("curl",)
    # a target computed with the old vocabulary is still valid in the new one
    assert sparse_target(bigger, "slow squat") == sparse_target(vocab, "slow squat")


def test_save_load_round_trip_and_format(small, tmp_path):
    vocab, _, _ = small
    path = tmp_path / "meta" / "vocabulary.json"
    vocab.save(path)
    data = json.loads(path.read_text())
    assert set(data) == {"format_version", "uncategorized_weight", "categories", "classes",
                         "max_count", "single_class_labels"}
    assert data["classes"][5] == {"index": 5, "token": "1", "category": "integer", "weight": 1.0}
    assert data["max_count"] == 5
    assert Vocabulary.load(path) == vocab
    first = path.read_bytes()
    vocab.save(path)
    assert path.read_bytes() == first
    path.write_text("{not json")
    with pytest.raises(LabelError, match="cannot read vocabulary"):
        Vocabulary.load(path)


def test_project_vocabulary_file_has_the_paper_categories():
    cats = load_word_categories()
    assert cats.weights["temporal_adverb"] == 0.4
    assert cats.weights["equipment"] == 0.1
    assert cats.weights["conjunction"] == 0.5
    assert cats.weights["uncategorized"] == 0.0       # Table 2 (supplement says 0.1)
    assert cats.max_count == 30
    assert cats.category("30") == "integer" and cats.category("31") == "uncategorized"
    assert cats.category("arms") == "body_part" and cats.category("dumbbell") == "equipment"


# --------------------------------------------------------------------------- QA

def test_pluralize_label():
    assert pluralize_label("single arm row") == "single arm rows"
    assert pluralize_label("dumbbell shoulder press") == "dumbbell shoulder presses"
    assert pluralize_label("jumping jack") == "jumping jacks"
    assert pluralize_label("squat left") == "squats left"        # a side is not the noun
    assert pluralize_label("biceps curl") == "biceps curls"
    assert pluralize_label("lunge + knee drive") == "lunges + knee drive"


def test_project_question_templates():
    t = load_question_templates()
    assert len(t.identify) == 10 and len(t.count) == 10
    assert t.identify[0] == "What exercise is being performed?"
    assert t.count[0] == "How many {exercise} were done?"


def test_qa_rows_for_clip_by_hand(small):
    vocab, cats, _ = small
    t = QuestionTemplates(identify=("What exercise is being performed?", "Name this exercise:"),
                          count=("How many {exercise} were done?", "Count the {exercise}."))
    rows = qa_rows_for_clip("src:c1", "train", "slow squat", 3, vocab, t, n_variants=10,
                            categories=cats)
    assert [r["qa_id"] for r in rows] == ["src:c1#identify#0", "src:c1#identify#1",
                                          "src:c1#count#0", "src:c1#count#1"]
    assert rows[0]["prompt"] == "Q: What exercise is being performed? A:"
    assert rows[0]["answer"] == "slow squat"
    assert rows[0]["target_indices"] == [3, 4] and rows[0]["target_weights"] == [0.4, 1.0]
    assert rows[0]["count_class"] is None and rows[0]["label_class"] == 1
    assert rows[2]["question"] == "How many slow squats were done?"
    assert rows[2]["answer"] == "3" and rows[2]["target_indices"] == [7]
    assert rows[2]["target_weights"] == [1.0] and rows[2]["count_class"] == 7
    assert all(r["split"] == "train" for r in rows)
    # no counting questions for unknown, zero, or too-large counts
    for reps in (None, 0, 6):
        assert [r["task"] for r in qa_rows_for_clip("src:c1", "train", "slow squat", reps, vocab, t,
                                                     categories=cats)] == ["identify", "identify"]


def test_twenty_pairs_per_clip_with_project_templates():
    vocab = Vocabulary.build(["single arm row"])
    rows = qa_rows_for_clip("x:1", "val", "single arm row", 12, vocab, load_question_templates())
    assert len(rows) == 20
    assert rows[10]["question"] == "How many single arm rows were done?"


def test_variant_subset_is_seeded_by_clip_id():
    a = variants_for("src:clip-a", "count", 10, 3)
    assert a == variants_for("src:clip-a", "count", 10, 3)
    assert len(a) == 3 and a == sorted(a) and len(set(a)) == 3
    draws = {tuple(variants_for(f"src:clip-{i}", "count", 10, 3)) for i in range(20)}
    assert len(draws) > 1
    assert variants_for("src:clip-a", "count", 10, 10) == list(range(10))


def test_project_data_extends_the_spec_files_without_changing_them(spec):
    """annotations/vocabulary.yaml and questions.yaml may add words and templates, never drop or
    move the spec's (../shared/spec)."""
    from olympia.labels.rules import QUESTIONS_YAML, VOCABULARY_YAML
    ref = yaml.safe_load(spec("vocabulary.yaml").read_text())["categories"]
    ours = yaml.safe_load(VOCABULARY_YAML.read_text())["categories"]
    cats = load_word_categories()
    for name, cat in ref.items():
        assert ours[name]["weight"] == cat["weight"], name
        missing = set(map(str, cat.get("words") or ())) - set(map(str, ours[name].get("words") or ()))
        assert not missing, (name, missing)
    # a word listed in two spec categories takes the first (back: spatial_adjective and body_part)
    assert cats.category("back") == "spatial_adjective" and cats.category("arms") == "body_part"
    ref_q = yaml.safe_load(spec("questions.yaml").read_text())
    ours_q = yaml.safe_load(QUESTIONS_YAML.read_text())
    for task in ("count", "identify"):
        assert ours_q[task][:len(ref_q[task])] == ref_q[task]


def test_word_and_integer_indices_split_the_classes(small):
    vocab, _, _ = small
    # words dumbbell 0, foo 1, row 2, slow 3, squat 4; integers "1".."5" -> 5..9
    assert vocab.word_indices().tolist() == [0, 1, 2, 3, 4]
    assert vocab.integer_indices().tolist() == [5, 6, 7, 8, 9]
    assert vocab.integer_values().tolist() == [1, 2, 3, 4, 5]


def test_single_class_view_is_whole_labels_then_integers(small, tmp_path):
    vocab, _, _ = small
    single = vocab.single_class()
    # single_class_labels are sorted: "dumbbell row", "slow squat", "squat foo"
    assert single.mode == "single_class"
    assert single.tokens == ["dumbbell row", "slow squat", "squat foo", "1", "2", "3", "4", "5"]
    assert single.word_indices().tolist() == [0, 1, 2]
    assert single.integer_indices().tolist() == [3, 4, 5, 6, 7]
    assert single.weights().tolist() == [1.0] * 8
    assert single.single_class() is single
    path = tmp_path / "classes.json"
    single.save(path)
    assert json.loads(path.read_text())["mode"] == "single_class"
    assert Vocabulary.load(path) == single


def test_including_appends_another_vocabularys_classes_with_their_weights(small):
    vocab, cats, _ = small
    other = Vocabulary.build(["slow curl", "squat"], cats)     # curl 0, slow 1, squat 2, integers
    merged = vocab.including(other)
    assert merged.tokens[:10] == vocab.tokens and merged.tokens[10:] == ["curl"]
    assert merged.classes[10].category == "core_action" and merged.classes[10].weight == 1.0
    assert merged.single_class_labels == vocab.single_class_labels + ("slow curl", "squat")
    assert merged.including(other) is merged                   # nothing new: the same vocabulary


def test_read_qa_names_the_folder_or_shard(small, tmp_path):
    import pyarrow.parquet as pq
    from olympia.errors import StoreIntegrityError
    from olympia.labels.qa import read_qa, write_qa_shards
    vocab, cats, _ = small
    t = QuestionTemplates(identify=("What exercise is being performed?",), count=("How many {exercise} were done?",))
    rows = (qa_rows_for_clip("src:a", "train", "slow squat", 3, vocab, t, categories=cats)
            + qa_rows_for_clip("src:b", "test", "dumbbell row", 2, vocab, t, categories=cats))
    assert [str(p) for p in write_qa_shards(tmp_path, rows)] == [
        "data/qa/test-00000-of-00001.parquet", "data/qa/train-00000-of-00001.parquet"]
    train = read_qa(tmp_path, "train", columns=["qa_id", "count_class"])
    assert train.column_names == ["qa_id", "count_class"]
    assert train.to_pydict() == {"qa_id": ["src:a#identify#0", "src:a#count#0"], "count_class": [None, 7]}
    assert read_qa(tmp_path).num_rows == 4
    with pytest.raises(StoreIntegrityError, match="data/qa has no validation QA shards"):
        read_qa(tmp_path, "validation")
    shard = tmp_path / "data/qa/test-00000-of-00001.parquet"
    pq.write_table(pq.read_table(shard).drop_columns(["answer"]), shard)
    with pytest.raises(StoreIntegrityError, match=r"test-00000-of-00001.parquet: QA shard lacks columns \['answer'\]"):
        read_qa(tmp_path)
    assert read_qa(tmp_path, columns=["qa_id"]).num_rows == 4    # a column it does not ask for may be absent


# --------------------------------------------------------------------------- coverage of real names

# InfiniteRep's exercise folders (InfinityAI_InfiniteRep_<name>_v1.0, adapters/infiniterep.py)
INFINITEREP_FOLDERS = ["armraise", "bicyclecrunch", "birddog", "curl", "fly", "legraise",
                       "overheadpress", "pushup", "squat", "superman"]


def _names_the_sources_produce(realdata) -> dict[str, list[str]]:
    import json

    from olympia.adapters import kimore, mmfit, uiprmd
    from olympia.demo.generator import EXERCISES
    from olympia.labels.report import realdata_class_names, source_class_names

    root = realdata(".")
    names = {"demo": [label.format(side=side).strip() for e in EXERCISES for label in e.labels
                      for side in (("left", "right") if e.sided else ("",))],
             "fit3d": sorted({p.name.split(".")[0] for p in root.glob("fit3d/train/*/joints3d_25/*.json*")}),
             "kimore": list(kimore.EXERCISES.values()), "mmfit": list(mmfit.EXERCISES),
             "uiprmd": list(uiprmd.MOVEMENTS.values()), "infiniterep": INFINITEREP_FOLDERS,
             "visionfit": [json.loads(p.read_text())["params"]["exercise"]
                           for p in root.glob("visionfit/*/job.json")]}
    for table in (realdata_class_names(root)[0], source_class_names()):
        for source, raw in table.items():
            names.setdefault(source, []).extend(raw)
    return names


def test_every_word_of_the_demo_and_real_sources_has_a_category(realdata):
    """No label word of the demo or a real source falls into `uncategorized` (weight 0): before
    this test, "forward" and "bentover" of the demo's own labels did (its labels report)."""
    from olympia.labels import normalize_label
    cats = load_word_categories()
    names = _names_the_sources_produce(realdata)
    assert len(names["fit3d"]) >= 40 and names["visionfit"]       # the real files were read
    missing = {(source, raw, normalize_label(raw)) for source, raws in names.items() for raw in raws
               for word in normalize_label(raw).split() if cats.category(word) == "uncategorized"}
    assert not missing, sorted(missing)


def test_real_names_that_needed_the_new_rules():
    from olympia.labels import normalize_label
    assert normalize_label("lifting of the arms") == "lift of the arms"          # KIMORE Es1
    assert normalize_label("deadlifting") == "deadlift"                          # Countix
    assert normalize_label("legraise") == "leg raise"                            # InfiniteRep folder
    assert pluralize_label("lift of the arms") == "lifts of the arms"            # "of", "the": conjunction
