"""Loss weights by optimizer step (``--loss-schedule``): two-stage training in one run.

``"0:global=1,region=0;500:global=0,region=1"`` trains the global loss alone for steps
0-499, then the region loss alone: the users' stage-1 (global) and stage-2 (region) scripts
in one run, with one optimizer and learning-rate schedule. Each stage keeps the weights it
does not name (from the options, or the stage before). The step is the Trainer's global
step, so a resumed run continues in the right stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fgvad.core.errors import ConfigError

WEIGHT_NAMES = {"global": "global_loss_weight", "region": "region_loss_weight",
                "hard_negative": "hard_negative_loss_weight", "mil": "mil_loss_weight"}


@dataclass(frozen=True)
class Stage:
    start: int
    weights: tuple[tuple[str, float], ...]  # (LossArguments field, value)


def parse_loss_schedule(text: str | None) -> list[Stage]:
    """Stages in step order; one-line ConfigError naming what is wrong."""
    if text is None or not str(text).strip():
        return []
    stages: list[Stage] = []
    for part in str(text).split(";"):
        step, colon, assignments = part.strip().partition(":")
        where = f"option --loss-schedule: stage {part.strip()!r}"
        if not colon or not step.strip().isdigit():
            raise ConfigError(f"{where}: expected STEP:name=value,..., e.g. 0:global=1,region=0")
        weights = []
        for item in assignments.split(","):
            name, eq, value = item.strip().partition("=")
            if name not in WEIGHT_NAMES or not eq:
                raise ConfigError(f"{where}: {item.strip()!r} is not name=value with name one of "
                                  f"{', '.join(WEIGHT_NAMES)}")
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(f"{where}: weight {value!r} is not a number") from None
            if not number >= 0:
                raise ConfigError(f"{where}: weight {number:g} must be >= 0")
            weights.append((WEIGHT_NAMES[name], number))
        stages.append(Stage(int(step), tuple(weights)))
    starts = [stage.start for stage in stages]
    if starts != sorted(set(starts)):
        raise ConfigError(f"option --loss-schedule: stage steps must increase, got {starts}")
    return stages


def weights_at(stages: list[Stage], step: int, base: dict[str, float]) -> dict[str, float]:
    """The loss weights in force at optimizer step ``step``."""
    weights = dict(base)
    for stage in stages:
        if stage.start > step:
            break
        weights.update(stage.weights)
    return weights


def schedule_callback(stages: list[Stage], loss_args: Any) -> Any:
    """A TrainerCallback that sets ``loss_args``' weights (the training module reads them every
    forward) at the start of each step, and notes every change in trainer_log.txt."""
    from transformers import TrainerCallback

    from fgvad.train.callbacks import note_in_log

    base = {field: getattr(loss_args, field) for field in WEIGHT_NAMES.values()}

    class LossSchedule(TrainerCallback):
        def __init__(self) -> None:
            self.current: dict[str, float] | None = None

        def _apply(self, args: Any, state: Any) -> None:
            wanted = weights_at(stages, state.global_step, base)
            if wanted == self.current:
                return
            for field, value in wanted.items():
                setattr(loss_args, field, value)
            self.current = wanted
            if state.is_world_process_zero:
                words = " ".join(f"{name} {wanted[field]:g}" for name, field in WEIGHT_NAMES.items())
                note_in_log(args.output_dir, f"=== step {state.global_step}: loss weights {words}")

        def on_train_begin(self, args, state, control, **kwargs):
            self._apply(args, state)

        def on_step_begin(self, args, state, control, **kwargs):
            self._apply(args, state)

    return LossSchedule()
