"""In-tree MotionBERT: official test vectors, official key layout, checkpoint format, windows,
normalization. Expected values come from the spec files or are computed by hand below."""
from __future__ import annotations

import json
from dataclasses import astuple, replace

import numpy as np
import pytest
import torch

from olympia.errors import ConfigError
from olympia.pose.motionbert import (BASE, LITE, TINY, DSTformer, MotionBERTLifter,
                                     config_from_json, load_dstformer, read_checkpoint,
                                     save_checkpoint)
from olympia.pose.motionbert.checkpoint import infer_config
from olympia.pose.motionbert.lift import (Box, box_frame_to_pixel_frame,
                                          chain_height, flip_pose, normalize_box,
                                          normalize_pixel, pixel_frame_to_pixels,
                                          scale_to_chain_height, video_box, window_slices)
from olympia.pose.motionbert.model import count_parameters


def _vectors(spec):
    return json.loads(spec("motionbert", "dstformer_vectors.json").read_text())


def _random_model(cfg, seed=0):
    """A model whose every parameter is random (fusion layers included, so both streams matter)."""
    torch.manual_seed(seed)
    model = DSTformer(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.1)
    return model.eval()


# --- architecture against the official implementation ------------------------------------------

def test_tiny_checkpoint_reproduces_official_output(spec):
    cfg = config_from_json(spec("motionbert", "dstformer_vectors.json"), "tiny")
    assert (cfg.dim_feat, cfg.dim_rep, cfg.depth, cfg.num_heads, cfg.mlp_ratio, cfg.maxlen) == \
        (32, 64, 2, 4, 2, 81) == (TINY.dim_feat, TINY.dim_rep, TINY.depth, TINY.num_heads,
                                  TINY.mlp_ratio, TINY.maxlen)
    model = load_dstformer(spec("motionbert", "dstformer_tiny_checkpoint.bin"), cfg)
    x = np.load(spec("motionbert", "dstformer_tiny_input.npy"))
    expected = np.load(spec("motionbert", "dstformer_tiny_output.npy"))
    assert x.shape == (2, 27, 17, 3) and expected.shape == (2, 27, 17, 3)
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    assert np.abs(out - expected).max() < 1e-5
    tiny = _vectors(spec)["tiny"]
    assert count_parameters(model) == tiny["n_params"] == 74247
    assert len(model.state_dict()) == tiny["state_dict_keys"] == 110


def test_lite_state_dict_equals_official_key_list(spec):
    lite = _vectors(spec)["lite_shape"]
    model = DSTformer(LITE)
    ours = {"module." + k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == lite["key_shapes"]
    assert len(ours) == 260
    assert count_parameters(model) == 16_001_549 == lite["n_params"]
    with torch.no_grad():  # one short clip through the full-size lite model: shapes only
        out = model.eval()(torch.zeros(1, 5, 17, 3))
    assert out.shape == (1, 5, 17, 3)


def test_base_config_is_the_non_lite_size():
    # MB_ft_h36m.yaml: dim_feat 512, mlp_ratio 2 (everything else as lite).
    assert (BASE.dim_feat, BASE.mlp_ratio, BASE.dim_rep, BASE.depth, BASE.maxlen) == (512, 2, 512, 5, 243)
    state = DSTformer(BASE).state_dict()
    assert state["blocks_ts.4.mlp_t.fc1.weight"].shape == (1024, 512)
    assert infer_config(state) == BASE
    assert infer_config(DSTformer(LITE).state_dict()) == LITE


def test_model_rejects_clips_longer_than_maxlen():
    with pytest.raises(ValueError, match="1..81 frames"):
        DSTformer(TINY)(torch.zeros(1, 82, 17, 3))


# --- checkpoints -----------------------------------------------------------------------------

def test_checkpoint_round_trip_official_format(tmp_path):
    cfg = replace(TINY, depth=1)
    model = _random_model(cfg, seed=3)
    path = save_checkpoint(model, tmp_path / "best_epoch.bin", epoch=7, lr=0.0005, min_loss=np.float64(41.5))
    raw = torch.load(path, map_location="cpu", weights_only=False)
    assert set(raw) == {"epoch", "lr", "optimizer", "model_pos", "min_loss"}
    assert all(k.startswith("module.") for k in raw["model_pos"])
    assert read_checkpoint(path)["min_loss"] == 41.5  # numpy scalar loads in weights_only mode
    loaded = load_dstformer(path, cfg)
    x = torch.rand(2, 9, 17, 3) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_missing_checkpoint_is_a_config_error(tmp_path):
    missing = tmp_path / "nope" / "best_epoch.bin"
    with pytest.raises(ConfigError, match="does not exist.*MotionBERT README"):
        load_dstformer(missing)
    with pytest.raises(ConfigError, match="needs a checkpoint and none is configured"):
        MotionBERTLifter(None)


def test_mismatched_checkpoint_names_keys_and_config(tmp_path):
    path = save_checkpoint(_random_model(TINY), tmp_path / "tiny.bin")
    with pytest.raises(ConfigError, match=r"unexpected keys: blocks_st\.1\..*depth=2") as err:
        load_dstformer(path, replace(TINY, depth=1))
    assert "tiny.bin" in str(err.value)
    with pytest.raises(ConfigError, match=r"missing keys: blocks_st\.2\."):
        load_dstformer(path, replace(TINY, depth=3))
    with pytest.raises(ConfigError, match=r"shape mismatches: .*dim_feat=32, dim_rep=64"):
        load_dstformer(path, LITE)


def test_non_checkpoint_file_is_a_config_error(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="model.bin"):
        load_dstformer(bad, TINY)
    other = tmp_path / "other.bin"
    torch.save({"state_dict": {"a": 1}}, other)
    with pytest.raises(ConfigError, match="no 'model_pos' entry"):
        load_dstformer(other, TINY)


# --- normalization (hand-computed) -----------------------------------------------------------

def test_pixel_normalization_by_hand():
    kp = np.zeros((1, 17, 3))
    kp[0, :, 2] = 0.9
    kp[0, 0] = (640, 360, 0.5)       # image centre of 1280x720 -> (0, 0)
    kp[0, 1] = (1000, 100, 1.0)      # ((1000-640)/360, (100-360)/360)
    kp[0, 2] = (np.nan, np.nan, 0.8)  # undetected -> all zero
    kp[0, 3] = (10, 10, 0.0)         # zero confidence -> all zero
    out = normalize_pixel(kp, 1280, 720)
    np.testing.assert_allclose(out[0, 0], (0, 0, 0.5), atol=1e-7)
    np.testing.assert_allclose(out[0, 1], (1.0, -260 / 360, 1.0), atol=1e-6)
    np.testing.assert_array_equal(out[0, 2:4], 0.0)
    # the inverse maps a model output back to pixels (x, y) and pixel-scaled depth
    pose = np.array([[[1.0, -260 / 360, 0.5]]])
    np.testing.assert_allclose(pixel_frame_to_pixels(pose, 1280, 720)[0, 0], (1000, 100, 180), atol=1e-3)


def test_box_normalization_by_hand():
    kp = np.zeros((2, 17, 3))
    kp[..., :2] = (200, 400)
    kp[..., 2] = 1.0
    kp[0, 0, :2] = (100, 200)   # x extent 100..300, y extent 200..600 -> side 400
    kp[1, 5, :2] = (300, 600)
    kp[1, 6] = (5000, 5000, 0.0)  # undetected: ignored by the box, zeroed in the input
    box = video_box(kp)
    assert box == Box(0.0, 200.0, 400.0)   # x0 = (100+300-400)/2, y0 = (200+600-400)/2
    out = normalize_box(kp, box)
    np.testing.assert_allclose(out[0, 0], (-0.5, -1.0, 1.0))     # ((100-0)/400-.5)*2, ((200-200)/400-.5)*2
    np.testing.assert_allclose(out[1, 5], (0.5, 1.0, 1.0))
    np.testing.assert_allclose(out[0, 1], (0.0, 0.0, 1.0))       # the box centre
    np.testing.assert_array_equal(out[1, 6], 0.0)
    # box frame -> pixel frame: box centre (200, 400) px, unit depth = side/2 = 200 px
    pose = np.array([[[0.0, 0.0, 1.0]]])
    np.testing.assert_allclose(box_frame_to_pixel_frame(pose, box, 1280, 720)[0, 0],
                               ((200 - 640) / 360, (400 - 360) / 360, 200 / 360), atol=1e-6)
    assert video_box(np.zeros((3, 17, 3))) is None   # nothing detected (official: zero input)


def test_flip_swaps_sides_and_negates_x():
    data = np.arange(17 * 3, dtype=np.float32).reshape(1, 17, 3)
    flipped = flip_pose(data)
    np.testing.assert_array_equal(flipped[0, 4], (-3, 4, 5))      # left hip <- right hip (1), x negated
    np.testing.assert_array_equal(flipped[0, 14], (-33, 34, 35))  # right shoulder <- left shoulder (11)
    np.testing.assert_array_equal(flipped[0, 0], (0, 1, 2))       # root stays (-0 == 0)
    np.testing.assert_array_equal(flip_pose(flipped), data)
    assert torch.equal(flip_pose(torch.from_numpy(data)), torch.from_numpy(flipped))


def test_scale_helpers_by_hand():
    pose = np.zeros((1, 17, 3))
    # legs: ankle-knee 0.4, knee-hip 0.5 on both sides; spine chain 0.2+0.25+0.1+0.15
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        pose[0, knee] = pose[0, hip] + (0, 0.5, 0)
        pose[0, ankle] = pose[0, knee] + (0, 0.4, 0)
    pose[0, 7], pose[0, 8] = (0, -0.2, 0), (0, -0.45, 0)
    pose[0, 9], pose[0, 10] = (0, -0.55, 0), (0, -0.7, 0)
    np.testing.assert_allclose(chain_height(pose), [0.9 + 0.7])
    np.testing.assert_allclose(chain_height(scale_to_chain_height(pose, 1.6)), [1.6], rtol=1e-6)


# --- windows and the lifter ------------------------------------------------------------------

def test_window_slices():
    assert window_slices(600, 243) == [slice(0, 243), slice(243, 486), slice(486, 600)]
    assert window_slices(243, 243) == [slice(0, 243)]
    assert window_slices(0, 243) == []


def test_stitching_600_frames_matches_windows_by_hand():
    cfg = replace(TINY, maxlen=243)  # small weights, official window length
    model = _random_model(cfg, seed=1)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (600, 17, 3)).astype(np.float32)
    x[..., 2] = rng.uniform(0, 1, (600, 17))

    def run(clip):
        with torch.no_grad():
            return model(torch.from_numpy(clip)[None])[0].numpy()

    raw = MotionBERTLifter(None, model=model, flip=False, root="none", batch_size=2).lift_normalized(x)
    assert raw.shape == (600, 17, 3) and raw.dtype == np.float32
    by_hand = np.concatenate([run(x[0:243]), run(x[243:486]), run(x[486:600])])
    np.testing.assert_allclose(raw, by_hand, atol=1e-5)
    # flip averaging + the official root rule (root depth zeroed at each window's first frame)
    flipped = MotionBERTLifter(None, model=model, flip=True, root="official").lift_normalized(x)
    expect = np.concatenate([(run(x[s]) + flip_pose(run(flip_pose(x[s])))) / 2
                             for s in (slice(0, 243), slice(243, 486), slice(486, 600))])
    expect[[0, 243, 486], 0, 2] = 0.0
    np.testing.assert_allclose(flipped, expect, atol=1e-5)
    rel = MotionBERTLifter(None, model=model, flip=False, root="relative").lift_normalized(x)
    np.testing.assert_allclose(rel, by_hand - by_hand[:, :1], atol=1e-5)


def test_lift_pixels_end_to_end_with_missing_frames():
    model = _random_model(replace(TINY, maxlen=20), seed=2)
    rng = np.random.default_rng(1)
    kp = np.concatenate([rng.uniform(0, 640, (45, 17, 2)), rng.uniform(0.5, 1, (45, 17, 1))], axis=-1)
    kp[10] = np.nan                      # no person in frame 10
    lifter = MotionBERTLifter(None, model=model, flip=False, root="none")
    pose = lifter.lift(kp, 640, 480)
    assert pose.shape == (45, 17, 3) and pose.dtype == np.float32
    assert np.isnan(pose[10]).all() and np.isfinite(np.delete(pose, 10, axis=0)).all()
    # pixel mode is exactly the model on the pixel-normalized input
    np.testing.assert_allclose(np.delete(pose, 10, axis=0),
                               np.delete(lifter.lift_normalized(normalize_pixel(kp, 640, 480)), 10, axis=0))
    # box mode returns the same frame: the box's centre and depth unit re-expressed per pixel frame
    box_lifter = MotionBERTLifter(None, model=model, flip=False, root="none", normalization="box")
    box_pose = box_lifter.lift(kp, 640, 480)
    assert box_pose.shape == (45, 17, 3) and np.isnan(box_pose[10]).all()
    xy = kp[~np.isnan(kp[..., 0])][:, :2]
    side = (xy.max(axis=0) - xy.min(axis=0)).max()
    box = Box(*((xy.min(axis=0) + xy.max(axis=0) - side) / 2), side)
    assert astuple(video_box(kp)) == pytest.approx(astuple(box))
    by_hand = box_frame_to_pixel_frame(box_lifter.lift_normalized(normalize_box(kp, box)), box, 640, 480)
    np.testing.assert_allclose(np.delete(box_pose, 10, axis=0), np.delete(by_hand, 10, axis=0), atol=1e-6)
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        lifter.lift(np.zeros((5, 33, 3)), 640, 480)
    with pytest.raises(ConfigError, match="normalization 'crop'"):
        MotionBERTLifter(None, model=model, normalization="crop")
