"""LiFT counting options on a tiny synthetic release: rep-diverse windows (olympia.recut through
lift.samples), smoothed count targets, the fitted time axis, and batches that never overflow.
Expected values are worked out by hand from the synthetic clips' known rep bounds."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from olympia.motion_image import motion_image
from olympia.recut import rep_windows, window_clip_id
from olympia.store import ClipStore

from lift.batches import epoch_batches
from lift.configs import IMAGE_WIDTH
from lift.images import clip_image_chw, normalize_image
from lift.samples import REPLAY_OF, Recut, load_release, release_questions, smooth_count_targets
from lift.synthetic import write_synthetic_release
from lift.tokenizer import train_wordpiece


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("liftc") / "release"
    write_synthetic_release(out, n_clips=12, seed=2)
    return out


@pytest.fixture(scope="module")
def tok(release):
    return train_wordpiece(release_questions(release), 300)


def test_recut_windows_replace_clips_with_rep_bounds_and_answer_their_own_count(release, tok):
    store = ClipStore(release)
    meta = store.metadata(columns=["id", "split", "reps", "rep_bounds", "n_frames"]).set_index("id")
    data = load_release(release, tok, None, splits=("train", "test"), workers=1, progress=False,
                        recut={"test": Recut(2, 8, per_count=1)})
    test = data.splits["test"].qa
    # every test question is about a window of a test clip; none of train's clips appear
    parents = {data.windows[c][0] for c in test["clip_id"]}
    assert parents == set(meta.index[meta["split"] == "test"])
    # one window of each length 2..reps per clip (hand rule of rep_windows), each asking both tasks
    expected = {window_clip_id(cid, w) for cid in parents
                for w in rep_windows(meta.at[cid, "rep_bounds"], meta.at[cid, "n_frames"], key=cid)}
    assert set(test["clip_id"]) == expected
    assert len(expected) == sum(min(8, meta.at[c, "reps"]) - 1 for c in parents)
    counts = test[test["task"] == "count"]
    for row in counts.itertuples():
        parent, start, end = data.windows[row.clip_id]
        rb = np.asarray(meta.at[parent, "rep_bounds"]).tolist()
        reps = [i for i, (a, b) in enumerate(rb) if a >= start and b <= end]
        assert row.reps == len(reps) == int(row.answer) and 2 <= row.reps <= 8
        assert data.release_vocab.tokens[row.target_indices[0]] == str(row.reps)
    # the training split was not re-cut: its questions are about the stored clips
    assert set(data.splits["train"].qa["clip_id"]) <= set(meta.index)


def test_an_epoch_draws_every_window_length_once_per_clip(release, tok):
    """All windows of a 6-rep set: five 2-rep windows but one 6-rep window. A drawn epoch takes
    one count question per (clip, length), so each count 2..R is equally likely, and the windows
    it takes change from epoch to epoch."""
    from lift.samples import sample_questions
    meta = ClipStore(release).metadata(columns=["id", "split", "reps"]).set_index("id")
    data = load_release(release, tok, None, splits=("train",), workers=1, progress=False,
                        recut={"train": Recut(2, 8, per_count=None)})
    train = data.splits["train"]
    picks = [train.qa.iloc[sample_questions(train, 1, np.random.default_rng(e))] for e in range(3)]
    for qa in picks:
        counts = qa[qa["task"] == "count"]
        parent = counts["clip_id"].map(lambda c: data.windows[c][0])
        for cid, group in counts.groupby(parent):
            assert sorted(group["reps"]) == list(range(2, min(8, meta.at[cid, "reps"]) + 1))
    assert set(picks[0]["clip_id"]) != set(picks[1]["clip_id"])


def test_a_window_image_is_the_motion_image_of_its_frames(release, tok):
    data = load_release(release, tok, None, splits=("validation",), workers=1, progress=False,
                        recut={"validation": Recut(2, 3, per_count=None)})
    store = ClipStore(release)
    for wid, (parent, start, end) in list(data.windows.items())[:4]:
        kp = store.keypoints(parent)[start:end]
        ref = normalize_image(motion_image(kp)).transpose(2, 0, 1)      # independent path
        got = data.cache.image(data.cache.positions([wid])[0])
        assert got.shape == (3, 320, math.ceil((end - start) / 2))
        np.testing.assert_allclose(got, ref, atol=2e-3)


def test_tempo_augmented_windows_play_the_same_reps_faster_or_slower(release, tok):
    from olympia.timebase import resample_to_length
    data = load_release(release, tok, None, splits=("validation",), workers=1, progress=False,
                        recut={"validation": Recut(2, 2, per_count=1, speeds=(1.0, 1.25))})
    store = ClipStore(release)
    fast = [w for w in data.windows if w.endswith("@1.25x")]
    assert fast and len(fast) == len(data.windows) // 2
    for wid in fast[:2]:
        parent, start, end, speed = data.windows[wid]
        n = round((end - start) / 1.25)                    # 1.25x faster: 4/5 of the frames
        ref = normalize_image(motion_image(resample_to_length(store.keypoints(parent)[start:end], n)))
        got = data.cache.image(data.cache.positions([wid])[0])
        np.testing.assert_allclose(got, ref.transpose(2, 0, 1), atol=2e-3)
        qa = data.splits["validation"].qa
        assert set(qa.loc[(qa["clip_id"] == wid) & (qa["task"] == "count"), "reps"]) == {2}   # same reps


def test_a_margin_widens_a_window_by_up_to_a_share_of_its_end_reps_inside_the_clip():
    from lift.samples import window_margins
    rb = [[10, 50], [50, 110], [110, 150]]          # reps of 40, 60 and 40 frames
    first_two, last_two = rep_windows(rb, 160, min_reps=2, max_reps=2, per_count=None)
    for key in ("a", "b", "c", "d"):
        start, end = window_margins(rb, first_two, 160, 0.5, key)
        # before: up to half of rep 0 (20 frames), after: up to half of rep 1 (30 frames)
        assert 10 - 20 <= start <= 10 and 110 <= end <= 110 + 30
        start, end = window_margins(rb, last_two, 160, 0.5, key)
        assert 50 - 30 <= start <= 50 and 150 <= end <= 160          # never past the clip's last frame
    assert window_margins(rb, first_two, 160, 0.5, "a") == window_margins(rb, first_two, 160, 0.5, "a")
    drawn = {window_margins(rb, first_two, 160, 0.5, k) for k in "abcdefgh"}
    assert len(drawn) > 1                                            # the share varies with the key
    assert window_margins(rb, first_two, 160, 0.0, "a") == (10, 110)


def test_margin_windows_keep_their_count_and_their_extra_frames_are_no_rep(release, tok):
    data = load_release(release, tok, None, splits=("validation",), workers=1, progress=False,
                        recut={"validation": Recut(2, 3, per_count=None, margin=0.5)}, rep_targets=True)
    meta = ClipStore(release).metadata(columns=["id", "rep_bounds", "n_frames"]).set_index("id")
    plain = {w: v for w, v in data.windows.items() if "+m" not in w}
    wide = {w: v for w, v in data.windows.items() if w.endswith("+m")}
    assert wide and len(wide) == len(plain)
    val = data.splits["validation"]
    widened = 0
    for wid, (parent, start, end) in wide.items():
        _, p_start, p_end = plain[wid[:-2]]
        assert start <= p_start and end >= p_end and 0 <= start and end <= meta.at[parent, "n_frames"]
        widened += (start, end) != (p_start, p_end)
        rows = np.flatnonzero((val.qa["clip_id"] == wid).to_numpy() & val.is_count)
        reps = val.qa["reps"].iloc[rows[0]]
        rb = np.asarray(meta.at[parent, "rep_bounds"].tolist())
        assert reps == ((rb[:, 0] >= p_start) & (rb[:, 1] <= p_end)).sum()     # the same count as the plain window
        spans = val.rep_spans[rows[0]]
        assert len(spans) == reps
        # the first rep's span starts where its frames start in the widened image, whose
        # ceil(frames / 2) columns hold the window's frames (columns per frame: width / frames)
        width = math.ceil((end - start) / 2)
        assert spans[0][0] == pytest.approx((p_start - start) * width / (end - start))
    assert widened > 0


def test_mirrored_windows_answer_the_same_questions_with_mirrored_images(release, tok):
    from lift.images import window_frames
    from lift.samples import draw_groups
    from olympia.skeleton import mirror
    data = load_release(release, tok, None, splits=("validation",), workers=1, progress=False,
                        recut={"validation": Recut(2, 3, per_count=None, mirror=True)}, rep_targets=True)
    plain = {w: v for w, v in data.windows.items() if not w.endswith("~mirror")}
    mirrored = {w: v for w, v in data.windows.items() if w.endswith("~mirror")}
    assert mirrored and len(mirrored) == len(plain)
    val, store = data.splits["validation"], ClipStore(release)
    groups = dict(zip(val.qa["clip_id"], draw_groups(val)))
    for wid, window in mirrored.items():
        twin = wid[:-len("~mirror")]
        assert window[:3] == plain[twin][:3] and window[4] is True
        # the same questions and answers as the unmirrored window, drawn with it
        q = val.qa[val.qa["clip_id"] == wid]
        t = val.qa[val.qa["clip_id"] == twin]
        assert list(q["answer"]) == list(t["answer"]) and list(q["task"]) == list(t["task"])
        assert groups[wid] == groups[twin]
        kp = store.keypoints(window[0])
        np.testing.assert_array_equal(window_frames(kp, window), mirror(kp[window[1]:window[2]]))
        rows_m = np.flatnonzero((val.qa["clip_id"] == wid).to_numpy() & val.is_count)
        rows_p = np.flatnonzero((val.qa["clip_id"] == twin).to_numpy() & val.is_count)
        np.testing.assert_array_equal(val.rep_spans[rows_m[0]], val.rep_spans[rows_p[0]])


def test_train_records_recut_mirror(release, tmp_path):
    from lift.cli import main
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "ck"), "--epochs", "1",
                                    "--max-steps-per-epoch", "2", "--batch-size", "8", "--recut", "2-8",
                                    "--recut-mirror", "--quiet"])
    assert res.exit_code == 0, res.output
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())["config"]
    assert cfg["train"]["recut_mirror"] is True


def test_the_counter_is_scored_on_the_windows_the_model_counts(tmp_path):
    """Fit3D's warm-ups have rep bounds but no count: their windows are asked to identify only.
    Beside the model, the counter must count the same windows the model is asked to count (it
    was run on every window, 199 of Fit3D s07's against the model's 159)."""
    import dataclasses
    from functools import partial
    from lift.cli import main
    from lift.synthetic import synthetic_clips, write_label_side
    from olympia.store import write_store
    clips = [dataclasses.replace(c, reps=None) if i % 2 else c for i, c in enumerate(synthetic_clips(8, seed=2))]
    release = tmp_path / "release"
    write_store(release, clips, split_mode="clip", seed=2, extras=write_label_side)
    runner = CliRunner()
    ck, ev = tmp_path / "ck", tmp_path / "ev"
    res = runner.invoke(main, ["train", "--release", str(release), "--out", str(ck), "--epochs", "1",
                               "--max-steps-per-epoch", "1", "--batch-size", "8", "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(ck), "--out", str(ev),
                               "--recut", "2-8", "--split", "all", "--quiet"])
    assert res.exit_code == 0, res.output
    samples = pd.read_csv(ev / "samples.csv")
    parent = samples["clip_id"].str.split(":reps").str[0]
    uncounted = {c.id for c in clips if c.reps is None}
    # the precondition: windows of clips without a count are asked to identify, never to count
    assert parent.isin(uncounted).any()
    assert not samples.loc[parent.isin(uncounted), "task"].eq("count").any()
    counter = pd.read_csv(ev / "counter.csv")
    assert set(counter["clip_id"]) == set(samples.loc[samples["task"] == "count", "clip_id"])
    # one window of each length 2..reps per counted clip (rep_windows, per_count 1)
    assert len(counter) == sum(min(8, c.reps) - 1 for c in clips if c.reps is not None)
    report = json.loads((ev / "report.json").read_text())
    assert report["training_free_counter"]["counter_clips"] == len(counter)


def test_density_cdf_needs_a_rep_density(release, tmp_path):
    from lift.cli import main
    for head in ([], ["--count-head", "phase"]):
        res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "ck"),
                                        "--density-cdf", "1", *head, "--quiet"])
        assert res.exit_code == 2 and "--count-head density, similarity or period" in res.output
        assert not (tmp_path / "ck").exists()
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "ck"), "--epochs", "1",
                                    "--max-steps-per-epoch", "1", "--batch-size", "8", "--recut", "2-8",
                                    "--count-head", "similarity", "--density-cdf", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["config"]["train"]["density_cdf"] == 1.0


def test_smoothed_count_targets_by_hand():
    from olympia.labels.vocabulary import VocabClass, Vocabulary
    classes = [VocabClass(0, "squat", "core_action", 1.0)] + [VocabClass(k, str(k), "integer", 1.0) for k in range(1, 11)]
    vocab = Vocabulary(classes=tuple(classes), categories={"core_action": 1.0, "integer": 1.0}, max_count=10)
    # rows: identify "squat", count 5, count 1
    indptr, indices, weights = np.array([0, 1, 2, 3]), np.array([0, 5, 1]), np.array([1.0, 1.0, 1.0], np.float32)
    p, i, w = smooth_count_targets(indptr, indices, weights, np.array([False, True, True]), vocab, sigma=1.0)
    assert i[p[0]:p[1]].tolist() == [0] and w[p[0]:p[1]].tolist() == [1.0]          # identify untouched
    # σ = 1 around 5: exp(-k²/2) for k = -3..3, normalised: 0.00443 0.05401 0.24203 0.39905 ...
    assert i[p[1]:p[2]].tolist() == [2, 3, 4, 5, 6, 7, 8]
    np.testing.assert_allclose(w[p[1]:p[2]], [0.00443, 0.05401, 0.24203, 0.39905, 0.24203, 0.05401, 0.00443], atol=1e-5)
    # around 1 there is no class 0 or below: 1..4 keep weights 1, e^-0.5, e^-2, e^-4.5, renormalised
    raw = np.exp(-np.arange(4) ** 2 / 2)
    assert i[p[2]:p[3]].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(w[p[2]:p[3]], raw / raw.sum(), atol=1e-6)


def test_fitted_time_axis_fills_640_columns_native_keeps_12_5_per_second():
    kp = np.random.default_rng(0).normal(size=(101, 17, 3)).astype(np.float32)
    assert clip_image_chw(kp).shape == (3, 320, 51)
    fit = clip_image_chw(kp, time_axis="fit")
    assert fit.shape == (3, 320, IMAGE_WIDTH)
    # the fitted image spans the same time: first and last columns are the native ones
    native = clip_image_chw(kp)
    np.testing.assert_allclose(fit[:, :, 0], native[:, :, 0], atol=1e-3)
    np.testing.assert_allclose(fit[:, :, -1], native[:, :, -1], atol=1e-3)
    with pytest.raises(ValueError, match="NaN/inf"):
        clip_image_chw(np.full((10, 17, 3), np.nan, np.float32))


def test_time_band_writes_each_columns_time_into_the_padding_rows():
    import torch
    from lift.model import add_time_band
    pixels = torch.randn(2, 3, 384, 640).half()
    mask = torch.zeros(2, 384, 640, dtype=torch.bool)
    mask[0, :320, :3] = True                     # a clip of 3 columns (0.24 s)
    mask[1, :320, :5] = True
    before = pixels.clone(), mask.clone()
    v, m = add_time_band(pixels, mask)
    assert torch.equal(pixels, before[0]) and torch.equal(mask, before[1])          # inputs untouched
    assert torch.equal(v[:, :, :320], pixels[:, :, :320]) and torch.equal(m[:, :320], mask[:, :320])
    # column c holds c * 0.08 s / 10 s in every channel and band row; nothing past the clip
    np.testing.assert_allclose(v[0, :, 320:, :3].float().numpy(), np.broadcast_to([0, 0.008, 0.016], (3, 64, 3)),
                               atol=1e-4)
    assert m[0, 320:, :3].all() and not m[0, 320:, 3:].any() and m[1, 320:, :5].all() and not m[1, 320:, 5:].any()
    assert float(v[1, 2, 383, 4]) == pytest.approx(0.032, abs=1e-4)


@pytest.mark.parametrize("n_ident,n_count", [(830, 780), (17, 16), (100, 1), (0, 5), (64, 64)])
def test_batches_never_exceed_the_batch_size(n_ident, n_count):
    """Both tasks are dealt out separately, so they could round up in the same batch (830
    identify + 780 count rows in 51 batches: 17 + 16 = 33 rows). Every row once, <= 32 each."""
    is_count = np.array([False] * n_ident + [True] * n_count)
    batches = epoch_batches(is_count, 32, np.random.default_rng(0))
    assert max(len(b) for b in batches) <= 32
    assert sorted(np.concatenate(batches).tolist()) == list(range(n_ident + n_count))


def test_train_and_evaluate_on_windows_from_the_cli(release, tmp_path):
    from lift.cli import main
    runner = CliRunner()
    ck, ev = tmp_path / "ck", tmp_path / "ev"
    res = runner.invoke(main, ["train", "--release", str(release), "--out", str(ck), "--epochs", "1",
                               "--max-steps-per-epoch", "2", "--batch-size", "8", "--recut", "2-8",
                               "--count-sigma", "0.75", "--time-axis", "fit", "--quiet"])
    assert res.exit_code == 0, res.output
    cfg = json.loads((ck / "config.json").read_text())["config"]
    assert cfg["train"]["recut"] == [2, 8] and cfg["train"]["count_sigma"] == 0.75 and cfg["model"]["time_axis"] == "fit"
    res = runner.invoke(main, ["evaluate", "--release", str(release), "--checkpoint", str(ck), "--out", str(ev),
                               "--recut", "2-8", "--quiet"])
    assert res.exit_code == 0, res.output
    report = json.loads((ev / "report.json").read_text())
    # evaluation windows are cut exactly at rep bounds: one speed, no margin
    assert report["recut"] == {"min_reps": 2, "max_reps": 8, "per_count": 1, "speeds": [1.0], "margin": 0.0,
                              "mirror": False}
    counter = (ev / "counter.csv").read_text().splitlines()
    assert all(":reps" in line.split(",")[0] for line in counter[1:])            # the counter sees the windows
    assert report["training_free_counter"]["counter_clips"] == len(counter) - 1 > 0
    assert "Rep-diverse evaluation" in (ev / "report.md").read_text()
    res = runner.invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "x"), "--recut", "5-2"])
    assert res.exit_code == 2 and "MIN <= MAX" in res.output


def test_replayed_questions_ask_each_clip_again_at_another_tempo(release, tok):
    """`lift evaluate --replay-speeds`: every question once per tempo; a replay's image is its
    clip (or window) resampled to 1/speed of its frames, its count the same reps."""
    from olympia.timebase import resample_to_length
    store = ClipStore(release)
    plain = load_release(release, tok, None, splits=("test",), workers=1, progress=False).splits["test"].qa
    data = load_release(release, tok, None, splits=("test",), workers=1, progress=False, replay={"test": (1.0, 1.25)})
    qa = data.splits["test"].qa
    assert len(qa) == 2 * len(plain)                                  # 1.0 is the question itself
    asked = qa[qa["qa_id"] == qa[REPLAY_OF]]
    assert list(asked["qa_id"]) == list(plain["qa_id"])
    again = qa[qa["qa_id"] != qa[REPLAY_OF]].set_index(REPLAY_OF).loc[asked["qa_id"]]
    assert (again["clip_id"].to_numpy() == (asked["clip_id"] + "@1.25x~replay").to_numpy()).all()
    assert (again["reps"].fillna(-1).to_numpy() == asked["reps"].fillna(-1).to_numpy()).all()
    cid = asked["clip_id"].iloc[0]
    kp = store.keypoints(cid)
    ref = normalize_image(motion_image(resample_to_length(kp, round(len(kp) / 1.25))))
    got = data.cache.image(data.cache.positions([cid + "@1.25x~replay"])[0])
    np.testing.assert_allclose(got, ref.transpose(2, 0, 1), atol=2e-3)


def test_a_replayed_window_plays_its_own_frames_faster(release, tok):
    data = load_release(release, tok, None, splits=("test",), workers=1, progress=False,
                        recut={"test": Recut(2, 3, per_count=1)}, replay={"test": (0.8,)})
    replays = [w for w in data.windows if w.endswith("@0.8x~replay")]
    assert replays and len(replays) == len(data.windows) // 2
    for wid in replays:
        parent, start, end, speed = data.windows[wid]
        assert (parent, start, end) == data.windows[wid.removesuffix("@0.8x~replay")] and speed == 0.8
        meta = data.clip_meta.set_index("id")
        assert meta.at[wid, "n_frames"] == round((end - start) / 0.8)   # 0.8x: 5/4 of the frames


def test_a_replay_speed_must_be_positive(release, tok):
    from olympia.errors import ConfigError
    with pytest.raises(ConfigError, match="replay speeds must be > 0"):
        load_release(release, tok, None, splits=("test",), workers=1, progress=False, replay={"test": (0.0,)})
