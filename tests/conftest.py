"""Shared test set-up: no network, small thread counts, paths to the test copies of ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

REPO = Path(__file__).resolve().parents[1]
# Copies of the ../shared files the tests read, in the same layout (see tests/data/PROVENANCE.md),
# so a clone with nothing beside it passes. test_data_provenance.py checks them against ../shared.
TEST_DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"  # the project's originals; only the provenance test looks here


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The folder with ``datasets/...`` and ``fixtures/...`` as in ../shared: tests/data."""
    return TEST_DATA


@pytest.fixture(scope="session")
def real_train_json(shared_dir: Path) -> Path:
    return shared_dir / "datasets" / "ucf_fgclip" / "ucf_fgclip_train_with_timestamps_en.json"


@pytest.fixture(scope="session")
def real_v3_msad_json(shared_dir: Path) -> Path:
    """The users' newest training file: caption v3 + MSAD (Label Studio paths), 13 malformed entries."""
    return shared_dir / "datasets" / "ucf_fgclip" / "ucf_fgclip_with_v3_msad.json"
