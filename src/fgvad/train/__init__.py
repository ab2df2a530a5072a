"""Training: config -> data -> VideoTrainer (HF Trainer subclass) -> checkpoints.

The library API is :func:`train` (returns a :class:`TrainResult`). It is imported lazily so
that ``fgvad train --help`` does not load torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["train", "TrainResult", "run_training"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fgvad.train import run

        return getattr(run, name)
    raise AttributeError(name)
