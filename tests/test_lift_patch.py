"""Non-square image patches (`lift train --patch 64x16`, lift.model.set_patch_shape): the token
grid and the patch-column pooling worked out by hand from the motion image's layout (5 chains of
64 rows, method.md §6), the crop, checkpoints, and the refusals."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner


from lift.checkpoint import load_checkpoint
from lift.configs import IMAGE_HEIGHT, IMAGE_WIDTH
from lift.model import LiftModel
from lift.synthetic import write_synthetic_release
from test_lift import tiny_config
from test_lift_density import assert_tokens_pool_into_their_patch_columns, evaluate_counts, train_checkpoint


def patched(shape=(64, 16)):
    cfg = tiny_config("density")
    cfg.model.patch_shape = list(shape)
    return cfg


def test_a_64x16_patch_keeps_the_token_count_of_32x32():
    """384 x 640 pixels: 12 x 20 square patches of 32, or 6 x 40 patches of 64 x 16; both 240
    tokens of 3,072 pixels each (the same cost), the latter two columns of tokens per 32 image
    columns and one row of tokens per chain."""
    torch.manual_seed(0)
    px = torch.randn(1, 3, IMAGE_HEIGHT, IMAGE_WIDTH)
    mask = torch.ones(1, IMAGE_HEIGHT, IMAGE_WIDTH, dtype=torch.long)
    square = LiftModel.build(tiny_config("density").model, 100, 10).eval()
    tall = LiftModel.build(patched().model, 100, 10).eval()
    assert square.patch_shape == (32, 32) and tall.patch_shape == (64, 16)
    assert tall.vilt.embeddings.patch_embeddings.projection.weight.shape[1:] == (3, 64, 16)
    for model, grid in ((square, (12, 20)), (tall, (6, 40))):
        x, _, (index, size) = model.vilt.embeddings.visual_embed(px, mask, max_image_length=-1)
        assert tuple(size) == grid and x.shape[1] == 1 + 240
        assert int(index[..., 0].max()) == grid[0] - 1 and int(index[..., 1].max()) == grid[1] - 1


def test_each_token_is_one_chain_over_16_columns_and_pooled_into_its_column():
    """Column c of a 64 x 16 grid is image columns [16c, 16c + 16); its tokens are the 5 chains
    (rows 64k..64k + 63, k < 5); the pooled state is the mean of their 5 patch embeddings, in
    whatever order ViLT shuffles them. 300 columns crop to 304 (19 patch columns)."""
    torch.manual_seed(1)
    model = LiftModel.build(patched().model, 100, 10).eval()
    px, mask = assert_tokens_pool_into_their_patch_columns(model, [100, 64, 300], (64, 16))
    _, density, dvalid = model(torch.zeros(3, 40, dtype=torch.long), torch.ones(3, 40), px * mask[:, None], mask,
                               density=True)
    assert density.shape[1] == 19 and dvalid.sum(dim=1).tolist() == [7, 4, 19]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("liftp") / "release"
    write_synthetic_release(out, n_clips=12, seed=3)
    return out


def test_lift_train_patch_round_trips_and_evaluates(release, tmp_path):
    ck = train_checkpoint(release, tmp_path / "ck", "--count-head", "density", "--patch", "64x16")
    cfg = json.loads((ck / "config.json").read_text())["config"]
    assert cfg["model"]["patch_shape"] == [64, 16]
    model, _, _, config, _ = load_checkpoint(ck)
    assert model.patch_shape == (64, 16) and config.model.patch_shape == [64, 16]
    saved = torch.load(ck / "model.pt", weights_only=True)
    assert saved["vilt.embeddings.patch_embeddings.projection.weight"].shape[2:] == (64, 16)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, saved[k])
    _, counts = evaluate_counts(ck, release, tmp_path / "ev")
    assert len(counts) and counts["density_sum"].notna().all() and (counts["density_sum"] >= 0).all()


@pytest.mark.parametrize("value, says", [("60x16", "divide 384"), ("64x15", "divide"), ("64", "ROWSxCOLS"),
                                         ("0x16", "divide")])
def test_a_patch_that_does_not_tile_the_image_is_refused(release, tmp_path, value, says):
    from lift.cli import main
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "x"),
                                    "--patch", value])
    assert res.exit_code == 2 and says in res.output and value in res.output
    assert not (tmp_path / "x").exists()


def test_a_patch_shape_with_pretrained_vilt_is_refused(release, tmp_path):
    """Pretrained ViLT-B/32 has a 32 x 32 patch projection: another shape is not that model."""
    from lift.cli import main
    (tmp_path / "vilt").mkdir()
    res = CliRunner().invoke(main, ["train", "--release", str(release), "--out", str(tmp_path / "x"),
                                    "--config", "vilt-b32", "--pretrained-vilt", str(tmp_path / "vilt"),
                                    "--patch", "64x16"])
    assert res.exit_code != 0 and "--patch 64x16" in res.output and "pretrained" in res.output
    with pytest.raises(Exception, match="from scratch"):
        from transformers import ViltModel
        from lift.model import vilt_config
        cfg = patched().model
        LiftModel.build(cfg, 100, 10, vilt=ViltModel(vilt_config(tiny_config().model, 100)))
