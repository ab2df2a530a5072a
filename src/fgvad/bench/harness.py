"""The measuring harness: device helpers, the timed loop and the record every JSON line carries."""

from __future__ import annotations

import contextlib
import platform
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from fgvad.bench.options import BenchOptions


def autocast(device: Any, dtype: Any) -> Any:
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


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


def to_device(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    import torch

    # non_blocking only overlaps when the source is pinned; it is harmless otherwise.
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


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
