"""What LiFT refuses and how: a pickled payload in last.pt (never unpickled: one line), a
release with a damaged shard (sha256 checked once before train/evaluate/fewshot read it), a
release whose class indices disagree with the checkpoint's, bad skeletons in `lift predict`
(one error line each, the others answered, non-zero exit at the end), and the paper config
without its pretrained weights or without a GPU. Also the GPU path's loading of local ViLT
weights, exercised on CPU with a tiny ViLT saved in the Hugging Face layout."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from olympia.store import ClipStore

from lift.synthetic import UNSEEN_EXERCISES, write_synthetic_release


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("liftt") / "release"
    write_synthetic_release(out, n_clips=12, seed=1)
    return out


def _train(release, out, *extra):
    from lift.cli import main
    return CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(out), "--epochs", "1",
                                     "--max-steps-per-epoch", "1", "--batch-size", "8", "--quiet", *extra])


@pytest.fixture(scope="module")
def checkpoint(release, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckt") / "ck"
    res = _train(release, out)
    assert res.exit_code == 0, res.output
    return out


class _Payload:
    """What a crafted last.pt holds: unpickling it would run a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_resume_point_holds_only_tensors_and_plain_values(checkpoint):
    blob = torch.load(checkpoint / "last.pt", weights_only=True)      # raises if anything needs unpickling
    assert {"model", "optimizer", "state", "rng"} <= set(blob) and blob["state"]["epoch"] == 1


def test_a_pickled_payload_in_last_pt_is_refused_in_one_line_and_never_run(release, checkpoint, tmp_path):
    import shutil
    ck = tmp_path / "ck"
    shutil.copytree(checkpoint, ck)
    marker = tmp_path / "pwned"
    with open(ck / "last.pt", "wb") as f:
        pickle.dump({"model": _Payload(marker)}, f, protocol=2)
    res = _train(release, ck, "--epochs", "2")                         # would resume from last.pt
    assert res.exit_code == 2, res.output
    assert not marker.exists()                                         # the payload never ran
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "refused" in lines[0] and "last.pt" in lines[0] and "--no-resume" in lines[0]
    assert "Traceback" not in res.output
    res = _train(release, ck, "--no-resume")                           # the fix the line names
    assert res.exit_code == 0, res.output
    assert not marker.exists()


def test_resuming_restores_the_rng_exactly(release, tmp_path):
    """last.pt keeps numpy's and Python's RNG states as tensors; resuming restores them."""
    import random
    from lift.train import resume_from, save_resume_point
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters())
    np.random.seed(5), random.seed(5)
    np.random.normal(), random.random()
    save_resume_point(tmp_path / "last.pt", model, opt, {"epoch": 3, "best_val": 1.0})
    expected = (np.random.normal(size=3), random.random())
    np.random.seed(0), random.seed(0)
    state = resume_from(tmp_path, model, opt, "cpu", progress=False)
    assert state["epoch"] == 3
    np.testing.assert_array_equal(np.random.normal(size=3), expected[0])
    assert random.random() == expected[1]


@pytest.mark.parametrize("command", ["train", "evaluate", "fewshot"])
def test_a_shard_with_one_altered_byte_is_refused_before_the_run_in_one_line(release, checkpoint, tmp_path,
                                                                               command):
    """One byte of keypoints changed (the file keeps its size): the sha256 in meta/info.json no
    longer matches. Each command stops before it reads the data, naming the shard and the fix."""
    import shutil
    from lift.cli import main
    damaged = tmp_path / "damaged"
    shutil.copytree(release, damaged)
    shard = sorted((damaged / "data" / "clips").glob("*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    out = tmp_path / "out"
    args = {"train": ["train", "--epochs", "1", "--max-steps-per-epoch", "1", "--batch-size", "8"],
            "evaluate": ["evaluate", "--checkpoint", str(checkpoint), "--split", "all"],
            "fewshot": ["fewshot", "--checkpoint", str(checkpoint), "--source", "synthetic", "--shots", "2",
                        "--epochs", "1"]}[command]
    res = CliRunner().invoke(main, [*args, "--release", str(damaged), "--out", str(out), "--quiet"])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(shard) in lines[0] and "sha256" in lines[0], res.output
    assert "rebuild or re-download" in lines[0] and not out.exists()


def test_a_release_with_other_class_indices_is_refused_unless_mapped_by_token(checkpoint, tmp_path):
    from lift.cli import main
    other = tmp_path / "other"
    # "knee" sorts before "raise" and "squat": their class indices shift (arm 0 jack 1 jumping 2 raise 3 squat 4
    # in the checkpoint; knee 0 raise 1 squat 2 in this release)
    write_synthetic_release(other, n_clips=12, seed=3, exercises=UNSEEN_EXERCISES + ("squat",))
    runner = CliRunner()
    res = runner.invoke(main, ["evaluate", "--release", str(other), "--checkpoint", str(checkpoint),
                               "--out", str(tmp_path / "ev"), "--split", "all", "--quiet"])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "'raise' has index 1 in this release's vocabulary but 3" in lines[0]
    assert "--map-by-token" in lines[0] and not (tmp_path / "ev").exists()
    res = runner.invoke(main, ["evaluate", "--release", str(other), "--checkpoint", str(checkpoint),
                               "--out", str(tmp_path / "ev"), "--split", "all", "--map-by-token", "--quiet"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert "another build" in report["provenance"] and "matched by token" in report["provenance"]


def test_checkpoint_records_the_vocabulary_it_was_trained_on(release, checkpoint):
    import hashlib
    meta = json.loads((checkpoint / "config.json").read_text())
    vocab_file = release / "meta" / "vocabulary.json"
    assert meta["release_vocabulary_sha256"] == hashlib.sha256(vocab_file.read_bytes()).hexdigest()
    assert json.loads((checkpoint / "classes.json").read_text())["classes"] == json.loads(vocab_file.read_text())["classes"]


def test_evaluate_reports_confusion_per_source_and_exercise(release, checkpoint, tmp_path):
    from lift.cli import main
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(checkpoint),
                                    "--out", str(tmp_path / "ev"), "--quiet"])
    assert res.exit_code == 0, res.output
    import pandas as pd
    conf = pd.read_csv(tmp_path / "ev" / "confusion.csv")
    samples = pd.read_csv(tmp_path / "ev" / "samples.csv", keep_default_na=False)
    assert set(conf["label"]) == set(samples["label"]) | {"(all)"}
    ident = samples[samples["task"] == "identify"]
    for row in conf.itertuples():                      # recount the wrong words from samples.csv by hand
        rows = ident if row.label == "(all)" else ident[ident["label"] == row.label]
        wrong = [w for p, lab in zip(rows["predicted"], rows["label"]) for w in p.split() if w not in lab.split()]
        if wrong:
            top = max(sorted(set(wrong)), key=wrong.count)
            assert str(row.wrong_words).startswith(f"{top} ×{wrong.count(top)}")
        assert row.n_identify == len(rows)
    assert "Confusion per source" in (tmp_path / "ev" / "report.md").read_text()


@pytest.mark.parametrize("bad,why", [(np.full((30, 17, 3), np.nan, np.float32), "NaN/inf"),
                                     (np.full((30, 17, 3), np.inf, np.float32), "NaN/inf"),
                                     (np.zeros((0, 17, 3), np.float32), "at least 2 frames")])
def test_predict_goes_on_past_a_bad_skeleton_and_exits_non_zero(release, checkpoint, tmp_path, bad, why):
    from lift.cli import main
    store = ClipStore(release)
    good1, bad_path, good2 = tmp_path / "a.npy", tmp_path / "bad.npy", tmp_path / "c.npy"
    np.save(good1, store.keypoints(store.ids[0]))
    np.save(bad_path, bad)
    np.save(good2, store.keypoints(store.ids[1]))
    res = CliRunner().invoke(main, ["predict", str(good1), str(bad_path), str(good2), "--checkpoint", str(checkpoint)])
    assert res.exit_code == 2
    answered = [line for line in res.output.splitlines() if "\tcount " in line]
    assert [line.split("\t")[0] for line in answered] == [str(good1), str(good2)]
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad.npy" in errors[0] and why in errors[0]
    assert "Traceback" not in res.output


def test_paper_config_without_weights_is_one_line_naming_the_option(release, tmp_path, monkeypatch):
    monkeypatch.delenv("LIFT_PRETRAINED_VILT", raising=False)
    res = _train(release, tmp_path / "v", "--config", "vilt-b32")
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--pretrained-vilt" in lines[0] and "LIFT_PRETRAINED_VILT" in lines[0]
    monkeypatch.setenv("LIFT_PRETRAINED_VILT", str(tmp_path))          # a directory without weights
    res = _train(release, tmp_path / "v", "--config", "vilt-b32")
    assert res.exit_code == 2 and "no ViLT weights there" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_device_cuda_without_a_gpu_is_one_line(release, tmp_path):
    res = _train(release, tmp_path / "c", "--device", "cuda")
    assert res.exit_code == 2 and "no CUDA device" in res.output and "--device cpu" in res.output


def test_gpu_path_loads_local_vilt_weights_and_round_trips(release, tmp_path, monkeypatch):
    """The vilt-b32 path on CPU: pretrained weights and tokenizer from a local directory (the env
    variable), training, and a checkpoint that rebuilds that exact ViLT. A tiny ViLT stands in
    for ViLT-B/32 (same code path; 113 M parameters would not keep the suite fast)."""
    from transformers import ViltConfig, ViltModel
    from lift.checkpoint import load_checkpoint
    from lift.samples import release_questions
    from lift.tokenizer import save_tokenizer, train_wordpiece
    weights = tmp_path / "vilt-tiny"
    tok = train_wordpiece(release_questions(release), 200)
    torch.manual_seed(0)
    vilt = ViltModel(ViltConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=64, max_position_embeddings=40,
                                image_size=384, patch_size=32, max_image_length=200, layer_norm_eps=1e-6))
    vilt.save_pretrained(weights)
    save_tokenizer(tok, weights)                                  # the tokenizer beside the weights, as HF ships it
    monkeypatch.setenv("LIFT_PRETRAINED_VILT", str(weights))
    res = _train(release, tmp_path / "ck", "--config", "vilt-b32", "--device", "cpu")
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert meta["config"]["model"]["pretrained_vilt"] == str(weights.resolve())
    assert meta["config"]["model"]["pretrained_tokenizer"] == str(weights.resolve())     # found beside the weights
    assert meta["vilt_config"]["layer_norm_eps"] == 1e-6 and meta["vilt_config"]["max_image_length"] == -1
    model, *_ = load_checkpoint(tmp_path / "ck")
    assert model.vilt.config.hidden_size == 32 and model.vilt.config.layer_norm_eps == 1e-6


@pytest.mark.slow
def test_vilt_b32_shapes_forward_one_motion_image():
    """A random-weight ViLT-B/32 (the paper's shapes) takes a padded 384x640 motion image: 113 M
    parameters with the bert-base-uncased vocabulary, logits over the classes."""
    from lift.configs import get_config
    from lift.model import LiftModel, n_parameters
    cfg = get_config("vilt-b32")
    torch.manual_seed(0)
    model = LiftModel.build(cfg.model, 30522, 471).eval()
    assert 112e6 < n_parameters(model) < 115e6
    pixels = torch.zeros(1, 3, 384, 640)
    mask = torch.zeros(1, 384, 640, dtype=torch.bool)
    pixels[0, :, :320, :150] = torch.randn(3, 320, 150)
    mask[0, :320, :150] = True
    ids = torch.zeros(1, 40, dtype=torch.long)
    ids[0, :5] = torch.tensor([101, 2129, 2116, 1029, 102])
    att = (ids != 0).long()
    with torch.no_grad():
        logits = model(ids, att, pixels, mask)
    assert logits.shape == (1, 471) and torch.isfinite(logits).all()


def test_make_train_gpu_is_one_command_that_names_what_is_missing(release, tmp_path):
    """`make train-gpu`: the paper config, train then evaluate, on CUDA. Dry run: the commands;
    run on a machine without its weights or without CUDA: one line naming the fix."""
    import subprocess
    from conftest import REPO
    args = ["make", "-s", "-C", str(REPO), "train-gpu", f"RELEASE={release}", f"GPU_OUT={tmp_path / 'g'}",
            f"GPU_PY={REPO / '.venv' / 'bin' / 'python'}"]
    dry = subprocess.run(args + ["-n", "LIFT_PRETRAINED_VILT=/models/vilt-b32-mlm"], capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    lines = [line for line in dry.stdout.replace("\\\n", " ").splitlines() if "lift.cli" in line]
    assert len(lines) == 3 and "--config vilt-b32" in lines[0] and "--device cuda" in lines[0]
    assert "--pretrained-vilt /models/vilt-b32-mlm" in lines[0]
    assert "evaluate" in lines[1] and "--recut 2-8" in lines[2]
    env = {k: v for k, v in os.environ.items() if k != "LIFT_PRETRAINED_VILT"}
    run = subprocess.run(args, capture_output=True, text=True, env=env)
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--pretrained-vilt" in errors[0] and "Traceback" not in run.stderr
