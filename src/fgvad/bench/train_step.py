"""The training step as the Trainer takes it (``train``), and the fast path against the plain path (``check``).

The module, the collator, the loss options and the optimizer's parameter groups are
training's own (fgvad.train), so the bench times what ``fgvad train`` runs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable

from fgvad.bench.harness import Context, autocast, peak_gib, reset_peak, time_steps, to_device
from fgvad.bench.options import BenchOptions, use_compile
from fgvad.bench.sizes import frame_geometry, frame_hw, is_naflex, model_config

CAPTIONS = [
    "a man in a red shirt punches another man near a parked car at night",
    "two people walk across an empty parking lot and get into a white car",
    "a person grabs a bag from the ground and runs out of the shop",
    "a bright explosion fills the street and black smoke rises over the cars",
]
REGION_CAPTIONS = ["a man in a red shirt", "a woman carrying a black bag", "a white car", "a person in blue jeans"]
CLASS_NAMES = ["Normal", "Abuse", "Explosion", "Fighting", "Stealing"]


def synthetic_items(count: int, frames: int, size: int | tuple[int, int], keyframes: int,
                    seed: int) -> list[dict[str, Any]]:
    """Dataset items as :class:`~fgvad.data.dataset.VideoTextDataset` returns them (random pixels
    of ``size`` x ``size``, or ``size = (height, width)``)."""
    import numpy as np
    import torch

    height, width = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    items = []
    for i in range(count):
        n_regions = 2
        boxes, box_frame, box_region = [], [], []
        for k in range(keyframes):  # boxes on `keyframes` frames spread over the clip, as tracks give
            for r in range(n_regions):
                x0, y0 = rng.uniform(0.0, 0.5, size=2)
                w, h = rng.uniform(0.2, 0.5, size=2)
                boxes.append([x0, y0, min(x0 + w, 1.0), min(y0 + h, 1.0)])
                box_frame.append(min(frames - 1, (2 * k + 1) * frames // (2 * keyframes)))
                box_region.append(r)
        items.append({
            "frames": torch.from_numpy(rng.integers(0, 256, size=(frames, height, width, 3), dtype=np.uint8)),
            "frame_indices": torch.arange(frames, dtype=torch.long) * 8,
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "box_frame": torch.tensor(box_frame, dtype=torch.long),
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

    from fgvad.core.prompts import class_prompts
    from fgvad.models.backbones import backbone_from_config, backbone_kind
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig
    from fgvad.models.video_backbone import text_tokenizer
    from fgvad.train.collator import TrainCollator
    from fgvad.train.losses import text_ids
    from fgvad.train.model_setup import freeze_vision_layers
    from fgvad.train.module import VideoTrainingModule
    from fgvad.train.options import LossArguments

    config = model_config(options.size)
    total_frames = options.frames * options.batch
    chunk = options.frame_chunk if (fast and options.frame_chunk > 0) else total_frames
    head = VideoHeadConfig(temporal_layers=1, heads=8, window=options.frames, dropout=0.0, mil_dropout=0.0,
                           frame_chunk=max(1, chunk))
    torch.manual_seed(options.seed)
    video = VideoFGCLIP(backbone_from_config(config), head)
    prompts = class_prompts(CLASS_NAMES)
    texts = text_tokenizer(video.clip, offline_tokenizer(config, [*CAPTIONS, *REGION_CAPTIONS, *prompts, "an old man",
                                                                  "an old woman", "an old white car"]))
    losses = LossArguments(global_loss_weight=1.0, region_loss_weight=1.0, hard_negative_loss_weight=1.0,
                           mil_loss_weight=1.0, use_class_prompts=True)
    module = VideoTrainingModule(video, losses, texts(prompts, "long"),
                                 loss_type=backbone_kind(video.clip).default_loss_type,
                                 prompt_box_ids=texts(prompts, "box"), prompt_text_ids=text_ids(prompts))
    if module_state is not None:
        module.load_state_dict(module_state)
    module.to(device).train()
    if fast:
        freeze_vision_layers(video, options.freeze_vision_layers)
        if options.checkpointing_every > 0:
            video.gradient_checkpointing_enable(every=options.checkpointing_every)
        if use_compile(options, device):
            video.compile_towers()
    items = synthetic_items(options.batch, options.frames, frame_hw(config), options.keyframes, options.seed)
    batch = TrainCollator(texts, patch_size=frame_geometry(config).patch_size or None)(items)
    batch.pop("num_frames_seen", None)
    if device.type == "cuda":
        batch = {k: (v.pin_memory() if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    return TrainingSetup(module=module, batch=to_device(batch, device), tokenizer=texts.tokenizer, frame_chunk=chunk)


def offline_tokenizer(config: Any, texts: list[str]) -> Any:
    """A word-level tokenizer of ``texts`` in the size's family format (ids within its vocabulary)."""
    if is_naflex(config):
        from fgvad.models.fgclip2_processing import build_offline_fgclip2_tokenizer

        return build_offline_fgclip2_tokenizer(texts, vocab_size=min(1000, config.text_config.vocab_size))
    from fgvad.models.tokenizer import build_offline_tokenizer

    return build_offline_tokenizer(texts)


def make_optimizer(module: Any, device: Any, options: BenchOptions | None = None) -> Any:
    """AdamW on the Trainer's parameter groups (per-tower learning rates, no-decay groups) for
    ``options``' learning rates; fused on CUDA (one kernel for all tensors)."""
    import torch

    from fgvad.train.optim import learning_rates, parameter_groups

    options = options or BenchOptions()
    groups = parameter_groups(module, learning_rates(options.optim, options.learning_rate), options.weight_decay)
    if device.type == "cuda":
        return torch.optim.AdamW(groups, fused=True)
    return torch.optim.AdamW(groups, foreach=True)


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


def bench_train(ctx: Context) -> dict[str, Any]:
    o, device = ctx.options, ctx.device
    reset_peak(device)
    setup = build_training_setup(o, device, fast=True)
    optimizer = make_optimizer(setup.module, device, o)
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
