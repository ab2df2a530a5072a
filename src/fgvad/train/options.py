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

from fgvad.core.errors import ConfigError
from fgvad.core.constants import LOSS_TYPES
from fgvad.core.prompts import DEFAULT_TEMPLATE
from fgvad.train.aliases import USER_FLAGS, translate_user_flags

TINY_MODELS = ("tiny", "tiny-fgclip2")  # --model-name-or-path values that build a model from scratch

# Presets ship inside the package (the repository's configs/ links here), so an installed
# fgvad finds `fgvad train demo` as a source checkout does.
PRESET_DIR = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class ModelArguments:
    _argument_group_name = "fgvad model options"

    model_name_or_path: str = field(default="tiny", metadata={
        "help": "checkpoint folder (FG-CLIP v1 or CLIP, FG-CLIP 2, SigLIP 2, or an fgvad video checkpoint; its "
                "config.json's model_type decides), or 'tiny' / 'tiny-fgclip2' to build a small FG-CLIP v1 / "
                "FG-CLIP 2 model from scratch (sizes from the --tiny-* options; tiny-fgclip2 uses the vision "
                "width, layers and heads for both towers)"})
    tokenizer_path: str | None = field(default=None, metadata={
        "help": "tokenizer folder; default: the checkpoint folder, or for 'tiny' an offline "
                "tokenizer built from the training captions"})
    tiny_vision_width: int = field(default=64, metadata={"help": "tiny model: vision hidden size"})
    tiny_vision_layers: int = field(default=2, metadata={"help": "tiny model: vision layers"})
    tiny_vision_heads: int = field(default=4, metadata={"help": "tiny model: vision attention heads"})
    tiny_patch_size: int = field(default=8, metadata={"help": "tiny model: patch size (--image-size is a data option)"})
    tiny_text_width: int = field(default=64, metadata={"help": "tiny model: text hidden size"})
    tiny_text_layers: int = field(default=2, metadata={"help": "tiny model: text layers"})
    tiny_text_heads: int = field(default=4, metadata={"help": "tiny model: text attention heads"})
    tiny_projection_dim: int = field(default=64, metadata={"help": "tiny model: joint embedding size"})
    tiny_mlp_ratio: int = field(default=2, metadata={"help": "tiny model: MLP width / hidden size (ViT-B: 4)"})
    tiny_vocab_size: int | None = field(default=None, metadata={
        "help": "tiny model: vocabulary size (default: the tokenizer's)"})
    temporal_layers: int = field(default=1, metadata={"help": "transformer layers of the temporal module"})
    temporal_window: int | None = field(default=None, metadata={
        "help": "temporal attention window in frames (default: --num-frames)"})
    temporal_heads: int = field(default=8, metadata={"help": "attention heads of the temporal module"})
    temporal_dropout: float = field(default=0.1, metadata={"help": "dropout of the temporal module"})
    mil_hidden: int = field(default=256, metadata={"help": "hidden width of the MIL head"})
    mil_dropout: float = field(default=0.1, metadata={"help": "dropout of the MIL head"})
    video_pooling: str = field(default="attention", metadata={"help": "video embedding pooling: attention or mean"})
    frame_chunk: int = field(default=64, metadata={"help": "frames per vision-tower call (memory bound)"})
    compile: bool = field(default=False, metadata={
        "help": "torch.compile the vision-tower and temporal layers (regional; same results, faster on a GPU "
                "after a short compile)"})
    gradient_checkpointing_every: int = field(default=1, metadata={
        "help": "with activation checkpointing on: checkpoint every k-th vision layer only (1 = all, "
                "least memory; larger k = faster, more memory; same results)"})
    freeze_vision_layers: int = field(default=0, metadata={
        "help": "freeze the patch embedding and the first N vision layers (0 = train all)"})
    freeze_text: bool = field(default=False, metadata={"help": "freeze the whole text tower"})
    class_prompt_template: str = field(default=DEFAULT_TEMPLATE, metadata={
        "help": "text of the class prompts used as extra negatives and by prompt scores"})
    prompts: str | None = field(default=None, metadata={
        "help": "prompt file (YAML/JSON: 'normal' and 'classes', see fgvad.core.prompts): the class prompts "
                "of training, stored in the checkpoint for its prompt scores; overrides "
                "--class-prompt-template and must name every class of the data"})
    lora: bool = field(default=False, metadata={
        "help": "train LoRA adapters (peft; pip install 'fgvad[lora]') on the FG-CLIP towers instead of their "
                "weights; the temporal module, heads and logit scales train fully"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: float = field(default=16.0, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input"})
    lora_target: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "out_proj"], metadata={
        "help": "module names given adapters, in both towers (comma-separated; default: the attention "
                "projections q_proj,k_proj,v_proj,out_proj; fc1,fc2 add the MLPs)"})
    merge_lora: bool = field(default=False, metadata={
        "help": "at the end of training, fold the adapters into the weights and save the final model as a "
                "plain FG-CLIP checkpoint (no peft needed to load it); checkpoint-N folders keep the adapters"})


@dataclass
class DataArguments:
    _argument_group_name = "fgvad data options"

    data_path: str | None = field(default=None, metadata={"help": "training annotation JSON (the users' format)"})
    video_root: str | None = field(default=None, metadata={
        "help": "folder the 'video' paths are relative to (default: the JSON's folder)"})
    cache_dir: str | None = field(default=None, metadata={
        "help": "frame cache built by `fgvad data cache` (default: decode on the fly)"})
    features: str | None = field(default=None, metadata={
        "help": "features folder of `fgvad features extract`: train only the temporal module and MIL head "
                "on these frozen per-snippet features (no backbone is loaded; --num-frames counts snippets)"})
    num_frames: int = field(default=32, metadata={"help": "frames sampled uniformly per video"})
    image_size: int = field(default=224, metadata={"help": "square frame size fed to the model (FG-CLIP v1, CLIP)"})
    max_num_patches: int | None = field(default=None, metadata={
        "help": "FG-CLIP 2 / SigLIP 2: patches per frame (NaFlex: aspect kept, both sides multiples of the "
                "patch size); default 256 (a 320x240 frame: 13x17 patches)"})
    max_keyframes: int = field(default=4, metadata={"help": "annotated keyframes per video used by the region loss"})
    keyframe_base: int = field(default=1, metadata={
        "help": "number of the first frame in box_infos (1 = Label Studio, the real files)"})
    max_videos: int | None = field(default=None, metadata={"help": "train on the first N entries only (debug)"})
    memory_cache_mb: int = field(default=2048, metadata={
        "help": "keep decoded items in RAM when the whole dataset fits in this many MB (0 = never)"})
    skip_bad: bool = field(default=False, metadata={
        "help": "skip entries whose video is missing or unreadable instead of stopping"})
    hflip_probability: float = field(default=0.0, metadata={
        "help": "mirror a training video (frames, keyframes and boxes) left-right with this probability; "
                "off by default because real captions may say 'left' or 'right'"})
    max_bad_sample_fraction: float = field(default=0.05, metadata={
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

    global_loss_weight: float = field(default=1.0, metadata={"help": "video<->global caption contrastive"})
    region_loss_weight: float = field(default=1.0, metadata={"help": "box<->region caption contrastive"})
    hard_negative_loss_weight: float = field(default=0.0, metadata={
        "help": "box caption vs its hard negatives (entries need 'hard_negatives')"})
    mil_loss_weight: float = field(default=1.0, metadata={"help": "MIL loss on video labels"})
    mil_topk_fraction: float = field(default=0.125, metadata={"help": "fraction of frames averaged as the video score"})
    mil_smoothness_weight: float = field(default=0.0, metadata={"help": "temporal smoothness of frame scores"})
    mil_sparsity_weight: float = field(default=0.0, metadata={"help": "sparsity of scores on anomalous videos"})
    use_class_prompts: bool = field(default=True, metadata={
        "help": "add class prompts as negatives of the global loss"})
    loss_type: str | None = field(default=None, metadata={
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

    text_lr: float | None = field(default=None, metadata={"help": "learning rate of the text tower (default --learning_rate)"})
    vision_lr: float | None = field(default=None, metadata={"help": "learning rate of the vision tower (default --learning_rate)"})
    head_lr: float | None = field(default=None, metadata={
        "help": "learning rate of the new temporal module and heads (default --learning_rate x --head-lr-multiplier)"})
    head_lr_multiplier: float = field(default=1.0, metadata={"help": "see --head-lr"})
    max_nan_steps: int = field(default=5, metadata={
        "help": "stop after this many consecutive steps with a NaN/Inf loss (each one is skipped)"})
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


def _report_to_names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def check_installed_extras(hf_options: Mapping[str, Any]) -> None:
    """``--report_to`` and ``--deepspeed`` need packages fgvad does not install: refuse a missing one
    in one line before TrainingArguments or the Trainer fail on it with a traceback.

    A reusable check of option values (no run state), for any front that validates options."""
    from transformers.integrations import INTEGRATION_TO_CALLBACK

    for name in _report_to_names(hf_options.get("report_to")):
        if name in ("none", "all"):
            continue
        if name not in INTEGRATION_TO_CALLBACK:
            raise ConfigError(f"option --report_to {name}: unknown (use none, all or one of "
                              f"{', '.join(sorted(INTEGRATION_TO_CALLBACK))})")
        try:
            INTEGRATION_TO_CALLBACK[name]()  # what the Trainer does first; it fails when the package is missing
        except (ImportError, RuntimeError):
            raise ConfigError(f"option --report_to {name}: its package is not installed "
                              f"(pip install {name}, or --report_to none)") from None
    if hf_options.get("deepspeed"):
        from transformers.integrations import is_deepspeed_available

        if not is_deepspeed_available():
            raise ConfigError("option --deepspeed: the deepspeed package is not installed "
                              "(pip install deepspeed, or leave out --deepspeed)")


def validate(cfg: TrainConfig) -> None:
    d, loss, o = cfg.data, cfg.loss, cfg.optim
    if d.num_frames < 1:
        raise ConfigError(f"option --num-frames: must be at least 1, got {d.num_frames}")
    if d.image_size < 8:
        raise ConfigError(f"option --image-size: must be at least 8, got {d.image_size}")
    if d.max_num_patches is not None and d.max_num_patches < 1:
        raise ConfigError(f"option --max-num-patches: must be at least 1, got {d.max_num_patches}")
    if loss.loss_type is not None and loss.loss_type not in LOSS_TYPES:
        raise ConfigError(f"option --loss-type: must be one of {', '.join(LOSS_TYPES)}, got {loss.loss_type!r}")
    if d.keyframe_base not in (0, 1):
        raise ConfigError(f"option --keyframe-base: must be 0 or 1, got {d.keyframe_base}")
    if d.max_videos is not None and d.max_videos < 1:
        raise ConfigError(f"option --max-videos: must be at least 1, got {d.max_videos}")
    if d.max_keyframes < 0:
        raise ConfigError(f"option --max-keyframes: must be >= 0, got {d.max_keyframes}")
    if not 0 < loss.mil_topk_fraction <= 1:
        raise ConfigError(f"option --mil-topk-fraction: must be in (0, 1], got {loss.mil_topk_fraction}")
    for name in ("global_loss_weight", "region_loss_weight", "hard_negative_loss_weight", "mil_loss_weight",
                 "mil_smoothness_weight", "mil_sparsity_weight"):
        if getattr(loss, name) < 0:
            raise ConfigError(f"option {flag(name)}: must be >= 0, got {getattr(loss, name)}")
    for name in ("text_lr", "vision_lr", "head_lr"):
        value = getattr(o, name)
        if value is not None and value < 0:
            raise ConfigError(f"option {flag(name)}: must be >= 0, got {value}")
    if o.max_nan_steps < 1:
        raise ConfigError(f"option --max-nan-steps: must be at least 1, got {o.max_nan_steps}")
    m = cfg.model
    if d.features is not None:
        if d.cache_dir is not None:
            raise ConfigError("options --features and --cache-dir exclude each other (features replace frames)")
        if m.model_name_or_path != "tiny":
            raise ConfigError("option --model-name-or-path: with --features the backbone is the one the features "
                              "were extracted with (recorded in their features.json); leave it out")
    if m.gradient_checkpointing_every < 1:
        raise ConfigError(f"option --gradient-checkpointing-every: must be at least 1, got "
                          f"{m.gradient_checkpointing_every}")
    if m.freeze_vision_layers < 0:
        raise ConfigError(f"option --freeze-vision-layers: must be >= 0, got {m.freeze_vision_layers}")
    if m.lora_r < 1:
        raise ConfigError(f"option --lora-r: must be at least 1, got {m.lora_r}")
    if not 0 <= m.lora_dropout < 1:
        raise ConfigError(f"option --lora-dropout: must be in [0, 1), got {m.lora_dropout}")
    if m.lora and not m.lora_target:
        raise ConfigError("option --lora-target: name at least one module (e.g. q_proj,v_proj)")
    if m.merge_lora and not m.lora:
        raise ConfigError("option --merge-lora needs --lora (there are no adapters to merge)")
    from fgvad.train.schedule import parse_loss_schedule

    parse_loss_schedule(loss.loss_schedule)  # a bad schedule fails now, not at its first step
    if m.model_name_or_path == "tiny" and d.image_size % m.tiny_patch_size:
        raise ConfigError(f"option --image-size: {d.image_size} is not a multiple of --tiny-patch-size "
                          f"{m.tiny_patch_size}")
