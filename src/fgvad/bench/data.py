"""The data path: synthetic videos -> frame cache -> DataLoader -> device -> pixels."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from fgvad.bench.harness import Context, peak_gib, reset_peak, synchronize, to_device
from fgvad.bench.sizes import frame_geometry, model_config


def synthetic_dataset(workdir: Path, videos: int, video_frames: int, size: tuple[int, int], seed: int) -> Any:
    from fgvad.data.tools.synth import generate_dataset

    # The generator wants at least 2 test videos; they are not used here.
    return generate_dataset(workdir / "synth", train_videos=max(2, videos), test_videos=2, seed=seed,
                            size=size, frames=video_frames, progress=True)


def bench_data(ctx: Context, workdir: Path) -> dict[str, Any]:
    """Cache -> DataLoader (pinned, workers) -> device -> the backbone's pixel values, frames/s."""
    import torch
    from torch.utils.data import DataLoader

    from fgvad.bench.train_step import offline_tokenizer
    from fgvad.data.annotations import load_annotations
    from fgvad.data.cache import build_cache
    from fgvad.data.dataset import VideoTextDataset
    from fgvad.models.backbones import backbone_from_config
    from fgvad.models.video_backbone import ops_for, text_tokenizer
    from fgvad.train.collator import TrainCollator

    o, device = ctx.options, ctx.device
    config = model_config(o.size)
    geometry = frame_geometry(config)
    # A weightless skeleton: only the pixel conversion and the text lengths are used.
    clip = backbone_from_config(config, device="meta")
    info = synthetic_dataset(workdir, o.data_videos, max(32, o.e2e_video_frames), o.e2e_size, o.seed)
    entries = load_annotations(info.train_json)
    cache_dir = workdir / f"cache_t{o.frames}_{geometry_tag(geometry)}"
    started = time.perf_counter()
    report = build_cache(entries, info.video_root, cache_dir, num_frames=o.frames, size=geometry,
                         workers=o.workers, progress=False)
    cache_seconds = time.perf_counter() - started
    dataset = VideoTextDataset(entries, cache=cache_dir, num_frames=o.frames, size=geometry,
                               max_boxes=2 * o.keyframes)
    texts = text_tokenizer(clip, offline_tokenizer(config, [e.global_caption for e in entries]
                                                   + [r.caption for e in entries for r in e.regions]))
    collator = TrainCollator(texts, patch_size=geometry.patch_size or None)
    loader = DataLoader(dataset, batch_size=o.batch, shuffle=True, collate_fn=collator,
                        num_workers=o.workers, pin_memory=device.type == "cuda",
                        persistent_workers=o.workers > 0, drop_last=False)
    epochs = max(1, math.ceil(o.steps * o.batch / max(1, len(dataset))))
    n_frames = 0
    checksum = torch.zeros((), device=device)
    reset_peak(device)
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            grids = batch.get("frame_grids")
            batch = to_device({k: v for k, v in batch.items() if k == "frames"}, device)
            pixels = ops_for(clip).frame_inputs(clip, batch["frames"], grids, dtype=torch.float32).pixel_values
            checksum += pixels.flatten()[:1].sum()  # keeps the work honest without a host sync
            n_frames += int(batch["frames"].shape[0] * batch["frames"].shape[1])
    synchronize(device)
    seconds = time.perf_counter() - started
    return ctx.line("data", videos=len(dataset), frames=o.frames, batch=o.batch, workers=o.workers,
                    pinned=device.type == "cuda", epochs=epochs, seconds=round(seconds, 3),
                    frames_per_s=round(n_frames / seconds, 1), cache_seconds=round(cache_seconds, 3),
                    cache_frames_per_s=round(report.frames / max(cache_seconds, 1e-9), 1),
                    source_size=list(o.e2e_size), peak_mem_gib=peak_gib(device))


def geometry_tag(geometry: Any) -> str:
    return f"s{geometry.size}" if geometry.kind == "square" else f"p{geometry.max_num_patches}x{geometry.patch_size}"
