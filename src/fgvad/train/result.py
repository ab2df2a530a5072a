"""What a training run ends with: its result, or the refusal of a diverged end state
(shared by full training and heads on frozen features)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from fgvad.core.errors import TrainingDivergedError
from fgvad.train.options import TrainConfig


@dataclass
class TrainResult:
    output_dir: Path
    log_history: list[dict[str, Any]]
    final_checkpoint: Path | None  # None when training stopped on repeated NaN losses
    global_step: int = 0
    skipped_entries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. mil_at_chance's, also printed and logged
    at_chance: list[str] = field(default_factory=list)  # the losses those warnings name: "mil", "region_anomaly"


def refuse_diverged(trainer: Any, cfg: TrainConfig, output_dir: Path, run_id: str, is_main: bool) -> None:
    """TrainingDivergedError when the run's end state is not a result (NaN guard stopped it, or
    :meth:`VideoTrainer.divergence`), naming this run's last good checkpoint; the final model
    is then not written. Shared by full training and heads on frozen features."""
    from fgvad.train.callbacks import note_in_log
    from fgvad.train.run_identity import latest_checkpoint_of_run

    last = latest_checkpoint_of_run(output_dir, run_id)
    kept = f"; the last good checkpoint is {last}" if last else "; no checkpoint was saved"
    if trainer.nan_guard.stopped:
        raise TrainingDivergedError(f"training stopped at step {trainer.state.global_step}: "
                                    f"{cfg.optim.max_nan_steps} consecutive NaN/Inf losses{kept}")
    diverged = trainer.divergence()
    if diverged is not None:  # a diverged end state is not a result: the final model is not written
        if is_main:
            note_in_log(output_dir, f"ERROR training diverged: {diverged}; the final model was not saved")
        raise TrainingDivergedError(f"training diverged: {diverged}; the final model was not saved{kept} "
                                    "(check --learning_rate and the data)")


# A MIL loss within this fraction of its chance level over the second half of a run counts as
# "learnt nothing": the held-out runs that failed ended 0.2-0.3 % above ln 2; runs that learn
# fall far below it (the demo ~0.001).
CHANCE_MARGIN = 0.01
# The region anomaly loss is noisier (a batch's anomalous boxes are few), so its margin is wider:
# seventh-attempt held-out runs whose boxes taught nothing averaged 1.356-1.382 over their second
# half (chance 1.386); runs that learn, 1.17-1.28 on the hard 3x3 development sets, 0.73-0.77 on
# the demo.
REGION_ANOMALY_CHANCE_MARGIN = 0.05


def mil_chance_loss(anomalous_share: float) -> float:
    """The MIL loss of a head that predicts the batch's anomalous share for every video (knows
    nothing about the videos): the entropy of that share, ln 2 for balanced batches."""
    p = float(anomalous_share)
    if not 0.0 < p < 1.0:
        return 0.0
    return -(p * math.log(p) + (1.0 - p) * math.log(1.0 - p))


# fgvad.train.losses.region_anomaly_loss of a head that gives every box the same logit: at best
# (logit 0) ln 2 for the anomaly's boxes plus ln 2 for the others.
REGION_ANOMALY_CHANCE_LOSS = 2.0 * math.log(2.0)


def _late_mean(history: Sequence[dict[str, Any]], key: str, min_logs: int) -> float | None:
    """Mean of the logged ``key`` over the second half of training (None: fewer than ``min_logs``
    logged values there)."""
    logged = [(h["step"], float(h[key])) for h in history if key in h and "step" in h]
    if not logged:
        return None
    half = logged[-1][0] / 2.0
    late = [loss for step, loss in logged if step > half]
    return sum(late) / len(late) if len(late) >= min_logs else None


def _chance_warning(history: Sequence[dict[str, Any]], key: str, chance: float, margin: float, min_logs: int,
                    loss: str, meaning: str) -> str | None:
    """The warning for ``key`` when its late-half mean stayed within ``margin`` of ``chance``."""
    mean = _late_mean(history, key, min_logs)
    if mean is None or chance <= 0.0 or not math.isfinite(mean) or mean < (1.0 - margin) * chance:
        return None
    return (f"warning: the {loss} stayed at chance over the second half of training (mean {mean:.4f}, "
            f"chance {chance:.4f}): {meaning}")


def mil_at_chance(history: Sequence[dict[str, Any]], anomalous_share: float, min_logs: int = 4) -> str | None:
    """A one-line warning when the logged MIL loss of the second half of training stayed within
    :data:`CHANCE_MARGIN` of :func:`mil_chance_loss` (the anomaly head learnt nothing that tells
    anomalous from normal videos); None otherwise, or with fewer than ``min_logs`` logged values
    in that half, or one class only."""
    return _chance_warning(history, "loss_mil", mil_chance_loss(anomalous_share), CHANCE_MARGIN, min_logs,
                           "MIL loss", "the anomaly head learnt nothing that tells the anomalous videos from the "
                           "normal ones, so its scores are not a result; the events may be too small or too rare "
                           "in the frames for video labels to find (see the README's held-out section)")


def region_anomaly_at_chance(history: Sequence[dict[str, Any]], min_logs: int = 4) -> str | None:
    """Like :func:`mil_at_chance` for the region anomaly loss (within
    :data:`REGION_ANOMALY_CHANCE_MARGIN` of :data:`REGION_ANOMALY_CHANCE_LOSS`): the patch head
    did not learn to tell the boxes of the anomaly's captions from the others, not even on the
    training videos."""
    return _chance_warning(history, "loss_region_anomaly", REGION_ANOMALY_CHANCE_LOSS,
                           REGION_ANOMALY_CHANCE_MARGIN, min_logs, "region anomaly loss",
                           "the patch head did not learn to tell the anomaly's boxes from the others even on the "
                           "training videos; the boxes may be too small at this image size for a model trained "
                           "from scratch (see the README's held-out section)")


def warn_if_at_chance(history: Sequence[dict[str, Any]], cfg: TrainConfig, anomalous_share: float,
                      output_dir: Path, is_main: bool) -> dict[str, str]:
    """:func:`mil_at_chance` and :func:`region_anomaly_at_chance` for a finished run, for the
    losses it trained: printed and written to trainer_log.txt on the main process; returned as
    ``{loss: warning}`` ("mil", "region_anomaly"; for TrainResult) on every process. The model is
    still saved: its prompt scores and region features may serve."""
    found = {}
    if cfg.loss.mil_loss_weight > 0:
        found["mil"] = mil_at_chance(history, anomalous_share)
    if cfg.loss.region_anomaly_loss_weight > 0:
        found["region_anomaly"] = region_anomaly_at_chance(history)
    found = {name: warning for name, warning in found.items() if warning is not None}
    if is_main and found:
        from fgvad.train.entries import say

        for warning in found.values():
            say(output_dir, warning)
    return found


__all__ = ["TrainResult", "refuse_diverged", "mil_at_chance", "mil_chance_loss", "region_anomaly_at_chance",
           "warn_if_at_chance", "CHANCE_MARGIN", "REGION_ANOMALY_CHANCE_LOSS", "REGION_ANOMALY_CHANCE_MARGIN"]
