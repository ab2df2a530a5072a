"""Model selection without the test set: video-level metrics on held-out training videos.

``--validation-fraction F`` (or ``--validation-path JSON``) keeps whole training videos
apart (fgvad.data.subsets). At each evaluation the Trainer runs the training module on them
in eval mode (no jitter, no augmentation, the middle frame of each segment) and
:func:`validation_metrics` turns what :meth:`VideoTrainer.prediction_step` returned into
``eval_video_auc`` / ``eval_video_ap`` (ROC-AUC and average precision of the MIL head's
video score: the mean of its top-k frame logits, the quantity the MIL loss trains, against
the video labels) and the mean of each validation loss (``eval_loss_mil``, ...). They reach
trainer_log.txt and TensorBoard through the Trainer's log, and ``metric_for_best_model`` can
name any of them (``video_auc``) for ``load_best_model_at_end``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fgvad.train.module import COMPONENTS

COLUMNS = ("video_logit", *(f"loss_{name}" for name in COMPONENTS))


def prediction_columns(outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, len(COLUMNS)) float32: each video's MIL logit, then the batch's loss components (NaN when off)."""
    logit = outputs["video_logit"].float()
    n = logit.shape[0]
    columns = [logit]
    for name in COLUMNS[1:]:
        value = outputs.get(name)
        columns.append(value.float().reshape(()).expand(n) if value is not None
                       else torch.full((n,), float("nan"), device=logit.device))
    return torch.stack(columns, dim=1)


def validation_metrics(prediction: Any) -> dict[str, float]:
    """``compute_metrics`` of the Trainer: an ``EvalPrediction`` of :func:`prediction_columns` rows."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    table = np.asarray(prediction.predictions, dtype=np.float64).reshape(-1, len(COLUMNS))
    labels = np.asarray(prediction.label_ids, dtype=np.float64).reshape(-1) > 0.5
    scores = table[:, 0]
    metrics: dict[str, float] = {"videos": float(labels.size)}
    if labels.any() and not labels.all():
        metrics["video_auc"] = float(roc_auc_score(labels, scores))
        metrics["video_ap"] = float(average_precision_score(labels, scores))
    else:  # one class only: ranking is undefined; NaN never counts as a new best
        metrics["video_auc"] = metrics["video_ap"] = float("nan")
    for k, name in enumerate(COLUMNS[1:], start=1):
        column = table[:, k]
        if np.isfinite(column).any():
            metrics[name] = float(np.nanmean(column))
    return metrics
