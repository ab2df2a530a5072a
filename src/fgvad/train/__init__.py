"""Training: config -> data -> VideoTrainer (HF Trainer subclass) -> checkpoints.

The library API is :func:`train` (returns a :class:`TrainResult`); a run's options are a
:class:`TrainConfig` (:func:`build_config` merges a preset, YAML or mapping with overrides).
Names are imported lazily so that ``fgvad train --help`` does not load torch.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"train": "run", "TrainResult": "run", "TrainConfig": "options", "build_config": "options"}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"fgvad.train.{_LAZY[name]}"), name)
    raise AttributeError(name)
