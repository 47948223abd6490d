"""Release build: layout, card, stats, plots, determinism, no-op rebuild, skipped sources."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from olympia.demo import DemoConfig
from olympia.recipe import Recipe, build_from_recipe
from olympia.release import ReleaseConfig
from olympia.store import ClipStore


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("rel") / "olympia-demo"
    report = build_from_recipe(Recipe(ReleaseConfig(), DemoConfig(n_clips=40, clips_per_subject=4)), out,
                               workers=1, progress=False)
    assert report.n_clips == 40 and not report.rejected
    return out


def test_layout(release):
    names = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    assert {"README.md", "meta/info.json", "meta/splits.json", "meta/stats.json", "meta/quarantine.json",
            "plots/reps.png", "plots/duration.png", "plots/sources.png", "plots/labels.png",
            "plots/motion_images.png"} <= names
    assert any(n.startswith("data/clips/train-00000-of-") for n in names)


def test_card_header_matches_the_splits(release):
    text = (release / "README.md").read_text()
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    clips_info = {c["config_name"]: c for c in header["dataset_info"]}["clips"]
    splits = {s["name"]: s["num_examples"] for s in clips_info["splits"]}
    info = json.loads((release / "meta/info.json").read_text())
    assert splits == info["counts"]["splits"] and sum(splits.values()) == 40
    assert all(s["num_bytes"] > 0 for s in clips_info["splits"])
    assert header["configs"][0]["data_files"][0]["path"] == "data/clips/train-*.parquet"
    for png in ("reps", "duration", "sources", "labels", "motion_images"):
        assert f"(plots/{png}.png)" in text


def test_card_features_are_what_datasets_derives_from_the_schema(release):
    datasets = pytest.importorskip("datasets")
    from olympia.labels.qa import QA_ARROW_SCHEMA
    from olympia.schema import CLIP_ARROW_SCHEMA

    header = yaml.safe_load((release / "README.md").read_text().split("---\n")[1])
    infos = {c["config_name"]: c for c in header["dataset_info"]}
    for name, schema in (("clips", CLIP_ARROW_SCHEMA), ("qa", QA_ARROW_SCHEMA)):
        assert infos[name]["features"] == datasets.Features.from_arrow_schema(schema)._to_yaml_list()
    keypoints = {f["name"]: f for f in infos["clips"]["features"]}["keypoints"]
    assert keypoints == {"name": "keypoints", "list": {"list": "float32", "length": 51}}


def test_hugging_face_datasets_loads_the_release_as_float32_arrays(release, tmp_path, monkeypatch):
    """`datasets.load_dataset(<release folder>)` reads the card's configs, features and splits
    (their validation used to fail: "The splits field in YAML is malformed") and gives
    (n_frames, 51) float32 arrays with with_format numpy and torch."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    store = ClipStore(release)
    clips = datasets.load_dataset(str(release), "clips", cache_dir=str(tmp_path / "hf"))
    assert {s: len(d) for s, d in clips.items()} == json.loads((release / "meta/info.json").read_text())["counts"]["splits"]
    train = clips["train"].with_format("numpy")
    for row in (train[0], train[len(train) - 1]):
        kp = row["keypoints"]
        assert kp.dtype == np.float32 and kp.shape == (row["n_frames"], 51)
        assert row["split"] == "train"
        np.testing.assert_array_equal(kp.reshape(-1, 17, 3), store.keypoints(str(row["id"])))
    torch_kp = clips["test"].with_format("torch")[0]["keypoints"]
    assert str(torch_kp.dtype) == "torch.float32" and torch_kp.ndim == 2 and torch_kp.shape[1] == 51
    qa = datasets.load_dataset(str(release), "qa", cache_dir=str(tmp_path / "hf"))
    assert set(qa) == {"train", "validation", "test"} and len(qa["train"]) > 0


def test_polars_and_duckdb_see_arrays(release):
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    shard = sorted((release / "data/clips").glob("train-*.parquet"))[0]
    kp_type = pl.read_parquet(shard, columns=["keypoints"]).schema["keypoints"]
    assert kp_type == pl.List(pl.Array(pl.Float32, 51))
    [(n_frames, width, joint_x)] = duckdb.sql(
        f"SELECT n_frames, len(keypoints[1]), keypoints[1][1] FROM '{shard}' ORDER BY id LIMIT 1").fetchall()
    store = ClipStore(release)
    first = store.metadata(split="train").sort_values("id").iloc[0]
    assert (n_frames, width) == (first.n_frames, 51)
    assert joint_x == pytest.approx(float(store.keypoints(first.id)[0, 0, 0]))


def test_stats_by_hand(release):
    stats = json.loads((release / "meta/stats.json").read_text())
    meta = ClipStore(release).metadata()
    assert sum(stats["reps"]["histogram"]["counts"]) == 40
    assert stats["reps"]["mean"] == pytest.approx(meta["reps"].mean())
    assert stats["joints"]["frames"] == int(meta["n_frames"].sum())
    store = ClipStore(release)
    all_kp = np.concatenate([store.keypoints(i) for i in store.ids]).astype(np.float64)
    np.testing.assert_allclose(stats["joints"]["mean"], all_kp.mean(0), atol=1e-5)
    np.testing.assert_allclose(stats["joints"]["std"], all_kp.std(0), atol=1e-4)


def test_group_split_is_leak_free(release):
    meta = ClipStore(release).metadata()
    assert (meta.groupby("split_group")["split"].nunique() == 1).all()


def test_rebuild_is_byte_identical_and_noop_when_unchanged(release, tmp_path):
    recipe = Recipe(ReleaseConfig(), DemoConfig(n_clips=40, clips_per_subject=4))
    again = tmp_path / "again"
    build_from_recipe(recipe, again, workers=2, progress=False)
    a = json.loads((release / "meta/info.json").read_text())["files"]
    b = json.loads((again / "meta/info.json").read_text())["files"]
    assert a == b                                            # every file, same sha256
    assert build_from_recipe(recipe, again, workers=1, progress=False) is None   # no-op
    recipe.demo.n_clips = 41
    assert build_from_recipe(recipe, again, workers=1, progress=False).n_clips == 41


def test_recipe_with_a_raw_source_a_video_only_source_and_a_pose_store(tmp_path, monkeypatch):
    """`make dataset` with real layouts configured: MM-Fit fixtures are ingested, RepCount (video
    only) is reported with the pose-path command, a store from the pose path joins as it is."""
    from raw_fixtures import write_mmfit, write_repcount
    from factories import make_clip
    from olympia.recipe import load_recipe
    from olympia.store import write_store

    write_mmfit(tmp_path / "mmfit")
    write_repcount(tmp_path / "repcount")
    pose_store = tmp_path / "stores/videos"
    write_store(pose_store, [make_clip(i, source="videos", subject=f"v{i}", n_frames=60, reps=3)
                             for i in range(4)], progress=False)
    repo = tmp_path / "repo"
    (repo / "pipelines").mkdir(parents=True)
    (repo / "pipelines/sources.yaml").write_text(yaml.safe_dump({"sources": {
        "mmfit": {"env": "X_MMFIT", "path": None}, "repcount": {"env": "X_REPCOUNT", "path": None}}}))
    (repo / "pipelines/release.yaml").write_text(yaml.safe_dump({
        "release": {"name": "t"}, "demo": {"n_clips": 6, "clips_per_subject": 2},
        "sources_config": "pipelines/sources.yaml", "stores": [str(pose_store), "work/stores/missing"]}))
    monkeypatch.setenv("X_MMFIT", str(tmp_path / "mmfit"))
    monkeypatch.setenv("X_REPCOUNT", str(tmp_path / "repcount"))
    recipe = load_recipe(repo / "pipelines/release.yaml")
    assert recipe.stores == [pose_store, repo / "work/stores/missing"]
    report = build_from_recipe(recipe, tmp_path / "out", workers=1, progress=False)

    meta = ClipStore(tmp_path / "out").metadata()
    assert meta["source"].value_counts().to_dict() == {"demo": 6, "mmfit": 3, "videos": 4}  # 2 + 1 MM-Fit sets
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    skipped = info["extras"]["sources_skipped"]
    # paths in the release are relative to the recipe's repository (same bytes in any checkout)
    assert set(skipped) >= {"fit3d", "kimore", "store work/stores/missing"}
    assert str(repo) not in json.dumps(skipped)
    assert "mmfit" not in skipped and "repcount" not in skipped
    pose_hint = [r for r in report.rejected if r.source == "repcount"]
    # one entry per segment waiting for the pose path (the fixture's 5 RepCount rows), not a summary
    assert len(pose_hint) == 5 and all("olympia pose --segments" in r.message for r in pose_hint)
    card = (tmp_path / "out/README.md").read_text()
    assert "| mmfit | 3 |" in card and "work/stores/missing" in card


def test_same_bytes_whatever_the_checkout_cwd_hash_seed_or_workers(tmp_path):
    """Two builds of the same inputs from two checkouts of the recipe, run from different
    folders with different PYTHONHASHSEED and worker counts: every file byte-identical, every
    file 0644 under umask 022 (no mkstemp 0600), no absolute path in info.json or the card."""
    import os
    import shutil
    import stat
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    outs = []
    for name, seed, workers in (("a", "1", "1"), ("b", "987", "2")):
        checkout = tmp_path / name / "checkout"
        shutil.copytree(repo / "pipelines", checkout / "pipelines")
        out = tmp_path / name / "release"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env.pop("OLYMPIA_RAW_MMFIT", None)
        cmd = [sys.executable, "-c", "import os; os.umask(0o022); from olympia.cli import main; main()",
               "build", "--recipe", str(checkout / "pipelines/release.yaml"), "--out", str(out),
               "--clips", "30", "--workers", workers, "--quiet"]
        subprocess.run(cmd, cwd=tmp_path / name, env=env, check=True, capture_output=True)
        outs.append(out)

    def tree(root):
        return {p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
                for p in sorted(root.rglob("*")) if p.is_file()}
    a, b = tree(outs[0]), tree(outs[1])
    assert sorted(a) == sorted(b)
    for rel in a:
        assert a[rel][0] == b[rel][0], f"{rel} differs between the two builds"
        assert a[rel][1] == 0o644, f"{rel} has mode {oct(a[rel][1])}"
    for rel in ("meta/info.json", "README.md"):
        text = a[rel][0].decode()
        assert str(tmp_path) not in text and str(repo) not in text, f"{rel} names an absolute path"


def test_unlabeled_clips_are_refused_unless_allowed(tmp_path):
    from factories import make_clip
    from olympia.release import build_release

    clips = [make_clip(0), make_clip(1, label="unlabeled")]
    report = build_release(tmp_path / "r", clips, ReleaseConfig(name="t"), progress=False)
    assert report.n_clips == 1
    [rej] = report.rejected
    assert rej.clip_id == "test:c0001" and rej.field == "label" and "--allow-unlabeled" in rej.message
    report = build_release(tmp_path / "r", [make_clip(0), make_clip(1, label="unlabeled")],
                           ReleaseConfig(name="t", allow_unlabeled=True), progress=False)
    assert report.n_clips == 2


def test_sources_split_into_file_units_give_what_the_adapter_gives(tmp_path, monkeypatch):
    """A build runs each raw source as groups of files (work units any engine can run): the
    clips and the quarantine, in order, are exactly what Adapter.clips yields for the source."""
    import raw_fixtures
    from olympia.adapters import ADAPTERS
    from olympia import recipe as recipe_mod

    monkeypatch.setattr(recipe_mod, "SOURCE_UNIT_FILES", 2)            # several units per source
    raws = raw_fixtures.write_all(tmp_path / "raw")

    def summary(items):
        return [(i.id, i.label) if hasattr(i, "keypoints") else ("rejected", i.where, i.field, i.message)
                for i in items]
    split = 0
    for name, raw in raws.items():
        units = recipe_mod.source_units(name, raw)
        via_units = [item for unit in units for item in unit.produce(*unit.args)]
        assert summary(via_units) == summary(ADAPTERS[name].clips(raw)), name
        split += len(units) > 1
    assert split >= 4                    # fit3d, kimore, uiprmd, infiniterep come in several units
