"""The self-similarity count head (`lift train --count-head similarity`, lift.similarity): the
similarity band worked out by hand, the head's column layout and its blindness to the question,
training on a batch, and the CLI round trip on a tiny synthetic release; the same for its rep
length output (`--count-head period`), with its targets worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from olympia.store import ClipStore

from lift.checkpoint import load_checkpoint
from lift.density import count_from_density
from lift.model import LiftModel
from lift.samples import release_questions
from lift.similarity import PERIODS, SimilarityHead, period_density, period_loss, period_targets, similarity_band
from lift.synthetic import write_synthetic_release
from lift.tokenizer import train_wordpiece
from test_lift import tiny_config
from test_lift_density import assert_round_trips, evaluate_counts, fit_one_count_batch, train_checkpoint
from test_lift_phase import assert_reports_clips_of_100_and_40_columns, clips_of_100_and_40_columns


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("lifts") / "release"
    write_synthetic_release(out, n_clips=12, seed=7)
    return out


@pytest.fixture(scope="module")
def tok(release):
    return train_wordpiece(release_questions(release), 300)


# ------------------------------------------------------------------ the band, by hand
def test_the_band_compares_each_column_with_its_neighbours_up_to_the_reach():
    # one-number poses 0, 1, 0, 1, 3: squared distances 0 (same pose) or 1, 9, 4 (to the 3). The
    # band's 19 pairs (3, 4, 5, 4, 3 per column) sum to 0+1+0, 1+0+1+0, 0+1+0+1+9, 0+1+0+4, 9+4+0
    # = 32: mean 32/19, so a temperature of 19/16 divides each distance by 2
    e = torch.tensor([[[0.0, 1.0, 0.0, 1.0, 3.0]]])                     # (B=1, D=1, W=5)
    band = similarity_band(e, torch.ones(1, 5), max_offset=2, temperature=torch.tensor(19 / 16))
    assert band.shape == (1, 5, 5)                                        # offsets -2..2, columns 0..4
    s = band[0].T                                                         # (column, offset + 2)
    e1, e9, e4 = math.exp(-1 / 2), math.exp(-9 / 2), math.exp(-4 / 2)
    torch.testing.assert_close(s[0], torch.tensor([0, 0, 1, e1, 1]))      # nothing before column 0
    torch.testing.assert_close(s[2], torch.tensor([1, e1, 1, e1, e9]))
    torch.testing.assert_close(s[4], torch.tensor([e9, e4, 1, 0, 0]))     # nothing past the end


def test_padding_columns_neither_compare_nor_are_compared():
    e = torch.tensor([[[0.0, 1.0, 0.0, 1.0, 3.0]]])
    valid = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0]])                     # a 3-column clip, padded to 5
    # the 9 pairs inside the clip: 0+1+0, 1+0+1, 0+1+0 = 4, mean 4/9; a temperature of 4.5 divides by 2
    s = similarity_band(e, valid, max_offset=2, temperature=torch.tensor(4.5))[0].T
    assert not s[3:].any()
    torch.testing.assert_close(s[1], torch.tensor([0, math.exp(-1 / 2), 1, math.exp(-1 / 2), 0]))


def test_a_pose_that_recurs_every_period_peaks_at_that_offset():
    """Distances, not embeddings' order: a pose cycle of 8 columns is back to itself at ±8, ±16
    and nowhere else, whatever the cycle's shape."""
    t = torch.arange(64.0)
    e = torch.stack([torch.sin(2 * math.pi * t / 8), torch.cos(2 * math.pi * t / 8)])[None]
    s = similarity_band(e, torch.ones(1, 64), max_offset=20, temperature=torch.tensor(0.1))[0].T   # (64, 41)
    offsets = torch.arange(-20, 21)
    peaks = offsets[s[32] > 0.99]
    assert peaks.tolist() == [-16, -8, 0, 8, 16]


def test_a_smaller_motion_recurs_as_sharply():
    """The same pose cycle at a tenth of its size (a push-up against a squat) gives the same band."""
    t = torch.arange(40.0)
    e = torch.stack([torch.sin(2 * math.pi * t / 10), torch.cos(2 * math.pi * t / 7)])[None]
    big = similarity_band(e, torch.ones(1, 40), max_offset=12, temperature=torch.tensor(0.5))
    small = similarity_band(0.1 * e, torch.ones(1, 40), max_offset=12, temperature=torch.tensor(0.5))
    torch.testing.assert_close(small, big)
    assert float(big.min()) < 0.05          # not flat: far poses are told apart


# ------------------------------------------------------------------ the head and the model
def test_the_head_gives_a_non_negative_density_per_image_column_zero_past_the_clip():
    torch.manual_seed(0)
    head = SimilarityHead(max_offset=16)
    valid = torch.zeros(2, 96)
    valid[0, :96], valid[1, :40] = 1, 1
    with torch.no_grad():
        density = head(torch.randn(2, 3, 384, 96), valid)
    assert density.shape == (2, 96)
    assert (density >= 0).all() and not density[1, 40:].any() and (density[0] > 0).all()
    # before training: about one rep per 30 columns (2.4 s on the native axis)
    assert float(density[0].mean()) == pytest.approx(1 / 30, rel=0.5)


def test_the_model_counts_per_image_column_whatever_the_question(release, tok):
    """The head sees the motion image only: two different questions give the same density, and
    the count is its sum over the clip's image columns."""
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config("similarity").model, tok.get_vocab_size(), 20).eval()
    assert model.rep_patch == 1 and model.density is None and model.phase is None
    px, mask = clips_of_100_and_40_columns()
    ids_a = torch.randint(1, tok.get_vocab_size(), (2, 40))
    ids_b = torch.randint(1, tok.get_vocab_size(), (2, 40))
    with torch.no_grad():
        logits_a, dens_a, valid = model(ids_a, torch.ones(2, 40), px, mask, density=True)
        logits_b, dens_b, _ = model(ids_b, torch.ones(2, 40), px, mask, density=True)
    assert dens_a.shape == (2, 128)
    assert_reports_clips_of_100_and_40_columns(valid)
    torch.testing.assert_close(dens_a, dens_b)
    assert not torch.allclose(logits_a, logits_b)          # the answer head does read the question
    torch.testing.assert_close(model.rep_count(dens_a, valid), dens_a.sum(dim=1))


@pytest.mark.parametrize("count_head", ["similarity", "period"])
def test_a_few_steps_fit_the_rep_density(release, tok, count_head):
    """Training moves the head's count (its density's sum; for "period" 1 / the rep length it
    gives each column) toward the true counts of a batch."""
    errors, _ = fit_one_count_batch(release, tok, count_head, 40)
    assert errors[-1] < 0.5 * errors[0] and errors[-1] < 1.0


# ------------------------------------------------------------------ CLI, checkpoints
@pytest.fixture(scope="module")
def similarity_checkpoint(release, tmp_path_factory):
    return train_checkpoint(release, tmp_path_factory.mktemp("cks") / "ck", "--count-head", "similarity",
                            "--patch", "64x32")


def test_the_checkpoint_records_the_similarity_head_and_round_trips(similarity_checkpoint):
    model, cfg = assert_round_trips(similarity_checkpoint, "similarity")
    assert model.similarity is not None and cfg["model"]["patch_shape"] == [64, 32]


def test_evaluate_and_predict_count_by_the_similarity_density(similarity_checkpoint, release, tmp_path):
    output, cnt = evaluate_counts(similarity_checkpoint, release, tmp_path / "ev")
    assert "class answer: OBO" in output
    model, tok, vocab, _, _ = load_checkpoint(similarity_checkpoint)
    lo, hi = vocab.integer_values().min(), vocab.integer_values().max()
    assert len(cnt) and cnt["density_sum"].notna().all()
    assert (cnt["pred_count"] == np.clip(np.rint(cnt["density_sum"]), lo, hi)).all()
    from lift.predict import predict_skeleton
    store = ClipStore(release)
    r = predict_skeleton(model, tok, vocab, store.keypoints(sorted(store.index.index)[0]), exercise="squat")
    assert r["count"] == count_from_density(np.array([r["density_sum"]]), vocab.integer_values())[0]


# ------------------------------------------------------------------ the rep length (--count-head period)
def test_period_targets_peak_at_the_rep_length_and_mark_columns_in_no_rep():
    """Rep mass per column (lift.density.rep_column_mass): two idle columns, a rep 6 columns long
    (1/6 each), then a rep 40 long. The grid's lengths are 9% apart (4 to 256 columns): the target
    peaks at the grid length nearest 6 (6.17) and 40 (41.5), falls to exp(-1/2) one step away, and
    the idle columns' target is all "in no rep"."""
    m = torch.zeros(1, 12)
    m[0, 2:8], m[0, 8:] = 1 / 6, 1 / 40
    t = period_targets(m)[0]
    assert t.shape == (12, len(PERIODS) + 1)
    torch.testing.assert_close(t.sum(dim=1), torch.ones(12))
    assert t[:2, -1].tolist() == [1.0, 1.0] and not t[2:, -1].any()
    k6, k40 = int(t[4].argmax()), int(t[9].argmax())
    assert float(PERIODS[k6]) == pytest.approx(6.17, abs=0.01) and float(PERIODS[k40]) == pytest.approx(41.5, abs=0.1)
    assert float(t[4, k6 + 1] / t[4, k6]) == pytest.approx(math.exp(-0.5 * ((math.log(PERIODS[k6 + 1] / 6)) ** 2 -
                                                                          (math.log(PERIODS[k6] / 6)) ** 2)
                                                                  / (math.log(64) / 48) ** 2), rel=1e-4)


def test_the_period_head_counts_one_over_the_rep_length():
    """With its output forced to one length (bias 30 on that class, weights 0), every column's
    density is 1 / that length, zero past the clip; forced to "in no rep", zero. The length's
    cross-entropy is least, the target's own entropy, when the head says the target."""
    torch.manual_seed(0)
    head = SimilarityHead(max_offset=16, periods=True)
    out = head.density[-1]
    valid = torch.zeros(1, 64)
    valid[0, :48] = 1
    with torch.no_grad():
        out.weight.zero_()
        k = int(torch.argmin((PERIODS - 16).abs()))
        out.bias.zero_()
        out.bias[k] = 30.0
        density, logits = head(torch.randn(1, 3, 384, 64), valid)
        assert logits.shape == (1, 64, len(PERIODS) + 1)
        torch.testing.assert_close(density[0, :48], torch.full((48,), float(1 / PERIODS[k])))
        assert not density[0, 48:].any()
        mass = torch.full((1, 64), 1 / 16)   # every column in a rep 16 columns long
        target = period_targets(mass[:, :1])[0, 0]
        entropy = float(-(target * torch.log(target.clamp(min=1e-30))).sum())
        one_length = float(period_loss(logits, valid, mass, torch.tensor([True])))
        out.bias.copy_(torch.log(target.clamp(min=1e-30)))      # saying the target itself: its entropy, the least
        _, logits = head(torch.randn(1, 3, 384, 64), valid)
        assert float(period_loss(logits, valid, mass, torch.tensor([True]))) == pytest.approx(entropy, abs=1e-4)
        assert one_length > entropy + 1
        out.bias.zero_()
        out.bias[-1] = 30.0
        assert float(head(torch.randn(1, 3, 384, 64), valid)[0].abs().max()) < 1e-9


@pytest.fixture(scope="module")
def period_checkpoint(release, tmp_path_factory):
    return train_checkpoint(release, tmp_path_factory.mktemp("ckp") / "ck", "--count-head", "period",
                            "--patch", "64x32", "--density-cdf", "1")


def test_the_period_checkpoint_round_trips_and_counts_by_its_density(period_checkpoint, release, tmp_path):
    model, _ = assert_round_trips(period_checkpoint, "period", module="similarity")
    assert model.similarity is not None and model.similarity.periods
    _, cnt = evaluate_counts(period_checkpoint, release, tmp_path / "ev")
    _, _, vocab, _, _ = load_checkpoint(period_checkpoint)
    lo, hi = vocab.integer_values().min(), vocab.integer_values().max()
    assert len(cnt) and cnt["density_sum"].notna().all()
    assert (cnt["pred_count"] == np.clip(np.rint(cnt["density_sum"]), lo, hi)).all()


# ------------------------------------------------------------------ the rep length's reading (median / mean)
def _logits_of(probs) -> torch.Tensor:
    """(1, 1, len(PERIODS) + 1) logits whose softmax is `probs` (a dict: class index -> probability)."""
    p = torch.full((len(PERIODS) + 1,), 1e-12, dtype=torch.float64)
    for k, v in probs.items():
        p[k] = v
    return torch.log(p / p.sum()).float()[None, None]


def test_one_length_reads_the_same_either_way_and_a_part_of_the_rep_moves_only_the_mean():
    step = math.log(64) / 48                              # the grid's step in log length
    k = 40
    length = float(PERIODS[k])
    for reading in ("median", "mean"):                    # all the mass on one length: 1 / length
        assert float(period_density(_logits_of({k: 1.0}), reading)) == pytest.approx(1 / length, rel=1e-5)
        # half the column before or after the set ("in no rep"): half the density
        assert float(period_density(_logits_of({k: 0.5, len(PERIODS): 0.5}), reading)) == \
            pytest.approx(0.5 / length, rel=1e-5)
    # 80 % on the rep's length, 20 % on a third of it (13 steps shorter: 1.0905^13 = 3.08 times):
    # mean 0.8 / L + 0.2 * 3.08 / L = 1.416 / L; the median lies in the rep length's step, 0.3 of
    # its 0.8 into it: log L - step / 2 + 0.375 step, so 1 / L times exp(0.125 step) = 1.011
    mixed = _logits_of({k: 0.8, k - 13: 0.2})
    assert float(period_density(mixed, "mean")) == pytest.approx((0.8 + 0.2 * math.exp(13 * step)) / length, rel=1e-4)
    assert float(period_density(mixed, "median")) == pytest.approx(math.exp(0.125 * step) / length, rel=1e-4)
    # half and half on neighbouring lengths: the median is where their steps meet, their geometric mean
    halves = _logits_of({k: 0.5, k + 1: 0.5})
    assert float(period_density(halves, "median")) == pytest.approx(1 / math.sqrt(length * float(PERIODS[k + 1])),
                                                                    rel=1e-4)
    with pytest.raises(ValueError, match="period reading"):
        period_density(halves, "mode")


def test_training_reads_the_expected_length_whatever_the_count_reads(release, tok):
    """The loss (what training follows) is the same under both readings; the count is each
    reading's. With the length's logits flat (the output layer zeroed) every column has 1/50 on
    each of the 49 lengths and on "in no rep": the mean reading gives each column the grid's mean
    1 / length times 49/50, the median the middle length of the grid, sqrt(4 x 256) = 32."""
    from lift.evaluate import model_loss
    from lift.loss import weighted_softmax_ce
    from test_lift_density import iterate_batches, load_release
    data = load_release(release, tok, None, splits=("train",), workers=1, progress=False, rep_targets=True)
    train = data.splits["train"]
    counts = train.take(np.flatnonzero(train.is_count)[:4])
    batch = next(iterate_batches(counts, data.cache, 4, shuffle=False))
    torch.manual_seed(0)
    model = LiftModel.build(tiny_config("period").model, tok.get_vocab_size(), len(data.vocab))
    assert model.similarity.reading == "median"           # the default of a new model
    with torch.no_grad():
        model.similarity.density[-1].weight.zero_()
        model.similarity.density[-1].bias.zero_()
    _, _, valid = model(batch["input_ids"], batch["attention_mask"], batch["pixel_values"], batch["pixel_mask"],
                        density=True)
    columns = valid.sum(dim=1).double()
    loss_median, _, count_median = model_loss(model, batch, weighted_softmax_ce, cdf_weight=1.0)
    model.similarity.reading = "mean"
    loss_mean, _, count_mean = model_loss(model, batch, weighted_softmax_ce, cdf_weight=1.0)
    assert float(loss_mean.detach()) == pytest.approx(float(loss_median.detach()), rel=1e-6)
    torch.testing.assert_close(count_mean.double(), columns * float((1 / PERIODS).sum()) / 50, rtol=1e-5, atol=0)
    torch.testing.assert_close(count_median.double(), columns * (49 / 50) / 32, rtol=1e-5, atol=0)


def test_a_checkpoint_records_its_reading_and_evaluate_can_override_it(period_checkpoint, release, tmp_path):
    import json

    from click.testing import CliRunner
    from lift.cli import main
    from lift.configs import LiftConfig
    cfg = json.loads((period_checkpoint / "config.json").read_text())["config"]
    assert cfg["model"]["period_reading"] == "median"
    older = {**cfg, "model": {k: v for k, v in cfg["model"].items() if k != "period_reading"}}
    assert LiftConfig.from_dict(older).model.period_reading == "mean"    # written before the option
    reports = {}
    for reading in ("", "mean"):
        out = tmp_path / f"ev-{reading or 'default'}"
        res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(period_checkpoint),
                                        "--out", str(out), "--recut", "2-8", "--quiet",
                                        *(["--period-reading", reading] if reading else [])])
        assert res.exit_code == 0, res.output
        reports[reading] = json.loads((out / "report.json").read_text())
        assert f"Rep length read as its {reading or 'median'}" in (out / "report.md").read_text()
    assert reports[""]["period_reading"] == "median" and reports["mean"]["period_reading"] == "mean"


def test_the_reading_is_refused_for_a_head_without_a_rep_length(similarity_checkpoint, release, tmp_path):
    from click.testing import CliRunner
    from lift.cli import main
    res = CliRunner().invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(similarity_checkpoint),
                                    "--out", str(tmp_path / "ev"), "--period-reading", "mean", "--quiet"])
    assert res.exit_code != 0 and "no rep length to read" in res.output and not (tmp_path / "ev").exists()
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "ck"),
                                    "--count-head", "density", "--period-reading", "mean"])
    assert res.exit_code == 2 and "no rep length to read" in res.output and not (tmp_path / "ck").exists()
