"""Training options: fgvad's dataclasses plus HF ``TrainingArguments``, from YAML and the command line.

A run is described by a YAML preset (``configs/*.yaml``) whose keys are option names;
any of them can be overridden with ``--key value`` after the preset. Precedence, lowest
first: fgvad's defaults for ``TrainingArguments`` (cosine schedule, warmup, grad clip,
TensorBoard), the YAML file, the command line. Unknown options are an error naming the
closest valid option.

Spelling: an option's name is its field name (``num_frames``, YAML keys and mappings use
it as is). As a flag, fgvad's own options are kebab-case (``--num-frames``) and HF
``TrainingArguments`` keep their names (``--per_device_train_batch_size``); this module
accepts either separator for both (the CLI adds a note for ``--num_frames``), and its
messages name each option by its flag (:func:`flag`).

Values are coerced to the declared type of the option, for YAML too: PyYAML reads
``1e-5`` as a string, which would otherwise reach the optimizer as text.

The users' fgclip-vad flags (``--image_folder``, ``--add_box_loss``, ...) are accepted as
aliases of fgvad's options, each with a one-line note: :mod:`fgvad.train.aliases` holds the
one table.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from fgvad.core.checks import SEED_MAX, check_value
from fgvad.core.constants import MAX_IMAGE_SIZE, MAX_NUM_FRAMES
from fgvad.core.errors import ConfigError
from fgvad.core.constants import LOSS_TYPES, MOTION_INPUTS, STANDARDIZATION_STATISTICS
from fgvad.core.prompts import DEFAULT_TEMPLATE
from fgvad.train.aliases import USER_FLAGS, translate_user_flags
from fgvad.train.extras import check_installed_extras
from fgvad.train.selection import check_model_selection

TINY_MODELS = ("tiny", "tiny-fgclip2")  # --model-name-or-path values that build a model from scratch

# Presets ship inside the package (the repository's configs/ links here), so an installed
# fgvad finds `fgvad train demo` as a source checkout does.
PRESET_DIR = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class ModelArguments:
    _argument_group_name = "fgvad model options"

    model_name_or_path: str = field(default="tiny", metadata={"path": "folder", "names": TINY_MODELS,
        "help": "checkpoint folder (FG-CLIP v1 or CLIP, FG-CLIP 2, SigLIP 2, or an fgvad video checkpoint; its "
                "config.json's model_type decides), or 'tiny' / 'tiny-fgclip2' to build a small FG-CLIP v1 / "
                "FG-CLIP 2 model from scratch (sizes from the --tiny-* options; tiny-fgclip2 uses the vision "
                "width, layers and heads for both towers)"})
    tokenizer_path: str | None = field(default=None, metadata={"path": "folder",
        "help": "tokenizer folder; default: the checkpoint folder, or for 'tiny' an offline "
                "tokenizer built from the training captions"})
    tiny_vision_width: int = field(default=64, metadata={"min": 1, "help": "tiny model: vision hidden size"})
    tiny_vision_layers: int = field(default=2, metadata={"min": 1, "help": "tiny model: vision layers"})
    tiny_vision_heads: int = field(default=4, metadata={"min": 1, "help": "tiny model: vision attention heads"})
    tiny_patch_size: int = field(default=8, metadata={"min": 1, "help": "tiny model: patch size (--image-size is a data option)"})
    tiny_text_width: int = field(default=64, metadata={"min": 1, "help": "tiny model: text hidden size"})
    tiny_text_layers: int = field(default=2, metadata={"min": 1, "help": "tiny model: text layers"})
    tiny_text_heads: int = field(default=4, metadata={"min": 1, "help": "tiny model: text attention heads"})
    tiny_projection_dim: int = field(default=64, metadata={"min": 1, "help": "tiny model: joint embedding size"})
    tiny_mlp_ratio: int = field(default=2, metadata={"min": 1, "help": "tiny model: MLP width / hidden size (ViT-B: 4)"})
    tiny_vocab_size: int | None = field(default=None, metadata={"min": 8, "help": "tiny model: vocabulary size (default: the tokenizer's)"})
    temporal_layers: int = field(default=1, metadata={"min": 0, "help": "transformer layers of the temporal module"})
    temporal_window: int | None = field(default=None, metadata={"min": 1, "help": "temporal attention window in frames (default: --num-frames)"})
    temporal_heads: int = field(default=8, metadata={"min": 1, "help": "attention heads of the temporal module"})
    temporal_context: str = field(default="video", metadata={"choices": ("video", "window"), "help": "how scoring "
        "feeds long videos to the temporal module: 'video' = interleaved groups of --temporal-window frames spanning "
        "the whole video, as training samples it (consistent spacing); 'window' = consecutive windows"})
    temporal_dropout: float = field(default=0.1, metadata={"min": 0, "lt": 1, "help": "dropout of the temporal module"})
    mil_hidden: int = field(default=256, metadata={"min": 1, "help": "hidden width of the MIL head"})
    mil_dropout: float = field(default=0.1, metadata={"min": 0, "lt": 1, "help": "dropout of the MIL head"})
    video_pooling: str = field(default="attention", metadata={"choices": ("attention", "mean"), "help": "video embedding pooling: attention or mean"})
    frame_standardization: bool = field(default=False, metadata={"help": "standardise each frame (channel centres removed, one scale over its pixels) "
        "before the vision tower, in training and scoring (saved in the checkpoint): exposure-invariant input for models from scratch"})
    standardization_statistics: str = field(default="median_mad", metadata={"choices": STANDARDIZATION_STATISTICS,
        "help": "how --frame-standardization measures a frame: median_mad (channel medians, median absolute "
                "deviation: a burnt-in timestamp or a lamp cannot rescale the scene) or mean_std"})
    motion_input: str = field(default="none", metadata={"choices": MOTION_INPUTS, "help": "what the vision tower "
        "sees of motion (saved in the checkpoint): none, or frame_difference: each frame's luma change since the "
        "clip's previous frame, through a zero-initialised patch embedding of its own (FG-CLIP v1 / CLIP)"})
    motion_shift_tolerance: int = field(default=2, metadata={"min": 0, "help": "with --motion-input frame_difference: "
        "pixels (at the model's input) of camera shake or pan to ignore; each pixel's change is measured against the "
        "range of the previous frame's values within that distance: 0 inside it (0 = plain difference)"})
    patch_anomaly: bool = field(default=False, metadata={"help": "a patch anomaly head (saved in the checkpoint): an "
        "anomaly logit per patch from its dense feature; each frame's highest is added to its MIL logit, so a small "
        "event in a busy frame is not averaged away. Trained by --region-anomaly-loss-weight and the MIL loss"})
    frame_chunk: int = field(default=64, metadata={"min": 1, "help": "frames per vision-tower call (memory bound)"})
    compile: bool = field(default=False, metadata={
        "help": "torch.compile the vision-tower and temporal layers (regional; same results, faster on a GPU "
                "after a short compile)"})
    gradient_checkpointing_every: int = field(default=1, metadata={"min": 1, 
        "help": "with activation checkpointing on: checkpoint every k-th vision layer only (1 = all, "
                "least memory; larger k = faster, more memory; same results)"})
    freeze_vision_layers: int = field(default=0, metadata={"min": 0, 
        "help": "freeze the patch embedding and the first N vision layers (0 = train all)"})
    freeze_text: bool = field(default=False, metadata={"help": "freeze the whole text tower"})
    class_prompt_template: str = field(default=DEFAULT_TEMPLATE, metadata={
        "help": "text of the class prompts used as extra negatives and by prompt scores"})
    prompts: str | None = field(default=None, metadata={"path": "file", 
        "help": "prompt file (YAML/JSON: 'normal' and 'classes', see fgvad.core.prompts): the class prompts "
                "of training, stored in the checkpoint for its prompt scores; overrides "
                "--class-prompt-template and must name every class of the data"})
    lora: bool = field(default=False, metadata={
        "help": "train LoRA adapters (peft; pip install 'fgvad[lora]') on the FG-CLIP towers instead of their "
                "weights; the temporal module, heads and logit scales train fully"})
    lora_r: int = field(default=8, metadata={"min": 1, "help": "LoRA rank"})
    lora_alpha: float = field(default=16.0, metadata={"gt": 0, "help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"min": 0, "lt": 1, "help": "dropout on the LoRA input"})
    lora_target: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "out_proj"], metadata={
        "help": "module names given adapters, in both towers (comma-separated; default: the attention "
                "projections q_proj,k_proj,v_proj,out_proj; fc1,fc2 add the MLPs)"})
    merge_lora: bool = field(default=False, metadata={
        "help": "at the end of training, fold the adapters into the weights and save the final model as a "
                "plain FG-CLIP checkpoint (no peft needed to load it); checkpoint-N folders keep the adapters"})


@dataclass
class DataArguments:
    _argument_group_name = "fgvad data options"

    data_path: str | None = field(default=None, metadata={"path": "file", "help": "training annotation JSON (the users' format)"})
    video_root: str | None = field(default=None, metadata={"path": "folder", 
        "help": "folder the 'video' paths are relative to (default: the JSON's folder)"})
    cache_dir: str | None = field(default=None, metadata={"path": "folder", 
        "help": "frame cache built by `fgvad data cache` (default: decode on the fly)"})
    features: str | None = field(default=None, metadata={"path": "folder",
        "help": "features folder of `fgvad features extract`: train only the temporal module and MIL head "
                "on these frozen per-snippet features (no backbone is loaded; --num-frames counts snippets)"})
    num_frames: int = field(default=32, metadata={"min": 1, "max": MAX_NUM_FRAMES,
        "help": "frames per video and step: one from each of num_frames equal segments of the whole video"})
    frame_pool: int = field(default=4, metadata={"min": 1, "help": "temporal jitter: each video keeps frame_pool x "
        "num_frames frames spread over it (a frame cache must hold that many: build it with --num-frames frame_pool x "
        "num_frames) and every epoch draws one at random per segment, from (seed, epoch, video); 1 = no jitter"})
    image_size: int = field(default=224, metadata={"min": 8, "max": MAX_IMAGE_SIZE, "help": "square frame size fed to the model (FG-CLIP v1, CLIP)"})
    max_num_patches: int | None = field(default=None, metadata={"min": 1, "max": MAX_NUM_FRAMES,
        "help": "FG-CLIP 2 / SigLIP 2: patches per frame (NaFlex: aspect kept, both sides multiples of the "
                "patch size); default 256 (a 320x240 frame: 13x17 patches)"})
    max_boxes: int = field(default=16, metadata={"min": 0, "help": "region boxes per video and step (memory bound): "
        "tracks are interpolated onto the sampled frames and this many boxes are spread over all of them"})
    keyframe_base: int = field(default=1, metadata={"choices": (0, 1),
        "help": "number of the first frame in box_infos (1 = Label Studio, the real files)"})
    max_videos: int | None = field(default=None, metadata={"min": 1, "help": "train on N videos only (debug): half "
        "normal, the rest spread over the anomaly classes, chosen deterministically and listed at start"})
    balanced_sampling: bool = field(default=True, metadata={"help": "draw anomalous and normal videos in equal "
        "numbers in every batch (an epoch stays as many draws as there are videos); false: each once per epoch"})
    validation_fraction: float = field(default=0.0, metadata={"min": 0, "lt": 1, "help": "hold out this fraction of "
        "each class's training videos for validation (video AUC/AP of the MIL score, losses; needs --eval_strategy)"})
    validation_path: str | None = field(default=None, metadata={"path": "file",
        "help": "validation annotation JSON (videos below --video-root) instead of --validation-fraction"})
    memory_cache_mb: int = field(default=2048, metadata={"min": 0,
        "help": "keep decoded items in RAM when the whole dataset fits in this many MB (0 = never)"})
    skip_bad: bool = field(default=False, metadata={
        "help": "skip entries whose video is missing or unreadable instead of stopping"})
    hflip_probability: float = field(default=0.0, metadata={"min": 0, "max": 1,
        "help": "mirror a training video (frames and boxes) left-right with this probability; "
                "off by default because real captions may say 'left' or 'right'"})
    crop_scale: float = field(default=1.0, metadata={"gt": 0, "max": 1, "help": "random resized crop of each "
        "training clip (one crop for all frames, boxes moved with it) keeping this fraction of the area or more"})
    crop_ratio: float = field(default=1.0, metadata={"min": 1, "help": "crop aspect ratio changed by up to this factor"})
    color_jitter: float = field(default=0.0, metadata={"min": 0, "lt": 1, "help": "scale brightness, contrast and "
        "saturation of each training clip by factors in [1-j, 1+j]"})
    max_bad_sample_fraction: float = field(default=0.05, metadata={"min": 0, "max": 1,
        "help": "malformed entries and samples that fail to decode are skipped with a warning; stop when more "
                "than this fraction of the data fails"})
    strict: bool = field(default=False, metadata={
        "help": "refuse the whole annotation file at its first malformed entry (default: skip such entries "
                "with a warning in trainer_log.txt)"})
    path_map: list[str] | None = field(default=None, metadata={
        "help": "OLD=NEW prefix rewrites of video paths (relative to --video-root); Label Studio "
                "/data/local-files/?d=REL paths resolve to REL without one (docs/data.md)"})


@dataclass
class LossArguments:
    _argument_group_name = "fgvad loss options"

    global_loss_weight: float = field(default=1.0, metadata={"min": 0, "help": "video<->global caption contrastive"})
    region_loss_weight: float = field(default=1.0, metadata={"min": 0, "help": "box<->region caption contrastive"})
    hard_negative_loss_weight: float = field(default=0.0, metadata={"min": 0, 
        "help": "box caption vs its hard negatives (entries need 'hard_negatives')"})
    mil_loss_weight: float = field(default=1.0, metadata={"min": 0, "help": "MIL loss on video labels"})
    region_anomaly_loss_weight: float = field(default=0.0, metadata={"min": 0, "help": "the patch anomaly head "
        "(--patch-anomaly) on region boxes: 1 for captions that describe the anomaly (words of anomalous videos' "
        "captions that no normal video's captions use), 0 for the others"})
    mil_topk_fraction: float = field(default=0.125, metadata={"gt": 0, "max": 1, "help": "fraction of frames averaged as the video score"})
    mil_smoothness_weight: float = field(default=0.0, metadata={"min": 0, "help": "temporal smoothness of frame scores"})
    mil_sparsity_weight: float = field(default=0.0, metadata={"min": 0, "help": "sparsity of scores on anomalous videos"})
    use_class_prompts: bool = field(default=True, metadata={
        "help": "add class prompts as negatives of the global and region losses"})
    region_queue_size: int = field(default=1024, metadata={"min": 0, "help": "region captions of recent steps kept "
        "as extra negatives of the region loss (a queue, the same on every rank); 0 = in-batch negatives only"})
    loss_type: str | None = field(default=None, metadata={"choices": LOSS_TYPES,
        "help": "global and region contrastive loss: softmax (CLIP's InfoNCE) or sigmoid (SigLIP's, with a "
                "logit bias); default: the backbone's pre-training loss (softmax for FG-CLIP v1 / CLIP, "
                "sigmoid for FG-CLIP 2 / SigLIP 2)"})
    loss_schedule: str | None = field(default=None, metadata={
        "help": "loss weights by optimizer step, e.g. '0:global=1,region=0;500:global=0,region=1' (two-stage "
                "training in one run: global first, then region); names global, region, hard_negative, mil; "
                "each stage keeps the weights it does not name"})


@dataclass
class OptimizationArguments:
    _argument_group_name = "fgvad optimisation options"

    text_lr: float | None = field(default=None, metadata={"min": 0, "help": "learning rate of the text tower (default --learning_rate)"})
    vision_lr: float | None = field(default=None, metadata={"min": 0, "help": "learning rate of the vision tower (default --learning_rate)"})
    head_lr: float | None = field(default=None, metadata={"min": 0, 
        "help": "learning rate of the new temporal module and heads (default --learning_rate x --head-lr-multiplier)"})
    head_lr_multiplier: float = field(default=1.0, metadata={"min": 0, "help": "see --head-lr"})
    max_nan_steps: int = field(default=5, metadata={"min": 1, 
        "help": "stop after this many consecutive steps with a NaN/Inf loss (each one is skipped)"})
    early_stopping_patience: int | None = field(default=None, metadata={"min": 1, "help": "stop when --metric_for_"
        "best_model has not improved for this many evaluations (needs validation data and --load_best_model_at_end)"})
    auto_fit: bool = field(default=False, metadata={
        "help": "before training on a GPU: find the largest per-device batch (and, if needed, frame "
                "count) that fits, keeping the effective batch through gradient accumulation"})


@dataclass
class RunArguments:
    _argument_group_name = "fgvad run options (HF's names)"

    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "start a new run in an --output_dir that holds another run's checkpoints, deleting them "
                "(HF's convention; without it such a run is refused)"})


FGVAD_ARGUMENT_CLASSES: tuple[type, ...] = (ModelArguments, DataArguments, LossArguments, OptimizationArguments,
                                            RunArguments)
# Options fgvad owns that keep the name HF scripts spell them with (TrainingArguments had it until
# transformers 5): flagged with underscores, like the HF options.
HF_NAMED_OPTIONS = frozenset({"overwrite_output_dir"})
FGVAD_OPTION_NAMES: frozenset[str] = frozenset(
    f.name for cls in FGVAD_ARGUMENT_CLASSES for f in dataclasses.fields(cls) if f.init) - HF_NAMED_OPTIONS


def flag(name: str) -> str:
    """The command-line spelling of option ``name``: ``--num-frames`` (fgvad), ``--learning_rate`` (HF)."""
    return "--" + (name.replace("_", "-") if name in FGVAD_OPTION_NAMES else name)

# fgvad's defaults for HF options: a cosine schedule with 5% warmup, weight decay 0.05 and
# gradient clipping at 1.0, the usual CLIP fine-tuning recipe. (The users' fgclip-vad runs
# had warmup, decay and clipping too; they diverged because their CLIP loader left Q/K/V of
# every layer random and copied text_projection untransposed, and because bf16 weights
# without a float32 master copy dropped the small AdamW updates; docs/migrating.md.)
TRAINING_DEFAULTS: dict[str, Any] = {
    "output_dir": "checkpoints/fgvad",
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0.05,
    "max_grad_norm": 1.0,
    "weight_decay": 0.05,
    "learning_rate": 1e-5,
    "logging_steps": 10,
    "save_strategy": "steps",
    "save_steps": 500,
    "save_total_limit": 3,
    "report_to": ["tensorboard"],
    "remove_unused_columns": False,  # our batches are dicts the model signature does not describe
    "dataloader_num_workers": 2,
}


# Bounds of the HF TrainingArguments fields fgvad relies on, in the field-metadata vocabulary of
# fgvad's own options (fgvad.core.checks): HF checks few of them, and some only deep inside the
# Trainer (a batch size of 0 fails in the DataLoader, a NaN learning rate trains a NaN model).
HF_OPTION_BOUNDS: dict[str, dict[str, Any]] = {
    "per_device_train_batch_size": {"min": 1},
    "per_device_eval_batch_size": {"min": 1},
    "gradient_accumulation_steps": {"min": 1},
    "eval_accumulation_steps": {"min": 1},
    "learning_rate": {"gt": 0},
    "num_train_epochs": {"gt": 0},
    "max_steps": {"min": -1, "nonzero": True},  # -1: use num_train_epochs
    "save_steps": {"gt": 0},
    "logging_steps": {"gt": 0},
    "eval_steps": {"gt": 0},
    "warmup_steps": {"min": 0},
    "warmup_ratio": {"min": 0, "max": 1},
    "max_grad_norm": {"min": 0},
    "weight_decay": {"min": 0},
    "adam_beta1": {"min": 0, "lt": 1},
    "adam_beta2": {"min": 0, "lt": 1},
    "adam_epsilon": {"gt": 0},
    "label_smoothing_factor": {"min": 0, "max": 1},
    "save_total_limit": {"min": 0},
    "seed": {"min": 0, "max": SEED_MAX},
    "data_seed": {"min": 0, "max": SEED_MAX},
    "dataloader_num_workers": {"min": 0},
    "dataloader_prefetch_factor": {"min": 1},
    "output_dir": {"path": "output folder"},
}


# transformers 5.23 renamed these HF options (the old names are deprecated aliases until v6);
# presets use the new names, which set the old fields on earlier 5.x releases.
HF_RENAMED_OPTIONS = {
    "activation_checkpointing": "gradient_checkpointing",
    "activation_checkpointing_kwargs": "gradient_checkpointing_kwargs",
}


@dataclass
class TrainConfig:
    """Everything a training run needs, already validated."""

    model: ModelArguments
    data: DataArguments
    loss: LossArguments
    optim: OptimizationArguments
    training: Any  # transformers.TrainingArguments (imported lazily; heavy)
    source: dict[str, Any] = field(default_factory=dict)  # merged options as given, for the record
    run: RunArguments = field(default_factory=RunArguments)


# --------------------------------------------------------------------------- option tables


def training_arguments_class() -> type:
    from transformers import TrainingArguments

    return TrainingArguments


def fields_of(cls: type) -> dict[str, tuple[dataclasses.Field, Any]]:
    """Field name -> (dataclass field, resolved type) of an options dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls) if f.init}


def option_table() -> dict[str, tuple[type, dataclasses.Field, Any]]:
    """Every accepted option name -> (owning dataclass, field, resolved type)."""
    table: dict[str, tuple[type, dataclasses.Field, Any]] = {}
    for cls in (*FGVAD_ARGUMENT_CLASSES, training_arguments_class()):
        for name, (f, hint) in fields_of(cls).items():
            table.setdefault(name, (cls, f, hint))
    for new, old in HF_RENAMED_OPTIONS.items():
        if new not in table and old in table:  # an older transformers: the new name sets the old field
            table[new] = table[old]
    return table


def options_of(cls: type, raw: Mapping[str, Any]) -> Any:
    """An instance of fgvad options dataclass ``cls`` from the keys of ``raw`` that are its fields (coerced)."""
    fields = fields_of(cls)
    return cls(**{k: coerce_value(k, v, fields[k][1]) for k, v in raw.items() if k in fields})


def unknown_option_error(name: str, valid: Sequence[str], *, as_flag: bool = True) -> ConfigError:
    """``as_flag``: ``name`` came from the command line (shown as ``--name``), else it is a YAML
    or mapping key (shown bare, with the closest valid key)."""
    close = difflib.get_close_matches(name.replace("-", "_"), list(valid), n=1, cutoff=0.6)
    if as_flag:
        hint = f" (did you mean {flag(close[0])}?)" if close else " (see fgvad train --help)"
        return ConfigError(f"unknown option --{name}{hint}")
    hint = f" (did you mean {close[0]}?)" if close else " (see fgvad train --help)"
    return ConfigError(f"unknown option {name}{hint}")


# --------------------------------------------------------------------------- coercion

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def union_args(hint: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(hint)
    return None


def coerce_value(name: str, value: Any, hint: Any) -> Any:
    """Convert ``value`` (from YAML or a command-line string) to the type ``hint`` of option ``name``."""
    args = union_args(hint)
    if args is not None:
        non_none = [a for a in args if a is not type(None)]
        if str in non_none and isinstance(value, (str, list, dict)) and len(non_none) > 1:
            return value  # e.g. `str | list[str]`, `dict | str`: HF parses these itself ("none" included)
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "~")):
            if type(None) in args:
                return None
        if len(non_none) == 1:
            return coerce_value(name, value, non_none[0])
        for candidate in non_none:  # first type that accepts it
            try:
                return coerce_value(name, value, candidate)
            except ConfigError:
                continue
        return value
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(str(value).strip())
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
        if origin is list or hint is list:
            (item,) = typing.get_args(hint) or (str,)
            items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
            return [coerce_value(name, v.strip() if isinstance(v, str) else v, item) for v in items]
        if origin is dict or hint is dict:
            if isinstance(value, dict):
                return value
            raise ValueError
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return value.value if isinstance(value, enum.Enum) else str(value)
    except (ValueError, TypeError):
        kind = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"option {flag(name)}: expected {kind}, got {str(value)[:60]!r}") from None
    return value


# --------------------------------------------------------------------------- parsing


def parse_overrides(argv: Sequence[str], table: Mapping[str, tuple[type, dataclasses.Field, Any]]) -> dict[str, Any]:
    """Turn ``--key value``, ``--key=value``, ``--flag``, ``--no-flag`` and ``--key v1 v2`` into a dict.

    Either separator is accepted in every name (``--num-frames``, ``--num_frames``)."""
    out: dict[str, Any] = {}
    i = 0
    argv = list(argv)
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"unexpected argument {token!r} (options look like --key value)")
        typed, eq, inline = token[2:].partition("=")
        key = typed.replace("-", "_")
        negated = False
        if key not in table and key.startswith("no_") and key[3:] in table:
            key, negated = key[3:], True
        if key not in table and key not in USER_FLAGS:
            raise unknown_option_error(typed, list(table))
        values: list[str] = []
        if eq:
            values = [inline]
        else:
            j = i + 1
            while j < len(argv) and not (argv[j].startswith("--")):
                values.append(argv[j])
                j += 1
            i = j - 1
        i += 1
        hint = table[key][2] if key in table else USER_FLAGS[key].kind
        is_bool = hint is bool or (union_args(hint) is not None and bool in union_args(hint))
        if negated:
            if values or not is_bool:
                raise ConfigError(f"option --{typed} takes no value")
            out[key] = False
        elif not values:
            if not is_bool:
                raise ConfigError(f"option {flag(key)} needs a value")
            out[key] = True
        else:
            out[key] = values[0] if len(values) == 1 else values
    return out


def resolve_config_path(config: str | Path) -> Path:
    """A YAML path, or the name of a preset in configs/ (``demo``, ``ucf_debug``, ...)."""
    p = Path(config)
    if p.is_file():
        return p
    preset = PRESET_DIR / f"{config}.yaml"
    if p.suffix == "" and preset.is_file():
        return preset
    presets = sorted(q.stem for q in PRESET_DIR.glob("*.yaml")) if PRESET_DIR.is_dir() else []
    known = f" (presets: {', '.join(presets)})" if presets else ""
    raise ConfigError(f"{config}: config file not found{known}")


def load_yaml_options(path: str | Path) -> dict[str, Any]:
    import yaml

    from fgvad.core.io import read_utf8_text

    p = resolve_config_path(path)
    text = read_utf8_text(p, what="config file", error=ConfigError)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: invalid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build_config(
    config: str | Path | Mapping[str, Any] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Merge defaults, a YAML preset (path, preset name or dict) and overrides into a :class:`TrainConfig`."""
    table = option_table()
    merged: dict[str, Any] = dict(TRAINING_DEFAULTS)
    base_dir: Path | None = None
    if config is not None:
        if isinstance(config, Mapping):
            given = {str(k).replace("-", "_"): v for k, v in config.items()}
        else:
            base_dir = resolve_config_path(config).parent
            given = load_yaml_options(config)
        for key in given:
            if key not in table and key not in USER_FLAGS:
                raise unknown_option_error(key, list(table), as_flag=False)
        merged.update(translate_user_flags(given, coerce_value))
    if overrides:
        if isinstance(overrides, Mapping):
            extra = {str(k).replace("-", "_"): v for k, v in overrides.items()}
            for key in extra:
                if key not in table and key not in USER_FLAGS:
                    raise unknown_option_error(key, list(table), as_flag=False)
        else:
            extra = parse_overrides(overrides, table)
        merged.update(translate_user_flags(extra, coerce_value))
    del base_dir  # paths in presets are relative to the working directory, like every CLI path

    per_class: dict[type, dict[str, Any]] = {}
    for key, value in merged.items():
        cls, f, hint = table[key]
        per_class.setdefault(cls, {})[f.name] = coerce_value(key, value, hint)
    # `resume_from_checkpoint: true` means "the latest checkpoint in output_dir".
    resume = per_class.get(training_arguments_class(), {}).get("resume_from_checkpoint")
    # "auto" (the users' --auto_resume) means "the latest one if there is one"; train() resolves it.
    if isinstance(resume, bool) or (isinstance(resume, str) and resume.lower() in ("true", "false")):
        value = str(resume).lower() == "true"
        per_class[training_arguments_class()]["resume_from_checkpoint"] = "latest" if value else None

    check_option_bounds(per_class)
    check_installed_extras(per_class.get(training_arguments_class(), {}))
    built: dict[type, Any] = {}
    for cls in (*FGVAD_ARGUMENT_CLASSES, training_arguments_class()):
        try:
            built[cls] = cls(**per_class.get(cls, {}))
        except (ValueError, TypeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"invalid training options: {first}") from None
    cfg = TrainConfig(
        model=built[ModelArguments], data=built[DataArguments], loss=built[LossArguments],
        optim=built[OptimizationArguments], training=built[training_arguments_class()], source=merged,
        run=built[RunArguments],
    )
    validate(cfg)
    return cfg


def _number_kind(hint: Any) -> Any:
    """int or float for a numeric option (``int | None`` included), else the hint itself."""
    args = union_args(hint)
    if args is not None:
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return non_none[0]
    return hint


def check_option_bounds(per_class: Mapping[type, Mapping[str, Any]]) -> None:
    """Every given option against its bounds (field metadata; :data:`HF_OPTION_BOUNDS` for HF's
    fields), before any dataclass is built: one line naming the first option out of bounds.
    Every float must be finite. ``per_class``: options dataclass -> {field name: coerced value}."""
    hf = training_arguments_class()
    for cls, values in per_class.items():
        fields = fields_of(cls)
        for name, value in values.items():
            f, hint = fields[name]
            meta = HF_OPTION_BOUNDS.get(name, {}) if cls is hf else f.metadata
            why = check_value(name, value, _number_kind(hint), meta)
            if why:
                raise ConfigError(f"option {flag(name)}: {why}")


def check_option_paths(cfg: TrainConfig) -> None:
    """The files and folders options name (``{"path": ...}`` in their metadata) exist as that kind,
    and the output folder can be written: run by :func:`fgvad.train.train` before any work. Not
    part of :func:`build_config`: a preset may name data that is only on the training machine."""
    from fgvad.core.checks import path_problem

    hf = training_arguments_class()
    for cls, options in ((ModelArguments, cfg.model), (DataArguments, cfg.data), (hf, cfg.training)):
        for name, (f, _) in fields_of(cls).items():
            kind = (HF_OPTION_BOUNDS.get(name, {}) if cls is hf else f.metadata).get("path")
            value = getattr(options, name, None)
            names = (HF_OPTION_BOUNDS.get(name, {}) if cls is hf else f.metadata).get("names", ())
            why = path_problem(value, kind) if kind and value is not None and value not in names else None
            if why:
                raise ConfigError(f"option {flag(name)}: {why}")


def check_launch(cfg: TrainConfig) -> None:
    """Options that need a distributed launch: FSDP shards a model across processes, so a plain
    `fgvad train` with --fsdp would fail deep in the Trainer. Run by :func:`fgvad.train.train`."""
    import os

    if getattr(cfg.training, "fsdp", None) and int(os.environ.get("WORLD_SIZE", "1")) < 2:
        raise ConfigError("option --fsdp: FSDP needs a distributed launch of 2 or more processes "
                          "(torchrun --nproc_per_node N -m fgvad.cli train ...), or leave out --fsdp")


# Options that must divide another for the tiny model fgvad builds (attention splits a width into
# heads; the image into patches): (divisor, dividend).
TINY_DIVISIBILITY = (
    ("tiny_vision_heads", "tiny_vision_width"),
    ("tiny_text_heads", "tiny_text_width"),
    ("temporal_heads", "tiny_projection_dim"),  # the temporal module runs at the joint embedding width
    ("tiny_patch_size", "image_size"),
)


def validate(cfg: TrainConfig) -> None:
    """What single-option bounds cannot say: options that exclude, need or divide one another."""
    d, loss, m = cfg.data, cfg.loss, cfg.model
    if m.lora and not m.lora_target:
        raise ConfigError("option --lora-target: name at least one module (e.g. q_proj,v_proj)")
    if m.merge_lora and not m.lora:
        raise ConfigError("option --merge-lora needs --lora (there are no adapters to merge)")
    if d.features is not None:
        if d.cache_dir is not None:
            raise ConfigError("options --features and --cache-dir exclude each other (features replace frames)")
        if m.model_name_or_path != "tiny":
            raise ConfigError("option --model-name-or-path: with --features the backbone is the one the features "
                              "were extracted with (recorded in their features.json); leave it out")
    from fgvad.train.schedule import parse_loss_schedule

    parse_loss_schedule(loss.loss_schedule)  # a bad schedule fails now, not at its first step
    if loss.region_anomaly_loss_weight > 0 and not m.patch_anomaly and d.features is None:
        raise ConfigError("option --region-anomaly-loss-weight trains the patch anomaly head: add --patch-anomaly, "
                          "or set the weight to 0")
    check_model_selection(cfg)
    if m.model_name_or_path != "tiny":
        return
    values = {**dataclasses.asdict(m), **dataclasses.asdict(d)}
    for divisor, dividend in TINY_DIVISIBILITY:
        if values[dividend] % values[divisor]:
            raise ConfigError(f"option {flag(divisor)}: {values[divisor]} does not divide {flag(dividend)} "
                              f"{values[dividend]}")
