"""What a training run ends with: its result, or the refusal of a diverged end state
(shared by full training and heads on frozen features)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fgvad.core.errors import TrainingDivergedError
from fgvad.train.options import TrainConfig


@dataclass
class TrainResult:
    output_dir: Path
    log_history: list[dict[str, Any]]
    final_checkpoint: Path | None  # None when training stopped on repeated NaN losses
    global_step: int = 0
    skipped_entries: list[str] = field(default_factory=list)


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


__all__ = ["TrainResult", "refuse_diverged"]
