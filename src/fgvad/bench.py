"""``fgvad bench``: time training, inference, the data path and a whole run; one JSON line each.

Measurements (``--what``):

- ``train``: one full optimizer step of the video model at ``--frames`` x ``--batch``: the
  Trainer's own :class:`~fgvad.train.module.VideoTrainingModule` forward (all losses on:
  global, region, hard-negative, MIL), backward, gradient clipping and AdamW (fused on CUDA),
  under bf16 autocast on CUDA. No host synchronisation inside the timed loop.
- ``infer``: frames/s of the video model on uint8 frames already on the device
  (normalisation, vision tower, temporal module, heads) in inference mode.
- ``check``: the fast path (compile, selective checkpointing, frame chunks) against the plain
  path on one batch: loss components and gradients must agree (bf16 tolerance on CUDA).
- ``baseline``: transformers' stock ``CLIPVisionModelWithProjection`` of the same size, eager
  and ``torch.compile``-d (bf16 autocast, sdpa): a vision-tower training step with a simple
  loss, and inference. The number fgvad must beat, measured in the same run.
- ``data``: synthetic videos -> ``fgvad data cache`` -> DataLoader (pinned memory, workers)
  -> device -> normalised pixels, frames/s.
- ``e2e``: synthetic dataset at UCF resolution (320x240 by default) -> cache -> K epochs of
  ``fgvad train`` (the real Trainer), wall-clock per stage.

Every line carries the device name, torch/transformers versions, the matrix-product
ceiling measured here (TFLOP/s of a large matmul in the compute dtype), FLOPs per frame of
the vision tower (counted analytically from the config; a test checks the count against
``torch.utils.flop_counter``), MFU and peak device memory. Training MFU counts the vision
tower only, forward x 3 (the usual fwd + bwd convention; recompute not counted), so it is a
slight underestimate.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from fgvad.core.errors import UsageError

DESCRIPTION = (
    "Time the training step, inference, the fast-path check, the stock transformers baseline,\n"
    "the data path and a whole synthetic run, with random weights at a named model size.\n"
    "Prints one JSON line per measurement (device, versions, frames/s, MFU, peak memory)."
)

EXAMPLES = """examples:
  fgvad bench --size vit-b16 --frames 256 --batch 2                  # train, infer, check, baseline
  fgvad bench --size vit-b16 --preset ucf_24gb --what train          # the 24 GB preset's settings
  fgvad bench --size vit-b16 --what e2e --e2e-videos 232 --e2e-epochs 10
  fgvad bench --size tiny --frames 8 --steps 2 --what train infer    # seconds, on a CPU
"""

WHAT = ("train", "infer", "check", "baseline", "data", "e2e")
DEFAULT_WHAT = ("train", "infer", "check", "baseline")

# Model sizes by name, so the bench needs no checkpoint and no ../shared. vit-b16 is the
# released fg-clip-base config (quick_gelu, 77 text positions); vit-l14-336 CLIP ViT-L/14@336.
SIZES: dict[str, dict[str, Any]] = {
    "vit-b16": {
        "projection_dim": 512,
        "text_config": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                        "num_attention_heads": 8, "max_position_embeddings": 77, "vocab_size": 49408,
                        "hidden_act": "quick_gelu", "projection_dim": 512},
        "vision_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                          "num_attention_heads": 12, "image_size": 224, "patch_size": 16,
                          "hidden_act": "quick_gelu", "projection_dim": 512},
    },
    "vit-l14-336": {
        "projection_dim": 768,
        "text_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                        "num_attention_heads": 12, "max_position_embeddings": 77, "vocab_size": 49408,
                        "hidden_act": "quick_gelu", "projection_dim": 768},
        "vision_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
                          "num_attention_heads": 16, "image_size": 336, "patch_size": 14,
                          "hidden_act": "quick_gelu", "projection_dim": 768},
    },
}
SIZE_NAMES = ("tiny", *SIZES)

CAPTIONS = [
    "a man in a red shirt punches another man near a parked car at night",
    "two people walk across an empty parking lot and get into a white car",
    "a person grabs a bag from the ground and runs out of the shop",
    "a bright explosion fills the street and black smoke rises over the cars",
]
REGION_CAPTIONS = ["a man in a red shirt", "a woman carrying a black bag", "a white car", "a person in blue jeans"]
CLASS_NAMES = ["Normal", "Abuse", "Explosion", "Fighting", "Stealing"]


# --------------------------------------------------------------------------- options


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
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device {name!r}: not a torch device (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available on this machine")
    return device


def amp_dtype(options: BenchOptions, device: Any) -> Any:
    """The autocast dtype, or None for plain float32."""
    import torch

    choice = options.amp if options.amp != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    return torch.bfloat16 if choice == "bf16" else None


def use_compile(options: BenchOptions, device: Any) -> bool:
    return options.compile == "true" or (options.compile == "auto" and device.type == "cuda")


def autocast(device: Any, dtype: Any) -> Any:
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def apply_preset(options: BenchOptions, name: str) -> None:
    """Take frames, batch, checkpointing, chunking and freezing from a training preset."""
    from fgvad.train.options import load_yaml_options

    raw = load_yaml_options(name)
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


# --------------------------------------------------------------------------- model sizes and FLOPs


def model_config(size: str) -> Any:
    from fgvad.models.fgclip import clip_config_from_dict, tiny_fgclip_config

    if size == "tiny":
        return tiny_fgclip_config()
    if size not in SIZES:
        raise UsageError(f"--size {size!r}: unknown (use one of {', '.join(SIZE_NAMES)})")
    return clip_config_from_dict(SIZES[size], source=f"bench size {size}")


def vision_forward_flops(vision_config: Any, projection_dim: int) -> float:
    """Matrix-product FLOPs (2 per multiply-add) of one frame through the vision tower.

    Patch embedding, per layer the q/k/v/out projections, the two attention products and the
    MLP, and the final projection of the class token. Norms and activations are not counted
    (they are not matrix products and are negligible).
    """
    width, hidden = vision_config.hidden_size, vision_config.intermediate_size
    patch, image = vision_config.patch_size, vision_config.image_size
    patches = (image // patch) ** 2
    tokens = patches + 1
    patch_embed = 2 * patches * (3 * patch * patch) * width
    per_layer = 2 * tokens * 4 * width * width + 2 * 2 * tokens * tokens * width + 2 * 2 * tokens * width * hidden
    return float(patch_embed + vision_config.num_hidden_layers * per_layer + 2 * width * projection_dim)


def matmul_ceiling_tflops(device: Any, dtype: Any, n: int | None = None, repeats: int | None = None) -> float:
    """Achievable TFLOP/s of a square matmul in the compute dtype on this device (the MFU ceiling)."""
    import torch

    on_cuda = device.type == "cuda"
    n = n or (8192 if on_cuda else 1024)
    repeats = repeats or (20 if on_cuda else 3)
    compute = dtype if (dtype is not None and on_cuda) else torch.float32
    a = torch.randn(n, n, device=device, dtype=compute)
    b = torch.randn(n, n, device=device, dtype=compute)
    for _ in range(2):
        a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    seconds = time.perf_counter() - start
    return 2.0 * n ** 3 * repeats / seconds / 1e12


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def environment(device: Any) -> dict[str, Any]:
    import torch
    import transformers

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return {"device": str(device), "device_name": name, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}


def reset_peak(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: Any) -> float | None:
    import torch

    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return None


# --------------------------------------------------------------------------- the training batch


def synthetic_items(count: int, frames: int, size: int, keyframes: int, seed: int) -> list[dict[str, Any]]:
    """Dataset items as :class:`~fgvad.data.dataset.VideoTextDataset` returns them (random pixels)."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    items = []
    for i in range(count):
        n_regions = 2
        boxes, box_keyframe, box_region = [], [], []
        for k in range(keyframes):
            for r in range(n_regions):
                x0, y0 = rng.uniform(0.0, 0.5, size=2)
                w, h = rng.uniform(0.2, 0.5, size=2)
                boxes.append([x0, y0, min(x0 + w, 1.0), min(y0 + h, 1.0)])
                box_keyframe.append(k)
                box_region.append(r)
        items.append({
            "frames": torch.from_numpy(rng.integers(0, 256, size=(frames, size, size, 3), dtype=np.uint8)),
            "frame_indices": torch.arange(frames, dtype=torch.long) * 8,
            "keyframes": torch.from_numpy(rng.integers(0, 256, size=(keyframes, size, size, 3), dtype=np.uint8)),
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "box_keyframe": torch.tensor(box_keyframe, dtype=torch.long),
            "box_region": torch.tensor(box_region, dtype=torch.long),
            "global_caption": CAPTIONS[i % len(CAPTIONS)],
            "region_captions": [REGION_CAPTIONS[(i + r) % len(REGION_CAPTIONS)] for r in range(n_regions)],
            "hard_negatives": [[REGION_CAPTIONS[(i + r + 1) % len(REGION_CAPTIONS)].replace("a ", "an old ", 1)]
                               for r in range(n_regions)],
            "label": 1 + i % (len(CLASS_NAMES) - 1) if i % 2 == 0 else 0,
            "is_anomaly": 1.0 if i % 2 == 0 else 0.0,
            "index": i,
            "video_key": f"bench/video_{i:03d}",
        })
    return items


def to_device(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    import torch

    # non_blocking only overlaps when the source is pinned; it is harmless otherwise.
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


@dataclass
class TrainingSetup:
    module: Any  # VideoTrainingModule
    batch: dict[str, Any]
    tokenizer: Any
    frame_chunk: int


def build_training_setup(options: BenchOptions, device: Any, *, fast: bool = True,
                         module_state: dict[str, Any] | None = None) -> TrainingSetup:
    """The Trainer's module (random weights of ``options.size``) and one collated batch on ``device``.

    ``fast`` applies the speed switches (compile, selective checkpointing, frame chunks);
    the plain setup runs every frame of the batch in one eager call without checkpointing.
    Dropout is 0 so that the two compute the same function and can be compared.
    """
    import torch

    from fgvad.train.options import LossArguments
    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.tokenizer import build_offline_tokenizer, tokenize
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig
    from fgvad.train.collator import TrainCollator
    from fgvad.train.module import VideoTrainingModule
    from fgvad.core.prompts import class_prompts

    config = model_config(options.size)
    image_size = int(config.vision_config.image_size)
    total_frames = options.frames * options.batch
    chunk = options.frame_chunk if (fast and options.frame_chunk > 0) else total_frames
    head = VideoHeadConfig(temporal_layers=1, heads=8, window=options.frames, dropout=0.0, mil_dropout=0.0,
                           frame_chunk=max(1, chunk))
    torch.manual_seed(options.seed)
    video = VideoFGCLIP(FGCLIPModel.from_config(config), head)
    prompts = class_prompts(CLASS_NAMES, "a surveillance video of {}")
    texts = [*CAPTIONS, *REGION_CAPTIONS, *prompts, "an old man", "an old woman", "an old white car"]
    tokenizer = build_offline_tokenizer(texts)
    losses = LossArguments(global_loss_weight=1.0, region_loss_weight=1.0, hard_negative_loss_weight=1.0,
                           mil_loss_weight=1.0, use_class_prompts=True)
    module = VideoTrainingModule(video, losses, tokenize(tokenizer, prompts, long=True))
    if module_state is not None:
        module.load_state_dict(module_state)
    module.to(device).train()
    if fast:
        if options.freeze_vision_layers:
            freeze_vision_layers(video, options.freeze_vision_layers)
        if options.checkpointing_every > 0:
            video.gradient_checkpointing_enable(every=options.checkpointing_every)
        if use_compile(options, device):
            video.compile_towers()
    items = synthetic_items(options.batch, options.frames, image_size, options.keyframes, options.seed)
    batch = TrainCollator(tokenizer)(items)
    batch.pop("num_frames_seen", None)
    if device.type == "cuda":
        batch = {k: (v.pin_memory() if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    return TrainingSetup(module=module, batch=to_device(batch, device), tokenizer=tokenizer, frame_chunk=chunk)


def freeze_vision_layers(video: Any, count: int) -> None:
    """The named switch that changes what is trained: patch embedding + first ``count`` vision layers."""
    vision = video.clip.vision_model
    layers = vision.encoder.layers
    if count > len(layers):
        raise UsageError(f"--freeze-vision-layers {count}: the model has {len(layers)} vision layers")
    for p in vision.embeddings.parameters():
        p.requires_grad_(False)
    for layer in layers[:count]:
        for p in layer.parameters():
            p.requires_grad_(False)


def make_optimizer(module: Any, device: Any, lr: float = 1e-5, weight_decay: float = 0.05) -> Any:
    """AdamW with the Trainer's parameter groups; fused on CUDA (one kernel for all tensors)."""
    import torch

    from fgvad.train.trainer import no_weight_decay

    decay, no_decay = [], []
    for name, param in module.named_parameters():
        if param.requires_grad:
            (no_decay if no_weight_decay(name, param) else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if device.type == "cuda":
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    return torch.optim.AdamW(groups, lr=lr, foreach=True)


def training_step_fn(module: Any, batch: dict[str, Any], optimizer: Any, device: Any, dtype: Any,
                     max_grad_norm: float = 1.0) -> Callable[[], dict[str, Any]]:
    """One optimizer step as the Trainer takes it; returns device tensors (never synced here)."""
    import torch

    params = [p for p in module.parameters() if p.requires_grad]

    def step() -> dict[str, Any]:
        with autocast(device, dtype):
            out = module(**batch)
        out["loss"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm, foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": out["loss"].detach(), "grad_norm": grad_norm}

    return step


def time_steps(step: Callable[[], Any], device: Any, steps: int, warmup: int, desc: str) -> float:
    """Seconds for ``steps`` calls after ``warmup`` untimed ones (device-synchronised at both ends)."""
    from tqdm import tqdm

    for _ in tqdm(range(warmup), desc=f"{desc} warm-up", file=sys.stderr, leave=False, disable=warmup == 0):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in tqdm(range(steps), desc=desc, file=sys.stderr, leave=False):
        step()
    synchronize(device)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- measurements


@dataclass
class Context:
    options: BenchOptions
    device: Any
    dtype: Any
    env: dict[str, Any]
    ceiling_tflops: float
    flops_per_frame: float
    emit: Callable[[dict[str, Any]], None]

    def line(self, bench: str, **values: Any) -> dict[str, Any]:
        o = self.options
        record = {"bench": bench, "size": o.size, **self.env,
                  "amp": "bf16" if self.dtype is not None else "fp32",
                  "ceiling_tflops": round(self.ceiling_tflops, 2),
                  "gflop_per_frame_fwd": round(self.flops_per_frame / 1e9, 4)}
        record.update(values)
        self.emit(record)
        return record

    def mfu(self, frames_per_s: float, passes: float) -> float:
        return round(frames_per_s * self.flops_per_frame * passes / (self.ceiling_tflops * 1e12), 4)


def bench_train(ctx: Context) -> dict[str, Any]:
    o, device = ctx.options, ctx.device
    reset_peak(device)
    setup = build_training_setup(o, device, fast=True)
    optimizer = make_optimizer(setup.module, device)
    step = training_step_fn(setup.module, setup.batch, optimizer, device, ctx.dtype)
    seconds = time_steps(step, device, o.steps, o.warmup, "train")
    last = step()  # one more to read the loss (outside the timing; a sync is fine here)
    frames = o.frames * o.batch * o.steps
    fps = frames / seconds
    return ctx.line("train", frames=o.frames, batch=o.batch, steps=o.steps, seconds=round(seconds, 3),
                    step_ms=round(1000 * seconds / o.steps, 2), frames_per_s=round(fps, 1),
                    video_samples_per_s=round(o.batch * o.steps / seconds, 3),
                    mfu=ctx.mfu(fps, 3.0), peak_mem_gib=peak_gib(device),
                    compile=use_compile(o, device), checkpointing_every=o.checkpointing_every,
                    frame_chunk=setup.frame_chunk, freeze_vision_layers=o.freeze_vision_layers,
                    fused_adamw=device.type == "cuda", losses=["global", "region", "hard_negative", "mil"],
                    loss=round(float(last["loss"]), 4), preset=o.preset)


def bench_infer(ctx: Context) -> dict[str, Any]:
    import torch

    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig

    o, device = ctx.options, ctx.device
    reset_peak(device)
    config = model_config(o.size)
    size = int(config.vision_config.image_size)
    total = o.frames * o.batch
    chunk = min(o.infer_chunk, total)
    video = VideoFGCLIP(FGCLIPModel.from_config(config), VideoHeadConfig(window=o.frames, frame_chunk=chunk))
    video.to(device).eval()
    if use_compile(o, device):
        video.compile_towers()
    frames = torch.randint(0, 256, (o.batch, o.frames, size, size, 3), dtype=torch.uint8, device=device)

    def step() -> Any:
        with torch.inference_mode(), autocast(device, ctx.dtype):
            return video(frames).anomaly_logits

    seconds = time_steps(step, device, o.steps, o.warmup, "infer")
    fps = total * o.steps / seconds
    return ctx.line("infer", frames=o.frames, batch=o.batch, steps=o.steps, seconds=round(seconds, 3),
                    frames_per_s=round(fps, 1), mfu=ctx.mfu(fps, 1.0), peak_mem_gib=peak_gib(device),
                    compile=use_compile(o, device), frame_chunk=chunk)


def compare_paths(options: BenchOptions, device: Any, dtype: Any) -> dict[str, Any]:
    """Losses and gradients of the fast path vs the plain path on the same weights and batch.

    Returns the largest relative difference of any loss component and of any parameter's
    gradient (||g_fast - g_plain|| / ||g_plain||), plus the worst parameter's name.
    """
    import torch

    plain = build_training_setup(options, device, fast=False)
    state = {k: v.detach().clone() for k, v in plain.module.state_dict().items()}
    fast = build_training_setup(options, device, fast=True, module_state=state)
    results = []
    for setup in (plain, fast):
        setup.module.zero_grad(set_to_none=True)
        with autocast(device, dtype):
            out = setup.module(**setup.batch)
        out["loss"].backward()
        losses = {k: v.detach().float() for k, v in out.items() if k == "loss" or k.startswith("loss_")}
        grads = {n: p.grad.detach().float() for n, p in setup.module.named_parameters()
                 if p.requires_grad and p.grad is not None}
        results.append((losses, grads))
    (plain_losses, plain_grads), (fast_losses, fast_grads) = results
    loss_diff = max(float((fast_losses[k] - v).abs() / v.abs().clamp_min(1e-6)) for k, v in plain_losses.items())
    worst, grad_diff = "", 0.0
    # Some gradients are zero in exact arithmetic (e.g. attention key biases: softmax ignores a
    # per-row shift) and pure rounding noise in practice; a floor relative to the whole
    # gradient keeps their relative difference meaningful.
    total = math.sqrt(sum(float(g.pow(2).sum()) for g in plain_grads.values()))
    floor = max(1e-3 * total, 1e-12)
    for name, g in plain_grads.items():
        other = fast_grads.get(name)
        if other is None:
            if options.freeze_vision_layers:
                continue  # frozen on the fast path by request
            return {"loss_rel_diff": loss_diff, "grad_rel_diff": math.inf, "worst_param": name + " (no gradient)"}
        diff = float((other - g).norm()) / max(float(g.norm()), floor)
        if diff > grad_diff:
            worst, grad_diff = name, diff
    del plain, fast
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {"loss_rel_diff": loss_diff, "grad_rel_diff": grad_diff, "worst_param": worst,
            "losses": {k: round(float(v), 5) for k, v in plain_losses.items()}}


def bench_check(ctx: Context) -> dict[str, Any]:
    o = ctx.options
    # Fewer frames than the timed step: the plain path keeps every activation of the batch.
    small = dataclasses.replace(o, frames=min(o.frames, 32), batch=min(o.batch, 2))
    if small.frame_chunk <= 0 or small.frame_chunk >= small.frames * small.batch:
        small.frame_chunk = max(1, small.frames * small.batch // 4)  # exercise the chunking too
    result = compare_paths(small, ctx.device, ctx.dtype)
    loss_tol, grad_tol = (2e-2, 5e-2) if ctx.dtype is not None else (1e-4, 1e-3)
    ok = result["loss_rel_diff"] <= loss_tol and result["grad_rel_diff"] <= grad_tol
    return ctx.line("check", frames=small.frames, batch=small.batch, ok=ok, loss_tolerance=loss_tol,
                    grad_tolerance=grad_tol, compile=use_compile(small, ctx.device),
                    checkpointing_every=small.checkpointing_every, frame_chunk=small.frame_chunk,
                    **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in result.items()})


def stock_vision_model(size: str, device: Any) -> Any:
    """transformers' own CLIPVisionModelWithProjection of the same size (sdpa attention)."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = model_config(size)
    vision = CLIPVisionConfig(**{k: getattr(config.vision_config, k) for k in (
        "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "image_size",
        "patch_size", "hidden_act", "layer_norm_eps")}, projection_dim=config.projection_dim)
    vision._attn_implementation = "sdpa"
    return CLIPVisionModelWithProjection(vision).to(device)


def bench_baseline(ctx: Context) -> list[dict[str, Any]]:
    """Stock transformers, eager and compiled: vision-tower training step and inference."""
    import torch

    o, device = ctx.options, ctx.device
    records = []
    size = int(model_config(o.size).vision_config.image_size)
    total = o.frames * o.batch
    for compiled in (False, True):
        if compiled and not use_compile(o, device):
            continue
        label = "compiled" if compiled else "eager"
        for mode in ("train", "infer"):
            reset_peak(device)
            torch.manual_seed(o.seed)
            model = stock_vision_model(o.size, device)
            runner = torch.compile(model) if compiled else model
            pixels = torch.randn(total, 3, size, size, device=device)
            try:
                if mode == "train":
                    model.train()
                    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")

                    def step() -> Any:
                        with autocast(device, ctx.dtype):
                            embeds = runner(pixel_values=pixels).image_embeds
                        loss = embeds.float().pow(2).mean()  # a simple loss; the point is the tower
                        loss.backward()
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                else:
                    model.eval()

                    def step() -> Any:
                        with torch.inference_mode(), autocast(device, ctx.dtype):
                            return runner(pixel_values=pixels).image_embeds

                seconds = time_steps(step, device, o.steps, o.warmup, f"stock {label} {mode}")
                fps = total * o.steps / seconds
                records.append(ctx.line(f"baseline_{mode}", variant=f"transformers {label}", frames=o.frames,
                                        batch=o.batch, steps=o.steps, seconds=round(seconds, 3),
                                        frames_per_s=round(fps, 1), mfu=ctx.mfu(fps, 3.0 if mode == "train" else 1.0),
                                        peak_mem_gib=peak_gib(device), compile=compiled))
            except torch.OutOfMemoryError:
                records.append(ctx.line(f"baseline_{mode}", variant=f"transformers {label}", frames=o.frames,
                                        batch=o.batch, error="out of memory", compile=compiled))
            finally:
                del model, runner, pixels
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return records


# --------------------------------------------------------------------------- data path and end to end


def synthetic_dataset(workdir: Path, videos: int, video_frames: int, size: tuple[int, int], seed: int) -> Any:
    from fgvad.data.tools.synth import generate_dataset

    # The generator wants at least 2 test videos; they are not used here.
    return generate_dataset(workdir / "synth", train_videos=max(2, videos), test_videos=2, seed=seed,
                            size=size, frames=video_frames, progress=True)


def bench_data(ctx: Context, workdir: Path) -> dict[str, Any]:
    """Cache -> DataLoader (pinned, workers) -> device -> normalised pixels, frames/s."""
    import torch
    from torch.utils.data import DataLoader

    from fgvad.data.annotations import load_annotations
    from fgvad.data.cache import build_cache
    from fgvad.data.dataset import VideoTextDataset
    from fgvad.models.tokenizer import build_offline_tokenizer
    from fgvad.models.video import frames_to_pixels
    from fgvad.train.collator import TrainCollator

    o, device = ctx.options, ctx.device
    image_size = int(model_config(o.size).vision_config.image_size)
    info = synthetic_dataset(workdir, o.data_videos, max(32, o.e2e_video_frames), o.e2e_size, o.seed)
    entries = load_annotations(info.train_json)
    cache_dir = workdir / f"cache_t{o.frames}_s{image_size}"
    started = time.perf_counter()
    report = build_cache(entries, info.video_root, cache_dir, num_frames=o.frames, size=image_size,
                         workers=o.workers, progress=False)
    cache_seconds = time.perf_counter() - started
    dataset = VideoTextDataset(entries, cache=cache_dir, num_frames=o.frames, size=image_size,
                               max_keyframes=o.keyframes)
    tokenizer = build_offline_tokenizer([e.global_caption for e in entries]
                                        + [r.caption for e in entries for r in e.regions])
    loader = DataLoader(dataset, batch_size=o.batch, shuffle=True, collate_fn=TrainCollator(tokenizer),
                        num_workers=o.workers, pin_memory=device.type == "cuda",
                        persistent_workers=o.workers > 0, drop_last=False)
    epochs = max(1, math.ceil(o.steps * o.batch / max(1, len(dataset))))
    n_frames = 0
    checksum = torch.zeros((), device=device)
    reset_peak(device)
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            batch = to_device({k: v for k, v in batch.items() if k in ("frames", "keyframes")}, device)
            pixels = frames_to_pixels(batch["frames"], image_size, device=device)
            checksum += pixels[..., :1, :1].sum()  # keeps the work honest without a host sync
            n_frames += int(batch["frames"].shape[0] * batch["frames"].shape[1])
    synchronize(device)
    seconds = time.perf_counter() - started
    return ctx.line("data", videos=len(dataset), frames=o.frames, batch=o.batch, workers=o.workers,
                    pinned=device.type == "cuda", epochs=epochs, seconds=round(seconds, 3),
                    frames_per_s=round(n_frames / seconds, 1), cache_seconds=round(cache_seconds, 3),
                    cache_frames_per_s=round(report.frames / max(cache_seconds, 1e-9), 1),
                    source_size=list(o.e2e_size), peak_mem_gib=peak_gib(device))


def save_random_checkpoint(size: str, folder: Path, texts: Iterable[str]) -> Path:
    """A random-weight FG-CLIP folder of the named size, with an offline tokenizer of ``texts``."""
    import torch

    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.tokenizer import build_offline_tokenizer

    torch.manual_seed(0)
    model = FGCLIPModel.from_config(model_config(size))
    model.save_pretrained(folder, tokenizer=build_offline_tokenizer(list(texts)))
    return folder


def bench_e2e(ctx: Context, workdir: Path) -> dict[str, Any]:
    """Synthetic dataset -> cache -> K epochs of the real Trainer (``run_training``), wall-clock."""
    from fgvad.data.annotations import load_annotations
    from fgvad.data.cache import build_cache
    from fgvad.core.prompts import class_prompts
    from fgvad.train.run import run_training

    o, device = ctx.options, ctx.device
    config = model_config(o.size)
    image_size = int(config.vision_config.image_size)
    started = time.perf_counter()
    info = synthetic_dataset(workdir, o.e2e_videos, o.e2e_video_frames, o.e2e_size, o.seed)
    synth_seconds = time.perf_counter() - started
    entries = [e for e in load_annotations(info.train_json) if not e.is_image]
    texts = [e.global_caption for e in entries] + [r.caption for e in entries for r in e.regions]
    texts += class_prompts(sorted({e.label for e in entries} | {"Normal"}), "a surveillance video of {}")
    checkpoint = save_random_checkpoint(o.size, workdir / "random_model", texts)
    cache_dir = workdir / f"e2e_cache_t{o.frames}_s{image_size}"
    started = time.perf_counter()
    build_cache(entries, info.video_root, cache_dir, num_frames=o.frames, size=image_size,
                workers=max(1, os.cpu_count() or 1), progress=True)
    cache_seconds = time.perf_counter() - started
    on_cuda = device.type == "cuda"
    options: dict[str, Any] = {
        "model_name_or_path": str(checkpoint), "data_path": str(info.train_json),
        "video_root": str(info.video_root), "cache_dir": str(cache_dir), "num_frames": o.frames,
        "image_size": image_size, "max_keyframes": o.keyframes, "temporal_dropout": 0.0,
        "output_dir": str(workdir / "e2e_out"), "num_train_epochs": o.e2e_epochs,
        "per_device_train_batch_size": o.batch, "gradient_accumulation_steps": 1,
        "logging_steps": 10, "save_strategy": "no", "report_to": "none",
        "dataloader_num_workers": o.workers, "dataloader_pin_memory": on_cuda, "memory_cache_mb": 0,
        "bf16": on_cuda and ctx.dtype is not None, "use_cpu": not on_cuda, "seed": o.seed,
        "disable_tqdm": False,
    }
    if on_cuda:
        options["optim"] = "adamw_torch_fused"
    if o.checkpointing_every > 0:
        options["gradient_checkpointing"] = True
    options.update(training_switches(o, device))
    reset_peak(device)
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON lines
        result = run_training(options)
    train_seconds = time.perf_counter() - started
    frames = len(entries) * o.frames * o.e2e_epochs
    return ctx.line("e2e", videos=len(entries), video_frames=o.e2e_video_frames, source_size=list(o.e2e_size),
                    frames=o.frames, batch=o.batch, epochs=o.e2e_epochs, steps=result.global_step,
                    synth_seconds=round(synth_seconds, 2), cache_seconds=round(cache_seconds, 2),
                    train_seconds=round(train_seconds, 2),
                    cache_plus_train_seconds=round(cache_seconds + train_seconds, 2),
                    train_frames_per_s=round(frames / train_seconds, 1),
                    mfu=ctx.mfu(frames / train_seconds, 3.0), peak_mem_gib=peak_gib(device))


def training_switches(options: BenchOptions, device: Any) -> dict[str, Any]:
    """The fast-path options ``fgvad train`` understands (only those its config declares)."""
    from fgvad.train.options import option_table

    table = option_table()
    wanted = {"compile": use_compile(options, device), "gradient_checkpointing_every": options.checkpointing_every,
              "freeze_vision_layers": options.freeze_vision_layers}
    if options.frame_chunk > 0:
        wanted["frame_chunk"] = options.frame_chunk
    return {k: v for k, v in wanted.items() if k in table and not (k == "gradient_checkpointing_every" and v < 1)}


# --------------------------------------------------------------------------- driver


def run_bench(options: BenchOptions, emit: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run the chosen measurements; returns the records (also passed to ``emit`` as they come)."""
    import torch

    validate(options)
    device = resolve_device(options.device)
    dtype = amp_dtype(options, device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    records: list[dict[str, Any]] = []

    def collect(record: dict[str, Any]) -> None:
        records.append(record)
        if emit is not None:
            emit(record)

    config = model_config(options.size)
    ctx = Context(options=options, device=device, dtype=dtype, env=environment(device),
                  ceiling_tflops=matmul_ceiling_tflops(device, dtype),
                  flops_per_frame=vision_forward_flops(config.vision_config, config.projection_dim), emit=collect)
    with contextlib.ExitStack() as stack:
        workdir = Path(options.workdir) if options.workdir else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="fgvad-bench-")))
        workdir.mkdir(parents=True, exist_ok=True)
        jobs: dict[str, Callable[[], Any]] = {
            "check": lambda: bench_check(ctx), "train": lambda: bench_train(ctx),
            "infer": lambda: bench_infer(ctx), "baseline": lambda: bench_baseline(ctx),
            "data": lambda: bench_data(ctx, workdir), "e2e": lambda: bench_e2e(ctx, workdir),
        }
        for name in WHAT:
            if name not in options.what:
                continue
            try:
                jobs[name]()
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                ctx.line(name, frames=options.frames, batch=options.batch, error="out of memory",
                         hint="try --checkpointing-every 1, a smaller --batch or --frames, or --preset ucf_24gb")
    return records


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


def parse_size_pair(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    return int(parts[0]), int(parts[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", default="vit-b16", choices=SIZE_NAMES, help="model size (random weights)")
    parser.add_argument("--what", nargs="+", default=list(DEFAULT_WHAT), metavar="WHAT",
                        help=f"measurements: {', '.join(WHAT)} or all (default: {' '.join(DEFAULT_WHAT)})")
    parser.add_argument("--frames", type=int, default=256, help="frames per video (default %(default)s)")
    parser.add_argument("--batch", type=int, default=2, help="videos per step (default %(default)s)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3 on CUDA, 1 on CPU)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N (default: cuda when available)")
    parser.add_argument("--amp", default="auto", choices=("auto", "bf16", "fp32"),
                        help="compute dtype (default: bf16 autocast on CUDA, fp32 on CPU)")
    parser.add_argument("--compile", default="auto", choices=("auto", "true", "false"),
                        help="torch.compile the tower layers (default: on CUDA only)")
    parser.add_argument("--checkpointing-every", type=int, default=0, metavar="K",
                        help="activation checkpointing of every K-th vision layer (0 = off, 1 = all)")
    parser.add_argument("--frame-chunk", type=int, default=0,
                        help="frames per vision-tower call in training (0 = the whole batch in one call)")
    parser.add_argument("--infer-chunk", type=int, default=512, help="frames per vision-tower call in inference")
    parser.add_argument("--freeze-vision-layers", type=int, default=0, metavar="N",
                        help="CHANGES WHAT IS TRAINED: freeze the patch embedding and the first N vision layers")
    parser.add_argument("--preset", default=None,
                        help="take frames, batch, checkpointing, chunking from a training preset (e.g. ucf_24gb)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers for data/e2e (default %(default)s)")
    parser.add_argument("--data-videos", type=int, default=8, help="synthetic videos of the data bench")
    parser.add_argument("--e2e-videos", type=int, default=8, help="synthetic training videos of the e2e bench")
    parser.add_argument("--e2e-epochs", type=int, default=1, help="epochs of the e2e bench")
    parser.add_argument("--e2e-size", type=parse_size_pair, default=(320, 240), help="source video WxH (default 320x240)")
    parser.add_argument("--e2e-video-frames", type=int, default=256, help="frames per synthetic source video")
    parser.add_argument("--workdir", default=None, help="keep synthetic data and caches here (default: a temp folder)")
    parser.add_argument("--json-out", default=None, help="also append the JSON lines to this file")
    parser.add_argument("--seed", type=int, default=0)


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    what = tuple(WHAT) if "all" in args.what else tuple(args.what)
    options = BenchOptions(
        size=args.size, frames=args.frames, batch=args.batch, steps=args.steps, warmup=0, what=what,
        device=args.device, amp=args.amp, compile=args.compile, checkpointing_every=args.checkpointing_every,
        frame_chunk=args.frame_chunk, infer_chunk=args.infer_chunk, freeze_vision_layers=args.freeze_vision_layers,
        workers=args.workers, data_videos=args.data_videos, e2e_videos=args.e2e_videos, e2e_epochs=args.e2e_epochs,
        e2e_size=args.e2e_size, e2e_video_frames=args.e2e_video_frames, workdir=args.workdir, preset=args.preset,
        seed=args.seed,
    )
    if args.preset:
        apply_preset(options, args.preset)
    if args.warmup is None:
        import torch

        on_cuda = resolve_device(args.device).type == "cuda" and torch.cuda.is_available()
        options.warmup = 3 if on_cuda else 1
    else:
        options.warmup = args.warmup
    return options


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    options = options_from_args(args)
    out_file = Path(args.json_out) if args.json_out else None

    def emit(record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=False)
        print(line, flush=True)
        if out_file is not None:
            with out_file.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    records = run_bench(options, emit)
    failed = [r for r in records if r.get("bench") == "check" and not r.get("ok")]
    return 1 if failed else 0


def main_script(default_what: Iterable[str], argv: list[str] | None = None) -> int:
    """Entry point of the ``bench/`` scripts: ``fgvad bench`` with another default ``--what``."""
    from fgvad.cli import main

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--what" not in argv:
        argv += ["--what", *default_what]
    return main(["bench", *argv])


__all__ = ["BenchOptions", "SIZES", "SIZE_NAMES", "model_config", "vision_forward_flops", "matmul_ceiling_tflops",
           "build_training_setup", "compare_paths", "run_bench", "synthetic_items", "training_step_fn",
           "make_optimizer"]
