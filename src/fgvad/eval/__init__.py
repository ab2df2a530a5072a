"""Evaluation: scoring videos, frame-level ground truth, metrics and the eval folder.

The library API, typed (the `fgvad eval`, `score` and `gt` commands and `fgvad demo` call it):

    from fgvad.eval import evaluate
    result = evaluate(checkpoint="runs/x/checkpoint-2000", baseline="/models/fg-clip-base",
                      video_root="/data/UCF_Crimes/Videos", out="eval/x")
    print(result.table, result.metrics["auc"])

Names are imported on first use, so importing this package (or the torch-free modules
``gt``, ``metrics``, ``folder``) never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "evaluate": "fgvad.eval.evaluation",
    "EvalResult": "fgvad.eval.evaluation",
    "load_score_dir": "fgvad.eval.evaluation",
    "Scorer": "fgvad.eval.score",
    "load_scorer": "fgvad.eval.score",
    "score_videos": "fgvad.eval.score",
    "score_video": "fgvad.eval.score",
    "build_ground_truth": "fgvad.eval.gt",
    "resolve_frame_counts": "fgvad.eval.gt",
    "save_ground_truth": "fgvad.eval.gt",
    "load_ground_truth": "fgvad.eval.gt",
    "compute_metrics": "fgvad.eval.metrics",
    "HeatmapSet": "fgvad.eval.folder",
    "load_heatmaps": "fgvad.eval.folder",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from fgvad.eval.evaluation import EvalResult, evaluate, load_score_dir
    from fgvad.eval.folder import HeatmapSet, load_heatmaps
    from fgvad.eval.gt import build_ground_truth, load_ground_truth, resolve_frame_counts, save_ground_truth
    from fgvad.eval.metrics import compute_metrics
    from fgvad.eval.score import Scorer, load_scorer, score_video, score_videos


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fgvad.eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
