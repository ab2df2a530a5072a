"""Data files shipped with fgvad (package data). What each file is, and for which dataset,
is recorded in the dataset registry, :mod:`fgvad.core.datasets`."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
