"""``train``: options -> data, tokenizer, model -> VideoTrainer -> checkpoints.

The one training entry point: ``fgvad train`` and ``fgvad demo`` call it (no subprocess),
and so can a user's script::

    from fgvad.train import train
    result = train("demo", {"data_path": "train.json", "output_dir": "out/model"})
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from fgvad.core.errors import ConfigError, FgvadError, TooManyBadSamplesError, TrainingDivergedError
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
    """The entries to train on, and one line per entry left out.

    A malformed entry is skipped with a warning in trainer_log.txt (``--strict`` refuses the
    file instead); with ``--skip-bad``, so is an entry whose video is missing. Skipped entries
    count against ``--max-bad-sample-fraction`` like samples that fail to decode later.
    """
    from fgvad.data.annotations import read_annotations
    from fgvad.data.paths import parse_path_map, resolve_video_path
    from fgvad.data.subsets import describe_classes, stratified_subset
    from fgvad.train.callbacks import note_in_log

    d = cfg.data
    if not d.data_path:
        raise ConfigError("option --data-path is required (the training annotation JSON)")
    loaded = read_annotations(d.data_path, keyframe_base=d.keyframe_base, strict=d.strict)
    skipped = [f"{problem.message} (malformed; skipped)" for problem in loaded.problems]
    entries = [e for e in loaded.entries if not e.is_image]
    if d.max_videos is not None:
        entries = stratified_subset(entries, d.max_videos)
        if is_main:
            picked = ", ".join(sorted({e.name for e in entries}))
            say(output_dir, f"--max-videos {d.max_videos}: {describe_classes(entries)} ({picked})")
    if d.skip_bad and d.cache_dir is None:
        root = Path(d.video_root) if d.video_root else Path(d.data_path).parent
        path_map = parse_path_map(d.path_map)
        kept = []
        for e in entries:
            try:
                found = resolve_video_path(root, e.video, path_map).is_file()
            except FgvadError:
                found = False
            if found:
                kept.append(e)
            else:
                skipped.append(f"entry {e.index} ({e.video}): video not found")
        entries = kept
    if skipped and is_main:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "skipped_entries.txt").write_text("\n".join(skipped) + "\n", encoding="utf-8")
        for line in skipped:
            note_in_log(output_dir, f"WARNING skipped {line}")
            log.warning("skipped %s", line)
        share = len(skipped) / max(loaded.total, 1)
        summary = (f"WARNING {len(skipped)} of {loaded.total} entries skipped before training ({share:.1%}, "
                   f"limit --max-bad-sample-fraction {d.max_bad_sample_fraction:.1%}); listed in skipped_entries.txt")
        note_in_log(output_dir, summary)
        print(f"fgvad: {summary.lower().replace('warning ', 'warning: ', 1)}", file=sys.stderr, flush=True)
    if skipped and len(skipped) / max(loaded.total, 1) > d.max_bad_sample_fraction:
        raise TooManyBadSamplesError(
            f"{d.data_path}: {len(skipped)} of {loaded.total} entries are malformed or missing their video, more "
            f"than --max-bad-sample-fraction {d.max_bad_sample_fraction:g} (first: {skipped[0]}); fix them, or raise "
            "the fraction")
    if not entries:
        raise ConfigError(f"{d.data_path}: no video entries to train on")
    return entries, skipped


def split_validation(cfg: TrainConfig, entries: list[Any], output_dir: Path, is_main: bool
                     ) -> tuple[list[Any], list[Any]]:
    """(training entries, validation entries): held out of the training JSON, or read from --validation-path."""
    from fgvad.data.annotations import load_annotations
    from fgvad.data.subsets import describe_classes, stratified_split

    d = cfg.data
    if d.validation_path:
        held = [e for e in load_annotations(d.validation_path, keyframe_base=d.keyframe_base) if not e.is_image]
        overlap = {e.key for e in held} & {e.key for e in entries}
        if overlap:
            raise ConfigError(f"--validation-path {d.validation_path}: {len(overlap)} of its videos are also training "
                              f"videos (e.g. {sorted(overlap)[0]}); validation must hold unseen videos")
        train_entries = entries
    elif d.validation_fraction > 0:
        train_entries, held = stratified_split(entries, d.validation_fraction, cfg.training.seed)
    else:
        return entries, []
    if not held or len({e.is_anomaly for e in held}) < 2:
        raise ConfigError("validation needs anomalous and normal videos; raise --validation-fraction or give "
                          "--validation-path with both")
    if is_main:
        say(output_dir, f"validation: {describe_classes(held)} held out of training; training on "
                        f"{describe_classes(train_entries)}")
    return train_entries, held


def say(output_dir: Path, line: str) -> None:
    """A line for the user at start: printed and written to trainer_log.txt."""
    from fgvad.train.callbacks import note_in_log

    print(f"fgvad: {line}", flush=True)
    note_in_log(output_dir, line)


def make_dataset(cfg: TrainConfig, entries: list[Any], class_names: list[str], geometry: Any, *, num_frames: int,
                 cache: str | None) -> Any:
    """The training (or validation) dataset; ``geometry``: the model's FrameGeometry."""
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
                            memory_cache_mb=d.memory_cache_mb, path_map=parse_path_map(d.path_map))


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
                               cache=d.cache_dir)
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
    dataset = make_dataset(cfg, entries, class_names, geometry, num_frames=d.num_frames, cache=d.cache_dir)
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
                                 cache=d.cache_dir)
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
    if cfg.model.merge_lora:
        from fgvad.models.lora import merge_adapters

        merged = merge_adapters(video_model.clip)
        log.info("merged %d LoRA adapters into the final model", merged)
    trainer.save_model(str(output_dir))
    return TrainResult(output_dir=output_dir, log_history=history, final_checkpoint=output_dir,
                       global_step=trainer.state.global_step, skipped_entries=skipped)


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
