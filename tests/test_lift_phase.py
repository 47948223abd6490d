"""The rep-phase count head (`lift train --count-head phase`, lift.phase): phase targets and
the count read-out worked out by hand from known rep bounds, the loss at its minimum, the
head's column layout, training, and the CLI round trip on a tiny synthetic release."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from olympia.store import ClipStore

from lift.checkpoint import load_checkpoint
from lift.density import count_from_density, rep_column_mass
from lift.model import LiftModel, PhaseHead
from lift.phase import phase_count, phase_loss, phase_targets, wrapped
from lift.samples import release_questions
from lift.synthetic import write_synthetic_release
from lift.tokenizer import train_wordpiece
from test_lift import tiny_config
from test_lift_density import assert_round_trips, evaluate_counts, fit_one_count_batch, train_checkpoint


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("liftp") / "release"
    write_synthetic_release(out, n_clips=12, seed=5)
    return out


@pytest.fixture(scope="module")
def tok(release):
    return train_wordpiece(release_questions(release), 300)


def unit(phase):
    """(cos, sin) of 2π × phase, as a (1, W, 2) tensor."""
    p = torch.as_tensor(phase, dtype=torch.float32)
    return torch.stack([torch.cos(2 * math.pi * p), torch.sin(2 * math.pi * p)], dim=-1)[None]


def sure(inside):
    """Logits that are certain of `inside` (a list of bools)."""
    return torch.tensor([[20.0 if x else -20.0 for x in inside]])


# ------------------------------------------------------------------ targets, by hand
def test_the_phase_is_the_share_of_the_rep_done_at_each_columns_middle():
    # rep 1 over columns [1, 5) (a quarter per column), rest at column 5, rep 2 over [6, 8)
    mass = torch.from_numpy(rep_column_mass([[1, 5], [6, 8]], 9))[None]
    phase, inside = phase_targets(mass)
    np.testing.assert_allclose(phase[0].numpy(), [0, 1 / 8, 3 / 8, 5 / 8, 7 / 8, 0, 1 / 4, 3 / 4, 0], atol=1e-6)
    assert inside[0].tolist() == [False, True, True, True, True, False, True, True, False]


def test_back_to_back_reps_of_different_lengths_restart_the_phase():
    # reps over [0, 2) and [2, 6): halves, then quarters; no rest between them
    phase, inside = phase_targets(torch.from_numpy(rep_column_mass([[0, 2], [2, 6]], 6))[None])
    np.testing.assert_allclose(phase[0].numpy(), [1 / 4, 3 / 4, 1 / 8, 3 / 8, 5 / 8, 7 / 8], atol=1e-6)
    assert inside.all()


def test_angle_steps_wrap_into_a_half_turn():
    steps = wrapped(torch.tensor([0.1, 2 * math.pi - 0.1, -2 * math.pi + 0.2, math.pi / 2]))
    np.testing.assert_allclose(steps.numpy(), [0.1, -0.1, 0.2, math.pi / 2], atol=1e-6)


# ------------------------------------------------------------------ the count, by hand
def test_true_phases_count_every_rep_whatever_their_lengths():
    # 2 reps of 4 columns, a 2-column rest, 1 rep of 2 columns: 3 reps
    mass = torch.from_numpy(rep_column_mass([[2, 6], [6, 10], [12, 14]], 16))[None]
    phase, inside = phase_targets(mass)
    assert float(phase_count(unit(phase[0]), sure(inside[0]), torch.ones(1, 16))) == pytest.approx(3.0, abs=1e-5)


def test_a_slow_and_a_fast_set_of_the_same_reps_count_the_same():
    for length in (8, 25, 60):                 # columns per rep: 0.64 s, 2 s, 4.8 s
        w = 5 * length
        mass = torch.from_numpy(rep_column_mass([[k * length, (k + 1) * length] for k in range(5)], w))[None]
        phase, inside = phase_targets(mass)
        assert float(phase_count(unit(phase[0]), sure(inside[0]), torch.ones(1, w))) == pytest.approx(5.0, abs=1e-4)


def test_a_phase_that_jitters_back_and_forth_in_a_rest_adds_nothing():
    # 1 rep over [0, 4), then 4 columns where the phase goes back and forth: inside logits say
    # "rest" there, and even if they did not, back-and-forth steps cancel
    phase = [1 / 8, 3 / 8, 5 / 8, 7 / 8, 0.1, 0.0, 0.1, 0.0]
    inside = [True] * 4 + [False] * 4
    assert float(phase_count(unit(phase), sure(inside), torch.ones(1, 8))) == pytest.approx(1.0, abs=1e-5)
    # all marked inside: the 4 rep columns step 1/4 turn; the rest's steps: 7/8 -> 0.1 (+0.225 turn),
    # then -0.1, +0.1, -0.1: column 4 takes mean(0.225, -0.1), 5 and 6 mean(±0.1) = 0, 7 takes -0.1;
    # column 3 takes mean(0.25, 0.225)
    expected = 0.25 * 3 + (0.25 + 0.225) / 2 + (0.225 - 0.1) / 2 + 0 + 0 - 0.1
    assert float(phase_count(unit(phase), sure([True] * 8), torch.ones(1, 8))) == pytest.approx(expected, abs=1e-5)


def test_columns_past_the_clip_never_count():
    mass = torch.from_numpy(rep_column_mass([[0, 4], [4, 8]], 8))[None]
    phase, _ = phase_targets(mass)
    valid = torch.tensor([[1.0] * 4 + [0.0] * 4])
    assert float(phase_count(unit(phase[0]), sure([True] * 8), valid)) == pytest.approx(1.0, abs=1e-5)


def test_the_loss_is_zero_at_the_truth_and_skips_rows_without_reps():
    mass = torch.from_numpy(np.stack([rep_column_mass([[0, 4], [4, 8]], 10), np.zeros(10, np.float32)]))
    phase, inside = phase_targets(mass)
    vectors = torch.cat([unit(phase[0]), torch.zeros(1, 10, 2)])
    logits = torch.cat([sure(inside[0]), torch.zeros(1, 10)])
    has = torch.tensor([True, False])
    assert float(phase_loss(vectors, logits, torch.ones(2, 10), mass, has)) == pytest.approx(0.0, abs=1e-6)
    # vectors of zero length: the phase term is 1 per column inside (|0 - unit|²), and the
    # count reads 0 turns for 2 reps: 1 + 2 (+ a vanishing cross entropy)
    zero = torch.zeros(2, 10, 2)
    assert float(phase_loss(zero, logits, torch.ones(2, 10), mass, has)) == pytest.approx(3.0, abs=1e-4)
    assert float(phase_loss(zero, logits, torch.ones(2, 10), mass, torch.tensor([False, False]))) == 0.0


# ------------------------------------------------------------------ the head
def test_the_head_lays_each_patch_columns_outputs_out_in_image_column_order():
    head = PhaseHead(hidden=8, patch=4)
    columns = torch.randn(2, 3, 8)
    vectors, logits = head(columns)
    assert vectors.shape == (2, 12, 2) and logits.shape == (2, 12)
    raw = head.mlp(columns)                      # (2, 3, 12): per patch column, 4 image columns × 3
    # image column 6 is patch column 1's third column: outputs 6, 7 (vector) and 8 (inside)
    torch.testing.assert_close(vectors[:, 6], raw[:, 1, 6:8])
    torch.testing.assert_close(logits[:, 6], raw[:, 1, 8])


def clips_of_100_and_40_columns():
    """Random motion images of 100 and 40 columns, padded to 384 x 640 (zero outside the clip),
    and their pixel masks. The model crops both to 4 patches of 32 columns: 128 image columns,
    of which it must report the first 100 and the first 40 as the clip."""
    mask = torch.zeros(2, 384, 640, dtype=torch.bool)
    mask[0, :320, :100] = True
    mask[1, :320, :40] = True
    return torch.rand(2, 3, 384, 640) * mask[:, None], mask


def assert_reports_clips_of_100_and_40_columns(valid):
    assert valid[0].tolist() == [1.0] * 100 + [0.0] * 28 and valid[1].tolist() == [1.0] * 40 + [0.0] * 88


def test_the_model_gives_one_phase_per_image_column_of_the_cropped_clip(release, tok):
    cfg = tiny_config("phase")
    model = LiftModel.build(cfg.model, tok.get_vocab_size(), 20).eval()
    px, mask = clips_of_100_and_40_columns()
    with torch.no_grad():
        _, (vectors, logits), valid = model(torch.zeros(2, 40, dtype=torch.long), torch.ones(2, 40), px, mask,
                                            density=True)
    assert vectors.shape == (2, 128, 2) and logits.shape == (2, 128)
    assert_reports_clips_of_100_and_40_columns(valid)
    assert model.rep_count((vectors, logits), valid).shape == (2,)


def test_a_few_steps_fit_the_rep_phase(release, tok):
    """Training moves the phase count toward the true counts of a batch (the loss falls)."""
    errors, losses = fit_one_count_batch(release, tok, "phase", 60)
    assert losses[-1] < 0.5 * losses[0]
    assert errors[-1] < 0.5 * errors[0] and errors[-1] < 1.0


# ------------------------------------------------------------------ CLI, checkpoints
@pytest.fixture(scope="module")
def phase_checkpoint(release, tmp_path_factory):
    return train_checkpoint(release, tmp_path_factory.mktemp("ckp") / "ck", "--count-head", "phase")


def test_the_checkpoint_records_the_phase_head_and_round_trips(phase_checkpoint):
    model, _ = assert_round_trips(phase_checkpoint, "phase")
    assert model.density is None and model.phase is not None


def test_evaluate_and_predict_count_by_the_phases_turns(phase_checkpoint, release, tmp_path):
    _, cnt = evaluate_counts(phase_checkpoint, release, tmp_path / "ev")
    model, tok, vocab, _, _ = load_checkpoint(phase_checkpoint)
    lo, hi = vocab.integer_values().min(), vocab.integer_values().max()
    assert len(cnt) and cnt["density_sum"].notna().all()
    # an untrained phase can turn backwards: the count is still clamped to the integer classes
    assert (cnt["pred_count"] == np.clip(np.rint(cnt["density_sum"]), lo, hi)).all()
    from lift.predict import predict_skeleton
    store = ClipStore(release)
    r = predict_skeleton(model, tok, vocab, store.keypoints(sorted(store.index.index)[0]), exercise="squat")
    assert r["count"] == count_from_density(np.array([r["density_sum"]]), vocab.integer_values())[0]
