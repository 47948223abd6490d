"""The rep-density count head (`lift train --count-head density`, lift.density): targets worked
out by hand from known rep bounds, the read-out, the token -> patch-column mapping against
ViLT's own patch index, training, and checkpoints (new and old) on a tiny synthetic release."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from olympia.store import ClipStore

from lift.batches import iterate_batches
from lift.checkpoint import load_checkpoint
from lift.configs import IMAGE_WIDTH
from lift.density import (count_from_density, density_loss, patch_column_mass, rep_column_mass,
                          rep_spans_in_columns)
from lift.model import LiftModel, crop_to_content, patch_columns
from lift.samples import Recut, load_release, release_questions
from lift.synthetic import write_synthetic_release
from lift.tokenizer import train_wordpiece
from test_lift import tiny_config as lift_tiny_config


def tiny_config(count_head: str = "density"):
    return lift_tiny_config(count_head)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("liftd") / "release"
    write_synthetic_release(out, n_clips=12, seed=3)
    return out


@pytest.fixture(scope="module")
def tok(release):
    return train_wordpiece(release_questions(release), 300)


# ------------------------------------------------------------------ targets, by hand
def test_two_reps_spread_their_mass_over_their_own_columns():
    # rep 1 over columns [0, 3): 1/3 in each; rep 2 over [3, 5): 1/2 in each; column 5 empty
    np.testing.assert_allclose(rep_column_mass([[0, 3], [3, 5]], 6), [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0.0], atol=1e-6)
    # a rep over [0.5, 2.5): a quarter in column 0, half in column 1, a quarter in column 2
    np.testing.assert_allclose(rep_column_mass([[0.5, 2.5]], 4), [0.25, 0.5, 0.25, 0.0], atol=1e-6)
    assert rep_column_mass(np.zeros((0, 2)), 3).tolist() == [0, 0, 0]


def test_patch_columns_integrate_the_image_columns():
    # reps over image columns [0, 40) and [40, 100), patches of 32 columns:
    # patch 0: 32/40 of rep 1 = 0.8; patch 1: 8/40 of rep 1 + 24/60 of rep 2 = 0.6;
    # patch 2: 32/60 of rep 2; patch 3: 4/60 of rep 2
    cols = torch.from_numpy(rep_column_mass([[0, 40], [40, 100]], 128))[None]
    np.testing.assert_allclose(patch_column_mass(cols, 32)[0].numpy(), [0.8, 0.6, 32 / 60, 4 / 60], atol=1e-6)
    # a width that is not a multiple of the patch is padded, not dropped
    np.testing.assert_allclose(patch_column_mass(cols[:, :100], 32)[0].numpy(), [0.8, 0.6, 32 / 60, 4 / 60], atol=1e-6)


def test_frames_map_to_columns_and_only_the_windows_reps_count():
    # reps at frames [10, 60), [60, 120), [120, 170); the window [60, 170) is 110 frames shown
    # in 55 columns (native axis: 2 frames per column), so its two reps span columns [0, 30), [30, 55)
    spans = rep_spans_in_columns([[10, 60], [60, 120], [120, 170]], 55, 60, 170)
    np.testing.assert_allclose(spans, [[0, 30], [30, 55]])
    # the same window resampled to 640 columns (fit axis / tempo): 640/110 columns per frame
    np.testing.assert_allclose(rep_spans_in_columns([[60, 120], [120, 170]], 640, 60, 170),
                               [[0, 60 * 640 / 110], [60 * 640 / 110, 640]])


def test_count_is_the_rounded_density_sum_clamped_to_the_integer_classes():
    assert count_from_density(np.array([2.4, 2.6, 7.49, -0.3, 99.0]), np.arange(0, 31)).tolist() == [2, 3, 7, 0, 30]
    assert count_from_density(np.array([0.2, 31.0]), np.arange(1, 31)).tolist() == [1, 30]


def test_density_loss_by_hand_skips_rows_without_reps():
    # patch of 2 columns; target per column [0.5, 0.5, 0.25, 0.25] -> per patch [1.0, 0.5];
    # density [0.8, 0.9]: squared error 0.04 + 0.16 = 0.2, count error |1.7 - 1.5| = 0.2 -> 0.4
    density = torch.tensor([[0.8, 0.9], [5.0, 5.0]])
    valid = torch.ones(2, 2)
    target = torch.tensor([[0.5, 0.5, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0]])
    loss = density_loss(density, valid, target, torch.tensor([True, False]), patch=2)
    assert float(loss) == pytest.approx(0.4)
    # an invalid column's density is not counted: column 1 masked -> (0.8 - 1)² + 0.5² + |0.8 - 1.5|
    loss = density_loss(density, torch.tensor([[1.0, 0.0], [1.0, 1.0]]), target, torch.tensor([True, False]), 2)
    assert float(loss) == pytest.approx(0.04 + 0.25 + 0.7)
    assert float(density_loss(density, valid, target, torch.tensor([False, False]), 2)) == 0.0


# ------------------------------------------------------------------ data: spans and batches

def test_cumulative_count_term_by_hand_charges_mass_moved_between_reps():
    """Two reps of 4 columns (target 0.25 a column). A density of 0.2 over the first rep and 0.3
    over the second sums to 2, right, so the count error is 0 and the squared error only
    8 x 0.05² = 0.02. Its count so far is off at every column: |0.2k - 0.25k| for k = 1..4, then
    0.15, 0.1, 0.05, 0: 0.8 over 8 columns, 0.1 a column. Padding columns are not counted."""
    target = torch.full((1, 8), 0.25)
    density = torch.tensor([[0.2] * 4 + [0.3] * 4])
    valid, has = torch.ones(1, 8), torch.tensor([True])
    assert float(density_loss(density, valid, target, has, patch=1)) == pytest.approx(0.02)
    assert float(density_loss(density, valid, target, has, patch=1, cdf_weight=1.0)) == pytest.approx(0.12)
    assert float(density_loss(density, valid, target, has, patch=1, cdf_weight=2.0)) == pytest.approx(0.22)
    padded = torch.nn.functional.pad(density, (0, 3), value=0.7)
    mask = torch.tensor([[1.0] * 8 + [0.0] * 3])
    assert float(density_loss(padded, mask, target, has, patch=1, cdf_weight=1.0)) == pytest.approx(0.12)
    # one rep of mass in each rep, uneven inside it: the count so far is off by 0.15, 0.1, 0.05, 0
    # twice, 0.6 / 8 = 0.075 a column, and right at the rep bound
    inside = torch.tensor([[0.4, 0.2, 0.2, 0.2, 0.1, 0.3, 0.3, 0.3]])
    cdf = (float(density_loss(inside, valid, target, has, patch=1, cdf_weight=1.0))
           - float(density_loss(inside, valid, target, has, patch=1)))
    assert cdf == pytest.approx(0.075)

def test_count_rows_carry_their_reps_spans_and_batches_their_masses(release, tok):
    meta = ClipStore(release).metadata(columns=["id", "rep_bounds", "n_frames", "reps"]).set_index("id")
    data = load_release(release, tok, None, splits=("train", "test"), workers=1, progress=False,
                        recut={"test": Recut(2, 8, per_count=1)}, rep_targets=True)
    train, test = data.splits["train"], data.splits["test"]
    # a whole clip on the native axis: its rep bounds in frames, halved (12.5 columns per second)
    for row in np.flatnonzero(train.is_count)[:5]:
        cid = train.qa["clip_id"][row]
        width = data.cache.widths[train.clip_pos[row]]
        assert width == math.ceil(meta.at[cid, "n_frames"] / 2)
        expected = np.asarray(meta.at[cid, "rep_bounds"].tolist(), float) * width / meta.at[cid, "n_frames"]
        np.testing.assert_allclose(train.rep_spans[row], expected)
    assert all(train.rep_spans[i] is None for i in np.flatnonzero(~train.is_count))
    # a window: its own reps only, from its first frame
    for row in np.flatnonzero(test.is_count)[:5]:
        parent, start, end = data.windows[test.qa["clip_id"][row]]
        rb = [b for b in meta.at[parent, "rep_bounds"].tolist() if b[0] >= start and b[1] <= end]
        width = data.cache.widths[test.clip_pos[row]]
        np.testing.assert_allclose(test.rep_spans[row], (np.asarray(rb, float) - start) * width / (end - start))
        assert len(rb) == test.qa["reps"][row]
    batch = next(iterate_batches(test, data.cache, 8, shuffle=False))
    for slot, row in enumerate(batch["index"].tolist()):
        mass, width = batch["rep_mass"][slot].numpy(), data.cache.widths[test.clip_pos[row]]
        if test.is_count[row]:
            assert bool(batch["has_reps"][slot]) and mass.sum() == pytest.approx(test.qa["reps"][row], abs=1e-4)
            assert not mass[int(width):].any()                   # no mass beyond the clip
            a, b = test.rep_spans[row][0]                        # the first rep's columns fully inside it
            inside = np.arange(math.ceil(a), math.floor(b))
            np.testing.assert_allclose(mass[inside], 1 / (b - a), rtol=1e-5)
        else:
            assert not bool(batch["has_reps"][slot]) and not mass.any()
    assert batch["rep_mass"].shape[1] == IMAGE_WIDTH


# ------------------------------------------------------------------ the head
def assert_tokens_pool_into_their_patch_columns(model, widths, patch: tuple[int, int]):
    """Images of `widths` clip columns (rows 0..319 valid): with the position embeddings zeroed
    (a token is then its patch's embedding alone), each pooled patch column equals the mean of
    its patches' embeddings computed from the pixels, whatever order ViLT shuffled them in.
    Returns (pixels, mask) as given to the model."""
    rows, cols = patch
    px = torch.randn(len(widths), 3, 384, IMAGE_WIDTH)
    mask = torch.zeros(len(widths), 384, IMAGE_WIDTH, dtype=torch.bool)
    for i, w in enumerate(widths):
        mask[i, :320, :w] = True
    pv, pm = crop_to_content(px * mask[:, None], mask, patch)
    assert pm.shape[1] == 320 and pm.shape[2] == math.ceil(max(widths) / cols) * cols
    with torch.no_grad():
        model.vilt.embeddings.position_embeddings.zero_()
    x, _, (index, _) = model.vilt.embeddings.visual_embed(pv, pm.long(), max_image_length=-1)
    columns, valid = patch_columns(x[:, 1:], index, pm, patch)
    assert valid.sum(dim=1).tolist() == [math.ceil(w / cols) for w in widths]
    proj = model.vilt.embeddings.patch_embeddings.projection
    for i, w in enumerate(widths):
        for c in range(math.ceil(w / cols)):
            cells = [pv[i, :, rows * r:rows * (r + 1), cols * c:cols * (c + 1)] for r in range(320 // rows)]
            expected = torch.stack([(proj.weight * cell).sum(dim=(1, 2, 3)) + proj.bias for cell in cells]).mean(0)
            torch.testing.assert_close(columns[i, c], expected, atol=1e-4, rtol=1e-4)
    return px, mask


def test_each_token_is_pooled_into_its_own_patch_column():
    """ViLT shuffles the valid patches of the batch's widest image; the pooling must follow
    ViLT's own patch index, not the row-major order. Column c of 32 x 32 patches: its 10 image
    patches (rows 0..319) over image columns [32c, 32c + 32)."""
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config().model, 100, 10).eval()
    px, mask = assert_tokens_pool_into_their_patch_columns(model, [100, 64, 300], (32, 32))
    _, density, dvalid = model(torch.zeros(3, 40, dtype=torch.long), torch.ones(3, 40), px * mask[:, None], mask,
                               density=True)
    assert (density >= 0).all() and not density[dvalid == 0].any()


def fit_one_count_batch(release, tok, count_head: str, steps: int):
    """Train a tiny model with `count_head` (Adam, 3e-3) for `steps` steps on one batch of 8
    counting questions of `release`'s train split: (mean |continuous count - reps|, loss) per step."""
    from lift.evaluate import model_loss
    from lift.loss import weighted_softmax_ce
    data = load_release(release, tok, None, splits=("train",), workers=1, progress=False, rep_targets=True)
    train = data.splits["train"]
    counts = train.take(np.flatnonzero(train.is_count)[:8])
    batch = next(iterate_batches(counts, data.cache, 8, shuffle=False))
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config(count_head).model, tok.get_vocab_size(), len(data.vocab))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    reps = torch.tensor(counts.qa["reps"].to_numpy(float)[batch["index"].numpy()])
    errors, losses = [], []
    for _ in range(steps):
        loss, _, count = model_loss(model, batch, weighted_softmax_ce)
        errors.append(float((count.detach() - reps).abs().mean()))
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return errors, losses


def test_a_few_steps_fit_the_rep_density(release, tok):
    """Training moves the density sum toward the true counts of a batch (the loss falls)."""
    errors, _ = fit_one_count_batch(release, tok, "density", 40)
    assert errors[-1] < 0.5 * errors[0] and errors[-1] < 1.0


# ------------------------------------------------------------------ CLI, checkpoints
def train_checkpoint(release, out, *args):
    """`lift train` for 1 epoch of 2 steps on rep-diverse windows, with `args` (the count head)."""
    from lift.cli import main
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(out), "--epochs", "1",
                                    "--max-steps-per-epoch", "2", "--batch-size", "8", "--recut", "2-8", "--quiet",
                                    *args])
    assert res.exit_code == 0, res.output
    return out


def assert_round_trips(checkpoint, count_head: str, module: str | None = None):
    """The checkpoint records `count_head`, saves that head's weights (the model's `module`, by
    default named as the head) and loads every weight back."""
    cfg = json.loads((checkpoint / "config.json").read_text())["config"]
    assert cfg["model"]["count_head"] == count_head
    model, _, _, config, _ = load_checkpoint(checkpoint)
    assert model.count_head == count_head and config.model.count_head == count_head
    saved = torch.load(checkpoint / "model.pt", weights_only=True)
    assert any(k.startswith(f"{module or count_head}.") for k in saved)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, saved[k])
    return model, cfg


def evaluate_counts(checkpoint, release, out):
    """`lift evaluate --recut 2-8`: (its output, the count rows of samples.csv)."""
    import pandas as pd
    from lift.cli import main
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(checkpoint),
                                    "--out", str(out), "--recut", "2-8", "--quiet"])
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out / "samples.csv")
    return res.output, s[s["task"] == "count"]


@pytest.fixture(scope="module")
def density_checkpoint(release, tmp_path_factory):
    return train_checkpoint(release, tmp_path_factory.mktemp("ckd") / "ck", "--count-head", "density",
                            "--density-weight", "0.5")


def test_the_checkpoint_records_the_count_head_and_round_trips(density_checkpoint):
    model, cfg = assert_round_trips(density_checkpoint, "density")
    assert cfg["train"]["density_weight"] == 0.5 and model.phase is None


def test_evaluate_answers_counts_by_density_and_reports_the_class_answer(density_checkpoint, release, tmp_path):
    output, cnt = evaluate_counts(density_checkpoint, release, tmp_path / "ev")
    assert "class answer: OBO" in output
    assert len(cnt) and cnt["density_sum"].notna().all()
    assert (cnt["pred_count"] == np.clip(np.rint(cnt["density_sum"]), 0, 30)).all()
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    gt = cnt["reps"].to_numpy()
    assert report["overall"]["mae"] == pytest.approx(np.abs(cnt["pred_count"].to_numpy() - gt).mean())
    assert report["overall"]["class_mae"] == pytest.approx(np.abs(cnt["pred_count_classes"].to_numpy() - gt).mean())


def test_predict_counts_by_density(density_checkpoint, release):
    from lift.predict import predict_skeleton
    model, tok, vocab, config, _ = load_checkpoint(density_checkpoint)
    store = ClipStore(release)
    r = predict_skeleton(model, tok, vocab, store.keypoints(sorted(store.index.index)[0]), exercise="squat")
    assert r["count"] == count_from_density(np.array([r["density_sum"]]), vocab.integer_values())[0]
    assert r["count_classes"] in vocab.integer_values().tolist()


def test_a_checkpoint_without_the_option_loads_as_the_papers_class_count(release, tmp_path):
    """Checkpoints written before --count-head have no count_head key: they load with the
    paper's class count and their weights (no density head)."""
    from lift.train import train
    cfg = tiny_config("classes")
    cfg.train.max_epochs, cfg.train.max_steps_per_epoch = 1, 1
    train(release, cfg, tmp_path / "old", progress=False)
    path = tmp_path / "old" / "config.json"
    meta = json.loads(path.read_text())
    del meta["config"]["model"]["count_head"], meta["config"]["train"]["density_weight"]
    path.write_text(json.dumps(meta))
    model, _, _, config, _ = load_checkpoint(tmp_path / "old")
    assert model.count_head == "classes" and model.density is None and config.model.count_head == "classes"
    assert not any(k.startswith("density.") for k in model.state_dict())


def test_an_unknown_count_head_is_refused(release, tmp_path):
    from lift.cli import main
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "x"),
                                    "--count-head", "regression"])
    assert res.exit_code == 2 and "regression" in res.output


def test_evaluate_averages_repeated_checkpoints(density_checkpoint, release, tmp_path):
    """`lift evaluate --checkpoint A --checkpoint B`: each count is the rounded mean of A's and
    B's continuous counts, the report names both, and Table 4 says it is a mean."""
    import pandas as pd
    from lift.cli import main
    other = train_checkpoint(release, tmp_path / "seed1", "--count-head", "density", "--density-weight", "0.5",
                             "--seed", "1")
    _, a = evaluate_counts(density_checkpoint, release, tmp_path / "a")
    _, b = evaluate_counts(other, release, tmp_path / "b")
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(density_checkpoint),
                                    "--checkpoint", str(other), "--out", str(tmp_path / "ab"), "--recut", "2-8",
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    s = pd.read_csv(tmp_path / "ab" / "samples.csv")
    both = s[s["task"] == "count"].merge(a[["qa_id", "density_sum"]], on="qa_id", suffixes=("", "_a")) \
        .merge(b[["qa_id", "density_sum"]], on="qa_id", suffixes=("", "_b"))
    assert len(both) == len(a) == len(b) > 0
    mean = (both["density_sum_a"] + both["density_sum_b"]) / 2
    assert not np.allclose(both["density_sum_a"], both["density_sum_b"])   # two different models
    np.testing.assert_allclose(both["density_sum"], mean, rtol=1e-5)
    assert (both["pred_count"] == np.clip(np.rint(mean), 0, 30)).all()
    report = json.loads((tmp_path / "ab" / "report.json").read_text())
    assert report["checkpoint"] == [str(density_checkpoint), str(other)]
    assert "mean of 2 checkpoints" in report["table4"][0]["model"]


def test_evaluate_refuses_to_average_checkpoints_of_different_count_heads(density_checkpoint, release, tmp_path):
    from lift.cli import main
    classes = train_checkpoint(release, tmp_path / "classes", "--count-head", "classes")
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(density_checkpoint),
                                    "--checkpoint", str(classes), "--out", str(tmp_path / "x"), "--quiet"])
    assert res.exit_code != 0
    assert "rep head" in res.output and str(classes) in res.output
    assert not (tmp_path / "x").exists()


def test_replay_mean_averages_each_question_over_its_tempos():
    """Two questions, the first asked at two more tempos, the second at one: their answers are
    the means over their own rows (by hand), in the order they were asked."""
    import pandas as pd
    from lift.evaluate import replay_mean
    from lift.samples import REPLAY_OF

    class Rows:
        qa = pd.DataFrame({"qa_id": ["a", "b", "a@2x", "b@2x", "a@3x"],
                           REPLAY_OF: ["a", "b", "a", "b", "a"]})
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8], [0.0, 1.0]])
    rows, mean, density = replay_mean(Rows, probs, np.array([3.0, 5.0, 4.0, 6.0, 5.6]))
    assert rows.tolist() == [0, 1]
    np.testing.assert_allclose(mean, [[0.5, 0.5], [0.1, 0.9]])
    np.testing.assert_allclose(density, [(3.0 + 4.0 + 5.6) / 3, (5.0 + 6.0) / 2])
    assert replay_mean(Rows, probs, None)[2] is None


def test_evaluate_replays_each_window_at_another_tempo_and_averages_the_counts(density_checkpoint, release, tmp_path):
    """`lift evaluate --recut 2-8 --replay-speeds 1.25`: each count is the rounded mean of the
    window's density sum and that of the same window played 1.25x faster, computed here through
    the training's tempo augmentation (Recut speeds), another path to the same images."""
    import pandas as pd
    from lift.cli import main
    from lift.evaluate import model_outputs, sample_scores
    from lift.samples import Recut
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(density_checkpoint),
                                    "--out", str(tmp_path / "r"), "--recut", "2-8", "--replay-speeds", "1.25",
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    assert "played at 1.25x" in res.output
    s = pd.read_csv(tmp_path / "r" / "samples.csv")
    model, tok, vocab, config, _ = load_checkpoint(density_checkpoint)
    out = model_outputs(model, tok, vocab, config, release, split="test", progress=False,
                        recut=Recut(2, 8, per_count=1, speeds=(1.0, 1.25)))
    both = sample_scores(out.probs, out.data.splits["test"], out.vocab, density_sum=out.density_sum)
    both = both[both["task"] == "count"].set_index("qa_id")["density_sum"]
    cnt = s[s["task"] == "count"]
    assert len(cnt) and not cnt["clip_id"].str.contains("@").any()    # only the questions asked
    fast = both.loc[[q.replace("#", "@1.25x#", 1) for q in cnt["qa_id"]]].to_numpy()
    mean = (both.loc[cnt["qa_id"]].to_numpy() + fast) / 2
    np.testing.assert_allclose(cnt["density_sum"], mean, rtol=1e-4)
    assert (cnt["pred_count"] == np.clip(np.rint(mean), 0, 30)).all()
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["replay_speeds"] == [1.0, 1.25]
    bad = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(density_checkpoint),
                                    "--out", str(tmp_path / "x"), "--replay-speeds", "fast"])
    assert bad.exit_code == 2 and "--replay-speeds" in bad.output
