"""End to end: synthetic dataset -> cache -> K epochs of the real Trainer, wall-clock per stage."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from fgvad.bench.data import geometry_tag, synthetic_dataset
from fgvad.bench.harness import Context, peak_gib, reset_peak
from fgvad.bench.options import BenchOptions, use_compile
from fgvad.bench.sizes import frame_geometry, model_config


def save_random_checkpoint(size: str, folder: Path, texts: Iterable[str]) -> Path:
    """A random-weight backbone folder of the named size (FG-CLIP v1 or FG-CLIP 2 layout), with an
    offline tokenizer of ``texts``."""
    import torch

    from fgvad.bench.train_step import offline_tokenizer
    from fgvad.models.backbones import backbone_from_config

    torch.manual_seed(0)
    config = model_config(size)
    model = backbone_from_config(config)
    model.save_pretrained(folder, tokenizer=offline_tokenizer(config, list(texts)))
    return folder


def bench_e2e(ctx: Context, workdir: Path) -> dict[str, Any]:
    """Synthetic dataset -> cache -> K epochs of the real Trainer (:func:`fgvad.train.train`), wall-clock."""
    from fgvad.core.prompts import class_prompts
    from fgvad.data.annotations import load_annotations
    from fgvad.data.cache import build_cache
    from fgvad.train import train

    o, device = ctx.options, ctx.device
    config = model_config(o.size)
    geometry = frame_geometry(config)
    started = time.perf_counter()
    info = synthetic_dataset(workdir, o.e2e_videos, o.e2e_video_frames, o.e2e_size, o.seed)
    synth_seconds = time.perf_counter() - started
    entries = [e for e in load_annotations(info.train_json) if not e.is_image]
    texts = [e.global_caption for e in entries] + [r.caption for e in entries for r in e.regions]
    texts += class_prompts(sorted({e.label for e in entries} | {"Normal"}))
    checkpoint = save_random_checkpoint(o.size, workdir / "random_model", texts)
    cache_dir = workdir / f"e2e_cache_t{o.frames}_{geometry_tag(geometry)}"
    started = time.perf_counter()
    build_cache(entries, info.video_root, cache_dir, num_frames=o.frames, size=geometry,
                workers=max(1, os.cpu_count() or 1), progress=True)
    cache_seconds = time.perf_counter() - started
    on_cuda = device.type == "cuda"
    options: dict[str, Any] = {
        "model_name_or_path": str(checkpoint), "data_path": str(info.train_json),
        "video_root": str(info.video_root), "cache_dir": str(cache_dir), "num_frames": o.frames,
        "max_boxes": 2 * o.keyframes, "temporal_dropout": 0.0,
        **({"image_size": geometry.size} if geometry.kind == "square" else {"max_num_patches": geometry.max_num_patches}),
        "output_dir": str(workdir / "e2e_out"), "num_train_epochs": o.e2e_epochs,
        "overwrite_output_dir": True,  # bench's own scratch folder: a rerun with --workdir replaces the last one
        "per_device_train_batch_size": o.batch, "gradient_accumulation_steps": 1,
        "logging_steps": 10, "save_strategy": "no", "report_to": "none",
        "dataloader_num_workers": o.workers, "dataloader_pin_memory": on_cuda, "memory_cache_mb": 0,
        "bf16": on_cuda and ctx.dtype is not None, "use_cpu": not on_cuda, "seed": o.seed,
        "disable_tqdm": False,
    }
    if on_cuda:
        options["optim"] = "adamw_torch_fused"
    if o.checkpointing_every > 0:
        options["activation_checkpointing"] = True
    options.update(training_switches(o, device))
    reset_peak(device)
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON lines
        result = train(options)
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
