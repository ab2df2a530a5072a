"""Training: config -> data -> VideoTrainer (HF Trainer subclass) -> checkpoints.

``run_training`` is imported lazily so that ``fgvad train --help`` does not load torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_training", "TrainResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fgvad.train import run

        return getattr(run, name)
    raise AttributeError(name)
