"""Frozen per-snippet features: extract once with a backbone, train heads in minutes (fgvad.train.features).

``extract_features`` (`fgvad features extract`) writes a features folder (format:
:mod:`fgvad.data.features`); backbones are adapters in :mod:`fgvad.models.feature_backbones`.
"""

from __future__ import annotations

from fgvad.features.extract import ExtractResult, extract_features

__all__ = ["ExtractResult", "extract_features"]
