"""NaN/Inf losses: skip the update of that step, count, stop after ``--max-nan-steps`` in a row.

The pieces sit on public extension points:
- the Trainer's ``compute_loss`` calls :meth:`NanGuard.mark_non_finite` when any rank's
  loss is not finite (and backpropagates a zero instead, keeping DDP's reducer in step);
- :meth:`NanGuard.drop_gradients` is a torch optimizer step pre-hook: in a marked step it
  removes every gradient, and torch optimizers neither update, decay nor count a step for
  a parameter without one. It fires whoever calls the step (accelerate, a GradScaler,
  DeepSpeed's wrapper);
- the callback methods count skipped updates, log them and stop training.
The learning-rate schedule keeps following the global step.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from fgvad.train.callbacks import append_log_line


class NanGuard(TrainerCallback):
    """Counts skipped (NaN/Inf) updates; after ``max_nan_steps`` in a row stops without saving."""

    def __init__(self, max_nan_steps: int):
        self.max_nan_steps = max_nan_steps
        self.nan_in_step = False  # a micro-batch of the current accumulation window was non-finite
        self.consecutive = 0
        self.stopped = False
        self._skipped_since_log = 0
        self._steps_since_log = 0

    def mark_non_finite(self) -> None:
        self.nan_in_step = True

    def drop_gradients(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        """``optimizer.register_step_pre_hook`` hook: a marked step updates nothing."""
        if self.nan_in_step:
            for group in optimizer.param_groups:
                for param in group["params"]:
                    param.grad = None

    def on_optimizer_step(self, args, state, control, **kwargs):
        self._steps_since_log += 1
        if self.nan_in_step:
            self.consecutive += 1
            self._skipped_since_log += 1
            if args.should_save:
                append_log_line(args.output_dir, f"WARNING step {state.global_step + 1}: loss is NaN/Inf, update "
                                                 f"skipped ({self.consecutive} in a row)")
        else:
            self.consecutive = 0
        self.nan_in_step = False

    def on_step_end(self, args, state, control, **kwargs):
        if self.consecutive == 0:
            return
        control.should_save = False  # the weights after a skipped step may be what broke; keep the last good
        if self.consecutive < self.max_nan_steps:
            return
        self.stopped = True
        control.should_training_stop = True
        if args.should_save:
            append_log_line(args.output_dir, f"ERROR step {state.global_step}: {self.consecutive} "
                                             "consecutive NaN/Inf losses, training stopped")

    def annotate_log(self, logs: dict[str, float]) -> None:
        """Called by the Trainer's ``log`` for a training-loss line: say how many updates were skipped."""
        if self._skipped_since_log:
            logs["nan_skipped_steps"] = float(self._skipped_since_log)
            if self._skipped_since_log >= self._steps_since_log:
                # Every step of the window was skipped: say so instead of HF's filtered 0.
                logs["loss"] = float("nan")
                logs.pop("grad_norm", None)
            self._skipped_since_log = 0
        self._steps_since_log = 0
