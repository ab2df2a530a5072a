"""``train``: options -> data, tokenizer, model -> VideoTrainer -> checkpoints.

The one training entry point: ``fgvad train`` and ``fgvad demo`` call it (no subprocess),
and so can a user's script::

    from fgvad.train import train
    result = train("demo", {"data_path": "train.json", "output_dir": "out/model"})
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from fgvad.core.errors import ConfigError, FgvadError
from fgvad.train.entries import load_entries, say, split_validation
from fgvad.train.options import TrainConfig, build_config
from fgvad.train.result import TrainResult, refuse_diverged, warn_if_at_chance

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- pieces


def make_dataset(cfg: TrainConfig, entries: list[Any], class_names: list[str], geometry: Any, *, num_frames: int,
                 cache: str | None, anomaly_captions: Any = None) -> Any:
    """The training (or validation) dataset; ``geometry``: the model's FrameGeometry; ``anomaly_captions``:
    the training set's region captions that describe the anomaly (:mod:`fgvad.data.caption_labels`)."""
    from fgvad.data.augment import ClipAugment
    from fgvad.data.dataset import VideoTextDataset
    from fgvad.data.paths import parse_path_map

    d = cfg.data
    augment = ClipAugment(hflip_probability=d.hflip_probability, crop_scale=d.crop_scale, crop_ratio=d.crop_ratio,
                          color_jitter=d.color_jitter)
    return VideoTextDataset(entries, video_root=d.video_root or str(Path(d.data_path).parent), cache=cache,
                            num_frames=num_frames, size=geometry, max_boxes=d.max_boxes,
                            class_names=class_names, frame_pool=d.frame_pool, augment=augment,
                            seed=cfg.training.data_seed if cfg.training.data_seed is not None else cfg.training.seed,
                            memory_cache_mb=d.memory_cache_mb, path_map=parse_path_map(d.path_map),
                            anomaly_captions=anomaly_captions)


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


def _auto_fit(cfg: TrainConfig, module: Any, collator: Any, dataset: Any, is_main: bool) -> Any:
    """Apply ``--auto-fit``: may change the per-device batch, accumulation and frame count."""
    import torch

    from fgvad.train.fit import find_fit, training_try_step

    args, d = cfg.training, cfg.data
    device = args.device
    dtype = torch.bfloat16 if args.bf16 else (torch.float16 if args.fp16 else None)
    module.to(device)
    on_cuda = getattr(device, "type", str(device)) == "cuda"
    # On a CPU find_fit only reports that there is nothing to fit: no trial item is needed.
    try_step = (training_try_step(module, collator, dataset[0], device, dtype) if on_cuda
                else (lambda batch, frames: None))
    # Fewer frames can be taken from the same pool (decoded or cached).
    min_frames = max(1, min(8, d.num_frames))
    choice = find_fit(try_step, per_device_batch=args.per_device_train_batch_size,
                      accumulation=args.gradient_accumulation_steps, num_frames=d.num_frames, device=device,
                      min_frames=min_frames)
    if is_main:
        print(choice.message, flush=True)
        log.warning(choice.message)
    args.per_device_train_batch_size = choice.per_device_batch
    args.gradient_accumulation_steps = choice.accumulation
    if choice.num_frames != d.num_frames:
        d.num_frames = choice.num_frames
        dataset = make_dataset(cfg, dataset.entries, dataset.class_names, dataset.geometry, num_frames=d.num_frames,
                               cache=d.cache_dir, anomaly_captions=dataset.anomaly_captions)
    return dataset


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
    """Train a video model on any supported backbone (FG-CLIP v1 / CLIP, FG-CLIP 2, SigLIP 2, or a tiny
    one from scratch); returns where the results are.

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
    from fgvad.train.options import check_launch, check_option_paths

    check_option_paths(cfg)  # before any slow work, and before the output folder is made
    check_launch(cfg)
    if cfg.data.features:  # heads only, on frozen per-snippet features: no backbone, no video decoding
        from fgvad.train.features import train_on_features

        return train_on_features(cfg, callbacks=callbacks)

    import torch
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    from fgvad.core.prompts import PromptSet, load_prompt_file
    from fgvad.data.dataset import default_class_names
    from fgvad.models.video_backbone import text_tokenizer
    from fgvad.train.bad_samples import BadSampleGuard, SkipBadSamples
    from fgvad.train.callbacks import TrainerLogCallback
    from fgvad.train.checkpointing import check_output_writable, refusing_unsafe_state
    from fgvad.train.collator import TrainCollator
    from fgvad.train.losses import text_ids
    from fgvad.train.model_setup import build_model, load_or_build_tokenizer, loss_type
    from fgvad.train.module import VideoTrainingModule
    from fgvad.train.run_identity import plan_run, start_run
    from fgvad.train.schedule import parse_loss_schedule, schedule_callback
    from fgvad.train.sampling import BalancedVideoSampler, EpochToSampler
    from fgvad.train.signals import GracefulInterrupt
    from fgvad.train.trainer import VideoTrainer
    from fgvad.train.validation import validation_metrics

    hf_logging.set_verbosity_warning()
    args = cfg.training
    output_dir = Path(args.output_dir)
    is_main = args.process_index == 0
    if is_main:
        check_output_writable(output_dir)
    # Which run this is, what it resumes, whose checkpoints are in the way: decided on every rank alike.
    plan = plan_run(output_dir, cfg, args.resume_from_checkpoint)
    if is_main:
        start_run(plan, output_dir)
    entries, skipped = load_entries(cfg, output_dir, is_main)
    entries, validation_entries = split_validation(cfg, entries, output_dir, is_main)
    if cfg.model.prompts:  # the file's classes, in its order; every label of the data needs one
        prompt_set = load_prompt_file(cfg.model.prompts)
        class_names = list(prompt_set.classes)
        prompt_set.texts_for(sorted({e.label for e in [*entries, *validation_entries]}),
                             source=f"--prompts {cfg.model.prompts}")
    else:
        class_names = default_class_names([*entries, *validation_entries])
        prompt_set = PromptSet.from_template(class_names, cfg.model.class_prompt_template)
    prompts = list(prompt_set.texts)
    tokenizer = load_or_build_tokenizer(cfg, entries, prompts)

    set_seed(args.seed)  # same initial weights on every rank and in every rerun
    video_model = build_model(cfg, tokenizer)
    texts = text_tokenizer(video_model.clip, tokenizer)
    use_prompts = cfg.loss.use_class_prompts
    module = VideoTrainingModule(
        video_model, cfg.loss, texts(prompts, "long") if use_prompts else None,
        loss_type=loss_type(cfg, video_model.family),
        prompt_box_ids=texts(prompts, "box") if use_prompts else None,
        prompt_text_ids=text_ids(prompts) if use_prompts else None)

    d = cfg.data
    # FG-CLIP v1: square --image-size frames; FG-CLIP 2 / SigLIP 2: NaFlex frames of --max-num-patches.
    geometry = video_model.frame_geometry(d.image_size)
    anomaly_captions = None
    if cfg.loss.region_anomaly_loss_weight > 0:  # from the training entries only, never the validation or test set
        from fgvad.data.caption_labels import anomaly_captions as find_anomaly_captions

        anomaly_captions = find_anomaly_captions(entries)
        if is_main:
            say(output_dir, anomaly_captions.summary())
    dataset = make_dataset(cfg, entries, class_names, geometry, num_frames=d.num_frames, cache=d.cache_dir,
                           anomaly_captions=anomaly_captions)
    collator = TrainCollator(texts, patch_size=geometry.patch_size or None)

    # Activation checkpointing is switched on here: our model's signature differs from HF's.
    if getattr(args, "activation_checkpointing", False) or args.gradient_checkpointing:
        video_model.gradient_checkpointing_enable(every=cfg.model.gradient_checkpointing_every)
        if hasattr(args, "activation_checkpointing"):
            args.activation_checkpointing = False
        args.gradient_checkpointing = False
    if cfg.model.compile:
        video_model.compile_towers()
    if cfg.optim.auto_fit:
        dataset = _auto_fit(cfg, module, collator, dataset, is_main)
    if args.ddp_find_unused_parameters is None and args.world_size > 1:
        # Some parameters (hard-negative scale, short text path) are unused by some batches.
        args.ddp_find_unused_parameters = True
    if is_main and d.cache_dir and not dataset.jitters:
        say(output_dir, f"the frame cache {d.cache_dir} holds {d.num_frames} frames per video, as many as are "
                        f"sampled: no temporal jitter (build it with --num-frames {d.num_frames * max(2, d.frame_pool)})")

    sampler = BalancedVideoSampler([e.is_anomaly for e in entries], seed=dataset.seed, balanced=d.balanced_sampling)
    if is_main:
        say(output_dir, sampler.describe())
    train_dataset = SkipBadSamples(dataset, output_dir)
    eval_dataset = (make_dataset(cfg, validation_entries, class_names, geometry, num_frames=d.num_frames,
                                 cache=d.cache_dir, anomaly_captions=anomaly_captions)
                    if validation_entries else None)
    # Entries skipped before training count against the same fraction as decode failures.
    bad_samples = BadSampleGuard(output_dir, len(train_dataset) + len(skipped), d.max_bad_sample_fraction,
                                 already_skipped=len(skipped))
    stages = parse_loss_schedule(cfg.loss.loss_schedule)
    if stages:
        callbacks = [schedule_callback(stages, module.loss_args), *callbacks]
    interrupt = GracefulInterrupt()
    extra_callbacks: list[Any] = []
    if cfg.optim.early_stopping_patience is not None:
        from transformers import EarlyStoppingCallback

        extra_callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.optim.early_stopping_patience))
    try:
        trainer = VideoTrainer(
            model=module, args=args, data_collator=collator, train_dataset=train_dataset,
            eval_dataset=eval_dataset, compute_metrics=validation_metrics if eval_dataset is not None else None,
            callbacks=[TrainerLogCallback(d.num_frames), bad_samples, interrupt, EpochToSampler(sampler),
                       *extra_callbacks, *callbacks],
            fgvad_config=cfg, trained_on=sorted({e.key for e in entries}), tokenizer=tokenizer, sampler=sampler,
            prompts=prompt_set, run_record=plan.record,
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
    refuse_diverged(trainer, cfg, output_dir, plan.record["run_id"], is_main)
    at_chance = warn_if_at_chance(history, cfg, sampler.anomalous_share, output_dir, is_main)
    if cfg.model.merge_lora:
        from fgvad.models.lora import merge_adapters

        merged = merge_adapters(video_model.clip)
        log.info("merged %d LoRA adapters into the final model", merged)
    trainer.save_model(str(output_dir))
    return TrainResult(output_dir=output_dir, log_history=history, final_checkpoint=output_dir,
                       global_step=trainer.state.global_step, skipped_entries=skipped,
                       warnings=list(at_chance.values()), at_chance=list(at_chance))
