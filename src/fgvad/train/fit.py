"""``--auto-fit``: the largest per-device micro-batch (and, if needed, frame count) that fits the GPU.

The effective batch (per-device batch x gradient accumulation) is what the optimisation
sees, so it is kept: a smaller micro-batch gets proportionally more accumulation steps,
and only divisors of the effective batch are tried so the product stays exact. Frames per
video are halved only when a single video does not fit even at micro-batch 1; that changes
what is trained (fewer frames per sample), so it is said loudly.

Each trial is a real forward and backward of the training module on a batch of the real
shapes, caught as ``torch.OutOfMemoryError``; the cache allocator is emptied between trials.
On a CPU there is nothing to fit and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from fgvad.core.errors import AutoFitError


@dataclass
class FitChoice:
    per_device_batch: int
    accumulation: int
    num_frames: int
    changed: bool
    message: str

    @property
    def effective_batch(self) -> int:
        return self.per_device_batch * self.accumulation


def divisors_descending(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def largest_fitting(candidates: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """Binary search over ``candidates`` (descending) for the largest value where ``fits`` holds,
    assuming memory grows with the value (fits(a) and b < a => fits(b))."""
    ascending = sorted(set(candidates))
    lo, hi, best = 0, len(ascending) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(ascending[mid]):
            best = ascending[mid]
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def find_fit(try_step: Callable[[int, int], None], *, per_device_batch: int, accumulation: int,
             num_frames: int, device: Any, min_frames: int = 8, empty_cache: Callable[[], None] | None = None,
             force: bool = False) -> FitChoice:
    """Search the micro-batch (then frames) for which ``try_step(batch, frames)`` does not run out of memory.

    ``try_step`` must run a real forward and backward and raise ``torch.OutOfMemoryError``
    when the GPU is full. ``force`` searches on any device (used by tests with a simulated
    memory limit); otherwise only CUDA devices are searched.
    """
    import torch

    kind = getattr(device, "type", str(device))
    if kind != "cuda" and not force:
        return FitChoice(per_device_batch, accumulation, num_frames, False,
                         f"auto_fit: nothing to fit on {kind}; keeping batch {per_device_batch} x accumulation "
                         f"{accumulation} at {num_frames} frames")
    if empty_cache is None:
        empty_cache = torch.cuda.empty_cache if kind == "cuda" else (lambda: None)
    effective = per_device_batch * accumulation
    tried: dict[tuple[int, int], bool] = {}

    def fits(batch: int, frames: int) -> bool:
        if (batch, frames) not in tried:
            try:
                try_step(batch, frames)
                ok = True
            except torch.OutOfMemoryError:
                ok = False
            empty_cache()
            tried[(batch, frames)] = ok
        return tried[(batch, frames)]

    frames = num_frames
    while True:
        best = largest_fitting(divisors_descending(effective), lambda b: fits(b, frames))
        if best is not None:
            break
        if frames // 2 < min_frames:
            raise AutoFitError(f"auto_fit: one video of {frames} frames does not fit on this GPU even at batch 1; "
                               "try --activation_checkpointing true, a smaller --image-size model, or "
                               "--freeze-vision-layers")
        frames //= 2
    choice_acc = effective // best
    changed = (best, frames) != (per_device_batch, num_frames)
    parts = [f"auto_fit: per-device batch {best} x accumulation {choice_acc} (effective batch {effective})"]
    parts.append(f"at {frames} frames")
    if frames != num_frames:
        parts.append(f"(REDUCED from {num_frames} frames: one video of {num_frames} did not fit; this changes "
                     "what is trained)")
    if not changed:
        parts.append("(as configured)")
    return FitChoice(best, choice_acc, frames, changed, " ".join(parts))


def training_try_step(module: Any, collator: Callable[[list[dict[str, Any]]], dict[str, Any]],
                      sample_item: dict[str, Any], device: Any, dtype: Any) -> Callable[[int, int], None]:
    """A trial step on real shapes: ``batch`` copies of ``sample_item`` cut to ``frames`` frames.

    Gradients are dropped afterwards so the trial leaves the module as it found it (weights
    are never stepped).
    """
    import contextlib

    import torch

    on_cuda = device.type == "cuda"
    # AdamW's two fp32 moments are allocated at the first real optimizer step, not in a trial:
    # reserve them, plus a margin for the allocator's fragmentation.
    optimizer_bytes = sum(2 * 4 * p.numel() for p in module.parameters() if p.requires_grad)
    budget = torch.cuda.get_device_properties(device).total_memory * 0.92 if on_cuda else None

    def try_step(batch: int, frames: int) -> None:
        if on_cuda:
            torch.cuda.reset_peak_memory_stats(device)
        item = dict(sample_item)
        item["frames"] = item["frames"][:frames]
        item["frame_indices"] = item["frame_indices"][:frames]
        kept = item["box_frame"] < frames  # boxes on the frames cut away go with them
        item.update(boxes=item["boxes"][kept], box_frame=item["box_frame"][kept], box_region=item["box_region"][kept])
        collated = collator([item] * batch)
        collated.pop("num_frames_seen", None)
        inputs = {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
                  for k, v in collated.items()}
        cast = torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        was_training = module.training
        module.train()
        try:
            with cast:
                out = module(**inputs)
            out["loss"].backward()
            if on_cuda:
                torch.cuda.synchronize(device)
                if torch.cuda.max_memory_allocated(device) + optimizer_bytes > budget:
                    raise torch.OutOfMemoryError("auto_fit: no room left for the optimizer state")
        finally:
            module.zero_grad(set_to_none=True)
            module.train(was_training)
            del inputs

    return try_step


__all__ = ["AutoFitError", "FitChoice", "find_fit", "largest_fitting", "divisors_descending", "training_try_step"]
