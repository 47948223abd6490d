"""Shared test helpers. Real files from the public releases are read from ../shared (never
copied into the repo); tests that need them skip with the reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OLYMPIA_SHARED", REPO.parent / "shared"))
REALDATA = SHARED / "realdata"
SPEC = SHARED / "spec"


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
