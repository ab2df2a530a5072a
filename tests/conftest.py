"""Shared test set-up: no network, small thread counts, paths to ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    # The project's real data and fixtures live beside the checkout (CI lays a copy there too).
    assert SHARED.is_dir(), f"expected the shared data folder at {SHARED}"
    return SHARED


@pytest.fixture(scope="session")
def real_train_json(shared_dir: Path) -> Path:
    return shared_dir / "datasets" / "ucf_fgclip" / "ucf_fgclip_train_with_timestamps_en.json"
