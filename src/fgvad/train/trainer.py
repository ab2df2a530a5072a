"""``VideoTrainer``: HF Trainer with per-module learning rates, logged loss components,
a NaN/Inf guard and checkpoints in the FG-CLIP layout.

Extension points used: ``create_optimizer``, ``compute_loss``, ``training_step`` (around
the Trainer's own), ``log`` and callbacks are public. ``_save`` (what ``save_model``
writes, also for DeepSpeed/FSDP's gathered state dict), ``_load_from_checkpoint``,
``_load_best_model`` and (in :mod:`fgvad.train.checkpointing`) ``_save_checkpoint`` are
private: transformers has no public hook for a model whose files are not its state dict.
docs/CONTRACTS.md lists them; tests/test_hf_contract.py checks them on every upgrade.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from transformers import Trainer

from fgvad.core.errors import CheckpointError
from fgvad.train.checkpointing import AtomicCheckpointMixin
from fgvad.train.module import COMPONENTS, VideoTrainingModule
from fgvad.train.nan_guard import NanGuard
from fgvad.train.optim import learning_rates, parameter_groups
from fgvad.train.options import TrainConfig

from fgvad.train.run_identity import TRAIN_CONFIG_NAME, shape_mismatch_message, write_run_record

__all__ = ["TRAIN_CONFIG_NAME", "VideoTrainer"]


class VideoTrainer(AtomicCheckpointMixin, Trainer):
    def __init__(self, *args: Any, fgvad_config: TrainConfig, trained_on: Sequence[str] = (),
                 tokenizer: Any = None, nan_guard: NanGuard | None = None, sampler: Any = None,
                 prompts: Any = None, run_record: dict | None = None, **kwargs: Any):
        self.fgvad_config = fgvad_config
        self.run_record = run_record  # copied into every checkpoint: which run wrote it (run_identity)
        self.trained_on = list(trained_on)
        self.prompts = prompts  # the PromptSet of training, stored in every checkpoint
        self.text_tokenizer = tokenizer
        self.video_sampler = sampler  # fgvad.train.sampling.BalancedVideoSampler
        self.nan_guard = nan_guard or NanGuard(fgvad_config.optim.max_nan_steps)
        # Device tensors, summed without a host sync; read once per logging step.
        self._component_sums: dict[str, Any] = {}
        self._component_counts: dict[str, int] = defaultdict(int)
        self._non_finite_micro_batch = False
        super().__init__(*args, **kwargs)
        self.add_callback(self.nan_guard)

    # ------------------------------------------------------------ optimizer

    def learning_rates(self) -> dict[str, float]:
        return learning_rates(self.fgvad_config.optim, self.args.learning_rate)

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        if self.optimizer is not None:
            return self.optimizer
        opt_model = self.model if model is None else model
        groups = parameter_groups(opt_model, self.learning_rates(), self.args.weight_decay)
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        optimizer_kwargs.pop("lr", None)  # each group has its own
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        self.optimizer.register_step_pre_hook(self.nan_guard.drop_gradients)
        return self.optimizer

    # ------------------------------------------------------------ loss

    def compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        inputs = {k: v for k, v in inputs.items() if k != "num_frames_seen"}
        outputs = model(**inputs)
        loss = outputs["loss"]
        if model.training and not self._all_ranks_finite(loss):
            self.nan_guard.mark_non_finite()
            self._non_finite_micro_batch = True
            # Backward of a zero that touches every trainable parameter keeps DDP's reducer in step
            # on all ranks; the guard's optimizer hook then drops the whole accumulation window.
            loss = sum((p.reshape(-1)[:1] * 0.0).sum() for p in model.parameters() if p.requires_grad)
        elif torch.isfinite(loss.detach()).all():
            for name in COMPONENTS:
                key = f"loss_{name}"
                if key in outputs:
                    self._add_component(key, outputs[key])
            for key in ("logit_scale", "logit_scale_region"):
                if key in outputs:  # heads trained on frozen features have no temperatures
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
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self._non_finite_micro_batch:
            self._non_finite_micro_batch = False
            # Report NaN (the Trainer's logging_nan_inf_filter then leaves it out), not the zero trained on.
            return torch.full_like(loss, float("nan"))
        return loss

    # ------------------------------------------------------------ data

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        """fgvad's sampler (balanced classes, SampleKeys for reproducible jitter); the Trainer's otherwise."""
        if self.video_sampler is not None:
            return self.video_sampler
        return super()._get_train_sampler(train_dataset)

    # ------------------------------------------------------------ validation

    def prediction_step(self, model: nn.Module, inputs: dict[str, Any], prediction_loss_only: bool,
                        ignore_keys: list[str] | None = None) -> tuple[Any, Any, Any]:
        """Validation: the losses, and per video its MIL logit and loss components (columns of
        :data:`fgvad.train.validation.COLUMNS`) for :func:`~fgvad.train.validation.validation_metrics`."""
        from accelerate.utils import send_to_device

        from fgvad.train.validation import prediction_columns

        inputs = send_to_device({k: v for k, v in inputs.items() if k != "num_frames_seen"}, self.args.device)
        with torch.no_grad(), self.compute_loss_context_manager():
            outputs = model(**inputs)
        loss = outputs["loss"].detach().float()
        if prediction_loss_only:
            return loss, None, None
        return loss, prediction_columns(outputs), inputs["is_anomaly"].float()

    # ------------------------------------------------------------ logging

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and "train_loss" not in logs:
            for key, total in self._component_sums.items():
                count = self._component_counts.get(key, 0)
                if count:
                    logs[key] = float(total) / count
            self._component_sums.clear()
            self._component_counts.clear()
            self.nan_guard.annotate_log(logs)
        super().log(logs, start_time)

    # ------------------------------------------------------------ checkpoints

    def _unwrapped(self) -> VideoTrainingModule:
        return self.accelerator.unwrap_model(self.model, keep_torch_compile=False)

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Official FG-CLIP layout + video heads + tokenizer + the merged training options."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        video = self._unwrapped().video_model
        if state_dict:  # DeepSpeed/FSDP hand over a consolidated state dict
            video.load_state_dict({k.removeprefix("video_model."): v for k, v in state_dict.items()
                                   if k.startswith("video_model.")}, strict=False)
        video.save_pretrained(output_dir, trained_on=self.trained_on, tokenizer=self.text_tokenizer,
                              prompts=self.prompts)
        self.write_train_config(output_dir)

    def write_train_config(self, output_dir: str) -> None:
        """The merged training options (and the run record), beside the weights, for the record."""
        import yaml

        source = {k: (v if isinstance(v, (int, float, str, bool, list, dict, type(None))) else str(v))
                  for k, v in self.fgvad_config.source.items()}
        Path(output_dir, TRAIN_CONFIG_NAME).write_text(yaml.safe_dump(source, sort_keys=True))
        if self.run_record is not None:
            write_run_record(output_dir, self.run_record)

    def divergence(self) -> str | None:
        """Why the run's end state is not a result (None when it is): weights that became NaN/Inf,
        or a last logged loss, or last step, that was NaN/Inf."""
        import math

        from fgvad.models.checkpoint_io import first_non_finite

        if self.non_finite_weight is not None:
            step, name = self.non_finite_weight
            return f"the weights became NaN/Inf by step {step} ({name})"
        bad = first_non_finite(self._unwrapped().named_parameters())
        if bad is not None:
            return f"the final weights are not finite ({bad})"
        logged = [h for h in self.state.log_history if "loss" in h and "train_loss" not in h]
        if logged and not math.isfinite(float(logged[-1]["loss"])):
            return f"the last logged loss (step {logged[-1].get('step', '?')}) is {logged[-1]['loss']}"
        if self.nan_guard.consecutive:
            return f"the loss of the last {self.nan_guard.consecutive} step(s) was NaN/Inf"
        return None

    def _load_weights_from(self, folder: str) -> None:
        from fgvad.models.video import VideoFGCLIP

        loaded = VideoFGCLIP.from_pretrained(folder)
        target = self._unwrapped().video_model
        ours = target.state_dict()
        for key, tensor in loaded.state_dict().items():
            if key in ours and tensor.shape != ours[key].shape:
                raise CheckpointError(shape_mismatch_message(folder, key, tensor.shape, ours[key].shape,
                                                             self.fgvad_config))
        missing, unexpected = target.load_state_dict(loaded.state_dict(), strict=False)
        if missing or unexpected:
            key = (missing or unexpected)[0]
            raise CheckpointError(f"{folder}: checkpoint does not fit the model (key {key})")

    def save_training_extras(self, folder: str) -> None:
        queue = getattr(self._unwrapped(), "caption_queue", None)  # heads on frozen features have none
        if queue is not None and queue.size > 0:
            queue.save(folder)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: nn.Module | None = None) -> None:
        self._load_weights_from(resume_from_checkpoint)
        queue = getattr(self._unwrapped(), "caption_queue", None)
        if queue is not None and queue.size > 0 and not queue.load(resume_from_checkpoint):
            from fgvad.train.callbacks import note_in_log

            message = (f"{resume_from_checkpoint}: no caption queue of size {queue.size} saved there; the region loss "
                       "starts with an empty queue, so this resume is not step-exact")
            print(f"fgvad: warning: {message}", flush=True)
            note_in_log(self.args.output_dir, f"WARNING {message}")

    def _load_best_model(self) -> None:
        if self.state.best_model_checkpoint:
            self._load_weights_from(self.state.best_model_checkpoint)

