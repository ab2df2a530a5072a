"""What one ``fgvad bench`` run measures, and how (device, dtype, compile, the training preset)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fgvad.bench.sizes import SIZE_NAMES
from fgvad.core.errors import UsageError
from fgvad.train.options import OptimizationArguments, TRAINING_DEFAULTS

WHAT = ("train", "infer", "check", "baseline", "data", "e2e")
DEFAULT_WHAT = ("train", "infer", "check", "baseline")


@dataclass
class BenchOptions:
    size: str = "tiny"
    frames: int = 256
    batch: int = 2
    steps: int = 10
    warmup: int = 3
    what: tuple[str, ...] = DEFAULT_WHAT
    device: str = "auto"
    amp: str = "auto"  # bf16 on CUDA, fp32 on CPU
    compile: str = "auto"  # on for CUDA, off for CPU
    checkpointing_every: int = 0  # 0 = no activation checkpointing; k = every k-th vision layer
    frame_chunk: int = 0  # frames per vision-tower call in training (0 = all frames of the batch)
    infer_chunk: int = 512
    freeze_vision_layers: int = 0
    keyframes: int = 2
    workers: int = 2
    data_videos: int = 8
    e2e_videos: int = 8
    e2e_epochs: int = 1
    e2e_size: tuple[int, int] = (320, 240)
    e2e_video_frames: int = 256
    workdir: str | None = None
    preset: str | None = None
    seed: int = 0
    # The optimizer of the train measurement: training's own options (per-tower rates; a preset's).
    optim: OptimizationArguments = field(default_factory=OptimizationArguments)
    learning_rate: float = TRAINING_DEFAULTS["learning_rate"]
    weight_decay: float = TRAINING_DEFAULTS["weight_decay"]


def amp_dtype(options: BenchOptions, device: Any) -> Any:
    """The autocast dtype, or None for plain float32."""
    import torch

    choice = options.amp if options.amp != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    return torch.bfloat16 if choice == "bf16" else None


def use_compile(options: BenchOptions, device: Any) -> bool:
    return options.compile == "true" or (options.compile == "auto" and device.type == "cuda")


def apply_preset(options: BenchOptions, name: str) -> None:
    """Take frames, batch, checkpointing, chunking, freezing and the optimizer's learning rates
    from a training preset."""
    from fgvad.train.options import load_yaml_options, options_of

    raw = load_yaml_options(name)
    options.optim = options_of(OptimizationArguments, raw)
    options.learning_rate = float(raw.get("learning_rate", options.learning_rate))
    options.weight_decay = float(raw.get("weight_decay", options.weight_decay))
    options.frames = int(raw.get("num_frames", options.frames))
    options.batch = int(raw.get("per_device_train_batch_size", options.batch))
    checkpointing = bool(raw.get("gradient_checkpointing") or raw.get("activation_checkpointing"))
    if checkpointing:
        options.checkpointing_every = int(raw.get("gradient_checkpointing_every", 1) or 1)
    if "frame_chunk" in raw:
        options.frame_chunk = int(raw["frame_chunk"])
    if "freeze_vision_layers" in raw:
        options.freeze_vision_layers = int(raw["freeze_vision_layers"])
    if "compile" in raw and options.compile == "auto":
        options.compile = "true" if raw["compile"] else "false"


def validate(options: BenchOptions) -> None:
    if options.size not in SIZE_NAMES:
        raise UsageError(f"--size {options.size!r}: unknown (use one of {', '.join(SIZE_NAMES)})")
    for name in ("frames", "batch", "steps", "infer_chunk", "e2e_videos", "e2e_epochs", "data_videos"):
        if getattr(options, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(options, name)}")
    for name in ("warmup", "checkpointing_every", "frame_chunk", "freeze_vision_layers", "workers"):
        if getattr(options, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(options, name)}")
    unknown = [w for w in options.what if w not in WHAT]
    if unknown:
        raise UsageError(f"--what {unknown[0]!r}: unknown (use any of {', '.join(WHAT)}, or all)")
