"""Shared test helpers. Real files from the public releases are read from ../shared (never
copied into the repo); tests that need them skip with the reason when it is absent."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OLYMPIA_SHARED", REPO.parent / "shared"))
REALDATA = SHARED / "realdata"
SPEC = SHARED / "spec"

_POSE_CACHE: str | None = None


def pytest_configure(config):
    """Commands run by tests (and their subprocesses) keep their pose cache in a folder of this
    session, not the user's ~/.cache/olympia/pose: a test must not pass on a skeleton cached by
    an earlier run or another checkout, nor leave files in the user's home."""
    global _POSE_CACHE
    _POSE_CACHE = tempfile.mkdtemp(prefix="olympia-test-pose-cache-")
    os.environ["OLYMPIA_POSE_CACHE"] = _POSE_CACHE


def pytest_unconfigure(config):
    if _POSE_CACHE:
        shutil.rmtree(_POSE_CACHE, ignore_errors=True)


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test naming what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: real data / spec files live in ../shared beside the repo "
                    "(set OLYMPIA_SHARED to point elsewhere)")
    return path


@pytest.fixture
def realdata():
    return lambda *parts: shared_path("realdata", *parts)


@pytest.fixture
def spec():
    return lambda *parts: shared_path("spec", *parts)


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory):
    """A small demo release (40 clips, 4 subjects per split group), built once per session for
    tests that only read a release (loaders, card, README recipes). Do not modify it."""
    from olympia.demo import DemoConfig
    from olympia.recipe import Recipe, build_from_recipe
    from olympia.release import ReleaseConfig

    out = tmp_path_factory.mktemp("demo-release") / "olympia-demo"
    build_from_recipe(Recipe(ReleaseConfig(), DemoConfig(n_clips=40, clips_per_subject=4)), out,
                      workers=1, progress=False)
    return out
