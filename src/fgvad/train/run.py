"""``train``: options -> data, tokenizer, model -> VideoTrainer -> checkpoints.

The one training entry point: ``fgvad train`` and ``fgvad demo`` call it (no subprocess),
and so can a user's script::

    from fgvad.train import train
    result = train("demo", {"data_path": "train.json", "output_dir": "out/model"})
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from fgvad.core.errors import ConfigError, FgvadError, TrainingDivergedError
from fgvad.train.options import TrainConfig, build_config

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    log_history: list[dict[str, Any]]
    final_checkpoint: Path | None  # None when training stopped on repeated NaN losses
    global_step: int = 0
    skipped_entries: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- pieces


def load_entries(cfg: TrainConfig, output_dir: Path, is_main: bool) -> tuple[list[Any], list[str]]:
    from fgvad.data.annotations import load_annotations

    d = cfg.data
    if not d.data_path:
        raise ConfigError("option --data-path is required (the training annotation JSON)")
    entries = [e for e in load_annotations(d.data_path, keyframe_base=d.keyframe_base) if not e.is_image]
    if d.max_videos is not None:
        entries = entries[: d.max_videos]
    skipped: list[str] = []
    if d.skip_bad and d.cache_dir is None:
        root = Path(d.video_root) if d.video_root else Path(d.data_path).parent
        kept = []
        for e in entries:
            if (root / e.video).is_file():
                kept.append(e)
            else:
                skipped.append(f"entry {e.index} ({e.video}): video not found")
        entries = kept
        if skipped and is_main:
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / "skipped_entries.txt").write_text("\n".join(skipped) + "\n")
    if not entries:
        raise ConfigError(f"{d.data_path}: no video entries to train on")
    return entries, skipped


def out_of_memory_message(cfg: TrainConfig) -> str:
    """One line with the concrete options that reduce memory (no traceback)."""
    args, d = cfg.training, cfg.data
    batch = args.per_device_train_batch_size
    options = []
    if batch > 1:
        options.append(f"--per_device_train_batch_size {max(1, batch // 2)} --gradient_accumulation_steps "
                       f"{args.gradient_accumulation_steps * 2} (same effective batch)")
    if not (args.gradient_checkpointing or getattr(args, "activation_checkpointing", False)
            or _checkpointing_was_on(cfg)):
        options.append("--activation_checkpointing true")
    elif cfg.model.gradient_checkpointing_every > 1:
        options.append("--gradient-checkpointing-every 1")
    if not (args.bf16 or args.fp16):
        options.append("--bf16 true")
    options.append(f"--num-frames {max(1, d.num_frames // 2)}")
    options.append("--auto-fit true (finds the largest batch that fits)")
    return (f"out of GPU memory at {d.num_frames} frames x batch {batch}; try " + ", or ".join(options))


def _checkpointing_was_on(cfg: TrainConfig) -> bool:
    # train() switches the HF flags off after enabling checkpointing on the model itself.
    return bool(cfg.source.get("gradient_checkpointing") or cfg.source.get("activation_checkpointing"))


def _auto_fit(cfg: TrainConfig, module: Any, tokenizer: Any, dataset: Any, train_dataset: Any,
              is_main: bool) -> tuple[Any, Any]:
    """Apply ``--auto-fit``: may change the per-device batch, accumulation and frame count."""
    import torch

    from fgvad.train.collator import TrainCollator
    from fgvad.train.fit import find_fit, training_try_step

    args, d = cfg.training, cfg.data
    device = args.device
    dtype = torch.bfloat16 if args.bf16 else (torch.float16 if args.fp16 else None)
    module.to(device)
    on_cuda = getattr(device, "type", str(device)) == "cuda"
    # On a CPU find_fit only reports that there is nothing to fit: no trial item is needed.
    try_step = (training_try_step(module, TrainCollator(tokenizer), dataset[0], device, dtype) if on_cuda
                else (lambda batch, frames: None))
    # Frames can only shrink when they are decoded on the fly (a cache holds a fixed count).
    min_frames = d.num_frames if d.cache_dir else max(1, min(8, d.num_frames))
    choice = find_fit(try_step, per_device_batch=args.per_device_train_batch_size,
                      accumulation=args.gradient_accumulation_steps, num_frames=d.num_frames, device=device,
                      min_frames=min_frames)
    if is_main:
        print(choice.message, flush=True)
        log.warning(choice.message)
    args.per_device_train_batch_size = choice.per_device_batch
    args.gradient_accumulation_steps = choice.accumulation
    if choice.num_frames != d.num_frames:
        from fgvad.data.dataset import VideoTextDataset
        from fgvad.train.data import maybe_cache_in_memory

        d.num_frames = choice.num_frames
        dataset = VideoTextDataset(dataset.entries, video_root=dataset.video_root, cache=None,
                                   num_frames=d.num_frames, size=d.image_size, max_keyframes=d.max_keyframes,
                                   class_names=dataset.class_names)
        train_dataset = maybe_cache_in_memory(dataset, num_frames=d.num_frames, size=d.image_size,
                                              max_keyframes=d.max_keyframes, budget_mb=d.memory_cache_mb)
    return dataset, train_dataset


def _as_config(config: TrainConfig | str | Path | Mapping[str, Any] | None,
               overrides: Sequence[str] | Mapping[str, Any] | None) -> TrainConfig:
    if isinstance(config, TrainConfig):
        if overrides:
            raise ConfigError("overrides apply to a preset, a YAML file or a mapping; with a TrainConfig, "
                              "set its fields instead")
        return config
    return build_config(config, overrides)


# --------------------------------------------------------------------------- entry point


def train(config: TrainConfig | str | Path | Mapping[str, Any] | None = None,
          overrides: Sequence[str] | Mapping[str, Any] | None = None,
          *, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train a video FG-CLIP model; returns where the results are.

    ``config``: a :class:`~fgvad.train.options.TrainConfig`, a YAML path, a preset name
    (``demo``, ``ucf_debug``, ``ucf_full``, ``ucf_24gb``) or a mapping of option: value.
    ``overrides``: command-line tokens (``["--num-frames", "64"]``) or a mapping, applied
    on top. ``callbacks``: extra ``transformers.TrainerCallback`` objects.

    Raises :class:`~fgvad.core.errors.FgvadError` subclasses for user mistakes, among them
    :class:`~fgvad.core.errors.TrainingDivergedError` when the loss stays NaN/Inf,
    :class:`~fgvad.core.errors.TrainingInterrupted` after SIGINT/SIGTERM (a checkpoint is
    saved) and :class:`~fgvad.core.errors.TooManyBadSamplesError`.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cfg = _as_config(config, overrides)

    import torch
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    from fgvad.core.prompts import PromptSet, load_prompt_file
    from fgvad.data.dataset import VideoTextDataset, default_class_names
    from fgvad.models.tokenizer import tokenize
    from fgvad.train.bad_samples import BadSampleGuard, SkipBadSamples
    from fgvad.train.callbacks import TrainerLogCallback, note_in_log
    from fgvad.train.checkpointing import check_output_writable, refusing_unsafe_state
    from fgvad.train.options import check_launch, check_option_paths
    from fgvad.train.collator import EpochToCollator, TrainCollator
    from fgvad.train.data import maybe_cache_in_memory
    from fgvad.train.model_setup import build_model, load_or_build_tokenizer
    from fgvad.train.module import VideoTrainingModule
    from fgvad.train.run_identity import latest_checkpoint_of_run, plan_run, start_run
    from fgvad.train.signals import GracefulInterrupt
    from fgvad.train.trainer import VideoTrainer

    hf_logging.set_verbosity_warning()
    args = cfg.training
    output_dir = Path(args.output_dir)
    is_main = args.process_index == 0
    check_option_paths(cfg)  # before any slow work, and before the output folder is made
    check_launch(cfg)
    if is_main:
        check_output_writable(output_dir)
    # Which run this is, what it resumes, whose checkpoints are in the way: decided on every rank alike.
    plan = plan_run(output_dir, cfg, args.resume_from_checkpoint)
    if is_main:
        start_run(plan, output_dir)
    entries, skipped = load_entries(cfg, output_dir, is_main)
    if cfg.model.prompts:  # the file's classes, in its order; every label of the data needs one
        prompt_set = load_prompt_file(cfg.model.prompts)
        class_names = list(prompt_set.classes)
        prompt_set.texts_for(sorted({e.label for e in entries}), source=f"--prompts {cfg.model.prompts}")
    else:
        class_names = default_class_names(entries)
        prompt_set = PromptSet.from_template(class_names, cfg.model.class_prompt_template)
    prompts = list(prompt_set.texts)
    tokenizer = load_or_build_tokenizer(cfg, entries, prompts)

    set_seed(args.seed)  # same initial weights on every rank and in every rerun
    video_model = build_model(cfg)
    prompt_ids = tokenize(tokenizer, prompts, long=True) if cfg.loss.use_class_prompts else None
    module = VideoTrainingModule(video_model, cfg.loss, prompt_ids)

    d = cfg.data
    video_root = d.video_root or str(Path(d.data_path).parent)
    dataset = VideoTextDataset(entries, video_root=video_root, cache=d.cache_dir, num_frames=d.num_frames,
                               size=d.image_size, max_keyframes=d.max_keyframes, class_names=class_names)
    train_dataset = maybe_cache_in_memory(dataset, num_frames=d.num_frames, size=d.image_size,
                                          max_keyframes=d.max_keyframes, budget_mb=d.memory_cache_mb)

    # Activation checkpointing is switched on here: our model's signature differs from HF's.
    if getattr(args, "activation_checkpointing", False) or args.gradient_checkpointing:
        video_model.gradient_checkpointing_enable(every=cfg.model.gradient_checkpointing_every)
        if hasattr(args, "activation_checkpointing"):
            args.activation_checkpointing = False
        args.gradient_checkpointing = False
    if cfg.model.compile:
        video_model.compile_towers()
    if cfg.optim.auto_fit:
        dataset, train_dataset = _auto_fit(cfg, module, tokenizer, dataset, train_dataset, is_main)
    if args.ddp_find_unused_parameters is None and args.world_size > 1:
        # Some parameters (hard-negative scale, short text path) are unused by some batches.
        args.ddp_find_unused_parameters = True

    train_dataset = SkipBadSamples(train_dataset, output_dir)
    bad_samples = BadSampleGuard(output_dir, len(train_dataset), d.max_bad_sample_fraction)
    interrupt = GracefulInterrupt()
    collator = TrainCollator(tokenizer, d.hflip_probability, seed=args.seed)
    try:
        trainer = VideoTrainer(
            model=module, args=args, data_collator=collator, train_dataset=train_dataset,
            callbacks=[TrainerLogCallback(d.num_frames), bad_samples, interrupt, EpochToCollator(collator),
                       *callbacks],
            fgvad_config=cfg, trained_on=sorted({e.key for e in entries}), tokenizer=tokenizer, prompts=prompt_set,
            run_record=plan.record,
        )
    except ValueError as err:  # HF's Trainer refuses option combinations here (e.g. FSDP without a launcher)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"invalid training options: {first}") from None
    resume = plan.resume
    try:
        with refusing_unsafe_state(resume):
            trainer.train(resume_from_checkpoint=resume)
    except torch.OutOfMemoryError:
        raise FgvadError(out_of_memory_message(cfg)) from None
    history = list(trainer.state.log_history)
    if interrupt.stopped_at is not None:
        raise interrupt.error(output_dir)
    if bad_samples.exceeded:
        raise bad_samples.error()
    last = latest_checkpoint_of_run(output_dir, plan.record["run_id"])
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
    trainer.save_model(str(output_dir))
    return TrainResult(output_dir=output_dir, log_history=history, final_checkpoint=output_dir,
                       global_step=trainer.state.global_step, skipped_entries=skipped)

