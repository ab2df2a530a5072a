"""``VideoTrainer``: HF Trainer with per-module learning rates, logged loss components,
a NaN/Inf guard and checkpoints in the FG-CLIP layout.

Parameter groups (each its own lr; no weight decay on biases, norms, embedding tables
and logit scales):
- vision: ``clip.vision_model`` and ``clip.visual_projection`` -> ``vision_lr``
- text: ``clip.text_model``, ``text_projection``, ``text_filip_projection`` -> ``text_lr``
- heads: the temporal module, pooling, MIL head and the three logit scales -> ``head_lr``
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from transformers import Trainer, TrainerCallback

from fgvad.train.options import TrainConfig
from fgvad.core.errors import FgvadError
from fgvad.train.callbacks import append_log_line
from fgvad.train.guards import AtomicCheckpointMixin
from fgvad.train.module import COMPONENTS, VideoTrainingModule

TRAIN_CONFIG_NAME = "fgvad_train_config.yaml"


class TrainingDivergedError(FgvadError):
    """Training stopped because the loss stayed NaN/Inf."""


def parameter_group_name(name: str) -> str:
    """'vision', 'text' or 'heads' for a parameter name of :class:`VideoTrainingModule`."""
    name = name.removeprefix("module.")
    if name.startswith("video_model.clip."):
        rest = name[len("video_model.clip."):]
        if rest.startswith(("vision_model.", "visual_projection.")):
            return "vision"
        if rest.startswith(("text_model.", "text_projection.", "text_filip_projection.")):
            return "text"
        return "heads"  # logit scales: new objectives, tuned like the heads
    return "heads"


def no_weight_decay(name: str, param: nn.Parameter) -> bool:
    lowered = name.lower()
    return (param.ndim < 2 or lowered.endswith(".bias") or "norm" in lowered or "layrnorm" in lowered
            or "embedding" in lowered or "logit_scale" in lowered or lowered.endswith("positions")
            or "class_embedding" in lowered)


class VideoTrainer(AtomicCheckpointMixin, Trainer):
    def __init__(self, *args: Any, fgvad_config: TrainConfig, trained_on: Sequence[str] = (),
                 tokenizer: Any = None, **kwargs: Any):
        self.fgvad_config = fgvad_config
        self.trained_on = list(trained_on)
        self.text_tokenizer = tokenizer
        # Device tensors, summed without a host sync; read once per logging step.
        self._component_sums: dict[str, Any] = {}
        self._component_counts: dict[str, int] = defaultdict(int)
        self._nan_in_step = False
        self._consecutive_nan_steps = 0
        self._nan_skipped_since_log = 0
        self._steps_since_log = 0
        self.stopped_for_nan = False
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------ optimizer

    def learning_rates(self) -> dict[str, float]:
        base = self.args.learning_rate
        o = self.fgvad_config.optim
        return {
            "vision": o.vision_lr if o.vision_lr is not None else base,
            "text": o.text_lr if o.text_lr is not None else base,
            "heads": o.head_lr if o.head_lr is not None else base * o.head_lr_multiplier,
        }

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        if self.optimizer is not None:
            return self.optimizer
        opt_model = self.model if model is None else model
        rates = self.learning_rates()
        groups: dict[tuple[str, bool], list[nn.Parameter]] = defaultdict(list)
        for name, param in opt_model.named_parameters():
            if param.requires_grad:
                groups[(parameter_group_name(name), no_weight_decay(name, param))].append(param)
        param_groups = []
        for (group, no_decay), params in sorted(groups.items()):
            param_groups.append({"params": params, "lr": rates[group],
                                 "weight_decay": 0.0 if no_decay else self.args.weight_decay,
                                 "name": f"{group}{'_no_decay' if no_decay else ''}"})
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        optimizer_kwargs.pop("lr", None)  # each group has its own
        self.optimizer = optimizer_cls(param_groups, **optimizer_kwargs)
        self._guard_optimizer_step(self.optimizer)
        return self.optimizer

    def _guard_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Skip the update (and the lr step) of an accumulation window that had a NaN/Inf loss."""
        original = optimizer.step
        trainer = self

        def guarded_step(*args: Any, **kwargs: Any) -> Any:
            wrapper = trainer.optimizer  # accelerate's AcceleratedOptimizer after prepare
            if trainer._nan_in_step:
                optimizer.zero_grad(set_to_none=True)
                if hasattr(wrapper, "_is_overflow"):
                    wrapper._is_overflow = True  # the Trainer then leaves the lr schedule alone
                return None
            if hasattr(wrapper, "_is_overflow") and getattr(wrapper, "scaler", None) is None:
                wrapper._is_overflow = False
            return original(*args, **kwargs)

        optimizer.step = guarded_step  # type: ignore[method-assign]

    # ------------------------------------------------------------ loss

    def compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        inputs = {k: v for k, v in inputs.items() if k != "num_frames_seen"}
        outputs = model(**inputs)
        loss = outputs["loss"]
        if torch.isfinite(loss.detach()).all():
            for name in COMPONENTS:
                key = f"loss_{name}"
                if key in outputs:
                    self._add_component(key, outputs[key])
            for key in ("logit_scale", "logit_scale_region"):
                self._add_component(key, outputs[key])
        return (loss, outputs) if return_outputs else loss

    def _add_component(self, key: str, value: torch.Tensor) -> None:
        value = value.detach().float()
        previous = self._component_sums.get(key)
        self._component_sums[key] = value if previous is None else previous + value
        self._component_counts[key] += 1

    def _all_ranks_finite(self, loss: torch.Tensor) -> bool:
        finite = torch.isfinite(loss.detach()).all().to(torch.float32).reshape(1)
        if self.args.world_size > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.all_reduce(finite, op=dist.ReduceOp.MIN)  # one rank's NaN skips the step everywhere
        return bool(finite.item() > 0)

    def training_step(self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None
                      ) -> torch.Tensor:
        model.train()
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        del inputs
        if not self._all_ranks_finite(loss):
            self._nan_in_step = True
            # Backward of a zero that touches every trainable parameter keeps DDP's reducer in step
            # on all ranks; the guarded optimizer then drops the whole accumulation window.
            zero = sum((p.reshape(-1)[:1] * 0.0).sum() for p in model.parameters() if p.requires_grad)
            self.accelerator.backward(zero)
            return loss.detach()
        loss = loss / self.current_gradient_accumulation_steps
        self.accelerator.backward(loss)
        return loss.detach()

    # ------------------------------------------------------------ logging

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and "train_loss" not in logs:
            for key, total in self._component_sums.items():
                count = self._component_counts.get(key, 0)
                if count:
                    logs[key] = float(total) / count
            self._component_sums.clear()
            self._component_counts.clear()
            if self._nan_skipped_since_log:
                logs["nan_skipped_steps"] = float(self._nan_skipped_since_log)
                if self._nan_skipped_since_log >= self._steps_since_log:
                    # Every step of the window was skipped: say so instead of HF's filtered 0.
                    logs["loss"] = float("nan")
                    logs.pop("grad_norm", None)
                self._nan_skipped_since_log = 0
            self._steps_since_log = 0
        super().log(logs, start_time)

    # ------------------------------------------------------------ checkpoints

    def _unwrapped(self) -> VideoTrainingModule:
        module = self.accelerator.unwrap_model(self.model, keep_torch_compile=False)
        return module

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Official FG-CLIP layout + video heads + tokenizer + the merged training options."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        module = self._unwrapped()
        video = module.video_model
        if state_dict:  # DeepSpeed/FSDP hand over a consolidated state dict
            video.load_state_dict({k.removeprefix("video_model."): v for k, v in state_dict.items()
                                   if k.startswith("video_model.")}, strict=False)
        video.save_pretrained(output_dir, trained_on=self.trained_on, tokenizer=self.text_tokenizer)
        import yaml

        source = {k: (v if isinstance(v, (int, float, str, bool, list, dict, type(None))) else str(v))
                  for k, v in self.fgvad_config.source.items()}
        Path(output_dir, TRAIN_CONFIG_NAME).write_text(yaml.safe_dump(source, sort_keys=True))

    def _load_weights_from(self, folder: str) -> None:
        from fgvad.models.video import VideoFGCLIP

        loaded = VideoFGCLIP.from_pretrained(folder)
        target = self._unwrapped().video_model
        missing, unexpected = target.load_state_dict(loaded.state_dict(), strict=False)
        if missing or unexpected:
            from fgvad.core.errors import CheckpointError

            key = (missing or unexpected)[0]
            raise CheckpointError(f"{folder}: checkpoint does not fit the model (key {key})")

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: nn.Module | None = None) -> None:
        self._load_weights_from(resume_from_checkpoint)

    def _load_best_model(self) -> None:
        if self.state.best_model_checkpoint:
            self._load_weights_from(self.state.best_model_checkpoint)

    # ------------------------------------------------------------ NaN bookkeeping

    def note_optimizer_step(self) -> None:
        """Called by the NaN callback after each optimizer step (skipped or not)."""
        self._steps_since_log += 1
        if self._nan_in_step:
            self._consecutive_nan_steps += 1
            self._nan_skipped_since_log += 1
            if self.args.should_save:
                append_log_line(self.args.output_dir,
                                f"WARNING step {self.state.global_step + 1}: loss is NaN/Inf, update skipped "
                                f"({self._consecutive_nan_steps} in a row)")
        else:
            self._consecutive_nan_steps = 0
        self._nan_in_step = False

    @property
    def consecutive_nan_steps(self) -> int:
        return self._consecutive_nan_steps


class NanGuardCallback(TrainerCallback):
    """Counts skipped (NaN/Inf) updates; after ``max_nan_steps`` in a row stops without saving."""

    def __init__(self, max_nan_steps: int):
        self.max_nan_steps = max_nan_steps
        self.trainer: VideoTrainer | None = None

    def on_optimizer_step(self, args, state, control, **kwargs):
        if self.trainer is not None:
            self.trainer.note_optimizer_step()

    def on_step_end(self, args, state, control, **kwargs):
        trainer = self.trainer
        if trainer is None or trainer.consecutive_nan_steps == 0:
            return
        control.should_save = False  # the weights after a skipped step may be what broke; keep the last good
        if trainer.consecutive_nan_steps < self.max_nan_steps:
            return
        trainer.stopped_for_nan = True
        control.should_training_stop = True
        if args.should_save:
            append_log_line(args.output_dir, f"ERROR step {state.global_step}: {trainer.consecutive_nan_steps} "
                                             "consecutive NaN/Inf losses, training stopped")


def finite_or_none(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
