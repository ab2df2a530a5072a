"""Runs the chosen measurements and hands each record (one JSON line) to ``emit``."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any, Callable

from fgvad.bench.baseline import bench_baseline
from fgvad.bench.data import bench_data
from fgvad.bench.e2e import bench_e2e
from fgvad.bench.flops import frame_flops, matmul_ceiling_tflops
from fgvad.bench.harness import Context, environment
from fgvad.bench.infer import bench_infer
from fgvad.bench.options import WHAT, BenchOptions, amp_dtype, validate
from fgvad.bench.sizes import frame_geometry, model_config
from fgvad.models.device import resolve_device
from fgvad.bench.train_step import bench_check, bench_train


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
                  flops_per_frame=frame_flops(config, frame_geometry(config)), emit=collect)
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
