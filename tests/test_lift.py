"""LiFT trainer on a tiny release: batches, the ViLT model with 384x640 images, training,
checkpoints, resume, vocabulary extension, and the CLI. Kept to seconds: a 1-layer model."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from olympia.labels.vocabulary import VocabClass, Vocabulary
from olympia.motion_image import motion_image, pad_motion_image
from olympia.store import ClipStore

from lift.batches import BatchAssembler, epoch_batches, iterate_batches
from lift.checkpoint import load_checkpoint, save_checkpoint
from lift.configs import IMAGE_HEIGHT, IMAGE_WIDTH, get_config
from lift.evaluate import predict_probs
from lift.images import normalize_image
from lift.samples import load_release, release_questions
from lift.fewshot import draw_shots, extend_for_release
from lift.loss import weighted_softmax_ce
from lift.model import LiftModel
from lift.synthetic import write_synthetic_release
from lift.tokenizer import train_wordpiece


def tiny_config(count_head: str = "classes"):
    """A 1-layer, width-32 small config that trains in seconds (also used by test_lift_density)."""
    cfg = get_config("small")
    cfg.model.hidden_size, cfg.model.num_hidden_layers, cfg.model.num_attention_heads = 32, 1, 2
    cfg.model.intermediate_size, cfg.model.wordpiece_vocab_size = 64, 300
    cfg.model.count_head = count_head
    cfg.train.batch_size, cfg.train.eval_batch_size, cfg.train.cache_workers = 8, 16, 1
    cfg.train.lr = 1e-3
    return cfg


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("lift") / "release"
    write_synthetic_release(out, n_clips=12, seed=1)
    return out


@pytest.fixture(scope="module")
def loaded(release):
    tok = train_wordpiece(release_questions(release), 300)
    return tok, load_release(release, tok, None, workers=1, progress=False)


def test_batches_hold_padded_images_masks_tokens_and_targets(release, loaded):
    tok, data = loaded
    train = data.splits["train"]
    batch = next(iterate_batches(train, data.cache, 8, shuffle=True, seed=0))
    assert batch["pixel_values"].shape == (8, 3, IMAGE_HEIGHT, IMAGE_WIDTH)
    assert batch["pixel_mask"].shape == (8, IMAGE_HEIGHT, IMAGE_WIDTH)
    assert batch["input_ids"].shape == (8, 40) and batch["targets"].shape == (8, len(data.vocab))
    store = ClipStore(release)
    for slot, row in enumerate(batch["index"].tolist()):
        qa = train.qa.iloc[row]
        kp = store.keypoints(qa["clip_id"])
        # reference: the lead's motion image, centred, padded by pad_motion_image (independent path)
        ref, ref_mask, _ = pad_motion_image(normalize_image(motion_image(kp)))
        np.testing.assert_allclose(batch["pixel_values"][slot].numpy().transpose(1, 2, 0), ref, atol=2e-3)
        assert np.array_equal(batch["pixel_mask"][slot].numpy(), ref_mask)
        assert batch["pixel_mask"][slot].sum() == 320 * math.ceil(len(kp) / 2)
        # the target row carries the shard's weighted multi-hot target
        tokens = {data.vocab.tokens[j]: float(batch["targets"][slot, j]) for j in torch.nonzero(batch["targets"][slot]).ravel()}
        if qa["task"] == "identify":
            expected = {"squat": {"squat": 1.0}, "arm raise": {"arm": 0.5, "raise": 1.0},
                        "jumping jack": {"jumping": 1.0, "jack": 1.0}}[qa["label"]]
        else:
            expected = {str(int(qa["reps"])): 1.0}
        assert tokens == expected
        ids = batch["input_ids"][slot][batch["attention_mask"][slot].bool()].tolist()
        assert ids[0] == tok.token_to_id("[CLS]") and ids[-1] == tok.token_to_id("[SEP]") and len(ids) <= 40
        assert tok.decode(ids).replace(" ", "") == qa["prompt"].lower().replace(" ", "")


def test_reused_buffers_are_rezeroed_when_a_narrower_clip_follows(loaded):
    _, data = loaded
    train = data.splits["train"]
    widths = data.cache.widths[train.clip_pos]
    wide, narrow = int(np.argmax(widths)), int(np.argmin(widths))
    assert widths[wide] > widths[narrow]
    assemble = BatchAssembler(train, data.cache, 1)
    assemble(np.array([wide]))
    b = assemble(np.array([narrow]))
    w = int(widths[narrow])
    assert not b["pixel_values"][0, :, :, w:].any() and not b["pixel_mask"][0, :, w:].any()
    assert b["pixel_mask"][0, :320, :w].all() and not b["pixel_mask"][0, 320:].any()


def test_every_batch_mixes_both_tasks():
    is_count = np.array([False] * 70 + [True] * 50)
    batches = epoch_batches(is_count, 32, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(120))    # every row once
    assert all(is_count[b].any() and (~is_count[b]).any() for b in batches)
    assert max(len(b) for b in batches) <= 32


def test_vilt_takes_384x640_images_and_ignores_masked_patches(loaded):
    tok, data = loaded
    cfg = tiny_config()
    torch.manual_seed(0)
    model = LiftModel.build(cfg.model, tok.get_vocab_size(), len(data.vocab)).eval()
    batch = next(iterate_batches(data.splits["train"], data.cache, 4, shuffle=False))
    b = {k: v.clone() for k, v in batch.items()}
    with torch.no_grad():
        logits = model(b["input_ids"], b["attention_mask"], b["pixel_values"], b["pixel_mask"])
        assert logits.shape == (4, len(data.vocab)) and torch.isfinite(logits).all()
        # garbage in whole patches outside the mask must not change the output
        noisy = b["pixel_values"].clone()
        noisy[:, :, 320:, :] = torch.randn_like(noisy[:, :, 320:, :])
        noisy[:, :, :, 608:] = torch.randn_like(noisy[:, :, :, 608:])
        again = model(b["input_ids"], b["attention_mask"], noisy, b["pixel_mask"])
    assert data.cache.widths.max() <= 608
    torch.testing.assert_close(again, logits, atol=1e-4, rtol=1e-4)


def test_a_few_adam_steps_lower_the_loss(loaded):
    tok, data = loaded
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config().model, tok.get_vocab_size(), len(data.vocab))
    batch = {k: v.clone() for k, v in next(iterate_batches(data.splits["train"], data.cache, 16, shuffle=True)).items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss = weighted_softmax_ce(model(batch["input_ids"], batch["attention_mask"], batch["pixel_values"],
                                         batch["pixel_mask"]), batch["targets"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.9 * losses[0], losses


def test_train_writes_checkpoint_metrics_and_resumes(release, tmp_path):
    from lift.train import train
    cfg = tiny_config()
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch = 1, 2
    out = tmp_path / "run"
    s1 = train(release, cfg, out, progress=False)
    assert s1["epochs"] == 1
    for name in ("model.pt", "last.pt", "config.json", "classes.json", "tokenizer.json", "metrics.csv",
                 "metrics.json", "learning_curve.png"):
        assert (out / name).is_file(), name
    cfg.train.max_epochs = 2
    s2 = train(release, cfg, out, progress=False)           # resumes after epoch 1
    assert [h["epoch"] for h in s2["history"]] == [1, 2]
    assert s2["history"][0] == s1["history"][0]
    assert {"val_loss", "val_detection", "val_obo", "val_mae"} <= set(s2["history"][1])


def test_early_stopping_after_patience(release, tmp_path):
    from lift.train import train
    cfg = tiny_config()
    cfg.train.lr, cfg.train.max_epochs, cfg.train.patience, cfg.train.max_steps_per_epoch = 0.0, 10, 2, 1
    s = train(release, cfg, tmp_path / "es", progress=False)   # lr 0: validation loss never improves
    assert s["stopped_by"] == "early stop" and s["epochs"] == 3


def test_training_on_validation_takes_both_splits_questions_and_keeps_none_aside(release, loaded, tmp_path):
    from lift.train import load_train_validation, train
    tok = loaded[0]
    meta = ClipStore(release).metadata(columns=["id", "split"]).set_index("id")["split"]
    cfg = tiny_config()
    cfg.train.questions_per_clip = None          # validation keeps all its questions (no fixed draw)
    _, train_set, val_set = load_train_validation(release, cfg, tok, progress=False)
    assert set(meta[train_set.qa["clip_id"]]) == {"train"} and set(meta[val_set.qa["clip_id"]]) == {"validation"}
    n_train, n_val = len(train_set), len(val_set)
    cfg.train.train_on_validation = True
    _, train_set, val_set = load_train_validation(release, cfg, tok, progress=False)
    assert set(meta[train_set.qa["clip_id"]]) == {"train", "validation"} and len(val_set) == 0
    assert len(train_set) == n_train + n_val
    # no early stopping on a validation split: the training loss stands in, and `epochs` are run
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch = 2, 1
    s = train(release, cfg, tmp_path / "tv", progress=False)
    assert [h["val_loss"] for h in s["history"]] == [h["train_loss"] for h in s["history"]]
    assert json.loads((tmp_path / "tv" / "config.json").read_text())["config"]["train"]["train_on_validation"]


def test_checkpoint_round_trip_gives_identical_predictions(loaded, tmp_path):
    tok, data = loaded
    cfg = tiny_config()
    torch.manual_seed(1)
    model = LiftModel.build(cfg.model, tok.get_vocab_size(), len(data.vocab)).eval()
    save_checkpoint(tmp_path / "ck", model, cfg, data.vocab, tok)
    model2, tok2, vocab2, cfg2, _ = load_checkpoint(tmp_path / "ck")
    assert vocab2 == data.vocab and cfg2 == cfg
    assert tok2.encode("Q: How many squats were done? A:").ids == tok.encode("Q: How many squats were done? A:").ids
    test = data.splits["test"]
    p1, l1 = predict_probs(model, test, data.cache, batch_size=8)
    p2, l2 = predict_probs(model2, test, data.cache, batch_size=8)
    np.testing.assert_allclose(p1, p2, atol=1e-6)
    assert l1 == pytest.approx(l2)


def test_vocabulary_extension_appends_without_moving_old_classes(loaded):
    tok, data = loaded
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config().model, tok.get_vocab_size(), len(data.vocab)).eval()
    batch = {k: v.clone() for k, v in next(iterate_batches(data.splits["test"], data.cache, 4, shuffle=False)).items()}
    args = (batch["input_ids"], batch["attention_mask"], batch["pixel_values"], batch["pixel_mask"])
    with torch.no_grad():
        before = model(*args)
    other = Vocabulary(classes=(VocabClass(0, "squat", "core_action", 1.0), VocabClass(1, "knee", "body_part", 0.5)),
                       categories={"core_action": 1.0, "body_part": 0.5}, max_count=0)
    vocab = extend_for_release(model, data.vocab, other)
    assert vocab.tokens == data.vocab.tokens + ["knee"] and vocab.weights()[-1] == 0.5
    assert vocab.classes[-1].category == "body_part"
    with torch.no_grad():
        after = model(*args)
    assert after.shape[1] == before.shape[1] + 1
    torch.testing.assert_close(after[:, :-1], before)
    assert extend_for_release(model, vocab, other) is vocab      # nothing new: unchanged
    assert model.head.out.out_features == len(vocab)


def test_single_class_space_and_shots():
    vocab = Vocabulary(classes=(VocabClass(0, "squat", "core_action", 1.0), VocabClass(1, "1", "integer", 1.0),
                                VocabClass(2, "2", "integer", 1.0)),
                       categories={"core_action": 1.0, "integer": 1.0}, max_count=2,
                       single_class_labels=("squat", "arm raise"))
    single = vocab.single_class()
    assert single.mode == "single_class" and single.tokens == ["squat", "arm raise", "1", "2"]
    assert single.integer_indices().tolist() == [2, 3] and single.integer_values().tolist() == [1, 2]
    assert single.word_indices().tolist() == [0, 1]
    assert Vocabulary.from_json(single.to_json()) == single         # how a checkpoint stores it
    train, test = draw_shots([f"c{i}" for i in range(10)], 3, seed=0)
    assert len(train) == 3 and not set(train) & set(test) and len(test) == 7
    assert draw_shots([f"c{i}" for i in range(10)], 3, seed=0)[0] == train


def test_cli_train_evaluate_predict(release, tmp_path):
    from lift.cli import main
    runner = CliRunner()
    ck, ev = tmp_path / "ck", tmp_path / "ev"
    res = runner.invoke(main, ["train", "--release", str(release), "--config", "small", "--out", str(ck),
                               "--epochs", "1", "--max-steps-per-epoch", "2", "--batch-size", "8", "--quiet",
                               "--with-baseline"])
    assert res.exit_code == 0, res.output
    base = json.loads((ck / "single_class" / "classes.json").read_text())
    assert base["mode"] == "single_class"
    assert [c["token"] for c in base["classes"][:3]] == ["arm raise", "jumping jack", "squat"]   # whole labels
    res = runner.invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(ck), "--out", str(ev), "--quiet"])
    assert res.exit_code == 0, res.output
    report = json.loads((ev / "report.json").read_text())
    # Table 4: the baseline found in CHECKPOINT/single_class, the model, the counter
    assert [r["model"].split(" ")[0] for r in report["table4"]] == ["single-class", "LiFT", "training-free"]
    assert 0 <= report["single_class_baseline"]["detection"] <= 1
    assert {"detection", "obo", "mae", "relative_mae"} <= set(report["overall"])
    assert report["training_free_counter"]["counter_clips"] > 0
    assert (ev / "by_rep_count.png").is_file() and (ev / "by_label_length.png").is_file()
    assert "Table 3" in (ev / "report.md").read_text()
    store = ClipStore(release)
    npy = tmp_path / "clip.npy"
    np.save(npy, store.keypoints(store.ids[0]))
    res = runner.invoke(main, ["predict", str(npy), "--checkpoint", str(ck), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert 1 <= out["count"] <= 30 and isinstance(out["words"], list)


def test_cli_errors_are_one_line(release, tmp_path):
    from lift.cli import main
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(tmp_path),
                                    "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not a LiFT checkpoint" in res.output
    res = CliRunner().invoke(main, ["evaluate", "--release", str(tmp_path), "--checkpoint", str(tmp_path),
                                    "--out", str(tmp_path / "o")])   # the release is checked first
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "is not an Olympia store" in res.output


@pytest.mark.parametrize("command", ["train", "evaluate", "fewshot", "predict"])
def test_cli_help_has_examples(command):
    from lift.cli import main
    res = CliRunner().invoke(main, [command, "--help"])
    assert res.exit_code == 0 and "Examples:" in res.output


def test_crop_to_content_gives_the_same_logits_as_the_full_padded_image(loaded):
    from lift.model import crop_to_content
    tok, data = loaded
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config().model, tok.get_vocab_size(), len(data.vocab)).eval()
    b = {k: v.clone() for k, v in next(iterate_batches(data.splits["train"], data.cache, 4, shuffle=False)).items()}
    px, mk = crop_to_content(b["pixel_values"], b["pixel_mask"], 32)
    widest = int(data.cache.widths[data.splits["train"].clip_pos[b["index"].numpy()]].max())
    assert px.shape[2] == 320 and px.shape[3] == 32 * math.ceil(widest / 32)
    with torch.no_grad():   # ViLT on the full 384x640 tensors, bypassing the crop in LiftModel.forward
        full = model.vilt(input_ids=b["input_ids"].long(), attention_mask=b["attention_mask"].long(),
                          pixel_values=b["pixel_values"].float(), pixel_mask=b["pixel_mask"].long())
        cropped = model(b["input_ids"], b["attention_mask"], b["pixel_values"], b["pixel_mask"])
    torch.testing.assert_close(cropped, model.head(full.pooler_output), atol=1e-4, rtol=1e-4)


def test_question_sampling_and_length_buckets_keep_both_tasks(loaded):
    from lift.samples import sample_questions
    _, data = loaded
    train = data.splits["train"]
    rows = sample_questions(train, 1, np.random.default_rng(0))
    picked = train.qa.iloc[rows]
    # the synthetic release asks 2 identify + 2 count questions per clip: one of each is drawn
    assert picked.groupby(["clip_id", "task"]).size().eq(1).all()
    assert picked["clip_id"].nunique() == train.qa["clip_id"].nunique()
    widths = data.cache.widths[train.clip_pos]
    batches = epoch_batches(train.is_count, 4, np.random.default_rng(0), widths=widths, pool_batches=2)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(train)))
    assert all(train.is_count[b].any() and (~train.is_count[b]).any() for b in batches)


@pytest.fixture(scope="module")
def tiny_checkpoint(release, tmp_path_factory):
    from lift.train import train
    cfg = tiny_config()
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch = 1, 3
    out = tmp_path_factory.mktemp("ck") / "tiny"
    train(release, cfg, out, progress=False)
    return out


def test_fewshot_appends_unseen_words_and_learns_them(tiny_checkpoint, tmp_path):
    """Zero-shot then few-shot on a source whose label words the checkpoint never saw (§9)."""
    from lift.cli import main
    from lift.synthetic import UNSEEN_EXERCISES
    other = tmp_path / "other"
    write_synthetic_release(other, n_clips=12, seed=3, exercises=UNSEEN_EXERCISES + ("squat",), source="newsrc")
    old = json.loads((tiny_checkpoint / "classes.json").read_text())["classes"]
    runner = CliRunner()
    zs, fs = tmp_path / "zs", tmp_path / "fs"
    res = runner.invoke(main, ["fewshot", "--release", str(other), "--checkpoint", str(tiny_checkpoint),
                               "--source", "newsrc", "--shots", "0", "--out", str(zs), "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["fewshot", "--release", str(other), "--checkpoint", str(tiny_checkpoint),
                               "--source", "newsrc", "--shots", "6", "--epochs", "8", "--lr", "3e-3",
                               "--out", str(fs), "--quiet"])
    assert res.exit_code == 0, res.output
    z, f = (json.loads((d / "report.json").read_text()) for d in (zs, fs))
    assert z["protocol"] == "zero-shot" and f["protocol"] == "few-shot" and len(f["train_clips"]) == 6
    assert f["test_clips"] == 6 and not set(f["train_clips"]) & set(f["test_clip_ids"])
    new = json.loads((fs / "classes.json").read_text())["classes"]
    assert new[: len(old)] == old                              # stable indices: appended, never reordered
    assert [c["token"] for c in new[len(old):]] == ["knee"]
    # "knee" is in every knee-raise label: untrained its row cannot win, fine-tuned it must gain mass
    assert f["unseen_word_mass"] > 2 * z["unseen_word_mass"]
    # zero-shot, knee-raise clips score at most 1/2 (|{raise}| / |{knee, raise}|); few-shot can do better
    assert f["detection"] > z["detection"]
    assert "counter_obo" in f["training_free_counter"]


def _real_video(realdata):
    """A real exercise video: realdata/videos/ first, else an InfiniteRep render."""
    from conftest import SHARED
    for rel in (("videos", "pushup_test_fitness-action-eval.mp4"), ("infiniterep", "fitness-basic_000000.mp4")):
        if (SHARED / "realdata").joinpath(*rel).is_file():
            return (SHARED / "realdata").joinpath(*rel)
    return realdata("videos", "pushup_test_fitness-action-eval.mp4")   # skips, naming the path


def test_predict_on_a_real_video_through_the_pose_path(tiny_checkpoint, realdata):
    pytest.importorskip("mediapipe")
    from lift.cli import main
    video = _real_video(realdata)
    res = CliRunner().invoke(main, ["predict", str(video), "--checkpoint", str(tiny_checkpoint), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["input"] == str(video)
    assert out["frames"] > 100                                  # seconds of video at 25 fps
    assert 1 <= out["count"] <= 30 and 0 < out["count_confidence"] <= 1
    assert all(w in {"squat", "arm", "raise", "jumping", "jack"} and 0.05 <= p <= 1 for w, p in out["words"])
    assert isinstance(out["counter_count"], int)


def test_predict_reports_a_bad_input_and_goes_on(tiny_checkpoint, release, tmp_path):
    from lift.cli import main
    store = ClipStore(release)
    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, store.keypoints(store.ids[0]))
    np.save(bad, np.zeros((10, 5), np.float32))
    res = CliRunner().invoke(main, ["predict", str(bad), str(good), "--checkpoint", str(tiny_checkpoint)])
    assert res.exit_code == 2
    assert "bad.npy" in res.output and "(T, 17, 3)" in res.output
    assert any(line.startswith(f"{good}\t") and "count " in line for line in res.output.splitlines())


def test_streaming_images_equal_the_cache_and_train_from_shards(release, loaded, tmp_path):
    """--stream computes each motion image from the shards when a batch needs it: the batches
    are the same as with the up-front cache, in this process and in DataLoader workers."""
    from lift.images import StreamingImages
    from lift.train import train

    tok, data = loaded
    split = data.splits["train"]
    streaming = StreamingImages(release, data.clip_meta, data.cache.ids, keep=3)
    np.testing.assert_array_equal(streaming.widths, data.cache.widths)
    for pos in range(len(data.cache)):
        np.testing.assert_array_equal(streaming.image(pos), data.cache.image(pos))
    assert len(streaming._lru) == 3                                   # bounded memory
    for workers in (0, 2):
        a = list(iterate_batches(split, data.cache, 8, shuffle=True, seed=3, max_batches=2, num_workers=workers))
        b = list(iterate_batches(split, streaming, 8, shuffle=True, seed=3, max_batches=2, num_workers=workers))
        for x, y in zip(a, b):
            assert torch.equal(x["pixel_values"], y["pixel_values"]) and torch.equal(x["pixel_mask"], y["pixel_mask"])
    cfg = tiny_config()
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch, cfg.train.stream = 1, 2, True
    assert train(release, cfg, tmp_path / "run", progress=False)["epochs"] == 1


def test_checkpoint_records_the_release_build_fingerprint(release, tmp_path):
    """config.json names the exact build it was trained on: meta/info.json's build_fingerprint
    (the key the store writes), its format version and counts."""
    from lift.train import train
    info = json.loads((release / "meta" / "info.json").read_text())
    assert info["build_fingerprint"]                    # the synthetic release records one, as a recipe build does
    cfg = tiny_config()
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch = 1, 1
    out = tmp_path / "fp"
    train(release, cfg, out, progress=False)
    meta = json.loads((out / "config.json").read_text())
    assert meta["release_info"]["build_fingerprint"] == info["build_fingerprint"]
    assert meta["release_info"]["counts"] == info["counts"]
    assert meta["release"] == str(release.resolve()) and meta["checkpoint_version"] == 2
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]     # no temporary file left


def test_a_checkpoint_of_an_older_format_is_refused_with_the_fix(tiny_checkpoint, tmp_path):
    import shutil
    from olympia.errors import ConfigError
    old = tmp_path / "old"
    shutil.copytree(tiny_checkpoint, old)
    meta = json.loads((old / "config.json").read_text())
    del meta["checkpoint_version"]                      # what lift wrote before format 2
    (old / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match=r"format 1; this lift reads format 2: retrain it \(lift train"):
        load_checkpoint(old)


def test_a_checkpoint_with_options_this_lift_lacks(tiny_checkpoint, tmp_path):
    """A training option this lift does not know (count_balance was measured and removed)
    leaves the model as it is: the checkpoint loads, with a warning naming it, and predicts as
    before. An unknown model option is refused with one line naming the file and the option."""
    import shutil
    import torch
    from olympia.errors import ConfigError
    ref = load_checkpoint(tiny_checkpoint)[0]
    newer = tmp_path / "newer"
    shutil.copytree(tiny_checkpoint, newer)
    meta = json.loads((newer / "config.json").read_text())
    meta["config"]["train"]["count_balance"] = True
    (newer / "config.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="training options this lift does not know, left out: count_balance"):
        model, _, _, config, _ = load_checkpoint(newer)
    assert not hasattr(config.train, "count_balance")
    for a, b in zip(ref.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    meta["config"]["model"]["count_head_v2"] = "tempo"
    (newer / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match=r"newer/config.json: model options this lift does not know: count_head_v2"):
        load_checkpoint(newer)


def test_release_words_the_model_lacks_are_named(loaded):
    from olympia.errors import ConfigError
    from lift.samples import target_rows
    from lift.synthetic import word_categories
    _, data = loaded
    squat_only = Vocabulary.build(["squat"], word_categories())
    with pytest.raises(ConfigError, match=r"\['arm', 'jack', 'jumping', 'raise'\].*extend the vocabulary"):
        target_rows(data.splits["train"].qa, squat_only, data.release_vocab)


def test_motion_image_cache_saves_and_loads_atomically(loaded, tmp_path):
    from lift.images import MotionImageCache
    _, data = loaded
    path = tmp_path / "images.npz"
    data.cache.save(path)
    again = MotionImageCache.load(path)
    assert again.ids == data.cache.ids
    np.testing.assert_array_equal(again.widths, data.cache.widths)
    np.testing.assert_array_equal(again.flat, data.cache.flat)
    assert [p.name for p in tmp_path.iterdir()] == ["images.npz"]


def test_a_release_without_qa_shards_is_named(release, tmp_path):
    import shutil
    from olympia.errors import StoreIntegrityError
    from lift.samples import load_qa
    bare = tmp_path / "bare"
    shutil.copytree(release, bare)
    shutil.rmtree(bare / "data" / "qa")
    with pytest.raises(StoreIntegrityError, match=re.escape(f"{bare / 'data' / 'qa'} has no train QA shards")):
        load_qa(bare, "train")
