"""Training callbacks: the human-readable ``trainer_log.txt``.

One line per logging step, e.g.::

    Training Epoch 1/3 step 20/120 loss 3.2141 global 1.9012 region 0.8830 mil 0.4299 lr 9.52e-04
    grad_norm 1.734 frames/s 412.3 ETA 0:01:05

(on one line). Frames/s counts the frames the model saw since the previous line over all
processes; the ETA extrapolates the time per optimizer step of this session.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

LOG_NAME = "trainer_log.txt"
_COMPONENT_KEYS = (("loss_global", "global"), ("loss_region", "region"),
                   ("loss_hard_negative", "hardneg"), ("loss_mil", "mil"),
                   ("loss_region_anomaly", "region_anomaly"))


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return str(value)
    return f"{value:.4f}"


def append_log_line(output_dir: str | Path, line: str) -> None:
    path = Path(output_dir) / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")


def note_in_log(output_dir: str | Path | None, line: str) -> None:
    """:func:`append_log_line` for warnings and errors: a full disk must not turn them into a crash."""
    if output_dir is None:
        return
    try:
        append_log_line(output_dir, line)
    except OSError:
        pass


class TrainerLogCallback(TrainerCallback):
    """Writes ``output_dir/trainer_log.txt`` (main process only)."""

    def __init__(self, frames_per_sample: int):
        self.frames_per_sample = frames_per_sample
        self._last_time: float | None = None
        self._last_step = 0
        self._start_time: float | None = None
        self._start_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        now = time.time()
        self._last_time = self._start_time = now
        self._last_step = self._start_step = state.global_step
        if state.is_world_process_zero:
            resumed = f" (resumed at step {state.global_step})" if state.global_step else ""
            append_log_line(args.output_dir, f"=== training started {_dt.datetime.now():%Y-%m-%d %H:%M:%S}"
                                             f"{resumed}: {state.max_steps} steps, {args.num_train_epochs:g} epochs")

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        if state.is_world_process_zero and logs and "eval_video_auc" in logs:
            append_log_line(args.output_dir, validation_line(state, logs))
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        now = time.time()
        steps = state.global_step - self._last_step
        elapsed = max(now - (self._last_time or now), 1e-9)
        samples_per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
        frames_per_s = steps * samples_per_step * self.frames_per_sample / elapsed if steps > 0 else 0.0
        self._last_time, self._last_step = now, state.global_step
        done = state.global_step - self._start_step
        per_step = (now - (self._start_time or now)) / done if done > 0 else 0.0
        eta = _dt.timedelta(seconds=int(per_step * max(state.max_steps - state.global_step, 0)))
        total_epochs = int(getattr(state, "num_train_epochs", 0) or max(math.ceil(args.num_train_epochs), 1))
        # the epoch a step belongs to: 0.5 -> 1, 1.0 (its last step) -> 1, 1.25 -> 2
        epoch_now = min(max(int(math.ceil((state.epoch or 0.0) - 1e-9)), 1), total_epochs)
        parts = [f"Training Epoch {epoch_now}/{int(total_epochs or 1)}",
                 f"step {state.global_step}/{state.max_steps}", f"loss {_fmt(logs['loss'])}"]
        for key, label in _COMPONENT_KEYS:
            if key in logs:
                parts.append(f"{label} {_fmt(logs[key])}")
        if "learning_rate" in logs:
            parts.append(f"lr {logs['learning_rate']:.3e}")
        if "grad_norm" in logs and logs["grad_norm"] is not None:
            parts.append(f"grad_norm {float(logs['grad_norm']):.3f}")
        if "logit_scale" in logs:
            parts.append(f"scale {logs['logit_scale']:.2f}")
        if logs.get("nan_skipped_steps"):
            parts.append(f"nan_skipped {int(logs['nan_skipped_steps'])}")
        parts.append(f"frames/s {frames_per_s:.1f}")
        parts.append(f"ETA {eta}")
        append_log_line(args.output_dir, " ".join(parts))

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            best = ""
            if state.best_model_checkpoint and args.metric_for_best_model:
                kept = " (loaded: --load_best_model_at_end)" if args.load_best_model_at_end else ""
                best = (f"; best {args.metric_for_best_model} {_fmt(state.best_metric)} at "
                        f"{Path(state.best_model_checkpoint).name}{kept}")
            append_log_line(args.output_dir, f"=== training ended at step {state.global_step}/{state.max_steps}{best}")


def validation_line(state: Any, logs: dict[str, Any]) -> str:
    """``Validation epoch 3.0 step 72: video AUC 0.9375 AP 0.9412 loss 1.2345 global ... mil ... (24 videos)``."""
    parts = [f"Validation epoch {float(state.epoch or 0.0):.1f} step {state.global_step}:",
             f"video AUC {_fmt(logs.get('eval_video_auc'))}", f"AP {_fmt(logs.get('eval_video_ap'))}"]
    if "eval_loss" in logs:
        parts.append(f"loss {_fmt(logs['eval_loss'])}")
    for key, label in _COMPONENT_KEYS:
        if f"eval_{key}" in logs:
            parts.append(f"{label} {_fmt(logs[f'eval_{key}'])}")
    if "eval_videos" in logs:
        parts.append(f"({int(logs['eval_videos'])} videos)")
    return " ".join(parts)
